// The client port, speaking ZooKeeper's client protocol (NIOServerCnxn + the session handshake of
// ZooKeeperServer.processConnectRequest): length-prefixed jute frames, a ConnectRequest first (with or without
// the trailing readOnly byte), then RequestHeader {xid, type} + record; replies are ReplyHeader {xid, zxid,
// err} + record, notifications xid -1, pings -2, auth -4, setWatches -8. A connection's replies go back in the
// order its requests came (a read waits for the writes before it on the same connection: ZooKeeper's FIFO
// client order); writes go to the core (the leader prepares them), reads are answered from this server's tree.
//
// A connection whose first four bytes are lowercase letters is a four-letter word (ruok, srvr, mntr...). A
// malformed frame, one larger than jute.maxbuffer, or an unknown op (after its UNIMPLEMENTED reply) closes
// that connection with one logged line; the server goes on.
import type { Server, Socket } from 'node:net';
import { listenTcp } from './listen.ts';
import { Code, OpCode, Xid } from '../zkwire/codes.ts';
import { FrameSplitter, JuteError, JuteWriter, decodeConnectRequest, encodeConnectResponse, frame } from '../zkwire/jute.ts';
import { AuthPacket, decodeRequest, encodeNotification, encodeReply, SetWatches, SetWatches2 } from '../zkwire/records.ts';
import { authenticate, type Id } from '../zk/acl.ts';
import type { DataTree } from '../zk/datatree.ts';
import { READ_OPS, readAnswer, writeAnswer, type Answer } from '../zk/final.ts';
import { WRITE_OPS, type Request } from '../zk/prep.ts';
import { negotiateTimeout, sessionPassword } from '../zk/sessions.ts';
import { WatchManager } from '../zk/watches.ts';
import type { ConnectionStats } from '../zk/four-letter-words.ts';
import type { Applied } from '../core/db.ts';
import type { ClientResult } from '../core/types.ts';

export interface ClientPortHooks {
  /** The server is synced with a leader and takes clients (ZooKeeperServer.isRunning). */
  serving(): boolean;
  tree(): DataTree;
  /** The zxid of the last txn applied here (reply headers of reads and pings). */
  lastZxid(): number;
  newSessionId(): bigint;
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
  /** jute.maxbuffer: the largest frame a client may send. */
  readonly maxBuffer: number;
  /** Start a write; its result comes back through `ClientPort.complete(req, ...)`. */
  write(req: number, request: Request): void;
  /** A request of this session arrived (the session tracker's touch, or a learner's report to the leader). */
  touch(sessionId: bigint): void;
  /** A four-letter word's answer; null: an unknown word (the connection is closed without one). */
  fourLetter(word: string, rest: Buffer): string | null;
}

interface Entry {
  reply: Buffer | null;
  /** When the request came (latency), and what it was (the last op a connection ran, for `cons`). */
  readonly at?: number;
  readonly op?: number;
  readonly xid?: number;
  /** Answered when every entry before it is done (a read sees the writes sent before it). */
  run?: () => Buffer;
  /** Close the connection once this reply is sent (closeSession, a refused session, an unknown op). */
  close?: boolean;
}

class Cnxn {
  /** The ConnectRequest came (the first frame); established once its ConnectResponse is decided. */
  connectSeen = false;
  /** A four-letter word's connection: answered and closed by itself, never by closeAll. */
  fourLetter = false;
  sessionId = 0n;
  timeout = 0;
  established = false;
  // ServerCnxn's counters, for the four-letter words.
  received = 0;
  sent = 0;
  establishedAt: number | null = null;
  lastOp = 'NA';
  lastCxid = -1;
  lastZxid = -1;
  lastResponseTime = 0;
  lat = { last: 0, min: 0, max: 0, total: 0, count: 0 };
  readonly entries: Entry[] = [];
  readonly authInfo: Id[];
  constructor(
    readonly sock: Socket,
    readonly who: string,
    readonly readOnlyByte: { value: boolean },
  ) {
    this.authInfo = [{ scheme: 'ip', id: sock.remoteAddress?.replace(/^::ffff:/, '') ?? '' }];
  }
}

interface Waiting {
  readonly cnxn: Cnxn;
  readonly entry: Entry;
  readonly xid: number;
  readonly type: number;
  /** A sync's path, for its SyncResponse. */
  readonly path?: string;
}

