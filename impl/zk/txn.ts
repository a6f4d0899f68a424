// ZooKeeper's transactions as its txn log holds them (zookeeper.jute, module org.apache.zookeeper.txn): a
// TxnHeader {clientId, cxid, zxid, time, type}, then the record of that type. PrepRequestProcessor makes them on
// the leader; every server applies them in zxid order (DataTree.processTxn). The ZAB core carries a txn as an
// opaque string (the base64 of these bytes): it orders, logs and commits them without looking inside.
//
// MoveTxn (type OpCode.move) is ours: ZooKeeper has no move; see impl/README.md.
import { OpCode } from '../zkwire/codes.ts';
import {
  ACL,
  JuteReader,
  JuteWriter,
  bool,
  buffer,
  int,
  long,
  record,
  ustring,
  vector,
  type ACLT,
  type Codec,
} from '../zkwire/jute.ts';

export const TxnHeader = record('TxnHeader', { clientId: long, cxid: int, zxid: long, time: long, type: int });

export const CreateTxn = record('CreateTxn', { path: ustring, data: buffer, acl: vector(ACL), ephemeral: bool, parentCVersion: int });
export const CreateContainerTxn = record('CreateContainerTxn', { path: ustring, data: buffer, acl: vector(ACL), parentCVersion: int });
export const CreateTTLTxn = record('CreateTTLTxn', { path: ustring, data: buffer, acl: vector(ACL), parentCVersion: int, ttl: long });
export const DeleteTxn = record('DeleteTxn', { path: ustring });
export const SetDataTxn = record('SetDataTxn', { path: ustring, data: buffer, version: int });
export const SetACLTxn = record('SetACLTxn', { path: ustring, acl: vector(ACL), version: int });
export const CheckVersionTxn = record('CheckVersionTxn', { path: ustring, version: int });
export const CreateSessionTxn = record('CreateSessionTxn', { timeOut: int });
export const CloseSessionTxn = record('CloseSessionTxn', { paths2Delete: vector(ustring) });
export const ErrorTxn = record('ErrorTxn', { err: int });
/** Ours: the znode `from` and its subtree become `to` (see DataTree.move). */
export const MoveTxn = record('MoveTxn', { from: ustring, to: ustring });
/** One op of a MultiTxn: its type and its record's bytes. */
const TxnEntry = record('Txn', { type: int, data: buffer });

// ---- the decoded forms --------------------------------------------------------------------------------------

export interface TxnHeaderT {
  /** The session that asked for it (ZooKeeper's clientId). */
  readonly clientId: bigint;
  readonly cxid: number;
  readonly zxid: number;
  /** The leader's wall clock when it prepared the txn (ms): ctime and mtime come from here. */
  readonly time: number;
  readonly type: number;
}

export type TxnBody =
  | { readonly path: string; readonly data: Buffer | null; readonly acl: ACLT[]; readonly ephemeral: boolean; readonly parentCVersion: number } // create, create2
  | { readonly path: string; readonly data: Buffer | null; readonly acl: ACLT[]; readonly parentCVersion: number } // createContainer
  | { readonly path: string; readonly data: Buffer | null; readonly acl: ACLT[]; readonly parentCVersion: number; readonly ttl: bigint } // createTTL
  | { readonly path: string } // delete, deleteContainer
  | { readonly path: string; readonly data: Buffer | null; readonly version: number } // setData
  | { readonly path: string; readonly acl: ACLT[]; readonly version: number } // setACL
  | { readonly path: string; readonly version: number } // check
  | { readonly timeOut: number } // createSession
  | { readonly paths2Delete: string[] } // closeSession
  | { readonly err: number } // error
  | { readonly from: string; readonly to: string } // move
  | { readonly txns: SubTxn[] }; // multi

export interface SubTxn {
  readonly type: number;
  readonly body: TxnBody;
}

export interface ZkTxn {
  readonly hdr: TxnHeaderT;
  readonly body: TxnBody;
}

/** The record of each txn type (SerializeUtils.deserializeTxn). */
const TXN_RECORDS: ReadonlyMap<number, Codec<any>> = new Map<number, Codec<any>>([
  [OpCode.create, CreateTxn],
  [OpCode.create2, CreateTxn],
  [OpCode.createContainer, CreateContainerTxn],
  [OpCode.createTTL, CreateTTLTxn],
  [OpCode.delete, DeleteTxn],
  [OpCode.deleteContainer, DeleteTxn],
  [OpCode.setData, SetDataTxn],
  [OpCode.setACL, SetACLTxn],
  [OpCode.check, CheckVersionTxn],
  [OpCode.createSession, CreateSessionTxn],
  [OpCode.closeSession, CloseSessionTxn],
  [OpCode.error, ErrorTxn],
  [OpCode.move, MoveTxn],
]);

