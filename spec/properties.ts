// What must hold in every reachable state (invariants) and what must be reachable (so a pass is not vacuous).
import type { Config } from './config.ts';
import { isVoter } from './config.ts';
import type { Property } from './model.ts';
import type { ClusterState, Server, Txn } from './state.ts';
import { addViolation, delivered, lastLoggedZxid, lastZxidOf, quorumChannel } from './state.ts';
import type { Sid, Vote, Zxid } from './types.ts';
import type { PacketType, QuorumPacket } from './zab/packets.ts';
import { counterOf, epochOf, makeZxid, NONE } from './types.ts';
import { zxidToHex } from '../traces/zxid.ts';

/** Voters whose vote in `votes` names `leader`. */
function votersFor(cfg: Config, votes: readonly (Vote | null)[], leader: Sid): Sid[] {
  const out: Sid[] = [];
  votes.forEach((v, i) => {
    if (v !== null && v.leader === leader && i < cfg.nodes) out.push(i + 1);
  });
  return out;
}

/** Strict majority of the voters: the invariants count for themselves, independent of any mutation. */
function isMajority(cfg: Config, n: number): boolean {
  return n > Math.floor(cfg.nodes / 2);
}

function leaders(s: ClusterState): Sid[] {
  const out: Sid[] = [];
  s.servers.forEach((srv, i) => {
    if (srv.state === 'LEADING') out.push(i + 1);
  });
  return out;
}

/** (peerEpoch, zxid) of a server's own history, in the order FLE is meant to prefer. */
function moreRecent(a: Server, b: Server): boolean {
  return a.currentEpoch > b.currentEpoch || (a.currentEpoch === b.currentEpoch && lastLoggedZxid(a) > lastLoggedZxid(b));
}

/**
 * The property, made total: a state its check cannot even read (a field missing, a record that is not one) fails
 * an invariant and witnesses no reachability check, and the explanation (where the property has one) says what
 * could not be read. So an ill-formed state is reported as a violation with its trace, not as the checker's crash.
 */
export function total<S>(p: Property<S>): Property<S> {
  const check = p.check;
  const explain = p.explain;
  const unreadable = (e: unknown) => `the state cannot be read: ${e instanceof Error ? e.message : String(e)}`;
  const guarded: Property<S> = {
    ...p,
    check: (s) => {
      try {
        return check(s);
      } catch {
        return false;
      }
    },
  };
  if (explain === undefined) return guarded;
  return {
    ...guarded,
    explain: (s) => {
      try {
        check(s);
        return explain(s);
      } catch (e) {
        return unreadable(e);
      }
    },
  };
}

export function electionProperties(cfg: Config): Property<ClusterState>[] {
  const props: Property<ClusterState>[] = [
    {
      name: 'leaderQuorum',
      kind: 'invariant',
      description: 'A server decides LEADING only with a quorum of voters voting for it (in recvset or outofelection).',
      byDefault: true,
      check: (s) =>
        leaders(s).every((l) => {
          const me = s.servers[l - 1]!;
          return isMajority(cfg, votersFor(cfg, me.recvset, l).length) || isMajority(cfg, votersFor(cfg, me.outofelection, l).length);
        }),
      explain: (s) => {
        const bad = leaders(s).find((l) => {
          const me = s.servers[l - 1]!;
          return !isMajority(cfg, votersFor(cfg, me.recvset, l).length) && !isMajority(cfg, votersFor(cfg, me.outofelection, l).length);
        });
        if (bad === undefined) return 'holds';
        const me = s.servers[bad - 1]!;
        return `server ${bad} is LEADING with votes from [${votersFor(cfg, me.recvset, bad).join(', ')}] only, out of ${cfg.nodes} voters`;
      },
    },
    {
      name: 'leaderIsMostUpToDate',
      kind: 'invariant',
      description:
        'No server that voted for an elected leader has a more recent history (currentEpoch, then last zxid) than that leader. (FLE alone: with ZAB, histories change after the election; committedNeverLost says what matters.)',
      byDefault: cfg.protocol === 'fle',
      check: (s) => staleLeader(cfg, s) === null,
      explain: (s) => {
        const found = staleLeader(cfg, s);
        if (found === null) return 'holds';
        const [l, j] = found;
        const a = s.servers[j - 1]!;
        const b = s.servers[l - 1]!;
        return `server ${j} (epoch ${a.currentEpoch}, zxid ${zxidToHex(lastLoggedZxid(a))}) voted for leader ${l} (epoch ${b.currentEpoch}, zxid ${zxidToHex(lastLoggedZxid(b))})`;
      },
    },
    {
      name: 'electionAgreement',
      kind: 'invariant',
      description:
        'No two servers that decided in the same election round disagree on the leader. FLE alone does NOT guarantee this (finalizeWait is a timeout, not a barrier); ZAB discovery makes it harmless. Off by default: run it to see why.',
      byDefault: false,
      check: (s) => disagreement(s) === null,
      explain: (s) => {
        const d = disagreement(s);
        if (d === null) return 'holds';
        const [a, b] = d;
        const va = s.servers[a - 1]!.currentVote;
        const vb = s.servers[b - 1]!.currentVote;
        return `in round ${va.electionEpoch} server ${a} decided on leader ${va.leader}, server ${b} on leader ${vb.leader}`;
      },
    },
    {
      name: 'leaderElected',
      kind: 'reachability',
      description: 'A server is LEADING and a quorum of voters (itself included) has decided on it.',
      byDefault: true,
      check: (s) =>
        leaders(s).some((l) => {
          const following = s.servers.filter(
            (srv, i) => i < cfg.nodes && srv.state !== 'LOOKING' && srv.currentVote.leader === l,
          ).length;
          return isMajority(cfg, following);
        }),
    },
  ];
  if (cfg.observers > 0) {
    props.push({
      name: 'observerLearnsLeader',
      kind: 'reachability',
      description: 'An observer leaves the election OBSERVING a leader.',
      byDefault: true,
      check: (s) => s.servers.some((srv, i) => i >= cfg.nodes && srv.state === 'OBSERVING'),
    });
  }
  return props;
}

/** A leader l and a voter j whose recorded vote for l hides a history more recent than l's. */
function staleLeader(cfg: Config, s: ClusterState): [Sid, Sid] | null {
  for (const l of leaders(s)) {
    const me = s.servers[l - 1]!;
    for (const j of [...votersFor(cfg, me.recvset, l), ...votersFor(cfg, me.outofelection, l)]) {
      if (moreRecent(s.servers[j - 1]!, me)) return [l, j];
    }
  }
  return null;
}

function disagreement(s: ClusterState): [Sid, Sid] | null {
  const decided = s.servers
    .map((srv, i) => ({ srv, sid: i + 1 }))
    .filter(({ srv }) => srv.state !== 'LOOKING' && srv.fle === 'idle');
  for (const a of decided) {
    for (const b of decided) {
      if (a.sid < b.sid && a.srv.currentVote.electionEpoch === b.srv.currentVote.electionEpoch && a.srv.currentVote.leader !== b.srv.currentVote.leader) {
        return [a.sid, b.sid];
      }
    }
  }
  return null;
}

function sameTxn(a: Txn, b: Txn): boolean {
  return a.zxid === b.zxid && a.value === b.value;
}

function isPrefix(a: readonly Txn[], b: readonly Txn[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameTxn(a[i]!, b[i]!)) return false;
  return true;
}

/** Of two sequences, the shorter is a prefix of the other. */
function comparable(a: readonly Txn[], b: readonly Txn[]): boolean {
  return a.length <= b.length ? isPrefix(a, b) : isPrefix(b, a);
}

function pairs<T>(xs: readonly T[]): [T, T, number, number][] {
  const out: [T, T, number, number][] = [];
  for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) out.push([xs[i]!, xs[j]!, i + 1, j + 1]);
  return out;
}

