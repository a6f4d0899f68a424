// The transition log: one NDJSON file per server incarnation, in the trace format of traces/README.md.
//
// Cost matters: a server under a write load logs 5–6 events per write, and this runs on the event loop that
// also runs the protocol. So each event is encoded straight into a byte buffer by hand-written code (fixed keys
// as literal text, the packets' fields by packet type, numbers and ASCII strings copied byte by byte), with
// no intermediate JSON string and no per-event allocation beyond what the core already built. Anything the
// fast path does not know (a string that needs escaping or is not ASCII, an object that is not plain data)
// goes through JSON.stringify, so the output is always what JSON.stringify of the event would be, modulo key
// order within a packet.
//
// Lines are buffered and written every 50 ms (or once 256 KiB are waiting) off the event loop, one write at a
// time at an offset we track; `close()` rewrites a write still in flight and the rest synchronously, at their
// offsets. A kill -9 loses at most the last flush interval, never reorders or tears what was written (each
// write is whole lines).
import { closeSync, openSync, write, writeSync } from 'node:fs';
import { TRACE_FORMAT, TRACE_VERSION, type TraceHeader } from '../traces/schema.ts';
import { zxidHex, type Notification, type Op, type Origin, type QuorumPacket, type RawTraceEvent, type Sid } from './core/types.ts';

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

/**
 * A growable byte buffer that NDJSON lines are encoded into. Every method appends the JSON text of its
 * argument; `line()` encodes one whole event.
 */
export class LineEncoder {
  buf: Buffer;
  pos = 0;
  private lastTime = -1;
  private lastTimeText = '';
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
    for (const k in o) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
      const v = o[k];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      if (!first) this.raw(',');
      first = false;
      this.str(k);
      this.raw(':');
      this.value(v);
    }
    this.raw('}');
  }

  /** A zxid as ZooKeeper prints it, in quotes. The same zxid often comes several times in a row (a PROPOSAL to each follower). */
  zxid(z: number): void {
    if (z !== this.lastZxid) {
      this.lastZxid = z;
      this.lastZxidText = zxidHex(z);
    }
    this.raw('"');
    this.raw(this.lastZxidText);
    this.raw('"');
  }

  /** A client operation. */
  private op(o: Op): void {
    this.raw(o.op === 'set' ? '{"op":"set","key":' : '{"op":"del","key":');
    this.str(o.key);
    if (o.op === 'set') {
      this.raw(',"value":');
      this.str(o.value);
    }
    this.raw('}');
  }

  private origin(o: Origin): void {
    this.raw(',"origin":{"sid":');
    this.num(o.sid);
    this.raw(',"req":');
    this.num(o.req);
    this.raw('}');
  }

  /** A message in its trace form (as `traceMessage` makes it): zxids in hex, a SNAP's data replaced by its size. */
  message(m: Notification | QuorumPacket): void {
    this.raw('{"id":');
    this.str(m.id);
    this.raw(',"from":');
    this.num(m.from);
    this.raw(',"to":');
    this.num(m.to);
    this.raw(',"type":"');
    this.raw(m.type);
    this.raw('"');
    switch (m.type) {
      case 'NOTIFICATION':
        this.raw(',"leader":');
        this.num(m.leader);
        this.raw(',"zxid":');
        this.zxid(m.zxid);
        this.raw(',"electionEpoch":');
        this.num(m.electionEpoch);
        this.raw(',"state":"');
        this.raw(m.state);
        this.raw('","peerEpoch":');
        this.num(m.peerEpoch);
        break;
      case 'ACKEPOCH':
        this.raw(',"epoch":');
        this.num(m.epoch);
        this.raw(',"zxid":');
        this.zxid(m.zxid);
        break;
      case 'SNAP':
        this.raw(',"zxid":');
        this.zxid(m.zxid);
        this.raw(',"size":');
        this.num(m.data.length);
        break;
      case 'PROPOSAL':
      case 'INFORM':
        this.raw(',"zxid":');
        this.zxid(m.zxid);
        this.raw(',"op":');
        this.op(m.op);
        if (m.origin) this.origin(m.origin);
        break;
      case 'REQUEST':
        this.raw(',"op":');
        this.op(m.op);
        this.origin(m.origin);
        break;
      case 'UPTODATE':
      case 'PING':
        break;
      default:
        // FOLLOWERINFO, OBSERVERINFO, LEADERINFO, DIFF, TRUNC, COMMIT, ACK, NEWLEADER
        this.raw(',"zxid":');
        this.zxid(m.zxid);
    }
    this.raw('}');
  }

  /** One event line: `{"type":"event","seq",...}` and a newline. */
  line(seq: number, sid: Sid, time: number, e: RawTraceEvent): void {
    this.raw('{"type":"event","seq":');
    this.num(seq);
    this.raw(',"sid":');
    this.num(sid);
    this.raw(',"action":');
    this.str(e.action);
    this.raw(',"time":');
    if (time !== this.lastTime) {
      this.lastTime = time;
      this.lastTimeText = Number.isFinite(time) ? String(time) : 'null';
    }
    this.raw(this.lastTimeText);
    if (e.params) {
      this.raw(',"params":');
      this.value(e.params);
    }
    if (e.recv) {
      this.raw(',"recv":');
      this.message(e.recv);
    }
    if (e.send) {
      this.raw(',"send":[');
      for (let i = 0; i < e.send.length; i++) {
        if (i > 0) this.raw(',');
        this.message(e.send[i]!);
      }
      this.raw(']');
    }
    if (e.post) {
      const mark = this.pos;
      this.raw(',"post":');
      const open = this.pos;
      this.value(e.post);
      if (this.pos === open + 2) this.pos = mark; // {} : the step changed no traced variable
    }
    this.raw('}\n');
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

  constructor(
    readonly path: string,
    private readonly sid: Sid,
    header: Omit<TraceHeader, 'type' | 'format' | 'version' | 'source' | 'sid' | 'created'>,
  ) {
    // One file per incarnation: never appended to by anyone else, so positional writes are safe.
    this.fd = openSync(path, 'wx');
    const head: TraceHeader = { type: 'header', format: TRACE_FORMAT, version: TRACE_VERSION, source: 'impl', sid, created: new Date().toISOString(), ...header };
    const data = Buffer.from(JSON.stringify(head) + '\n', 'utf8');
    writeSync(this.fd, data, 0, data.length, 0);
    this.offset = data.length;
  }

  append(e: RawTraceEvent): void {
    if (this.closed) return;
    const enc = this.enc;
    enc.line(++this.seq, this.sid, Date.now(), e);
    if (WRITE_EACH_LINE && !this.inflight) {
      writeSync(this.fd, enc.buf, 0, enc.pos, this.offset);
      this.offset += enc.pos;
      enc.pos = 0;
      return;
    }
    if (enc.pos >= FLUSH_BYTES) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
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
      // A batch waiting: write it now; less than that: at the latest when the timer fires.
      if (this.enc.pos >= FLUSH_BYTES) this.flush();
      else if (this.enc.pos > 0 && !this.timer) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
    });
  }

  /** Synchronous, for shutdown: whatever is in flight is written again at its offset (same bytes), then the rest. */
  close(): void {
    if (this.closed) return;
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
