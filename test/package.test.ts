import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import * as core from '../src/index.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../src/version.js';
import { okToken, startTokenServer } from './helpers/token-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

it('the User-Agent constants match package.json', () => {
  expect(PACKAGE_NAME).toBe(pkg.name);
  expect(PACKAGE_VERSION).toBe(pkg.version);
});

it('runtime dependencies are few: lru-cache, p-retry, and jose for JWT signing (HTTP is Node\'s own)', () => {
  expect(Object.keys(pkg.dependencies).sort()).toEqual(['jose', 'lru-cache', 'p-retry']);
});

function loadedPackages(...args: string[]): string[] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/helpers/loaded-packages.mjs', 'src/index.ts', ...args], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
}

it('importing the core entry loads no package: lru-cache comes with the first non-default key, p-retry with the first retry, jose with the first signed assertion', () => {
  expect(loadedPackages()).toEqual([]);
});

it('a cold start (import, construct, one default token, close) loads no package either', async () => {
  const server = await startTokenServer();
  try {
    server.respond(okToken('cold-start-token'));
    // execFileSync would block the server in this process: run the child asynchronously.
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', 'test/helpers/loaded-packages.mjs', 'src/index.ts', server.url], { cwd: root, encoding: 'utf8' }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
    });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual([]);
    expect(server.requests).toHaveLength(1);
  } finally {
    await server.close();
  }
});

it('exports the public API by name', () => {
  expect(Object.keys(core).sort()).toEqual(
    [
      'ConfigurationError', 'ErrorCode', 'OAuthError', 'QuotaExceededError', 'TokenClient', 'TokenClientError', 'TokenRequestError',
      'TokenResponseError', 'createToken', 'diagnosticsChannels', 'isTokenClientError',
    ].sort(),
  );
});
