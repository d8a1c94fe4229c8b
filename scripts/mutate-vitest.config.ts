// The vitest configuration Stryker runs (see stryker.config.mjs): the project's, with one worker process reused
// across test files (isolate: false), so that a mutant does not pay a process start per file, and a shorter
// testTimeout, so that a mutant that makes a test hang fails it (killed) before Stryker's own timeout.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      isolate: false,
      testTimeout: 6_000,
      hookTimeout: 30_000,
      reporters: ['default'],
    },
  }),
);
