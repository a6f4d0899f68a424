// The rest of ZooKeeper's client protocol, on top of jute.ts's codec and its basic records: every request and
// response record of zookeeper.jute (module org.apache.zookeeper.proto) that a 3.8 client sends or reads, the
// multi framing of MultiOperationRecord / MultiResponse, and the tables from an op code to its request and
// response records that a server decodes a client's frame with.
//
// The field order of every record was checked against the `signature()` of the classes in Debian's
// zookeeper-jute-3.8.0.jar (e.g. LCreateTTLRequest(sB[LACL(iLId(ss))]il)); the tests pin a few layouts byte by
// byte. A frame from a client is untrusted: every read is bounds-checked (JuteReader) and a failure is a
// JuteError naming the field and the offset.

import { OpCode } from './codes.ts';
import {
  ACL,
  CreateRequest,
  CreateResponse,
  DeleteRequest,
  ExistsRequest,
  ExistsResponse,
  GetDataRequest,
  GetDataResponse,
  JuteError,
  JuteReader,
  JuteWriter,
  ReplyHeader,
  RequestHeader,
  SetDataRequest,
  SetDataResponse,
  Stat,
  WatcherEvent,
  bool,
  buffer,
  int,
  long,
  record,
  ustring,
  vector,
  type Codec,
  type RecordOf,
} from './jute.ts';

// ---- records (zookeeper.jute, module org.apache.zookeeper.proto and .data) ----------------------------------

export const ClientInfo = record('ClientInfo', { authScheme: ustring, user: ustring });
export const CreateTTLRequest = record('CreateTTLRequest', { path: ustring, data: buffer, acl: vector(ACL), flags: int, ttl: long });
export const Create2Response = record('Create2Response', { path: ustring, stat: Stat });
export const GetChildrenRequest = record('GetChildrenRequest', { path: ustring, watch: bool });
export const GetChildrenResponse = record('GetChildrenResponse', { children: vector(ustring) });
export const GetChildren2Request = record('GetChildren2Request', { path: ustring, watch: bool });
export const GetChildren2Response = record('GetChildren2Response', { children: vector(ustring), stat: Stat });
export const GetAllChildrenNumberRequest = record('GetAllChildrenNumberRequest', { path: ustring });
export const GetAllChildrenNumberResponse = record('GetAllChildrenNumberResponse', { totalNumber: int });
export const GetEphemeralsRequest = record('GetEphemeralsRequest', { prefixPath: ustring });
export const GetEphemeralsResponse = record('GetEphemeralsResponse', { ephemerals: vector(ustring) });
export const GetACLRequest = record('GetACLRequest', { path: ustring });
export const GetACLResponse = record('GetACLResponse', { acl: vector(ACL), stat: Stat });
export const SetACLRequest = record('SetACLRequest', { path: ustring, acl: vector(ACL), version: int });
export const SetACLResponse = record('SetACLResponse', { stat: Stat });
export const CheckVersionRequest = record('CheckVersionRequest', { path: ustring, version: int });
export const SyncRequest = record('SyncRequest', { path: ustring });
export const SyncResponse = record('SyncResponse', { path: ustring });
export const SetWatches = record('SetWatches', {
  relativeZxid: long,
  dataWatches: vector(ustring),
  existWatches: vector(ustring),
  childWatches: vector(ustring),
});
export const SetWatches2 = record('SetWatches2', {
  relativeZxid: long,
  dataWatches: vector(ustring),
  existWatches: vector(ustring),
  childWatches: vector(ustring),
  persistentWatches: vector(ustring),
  persistentRecursiveWatches: vector(ustring),
});
export const AddWatchRequest = record('AddWatchRequest', { path: ustring, mode: int });
export const RemoveWatchesRequest = record('RemoveWatchesRequest', { path: ustring, type: int });
export const CheckWatchesRequest = record('CheckWatchesRequest', { path: ustring, type: int });
/** addAuth: type is always 0 (ClientCnxn.addAuthInfo); the reply comes with xid -4 (Xid.auth). */
export const AuthPacket = record('AuthPacket', { type: int, scheme: ustring, auth: buffer });
export const WhoAmIResponse = record('WhoAmIResponse', { clientInfo: vector(ClientInfo) });
export const ErrorResponse = record('ErrorResponse', { err: int });
export const MultiHeader = record('MultiHeader', { type: int, done: bool, err: int });
export const ReconfigRequest = record('ReconfigRequest', { joiningServers: ustring, leavingServers: ustring, newMembers: ustring, curConfigId: long });
export const GetSASLRequest = record('GetSASLRequest', { token: buffer });
export const SetSASLResponse = record('SetSASLResponse', { token: buffer });

