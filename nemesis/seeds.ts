// `npm run nemesis:seeds -- --target T --from 1 --count 50 [--time 60s] [more nemesis flags]`: one nemesis run per
// seed, each its own process (npm run nemesis -- ... --json), one summary line per seed and the totals.
// Exit status: 0 every run OK, 1 some run was not, 2 bad usage.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatUsage, wantsHelp, type Usage } from '../impl/usage.ts';

export const NEMESIS_SEEDS_USAGE: Usage = {
  usage: 'npm run nemesis:seeds -- --target zookeeper|ours [--from N] [--count N] [nemesis flags...]',
  description: `Runs npm run nemesis once per seed, each in its own process, and prints one line per seed (faults by kind,
operations ok/failed/indeterminate, the checker's verdict, liveness, conformance, the slowest recovery) and the
totals. Histories are written to $TMPDIR/nemesis-TARGET-seedS.ndjson.`,
  flags: [
    { flag: 'target', metavar: 'T', help: 'zookeeper or ours; required' },
    { flag: 'from', metavar: 'N', help: 'the first seed', default: 1 },
    { flag: 'count', metavar: 'N', help: 'how many seeds (runs)', default: 50 },
  ],
  sections: [['Nemesis flags', ['--time, --clients, --nodes, --keys, --faults, --recovery go to every run (npm run nemesis -- --help)']]],
  exit: [
    [0, 'every run OK'],
    [1, 'some run was not (an anomaly, not live, not conforming, or no report)'],
    [2, 'bad usage'],
  ],
  examples: ['npm run nemesis:seeds -- --target zookeeper --from 1 --count 50 --time 60s'],
};

const args = process.argv.slice(2);
if (wantsHelp(args)) {
  console.log(formatUsage(NEMESIS_SEEDS_USAGE));
  process.exit(0);
}
const take = (name: string, def: number): number => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  args.splice(i, 2);
  if (v === undefined || !/^\d+$/.test(v)) {
    console.error(`nemesis:seeds: ${name} must be a non-negative integer (got ${JSON.stringify(v)})`);
    process.exit(2);
  }
  return Number(v);
};
const from = take('--from', 1);
const count = take('--count', 50);
const ti = args.indexOf('--target');
const target = ti >= 0 ? args[ti + 1] : undefined;
if (target !== 'zookeeper' && target !== 'ours') {
  console.error('nemesis:seeds: --target must be zookeeper or ours');
  process.exit(2);
}
let bad = 0;
const kinds: Record<string, number> = {};
const totals = { ok: 0, fail: 0, info: 0, anomalies: 0, notLive: 0, notConforming: 0 };
let worstRecovery = 0;
// Ctrl-C or SIGTERM: the running seed's nemesis stops its servers and removes its folders (it has the signal too,
// or gets it from here); this process waits for it, then exits 130.
let stopping: NodeJS.Signals | null = null;
let running: ReturnType<typeof spawn> | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    stopping = sig;
    running?.kill(sig);
  });
}
/** One seed's run of nemesis/cli.ts, bounded at 30 minutes. */
function runSeed(argv: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const bound = setTimeout(() => child.kill('SIGTERM'), 30 * 60_000);
    child.on('close', (status) => {
      clearTimeout(bound);
      running = null;
      resolve({ status, stdout, stderr });
    });
  });
}
for (let seed = from; seed < from + count; seed++) {
  const out = join(tmpdir(), `nemesis-${target}-seed${seed}.ndjson`);
  const r = await runSeed(['--import', 'tsx', 'nemesis/cli.ts', ...args, '--seed', String(seed), '--out', out, '--json']);
  if (stopping !== null) {
    console.error(`nemesis:seeds: ${stopping}: stopped during seed ${seed} (its servers stopped and its folders removed)`);
    process.exit(130);
  }
  let rep: any;
  try {
    rep = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    bad++;
    console.log(`seed ${seed}: no report (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`);
    continue;
  }
  for (const [k, n] of Object.entries(rep.faultKinds as Record<string, number>)) kinds[k] = (kinds[k] ?? 0) + n;
  totals.ok += rep.ops.ok;
  totals.fail += rep.ops.fail;
  totals.info += rep.ops.info;
  if (rep.check.verdict !== 'valid') totals.anomalies++;
  if (!rep.liveness.ok) totals.notLive++;
  if (rep.conform.verdict === 'FAIL') totals.notConforming++;
  const rec = Math.max(0, ...rep.faults.map((f: any) => f.recoveryMs ?? Infinity));
  worstRecovery = Math.max(worstRecovery, rec);
  if (rep.verdict !== 'OK') bad++;
  console.log(
    `seed ${seed}: ${rep.verdict}; faults ${Object.entries(rep.faultKinds).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}; ops ${rep.ops.ok}/${rep.ops.fail}/${rep.ops.info} ok/failed/indeterminate; ` +
      `history ${rep.check.verdict}${rep.check.anomalies.length ? ` (${rep.check.anomalies.map((a: any) => a.kind).join(', ')})` : ''}; live ${rep.liveness.ok ? 'yes' : 'NO'}; conform ${rep.conform.verdict}; slowest recovery ${rec === Infinity ? 'NONE' : `${(rec / 1000).toFixed(2)} s`}`,
  );
}
console.log(
  `\n${count} runs against ${target}: ${count - bad} OK; faults ${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}; ops ${totals.ok} ok, ${totals.fail} failed, ${totals.info} indeterminate; ` +
    `runs with an anomaly ${totals.anomalies}, not live ${totals.notLive}, not conforming ${totals.notConforming}; slowest recovery ${worstRecovery === Infinity ? 'NONE (a fault never recovered)' : `${(worstRecovery / 1000).toFixed(2)} s`}`,
);
process.exit(bad === 0 ? 0 : 1);
