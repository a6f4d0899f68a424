// Explaining one logged step by spec steps: which spec actions an implementation event can be, which steps
// the implementation does not log (taken silently, bounded), and the few events the spec has no action for
// (bridges, each listed here and counted in the report).
//
// A logged event is explained by: up to `maxSilent` silent spec steps, then one spec step of the event's
// action (or none, for events that only report what an earlier step already did), whose message consumed
// is the one logged. After the last event of a logged step, the server's logged variables must equal the
// spec's (abstraction.ts). Silent steps are tried only when the event cannot be explained without them, and
// then with as few as possible (iterative deepening).
import { isDeepStrictEqual } from 'node:util';
import type { Action, ClusterState } from '../../spec/index.ts';
import type { Config } from '../../spec/config.ts';
import type { Spec } from '../../spec/model.ts';
import { serverView } from '../../spec/index.ts';
import { dropHead, electionChannel, quorumChannel, sendNotifications } from '../../spec/state.ts';
import { messageZxid, type TraceMessage } from '../../traces/packets.ts';
import { epochOf, zxidToHex, zxidValue } from '../../traces/zxid.ts';
import type { ActionName } from '../../traces/actions.ts';
import { abstractLoggedMessage, abstractNotification, abstractPacket, abstractServer, diffServers, sameMessage, specServer, type FieldDiff, type MessageAbstract } from './abstraction.ts';
import type { LoggedEvent, LoggedStep } from './reader.ts';
import { DURABLE_WRITES, ROLE_ENDINGS } from '../../traces/actions.ts';

export type ConformSpec = Spec<ClusterState, Action>;

export interface ExplainContext {
  /** The spec with every action (faults, client writes): for the events that need them and silent steps. */
  readonly spec: ConformSpec;
  /**
   * The same spec with the budgets of crashes, lost connections and client writes at 0, which disables those
   * actions: its paths are paths of `spec`, and its successors are much cheaper (no copy of a leader's log per
   * state for a write that is not there). Used for every other event.
   */
  readonly quiet: ConformSpec;
  readonly cfg: Config;
  readonly mode: 'impl' | 'check';
  readonly maxSilent: number;
  /** May server `sid` take steps nobody logged (its log ended: killed, or the run's end)? */
  readonly unlogged: (sid: number) => boolean;
  /** Is this the first incarnation the logs show of the server (its ServerStart is the initial state)? */
  readonly firstIncarnation: (sid: number, incarnation: number) => boolean;
}

export interface Explained {
  readonly state: ClusterState;
  readonly specSteps: number;
  readonly bridges: readonly string[];
}

export interface ExplainOutcome {
  readonly results: Explained[];
  /** Spec states generated while explaining. */
  readonly explored: number;
  /** Which event of the step found no explanation (index in step.events). */
  readonly failedAt: number;
}

/** Events of the implementation that may need no spec step: they report what a spec step already did. */
// LearnerConnect: the implementation's leader accepts a learner's connection while still LOOKING and holds
// its FOLLOWERINFO until it leads (ZooKeeper's learner retries connectToLeader instead); the spec's
// LearnerConnect needs a LEADING leader, so it is then taken silently later, when the leader reads it.
const MAY_STUTTER: ReadonlySet<ActionName> = new Set<ActionName>(['ConnectionLost', 'LearnerTimeout', 'LeaderStepDown', 'LearnerForwardRequest', 'LearnerConnect']);

/** Events whose spec steps are crashes, lost connections or client writes (see ExplainContext.quiet). */
const NEEDS_FULL_SPEC: ReadonlySet<ActionName> = new Set<ActionName>(['LeaderProcessRequest', 'ServerStart', 'ConnectionLost', 'LearnerTimeout', 'LeaderStepDown']);

/** Spec action kinds an implementation event can be. */
function kindsFor(ev: LoggedEvent): readonly ActionName[] {
  switch (ev.action) {
    case 'ObserverProcessINFORM':
      return ['ObserverProcessINFORM', 'LearnerProcessINFORMInSync'];
    case 'LearnerTimeout':
    case 'ConnectionLost':
      return ['ConnectionLost', 'LearnerTimeout'];
    case 'LearnerForwardRequest':
      return [];
    default:
      return [ev.action];
  }
}

/** Does spec action `a` stand for event `ev` (same server, same peer)? */
function actorMatches(a: Action, ev: LoggedEvent): boolean {
  if (a.kind === 'ConnectionLost') {
    const peer = ev.params['peer'] ?? ev.params['leader'];
    return (a.sid === ev.sid && a.peer === peer) || (a.sid === peer && a.peer === ev.sid);
  }
  if (a.sid !== ev.sid) return false;
  if (a.kind === 'LeaderSyncFollower') return a.peer === ev.params['peer'];
  return true;
}

/**
 * Bridge for FLENotificationTimeout (the spec has no such action): lookForLeader's poll timed out and the
 * server sends its current vote again to every voter. Only the messages change; nothing else does.
 */
function resendVotes(ctx: ExplainContext, s: ClusterState, sid: number): ClusterState | null {
  const me = s.servers[sid - 1]!;
  if (!me.online || me.state !== 'LOOKING' || me.fle === 'idle') return null;
  const n = { ...me.proposal, electionEpoch: me.logicalclock, state: 'LOOKING' as const };
  return sendNotifications(s, sid, ctx.cfg.voters.map((to) => ({ to, n })));
}

interface Partial {
  readonly state: ClusterState;
  readonly specSteps: number;
  readonly bridges: readonly string[];
}

/**
 * Explain a logged step. Each event is explained with as few silent steps as possible; if the state after a
 * server's start then differs from what was logged, it is tried again keeping every silent depth up to
 * maxSilent (the lost tail of the log of its previous run shows only in the variables it starts with).
 */
