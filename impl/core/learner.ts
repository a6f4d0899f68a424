// Learner (Follower and Observer): connect to the leader, registerWithLeader (FOLLOWERINFO/OBSERVERINFO,
// LEADERINFO, ACKEPOCH), syncWithLeader (DIFF/TRUNC/SNAP, PROPOSAL/COMMIT in sync, NEWLEADER, UPTODATE), then
// broadcast: log and ACK proposals, apply commits in order, forward client writes as REQUEST.
import { broken } from './breaks.ts';
import type { QuorumPeer } from './peer.ts';
import { type ConnId, type QuorumPacket, type Request, type Sid, type TimerName, type Txn, counterOf, zxidToHex } from './types.ts';
import { encodeRequest } from '../zk/request.ts';
import { OpCode } from '../zkwire/codes.ts';

export interface LearnerState {
  readonly leaderSid: Sid;
  readonly conn: ConnId;
  phase: 'connecting' | 'registering' | 'sync' | 'broadcast';
  newEpoch: number;
  /** Logged, not yet committed (FollowerZooKeeperServer.pendingTxns). */
  pending: Txn[];
  /**
   * Txns logged in sync and not committed before NEWLEADER (PROPOSALs; an observer's INFORMs after NEWLEADER):
   * ZooKeeper's packetsNotLogged, handed to the SyncRequestProcessor at UPTODATE.
   */
  notLoggedInSync: number[];
  /**
   * The SyncRequestProcessor's queue: txns appended and not yet flushed, each with whether its flush ACKs it
   * (a participant's, unless a test-only breakage says otherwise). FollowerFlushLog empties it after the fsync.
   */
  toFlush: { readonly zxid: number; readonly ack: boolean }[];
  seenNewLeader: boolean;
  /** Client writes forwarded to the leader and not yet answered. */
  forwarded: Set<number>;
  /** PROPOSALs taken since UPTODATE (the test-only breakage silentFollower counts them). */
  proposalsInBroadcast: number;
  /** Client syncs forwarded to the leader and not yet answered (FollowerZooKeeperServer.pendingSyncs). */
  syncs: Set<number>;
}

/** After FLE decided on someone else: connect to the leader's quorum port, within initLimit ticks. */
export function becomeLearner(p: QuorumPeer, leaderSid: Sid): void {
  const conn = p.newConnId();
  p.learner = { leaderSid, conn, phase: 'connecting', newEpoch: -1, pending: [], notLoggedInSync: [], toFlush: [], seenNewLeader: false, forwarded: new Set(), proposalsInBroadcast: 0, syncs: new Set() };
  p.takeParked();
  p.send({ kind: 'connectLeader', conn, sid: leaderSid });
  p.setTimer('learnerTimeout', p.cfg.initLimit * p.cfg.tickTime);
}

/** LearnerConnect: the socket is up, say who we are and which epoch we accepted. */
export function learnerOnConnected(p: QuorumPeer, conn: ConnId): void {
  const l = p.learner!;
  if (conn !== l.conn) return p.send({ kind: 'closeQuorum', conn, reason: 'stale leader connection' });
  l.phase = 'registering';
  const type = p.learnerType === 'participant' ? 'FOLLOWERINFO' : 'OBSERVERINFO';
  p.sendPacket(conn, l.leaderSid, { type, acceptedEpoch: p.acceptedEpoch });
  p.emit('LearnerConnect', { params: { leader: l.leaderSid } });
}

export function learnerOnQuorumPacket(p: QuorumPeer, conn: ConnId, msg: QuorumPacket): void {
  const l = p.learner!;
  if (conn !== l.conn) return p.send({ kind: 'closeQuorum', conn, reason: 'not the leader connection' });
  if (msg.from !== l.leaderSid) return giveUp(p, `packet from ${msg.from}, but the leader is ${l.leaderSid}`);
  // Every packet from the leader proves it alive: syncLimit ticks once synced, initLimit before.
  p.setTimer('learnerTimeout', (l.phase === 'broadcast' ? p.cfg.syncLimit : p.cfg.initLimit) * p.cfg.tickTime);
  if (msg.type === 'PING') {
    const sessions = p.cfg.touchedSessions?.() ?? [];
    return p.sendPacket(conn, l.leaderSid, sessions.length ? { type: 'PING', sessions } : { type: 'PING' });
  }
  if (l.phase === 'registering') {
    if (msg.type !== 'LEADERINFO') return giveUp(p, `expected LEADERINFO, got ${msg.type}`);
    return processLeaderInfo(p, msg.newEpoch, msg);
  }
  if (l.phase === 'sync') return syncWithLeader(p, msg);
  if (l.phase === 'broadcast') return broadcast(p, msg);
  giveUp(p, `${msg.type} before the connection was up`);
}

