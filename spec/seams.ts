// Where the spec departs from ZooKeeper's rule. Every handler of fle/, zab/, faults.ts and coarse.ts states the rule
// of the fixed protocol (ZooKeeper 3.9); a variant (a real bug put back, spec/variants.ts), a mutation (a deliberate
// breakage, MUTATIONS in config.ts) or a proposed fix (FIXES) enters only at one of the named seams below, which the
// handler calls at the point where the affected code differs. A seam left undefined is ZooKeeper's rule.
//
// To see what one deviation changes, read its entry in VARIANT_SEAMS, MUTATION_SEAMS or FIX_SEAMS; to see every
// deviation of one handler, grep the seam's name. Two deviations never share a seam (seamsOf checks).
//
// Not here: the mutation `quorum` (isQuorum in config.ts, a helper rather than a handler). The modes (leaderLog,
// followerLog, leaderApply, joinVotes, granularity) are not deviations: each is a choice of how finely to model what
// ZooKeeper does.
import type { Config, FixName, MutationName } from './config.ts';
import { isVoter } from './config.ts';
import type { ClusterState, LearnerVars, Server, Txn } from './state.ts';
import { delivered, lastZxidOf, logCommittedPackets, sendPackets, server, updateLearner, updateServer, writeCurrentEpoch } from './state.ts';
import type { Proposal, Sid, Zxid } from './types.ts';
import { epochOf } from './types.ts';
import type { VariantName } from './variants.ts';
import type { SyncChoice } from './zab/sync.ts';

/** The durable state NEWLEADER starts from: the log after the snapshot SNAP and TRUNC take first (takeSnapshot). */
export interface AfterSnapshot {
  readonly history: readonly Txn[];
  readonly snapshotIndex: number;
  readonly committedLogStart: number;
}

/** Steps that only some variants have (their code is in the handler files; the variant lists them here). */
export type VariantStepKind = 'LearnerFinishNEWLEADER' | 'FollowerCommitProcessor' | 'ElectAbandoned';

export interface Seams {
  // --- fle/vote.ts ---
  /** totalOrderPredicate (FastLeaderElection): is vote `next` better than `current`? For a voter's vote. */
  readonly totalOrder?: (next: Proposal, current: Proposal) => boolean;

  // --- zab/discovery.ts ---
  /** learnerProcessLEADERINFO (Learner.registerWithLeader): a LEADERINFO below acceptedEpoch is accepted too. */
  readonly acceptsLowerEpoch?: true;

  // --- zab/sync.ts, the leader's side ---
  /** leaderSyncFollower (LearnerHandler.syncFollower): toBeApplied counts as committed when choosing the sync. */
  readonly syncCountsToBeApplied?: true;
  /** leaderSyncFollower: the learner's ACKs of outstanding proposals are forgotten; it ACKs them again. */
  readonly syncForgetsStaleAcks?: true;
  /** chooseSync (syncFollower): what is sent where the rule sends `trunc`; `maxCommitted` is the committedLog's end. */
  readonly insteadOfTrunc?: (trunc: SyncChoice, maxCommitted: Zxid) => SyncChoice;
  /** leaderProcessACKNEWLEADER (Leader.waitForNewLeaderAck): a quorum the rule does not see (`acks` with `from`). */
  readonly newLeaderQuorum?: (cfg: Config, acks: readonly Sid[], from: Sid, matches: boolean) => boolean;

  // --- zab/sync.ts, the learner's side ---
  /**
   * learnerProcessNEWLEADER (Learner.syncWithLeader): the rest of the NEWLEADER handler after takeSnapshot, as the
   * affected releases ran it (the packet is taken already in `s`).
   */
  readonly onNewLeader?: (s: ClusterState, sid: Sid, from: Sid, zxid: Zxid, after: AfterSnapshot) => ClusterState;
  /** learnerFinishNEWLEADER: the second half of a NEWLEADER handler split by onNewLeader (newLeaderAckDue). */
  readonly onFinishNewLeader?: (s: ClusterState, sid: Sid, me: Server, l: LearnerVars) => ClusterState;
  /** learnerProcessUPTODATE: UPTODATE as the affected releases handled it (the packet is taken already in `s`). */
  readonly onUpToDate?: (s: ClusterState, sid: Sid, me: Server, l: LearnerVars) => ClusterState;

