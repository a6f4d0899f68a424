// Checking Apache ZooKeeper's own server logs against the spec (ZAB at coarse granularity, with the leader's
// log and apply queued as ZooKeeper runs them): every observation of mapping.ts must be explained by a spec path,
// where the steps no line shows (PROPOSAL, ACK, COMMIT, lost connections, a killed server's crash, the ACKs of
// NEWLEADER) are inferred, bounded, and counted. The spec's invariants are evaluated on every path kept.
//
// The search keeps a set of spec states (at most `maxNodes`, merged when equal). For each observation in the
// reference order (each server's own order; across servers, the earliest time first, a learner's sync line after
// its leader's decision), it looks for spec paths of at most `maxSilent` inferred moves that reach a state where the
// observation holds (a 'check' line) or where a step matching it is enabled. A move is one unlogged spec step, or
// a macro: "the broadcast runs to quiescence" (every unlogged PROPOSAL/ACK/COMMIT/fsync/apply step, in the spec's
// order), or "a client write, then quiescence". An observation no state explains is deferred up to `window`
// observations (another server's line may have to come first: clocks differ, threads log late); if it still
// cannot be explained, that is the divergence.
import { buildSpec, type Action, type ClusterState } from '../../../spec/index.ts';
import { makeConfig, type Config, type InitialServer, type SpecOptions } from '../../../spec/config.ts';
import { lastLoggedZxid, lastZxidOf, quorumChannel, updateServer } from '../../../spec/state.ts';
import { counterOf, epochOf, zxidToHex } from '../../../traces/zxid.ts';
import { committedLogStart, leaderLastProcessed, leaderSyncFollower } from '../../../spec/zab/sync.ts';
import type { Property } from '../../../spec/model.ts';
import { stateKey } from '../search.ts';
import type { Observation } from './mapping.ts';
import { readZooCfg, readZooKeeperLogs, type ObservedRun, type Problem, type Seen } from './observe.ts';
import { ZkLogError } from './log.ts';

const BIG = 1_000_000_000;

export interface ZkCheckOptions {
  readonly paths: readonly string[];
  readonly config?: string;
  readonly maxSilent?: number;
  readonly maxNodes?: number;
  readonly window?: number;
}

/** Unlogged spec steps the search may infer (the broadcast, NEWLEADER's ACKs, lost connections). */
const SILENT: ReadonlySet<string> = new Set([
  'LeaderProcessRequest', 'FollowerProcessPROPOSAL', 'FollowerFlushLog', 'LeaderFlushLog', 'LeaderProcessACK', 'LeaderApplyCommitted',
  'FollowerProcessCOMMIT', 'ObserverProcessINFORM', 'LearnerProcessPROPOSALInSync', 'LearnerProcessCOMMITInSync', 'LearnerProcessINFORMInSync',
  'LeaderProcessACKNEWLEADER', 'ConnectionLost', 'LeaderStepDown',
]);
/** What the quiescence macro runs: the broadcast of what was proposed, nothing that starts or ends a role. */
const DRAIN: ReadonlySet<string> = new Set([
  'FollowerProcessPROPOSAL', 'FollowerFlushLog', 'LeaderFlushLog', 'LeaderProcessACK', 'LeaderApplyCommitted', 'FollowerProcessCOMMIT', 'ObserverProcessINFORM',
  'LearnerProcessPROPOSALInSync', 'LearnerProcessCOMMITInSync', 'LearnerProcessINFORMInSync',
]);

interface Node {
  readonly state: ClusterState;
  readonly inferred: number;
  /** Invariants violated somewhere on this node's path, with the first observation after which each was. */
  readonly violated: ReadonlyMap<string, Seen>;
}

export interface ZkDivergence {
  readonly seen: Seen;
  readonly why: string;
  /** Each server's spec state (the first node kept) just before the line. */
  readonly specState: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly enabled: readonly string[];
  readonly preceding: readonly Seen[];
}

export interface ZkCheckResult {
  readonly ok: boolean;
  readonly files: readonly string[];
  readonly spec: { readonly name: string; readonly params: Readonly<Record<string, unknown>> };
  readonly servers: readonly { sid: number; role: 'participant' | 'observer'; files: readonly string[]; runs: number }[];
  readonly problems: readonly Problem[];
  readonly stats: {
    lines: number;
    protocolLines: number;
    notUnderstood: number;
    matched: number;
    inferred: number;
    deferred: number;
    rewinds: number;
    statesExplored: number;
    maxNodes: number;
    bounded: boolean;
    timeMs: number;
  };
  /** Per invariant: 'holds' on every path kept, 'violated' on every one, or 'possible' on some. */
  readonly properties: readonly { name: string; verdict: 'holds' | 'violated' | 'possible'; at?: { file: string; line: number; text: string } }[];
  readonly divergence: ZkDivergence | null;
}

/** A server's spec summary for the report, with ZooKeeper's sids. */
function summary(s: ClusterState, specSid: number, zk: (spec: number) => number): Record<string, unknown> {
  const v = s.servers[specSid - 1]!;
  const role = v.leader !== null ? `leader (${v.zabState.toLowerCase()}, learners ${v.leader.learners.map(zk).join(',') || 'none'})` : v.learner !== null ? `learner of ${zk(v.learner.leader)} (${v.zabState.toLowerCase()})` : v.state.toLowerCase();
  return {
    online: v.online,
    role,
    currentEpoch: v.currentEpoch,
    acceptedEpoch: v.acceptedEpoch,
    lastZxid: zxidToHex(lastLoggedZxid(v)),
    committed: v.committed,
  };
}

