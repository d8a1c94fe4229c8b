import { randomBytes } from 'node:crypto';
import type { TokenStoreLease } from 'm2m-token';
import type { RedisCommands } from './commands.js';
import { ACQUIRE, RELEASE, run } from './scripts.js';

/**
 * `SET name holder NX PX ttl`: the lease when no one else holds it, else `null`. It expires on its own after
 * `ttl` (at most `maxTtl`), so a holder that dies is replaced; a lease key with no TTL or a longer one than any
 * store takes is replaced at once (see ACQUIRE).
 */
export async function acquireLease(commands: RedisCommands, name: string, ttl: number, maxTtl: number): Promise<TokenStoreLease | null> {
  const holder = randomBytes(16).toString('base64url');
  const px = Number.isNaN(ttl) ? maxTtl : Math.min(maxTtl, Math.max(1, Math.ceil(ttl)));
  const won = await run(commands, ACQUIRE, name, [holder, String(px), String(maxTtl)]);
  if (Number(won) !== 1) return null;
  return {
    async release() {
      await run(commands, RELEASE, name, [holder]);
    },
  };
}
