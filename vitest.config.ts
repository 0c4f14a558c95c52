import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Suites start real processes and databases; two workers fit two cores.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
