import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = fileURLToPath(new URL('./src/', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and examples import the package by name; point them at the sources, not at dist/.
    alias: [
      { find: /^m2m-token$/, replacement: `${src}index.ts` },
      { find: /^m2m-token\/(.+)$/, replacement: `${src}$1/index.ts` },
    ],
  },
  test: {
    // .ts only: examples/app-under-test/app.jest.test.cjs is Jest's, run by `npm run check:consumers`.
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // Says loudly when the Redis suites are skipped for want of a redis-server.
    globalSetup: ['test/setup/redis.ts'],
    testTimeout: 20_000,
    // expect.poll waits for what normally takes milliseconds; 1 s (the default) is short for a loaded CI machine, and a
    // passing poll returns as soon as it passes.
    expect: { poll: { timeout: 5_000 } },
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
