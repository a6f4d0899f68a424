// The history format: what concurrent ZooKeeper clients did under a nemesis, one operation per NDJSON line, read
// by the history checker (checker/history/check.ts) and written by the nemesis runner (nemesis/).
//
//   {"type":"history","version":1,"target":"zookeeper","seed":7,...}                 header (first line; free fields)
//   {"type":"op","id":12,"process":3,"f":"set","key":"k1","value":"3.17","version":4,
//    "invoke":1234.5,"complete":1240.1,"result":"ok","zxid":"0x10000002a","stat":{...}}
//
// One line per operation, written when it completed (or when the run ended without an answer). Fields:
//   id        unique integer
//   process   a client session (Jepsen's process): one operation at a time; a session that lost its connection is
//             never reused, its successor gets a new process number
//   server    the server the session is connected to (sid), for the report
//   f         create | set | delete | get | sync-get | final-get
//             set is setData with `version` (-1: any, else compare-and-set); delete likewise; get is a plain getData
//             (served by the server from its own tree); sync-get is sync then getData on the same session; final-get
//             is a getData on one server after the heal phase, once every server agreed on its last zxid
//   key       a znode (a short name; the runner maps it to a path)
//   value     the data written (create, set), unique per write in a history
//   invoke, complete   ms since the run began (monotonic clock); complete is null for an operation still unanswered
//   result    ok | fail | info: fail is a definite error (error: NODEEXISTS, NONODE, BADVERSION) that the ensemble
//             decided in its total order of writes; info is an indeterminate outcome (a lost connection, a timeout,
//             an expired session, no answer before the end): the write may or may not have taken effect
//   error     the error code of a fail or an info
//   zxid      the reply header's zxid (the server's last processed zxid when it answered), "0x..." hex
//   read      for an ok get/sync-get/final-get: {"value":"..","version":n,"czxid":"0x..","mzxid":"0x.."}, or null
//             when the znode did not exist (NONODE is a read of absence, not a failure)
//   stat      for an ok set: {"version":n,"czxid":"0x..","mzxid":"0x.."} of the znode after the write
import { z } from 'zod';
import { longZxidToHex } from '../../traces/zxid.ts';

export const OP_KINDS = ['create', 'set', 'delete', 'get', 'sync-get', 'final-get'] as const;
export type OpKind = (typeof OP_KINDS)[number];

const Hex = z.string().regex(/^0x[0-9a-f]+$/i, 'a zxid must be "0x" and hex digits');
const Stat = z.strictObject({ version: z.number().int().min(0), czxid: Hex, mzxid: Hex });
const Read = z.strictObject({ value: z.string().nullable(), version: z.number().int().min(0), czxid: Hex, mzxid: Hex });

export const OpLine = z
  .strictObject({
    type: z.literal('op'),
    id: z.number().int().min(0),
    process: z.number().int().min(0),
    server: z.number().int().min(0).optional(),
    f: z.enum(OP_KINDS),
    key: z.string().min(1),
    value: z.string().nullable().optional(),
    version: z.number().int().min(-1).optional(),
    invoke: z.number().finite().min(0),
    complete: z.number().finite().min(0).nullable(),
    result: z.enum(['ok', 'fail', 'info']),
    error: z.string().optional(),
    zxid: Hex.optional(),
    read: Read.nullable().optional(),
    stat: Stat.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.complete !== null && o.complete < o.invoke) ctx.addIssue({ code: 'custom', path: ['complete'], message: 'complete is before invoke' });
    if (o.result !== 'info' && o.complete === null) ctx.addIssue({ code: 'custom', path: ['complete'], message: `a ${o.result} operation needs its completion time` });
    if ((o.f === 'create' || o.f === 'set') && typeof o.value !== 'string') ctx.addIssue({ code: 'custom', path: ['value'], message: `${o.f} needs the value it writes` });
    if ((o.f === 'get' || o.f === 'sync-get' || o.f === 'final-get') && o.result === 'ok' && o.read === undefined) ctx.addIssue({ code: 'custom', path: ['read'], message: 'an ok read needs read (null for an absent znode)' });
    if (o.result === 'fail' && o.error === undefined) ctx.addIssue({ code: 'custom', path: ['error'], message: 'a failed operation needs its error code' });
  });
export type OpLineT = z.infer<typeof OpLine>;

export interface ReadValue {
  readonly value: string | null;
  readonly version: number;
  readonly czxid: bigint;
  readonly mzxid: bigint;
}

/** One operation as the checker sees it: times as numbers (Infinity for no answer), zxids as bigints. */
export interface Op {
  readonly id: number;
  readonly process: number;
  readonly server: number | undefined;
  readonly f: OpKind;
  readonly key: string;
  readonly value: string | null;
  /** Expected version of set/delete; -1 for any. */
  readonly version: number;
  readonly invoke: number;
  /** Infinity for an operation without an answer. */
  readonly complete: number;
  readonly result: 'ok' | 'fail' | 'info';
  readonly error: string | undefined;
  readonly zxid: bigint | undefined;
  /** ok reads: the znode, or null if absent. */
  readonly read: ReadValue | null | undefined;
  readonly stat: { readonly version: number; readonly czxid: bigint; readonly mzxid: bigint } | undefined;
  /** 1-based line in the history file (0 when built in memory). */
  readonly line: number;
}

