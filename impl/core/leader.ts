// Leader: discovery (getEpochToPropose, waitForEpochAck), the NEWLEADER quorum (waitForNewLeaderAck), the
// per-learner LearnerHandler state, and the tick that pings learners and steps down without a synced quorum.
import { broken } from './breaks.ts';
import type { QuorumPeer } from './peer.ts';
import { syncFollower } from './sync.ts';
import { leaderOnAck, leaderOnRequest, releaseSyncs, type Outstanding, type PendingSync } from './broadcast.ts';
import { type ConnId, type LearnerType, type QuorumPacket, type Sid, type TimerName, epochOf, makeZxid, zxidToHex } from './types.ts';

/** What the leader knows of one learner connection (LearnerHandler). */
export interface LearnerHandler {
  readonly conn: ConnId;
  readonly sid: Sid;
  readonly learnerType: LearnerType;
  /** info: waiting for LEADERINFO to go out; epoch: waiting for ACKEPOCH; syncing: NEWLEADER sent; broadcast: UPTODATE sent. */
  phase: 'info' | 'epoch' | 'ackWait' | 'syncing' | 'acked' | 'broadcast';
  peerLastZxid: number;
  tickOfNextAckDeadline: number;
  /** PINGs sent to this learner, and PINGs it answered (one for each, in order): a pending sync's proof of life. */
  pingsSent: number;
  pingsAnswered: number;
}

export interface LeaderState {
  /** The epoch being established; -1 until getEpochToPropose has a quorum. */
  epoch: number;
  phase: 'discovery' | 'sync' | 'broadcast';
  maxAcceptedEpoch: number;
  connectingFollowers: Set<Sid>;
  electingFollowers: Set<Sid>;
  electionFinished: boolean;
  newLeaderAcks: Set<Sid>;
  handlers: Map<ConnId, LearnerHandler>;
  /** Proposals sent and not yet committed, in zxid order. */
  outstanding: Map<number, Outstanding>;
  lastProposed: number;
  /** How far this leader's own log is flushed and its own ACK counted (LeaderFlushLog); none yet: epoch's 0. */
  flushed: number;
  tick: number;
  /** The leader's own (currentEpoch, lastZxid) when discovery began: no follower may be ahead of it. */
  summary: { currentEpoch: number; lastZxid: number };
  /** Syncs not answered yet, in the order they came (Leader.pendingSyncs; broadcast.ts). */
  syncs: PendingSync[];
}

/**
 * Leader.lead -> ZooKeeperServer.loadData: "Make a clean snapshot" (takeSnapshot) of the database the new leader
 * leads with. A TRUNC as a learner later reloads from it, so the committedLog a later sync decides on starts
 * after it (spec/zab/roles.ts takeLead moves snapshotIndex there too). A durable write: logged before the event
 * of the step that takes the lead (FLEDecide).
 */
export function leaderLoadData(p: QuorumPeer): void {
  p.db.txnsSinceSnapshot = 0;
  if (p.disk.snapshot(p.db.lastProcessedZxid, () => p.db.snapshotImage())) p.emitWrite('SnapshotWrite', { zxid: zxidToHex(p.db.lastProcessedZxid) });
}

/** Leader.lead(): count ourselves toward the new epoch and give discovery initLimit ticks. */
export function becomeLeader(p: QuorumPeer): void {
  p.leader = {
    epoch: -1,
    phase: 'discovery',
    maxAcceptedEpoch: -1,
    connectingFollowers: new Set(),
    electingFollowers: new Set([p.myid]),
    electionFinished: false,
    newLeaderAcks: new Set([p.myid]),
    handlers: new Map(),
    outstanding: new Map(),
    lastProposed: 0,
    flushed: 0,
    tick: 0,
    summary: { currentEpoch: p.currentEpoch, lastZxid: p.lastLoggedZxid },
    syncs: [],
  };
  p.setTimer('leaderInit', p.cfg.initLimit * p.cfg.tickTime);
  getEpochToPropose(p, p.myid, p.acceptedEpoch);
  for (const [conn, msg] of p.takeParked()) leaderOnQuorumPacket(p, conn, msg);
}

