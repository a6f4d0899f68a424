// The client port: length-prefixed JSON requests with a client-chosen xid. Replies go back in request order,
// and a read waits for the writes sent before it on the same connection (ZooKeeper's FIFO client order).
import { listenTcp } from './listen.ts';
import type { Server, Socket } from 'node:net';
import type { ClientResult, Op } from '../core/types.ts';
import { encodeFrame, FrameDecoder } from './frame.ts';
import { ClientRequest, type ClientReply } from './messages.ts';

export interface ClientHandler {
  /** Start a write; the result arrives through `ClientPort.complete(req, ...)`. */
  write(req: number, op: Op): void;
  read(key: string): string | undefined;
  dump(): [string, string][];
  stat(): Record<string, unknown>;
  /** Test-only; returns an error text when fault switches are off. */
  fault(isolate: number[]): string | null;
}

interface Entry {
  readonly xid: number;
  reply: ClientReply | null;
  /** A read, run once every entry before it is done. */
  run?: () => ClientReply;
}

interface Session {
  readonly sock: Socket;
  readonly entries: Entry[];
}

const MAX_CLIENT_FRAME = 2 * 1024 * 1024;
/** Outstanding requests per connection before we stop reading from it (ZooKeeper's throttling, simplified). */
const PAUSE_AT = 1000;
const RESUME_AT = 500;

export class ClientPort {
  private server: Server | null = null;
  private nextReq = 0;
  private waiting = new Map<number, { session: Session; entry: Entry }>();
  private sessions = new Set<Session>();

  constructor(
    private readonly handler: ClientHandler,
    private readonly log: (line: string) => void,
  ) {}

  async listen(port: number, host: string): Promise<void> {
    this.server = await listenTcp(host, port, (sock) => this.accept(sock));
  }

  private accept(sock: Socket): void {
    sock.setNoDelay(true);
    const session: Session = { sock, entries: [] };
    this.sessions.add(session);
    const who = `${sock.remoteAddress}:${sock.remotePort}`;
    const decoder = new FrameDecoder(ClientRequest, MAX_CLIENT_FRAME);
    sock.on('data', (chunk: Buffer) => {
      let reqs;
      try {
        reqs = decoder.push(chunk);
      } catch (e) {
        this.log(`client port: closing connection from ${who}: ${(e as Error).message}`);
        return void sock.destroy();
      }
      for (const r of reqs) this.handle(session, r);
      this.pump(session);
      if (session.entries.length >= PAUSE_AT) sock.pause();
    });
    sock.on('error', () => {});
    sock.once('close', () => {
      this.sessions.delete(session);
      session.entries.length = 0;
    });
  }

  private handle(session: Session, r: ClientRequest): void {
    const entry: Entry = { xid: r.xid, reply: null };
    session.entries.push(entry);
    switch (r.type) {
      case 'set':
      case 'del': {
        const req = ++this.nextReq;
        this.waiting.set(req, { session, entry });
        this.handler.write(req, r.type === 'set' ? { op: 'set', key: r.key, value: r.value } : { op: 'del', key: r.key });
        return;
      }
      case 'get':
        entry.run = () => ({ xid: r.xid, ok: true, value: this.handler.read(r.key) ?? null });
        return;
      case 'dump':
        entry.run = () => ({ xid: r.xid, ok: true, data: this.handler.dump() });
        return;
      case 'stat':
        entry.run = () => ({ xid: r.xid, ok: true, stat: this.handler.stat() });
        return;
      case 'fault': {
        const err = this.handler.fault(r.isolate);
        entry.reply = err ? { xid: r.xid, ok: false, error: err } : { xid: r.xid, ok: true };
        return;
      }
      default: {
        const never: never = r;
        throw new Error(`unknown request ${JSON.stringify(never)}`);
      }
    }
  }

  /** The core finished a write (committed and applied here, or failed). */
  complete(req: number, result: ClientResult): void {
    const w = this.waiting.get(req);
    if (!w) return;
    this.waiting.delete(req);
    w.entry.reply = result.ok ? { xid: w.entry.xid, ok: true, zxid: '0x' + result.zxid.toString(16) } : { xid: w.entry.xid, ok: false, error: result.error };
    this.pump(w.session);
  }

  /** Send the finished prefix of the session's entries; run reads whose predecessors are done. */
  private pump(session: Session): void {
    const out: Buffer[] = [];
    while (session.entries.length) {
      const e = session.entries[0]!;
      if (!e.reply && e.run) e.reply = e.run();
      if (!e.reply) break;
      out.push(encodeFrame(e.reply));
      session.entries.shift();
    }
    if (out.length && !session.sock.destroyed) session.sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (session.sock.isPaused() && session.entries.length <= RESUME_AT) session.sock.resume();
  }

  close(): void {
    this.server?.close();
    for (const s of this.sessions) s.sock.destroy();
  }
}
