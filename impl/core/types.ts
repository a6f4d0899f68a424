// Shared vocabulary of the protocol core: zxids, votes, transactions, and the inputs and effects that cross the
// boundary between the deterministic core and the runtime that owns sockets, disks and clocks.
import type { TraceMessage } from '../../traces/schema.ts';

/** Zxids, epochs and the vocabulary of votes are defined once, in traces/ (shared with the spec and the checker). */
export { type Zxid, makeZxid, epochOf, counterOf, zxidToHex } from '../../traces/zxid.ts';
import type { Zxid } from '../../traces/zxid.ts';
export type { Sid, Proposal, ServerState, LearnerType } from '../../traces/packets.ts';
import type { Sid, Proposal, ServerState } from '../../traces/packets.ts';

/** A vote as kept in recvset/outofelection and as QuorumPeer.currentVote. */
export interface Vote extends Proposal {
  readonly electionEpoch: number;
}

export interface RecvVote extends Vote {
  readonly state: ServerState;
}

/**
 * A state-machine operation: one ZooKeeper txn (TxnHeader + its record, impl/zk/txn.ts) as the base64 of its jute
 * bytes. The core orders, logs, replicates and commits it without opening it; ZKDatabase (db.ts) applies it.
 */
export type Op = string;

/** A client's write request (ZooKeeper's Request: session, cxid, op type, the decoded record, authInfo). */
export type { Request } from '../zk/prep.ts';
import type { Request } from '../zk/prep.ts';
import type { Applied } from './db.ts';

/** Who asked for a write: the server holding the client's connection and its local request number. */
export interface Origin {
  readonly sid: Sid;
  readonly req: number;
}

export interface Txn {
  readonly zxid: Zxid;
  readonly op: Op;
  readonly origin?: Origin | undefined;
}

// ---- wire messages (validated in messages.ts; these are the shapes the core builds and reads) ----

interface MsgBase {
  readonly id: string;
  readonly from: Sid;
  readonly to: Sid;
}

export interface Notification extends MsgBase {
  readonly type: 'NOTIFICATION';
  readonly leader: Sid;
  readonly zxid: Zxid;
  readonly electionEpoch: number;
  readonly state: ServerState;
  readonly peerEpoch: number;
}

export type QuorumPacket = MsgBase &
  (
    // The discovery packets carry ZooKeeper's values under the names of the trace contract (traces/packets.ts):
    // FOLLOWERINFO's zxid is makeZxid(acceptedEpoch, 0), LEADERINFO's makeZxid(newEpoch, 0); ACKEPOCH's data is
    // the learner's currentEpoch (-1: it had accepted this epoch already) and its zxid the last one it logged.
    | { readonly type: 'FOLLOWERINFO' | 'OBSERVERINFO'; readonly acceptedEpoch: number }
    | { readonly type: 'LEADERINFO'; readonly newEpoch: number }
    | { readonly type: 'ACKEPOCH'; readonly currentEpoch: number; readonly lastZxid: Zxid }
    | { readonly type: 'DIFF' | 'TRUNC'; readonly zxid: Zxid }
    /** data: the tree and its sessions (ZKDatabase.serialize). */
    | { readonly type: 'SNAP'; readonly zxid: Zxid; readonly data: string }
    | { readonly type: 'PROPOSAL' | 'INFORM'; readonly zxid: Zxid; readonly op: Op; readonly origin?: Origin | undefined }
    | { readonly type: 'COMMIT' | 'ACK' | 'NEWLEADER'; readonly zxid: Zxid }
    | { readonly type: 'UPTODATE' }
    /** A learner's PING carries the sessions its clients kept alive since the last one (LearnerSessionTracker). */
    | { readonly type: 'PING'; readonly sessions?: readonly string[] | undefined }
    /** request: impl/zk/request.ts's encoding of the client's Request (Learner.request). */
    | { readonly type: 'REQUEST'; readonly request: string; readonly origin: Origin }
    /**
     * The leader's answer to a learner's sync (Leader.SYNC): every txn committed before the sync reached the
     * leader has been COMMITted on this connection before it. ZooKeeper's carries nothing (the learner answers
     * its pendingSyncs in order); ours names the request it answers.
     */
    | { readonly type: 'SYNC'; readonly origin: Origin }
  );
export type QuorumPacketType = QuorumPacket['type'];

/** Distributes Omit over a union, so each packet keeps its own fields. */
export type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type QuorumBody = DistOmit<QuorumPacket, 'id' | 'from' | 'to'>;