  // --- zab/broadcast.ts ---
  /** tryToCommit (Leader.tryToCommit): the head commits without a quorum of ACKs. */
  readonly commitsWithoutQuorum?: true;
  /** followerProcessCOMMIT (FollowerZooKeeperServer.commit): a COMMIT handled otherwise, or null for the rule. */
  readonly onCommit?: (s: ClusterState, sid: Sid, me: Server, zxid: Zxid) => ClusterState | null;

  /**
   * followerProcessPROPOSAL (FollowerZooKeeperServer.logRequest): the ACK leaves as the txn is queued, before the
   * SyncRequestProcessor has it on disk; the flush (followerFlushLog) then sends none.
   */
  readonly ackOnLogRequest?: true;
  /** followerProcessPROPOSAL: the txn stays queued for a later FollowerFlushLog whatever the follower-log mode. */
  readonly queuesLogRequest?: true;

  // --- zab/roles.ts ---
  /**
   * backToLooking (ZooKeeperServer.shutdown(false) when a role ends without a crash): what the log, the logger's
   * queue and the data tree hold afterwards, or null for the rule (the queue flushed into the log, the tree
   * reloaded from it).
   */
  readonly onLeaveRole?: (me: Server) => Partial<Server> | null;

  // --- zab/steps.ts, coarse.ts ---
  /** Steps the variant adds to the step tables. */
  readonly steps?: readonly VariantStepKind[];
}

/** The extra ACK of NEWLEADER that the countLearnerTwice breakage counts. */
function countedTwice(cfg: Config, acks: readonly Sid[], from: Sid, matches: boolean): boolean {
  return matches && isVoter(cfg, from) && acks.filter((x) => isVoter(cfg, x)).length + 1 > Math.floor(cfg.nodes / 2);
}

/**
 * The NEWLEADER handler of the affected releases writes currentEpoch (and, but for 4643 and 4685, ACKs) with the log
 * `after` the snapshot, `patch` applied to the server and `learner` to its learner variables.
 */
function newLeaderWithEpoch(s: ClusterState, sid: Sid, zxid: Zxid, after: AfterSnapshot, patch: Partial<Server>, learner: Partial<LearnerVars>): ClusterState {
  const done = { syncTree: null, newLeaderSeen: true, syncMode: 'NONE' as const };
  const next = updateLearner(updateServer(s, sid, { ...after, ...patch }), sid, { ...done, ...learner });
  return writeCurrentEpoch(next, sid, epochOf(zxid));
}

function ackNewLeader(s: ClusterState, sid: Sid, from: Sid, zxid: Zxid): ClusterState {
  return sendPackets(s, sid, from, [{ type: 'ACK', zxid }]);
}