/** Leader.getEpochToPropose: one past the largest accepted epoch of a quorum of connecting participants. */
function getEpochToPropose(p: QuorumPeer, sid: Sid, lastAcceptedEpoch: number): void {
  const l = p.leader!;
  if (l.epoch >= 0) return;
  if (lastAcceptedEpoch >= l.maxAcceptedEpoch) l.maxAcceptedEpoch = lastAcceptedEpoch + (broken('epochNotMaxPlusOne') ? 0 : 1);
  if (p.isVoter(sid) || (broken('observerInQuorum') && p.cfg.servers.has(sid))) l.connectingFollowers.add(sid);
  if (!l.connectingFollowers.has(p.myid) || !p.isQuorum(l.connectingFollowers)) return;
  l.epoch = l.maxAcceptedEpoch;
  l.lastProposed = makeZxid(l.epoch, 0);
  l.flushed = l.lastProposed;
  p.setAcceptedEpoch(l.epoch);
  // Every handler that was waiting in getEpochToPropose now sends LEADERINFO.
  for (const h of l.handlers.values()) if (h.phase === 'info') sendLeaderInfo(p, h);
  // A leader that is a quorum by itself (one voter) goes on without anyone's ACKEPOCH.
  maybeFinishElection(p);
}

/** waitForEpochAck returns once a quorum (with us) acked the epoch: the epoch is current; sync the waiting. */
function maybeFinishElection(p: QuorumPeer): void {
  const l = p.leader!;
  if (l.epoch < 0 || l.electionFinished || !p.isQuorum(l.electingFollowers)) return;
  l.electionFinished = true;
  l.phase = 'sync';
  p.setCurrentEpoch(l.epoch);
  for (const w of [...l.handlers.values()]) if (w.phase === 'ackWait') syncFollower(p, w);
  maybeStartServing(p);
}

/** waitForNewLeaderAck returns once a quorum (with us) acked NEWLEADER: serve, and send UPTODATE. */
function maybeStartServing(p: QuorumPeer): void {
  const l = p.leader!;
  if (l.phase === 'sync' && p.isQuorum(l.newLeaderAcks)) {
    l.phase = 'broadcast';
    p.updateElectionVote(l.epoch);
    p.cancelTimer('leaderInit');
    p.setTimer('leaderTick', p.cfg.tickTime);
  }
  if (l.phase !== 'broadcast') return;
  for (const w of l.handlers.values()) {
    if (w.phase !== 'acked') continue;
    p.sendPacket(w.conn, w.sid, { type: 'UPTODATE' });
    w.phase = 'broadcast';
  }
}

function sendLeaderInfo(p: QuorumPeer, h: LearnerHandler): void {
  p.sendPacket(h.conn, h.sid, { type: 'LEADERINFO', newEpoch: p.leader!.epoch });
  h.phase = 'epoch';
}

export function leaderOnQuorumPacket(p: QuorumPeer, conn: ConnId, msg: QuorumPacket): void {
  const l = p.leader!;
  const h = l.handlers.get(conn);
  if (!h) {
    if (msg.type === 'FOLLOWERINFO' || msg.type === 'OBSERVERINFO') return processLearnerInfo(p, conn, msg);
    return closeHandler(p, conn, `expected FOLLOWERINFO, got ${msg.type}`);
  }
  if (msg.from !== h.sid) return closeHandler(p, conn, `packet claims to be from ${msg.from} on the connection of ${h.sid}`);
  // Any packet proves the learner alive (LearnerHandler.run resets tickOfNextAckDeadline).
  if (h.phase === 'broadcast' || h.phase === 'acked') h.tickOfNextAckDeadline = l.tick + p.cfg.syncLimit;
  switch (msg.type) {
    case 'ACKEPOCH':
      if (h.phase !== 'epoch') return closeHandler(p, conn, `ACKEPOCH in phase ${h.phase}`);
      return processAckEpoch(p, h, msg.currentEpoch, msg.lastZxid, msg);
    case 'ACK':
      if (h.phase === 'syncing' && msg.zxid === makeZxid(l.epoch, 0)) return processAckNewLeader(p, h, msg);
      if (h.phase === 'syncing' || h.phase === 'acked' || h.phase === 'broadcast') return leaderOnAck(p, h.sid, msg.zxid, msg);
      return closeHandler(p, conn, `ACK in phase ${h.phase}`);
    case 'PING':
      // LearnerHandler: the sessions the learner's clients kept alive (Leader.touch in ZooKeeper).
      if (msg.sessions?.length) p.send({ kind: 'touchSessions', sessions: msg.sessions });
      h.pingsAnswered++;
      return releaseSyncs(p);
    case 'REQUEST':
      return leaderOnRequest(p, msg, h);
    default:
      return closeHandler(p, conn, `unexpected ${msg.type} from a learner`);
  }
}

