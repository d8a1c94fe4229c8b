import { createHash } from 'node:crypto';
import type { RedisCommands } from './commands.js';

/** A Lua script over exactly one key, sent by SHA1 first (EVALSHA), then in full when the server lacks it. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * GET that refuses a value over ARGV[1] bytes: it answers the value's length instead (an integer), so an
 * oversized value is never sent. STRLEN is O(1). A missing key reads as nil.
 */
export const READ = script(`local n = redis.call('strlen', KEYS[1])
if n > tonumber(ARGV[1]) then return n end
return redis.call('get', KEYS[1])`);

/**
 * SET with PX, then the notification, in one step: a woken waiter always finds the value. ARGV[3] is the
 * channel (an argument, not a key: a client's keyPrefix applies to keys, never to channels). The cluster
 * variant publishes to the shard channel, which lives in the key's slot.
 */
export const WRITE = script(`redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('publish', ARGV[3], '')
return 1`);
export const WRITE_SHARDED = script(`redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('spublish', ARGV[3], '')
return 1`);

export const DELETE = script(`return redis.call('del', KEYS[1])`);

/**
 * The lease: `SET NX PX`. A lease that no store could have taken (no TTL, or a TTL over ARGV[3], the longest a
 * store ever asks for) was left by someone else, or by a bug: it is replaced rather than waited on.
 */
export const ACQUIRE = script(`if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 or ttl > tonumber(ARGV[3]) then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`);

/**
 * Deletes the lease only if it still holds this holder's random value: a holder whose lease expired and was
 * taken over must not release its successor's. GET and DEL run atomically inside the script.
 */
export const RELEASE = script(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`);

/**
 * Runs `s` on `key`. EVALSHA first, so the script's text is sent once per server, not per call; a server that
 * does not have it (never sent, restarted, flushed, or a replica just promoted) answers NOSCRIPT, and it is sent.
 */
export async function run(commands: RedisCommands, s: Script, key: string, args: readonly string[]): Promise<unknown> {
  try {
    return await commands.evalsha(s.sha, [key], args);
  } catch (error) {
    if (!String((error as Error | undefined)?.message).startsWith('NOSCRIPT')) throw error;
    return commands.eval(s.source, [key], args);
  }
}
