import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** How a newcomer gets the Redis suites to run; printed wherever they are skipped. */
export const REDIS_HINT =
  'install the Debian package (`sudo apt-get install -y redis-server`), put redis-server on PATH, ' +
  'or set M2M_REDIS_SERVER=/path/to/redis-server';

/**
 * The redis-server binary the tests start: `M2M_REDIS_SERVER` when set, else the first `redis-server` on PATH
 * (or in /usr/sbin, /usr/bin, where Debian puts it). Undefined when there is none. No vitest imports: bench/ uses it.
 */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = env.M2M_REDIS_SERVER;
  if (given) return given;
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
