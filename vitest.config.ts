import { defineConfig } from 'vitest/config';

// GPU tests share one Dawn device per worker; SwiftShader is CPU-bound, so two
// workers (one per core) is the sweet spot on the reference machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