/** LeaderProcessFOLLOWERINFO (or OBSERVERINFO): register the handler, maybe fix the epoch, send LEADERINFO. */
function processLearnerInfo(p: QuorumPeer, conn: ConnId, msg: QuorumPacket & { type: 'FOLLOWERINFO' | 'OBSERVERINFO' }): void {
  const l = p.leader!;
  const learnerType: LearnerType = msg.type === 'FOLLOWERINFO' ? 'participant' : 'observer';
  const declared = p.cfg.servers.get(msg.from);
  if (declared !== learnerType || msg.from === p.myid) {
    return closeHandler(p, conn, `${msg.type} from ${msg.from}, which is ${declared ?? 'not in the ensemble'}`);
  }
  // A reconnecting learner replaces its old handler.
  for (const old of l.handlers.values()) if (old.sid === msg.from) closeHandler(p, old.conn, 'replaced by a new connection');
  const h: LearnerHandler = { conn, sid: msg.from, learnerType, phase: 'info', peerLastZxid: 0, tickOfNextAckDeadline: l.tick + p.cfg.initLimit + p.cfg.syncLimit, pingsSent: 0, pingsAnswered: 0 };
  l.handlers.set(conn, h);
  if (l.epoch >= 0) sendLeaderInfo(p, h);
  else getEpochToPropose(p, h.sid, msg.acceptedEpoch);
  p.emit('LeaderProcessFOLLOWERINFO', { recv: msg, params: { peer: h.sid, epoch: l.epoch } });
}

/** LeaderProcessACKEPOCH: waitForEpochAck. A learner ahead of us would lose data: refuse it. */
function processAckEpoch(p: QuorumPeer, h: LearnerHandler, epoch: number, zxid: number, msg: QuorumPacket): void {
  const l = p.leader!;
  h.peerLastZxid = zxid;
  h.phase = 'ackWait';
  if (!l.electionFinished) {
    const s = l.summary;
    if (epoch !== -1 && (epoch > s.currentEpoch || (epoch === s.currentEpoch && zxid > s.lastZxid)) && !broken('leaderAcceptsAhead')) {
      p.emit('LeaderProcessACKEPOCH', { recv: msg, params: { peer: h.sid, refused: 'follower is ahead of the leader' } });
      return closeHandler(p, h.conn, `follower ${h.sid} is ahead of the leader (epoch ${epoch}, zxid ${zxidToHex(zxid)})`);
    }
    // A learner that had already accepted this epoch (-1) is not counted (waitForEpochAck): nor was its history
    // compared with ours.
    if (epoch !== -1 && (h.learnerType === 'participant' || broken('observerInQuorum'))) l.electingFollowers.add(h.sid);
    p.emit('LeaderProcessACKEPOCH', { recv: msg, params: { peer: h.sid } });
    maybeFinishElection(p);
    return;
  }
  p.emit('LeaderProcessACKEPOCH', { recv: msg, params: { peer: h.sid } });
  syncFollower(p, h);
}

