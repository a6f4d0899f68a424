// Obligations: what a run must have done by its end, not only what it did. Conform explains every logged step
// by a spec path; a server that stops doing something it must (ACK a PROPOSAL, take a COMMIT, step down without a
// quorum) logs nothing wrong, it logs nothing. When the run ended quiet (every fault healed, no new work, for a
// bound in time: the simulator's settle phase), every spec step of the protocol that is still enabled at the end
// of the explained path and that weak fairness promises (a delivered packet is taken by the server it was sent to;
// a leader that has lost its quorum steps down) is an omission of the implementation.
//
// Not obligations: faults and their timeouts (Crash, Restart, ConnectionLost, LearnerTimeout), client writes, the
// election's notifications (QuorumCnxManager may drop them, see explain.ts), the ACKs the leader logged receiving
// that conform left on their connection (it takes them only when a commit needs them), and the followers' log
// flushes, which conform takes only when an event needs them.
import type { Config } from '../../spec/config.ts';
import { isQuorum, isVoter } from '../../spec/config.ts';
import type { ClusterState } from '../../spec/index.ts';
import type { QuorumPacket } from '../../spec/zab/packets.ts';
import { quorumChannel } from '../../spec/state.ts';
import { zxidToHex as zxidHex } from '../../traces/zxid.ts';

export interface Obligation {
  /** The server that owed the step. */
  readonly sid: number;
  /** The spec step it never took, in the spec's words. */
  readonly action: string;
  readonly what: string;
}

function packetText(p: QuorumPacket): string {
  switch (p.type) {
    case 'PROPOSAL':
    case 'INFORM':
      return `${p.type} ${zxidHex(p.txn.zxid)}`;
    case 'COMMIT':
    case 'ACK':
    case 'DIFF':
    case 'TRUNC':
    case 'SNAP':
    case 'NEWLEADER':
      return `${p.type} ${zxidHex(p.zxid)}`;
    default:
      return p.type;
  }
}

/** The obligations still open in `s`, the state at the end of a quiet run's explained path. */
export function pendingObligations(cfg: Config, s: ClusterState, ackReceived: (leader: number, learner: number) => number): Obligation[] {
  const out: Obligation[] = [];
  for (const sid of cfg.sids) {
    const me = s.servers[sid - 1]!;
    if (!me.online) continue;
    // A packet delivered on a quorum connection is taken by its receiver (TCP: in order).
    for (const from of cfg.sids) {
      const head = quorumChannel(s, from, sid)[0];
      if (head === undefined) continue;
      if (head.type === 'ACK') {
        // conform leaves an ACK the leader logged receiving on the connection until a commit needs it
        // (explain.ts): only one it never logged is missing.
        if (head.zxid <= ackReceived(sid, from)) continue;
        out.push({ sid: from, action: 'FollowerProcessPROPOSAL', what: `server ${from}'s ACK of ${zxidHex(head.zxid)} never reached server ${sid}: server ${from} logged the PROPOSAL, server ${sid} no such ACK` });
        continue;
      }
      out.push({ sid, action: 'receive', what: `server ${sid} never took ${packetText(head)} from server ${from} (${quorumChannel(s, from, sid).length} packet(s) waiting on that connection)` });
    }
    // Leader.lead's ping loop: a serving leader without a quorum of synced participants steps down.
    if (me.leader !== null && me.zabState === 'BROADCAST' && !isQuorum(cfg, [sid, ...me.leader.learners.filter((j) => isVoter(cfg, j))])) {
      out.push({ sid, action: 'LeaderStepDown', what: `server ${sid} leads epoch ${me.currentEpoch} with only ${[sid, ...me.leader.learners].join(', ')} and never stepped down` });
    }
  }
  return out;
}
