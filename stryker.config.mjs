// Mutation testing (StrykerJS, vitest runner). Run it through npm, so that Stryker and its vitest workers run on
// Node 24: `npm run mutate` (every group below, then a per-file score table), `npm run mutate:changed` (the
// files changed since main, incrementally). `scripts/mutate.mjs` runs one Stryker per group, choosing it with
// M2M_MUTATE_GROUP. Not run in CI: see docs/mutation.md for the time a run takes and the surviving mutants.
import { readdirSync } from 'node:fs';

/** Files with no run-time logic to mutate: re-export lists, types, constants read from package.json. */
const NOT_MUTATED = ['!src/index.ts', '!src/redis/index.ts', '!src/testing/index.ts', '!src/types.ts', '!src/version.ts', '!src/stores/token-store.ts'];

const tests = (filter) =>
  readdirSync('test')
    .filter((f) => f.endsWith('.test.ts') && filter(f))
    .map((f) => `test/${f}`);

/**
 * Each group: the files it mutates and the test files that may kill its mutants. The suites left out of the core
 * group start other processes (package.test.ts, testing-entry.test.ts, redis-fleet.test.ts, fault-matrix.test.ts, cli.test.ts:
 * the command line runs in a child process, where no mutant is active) or other servers
 * (interop-glewlwyd.test.ts) and test the entries, not the core's decisions.
 */
export const GROUPS = {
  core: {
    mutate: ['src/*.ts', 'src/stores/*.ts', ...NOT_MUTATED],
    testFiles: tests((f) => !/^(adapter-|redis-|testing-|interop-glewlwyd|package\.|fault-matrix|cli\.)/.test(f)),
  },
  adapters: {
    mutate: ['src/adapters/**/*.ts', 'src/fetch/**/*.ts', 'src/axios/**/*.ts', 'src/undici/**/*.ts', ...NOT_MUTATED],
    testFiles: tests((f) => f.startsWith('adapter-')),
  },
  redis: {
    mutate: ['src/redis/**/*.ts', ...NOT_MUTATED],
    // redis-fleet and redis-cluster run the store in worker processes, where no mutant is active.
    testFiles: tests((f) => f.startsWith('redis-') && !['redis-fleet.test.ts', 'redis-cluster.test.ts'].includes(f)),
  },
  testing: {
    mutate: ['src/testing/**/*.ts', ...NOT_MUTATED],
    // quota.test.ts drives the mock endpoint's Auth0 quotas (src/testing/quotas.ts) through a TokenClient.
    testFiles: [...tests((f) => (f.startsWith('testing-') && f !== 'testing-entry.test.ts') || f === 'quota.test.ts'), 'examples/app-under-test/app.test.ts'],
  },
  opentelemetry: {
    mutate: ['src/opentelemetry/**/*.ts'],
    testFiles: tests((f) => f.startsWith('opentelemetry')),
  },
  // The command line's judgements and formatting (pure functions, tested in-process by cli-behaviour.test.ts). The
  // rest of src/cli is I/O (argument parsing, the environment, probes, printing) and runs in child processes in
  // cli.test.ts, where no mutant is active; index.ts runs the command when imported.
  cli: {
    mutate: ['src/cli/advice.ts', 'src/cli/format.ts'],
    testFiles: tests((f) => f.startsWith('cli-')),
  },
};

const groupName = process.env.M2M_MUTATE_GROUP;
const group = groupName === undefined ? undefined : GROUPS[groupName];
if (groupName !== undefined && group === undefined) throw new Error(`M2M_MUTATE_GROUP=${groupName}: expected one of ${Object.keys(GROUPS).join(', ')}`);
// M2M_MUTATE_PART: a report folder of its own for a run over part of a group (`--mutate` a few files), so that it
// does not replace the group's report; the table of scripts/mutate.mjs takes the newest report of each file.
const out = `.scratch/mutation/${groupName ?? 'all'}${process.env.M2M_MUTATE_PART ? `-${process.env.M2M_MUTATE_PART}` : ''}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: {
    configFile: 'scripts/mutate-vitest.config.ts',
    // Only the test files that import a mutated file (through any chain) run in the dry run.
    related: true,
    // The project's own pool: a worker thread can abort Node when a test ends during an RSA key generation.
    pool: 'forks',
  },
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants: ErrorCode, RESERVED_PARAMS, PREFERENCE, regexes) run every related test
  // each, tens of seconds apiece here. Skipped (reported as Ignored) unless `npm run mutate -- --static`.
  ignoreStatic: process.env.M2M_MUTATE_STATIC !== '1',
  // Two cores, shared: never more than two test processes.
  concurrency: 2,
  mutate: group?.mutate ?? ['src/**/*.ts', ...NOT_MUTATED],
  ...(group ? { testFiles: group.testFiles } : {}),
  // A mutant that makes a test hang fails at vitest's testTimeout (scripts/mutate-vitest.config.ts) first.
  timeoutMS: 10_000,
  timeoutFactor: 1.5,
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.scratch/stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['.scratch', 'dist', 'coverage', 'bench/peers/node_modules', '.vitest-results*.json'],
  incrementalFile: `${out}/incremental.json`,
  reporters: ['progress-append-only', 'clear-text', 'html', 'json'],
  htmlReporter: { fileName: `${out}/index.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
};
