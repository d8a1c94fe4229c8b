import { findRedisServer, REDIS_HINT } from '../helpers/redis-binary.js';

// vitest globalSetup: one loud line before and after the run when the Redis suites are skipped.
function banner(when: string): void {
  const line = `\n!!! ${when}: redis-server not found, so the Redis suites (test/redis-*.test.ts) are SKIPPED. To run them, ${REDIS_HINT}.\n`;
  process.stderr.write(line);
}

export default function setup(): (() => void) | undefined {
  if (findRedisServer() !== undefined) return undefined;
  if (process.env.CI) {
    process.stderr.write(`\n!!! CI: redis-server not found; the Redis suites will FAIL (CI never skips them). ${REDIS_HINT}.\n`);
    return undefined;
  }
  banner('Before the run');
  return () => banner('Summary');
}
