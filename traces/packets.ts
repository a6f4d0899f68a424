// The messages of a trace: one schema per packet type, each field with one spelling, the same for the checker's
// traces and the implementation's logs (traces/README.md, "Messages"). The names are those of the values in
// ZooKeeper's code: a FOLLOWERINFO carries the learner's acceptedEpoch (Learner.registerWithLeader sends it as
// the zxid makeZxid(acceptedEpoch, 0)), a LEADERINFO the newEpoch, an ACKEPOCH the learner's currentEpoch and
// lastZxid (LearnerHandler reads them as the packet's data and zxid).
//
// Logs written before version 3 spelled some of them otherwise; `currentSpelling` turns those into this form,
// and the reader (traces/reader.ts) applies it to every message it reads, so nothing after the reader knows the
// old spellings.
import * as Schema from 'effect/Schema';
import * as SchemaGetter from 'effect/SchemaGetter';
import { epochOf, ZXID_TEXT_READ, zxidFromHex, zxidToHex, zxidValue, type Zxid } from './zxid.ts';

/** A zxid's text in a trace line (traces/zxid.ts; validation of untrusted input). */
export const ZxidText = Schema.String.check(Schema.isPattern(ZXID_TEXT_READ, { message: 'a zxid is written as 0x followed by lowercase hex' }));

/** The two-way codec: a zxid's text in a trace ↔ the zxid (its fast paths are traces/zxid.ts's functions). */
export const ZxidFromHex = ZxidText.pipe(
  Schema.decodeTo(Schema.Number, {
    decode: SchemaGetter.transform(zxidFromHex),
    encode: SchemaGetter.transform(zxidToHex),
  }),
);

const Int = Schema.Number.check(Schema.isInt());
const Sid = Int.check(Schema.isGreaterThanOrEqualTo(0));
/** A server id (ZooKeeper's `myid`, QuorumPeer.getMyId()). */
export type Sid = number;

/** The vote a server proposes: FastLeaderElection's proposedLeader, proposedZxid, proposedEpoch. */
export interface Proposal {
  readonly leader: Sid;
  readonly zxid: Zxid;
  readonly peerEpoch: number;
}

/** QuorumPeer.ServerState. */
export const ServerState = Schema.Literals(['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING']);
export type ServerState = typeof ServerState.Type;
/** QuorumPeer.LearnerType: a server's role in the ensemble (observers never vote and never lead). */
export const LearnerType = Schema.Literals(['participant', 'observer']);
export type LearnerType = typeof LearnerType.Type;

/** Every message: `id` is "<from>:<n>", n counting the sender's messages (a send and its receive share it). */
const envelope = { id: Schema.String.check(Schema.isMinLength(1)), from: Sid, to: Sid } as const;

const packet = <const T extends string, const F extends Schema.Struct.Fields>(types: readonly [T, ...T[]], fields: F) =>
  Schema.Struct({ ...envelope, type: types.length === 1 ? Schema.Literal(types[0]) : Schema.Literals(types), ...fields });

/** FastLeaderElection's ToSend/Notification. */
export const NotificationMsg = packet(['NOTIFICATION'], { leader: Int, zxid: ZxidText, electionEpoch: Int, state: ServerState, peerEpoch: Int });
/** Learner.registerWithLeader: the learner's acceptedEpoch. */
export const LearnerInfoMsg = packet(['FOLLOWERINFO', 'OBSERVERINFO'], { acceptedEpoch: Int });
/** LearnerHandler: the epoch the leader proposes. */
export const LeaderInfoMsg = packet(['LEADERINFO'], { newEpoch: Int });
/** The learner's currentEpoch (-1: it had already accepted this epoch) and the last zxid in its log. */
export const AckEpochMsg = packet(['ACKEPOCH'], { currentEpoch: Int, lastZxid: ZxidText });
/** Packets that carry a zxid alone: the sync's opening DIFF/TRUNC, COMMIT, NEWLEADER, ACK. */
export const ZxidMsg = packet(['DIFF', 'TRUNC', 'COMMIT', 'NEWLEADER', 'ACK'], { zxid: ZxidText });
/** The leader's data tree up to zxid: its size (implementation logs) or its txns (the checker's abstract ones). */
export const SnapMsg = packet(['SNAP'], { zxid: ZxidText, size: Schema.optionalKey(Int), snapshot: Schema.optionalKey(Schema.Array(Schema.Unknown)) });
/**
 * A txn: its zxid; in the checker's traces also the spec's abstract `value`. The operation is not in the
 * message: the leader logs it once, in its LeaderProcessRequest's params (`txn`, see RequestTxn).
 */
