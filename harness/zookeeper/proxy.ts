// The per-(learner, leader) proxies that forward, print and hold quorum packets by type.
// Wiring. Server N's zoo.cfg has its own line `server.N=127.0.0.1:Q(N):E(N)` with its real quorum port; every other
// server M's line points at a proxy port P(N->M) that forwards to Q(M). Election ports are direct. So whichever
// server leads, every learner reaches it through a proxy of ours, one per (learner, leader) pair.
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';

import { hex, say, stamp } from './log.ts';
import { PING, QuorumStreamParser, type Unit, typeName } from './quorum-stream.ts';
// ------------------------------------------------------------------------------------------ the proxies

export interface Seen {
  readonly at: string;
  readonly conn: number;
  readonly type: number;
  readonly zxid: bigint;
  action: 'forwarded' | 'held' | 'released' | 'dropped';
}

/** What the proxies print as packets pass: nothing, the sync handshake (and held packets), or every non-PING. */
export const proxyOutput: { print: 'none' | 'sync' | 'all' } = { print: 'none' };
const SYNC_TYPES = new Set([10, 11, 12, 13, 14, 15, 17, 18, -1]);

/** One direction of one (learner, leader) pair, over all its connections: what to hold, and what passed. */

export class Direction {
  holdOn = new Set<number>();
  holdAfter = new Set<number>();
  holding = false;
  readonly seen: Seen[] = [];
  pings = 0;
  readonly pipes = new Set<Pipe>();

  constructor(readonly name: string) {}

  /** Forget the rules and stop holding (held packets of live connections stay held until release()). */
  rules(holdOn: number[], holdAfter: number[] = []): void {
    this.holdOn = new Set(holdOn);
    this.holdAfter = new Set(holdAfter);
  }

  /** Sends what is held, in order, and holds nothing more. */
  release(): number {
    this.holdOn.clear();
    this.holdAfter.clear();
    this.holding = false;
    let n = 0;
    for (const p of this.pipes) n += p.flushHeld();
    return n;
  }

  record(s: Seen): void {
    if (s.type === PING) this.pings++;
    else {
      this.seen.push(s);
      if (proxyOutput.print === 'all' || (proxyOutput.print === 'sync' && (SYNC_TYPES.has(s.type) || s.action !== 'forwarded'))) say(`  proxy ${this.name} conn#${s.conn}: ${typeName(s.type)} ${s.zxid >= 0n ? hex(s.zxid) : ''} ${s.action}`);
    }
  }

  find(pred: (s: Seen) => boolean): Seen | undefined {
    return this.seen.find(pred);
  }

  describe(pred: (s: Seen) => boolean = () => true): string {
    const xs = this.seen.filter(pred);
    return xs.length === 0 ? '(none)' : xs.map((s) => `${typeName(s.type)}${s.zxid >= 0n ? ' ' + hex(s.zxid) : ''} [${s.action}, conn#${s.conn}]`).join(', ');
  }
}

/** One direction of one TCP connection. */
export class Pipe {
  private readonly parser: QuorumStreamParser;
  private held: { unit: Unit; seen: Seen }[] = [];

  constructor(
    readonly dir: Direction,
    readonly conn: number,
    private readonly dst: Socket,
    leaderToLearner: boolean,
  ) {
    this.parser = new QuorumStreamParser(leaderToLearner);
  }

  onData(chunk: Buffer): void {
    for (const unit of this.parser.push(chunk)) {
      if (this.parser.problem !== null) {
        say(`  proxy ${this.dir.name}: stream not parsed from here on (${this.parser.problem}); passing bytes through`);
        this.parser.problem = null;
      }
      const d = this.dir;
      if (!d.holding && d.holdOn.has(unit.type)) d.holding = true;
      const seen: Seen = { at: stamp(), conn: this.conn, type: unit.type, zxid: unit.zxid, action: d.holding ? 'held' : 'forwarded' };
      if (d.holding) this.held.push({ unit, seen });
      else this.dst.write(unit.bytes);
      d.record(seen);
      if (!d.holding && d.holdAfter.has(unit.type)) d.holding = true;
    }
  }

