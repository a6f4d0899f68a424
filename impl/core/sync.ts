// LearnerHandler.syncFollower: how the leader brings a learner's history to its own. A pure decision over the
// leader's committed-log window, then the packets: DIFF / TRUNC / SNAP, the committed txns the learner lacks
// as PROPOSAL+COMMIT pairs, the outstanding proposals (startForwarding), and NEWLEADER.
import { broken } from './breaks.ts';
import type { QuorumPeer } from './peer.ts';
import type { LearnerHandler } from './leader.ts';
import { type Txn, type Zxid, counterOf, epochOf, makeZxid, zxidToHex } from './types.ts';

export type SyncPlan =
  | { readonly mode: 'DIFF'; readonly zxid: Zxid; readonly txns: readonly Txn[] }
  | { readonly mode: 'TRUNC'; readonly zxid: Zxid; readonly txns: readonly Txn[] }
  | { readonly mode: 'SNAP'; readonly zxid: Zxid };

/**
 * peerLastZxid: the learner's last logged zxid (from ACKEPOCH). lastProcessed: the last txn the leader applied.
 * committed: the leader's window, oldest first, ending at lastProcessed (the leader applies its whole log when it
 * starts leading). epochZxid: the epoch's zxid (epoch << 32) once the leader serves, else 0. ZooKeeper compares
 * the learner with the tree's lastProcessedZxid, which startZkServer sets to epochZxid and applied txns raise:
 * a leader serving an epoch it has applied nothing of, with an empty window, sends a SNAP even to a learner whose
 * log ends where its own does (spec/zab/sync.ts chooseSync). The SNAP carries the last txn applied.
 */
export function planSync(peerLastZxid: Zxid, lastProcessed: Zxid, committed: readonly Txn[], epochZxid: Zxid = 0): SyncPlan {
  const treeZxid = Math.max(lastProcessed, epochZxid);
  if (peerLastZxid === treeZxid) return { mode: 'DIFF', zxid: peerLastZxid, txns: [] };
  const min = committed[0]?.zxid;
  const max = committed[committed.length - 1]?.zxid;
  if (min === undefined || max === undefined) {
    // No window (a leader fresh from a snapshot): only an empty or longer history can be handled without SNAP.
    if (peerLastZxid > treeZxid) return { mode: 'TRUNC', zxid: treeZxid, txns: [] };
    return { mode: 'SNAP', zxid: lastProcessed };
  }
  if (peerLastZxid > max) return { mode: 'TRUNC', zxid: truncPoint(max), txns: [] };
  if (peerLastZxid < min || (broken('snapAtWindowEdge') && peerLastZxid === min)) {
    // Everything the learner has precedes the window: a DIFF works only if the window starts right after it,
    // which we cannot know without the txn before min. SNAP, as ZooKeeper does without its on-disk log.
    return { mode: 'SNAP', zxid: lastProcessed };
  }
  // queueCommittedProposals: find where the learner's history leaves ours.
  let prev: Zxid | null = null;
  for (let i = 0; i < committed.length; i++) {
    const t = committed[i]!;
    if (t.zxid < peerLastZxid) {
      prev = t.zxid;
      continue;
    }
    if (t.zxid === peerLastZxid) return { mode: 'DIFF', zxid: peerLastZxid, txns: committed.slice(i + (broken('diffSkipsOne') ? 2 : 1)) };
    // The learner has a zxid we never committed. If it is the first of a new epoch (counter 0 never names
    // a txn, so this means the learner only knows the epoch) a DIFF suffices; else roll it back to `prev`.
    if (counterOf(peerLastZxid) === 0) return { mode: 'DIFF', zxid: peerLastZxid, txns: committed.slice(i) };
    if (prev === null) return { mode: 'SNAP', zxid: lastProcessed };
    // queueCommittedProposals: "We cannot send TRUNC that cross epoch boundary": the learner's extra txns are
    // of another epoch than the leader's next one, so a SNAP replaces its history.
    if (epochOf(t.zxid) !== epochOf(peerLastZxid)) return { mode: 'SNAP', zxid: lastProcessed };
    return { mode: 'TRUNC', zxid: truncPoint(prev), txns: committed.slice(i) };
  }
  return { mode: 'DIFF', zxid: peerLastZxid, txns: [] };
}

/** Where a TRUNC goes (the test-only breakage truncOffByOne: one txn too far back, within the epoch). */
function truncPoint(z: Zxid): Zxid {
  return broken('truncOffByOne') && counterOf(z) > 1 ? z - 1 : z;
}

/** LeaderSyncFollower: send the plan, forward what is in flight, then NEWLEADER. */
export function syncFollower(p: QuorumPeer, h: LearnerHandler): void {
  const leader = p.leader!;
  let plan = planSync(h.peerLastZxid, p.db.lastProcessedZxid, p.db.committedLog(), leader.phase === 'broadcast' ? makeZxid(leader.epoch, 0) : 0);
  if (plan.mode === 'TRUNC' && broken('skipTrunc')) plan = { mode: 'DIFF', zxid: plan.zxid, txns: plan.txns };
  if (plan.mode === 'SNAP') {
    p.sendPacket(h.conn, h.sid, { type: 'SNAP', zxid: plan.zxid, data: p.db.serialize() });
  } else {
    p.sendPacket(h.conn, h.sid, { type: plan.mode, zxid: plan.zxid });
    for (const t of plan.txns) {
      p.sendPacket(h.conn, h.sid, { type: 'PROPOSAL', zxid: t.zxid, op: t.op, origin: t.origin });
      p.sendPacket(h.conn, h.sid, { type: 'COMMIT', zxid: t.zxid });
    }
  }
  // startForwarding: a participant also gets the proposals not yet committed, and from now on every new one.
  // Unlike ZooKeeper, forget the ACKs it gave them before it left: a TRUNC above may just have taken them out
  // of its log, and counting them can commit a txn that too few servers hold (docs/findings.md #1, reproduced
  // on ZooKeeper 3.8.0). It ACKs them again once it has logged the PROPOSALs sent here. The spec's
  // `--fix forgetStaleAcks`; the conformance check applies it to these logs.
  if (h.learnerType === 'participant' && !broken('noQueuedProposals')) {
    for (const prop of leader.outstanding.values()) {
      prop.acks.delete(h.sid);
      p.sendPacket(h.conn, h.sid, { type: 'PROPOSAL', zxid: prop.txn.zxid, op: prop.txn.op, origin: prop.txn.origin });
    }
  }
  h.phase = 'syncing';
  h.tickOfNextAckDeadline = leader.tick + p.cfg.initLimit + p.cfg.syncLimit;
  p.sendPacket(h.conn, h.sid, { type: 'NEWLEADER', zxid: makeZxid(leader.epoch, 0) });
  p.emit('LeaderSyncFollower', { params: { peer: h.sid, mode: plan.mode, zxid: zxidToHex(plan.zxid), peerLastZxid: zxidToHex(h.peerLastZxid) } });
}