/** Whether every pair of xs satisfies ok (the checks below run on every state: no array of pairs). */
function everyPair<T>(xs: readonly T[], ok: (a: T, b: T) => boolean): boolean {
  for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) if (!ok(xs[i]!, xs[j]!)) return false;
  return true;
}

function inZxidOrder(xs: readonly Txn[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i]!.zxid <= xs[i - 1]!.zxid) return false;
  return true;
}

/** Whether two servers that both delivered two txns delivered them in the same order. */
function sameOrder(a: readonly Txn[], b: readonly Txn[]): boolean {
  const inB = new Map<number, number>(); // zxid -> its first position in b
  b.forEach((t, k) => {
    if (!inB.has(t.zxid)) inB.set(t.zxid, k);
  });
  let last = -1;
  for (const t of a) {
    let k = inB.get(t.zxid);
    if (k === undefined) continue;
    if (!sameTxn(t, b[k]!)) k = b.findIndex((u) => sameTxn(t, u)); // the same zxid with another value: a broken run
    if (k < 0) continue;
    if (k <= last) return false;
    last = k;
  }
  return true;
}

/** Whether some leader proposed txn t. The k-th proposal carries value k (leaderProcessRequest), so look there first. */
function wasProposed(proposed: readonly Txn[], t: Txn): boolean {
  const guess = proposed[t.value - 1];
  return (guess !== undefined && sameTxn(guess, t)) || proposed.some((p) => sameTxn(p, t));
}

/** What every server delivered, computed once per state for the several properties that read it. */
function deliveredByAll(): (s: ClusterState) => readonly (readonly Txn[])[] {
  let last: ClusterState | null = null;
  let value: readonly (readonly Txn[])[] = [];
  return (s) => {
    if (s !== last) {
      last = s;
      value = s.servers.map(delivered);
    }
    return value;
  };
}

function showTxns(txns: readonly Txn[]): string {
  return '[' + txns.map((t) => `${zxidToHex(t.zxid)}=${t.value}`).join(', ') + ']';
}

/** A leader past discovery (a quorum accepted its epoch) that does not have a txn committed in an earlier epoch. */
function lostCommit(s: ClusterState): [Sid, Txn] | null {
  for (let i = 0; i < s.servers.length; i++) {
    const l = s.servers[i]!;
    if (!l.online || l.state !== 'LEADING' || l.zabState === 'DISCOVERY' || l.zabState === 'ELECTION') continue;
    for (const t of s.ghost.committed) {
      if (t.epoch < l.currentEpoch && !l.history.some((h) => sameTxn(h, t))) return [i + 1, t];
    }
  }
  return null;
}

/** The leader a learner has synced with (processed its NEWLEADER), while that leader still leads that epoch. */
function syncedLeader(s: ClusterState, f: Server): Sid | null {
  const l = f.learner;
  if (!f.online || l === null || !l.newLeaderSeen) return null;
  const leader = s.servers[l.leader - 1]!;
  if (!leader.online || leader.leader === null || leader.leader.newEpoch !== l.newEpoch) return null;
  return l.leader;
}

/** A leader's proposals: its log, and (leaderLog 'queued') those still in its own logging queue. */
function proposalsOf(leader: Server): readonly Txn[] {
  return leader.pendingLog.length === 0 ? leader.history : [...leader.history, ...leader.pendingLog];
}

function divergentFollower(s: ClusterState): [Sid, Sid] | null {
  for (let i = 0; i < s.servers.length; i++) {
    const f = s.servers[i]!;
    const l = syncedLeader(s, f);
    if (l !== null && !isPrefix([...f.history, ...f.pendingLog], proposalsOf(s.servers[l - 1]!))) return [i + 1, l];
  }
  return null;
}

function misreporting(s: ClusterState): Sid | null {
  const i = s.servers.findIndex(
    (me) => me.online && (me.state === 'LOOKING' || (me.learner !== null && !me.learner.newLeaderSeen)) && lastLoggedZxid(me) !== lastZxidOf(me.history),
  );
  return i < 0 ? null : i + 1;
}

function staleServer(s: ClusterState): [Sid, Sid, Txn] | null {
  for (let i = 0; i < s.servers.length; i++) {
    const f = s.servers[i]!;
    if (f.zabState !== 'BROADCAST') continue;
    const l = syncedLeader(s, f);
    if (l === null) continue;
    const leader = s.servers[l - 1]!;
    const got = delivered(f);
    const missing = leader.history.find((t) => epochOf(t.zxid) < leader.leader!.newEpoch && !got.some((u) => sameTxn(t, u)));
    if (missing !== undefined) return [i + 1, l, missing];
  }
  return null;
}

const SERVER_STATES: ReadonlySet<string> = new Set(['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING']);
const ZAB_STATES: ReadonlySet<string> = new Set(['ELECTION', 'DISCOVERY', 'SYNCHRONIZATION', 'BROADCAST']);
const ELECTION_PHASES: ReadonlySet<string> = new Set(['idle', 'voting', 'finalizing']);
const SYNC_MODES: ReadonlySet<string> = new Set(['NONE', 'DIFF', 'TRUNC', 'SNAP']);
// Every quorum packet type, and only those: the type checker holds this record to PacketType both ways.
const PACKET_TYPE_RECORD = {
  FOLLOWERINFO: true, OBSERVERINFO: true, LEADERINFO: true, ACKEPOCH: true, DIFF: true, TRUNC: true, SNAP: true,
  PROPOSAL: true, COMMIT: true, INFORM: true, NEWLEADER: true, ACK: true, UPTODATE: true,
} as const satisfies Record<PacketType, true>;
const PACKET_TYPES: ReadonlySet<string> = new Set(Object.keys(PACKET_TYPE_RECORD));

/** TLA+'s TypeOK, for what the type checker cannot see at run time: the first ill-formed variable, or null. */
/**
 * Whether every entry of xs is a server id of a cluster of `sids` servers. A module function, not a closure in
 * illFormed: the loader (tsx, keepNames) wraps a named closure in a call that sets its name each time it is made,
 * which cost about 2% of the model checker's time when illFormed made one per state.
 */
function allSids(xs: readonly unknown[], sids: number): boolean {
  for (const x of xs) if (!Number.isInteger(x) || (x as number) < 1 || (x as number) > sids) return false;
  return true;
}

function illFormed(s: ClusterState): string | null {
  for (let i = 0; i < s.servers.length; i++) {
    const srv = s.servers[i]!;
    if (!SERVER_STATES.has(srv.state)) return `server ${i + 1}'s state is ${JSON.stringify(srv.state)}`;
    if (!ZAB_STATES.has(srv.zabState)) return `server ${i + 1}'s zabState is ${JSON.stringify(srv.zabState)}`;
    if (!ELECTION_PHASES.has(srv.fle)) return `server ${i + 1}'s election phase is ${JSON.stringify(srv.fle)}`;
    if (srv.learner !== null && !SYNC_MODES.has(srv.learner.syncMode)) return `server ${i + 1}'s syncMode is ${JSON.stringify(srv.learner.syncMode)}`;
    if (srv.committed < 0 || srv.committed > srv.history.length + srv.pendingLog.length) {
      return `server ${i + 1} has ${srv.committed} txns committed of ${srv.history.length} logged and ${srv.pendingLog.length} queued`;
    }
  }
  const sids = s.servers.length;
  for (let i = 0; i < s.servers.length; i++) {
    const l = s.servers[i]!.leader;
    if (l === null) continue;
    for (const list of [l.learners, l.connecting, l.electing, l.forwarding, l.awaitingNewLeaderAck, l.awaitingUpToDate, l.newLeaderAcks]) {
      if (!allSids(list, sids)) return `leader ${i + 1} lists [${list.join(', ')}] among its learners, which are not all servers`;
    }
  }
  for (const channel of s.quorum) {
    for (const p of channel) if (!PACKET_TYPES.has(p.type)) return `a packet of type ${JSON.stringify(p.type)} is in flight`;
  }
  for (const c of s.ghost.committed) {
    if (!Number.isInteger(c.epoch) || !wasProposed(s.ghost.proposed, c)) return `the record of committed txns holds ${JSON.stringify(c)}, not a proposed txn with its epoch`;
  }
  // The record of established leaders is in epoch order (backToLookingWithoutCrash reads its last entry as the
  // newest epoch).
  const est = s.ghost.established;
  for (let k = 1; k < est.length; k++) {
    if (est[k - 1]!.epoch > est[k]!.epoch) return `the record of established leaders is out of epoch order: ${est.map((e) => `${e.epoch}:${e.sid}`).join(', ')}`;
  }
  return null;
}

