// ZAB phase 2, synchronization: LearnerHandler.syncFollower brings each learner's history to the leader's by
// DIFF, TRUNC or SNAP plus the committed and outstanding proposals, ends with NEWLEADER, and Learner.syncWithLeader
// applies them; the leader starts serving once a quorum has ACKed NEWLEADER, and each learner gets UPTODATE.
import type { Config } from '../config.ts';
import { isQuorum, isVoter } from '../config.ts';
import type { ClusterState, Txn } from '../state.ts';
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

export type SyncChoice = { readonly op: QuorumPacket; readonly from: Zxid };

/**
 * syncFollower's choice for a learner whose last zxid is `peer`, given the leader's log (`history`), how much
 * of it is committed, and where its committedLog starts. Returns the opening packet and the zxid after which
 * committed proposals are queued (PROPOSAL + COMMIT) and outstanding ones forwarded.
 */
export function chooseSync(cfg: Config, history: readonly Txn[], committed: number, logStart: number, peer: Zxid): SyncChoice {
  const lastProcessed = committed === 0 ? 0 : history[committed - 1]!.zxid;
  const snap = (): SyncChoice => ({ op: { type: 'SNAP', zxid: lastProcessed, snapshot: history.slice(0, committed) }, from: lastProcessed });
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
  // Behind the committedLog (syncing from the txn log on disk is not modelled): a snapshot.
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
  const committed = me.zabState === 'BROADCAST' ? me.committed : me.history.length;
  const { op, from } = chooseSync(cfg, me.history, committed, l.committedLogStart, target.lastZxid);
  const packets: QuorumPacket[] = [op];
  if (op.type !== 'SNAP') {
    for (const txn of me.history.slice(0, committed)) {
      if (txn.zxid > from) packets.push({ type: 'PROPOSAL', txn }, { type: 'COMMIT', zxid: txn.zxid });
    }
  }
  if (isVoter(cfg, learner)) {
    for (const txn of me.history.slice(committed)) if (txn.zxid > from) packets.push({ type: 'PROPOSAL', txn });
  }
  packets.push({ type: 'NEWLEADER', zxid: makeZxid(l.newEpoch, 0) });
  const next = updateLeader(s, sid, {
    toSync: l.toSync.filter((x) => x.sid !== learner),
    forwarding: addSorted(l.forwarding, learner),
    awaitingNewLeaderAck: addSorted(l.awaitingNewLeaderAck, learner),
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
      // truncateLog: the txn log is cut after zxid (durably); a zxid it does not have is fatal.
      const keep = p.zxid === 0 ? 0 : me.history.findIndex((t) => t.zxid === p.zxid) + 1;
      if (keep === 0 && p.zxid !== 0) return addViolation(updateServer(s, sid, { online: false, leader: null, learner: null }), 'truncateFailed');
      const history = me.history.slice(0, keep);
      let next = updateServer(s, sid, { history, snapshotIndex: Math.min(me.snapshotIndex, keep), committed: Math.min(me.committed, keep) });
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

/** A COMMIT during sync: applied to the in-memory tree at once (SNAP/TRUNC before NEWLEADER), or remembered. */
export function learnerProcessCOMMITInSync(s0: ClusterState, sid: Sid, from: Sid, zxid: Zxid): ClusterState {
  const l = server(s0, sid).learner!;
  const s = takePacket(s0, from, sid);
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
export function learnerProcessNEWLEADER(s0: ClusterState, sid: Sid, from: Sid, zxid: Zxid): ClusterState {
  const me = server(s0, sid);
  const l = me.learner!;
  const s = takePacket(s0, from, sid);
  let history = l.syncTree !== null ? l.syncTree : me.history;
  const snapshotIndex = l.syncTree !== null ? history.length : me.snapshotIndex;
  let notLogged = l.packetsNotLogged;
  for (const z of l.packetsCommitted) {
    const head = notLogged[0];
    if (head === undefined || head.zxid !== z) continue;
    history = [...history, head];
    notLogged = notLogged.slice(1);
  }
  let next = updateServer(s, sid, { history, snapshotIndex, committed: history.length });
  next = updateLearner(next, sid, { syncTree: null, packetsNotLogged: notLogged, packetsCommitted: [], newLeaderSeen: true, syncMode: 'NONE' });
  next = writeCurrentEpoch(next, sid, epochOf(zxid));
  return sendPackets(next, sid, from, [{ type: 'ACK', zxid }]);
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
export function learnerProcessUPTODATE(s0: ClusterState, sid: Sid, from: Sid): ClusterState {
  const me = server(s0, sid);
  const l = me.learner!;
  const s = takePacket(s0, from, sid);
  const pendingLog = [...me.pendingLog, ...l.packetsNotLogged];
  const all = [...me.history, ...pendingLog];
  let committed = me.committed;
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
