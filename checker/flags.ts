// The command line of `npm run check`: parsed with node:util parseArgs, validated with zod, turned into a
// CheckConfig. Every problem becomes a UsageError with one line naming the flag and what is wrong.
//
// Flags that map to a spec option are listed in SPEC_FLAGS: adding one (ZAB's --txns, --crashes...) is one
// entry there.
import { availableParallelism, totalmem } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { DEFAULT_GRANULARITY, FIXES, FOLLOWER_LOG, LEADER_APPLY, LEADER_LOG } from '../spec/config.ts';
import { VARIANTS } from '../spec/variants.ts';
import { DEFAULT_SPEC_EXPORT, DEFAULT_SPEC_MODULE, type SpecSource } from './spec-source.ts';
import { formatUsage, intFlag, type FlagHelp } from '../impl/usage.ts';

export class UsageError extends Error {}

const int = intFlag;

/** Flags whose value goes into the spec's options (under `option`, else the flag's own name). */
export const SPEC_FLAGS: readonly {
  readonly flag: string;
  readonly option?: string;
  readonly metavar?: string;
  readonly schema: z.ZodType<unknown>;
  /** undefined: the option is left out unless the flag is given (the spec's own default applies). */
  readonly default: string | number | undefined;
  /** What --help shows as the default when `default` is undefined (the spec's own default). */
  readonly shownDefault?: string;
  /** The default with --simulate, where it differs: walks go far past the exhaustive bounds. */
  readonly simulateDefault?: number;
  readonly help: string;
}[] = [
  { flag: 'nodes', schema: int(2, 7), default: 3, help: 'participants (voting servers), 2 to 7' },
  { flag: 'observers', schema: int(0, 7), default: 0, help: 'observers (non-voting servers)' },
  { flag: 'protocol', metavar: 'P', schema: z.enum(['zab', 'fle'], 'must be zab or fle'), default: 'zab', help: 'zab: election, discovery, sync, broadcast, faults; fle: FastLeaderElection alone' },
  { flag: 'granularity', metavar: 'G', schema: z.enum(['coarse', 'fine'], 'must be coarse or fine'), default: DEFAULT_GRANULARITY, help: 'coarse: election+discovery as one step; fine: every step of the real code' },
  { flag: 'initial', metavar: 'NAME', schema: z.enum(['broadcast', 'fresh', 'empty', 'inflight'], 'must be broadcast, fresh, empty or inflight'), default: 'broadcast', help: 'initial state: broadcast (1 txn committed, 1 proposed), fresh, empty, inflight (serving, 1 proposal in flight)' },
  { flag: 'txns', schema: int(0, 1000), default: 1, simulateDefault: 40, help: 'client writes the leaders may propose (zab)' },
  { flag: 'crashes', schema: int(0, 1000), default: 1, simulateDefault: 10, help: 'crashes, each with its restart (zab)' },
  { flag: 'partitions', schema: int(0, 1000), default: 1, simulateDefault: 10, help: 'lost connections and timeouts (zab)' },
  { flag: 'max-epoch', option: 'maxEpoch', schema: int(1, 1000), default: 3, simulateDefault: 25, help: 'no leader proposes an epoch above this (zab)' },
  {
    flag: 'leader-log',
    option: 'leaderLog',
    metavar: 'MODE',
    schema: z.enum(Object.keys(LEADER_LOG) as [string, ...string[]], `must be one of ${Object.keys(LEADER_LOG).join(', ')}`),
    default: undefined,
    shownDefault: 'atomic',
    help: "atomic: the leader logs and ACKs its own proposal as it proposes; queued: later, after its fsync, as ZooKeeper does (zab)",
  },
  {
    flag: 'follower-log',
    option: 'followerLog',
    metavar: 'MODE',
    schema: z.enum(Object.keys(FOLLOWER_LOG) as [string, ...string[]], `must be one of ${Object.keys(FOLLOWER_LOG).join(', ')}`),
    default: undefined,
    shownDefault: 'atomic',
    help: "atomic: a follower logs and ACKs a PROPOSAL as it receives it; queued: later, in FollowerFlushLog after its fsync, as ZooKeeper does (zab)",
  },
  {
    flag: 'leader-apply',
    option: 'leaderApply',
    metavar: 'MODE',
    schema: z.enum(Object.keys(LEADER_APPLY) as [string, ...string[]], `must be one of ${Object.keys(LEADER_APPLY).join(', ')}`),
    default: undefined,
    shownDefault: 'atomic',
    help: "atomic: the leader applies a txn as it commits it; queued: later, as ZooKeeper's CommitProcessor does, and syncFollower's maxCommittedLog waits for it (zab)",
  },
  {
    flag: 'variant',
    metavar: 'NAME',
    schema: z.enum(Object.keys(VARIANTS) as [string, ...string[]], `must be one of ${Object.keys(VARIANTS).join(', ')} (see --list-variants)`),
    default: undefined,
    help: 'put a real ZooKeeper bug back into the spec (see --list-variants)',
  },
];

