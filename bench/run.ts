// `npm run bench`: the checker's figures on this machine, as one table. Each measurement runs in a child
// process (its own peak memory). Figures only: nothing here passes or fails.
//   (a) 3 servers to depth 30 with 1 and with 2 workers, and the ratio between them (the default protocol,
//       ZAB, and FastLeaderElection alone);
//   (b) 5 servers, 2 workers, as deep as about a minute goes;
//   (c) simulation steps/s (2 workers);
//   (e) the cost of one state by stage (decode, spec.next, encode, properties), robust to load (bench/stage-cost.ts);
//   then the implementation with and without its transition log (bench/impl.ts), and ours next to Apache
//   ZooKeeper 3.8 through ZooKeeper's client protocol, with the memory per znode (bench/zk-protocol.ts).
// Options: --spec FILE#EXPORT (another spec), --seconds S (budget of (b), default 60), --znodes N.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { RunResult } from '../checker/run.ts';
import type { StageCost } from './stage-cost.ts';
import { formatBytes } from '../checker/report/report.ts';
import { argsProblem, formatUsage, wantsHelp, type Usage } from '../impl/usage.ts';

const ROOT = join(import.meta.dirname, '..');
export const BENCH_USAGE: Usage = {
  usage: 'npm run bench -- [flags]',
  description: `The checker's figures on this machine, as one table, each measurement in a child process (its own peak
memory): 3 servers to depth 30 with 1 and 2 workers (ZAB, and FastLeaderElection alone), 5 servers as deep as
the budget goes, simulation steps/s, the cost of one state by stage (decode, spec.next, encode, properties; per
state the least of 9 timings, so that it holds under load); then our server with and without its transition log (bench/impl.ts), and
create/setData/getData through ZooKeeper's client protocol against Apache ZooKeeper 3.8 and ours side by side
with the ratios and the memory per znode (bench/zk-protocol.ts; Apache's rows are skipped when it cannot be
installed). Figures only: nothing here passes or fails.`,
  flags: [
    { flag: 'spec', metavar: 'FILE#EXPORT', help: "another spec to measure (default: the checker's own)" },
    { flag: 'seconds', metavar: 'S', help: 'the budget of the 5-server row', default: 60 },
    { flag: 'znodes', metavar: 'N', help: 'znodes of 100 bytes created for the memory per znode, 0 for none', default: 1_000_000 },
  ],
  exit: [
    [0, 'the table is printed'],
    [1, 'a measurement failed'],
    [2, 'bad usage'],
  ],
  examples: ['npm run bench', 'npm run bench -- --seconds 20 --znodes 100000'],
};

if (wantsHelp(process.argv.slice(2))) {
  console.log(formatUsage(BENCH_USAGE));
  process.exit(0);
}
let values: { spec?: string | undefined; seconds?: string | undefined; znodes?: string | undefined };
try {
  values = parseArgs({ options: { spec: { type: 'string' }, seconds: { type: 'string' }, znodes: { type: 'string' } }, strict: true }).values;
} catch (e) {
  console.error(`bench: ${argsProblem(e)} (see --help)`);
  process.exit(2);
}
if (values.seconds !== undefined && !/^\d+$/.test(values.seconds)) {
  console.error(`bench: --seconds must be a whole number (got ${JSON.stringify(values.seconds)})`);
  process.exit(2);
}
if (values.znodes !== undefined && !/^\d+$/.test(values.znodes)) {
  console.error(`bench: --znodes must be a whole number (got ${JSON.stringify(values.znodes)})`);
  process.exit(2);
}
const znodes = Number(values.znodes ?? 1_000_000);
const specFlags = values.spec === undefined ? [] : ['--spec', values.spec];
const budget = Number(values.seconds ?? 60);

class MeasureError extends Error {}

type Measured = RunResult & { cpuSeconds: number };

function measure(flags: string[], timeLimitSeconds?: number): Measured {
  const arg = JSON.stringify({ flags: [...specFlags, '--out', join(ROOT, 'tmp', 'bench-traces'), ...flags], timeLimitSeconds });
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'search-child.ts'), arg], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new MeasureError(r.stderr.trim().split('\n')[0] ?? `exit status ${r.status}`);
  return JSON.parse(r.stdout) as Measured;
}