/** Errors that are the ensemble's decision in its order of writes (PrepRequestProcessor's checks). */
export const DEFINITE_ERRORS = new Set(['NODEEXISTS', 'NONODE', 'BADVERSION']);

export class HistoryError extends Error {}

export interface History {
  readonly header: Record<string, unknown>;
  readonly ops: Op[];
}

export function toOp(o: OpLineT, line: number): Op {
  const read = o.read === undefined ? undefined : o.read === null ? null : { value: o.read.value, version: o.read.version, czxid: BigInt(o.read.czxid), mzxid: BigInt(o.read.mzxid) };
  return {
    id: o.id,
    process: o.process,
    server: o.server,
    f: o.f,
    key: o.key,
    value: o.value ?? null,
    version: o.version ?? -1,
    invoke: o.invoke,
    complete: o.complete === null ? Infinity : o.complete,
    result: o.result,
    error: o.error,
    zxid: o.zxid === undefined ? undefined : BigInt(o.zxid),
    read,
    stat: o.stat === undefined ? undefined : { version: o.stat.version, czxid: BigInt(o.stat.czxid), mzxid: BigInt(o.stat.mzxid) },
    line,
  };
}


/** The NDJSON line of an operation (the inverse of toOp). */
export function opToLine(o: Op): string {
  const x: Record<string, unknown> = { type: 'op', id: o.id, process: o.process };
  if (o.server !== undefined) x['server'] = o.server;
  x['f'] = o.f;
  x['key'] = o.key;
  if (o.value !== null) x['value'] = o.value;
  if (o.f === 'set' || o.f === 'delete') x['version'] = o.version;
  x['invoke'] = round(o.invoke);
  x['complete'] = o.complete === Infinity ? null : round(o.complete);
  x['result'] = o.result;
  if (o.error !== undefined) x['error'] = o.error;
  if (o.zxid !== undefined) x['zxid'] = longZxidToHex(o.zxid);
  if (o.read !== undefined) x['read'] = o.read === null ? null : { value: o.read.value, version: o.read.version, czxid: longZxidToHex(o.read.czxid), mzxid: longZxidToHex(o.read.mzxid) };
  if (o.stat !== undefined) x['stat'] = { version: o.stat.version, czxid: longZxidToHex(o.stat.czxid), mzxid: longZxidToHex(o.stat.mzxid) };
  return JSON.stringify(x);
}

const round = (t: number) => Math.round(t * 1000) / 1000;

/** Parses a history file's text; a bad line throws HistoryError naming `where:line` and the field. */
export function parseHistory(text: string, where: string): History {
  const lines = text.split('\n');
  let header: Record<string, unknown> | null = null;
  const ops: Op[] = [];
  const ids = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw new HistoryError(`${where}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HistoryError(`${where}:${i + 1}: a line must be a JSON object`);
    const type = (v as { type?: unknown }).type;
    if (type === 'history') {
      if (header !== null || ops.length > 0) throw new HistoryError(`${where}:${i + 1}: the header must be the first line, once`);
      header = v as Record<string, unknown>;
      if (header['version'] !== 1) throw new HistoryError(`${where}:${i + 1}: version: this checker reads history version 1 (got ${JSON.stringify(header['version'])})`);
      continue;
    }
    if (type !== 'op') throw new HistoryError(`${where}:${i + 1}: type must be "history" (the header) or "op" (got ${JSON.stringify(type)})`);
    const p = OpLine.safeParse(v);
    if (!p.success) {
      const is = p.error.issues[0]!;
      throw new HistoryError(`${where}:${i + 1}: ${is.path.join('.') || '(line)'}: ${is.message}`);
    }
    if (ids.has(p.data.id)) throw new HistoryError(`${where}:${i + 1}: id ${p.data.id} appears twice`);
    ids.add(p.data.id);
    ops.push(toOp(p.data, i + 1));
  }
  if (header === null) throw new HistoryError(`${where}: no header line ({"type":"history","version":1,...})`);
  return { header, ops };
}

export function formatOp(o: Op): string {
  const t = (x: number) => (x === Infinity ? '∞' : x.toFixed(1));
  const what =
    o.f === 'create' ? `create ${o.key}=${o.value}` :
    o.f === 'set' ? `set ${o.key}=${o.value}${o.version >= 0 ? ` if version ${o.version}` : ''}` :
    o.f === 'delete' ? `delete ${o.key}${o.version >= 0 ? ` if version ${o.version}` : ''}` :
    `${o.f} ${o.key}`;
  let out: string = o.result;
  if (o.result !== 'ok' && o.error !== undefined) out += ` ${o.error}`;
  if (o.result === 'ok' && o.read !== undefined) out += o.read === null ? ' -> absent' : ` -> ${o.read.value} (version ${o.read.version}, mzxid ${longZxidToHex(o.read.mzxid)})`;
  if (o.result === 'ok' && o.stat !== undefined) out += ` -> version ${o.stat.version} (mzxid ${longZxidToHex(o.stat.mzxid)})`;
  return `#${o.id} p${o.process}${o.server !== undefined ? `@${o.server}` : ''} [${t(o.invoke)}, ${t(o.complete)}] ${what}: ${out}${o.zxid !== undefined ? ` zxid ${longZxidToHex(o.zxid)}` : ''}${o.line > 0 ? ` (line ${o.line})` : ''}`;
}