export function explainStep(ctx: ExplainContext, start: ClusterState, step: LoggedStep, limit = 8): ExplainOutcome {
  const out = explainStepTried(ctx, start, step, limit);
  return { ...out, results: out.results.map(forgetCommittedGhost) };
}

/**
 * The spec's ghost list of committed txns (ghost.committed) serves its invariants only, which conform does not
 * check, and no action reads it except to append to it; it grows with every commit and each commit scans it.
 * conform empties it after every step, so that checking a long log stays linear in the log.
 */
export function forgetCommittedGhost<T extends { state: ClusterState }>(x: T): T {
  if (x.state.ghost.committed.length === 0) return x;
  return { ...x, state: { ...x.state, ghost: { ...x.state.ghost, committed: [] } } };
}

function explainStepTried(ctx: ExplainContext, start: ClusterState, step: LoggedStep, limit: number): ExplainOutcome {
  const lazy = explainStepAt(ctx, start, step, limit, false, false);
  if (lazy.results.length > 0 || ctx.maxSilent === 0 || !step.events.some((e) => e.action === 'ServerStart')) return lazy;
  const eager = explainStepAt(ctx, start, step, limit * 4, true, false);
  return { ...eager, explored: eager.explored + lazy.explored, failedAt: eager.results.length > 0 ? -1 : lazy.failedAt };
}

/**
 * The epoch a step changed without its durable write: in the implementation's logs an epoch changes only in an
 * EpochFileWrite (the file written and fsynced, traces/README.md), which the event that sends the message vouching
 * for it follows; any other event that changes acceptedEpoch or currentEpoch (ServerStart reads them) skipped
 * the write. null: none.
 */
export function epochWithoutWrite(step: LoggedStep): { event: number; file: string; value: unknown } | null {
  for (let i = 0; i < step.events.length; i++) {
    const e = step.events[i]!;
    if (e.action === 'EpochFileWrite' || e.action === 'ServerStart') continue;
    for (const file of ['acceptedEpoch', 'currentEpoch']) if (file in e.post) return { event: i, file, value: e.post[file] };
  }
  return null;
}

function explainStepAt(ctx: ExplainContext, start: ClusterState, step: LoggedStep, limit: number, eager: boolean, prefer: boolean): ExplainOutcome {
  let frontier: Partial[] = [{ state: start, specSteps: 0, bridges: [] }];
  let explored = 0;
  const events = step.events;
  if (ctx.mode === 'impl') {
    const skipped = epochWithoutWrite(step);
    if (skipped !== null) return { results: [], explored, failedAt: skipped.event };
  }
  const actions = events.filter((e) => !DURABLE_WRITES.has(e.action));
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    if (DURABLE_WRITES.has(ev.action)) continue;
    const next: Partial[] = [];
    for (const f of frontier) {
      const r = explainEvent(ctx, f, ev, eager, prefer);
      explored += r.explored;
      for (const x of r.results) if (next.length < limit) next.push(x);
    }
    frontier = next;
    if (frontier.length === 0) return { results: [], explored, failedAt: i };
  }
  if (ctx.mode === 'impl') {
    frontier = frontier.map((f) => ({ ...f, state: snapshotsAsLogged(f.state, step) }));
    // The server's logged variables after the step must be the spec's. A log that ends in durable writes
    // (its last lines were lost in a kill -9) cannot be compared.
    if (actions.length > 0 || !step.lastOfIncarnation) {
      const logged = abstractServer(step.vars);
      // A write logged after the step's event is accepted as the step's own only if the step sent nothing:
      // a message may leave only once what it vouches for is durable (traces/README.md).
      const sends = step.events.some((e) => e.send.length > 0);
      const loggedAlt = step.varsWithNextWrites === step.vars || sends ? null : abstractServer(step.varsWithNextWrites);
      frontier = frontier.filter((f) => {
        const spec = specServer(f.state.servers[step.sid - 1]!);
        return diffServers(logged, spec).length === 0 || (loggedAlt !== null && diffServers(loggedAlt, spec).length === 0);
      });
      if (frontier.length === 0) return { results: [], explored, failedAt: events.length - 1 };
    }
    const applied = appliedInStep(step);
    if (applied !== null) {
      frontier = frontier.filter((f) => appliedBeyond(f.state.servers[step.sid - 1]!, applied.zxids) === null);
      if (frontier.length === 0) return { results: [], explored, failedAt: applied.event };
    }
  }
  return { results: frontier, explored, failedAt: -1 };
}

/**
 * The txns a step applied to its data tree (the events' `applied`), and the event that applied the last. null: none,
 * or a step that ends a role: Follower.shutdown and Leader.shutdown apply the txns still in their log
 * (fastForwardDataBase), which the spec does not model (the next leader commits them, or TRUNC removes them).
 */
export function appliedInStep(step: LoggedStep): { zxids: number[]; event: number } | null {
  if (step.events.some((e) => ROLE_ENDINGS.has(e.action))) return null;
  const zxids: number[] = [];
  let event = -1;
  step.events.forEach((e, i) => {
    if (e.applied === undefined || e.applied.length === 0) return;
    zxids.push(...e.applied);
    event = i;
  });
  return zxids.length === 0 ? null : { zxids, event };
}

/**
 * The first zxid applied that the spec server does not know committed; null: none. Known committed: delivered (or
 * installed by a sync), or, during a sync, a COMMIT taken and kept for NEWLEADER (packetsCommitted: ours applies
 * it as it comes, ZooKeeper 3.9 and the spec at NEWLEADER; both only what the leader committed).
 */