export const TxnMsg = packet(['PROPOSAL', 'INFORM'], { zxid: ZxidText, value: Schema.optionalKey(Schema.Unknown) });
export const UpToDateMsg = packet(['UPTODATE'], {});
/** Logged by version 1 only: a learner forwarding a client write, and liveness pings (never logged, accepted). */
export const UnloggedMsg = packet(['REQUEST', 'PING'], {});

const ZabMessage = Schema.Union([NotificationMsg, LearnerInfoMsg, LeaderInfoMsg, AckEpochMsg, ZxidMsg, SnapMsg, TxnMsg, UpToDateMsg, UnloggedMsg]);
export type PacketType = (typeof ZabMessage.Type)['type'];
export const PACKET_TYPES: readonly PacketType[] = ['NOTIFICATION', 'FOLLOWERINFO', 'OBSERVERINFO', 'LEADERINFO', 'ACKEPOCH', 'DIFF', 'TRUNC', 'COMMIT', 'NEWLEADER', 'ACK', 'SNAP', 'PROPOSAL', 'INFORM', 'UPTODATE', 'REQUEST', 'PING'];
const ZAB_TYPES: ReadonlySet<string> = new Set(PACKET_TYPES);

/**
 * A message of another spec's trace (`check --spec`): any type that is not one of ZooKeeper's above, with any
 * fields. A ZooKeeper packet must match its own schema.
 */
const OtherSpecMessage = Schema.StructWithRest(
  Schema.Struct({ ...envelope, type: Schema.String.check(Schema.makeFilter((t: string) => !ZAB_TYPES.has(t) || `a ${t} does not have the fields of one`)) }),
  [Schema.Record(Schema.String, Schema.Unknown)],
);

export const TraceMessage = Schema.Union([ZabMessage, OtherSpecMessage]);

/**
 * The schema of each packet type, for a reader that decodes a message by its `type` (a union tries its members in
 * turn: 4.5 µs for an ACK against 1.4 µs for its own schema), and the schema of any other spec's messages.
 */
export const MESSAGE_BY_TYPE: ReadonlyMap<string, Schema.Top> = new Map<string, Schema.Top>([
  ['NOTIFICATION', NotificationMsg],
  ['FOLLOWERINFO', LearnerInfoMsg],
  ['OBSERVERINFO', LearnerInfoMsg],
  ['LEADERINFO', LeaderInfoMsg],
  ['ACKEPOCH', AckEpochMsg],
  ...(['DIFF', 'TRUNC', 'COMMIT', 'NEWLEADER', 'ACK'] as const).map((t) => [t, ZxidMsg] as [string, Schema.Top]),
  ['SNAP', SnapMsg],
  ['PROPOSAL', TxnMsg],
  ['INFORM', TxnMsg],
  ['UPTODATE', UpToDateMsg],
  ['REQUEST', UnloggedMsg],
  ['PING', UnloggedMsg],
]);
export const OTHER_SPEC_MESSAGE: Schema.Top = OtherSpecMessage;
/** The type names ZooKeeper's packets; conform reads ZAB traces only, where every message is one of these. */
export type TraceMessage = typeof ZabMessage.Type;

/**
 * A message as written before version 3, in this version's spelling; others are returned as they are (the
 * schema judges them). Implementation logs (versions 1 and 2) gave FOLLOWERINFO and LEADERINFO as ZooKeeper's
 * zxid (epoch, 0) and ACKEPOCH as `epoch`/`zxid`, and version 1 put the txn's operation (`op`, `origin`) in
 * PROPOSAL, INFORM and REQUEST; the checker's traces gave a PROPOSAL's or INFORM's zxid inside `txn`.
 */
