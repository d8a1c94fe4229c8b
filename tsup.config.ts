import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Options } from 'tsup';

// The build writes into dist/, side by side:
//
// - Declarations (.d.ts, .d.cts) for every entry.
// - ESM: dependencies stay external, and the lazy ones (jose, p-retry, undici) are loaded with import().
// - CommonJS: never import() at run time, because Jest's CommonJS runtime cannot run it (it needs
//   --experimental-vm-modules), nor require() an ES module before Node 24.9. esbuild turns import() of a
//   CommonJS package into require(). An ESM-only dependency (jose, p-retry) is bundled once into
//   dist/vendor/<name>.cjs and required from there when the code first imports it: inlined, it would make
//   `require('m2m-token')` parse all of jose up front.
// - dist/testing/msw-modules.cjs: msw, @mswjs/interceptors and jose in one CommonJS file, which both
//   builds of m2m-token/testing require() synchronously on first use (see src/testing/msw-loader.ts).
//
// Subpath entries import the core as 'm2m-token' (external), so an app that uses several entries loads one core.

const entry = {
  index: 'src/index.ts',
  'fetch/index': 'src/fetch/index.ts',
  'axios/index': 'src/axios/index.ts',
  'undici/index': 'src/undici/index.ts',
  'testing/index': 'src/testing/index.ts',
  'redis/index': 'src/redis/index.ts',
  'opentelemetry/index': 'src/opentelemetry/index.ts',
};
const subpathEntries = Object.fromEntries(Object.entries(entry).filter(([name]) => name !== 'index'));

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
const requireFromRoot = createRequire(join(process.cwd(), 'package.json'));

/** Whether `require(name)` would load an ES module (what Jest's CommonJS runtime cannot do on Node 22). */
function isEsmOnly(name: string): boolean {
  let file: string;
  try {
    file = requireFromRoot.resolve(name);
  } catch {
    return false; // an optional peer that is not installed: nothing to bundle
  }
  if (file.endsWith('.mjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: string }).type === 'module';
    } catch {
      // no package.json at this level
    }
  }
  return false;
}

/** ESM-only runtime dependencies: each becomes dist/vendor/<name>.cjs. */
const vendored = Object.keys(pkg.dependencies).filter(isEsmOnly);
/** ESM-only optional peers (msw, @mswjs/interceptors): bundled into dist/testing/msw-modules.cjs. */
const bundledPeers = Object.keys(pkg.peerDependencies).filter(isEsmOnly);
type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];
const vendorFile = (name: string) => `vendor/${name.replace(/^@/, '').replace(/\//g, '-')}`;

/**
 * In CommonJS output files that sit at `toDist` from dist/ ('./' or '../'): an import of a vendored
 * package, static or dynamic, becomes a small in-bundle module that re-exports
 * `require('<toDist>vendor/<name>.cjs')`. esbuild initializes a dynamically imported module on the first
 * import(), so the require() happens then. The module is ESM in a namespace of its own, so esbuild's
 * interop keeps `default` as the package's default export (node-mode interop would make it module.exports).
 */
