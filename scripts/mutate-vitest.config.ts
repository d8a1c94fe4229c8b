// The vitest configuration Stryker runs (see stryker.config.mjs): the project's, with one worker process reused
// across test files (isolate: false), so that a mutant does not pay a process start per file, and a shorter
// testTimeout, so that a mutant that makes a test hang fails it (killed) before Stryker's own timeout.
// Static mutants (M2M_MUTATE_STATIC=1) need isolate: a module evaluated once per worker would keep the first mutant.
// retry: 1, because Stryker's initial run must pass whole and two loaded workers make timing tests flaky (one
// proxy test races a 100 ms tunnel timeout against a 100 ms attempt timeout); a mutant's failure fails twice.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      isolate: process.env.M2M_MUTATE_STATIC === '1',
      retry: 1,
      testTimeout: 6_000,
      hookTimeout: 30_000,
      reporters: ['default'],
    },
  }),
);