/** LearnerProcessLEADERINFO: accept the new epoch (durably) and report our history. */
function processLeaderInfo(p: QuorumPeer, newEpoch: number, msg: QuorumPacket): void {
  const l = p.learner!;
  let epochBytes: number;
  if (newEpoch > p.acceptedEpoch || (newEpoch < p.acceptedEpoch && broken('acceptLowerEpoch'))) {
    epochBytes = p.currentEpoch;
    if (broken('acceptedEpochNotDurable')) p.acceptedEpoch = newEpoch;
    else p.setAcceptedEpoch(newEpoch);
  } else if (newEpoch === p.acceptedEpoch) {
    // We already accepted it (a reconnect): -1 tells the leader not to compare our currentEpoch.
    epochBytes = -1;
  } else {
    p.emit('LearnerProcessLEADERINFO', { recv: msg, params: { refused: `epoch ${newEpoch} < acceptedEpoch ${p.acceptedEpoch}` } });
    return giveUp(p, `leader's epoch ${newEpoch} is less than our accepted epoch ${p.acceptedEpoch}`);
  }
  l.newEpoch = newEpoch;
  l.phase = 'sync';
  p.sendPacket(l.conn, l.leaderSid, { type: 'ACKEPOCH', currentEpoch: epochBytes, lastZxid: p.lastLoggedZxid });
  p.emit('LearnerProcessLEADERINFO', { recv: msg, params: { newEpoch } });
}

/** Learner.syncWithLeader: everything between ACKEPOCH and UPTODATE. */
function syncWithLeader(p: QuorumPeer, msg: QuorumPacket): void {
  const l = p.learner!;
  switch (msg.type) {
    case 'DIFF':
      return p.emit('LearnerProcessDIFF', { recv: msg });
    case 'TRUNC': {
      const rec = p.disk.truncate(msg.zxid);
      p.emitWrite('TxnLogTruncate', { zxid: zxidToHex(msg.zxid) });
      p.db.reset(rec.data, rec.snapshotZxid);
      for (const t of rec.txns) p.db.apply(t);
      p.lastLoggedZxid = p.db.lastProcessedZxid;
      // An epoch's zxid (counter 0) names no txn: a leader serving an epoch it has applied nothing of sends it
      // (its lastProcessedZxid, spec/zab/sync.ts chooseSync), and the log is cut before that epoch's txns.
      const beforeEpoch = counterOf(msg.zxid) === 0 && p.lastLoggedZxid < msg.zxid;
      if (p.lastLoggedZxid !== msg.zxid && !beforeEpoch) {
        // Our log does not reach the truncation point: the leader's view of us is wrong; start over.
        return giveUp(p, `TRUNC to ${zxidToHex(msg.zxid)} left the log at ${zxidToHex(p.lastLoggedZxid)}`);
      }
      return p.emit('LearnerProcessTRUNC', { recv: msg });
    }
    case 'SNAP':
      p.disk.installSnapshot(msg.zxid, msg.data);
      p.db.reset(msg.data, msg.zxid);
      p.lastLoggedZxid = msg.zxid;
      p.emitWrite('SnapshotWrite', { zxid: zxidToHex(msg.zxid) });
      return p.emit('LearnerProcessSNAP', { recv: msg, params: { size: p.db.size } });
    case 'PROPOSAL': {
      const txn: Txn = { zxid: msg.zxid, op: msg.op, origin: msg.origin };
      p.logTxn(txn);
      l.pending.push(txn);
      // Flushed and ACKed after UPTODATE, when ZooKeeper hands the packets not yet logged to its SyncRequestProcessor
      // (those committed before NEWLEADER are logged then without an ACK).
      l.notLoggedInSync.push(txn.zxid);
      return p.emit('LearnerProcessPROPOSALInSync', { recv: msg });
    }
    case 'COMMIT':
      applyUpTo(p, msg.zxid);
      if (!l.seenNewLeader) l.notLoggedInSync = l.notLoggedInSync.filter((z) => z > msg.zxid);
      return p.emit('LearnerProcessCOMMITInSync', { recv: msg });
    case 'INFORM':
      // An observer syncing while the leader commits: log and apply at once. After NEWLEADER, ZooKeeper keeps it in
      // packetsNotLogged for the SyncRequestProcessor (committed, never ACKed): flushed after UPTODATE.
      p.logTxn({ zxid: msg.zxid, op: msg.op, origin: msg.origin });
      p.commitTxn({ zxid: msg.zxid, op: msg.op, origin: msg.origin });
      if (l.seenNewLeader) l.notLoggedInSync.push(msg.zxid);
      return p.emit('LearnerProcessINFORMInSync', { recv: msg });
    case 'NEWLEADER': {
      // The epoch becomes current only with the history it names; the runtime fsyncs the log before the ACK.
      l.seenNewLeader = true;
      if (!broken('noCurrentEpochAtNewLeader')) p.setCurrentEpoch(l.newEpoch);
      p.sendPacket(l.conn, l.leaderSid, { type: 'ACK', zxid: msg.zxid });
      return p.emit('LearnerProcessNEWLEADER', { recv: msg });
    }
    case 'UPTODATE':
      if (!l.seenNewLeader) return giveUp(p, 'UPTODATE before NEWLEADER');
      l.phase = 'broadcast';
      p.updateElectionVote(l.newEpoch);
      // Learner.syncWithLeader: fzk.logRequest for each packet not yet logged; their ACKs follow the flush.
      queueForFlush(p, l.notLoggedInSync, p.learnerType === 'participant');
      l.notLoggedInSync = [];
      p.setTimer('learnerTimeout', p.cfg.syncLimit * p.cfg.tickTime);
      return p.emit('LearnerProcessUPTODATE', { recv: msg });
    default:
      return giveUp(p, `unexpected ${msg.type} during sync`);
  }
}

