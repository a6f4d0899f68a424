// `npm run nemesis -- --target zookeeper|ours --seed S --time 60s --clients 5`: concurrent clients against an
// ensemble under a seeded nemesis, then a heal phase, then the history checker (and, for ours, npm run conform).
// Exit status: 0 no anomaly and live, 1 an anomaly, a liveness failure or a conformance failure, 2 bad usage,
// 3 the run could not be made (e.g. ZooKeeper not installed).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { FAULT_KINDS, type FaultKind } from './faults.ts';
import { runOnce, type RunReport } from './run.ts';
import { abandonSetup, type Target } from './target.ts';
import { argsProblem, formatUsage, wantsHelp, type Usage } from '../impl/usage.ts';

export const NEMESIS_USAGE: Usage = {
  usage: 'npm run nemesis -- --target zookeeper|ours [flags]',
  description: `Runs clients (each a session on a server of its own; create, setData and compare-and-set, delete, getData,
sync+getData on a few znodes) against a local ensemble while a seeded nemesis kills (-9) and restarts the leader
or a follower, isolates a server, loses one direction of a quorum link, pauses a server (SIGSTOP longer than the
session timeout), holds its fsyncs (LD_PRELOAD shim), and tears the unsynced tail of its txn log before a
restart. Then it heals everything, checks that every client gets answers again, reads every znode on every
server, and checks the history (npm run history: linearizability, sessions, final replicas). For ours, the
servers' transition logs go through npm run conform too.`,
  flags: [
    { flag: 'target', metavar: 'T', help: "zookeeper (Apache ZooKeeper 3.8, Debian's package) or ours (impl/); required" },
    { flag: 'seed', metavar: 'S', help: "the nemesis's and the clients' seed", default: 1 },
    { flag: 'time', metavar: 'D', help: 'how long the faults go on, e.g. 60s, 90000ms, 2m', default: '60s' },
    { flag: 'clients', metavar: 'N', help: 'client sessions at once', default: 5 },
    { flag: 'nodes', metavar: 'N', help: 'servers: 3 or 5', default: 3 },
    { flag: 'keys', metavar: 'N', help: 'znodes', default: 3 },
    { flag: 'faults', metavar: 'LIST', help: `comma-separated kinds: ${FAULT_KINDS.join(',')}`, default: 'all' },
    { flag: 'recovery', metavar: 'D', help: "bound on recovery after each fault and on every client's answer after the heal", default: '30s' },
    { flag: 'out', metavar: 'FILE', help: 'the history file (default: $TMPDIR/nemesis-TARGET-seedS.ndjson)' },
    { flag: 'keep', metavar: 'DIR', help: "ours: keep the servers' data directories and transition logs in DIR (default: a temporary one, removed)" },
    { flag: 'json', help: 'print the report as one JSON object' },
  ],
  exit: [
    [0, 'no anomaly, recovered and live (and, for ours, conforming)'],
    [1, 'an anomaly, a liveness failure or a conformance failure'],
    [2, 'bad usage'],
    [3, 'the run could not be made (ZooKeeper not installed, no leader at the start)'],
  ],
  examples: ['npm run nemesis -- --target zookeeper --seed 7 --time 60s --clients 5', 'npm run nemesis -- --target ours --seed 7 --time 20s --faults kill,partition'],
};

const duration = (name: string) =>
  z.string().transform((s, ctx) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `--${name} must be a duration like 60s, 1500ms or 2m (got ${JSON.stringify(s)})` });
      return z.NEVER;
    }
    return Math.round(Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 'ms' ? 1 : 1000));
  });
const int = (name: string, lo: number, hi: number, def: number) =>
  z.string().default(String(def)).transform((s, ctx) => {
    if (!/^\d+$/.test(s) || Number(s) < lo || Number(s) > hi) {
      ctx.addIssue({ code: 'custom', message: `--${name} must be an integer from ${lo} to ${hi} (got ${JSON.stringify(s)})` });
      return z.NEVER;
    }
    return Number(s);
  });