export const DEFAULT_DEPTH = 30;
export const DEFAULT_SIMULATION_DEPTH = 500;
export const DEFAULT_WALKS = 1000;
export const DEFAULT_LIVENESS_STEPS = 300;
export const DEFAULT_OUT = 'traces/counterexamples';
export const DEFAULT_CHECKPOINT_EVERY = 300;

export interface SimulationConfig {
  readonly walks: number;
  readonly seed: number;
  readonly seedGiven: boolean;
  /** With --liveness: the goal must hold within this many steps after the walk's last fault. */
  readonly livenessSteps: number;
}

export interface CheckConfig {
  readonly help: boolean;
  /** --list-variants: print the known variants (spec/variants.ts) and exit. */
  readonly listVariants: boolean;
  readonly source: SpecSource;
  /** The properties named with --invariant, or null for the spec's defaults. */
  readonly propertyNames: readonly string[] | null;
  readonly depth: number;
  readonly maxStates: number | null;
  readonly workers: number;
  readonly maxMemoryBytes: number;
  readonly json: boolean;
  readonly simulate: SimulationConfig | null;
  readonly out: string;
  /** --liveness: also check the spec's liveness properties on the explored graph (checker/search/liveness.ts). */
  readonly liveness: boolean;
  /** --checkpoint DIR / --resume DIR: write (and go on from) a checkpoint there (checker/search/checkpoint.ts). */
  readonly checkpoint: { readonly dir: string; readonly everySeconds: number; readonly mustExist: boolean } | null;
  /** --por: sleep sets from the spec's footprints (checker/README.md, Partial-order reduction). */
  readonly por: boolean;
  /** --frontier-memory: past this many bytes of the next level in memory, it spills to disk. */
  readonly frontierMemoryBytes: number;
  /** Not a flag: the benchmark's budget for one search (seconds). */
  readonly timeLimitSeconds?: number | null;
}

const OPTIONS = {
  ...Object.fromEntries(SPEC_FLAGS.map((f) => [f.flag, { type: 'string' }])),
  depth: { type: 'string' },
  'max-states': { type: 'string' },
  invariant: { type: 'string', multiple: true },
  mutation: { type: 'string', multiple: true },
  fix: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  liveness: { type: 'boolean' },
  'liveness-steps': { type: 'string' },
  'list-variants': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  workers: { type: 'string' },
  'max-memory': { type: 'string' },
  simulate: { type: 'boolean' },
  walks: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  spec: { type: 'string' },
  checkpoint: { type: 'string' },
  resume: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'frontier-memory': { type: 'string' },
  por: { type: 'boolean' },
} satisfies ParseArgsConfig['options'];

export function defaultMaxMemoryBytes(): number {
  return Math.floor(totalmem() * 0.75);
}

/** "4G", "512M", "1.5GiB", "100000000": bytes. */
export function parseBytes(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (m === null) return null;
  const scale = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * scale);
}

