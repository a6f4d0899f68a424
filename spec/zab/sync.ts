// ZAB phase 2, synchronization: LearnerHandler.syncFollower brings each learner's history to the leader's by
// DIFF, TRUNC or SNAP plus the committed and outstanding proposals, ends with NEWLEADER, and Learner.syncWithLeader
// applies them; the leader starts serving once a quorum has ACKed NEWLEADER, and each learner gets UPTODATE.
import type { Config } from '../config.ts';
import { isQuorum, isVoter } from '../config.ts';
import type { ClusterState, LearnerVars, Server, Txn } from '../state.ts';
import {
  addSorted,
  addViolation,
  sendPackets,
  server,
  takePacket,
  updateLeader,
  updateLearner,
  updateServer,
  without,
} from '../state.ts';
import type { Sid, Zxid } from '../types.ts';
import { counterOf, epochOf, makeZxid } from '../types.ts';
import { writeCurrentEpoch } from './discovery.ts';
import type { QuorumPacket } from './packets.ts';
import { learnerShutdown } from './roles.ts';

export type SyncChoice = { readonly op: QuorumPacket; readonly from: Zxid };

/**
 * The leader's lastProcessedZxid (ZKDatabase.getDataTreeLastProcessedZxid), which syncFollower compares a
 * learner's last zxid with: Leader.startZkServer sets it to the new epoch's zxid (epoch << 32, a zxid that names
 * no txn), and each txn applied after that raises it; before the leader serves, it is the last txn it loaded
 * (its whole log). `committed` is how many txns of `proposals` syncFollower counts as applied.
 */
export function leaderLastProcessed(me: Server, proposals: readonly Txn[], committed: number): Zxid {
  const lastApplied = committed === 0 ? 0 : proposals[committed - 1]!.zxid;
  if (me.zabState !== 'BROADCAST' || me.leader === null) return lastApplied;
  return Math.max(lastApplied, makeZxid(me.leader.newEpoch, 0));
}

/**
 * Where the leader's committedLog starts in its log, `committed` txns of which are applied: at the snapshot it
 * loaded, and never more than the last commitLogCount txns back (ZKDatabase.addCommittedProposal drops the oldest).
 */
export function committedLogStart(cfg: Config, me: Server, committed: number): number {
  return Math.max(me.committedLogStart, committed - cfg.commitLogCount);
}

/**
 * syncFollower's choice for a learner whose last zxid is `peer`, given the leader's log (`history`), how much
 * of it is applied (`committed`), where its committedLog starts, and its `lastProcessed` (leaderLastProcessed).
 * An empty committedLog counts as one that starts and ends at lastProcessed; then, in this order:
 * - peer = lastProcessed: an empty DIFF;
 * - peer past the committedLog (and not an epoch's zxid): TRUNC to its last txn;
 * - peer within the committedLog: queueCommittedProposals (below);
 * - else a SNAP (syncing from the txn log on disk is not modelled).
 * So a leader that serves an epoch in which it has applied no txn yet, with an empty committedLog (a fresh
 * ensemble, or a leader loaded from a snapshot alone), sends a SNAP even to a learner whose log ends where its
 * own does. Returns the opening packet and the zxid after which
 * committed proposals are queued (PROPOSAL + COMMIT) and outstanding ones forwarded. A SNAP carries the zxid of
 * the snapshot's last txn (ZooKeeper's carries lastProcessedZxid, which the learner's tree then reports as its
 * last zxid; the spec knows a log's end by its last txn, and the learner ignores the SNAP's zxid).
 */