const Flags = z.object({
  target: z.enum(['zookeeper', 'ours'], '--target must be zookeeper or ours'),
  seed: int('seed', 0, 2 ** 31 - 1, 1),
  time: duration('time').default(60_000),
  clients: int('clients', 1, 50, 5),
  nodes: z.enum(['3', '5'], '--nodes must be 3 or 5').default('3').transform(Number),
  keys: int('keys', 1, 20, 3),
  faults: z
    .string()
    .default(FAULT_KINDS.join(','))
    .transform((s, ctx) => {
      const ks = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
      const bad = ks.find((k) => !(FAULT_KINDS as readonly string[]).includes(k));
      if (bad !== undefined || ks.length === 0) {
        ctx.addIssue({ code: 'custom', message: `--faults: ${bad === undefined ? 'empty' : `unknown kind ${JSON.stringify(bad)}`} (kinds: ${FAULT_KINDS.join(', ')})` });
        return z.NEVER;
      }
      return ks as FaultKind[];
    }),
  recovery: duration('recovery').default(30_000),
  out: z.string().min(1).optional(),
  keep: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

export function formatReport(r: RunReport): string {
  const L: string[] = [];
  L.push(`nemesis: target ${r.target}, seed ${r.seed}, ${r.timeMs / 1000} s of faults`);
  for (const l of r.limits) L.push(`  limit: ${l}`);
  L.push(`faults applied: ${r.faults.length} (${Object.entries(r.faultKinds).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`);
  for (const f of r.faults) L.push(`  ${(f.at / 1000).toFixed(1).padStart(6)} s  ${f.kind.padEnd(11)} server ${f.victim} (${f.role}): ${f.detail}; recovery ${f.recoveryMs === null ? 'NOT within the bound' : `${(f.recoveryMs / 1000).toFixed(2)} s`}`);
  L.push(`operations: ${r.ops.ok} ok, ${r.ops.fail} failed (definite), ${r.ops.info} indeterminate`);
  L.push(`liveness after the heal: ${r.liveness.ok ? 'every client answered' : 'FAILED'} (ms to each client's first answer: ${r.liveness.perClientMs.map((x) => x ?? 'none').join(', ')}; bound ${r.liveness.boundMs / 1000} s)`);
  for (const p of r.finalReadProblems) L.push(`  final read: ${p}`);
  L.push(`history checker: ${r.check.verdict.toUpperCase()}${r.check.anomalies.length ? `, ${r.check.anomalies.length} anomalies` : ''}`);
  for (const a of r.check.anomalies.slice(0, 10)) L.push(`  ${a.kind}: ${a.message}`);
  L.push(`conformance (npm run conform): ${r.conform.verdict}${r.conform.verdict === 'not run' ? ` (${r.conform.detail})` : ''}`);
  if (r.conform.verdict !== 'not run') for (const l of r.conform.detail.split('\n')) L.push(`  ${l}`);
  L.push(`history: ${r.historyPath} (npm run history -- ${r.historyPath})`);
  L.push(`VERDICT: ${verdictOf(r)}`);
  return L.join('\n');
}

export const verdictOf = (r: RunReport) =>
  r.check.verdict === 'invalid' ? 'ANOMALY' : !r.liveness.ok || r.faults.some((f) => f.recoveryMs === null) ? 'NOT LIVE' : r.conform.verdict === 'FAIL' ? 'NOT CONFORMING' : r.check.verdict === 'unknown' ? 'UNKNOWN' : 'OK';

async function main(): Promise<void> {
  if (wantsHelp(process.argv.slice(2))) {
    console.log(formatUsage(NEMESIS_USAGE));
    process.exit(0);
  }
  let raw;
  try {
    raw = parseArgs({
      options: {
        target: { type: 'string' }, seed: { type: 'string' }, time: { type: 'string' }, clients: { type: 'string' }, nodes: { type: 'string' }, keys: { type: 'string' },
        faults: { type: 'string' }, recovery: { type: 'string' }, out: { type: 'string' }, keep: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`nemesis: ${argsProblem(e)} (see --help)`);
    process.exit(2);
  }
  const p = Flags.safeParse(raw);
  if (!p.success) {
    console.error(`nemesis: ${p.error.issues[0]!.message}`);
    process.exit(2);
  }
  const f = p.data;
  const historyPath = f.out ?? join(tmpdir(), `nemesis-${f.target}-seed${f.seed}.ndjson`);
  const tty = process.stdout.isTTY === true && !f.json;
  const t0 = performance.now();
  // Progress on a terminal; in a pipe only the report (which repeats every fault).
  const log = (s: string) => {
    if (tty) console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${s}`);
  };
  let target: Target | null = null;
  const onSignal = (sig: string) => {
    console.error(`nemesis: ${sig}: stopping every server`);
    void (target?.close() ?? abandonSetup()).finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // The whole run is bounded: faults, heal, liveness, final reads, check.
  const limit = setTimeout(() => {
    console.error(`nemesis: the run exceeded ${Math.round((f.time + 4 * f.recovery + 300_000) / 1000)} s; stopping every server`);
    void (target?.close() ?? Promise.resolve()).finally(() => process.exit(3));
  }, f.time + 4 * f.recovery + 300_000);
  limit.unref();
  let r: RunReport;
  try {
    r = await runOnce({ target: f.target, seed: f.seed, timeMs: f.time, clients: f.clients, nodes: f.nodes, keys: f.keys, kinds: f.faults, recoveryBoundMs: f.recovery, historyPath, ...(f.keep === undefined ? {} : { keepDir: f.keep }), log }, (t) => (target = t));
  } catch (e) {
    console.error(`nemesis: the run could not be made: ${(e as Error).message}`);
    process.exit(3);
  }
  clearTimeout(limit);
  console.log(f.json ? JSON.stringify({ ...r, verdict: verdictOf(r) }) : formatReport(r));
  process.exit(verdictOf(r) === 'OK' ? 0 : 1);
}

if (process.argv[1]?.endsWith('cli.ts')) void main();
