import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'spec/**/*.test.ts', 'checker/**/*.test.ts', 'impl/**/*.test.ts', 'traces/**/*.test.ts'],
    // The READMEs' commands run on their own (npm run test:readme): minutes of real clusters, some of them racing
    // each other on purpose, too long and too loaded for npm test's 10 minutes on a 2-core CI machine.
    exclude: process.env['README_TEST'] === '1' ? [] : ['test/readme.test.ts'],
    // A temporary directory of the run's own: leftovers are reported and removed (test/setup-tmpdir.ts).
    globalSetup: ['test/setup-tmpdir.ts'],
    // fast-check's seed fixed in CI, random elsewhere (test/setup-fast-check.ts).
    setupFiles: ['test/setup-fast-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
