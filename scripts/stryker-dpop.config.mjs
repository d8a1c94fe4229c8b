// Mutation testing of the DPoP (RFC 9449) files: `npx stryker run scripts/stryker-dpop.config.mjs` (through npx, so
// that Stryker and its vitest workers run on Node 24). The settings are those of stryker.config.mjs (per-test
// coverage, static mutants skipped, two processes at most); the files and tests are DPoP's. Results and surviving
// mutants: docs/mutation-dpop.md. Reports: .scratch/mutation/dpop/.
import base from '../stryker.config.mjs';

const out = '.scratch/mutation/dpop';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: [
    'src/dpop.ts',
    'src/adapters/dpop.ts',
    'src/testing/dpop.ts',
    // The DPoP parts of the adapters' token handling and of the mock token endpoint.
    'src/adapters/tokens.ts:54-71',
    'src/testing/token-endpoint.ts:247-248',
    'src/testing/token-endpoint.ts:264-270',
  ],
  testFiles: [
    'test/dpop-client.test.ts',
    'test/dpop-interop.test.ts',
    'test/dpop-behaviour.test.ts',
    'test/env.test.ts',
    'test/options-behaviour.test.ts',
    'test/adapter-policy.test.ts',
  ],
  tempDirName: '.scratch/stryker-tmp-dpop',
  incrementalFile: `${out}/incremental.json`,
  htmlReporter: { fileName: `${out}/index.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
};
