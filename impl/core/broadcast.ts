// Leader broadcast: ProposalRequestProcessor (assign a zxid, log it, send PROPOSAL), the leader's own ACK once
// its log is durable (AckRequestProcessor), and Leader.processAck / tryToCommit (commit in zxid order on a
// quorum of ACKs; COMMIT to followers, INFORM to observers), and Leader.processSync (a sync answered once what
// was outstanding when it came is committed).
import { broken } from './breaks.ts';
import type { QuorumPeer } from './peer.ts';
import { ping, type LearnerHandler } from './leader.ts';
import { OpCode } from '../zkwire/codes.ts';
import { type Origin, type QuorumPacket, type Request, type Sid, type Txn, zxidToHex } from './types.ts';
import { decodeRequest } from '../zk/request.ts';
import { txnSummary } from '../zk/txn.ts';

export interface Outstanding {
  readonly txn: Txn;
  readonly acks: Set<Sid>;
}

/**
 * A sync the leader took and has not answered: from one of its own clients (`local`) or from a learner's client
 * (a LearnerSyncRequest, answered with SYNC on that learner's connection).
 */
export interface PendingSync {
  readonly to: { readonly kind: 'local'; readonly req: number } | { readonly kind: 'learner'; readonly conn: string; readonly sid: Sid; readonly origin: Origin };
  /** lastProposed when it came, if anything was outstanding (Leader.processSync's key); 0: nothing to wait for. */
  readonly zxid: number;
  /** Per learner connection, how many PINGs must be answered: the PINGs sent when this sync came. */
  readonly need: ReadonlyMap<string, number>;
}

/** A write from one of this leader's own clients. */
export function leaderClientWrite(p: QuorumPeer, req: number, request: Request): void {
  if (p.leader!.phase !== 'broadcast') return p.reply(req, { ok: false, error: 'NOT_READY: the leader is not serving yet' });
  if (request.type === OpCode.sync) return processSync(p, { kind: 'local', req });
  const summary = propose(p, request, { sid: p.myid, req });
  p.emit('LeaderProcessRequest', { params: { txn: summary, origin: p.myid } });
}

/** A write forwarded by a learner (REQUEST). Before the leader serves, the learner cannot have sent one. */
export function leaderOnRequest(p: QuorumPeer, msg: QuorumPacket & { type: 'REQUEST' }, h: LearnerHandler): void {
  if (p.leader!.phase !== 'broadcast') {
    p.log('warn', `dropping REQUEST from ${msg.from}: not serving yet`);
    return;
  }
  let request: Request;
  try {
    request = decodeRequest(msg.request);
  } catch (e) {
    p.log('warn', `dropping REQUEST from ${msg.from}: ${(e as Error).message}`);
    return;
  }
  // LearnerHandler turns a forwarded sync into a LearnerSyncRequest: no txn, answered by processSync.
  if (request.type === OpCode.sync) return processSync(p, { kind: 'learner', conn: h.conn, sid: h.sid, origin: msg.origin });
  const summary = propose(p, request, msg.origin);
  // The REQUEST is not traced (neither its send nor its receive): the params say where the write came from.
  p.emit('LeaderProcessRequest', { params: { txn: summary, origin: msg.origin.sid } });
}

/**
 * PrepRequestProcessor, then ProposalRequestProcessor: the request becomes a txn (or an error txn) at the next
 * zxid, checked against everything proposed before it. Returns what the transition log records of the txn
 * (its type and path: the one place a txn's content is logged; messages carry none in the trace).
 */
function propose(p: QuorumPeer, request: Request, origin: Origin): ReturnType<typeof txnSummary> {
  const l = p.leader!;
  const zxid = l.lastProposed + 1;
  const { op, txn: zk } = p.db.prepare(request, zxid, p.cfg.now(), [...l.outstanding.values()].map((o) => o.txn), p.cfg.extendedTypesEnabled ?? true);
  const txn: Txn = { zxid, op, origin };
  l.lastProposed = txn.zxid;
  l.outstanding.set(txn.zxid, { txn, acks: new Set(broken('leaderAckBeforeFsync') ? [p.myid] : []) });
  if (!broken('leaderProposeUnlogged')) p.logTxn(txn);
  for (const h of l.handlers.values()) {
    if (h.learnerType !== 'participant' || !isForwarding(h.phase)) continue;
    p.sendPacket(h.conn, h.sid, { type: 'PROPOSAL', zxid: txn.zxid, op, origin });
  }
  // Our own ACK counts only once the txn is on disk: the runtime feeds back `logSynced`.
  p.send({ kind: 'sync', zxid: txn.zxid });
  return txnSummary(zk);
}

function isForwarding(phase: string): boolean {
  return phase === 'syncing' || phase === 'acked' || phase === 'broadcast';
}

/**
 * LeaderFlushLog: the leader's log is durable up to zxid (its SyncRequestProcessor flushed), so its
 * AckRequestProcessor counts the leader's own ACK of every proposal up to there, in zxid order, and what now has a
 * quorum commits. Logged as its own event, the spec's step of leaderLog 'queued' (one spec step per proposal
 * flushed). A flush of nothing new (a later one already covered it, or it belongs to an earlier epoch) is no step.
 */