/** FinalRequestProcessor's lastOp names. */
const OP_ABBREV: ReadonlyMap<number, string> = new Map([
  [OpCode.ping, 'PING'],
  [OpCode.create, 'CREA'],
  [OpCode.create2, 'CREA'],
  [OpCode.createContainer, 'CREA'],
  [OpCode.createTTL, 'CREA'],
  [OpCode.delete, 'DELE'],
  [OpCode.setData, 'SETD'],
  [OpCode.getData, 'GETD'],
  [OpCode.exists, 'EXIS'],
  [OpCode.getChildren, 'GETC'],
  [OpCode.getChildren2, 'GETC'],
  [OpCode.getACL, 'GETA'],
  [OpCode.setACL, 'SETA'],
  [OpCode.multi, 'MULT'],
  [OpCode.multiRead, 'MLTR'],
  [OpCode.sync, 'SYNC'],
  [OpCode.check, 'CHEC'],
  [OpCode.setWatches, 'SETW'],
  [OpCode.setWatches2, 'STW2'],
  [OpCode.addWatch, 'ADDW'],
  [OpCode.removeWatches, 'REMW'],
  [OpCode.checkWatches, 'CHKW'],
  [OpCode.closeSession, 'CLOS'],
  [OpCode.auth, 'AUTH'],
  [OpCode.whoAmI, 'HOMI'],
  [OpCode.move, 'MOVE'],
]);

/** Outstanding requests per connection before we stop reading from it (ZooKeeper's throttling, simplified). */
const PAUSE_AT = 1000;
const RESUME_AT = 500;

export class ClientPort {
  private server: Server | null = null;
  private nextReq = 0;
  private readonly waiting = new Map<number, Waiting>();
  private readonly cnxns = new Set<Cnxn>();
  /** Which local connection holds each session. */
  private readonly bySession = new Map<bigint, Cnxn>();
  readonly watches = new WatchManager<Cnxn>();
  private readonly writer = new JuteWriter(4096);
  /** Counters for the four-letter words (ServerStats). */
  readonly counters = { packetsReceived: 0, packetsSent: 0, latMin: 0, latMax: 0, latTotal: 0, latCount: 0 };

  constructor(
    private readonly hooks: ClientPortHooks,
    private readonly log: (line: string) => void,
  ) {}

  async listen(port: number, host: string): Promise<void> {
    this.server = await listenTcp(host, port, (sock) => this.accept(sock));
  }

  get connections(): number {
    return this.cnxns.size;
  }

  /** Requests of clients not answered yet (srvr's Outstanding). */
  get outstanding(): number {
    return this.waiting.size;
  }

  /** Per connection, ServerCnxn's counters (the `cons` and `stat` words). */
  connectionStats(): ConnectionStats[] {
    return [...this.cnxns].map((c) => ({
      remote: `/${c.who.replace(/^::ffff:/, '')}`,
      interestOps: c.sock.isPaused() ? 0 : 1,
      queued: c.entries.length,
      received: c.received,
      sent: c.sent,
      sessionId: c.established ? c.sessionId : 0n,
      lastOp: c.lastOp,
      established: c.establishedAt,
      sessionTimeoutMs: c.timeout,
      lastCxid: c.lastCxid,
      lastZxid: BigInt(c.lastZxid),
      lastResponseTime: c.lastResponseTime,
      lastLatencyMs: c.lat.last,
      minLatencyMs: c.lat.min,
      avgLatencyMs: c.lat.count ? c.lat.total / c.lat.count : 0,
      maxLatencyMs: c.lat.max,
    }));
  }

  /** Sessions with watches, by the data-watch table (wchc, wchp, wchs show that one in 3.8). */
  watchStats(): { summary: { connections: number; paths: number; watches: number }; bySession: Map<bigint, string[]>; byPath: Map<string, bigint[]> } {
    const t = this.watches.dataWatches;
    const bySession = new Map<bigint, string[]>();
    for (const [c, paths] of t.byConnection()) bySession.set(c.sessionId, [...paths]);
    const byPath = new Map<string, bigint[]>();
    for (const [p, cs] of t.byPathMap()) byPath.set(p, [...cs].map((c) => c.sessionId));
    return { summary: t.summary(), bySession, byPath };
  }

