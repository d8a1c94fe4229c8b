import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { TokenStoreLease } from 'm2m-token';

// Deletes the lease only if it still holds this holder's random value: a holder whose lease expired and was
// taken over must not release its successor's. GET and DEL run atomically inside the script.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

/**
 * `SET name holder NX PX ttl`: the lease when no one else holds it, else `null`. It expires on its own after
 * `ttl`, so a holder that dies is replaced.
 */
export async function acquireLease(redis: Redis, name: string, ttl: number): Promise<TokenStoreLease | null> {
  const holder = randomBytes(16).toString('base64url');
  const won = await redis.set(name, holder, 'PX', Math.max(1, Math.ceil(ttl)), 'NX');
  if (won !== 'OK') return null;
  return {
    async release() {
      // Plain EVAL rather than defineCommand: it is sent once per fetch, and it leaves the user's client unchanged.
      await redis.eval(RELEASE, 1, name, holder);
    },
  };
}