function appliedBeyond(me: ClusterState['servers'][number], zxids: readonly number[]): number | null {
  const last = lastDelivered(me);
  const kept = me.learner?.packetsCommitted ?? [];
  return zxids.find((z) => z > last && !kept.includes(z)) ?? null;
}

/** Explain one event from one state: as few silent steps as possible, then the event's own step. */
function explainEvent(ctx: ExplainContext, f: Partial, ev: LoggedEvent, eager: boolean, prefer: boolean): { results: Partial[]; explored: number } {
  let level: Partial[] = [f];
  let explored = 0;
  const results: Partial[] = [];
  for (let depth = 0; depth <= ctx.maxSilent; depth++) {
    for (const g of level) {
      const r = directMatches(ctx, g, ev, prefer);
      explored += r.explored;
      results.push(...r.results);
    }
    if ((results.length > 0 && !eager) || depth === ctx.maxSilent) return { results, explored };
    const deeper: Partial[] = [];
    for (const g of level) {
      for (const succ of ctx.spec.next(g.state)) {
        explored++;
        if (!isSilent(ctx, succ.action)) continue;
        deeper.push({ state: succ.state, specSteps: g.specSteps + 1, bridges: g.bridges });
        if (deeper.length > 64) break;
      }
    }
    if (deeper.length === 0) return { results, explored };
    level = deeper;
  }
  return { results, explored };
}

/** Steps the implementation does not log. */
function isSilent(ctx: ExplainContext, a: Action): boolean {
  if (ctx.mode === 'check') return false;
  // An impl log older than FollowerFlushLog events (run.ts): the flush of the queue UPTODATE leaves, not logged.
  if (a.kind === 'FollowerFlushLog' && ctx.cfg.followerLog === 'atomic') return true;
  if (a.kind === 'LearnerConnect') return true; // a connection held until the leader leads (see MAY_STUTTER)
  if (a.kind === 'Crash') return ctx.unlogged(a.sid); // kill -9 is not logged
  return ctx.unlogged(a.sid) && a.kind !== 'Restart'; // the lost tail of a killed server's log
}

function recvAbstract(ev: LoggedEvent): MessageAbstract | null {
  return ev.recv === undefined ? null : abstractLoggedMessage(ev.recv);
}

/** At most this many txns appended and not yet fsynced when a server is killed (one group-commit batch). */
const MAX_UNSYNCED = 64;

/**
 * Bridge for a crash between a log append and its fsync: the spec makes a txn durable in the step that logs it,
 * the implementation (like ZooKeeper) fsyncs in batches, and no message that depends on the append leaves
 * before the fsync. A restarted server whose log ends before the spec's loses that tail (txns of its current
 * epoch only, at most MAX_UNSYNCED). null: nothing to lose, or not explainable this way.
 */
function loseUnsyncedTail(s: ClusterState, sid: number, logged: number): { state: ClusterState; count: number } | null {
  const me = s.servers[sid - 1]!;
  const h = me.history;
  if (Number.isNaN(logged) || h.length === 0 || h[h.length - 1]!.zxid <= logged) return null;
  let keep = h.length;
  while (keep > 0 && h[keep - 1]!.zxid > logged) keep--;
  const dropped = h.length - keep;
  if ((keep > 0 && h[keep - 1]!.zxid !== logged) || (keep === 0 && logged !== 0) || dropped > MAX_UNSYNCED) return null;
  if (h.slice(keep).some((t) => epochOf(t.zxid) < me.currentEpoch)) return null;
  const history = h.slice(0, keep);
  const servers = s.servers.slice();
  servers[sid - 1] = { ...me, history, snapshotIndex: Math.min(me.snapshotIndex, keep), committedLogStart: Math.min(me.committedLogStart, keep), currentVote: { ...me.currentVote, zxid: logged } };
  return { state: { ...s, servers }, count: dropped };
}

/**
 * Where the server's snapshot is, as its log says. The spec moves snapshotIndex where ZooKeeper always takes
 * one (Leader.lead's loadData, NEWLEADER after SNAP or TRUNC); SyncRequestProcessor's snapshot every snapCount
 * txns, taken at a moment of its own, is no spec step: a SnapshotWrite logged in the step moves the spec's
 * snapshotIndex to the txns it covers. A ServerStart's snapshotZxid is the snapshot the database was loaded
 * from, where the committedLog starts too (FileTxnSnapLog.restore adds each txn after it). The snapshot a SNAP
 * installs is the spec's at NEWLEADER. A zxid the spec's log does not hold leaves the spec as it is.
 */
function snapshotsAsLogged(s: ClusterState, step: LoggedStep): ClusterState {
  let out = s;
  const at = (z: number): number | null => {
    if (z === 0) return 0;
    const i = out.servers[step.sid - 1]!.history.findIndex((t) => t.zxid === z);
    return i < 0 ? null : i + 1;
  };
  const set = (patch: { snapshotIndex: number; committedLogStart?: number }) => {
    const servers = out.servers.slice();
    servers[step.sid - 1] = { ...servers[step.sid - 1]!, ...patch };
    out = { ...out, servers };
  };
  const installsSnap = step.events.some((e) => e.action === 'LearnerProcessSNAP');
  for (const e of step.events) {
    if (e.action === 'SnapshotWrite' && !installsSnap) {
      const i = at(zxidValue(e.params['zxid']));
      if (i !== null) set({ snapshotIndex: i });
    } else if (e.action === 'ServerStart' && e.params['snapshotZxid'] !== undefined) {
      const i = at(zxidValue(e.params['snapshotZxid']));
      if (i !== null) set({ snapshotIndex: i, committedLogStart: i });
    }
  }
  return out;
}

