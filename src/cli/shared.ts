// What the entry (./index.ts) and the commands share. No imports: the entry stays light.

/** Exit statuses (documented in `m2m-token --help` and docs/cli.md). */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export const COMMANDS = ['token', 'header', 'decode', 'doctor'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ParsedValues {
  domain?: string;
  issuer?: string;
  'token-endpoint'?: string;
  'client-id'?: string;
  'client-secret-file'?: string;
  'private-key-file'?: string;
  'auth-method'?: string;
  audience?: string;
  organization?: string;
  scope?: string;
  help?: boolean;
  version?: boolean;
  json?: boolean;
  raw?: boolean;
  jwks?: string;
}

/** A mistake on the command line: exit status 2. */
export class UsageError extends Error {
  readonly code = 'M2M_USAGE';
}

/** Colours only on a terminal, and never with NO_COLOR (https://no-color.org) or TERM=dumb. */
export const useColor = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && (process.env.NO_COLOR ?? '') === '' && process.env.TERM !== 'dumb';