  private accept(sock: Socket): void {
    sock.setNoDelay(true);
    const who = `${sock.remoteAddress}:${sock.remotePort}`;
    const cnxn = new Cnxn(sock, who, { value: true });
    this.cnxns.add(cnxn);
    const splitter = new FrameSplitter(this.hooks.maxBuffer);
    let head: Buffer | null = Buffer.alloc(0);
    const fail = (why: string) => {
      this.log(`client port: closing connection from ${who}: ${why}`);
      sock.destroy();
    };
    sock.on('data', (chunk: Buffer) => {
      if (head !== null) {
        // The first four bytes tell a four-letter word from a ConnectRequest's length.
        head = Buffer.concat([head, chunk]);
        if (head.length < 4) return;
        const word = head.subarray(0, 4).toString('latin1');
        if (/^[a-z]{4}$/.test(word)) {
          // Marked first: a word may change this server's role (zabf) and so close every client connection.
          cnxn.fourLetter = true;
          const answer = this.hooks.fourLetter(word, head.subarray(4));
          if (answer === null) return fail(`unknown four-letter word ${JSON.stringify(word)}`);
          sock.end(answer);
          return;
        }
        chunk = head;
        head = null;
      }
      let frames: Buffer[];
      try {
        frames = splitter.push(chunk);
      } catch (e) {
        return fail((e as Error).message);
      }
      for (const f of frames) {
        if (sock.destroyed) return;
        try {
          this.counters.packetsReceived++;
          if (!cnxn.connectSeen) this.connect(cnxn, f);
          else this.request(cnxn, f);
        } catch (e) {
          if (e instanceof JuteError) return fail(`malformed packet: ${e.message}`);
          throw e;
        }
      }
      this.pump(cnxn);
      if (cnxn.entries.length >= PAUSE_AT) sock.pause();
    });
    sock.on('error', () => {});
    sock.once('close', () => {
      this.cnxns.delete(cnxn);
      this.watches.removeWatcher(cnxn);
      if (this.bySession.get(cnxn.sessionId) === cnxn) this.bySession.delete(cnxn.sessionId);
      cnxn.entries.length = 0;
    });
  }

  /** processConnectRequest: a new session (created through the leader) or the resumption of one. */
  private connect(cnxn: Cnxn, body: Buffer): void {
    cnxn.connectSeen = true;
    const req = decodeConnectRequest(body);
    cnxn.readOnlyByte.value = req.readOnlyByte;
    if (!this.hooks.serving()) throw new JuteError('this server is not serving (not synced with a leader)');
    if (req.lastZxidSeen > BigInt(this.hooks.lastZxid()))
      throw new JuteError(`the client has seen zxid 0x${req.lastZxidSeen.toString(16)}, beyond ours 0x${this.hooks.lastZxid().toString(16)}: it should try another server`);
    const timeout = negotiateTimeout(req.timeOut, this.hooks.minSessionTimeout, this.hooks.maxSessionTimeout);
    cnxn.timeout = timeout;
    const entry: Entry = { reply: null };
    cnxn.entries.push(entry);
    if (req.sessionId === 0n) {
      const id = this.hooks.newSessionId();
      cnxn.sessionId = id;
      const r = ++this.nextReq;
      this.waiting.set(r, { cnxn, entry, xid: 0, type: OpCode.createSession });
      this.hooks.write(r, { sessionId: id, cxid: 0, type: OpCode.createSession, request: { timeOut: timeout }, authInfo: [] });
      return;
    }
    // Resuming: the session must be live here and the password its own (a wrong one is refused).
    const live = this.hooks.tree().sessions.has(req.sessionId);
    const passwd = req.passwd ?? Buffer.alloc(0);
    if (!live || !passwd.equals(sessionPassword(req.sessionId))) {
      this.log(`client port: refusing session 0x${BigInt.asUintN(64, req.sessionId).toString(16)} from ${cnxn.who}: ${live ? 'wrong password' : 'expired or unknown'}`);
      entry.reply = frame(encodeConnectResponse({ protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }, req.readOnlyByte));
      entry.close = true;
      return;
    }
    const old = this.bySession.get(req.sessionId);
    if (old && old !== cnxn) old.sock.destroy();
    this.established(cnxn, req.sessionId, entry);
    this.hooks.touch(req.sessionId);
  }

  private established(cnxn: Cnxn, id: bigint, entry: Entry): void {
    cnxn.sessionId = id;
    cnxn.established = true;
    cnxn.establishedAt = Date.now();
    this.bySession.set(id, cnxn);
    entry.reply = frame(encodeConnectResponse({ protocolVersion: 0, timeOut: cnxn.timeout, sessionId: id, passwd: sessionPassword(id), readOnly: false }, cnxn.readOnlyByte.value));
  }

  private reply(xid: number, zxid: number | bigint, a: Answer, type: number): Buffer {
    this.writer.reset();
    return frame(encodeReply(this.writer, { xid, zxid: BigInt(zxid), err: a.err }, type, a.err === 0 ? a.response : undefined));
  }

