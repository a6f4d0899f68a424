// `npm run samples -- [--only NAME]... [--seed S]`: writes traces/samples/ again, in the current trace version.
//
// The implementation's samples come from real servers on 127.0.0.1 (the harness of `npm run conform:faults`,
// harness/conform-faults/cluster.ts), each checked by conform before it is kept: `clean` (3 servers and an observer,
// writes through every server, no fault: PASS), `faults` (kill -9 of a follower, kill -9 of the leader, both
// restarted, dropped connections of a server: PASS), `diverging-commit-without-quorum` (the leader runs with the
// test-only breakage commitWithoutQuorum: a DIVERGENCE at its first commit, on its own ACK or a follower's). A run whose verdict is not
// the expected one is tried again with the next seed (at most 5 seeds). The checker's counterexamples under
// findings/ are found again by `check` with the options their own header records (one worker: the same path).
// Exit status: 0 every sample written, 1 a sample could not be made (the old one is kept), 2 bad usage.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { faultRun, type FaultRunOptions } from '../harness/conform-faults/cluster.ts';
import { findLogFiles } from '../checker/conform/reader.ts';
import type { ConformResult } from '../checker/conform/run.ts';
import { parseFlags } from '../checker/flags.ts';
import { runCheck } from '../checker/run.ts';
import { readTrace, replayTraceFile } from '../checker/report/trace-reader.ts';
import { buildCounterexample } from '../checker/report/counterexample.ts';
import { writeTrace } from '../checker/report/trace-writer.ts';
import type { AnySpec } from '../checker/spec-source.ts';
import { buildSpec } from '../spec/index.ts';
import { readHeader } from './reader.ts';
import { argsProblem, formatUsage, wantsHelp, type Usage } from '../impl/usage.ts';

const SAMPLES = join(import.meta.dirname, 'samples');

interface ImplSample {
  readonly name: string;
  readonly run: Omit<FaultRunOptions, 'seed' | 'dir'>;
  readonly expect: (r: ConformResult) => string | null;
}

const IMPL_SAMPLES: readonly ImplSample[] = [
  {
    name: 'clean',
    run: { schedule: [], warmupMs: 2500 },
    expect: (r) => (!r.ok ? 'diverged' : r.stats.events < 1000 ? `only ${r.stats.events} events` : null),
  },
  {
    name: 'faults',
    run: { schedule: ['killFollower', 'killLeader', 'dropConnections'], warmupMs: 500 },
    expect: (r) => (r.ok ? null : 'diverged'),
  },
  {
    name: 'diverging-commit-without-quorum',
    run: { schedule: [], breaks: ['commitWithoutQuorum'], warmupMs: 1000 },
    expect: (r) => {
      const e = r.divergence?.event;
      return e !== undefined && (e.action === 'LeaderFlushLog' || e.action === 'LeaderProcessACK') && e.params?.['committed'] !== undefined ? null : `expected a divergence at the leader's first commit, got ${e === undefined ? 'PASS' : e.action}`;
    },
  },
];

/** Copies a run's logs as serverN-transitions.NNNN.ndjson into the sample's folder, replacing what was there. */
function keep(runDir: string, name: string): void {
  const to = join(SAMPLES, name);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const file of findLogFiles([runDir])) {
    const h = readHeader(file);
    if (!('type' in h) || h.sid === undefined) throw new Error(`${file}: no header naming its server`);
    copyFileSync(file, join(to, `server${h.sid}-${basename(file)}`));
  }
}

