// ZAB phase 2, synchronization: LearnerHandler.syncFollower brings each learner's history to the leader's by
// DIFF, TRUNC or SNAP plus the committed and outstanding proposals, ends with NEWLEADER, and Learner.syncWithLeader
// applies them; the leader starts serving once a quorum has ACKed NEWLEADER, and each learner gets UPTODATE.
import type { Config } from '../config.ts';
import { isQuorum, isVoter } from '../config.ts';
import type { ClusterState, LearnerVars, Server, Txn } from '../state.ts';
import {
  addSorted,
  addViolation,
  logCommittedPackets,
  sendPackets,
  server,
  takePacket,
  updateLeader,
  updateLearner,
  updateServer,
  without,
  writeCurrentEpoch,
} from '../state.ts';
import type { Sid, Zxid } from '../types.ts';
import { counterOf, epochOf, makeZxid } from '../types.ts';
import type { QuorumPacket } from './packets.ts';
import { learnerShutdown } from './roles.ts';
import { seamsOf } from '../seams.ts';

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
  // A TRUNC, unless a deviation sends something else in its place (the seam insteadOfTrunc: skipTrunc).
  const deviation = seamsOf(cfg).insteadOfTrunc;
  const trunc = (choice: SyncChoice): SyncChoice => (deviation === undefined ? choice : deviation(choice, maxCommitted));

  if (peer === lastProcessed) return { op: { type: 'DIFF', zxid: peer }, from: peer };
  if (peer > maxCommitted && !isPeerNewEpochZxid) return trunc({ op: { type: 'TRUNC', zxid: maxCommitted }, from: maxCommitted });
  if (minCommitted <= peer && peer <= maxCommitted) {
    // queueCommittedProposals: DIFF if the learner's last zxid is in the committedLog, else TRUNC back to the
    // last zxid before it — unless the next txn is of another epoch, where it gives up and a SNAP is sent.
    if (log.some((t) => t.zxid === peer) || isPeerNewEpochZxid) return { op: { type: 'DIFF', zxid: maxCommitted }, from: peer };
    const before = log.filter((t) => t.zxid < peer);
    const prev = before.length === 0 ? 0 : before[before.length - 1]!.zxid;
    const next = log.find((t) => t.zxid > peer)!;
    if (epochOf(next.zxid) !== epochOf(peer)) return snap();
    return trunc({ op: { type: 'TRUNC', zxid: prev }, from: prev });
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
  // (docs/findings.md #2). The proposed fix counts toBeApplied as committed (the seam syncCountsToBeApplied).
  const committed = applied + (seamsOf(cfg).syncCountsToBeApplied ? applying : 0);
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
  // log (docs/findings.md #1). The proposed fix forgets it: the learner ACKs the re-sent PROPOSAL again (the seam
  // syncForgetsStaleAcks).
  const forget = seamsOf(cfg).syncForgetsStaleAcks === true && l.outstanding.some((p) => p.acks.includes(learner));
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
  // The affected releases ran the rest of the handler otherwise: the seam onNewLeader (variants 3911, 4643, 4646,
  // 4685, 4394, 3023).
  const deviation = seamsOf(cfg).onNewLeader;
  if (deviation !== undefined) return deviation(s, sid, from, zxid, { history, snapshotIndex, committedLogStart });
  const persisted = logCommittedPackets(history, l.packetsNotLogged, l.packetsCommitted);
  history = persisted.history;
  const notLogged = persisted.notLogged;
  // A data tree replaced by SNAP must still start with what this server delivered before.
  const before = [...me.history, ...me.pendingLog].slice(0, me.committed);
  const keepsDelivered = before.every((t, i) => history[i]?.zxid === t.zxid && history[i]?.value === t.value);
  // After the sync the tree is what the sync made it: the log's (treeZxid: null, which only variants 2845/4712 set).
  let next = updateServer(s, sid, { history, snapshotIndex, committedLogStart, treeZxid: null });
  if (!keepsDelivered) next = addViolation(next, 'deliveredTxnTruncated');
  next = updateLearner(next, sid, { syncTree: null, packetsNotLogged: notLogged, packetsCommitted: [], newLeaderSeen: true, syncMode: 'NONE' });
  next = writeCurrentEpoch(next, sid, epochOf(zxid));
  return sendPackets(next, sid, from, [{ type: 'ACK', zxid }]);
}

/**
 * A step of variants 4643 and 4685 only (the seam steps): the rest of a NEWLEADER handler that wrote currentEpoch
 * and stopped (newLeaderAckDue). The seam onFinishNewLeader does what remains before the ACK: 4643 persists the
 * committed packets (append, fsync, apply); 4685 nothing (its packets were queued to the logger already).
 */
export function learnerFinishNEWLEADER(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  const l = me.learner;
  const finish = seamsOf(cfg).onFinishNewLeader;
  if (finish === undefined || !me.online || l === null || l.newLeaderAckDue === null) return null;
  const next = finish(updateLearner(s, sid, { newLeaderAckDue: null }), sid, me, l);
  return sendPackets(next, sid, l.leader, [{ type: 'ACK', zxid: l.newLeaderAckDue }]);
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
  // A deviation may see a quorum the rule does not (the seam newLeaderQuorum: countLearnerTwice).
  const quorumFormed = isQuorum(cfg, newLeaderAcks) || (seamsOf(cfg).newLeaderQuorum?.(cfg, newLeaderAcks, from, matches) ?? false);
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

/**
 * UPTODATE: the learner starts serving (BROADCAST), updates its vote's epoch (ZOOKEEPER-1732), hands the
 * packets still unlogged to the SyncRequestProcessor (logged and ACKed later) and commits those already
 * committed.
 */
export function learnerProcessUPTODATE(cfg: Config, s0: ClusterState, sid: Sid, from: Sid): ClusterState {
  const me = server(s0, sid);
  const l = me.learner!;
  const s = takePacket(s0, from, sid);
  // Variant 3023 starts serving before it applies the committed packets: the seam onUpToDate.
  const deviation = seamsOf(cfg).onUpToDate;
  if (deviation !== undefined) return deviation(s, sid, me, l);
  const pendingLog = [...me.pendingLog, ...l.packetsNotLogged];
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