/** Each real ZooKeeper bug (spec/variants.ts, docs/bugs.md): the seams at which its releases differ. */
export const VARIANT_SEAMS: { readonly [V in VariantName]: Seams } = {
  '2845': {
    // ZOOKEEPER-2845 (before 3.4.12/3.5.4): ZooKeeperServer.shutdown(false) keeps zkDb as it is, without
    // fastForwardDataBase. The tree holds what was applied (committed); the log may hold more (a leader logs its
    // own proposals before they commit), and getLastLoggedZxid now reports the tree's last zxid. A tree that was
    // never applied to since the restart is the log itself (loadDataBase replayed all of it).
    onLeaveRole: (me) => {
      const all = [...me.history, ...me.pendingLog];
      const tree = me.committed === 0 ? lastZxidOf(all) : lastZxidOf(delivered(me));
      return { history: all, pendingLog: [], treeZxid: tree === lastZxidOf(all) ? null : tree };
    },
  },
  '3911': {
    // ZOOKEEPER-3911 (3.6.2 and before): setCurrentEpoch and ACK; the sync packets stay in packetsNotCommitted
    // and reach logRequest (the pending log) only after UPTODATE.
    onNewLeader: (s, sid, from, zxid, after) => ackNewLeader(newLeaderWithEpoch(s, sid, zxid, after, {}, {}), sid, from, zxid),
  },
  '4643': {
    // ZOOKEEPER-4643 (up to 3.9.1): self.setCurrentEpoch(newEpoch) comes before the sync txns are durable. The
    // rest of the handler (persist, then ACK) is the later step LearnerFinishNEWLEADER: a crash can come between.
    onNewLeader: (s, sid, _from, zxid, after) => newLeaderWithEpoch(s, sid, zxid, after, {}, { newLeaderAckDue: zxid }),
    onFinishNewLeader: (s, sid, me, l) => {
      const { history, notLogged } = logCommittedPackets(me.history, l.packetsNotLogged, l.packetsCommitted);
      return updateLearner(updateServer(s, sid, { history }), sid, { packetsNotLogged: notLogged, packetsCommitted: [] });
    },
    // A closed socket does not stop the learner thread between setCurrentEpoch and the end of the NEWLEADER
    // handler: it persists the sync txns, then fails to write the ACK. Only a crash cuts in between.
    onLeaveRole: (me) => {
      if (me.learner === null || me.learner.newLeaderAckDue === null) return null;
      return { history: logCommittedPackets(me.history, me.learner.packetsNotLogged, me.learner.packetsCommitted).history };
    },
    steps: ['LearnerFinishNEWLEADER'],
  },
  '4646': {
    // ZOOKEEPER-4646 (3.6.3-3.9.1): setCurrentEpoch, fzk.logRequest for every packet (queued for the
    // SyncRequestProcessor, fsynced by a later FollowerFlushLog), packetsNotCommitted.clear(), then the ACK.
    onNewLeader: (s, sid, from, zxid, after) => {
      const me = server(s, sid);
      const next = newLeaderWithEpoch(s, sid, zxid, after, { pendingLog: [...me.pendingLog, ...me.learner!.packetsNotLogged] }, { packetsNotLogged: [] });
      return ackNewLeader(next, sid, from, zxid);
    },
  },
  '4685': {
    // ZOOKEEPER-4685 (3.6.3-3.9.1): as for 4646, but the ACK is written after logRequest returns, so the
    // SyncRequestProcessor can fsync the packets and its SendAckRequestProcessor ACK them first. The ACK is the
    // later step LearnerFinishNEWLEADER.
    onNewLeader: (s, sid, _from, zxid, after) => {
      const me = server(s, sid);
      return newLeaderWithEpoch(s, sid, zxid, after, { pendingLog: [...me.pendingLog, ...me.learner!.packetsNotLogged] }, { packetsNotLogged: [], newLeaderAckDue: zxid });
    },
    onFinishNewLeader: (s) => s,
    steps: ['LearnerFinishNEWLEADER'],
  },
  '4394': {
    // ZOOKEEPER-4394 (3.6.3-3.9.2): every buffered packet leaves packetsNotCommitted at NEWLEADER and the deque is
    // cleared. The committed ones are logged as the fixed protocol does; the outstanding ones go to the logger
    // (logRequest, as 3.9.1 did for all), so a COMMIT of one of them before UPTODATE finds the deque empty.
    onNewLeader: (s, sid, from, zxid, after) => {
      const me = server(s, sid);
      const l = me.learner!;
      const { history, notLogged } = logCommittedPackets(after.history, l.packetsNotLogged, l.packetsCommitted);
      const next = newLeaderWithEpoch(s, sid, zxid, after, { history, pendingLog: [...me.pendingLog, ...notLogged] }, { packetsNotLogged: [], packetsCommitted: [] });
      return ackNewLeader(next, sid, from, zxid);
    },
  },
  '3023': {
    // ZOOKEEPER-3023 (up to 3.9.2): the committed packets are logged before the ACK but applied only after
    // UPTODATE (fzk.commit, CommitProcessor): the tree stays what it was loaded from the log.
    onNewLeader: (s, sid, from, zxid, after) => {
      const l = server(s, sid).learner!;
      const { history, notLogged } = logCommittedPackets(after.history, l.packetsNotLogged, l.packetsCommitted);
      const next = newLeaderWithEpoch(s, sid, zxid, after, { history, committed: after.history.length }, { packetsNotLogged: notLogged });
      return ackNewLeader(next, sid, from, zxid);
    },
    // zk.startServing() first; the committed packets go to fzk.commit, i.e. the CommitProcessor's queue
    // (packetsCommitted, applied by the step FollowerCommitProcessor), after the follower is already serving.
    onUpToDate: (s, sid, me, l) => {
      const pendingLog = [...me.pendingLog, ...l.packetsNotLogged];
      const next = updateServer(s, sid, { zabState: 'BROADCAST', pendingLog, currentVote: { ...me.currentVote, peerEpoch: l.newEpoch } });
      return updateLearner(next, sid, { packetsNotLogged: [] });
    },
    // The commits of the sync are still in the CommitProcessor's queue; a later COMMIT waits behind them.
    onCommit: (s, sid, me, zxid) => {
      if (me.learner === null || me.learner.packetsCommitted.length === 0) return null;
      return updateLearner(s, sid, { packetsCommitted: [...me.learner.packetsCommitted, zxid] });
    },
    steps: ['FollowerCommitProcessor'],
  },
  '4712': {
    // ZOOKEEPER-4712 (3.5.10-3.9.2): Learner.shutdown -> ZooKeeperServer.shutdown(false) shuts the processors down
    // but not syncProcessor, then fastForwardDataBase catches the tree up to the log as it is now. The old
    // SyncRequestProcessor keeps its queue and its thread, and appends it to the log later (FollowerFlushLog).
    // The PROPOSAL is queued as ZooKeeper queues it (logRequest), even where the spec's follower log is atomic, so
    // that the queue is there when the role ends.
    queuesLogRequest: true,
    onLeaveRole: (me) => ({
      pendingLog: [],
      orphanLog: [...me.orphanLog, ...me.pendingLog],
      treeZxid: me.pendingLog.length === 0 && me.orphanLog.length === 0 ? null : lastZxidOf(me.history),
    }),
  },
  '3109': {
    // ZOOKEEPER-3109 (before 3.6.0): a voter changes its mind at the end of the election (coarse.ts electAbandoned).
    steps: ['ElectAbandoned'],
  },
};