/** LeaderProcessACKNEWLEADER: waitForNewLeaderAck; with a quorum the leader starts serving and sends UPTODATE. */
function processAckNewLeader(p: QuorumPeer, h: LearnerHandler, msg: QuorumPacket): void {
  const l = p.leader!;
  h.phase = 'acked';
  h.tickOfNextAckDeadline = l.tick + p.cfg.syncLimit;
  if (h.learnerType === 'participant' || broken('observerInQuorum')) l.newLeaderAcks.add(h.sid);
  maybeStartServing(p);
  p.emit('LeaderProcessACKNEWLEADER', { recv: msg, params: { peer: h.sid, serving: l.phase === 'broadcast' } });
}

export function leaderOnTimeout(p: QuorumPeer, timer: TimerName): void {
  const l = p.leader!;
  if (timer === 'leaderInit') {
    if (l.phase === 'broadcast') return;
    return stepDown(p, `no quorum during ${l.phase} within initLimit`);
  }
  if (timer !== 'leaderTick') return;
  l.tick++;
  // A handler that sent nothing for syncLimit ticks (initLimit while syncing) is dead to us.
  for (const h of [...l.handlers.values()]) {
    if (l.tick > h.tickOfNextAckDeadline) closeHandler(p, h.conn, `no packet from ${h.sid} within its deadline`);
  }
  // syncedAckSet: ourselves and every participant whose LearnerHandler.synced(): alive and within its ack
  // deadline, whatever its phase (one still syncing counts; those past the deadline were closed above).
  // Observers never count.
  const synced = [p.myid, ...[...l.handlers.values()].filter((h) => h.learnerType === 'participant' || broken('observerInQuorum')).map((h) => h.sid)];
  if (!p.isQuorum(synced) && !broken('neverStepDown')) return stepDown(p, `not sufficient followers synced, only ${synced.join(',')}`);
  for (const h of l.handlers.values()) if (h.phase !== 'info' && h.phase !== 'epoch') ping(p, h);
  p.setTimer('leaderTick', p.cfg.tickTime);
}

/** A PING, counted: the learner answers each with one, in order. */
export function ping(p: QuorumPeer, h: LearnerHandler): void {
  p.sendPacket(h.conn, h.sid, { type: 'PING' });
  h.pingsSent++;
}

/** LeaderStepDown: Leader.shutdown, back to LOOKING. */
function stepDown(p: QuorumPeer, reason: string): void {
  p.log('warn', `leader stepping down: ${reason}`);
  p.leaveRole('LeaderStepDown', { reason });
}

export function leaderOnClosed(p: QuorumPeer, conn: ConnId, reason: string): void {
  const h = p.leader!.handlers.get(conn);
  if (!h) return;
  p.leader!.handlers.delete(conn);
  p.emit('ConnectionLost', { params: { peer: h.sid, reason } });
}

export function closeHandler(p: QuorumPeer, conn: ConnId, reason: string): void {
  p.log('warn', `closing learner connection ${conn}: ${reason}`);
  p.send({ kind: 'closeQuorum', conn, reason });
  leaderOnClosed(p, conn, reason);
}

/** Leader.shutdown: close every handler; fail writes that can no longer be answered here. */
export function leaderShutdown(p: QuorumPeer): void {
  const l = p.leader!;
  for (const h of l.handlers.values()) p.send({ kind: 'closeQuorum', conn: h.conn, reason: 'leader shutting down' });
  l.handlers.clear();
  p.db.dropPrepared();
  // Outstanding proposals are in our log: like ZooKeeper's fastForwardDataBase, apply them now; the next
  // leader either commits them or makes us TRUNC them.
  for (const prop of l.outstanding.values()) {
    if (prop.txn.origin?.sid === p.myid) p.reply(prop.txn.origin.req, { ok: false, error: 'CONNECTION_LOSS: leader stepped down' });
    p.commitTxn({ zxid: prop.txn.zxid, op: prop.txn.op });
  }
  l.outstanding.clear();
  // A sync this leader could not confirm is never answered: its client's connection closes (a learner's
  // pending syncs fail when it loses us).
  for (const s of l.syncs) if (s.to.kind === 'local') p.reply(s.to.req, { ok: false, error: 'CONNECTION_LOSS: leader stepped down' });
  l.syncs = [];
}