/**
 * Ours, not ZooKeeper's (op code OpCode.move = 1001): move the znode `from`, with its whole subtree, to `to`, as
 * one transaction. `version` is the expected version of `from` (-1: any). The reply has no body (like delete's);
 * errors as ZooKeeper names them: NONODE (`from`, or the parent of `to`, missing), NODEEXISTS (`to` exists),
 * BADVERSION, BADARGUMENTS (a bad path, the root, or `to` inside `from`), NOCHILDRENFOREPHEMERALS, NOAUTH.
 * A standard ZooKeeper answers this op code with UNIMPLEMENTED and closes the connection.
 */
export const MoveRequest = record('MoveRequest', { from: ustring, to: ustring, version: int });

export type CreateRequestT = RecordOf<typeof CreateRequest.fields>;
export type CreateTTLRequestT = RecordOf<typeof CreateTTLRequest.fields>;
export type SetWatches2T = RecordOf<typeof SetWatches2.fields>;
export type MultiHeaderT = RecordOf<typeof MultiHeader.fields>;
export type WatcherEventT = { type: number; state: number; path: string | null };

// ---- multi (MultiOperationRecord, MultiResponse) ------------------------------------------------------------
//
// A multi request is, per op, a MultiHeader {type, done: false, err: -1} then that op's request record, and at the
// end a MultiHeader {type: -1, done: true, err: -1}. A multi response is, per result, a MultiHeader {type, done:
// false, err} then that result's record (an error result is type -1 with an ErrorResponse), and the same end
// header. multiRead (op 22) uses the same framing with getChildren and getData ops only.

/** The ops a multi may hold, with their request records (MultiOperationRecord.deserialize). */
export const MULTI_OP_REQUESTS: ReadonlyMap<number, Codec<any>> = new Map<number, Codec<any>>([
  [OpCode.create, CreateRequest],
  [OpCode.create2, CreateRequest],
  [OpCode.createContainer, CreateRequest],
  [OpCode.createTTL, CreateTTLRequest],
  [OpCode.delete, DeleteRequest],
  [OpCode.deleteContainer, DeleteRequest],
  [OpCode.setData, SetDataRequest],
  [OpCode.check, CheckVersionRequest],
  [OpCode.getChildren, GetChildrenRequest],
  [OpCode.getData, GetDataRequest],
]);

/** The result records of a multi response by type (MultiResponse.deserialize); null: a header alone. */
export const MULTI_RESULT_RECORDS: ReadonlyMap<number, Codec<any> | null> = new Map<number, Codec<any> | null>([
  [OpCode.create, CreateResponse],
  [OpCode.create2, Create2Response],
  [OpCode.delete, null],
  [OpCode.setData, SetDataResponse],
  [OpCode.check, null],
  [OpCode.getChildren, GetChildrenResponse],
  [OpCode.getData, GetDataResponse],
  [OpCode.error, ErrorResponse],
]);

export interface MultiOp {
  type: number;
  /** The op's request record, as MULTI_OP_REQUESTS names it. */
  request: any;
}
export interface MultiResult {
  /** The op type of the result (create, create2, delete, setData, check, getChildren, getData) or -1 (error). */
  type: number;
  /** The header's err: 0, or for an error result the same code as the ErrorResponse. */
  err: number;
  /** The result record (CreateResponse, Create2Response, ...), the ErrorResponse of an error, null for none. */
  body: any;
}

const END_HEADER = { type: -1, done: true, err: -1 };

