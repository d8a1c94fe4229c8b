// What the commands print, apart from their I/O: times in words, claim lines, error lines and exit statuses.
// Pure functions, tested in-process (the commands themselves run in child processes in test/cli.test.ts).
import type { Jose } from './commands.js';
import { EXIT, UsageError } from './shared.js';

/** "in 59 minutes", "3 hours ago". */
export function inWords(ms: number): string {
  const abs = Math.abs(ms);
  const units: [number, string][] = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1000, 'second']];
  let text = 'now';
  for (const [size, name] of units) {
    if (abs >= size) {
      const n = Math.round(abs / size);
      text = `${n} ${name}${n === 1 ? '' : 's'}`;
      break;
    }
  }
  if (text === 'now') return 'now';
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

interface ErrorLike { code?: unknown; message?: unknown; error?: unknown; errorDescription?: unknown; status?: unknown }

export function describeError(error: unknown): string {
  const e = error as ErrorLike;
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  return `${code}${error instanceof Error ? error.message : String(error)}`;
}

/** Exit status for an error thrown while configuring or getting a token. */
export function exitFor(error: unknown): number {
  const code = (error as ErrorLike)?.code;
  return error instanceof UsageError || code === 'M2M_INVALID_OPTION' ? EXIT.USAGE : EXIT.FAILED;
}

export function decodeParts(accessToken: string, j: Jose): { header: Record<string, unknown>; claims: Record<string, unknown> } | undefined {
  if (accessToken.split('.').length !== 3) return undefined;
  try {
    return { header: j.decodeProtectedHeader(accessToken) as Record<string, unknown>, claims: j.decodeJwt(accessToken) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

export function claimLines(claims: Record<string, unknown>, now: number): string[] {
  const width = Math.max(...Object.keys(claims).map((k) => k.length), 3);
  return Object.entries(claims).map(([name, v]) => {
    let text = typeof v === 'string' ? v : JSON.stringify(v);
    if ((name === 'exp' || name === 'iat' || name === 'nbf' || name === 'auth_time') && typeof v === 'number') {
      text += ` (${new Date(v * 1000).toISOString()}, ${inWords(v * 1000 - now)})`;
    }
    return `  ${name.padEnd(width)}  ${text}`;
  });
}