/**
 * Bridge for a deviation of ours (abstraction.ts, impl/README.md): our learner logs a PROPOSAL received during a
 * DIFF sync as it arrives, where ZooKeeper and the spec keep it in packetsNotLogged until NEWLEADER. A kill -9
 * then keeps in our log what the spec's crash forgets: when the restart shows them, they are taken as logged.
 */
function keepLoggedInSync(g: Partial, sid: number, loggedLast: number): Partial[] {
  const me = g.state.servers[sid - 1]!;
  const l = me.learner;
  if (l === null || l.syncTree !== null || l.packetsNotLogged.length === 0 || Number.isNaN(loggedLast)) return [];
  const last = me.history.length === 0 ? 0 : me.history[me.history.length - 1]!.zxid;
  const kept = l.packetsNotLogged.filter((t) => t.zxid > last && t.zxid <= loggedLast);
  if (kept.length === 0) return [];
  const servers = g.state.servers.slice();
  servers[sid - 1] = { ...me, history: [...me.history, ...kept], learner: { ...l, packetsNotLogged: l.packetsNotLogged.filter((t) => !kept.includes(t)) } };
  return [{ state: { ...g.state, servers }, specSteps: g.specSteps, bridges: [...g.bridges, `crash of ${sid} kept ${kept.length} PROPOSAL(s) it logged during sync`] }];
}

/** The spec steps that are this event, from state g (no silent step before). */
function directMatches(ctx: ExplainContext, g: Partial, ev: LoggedEvent, prefer: boolean): { results: Partial[]; explored: number } {
  if (ctx.mode === 'check') return checkMatches(ctx, g, ev);
  const results: Partial[] = [];
  let explored = 0;
  const sid = ev.sid;
  const me = g.state.servers[sid - 1];
  if (me === undefined) return { results, explored };

  if (ev.action === 'ServerStart') {
    if (ctx.firstIncarnation(sid, ev.incarnation)) return { results: [g], explored };
    // kill -9 (not logged) and the start: Crash, then Restart.
    let from: Partial[] = [g];
    if (me.online) {
      from = [];
      const loggedLast = zxidValue(ev.post['lastZxid']);
      // Txns still queued for the log (a leader's own proposals, leaderLog 'queued'; a follower's PROPOSALs,
      // followerLog 'queued') that the restart shows on disk were written before the kill: the spec's
      // LeaderFlushLog or FollowerFlushLog steps, then the crash (which drops their ACKs with the connection).
      const flushed = Number.isNaN(loggedLast) || me.pendingLog.length === 0 ? null : flushQueued(ctx.spec, g, sid, loggedLast);
      const written = flushed !== null && flushed.specSteps > g.specSteps ? [flushed] : [];
      for (const before of [g, ...written, ...keepLoggedInSync(g, sid, loggedLast)]) {
        for (const s of ctx.spec.next(before.state)) {
          explored++;
          if (s.action.kind === 'Crash' && s.action.sid === sid) from.push({ state: s.state, specSteps: before.specSteps + 1, bridges: before.bridges });
        }
      }
    }
    for (const h of from) {
      for (const s of ctx.spec.next(h.state)) {
        explored++;
        if (s.action.kind !== 'Restart' || s.action.sid !== sid) continue;
        const loggedLast = zxidValue(ev.post['lastZxid']);
        const lost = loseUnsyncedTail(s.state, sid, loggedLast);
        // What the server ACKed before it was killed was fsynced: a restart may not lose it.
        if (lost !== null && ev.vouched !== undefined && loggedLast < ev.vouched) continue;
        if (lost === null) results.push({ state: s.state, specSteps: h.specSteps + 1, bridges: h.bridges });
        else results.push({ state: lost.state, specSteps: h.specSteps + 1, bridges: [...h.bridges, `crash of ${sid} lost ${lost.count} txn(s) not yet fsynced`] });
      }
    }
    return { results, explored };
  }
  if (ev.action === 'FLENotificationTimeout') {
    const s = resendVotes(ctx, g.state, sid);
    if (s !== null) results.push({ state: s, specSteps: g.specSteps, bridges: [...g.bridges, 'FLENotificationTimeout'] });
    return { results, explored: explored + 1 };
  }
  if (ev.action === 'LeaderFlushLog') return leaderFlush(ctx, g, ev);
  if (ev.action === 'FollowerFlushLog') return followerFlush(ctx, g, ev);
  // An event that may take no spec step takes none only when no spec step of its own can explain it.
  const stutter = MAY_STUTTER.has(ev.action) ? [g] : [];
  const pick = (own: Partial[]) => (prefer && own.length > 0 ? own : [...own, ...stutter]);

  // The message consumed: on an election channel, notifications ahead of it may have been lost (a dropped
  // connection, QuorumCnxManager's one-slot send queue); on a quorum connection (TCP) nothing is skipped.
  let base = g;
  const recv = recvAbstract(ev);
  if (recv !== null && ev.recv !== undefined) {
    const from = ev.recv.from;
    if (recv.type === 'NOTIFICATION') {
      const ch = electionChannel(base.state, from, sid);
      const k = ch.findIndex((n) => sameMessage(abstractNotification(n), recv));
      if (k < 0) return { results: pick(results), explored };
      if (k > 0) {
        let s = base.state;
        for (let i = 0; i < k; i++) s = dropHead(s, from, sid);
        base = { state: s, specSteps: base.specSteps, bridges: [...base.bridges, `lost ${k} notification(s) ${from}->${sid}`] };
      }
    } else {
      const head = quorumChannel(base.state, from, sid)[0];
      if (head === undefined || !sameMessage(abstractPacket(head), recv)) return { results: pick(results), explored };
    }
  }
  const kinds = kindsFor(ev);
  if (kinds.length === 0) return { results: stutter, explored };
  for (const s of (NEEDS_FULL_SPEC.has(ev.action) ? ctx.spec : ctx.quiet).next(base.state)) {
    explored++;
    const a = s.action;
    if (!kinds.includes(a.kind) || !actorMatches(a, ev)) continue;
    if (recv !== null && ev.recv !== undefined && !('from' in a && a.from === ev.recv.from)) continue;
    // A leader's ACK event names the ACK it took; its own ACK is LeaderFlushLog (an older log's own-ACK event is not).
    if (a.kind === 'LeaderProcessACK' && recv === null) continue;
    if (a.kind === 'LeaderSyncFollower') {
      const peer = a.peer;
      const before = quorumChannel(base.state, sid, peer).length;
      const first = quorumChannel(s.state, sid, peer)[before];
      if (first === undefined || first.type !== ev.params['mode']) continue;
      // The whole sync is compared at the sender: DIFF/TRUNC/SNAP and every packet after it up to NEWLEADER.
      if (syncMismatch(base.state, s.state, sid, peer, ev) !== null) continue;
    }
    if (SENDS_CHECKED.has(ev.action) && sendsMismatch(base.state, s.state, ev) !== null) continue;
    if (finalizeWaitDiffers(ev, s.state) !== null) continue;
    if (ackEpochRefusalDiffers(ev, base.state, s.state) !== null) continue;
    results.push({ state: s.state, specSteps: base.specSteps + 1, bridges: base.bridges });
  }
  const own = results.filter((r) => committedAsLogged(base.state, r.state, ev));
  return { results: pick(own), explored };
}

