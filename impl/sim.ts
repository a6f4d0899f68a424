// A seeded simulated network for the protocol core (TigerBeetle's VOPR in miniature): every server is a real
// QuorumPeer over a MemDisk; messages travel FIFO per channel with random delays; timers run on virtual time;
// crashes drop a server's volatile state. One seed drives every choice, so a failing run replays exactly.
import { MemDisk } from './core/disk.ts';
import { unfoldAppended } from '../traces/format.ts';
import { QuorumPeer, toTraceEvent, type PeerConfig } from './core/peer.ts';
import type { ConnId, Effect, Input, LearnerType, Request, Sid, TimerName, CoreTraceEvent, RawTraceEvent, ClientResult } from './core/types.ts';
import { CreateMode, OpCode, Perms } from './zkwire/codes.ts';
import { mulberry32Unit } from '../traces/random.ts';

/** The session the simulated clients write with (created by `sessionRequest`, committed like any txn). */
export const SIM_SESSION = 0x100n;
/** createSession for SIM_SESSION: the first write of a run, so that the others are not SESSIONEXPIRED. */
export const sessionRequest = (): Request => ({ sessionId: SIM_SESSION, cxid: 0, type: OpCode.createSession, request: { timeOut: 30_000 }, authInfo: [] });
/** A persistent create of `/key` holding `value` (NODEEXISTS when the key was written before: still a txn). */
export const createRequest = (key: string, value: string): Request => ({
  sessionId: SIM_SESSION,
  cxid: 0,
  type: OpCode.create,
  request: { path: `/${key}`, data: Buffer.from(value), acl: [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }], flags: CreateMode.PERSISTENT },
  authInfo: [],
});
/** A delete of `/key`, any version. */
export const deleteRequest = (key: string): Request => ({ sessionId: SIM_SESSION, cxid: 0, type: OpCode.delete, request: { path: `/${key}`, version: -1 }, authInfo: [] });

export interface SimOptions {
  readonly seed: number;
  readonly servers: ReadonlyMap<Sid, LearnerType>;
  readonly tickTime?: number;
  readonly commitLogCount?: number;
  readonly snapCount?: number;
  readonly trace?: boolean;
  /** Virtual ms from an fsync's start to its completion (default 1): a seeded slow disk. */
  readonly fsyncDelay?: (sid: Sid) => number;
  /** Sees each trace event as the core emitted it, before its trace form goes to the node's `trace`. */
  readonly onTrace?: (sid: Sid, event: RawTraceEvent) => void;
}

interface SimNode {
  peer: QuorumPeer;
  readonly disk: MemDisk;
  up: boolean;
  /** Bumped on crash so that messages and timers of the old incarnation are dropped. */
  incarnation: number;
  timers: Map<TimerName, number>;
  trace: CoreTraceEvent[];
  /**
   * What this server's clients could have seen, in order: the zxid of each txn applied, and `closed` where the
   * server closed every client connection (it left its role).
   */
  view: (number | 'closed')[];
}

interface Link {
  readonly a: { sid: Sid; conn: ConnId };
  readonly b: { sid: Sid; conn: ConnId };
  open: boolean;
}

interface Scheduled {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
}

export class SimCluster {
  now = 0;
  readonly nodes = new Map<Sid, SimNode>();
  readonly replies = new Map<string, ClientResult>();
  /** Syncs answered, by `sid:req`: the zxid the server had applied then. */
  readonly syncs = new Map<string, number>();
  private queue: Scheduled[] = [];
  private order = 0;
  private rng: () => number;
  private links = new Map<string, Link>();
  private linkCount = 0;
  /** Channels whose next delivery may not happen before this time (keeps each channel FIFO). */
  private channelClock = new Map<string, number>();
  private partitioned = new Set<string>();

  constructor(readonly opts: SimOptions) {
    this.rng = mulberry32(opts.seed);
    for (const sid of opts.servers.keys()) {
      const disk = new MemDisk();
      this.nodes.set(sid, { peer: this.makePeer(sid, disk), disk, up: true, incarnation: 0, timers: new Map(), trace: [], view: [] });
    }
  }