function value<T>(flag: string, schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new UsageError(`--${flag}: ${r.error.issues[0]?.message ?? 'invalid value'} (got ${JSON.stringify(raw)})`);
  return r.data;
}

export function parseFlags(argv: readonly string[]): CheckConfig {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // parseArgs will not take "-1" as a value ("ambiguous"): read `--txns -1` as `--txns=-1`, so that the
    // value's own check says what is wrong with it.
    const ambiguous = /^Option '(--[\w-]+)'.* argument is ambiguous/.exec(message);
    const at = ambiguous === null ? -1 : argv.indexOf(ambiguous[1]!);
    if (at >= 0 && at + 1 < argv.length) {
      return parseFlags([...argv.slice(0, at), `${argv[at]}=${argv[at + 1]}`, ...argv.slice(at + 2)]);
    }
    throw new UsageError(message.split('\n')[0]!);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const options: Record<string, unknown> = {};
  const simulate = v['simulate'] === true;
  for (const f of SPEC_FLAGS) {
    const byDefault = simulate && f.simulateDefault !== undefined ? f.simulateDefault : f.default;
    if (v[f.flag] === undefined && byDefault === undefined) continue;
    options[f.option ?? f.flag] = v[f.flag] === undefined ? byDefault : value(f.flag, f.schema, v[f.flag]);
  }
  options['mutations'] = (v['mutation'] as string[] | undefined) ?? [];
  const fixes = (v['fix'] as string[] | undefined) ?? [];
  for (const f of fixes) if (!(f in FIXES)) throw new UsageError(`--fix: unknown fix "${f}" (known: ${Object.keys(FIXES).join(', ')})`);
  if (fixes.length > 0) options['fixes'] = fixes;
  if (options['protocol'] === 'fle' && v['granularity'] === 'coarse') {
    throw new UsageError('--granularity coarse folds election into discovery: it applies to --protocol zab only');
  }

  const [module, exportName] = ((v['spec'] as string | undefined) ?? `${DEFAULT_SPEC_MODULE}#${DEFAULT_SPEC_EXPORT}`).split('#');
  for (const flag of ['walks', 'seed']) {
    if (v[flag] !== undefined && !simulate) throw new UsageError(`--${flag} only applies with --simulate`);
  }
  if (v['liveness-steps'] !== undefined && !(simulate && v['liveness'] === true)) throw new UsageError('--liveness-steps only applies with --simulate --liveness');
  if (simulate && v['max-states'] !== undefined) throw new UsageError('--max-states does not apply with --simulate (use --walks)');
  const maxMemory = v['max-memory'] === undefined ? defaultMaxMemoryBytes() : parseBytes(v['max-memory'] as string);
  if (maxMemory === null || maxMemory < 64 * 2 ** 20) {
    throw new UsageError(`--max-memory: expected a size of at least 64M such as 512M or 4G (got ${JSON.stringify(v['max-memory'])})`);
  }
  const seedGiven = v['seed'] !== undefined;
  const checkpointDir = (v['resume'] ?? v['checkpoint']) as string | undefined;
  if (v['resume'] !== undefined && v['checkpoint'] !== undefined && v['resume'] !== v['checkpoint']) {
    throw new UsageError('--resume DIR goes on writing its checkpoints to DIR: give --checkpoint the same folder, or leave it out');
  }
  for (const flag of ['checkpoint', 'resume', 'checkpoint-every', 'frontier-memory']) {
    if (v[flag] !== undefined && simulate) throw new UsageError(`--${flag} applies to the exhaustive search, not with --simulate`);
  }
  if (v['por'] === true && simulate) throw new UsageError('--por applies to the exhaustive search, not with --simulate');
  if (v['por'] === true && checkpointDir !== undefined) throw new UsageError('--por does not go with --checkpoint or --resume yet (a checkpoint keeps no sleep sets)');
  if (v['checkpoint-every'] !== undefined && checkpointDir === undefined) throw new UsageError('--checkpoint-every only applies with --checkpoint DIR');
  if (checkpointDir !== undefined && checkpointDir.trim() === '') throw new UsageError(`--${v['resume'] !== undefined ? 'resume' : 'checkpoint'}: expected a folder`);
  const frontierMemory = v['frontier-memory'] === undefined ? Math.floor(maxMemory / 4) : parseBytes(v['frontier-memory'] as string);
  if (frontierMemory === null) throw new UsageError(`--frontier-memory: expected a size such as 256M or 2G, or 0 to keep no level in memory (got ${JSON.stringify(v['frontier-memory'])})`);
  return {
    help: v['help'] === true,
    listVariants: v['list-variants'] === true,
    source: { module: module!, exportName: exportName ?? DEFAULT_SPEC_EXPORT, options },
    propertyNames: (v['invariant'] as string[] | undefined) ?? null,
    depth:
      v['depth'] === undefined ? (simulate ? DEFAULT_SIMULATION_DEPTH : DEFAULT_DEPTH) : value('depth', int(0, 1_000_000), v['depth']),
    maxStates: v['max-states'] === undefined ? null : value('max-states', int(1, 2 ** 32 - 2), v['max-states']),
    workers: v['workers'] === undefined ? availableParallelism() : value('workers', int(1, 256), v['workers']),
    maxMemoryBytes: maxMemory,
    json: v['json'] === true,
    liveness: v['liveness'] === true,
    simulate: simulate
      ? {
          walks: v['walks'] === undefined ? DEFAULT_WALKS : value('walks', int(1, 2 ** 31 - 1), v['walks']),
          seed: seedGiven ? value('seed', int(0, 2 ** 32 - 1), v['seed']) : Math.floor(Math.random() * 2 ** 32),
          seedGiven,
          livenessSteps: v['liveness-steps'] === undefined ? DEFAULT_LIVENESS_STEPS : value('liveness-steps', int(1, 1_000_000), v['liveness-steps']),
        }
      : null,
    out: (v['out'] as string | undefined) ?? DEFAULT_OUT,
    checkpoint:
      checkpointDir === undefined
        ? null
        : {
            dir: checkpointDir,
            everySeconds: v['checkpoint-every'] === undefined ? DEFAULT_CHECKPOINT_EVERY : value('checkpoint-every', int(0, 1_000_000), v['checkpoint-every']),
            mustExist: v['resume'] !== undefined,
          },
    frontierMemoryBytes: frontierMemory,
    por: v['por'] === true,
  };
}