function actionText(a: Action, zk: (spec: number) => number): string {
  const r = a as unknown as Record<string, unknown>;
  return `${a.kind}@${zk(a.sid)}${typeof r['from'] === 'number' ? `<-${zk(r['from'] as number)}` : ''}${typeof r['peer'] === 'number' ? `/${zk(r['peer'] as number)}` : ''}${Array.isArray(r['quorum']) ? `{${(r['quorum'] as number[]).map(zk).join(',')}}` : ''}`;
}

export function checkZooKeeperLogs(options: ZkCheckOptions): ZkCheckResult {
  const started = Date.now();
  const run: ObservedRun = readZooKeeperLogs(options.paths);
  const files = run.servers.flatMap((s) => s.files);
  // The ensemble: zoo.cfg when given, else the servers whose logs are given (observers: those that observe).
  let participants: number[];
  let observers: number[];
  if (options.config !== undefined) {
    ({ participants, observers } = readZooCfg(options.config));
    for (const s of run.servers) {
      if (!participants.includes(s.sid) && !observers.includes(s.sid)) throw new ZkLogError(`${s.files[0]}:1: server ${s.sid} is not in ${options.config}`);
    }
  } else {
    observers = run.servers.filter((s) => s.observer).map((s) => s.sid);
    participants = run.servers.filter((s) => !s.observer).map((s) => s.sid);
  }
  if (participants.length === 0) throw new ZkLogError(`${files[0]}:1: no participant among the servers`);
  // The spec numbers participants 1..n, then observers.
  const order = [...participants, ...observers];
  const toSpec = new Map(order.map((sid, i) => [sid, i + 1]));
  const toZk = (spec: number) => order[spec - 1] ?? spec;
  const logOf = new Map(run.servers.map((s) => [s.sid, s]));

  // Initial state: each server's first run, from what it loaded (a fresh server: nothing).
  const initial: InitialServer[] = order.map((sid) => {
    const log = logOf.get(sid);
    const loaded = log?.seen.find((x) => x.run === 0 && x.obs.kind === 'loaded');
    const last = loaded !== undefined && loaded.obs.kind === 'loaded' ? loaded.obs.zxid : 0;
    const e = epochOf(last);
    return { currentEpoch: e, acceptedEpoch: e, history: last > 0 ? [{ zxid: last, value: 0 }] : [], snapshotIndex: 0, logicalclock: 0 };
  });
  const restarts = run.servers.reduce((n, s) => n + Math.max(0, s.runs - 1), 0);
  const specOptions: SpecOptions = {
    nodes: participants.length,
    observers: observers.length,
    mutations: [],
    protocol: 'zab',
    granularity: 'coarse',
    initial,
    txns: BIG,
    crashes: restarts + order.length,
    partitions: BIG,
    maxEpoch: BIG,
    leaderLog: 'queued',
    leaderApply: 'queued',
    joinVotes: 'election',
  };
  let raw;
  let cfg;
  try {
    raw = buildSpec(specOptions);
    cfg = makeConfig(specOptions);
  } catch (e) {
    throw new ZkLogError(`${files[0]}:1: ${(e as Error).message}`);
  }
  // Successors computed once per state (states are immutable; many paths share them). The cache is emptied at each
  // line: a state kept in it holds its successors, and they theirs, so one cache for the whole run would keep
  // every state ever explored below the nodes kept alive (gigabytes on five servers).
  let nextCache = new WeakMap<ClusterState, ReturnType<typeof raw.next>>();
  const spec = {
    ...raw,
    next: (s: ClusterState) => {
      let r = nextCache.get(s);
      if (r === undefined) {
        r = raw.next(s);
        explored += r.length;
        nextCache.set(s, r);
      }
      return r;
    },
  };
  let explored = 0;
  const invariants: Property<ClusterState>[] = spec.properties.filter((p) => p.kind === 'invariant' && p.byDefault);
  const maxSilent = options.maxSilent ?? 4;
  const maxNodes = options.maxNodes ?? 24;
  const window = options.window ?? 16;

  // The reference order: each server's observations in its own order; across servers the earliest time first,
  // but a learner's sync line waits for its leader's sync decision for it (paired by learner and mode, in order).
  const queues = run.servers.map((s) => [...s.seen]);
  const decisions = new Map<number, Seen[]>(); // learner (ZooKeeper sid) -> the leaders' decisions, unmatched
  const merged: Seen[] = [];
  const pendingOf = (x: Seen): boolean => {
    if (x.obs.kind !== 'learnerSync') return false;
    const d = decisions.get(x.sid) ?? [];
    if (d.length > 0) return false;
    // No decision for it seen yet: wait, if some server's queue still holds one.
    return queues.some((q) => q.some((y) => y.obs.kind === 'syncDecision' && y.obs.peer === x.sid));
  };
  for (;;) {
    let best = -1;
    for (let i = 0; i < queues.length; i++) {
      const h = queues[i]![0];
      if (h === undefined || pendingOf(h)) continue;
      if (best < 0 || h.time < queues[best]![0]!.time) best = i;
    }
    if (best < 0) {
      best = queues.findIndex((q) => q.length > 0);
      if (best < 0) break;
    }
    const x = queues[best]!.shift()!;
    if (x.obs.kind === 'syncDecision') {
      const l = decisions.get(x.obs.peer) ?? [];
      l.push(x);
      decisions.set(x.obs.peer, l);
    }
    if (x.obs.kind === 'learnerSync') decisions.get(x.sid)?.shift();
    merged.push(x);
  }
  // Where each server's current run ends (index in merged of its last observation of that run).
  const lastOfRun = new Map<string, number>();
  merged.forEach((x, i) => lastOfRun.set(`${x.sid}/${x.run}`, i));
  // The (leader, zxid) pairs of every "New election" line: the only votes a server can start with.
  const elections = new Set(merged.flatMap((x) => (x.obs.kind === 'newElection' ? [`${x.obs.id}/${x.obs.zxid}`] : [])));

  let bounded = false;
  let inferredTotal = 0;
  let nodes: Node[] = [{ state: spec.init()[0]!, inferred: 0, violated: new Map() }];
  const done = new Set<number>();
  const runOf = new Map<number, number>(order.map((sid) => [sid, 0]));
  const consumedUpTo = new Map<string, number>();

  /** May server `specSid` crash unseen now: its current run has no line left (killed, or the logs end). */
  const ended = (specSid: number): boolean => {
    const sid = toZk(specSid);
    const r = runOf.get(sid) ?? 0;
    const last = lastOfRun.get(`${sid}/${r}`);
    return last === undefined || (consumedUpTo.get(`${sid}/${r}`) ?? -1) >= last;
  };

  // The last zxid each run loaded ("Snapshot loaded ... highest zxid"), by ZooKeeper sid and run.
  const loadedOf = new Map<string, number>();
  for (const x of merged) if (x.obs.kind === 'loaded' && !loadedOf.has(`${x.sid}/${x.run}`)) loadedOf.set(`${x.sid}/${x.run}`, x.obs.zxid);

  /**
   * The node with the servers crashed now whose run has no line left and whose log is already what their next run
   * loads: a killed server logs nothing, so the writes the coming lines need go on without it (crashed late, it
   * would log them and contradict its next run's load). Null if there is none.
   */
  const crashEnded = (n: Node): Node | null => {
    let s = n.state;
    let steps = 0;
    for (let specSid = 1; specSid <= s.servers.length; specSid++) {
      const v = s.servers[specSid - 1]!;
      if (!v.online || !ended(specSid)) continue;
      const sid = toZk(specSid);
      const loads = loadedOf.get(`${sid}/${(runOf.get(sid) ?? 0) + 1}`);
      if (loads === undefined || lastZxidOf(v.history) !== loads) continue;
      const c = spec.next(s).find((y) => y.action.kind === 'Crash' && y.action.sid === specSid);
      if (c === undefined) continue;
      s = c.state;
      steps++;
    }
    return steps === 0 ? null : { state: s, inferred: n.inferred + steps, violated: n.violated };
  };

  /** Does spec server `specSid`'s current run log its proposals (DEBUG for the quorum package)? Then none is inferred. */
  const logsProposals = (specSid: number): boolean => {
    const sid = toZk(specSid);
    return logOf.get(sid)?.debugRuns.has(runOf.get(sid) ?? 0) ?? false;
  };

  /** Zxids the coming observations name (within 40 of the current one): targets for the catch-up macro. */
  let targets: number[] = [];
  const zxidsOf = (o: Observation): number[] => {
    switch (o.kind) {
      case 'loaded':
      case 'newElection':
      case 'notification':
      case 'learnerSync':
      case 'proposing':
        return [o.zxid];
      case 'syncDecision':
        return [o.peerLast, o.lastProcessed, o.maxCommitted];
      default:
        return [];
    }
  };
  const setTargets = (i: number) => {
    targets = [...new Set(merged.slice(i, i + 40).flatMap((y) => zxidsOf(y.obs)))].filter((z) => counterOf(z) !== 0).sort((a, b) => a - b);
  };
  /**
   * Client writes at the serving leader until its last zxid is `target`, each broadcast to quiescence; with `last`
   * other than 'broadcast', the last write is only proposed ('proposed') or proposed and in the leader's own log
   * ('logged'), its PROPOSALs still on the way (what a held link or a crash leaves behind).
   */
  const catchUp = (s0: ClusterState, target: number, last: 'broadcast' | 'proposed' | 'logged' | { only: number; apply: boolean }): { state: ClusterState; steps: number } | null => {
    let s = s0;
    let steps = 0;
    for (let i = 0; i < 64; i++) {
      const L = s.servers.findIndex((v) => v.online && v.leader !== null && v.zabState === 'BROADCAST');
      if (L < 0) return null;
      const v = s.servers[L]!;
      const lastZ = Math.max(lastLoggedZxid(v), v.pendingLog.length > 0 ? v.pendingLog[v.pendingLog.length - 1]!.zxid : 0);
      if (lastZ >= target) return lastZ === target && steps > 0 ? { state: s, steps } : null;
      const w = spec.next(s).find((y) => y.action.kind === 'LeaderProcessRequest' && y.action.sid === L + 1);
      if (w === undefined) return null;
      s = w.state;
      steps++;
      const isLast = lastZ + 1 >= target;
      if (!isLast || last === 'broadcast') {
        const d = drain(s);
        s = d.state;
        steps += d.steps;
      } else if (typeof last === 'object') {
        // The last write reaches one learner only (the others' links held): it logs, ACKs, and gets the COMMIT;
        // the leader commits with it and applies the txn or not yet (toBeApplied).
        const d = drainWhere(s, (a) => (a.sid === L + 1 && (a.kind !== 'LeaderApplyCommitted' || last.apply) && (!('from' in a) || (a as { from: number }).from === last.only)) || a.sid === last.only);
        s = d.state;
        steps += d.steps;
      } else if (last === 'logged') {
        const f = spec.next(s).find((y) => y.action.kind === 'LeaderFlushLog' && y.action.sid === L + 1);
        if (f !== undefined) {
          s = f.state;
          steps++;
        }
      }
    }
    return null;
  };

  const silentMoves = (s: ClusterState): { state: ClusterState; steps: number }[] => {
    const out: { state: ClusterState; steps: number }[] = [];
    const succ = spec.next(s);
    // A leader whose run logs its proposals writes only where a "Proposing::" line says so.
    const Li = s.servers.findIndex((v) => v.online && v.leader !== null && v.zabState === 'BROADCAST');
    const writes = Li >= 0 && !logsProposals(Li + 1);
    for (const x of succ) {
      if (x.action.kind === 'LeaderProcessRequest' && logsProposals(x.action.sid)) continue;
      if (SILENT.has(x.action.kind) || (x.action.kind === 'Crash' && ended(x.action.sid))) out.push({ state: x.state, steps: 1 });
    }
    // Macros: the broadcast to quiescence; a client write and then quiescence.
    const drained = drain(s);
    if (drained.steps > 0) out.push(drained);
    for (const x of succ) {
      if (x.action.kind !== 'LeaderProcessRequest' || logsProposals(x.action.sid)) continue;
      const d = drain(x.state);
      out.push({ state: d.state, steps: d.steps + 1 });
    }
    // Catch up to the two nearest zxids ahead of the serving leader that the coming lines name.
    const L = writes ? s.servers[Li] : undefined;
    if (L !== undefined) {
      const last = Math.max(lastLoggedZxid(L), L.pendingLog.length > 0 ? L.pendingLog[L.pendingLog.length - 1]!.zxid : 0);
      const ahead = targets.filter((z) => z > last && epochOf(z) === L.currentEpoch).slice(0, 2);
      for (const t of ahead) {
        for (const b of ['broadcast', 'proposed', 'logged'] as const) {
          const c = catchUp(s, t, b);
          if (c !== null) out.push(c);
        }
      }
      if (ahead.length > 0) {
        for (const only of L.leader!.forwarding) {
          for (const apply of [true, false]) {
            const c = catchUp(s, ahead[0]!, { only, apply });
            if (c !== null) out.push(c);
          }
        }
      }
    }
    return out;
  };
  let drainCache = new WeakMap<ClusterState, { state: ClusterState; steps: number }>();
  const drain = (s0: ClusterState): { state: ClusterState; steps: number } => {
    const c = drainCache.get(s0);
    if (c !== undefined) return c;
    const r = drainFrom(s0);
    drainCache.set(s0, r);
    return r;
  };
  const drainWhere = (s0: ClusterState, ok: (a: Action) => boolean): { state: ClusterState; steps: number } => {
    let s = s0;
    let steps = 0;
    for (let i = 0; i < 400; i++) {
      const x = spec.next(s).find((y) => DRAIN.has(y.action.kind) && ok(y.action));
      if (x === undefined) break;
      s = x.state;
      steps++;
    }
    return { state: s, steps };
  };
  const drainFrom = (s0: ClusterState): { state: ClusterState; steps: number } => {
    let s = s0;
    let steps = 0;
    for (let i = 0; i < 400; i++) {
      const succ = spec.next(s);
            const x = succ.find((y) => DRAIN.has(y.action.kind));
      if (x === undefined) break;
      s = x.state;
      steps++;
    }
    return { state: s, steps };
  };

  const check = (s: ClusterState, x: Seen): string | null => holds(s, x, toSpec, elections);
  /**
   * Leader.startZkServer logs "Have quorum of supporters ... setting last processed zxid" first and sets it last
   * (after zk.startup and updateElectionVote), and the leader enters BROADCAST after it returns: a LearnerHandler
   * that syncs in between still compares with the last txn applied. The spec's step is atomic; for a sync decision
   * of a leader that serves an epoch it has applied nothing of, this is the step as the handler took it then: the
   * spec's LeaderSyncFollower from the leader as it was before it started serving. With the state it ran from.
   */
  const windowSync = (s: ClusterState, x: Seen): { before: ClusterState; action: Action; state: ClusterState } | null => {
    if (x.obs.kind !== 'syncDecision') return null;
    const me = toSpec.get(x.sid);
    const peer = toSpec.get(x.obs.peer);
    if (me === undefined || peer === undefined) return null;
    const L = s.servers[me - 1]!;
    if (L.zabState !== 'BROADCAST' || L.leader === null) return null;
    const proposals = [...L.history, ...L.pendingLog];
    if (L.committed !== L.history.length || leaderLastProcessed(L, proposals, L.committed) === lastZxidOf(L.history)) return null;
    const before = updateServer(s, me, { zabState: 'SYNCHRONIZATION' });
    const after = leaderSyncFollower(cfg, before, me, peer);
    if (after === null) return null;
    return { before, action: { kind: 'LeaderSyncFollower', sid: me, peer } as Action, state: updateServer(after, me, { zabState: 'BROADCAST' }) };
  };
  const stepMatch = (before: ClusterState, a: Action, after: ClusterState, x: Seen): boolean => matches(before, a, after, x, toSpec);

  /** Explain one observation from a node: states after it, with the spec steps inferred. */
  let thorough = false;
  const explain = (n: Node, x: Seen): { nodes: Node[]; why: string } => {
    const out: Node[] = [];
    let why = '';
    let level: { state: ClusterState; steps: number }[] = [{ state: n.state, steps: 0 }];
    const seenKeys = new Set<string>([stateKey(n.state)]);
    let firstFound = -1;
    for (let depth = 0; depth <= maxSilent; depth++) {
      if (out.length > 0 && firstFound < 0) firstFound = depth - 1;
      // Thorough: one depth past the shortest explanation (none past an exact one, at depth 0).
      if (firstFound >= 0 && (!thorough || firstFound === 0 || depth > firstFound + 1)) break;
      for (const g of level) {
        const c = check(g.state, x);
        if (c === null) out.push({ state: g.state, inferred: n.inferred + g.steps, violated: n.violated });
        else if (c !== 'step') why = why || c;
        if (c === 'step') {
          const succ: { action: Action; state: ClusterState; before?: ClusterState }[] = [...spec.next(g.state)];
          const w = windowSync(g.state, x);
          if (w !== null) succ.push(w);
          for (const y of succ) {
            if (!stepMatch(g.state, y.action, y.state, x)) continue;
            const post = postCheck(cfg, y.before ?? g.state, y.state, x, toSpec);
            if (post !== null) {
              why = why || post;
              continue;
            }
            out.push({ state: y.state, inferred: n.inferred + g.steps, violated: n.violated });
          }
          if (why === '') why = `no ${stepName(x.obs)} of server ${x.sid} is enabled`;
        }
      }
      if (depth === maxSilent) break;
      const deeper: { state: ClusterState; steps: number }[] = [];
      for (const g of level) {
        for (const m of silentMoves(g.state)) {
          const k = stateKey(m.state);
          if (seenKeys.has(k)) continue;
          seenKeys.add(k);
          deeper.push({ state: m.state, steps: g.steps + m.steps });
          if (deeper.length > 200) break;
        }
        if (deeper.length > 200) {
          bounded = true;
          break;
        }
      }
      level = deeper;
      if (level.length === 0) break;
    }
    return { nodes: out, why: why || 'no path' };
  };

  const withInvariants = (n: Node, x: Seen): Node => {
    let v: Map<string, Seen> | null = null;
    for (const p of invariants) {
      if (n.violated.has(p.name)) continue;
      if (!p.check(n.state)) {
        v ??= new Map(n.violated);
        v.set(p.name, x);
      }
    }
    return v === null ? n : { ...n, violated: v };
  };

  /**
   * The node with the writes the coming lines name done first (fully broadcast), up to the nearest such zxid; for a
   * leader whose run logs its proposals, what it proposed broadcast to quiescence.
   */
  const eager = (n: Node): Node | null => {
    const Li = n.state.servers.findIndex((v) => v.online && v.leader !== null && v.zabState === 'BROADCAST');
    const L = n.state.servers[Li];
    if (L === undefined) return null;
    if (logsProposals(Li + 1)) {
      // Its writes are all logged: what it proposed, broadcast to quiescence first.
      const d = drain(n.state);
      return d.steps === 0 ? null : { state: d.state, inferred: n.inferred + d.steps, violated: n.violated };
    }
    const last = Math.max(lastLoggedZxid(L), L.pendingLog.length > 0 ? L.pendingLog[L.pendingLog.length - 1]!.zxid : 0);
    const t = targets.find((z) => z > last && epochOf(z) === L.currentEpoch);
    if (t === undefined) return null;
    const c = catchUp(n.state, t, 'broadcast');
    return c === null ? null : { state: c.state, inferred: n.inferred + c.steps, violated: n.violated };
  };

  const advance = (x: Seen): { ok: boolean; why: string } => {
    const next: Node[] = [];
    const keys = new Set<string>();
    let why = '';
    // Writes as early as possible first (a write is usually done before the next line), then as late as possible:
    // each node kept, in its order, with its writes done (or its broadcast run) first, then as it is. (All the
    // eager ones first would put a node's eager variant before a better node that needs none: on five-rolling,
    // drained variants of a path that lost a follower's last PROPOSAL filled every slot.)
    const candidates: Node[] = [];
    for (const n of nodes) {
      const c = crashEnded(n);
      for (const m of c === null ? [n] : [c, n]) {
        const e = eager(m);
        if (e !== null) candidates.push(e);
        candidates.push(m);
      }
    }
    for (const n of candidates) {
      const r = explain(n, x);
      if (r.nodes.length === 0) why = why || r.why;
      for (const m of r.nodes) {
        const k = stateKey(m.state);
        if (keys.has(k)) continue;
        keys.add(k);
        next.push(withInvariants(m, x));
      }
    }
    if (next.length === 0) return { ok: false, why };
    const cap = maxNodes;
    if (next.length > cap) bounded = true;
    nodes = next.slice(0, cap);
    return { ok: true, why: '' };
  };

  let matched = 0;
  let rewinds = 0;
  let deferredCount = 0;
  const deferred: { i: number; since: number }[] = [];
  let divergence: ZkDivergence | null = null;
  const consume = (i: number) => {
    const x = merged[i]!;
    done.add(i);
    matched += 1 + x.with.length;
    if (x.obs.kind === 'start') runOf.set(x.sid, x.run);
    const key = `${x.sid}/${x.run}`;
    consumedUpTo.set(key, Math.max(consumedUpTo.get(key) ?? -1, i));
  };
  const report = (x: Seen, why: string, before: Node[]): ZkDivergence => {
    const s = before[0]!.state;
    const specState: Record<string, Record<string, unknown>> = {};
    for (const sid of order) specState[String(sid)] = summary(s, toSpec.get(sid)!, toZk);
    const enabled = spec.next(s).map((y) => actionText(y.action, toZk));
    const preceding = merged.filter((y, j) => done.has(j) && y.sid === x.sid).slice(-5);
    return { seen: x, why, specState, enabled, preceding };
  };

  // Snapshots of the loop's state, to rewind and explain a stretch again thoroughly (every depth up to maxSilent,
  // more nodes) when an observation finds no explanation: the shortest explanations of the lines before it may
  // have been the wrong ones (a lost connection explained before the writes that came first).
  type Snap = { nodes: Node[]; deferred: { i: number; since: number }[]; done: Set<number>; runOf: Map<number, number>; consumed: Map<string, number>; matched: number };
  const snaps = new Map<number, Snap>();
  let thoroughUntil = -1;
  const REWIND = 12;
  for (let i = 0; i < merged.length && divergence === null; i++) {
    const x = merged[i]!;
    snaps.set(i, { nodes, deferred: deferred.map((d) => ({ ...d })), done: new Set(done), runOf: new Map(runOf), consumed: new Map(consumedUpTo), matched });
    snaps.delete(i - REWIND - 1);
    thorough = i <= thoroughUntil;
    setTargets(i);
    nextCache = new WeakMap();
    drainCache = new WeakMap();
    // Lines of a server with a deferred line wait behind it.
    const blocked = deferred.some((d) => merged[d.i]!.sid === x.sid);
    const before = nodes;
    const r = blocked ? { ok: false, why: '' } : advance(x);
    if (r.ok) {
      consume(i);
      // Retry what was deferred, oldest first, until nothing more goes.
      for (let progress = true; progress; ) {
        progress = false;
        for (let k = 0; k < deferred.length; k++) {
          const d = deferred[k]!;
          if (deferred.slice(0, k).some((e) => merged[e.i]!.sid === merged[d.i]!.sid)) continue;
          if (advance(merged[d.i]!).ok) {
            consume(d.i);
            deferred.splice(k, 1);
            progress = true;
            break;
          }
        }
      }
      continue;
    }
    nodes = before;
    if (!blocked && thoroughUntil < i) {
      // Rewind and explain the last REWIND observations again, thoroughly.
      const from = Math.max(0, i - REWIND);
      const sn = snaps.get(from)!;
      nodes = sn.nodes;
      deferred.length = 0;
      deferred.push(...sn.deferred);
      done.clear();
      for (const d of sn.done) done.add(d);
      runOf.clear();
      for (const [k, v] of sn.runOf) runOf.set(k, v);
      consumedUpTo.clear();
      for (const [k, v] of sn.consumed) consumedUpTo.set(k, v);
      matched = sn.matched;
      thoroughUntil = i;
      rewinds++;
      i = from - 1;
      continue;
    }
    deferred.push({ i, since: i });
    deferredCount++;
    const stale = deferred.find((d) => i - d.since >= window);
    if (stale !== undefined) {
      const y = merged[stale.i]!;
      const r2 = (() => {
        for (const n of nodes) {
          const e = explain(n, y);
          if (e.nodes.length === 0) return e.why;
        }
        return 'no path';
      })();
      divergence = report(y, r2, nodes);
    }
  }
  if (divergence === null && deferred.length > 0) {
    const y = merged[deferred[0]!.i]!;
    let why = 'no path';
    for (const n of nodes) {
      const e = explain(n, y);
      if (e.nodes.length === 0) {
        why = e.why;
        break;
      }
    }
    divergence = report(y, why, nodes);
  }
  inferredTotal = Math.min(...nodes.map((n) => n.inferred));

  const properties = invariants.map((p) => {
    const viol = nodes.filter((n) => n.violated.has(p.name));
    const verdict: 'holds' | 'violated' | 'possible' = viol.length === 0 ? 'holds' : viol.length === nodes.length ? 'violated' : 'possible';
    const at = viol[0]?.violated.get(p.name);
    return { name: p.name, verdict, ...(at !== undefined ? { at: { file: at.file, line: at.line, text: at.text } } : {}) };
  });

  return {
    ok: divergence === null,
    files,
    spec: { name: spec.name, params: spec.params },
    servers: order.map((sid) => ({ sid, role: observers.includes(sid) ? ('observer' as const) : ('participant' as const), files: logOf.get(sid)?.files ?? [], runs: logOf.get(sid)?.runs ?? 0 })),
    problems: run.problems,
    stats: {
      lines: run.lines,
      protocolLines: run.protocolLines,
      notUnderstood: run.skipped,
      matched,
      inferred: inferredTotal,
      deferred: deferredCount,
      rewinds,
      statesExplored: explored,
      maxNodes,
      bounded,
      timeMs: Date.now() - started,
    },
    properties,
    divergence,
  };
}