function multiList<T>(name: string, readOne: (r: JuteReader, h: MultiHeaderT, field: string) => T, writeOne: (w: JuteWriter, v: T) => void): Codec<T[]> & { name: string } {
  return {
    name,
    // An empty multi is the end header alone.
    minBytes: MultiHeader.minBytes,
    write(w, list) {
      for (const v of list) writeOne(w, v);
      MultiHeader.write(w, END_HEADER);
    },
    read(r, field) {
      const out: T[] = [];
      const base = field || name;
      // Every op takes at least a header, so the count is bounded by the frame; the loop ends at `done` or at
      // the end of the frame (a JuteError from the header read).
      for (let i = 0; ; i++) {
        const at = r.offset;
        const h = MultiHeader.read(r, `${base}[${i}].header`);
        if (h.done) {
          if (h.type !== -1) throw new JuteError(`${base}[${i}].header: the end header at offset ${at} has type ${h.type}, not -1`);
          return out;
        }
        out.push(readOne(r, h, `${base}[${i}]`));
      }
    },
  };
}

/** A multi's (or multiRead's) ops: MultiOperationRecord. */
export const MultiRequest = multiList<MultiOp>(
  'MultiRequest',
  (r, h, field) => {
    const codec = MULTI_OP_REQUESTS.get(h.type);
    if (codec === undefined) throw new JuteError(`${field}.header: op type ${h.type} cannot be part of a multi (before offset ${r.offset})`);
    return { type: h.type, request: codec.read(r, `${field}.request`) };
  },
  (w, op) => {
    const codec = MULTI_OP_REQUESTS.get(op.type);
    if (codec === undefined) throw new JuteError(`MultiRequest: op type ${op.type} cannot be part of a multi`);
    MultiHeader.write(w, { type: op.type, done: false, err: -1 });
    codec.write(w, op.request);
  },
);

/** A multi's (or multiRead's) results: MultiResponse. */
export const MultiResponse = multiList<MultiResult>(
  'MultiResponse',
  (r, h, field) => {
    const codec = MULTI_RESULT_RECORDS.get(h.type);
    if (codec === undefined) throw new JuteError(`${field}.header: result type ${h.type} is not one a multi returns (before offset ${r.offset})`);
    return { type: h.type, err: h.err, body: codec === null ? null : codec.read(r, `${field}.result`) };
  },
  (w, res) => {
    const codec = MULTI_RESULT_RECORDS.get(res.type);
    if (codec === undefined) throw new JuteError(`MultiResponse: result type ${res.type} is not one a multi returns`);
    MultiHeader.write(w, { type: res.type, done: false, err: res.err });
    if (codec !== null) codec.write(w, res.body);
  },
);

// ---- the op tables ---------------------------------------------------------------------------------------

/** No record: the frame holds the header alone (ping, closeSession, whoAmI's request, delete's response...). */
export const NONE: Codec<null> & { name: string } = { name: 'none', minBytes: 0, write() {}, read: () => null };

/**
 * Per op code, the record a client sends after the RequestHeader and the record a server answers with after the
 * ReplyHeader when err is 0 (FinalRequestProcessor; with an error the reply is the header alone). sasl's
 * response is SetSASLResponse; reconfig answers with the new config as a GetDataResponse (ZooKeeper.reconfig).
 * createSession never comes in a RequestHeader (the ConnectRequest is the first frame of a connection).
 */
export const OP_RECORDS = {
  [OpCode.create]: { request: CreateRequest, response: CreateResponse },
  [OpCode.create2]: { request: CreateRequest, response: Create2Response },
  [OpCode.createContainer]: { request: CreateRequest, response: Create2Response },
  [OpCode.createTTL]: { request: CreateTTLRequest, response: Create2Response },
  [OpCode.delete]: { request: DeleteRequest, response: NONE },
  [OpCode.exists]: { request: ExistsRequest, response: ExistsResponse },
  [OpCode.getData]: { request: GetDataRequest, response: GetDataResponse },
  [OpCode.setData]: { request: SetDataRequest, response: SetDataResponse },
  [OpCode.getACL]: { request: GetACLRequest, response: GetACLResponse },
  [OpCode.setACL]: { request: SetACLRequest, response: SetACLResponse },
  [OpCode.getChildren]: { request: GetChildrenRequest, response: GetChildrenResponse },
  [OpCode.getChildren2]: { request: GetChildren2Request, response: GetChildren2Response },
  [OpCode.getAllChildrenNumber]: { request: GetAllChildrenNumberRequest, response: GetAllChildrenNumberResponse },
  [OpCode.getEphemerals]: { request: GetEphemeralsRequest, response: GetEphemeralsResponse },
  [OpCode.check]: { request: CheckVersionRequest, response: SetDataResponse },
  [OpCode.sync]: { request: SyncRequest, response: SyncResponse },
  [OpCode.multi]: { request: MultiRequest, response: MultiResponse },
  [OpCode.multiRead]: { request: MultiRequest, response: MultiResponse },
  [OpCode.setWatches]: { request: SetWatches, response: NONE },
  [OpCode.setWatches2]: { request: SetWatches2, response: NONE },
  // FinalRequestProcessor answers addWatch with ErrorResponse(0), and a standalone check with a SetDataResponse.
  [OpCode.addWatch]: { request: AddWatchRequest, response: ErrorResponse },
  [OpCode.removeWatches]: { request: RemoveWatchesRequest, response: NONE },
  [OpCode.checkWatches]: { request: CheckWatchesRequest, response: NONE },
  [OpCode.auth]: { request: AuthPacket, response: NONE },
  [OpCode.sasl]: { request: GetSASLRequest, response: SetSASLResponse },
  [OpCode.whoAmI]: { request: NONE, response: WhoAmIResponse },
  [OpCode.reconfig]: { request: ReconfigRequest, response: GetDataResponse },
  [OpCode.ping]: { request: NONE, response: NONE },
  [OpCode.closeSession]: { request: NONE, response: NONE },
  [OpCode.move]: { request: MoveRequest, response: NONE },
} as const;

