import { describe } from 'vitest';
import { findRedisServer } from './redis-binary.js';

/**
 * Whether the Redis suites run. They need a real redis-server; without one they are skipped (test/setup/redis.ts
 * says so loudly), except under CI, where a missing server must fail them: CI never skips.
 */
export const redisMissing = findRedisServer() === undefined && !process.env.CI;

/** `describe` for suites that need a real redis-server: skipped, with a reason, when there is none. */
export const describeRedis = describe.skipIf(redisMissing);