/**
 * A learner connected to its leader whose leader is not an online LEADING server with that learner among its
 * LearnerHandlers: a connection one end has closed and the other has not noticed.
 */
function halfOpen(s: ClusterState): [Sid, Sid] | null {
  for (let i = 0; i < s.servers.length; i++) {
    const f = s.servers[i]!;
    if (!f.online || f.learner === null || !f.learner.connected) continue;
    const l = s.servers[f.learner.leader - 1];
    if (l === undefined || !l.online || l.state !== 'LEADING' || l.leader === null || !l.leader.learners.includes(i + 1)) return [i + 1, f.learner.leader];
  }
  return null;
}

/** A reachability check that some online learner is in the middle of a sync of this mode. */
function syncModeReached(cfg: Config, mode: 'DIFF' | 'TRUNC' | 'SNAP', description: string): Property<ClusterState> {
  return {
    name: `syncBy${mode}`,
    kind: 'reachability',
    description,
    // From the default initial state (one txn committed, one only proposed), every mode is a few steps away;
    // from the others it may need more bounds: there, select them with --invariant.
    byDefault: cfg.initialName === 'broadcast',
    check: (s) => s.servers.some((srv) => srv.online && srv.learner !== null && srv.learner.syncMode === mode),
  };
}

/** An online server that has not decided since it started whose current vote is not its startup vote. */
function wrongStartupVote(s: ClusterState): Sid | null {
  for (let i = 0; i < s.servers.length; i++) {
    const srv = s.servers[i]!;
    const v = srv.currentVote;
    if (!srv.online || v.electionEpoch !== NONE) continue;
    if (v.leader !== i + 1 || v.zxid !== lastZxidOf(srv.history) || v.peerEpoch !== srv.currentEpoch) return i + 1;
  }
  return null;
}

/** Which bound a path has overstepped (a budget above its --txns, --crashes, --partitions, or an epoch above --max-epoch), or null. */
function overBudget(cfg: Config, s: ClusterState): string | null {
  const b = s.budget;
  const bounds = cfg.bounds;
  // Written as "not within" so that a budget that is not a number at all fails too.
  if (!(b.txns >= 0 && b.txns <= bounds.txns)) return `${b.txns} client writes, the bound is ${bounds.txns}`;
  if (!(b.crashes >= 0 && b.crashes <= bounds.crashes)) return `${b.crashes} crashes, the bound is ${bounds.crashes}`;
  if (!(b.partitions >= 0 && b.partitions <= bounds.partitions)) return `${b.partitions} lost connections or timeouts, the bound is ${bounds.partitions}`;
  for (let i = 0; i < s.servers.length; i++) {
    const e = s.servers[i]!.acceptedEpoch;
    if (e > bounds.maxEpoch && e > cfg.initial[i]!.acceptedEpoch) return `server ${i + 1} accepted epoch ${e}, the bound is ${bounds.maxEpoch}`;
  }
  return null;
}

/** A serving learner that still holds packets it buffered during sync (after UPTODATE handed them on). */
function undrainedLearner(cfg: Config, s: ClusterState): Sid | null {
  for (let i = 0; i < s.servers.length; i++) {
    const srv = s.servers[i]!;
    const l = srv.learner;
    if (!srv.online || srv.zabState !== 'BROADCAST' || l === null) continue;
    // Variant 3023 leaves the sync's COMMITs for its CommitProcessor to apply after UPTODATE (spec/variants.ts).
    if (l.packetsNotLogged.length > 0 || (l.packetsCommitted.length > 0 && cfg.variant !== '3023')) return i + 1;
  }
  return null;
}

/**
 * A serving follower whose log holds a proposal its leader still waits for, with no ACK of it counted or in
 * flight: [follower, leader, zxid]. (Its queue must be empty: a txn handed to the logger is ACKed at the flush.)
 */
function unackedLoggedTxn(cfg: Config, s: ClusterState): [Sid, Sid, Zxid] | null {
  for (let i = 0; i < s.servers.length; i++) {
    const f = s.servers[i]!;
    if (f.zabState !== 'BROADCAST' || f.pendingLog.length > 0 || !isVoter(cfg, i + 1)) continue;
    const l = syncedLeader(s, f);
    if (l === null) continue;
    const leader = s.servers[l - 1]!;
    if (leader.zabState !== 'BROADCAST') continue;
    const inFlight = s.quorum[i * s.servers.length + l - 1]!;
    for (const p of leader.leader!.outstanding) {
      if (p.acks.includes(i + 1) || !f.history.some((t) => t.zxid === p.zxid)) continue;
      if (!inFlight.some((q) => q.type === 'ACK' && q.zxid === p.zxid)) return [i + 1, l, p.zxid];
    }
  }
  return null;
}

/**
 * A serving follower that holds a txn its serving leader has applied, but has not applied it, though no COMMIT
 * of it is on its way: [follower, leader, zxid].
 */
function unappliedCommit(cfg: Config, s: ClusterState): [Sid, Sid, Zxid] | null {
  for (let i = 0; i < s.servers.length; i++) {
    const f = s.servers[i]!;
    if (f.zabState !== 'BROADCAST' || !isVoter(cfg, i + 1)) continue;
    const l = syncedLeader(s, f);
    if (l === null) continue;
    const leader = s.servers[l - 1]!;
    if (leader.zabState !== 'BROADCAST') continue;
    const applied = delivered(leader);
    if (applied.length <= f.committed) continue;
    const held = f.pendingLog.length === 0 ? f.history : [...f.history, ...f.pendingLog];
    const inFlight = s.quorum[(l - 1) * s.servers.length + i]!;
    // Variant 3023: the sync's COMMITs wait in the CommitProcessor's queue after UPTODATE.
    const queued = cfg.variant === '3023' ? f.learner!.packetsCommitted : [];
    for (let k = f.committed; k < held.length; k++) {
      const t = held[k]!;
      if (!applied.some((u) => sameTxn(u, t))) continue;
      if (!inFlight.some((q) => q.type === 'COMMIT' && q.zxid === t.zxid) && !queued.includes(t.zxid)) return [i + 1, l, t.zxid];
    }
  }
  return null;
}

/** A txn a serving leader has applied that the record of committed txns lacks, or holds twice: [leader, zxid]. */
function unrecordedCommit(s: ClusterState): [Sid, Zxid] | null {
  const record = s.ghost.committed;
  for (let i = 1; i < record.length; i++) {
    for (let j = 0; j < i; j++) if (record[j]!.zxid === record[i]!.zxid) return [0, record[i]!.zxid];
  }
  for (let i = 0; i < s.servers.length; i++) {
    const l = s.servers[i]!;
    if (!l.online || l.state !== 'LEADING' || l.zabState !== 'BROADCAST') continue;
    for (const t of delivered(l)) if (!record.some((c) => sameTxn(c, t))) return [i + 1, t.zxid];
  }
  return null;
}

function violationProperty(name: string, description: string, flags: readonly string[]): Property<ClusterState> {
  return {
    name,
    kind: 'invariant',
    description,
    byDefault: true,
    check: (s) => !flags.some((f) => s.ghost.violations.includes(f)),
    explain: (s) => `a step ran into: ${s.ghost.violations.filter((f) => flags.includes(f)).join(', ')}`,
  };
}