export function chooseSync(cfg: Config, history: readonly Txn[], committed: number, logStart: number, lastProcessed: Zxid, peer: Zxid): SyncChoice {
  const snapZxid = committed === 0 ? 0 : history[committed - 1]!.zxid;
  const snap = (): SyncChoice => ({ op: { type: 'SNAP', zxid: snapZxid, snapshot: history.slice(0, committed) }, from: snapZxid });
  const log = history.slice(Math.min(logStart, committed), committed);
  const minCommitted = log.length === 0 ? lastProcessed : log[0]!.zxid;
  const maxCommitted = log.length === 0 ? lastProcessed : log[log.length - 1]!.zxid;
  const isPeerNewEpochZxid = counterOf(peer) === 0;

  if (peer === lastProcessed) return { op: { type: 'DIFF', zxid: peer }, from: peer };
  if (peer > maxCommitted && !isPeerNewEpochZxid) {
    if (cfg.mutations.has('skipTrunc')) return { op: { type: 'DIFF', zxid: maxCommitted }, from: maxCommitted };
    return { op: { type: 'TRUNC', zxid: maxCommitted }, from: maxCommitted };
  }
  if (minCommitted <= peer && peer <= maxCommitted) {
    // queueCommittedProposals: DIFF if the learner's last zxid is in the committedLog, else TRUNC back to the
    // last zxid before it — unless the next txn is of another epoch, where it gives up and a SNAP is sent.
    if (log.some((t) => t.zxid === peer) || isPeerNewEpochZxid) return { op: { type: 'DIFF', zxid: maxCommitted }, from: peer };
    const before = log.filter((t) => t.zxid < peer);
    const prev = before.length === 0 ? 0 : before[before.length - 1]!.zxid;
    const next = log.find((t) => t.zxid > peer)!;
    if (epochOf(next.zxid) !== epochOf(peer)) return snap();
    if (cfg.mutations.has('skipTrunc')) return { op: { type: 'DIFF', zxid: maxCommitted }, from: prev };
    return { op: { type: 'TRUNC', zxid: prev }, from: prev };
  }
  return snap();
}

/**
 * LearnerHandler.syncFollower + startForwarding + NEWLEADER, once waitForEpochAck returned: the opening
 * packet, the committed proposals after the learner's point, the outstanding ones (participants only), then
 * NEWLEADER. The handler joins the forwarding set so every later PROPOSAL reaches it too.
 */
export function leaderSyncFollower(cfg: Config, s: ClusterState, sid: Sid, learner: Sid): ClusterState | null {
  const me = server(s, sid);
  const l = me.leader;
  if (!me.online || l === null || me.zabState === 'DISCOVERY') return null;
  const target = l.toSync.find((x) => x.sid === learner);
  if (target === undefined) return null;
  const applied = me.zabState === 'BROADCAST' ? me.committed : me.history.length;
  const applying = me.zabState === 'BROADCAST' ? l.toBeApplied : 0;
  // The leader's proposals are in memory (committedLog, outstandingProposals) whether or not its own log has
  // them yet (leaderLog 'queued').
  const proposals = me.pendingLog.length === 0 ? me.history : [...me.history, ...me.pendingLog];
  // ZooKeeper decides against its committedLog, which holds only what the leader has applied: a txn a quorum
  // committed but still in toBeApplied counts as uncommitted, and a learner that has it is TRUNCated
  // (docs/findings.md #2). The proposed fix counts toBeApplied as committed.
  const committed = cfg.fixes.has('countToBeApplied') ? applied + applying : applied;
  const lastProcessed = leaderLastProcessed(me, proposals, committed);
  const { op, from } = chooseSync(cfg, proposals, committed, committedLogStart(cfg, me, committed), lastProcessed, target.lastZxid);
  const packets: QuorumPacket[] = [op];
  if (op.type !== 'SNAP') {
    for (const txn of proposals.slice(0, committed)) {
      if (txn.zxid > from) packets.push({ type: 'PROPOSAL', txn }, { type: 'COMMIT', zxid: txn.zxid });
    }
  }
  // startForwarding: the committed proposals the leader has not applied yet (toBeApplied), with their COMMIT, to
  // any learner; then the outstanding ones, to participants only.
  for (const txn of proposals.slice(committed, applied + applying)) {
    if (txn.zxid > from) packets.push({ type: 'PROPOSAL', txn }, { type: 'COMMIT', zxid: txn.zxid });
  }
  if (isVoter(cfg, learner)) {
    for (const txn of proposals.slice(applied + applying)) if (txn.zxid > from) packets.push({ type: 'PROPOSAL', txn });
  }
  packets.push({ type: 'NEWLEADER', zxid: makeZxid(l.newEpoch, 0) });
  // ZooKeeper keeps an ACK the learner sent before it left, though a TRUNC may now take that txn out of its
  // log (docs/findings.md #1). The proposed fix forgets it: the learner ACKs the re-sent PROPOSAL again.
  const forget = cfg.fixes.has('forgetStaleAcks') && l.outstanding.some((p) => p.acks.includes(learner));
  const next = updateLeader(s, sid, {
    toSync: l.toSync.filter((x) => x.sid !== learner),
    forwarding: addSorted(l.forwarding, learner),
    awaitingNewLeaderAck: addSorted(l.awaitingNewLeaderAck, learner),
    ...(forget ? { outstanding: l.outstanding.map((p) => ({ zxid: p.zxid, acks: p.acks.filter((a) => a !== learner) })) } : {}),
  });
  return sendPackets(next, sid, learner, packets);
}