  private makePeer(sid: Sid, disk: MemDisk): QuorumPeer {
    const cfg: PeerConfig = {
      myid: sid,
      servers: this.opts.servers,
      tickTime: this.opts.tickTime ?? 100,
      initLimit: 10,
      syncLimit: 5,
      finalizeWait: 200,
      maxNotificationInterval: 2000,
      commitLogCount: this.opts.commitLogCount ?? 500,
      snapCount: this.opts.snapCount ?? 1000,
      trace: this.opts.trace ?? true,
      msgIdBase: (this.nodes.get(sid)?.incarnation ?? 0) * 1e9,
      now: () => this.now,
    };
    return new QuorumPeer(cfg, disk);
  }

  start(): void {
    for (const sid of this.nodes.keys()) this.input(sid, { kind: 'boot' });
  }

  /** Run virtual time forward, processing everything due. */
  runFor(ms: number): void {
    const end = this.now + ms;
    for (let guard = 0; guard < 5_000_000; guard++) {
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.now = next.at;
      next.run();
    }
    this.now = end;
  }

  write(sid: Sid, req: number, request: Request): void {
    this.input(sid, { kind: 'clientWrite', req, request });
  }

  crash(sid: Sid): void {
    const n = this.nodes.get(sid)!;
    n.up = false;
    n.incarnation++;
    n.timers.clear();
    n.disk.crash();
    for (const [key, link] of this.links) {
      if (link.a.sid !== sid && link.b.sid !== sid) continue;
      this.links.delete(key);
      const other = link.a.sid === sid ? link.b : link.a;
      if (link.open) this.schedule(this.delay(), () => this.input(other.sid, { kind: 'quorumClosed', conn: other.conn, reason: 'peer crashed' }));
    }
  }

  restart(sid: Sid): void {
    const n = this.nodes.get(sid)!;
    n.peer = this.makePeer(sid, n.disk);
    n.up = true;
    this.input(sid, { kind: 'boot' });
  }

  /** Cut (or heal) every channel between a and b, closing their quorum connections. */
  partition(a: Sid, b: Sid, cut: boolean): void {
    const key = [a, b].sort().join('-');
    if (!cut) return void this.partitioned.delete(key);
    this.partitioned.add(key);
    for (const [k, link] of this.links) {
      const pair = [link.a.sid, link.b.sid].sort().join('-');
      if (pair !== key) continue;
      this.links.delete(k);
      for (const side of [link.a, link.b]) this.schedule(this.delay(), () => this.input(side.sid, { kind: 'quorumClosed', conn: side.conn, reason: 'partition' }));
    }
  }

  private cut(a: Sid, b: Sid): boolean {
    return this.partitioned.has([a, b].sort().join('-'));
  }

  input(sid: Sid, input: Input): void {
    const n = this.nodes.get(sid)!;
    if (!n.up) return;
    const effects = n.peer.step(input);
    // The runtime fsyncs the log before any message of the step leaves: model that as a sync per step.
    n.disk.sync();
    for (const e of effects) this.effect(sid, n, e);
  }

