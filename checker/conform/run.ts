// conform: read the logs, build the spec and its initial state, search, and shape the result.
import type { SpecOptions } from '../../spec/config.ts';
import type { InitialServer } from '../../spec/initial.ts';
import { makeConfig } from '../../spec/config.ts';
import { buildSpec, serverView, type ClusterState } from '../../spec/index.ts';
import type { Txn } from '../../spec/state.ts';
import { zxidValue } from '../../traces/zxid.ts';
import { abstractServer, specServer, type FieldDiff } from './abstraction.ts';
import { nearestSuccessor, type ConformSpec, type ExplainContext } from './explain.ts';
import { CausalMerger } from './merge.ts';
import { ConformUsageError, findLogFiles, loggedSteps, planInput, type InputProblem, type LoggedEvent, type LoggedStep } from './reader.ts';
import { pendingObligations, type Obligation } from './obligations.ts';
import { search, type SearchStats } from './search.ts';
import { eventsByTime, overdueEvents, timedConfig, type Overdue } from './timed.ts';
import { countCoverage, type Coverage } from './coverage.ts';

export interface ConformOptions {
  readonly paths: readonly string[];
  /** Reorderings explored: a step may be taken up to `window` places ahead of the reference order. */
  readonly window?: number;
  readonly maxNodes?: number;
  /** Silent (unlogged) spec steps tried before one logged event. */
  readonly maxSilent?: number;
  /** A last line cut short (a kill -9) makes the input incomplete too, not only counted. */
  readonly strict?: boolean;
  /**
   * The run ended quiet: every fault healed and no new work for long enough (the simulator's settle phase). The
   * steps the protocol still owed at the end are then omissions (obligations.ts): verdict `stalled`.
   */
  readonly settled?: boolean;
}

/**
 * pass: every event explained, nothing missing (beyond last lines cut short by a kill -9, counted, unless strict).
 * divergence: an event no spec path explains, in an input that misses nothing.
 * incomplete: the input misses parts (receives whose send is in no log, events missing from a log by its seq, and
 * with strict a last line cut short): what was read is judged (`divergence` may be set) but no verdict on the system.
 * input-error: a line that does not decode (not the last line of its file): nothing is judged.
 * stalled: every event explained, but a run that ended quiet (`settled`) left steps undone that the protocol
 * owed (obligations.ts): a server that stopped doing its part.
 * overdue: every event explained, but a server kept a role longer than its configuration allows (timed.ts): a
 * leader without a quorum that did not step down, a learner that did not give up on a leader that was gone.
 */
export type Verdict = 'pass' | 'divergence' | 'incomplete' | 'input-error' | 'stalled' | 'overdue';

/** What the input misses: each counted, and where the first is. */
export interface Incompleteness {
  readonly orphans: number;
  readonly firstOrphan: { readonly file: string; readonly line: number; readonly id: string } | null;
  readonly gaps: readonly InputProblem[];
  readonly torn: readonly InputProblem[];
}

export interface EventView {
  readonly file: string;
  readonly line: number;
  readonly sid: number;
  readonly seq: number;
  readonly action: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly recv?: unknown;
  /** The id of the message received, when no log holds its send (version 2 logs give receives by id). */
  readonly rid?: string;
  readonly send?: readonly unknown[];
  readonly post?: Readonly<Record<string, unknown>>;
}

export interface Divergence {
  /** The event no spec path explains, and the step (with durable writes, or a role ending) it belongs to. */
  readonly event: EventView;
  readonly step: readonly EventView[];
  /** The spec state of each server just before it. */
  readonly specState: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The actions the spec allows there. */
  readonly enabled: readonly string[];
  /** The spec successor nearest to what was logged, and the logged fields that differ from it. */
  readonly nearest: { readonly action: string; readonly diff: readonly FieldDiff[]; readonly message?: string } | null;
  /** The server's logged variables after the step (in the spec's domain). */
  readonly logged: Readonly<Record<string, unknown>>;
  /** Preceding events of the same server. */
  readonly preceding: readonly EventView[];
}

