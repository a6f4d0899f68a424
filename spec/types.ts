// Vocabulary shared by every phase of the spec: server ids, zxids, server states and votes.
import { zxidToHex } from '../traces/zxid.ts';

/** A server id (ZooKeeper's `myid`, QuorumPeer.getMyId()). Participants are 1..nodes, observers follow. */
export type Sid = number;

/**
 * A zxid: the high 32 bits are the epoch of the leader that proposed the transaction, the low 32 bits a
 * counter that leader assigns. Kept as a JS number (exact below 2^53, far above any bound the checker uses),
 * so zxids compare with < and > as ZooKeeper compares its longs.
 */
export type Zxid = number;

const EPOCH_SHIFT = 2 ** 32;

export function makeZxid(epoch: number, counter: number): Zxid {
  return epoch * EPOCH_SHIFT + counter;
}

export function epochOf(zxid: Zxid): number {
  return Math.floor(zxid / EPOCH_SHIFT);
}

export function counterOf(zxid: Zxid): number {
  return zxid % EPOCH_SHIFT;
}

/**
 * ZooKeeper uses Long.MIN_VALUE for "no such value": an observer proposes (MIN, MIN, MIN) since it may never
 * lead. Every real id, zxid and epoch is >= 0, so -1 orders the same way.
 */
export const NONE = -1;

/** QuorumPeer.ServerState. */
export type ServerState = 'LOOKING' | 'FOLLOWING' | 'LEADING' | 'OBSERVING';

/** QuorumPeer.LearnerType: observers never vote and never lead, but learn who leads. */
export type LearnerType = 'participant' | 'observer';

/** The vote a server proposes: FastLeaderElection's proposedLeader, proposedZxid, proposedEpoch. */
export interface Proposal {
  readonly leader: Sid;
  readonly zxid: Zxid;
  readonly peerEpoch: number;
}

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

/** A zxid as traces and counterexamples print it (see traces/zxid.ts). */
export function zxidText(zxid: Zxid): string {
  return zxidToHex(zxid);
}
