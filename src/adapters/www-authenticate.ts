// Reading WWW-Authenticate (RFC 9110 §11.6.1): a comma-separated list of challenges, each a scheme followed by
// either a token68 or comma-separated name=value parameters. Commas separate both challenges and parameters,
// so a split on commas cannot tell `Basic realm="a, b", Bearer error="invalid_token"` apart: this scans it.

/** One challenge: its scheme (lowercased) and its parameters (names lowercased). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
// A token68 counts only when it stands alone before the next comma or the end.
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*[ \t]*(?:,|$)/y;
const SPACE = /[ \t]*/y;

/** Parses a WWW-Authenticate value (several header lines joined with `, `). Never throws; junk is skipped. */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const skip = (re: RegExp) => {
    re.lastIndex = i;
    const m = re.exec(header);
    if (m) i += m[0].length;
    return m?.[0];
  };
  while (i < header.length) {
    const token = skip(TOKEN);
    if (token === undefined) {
      i++; // a separator (comma, space, tab) or junk: not a token character, skipped rather than give up on the rest
      continue;
    }
    skip(SPACE);
    if (header[i] === '=' && current) {
      i++;
      skip(SPACE);
      current.params[token.toLowerCase()] = header[i] === '"' ? readQuoted() : (skip(TOKEN) ?? '');
      continue;
    }
    current = { scheme: token.toLowerCase(), params: {} };
    challenges.push(current);
    TOKEN68.lastIndex = i;
    if (TOKEN68.test(header)) i = TOKEN68.lastIndex;
  }
  return challenges;

  function readQuoted(): string {
    let value = '';
    for (i++; i < header.length; i++) {
      const c = header[i]!;
      if (c === '"') {
        i++;
        return value;
      }
      if (c === '\\' && i + 1 < header.length) i++;
      value += header[i];
    }
    return value;
  }
}

/**
 * Whether the challenge for `scheme` (e.g. `Bearer`) reports `error="invalid_token"` (RFC 6750 §3.1): the token
 * was expired, revoked or malformed, so a new one may succeed.
 */
export function saysInvalidToken(header: string | null | undefined, scheme: string): boolean {
  if (!header) return false;
  const wanted = scheme.toLowerCase();
  return parseChallenges(header).some((c) => c.scheme === wanted && c.params.error === 'invalid_token');
}

/**
 * A response header as one string, whatever shape the HTTP client gives it in: several lines of it are joined
 * with `, ` (RFC 9110 §5.3); a missing header, or anything that is not text, is `undefined`.
 */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(', ');
  return undefined;
}