export interface ConformResult {
  /** verdict === 'pass'. */
  readonly ok: boolean;
  readonly verdict: Verdict;
  readonly incomplete: Incompleteness;
  readonly source: 'check' | 'impl';
  readonly files: readonly string[];
  readonly spec: { readonly name: string; readonly params: Readonly<Record<string, unknown>>; readonly actionKinds?: readonly string[] };
  readonly problems: readonly InputProblem[];
  readonly stats: SearchStats & { readonly timeMs: number; readonly orphans: number };
  readonly divergence: Divergence | null;
  /** With `settled`: the steps still owed at the end of the explained path (empty: none, or not settled). */
  readonly obligations: readonly Obligation[];
  /** Timed obligations unmet (timed.ts), in the order their bounds ran out (empty: none). */
  readonly overdue: readonly Overdue[];
  /** impl logs: the logged events by spec action and branch (coverage.ts); the spec's actions are spec.actionKinds. */
  readonly coverage: Coverage;
}

function view(e: LoggedEvent): EventView {
  const v: Record<string, unknown> = { file: e.file, line: e.line, sid: e.sid, seq: e.seq, action: e.action };
  if (Object.keys(e.params).length > 0) v['params'] = e.params;
  if (e.recv !== undefined) v['recv'] = e.recv;
  else if (e.rid !== undefined) v['rid'] = e.rid;
  if (e.send.length > 0) v['send'] = e.send;
  if (Object.keys(e.post).length > 0) v['post'] = e.post;
  return v as unknown as EventView;
}

const BIG = 1_000_000_000;

/** The spec options a check trace was written with (its header's params). */
export function checkSpecOptions(params: Readonly<Record<string, unknown>>, file: string): SpecOptions {
  const n = (k: string) => (typeof params[k] === 'number' ? (params[k] as number) : undefined);
  const nodes = n('nodes');
  if (nodes === undefined) throw new ConformUsageError(`${file}:1: the header's params do not say how many nodes (params.nodes)`);
  const opts: Record<string, unknown> = { nodes, observers: n('observers') ?? 0, mutations: Array.isArray(params['mutations']) ? params['mutations'] : [] };
  for (const k of ['txns', 'crashes', 'partitions', 'maxEpoch']) if (n(k) !== undefined) opts[k] = n(k);
  if (params['protocol'] === 'fle' || params['protocol'] === 'zab') opts['protocol'] = params['protocol'];
  if (params['granularity'] === 'fine' || params['granularity'] === 'coarse') opts['granularity'] = params['granularity'];
  if (typeof params['initial'] === 'string' && params['initial'] !== 'custom') opts['initial'] = params['initial'];
  if (typeof params['variant'] === 'string' && params['variant'] !== 'none') opts['variant'] = params['variant'];
  if (Array.isArray(params['fixes'])) opts['fixes'] = params['fixes'];
  for (const k of ['leaderLog', 'followerLog', 'leaderApply']) if (typeof params[k] === 'string') opts[k] = params[k];
  return opts as unknown as SpecOptions;
}

/**
 * The durable state a server started with, from its ServerStart event: its epoch files, and its log as far as
 * the event shows it (the last zxid only: a log that is not empty is taken as one txn with that zxid).
 */
export function initialFromServerStart(step: LoggedStep): InitialServer {
  const a = abstractServer(step.vars);
  const last = a.lastZxid ?? 0;
  const history: Txn[] = last > 0 ? [{ zxid: last, value: 0 }] : [];
  return { currentEpoch: a.currentEpoch ?? 0, acceptedEpoch: a.acceptedEpoch ?? a.currentEpoch ?? 0, history, snapshotIndex: 0, logicalclock: 0 };
}