async function implSample(s: ImplSample, seed: number): Promise<boolean> {
  const base = mkdtempSync(join(tmpdir(), `samples-${s.name}-`));
  try {
    for (let i = 0; i < 5; i++) {
      const dir = join(base, `seed-${seed + i}`);
      const r = await faultRun({ seed: seed + i, dir, ...s.run });
      const problem = r.conform.problems.length > 0 ? `${r.conform.problems.length} input problem(s)` : s.expect(r.conform);
      console.log(`${s.name}: seed ${seed + i}: ${r.faults.join('; ') || 'no faults'}; ${r.conform.stats.events} events; ${problem ?? 'as expected'}`);
      if (problem === null) {
        keep(dir, s.name);
        return true;
      }
    }
    return false;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** The flags of `check` that the header of a counterexample records. */
function checkFlags(params: Readonly<Record<string, unknown>>): string[] {
  const flags: string[] = [];
  const scalar: [string, string][] = [
    ['nodes', '--nodes'],
    ['observers', '--observers'],
    ['protocol', '--protocol'],
    ['granularity', '--granularity'],
    ['initial', '--initial'],
    ['txns', '--txns'],
    ['crashes', '--crashes'],
    ['partitions', '--partitions'],
    ['maxEpoch', '--max-epoch'],
    ['depth', '--depth'],
    ['leaderLog', '--leader-log'],
    ['followerLog', '--follower-log'],
    ['leaderApply', '--leader-apply'],
  ];
  for (const [k, flag] of scalar) if (params[k] !== undefined) flags.push(flag, String(params[k]));
  if (typeof params['variant'] === 'string' && params['variant'] !== 'none') flags.push('--variant', params['variant']);
  for (const m of (params['mutations'] as string[] | undefined) ?? []) flags.push('--mutation', m);
  for (const f of (params['fixes'] as string[] | undefined) ?? []) flags.push('--fix', f);
  return flags;
}

async function findingSample(file: string, out: string): Promise<boolean> {
  const old = readTrace(file);
  if (old.header.params?.['mode'] !== 'bfs' || old.verdict === null) {
    console.log(`${basename(file)}: not a breadth-first counterexample; kept as it is`);
    return true;
  }
  const flags = [...checkFlags(old.header.params), '--invariant', old.verdict.property, '--workers', '1', '--out', out];
  const r = await runCheck(parseFlags(flags));
  const made = r.counterexample?.traceFile ?? null;
  const same = made !== null && readTrace(made).events.length === old.events.length;
  console.log(`${basename(file)}: check ${flags.slice(0, -2).join(' ')}: ${r.verdict}, ${r.counterexample?.steps.length ?? 0} steps${same ? '' : ` (was ${old.events.length}: kept the old one)`}`);
  if (!same || made === null) return false;
  const story = (t: ReturnType<typeof readTrace>) => t.events.map((e) => `${e.action}@${e.sid}`).join(' ');
  if (story(readTrace(made)) === story(old)) {
    copyFileSync(made, file);
    return true;
  }
  // Found again, as short, but along an equivalent path with other servers in the roles (the search's order
  // follows the spec's code): the sample keeps the path the docs and tests tell, replayed through the spec
  // (every step must still be enabled, the property must still fail at its end) and written in the current version.
  const spec = buildSpec(old.header.params as never) as unknown as AnySpec;
  const replayed = replayTraceFile(spec, file);
  const path = { init: replayed[0]!.index ?? 0, steps: replayed.slice(1).map((x) => x.index!) };
  const cx = buildCounterexample(spec, old.verdict.property, path);
  const kept = writeTrace(out, spec, cx, old.header.params as Record<string, unknown>);
  copyFileSync(kept, file);
  console.log(`${basename(file)}: the found path puts other servers in the roles; the sample's own path kept, rewritten in the current version`);
  return true;
}

const names = [...IMPL_SAMPLES.map((s) => s.name), 'findings'];

export const SAMPLES_USAGE: Usage = {
  usage: 'npm run samples -- [--only NAME]... [--seed S]',
  description: `Writes traces/samples/ again in the current trace version: the implementation's samples from real servers on
127.0.0.1, each kept only if conform gives the expected verdict; the checker's counterexamples under findings/
found again with the options their headers record.`,
  flags: [
    { flag: 'only', metavar: 'NAME', help: `one sample (repeatable): ${names.join(', ')}`, default: 'all' },
    { flag: 'seed', metavar: 'S', help: 'first seed of the server runs (up to 5 seeds are tried per sample)', default: 1 },
  ],
  exit: [
    [0, 'every sample written'],
    [1, 'a sample could not be made (the old one is kept)'],
    [2, 'bad usage'],
  ],
  examples: ['npm run samples -- --only faults --seed 7'],
};

async function main(): Promise<void> {
  if (wantsHelp(process.argv.slice(2))) {
    console.log(formatUsage(SAMPLES_USAGE));
    return;
  }
  let v;
  try {
    v = parseArgs({ options: { only: { type: 'string', multiple: true }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (e) {
    console.error(`samples: ${argsProblem(e)} (see --help)`);
    process.exit(2);
  }
  for (const n of v.only ?? []) if (!names.includes(n)) {
    console.error(`samples: unknown --only ${n} (known: ${names.join(', ')})`);
    process.exit(2);
  }
  if (v.seed !== undefined && !/^\d+$/.test(v.seed)) {
    console.error(`samples: --seed must be a whole number (got ${JSON.stringify(v.seed)})`);
    process.exit(2);
  }
  const seed = Number(v.seed ?? 1);
  const want = (n: string) => v.only === undefined || v.only.includes(n);
  let failed = 0;
  for (const s of IMPL_SAMPLES) if (want(s.name) && !(await implSample(s, seed))) failed++;
  if (want('findings')) {
    const out = mkdtempSync(join(tmpdir(), 'samples-findings-'));
    try {
      const dir = join(SAMPLES, 'findings');
      for (const f of readdirSync(dir).sort()) if (!(await findingSample(join(dir, f), out))) failed++;
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  process.exit(failed > 0 ? 1 : 0);
}

void main();