// ---- the core's boundary ----

/** A connection on the quorum port. The runtime names accepted ones, the core names the ones it opens. */
export type ConnId = string;

export type TimerName = 'notification' | 'finalize' | 'leaderTick' | 'leaderInit' | 'learnerTimeout';

export type Input =
  | { readonly kind: 'boot' }
  | { readonly kind: 'election'; readonly msg: Notification }
  | { readonly kind: 'quorum'; readonly conn: ConnId; readonly msg: QuorumPacket }
  | { readonly kind: 'quorumClosed'; readonly conn: ConnId; readonly reason: string }
  | { readonly kind: 'leaderConnected'; readonly conn: ConnId }
  | { readonly kind: 'timeout'; readonly timer: TimerName }
  /** The runtime made the txn log durable up to zxid (fed back after an `afterSync` effect). */
  | { readonly kind: 'logSynced'; readonly zxid: Zxid }
  | { readonly kind: 'clientWrite'; readonly req: number; readonly request: Request };

/** A write's outcome for the server holding the client's connection: the result of applying its txn. */
export type ClientResult =
  | { readonly ok: true; readonly zxid: Zxid; readonly applied: Applied }
  | { readonly ok: false; readonly error: string };

export type Effect =
  | { readonly kind: 'sendElection'; readonly msg: Notification }
  | { readonly kind: 'sendQuorum'; readonly conn: ConnId; readonly msg: QuorumPacket }
  | { readonly kind: 'connectLeader'; readonly conn: ConnId; readonly sid: Sid }
  | { readonly kind: 'closeQuorum'; readonly conn: ConnId; readonly reason: string }
  | { readonly kind: 'setTimer'; readonly timer: TimerName; readonly ms: number }
  | { readonly kind: 'cancelTimer'; readonly timer: TimerName }
  /** Make the txn log durable, then feed `logSynced` back. Sends queued before it leave only after the fsync. */
  | { readonly kind: 'sync'; readonly zxid: Zxid }
  | { readonly kind: 'clientReply'; readonly req: number; readonly result: ClientResult }
  /** A client's sync is done: this server has applied every txn committed before the leader took it. */
  | { readonly kind: 'syncReply'; readonly req: number; readonly zxid: Zxid }
  /** A committed txn was applied here: the runtime fires its watches and keeps its session tracker. */
  | { readonly kind: 'applied'; readonly zxid: Zxid; readonly applied: Applied }
  /**
   * The server left its role (Learner.shutdown / Leader.shutdown: QuorumPeer.closeAllConnections): every client
   * connection closes before anything else of the step, above all before the txns it logged but no quorum may
   * have committed are applied (fastForwardDataBase), so that no client ever reads or is notified of them.
   */
  | { readonly kind: 'closeAllConnections'; readonly reason: string }
  /** The leader heard from a learner which sessions its clients kept alive (hex ids). */
  | { readonly kind: 'touchSessions'; readonly sessions: readonly string[] }
  | { readonly kind: 'trace'; readonly event: RawTraceEvent }
  | { readonly kind: 'log'; readonly level: 'info' | 'warn'; readonly text: string };

/**
 * A trace event as the core emits it: the messages are the packets themselves (zxids as numbers, a SNAP with its
 * data), so that nothing is copied or formatted unless a log writes the event. The transition log encodes it
 * directly (tracelog.ts); `toTraceEvent` (peer.ts) gives its trace form.
 */
export interface RawTraceEvent {
  readonly action: string;
  readonly params?: Record<string, unknown>;
  /**
   * Txns appended to the log by this step before its event (each one a `TxnLogAppend` that changed nothing but
   * `lastZxid`), folded into the event instead of one event each (trace version 2, traces/README.md).
   */
  readonly appended?: Zxid[];
  /** Txns the step applied to the data tree (FinalRequestProcessor), in order (traces/README.md, `applied`). */
  readonly applied?: Zxid[];
  readonly recv?: Notification | QuorumPacket;
  readonly send?: (Notification | QuorumPacket)[];
  readonly post?: Record<string, unknown>;
}

/** A trace event in its trace form, before the runtime stamps it with seq, sid and time. */
export interface CoreTraceEvent {
  readonly action: string;
  readonly params?: Record<string, unknown>;
  readonly appended?: string[];
  readonly applied?: string[];
  readonly recv?: TraceMessage;
  readonly send?: TraceMessage[];
  readonly post?: Record<string, unknown>;
}
