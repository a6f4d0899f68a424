// The transition log: one NDJSON file per server incarnation, in the trace format of traces/README.md
// (each message logged once, by its sender; a receive by id; a step's log appends folded into its event).
//
// Cost matters: a server under a write load logs 2–4 events per write, and this runs on the event loop that
// also runs the protocol. So each event is encoded straight into a byte buffer by hand-written code (fixed keys
// as literal bytes, the packets' fields by packet type, numbers and ASCII strings copied byte by byte), with
// no intermediate JSON string and no per-event allocation beyond what the core already built. Anything the
// fast path does not know (a string that needs escaping or is not ASCII, an object that is not plain data)
// goes through JSON.stringify, so the output is always what JSON.stringify of the event's log form
// (`toLogEvent`) would be, modulo key order within a packet. Events are encoded after the callback that logged
// them (setImmediate), once its frames have left.
//
// Lines are buffered and written every 50 ms (or once 256 KiB are waiting) off the event loop, one write at a
// time at an offset we track; `close()` rewrites a write still in flight and the rest synchronously, at their
// offsets. A kill -9 loses at most the last flush interval, never reorders or tears what was written (each
// write is whole lines).
import { closeSync, openSync, write, writeSync } from 'node:fs';
import { makeHeader, type HeaderFields } from '../traces/format.ts';
import { zxidToHex, type Notification, type QuorumPacket, type RawTraceEvent, type Sid } from './core/types.ts';

const FLUSH_MS = 50;
/**
 * Test-only: with ZK_TRACE_SYNC=1 every line is written (not fsynced) as it is logged, so that a kill -9 loses at
 * most the line of the step in progress. The conformance harness uses it: a lost tail of many steps cannot be
 * told apart from a divergence.
 */
const WRITE_EACH_LINE = process.env['ZK_TRACE_SYNC'] === '1';
const FLUSH_BYTES = 256 * 1024;
const INITIAL_BYTES = 512 * 1024;
/** Printable ASCII without `"` and `\`: JSON text as it is. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const lit = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const L_HEAD = lit('{"type":"event","seq":');
const L_SID = lit(',"sid":');
const L_ACTION = lit(',"action":');
const L_TIME = lit(',"time":');
const L_PARAMS = lit(',"params":');
const L_APPENDED = lit(',"appended":[');
const L_APPLIED = lit(',"applied":[');
const L_RID = lit(',"rid":');
const L_SEND = lit(',"send":[');
const L_ID = lit('{"id":');
const L_FROM = lit(',"from":');
const L_TO = lit(',"to":');
const L_TYPE = lit(',"type":"');
const L_LEADER = lit(',"leader":');
const L_ZXID = lit(',"zxid":');
const L_ELECTION_EPOCH = lit(',"electionEpoch":');
const L_STATE = lit(',"state":"');
const L_PEER_EPOCH = lit('","peerEpoch":');
const L_CURRENT_EPOCH = lit(',"currentEpoch":');
const L_LAST_ZXID = lit(',"lastZxid":');
const L_ACCEPTED_EPOCH = lit(',"acceptedEpoch":');
const L_NEW_EPOCH = lit(',"newEpoch":');
const L_SIZE = lit(',"size":');

/** The keys of params and post objects met so far, as the bytes of `"key":`. */
const KEYS = new Map<string, Uint8Array>();

// The helpers of `LineEncoder.line` write at position p of a buffer with room enough, and return the position after.

function putBytes(buf: Buffer, p: number, b: Uint8Array): number {
  const n = b.length;
  for (let i = 0; i < n; i++) buf[p + i] = b[i]!;
  return p + n;
}

/** Text known to be ASCII and to need no escaping. */
function putAscii(buf: Buffer, p: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) buf[p + i] = s.charCodeAt(i);
  return p + n;
}

/** A JSON string of at most the length room was made for (6 bytes a character). */
function putString(buf: Buffer, p: number, s: string): number {
  const n = s.length;
  buf[p] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return p + buf.write(JSON.stringify(s), p, 'utf8');
    buf[p + 1 + i] = c;
  }
  buf[p + 1 + n] = 0x22;
  return p + n + 2;
}

/** A non-negative integer below 2^30 as digits; anything else as JSON.stringify writes it. */
function putUint(buf: Buffer, p: number, n: number): number {
  if (!(n >= 0 && n <= 0x3fffffff && (n | 0) === n)) return putAscii(buf, p, Number.isFinite(n) ? String(n) : 'null');
  if (n < 10) {
    buf[p] = 0x30 + n;
    return p + 1;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = (x / 10) | 0) digits++;
  let q = p + digits;
  for (let x = n; q > p; x = (x / 10) | 0) buf[--q] = 0x30 + (x % 10);
  return p + digits;
}

