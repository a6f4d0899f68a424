// ZooKeeper's client wire format: jute records (zookeeper-jute/src/main/resources/zookeeper.jute) in the binary
// archive of BinaryOutputArchive/BinaryInputArchive, inside 4-byte big-endian length frames.
//
// Primitive encodings (all big-endian): int = 4 bytes, long = 8 bytes (a bigint here: session ids and zxids use
// all 64 bits), boolean = 1 byte (0 or 1), buffer and ustring = an int length then that many bytes (-1 = null;
// ustring is UTF-8), vector = an int count then the elements (-1 = null). A record is its fields in order, with
// nothing between them.
//
// Everything read from the network is untrusted: the reader checks every length against the bytes that are
// there and throws a JuteError naming the field and the offset; nothing reads past the end of a frame.

import { Code, CreateMode, OpCode, Perms, Xid, errorName } from './codes.ts';

export class JuteError extends Error {
  override readonly name = 'JuteError';
}

/** Appends jute primitives to a growing buffer. */
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;

export class JuteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  int(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new JuteError(`int out of range: ${v}`);
    this.room(4);
    this.buf.writeInt32BE(v, this.len);
    this.len += 4;
    return this;
  }

  long(v: bigint): this {
    if (v < LONG_MIN || v > LONG_MAX) throw new JuteError(`long out of range: ${v}`);
    this.room(8);
    this.buf.writeBigInt64BE(v, this.len);
    this.len += 8;
    return this;
  }

  bool(v: boolean): this {
    this.room(1);
    this.buf[this.len++] = v ? 1 : 0;
    return this;
  }

  buffer(v: Uint8Array | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.room(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  ustring(v: string | null): this {
    if (v === null) return this.int(-1);
    const n = Buffer.byteLength(v, 'utf8');
    this.int(n);
    this.room(n);
    this.len += this.buf.write(v, this.len, n, 'utf8');
    return this;
  }

  /** A long given as a number: zxids and times, which stay within 2^53. */
  longNumber(v: number): this {
    if (!Number.isSafeInteger(v)) throw new JuteError(`long out of the exact range of a number: ${v}`);
    this.room(8);
    this.buf.writeInt32BE(Math.floor(v / 0x100000000), this.len);
    this.buf.writeUInt32BE(v >>> 0, this.len + 4);
    this.len += 8;
    return this;
  }

  /** A buffer given as a latin1 string, one char per byte (how a znode keeps its data). */
  latin1(v: string | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.room(v.length);
    this.len += this.buf.write(v, this.len, v.length, 'latin1');
    return this;
  }

  /** Starts over (keeps the buffer). A view from bytes() is overwritten by later writes. */
  reset(): this {
    this.len = 0;
    return this;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** The bytes written so far, handed over; the writer starts again empty on a fresh buffer of the same size. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.len);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.len = 0;
    return out;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads jute primitives from one frame, with a bounds check on every read. */
export class JuteReader {
  private pos = 0;

  private readonly dv: DataView;
  private readonly bytes: Buffer;

  constructor(private readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.remaining < n) {
      throw new JuteError(`${field}: needs ${n} byte(s) at offset ${this.pos}, only ${this.remaining} left in a ${this.buf.length}-byte frame`);
    }
  }

  int(field: string): number {
    this.need(4, field);
    const v = this.dv.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  long(field: string): bigint {
    this.need(8, field);
    const v = this.dv.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  bool(field: string): boolean {
    this.need(1, field);
    const b = this.buf[this.pos]!;
    if (b > 1) throw new JuteError(`${field}: boolean byte ${b} at offset ${this.pos} is neither 0 nor 1`);
    this.pos += 1;
    return b === 1;
  }

  /** A length field: -1 means null; any other negative value, or one past the end of the frame, is an error. */
  private length(field: string, unit: number): number | null {
    const at = this.pos;
    const n = this.int(field);
    if (n === -1) return null;
    if (n < 0) throw new JuteError(`${field}: negative length ${n} at offset ${at}`);
    if (n * unit > this.remaining) {
      throw new JuteError(`${field}: length ${n} at offset ${at} runs past the end of the frame (${this.remaining} byte(s) left)`);
    }
    return n;
  }

  buffer(field: string): Buffer | null {
    const n = this.length(field, 1);
    if (n === null) return null;
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  ustring(field: string): string | null {
    const at = this.pos;
    const n = this.length(field, 1);
    if (n === null) return null;
    this.pos += n;
    // ASCII (paths, schemes, ids, nearly always) decodes as latin1; anything else must be valid UTF-8.
    let ascii = true;
    for (let i = at + 4; i < this.pos; i++) {
      if (this.buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return this.bytes.toString('latin1', at + 4, this.pos);
    try {
      return utf8.decode(this.buf.subarray(at + 4, this.pos));
    } catch {
      throw new JuteError(`${field}: string at offset ${at} is not valid UTF-8`);
    }
  }

  /** A long read as a number: zxids and times, which stay within 2^53. */
  longNumber(field: string): number {
    this.need(8, field);
    const hi = this.dv.getInt32(this.pos);
    const lo = this.dv.getUint32(this.pos + 4);
    if (hi > 0x1fffff || hi < -0x200000) throw new JuteError(`${field}: long at offset ${this.pos} is beyond the exact range of a number`);
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }

  /** A buffer read as a latin1 string, one char per byte (how a znode keeps its data); null stays null. */
  latin1(field: string): string | null {
    const n = this.length(field, 1);
    if (n === null) return null;
    const out = this.bytes.toString('latin1', this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A vector's element count; each element is at least `minElementBytes` long, which bounds the count. */
  vectorLength(field: string, minElementBytes: number): number | null {
    return this.length(field, Math.max(1, minElementBytes));
  }

  /** Fails unless every byte of the frame was read. */
  end(what: string): void {
    if (this.remaining !== 0) throw new JuteError(`${what}: ${this.remaining} unexpected byte(s) after offset ${this.pos}`);
  }
}

// ---- record codecs ---------------------------------------------------------------------------------------
//
// A Codec writes and reads one jute type; `record` builds a record codec from its fields in declaration
// order, as the .jute file lists them.

export interface Codec<T> {
  write(w: JuteWriter, v: T): void;
  read(r: JuteReader, field: string): T;
  /** The fewest bytes one value takes (bounds vector counts). */
  readonly minBytes: number;
}

export const int: Codec<number> = { write: (w, v) => void w.int(v), read: (r, f) => r.int(f), minBytes: 4 };
export const long: Codec<bigint> = { write: (w, v) => void w.long(v), read: (r, f) => r.long(f), minBytes: 8 };
export const bool: Codec<boolean> = { write: (w, v) => void w.bool(v), read: (r, f) => r.bool(f), minBytes: 1 };
export const buffer: Codec<Buffer | null> = { write: (w, v) => void w.buffer(v), read: (r, f) => r.buffer(f), minBytes: 4 };
export const ustring: Codec<string | null> = { write: (w, v) => void w.ustring(v), read: (r, f) => r.ustring(f), minBytes: 4 };

export function vector<T>(element: Codec<T>): Codec<T[] | null> & { readonly element: Codec<T> } {
  return {
    element,
    minBytes: 4,
    write(w, v) {
      if (v === null) {
        w.int(-1);
        return;
      }
      w.int(v.length);
      for (const e of v) element.write(w, e);
    },
    read(r, field) {
      const n = r.vectorLength(field, element.minBytes);
      if (n === null) return null;
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(element.read(r, `${field}[${i}]`));
      return out;
    },
  };
}

type Fields = Record<string, Codec<any>>;
export type RecordOf<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Codec<infer T> ? T : never };

export interface RecordCodec<F extends Fields> extends Codec<RecordOf<F>> {
  readonly name: string;
  readonly fields: F;
}

export function record<F extends Fields>(name: string, fields: F): RecordCodec<F> {
  const entries = Object.entries(fields);
  return {
    name,
    fields,
    minBytes: entries.reduce((s, [, c]) => s + c.minBytes, 0),
    write(w, v) {
      for (const [k, c] of entries) c.write(w, (v as Record<string, unknown>)[k]);
    },
    read(r, field) {
      const out: Record<string, unknown> = {};
      for (const [k, c] of entries) out[k] = c.read(r, field ? `${field}.${k}` : `${name}.${k}`);
      return out as RecordOf<F>;
    },
  };
}

/** One record as the bytes of a frame body (no length prefix). */
export function encode<T>(codec: Codec<T>, v: T, w = new JuteWriter()): Buffer {
  codec.write(w, v);
  return w.bytes();
}

/** One record that must take the whole of `bytes`. */
export function decode<T>(codec: Codec<T> & { name?: string }, bytes: Uint8Array): T {
  const r = new JuteReader(bytes);
  const v = codec.read(r, '');
  r.end(codec.name ?? 'record');
  return v;
}

// ---- the records of the client protocol (module org.apache.zookeeper.data and .proto) ----------------------

export const Id = record('Id', { scheme: ustring, id: ustring });
export const ACL = record('ACL', { perms: int, id: Id });
export const Stat = record('Stat', {
  czxid: long,
  mzxid: long,
  ctime: long,
  mtime: long,
  version: int,
  cversion: int,
  aversion: int,
  ephemeralOwner: long,
  dataLength: int,
  numChildren: int,
  pzxid: long,
});

export const ConnectRequest = record('ConnectRequest', {
  protocolVersion: int,
  lastZxidSeen: long,
  timeOut: int,
  sessionId: long,
  passwd: buffer,
  readOnly: bool,
});
export const ConnectResponse = record('ConnectResponse', {
  protocolVersion: int,
  timeOut: int,
  sessionId: long,
  passwd: buffer,
  readOnly: bool,
});
export const RequestHeader = record('RequestHeader', { xid: int, type: int });
export const ReplyHeader = record('ReplyHeader', { xid: int, zxid: long, err: int });
export const WatcherEvent = record('WatcherEvent', { type: int, state: int, path: ustring });

export const CreateRequest = record('CreateRequest', { path: ustring, data: buffer, acl: vector(ACL), flags: int });
export const CreateResponse = record('CreateResponse', { path: ustring });
export const DeleteRequest = record('DeleteRequest', { path: ustring, version: int });
export const ExistsRequest = record('ExistsRequest', { path: ustring, watch: bool });
export const ExistsResponse = record('ExistsResponse', { stat: Stat });
export const GetDataRequest = record('GetDataRequest', { path: ustring, watch: bool });
export const GetDataResponse = record('GetDataResponse', { data: buffer, stat: Stat });
export const SetDataRequest = record('SetDataRequest', { path: ustring, data: buffer, version: int });
export const SetDataResponse = record('SetDataResponse', { stat: Stat });

export type StatT = RecordOf<typeof Stat.fields>;
export type ACLT = RecordOf<typeof ACL.fields>;
export type ConnectRequestT = RecordOf<typeof ConnectRequest.fields>;
export type ConnectResponseT = RecordOf<typeof ConnectResponse.fields>;
export type ReplyHeaderT = RecordOf<typeof ReplyHeader.fields>;

/** ConnectResponse as a client reads it: servers before 3.4 send no readOnly byte (ClientCnxnSocket). */
export function decodeConnectResponse(bytes: Uint8Array): ConnectResponseT {
  const r = new JuteReader(bytes);
  const protocolVersion = r.int('ConnectResponse.protocolVersion');
  const timeOut = r.int('ConnectResponse.timeOut');
  const sessionId = r.long('ConnectResponse.sessionId');
  const passwd = r.buffer('ConnectResponse.passwd');
  const readOnly = r.remaining === 0 ? false : r.bool('ConnectResponse.readOnly');
  r.end('ConnectResponse');
  return { protocolVersion, timeOut, sessionId, passwd, readOnly };
}

/** The fields a ConnectRequest has in zookeeper.jute; the readOnly byte follows outside the record. */
export type ConnectRequestIn = ConnectRequestT & {
  /** False when the client sent no readOnly byte (clients before 3.4): then the ConnectResponse has none either. */
  readOnlyByte: boolean;
};

/** ConnectRequest as a server reads it (ZooKeeperServer.processConnectRequest): a client before 3.4 sends no
 *  readOnly byte, which is not an error. */
export function decodeConnectRequest(bytes: Uint8Array): ConnectRequestIn {
  const r = new JuteReader(bytes);
  const protocolVersion = r.int('ConnectRequest.protocolVersion');
  const lastZxidSeen = r.long('ConnectRequest.lastZxidSeen');
  const timeOut = r.int('ConnectRequest.timeOut');
  const sessionId = r.long('ConnectRequest.sessionId');
  const passwd = r.buffer('ConnectRequest.passwd');
  const readOnlyByte = r.remaining > 0;
  const readOnly = readOnlyByte ? r.bool('ConnectRequest.readOnly') : false;
  r.end('ConnectRequest');
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly, readOnlyByte };
}

/** ConnectResponse as a server writes it: the readOnly byte only to a client that sent one. */
export function encodeConnectResponse(rsp: ConnectResponseT, readOnlyByte: boolean, w = new JuteWriter(64)): Buffer {
  w.int(rsp.protocolVersion).int(rsp.timeOut).long(rsp.sessionId).buffer(rsp.passwd);
  if (readOnlyByte) w.bool(rsp.readOnly);
  return w.bytes();
}

// ---- constants: defined once in codes.ts, re-exported for the callers of this module ------------------------

export { OpCode, Perms, Xid, errorName };

/** CreateMode flags: PERSISTENT is 0. */
export const CreateFlags = CreateMode;

/** world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
export const OPEN_ACL_UNSAFE: ACLT[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];

export const Err = Code;

// ---- frames ----------------------------------------------------------------------------------------------

/** jute.maxbuffer's default is 0xfffff; a reply larger than this is refused (ClientCnxnSocket adds 1024). */
export const MAX_FRAME_BYTES = 0xfffff + 1024;

/** A frame: the 4-byte length, then the header (if any) and the record, as one buffer. */
export function frame(...parts: Uint8Array[]): Buffer {
  const len = parts.reduce((s, p) => s + p.length, 0);
  const out = Buffer.allocUnsafe(4 + len);
  out.writeInt32BE(len, 0);
  let at = 4;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits a byte stream into frame bodies; throws JuteError on a negative or oversized length. */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxBytes = MAX_FRAME_BYTES) {}

  /** Bytes received that are not yet a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    while (this.buffered >= 4) {
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const len = this.chunks[0]!.readInt32BE(0);
      if (len < 0 || len > this.maxBytes) throw new JuteError(`frame length ${len} is outside 0..${this.maxBytes}`);
      if (this.buffered < 4 + len) break;
      const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      out.push(buf.subarray(4, 4 + len));
      const rest = buf.subarray(4 + len);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return out;
  }
}
