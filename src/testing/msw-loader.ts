import { createRequire } from 'node:module';
import type * as MswModules from './msw-modules.js';

let modules: typeof MswModules | undefined;

/**
 * msw, its HTTP interceptor and jose, loaded on first use, so that the fakes and `ManualClock` work without
 * msw installed and never load it. The load is a synchronous `require()` of a CommonJS bundle of the three
 * (dist/testing/msw-modules.cjs), because that one mechanism works in Node ESM, vitest, node:test and Jest,
 * in CommonJS mode too, where `import()` and `require()` of an ES module fail; and `mockTokenEndpoint()` and
 * `mockNetwork()` stay synchronous. Run from the sources (vitest, tsx), the file is msw-modules.ts.
 */
export function mswModules(): typeof MswModules {
  modules ??= createRequire(import.meta.url)(import.meta.url.endsWith('.ts') ? './msw-modules.ts' : './msw-modules.cjs') as typeof MswModules;
  return modules;
}
