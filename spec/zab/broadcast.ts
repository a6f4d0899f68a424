// ZAB phase 3, broadcast: the established leader turns client writes into PROPOSALs, followers log and ACK them,
// the leader COMMITs in zxid order once a quorum (itself included) has ACKed, observers get INFORM.
import type { Config } from '../config.ts';
import { isQuorum, isVoter } from '../config.ts';
import type { ClusterState, Txn } from '../state.ts';
import { addSorted, addViolation, lastZxidOf, sendPackets, server, takePacket, updateLeader, updateLearner, updateServer } from '../state.ts';
import type { Sid, Zxid } from '../types.ts';
import { counterOf, epochOf, makeZxid } from '../types.ts';
import type { QuorumPacket } from './packets.ts';
import { seamsOf } from '../seams.ts';

/**
 * A client write reaches the leader (ProposalRequestProcessor, Leader.propose): the next zxid of its epoch, sent
 * as PROPOSAL to every forwarding follower, and given to the leader's own SyncRequestProcessor, whose
 * AckRequestProcessor counts the leader's ACK after the fsync. With leaderLog 'atomic' that happens in this step;
 * with 'queued' the txn waits in pendingLog for LeaderFlushLog, and followers may ACK first.
 */
export function leaderProcessRequest(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (!me.online || me.zabState !== 'BROADCAST' || me.leader === null) return null;
  if (s.budget.txns >= cfg.bounds.txns) return null;
  const queued = cfg.leaderLog === 'queued';
  const last = lastZxidOf(queued ? [...me.history, ...me.pendingLog] : me.history);
  const zxid = epochOf(last) === me.currentEpoch ? last + 1 : makeZxid(me.currentEpoch, 1);
  const txn: Txn = { zxid, value: s.ghost.proposed.length + 1 };
  let next = updateServer(s, sid, queued ? { pendingLog: [...me.pendingLog, txn] } : { history: [...me.history, txn] });
  next = updateLeader(next, sid, { outstanding: [...me.leader.outstanding, { zxid, acks: queued ? [] : [sid] }] });
  next = { ...next, budget: { ...next.budget, txns: next.budget.txns + 1 }, ghost: { ...next.ghost, proposed: [...next.ghost.proposed, txn] } };
  for (const j of me.leader.forwarding) if (isVoter(cfg, j)) next = sendPackets(next, sid, j, [{ type: 'PROPOSAL', txn }]);
  return tryToCommit(cfg, next, sid);
}

/**
 * leaderLog 'queued' only: the leader's SyncRequestProcessor writes the oldest of its queued proposals to disk
 * (flush), and its AckRequestProcessor counts the leader's own ACK of it (Leader.processAck with its own sid).
 * One proposal a step: SyncRequestProcessor flushes what it has appended whenever its queue is momentarily empty,
 * so a flush may cover a prefix of what the leader has proposed; a flush of several is as many steps in a row.
 */
export function leaderFlushLog(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (!me.online || me.leader === null || me.pendingLog.length === 0) return null;
  const txn = me.pendingLog[0]!;
  const next = updateServer(s, sid, { history: [...me.history, txn], pendingLog: me.pendingLog.slice(1) });
  const outstanding = me.leader.outstanding.map((p) => (p.zxid === txn.zxid ? { zxid: p.zxid, acks: addSorted(p.acks, sid) } : p));
  return tryToCommit(cfg, updateLeader(next, sid, { outstanding }), sid);
}

/**
 * Follower.processPacket(PROPOSAL) → FollowerZooKeeperServer.logRequest: the txn joins the queue of the follower's
 * SyncRequestProcessor, which appends and fsyncs it (flush) and only then has its SendAckRequestProcessor ACK it
 * (FollowerFlushLog). When that happens is the seam `afterLogRequest`: with followerLog 'atomic' in this same step.
 */
export function followerProcessPROPOSAL(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, txn: Txn): ClusterState {
  const me = server(s0, sid);
  const queued = updateServer(takePacket(s0, from, sid), sid, { pendingLog: [...me.pendingLog, txn] });
  return afterLogRequest(cfg, queued, sid, from, txn);
}