function writeBody(w: JuteWriter, type: number, body: TxnBody): void {
  if (type === OpCode.multi) {
    const txns = (body as { txns: SubTxn[] }).txns;
    w.int(txns.length);
    for (const t of txns) {
      const sub = new JuteWriter(128);
      writeBody(sub, t.type, t.body);
      TxnEntry.write(w, { type: t.type, data: sub.bytes() });
    }
    return;
  }
  const codec = TXN_RECORDS.get(type);
  if (!codec) throw new Error(`no txn record for type ${type}`);
  codec.write(w, body);
}

function readBody(r: JuteReader, type: number, field: string): TxnBody {
  if (type === OpCode.multi) {
    const n = r.vectorLength(`${field}.txns`, TxnEntry.minBytes) ?? 0;
    const txns: SubTxn[] = [];
    for (let i = 0; i < n; i++) {
      const e = TxnEntry.read(r, `${field}.txns[${i}]`);
      const sub = new JuteReader(e.data ?? Buffer.alloc(0));
      txns.push({ type: e.type, body: readBody(sub, e.type, `${field}.txns[${i}]`) });
      sub.end(`${field}.txns[${i}]`);
    }
    return { txns };
  }
  const codec = TXN_RECORDS.get(type);
  if (!codec) throw new Error(`${field}: unknown txn type ${type}`);
  return normalize(codec.read(r, field));
}

/** jute's nullable strings, buffers and vectors as the tree keeps them: never null. */
function normalize(v: Record<string, unknown>): TxnBody {
  const out: Record<string, unknown> = { ...v };
  if ('path' in out && out['path'] === null) out['path'] = '';
  if ('acl' in out && out['acl'] === null) out['acl'] = [];
  if ('paths2Delete' in out && out['paths2Delete'] === null) out['paths2Delete'] = [];
  if ('from' in out && out['from'] === null) out['from'] = '';
  if ('to' in out && out['to'] === null) out['to'] = '';
  return out as TxnBody;
}

/** A txn as the log and the PROPOSAL carry it: TxnHeader then the record. */
export function encodeTxn(t: ZkTxn): Buffer {
  const w = new JuteWriter(256);
  TxnHeader.write(w, { clientId: t.hdr.clientId, cxid: t.hdr.cxid, zxid: BigInt(t.hdr.zxid), time: BigInt(t.hdr.time), type: t.hdr.type });
  writeBody(w, t.hdr.type, t.body);
  return w.bytes();
}

/** Throws (a JuteError or an Error naming the field) on bytes that are not one whole txn. */
export function decodeTxn(bytes: Uint8Array): ZkTxn {
  const r = new JuteReader(bytes);
  const h = TxnHeader.read(r, '');
  const hdr: TxnHeaderT = { clientId: h.clientId, cxid: h.cxid, zxid: Number(h.zxid), time: Number(h.time), type: h.type };
  const body = readBody(r, hdr.type, 'txn');
  r.end('txn');
  return { hdr, body };
}

/** The opaque form the ZAB core moves around: base64 of encodeTxn. */
export const txnToOp = (t: ZkTxn): string => encodeTxn(t).toString('base64');
export const opToTxn = (op: string): ZkTxn => decodeTxn(Buffer.from(op, 'base64'));

/** What the transition log records of a txn: its type's name and its path (the spec keeps abstract values). */
export function txnSummary(t: ZkTxn): { type: string; path?: string; to?: string; session?: string; ops?: number } {
  const b = t.body as Record<string, unknown>;
  const out: { type: string; path?: string; to?: string; session?: string; ops?: number } = { type: txnTypeName(t.hdr.type) };
  if (typeof b['path'] === 'string') out.path = b['path'];
  if (typeof b['from'] === 'string') {
    out.path = b['from'];
    out.to = b['to'] as string;
  }
  if (t.hdr.type === OpCode.createSession || t.hdr.type === OpCode.closeSession) out.session = '0x' + BigInt.asUintN(64, t.hdr.clientId).toString(16);
  if (t.hdr.type === OpCode.multi) out.ops = (b['txns'] as SubTxn[]).length;
  return out;
}

const TYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(OpCode).map(([k, v]) => [v as number, k]));
export function txnTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `op(${type})`;
}