export function zabProperties(cfg: Config): Property<ClusterState>[] {
  const deliveries = deliveredByAll();
  const props: Property<ClusterState>[] = [
    {
      name: 'leaderUniqueness',
      kind: 'invariant',
      description: 'At most one server establishes itself leader of an epoch (a quorum accepted its NEWEPOCH).',
      byDefault: true,
      check: (s) => s.ghost.established.every((a) => s.ghost.established.every((b) => a.epoch !== b.epoch || a.sid === b.sid)),
      explain: (s) => {
        const dup = s.ghost.established.find((a) => s.ghost.established.some((b) => a.epoch === b.epoch && a.sid !== b.sid));
        const who = s.ghost.established.filter((b) => b.epoch === dup?.epoch).map((b) => b.sid);
        return `epoch ${dup?.epoch} was established by servers ${who.join(' and ')}`;
      },
    },
    {
      name: 'prefixAgreement',
      kind: 'invariant',
      description: 'The delivered transaction sequences of any two servers are prefixes of one another (the paper\'s agreement and prefix consistency).',
      byDefault: true,
      check: (s) => everyPair(deliveries(s), comparable),
      explain: (s) => {
        const bad = pairs(s.servers.map(delivered)).find(([a, b]) => !isPrefix(a, b) && !isPrefix(b, a));
        return bad ? `server ${bad[2]} delivered ${showTxns(bad[0])}, server ${bad[3]} delivered ${showTxns(bad[1])}` : 'holds';
      },
    },
    {
      name: 'integrity',
      kind: 'invariant',
      description: 'A server delivers only transactions some leader proposed.',
      byDefault: true,
      check: (s) => deliveries(s).every((txns) => txns.every((t) => wasProposed(s.ghost.proposed, t))),
    },
    {
      name: 'totalOrder',
      kind: 'invariant',
      description: 'If two servers deliver the same two transactions, they deliver them in the same order.',
      byDefault: true,
      // Two sequences in zxid order, one a prefix of the other, agree at once; the general test is the fallback.
      check: (s) => everyPair(deliveries(s), (a, b) => (comparable(a, b) && inZxidOrder(a) && inZxidOrder(b)) || sameOrder(a, b)),
    },
    {
      name: 'primaryOrder',
      kind: 'invariant',
      description: 'Every server delivers transactions in increasing zxid order: a primary\'s transactions in the order it proposed them, and earlier epochs first.',
      byDefault: true,
      check: (s) => deliveries(s).every(inZxidOrder),
    },
    {
      name: 'committedNeverLost',
      kind: 'invariant',
      description: 'A transaction committed by the leader of an earlier epoch is in the history of every leader that has finished discovery.',
      byDefault: true,
      check: (s) => lostCommit(s) === null,
      explain: (s) => {
        const found = lostCommit(s);
        if (found === null) return 'holds';
        const [l, t] = found;
        return `leader ${l} of epoch ${s.servers[l - 1]!.currentEpoch} lacks committed txn ${zxidToHex(t.zxid)}=${t.value}: its history is ${showTxns(s.servers[l - 1]!.history)}`;
      },
    },
    {
      name: 'currentEpochNotAboveAccepted',
      kind: 'invariant',
      description: 'Every server\'s currentEpoch is at most its acceptedEpoch.',
      byDefault: true,
      check: (s) => s.servers.every((srv) => srv.currentEpoch <= srv.acceptedEpoch),
    },
    violationProperty('epochsNeverGoBack', 'No server ever writes a lower value into its currentEpoch or acceptedEpoch file.', ['epochWentBack']),
    violationProperty(
      'syncConsistency',
      'Sync never asks a learner to cut a log at a zxid it lacks or below what it delivered, and no COMMIT names a txn other than the next pending one.',
      ['truncateFailed', 'deliveredTxnTruncated', 'unmatchedCommit'],
    ),
    violationProperty('newLeaderAckOutstanding', 'The first ACK a leader reads after sending NEWLEADER acknowledges that NEWLEADER.', ['newLeaderAckMismatch']),
    {
      name: 'wellFormed',
      kind: 'invariant',
      description:
        'Every variable holds a value of its type (TLA+\'s TypeOK): server states, ZAB phases, election phases and sync modes are the known ones, a leader\'s lists of learners hold only servers, every packet in flight is of a known type, no server has committed more txns than it has logged or queued, and the record of established leaders is in epoch order.',
      byDefault: true,
      check: (s) => illFormed(s) === null,
      explain: (s) => illFormed(s) ?? 'holds',
    },
    {
      name: 'withinBounds',
      kind: 'invariant',
      description:
        'No path uses more client writes, crashes, or lost connections and timeouts than its bounds, and no server accepts an epoch above --max-epoch: every fault and write is paid for, so the space stays the bounded one.',
      byDefault: true,
      check: (s) => overBudget(cfg, s) === null,
      explain: (s) => overBudget(cfg, s) ?? 'holds',
    },
    {
      name: 'crashedLeaderGone',
      kind: 'invariant',
      description:
        'No server leads in the epoch of a serving leader that crashed (what newLeaderAfterCrash reads): an epoch has one leader and a crash ends its role, so a server that restarts and leads again does so in a later epoch.',
      byDefault: true,
      check: (s) => s.ghost.crashedLeaderEpoch < 0 || !s.servers.some((srv) => srv.online && srv.state === 'LEADING' && srv.zabState === 'BROADCAST' && srv.currentEpoch === s.ghost.crashedLeaderEpoch),
      explain: (s) => `epoch ${s.ghost.crashedLeaderEpoch} is recorded as a crashed leader's, and a server still leads in it`,
    },
    {
      name: 'syncBuffersDrained',
      kind: 'invariant',
      description:
        "A learner that serves holds no packet buffered during sync: UPTODATE hands packetsNotLogged to the logger and applies packetsCommitted (Learner.syncWithLeader), and later PROPOSALs go straight to the logger.",
      byDefault: true,
      check: (s) => undrainedLearner(cfg, s) === null,
      explain: (s) => {
        const i = undrainedLearner(cfg, s);
        if (i === null) return 'holds';
        const l = s.servers[i - 1]!.learner!;
        return `server ${i} serves with ${showTxns(l.packetsNotLogged)} not logged and [${l.packetsCommitted.map(zxidToHex).join(', ')}] committed from its sync`;
      },
    },
    {
      name: 'loggedProposalsAcked',
      kind: 'invariant',
      description:
        'A follower that serves and has logged a proposal its serving leader still waits for has ACKed it: the ACK is counted or on its way (SyncRequestProcessor then SendAckRequestProcessor: every logged proposal is ACKed).',
      byDefault: true,
      check: (s) => unackedLoggedTxn(cfg, s) === null,
      explain: (s) => {
        const found = unackedLoggedTxn(cfg, s);
        if (found === null) return 'holds';
        const [f, l, z] = found;
        return `server ${f} has logged ${zxidToHex(z)}, which leader ${l} still waits for, and no ACK of it is counted or in flight`;
      },
    },
    {
      name: 'commitsApplied',
      kind: 'invariant',
      description:
        "A follower that serves under its serving leader has applied every txn of its log that the leader has applied, unless the COMMIT is still on its way: UPTODATE applies the COMMITs read during sync, FollowerZooKeeperServer.commit the later ones.",
      byDefault: true,
      check: (s) => unappliedCommit(cfg, s) === null,
      explain: (s) => {
        const found = unappliedCommit(cfg, s);
        if (found === null) return 'holds';
        const [f, l, z] = found;
        return `server ${f} holds ${zxidToHex(z)}, which leader ${l} has applied, but has applied only ${showTxns(delivered(s.servers[f - 1]!))} and no COMMIT of it is on its way`;
      },
    },
    {
      name: 'commitsRecorded',
      kind: 'invariant',
      description:
        'Every txn a serving leader has applied is in the record of committed txns, once: the record that committedNeverLost reads misses no commit (startZkServer commits the whole initial history, tryToCommit each later txn).',
      byDefault: true,
      check: (s) => unrecordedCommit(s) === null,
      explain: (s) => {
        const found = unrecordedCommit(s);
        if (found === null) return 'holds';
        const [l, z] = found;
        return l === 0 ? `${zxidToHex(z)} is recorded as committed twice` : `leader ${l} has applied ${zxidToHex(z)}, which is not recorded as committed`;
      },
    },
    {
      name: 'startupVote',
      kind: 'invariant',
      description:
        "Until its first election after a start, a server's current vote is for itself, with the last zxid of its log and its currentEpoch (QuorumPeer.startLeaderElection), which is what it tells an observer.",
      byDefault: true,
      check: (s) => wrongStartupVote(s) === null,
      explain: (s) => {
        const i = wrongStartupVote(s);
        if (i === null) return 'holds';
        const v = s.servers[i - 1]!.currentVote;
        return `server ${i} votes (leader ${v.leader}, zxid ${zxidToHex(v.zxid)}, epoch ${v.peerEpoch}) before its first election; its log ends at ${zxidToHex(lastZxidOf(s.servers[i - 1]!.history))}`;
      },
    },
    {
      name: 'upToDateOnServing',
      kind: 'invariant',
      description:
        'A leader that serves (BROADCAST) has no learner left waiting for UPTODATE: startZkServer releases every LearnerHandler blocked in waitForNewLeaderAck, and a later ACK of NEWLEADER gets UPTODATE at once.',
      byDefault: true,
      check: (s) => s.servers.every((srv) => srv.zabState !== 'BROADCAST' || srv.leader === null || srv.leader.awaitingUpToDate.length === 0),
    },
    {
      name: 'connectionsClosedAtBothEnds',
      kind: 'invariant',
      description:
        "A learner connected to its leader is connected to an online LEADING server that has it among its learners: when the leader steps down, crashes or drops the LearnerHandler, the learner's connection closes too.",
      byDefault: true,
      check: (s) => halfOpen(s) === null,
      explain: (s) => {
        const found = halfOpen(s);
        if (found === null) return 'holds';
        const [f, l] = found;
        const leader = s.servers[l - 1]!;
        return `server ${f} is connected to server ${l}, which is ${leader.online ? leader.state : 'down'}${leader.leader === null ? '' : ` with learners [${leader.leader.learners.join(', ')}]`}`;
      },
    },
    // The invariants the bugs of spec/variants.ts break (docs/bugs.md, section 9).
    {
      name: 'followerLogPrefix',
      kind: 'invariant',
      description:
        "A follower that has processed its leader's NEWLEADER holds in its log (and its logging queue) a prefix of that leader's log: sync never leaves a txn the leader does not have (ZOOKEEPER-2845, 4712; the remix specs' historyConsistency).",
      byDefault: true,
      check: (s) => divergentFollower(s) === null,
      explain: (s) => {
        const found = divergentFollower(s);
        if (found === null) return 'holds';
        const [f, l] = found;
        const fs = s.servers[f - 1]!;
        return `server ${f} synced with leader ${l} holds ${showTxns([...fs.history, ...fs.pendingLog])}, leader ${l} holds ${showTxns(proposalsOf(s.servers[l - 1]!))}`;
      },
    },
    {
      name: 'reportMatchesDurable',
      kind: 'invariant',
      description:
        'A server that is LOOKING or syncing reports (vote, ACKEPOCH) the last zxid of its log, i.e. the state it would reload after a restart (ZOOKEEPER-2845, 4712).',
      byDefault: true,
      check: (s) => misreporting(s) === null,
      explain: (s) => {
        const i = misreporting(s);
        if (i === null) return 'holds';
        const me = s.servers[i - 1]!;
        return `server ${i} reports ${zxidToHex(lastLoggedZxid(me))}, its log ends at ${zxidToHex(lastZxidOf(me.history))}`;
      },
    },
    violationProperty(
      'syncCommitKnown',
      'A COMMIT a learner reads during sync finds the proposal it commits still buffered (ZOOKEEPER-4394: else the learner thread dies of a NullPointerException).',
      ['commitNotBuffered'],
    ),
    {
      name: 'servingIsUpToDate',
      kind: 'invariant',
      description:
        "A follower that serves (UPTODATE processed) under an established leader has applied that leader's initial history, every txn of an earlier epoch in the leader's log (ZOOKEEPER-3023).",
      byDefault: true,
      check: (s) => staleServer(s) === null,
      explain: (s) => {
        const found = staleServer(s);
        if (found === null) return 'holds';
        const [f, l, t] = found;
        return `server ${f} serves in epoch ${s.servers[l - 1]!.currentEpoch} without ${zxidToHex(t.zxid)}=${t.value} of leader ${l}'s initial history; it delivered ${showTxns(delivered(s.servers[f - 1]!))}`;
      },
    },
    {
      name: 'leaderEstablished',
      kind: 'reachability',
      description: 'A leader is established: a quorum acknowledged NEWLEADER and it serves (BROADCAST).',
      byDefault: true,
      check: (s) => s.servers.some((srv) => srv.online && srv.state === 'LEADING' && srv.zabState === 'BROADCAST'),
    },
  ];
  props.push({
    name: 'syncByDIFFWithTxns',
    kind: 'reachability',
    description: "A learner behind its leader is synced by DIFF and sent the txns it lacks (queueCommittedProposals), not a SNAP.",
    byDefault: cfg.initialName === 'broadcast',
    check: (s) => s.servers.some((srv) => srv.online && srv.learner !== null && srv.learner.syncMode === 'DIFF' && srv.learner.packetsNotLogged.length > 0),
  });
  props.push(
    syncModeReached(cfg, 'DIFF', "A learner is synced by DIFF: its log is a prefix of the leader's committedLog (syncFollower's first choice)."),
    syncModeReached(cfg, 'TRUNC', 'A learner is synced by TRUNC: it holds txns the leader does not, which it cuts from its log.'),
    syncModeReached(cfg, 'SNAP', "A learner is synced by SNAP: it is behind the leader's committedLog, or its next txn is of another epoch."),
  );
  // At the coarse granularity only: with --granularity fine a leader lists a learner from its FOLLOWERINFO on,
  // before the learner has its epoch, and syncs it only past waitForEpochAck.
  if (cfg.granularity === 'coarse') props.push(
    {
      name: 'learnerOfItsLeader',
      kind: 'invariant',
      description:
        "A learner whose leader has its LearnerHandler (lists it among its learners) is connected to it and has accepted that leader's epoch (Learner.registerWithLeader, then LEADERINFO; at the coarse granularity, where both are one step).",
      byDefault: true,
      check: (s) => strayLearner(s) === null,
      explain: (s) => {
        const found = strayLearner(s);
        if (found === null) return 'holds';
        const [f, l] = found;
        const lv = s.servers[f - 1]!.learner!;
        return `server ${f} is a learner of leader ${l} (epoch ${s.servers[l - 1]!.leader!.newEpoch}), listed by it, with connected ${lv.connected} and epoch ${lv.newEpoch}`;
      },
    },
    {
      name: 'learnersAwaitSync',
      kind: 'invariant',
      description:
        "A learner its leader lists that has not read NEWLEADER, and has nothing on its way from the leader, is waiting in the leader's toSync: no LearnerHandler forgets to sync its learner (at the coarse granularity, where discovery is one step).",
      byDefault: true,
      check: (s) => forgottenLearner(s) === null,
      explain: (s) => {
        const found = forgottenLearner(s);
        return found === null ? 'holds' : `server ${found[0]} is a learner of leader ${found[1]}, not synced, with nothing sent to it, and not in the leader's toSync`;
      },
    },
  );
  props.push(
    violationProperty(
      'syncAsZooKeeper',
      "Every sync a leader queues for a learner is the one ZooKeeper's LearnerHandler.syncFollower queues for the learner's last zxid and the leader's committedLog window (minCommittedLog, maxCommittedLog, lastProcessedZxid): an empty DIFF to a learner level with lastProcessedZxid, a TRUNC to maxCommittedLog to one past the window, a DIFF (or a TRUNC to the txn before) plus the committed txns it lacks to one inside it, a SNAP otherwise; then the forwarded proposals and NEWLEADER.",
      [SYNC_NOT_ZOOKEEPERS],
    ),
    ...syncCaseWitnesses(cfg),
  );
  const initialValues = cfg.initialProposed.length;
  if (cfg.bounds.txns > 0) {
    props.push({
      name: 'writeDeliveredEverywhere',
      kind: 'reachability',
      description: 'A client write made during the run is delivered by every server.',
      byDefault: true,
      check: (s) => s.ghost.proposed.slice(initialValues).some((t) => deliveries(s).every((txns) => txns.some((u) => sameTxn(t, u)))),
    });
  }
  if (cfg.bounds.partitions > 0) {
    props.push({
      name: 'backToLookingWithoutCrash',
      kind: 'reachability',
      description:
        "With no crash, a server that accepted an established leader's epoch is LOOKING again: a lost connection or a timeout ended its role (Leader.shutdown, Learner.shutdown).",
      byDefault: true,
      check: (s) => {
        if (s.budget.crashes !== 0 || s.ghost.established.length === 0) return false;
        const epoch = s.ghost.established[s.ghost.established.length - 1]!.epoch;
        return s.servers.some((srv) => srv.online && srv.state === 'LOOKING' && srv.acceptedEpoch >= epoch);
      },
    });
  }
  if (cfg.bounds.crashes > 0) {
    props.push({
      name: 'newLeaderAfterCrash',
      kind: 'reachability',
      description: 'After an established leader crashes, a leader of a later epoch is established.',
      byDefault: true,
      check: (s) =>
        s.ghost.crashedLeaderEpoch >= 0 &&
        s.servers.some((srv) => srv.online && srv.state === 'LEADING' && srv.zabState === 'BROADCAST' && srv.currentEpoch > s.ghost.crashedLeaderEpoch),
    });
  }
  return props;
}