  private request(cnxn: Cnxn, body: Buffer): void {
    if (cnxn.sessionId === 0n) throw new JuteError('a request before the session was established');
    if (!this.hooks.serving()) {
      // Its connections were closed when this server left its role; one that slipped through goes now.
      this.log(`client port: closing connection from ${cnxn.who}: this server is not serving (not synced with a leader)`);
      cnxn.entries.length = 0;
      cnxn.sock.destroy();
      return;
    }
    const d = decodeRequest(body);
    const entry: Entry = { reply: null, at: Date.now(), op: d.type, xid: d.xid };
    cnxn.received++;
    cnxn.entries.push(entry);
    this.hooks.touch(cnxn.sessionId);
    if (!d.known) {
      this.log(`client port: unknown op ${d.type} from ${cnxn.who}: UNIMPLEMENTED, closing`);
      entry.run = () => this.reply(d.xid, this.hooks.lastZxid(), { err: Code.UNIMPLEMENTED }, d.type);
      entry.close = true;
      return;
    }
    const { xid, type, request } = d;
    const lastZxid = () => this.hooks.lastZxid();
    switch (type) {
      case OpCode.ping:
        entry.run = () => this.reply(Xid.ping, lastZxid(), { err: 0 }, type);
        return;
      case OpCode.auth: {
        const a = request as { scheme: string | null; auth: Buffer | null };
        const id = authenticate(a.scheme ?? '', a.auth ?? Buffer.alloc(0));
        if (id) {
          if (!cnxn.authInfo.some((x) => x.scheme === id.scheme && x.id === id.id)) cnxn.authInfo.push(id);
          entry.reply = this.reply(Xid.auth, 0, { err: 0 }, type);
        } else {
          this.log(`client port: authentication failed for ${cnxn.who} (scheme ${JSON.stringify(a.scheme)})`);
          entry.reply = this.reply(Xid.auth, 0, { err: Code.AUTHFAILED }, type);
          entry.close = true;
        }
        return;
      }
      case OpCode.setWatches:
      case OpCode.setWatches2:
        entry.run = () => {
          const w = request as ReturnType<typeof SetWatches2.read> | ReturnType<typeof SetWatches.read>;
          const tree = this.hooks.tree();
          const events = this.watches.setWatches(w.relativeZxid, w as never, cnxn, (p) => tree.stat(p));
          for (const ev of events) this.notify(ev.watcher, ev.type, ev.path);
          return this.reply(xid, lastZxid(), { err: 0 }, type);
        };
        return;
      case OpCode.sync: {
        // Through the leader (Learner.sync, Leader.processSync): answered once this server has applied what
        // was committed before the leader took it, after this connection's earlier requests.
        const r = ++this.nextReq;
        this.waiting.set(r, { cnxn, entry, xid, type, path: (request as { path: string }).path });
        this.hooks.write(r, { sessionId: cnxn.sessionId, cxid: xid, type, request, authInfo: [] });
        return;
      }
      case OpCode.reconfig:
        entry.run = () => this.reply(xid, lastZxid(), { err: Code.RECONFIGDISABLED }, type);
        return;
      case OpCode.sasl:
        this.log(`client port: op ${type} from ${cnxn.who} is not served: UNIMPLEMENTED, closing`);
        entry.run = () => this.reply(xid, lastZxid(), { err: Code.UNIMPLEMENTED }, type);
        entry.close = true;
        return;
    }
    if (READ_OPS.has(type)) {
      entry.run = () => {
        const a = readAnswer(type, request, { tree: this.hooks.tree(), authInfo: cnxn.authInfo, sessionId: cnxn.sessionId, watches: this.watches, watcher: cnxn });
        return this.reply(xid, lastZxid(), a, type);
      };
      return;
    }
    if (WRITE_OPS.has(type)) {
      const r = ++this.nextReq;
      this.waiting.set(r, { cnxn, entry, xid, type });
      this.hooks.write(r, { sessionId: cnxn.sessionId, cxid: xid, type, request, authInfo: [...cnxn.authInfo] });
      return;
    }
    entry.run = () => this.reply(xid, lastZxid(), { err: Code.UNIMPLEMENTED }, type);
    entry.close = true;
  }

