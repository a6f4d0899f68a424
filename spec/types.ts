// Vocabulary shared by every phase of the spec: server ids, zxids, server states and votes.


/** Zxids and epochs are defined once, in traces/zxid.ts (shared with the implementation and the checker). */
export { type Zxid, NONE, makeZxid, epochOf, counterOf } from '../traces/zxid.ts';
import type { Zxid } from '../traces/zxid.ts';

/**
 * A server id (participants are 1..nodes, observers follow), the vote a server proposes (Proposal),
 * QuorumPeer.ServerState and QuorumPeer.LearnerType are the trace contract's (traces/packets.ts).
 */
export type { Sid, Proposal, ServerState, LearnerType } from '../traces/packets.ts';
import type { Sid, Proposal, ServerState } from '../traces/packets.ts';

/** A vote as recorded in recvset/outofelection, or settled on in currentVote (ZooKeeper's Vote). */
export interface Vote extends Proposal {
  readonly electionEpoch: number;
  /** The state of the server that sent it: LOOKING votes compare on all fields, decided ones on leader+epoch. */
  readonly state: ServerState;
}

/**
 * A FastLeaderElection notification (FastLeaderElection.Notification / ToSend). The sender's sid is the
 * channel it travels on, so it is not repeated here.
 */
export interface Notification {
  readonly leader: Sid;
  readonly zxid: Zxid;
  readonly electionEpoch: number;
  readonly state: ServerState;
  readonly peerEpoch: number;
}

/** A transaction: its zxid and the (unique) value a client wrote. */
export interface Txn {
  readonly zxid: Zxid;
  readonly value: number;
}

/** A committed txn and the epoch of the leader that committed it. */
export interface CommittedTxn extends Txn {
  readonly epoch: number;
}
