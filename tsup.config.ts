import { defineConfig } from 'tsup';

export default defineConfig({
  // Subpath entries import the core as 'm2m-token', so an app that uses several entries loads one core.
  entry: {
    index: 'src/index.ts',
    'fetch/index': 'src/fetch/index.ts',
    'axios/index': 'src/axios/index.ts',
    'undici/index': 'src/undici/index.ts',
    'testing/index': 'src/testing/index.ts',
    'redis/index': 'src/redis/index.ts',
    'opentelemetry/index': 'src/opentelemetry/index.ts',
  },
  external: ['m2m-token'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
  platform: 'node',
  splitting: false,
  treeshake: true,
});