type Row = Record<string, string>;
const rows: Row[] = [];
const num = (x: number) => Math.round(x).toLocaleString('en-US');

function row(name: string, r: Measured): Row {
  const work = r.mode === 'bfs' ? r.distinct! : r.steps!;
  return {
    run: name,
    workers: String(r.bounds.workers),
    depth: `${r.depthReached}${r.exhausted ? ' (exhausted)' : r.stopReason === 'time-limit' ? ' (time limit)' : ''}`,
    'distinct states': r.distinct === null ? '-' : num(r.distinct),
    'states/s': r.mode === 'bfs' ? num(r.statesPerSecond) : '-',
    'steps/s': r.mode === 'simulate' ? num(r.statesPerSecond) : '-',
    'bytes/state': r.memory.bytesPerState === null ? '-' : r.memory.bytesPerState.toFixed(1),
    'peak RSS': formatBytes(r.memory.peakRssBytes),
    'wall s': r.wallSeconds.toFixed(1),
    'cpu s': r.cpuSeconds.toFixed(1),
    'per cpu-s': num(work / r.cpuSeconds),
    note:
      r.counterexample !== null
        ? `stopped at a violation of ${r.counterexample.property} (report it!)`
        : r.reduction !== null
          ? `--por: ${num(r.reduction.generated)} generated, ${num(r.reduction.skipped)} skipped (${r.reduction.factor.toFixed(2)}x fewer successors; states 1.00x)`
          : r.mode === 'bfs'
            ? `${num(r.generated)} generated`
            : '',
  };
}