/**
 * Steps whose packets are compared at the sender: each packet the server logged sending must be one the spec's
 * step sends (to the same server), and the answer the spec's step gives the leader (the ACK of a PROPOSAL or of
 * NEWLEADER, ACKEPOCH) must be among them. A leader's discovery steps too (LEADERINFO, UPTODATE only where the
 * spec's quorum allows them). A learner's FollowerFlushLog is compared ACK by ACK (followerFlush).
 */
const SENDS_CHECKED: ReadonlySet<ActionName> = new Set<ActionName>([
  'LeaderProcessFOLLOWERINFO',
  'LeaderProcessACKNEWLEADER',
  'FollowerProcessPROPOSAL',
  'FollowerProcessCOMMIT',
  'ObserverProcessINFORM',
  'LearnerProcessLEADERINFO',
  'LearnerProcessNEWLEADER',
  'LearnerProcessPROPOSALInSync',
  'LearnerProcessCOMMITInSync',
  'LearnerProcessDIFF',
  'LearnerProcessTRUNC',
  'LearnerProcessSNAP',
]);

/**
 * A vote that completes a quorum for the proposal starts finalizeWait (the event's params.finalizeWait); no other
 * does. null when the event's FLE receive and the spec's (`after`) agree on it, else what differs.
 */
function finalizeWaitDiffers(ev: LoggedEvent, after: ClusterState): string | null {
  if (ev.action !== 'FLEReceiveSameRound' && ev.action !== 'FLEReceiveHigherRound') return null;
  const finalizing = after.servers[ev.sid - 1]!.fle === 'finalizing';
  if ((ev.params['finalizeWait'] === true) === finalizing) return null;
  return `the log ${finalizing ? 'did not start' : 'started'} finalizeWait; the spec's ${ev.action} ${finalizing ? 'does (its proposal has a quorum)' : 'does not (no quorum for its proposal)'}`;
}

/**
 * A leader refuses an ACKEPOCH (waitForEpochAck's "Follower is ahead of the leader": the event's params.refused)
 * exactly when the spec's LeaderProcessACKEPOCH does: the spec's refusal shuts the learner down at once, which the
 * leader's own logged variables do not show. null when they agree, else what differs.
 */
function ackEpochRefusalDiffers(ev: LoggedEvent, before: ClusterState, after: ClusterState): string | null {
  if (ev.action !== 'LeaderProcessACKEPOCH' || ev.recv === undefined) return null;
  const from = ev.recv.from;
  const learnerOf = (s: ClusterState) => s.servers[from - 1]?.learner?.leader;
  const refused = learnerOf(before) === ev.sid && learnerOf(after) !== ev.sid;
  if ((ev.params['refused'] !== undefined) === refused) return null;
  return refused
    ? `the log accepted the ACKEPOCH of ${from}; the spec's LeaderProcessACKEPOCH refuses it (the learner is ahead of the leader: waitForEpochAck)`
    : `the log refused the ACKEPOCH of ${from}; the spec's LeaderProcessACKEPOCH accepts it`;
}

/** A message for a report: zxids in hex, as the logs write them. */
function showMessage(m: MessageAbstract): string {
  return JSON.stringify(m, (k, v: unknown) => ((k === 'zxid' || k === 'lastZxid') && typeof v === 'number' ? zxidToHex(v) : v));
}

/** null when the event sent what the spec's step sends (see SENDS_CHECKED), else what differs. */
function sendsMismatch(before: ClusterState, after: ClusterState, ev: LoggedEvent): string | null {
  const sid = ev.sid;
  const spec = new Map<number, MessageAbstract[]>();
  for (const j of after.servers.keys()) {
    const to = j + 1;
    if (to === sid) continue;
    const sent = quorumChannel(after, sid, to).slice(quorumChannel(before, sid, to).length).map(abstractPacket);
    if (sent.length > 0) spec.set(to, sent);
  }
  for (const m of ev.send) {
    if (m.type === 'NOTIFICATION') continue;
    const a = abstractLoggedMessage(m);
    if (a === null) continue;
    const list = spec.get(m.to) ?? [];
    const k = list.findIndex((b) => sameMessage(a, b));
    if (k < 0) return `sent ${showMessage(a)} to ${m.to}, which the spec's ${ev.action} does not send`;
    list.splice(k, 1);
  }
  const from = ev.recv?.from;
  if (from === undefined) return null;
  const owed = (spec.get(from) ?? []).find((b) => (b.type === 'ACK' && ev.recv !== undefined && 'zxid' in ev.recv && b['zxid'] === zxidValue(ev.recv.zxid)) || b.type === 'ACKEPOCH');
  return owed === undefined ? null : `did not send ${showMessage(owed)} to ${from}, which the spec's ${ev.action} sends`;
}

