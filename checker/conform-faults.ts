// `npm run conform:faults -- [--seed S] [--runs N] [--rounds R] [--dir DIR] [--break NAME]`: real servers,
// a write workload and seeded faults, then conform over their logs. Prints each run's seed (rerun one with
// --seed), its faults and the verdict; exits 1 if any run does not PASS (a divergence, or incomplete logs), 2 on bad
// usage.
import { parseArgs } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faultRun, runDir } from './conform/faults.ts';
import { formatResult } from './conform/report.ts';
import { TEST_BREAKS } from '../impl/core/breaks.ts';

function fail(msg: string): never {
  console.error(`conform:faults: ${msg}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let v;
  try {
    v = parseArgs({
      options: { seed: { type: 'string' }, runs: { type: 'string' }, rounds: { type: 'string' }, dir: { type: 'string' }, break: { type: 'string', multiple: true }, help: { type: 'boolean' } },
      strict: true,
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (v.help) {
    console.log(`usage: npm run conform:faults -- [--seed S] [--runs N] [--rounds R] [--dir DIR] [--break NAME]...
  --seed S     first seed (default: random; printed)      --runs N    runs, seeds S, S+1, ... (default 1)
  --rounds R   faults per run (default 3)                   --dir DIR   where the runs' logs go (kept)
  --break NAME a test-only protocol breakage in the servers: ${TEST_BREAKS.join(', ')}`);
    return;
  }
  const int = (name: string, raw: string | undefined, dflt: number, max: number): number => {
    if (raw === undefined) return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) > max) fail(`--${name} must be an integer from 0 to ${max} (got ${JSON.stringify(raw)})`);
    return Number(raw);
  };
  const seed = int('seed', v.seed, Math.floor(Math.random() * 2 ** 31), 2 ** 32 - 1);
  const runs = int('runs', v.runs, 1, 100);
  const rounds = int('rounds', v.rounds, 3, 20);
  for (const b of v.break ?? []) if (!(TEST_BREAKS as readonly string[]).includes(b)) fail(`unknown --break ${b} (known: ${TEST_BREAKS.join(', ')})`);
  const base = v.dir ?? join(tmpdir(), `conform-faults-${process.pid}`);
  let failed = 0;
  for (let i = 0; i < runs; i++) {
    const s = seed + i;
    console.log(`run ${i + 1}/${runs}: seed ${s}, logs in ${runDir(base, s)}`);
    const r = await faultRun({ seed: s, dir: runDir(base, s), rounds, breaks: v.break ?? [], log: (l) => console.log(`  ${l}`) });
    console.log(`  ${r.writesAcked} writes acknowledged`);
    console.log(formatResult(r.conform).split('\n').map((l) => `  ${l}`).join('\n'));
    if (!r.conform.ok) failed++;
  }
  console.log(`${runs - failed}/${runs} run(s) pass (first seed ${seed})`);
  process.exit(failed > 0 ? 1 : 0);
}

void main();
