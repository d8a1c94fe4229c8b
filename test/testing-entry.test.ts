import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

it("importing 'm2m-token/testing' works and exports the kit by name", async () => {
  const kit = await import('m2m-token/testing');
  expect(Object.keys(kit).sort()).toEqual(
    ['FakeTokenSource', 'ManualClock', 'UnmockedRequestError', 'localhostPassthrough', 'mockNetwork', 'mockTokenEndpoint', 'staticTokenSource', 'useMockNetwork'].sort(),
  );
});

it('the kit loads msw, the interceptors and jose; the core entry loads neither msw nor the interceptors', () => {
  const loaded = (entry: string) =>
    JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', 'test/helpers/loaded-packages.mjs', entry], { cwd: root, encoding: 'utf8' })) as string[];
  expect(loaded('src/testing/index.ts')).toEqual(expect.arrayContaining(['msw', '@mswjs/interceptors', 'jose']));
  const core = loaded('src/index.ts');
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