// --- The sync a learner must get: ZooKeeper's LearnerHandler.syncFollower, restated ---

/**
 * Which case of syncFollower a learner's position falls in: an empty DIFF (level with lastProcessedZxid), a TRUNC
 * past the committedLog, a DIFF or a TRUNC from inside the committedLog followed by the committed txns the
 * learner lacks (queueCommittedProposals), a DIFF for a learner at an epoch's zxid, or a SNAP (behind the
 * committedLog, or inside it where the next txn is of another epoch).
 */
export type SyncCase = 'emptyDIFF' | 'TRUNC' | 'committedLogDIFF' | 'committedLogTRUNC' | 'newEpochDIFF' | 'SNAP' | 'SNAPacrossEpochs';

export interface ExpectedSync {
  readonly case: SyncCase;
  /** What the LearnerHandler queues, in order: the opening packet, the committed txns, the forwarded ones, NEWLEADER. */
  readonly packets: readonly QuorumPacket[];
}

/**
 * What ZooKeeper 3.8's LearnerHandler.syncFollower, startForwarding and the NEWLEADER after them send to a learner
 * whose last zxid is `peer`, read off the leader as it is before the step. Written the way ZooKeeper's code is
 * (the committedLog window minCommittedLog..maxCommittedLog, lastProcessedZxid, the loop of
 * queueCommittedProposals with its needOpPacket and prevProposalZxid), not with spec/zab/sync.ts's helpers, so
 * that the spec's chooseSync is checked against a second statement of the rule. As in the spec: syncing from the
 * txn log on disk is not modelled (a learner behind the committedLog gets a SNAP), and a SNAP carries the zxid
 * of the snapshot's last txn. The breakage --mutation skipTrunc (DIFF where TRUNC is due) is followed, so that
 * what catches it is the safety invariants, as test/mutations.test.ts shows.
 */
