import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The npm packages loaded after importing each module in turn (test/helpers/loaded-packages.mjs). */
const loaded = (...modules: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'test/helpers/loaded-packages.mjs', ...modules], { cwd: root, encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as string[]);

it("importing 'm2m-token/testing' works and exports the kit by name", async () => {
  const kit = await import('m2m-token/testing');
  expect(Object.keys(kit).sort()).toEqual(
    ['FakeTokenSource', 'ManualClock', 'UnmockedRequestError', 'localhostPassthrough', 'mockNetwork', 'mockTokenEndpoint', 'staticTokenSource', 'useMockNetwork'].sort(),
  );
});

it('the fakes, ManualClock and staticTokenSource load neither msw, the interceptors nor jose; the msw helpers load them on first call', () => {
  const [fakes, mocks] = loaded('test/fixtures/kit-fakes.ts', 'test/fixtures/kit-mocks.ts');
  // Only what the core loads: the kit adds nothing until a mock is made.
  expect(fakes).toEqual([]); // the core loads no package at import (lru-cache comes with the first non-default key)
  expect(mocks).toEqual(expect.arrayContaining(['msw', '@mswjs/interceptors', 'jose']));
});

it('the core entry loads neither msw nor the interceptors', () => {
  const [core] = loaded('src/index.ts');
  for (const name of ['msw', '@mswjs/interceptors']) expect(core).not.toContain(name);
});

it("the kit imports the core as 'm2m-token' only, so the build keeps one shared core", () => {
  const dir = new URL('../src/testing/', import.meta.url);
  for (const file of readdirSync(dir)) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    for (const [, specifier] of source.matchAll(/from '([^']+)'/g)) {
      if (specifier!.startsWith('.')) expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[\w-]+\.js$/);
    }
  }
});