/** Learner.syncWithLeader reads the opening packet: DIFF, TRUNC (the log is cut back on disk) or SNAP. */
export function learnerProcessSyncOp(_cfg: Config, s0: ClusterState, sid: Sid, from: Sid, p: QuorumPacket): ClusterState | null {
  const me = server(s0, sid);
  const s = takePacket(s0, from, sid);
  switch (p.type) {
    case 'DIFF':
      return updateLearner(s, sid, { syncMode: 'DIFF' });
    case 'SNAP':
      // deserializeSnapshot: the data tree is replaced in memory; it reaches the disk at NEWLEADER.
      return updateLearner(s, sid, { syncMode: 'SNAP', syncTree: p.snapshot });
    case 'TRUNC': {
      // truncateLog: the txn log is cut after zxid (durably); a zxid it does not have is fatal, except an epoch's
      // zxid (epoch << 32, counter 0), which names no txn: syncFollower sends one as maxCommittedLog when its
      // committedLog is empty in an epoch it has applied nothing of (chooseSync), and the log is cut before that
      // epoch's txns. (ZooKeeper 3.8's FileTxnLog.truncate cuts after the first txn at or past the zxid, where its
      // iterator stops, so it keeps that one txn, which the leader then sends again; the spec cuts it.)
      const keep = counterOf(p.zxid) === 0 ? me.history.filter((t) => t.zxid < p.zxid).length : me.history.findIndex((t) => t.zxid === p.zxid) + 1;
      if (keep === 0 && p.zxid !== 0) return addViolation(updateServer(s, sid, { online: false, leader: null, learner: null }), 'truncateFailed');
      const history = me.history.slice(0, keep);
      // ZKDatabase.truncateLog clears the database and loads it again: the committedLog starts at the snapshot.
      const snapshotIndex = Math.min(me.snapshotIndex, keep);
      let next = updateServer(s, sid, { history, snapshotIndex, committedLogStart: snapshotIndex, committed: Math.min(me.committed, keep) });
      if (me.committed > keep) next = addViolation(next, 'deliveredTxnTruncated');
      return updateLearner(next, sid, { syncMode: 'TRUNC', syncTree: history });
    }
    default:
      return null;
  }
}

/**
 * NEWLEADER's persisting loop: for each zxid in packetsCommitted, in order, the head of packetsNotLogged is
 * appended to the log if it is that txn (a mismatch is skipped, as the real loop does with a warning). Returns
 * the log and the packets still not logged.
 */
function logCommittedPackets(history: readonly Txn[], notLogged: readonly Txn[], committed: readonly Zxid[]) {
  let logged = history;
  let rest = notLogged;
  for (const z of committed) {
    const head = rest[0];
    if (head === undefined || head.zxid !== z) continue;
    logged = [...logged, head];
    rest = rest.slice(1);
  }
  return { history: logged, notLogged: rest };
}

/** writeToTxnLog: from the start with DIFF, after NEWLEADER with SNAP or TRUNC (whose data tree is in memory). */
function writeToTxnLog(mode: string, newLeaderSeen: boolean): boolean {
  return mode === 'DIFF' || newLeaderSeen;
}

/** A PROPOSAL during sync: kept in packetsNotLogged. */
export function learnerProcessPROPOSALInSync(s0: ClusterState, sid: Sid, from: Sid, txn: Txn): ClusterState {
  const me = server(s0, sid);
  return updateLearner(takePacket(s0, from, sid), sid, { packetsNotLogged: [...me.learner!.packetsNotLogged, txn] });
}

/**
 * A COMMIT during sync: applied to the in-memory tree at once (SNAP/TRUNC before NEWLEADER), or remembered. The
 * handler first peeks packetsNotLogged and dereferences its head: with nothing buffered the learner thread dies
 * of a NullPointerException and the follower gives up the sync (ZOOKEEPER-4394; the fixed protocol never
 * empties the buffer of a proposal whose COMMIT is still to come).
 */