/** Any number as JSON.stringify writes it. */
function putNumber(buf: Buffer, p: number, n: number): number {
  if (n >= 0 && n <= 0x3fffffff && (n | 0) === n) return putUint(buf, p, n);
  return putAscii(buf, p, Number.isFinite(n) ? String(n) : 'null');
}

/**
 * A growable byte buffer that NDJSON lines are encoded into. Every method appends the JSON text of its
 * argument; `line()` encodes one whole event.
 */
export class LineEncoder {
  buf: Buffer;
  pos = 0;
  /** The time of the previous line (NaN: none yet). */
  private lastTime = NaN;
  private lastZxid = NaN;
  private lastZxidText = '';

  constructor(size = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for n more bytes. */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** Text known to be ASCII and to need no escaping (keys, punctuation, numbers' digits). */
  raw(s: string): void {
    const n = s.length;
    this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A JSON string: copied as is when it is printable ASCII without `"` or `\`, else JSON.stringify's text. */
  str(s: string): void {
    const n = s.length;
    if (n > 32) {
      // Long strings (values of writes): one regular-expression scan and one native copy beat a loop in JS.
      if (!PLAIN_ASCII.test(s)) return this.utf8(JSON.stringify(s));
      this.room(n + 2);
      const buf = this.buf;
      buf[this.pos] = 0x22;
      this.pos += 1 + buf.write(s, this.pos + 1, n, 'latin1');
      buf[this.pos++] = 0x22;
      return;
    }
    this.room(n + 2);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.pos = start;
        return this.utf8(JSON.stringify(s));
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.pos = p;
  }

  private utf8(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A number as JSON.stringify writes it (non-finite ones as null). */
  num(n: number): void {
    if (n >= 0 && n <= 0x3fffffff && (n | 0) === n) {
      // A small non-negative integer: its digits, without making a string.
      this.room(10);
      const buf = this.buf;
      if (n < 10) {
        buf[this.pos++] = 0x30 + n;
        return;
      }
      let digits = 1;
      for (let x = n; x >= 10; x = (x / 10) | 0) digits++;
      let p = this.pos + digits;
      this.pos = p;
      for (let x = n; digits-- > 0; x = (x / 10) | 0) buf[--p] = 0x30 + (x % 10);
      return;
    }
    this.raw(Number.isFinite(n) ? String(n) : 'null');
  }

  /** Any plain JSON value, as JSON.stringify would write it; false if it writes nothing (undefined). */
  value(v: unknown): boolean {
    switch (typeof v) {
      case 'string':
        this.str(v);
        return true;
      case 'number':
        this.num(v);
        return true;
      case 'boolean':
        this.raw(v ? 'true' : 'false');
        return true;
      case 'object': {
        if (v === null) {
          this.raw('null');
          return true;
        }
        if (Array.isArray(v)) {
          this.raw('[');
          for (let i = 0; i < v.length; i++) {
            if (i > 0) this.raw(',');
            if (!this.value(v[i])) this.raw('null');
          }
          this.raw(']');
          return true;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') {
          this.utf8(JSON.stringify(v));
          return true;
        }
        this.object(v as Record<string, unknown>);
        return true;
      }
      case 'bigint':
        // What JSON.stringify would do: throw (a bug in the caller, not bad input).
        this.utf8(JSON.stringify(v));
        return true;
      default:
        // undefined, functions and symbols: nothing, as JSON.stringify omits them in objects.
        return false;
    }
  }

  /** A plain object, keys in JSON.stringify's order (own enumerable string keys), undefined values omitted. */
  object(o: Record<string, unknown>): void {
    this.raw('{');
    let first = true;
    const keys = Object.keys(o);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = o[k];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      if (!first) this.raw(',');
      first = false;
      this.key(k);
      this.value(v);
    }
    this.raw('}');
  }

  /** `"key":`, its bytes made once per key (the same few keys come in every event). */
  private key(k: string): void {
    let b = KEYS.get(k);
    if (b === undefined) {
      if (KEYS.size >= 1024) {
        this.str(k);
        this.raw(':');
        return;
      }
      b = new Uint8Array(Buffer.from(JSON.stringify(k) + ':', 'utf8'));
      KEYS.set(k, b);
    }
    this.room(b.length);
    this.pos = putBytes(this.buf, this.pos, b);
  }

  /**
   * One event line, `{"type":"event","seq",...}` and a newline: room for the fixed parts and the messages is
   * made once, and the bytes are written at a local position (the helpers take and return it); only params and
   * post, which can be any plain data, go through `value`.
   */
  line(seq: number, sid: Sid, time: number, e: RawTraceEvent): void {
    const recv = e.recv;
    const send = e.send;
    const appended = e.appended;
    const applied = e.applied;
    let need = 160 + 6 * e.action.length;
    if (appended) need += 24 * appended.length;
    if (applied) need += 16 + 24 * applied.length;
    if (recv) need += 16 + 6 * recv.id.length;
    if (send) for (let i = 0; i < send.length; i++) need += 320 + 6 * send[i]!.id.length;
    this.room(need);
    let buf = this.buf;
    let p = putBytes(buf, this.pos, L_HEAD);
    p = putUint(buf, p, seq);
    p = putBytes(buf, p, L_SID);
    p = putUint(buf, p, sid);
    p = putBytes(buf, p, L_ACTION);
    p = putString(buf, p, e.action);
    // The time is left out when it is the previous line's (version 2): the reader carries it over.
    if (time !== this.lastTime) {
      this.lastTime = time;
      p = putBytes(buf, p, L_TIME);
      p = putAscii(buf, p, Number.isFinite(time) ? String(time) : 'null');
    }
    if (e.params) {
      p = putBytes(buf, p, L_PARAMS);
      this.pos = p;
      this.value(e.params);
      this.room(need);
      buf = this.buf;
      p = this.pos;
    }
    if (appended) p = this.putZxidList(buf, p, L_APPENDED, appended);
    if (applied) p = this.putZxidList(buf, p, L_APPLIED, applied);
    if (recv) {
      // The message received, by id: its send, in the sender's log, has the rest (trace version 2).
      p = putBytes(buf, p, L_RID);
      p = putString(buf, p, recv.id);
    }
    if (send) {
      p = putBytes(buf, p, L_SEND);
      for (let i = 0; i < send.length; i++) {
        if (i > 0) buf[p++] = 0x2c;
        p = this.putMessage(buf, p, send[i]!);
      }
      buf[p++] = 0x5d;
    }
    this.pos = p;
    if (e.post) {
      const mark = this.pos;
      this.raw(',"post":');
      const open = this.pos;
      this.value(e.post);
      if (this.pos === open + 2) this.pos = mark; // {} : the step changed no traced variable
    }
    this.raw('}\n');
  }

  /** `label` (a field's name and its opening bracket), the zxids in hex, comma-separated, and the closing bracket. */
  private putZxidList(buf: Buffer, p: number, label: Uint8Array, zxids: readonly number[]): number {
    p = putBytes(buf, p, label);
    for (let i = 0; i < zxids.length; i++) {
      if (i > 0) buf[p++] = 0x2c;
      p = this.putZxid(buf, p, zxids[i]!);
    }
    buf[p++] = 0x5d;
    return p;
  }

  private putZxid(buf: Buffer, p: number, z: number): number {
    if (z !== this.lastZxid) {
      this.lastZxid = z;
      this.lastZxidText = zxidToHex(z);
    }
    buf[p++] = 0x22;
    p = putAscii(buf, p, this.lastZxidText);
    buf[p++] = 0x22;
    return p;
  }

  private putMessage(buf: Buffer, p: number, m: Notification | QuorumPacket): number {
    p = putBytes(buf, p, L_ID);
    p = putString(buf, p, m.id);
    p = putBytes(buf, p, L_FROM);
    p = putNumber(buf, p, m.from);
    p = putBytes(buf, p, L_TO);
    p = putNumber(buf, p, m.to);
    p = putBytes(buf, p, L_TYPE);
    p = putAscii(buf, p, m.type);
    buf[p++] = 0x22;
    switch (m.type) {
      case 'NOTIFICATION':
        p = putBytes(buf, p, L_LEADER);
        p = putNumber(buf, p, m.leader);
        p = putBytes(buf, p, L_ZXID);
        p = this.putZxid(buf, p, m.zxid);
        p = putBytes(buf, p, L_ELECTION_EPOCH);
        p = putNumber(buf, p, m.electionEpoch);
        p = putBytes(buf, p, L_STATE);
        p = putAscii(buf, p, m.state);
        p = putBytes(buf, p, L_PEER_EPOCH);
        p = putNumber(buf, p, m.peerEpoch);
        break;
      case 'FOLLOWERINFO':
      case 'OBSERVERINFO':
        p = putBytes(buf, p, L_ACCEPTED_EPOCH);
        p = putNumber(buf, p, m.acceptedEpoch);
        break;
      case 'LEADERINFO':
        p = putBytes(buf, p, L_NEW_EPOCH);
        p = putNumber(buf, p, m.newEpoch);
        break;
      case 'ACKEPOCH':
        p = putBytes(buf, p, L_CURRENT_EPOCH);
        p = putNumber(buf, p, m.currentEpoch);
        p = putBytes(buf, p, L_LAST_ZXID);
        p = this.putZxid(buf, p, m.lastZxid);
        break;
      case 'SNAP':
        p = putBytes(buf, p, L_ZXID);
        p = this.putZxid(buf, p, m.zxid);
        p = putBytes(buf, p, L_SIZE);
        p = putNumber(buf, p, m.data.length);
        break;
      case 'REQUEST':
      case 'SYNC':
      case 'UPTODATE':
      case 'PING':
        break;
      default:
        p = putBytes(buf, p, L_ZXID);
        p = this.putZxid(buf, p, m.zxid);
    }
    buf[p++] = 0x7d;
    return p;
  }

}

export class TransitionLog {
  private fd: number;
  /** Lines not yet handed to a write. */
  private enc = new LineEncoder();
  /** The buffer of the write in flight, reused for the next batch once that write is done. */
  private spare: Buffer | null = null;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private offset = 0;
  private inflight: { data: Buffer; offset: number } | null = null;
  private closed = false;
  /** Events appended but not encoded yet, with their times; an encoding is scheduled when encodeSoon. */
  private queued: RawTraceEvent[] = [];
  private times: number[] = [];
  private encodeSoon = false;

  constructor(
    readonly path: string,
    private readonly sid: Sid,
    header: Omit<HeaderFields, 'source' | 'sid' | 'created'>,
  ) {
    // One file per incarnation: never appended to by anyone else, so positional writes are safe.
    this.fd = openSync(path, 'wx');
    const data = Buffer.from(JSON.stringify(makeHeader({ source: 'impl', sid, ...header })) + '\n', 'utf8');
    writeSync(this.fd, data, 0, data.length, 0);
    this.offset = data.length;
  }

  append(e: RawTraceEvent): void {
    if (this.closed) return;
    if (WRITE_EACH_LINE) {
      this.encodeQueued();
      const enc = this.enc;
      enc.line(++this.seq, this.sid, Date.now(), e);
      if (this.inflight) return this.schedule();
      writeSync(this.fd, enc.buf, 0, enc.pos, this.offset);
      this.offset += enc.pos;
      enc.pos = 0;
      return;
    }
    // Encoded after the callback that logged it (setImmediate), when its frames have left (they are
    // corked until process.nextTick): the log stays off the protocol's own path.
    this.queued.push(e);
    this.times.push(Date.now());
    if (!this.encodeSoon) {
      this.encodeSoon = true;
      setImmediate(this.encodeQueuedAndSchedule);
    }
  }

  private readonly encodeQueuedAndSchedule = (): void => {
    this.encodeQueued();
    if (!this.closed) this.schedule();
  };

  /** Encodes the events logged since the last call, in order. */
  private encodeQueued(): void {
    this.encodeSoon = false;
    const q = this.queued;
    if (q.length === 0) return;
    const times = this.times;
    const enc = this.enc;
    for (let i = 0; i < q.length; i++) enc.line(++this.seq, this.sid, times[i]!, q[i]!);
    this.queued = [];
    this.times = [];
  }

  /** A full batch goes to a write now; less than that, at the latest when the timer fires. */
  private schedule(): void {
    if (this.enc.pos >= FLUSH_BYTES) this.flush();
    else if (this.enc.pos > 0 && !this.timer) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight || this.enc.pos === 0 || this.closed) return;
    // The filled buffer goes to the write; the encoder continues in the spare one (or a new one).
    const full = this.enc.buf;
    const data = full.subarray(0, this.enc.pos);
    this.enc.buf = this.spare && this.spare.length >= full.length ? this.spare : Buffer.allocUnsafe(full.length);
    this.enc.pos = 0;
    this.spare = null;
    const at = this.offset;
    this.offset += data.length;
    this.inflight = { data, offset: at };
    write(this.fd, data, 0, data.length, at, () => {
      this.inflight = null;
      if (this.closed) return;
      this.spare = full;
      this.schedule();
    });
  }

  /** Synchronous, for shutdown: whatever is in flight is written again at its offset (same bytes), then the rest. */
  close(): void {
    if (this.closed) return;
    this.encodeQueued();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight) writeSync(this.fd, this.inflight.data, 0, this.inflight.data.length, this.inflight.offset);
    if (this.enc.pos > 0) writeSync(this.fd, this.enc.buf, 0, this.enc.pos, this.offset);
    this.offset += this.enc.pos;
    this.enc.pos = 0;
    closeSync(this.fd);
  }
}