/**
 * What follows logRequest in the same step. ZooKeeper (followerLog 'queued'): nothing, FollowerFlushLog is a later
 * step. followerLog 'atomic' (the default): the flush and its ACKs now, with the txns queued before this one (from
 * UPTODATE) first, since the log is written in order. Seams: `queuesLogRequest` (variant 4712 keeps ZooKeeper's
 * queue whatever the mode: its bug is in what happens to that queue when the role ends, roles.ts backToLooking);
 * `ackOnLogRequest` (mutation ackBeforeLog: the ACK leaves now, before the txn is on disk; the flush sends none).
 */
function afterLogRequest(cfg: Config, s: ClusterState, sid: Sid, from: Sid, txn: Txn): ClusterState {
  const seams = seamsOf(cfg);
  if (seams.ackOnLogRequest) return sendPackets(s, sid, from, [{ type: 'ACK', zxid: txn.zxid }]);
  if (cfg.followerLog === 'queued' || seams.queuesLogRequest) return s;
  return followerFlushLog(cfg, s, sid) ?? s;
}

/**
 * SyncRequestProcessor.flush: queued txns reach the disk (ZKDatabase.append, then commit's fsync), then its
 * SendAckRequestProcessor ACKs each to the leader (a participant's; an observer's queue is ACKed by nobody). With
 * followerLog 'queued', one txn a step: the SyncRequestProcessor flushes whenever its queue is momentarily empty,
 * so a flush may cover a prefix of what was queued; a flush of several is as many steps in a row. Otherwise the
 * whole queue at once. A crash loses the queue, unACKed (faults.ts crash); a role that ends without one flushes
 * it, the ACKs going to a closed socket (roles.ts backToLooking: LearnerZooKeeperServer.shutdownComponents calls
 * SyncRequestProcessor.shutdown, whose requestOfDeath comes behind the queue, the ZOOKEEPER-4712 fix).
 */
export function followerFlushLog(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (me.online && me.orphanLog.length > 0) {
    // ZOOKEEPER-4712: the SyncRequestProcessor of a role the server has left still runs: it appends its queue to
    // the txn log, whatever the server has reported or synced since. Its ACKs go to a closed socket. A txn the log
    // already holds (the sync since brought it) is left out: replaying it again changes nothing.
    const fresh = me.orphanLog.filter((t) => !me.history.some((h) => h.zxid === t.zxid));
    return updateServer(s, sid, { history: [...me.history, ...fresh], orphanLog: [] });
  }
  if (!me.online || me.pendingLog.length === 0) return null;
  // With leaderLog 'queued', a leader's own queue is LeaderFlushLog's, which also counts the leader's ACK.
  if (cfg.leaderLog === 'queued' && me.leader !== null) return null;
  const flushed = cfg.followerLog === 'queued' ? me.pendingLog.slice(0, 1) : me.pendingLog;
  let next = updateServer(s, sid, { history: [...me.history, ...flushed], pendingLog: me.pendingLog.slice(flushed.length) });
  const leader = me.learner?.leader;
  if (leader !== undefined && isVoter(cfg, sid) && !seamsOf(cfg).ackOnLogRequest) {
    next = sendPackets(next, sid, leader, flushed.map((t): QuorumPacket => ({ type: 'ACK', zxid: t.zxid })));
  }
  return next;
}

/** Leader.processAck: count the ACK, then commit every proposal that now has a quorum, in zxid order. */
export function leaderProcessACK(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, zxid: Zxid): ClusterState {
  const me = server(s0, sid);
  const s = takePacket(s0, from, sid);
  if (counterOf(zxid) === 0) return s; // an ACK of NEWLEADER/UPTODATE is no longer processed here
  const outstanding = me.leader!.outstanding;
  const i = outstanding.findIndex((p) => p.zxid === zxid);
  if (i < 0 || !isVoter(cfg, from)) return s; // already committed, or not a proposal of this leader
  const updated = outstanding.map((p, k) => (k === i ? { zxid: p.zxid, acks: addSorted(p.acks, from) } : p));
  return tryToCommit(cfg, updateLeader(s, sid, { outstanding: updated }), sid);
}

/**
 * Leader.tryToCommit in a loop: the first outstanding proposal commits once a quorum ACKed it (the previous one
 * must be committed first, so commits follow zxid order); COMMIT goes to the forwarding followers and INFORM,
 * with the txn, to the observers. The leader applies it here, or with leaderApply 'queued' puts it in
 * toBeApplied for LeaderApplyCommitted.
 */