/** Follower.processPacket / Observer.processPacket once UPTODATE. */
function broadcast(p: QuorumPeer, msg: QuorumPacket): void {
  const l = p.learner!;
  switch (msg.type) {
    case 'PROPOSAL': {
      if (p.learnerType !== 'participant') return giveUp(p, 'PROPOSAL sent to an observer');
      const txn: Txn = { zxid: msg.zxid, op: msg.op, origin: msg.origin };
      if (txn.zxid !== p.lastLoggedZxid + 1 && txn.zxid <= p.lastLoggedZxid) p.log('warn', `PROPOSAL ${zxidToHex(txn.zxid)} after ${zxidToHex(p.lastLoggedZxid)}`);
      // Test-only: the ACK leaves now, before the txn is even appended; its flush then sends none.
      const early = broken('ackBeforeLog');
      if (early) p.sendPacket(l.conn, l.leaderSid, { type: 'ACK', zxid: txn.zxid });
      // FollowerZooKeeperServer.logRequest: appended to the log's buffer and queued for the flush, which ACKs it
      // (FollowerFlushLog, once the fsync is done). Test-only: silentFollower's flush never ACKs after the third.
      p.logTxn(txn);
      l.pending.push(txn);
      if (broken('applyOnPropose')) p.commitTxn(txn);
      queueForFlush(p, [txn.zxid], !early && !(broken('silentFollower') && ++l.proposalsInBroadcast > 3));
      return p.emit('FollowerProcessPROPOSAL', { recv: msg });
    }
    case 'COMMIT': {
      const first = l.pending[0];
      if (!first || first.zxid !== msg.zxid) {
        p.emit('FollowerProcessCOMMIT', { recv: msg, params: { error: 'does not match the next pending txn' } });
        return giveUp(p, `COMMIT ${zxidToHex(msg.zxid)} but next pending txn is ${first ? zxidToHex(first.zxid) : 'none'}`);
      }
      applyUpTo(p, msg.zxid);
      return p.emit('FollowerProcessCOMMIT', { recv: msg });
    }
    case 'INFORM': {
      if (p.learnerType !== 'observer') return giveUp(p, 'INFORM sent to a follower');
      const txn: Txn = { zxid: msg.zxid, op: msg.op, origin: msg.origin };
      p.logTxn(txn);
      p.commitTxn(txn);
      // Behind txns still queued since UPTODATE it joins their flush, so that the log stays in zxid order.
      if (l.toFlush.length > 0) queueForFlush(p, [txn.zxid], false);
      if (broken('observerAcks')) p.sendPacket(l.conn, l.leaderSid, { type: 'ACK', zxid: txn.zxid });
      return p.emit('ObserverProcessINFORM', { recv: msg });
    }
    case 'SYNC':
      // FollowerZooKeeperServer.sync: the COMMITs the leader sent before it are applied (each as it came), so
      // the client's next read sees every write committed before the leader took its sync. Not traced.
      if (msg.origin.sid !== p.myid || !l.syncs.delete(msg.origin.req)) return p.log('warn', `SYNC for a request we did not forward: ${JSON.stringify(msg.origin)}`);
      return p.send({ kind: 'syncReply', req: msg.origin.req, zxid: p.db.lastProcessedZxid });
    default:
      return giveUp(p, `unexpected ${msg.type} while broadcasting`);
  }
}