  private effect(sid: Sid, n: SimNode, e: Effect): void {
    const inc = n.incarnation;
    const alive = () => n.up && n.incarnation === inc;
    switch (e.kind) {
      case 'sendElection': {
        const to = e.msg.to;
        if (to !== sid && this.cut(sid, to)) return;
        this.deliver(`e${sid}>${to}`, () => this.input(to, { kind: 'election', msg: e.msg }));
        return;
      }
      case 'sendQuorum': {
        const link = this.findLink(sid, e.conn);
        if (!link || !link.open) return;
        const other = link.a.sid === sid && link.a.conn === e.conn ? link.b : link.a;
        this.deliver(`q${sid}:${e.conn}`, () => {
          if (this.links.has(this.linkKey(link))) this.input(other.sid, { kind: 'quorum', conn: other.conn, msg: e.msg });
        });
        return;
      }
      case 'connectLeader': {
        const leader = this.nodes.get(e.sid);
        if (!leader?.up || this.cut(sid, e.sid)) {
          // Refused: the learner's timer will give up on this leader.
          return;
        }
        const link: Link = { a: { sid, conn: e.conn }, b: { sid: e.sid, conn: `s${++this.linkCount}` }, open: true };
        this.links.set(this.linkKey(link), link);
        this.schedule(this.delay(), () => alive() && this.input(sid, { kind: 'leaderConnected', conn: e.conn }));
        return;
      }
      case 'closeQuorum': {
        const link = this.findLink(sid, e.conn);
        if (!link) return;
        this.links.delete(this.linkKey(link));
        const other = link.a.sid === sid && link.a.conn === e.conn ? link.b : link.a;
        this.schedule(this.delay(), () => this.input(other.sid, { kind: 'quorumClosed', conn: other.conn, reason: e.reason }));
        return;
      }
      case 'setTimer': {
        const at = this.now + e.ms;
        n.timers.set(e.timer, at);
        this.schedule(e.ms, () => {
          if (alive() && n.timers.get(e.timer) === at) {
            n.timers.delete(e.timer);
            this.input(sid, { kind: 'timeout', timer: e.timer });
          }
        });
        return;
      }
      case 'cancelTimer':
        n.timers.delete(e.timer);
        return;
      case 'sync':
        n.disk.sync();
        this.schedule(this.opts.fsyncDelay?.(sid) ?? 1, () => alive() && this.input(sid, { kind: 'logSynced', zxid: e.zxid }));
        return;
      case 'clientReply':
        this.replies.set(`${sid}:${e.req}`, e.result);
        return;
      case 'syncReply':
        this.syncs.set(`${sid}:${e.req}`, e.zxid);
        return;
      case 'trace': {
        this.opts.onTrace?.(sid, e.event);
        // The record keeps each folded log append as its own TxnLogAppend event (traces/reader.ts unfolds them).
        n.trace.push(...(unfoldAppended(toTraceEvent(e.event), {}) as CoreTraceEvent[]));
        return;
      }
      case 'applied':
        n.view.push(e.zxid);
        return;
      case 'closeAllConnections':
        n.view.push('closed');
        return;
      case 'log':
      case 'touchSessions':
        return;
      default: {
        const never: never = e;
        throw new Error(`unhandled effect ${JSON.stringify(never)}`);
      }
    }
  }

  private linkKey(link: Link): string {
    return `${link.a.sid}/${link.a.conn}`;
  }

  private findLink(sid: Sid, conn: ConnId): Link | undefined {
    for (const link of this.links.values()) {
      if ((link.a.sid === sid && link.a.conn === conn) || (link.b.sid === sid && link.b.conn === conn)) return link;
    }
    return undefined;
  }

  private deliver(channel: string, run: () => void): void {
    const at = Math.max(this.now + this.delay(), this.channelClock.get(channel) ?? 0);
    this.channelClock.set(channel, at);
    this.schedule(at - this.now, run);
  }

  private delay(): number {
    return 1 + Math.floor(this.rng() * 5);
  }

  private schedule(ms: number, run: () => void): void {
    const item = { at: this.now + ms, order: this.order++, run };
    // Binary insertion keeps the queue sorted by (at, order).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.at < item.at || (q.at === item.at && q.order < item.order)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  /** Servers that are LEADING and serving. */
  leaders(): Sid[] {
    return [...this.nodes].filter(([, n]) => n.up && n.peer.state === 'LEADING' && n.peer.leader?.phase === 'broadcast').map(([s]) => s);
  }
}

/** The simulator's generator, a fraction in [0, 1): traces/random.ts's mulberry32, so that a seed reruns the same schedule. */
export const mulberry32 = mulberry32Unit;