/**
 * The packets a LeaderSyncFollower event sent its learner, against the ones the spec's step queued on that
 * channel (both in order, abstracted): null when they are the same, else where they first differ.
 */
function syncMismatch(before: ClusterState, after: ClusterState, sid: number, peer: number, ev: LoggedEvent): string | null {
  const spec = quorumChannel(after, sid, peer).slice(quorumChannel(before, sid, peer).length).map(abstractPacket);
  const logged = ev.send.filter((m) => m.to === peer).map(abstractLoggedMessage).filter((m): m is MessageAbstract => m !== null);
  const n = Math.max(spec.length, logged.length);
  for (let i = 0; i < n; i++) {
    const a = logged[i];
    const b = spec[i];
    if (a !== undefined && b !== undefined && sameMessage(a, b)) continue;
    return `packet ${i + 1} of the sync: the log sent ${a === undefined ? 'nothing' : showMessage(a)}, the spec sends ${b === undefined ? 'nothing' : showMessage(b)}`;
  }
  return null;
}

/**
 * The leader's own log flush (LeaderFlushLog, leaderLog 'queued'): its SyncRequestProcessor wrote its queued
 * proposals up to params.zxid and its AckRequestProcessor counted the leader's own ACK of each. The spec's
 * LeaderFlushLog writes one proposal a step: as many steps as it takes to reach that zxid exactly, and what they
 * committed must be what the leader logged committing.
 */
function leaderFlush(ctx: ExplainContext, g: Partial, ev: LoggedEvent): { results: Partial[]; explored: number } {
  const upTo = zxidValue(ev.params['zxid']);
  const flushed = flushQueued(ctx.quiet, g, ev.sid, upTo);
  if (flushed === null || flushed.specSteps === g.specSteps) return { results: [], explored: flushed?.explored ?? 0 };
  const me = flushed.state.servers[ev.sid - 1]!;
  const last = me.history.length === 0 ? 0 : me.history[me.history.length - 1]!.zxid;
  if (last !== upTo || !committedAsLogged(g.state, flushed.state, ev)) return { results: [], explored: flushed.explored };
  return { results: [{ state: flushed.state, specSteps: flushed.specSteps, bridges: g.bridges }], explored: flushed.explored };
}

/**
 * A learner's log flush (FollowerFlushLog, followerLog 'queued'): its SyncRequestProcessor fsynced its queue up to
 * params.zxid and its SendAckRequestProcessor ACKed each txn. The spec's FollowerFlushLog writes one txn a step: as
 * many steps as it takes to reach that zxid exactly, and the ACKs they send the leader must be the ones logged, in
 * order (a follower that leaves one out diverges here; one that ACKed at receipt diverged at its PROPOSAL).
 */
function followerFlush(ctx: ExplainContext, g: Partial, ev: LoggedEvent): { results: Partial[]; explored: number } {
  const flushed = flushQueued(ctx.quiet, g, ev.sid, zxidValue(ev.params['zxid']));
  if (flushed === null || flushed.specSteps === g.specSteps) return { results: [], explored: flushed?.explored ?? 0 };
  if (flushAcksMismatch(g.state, flushed.state, ev) !== null) return { results: [], explored: flushed.explored };
  return { results: [{ state: flushed.state, specSteps: flushed.specSteps, bridges: g.bridges }], explored: flushed.explored };
}

/** null when a FollowerFlushLog event sent the ACKs the spec's flush steps (before → after) send, else what differs. */
function flushAcksMismatch(before: ClusterState, after: ClusterState, ev: LoggedEvent): string | null {
  const me = after.servers[ev.sid - 1]!;
  const last = me.history.length === 0 ? 0 : me.history[me.history.length - 1]!.zxid;
  if (last !== zxidValue(ev.params['zxid'])) return `the spec's queue has no txn ${String(ev.params['zxid'])} to flush (its log ends at ${zxidToHex(last)})`;
  const to = before.servers[ev.sid - 1]!.learner?.leader;
  const spec = to === undefined ? [] : quorumChannel(after, ev.sid, to).slice(quorumChannel(before, ev.sid, to).length).map(abstractPacket);
  const logged = ev.send.map(abstractLoggedMessage).filter((m): m is MessageAbstract => m !== null);
  const n = Math.max(spec.length, logged.length);
  for (let i = 0; i < n; i++) {
    const a = logged[i];
    const b = spec[i];
    if (a !== undefined && b !== undefined && sameMessage(a, b)) continue;
    return `ACK ${i + 1} of the flush: the log sent ${a === undefined ? 'nothing' : showMessage(a)}, the spec's FollowerFlushLog sends ${b === undefined ? 'nothing' : showMessage(b)}`;
  }
  return null;
}

/**
 * The spec's flush steps of server `sid` (LeaderFlushLog for a leader, FollowerFlushLog otherwise) while the head of
 * its queue is at or below `upTo`.
 */