/** SyncRequestProcessor.processRequest: txns (appended already) wait for the next fsync; the runtime calls back. */
function queueForFlush(p: QuorumPeer, zxids: readonly number[], ack: boolean): void {
  if (zxids.length === 0) return;
  for (const zxid of zxids) p.learner!.toFlush.push({ zxid, ack });
  p.send({ kind: 'sync', zxid: zxids[zxids.length - 1]! });
}

/**
 * FollowerFlushLog: the log is fsynced up to zxid (a flush this role asked for), so the SyncRequestProcessor
 * passes each txn queued up to there to the SendAckRequestProcessor, which ACKs it to the leader; a queue the
 * flush does not reach waits for a later one. Logged as its own event, the spec's step of followerLog 'queued'
 * (one spec step per txn flushed). A flush this role did not ask for (its queue has no such zxid: one a later
 * flush already covered) is no step. A role that ends waits for its queue's flush and sends none of its ACKs
 * (QuorumPeer.leaveRole), as ZooKeeper's SyncRequestProcessor.shutdown flushes and writes them to a closed socket.
 */
export function learnerOnLogSynced(p: QuorumPeer, zxid: number): void {
  const l = p.learner!;
  if (!l.toFlush.some((t) => t.zxid === zxid)) return;
  const flushed: number[] = [];
  while (l.toFlush.length > 0 && l.toFlush[0]!.zxid <= zxid) {
    const t = l.toFlush.shift()!;
    flushed.push(t.zxid);
    if (t.ack) p.sendPacket(l.conn, l.leaderSid, { type: 'ACK', zxid: t.zxid });
  }
  p.emit('FollowerFlushLog', { params: { zxid: zxidToHex(flushed[flushed.length - 1]!) } });
}

function applyUpTo(p: QuorumPeer, zxid: number): void {
  const l = p.learner!;
  while (l.pending.length && l.pending[0]!.zxid <= zxid) {
    const txn = l.pending.shift()!;
    if (txn.origin?.sid === p.myid) l.forwarded.delete(txn.origin.req);
    p.commitTxn(txn);
  }
}

/**
 * Writes go to the leader (REQUEST); the answer comes with the COMMIT. Not logged (trace version 2): the spec
 * has no such step, and the leader's LeaderProcessRequest names this server as the write's origin.
 */
export function learnerClientWrite(p: QuorumPeer, req: number, request: Request): void {
  const l = p.learner!;
  if (l.phase !== 'broadcast') return p.reply(req, { ok: false, error: `NOT_READY: ${p.state} but not synced yet` });
  // FollowerRequestProcessor: a sync goes to the leader like a write, and is answered when its SYNC comes back.
  if (request.type === OpCode.sync) l.syncs.add(req);
  else l.forwarded.add(req);
  p.sendPacket(l.conn, l.leaderSid, { type: 'REQUEST', request: encodeRequest(request), origin: { sid: p.myid, req } });
}

export function learnerOnTimeout(p: QuorumPeer, timer: TimerName): void {
  if (timer !== 'learnerTimeout') return;
  const l = p.learner!;
  p.log('warn', `no word from leader ${l.leaderSid} (${l.phase}): going LOOKING`);
  p.leaveRole('LearnerTimeout', { leader: l.leaderSid, phase: l.phase });
}

export function learnerOnClosed(p: QuorumPeer, conn: ConnId, reason: string): void {
  const l = p.learner!;
  if (conn !== l.conn) return;
  p.leaveRole('ConnectionLost', { peer: l.leaderSid, reason });
}

function giveUp(p: QuorumPeer, reason: string): void {
  p.log('warn', `leaving leader ${p.learner!.leaderSid}: ${reason}`);
  p.leaveRole('ConnectionLost', { peer: p.learner!.leaderSid, reason });
}

/** Follower.shutdown: close the connection, fail forwarded writes, apply the logged tail (fastForwardDataBase). */
export function learnerShutdown(p: QuorumPeer): void {
  const l = p.learner!;
  p.send({ kind: 'closeQuorum', conn: l.conn, reason: 'learner shutting down' });
  for (const req of l.forwarded) p.reply(req, { ok: false, error: 'CONNECTION_LOSS: lost the leader' });
  l.forwarded.clear();
  // A sync the leader never answered is not answered here: this server has no leader to sync with.
  for (const req of l.syncs) p.reply(req, { ok: false, error: 'CONNECTION_LOSS: lost the leader before the sync was answered' });
  l.syncs.clear();
  for (const txn of l.pending) p.commitTxn({ zxid: txn.zxid, op: txn.op });
  l.pending = [];
}
