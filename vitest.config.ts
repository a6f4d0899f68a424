import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'spec/**/*.test.ts', 'checker/**/*.test.ts', 'impl/**/*.test.ts', 'traces/**/*.test.ts'],
    // A temporary directory of the run's own: leftovers are reported and removed (test/setup-tmpdir.ts).
    globalSetup: ['test/setup-tmpdir.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
