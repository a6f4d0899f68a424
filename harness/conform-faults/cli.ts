// `npm run conform:faults -- [--seed S] [--runs N] [--rounds R] [--dir DIR] [--break NAME]`: real servers,
// a write workload and seeded faults, then conform over their logs. Prints each run's seed (rerun one with
// --seed), the faults it applied and their kinds, and the verdict; exits 1 if any run does not PASS (a divergence,
// or incomplete logs), 2 on bad usage.
import { parseArgs } from 'node:util';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describeKinds, faultRun, runDir } from './cluster.ts';
import { formatResult } from '../../checker/conform/report.ts';
import { TEST_BREAKS } from '../../impl/core/breaks.ts';
import { argsProblem, formatUsage, wantsHelp, type Usage } from '../../impl/usage.ts';
import { join } from 'node:path';

export const CONFORM_FAULTS_USAGE: Usage = {
  usage: 'npm run conform:faults -- [flags]',
  description: `Runs our servers (3 participants and an observer on 127.0.0.1) under a client write workload and faults
chosen by a seed: kill -9 of a follower and its restart, kill -9 of the leader and its restart, and dropped
connections between one server and the others and their healing. A run of 3 rounds or more applies every
kind (its order and targets depend on the seed). Then every server must serve again under one leader, and
npm run conform checks the logs. Prints per run its seed, each fault, the kinds applied, and the verdict.`,
  flags: [
    { flag: 'seed', metavar: 'S', help: 'seed of the first run, 0 to 2^32-1 (default: random, printed)' },
    { flag: 'runs', metavar: 'N', help: 'runs, with seeds S, S+1, ..., up to 100', default: 1 },
    { flag: 'rounds', metavar: 'R', help: 'faults per run, 0 to 20', default: 3 },
    { flag: 'dir', metavar: 'DIR', help: "where each run's logs go (DIR/seed-S), all kept (default: a temporary directory; the logs of a run that passes are removed, of one that does not kept and named)" },
    { flag: 'break', metavar: 'NAME', help: `a test-only protocol breakage in the servers, repeatable: ${TEST_BREAKS.join(', ')}` },
  ],
  exit: [
    [0, 'every run passes'],
    [1, 'a run does not PASS: a divergence, or incomplete logs (its logs are kept; rerun it with --seed)'],
    [2, 'bad usage'],
  ],
  examples: ['npm run conform:faults -- --seed 7 --runs 3', 'npm run conform:faults -- --seed 7 --break skipTrunc   # the report names the first event that shows it'],
};

function fail(msg: string): never {
  console.error(`conform:faults: ${msg}`);
  process.exit(2);
}

async function main(): Promise<void> {
  if (wantsHelp(process.argv.slice(2))) {
    console.log(formatUsage(CONFORM_FAULTS_USAGE));
    return;
  }
  let v;
  try {
    v = parseArgs({
      options: { seed: { type: 'string' }, runs: { type: 'string' }, rounds: { type: 'string' }, dir: { type: 'string' }, break: { type: 'string', multiple: true } },
      strict: true,
    }).values;
  } catch (e) {
    fail(`${argsProblem(e)} (see --help)`);
  }
  const int = (name: string, raw: string | undefined, dflt: number, min: number, max: number): number => {
    if (raw === undefined) return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) fail(`--${name}: must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    return Number(raw);
  };
  const seed = int('seed', v.seed, Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1);
  const runs = int('runs', v.runs, 1, 1, 100);
  const rounds = int('rounds', v.rounds, 3, 0, 20);
  for (const b of v.break ?? []) if (!(TEST_BREAKS as readonly string[]).includes(b)) fail(`--break: unknown breakage ${JSON.stringify(b)} (known: ${TEST_BREAKS.join(', ')})`);
  const temporary = v.dir === undefined;
  const base = v.dir ?? mkdtempSync(join(tmpdir(), 'conform-faults-'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      // The servers stop too: they got the same signal from the terminal, or see their stdin close.
      console.log(`conform:faults: ${sig}, stopping`);
      if (temporary) rmSync(base, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      process.exit(130);
    });
  }
  let failed = 0;
  for (let i = 0; i < runs; i++) {
    const s = seed + i;
    console.log(`run ${i + 1}/${runs}: seed ${s}, logs in ${runDir(base, s)}`);
    const r = await faultRun({ seed: s, dir: runDir(base, s), rounds, breaks: v.break ?? [], log: (l) => console.log(`  ${l}`) });
    console.log(`  faults applied: ${describeKinds(r.kinds)}`);
    console.log(`  ${r.writesAcked} writes acknowledged`);
    console.log(formatResult(r.conform).split('\n').map((l) => `  ${l}`).join('\n'));
    if (!r.conform.ok) {
      failed++;
      if (temporary) console.log(`  logs kept in ${r.dir}`);
    } else if (temporary) rmSync(r.dir, { recursive: true, force: true });
  }
  if (temporary && readdirSync(base).length === 0) rmSync(base, { recursive: true, force: true });
  console.log(`${runs - failed}/${runs} run(s) pass (first seed ${seed})`);
  process.exit(failed > 0 ? 1 : 0);
}

void main();
