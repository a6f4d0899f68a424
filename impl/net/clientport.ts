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
  /** Answered when every entry before it is done (a read sees the writes sent before it). */
  run?: () => Buffer;
  /** Close the connection once this reply is sent (closeSession, a refused session, an unknown op). */
  close?: boolean;
}

class Cnxn {
  /** The ConnectRequest came (the first frame); established once its ConnectResponse is decided. */
  connectSeen = false;
  sessionId = 0n;
  timeout = 0;
  established = false;
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
}

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
  /** Counters for the four-letter words. */
  readonly counters = { packetsReceived: 0, packetsSent: 0 };

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

  /** Per connection: its address, session, outstanding requests (the `cons` word). */
  connectionInfo(): { who: string; sessionId: bigint; timeout: number; queued: number }[] {
    return [...this.cnxns].map((c) => ({ who: c.who, sessionId: c.sessionId, timeout: c.timeout, queued: c.entries.length }));
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
    this.bySession.set(id, cnxn);
    entry.reply = frame(encodeConnectResponse({ protocolVersion: 0, timeOut: cnxn.timeout, sessionId: id, passwd: sessionPassword(id), readOnly: false }, cnxn.readOnlyByte.value));
  }

  private reply(xid: number, zxid: number | bigint, a: Answer, type: number): Buffer {
    this.writer.reset();
    return frame(encodeReply(this.writer, { xid, zxid: BigInt(zxid), err: a.err }, type, a.err === 0 ? a.response : undefined));
  }

  private request(cnxn: Cnxn, body: Buffer): void {
    if (cnxn.sessionId === 0n) throw new JuteError('a request before the session was established');
    const d = decodeRequest(body);
    const entry: Entry = { reply: null };
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
      case OpCode.sync:
        // Answered after this connection's earlier requests, from this server's state (see impl/README.md).
        entry.run = () => this.reply(xid, lastZxid(), { err: 0, response: { path: (request as { path: string }).path } }, type);
        return;
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

  close(): void {
    this.server?.close();
    for (const c of this.cnxns) c.sock.destroy();
  }
}