export function conform(options: ConformOptions): ConformResult {
  const started = Date.now();
  const problems: InputProblem[] = [];
  const files = findLogFiles(options.paths);
  const input = planInput(files, problems);
  // A first pass over every line: a line that does not decode is damage to the input, which must not be judged
  // as the system's behaviour (a search over what is left would report the missing events as a divergence).
  const scan: InputProblem[] = [];
  // Impl logs made before a follower logged its flush (December 2026): FollowerProcessPROPOSAL sends the ACK and no
  // FollowerFlushLog is logged. Those are checked with the atomic follower log (its flush of the queue UPTODATE
  // leaves taken silently), as they were then; every newer log with the queued one.
  let proposalAcks = false;
  let followerFlushes = false;
  for (const s of input.streams) {
    for (const step of loggedSteps(s, scan)) {
      for (const e of step.events) {
        if (e.action === 'FollowerFlushLog') followerFlushes = true;
        else if (e.action === 'FollowerProcessPROPOSAL' && e.send.some((m) => m.type === 'ACK')) proposalAcks = true;
      }
    }
  }
  const olderFollowerLog = proposalAcks && !followerFlushes;
  const malformed = scan.filter((p) => p.kind === undefined || p.kind === 'malformed');
  if (malformed.length > 0) {
    const none: Incompleteness = { orphans: 0, firstOrphan: null, gaps: scan.filter((p) => p.kind === 'gap'), torn: scan.filter((p) => p.kind === 'torn') };
    const stats = { steps: 0, events: 0, specStepsOnPath: 0, statesExplored: 0, maxNodesPerLevel: 0, maxBuffered: 0, bridges: 0, bounded: false, nodesExpanded: 0, rewinds: 0, timeMs: Date.now() - started, orphans: 0 };
    return { ok: false, verdict: 'input-error', incomplete: none, source: input.source, files, spec: { name: '(not built)', params: {} }, problems: malformed, stats, divergence: null, obligations: [], overdue: [], coverage: {} };
  }
  const iterators = input.streams.map((s) => loggedSteps(s, problems));
  const merger = new CausalMerger(iterators, input.streams.map((s) => s.sid));

  const participants = input.servers.filter((s) => s.role === 'participant').map((s) => s.sid);
  const observers = input.servers.filter((s) => s.role === 'observer').map((s) => s.sid);
  const all = [...participants, ...observers];
  all.forEach((sid, i) => {
    if (sid !== i + 1) throw new ConformUsageError(`${files[0]}:1: servers must be numbered 1..n, participants first (found sid ${sid} at position ${i + 1})`);
  });

  let specOptions: SpecOptions;
  const firstInc = new Map<number, number>();
  if (input.source === 'check') {
    specOptions = checkSpecOptions(input.params, files[0]!);
  } else {
    const heads = merger.peekHeads();
    const initial: InitialServer[] = [];
    for (const sid of all) {
      const i = input.streams.findIndex((s) => s.sid === sid);
      const head = i < 0 ? null : heads[i];
      if (i < 0 || head === null || head === undefined) {
        throw new ConformUsageError(`no log of server ${sid} among the files given (the ensemble has servers ${all.join(', ')})`);
      }
      const first = head.events[0]!;
      if (first.action !== 'ServerStart') throw new ConformUsageError(`${first.file}:${first.line}: the first event of server ${sid}'s log is ${first.action}, not ServerStart`);
      firstInc.set(sid, head.incarnation);
      initial.push(initialFromServerStart(head));
    }
    const restarts = input.streams.reduce((n, s) => n + s.files.length - 1, 0);
    specOptions = {
      nodes: participants.length,
      observers: observers.length,
      mutations: [],
      // impl/ applies the proposed fix of docs/findings.md #1 (impl/core/sync.ts), so the spec does too.
      fixes: ['forgetStaleAcks'],
      // impl/ logs its own log flush and ACK as their own event after its fsync (LeaderFlushLog), as ZooKeeper's
      // SyncRequestProcessor and AckRequestProcessor do: the spec's queued leader log.
      leaderLog: 'queued',
      // Its followers likewise: a PROPOSAL is logged as received (FollowerProcessPROPOSAL) and ACKed in a
      // FollowerFlushLog event after the fsync, as ZooKeeper's SyncRequestProcessor and SendAckRequestProcessor do.
      followerLog: olderFollowerLog ? 'atomic' : 'queued',
      protocol: 'zab',
      granularity: 'fine',
      initial,
      txns: BIG,
      crashes: restarts,
      partitions: BIG,
      maxEpoch: BIG,
      // The servers' own window of committed txns for DIFF (a learner behind it gets SNAP), when the logs say it.
      ...(typeof input.params['commitLogCount'] === 'number' ? { commitLogCount: input.params['commitLogCount'] } : {}),
    };
  }
  let spec: ConformSpec;
  let cfg;
  try {
    cfg = makeConfig(specOptions);
    spec = buildSpec(specOptions);
  } catch (e) {
    throw new ConformUsageError(`${files[0]}:1: ${(e as Error).message}`);
  }
  // Every node tries several logged steps from the same state: compute its successors once.
  const cached = (inner: ConformSpec): ConformSpec => {
    const successors = new WeakMap<ClusterState, ReturnType<ConformSpec['next']>>();
    return {
      ...inner,
      next: (s) => {
        let r = successors.get(s);
        if (r === undefined) successors.set(s, (r = inner.next(s)));
        return r;
      },
    };
  };
  const quiet = cached(input.source === 'check' ? spec : buildSpec({ ...specOptions, txns: 0, crashes: 0, partitions: 0 }));
  spec = cached(spec);
  const init = spec.init()[0]!;
  const maxSilent = options.maxSilent ?? (input.source === 'check' ? 0 : 3);
  const makeCtx = (_node: unknown, unlogged: (sid: number) => boolean): ExplainContext => ({
    spec,
    quiet,
    cfg,
    mode: input.source,
    maxSilent,
    unlogged,
    firstIncarnation: (sid, inc) => firstInc.get(sid) === inc,
  });
  const result = search(merger, makeCtx, init, { window: options.window ?? 12, maxNodes: options.maxNodes ?? 64 });
  const stats = { ...result.stats, timeMs: Date.now() - started, orphans: merger.orphanCount };
  const incomplete: Incompleteness = {
    orphans: merger.orphanCount,
    firstOrphan: merger.firstOrphan,
    gaps: problems.filter((p) => p.kind === 'gap'),
    torn: problems.filter((p) => p.kind === 'torn'),
  };
  const missing = incomplete.orphans > 0 || incomplete.gaps.length > 0 || (options.strict === true && incomplete.torn.length > 0);
  // One more pass over the logs, in time order: the coverage of the spec's actions and the timed obligations.
  const coverage: Coverage = {};
  let late: Overdue[] = [];
  if (input.source === 'impl') {
    const counted = (function* (events: Iterable<LoggedEvent>) {
      for (const e of events) {
        countCoverage(coverage, e);
        yield e;
      }
    })(eventsByTime(input.streams.map((st) => loggedSteps(st, []))));
    const timing = timedConfig(input.params);
    if (timing !== null) late = overdueEvents(timing, new Set(participants), counted);
    else for (const _ of counted);
  }
  const base = { source: input.source, files, spec: { name: spec.name, params: spec.params, actionKinds: spec.actionKinds }, problems, incomplete, coverage };
  if (result.ok) {
    if (late.length > 0 && !missing) return { ok: false, verdict: 'overdue', ...base, stats, divergence: null, obligations: [], overdue: late };
    // Among the explanations found, the one that owes least: the run is judged by the best reading of its logs.
    const owed = options.settled === true && !missing ? result.finals.map((s) => pendingObligations(cfg, s, (l, j) => merger.ackReceived(l, j))).sort((a, b) => a.length - b.length)[0] ?? [] : [];
    if (owed.length > 0) return { ok: false, verdict: 'stalled', ...base, stats, divergence: null, obligations: owed, overdue: [] };
    return { ok: !missing, verdict: missing ? 'incomplete' : 'pass', ...base, stats, divergence: null, obligations: [], overdue: [] };
  }

  const state = result.node.state;
  const step = result.failed.step;
  const ctx = makeCtx(result.node, () => false);
  const specState: Record<string, Record<string, unknown>> = {};
  for (const sid of all) specState[String(sid)] = serverSummary(state, sid, input.source === 'check');
  const enabled = spec.next(state).map((s) => {
    const a = s.action as unknown as Record<string, unknown>;
    return `${s.action.kind}@${s.action.sid}${'from' in a ? `<-${a['from']}` : ''}${'peer' in a ? `/${a['peer']}` : ''}`;
  });
  const divergence: Divergence = {
    event: view(step.events[result.failedEvent] ?? step.events[0]!),
    step: step.events.map(view),
    specState,
    enabled,
    nearest: nearestSuccessor(ctx, state, step),
    logged: input.source === 'impl' ? (abstractServer(step.vars) as Record<string, unknown>) : Object.assign({}, ...step.events.map((e) => e.post)),
    preceding: result.preceding.flatMap((r) => r.step.events.map(view)),
  };
  return { ok: false, verdict: missing ? 'incomplete' : 'divergence', ...base, stats, divergence, obligations: [], overdue: [] };
}

function serverSummary(state: ClusterState, sid: number, full: boolean): Record<string, unknown> {
  const srv = state.servers[sid - 1]!;
  if (full) return serverView(srv);
  return { online: srv.online, zabState: srv.zabState, fle: srv.fle, ...specServer(srv), role: srv.leader !== null ? 'leader' : srv.learner !== null ? `learner of ${srv.learner.leader}` : 'none' };
}

export { zxidValue };