export function zooKeeperSync(cfg: Config, leader: Server, learner: Sid, peer: Zxid): ExpectedSync {
  const lv = leader.leader!;
  const serving = leader.zabState === 'BROADCAST';
  // The leader's proposals are in memory whether or not its own log has them yet (--leader-log queued).
  const proposals = leader.pendingLog.length === 0 ? leader.history : [...leader.history, ...leader.pendingLog];
  // The data tree: what a serving leader has applied; before it serves, the whole log it loaded (loadData).
  const applied = serving ? leader.committed : leader.history.length;
  const toBeApplied = serving ? lv.toBeApplied : 0;
  const inTree = cfg.fixes.has('countToBeApplied') ? applied + toBeApplied : applied;
  // ZKDatabase.committedLog: the txns applied since the snapshot it loaded, at most the last commitLogCount.
  const committedLog = proposals.slice(Math.min(Math.max(leader.committedLogStart, inTree - cfg.commitLogCount), inTree), inTree);
  // getDataTreeLastProcessedZxid: startZkServer sets it to the new epoch's zxid; every txn applied raises it.
  let lastProcessedZxid = inTree === 0 ? 0 : proposals[inTree - 1]!.zxid;
  if (serving && makeZxid(lv.newEpoch, 0) > lastProcessedZxid) lastProcessedZxid = makeZxid(lv.newEpoch, 0);
  let minCommittedLog = lastProcessedZxid;
  let maxCommittedLog = lastProcessedZxid;
  if (committedLog.length > 0) {
    minCommittedLog = committedLog[0]!.zxid;
    maxCommittedLog = committedLog[committedLog.length - 1]!.zxid;
  }
  const isPeerNewEpochZxid = counterOf(peer) === 0;
  const queued: QuorumPacket[] = [];
  const trunc = (zxid: Zxid): QuorumPacket => (cfg.mutations.has('skipTrunc') ? { type: 'DIFF', zxid: maxCommittedLog } : { type: 'TRUNC', zxid });
  let currentZxid = peer;
  let needOpPacket = true;
  let needSnap = true;
  let which: SyncCase = 'SNAP';
  if (lastProcessedZxid === peer) {
    queued.push({ type: 'DIFF', zxid: peer });
    needOpPacket = false;
    needSnap = false;
    which = 'emptyDIFF';
  } else if (peer > maxCommittedLog && !isPeerNewEpochZxid) {
    queued.push(trunc(maxCommittedLog));
    currentZxid = maxCommittedLog;
    needOpPacket = false;
    needSnap = false;
    which = 'TRUNC';
  } else if (maxCommittedLog >= peer && minCommittedLog <= peer) {
    // queueCommittedProposals(committedLog, peer, null, maxCommittedLog)
    let queuedZxid = peer;
    let prevProposalZxid = -1;
    let gaveUp = false;
    for (const t of committedLog) {
      const packetZxid = t.zxid;
      if (packetZxid < peer) {
        prevProposalZxid = packetZxid;
        continue;
      }
      if (needOpPacket) {
        if (packetZxid === peer) {
          queued.push({ type: 'DIFF', zxid: maxCommittedLog });
          needOpPacket = false;
          which = 'committedLogDIFF';
          continue;
        }
        if (isPeerNewEpochZxid) {
          queued.push({ type: 'DIFF', zxid: maxCommittedLog });
          needOpPacket = false;
          which = 'newEpochDIFF';
        } else if (packetZxid > peer) {
          // "Cannot send TRUNC to peer sid: .. peer zxid is from different epoch": a SNAP instead.
          if (epochOf(packetZxid) !== epochOf(peer)) {
            gaveUp = true;
            break;
          }
          queued.push(trunc(prevProposalZxid));
          needOpPacket = false;
          which = 'committedLogTRUNC';
        }
      }
      if (packetZxid <= queuedZxid) continue;
      queued.push({ type: 'PROPOSAL', txn: t }, { type: 'COMMIT', zxid: packetZxid });
      queuedZxid = packetZxid;
    }
    if (!gaveUp && needOpPacket && isPeerNewEpochZxid) {
      queued.push({ type: 'DIFF', zxid: maxCommittedLog });
      needOpPacket = false;
      which = 'newEpochDIFF';
    }
    currentZxid = queuedZxid;
    needSnap = false;
    if (gaveUp) which = 'SNAPacrossEpochs';
  }
  if (needSnap) currentZxid = lastProcessedZxid;
  // "Unhandled scenario ... fall back to use snapshot".
  if (needOpPacket && !needSnap) needSnap = true;
  const packets: QuorumPacket[] = [];
  if (needSnap) {
    const snapshot = proposals.slice(0, inTree);
    packets.push({ type: 'SNAP', zxid: inTree === 0 ? 0 : snapshot[inTree - 1]!.zxid, snapshot });
  } else packets.push(...queued);
  // startForwarding(handler, currentZxid): toBeApplied with their COMMITs, then (participants) outstandingProposals.
  for (const t of proposals.slice(inTree, applied + toBeApplied)) {
    if (t.zxid > currentZxid) packets.push({ type: 'PROPOSAL', txn: t }, { type: 'COMMIT', zxid: t.zxid });
  }
  if (isVoter(cfg, learner)) {
    for (const p of [...lv.outstanding].sort((a, b) => a.zxid - b.zxid)) {
      if (p.zxid <= currentZxid) continue;
      const t = proposals.find((u) => u.zxid === p.zxid);
      if (t !== undefined) packets.push({ type: 'PROPOSAL', txn: t });
    }
  }
  packets.push({ type: 'NEWLEADER', zxid: makeZxid(lv.newEpoch, 0) });
  return { case: which, packets };
}