export function currentSpelling(m: Record<string, unknown>): Record<string, unknown> {
  switch (m['type']) {
    case 'FOLLOWERINFO':
    case 'OBSERVERINFO':
      if ('acceptedEpoch' in m || !('zxid' in m)) return m;
      return { id: m['id'], from: m['from'], to: m['to'], type: m['type'], acceptedEpoch: epochOf(zxidValue(m['zxid'])) };
    case 'LEADERINFO':
      if ('newEpoch' in m || !('zxid' in m)) return m;
      return { id: m['id'], from: m['from'], to: m['to'], type: m['type'], newEpoch: epochOf(zxidValue(m['zxid'])) };
    case 'ACKEPOCH':
      if ('currentEpoch' in m) return m;
      return { id: m['id'], from: m['from'], to: m['to'], type: m['type'], currentEpoch: m['epoch'], lastZxid: m['zxid'] };
    case 'PROPOSAL':
    case 'INFORM': {
      const txn = m['txn'];
      if (txn !== null && typeof txn === 'object') {
        const t = txn as Record<string, unknown>;
        return { id: m['id'], from: m['from'], to: m['to'], type: m['type'], zxid: t['zxid'], ...('value' in t ? { value: t['value'] } : {}) };
      }
      if (!('op' in m) && !('origin' in m)) return m;
      return { id: m['id'], from: m['from'], to: m['to'], type: m['type'], zxid: m['zxid'] };
    }
    case 'REQUEST':
      return { id: m['id'], from: m['from'], to: m['to'], type: m['type'] };
    default:
      return m;
  }
}

/**
 * ZooKeeper's txn types (ZooDefs.OpCode names, as TxnHeader.type gives them), and our `move`; `set` and `del` are
 * the key-value operations of the implementation before it served ZooKeeper's data tree.
 */
export const TXN_TYPES = ['create', 'create2', 'createContainer', 'createTTL', 'delete', 'deleteContainer', 'setData', 'setACL', 'check', 'multi', 'createSession', 'closeSession', 'error', 'reconfig', 'move', 'set', 'del'] as const;
export type TxnType = (typeof TXN_TYPES)[number];

/**
 * A request's transaction, as the leader's LeaderProcessRequest logs it in `params.txn`: its type, its path where
 * it has one, a session id (decimal or "0x" hex text) where it has one, and any other fields of the txn record.
 * conform does not compare txns with the spec's (the spec's are abstract values); it reads both this form and the
 * older `op`/`key`/`value` params.
 */
export const RequestTxn = Schema.StructWithRest(
  Schema.Struct({
    type: Schema.Literals(TXN_TYPES),
    path: Schema.optionalKey(Schema.String),
    session: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^(0x[0-9a-f]+|\d+)$/))),
  }),
  [Schema.Record(Schema.String, Schema.Unknown)],
);
export type RequestTxn = typeof RequestTxn.Type;

/**
 * The txn of a LeaderProcessRequest's params in the form above, whichever form was logged: `txn`, or the
 * implementation's older key-value `op` (`set` with `key` and `value`, `del` with `key`); undefined if neither.
 */
export function requestTxn(params: Readonly<Record<string, unknown>>): RequestTxn | undefined {
  const txn = params['txn'];
  if (txn !== null && typeof txn === 'object') return txn as RequestTxn;
  const op = params['op'];
  if (op === 'set' || op === 'del') return { type: op, ...(typeof params['key'] === 'string' ? { path: params['key'] } : {}), ...('value' in params ? { value: params['value'] } : {}) };
  return undefined;
}

/** The zxid a message carries in its `zxid` field (NOTIFICATION, DIFF, TRUNC, COMMIT, NEWLEADER, ACK, SNAP, PROPOSAL, INFORM). */
export function messageZxid(m: TraceMessage): string | undefined {
  return 'zxid' in m && typeof m.zxid === 'string' ? m.zxid : undefined;
}