function print(table: Row[]): void {
  const cols = Object.keys(table[0]!);
  const width = cols.map((c) => Math.max(c.length, ...table.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(width[i]!)).join(' | ') + ' |';
  console.log(line(cols));
  console.log('|' + width.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of table) console.log(line(cols.map((c) => r[c] ?? '')));
}

console.log(`checker bench on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}`);
console.log(`searches that do not finish stop after ${budget} s (--seconds); states/s is then over what they did`);
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine lowers states/s and the`);
console.log('ratio of 2 workers to 1; states (or steps) per cpu-second, all threads counted, is less sensitive to it)\n');
/** A measurement that fails (a spec being edited, say) becomes a row saying so; the others still run. */
function attempt(name: string, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof MeasureError)) throw e;
    rows.push({ run: name, depth: `failed: ${e.message}` });
  }
}

function pair(name: string, flags: string[], timeLimit?: number): void {
  attempt(name, () => {
    const one = measure([...flags, '--workers', '1'], timeLimit);
    const two = measure([...flags, '--workers', '2'], timeLimit);
    rows.push(row(name, one), row(name, two));
    rows.push({ run: `${name}: 2 workers / 1`, 'states/s': (two.statesPerSecond / one.statesPerSecond).toFixed(2) + 'x' });
  });
}

function single(name: string, flags: string[], timeLimit?: number): void {
  attempt(name, () => rows.push(row(name, measure(flags, timeLimit))));
}
pair('(a) 3 servers, depth 30, default bounds', ['--nodes', '3', '--depth', '30'], budget);
pair('(a) 3 servers, depth 30, FLE alone', ['--nodes', '3', '--depth', '30', '--protocol', 'fle'], budget);
single(`(b) 5 servers, ~${budget} s`, ['--nodes', '5', '--depth', '1000', '--workers', '2'], budget);
single(`(b) 5 servers, FLE alone, ~${budget} s`, ['--nodes', '5', '--depth', '1000', '--workers', '2', '--protocol', 'fle'], budget);
// Issue 17: partial-order reduction (sleep sets: every state visited, fewer successors generated), side by side
// with the same search without it; and the fine granularity for the same wall time both ways.
single('(d) 3 servers, depth 30, --por', ['--nodes', '3', '--depth', '30', '--workers', '2', '--por'], budget);
single(`(d) fine granularity, ~${budget} s`, ['--nodes', '3', '--depth', '1000', '--workers', '2', '--granularity', 'fine'], budget);
single(`(d) fine granularity, ~${budget} s, --por`, ['--nodes', '3', '--depth', '1000', '--workers', '2', '--granularity', 'fine', '--por'], budget);
const walks = ['--simulate', '--depth', '500', '--seed', '1', '--workers', '2'];
// Walks of the default spec may find a violation: steps/s is measured all the same.
single('(c) simulation, 3 servers', ['--nodes', '3', '--walks', '2000', ...walks]);
single('(c) simulation, 3 servers, FLE', ['--nodes', '3', '--walks', '20000', '--protocol', 'fle', ...walks]);
// Walks of 5 servers run into finding #1 of docs/findings.md within the first few dozen walks and stop there;
// with its proposed fix they run to the end, which is what a steps/s figure needs.
single('(c) simulation, 5 servers, --fix forgetStaleAcks', ['--nodes', '5', '--walks', '1000', '--fix', 'forgetStaleAcks', ...walks]);
print(rows);
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

// (e) What one state costs, stage by stage (bench/stage-cost.ts): per state of one level, the least of several
// timings, so that it holds under load and compares versions measured at different times (issue 17).
console.log('\n(e) cost of one state by stage, microseconds of one thread (per state the least of 9 timings; bench/stage-cost.ts):\n');
const stageRows: Row[] = [];
function stages(name: string, flags: string[], level: number): void {
  const arg = JSON.stringify({ flags: [...specFlags, ...flags], level, reps: 9 });
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'stage-cost.ts'), arg], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    stageRows.push({ run: name, level: `failed: ${r.stderr.trim().split('\n')[0] ?? `exit status ${r.status}`}` });
    return;
  }
  const c = JSON.parse(r.stdout) as StageCost;
  const us = (x: number) => x.toFixed(1);
  stageRows.push({
    run: name,
    level: String(c.level),
    states: num(c.states),
    'succ/state': c.successors.toFixed(2),
    decode: us(c.decodeUs),
    'spec.next': us(c.nextUs),
    'encode succs': us(c.encodeUs),
    'properties (half the succs)': us(c.propertiesUs),
    total: us(c.totalUs),
    'states/s per core at that cost': num(1e6 / c.totalUs),
  });
}
stages('3 servers, default bounds', ['--nodes', '3'], 12);
stages('3 servers, --granularity fine', ['--nodes', '3', '--granularity', 'fine'], 10);
stages('5 servers, default bounds', ['--nodes', '5'], 6);
stages('3 servers, FLE alone', ['--nodes', '3', '--protocol', 'fle'], 12);
print(stageRows);

const implBench = join(ROOT, 'bench', 'impl.ts');
if (existsSync(implBench)) {
  console.log('\nimplementation (bench/impl.ts):\n');
  const mod = (await import(pathToFileURL(implBench).href)) as Record<string, unknown>;
  const fn = (mod['benchImpl'] ?? mod['default'] ?? Object.values(mod).find((v) => typeof v === 'function')) as (() => Promise<unknown>) | undefined;
  if (fn === undefined) console.log('bench/impl.ts exports no function');
  else {
    // benchImpl prints its own table; a function that returns text instead gets it printed here.
    const result = await fn();
    if (typeof result === 'string') console.log(result);
  }
}

// The yardstick (issue #12): the same client and workload through ZooKeeper's client protocol against Apache
// ZooKeeper 3.8 and against ours, side by side with the ratios, then memory per znode (bench/zk-protocol.ts).
// Without ZooKeeper installed (bash bench/zookeeper-install.sh), one line says why and our rows still print.
console.log('\nours next to Apache ZooKeeper 3.8, the same client and workload (bench/zk-protocol.ts):\n');
const { benchProtocol, formatBench } = await import('./zk-protocol.ts');
const yardstick = await benchProtocol(['apache', 'ours'], 3, znodes, (line) => {
  if (process.stderr.isTTY === true || !line.startsWith('  ')) process.stderr.write(`${line}\n`);
});
console.log(formatBench(yardstick));
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