function samePacket(a: QuorumPacket, b: QuorumPacket | undefined): boolean {
  if (b === undefined || a.type !== b.type) return false;
  switch (a.type) {
    case 'PROPOSAL':
    case 'INFORM':
      return sameTxn(a.txn, (b as typeof a).txn);
    case 'SNAP': {
      const q = b as typeof a;
      return a.zxid === q.zxid && a.snapshot.length === q.snapshot.length && isPrefix(a.snapshot, q.snapshot);
    }
    case 'UPTODATE':
      return true;
    case 'DIFF':
    case 'TRUNC':
    case 'COMMIT':
    case 'NEWLEADER':
    case 'ACK':
      return a.zxid === (b as typeof a).zxid;
    default:
      return JSON.stringify(a) === JSON.stringify(b);
  }
}

/** The ghost flag a LeaderSyncFollower step gets when it sends other packets than zooKeeperSync says. */
export const SYNC_NOT_ZOOKEEPERS = 'syncNotZooKeepers';

/**
 * The check of every LeaderSyncFollower step against zooKeeperSync (an action property: it needs the leader's
 * state before the step, which the state after it no longer shows): returns the step, with the violation flag
 * `syncAsZooKeeper` reads added to its state when the packets it appended to the learner's channel are not
 * ZooKeeper's. spec/index.ts applies it to the successors spec.next returns; the unbroken spec never sets the
 * flag, so the state space is the same.
 */
export function auditSyncStep<A extends { readonly kind: string; readonly sid: number }>(
  cfg: Config,
): (before: ClusterState, step: { action: A; state: ClusterState }) => { action: A; state: ClusterState } {
  return (before, step) => {
    const { action, state: after } = step;
    if (action.kind !== 'LeaderSyncFollower' || !('peer' in action)) return step;
    let ok: boolean;
    try {
      const learner = (action as unknown as { peer: Sid }).peer;
      const leader = before.servers[action.sid - 1]!;
      const target = leader.leader?.toSync.find((x) => x.sid === learner);
      if (target === undefined) ok = false;
      else {
        const expected = zooKeeperSync(cfg, leader, learner, target.lastZxid).packets;
        const was = quorumChannel(before, action.sid, learner);
        const now = quorumChannel(after, action.sid, learner);
        ok = now.length === was.length + expected.length && was.every((p, i) => now[i] === p) && expected.every((p, i) => samePacket(p, now[was.length + i]));
      }
    } catch {
      ok = false;
    }
    if (ok) return step;
    try {
      return { action, state: addViolation(after, SYNC_NOT_ZOOKEEPERS) };
    } catch {
      return step; // a successor that is not a state at all: the checker reports it (stepsDefined)
    }
  };
}

/**
 * A learner whose leader has queued its sync and that has not read the opening packet yet: the channel from the
 * leader starts with DIFF, TRUNC or SNAP. Returns the learner's last zxid (unchanged since it reported it), the
 * opening packet and the packets after it up to NEWLEADER.
 */
function syncsInFlight(s: ClusterState): { peer: Zxid; op: QuorumPacket; rest: readonly QuorumPacket[] }[] {
  const out: { peer: Zxid; op: QuorumPacket; rest: readonly QuorumPacket[] }[] = [];
  for (let j = 0; j < s.servers.length; j++) {
    const f = s.servers[j]!;
    if (!f.online || f.learner === null || f.learner.newLeaderSeen || f.learner.syncMode !== 'NONE') continue;
    const ch = quorumChannel(s, f.learner.leader, j + 1);
    const op = ch[0];
    if (op === undefined || (op.type !== 'DIFF' && op.type !== 'TRUNC' && op.type !== 'SNAP')) continue;
    const end = ch.findIndex((p) => p.type === 'NEWLEADER');
    out.push({ peer: lastLoggedZxid(f), op, rest: ch.slice(1, end < 0 ? ch.length : end) });
  }
  return out;
}

/**
 * A reachability check, by default from the initial state the default check starts from (from the others a case
 * may need more bounds: select it there with --invariant), and where `when` holds.
 */
function sometimes(cfg: Config, name: string, description: string, check: (s: ClusterState) => boolean, when = true): Property<ClusterState> {
  return { name, kind: 'reachability', description, byDefault: cfg.initialName === 'broadcast' && when, check };
}

/** The packet at the head of the channel from a learner's leader to it, or undefined. */
function nextFromLeader(s: ClusterState, j: number): QuorumPacket | undefined {
  const f = s.servers[j]!;
  if (!f.online || f.learner === null) return undefined;
  return quorumChannel(s, f.learner.leader, j + 1)[0];
}

/**
 * One reachability check per case of syncFollower and per flush of a learner's sync buffers, each seen in the
 * packets a learner has been sent and not read yet: a spec that never takes a case (a branch disabled, a
 * window computed wrong) leaves its check vacuous.
 */