export function learnerProcessCOMMITInSync(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, zxid: Zxid): ClusterState {
  const l = server(s0, sid).learner!;
  const s = takePacket(s0, from, sid);
  if (l.packetsNotLogged.length === 0) return learnerShutdown(cfg, addViolation(s, 'commitNotBuffered'), sid);
  if (writeToTxnLog(l.syncMode, l.newLeaderSeen)) return updateLearner(s, sid, { packetsCommitted: [...l.packetsCommitted, zxid] });
  const head = l.packetsNotLogged[0];
  if (head === undefined || head.zxid !== zxid) return s; // "Committing 0x.., but next proposal is 0x.." (a warning)
  return updateLearner(s, sid, { syncTree: [...(l.syncTree ?? []), head], packetsNotLogged: l.packetsNotLogged.slice(1) });
}

/** An INFORM during sync (observers): applied in memory, or remembered as both proposed and committed. */
export function learnerProcessINFORMInSync(s0: ClusterState, sid: Sid, from: Sid, txn: Txn): ClusterState {
  const l = server(s0, sid).learner!;
  const s = takePacket(s0, from, sid);
  if (!writeToTxnLog(l.syncMode, l.newLeaderSeen)) return updateLearner(s, sid, { syncTree: [...(l.syncTree ?? []), txn] });
  return updateLearner(s, sid, { packetsNotLogged: [...l.packetsNotLogged, txn], packetsCommitted: [...l.packetsCommitted, txn.zxid] });
}

/**
 * NEWLEADER (ZooKeeper 3.9, after ZOOKEEPER-4643/4646/4394): take the snapshot if the data tree came from SNAP or
 * TRUNC; log and apply, synchronously, the packets already committed; keep the outstanding ones; write
 * currentEpoch; and only then ACK NEWLEADER. Everything the ACK vouches for is on disk.
 */
export function learnerProcessNEWLEADER(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, zxid: Zxid): ClusterState {
  const me = server(s0, sid);
  const l = me.learner!;
  const s = takePacket(s0, from, sid);
  let history = l.syncTree !== null ? l.syncTree : me.history;
  const snapshotIndex = l.syncTree !== null ? history.length : me.snapshotIndex;
  // SNAP replaced the database (deserializeSnapshot clears it): the committedLog starts after the snapshot.
  const committedLogStart = l.syncMode === 'SNAP' ? snapshotIndex : me.committedLogStart;
  const variant = cfg.variant === null ? null : newLeaderOfVariant(cfg, s, sid, from, zxid, history, snapshotIndex, committedLogStart);
  if (variant !== null) return variant;
  const persisted = logCommittedPackets(history, l.packetsNotLogged, l.packetsCommitted);
  history = persisted.history;
  const notLogged = persisted.notLogged;
  // A data tree replaced by SNAP must still start with what this server delivered before.
  const before = [...me.history, ...me.pendingLog].slice(0, me.committed);
  const keepsDelivered = before.every((t, i) => history[i]?.zxid === t.zxid && history[i]?.value === t.value);
  // Variants 2845/4712: after the sync the tree is what the sync made it.
  const synced = me.treeZxid === null ? {} : { treeZxid: null };
  let next = updateServer(s, sid, { history, snapshotIndex, committedLogStart, ...synced });
  if (!keepsDelivered) next = addViolation(next, 'deliveredTxnTruncated');
  next = updateLearner(next, sid, { syncTree: null, packetsNotLogged: notLogged, packetsCommitted: [], newLeaderSeen: true, syncMode: 'NONE' });
  next = writeCurrentEpoch(next, sid, epochOf(zxid));
  return sendPackets(next, sid, from, [{ type: 'ACK', zxid }]);
}

/**
 * NEWLEADER as the affected releases handled it, or null for the fixed protocol. `history` is the log after the
 * snapshot that SNAP and TRUNC take first (takeSnapshot), as in every release.
 */
