import { ErrorCode, TokenClientError } from './errors.js';

/** The oldest Node.js this package supports (package.json `engines`); its dependencies need it. */
export const MIN_NODE_VERSION = '22.19.0';

/**
 * Throws when the running Node.js is older than {@link MIN_NODE_VERSION}: on an older Node the failure would
 * otherwise surface later, deep inside a dependency, as an "unexpected" error.
 */
export function assertSupportedNode(version: string | undefined = globalThis.process?.versions?.node): void {
  if (version === undefined || isAtLeast(version, MIN_NODE_VERSION)) return;
  throw new TokenClientError(
    ErrorCode.UNSUPPORTED_RUNTIME,
    `m2m-token needs Node.js ${MIN_NODE_VERSION} or newer (22.x from 22.19, or 24 and later); this is Node.js ${version}. Upgrade Node.js.`,
  );
}

function isAtLeast(version: string, minimum: string): boolean {
  const have = version.split('.').map(Number);
  const want = minimum.split('.').map(Number);
  for (let i = 0; i < want.length; i++) {
    const a = have[i] ?? 0;
    const b = want[i]!;
    if (a !== b) return a > b;
  }
  return true;
}