type OpTable = typeof OP_RECORDS;
export type KnownOp = keyof OpTable;
type Value<C> = C extends Codec<infer T> ? T : never;
/** The request record of op `K` as decoded. */
export type RequestOf<K extends KnownOp> = Value<OpTable[K]['request']>;
/** The response record of op `K`. */
export type ResponseOf<K extends KnownOp> = Value<OpTable[K]['response']>;

export function isKnownOp(type: number): type is KnownOp {
  return Object.hasOwn(OP_RECORDS, type);
}

export function requestCodec(type: number): Codec<any> & { name: string } {
  if (!isKnownOp(type)) throw new JuteError(`op code ${type} has no request record`);
  return OP_RECORDS[type].request;
}

export function responseCodec(type: number): Codec<any> & { name: string } {
  if (!isKnownOp(type)) throw new JuteError(`op code ${type} has no response record`);
  return OP_RECORDS[type].response;
}

/** A client's frame (after the ConnectRequest) as a server decodes it. */
export type DecodedRequest =
  | { known: true; xid: number; type: KnownOp; request: any }
  /** An op code with no record here: ZooKeeper answers UNIMPLEMENTED (UnimplementedRequestProcessor) and closes. */
  | { known: false; xid: number; type: number };

/**
 * Decodes one frame body from a client: the RequestHeader, then the op's request record, which must take the
 * rest of the frame exactly. Throws JuteError (field and offset) on a short, overlong or malformed frame.
 */
export function decodeRequest(body: Uint8Array): DecodedRequest {
  const r = new JuteReader(body);
  const { xid, type } = RequestHeader.read(r, '');
  if (!isKnownOp(type)) return { known: false, xid, type };
  const codec = OP_RECORDS[type].request;
  const request = codec.read(r, '');
  r.end(codec.name);
  return { known: true, xid, type, request };
}

/** A reply frame body: the ReplyHeader, then (when err is 0 and the op has one) the response record. */
export function encodeReply(w: JuteWriter, hdr: { xid: number; zxid: bigint; err: number }, type: number, response?: unknown): Buffer {
  ReplyHeader.write(w, hdr);
  if (hdr.err === 0 && response !== undefined) responseCodec(type).write(w, response);
  return w.bytes();
}

/** A request frame body: the RequestHeader, then the op's request record. */
export function encodeRequest(w: JuteWriter, xid: number, type: number, request?: unknown): Buffer {
  RequestHeader.write(w, { xid, type });
  const codec = requestCodec(type);
  if (codec !== NONE) codec.write(w, request);
  return w.bytes();
}

/** A watch notification as a server sends it (NIOServerCnxn.process): xid -1, zxid -1, err 0, a WatcherEvent. */
export function encodeNotification(w: JuteWriter, ev: WatcherEventT): Buffer {
  ReplyHeader.write(w, { xid: -1, zxid: -1n, err: 0 });
  WatcherEvent.write(w, ev);
  return w.bytes();
}
