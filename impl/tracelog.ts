// The transition log: one NDJSON file per server incarnation, in the trace format of traces/README.md.
// Lines are buffered in memory and written every 50 ms (or 256 KiB) off the event loop, one write at a time at
// an offset we track; `close()` rewrites a write still in flight and the rest synchronously, at their offsets. A kill -9
// loses at most the last flush interval, never reorders or tears what was written (each write is whole lines).
import { closeSync, openSync, write, writeSync } from 'node:fs';
import { TRACE_FORMAT, TRACE_VERSION, type TraceEvent, type TraceHeader } from '../traces/schema.ts';
import type { CoreTraceEvent, Sid } from './core/types.ts';

const FLUSH_MS = 50;
/**
 * Test-only: with ZK_TRACE_SYNC=1 every line is written (not fsynced) as it is logged, so that a kill -9 loses at
 * most the line of the step in progress. The conformance harness uses it: a lost tail of many steps cannot be
 * told apart from a divergence.
 */
const WRITE_EACH_LINE = process.env['ZK_TRACE_SYNC'] === '1';
const FLUSH_BYTES = 256 * 1024;

export class TransitionLog {
  private fd: number;
  private buf: string[] = [];
  private bytes = 0;
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

  append(e: CoreTraceEvent): void {
    const event: TraceEvent = { type: 'event', seq: ++this.seq, sid: this.sid, action: e.action, time: Date.now() };
    if (e.params) event.params = e.params;
    if (e.recv) event.recv = e.recv;
    if (e.send) event.send = e.send;
    if (e.post && Object.keys(e.post).length) event.post = e.post;
    const line = JSON.stringify(event) + '\n';
    if (WRITE_EACH_LINE && !this.closed && !this.inflight && this.buf.length === 0) {
      const data = Buffer.from(line, 'utf8');
      writeSync(this.fd, data, 0, data.length, this.offset);
      this.offset += data.length;
      return;
    }
    this.buf.push(line);
    this.bytes += line.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight || this.buf.length === 0 || this.closed) return;
    const data = Buffer.from(this.buf.join(''), 'utf8');
    this.buf = [];
    this.bytes = 0;
    const at = this.offset;
    this.offset += data.length;
    this.inflight = { data, offset: at };
    write(this.fd, data, 0, data.length, at, () => {
      this.inflight = null;
      if (this.buf.length) this.flush();
    });
  }

  /** Synchronous, for shutdown: whatever is in flight is written again at its offset (same bytes), then the rest. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight) writeSync(this.fd, this.inflight.data, 0, this.inflight.data.length, this.inflight.offset);
    if (this.buf.length) {
      const data = Buffer.from(this.buf.join(''), 'utf8');
      writeSync(this.fd, data, 0, data.length, this.offset);
    }
    this.buf = [];
    closeSync(this.fd);
  }
}