function syncCaseWitnesses(cfg: Config): Property<ClusterState>[] {
  const inFlight = (ok: (x: { peer: Zxid; op: QuorumPacket; rest: readonly QuorumPacket[] }) => boolean) => (s: ClusterState) => syncsInFlight(s).some(ok);
  const hasCommit = (rest: readonly QuorumPacket[]) => rest.some((p) => p.type === 'COMMIT');
  const learnerReads = (type: PacketType, ok: (l: NonNullable<Server['learner']>) => boolean) => (s: ClusterState) =>
    s.servers.some((f, j) => f.learner !== null && nextFromLeader(s, j)?.type === type && ok(f.learner));
  // A learner falls behind or level with its leader only after a fault: without crashes and lost connections (as
  // the liveness checks run) every learner stays in step (measured: both checks vacuous with --crashes 0
  // --partitions 0, witnessed with either alone).
  const faults = cfg.bounds.crashes + cfg.bounds.partitions > 0;
  // With the fix countToBeApplied the leader never TRUNCs a learner below a committed txn, so no committed txn
  // follows a TRUNC (measured: both vacuous at depth 17 with --leader-apply queued and both fixes).
  const truncThenCommits = cfg.leaderApply === 'queued' && !cfg.fixes.has('countToBeApplied');
  return [
    sometimes(cfg, 'syncEmptyDIFF', "A learner level with its leader's last processed zxid is sent an empty DIFF: no committed txn follows it.", inFlight((x) => x.op.type === 'DIFF' && x.op.zxid === x.peer && !hasCommit(x.rest)), faults),
    sometimes(cfg, 'syncTRUNCPastCommittedLog', "A learner with txns past the leader's committedLog is sent a TRUNC back to its last committed txn, and no committed txn after it.", inFlight((x) => x.op.type === 'TRUNC' && x.op.zxid < x.peer && !hasCommit(x.rest))),
    // Only --leader-apply queued gets here (measured: never witnessed at depth 30 with the default options, at
    // depth 11 with queued): the committed txns after a TRUNC are the leader's toBeApplied ones.
    sometimes(cfg, 'syncTRUNCThenDIFF', 'A learner with txns past what the leader has applied is sent a TRUNC and then committed txns with their COMMITs (TRUNC+DIFF).', inFlight((x) => x.op.type === 'TRUNC' && hasCommit(x.rest)), truncThenCommits),
    sometimes(cfg, 'syncSNAPBehind', "A learner behind the leader's committedLog is sent a SNAP holding its last txn.", inFlight((x) => x.op.type === 'SNAP' && x.op.snapshot.some((t) => t.zxid === x.peer)), faults),
    sometimes(cfg, 'syncSNAPAcrossEpochs', "A learner whose last txn the leader lacks, where the leader's next txn is of another epoch, is sent a SNAP (syncFollower sends no TRUNC across an epoch).", inFlight((x) => x.op.type === 'SNAP' && x.peer !== 0 && !x.op.snapshot.some((t) => t.zxid === x.peer))),
    sometimes(cfg, 'newLeaderLogsSyncCommits', 'A learner synced by DIFF reads NEWLEADER with committed txns of its sync to log first.', learnerReads('NEWLEADER', (l) => l.packetsCommitted.length > 0)),
    sometimes(cfg, 'upToDateQueuesProposals', 'A learner reads UPTODATE with proposals of its sync still to hand to its logger.', learnerReads('UPTODATE', (l) => l.packetsNotLogged.length > 0)),
    sometimes(cfg, 'upToDateAppliesCommits', 'A learner reads UPTODATE with COMMITs read after NEWLEADER still to apply.', learnerReads('UPTODATE', (l) => l.packetsCommitted.length > 0)),
    // The same: with the default options no committed txn follows a SNAP or a TRUNC before NEWLEADER.
    sometimes(cfg, 'syncTreeCommit', 'A learner synced by SNAP or TRUNC reads a COMMIT before NEWLEADER (applied to its in-memory tree, not logged).', learnerReads('COMMIT', (l) => !l.newLeaderSeen && (l.syncMode === 'SNAP' || l.syncMode === 'TRUNC')), truncThenCommits),
    sometimes(cfg, 'restartAfterCrash', 'A server that crashed is back: after a crash every server is up again (Restart: loadDataBase, then LOOKING).', (s) => s.budget.crashes > 0 && s.servers.every((srv) => srv.online), cfg.bounds.crashes > 0),
    sometimes(cfg, 'followerQueueToFlush', 'A serving follower has logged-to-be proposals in its queue (FollowerFlushLog has work).', (s) => s.servers.some((f) => f.online && f.state === 'FOLLOWING' && f.zabState === 'BROADCAST' && f.pendingLog.length > 0)),
    sometimes(
      cfg,
      'electedOverLongerLog',
      "A leader is elected by a quorum holding a server whose log ends at a higher zxid than the leader's, not synced yet: FastLeaderElection.totalOrderPredicate compares peerEpoch (the currentEpoch) before the zxid, so a server of a later epoch wins over a longer log of an earlier one.",
      (s) => electedOverLongerLog(s),
      faults,
    ),
    sometimes(
      cfg,
      'leaderGaveUpBeforeServing',
      "With no crash, a leader that every server has accepted gives up before any follower has read its NEWLEADER, and all are LOOKING again: Leader.lead's wait for a quorum of NEWLEADER ACKs can time out (initLimit) whoever is connected.",
      (s) => gaveUpBeforeServing(cfg, s),
      cfg.bounds.partitions > 0,
    ),
    sometimes(
      cfg,
      'ackReadAfterLearnerLeft',
      "A leader has ACKs to read from a learner that has closed its connection: what a follower sent before Learner.shutdown closed its socket still reaches the LearnerHandler, in order, before the end of the stream.",
      (s) => ackFromClosedLearner(s),
      cfg.bounds.partitions > 0,
    ),
  ];
}

/** A leader elected over a member of its electing quorum (in its recvset) whose log ends higher, before that member is synced. */
function electedOverLongerLog(s: ClusterState): boolean {
  for (let i = 0; i < s.servers.length; i++) {
    const l = s.servers[i]!;
    if (!l.online || l.state !== 'LEADING' || l.leader === null) continue;
    for (let j = 0; j < s.servers.length; j++) {
      const f = s.servers[j]!;
      if (j === i || !f.online || f.learner === null || f.learner.leader !== i + 1 || f.learner.syncMode !== 'NONE' || f.learner.newLeaderSeen) continue;
      if (l.recvset[j]?.leader === i + 1 && lastLoggedZxid(f) > lastLoggedZxid(l)) return true;
    }
  }
  return false;
}

/**
 * No crash, every server up and LOOKING with the same accepted epoch, one of this run, which only one server (the
 * leader, which writes it at the end of discovery) has made its currentEpoch: no follower read its NEWLEADER.
 */
function gaveUpBeforeServing(cfg: Config, s: ClusterState): boolean {
  if (s.budget.crashes !== 0) return false;
  const epoch = s.servers[0]!.acceptedEpoch;
  return (
    epoch > Math.max(...cfg.initial.map((d) => d.acceptedEpoch)) &&
    s.servers.every((srv) => srv.online && srv.state === 'LOOKING' && srv.acceptedEpoch === epoch) &&
    s.servers.filter((srv) => srv.currentEpoch === epoch).length === 1
  );
}

/** A leader with an ACK in the channel from a server that is not among its learners. */
function ackFromClosedLearner(s: ClusterState): boolean {
  for (let i = 0; i < s.servers.length; i++) {
    const l = s.servers[i]!;
    if (!l.online || l.leader === null) continue;
    for (let j = 0; j < s.servers.length; j++) {
      if (j === i || l.leader.learners.includes(j + 1)) continue;
      if (quorumChannel(s, j + 1, i + 1).some((p) => p.type === 'ACK')) return true;
    }
  }
  return false;
}

/** A learner listed by its leader that is not connected to it or has not accepted its epoch: [learner, leader]. */
function strayLearner(s: ClusterState): [Sid, Sid] | null {
  for (let i = 0; i < s.servers.length; i++) {
    const f = s.servers[i]!;
    if (!f.online || f.learner === null) continue;
    const l = s.servers[f.learner.leader - 1]!;
    if (!l.online || l.state !== 'LEADING' || l.leader === null || !l.leader.learners.includes(i + 1) || l.leader.newEpoch === NONE) continue;
    if (!f.learner.connected || f.learner.newEpoch !== l.leader.newEpoch) return [i + 1, f.learner.leader];
  }
  return null;
}

/** A learner listed by its leader, past discovery, that nobody will sync: [learner, leader]. */
function forgottenLearner(s: ClusterState): [Sid, Sid] | null {
  for (let i = 0; i < s.servers.length; i++) {
    const f = s.servers[i]!;
    if (!f.online || f.learner === null || f.learner.newLeaderSeen || f.learner.syncMode !== 'NONE') continue;
    const sid = f.learner.leader;
    const l = s.servers[sid - 1]!;
    if (!l.online || l.state !== 'LEADING' || l.leader === null || l.zabState === 'DISCOVERY' || !l.leader.learners.includes(i + 1)) continue;
    if (quorumChannel(s, sid, i + 1).length > 0) continue;
    if (!l.leader.toSync.some((x) => x.sid === i + 1)) return [i + 1, sid];
  }
  return null;
}