export function leaderOnLogSynced(p: QuorumPeer, zxid: number): void {
  const l = p.leader!;
  if (l.phase !== 'broadcast' || zxid <= l.flushed || zxid > l.lastProposed) return;
  l.flushed = zxid;
  const committed: string[] = [];
  for (const prop of [...l.outstanding.values()]) {
    if (prop.txn.zxid > zxid || prop.acks.has(p.myid)) continue;
    committed.push(...countAck(p, p.myid, prop.txn.zxid));
  }
  p.emit('LeaderFlushLog', { params: { zxid: zxidToHex(zxid), ...(committed.length ? { committed } : {}) } });
  if (committed.length) releaseSyncs(p);
}

/** LeaderProcessACK: count the ACK, then commit every leading proposal that has a quorum. */
export function leaderOnAck(p: QuorumPeer, sid: Sid, zxid: number, msg: QuorumPacket): void {
  const committed = countAck(p, sid, zxid);
  // A received ACK names its sender and zxid (the log gives it by id), and what it committed.
  p.emit('LeaderProcessACK', { recv: msg, ...(committed.length ? { params: { committed } } : {}) });
  // tryToCommit: the syncs that waited for these commits go after their COMMITs, on the same connections.
  if (committed.length) releaseSyncs(p);
}

/** Leader.processAck: count the ACK, then tryToCommit; the zxids committed. */
function countAck(p: QuorumPeer, sid: Sid, zxid: number): string[] {
  const l = p.leader!;
  const prop = l.outstanding.get(zxid);
  if (prop && p.isVoter(sid)) prop.acks.add(sid);
  const committed: string[] = [];
  // tryToCommit: never commit zxid while zxid-1 is still outstanding.
  for (const [z, first] of l.outstanding) {
    if (!p.isQuorum(first.acks) && !(broken('commitWithoutQuorum') && first.acks.size > 0)) {
      if (broken('commitOutOfOrder')) continue;
      break;
    }
    l.outstanding.delete(z);
    commit(p, first.txn);
    committed.push(zxidToHex(z));
  }
  return committed;
}

/**
 * Leader.processSync: a sync is answered once every proposal outstanding when it came is committed (ZooKeeper
 * keys it by lastProposed and answers it from tryToCommit), so a learner that gets the SYNC after those COMMITs
 * has applied every write acknowledged before its client's sync began.
 *
 * Beyond ZooKeeper: it is also answered only once a quorum (this leader and the participants) has answered a
 * PING sent after it came. A leader that is cut off or was paused (nemesis seeds 8, 39, 40) may not know yet
 * that others elected a new leader and committed writes it lacks; ZooKeeper answers a sync there as soon as
 * nothing is outstanding (and a sync of its own clients like a read). A quorum that answers after the sync came
 * was still following this leader then, so no later epoch could have committed anything before it.
 */
function processSync(p: QuorumPeer, to: PendingSync['to']): void {
  const l = p.leader!;
  const need = new Map<string, number>();
  for (const h of l.handlers.values()) {
    if (h.learnerType !== 'participant' || h.phase !== 'broadcast') continue;
    ping(p, h);
    need.set(h.conn, h.pingsSent);
  }
  l.syncs.push({ to, zxid: l.outstanding.size ? l.lastProposed : 0, need });
  releaseSyncs(p);
}

function syncDone(p: QuorumPeer, s: PendingSync): boolean {
  const l = p.leader!;
  const first = l.outstanding.keys().next();
  if (!first.done && first.value <= s.zxid) return false;
  const alive: Sid[] = [p.myid];
  for (const [conn, n] of s.need) {
    const h = l.handlers.get(conn);
    if (h && h.pingsAnswered >= n) alive.push(h.sid);
  }
  return p.isQuorum(alive);
}

/** Answer the syncs that are done, in the order they came (each waits for no less than the one before it). */
export function releaseSyncs(p: QuorumPeer): void {
  const l = p.leader!;
  while (l.syncs.length && syncDone(p, l.syncs[0]!)) {
    const { to } = l.syncs.shift()!;
    if (to.kind === 'local') p.send({ kind: 'syncReply', req: to.req, zxid: p.db.lastProcessedZxid });
    else if (l.handlers.has(to.conn)) p.sendPacket(to.conn, to.sid, { type: 'SYNC', origin: to.origin });
  }
}

function commit(p: QuorumPeer, txn: Txn): void {
  const l = p.leader!;
  for (const h of l.handlers.values()) {
    if (!isForwarding(h.phase)) continue;
    if (h.learnerType === 'participant') p.sendPacket(h.conn, h.sid, { type: 'COMMIT', zxid: txn.zxid });
    else p.sendPacket(h.conn, h.sid, { type: 'INFORM', zxid: txn.zxid, op: txn.op, origin: txn.origin });
  }
  p.commitTxn(txn);
}
