// Preloaded (node --import) into the plain run of `npm run mutation`: when the check exits, write which of
// Stryker's mutants its code executed (the instrumented spec counts them in globalThis.__stryker__) to the file
// named by ZAB_MUTATION_COVERAGE. Only the main thread counts: the plain run uses --workers 1.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.ZAB_MUTATION_COVERAGE;
  if (!file) return;
  const cov = globalThis.__stryker__?.mutantCoverage ?? { static: {}, perTest: {} };
  const hit = { ...cov.static };
  for (const test of Object.values(cov.perTest ?? {})) Object.assign(hit, test);
  writeFileSync(file, JSON.stringify(Object.keys(hit)));
});