function newLeaderOfVariant(
  cfg: Config,
  s: ClusterState,
  sid: Sid,
  from: Sid,
  zxid: Zxid,
  history: readonly Txn[],
  snapshotIndex: number,
  committedLogStart: number,
): ClusterState | null {
  const me = server(s, sid);
  const l = me.learner!;
  const done = { syncTree: null, newLeaderSeen: true, syncMode: 'NONE' as const };
  const ack = (next: ClusterState) => sendPackets(next, sid, from, [{ type: 'ACK', zxid }]);
  const withEpoch = (patch: Partial<Server>, learner: Partial<LearnerVars>) =>
    writeCurrentEpoch(updateLearner(updateServer(s, sid, { history, snapshotIndex, committedLogStart, ...patch }), sid, { ...done, ...learner }), sid, epochOf(zxid));
  switch (cfg.variant) {
    case '3911':
      // ZOOKEEPER-3911 (3.6.2 and before): setCurrentEpoch and ACK; the sync packets stay in packetsNotCommitted
      // and reach logRequest (the pending log) only after UPTODATE.
      return ack(withEpoch({}, {}));
    case '4646':
      // ZOOKEEPER-4646 (3.6.3-3.9.1): setCurrentEpoch, fzk.logRequest for every packet (queued for the
      // SyncRequestProcessor, fsynced by a later FollowerFlushLog), packetsNotCommitted.clear(), then the ACK.
      return ack(withEpoch({ pendingLog: [...me.pendingLog, ...l.packetsNotLogged] }, { packetsNotLogged: [] }));
    case '4685':
      // ZOOKEEPER-4685 (3.6.3-3.9.1): as for 4646, but the ACK is written after logRequest returns, so the
      // SyncRequestProcessor can fsync the packets and its SendAckRequestProcessor ACK them first. The ACK is the
      // later step LearnerFinishNEWLEADER.
      return withEpoch({ pendingLog: [...me.pendingLog, ...l.packetsNotLogged] }, { packetsNotLogged: [], newLeaderAckDue: zxid });
    case '4643':
      // ZOOKEEPER-4643 (up to 3.9.1): self.setCurrentEpoch(newEpoch) comes before the sync txns are durable. The
      // rest of the handler (persist, then ACK) is the later step LearnerFinishNEWLEADER: a crash can come between.
      return withEpoch({}, { newLeaderAckDue: zxid });
    case '4394': {
      // ZOOKEEPER-4394 (3.6.3-3.9.2): every buffered packet leaves packetsNotCommitted at NEWLEADER and the deque is
      // cleared. The committed ones are logged as the fixed protocol does; the outstanding ones go to the logger
      // (logRequest, as 3.9.1 did for all), so a COMMIT of one of them before UPTODATE finds the deque empty.
      const { history: logged, notLogged } = logCommittedPackets(history, l.packetsNotLogged, l.packetsCommitted);
      return ack(withEpoch({ history: logged, pendingLog: [...me.pendingLog, ...notLogged] }, { packetsNotLogged: [], packetsCommitted: [] }));
    }
    case '3023': {
      // ZOOKEEPER-3023 (up to 3.9.2): the committed packets are logged before the ACK but applied only after
      // UPTODATE (fzk.commit, CommitProcessor): the tree stays what it was loaded from the log.
      const { history: logged, notLogged } = logCommittedPackets(history, l.packetsNotLogged, l.packetsCommitted);
      return ack(withEpoch({ history: logged, committed: history.length }, { packetsNotLogged: notLogged }));
    }
    default:
      return null;
  }
}

/**
 * The rest of NEWLEADER in variants 4643 and 4685, after currentEpoch was written: 4643 persists the committed
 * packets (append, fsync, apply) and ACKs; 4685 only ACKs (its packets were queued to the logger already).
 */
export function learnerFinishNEWLEADER(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  const l = me.learner;
  if (!me.online || l === null || l.newLeaderAckDue === null) return null;
  const zxid = l.newLeaderAckDue;
  let next = updateLearner(s, sid, { newLeaderAckDue: null });
  if (cfg.variant === '4643') {
    const { history, notLogged } = logCommittedPackets(me.history, l.packetsNotLogged, l.packetsCommitted);
    next = updateServer(next, sid, { history });
    next = updateLearner(next, sid, { packetsNotLogged: notLogged, packetsCommitted: [] });
  }
  return sendPackets(next, sid, l.leader, [{ type: 'ACK', zxid }]);
}