function vendorPlugin(toDist: './' | '../'): EsbuildPlugin {
  if (vendored.length === 0) return { name: 'm2m-token-vendor', setup() {} };
  const pattern = new RegExp(`^(${vendored.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
  return {
    name: 'm2m-token-vendor',
    setup(build) {
      build.onResolve({ filter: pattern }, (args) => ({ path: args.path, namespace: 'm2m-token-vendor' }));
      build.onResolve({ filter: /.*/, namespace: 'm2m-token-vendor' }, (args) => ({ path: args.path, external: true }));
      build.onLoad({ filter: /.*/, namespace: 'm2m-token-vendor' }, (args) => {
        const file = JSON.stringify(`${toDist}${vendorFile(args.path)}.cjs`);
        return { contents: `import * as ns from ${file};\nexport * from ${file};\nexport default ns.default;\n`, loader: 'js' };
      });
    },
  };
}

/**
 * Writes dist/THIRD-PARTY-LICENSES.txt: the license of every npm package bundled into dist/ (the vendored
 * dependencies and the kit's msw bundle). The configs using it share the list and each writes all of it.
 */
const bundledLicenses = new Map<string, string>();
function licensesPlugin(): EsbuildPlugin {
  return {
    name: 'm2m-token-licenses',
    setup(build) {
      build.onEnd((result) => {
        for (const input of Object.keys(result.metafile?.inputs ?? {})) {
          const dir = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
          if (dir === undefined || bundledLicenses.has(dir)) continue;
          const { name, version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
          const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
          const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `${license ?? 'UNKNOWN'} (the package has no license file)`;
          bundledLicenses.set(dir, `${name}@${version} (${license ?? 'UNKNOWN'})\n\n${text}`);
        }
        const entries = [...bundledLicenses.values()].sort();
        mkdirSync('dist', { recursive: true });
        writeFileSync('dist/THIRD-PARTY-LICENSES.txt', `Packages bundled into dist/vendor/ and dist/testing/msw-modules.cjs, and their licenses.\n\n${entries.join('\n\n---\n\n')}\n`);
      });
    },
  };
}

// Several configs write into dist/ concurrently, so none of them may clean it: it is cleaned here, once.
rmSync('dist', { recursive: true, force: true });

const shared: Options = {
  external: ['m2m-token'],
  target: 'node22',
  platform: 'node',
  splitting: false,
  clean: false,
  // Whitespace and syntax only: names stay as written (stack traces, err.name), and the .map files point at src/.
  // V8 scans every byte of a bundle before it runs it: on a cold start (serverless, a CLI) compiling the top level
  // takes about 16 M of the 33 M instructions the first token costs over a bare node:http request (callgrind,
  // docs/performance.md).
  minifyWhitespace: true,
  minifySyntax: true,
};
const commonjs: Options = {
  ...shared,
  format: ['cjs'],
  sourcemap: true,
  // tsup's external list holds every dependency; listing the vendored ones here hands them to vendorPlugin.
  noExternal: vendored,
  esbuildOptions(options) {
    options.supported = { ...options.supported, 'dynamic-import': false };
  },
};

export default defineConfig([
  { ...shared, entry, format: ['esm', 'cjs'], dts: { only: true } },
  { ...shared, entry, format: ['esm'], sourcemap: true, treeshake: true },
  // The m2m-token bin, ESM only (no .cjs, so the CommonJS rules above do not apply): dist/cli/index.js. It imports
  // the package itself as 'm2m-token' (external) and jose with import() when a command runs, so `--help` loads
  // neither. The shebang of src/cli/index.ts is kept.
  { ...shared, entry: { 'cli/index': 'src/cli/index.ts' }, format: ['esm'], sourcemap: true },
  // CommonJS without rollup's treeshake pass, which would put import() back.
  { ...commonjs, entry: { index: entry.index }, esbuildPlugins: [vendorPlugin('./')] },
  // Each subpath entry is one folder deep (dist/fetch/index.cjs, …). shims: import.meta.url in msw-loader.ts.
  { ...commonjs, entry: subpathEntries, shims: true, esbuildPlugins: [vendorPlugin('../')] },
  // dist/vendor/<name>.cjs: each ESM-only dependency with its own dependencies.
  {
    ...commonjs,
    entry: Object.fromEntries(vendored.map((name) => [vendorFile(name), requireFromRoot.resolve(name)])),
    noExternal: [/./],
    sourcemap: false,
    esbuildPlugins: [licensesPlugin()],
  },
  {
    ...commonjs,
    entry: { 'testing/msw-modules': 'src/testing/msw-modules.ts' },
    noExternal: [...vendored, ...bundledPeers],
    esbuildPlugins: [vendorPlugin('../'), licensesPlugin()],
    sourcemap: false,
    // The HTTP interceptor reads its parser, llhttp.wasm, from beside its own module (import.meta.url): the
    // shim gives the bundle its own URL, and the file is copied beside it.
    shims: true,
    onSuccess: async () => {
      const wasm = join(dirname(requireFromRoot.resolve('@mswjs/interceptors')), 'llhttp', 'llhttp.wasm');
      mkdirSync('dist/testing/llhttp', { recursive: true });
      copyFileSync(wasm, 'dist/testing/llhttp/llhttp.wasm');
    },
  },
]);
