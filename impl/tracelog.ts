// The transition log: one NDJSON file per server incarnation, in the trace format of traces/README.md.
// Lines are buffered in memory and written every 50 ms (or 256 KiB) and on close. A kill -9
// loses at most the last flush interval, never reorders or tears what was written (each write is whole lines).
import { closeSync, openSync, writeSync } from 'node:fs';
import { TRACE_FORMAT, TRACE_VERSION, type TraceEvent, type TraceHeader } from '../traces/schema.ts';
import type { CoreTraceEvent, Sid } from './core/types.ts';

const FLUSH_MS = 50;
const FLUSH_BYTES = 256 * 1024;

export class TransitionLog {
  private fd: number;
  private buf: string[] = [];
  private bytes = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly path: string,
    private readonly sid: Sid,
    header: Omit<TraceHeader, 'type' | 'format' | 'version' | 'source' | 'sid' | 'created'>,
  ) {
    this.fd = openSync(path, 'a');
    const head: TraceHeader = { type: 'header', format: TRACE_FORMAT, version: TRACE_VERSION, source: 'impl', sid, created: new Date().toISOString(), ...header };
    writeSync(this.fd, JSON.stringify(head) + '\n');
  }

  append(e: CoreTraceEvent): void {
    const event: TraceEvent = { type: 'event', seq: ++this.seq, sid: this.sid, action: e.action, time: Date.now() };
    if (e.params) event.params = e.params;
    if (e.recv) event.recv = e.recv;
    if (e.send) event.send = e.send;
    if (e.post && Object.keys(e.post).length) event.post = e.post;
    const line = JSON.stringify(event) + '\n';
    this.buf.push(line);
    this.bytes += line.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** One write of whole lines (to the page cache: cheap, and never interleaved with another write). */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buf.length === 0) return;
    const data = this.buf.join('');
    this.buf = [];
    this.bytes = 0;
    writeSync(this.fd, data);
  }

  /** Synchronous: for shutdown paths. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buf.length) writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    closeSync(this.fd);
  }
}