  flushHeld(): number {
    const h = this.held;
    this.held = [];
    for (const { unit, seen } of h) {
      this.dst.write(unit.bytes);
      seen.action = 'released';
    }
    return h.length;
  }

  dropHeld(): void {
    for (const { seen } of this.held) seen.action = 'dropped';
    if (this.held.length > 0) say(`  proxy ${this.dir.name} conn#${this.conn} closed: ${this.held.length} held packet(s) dropped (${this.held.filter((h) => h.unit.type !== PING).map((h) => typeName(h.unit.type)).join(', ') || 'PINGs'})`);
    this.held = [];
  }
}

let connCounter = 0;
/** How long a proxy keeps trying the leader's port for a learner's connection (see PairProxy.accept). */
const CONNECT_RETRY_MS = 5000;

/** The proxy of learner `from` to leader `to`: listens on a port of its own, forwards to Q(to). */
export class PairProxy {
  readonly down: Direction; // leader -> learner
  readonly up: Direction; // learner -> leader
  port = 0;
  private server: NetServer | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly from: number,
    readonly to: number,
    private readonly targetPort: () => number,
  ) {
    this.down = new Direction(`${to}->${from}`);
    this.up = new Direction(`${from}->${to}`);
  }

  async listen(): Promise<void> {
    const server = createServer((learner) => this.accept(learner));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(0, '127.0.0.1', () => res());
    });
    server.on('error', () => {});
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('proxy: no port');
    this.port = a.port;
  }

  /** A learner's connection: accepted at once, forwarded once the leader's port answers. Without a proxy a learner
   *  whose leader is not listening yet gets ECONNREFUSED and tries again (Learner.connectToLeader: 5 tries, about
   *  1 s apart); through a proxy it would see its accepted connection closed, an EOF that sends it back to
   *  LOOKING. So the proxy retries the leader's port (every 200 ms, for up to CONNECT_RETRY_MS) while the
   *  learner's first bytes wait; if the port never answers, the learner's connection is closed. */
  private accept(learner: Socket): void {
    const conn = ++connCounter;
    learner.setNoDelay(true);
    this.sockets.add(learner);
    const early: Buffer[] = [];
    let up: Pipe | null = null;
    let down: Pipe | null = null;
    let leader: Socket | null = null;
    let closed = false;
    // Either side gone: the other is ended after what was forwarded; what is held is lost (as over a partition).
    const close = () => {
      if (closed) return;
      closed = true;
      if (up !== null) {
        this.up.pipes.delete(up);
        up.dropHeld();
      }
      if (down !== null) {
        this.down.pipes.delete(down);
        down.dropHeld();
      }
      for (const s of [learner, leader]) {
        if (s === null) continue;
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      }
    };
    const until = performance.now() + CONNECT_RETRY_MS;
    const dial = () => {
      if (closed) return;
      const s = connect(this.targetPort(), '127.0.0.1');
      this.sockets.add(s);
      const failed = () => {
        this.sockets.delete(s);
        s.destroy();
        if (!closed && performance.now() < until) setTimeout(dial, 200);
        else close();
      };
      s.once('error', failed);
      s.once('connect', () => {
        s.removeListener('error', failed);
        if (closed) {
          this.sockets.delete(s);
          s.destroy();
          return;
        }
        leader = s;
        s.setNoDelay(true);
        const u = new Pipe(this.up, conn, s, false);
        const d = new Pipe(this.down, conn, learner, true);
        up = u;
        down = d;
        this.up.pipes.add(u);
        this.down.pipes.add(d);
        s.on('data', (c: Buffer) => d.onData(c));
        for (const c of early.splice(0)) u.onData(c);
        s.on('error', close);
        s.on('close', () => {
          this.sockets.delete(s);
          close();
        });
        s.on('end', close);
      });
    };
    learner.on('data', (c: Buffer) => {
      if (up !== null) up.onData(c);
      else early.push(c);
    });
    learner.on('error', close);
    learner.on('close', () => {
      this.sockets.delete(learner);
      close();
    });
    learner.on('end', close);
    dial();
  }

  /** Breaks every open connection of this pair at once (both sockets destroyed, what is held dropped), as a
   *  network fault would; the learner sees its connection to the leader fail. Returns how many sockets it closed. */
  breakConnections(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }
}