function stepName(o: Observation): string {
  switch (o.kind) {
    case 'start':
      return 'Restart';
    case 'syncDecision':
      return 'LeaderSyncFollower';
    case 'learnerSync':
      return `LearnerProcess${o.mode}`;
    case 'newLeader':
      return 'LearnerProcessNEWLEADER';
    case 'upToDate':
      return 'LearnerProcessUPTODATE';
    case 'quorumOfSupporters':
      return 'LeaderProcessACKNEWLEADER';
    case 'proposing':
      return 'LeaderProcessRequest';
    case 'peerState':
      return 'ElectAndDiscover or LearnerJoin';
    default:
      return o.kind;
  }
}

/**
 * Does the observation hold in state s without a step (null), need a step ('step'), or contradict s (why)?
 */
function holds(s: ClusterState, x: Seen, toSpec: ReadonlyMap<number, number>, elections: ReadonlySet<string>): string | null | 'step' {
  const me = toSpec.get(x.sid);
  if (me === undefined) return `server ${x.sid} is not in the ensemble`;
  const v = s.servers[me - 1]!;
  const o = x.obs;
  if (x.unsynced === true && v.online && (v.state === 'LOOKING' || v.learner === null)) return null;
  switch (o.kind) {
    case 'start':
      return x.run === 0 ? null : 'step';
    case 'loaded':
      if (x.run === 0) return null;
      return lastLoggedZxid(v) === o.zxid ? null : `server ${x.sid} loaded a log ending at ${zxidToHex(o.zxid)}; its log in the spec ends at ${zxidToHex(lastLoggedZxid(v))}`;
    case 'looking':
      return v.online && v.state === 'LOOKING' ? null : `server ${x.sid} is ${v.online ? v.state : 'down'} in the spec, not LOOKING`;
    case 'newElection': {
      // An observer's FLE votes with no zxid (Long.MIN_VALUE, logged as 0x8000000000000000): not a candidate.
      if (v.online && v.state === 'LOOKING' && o.zxid >= 2 ** 63) return null;
      if (!v.online || v.state !== 'LOOKING') return `server ${x.sid} starts an election but is ${v.online ? v.state : 'down'} in the spec`;
      const last = lastLoggedZxid(v);
      return last === o.zxid ? null : `server ${x.sid} votes for itself with zxid ${zxidToHex(o.zxid)}; its last logged zxid in the spec is ${zxidToHex(last)}`;
    }
    case 'notification': {
      // The vote must be one a server could send: a candidate's (leader, zxid) of one of its "New election" lines,
      // with a peerEpoch no older than that zxid's; a LEADING sender votes for itself, a FOLLOWING one for another.
      if (o.state === 'OBSERVING' || o.zxid >= 2 ** 63) return null; // an observer's vote elects no one
      if (o.state === 'LEADING' && o.leader !== o.from) return `server ${o.from} says it is LEADING but votes for ${o.leader}`;
      // QuorumPeer.run sets currentVote when lookForLeader returns, after lookForLeader set the state: a server that
      // just decided answers with the vote it held before, at its first election its startup vote (itself, round -1).
      const startupVote = o.round >= 2 ** 63;
      if (o.state === 'FOLLOWING' && o.leader === o.from && !startupVote) return `server ${o.from} says it is FOLLOWING itself`;
      if (!elections.has(`${o.leader}/${o.zxid}`)) return `a vote for server ${o.leader} with zxid ${zxidToHex(o.zxid)}: no election of server ${o.leader} started with that zxid (its "New election" lines)`;
      if (o.peerEpoch < epochOf(o.zxid)) return `a vote with peerEpoch ${o.peerEpoch} below the epoch of its zxid ${zxidToHex(o.zxid)}`;
      const sender = toSpec.get(o.from);
      if (sender === undefined) return `a notification from server ${o.from}, which is not in the ensemble`;
      return null;
    }
    case 'peerState': {
      const want = o.role.toUpperCase();
      const role = v.state === 'OBSERVING' ? 'OBSERVING' : v.state;
      if (!v.online) return `server ${x.sid} is down in the spec`;
      if (o.zab === null && o.role !== 'looking' && role === 'LOOKING') return 'step';
      if (role !== want) return `server ${x.sid} is ${role} in the spec, not ${want}`;
      if (o.zab === 'broadcast' && v.zabState !== 'BROADCAST') return `server ${x.sid} is in ${v.zabState} in the spec, not BROADCAST`;
      return null;
    }
    case 'observingLeader':
      return v.learner !== null && v.learner.leader === toSpec.get(o.leader) ? null : `server ${x.sid} observes ${o.leader}; in the spec it is ${v.learner === null ? 'no learner' : `a learner of ${v.learner.leader}`}`;
    case 'learnerInfo': {
      const peer = toSpec.get(o.peer);
      if (peer === undefined) return `server ${o.peer} is not in the ensemble`;
      const p = s.servers[peer - 1]!;
      if (v.leader === null) return `server ${x.sid} registers learner ${o.peer} but does not lead in the spec`;
      return p.learner !== null && p.learner.leader === me ? null : `learner ${o.peer} does not follow ${x.sid} in the spec`;
    }
    case 'learnerLost':
      return v.learner === null ? null : `server ${x.sid} lost its leader but still learns from ${v.learner.leader} in the spec`;
    case 'leaderShutdown':
      return v.leader === null ? null : `server ${x.sid} stopped leading but leads in the spec`;
    case 'syncDecision':
    case 'syncSend':
    case 'learnerSync':
    case 'newLeader':
    case 'upToDate':
    case 'quorumOfSupporters':
    case 'proposing':
      return 'step';
  }
}