/**
 * Leader.waitForNewLeaderAck, called by the handler with the first packet after the sync. An ACK of another
 * zxid is logged and not counted (the handler still waits for the leader to start). When a quorum with the
 * leader has ACKed, the leader starts serving (startZkServer, BROADCAST) and UPTODATE goes to every waiting
 * handler; a handler whose ACK comes later gets UPTODATE at once.
 */
export function leaderProcessACKNEWLEADER(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, zxid: Zxid): ClusterState {
  const me = server(s0, sid);
  const l = me.leader!;
  let s = updateLeader(takePacket(s0, from, sid), sid, { awaitingNewLeaderAck: without(l.awaitingNewLeaderAck, from) });
  if (me.zabState === 'BROADCAST') return sendPackets(s, sid, from, [{ type: 'UPTODATE' }]);
  const matches = zxid === makeZxid(l.newEpoch, 0);
  if (!matches) s = addViolation(s, 'newLeaderAckMismatch');
  const newLeaderAcks = matches && isVoter(cfg, from) ? addSorted(l.newLeaderAcks, from) : l.newLeaderAcks;
  const awaitingUpToDate = addSorted(l.awaitingUpToDate, from);
  s = updateLeader(s, sid, { newLeaderAcks, awaitingUpToDate });
  const quorumFormed = isQuorum(cfg, newLeaderAcks) || (cfg.mutations.has('countLearnerTwice') && matches && countedTwice(cfg, newLeaderAcks, from));
  if (!(newLeaderAcks.includes(sid) && quorumFormed)) return s;
  // startZkServer: everything in the leader's log is committed in the new epoch.
  s = updateServer(s, sid, {
    zabState: 'BROADCAST',
    committed: me.history.length,
    currentVote: { ...me.currentVote, peerEpoch: l.newEpoch },
  });
  s = updateLeader(s, sid, { awaitingUpToDate: [] });
  for (const j of awaitingUpToDate) s = sendPackets(s, sid, j, [{ type: 'UPTODATE' }]);
  const newlyCommitted = me.history
    .filter((t) => !s.ghost.committed.some((c) => c.zxid === t.zxid))
    .map((t) => ({ ...t, epoch: l.newEpoch }));
  if (newlyCommitted.length > 0) s = { ...s, ghost: { ...s.ghost, committed: [...s.ghost.committed, ...newlyCommitted] } };
  return s;
}

/** The countLearnerTwice breakage: the participant whose ACK just arrived is counted once more. */
function countedTwice(cfg: Config, acks: readonly Sid[], from: Sid): boolean {
  return isVoter(cfg, from) && acks.filter((x) => isVoter(cfg, x)).length + 1 > Math.floor(cfg.nodes / 2);
}

/**
 * UPTODATE: the learner starts serving (BROADCAST), updates its vote's epoch (ZOOKEEPER-1732), hands the
 * packets still unlogged to the SyncRequestProcessor (logged and ACKed later) and commits those already
 * committed.
 */
export function learnerProcessUPTODATE(cfg: Config, s0: ClusterState, sid: Sid, from: Sid): ClusterState {
  const me = server(s0, sid);
  const l = me.learner!;
  const s = takePacket(s0, from, sid);
  const pendingLog = [...me.pendingLog, ...l.packetsNotLogged];
  if (cfg.variant === '3023') {
    // ZOOKEEPER-3023: zk.startServing() first; the committed packets go to fzk.commit, i.e. the CommitProcessor's
    // queue (packetsCommitted, applied by FollowerCommitProcessor), after the follower is already serving.
    const next = updateServer(s, sid, { zabState: 'BROADCAST', pendingLog, currentVote: { ...me.currentVote, peerEpoch: l.newEpoch } });
    return updateLearner(next, sid, { packetsNotLogged: [] });
  }
  const all = [...me.history, ...pendingLog];
  // The whole log is the new epoch's initial history, committed since the leader was established.
  let committed = me.history.length;
  for (const z of l.packetsCommitted) {
    if (all[committed]?.zxid === z) committed++;
  }
  const next = updateServer(s, sid, {
    zabState: 'BROADCAST',
    pendingLog,
    committed,
    currentVote: { ...me.currentVote, peerEpoch: l.newEpoch },
  });
  return updateLearner(next, sid, { packetsNotLogged: [], packetsCommitted: [] });
}
