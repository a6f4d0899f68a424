// Leader broadcast: ProposalRequestProcessor (assign a zxid, log it, send PROPOSAL), the leader's own ACK once
// its log is durable (AckRequestProcessor), and Leader.processAck / tryToCommit (commit in zxid order on a
// quorum of ACKs; COMMIT to followers, INFORM to observers).
import { broken } from './breaks.ts';
import type { QuorumPeer } from './peer.ts';
import { type Op, type Origin, type QuorumPacket, type Sid, type Txn, zxidHex } from './types.ts';

export interface Outstanding {
  readonly txn: Txn;
  readonly acks: Set<Sid>;
}

/** A write from one of this leader's own clients. */
export function leaderClientWrite(p: QuorumPeer, req: number, op: Op): void {
  if (p.leader!.phase !== 'broadcast') return p.reply(req, { ok: false, error: 'NOT_READY: the leader is not serving yet' });
  propose(p, op, { sid: p.myid, req });
  p.emit('LeaderProcessRequest', { params: requestParams(op, p.myid) });
}

/** A write forwarded by a learner (REQUEST). Before the leader serves, the learner cannot have sent one. */
export function leaderOnRequest(p: QuorumPeer, msg: QuorumPacket & { type: 'REQUEST' }): void {
  if (p.leader!.phase !== 'broadcast') {
    p.log('warn', `dropping REQUEST from ${msg.from}: not serving yet`);
    return;
  }
  propose(p, msg.op, msg.origin);
  // The REQUEST is not traced (neither its send nor its receive): the params say where the write came from.
  p.emit('LeaderProcessRequest', { params: requestParams(msg.op, msg.origin.sid) });
}

/** The one place a txn's operation is logged (messages carry no op in the trace): op, key, value, origin. */
function requestParams(op: Op, origin: Sid): Record<string, unknown> {
  return op.op === 'set' ? { op: 'set', key: op.key, value: op.value, origin } : { op: 'del', key: op.key, origin };
}

function propose(p: QuorumPeer, op: Op, origin: Origin): void {
  const l = p.leader!;
  const txn: Txn = { zxid: l.lastProposed + 1, op, origin };
  l.lastProposed = txn.zxid;
  l.outstanding.set(txn.zxid, { txn, acks: new Set() });
  p.logTxn(txn);
  for (const h of l.handlers.values()) {
    if (h.learnerType !== 'participant' || !isForwarding(h.phase)) continue;
    p.sendPacket(h.conn, h.sid, { type: 'PROPOSAL', zxid: txn.zxid, op, origin });
  }
  // Our own ACK counts only once the txn is on disk: the runtime feeds back `logSynced`.
  p.send({ kind: 'sync', zxid: txn.zxid });
}

function isForwarding(phase: string): boolean {
  return phase === 'syncing' || phase === 'acked' || phase === 'broadcast';
}

/** The leader's log is durable up to zxid: its own ACK for every outstanding proposal up to there. */
export function leaderOnLogSynced(p: QuorumPeer, zxid: number): void {
  const l = p.leader!;
  for (const prop of l.outstanding.values()) {
    if (prop.txn.zxid > zxid || prop.acks.has(p.myid)) continue;
    leaderOnAck(p, p.myid, prop.txn.zxid);
  }
}

/** LeaderProcessACK: count the ACK, then commit every leading proposal that has a quorum. */
export function leaderOnAck(p: QuorumPeer, sid: Sid, zxid: number, msg?: QuorumPacket): void {
  const l = p.leader!;
  const prop = l.outstanding.get(zxid);
  if (prop && p.isVoter(sid)) prop.acks.add(sid);
  const committed: string[] = [];
  // tryToCommit: never commit zxid while zxid-1 is still outstanding.
  for (const [z, first] of l.outstanding) {
    if (!p.isQuorum(first.acks) && !(broken('commitWithoutQuorum') && first.acks.size > 0)) break;
    l.outstanding.delete(z);
    commit(p, first.txn);
    committed.push(zxidHex(z));
  }
  // A received ACK names its sender and zxid (the log gives it by id); the leader's own says both in params,
  // and is logged only when it commits something (the spec counts it when the leader proposes: nothing else
  // to explain).
  if (msg) p.emit('LeaderProcessACK', { recv: msg, ...(committed.length ? { params: { committed } } : {}) });
  else if (committed.length) p.emit('LeaderProcessACK', { params: { peer: sid, zxid: zxidHex(zxid), committed } });
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