/** Is spec step (before, a, after) the one observation x witnesses? */
function matches(before: ClusterState, a: Action, after: ClusterState, x: Seen, toSpec: ReadonlyMap<number, number>): boolean {
  const me = toSpec.get(x.sid)!;
  const r = a as unknown as Record<string, unknown>;
  const o = x.obs;
  switch (o.kind) {
    case 'start':
      return a.kind === 'Restart' && a.sid === me;
    case 'peerState': {
      // The role the line names, taken in this step: an election that gives this server that role, or a join.
      const role = after.servers[me - 1]!.state;
      if (role !== o.role.toUpperCase() || before.servers[me - 1]!.state !== 'LOOKING') return false;
      if (a.kind === 'ElectAndDiscover') return (r['quorum'] as number[]).includes(me);
      return a.kind === 'LearnerJoin' && a.sid === me;
    }
    case 'syncDecision':
      return a.kind === 'LeaderSyncFollower' && a.sid === me && r['peer'] === toSpec.get(o.peer);
    case 'learnerSync':
      return a.kind === `LearnerProcess${o.mode}` && a.sid === me;
    case 'newLeader':
      return a.kind === 'LearnerProcessNEWLEADER' && a.sid === me;
    case 'upToDate':
      return a.kind === 'LearnerProcessUPTODATE' && a.sid === me;
    case 'quorumOfSupporters':
      return a.kind === 'LeaderProcessACKNEWLEADER' && a.sid === me && before.servers[me - 1]!.zabState !== 'BROADCAST' && after.servers[me - 1]!.zabState === 'BROADCAST';
    case 'proposing':
      return a.kind === 'LeaderProcessRequest' && a.sid === me;
    default:
      return false;
  }
}

