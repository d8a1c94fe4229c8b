import { readFileSync } from 'node:fs';
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

it('the core entry needs only undici, lru-cache and p-retry at run time', () => {
  expect(Object.keys(pkg.dependencies).sort()).toEqual(['lru-cache', 'p-retry', 'undici']);
});

it('exports the public API by name', () => {
  expect(Object.keys(core).sort()).toEqual(
    ['ConfigurationError', 'ErrorCode', 'OAuthError', 'TokenClient', 'TokenClientError', 'TokenRequestError', 'TokenResponseError', 'createToken'].sort(),
  );
});