  /** The core finished a write: committed and applied here (its result), or failed (the connection closes). */
  complete(req: number, result: ClientResult): void {
    const w = this.waiting.get(req);
    if (!w) return;
    this.waiting.delete(req);
    const { cnxn, entry } = w;
    if (!result.ok) {
      // ZooKeeper drops the connection when it loses its leader; the client reconnects and retries.
      this.log(`client port: closing connection from ${cnxn.who}: ${result.error}`);
      entry.reply = Buffer.alloc(0);
      entry.close = true;
    } else if (w.type === OpCode.createSession) {
      if (result.applied.rc.err !== 0) {
        entry.reply = Buffer.alloc(0);
        entry.close = true;
      } else this.established(cnxn, cnxn.sessionId, entry);
    } else {
      entry.reply = this.reply(w.xid, result.zxid, writeAnswer(w.type, result.applied.rc), w.type);
      if (w.type === OpCode.closeSession) entry.close = true;
    }
    this.pump(cnxn);
  }

  /** A sync is done: answered with this server's last applied zxid (FinalRequestProcessor's reply header). */
  synced(req: number): void {
    const w = this.waiting.get(req);
    if (!w) return;
    this.waiting.delete(req);
    w.entry.reply = this.reply(w.xid, this.hooks.lastZxid(), { err: 0, response: { path: w.path ?? '/' } }, w.type);
    this.pump(w.cnxn);
  }

  /** A committed txn was applied: fire its watches; a session closed elsewhere (expiry) loses its connection. */
  applied(a: Applied): void {
    for (const n of this.watches.trigger(a.triggers)) this.notify(n.watcher, n.type, n.path);
    if (a.txn.hdr.type === OpCode.closeSession) {
      const c = this.bySession.get(a.txn.hdr.clientId);
      // Its own closeSession request closes it after the reply; an expiry closes it now.
      if (c && ![...this.waiting.values()].some((w) => w.cnxn === c && w.type === OpCode.closeSession)) {
        this.log(`client port: session 0x${BigInt.asUintN(64, a.txn.hdr.clientId).toString(16)} expired: closing ${c.who}`);
        c.sock.destroy();
      }
    }
  }

  /** ServerCnxn.updateStatsForResponse and ServerStats.updateLatency. */
  private answered(c: Cnxn, e: Entry): void {
    const now = Date.now();
    const lat = now - e.at!;
    c.sent++;
    c.lastOp = OP_ABBREV.get(e.op!) ?? 'NA';
    if (e.xid! >= 0) c.lastCxid = e.xid!;
    c.lastZxid = this.hooks.lastZxid();
    c.lastResponseTime = now;
    const l = c.lat;
    l.last = lat;
    l.min = l.count ? Math.min(l.min, lat) : lat;
    l.max = Math.max(l.max, lat);
    l.total += lat;
    l.count++;
    const g = this.counters;
    g.latMin = g.latCount ? Math.min(g.latMin, lat) : lat;
    g.latMax = Math.max(g.latMax, lat);
    g.latTotal += lat;
    g.latCount++;
  }

  private notify(c: Cnxn, type: number, path: string): void {
    if (c.sock.destroyed) return;
    this.writer.reset();
    c.sock.write(frame(encodeNotification(this.writer, { type, state: 3, path })));
    this.counters.packetsSent++;
  }

  /** Send the finished prefix of the connection's entries; run reads whose predecessors are done. */
  private pump(cnxn: Cnxn): void {
    const out: Buffer[] = [];
    let close = false;
    while (cnxn.entries.length) {
      const e = cnxn.entries[0]!;
      if (!e.reply && e.run) e.reply = e.run();
      if (!e.reply) break;
      if (e.reply.length) out.push(e.reply);
      cnxn.entries.shift();
      if (e.at !== undefined) this.answered(cnxn, e);
      if (e.close) {
        close = true;
        break;
      }
    }
    this.counters.packetsSent += out.length;
    if (out.length && !cnxn.sock.destroyed) cnxn.sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (close) {
      cnxn.entries.length = 0;
      cnxn.sock.end();
      return;
    }
    if (cnxn.sock.isPaused() && cnxn.entries.length <= RESUME_AT) cnxn.sock.resume();
  }

  /**
   * QuorumPeer.closeAllConnections: the server left its role. Every client connection closes at once (their
   * clients reconnect elsewhere and keep their sessions); requests still waiting here are never answered.
   */
  closeAll(reason: string): void {
    // Only sessions' connections: a four-letter word in progress (the test fault switch that made this server
    // leave its role, say) still gets its answer.
    const clients = [...this.cnxns].filter((c) => !c.fourLetter);
    if (clients.length) this.log(`client port: closing all ${clients.length} client connections: ${reason}`);
    for (const c of clients) {
      c.entries.length = 0;
      c.sock.destroy();
    }
    for (const [r, w] of this.waiting) if (w.cnxn.sock.destroyed) this.waiting.delete(r);
  }

  close(): void {
    this.server?.close();
    for (const c of this.cnxns) c.sock.destroy();
  }
}
