import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import * as core from '../src/index.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../src/version.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

it('the User-Agent constants match package.json', () => {
  expect(PACKAGE_NAME).toBe(pkg.name);
  expect(PACKAGE_VERSION).toBe(pkg.version);
});

it('runtime dependencies are few: the core three, and jose for JWT signing', () => {
  expect(Object.keys(pkg.dependencies).sort()).toEqual(['jose', 'lru-cache', 'p-retry', 'undici']);
});

it('importing the core entry loads only lru-cache: undici and p-retry come with the first request, jose with the first signed one', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/helpers/loaded-packages.mjs', 'src/index.ts'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
  });
  const loaded = JSON.parse(out) as string[];
  expect(loaded).toEqual(['lru-cache']);
  for (const name of ['undici', 'p-retry', 'jose', 'msw', 'ioredis', 'axios', 'oidc-provider']) expect(loaded).not.toContain(name);
});

it('exports the public API by name', () => {
  expect(Object.keys(core).sort()).toEqual(
    ['ConfigurationError', 'ErrorCode', 'OAuthError', 'TokenClient', 'TokenClientError', 'TokenRequestError', 'TokenResponseError', 'createToken', 'isTokenClientError'].sort(),
  );
});