/** What the step's line says beyond its kind: null if the spec's step agrees, else why not. */
function postCheck(cfg: Config, before: ClusterState, after: ClusterState, x: Seen, toSpec: ReadonlyMap<number, number>): string | null {
  const me = toSpec.get(x.sid)!;
  const v = after.servers[me - 1]!;
  const o = x.obs;
  switch (o.kind) {
    case 'syncDecision': {
      const peer = toSpec.get(o.peer)!;
      // The opening packet syncFollower queued: the first of the packets to the learner that are not PROPOSAL/COMMIT.
      const ch = quorumChannel(after, me, peer);
      const open = ch.find((p) => p.type === 'DIFF' || p.type === 'TRUNC' || p.type === 'SNAP');
      const learner = after.servers[peer - 1]!;
      if (lastLoggedZxid(learner) !== o.peerLast && learner.online) {
        return `the leader says learner ${o.peerLast === undefined ? '?' : o.peerLast} ... peerLastZxid=${zxidToHex(o.peerLast)}; the learner's last zxid in the spec is ${zxidToHex(lastLoggedZxid(learner))}`;
      }
      // What syncFollower compared with (spec/zab/sync.ts leaderSyncFollower, leaderLastProcessed, chooseSync): the
      // leader's lastProcessedZxid and its committedLog. ZooKeeper prints maxCommittedLog 0x0 for an empty
      // committedLog. A leader whose tree came from a SNAP and that has not served yet reports the zxid the SNAP
      // carried (an epoch's zxid), which the spec's SNAP does not carry (spec/zab/sync.ts chooseSync).
      const L = before.servers[me - 1]!;
      const proposals = [...L.history, ...L.pendingLog];
      const applied = L.zabState === 'BROADCAST' ? L.committed : L.history.length;
      const lastProcessed = leaderLastProcessed(L, proposals, applied);
      const log = proposals.slice(Math.min(committedLogStart(cfg, L, applied), applied), applied);
      const maxCommitted = log.length === 0 ? (applied === 0 ? 0 : proposals[applied - 1]!.zxid) : log[log.length - 1]!.zxid;
      const fromSnap = counterOf(o.lastProcessed) === 0 && L.zabState !== 'BROADCAST';
      if (!fromSnap && o.lastProcessed !== lastProcessed) return `the leader's lastProcessedZxid is ${zxidToHex(o.lastProcessed)}; the spec's leader's is ${zxidToHex(lastProcessed)}`;
      if (o.maxCommitted !== 0 && o.maxCommitted !== maxCommitted) return `the leader's maxCommittedLog is ${zxidToHex(o.maxCommitted)}; the spec's leader's committedLog ends at ${zxidToHex(maxCommitted)}`;
      if (x.send !== undefined && open !== undefined) {
        // ZooKeeper's queueCommittedProposals logs "Sending TRUNC" in a case where it sends DIFF (the catch-up case).
        const loggedMode = x.send.mode;
        const okMode = open.type === loggedMode || (loggedMode === 'TRUNC' && open.type === 'DIFF');
        if (!okMode) return `the leader sends ${loggedMode} ${zxidToHex(x.send.zxid)}; the spec's syncFollower opens with ${open.type} ${zxidToHex(open.zxid)}`;
        if (open.type !== 'SNAP' && open.zxid !== x.send.zxid) return `the leader sends ${loggedMode} ${zxidToHex(x.send.zxid)}; the spec's syncFollower opens with ${open.type} ${zxidToHex(open.zxid)}`;
      }
      return null;
    }
    case 'learnerSync': {
      // The packet read: the learner's sync mode is now the logged one; its zxid is the one logged.
      if (v.learner === null || v.learner.syncMode !== o.mode) return `server ${x.sid} read ${o.mode}; the spec's learner is in sync mode ${v.learner?.syncMode ?? 'none'}`;
      // A TRUNC to an epoch's zxid cuts the log before that epoch (spec/zab/sync.ts learnerProcessSyncOp).
      const truncOk = counterOf(o.zxid) === 0 ? lastLoggedZxid(v) < o.zxid : lastLoggedZxid(v) === o.zxid;
      if (o.mode === 'TRUNC' && !truncOk) return `server ${x.sid} truncates to ${zxidToHex(o.zxid)}; the spec's TRUNC leaves its log at ${zxidToHex(lastLoggedZxid(v))}`;
      return null;
    }
    case 'quorumOfSupporters': {
      if (v.leader === null) return 'not leading';
      const acks = v.leader.newLeaderAcks.map((s) => s);
      const logged = o.sids.map((s) => toSpec.get(s) ?? -1).sort((a, b) => a - b);
      if (JSON.stringify([...acks].sort((a, b) => a - b)) !== JSON.stringify(logged)) return `the leader's NEWLEADER ACKs are [${o.sids.join(', ')}]; the spec's are [${acks.join(', ')}] (spec numbering)`;
      if (epochOf(o.zxid) !== v.currentEpoch) return `the leader starts serving epoch ${epochOf(o.zxid)}; its currentEpoch in the spec is ${v.currentEpoch}`;
      return null;
    }
    case 'proposing': {
      const last = lastLoggedZxid(v);
      const pend = v.pendingLog.length > 0 ? v.pendingLog[v.pendingLog.length - 1]!.zxid : last;
      return Math.max(last, pend) === o.zxid ? null : `the leader proposes ${zxidToHex(o.zxid)}; the spec's next proposal is ${zxidToHex(Math.max(last, pend))}`;
    }
    default:
      return null;
  }
}

export { ZkLogError };