function tryToCommit(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  let next = s;
  // One pass over the proposals outstanding now: each turn commits the head, so at most all of them commit.
  for (const head of server(s, sid).leader!.outstanding) {
    const me = server(next, sid);
    const l = me.leader!;
    if (!isQuorum(cfg, head.acks) && !seamsOf(cfg).commitsWithoutQuorum) return next;
    // The txn may still be in the leader's queue (leaderLog 'queued'): a quorum of followers ACKed before its fsync.
    const at = me.committed + l.toBeApplied;
    const txn = (at < me.history.length ? me.history : [...me.history, ...me.pendingLog])[at]!;
    if (cfg.leaderApply === 'queued') {
      next = updateLeader(next, sid, { outstanding: l.outstanding.slice(1), toBeApplied: l.toBeApplied + 1 });
    } else {
      next = updateServer(next, sid, { committed: me.committed + 1 });
      next = updateLeader(next, sid, { outstanding: l.outstanding.slice(1) });
    }
    if (!next.ghost.committed.some((c) => c.zxid === txn.zxid)) {
      next = { ...next, ghost: { ...next.ghost, committed: [...next.ghost.committed, { ...txn, epoch: me.currentEpoch }] } };
    }
    for (const j of l.forwarding) {
      next = sendPackets(next, sid, j, [isVoter(cfg, j) ? { type: 'COMMIT', zxid: txn.zxid } : { type: 'INFORM', txn }]);
    }
  }
  return next;
}

/**
 * leaderApply 'queued' only: CommitProcessor -> ToBeAppliedRequestProcessor -> FinalRequestProcessor apply the
 * next committed txn on the leader (the client's reply), ZKDatabase.addCommittedProposal adds it to the
 * committedLog (maxCommittedLog moves), and it leaves toBeApplied.
 */
export function leaderApplyCommitted(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (cfg.leaderApply !== 'queued' || !me.online || me.leader === null || me.leader.toBeApplied === 0) return null;
  return updateLeader(updateServer(s, sid, { committed: me.committed + 1 }), sid, { toBeApplied: me.leader.toBeApplied - 1 });
}

/**
 * Follower.processPacket(COMMIT) → FollowerZooKeeperServer.commit: the next pending txn must be this zxid; a
 * COMMIT for a txn it never saw is a warning; for another txn, the server exits (UNMATCHED_TXN_COMMIT).
 */
export function followerProcessCOMMIT(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, zxid: Zxid): ClusterState {
  const me = server(s0, sid);
  const s = takePacket(s0, from, sid);
  // Variant 3023 queues it behind the commits of the sync: the seam onCommit.
  const deviation = seamsOf(cfg).onCommit?.(s, sid, me, zxid);
  if (deviation != null) return deviation;
  const next = [...me.history, ...me.pendingLog][me.committed];
  if (next === undefined) return s;
  if (next.zxid !== zxid) return addViolation(updateServer(s, sid, { online: false, leader: null, learner: null, pendingLog: [], committed: 0 }), 'unmatchedCommit');
  return updateServer(s, sid, { committed: me.committed + 1 });
}

/**
 * A step of variant 3023 only (the seam steps): the CommitProcessor applies the commits queued after UPTODATE
 * (FollowerZooKeeperServer.commit for each of packetsCommitted), in order, after the follower has started serving.
 */
export function followerCommitProcessor(_cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (!me.online || me.zabState !== 'BROADCAST' || me.learner === null || me.learner.packetsCommitted.length === 0) return null;
  const all = [...me.history, ...me.pendingLog];
  let committed = me.committed;
  for (const z of me.learner.packetsCommitted) if (all[committed]?.zxid === z) committed++;
  return updateLearner(updateServer(s, sid, { committed }), sid, { packetsCommitted: [] });
}

/** Observer.processPacket(INFORM): the committed txn is logged and applied. */
export function observerProcessINFORM(s0: ClusterState, sid: Sid, from: Sid, txn: Txn): ClusterState {
  const me = server(s0, sid);
  const s = takePacket(s0, from, sid);
  const all = [...me.history, ...me.pendingLog];
  if (all.some((t) => t.zxid === txn.zxid)) return s;
  // Logged behind whatever the SyncRequestProcessor still holds, so the log stays in zxid order.
  if (me.pendingLog.length > 0) return updateServer(s, sid, { pendingLog: [...me.pendingLog, txn], committed: me.committed + 1 });
  return updateServer(s, sid, { history: [...me.history, txn], committed: me.committed + 1 });
}