/** Each deliberate breakage (MUTATIONS in config.ts): the seam it breaks. */
export const MUTATION_SEAMS: { readonly [M in MutationName]: Seams } = {
  // totalOrderPredicate compares only server ids.
  voteOrder: { totalOrder: (next, current) => next.leader > current.leader },
  // isQuorum accepts half of the voters: a branch of isQuorum (config.ts), a helper every quorum test shares.
  quorum: {},
  commitWithoutQuorum: { commitsWithoutQuorum: true },
  // syncFollower sends a DIFF up to its committedLog's end where TRUNC is due.
  skipTrunc: { insteadOfTrunc: (trunc, maxCommitted) => ({ op: { type: 'DIFF', zxid: maxCommitted }, from: trunc.from }) },
  acceptLowerEpoch: { acceptsLowerEpoch: true },
  // The follower ACKs a PROPOSAL as it queues it, before the txn is on disk.
  ackBeforeLog: { ackOnLogRequest: true },
  countLearnerTwice: { newLeaderQuorum: countedTwice },
};

/** Each proposed fix (FIXES in config.ts, docs/findings.md): the seam it changes. */
export const FIX_SEAMS: { readonly [F in FixName]: Seams } = {
  forgetStaleAcks: { syncForgetsStaleAcks: true },
  countToBeApplied: { syncCountsToBeApplied: true },
};

const NO_SEAMS: Seams = {};
const seamsCache = new WeakMap<Config, Seams>();

/** The seams of a config: its variant's, its mutations' and its fixes', merged (each seam from one of them at most). */
export function seamsOf(cfg: Config): Seams {
  let seams = seamsCache.get(cfg);
  if (seams !== undefined) return seams;
  const parts: [string, Seams][] = [
    ...(cfg.variant === null ? [] : [[`variant ${cfg.variant}`, VARIANT_SEAMS[cfg.variant]] as [string, Seams]]),
    ...[...cfg.mutations].map((m): [string, Seams] => [`mutation ${m}`, MUTATION_SEAMS[m]]),
    ...[...cfg.fixes].map((f): [string, Seams] => [`fix ${f}`, FIX_SEAMS[f]]),
  ];
  const merged: Record<string, unknown> = {};
  const owner: Record<string, string> = {};
  for (const [name, part] of parts) {
    for (const [seam, hook] of Object.entries(part)) {
      if (seam in merged) throw new Error(`${name} and ${owner[seam]} both change the seam ${seam}`);
      merged[seam] = hook;
      owner[seam] = name;
    }
  }
  seams = parts.length === 0 ? NO_SEAMS : (merged as Seams);
  seamsCache.set(cfg, seams);
  return seams;
}

/** Does the config's variant add this step? */
export function hasVariantStep(cfg: Config, kind: VariantStepKind): boolean {
  return seamsOf(cfg).steps?.includes(kind) ?? false;
}
