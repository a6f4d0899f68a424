// The packets of the quorum port (Leader's QuorumPacket types), as the spec carries them.
import type { Txn, Zxid } from '../types.ts';

export type QuorumPacket =
  /** Learner.registerWithLeader: its acceptedEpoch (OBSERVERINFO for an observer). */
  | { readonly type: 'FOLLOWERINFO' | 'OBSERVERINFO'; readonly acceptedEpoch: number }
  /** The epoch the leader proposes (sent as the zxid (newEpoch, 0)). */
  | { readonly type: 'LEADERINFO'; readonly newEpoch: number }
  /** The learner's currentEpoch (-1 if it had already accepted this epoch) and last logged zxid. */
  | { readonly type: 'ACKEPOCH'; readonly currentEpoch: number; readonly lastZxid: Zxid }
  /** Sync: the learner's history is a prefix of the leader's from this zxid on. */
  | { readonly type: 'DIFF'; readonly zxid: Zxid }
  /** Sync: the learner must cut its log back to this zxid. */
  | { readonly type: 'TRUNC'; readonly zxid: Zxid }
  /** Sync: the leader's whole data tree, up to zxid. */
  | { readonly type: 'SNAP'; readonly zxid: Zxid; readonly snapshot: readonly Txn[] }
  | { readonly type: 'PROPOSAL'; readonly txn: Txn }
  | { readonly type: 'COMMIT'; readonly zxid: Zxid }
  /** To an observer: a committed txn, whole (observers never see PROPOSALs). */
  | { readonly type: 'INFORM'; readonly txn: Txn }
  /** The end of the sync packets: the zxid (newEpoch, 0). */
  | { readonly type: 'NEWLEADER'; readonly zxid: Zxid }
  /** An ACK of a PROPOSAL, or of NEWLEADER (zxid (newEpoch, 0)). */
  | { readonly type: 'ACK'; readonly zxid: Zxid }
  | { readonly type: 'UPTODATE' };

export type PacketType = QuorumPacket['type'];