function flushQueued(spec: ConformSpec, g: Partial, sid: number, upTo: number): (Partial & { explored: number }) | null {
  let state = g.state;
  let steps = 0;
  let explored = 0;
  const kind = state.servers[sid - 1]!.leader !== null ? 'LeaderFlushLog' : 'FollowerFlushLog';
  for (;;) {
    const head = state.servers[sid - 1]!.pendingLog[0];
    if (head === undefined || head.zxid > upTo) break;
    const succ = spec.next(state).find((x) => x.action.kind === kind && x.action.sid === sid);
    explored++;
    if (succ === undefined) return null;
    state = succ.state;
    steps++;
  }
  return { state, specSteps: g.specSteps + steps, bridges: g.bridges, explored };
}

/**
 * A leader's event that logs what it committed (`params.committed`: LeaderProcessACK, LeaderFlushLog): the spec's
 * leader must have committed exactly those txns in the step, no more, no fewer (an event of these kinds that logs
 * none committed none).
 */
function committedAsLogged(before: ClusterState, after: ClusterState, ev: LoggedEvent): boolean {
  if (ev.action !== 'LeaderProcessACK' && ev.action !== 'LeaderFlushLog') return true;
  const c = ev.params['committed'];
  const logged = Array.isArray(c) ? c.map(zxidValue) : [];
  const was = lastDelivered(before.servers[ev.sid - 1]!);
  const now = lastDelivered(after.servers[ev.sid - 1]!);
  if (logged.length === 0) return now === was;
  const count = after.servers[ev.sid - 1]!.committed - before.servers[ev.sid - 1]!.committed;
  return count === logged.length && now === Math.max(...logged) && logged.every((z) => z > was);
}

/** The zxid of the last txn a spec server delivered (spec/state.ts delivered(), without building the list). */
function lastDelivered(me: ClusterState['servers'][number]): number {
  if (me.learner?.syncTree) return me.learner.syncTree.length === 0 ? 0 : me.learner.syncTree[me.learner.syncTree.length - 1]!.zxid;
  if (me.committed === 0) return 0;
  const i = me.committed - 1;
  const t = i < me.history.length ? me.history[i] : me.pendingLog[i - me.history.length];
  return t === undefined ? 0 : t.zxid;
}

/** A check trace's event is one spec step: same kind, server, parameters, message and variables. */
function checkMatches(ctx: ExplainContext, g: Partial, ev: LoggedEvent): { results: Partial[]; explored: number } {
  const results: Partial[] = [];
  let explored = 0;
  const recv = recvAbstract(ev);
  for (const s of ctx.spec.next(g.state)) {
    explored++;
    if (s.action.kind !== ev.action || s.action.sid !== ev.sid) continue;
    const view = ctx.spec.describe(g.state, s.action, s.state);
    if (!isDeepStrictEqual({ ...view.params }, { ...ev.params })) continue;
    if (recv !== null) {
      const got = view.recv === null ? null : abstractLoggedMessage({ ...view.recv.fields, id: '', from: view.recv.from, to: view.recv.to, type: view.recv.type } as TraceMessage);
      if (got === null || !sameMessage(got, recv)) continue;
    }
    const after = serverView(s.state.servers[ev.sid - 1]!, ctx.cfg.protocol === 'zab');
    if (!Object.entries(ev.post).every(([k, v]) => isDeepStrictEqual(after[k], v))) continue;
    results.push({ state: s.state, specSteps: g.specSteps + 1, bridges: g.bridges });
  }
  return { results, explored };
}