export function helpText(mutations: Readonly<Record<string, string>>): string {
  const specFlags: FlagHelp[] = SPEC_FLAGS.map((f) => {
    const shown = f.default ?? f.shownDefault;
    const dflt = shown === undefined ? undefined : f.simulateDefault === undefined ? shown : `${shown}; ${f.simulateDefault} with --simulate`;
    return { flag: f.flag, metavar: f.metavar ?? 'N', help: f.help, ...(dflt === undefined ? {} : { default: dflt }) };
  });
  return formatUsage({
    usage: 'npm run check -- [flags]',
    description: 'Explores every state of the spec breadth-first (or by random walks with --simulate) and checks its properties.',
    flags: [
      ...specFlags,
      { flag: 'depth', metavar: 'D', help: `steps from the initial state: BFS bound, walk length with --simulate (default ${DEFAULT_DEPTH}; ${DEFAULT_SIMULATION_DEPTH} with --simulate)` },
      { flag: 'max-states', metavar: 'N', help: 'stop after this many distinct states (default: no limit)' },
      { flag: 'invariant', metavar: 'NAME', help: "check this property (repeatable; default: the spec's default properties)" },
      { flag: 'mutation', metavar: 'NAME', help: 'break the spec on purpose, to see the checker catch it (repeatable; see Mutations)' },
      { flag: 'fix', metavar: 'NAME', help: 'apply a proposed fix to the protocol, for a finding ZooKeeper has not fixed (repeatable; see Fixes)' },
      { flag: 'workers', metavar: 'N', help: 'threads; the default is the number of cores', default: availableParallelism() },
      { flag: 'max-memory', metavar: 'SIZE', help: 'stop cleanly before the process uses more; the default is 3/4 of RAM', default: `${Math.round(defaultMaxMemoryBytes() / 2 ** 30)}G` },
      { flag: 'por', help: 'partial-order reduction by sleep sets: skip a successor that a commuted order of two independent steps reaches anyway; every state is still visited (the same counts, verdicts and depths), fewer successors are generated, and the factor is printed' },
      { flag: 'frontier-memory', metavar: 'SIZE', help: 'past this much of the next level in memory, its states spill to files and are read back chunk by chunk (0: all of them); the default is 1/4 of --max-memory' },
      { flag: 'checkpoint', metavar: 'DIR', help: 'write what the search needs to resume to DIR at level boundaries (see --checkpoint-every) and at its end; if DIR holds one, go on from it' },
      { flag: 'resume', metavar: 'DIR', help: 'go on from the checkpoint in DIR (it must hold one; same spec, options and properties), writing the next ones there' },
      { flag: 'checkpoint-every', metavar: 'SECONDS', help: 'with --checkpoint: at most this often, at a level boundary (0: every level)', default: DEFAULT_CHECKPOINT_EVERY },
      { flag: 'liveness', help: "also check liveness under weak fairness (leaderEventually, writesEventuallyCommitted) on the state graph, a second single-threaded search; with --simulate, the bounded form (--liveness-steps)" },
      { flag: 'liveness-steps', metavar: 'K', help: 'with --simulate --liveness: after a walk\'s last fault, the goal must hold within K steps', default: DEFAULT_LIVENESS_STEPS },
      { flag: 'simulate', help: 'random walks instead of exhaustive search' },
      { flag: 'walks', metavar: 'N', help: 'number of walks with --simulate', default: DEFAULT_WALKS },
      { flag: 'seed', metavar: 'S', help: 'seed of the walks, 0 to 2^32-1 (default: random, printed)' },
      { flag: 'out', metavar: 'DIR', help: 'where counterexample traces go', default: DEFAULT_OUT },
      { flag: 'json', help: 'print the result as one JSON object' },
      { flag: 'spec', metavar: 'FILE#EXPORT', help: 'another spec module and builder', default: `${DEFAULT_SPEC_MODULE}#${DEFAULT_SPEC_EXPORT}` },
      { flag: 'list-variants', help: 'list the real ZooKeeper bugs --variant can put back, and exit' },
    ],
    sections: [
      ['Mutations', Object.keys(mutations).length === 0 ? ['(none)'] : Object.entries(mutations).map(([k, d]) => `${k.padEnd(22)}${d}`)],
      ['Fixes', Object.entries(FIXES).map(([k, d]) => `${k.padEnd(22)}${d}`)],
    ],
    exit: [
      [0, 'every property holds (and every reachability property was witnessed)'],
      [1, 'a violation (the counterexample is printed and written to --out), or a reachability property not reached'],
      [2, 'bad usage, or a checkpoint that is damaged or made by another search (nothing judged)'],
      [3, 'the spec or the checker failed'],
    ],
    examples: [
      'npm run check -- --nodes 3 --depth 30                 # every state of a 3-server ensemble, up to 30 steps',
      'npm run check -- --variant 4646                       # a real ZooKeeper bug put back, and its counterexample',
      'npm run check -- --simulate --walks 2000 --seed 7     # random walks, hundreds of steps deep',
      'npm run check -- --liveness --crashes 0 --partitions 0 # a leader eventually, every write committed: lassos if not',
      'npm run check -- --depth 20 --checkpoint /tmp/zab-ckpt   # stop at depth 20; then --resume /tmp/zab-ckpt --depth 30 goes on',
    ],
  }) + '\n\nEvery flag and every line of the output: checker/README.md.';
}