/** For the report: the spec successor nearest to what the server logged, and how they differ. */
export function nearestSuccessor(ctx: ExplainContext, state: ClusterState, step: LoggedStep): { action: string; diff: FieldDiff[]; message?: string } | null {
  const logged = abstractServer(step.vars);
  const main = step.events.filter((e) => !DURABLE_WRITES.has(e.action))[0];
  let syncNote: string | undefined;
  const consider = (action: string, s: ClusterState, sameKind: boolean) => {
    const diff = ctx.mode === 'impl' ? diffServers(logged, specServer(s.servers[step.sid - 1]!)) : checkDiff(ctx, s, step);
    // Fewest differing fields; on a tie, an action of the logged kind.
    const score = diff.length * 2 + (sameKind ? 0 : 3);
    if (best === null || score < best.score) best = { action, diff, score };
  };
  let best: { action: string; diff: FieldDiff[]; score: number } | null = null as { action: string; diff: FieldDiff[]; score: number } | null;
  consider('(no step)', state, false);
  // The server after the spec's step of the logged kind (for the applies: what it has delivered then).
  let specAfter: ClusterState['servers'][number] | undefined;
  for (const s of ctx.spec.next(state)) {
    if (s.action.sid !== step.sid && !('peer' in s.action && s.action.peer === step.sid)) continue;
    if (main !== undefined && s.action.kind === main.action && s.action.sid === step.sid) specAfter ??= s.state.servers[step.sid - 1];
    consider(`${s.action.kind}@${s.action.sid}${'from' in s.action ? `<-${s.action.from}` : ''}${'peer' in s.action ? `/${s.action.peer}` : ''}`, s.state, s.action.kind === main?.action);
    if (main !== undefined && s.action.kind === main.action && s.action.sid === step.sid) syncNote ??= finalizeWaitDiffers(main, s.state) ?? ackEpochRefusalDiffers(main, state, s.state) ?? undefined;
    if (main !== undefined && s.action.kind === main.action && s.action.sid === step.sid && SENDS_CHECKED.has(main.action)) {
      const m = sendsMismatch(state, s.state, main);
      if (m !== null) syncNote ??= `${main.action} ${m}`;
    }
    if (s.action.kind === 'LeaderSyncFollower' && main?.action === 'LeaderSyncFollower' && s.action.peer === main.params['peer']) {
      const first = quorumChannel(s.state, step.sid, s.action.peer)[quorumChannel(state, step.sid, s.action.peer).length];
      syncNote =
        first === undefined || first.type !== main.params['mode']
          ? `the spec's LeaderSyncFollower opens with ${first === undefined ? 'nothing' : JSON.stringify(abstractPacket(first))}; the log says ${String(main.params['mode'])}`
          : (syncMismatch(state, s.state, step.sid, s.action.peer, main) ?? syncNote);
    }
  }
  if (best === null) return null;
  const out: { action: string; diff: FieldDiff[]; message?: string } = { action: best.action, diff: best.diff };
  if (syncNote !== undefined) out.message = syncNote;
  const skipped = ctx.mode === 'impl' ? epochWithoutWrite(step) : null;
  const restartedAt = main?.action === 'ServerStart' ? zxidValue(main.post['lastZxid']) : NaN;
  const applied = ctx.mode === 'impl' ? appliedInStep(step) : null;
  const beyond = applied === null ? null : appliedBeyond(specAfter ?? state.servers[step.sid - 1]!, applied.zxids);
  const commitNote = main !== undefined && ctx.mode === 'impl' ? (commitMismatch(state, main) ?? flushMismatch(ctx, state, main)) : null;
  if (commitNote !== null) {
    out.message = commitNote;
  } else if (beyond !== null) {
    out.message = `server ${step.sid} applied ${zxidToHex(beyond)} to its data tree in ${step.events[applied!.event]!.action}; the spec's server knows committed only up to ${zxidToHex(lastDelivered(specAfter ?? state.servers[step.sid - 1]!))}`;
  } else if (main?.vouched !== undefined && restartedAt < main.vouched) {
    out.message = `server ${step.sid} restarted with its log at ${zxidToHex(restartedAt)}, but it had ACKed up to ${zxidToHex(main.vouched)} before (an ACK vouches that the txn is on disk)`;
  } else if (skipped !== null) {
    out.message = `${step.events[skipped.event]!.action} changed ${skipped.file} to ${JSON.stringify(skipped.value)} without writing it to disk (no EpochFileWrite)`;
  } else if (ctx.mode === 'impl' && step.varsWithNextWrites !== step.vars && step.events.some((e) => e.send.length > 0)) {
    const late = Object.keys(step.varsWithNextWrites).filter((k) => step.varsWithNextWrites[k] !== step.vars[k]);
    out.message = `the step sent ${step.events.flatMap((e) => e.send.map((m) => m.type)).join(', ')} before the durable write of ${late.join(', ')} logged after it`;
  }
  if (main?.recv !== undefined) {
    const recv = abstractLoggedMessage(main.recv);
    if (recv !== null) {
      const from = main.recv.from;
      const head = recv.type === 'NOTIFICATION' ? electionChannel(state, from, step.sid).map(abstractNotification) : quorumChannel(state, from, step.sid).slice(0, 1).map(abstractPacket);
      if (!head.some((h) => sameMessage(h, recv))) {
        out.message = `logged ${JSON.stringify(recv)} from ${from}; the spec's channel ${from}->${step.sid} holds ${head.length === 0 ? 'nothing' : JSON.stringify(head.slice(0, 3))}`;
      }
    }
  }
  return out;
}

/** For the report: a FollowerFlushLog whose flush or ACKs are not the spec's. null: not that. */
function flushMismatch(ctx: ExplainContext, state: ClusterState, ev: LoggedEvent): string | null {
  if (ev.action !== 'FollowerFlushLog') return null;
  const g = { state, specSteps: 0, bridges: [] };
  const flushed = flushQueued(ctx.quiet, g, ev.sid, zxidValue(ev.params['zxid']));
  if (flushed === null || flushed.specSteps === 0) {
    const q = state.servers[ev.sid - 1]!.pendingLog;
    return `server ${ev.sid} flushed its log up to ${String(ev.params['zxid'])}; the spec's queue holds ${q.length === 0 ? 'nothing' : q.map((t) => zxidToHex(t.zxid)).join(', ')}`;
  }
  const m = flushAcksMismatch(state, flushed.state, ev);
  return m === null ? null : `server ${ev.sid}'s FollowerFlushLog: ${m}`;
}

/** For the report: a leader's event that committed what the spec's leader has no quorum for. null: not that. */
function commitMismatch(state: ClusterState, ev: LoggedEvent): string | null {
  if (ev.action !== 'LeaderProcessACK' && ev.action !== 'LeaderFlushLog') return null;
  const c = ev.params['committed'];
  const me = state.servers[ev.sid - 1]!;
  if (!Array.isArray(c) || c.length === 0 || me.leader === null) return null;
  const z = zxidValue(c[0]);
  const p = me.leader.outstanding.find((o) => o.zxid === z);
  if (p === undefined) return null;
  const own = me.pendingLog.some((t) => t.zxid === z) ? `; its own ACK counts only at its LeaderFlushLog of ${zxidToHex(z)} (after its fsync), which it has not logged yet` : '';
  return `server ${ev.sid} committed ${zxidToHex(z)} in ${ev.action}; the spec's leader had counted ACKs of it from ${p.acks.length === 0 ? 'nobody' : p.acks.join(', ')} before this step${own}`;
}

function checkDiff(ctx: ExplainContext, s: ClusterState, step: LoggedStep): FieldDiff[] {
  const after = serverView(s.servers[step.sid - 1]!, ctx.cfg.protocol === 'zab');
  const out: FieldDiff[] = [];
  for (const e of step.events) for (const [k, v] of Object.entries(e.post)) if (!isDeepStrictEqual(after[k], v)) out.push({ field: k, logged: v, spec: after[k] });
  return out;
}
