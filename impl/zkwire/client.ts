// A client of ZooKeeper's own client protocol (what org.apache.zookeeper.ClientCnxn speaks): one TCP connection,
// one session, requests pipelined. ZooKeeper answers a session's requests in the order it received them, so
// replies are matched to the oldest request in flight and their xids must agree; a ping's reply (xid -2), an
// auth reply (xid -4) and watch events (xid -1) come outside that order.
//
// Every op of the 3.8 protocol (records.ts), watches with callbacks kept as ZooKeeper's client keeps them
// (ZKWatchManager: data, exist and child watches, one-shot; persistent and persistent-recursive ones from
// addWatch), addAuth, multi and multiRead, and our `move`. No reconnection: a lost connection fails every
// request in flight and the client; a new client can resume the session (sessionId, passwd) and re-set its
// watches with setWatches2.
import { connect, type Socket } from 'node:net';
import { z } from 'zod';
import { AddWatchMode, EventType, KeeperState, OpCode, WatcherType, Xid, errorName, opName } from './codes.ts';
import {
  ConnectRequest,
  CreateFlags,
  FrameSplitter,
  JuteError,
  JuteReader,
  JuteWriter,
  OPEN_ACL_UNSAFE,
  ReplyHeader,
  RequestHeader,
  WatcherEvent,
  decodeConnectResponse,
  frame,
  type ACLT,
  type Codec,
  type StatT,
} from './jute.ts';
import { MultiResponse, encodeRequest, responseCodec, type MultiOp, type MultiResult, type WatcherEventT } from './records.ts';

export const ZkWireOptions = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  /** Session timeout asked for; the server clamps it to [2, 20] ticks. Pings go at a third of what it grants. */
  sessionTimeoutMs: z.number().int().min(1).max(3_600_000).default(10_000),
  /** Time allowed for the TCP connect and the ConnectResponse. */
  connectTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  /** A request unanswered this long fails the connection. */
  requestTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  /** Resume this session (with its password) instead of creating one. */
  sessionId: z.bigint().default(0n),
  passwd: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'a Uint8Array').optional(),
  /** The last zxid this client saw (ConnectRequest.lastZxidSeen): a server behind it refuses the session. */
  lastZxidSeen: z.bigint().default(0n),
  /** Send ConnectRequest without the readOnly byte, as clients before 3.4 did. */
  oldClient: z.boolean().default(false),
});
export type ZkWireOptionsIn = z.input<typeof ZkWireOptions>;

/** code: a KeeperException.Code name (NONODE, NODEEXISTS, ...) for an error the server sent, or CONNECTIONLOSS,
 *  BAD_REPLY (a malformed or unexpected reply), TIMEOUT, SESSIONEXPIRED, CLOSED. */
export class ZkWireError extends Error {
  override readonly name = 'ZkWireError';
  constructor(
    readonly code: string,
    message: string,
    /** The per-op results of a failed multi. */
    readonly results?: MultiResult[],
  ) {
    super(message);
  }
}

/** A watch callback: a WatcherEvent as the server sent it (state SyncConnected). */
export type Watcher = (event: WatcherEventT) => void;

interface Pending {
  readonly xid: number;
  readonly type: number;
  readonly op: string;
  readonly sentAt: number;
  readonly body: Codec<unknown> | null;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

/** ZKWatchManager: the client's watch callbacks by path, and which of them an event consumes. */
class ClientWatches {
  readonly data = new Map<string, Set<Watcher>>();
  readonly exist = new Map<string, Set<Watcher>>();
  readonly child = new Map<string, Set<Watcher>>();
  readonly persistent = new Map<string, Set<Watcher>>();
  readonly recursive = new Map<string, Set<Watcher>>();

  add(table: Map<string, Set<Watcher>>, path: string, w: Watcher): void {
    let s = table.get(path);
    if (s === undefined) table.set(path, (s = new Set()));
    s.add(w);
  }

  /** ZKWatchManager.materialize: the callbacks of an event, one-shot ones taken out; each callback once. */
  materialize(ev: WatcherEventT): Set<Watcher> {
    const out = new Set<Watcher>();
    const path = ev.path ?? '';
    const take = (table: Map<string, Set<Watcher>>) => {
      for (const w of table.get(path) ?? []) out.add(w);
      table.delete(path);
    };
    switch (ev.type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        take(this.data);
        take(this.exist);
        break;
      case EventType.NodeDeleted:
        take(this.data);
        take(this.exist);
        take(this.child);
        break;
      case EventType.NodeChildrenChanged:
        take(this.child);
        break;
    }
    for (const w of this.persistent.get(path) ?? []) out.add(w);
    if (ev.type !== EventType.NodeChildrenChanged) {
      for (let p = path; ; p = p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/'))) {
        for (const w of this.recursive.get(p) ?? []) out.add(w);
        if (p === '/' || p === '') break;
      }
    }
    return out;
  }

  /** Paths per kind, for setWatches2 on a resumed session. */
  lists(): { dataWatches: string[]; existWatches: string[]; childWatches: string[]; persistentWatches: string[]; persistentRecursiveWatches: string[] } {
    return {
      dataWatches: [...this.data.keys()],
      existWatches: [...this.exist.keys()],
      childWatches: [...this.child.keys()],
      persistentWatches: [...this.persistent.keys()],
      persistentRecursiveWatches: [...this.recursive.keys()],
    };
  }
}

/** A multi op as our client takes it (the records of MultiOperationRecord, with defaults). */
export type Op =
  | { op: 'create'; path: string; data?: Uint8Array | null; flags?: number; acl?: ACLT[] }
  | { op: 'delete'; path: string; version?: number }
  | { op: 'setData'; path: string; data: Uint8Array | null; version?: number }
  | { op: 'check'; path: string; version: number }
  | { op: 'getChildren'; path: string }
  | { op: 'getData'; path: string };

/** Data as jute sends it: null is a length of -1, which ZooKeeper keeps (getData then answers null). */
function bytes(d: Uint8Array | null | undefined): Buffer | null {
  return d === null || d === undefined ? null : Buffer.from(d);
}

function toMultiOp(o: Op): MultiOp {
  switch (o.op) {
    case 'create':
      return { type: OpCode.create, request: { path: o.path, data: o.data === undefined ? Buffer.alloc(0) : bytes(o.data), acl: o.acl ?? OPEN_ACL_UNSAFE, flags: o.flags ?? 0 } };
    case 'delete':
      return { type: OpCode.delete, request: { path: o.path, version: o.version ?? -1 } };
    case 'setData':
      return { type: OpCode.setData, request: { path: o.path, data: bytes(o.data), version: o.version ?? -1 } };
    case 'check':
      return { type: OpCode.check, request: { path: o.path, version: o.version } };
    case 'getChildren':
      return { type: OpCode.getChildren, request: { path: o.path, watch: false } };
    case 'getData':
      return { type: OpCode.getData, request: { path: o.path, watch: false } };
  }
}

export class ZkWireClient {
  private nextXid = 1;
  /** In flight, oldest first: the order the server answers in. */
  private readonly inflight: Pending[] = [];
  /** addAuth calls waiting for their reply (xid -4), oldest first. */
  private readonly auths: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private failure: ZkWireError | null = null;
  /** Set by close(): the server closing the socket after closeSession is then no loss. */
  private closing: ZkWireError | null = null;
  private lastHeard = performance.now();
  private readonly ticker: NodeJS.Timeout;
  private readonly writer = new JuteWriter(1024);
  private readonly watches = new ClientWatches();
  /** Every watch event received, for callers without callbacks (bounded: the newest 10,000). */
  readonly events: WatcherEventT[] = [];
  /** The highest zxid seen in a reply (ClientCnxn's lastZxid), for resuming the session elsewhere. */
  lastZxid = 0n;

  private constructor(
    private readonly sock: Socket,
    readonly address: string,
    readonly sessionId: bigint,
    readonly passwd: Buffer,
    /** The session timeout the server granted. */
    readonly sessionTimeoutMs: number,
    private readonly requestTimeoutMs: number,
    /** The splitter that read the ConnectResponse: it may hold the start of the next frame. */
    private readonly splitter: FrameSplitter,
    rest: Buffer[],
  ) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (e) => this.fail(new ZkWireError('CONNECTIONLOSS', `${address}: ${e.message}`)));
    sock.on('close', () => this.fail(this.closing ?? new ZkWireError('CONNECTIONLOSS', `${address}: connection closed`)));
    // ClientCnxn pings when idle; pinging every third of the session timeout keeps the session alive either way.
    const every = Math.max(10, Math.floor(sessionTimeoutMs / 3));
    this.ticker = setInterval(() => this.tick(), every);
    this.ticker.unref();
    for (const f of rest) this.onFrame(f);
  }

  static async connect(options: ZkWireOptionsIn): Promise<ZkWireClient> {
    const parsed = ZkWireOptions.safeParse(options);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new ZkWireError('BADARGUMENTS', `zkwire options: ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    const o = parsed.data;
    const address = `${o.host}:${o.port}`;
    return new Promise<ZkWireClient>((resolve, reject) => {
      const sock = connect(o.port, o.host);
      sock.setNoDelay(true);
      const splitter = new FrameSplitter();
      let settled = false;
      const done = (e: ZkWireError | null, c?: ZkWireClient) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.removeListener('data', onData);
        if (e) {
          sock.on('error', () => {});
          sock.destroy();
          reject(e);
        } else resolve(c!);
      };
      const timer = setTimeout(() => done(new ZkWireError('TIMEOUT', `${address}: no session within ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
      const onData = (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = splitter.push(chunk);
        } catch (e) {
          done(new ZkWireError('BAD_REPLY', `${address}: ${(e as Error).message}`));
          return;
        }
        if (frames.length === 0) return;
        let rsp;
        try {
          rsp = decodeConnectResponse(frames[0]!);
        } catch (e) {
          done(new ZkWireError('BAD_REPLY', `${address}: ${(e as Error).message}`));
          return;
        }
        // A timeOut of 0 or less is how the server says the session is expired (or was refused).
        if (rsp.timeOut <= 0) {
          done(new ZkWireError('SESSIONEXPIRED', `${address}: the server refused the session (timeOut ${rsp.timeOut})`));
          return;
        }
        sock.removeAllListeners('error');
        sock.removeAllListeners('close');
        done(null, new ZkWireClient(sock, address, rsp.sessionId, rsp.passwd ?? Buffer.alloc(0), rsp.timeOut, o.requestTimeoutMs, splitter, frames.slice(1)));
      };
      sock.on('data', onData);
      sock.once('error', (e) => done(new ZkWireError('CONNECTIONLOSS', `${address}: ${e.message}`)));
      sock.once('close', () => done(new ZkWireError('CONNECTIONLOSS', `${address}: closed before the session was established`)));
      sock.once('connect', () => {
        const w = new JuteWriter(64);
        const req = { protocolVersion: 0, lastZxidSeen: o.lastZxidSeen, timeOut: o.sessionTimeoutMs, sessionId: o.sessionId, passwd: Buffer.from(o.passwd ?? Buffer.alloc(16)), readOnly: false };
        ConnectRequest.write(w, req);
        sock.write(frame(o.oldClient ? w.bytes().subarray(0, w.bytes().length - 1) : w.bytes()));
      });
    });
  }

  /** Why the connection failed, or null while it is up. */
  get error(): ZkWireError | null {
    return this.failure;
  }

  get inFlight(): number {
    return this.inflight.length;
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (e) {
      this.fail(new ZkWireError('BAD_REPLY', `${this.address}: ${(e as Error).message}`));
      return;
    }
    this.lastHeard = performance.now();
    for (const f of frames) {
      if (this.failure) return;
      this.onFrame(f);
    }
  }

  private onFrame(f: Buffer): void {
    const r = new JuteReader(f);
    try {
      const hdr = ReplyHeader.read(r, '');
      if (hdr.xid === Xid.ping) return;
      if (hdr.xid === Xid.notification) {
        const ev = WatcherEvent.read(r, 'notification');
        r.end('notification');
        this.onEvent(ev);
        return;
      }
      if (hdr.xid === Xid.auth) {
        const a = this.auths.shift();
        if (a === undefined) throw new JuteError('an auth reply (xid -4) but no addAuth in flight');
        if (hdr.err === 0) a.resolve();
        else a.reject(new ZkWireError(errorName(hdr.err), `${this.address}: addAuth: ${errorName(hdr.err)}`));
        return;
      }
      if (hdr.zxid > this.lastZxid) this.lastZxid = hdr.zxid;
      const p = this.inflight[0];
      if (p === undefined) throw new JuteError(`reply with xid ${hdr.xid} but no request in flight`);
      if (p.xid !== hdr.xid) throw new JuteError(`reply with xid ${hdr.xid} while the oldest request in flight is xid ${p.xid} (${p.op})`);
      if (hdr.err !== 0) {
        // An error reply is the header alone (FinalRequestProcessor sends no body with an error), except a failed
        // multi's, which may carry the per-op results.
        let results: MultiResult[] | undefined;
        if ((p.type === OpCode.multi || p.type === OpCode.multiRead) && r.remaining > 0) results = MultiResponse.read(r, p.op);
        this.inflight.shift();
        p.reject(new ZkWireError(errorName(hdr.err), `${this.address}: ${p.op}: ${errorName(hdr.err)}`, results));
        return;
      }
      let v: unknown = undefined;
      if (p.body !== null) v = p.body.read(r, p.op);
      r.end(`${p.op} reply`);
      // Taken off the queue only once decoded: a malformed body fails it with the rest, in fail().
      this.inflight.shift();
      p.resolve(v);
    } catch (e) {
      this.fail(new ZkWireError('BAD_REPLY', `${this.address}: malformed reply: ${(e as Error).message}`));
    }
  }

  private onEvent(ev: WatcherEventT): void {
    this.events.push(ev);
    if (this.events.length > 10_000) this.events.shift();
    if (ev.type === EventType.None) return;
    for (const w of this.watches.materialize(ev)) {
      try {
        w(ev);
      } catch {
        // A callback's failure is the caller's; it must not break the connection.
      }
    }
  }

  private tick(): void {
    if (this.failure) return;
    const now = performance.now();
    const oldest = this.inflight[0];
    if (oldest !== undefined && now - oldest.sentAt > this.requestTimeoutMs) {
      this.fail(new ZkWireError('TIMEOUT', `${this.address}: ${oldest.op} unanswered after ${this.requestTimeoutMs} ms`));
      return;
    }
    // A whole session timeout without a byte from the server (pings are answered every third of it).
    if (now - this.lastHeard > this.sessionTimeoutMs) {
      this.fail(new ZkWireError('CONNECTIONLOSS', `${this.address}: nothing from the server for ${Math.round(now - this.lastHeard)} ms`));
      return;
    }
    this.writer.reset();
    RequestHeader.write(this.writer, { xid: Xid.ping, type: OpCode.ping });
    this.sock.write(frame(this.writer.bytes()));
  }

  private fail(e: ZkWireError): void {
    if (this.failure) return;
    this.failure = e;
    clearInterval(this.ticker);
    this.sock.destroy();
    for (const p of this.inflight.splice(0)) p.reject(e);
    for (const a of this.auths.splice(0)) a.reject(e);
  }

  /**
   * Sends one request of op `type` (its record as records.ts's OP_RECORDS names it) and resolves with the
   * decoded response record (null for ops whose reply has no body). Rejects with a ZkWireError named after the
   * server's error code.
   */
  request<T = any>(type: number, request?: unknown): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const xid = this.nextXid;
    this.nextXid = this.nextXid === 0x7fffffff ? 1 : this.nextXid + 1;
    let body: Codec<any> | null;
    try {
      this.writer.reset();
      encodeRequest(this.writer, xid, type, request);
      const rc = responseCodec(type);
      body = rc.minBytes === 0 && rc.name === 'none' ? null : rc;
    } catch (e) {
      return Promise.reject(new ZkWireError('BADARGUMENTS', `${opName(type)}: ${(e as Error).message}`));
    }
    this.sock.write(frame(this.writer.bytes()));
    const path = (request as { path?: unknown } | undefined)?.path;
    return new Promise<T>((resolve, reject) => {
      this.inflight.push({ xid, type, op: `${opName(type)}${typeof path === 'string' ? ` ${path}` : ''}`, sentAt: performance.now(), body, resolve: (v) => resolve((v ?? null) as T), reject });
    });
  }

  /** Registers `w` once the reply is in (ZooKeeper's client registers a watch only on success; exists also on NONODE). */
  private watched<T>(p: Promise<T>, table: 'data' | 'exist' | 'child', path: string, w: Watcher | undefined, alsoOnNoNode = false): Promise<T> {
    if (w === undefined) return p;
    return p.then(
      (v) => {
        this.watches.add(this.watches[table], path, w);
        return v;
      },
      (e: unknown) => {
        if (alsoOnNoNode && e instanceof ZkWireError && e.code === 'NONODE') this.watches.add(this.watches.exist, path, w);
        throw e;
      },
    );
  }

  /** Creates a znode (world:anyone unless `acl` says otherwise) and returns its path (with the sequence number). */
  create(path: string, data: Uint8Array | null, flags: number = CreateFlags.PERSISTENT, acl: ACLT[] = OPEN_ACL_UNSAFE): Promise<string> {
    return this.request<{ path: string | null }>(OpCode.create, { path, data: bytes(data), acl, flags }).then((r) => r.path ?? path);
  }

  /** create2: the path and the new node's Stat. */
  create2(path: string, data: Uint8Array | null, flags: number = CreateFlags.PERSISTENT, acl: ACLT[] = OPEN_ACL_UNSAFE): Promise<{ path: string | null; stat: StatT }> {
    return this.request(OpCode.create2, { path, data: bytes(data), acl, flags });
  }

  createContainer(path: string, data: Uint8Array, acl: ACLT[] = OPEN_ACL_UNSAFE): Promise<{ path: string | null; stat: StatT }> {
    return this.request(OpCode.createContainer, { path, data: Buffer.from(data), acl, flags: CreateFlags.CONTAINER });
  }

  createTTL(path: string, data: Uint8Array, ttlMs: number, sequential = false, acl: ACLT[] = OPEN_ACL_UNSAFE): Promise<{ path: string | null; stat: StatT }> {
    const flags = sequential ? CreateFlags.PERSISTENT_SEQUENTIAL_WITH_TTL : CreateFlags.PERSISTENT_WITH_TTL;
    return this.request(OpCode.createTTL, { path, data: Buffer.from(data), acl, flags, ttl: BigInt(ttlMs) });
  }

  getData(path: string, watch?: Watcher): Promise<{ data: Buffer | null; stat: StatT }> {
    return this.watched(this.request(OpCode.getData, { path, watch: watch !== undefined }), 'data', path, watch);
  }

  /** Sets a znode's data; version -1 matches any version. */
  setData(path: string, data: Uint8Array | null, version = -1): Promise<StatT> {
    return this.request<{ stat: StatT }>(OpCode.setData, { path, data: bytes(data), version }).then((r) => r.stat);
  }

  /** The znode's Stat, or null if it does not exist. A watch is set either way (on a missing node: its creation). */
  exists(path: string, watch?: Watcher): Promise<StatT | null> {
    const p = this.watched(this.request<{ stat: StatT }>(OpCode.exists, { path, watch: watch !== undefined }), 'exist', path, watch, true);
    return p.then(
      (r) => r.stat,
      (e: unknown) => {
        if (e instanceof ZkWireError && e.code === 'NONODE') return null;
        throw e;
      },
    );
  }

  delete(path: string, version = -1): Promise<void> {
    return this.request(OpCode.delete, { path, version });
  }

  getChildren(path: string, watch?: Watcher): Promise<string[]> {
    return this.watched(this.request<{ children: string[] | null }>(OpCode.getChildren, { path, watch: watch !== undefined }), 'child', path, watch).then((r) => r.children ?? []);
  }

  getChildren2(path: string, watch?: Watcher): Promise<{ children: string[]; stat: StatT }> {
    return this.watched(this.request<{ children: string[] | null; stat: StatT }>(OpCode.getChildren2, { path, watch: watch !== undefined }), 'child', path, watch).then((r) => ({
      children: r.children ?? [],
      stat: r.stat,
    }));
  }

  getAllChildrenNumber(path: string): Promise<number> {
    return this.request<{ totalNumber: number }>(OpCode.getAllChildrenNumber, { path }).then((r) => r.totalNumber);
  }

  getEphemerals(prefixPath = '/'): Promise<string[]> {
    return this.request<{ ephemerals: string[] | null }>(OpCode.getEphemerals, { prefixPath }).then((r) => r.ephemerals ?? []);
  }

  getACL(path: string): Promise<{ acl: ACLT[]; stat: StatT }> {
    return this.request<{ acl: ACLT[] | null; stat: StatT }>(OpCode.getACL, { path }).then((r) => ({ acl: r.acl ?? [], stat: r.stat }));
  }

  setACL(path: string, acl: ACLT[], version = -1): Promise<StatT> {
    return this.request<{ stat: StatT }>(OpCode.setACL, { path, acl, version }).then((r) => r.stat);
  }

  sync(path: string): Promise<string | null> {
    return this.request<{ path: string | null }>(OpCode.sync, { path }).then((r) => r.path);
  }

  /** All or nothing: resolves with the per-op results; a failed multi rejects with the results in the error. */
  multi(ops: Op[]): Promise<MultiResult[]> {
    return this.request<MultiResult[]>(OpCode.multi, ops.map(toMultiOp)).then((results) => {
      const bad = results.find((x) => x.type === OpCode.error && x.err !== 0);
      if (bad !== undefined) throw new ZkWireError(errorName(bad.err), `${this.address}: multi: ${errorName(bad.err)}`, results);
      return results;
    });
  }

  /** Reads only (getChildren, getData): each result on its own, errors as error results. */
  multiRead(ops: Op[]): Promise<MultiResult[]> {
    return this.request(OpCode.multiRead, ops.map(toMultiOp));
  }

  /** addWatch: a persistent (mode 0) or persistent-recursive (mode 1) watch, until removed. */
  addWatch(path: string, mode: number, watch: Watcher): Promise<void> {
    return this.request(OpCode.addWatch, { path, mode }).then(() => {
      this.watches.add(mode === AddWatchMode.PERSISTENT_RECURSIVE ? this.watches.recursive : this.watches.persistent, path, watch);
    });
  }

  /** removeWatches (op 18) for this connection's watches of `type` on `path`; NOWATCHER if there is none. */
  removeWatches(path: string, type: number = WatcherType.Any): Promise<void> {
    return this.request(OpCode.removeWatches, { path, type }).then(() => {
      const drop = (t: Map<string, Set<Watcher>>) => void t.delete(path);
      if (type !== WatcherType.Children) [this.watches.data, this.watches.exist, this.watches.persistent, this.watches.recursive].forEach(drop);
      if (type !== WatcherType.Data) [this.watches.child, this.watches.persistent, this.watches.recursive].forEach(drop);
    });
  }

  /** checkWatches (op 17): OK if the server holds such a watch, NOWATCHER if not. */
  checkWatches(path: string, type: number = WatcherType.Any): Promise<void> {
    return this.request(OpCode.checkWatches, { path, type });
  }

  /** setWatches2 as a resumed session sends it (xid -8 in ClientCnxn; an ordinary xid here, which the server accepts). */
  setWatches(relativeZxid: bigint, lists: ReturnType<ClientWatches['lists']>): Promise<void> {
    return this.request(OpCode.setWatches2, { relativeZxid, ...lists });
  }

  /** Watch callbacks held here, by kind and path (to pass to setWatches on a resumed session). */
  watchLists(): ReturnType<ClientWatches['lists']> {
    return this.watches.lists();
  }

  /** addAuth (e.g. 'digest', 'user:password'). A wrong one makes the server close the connection (AUTHFAILED). */
  addAuth(scheme: string, auth: Uint8Array | string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.writer.reset();
    encodeRequest(this.writer, Xid.auth, OpCode.auth, { type: 0, scheme, auth: Buffer.from(auth) });
    this.sock.write(frame(this.writer.bytes()));
    return new Promise((resolve, reject) => this.auths.push({ resolve, reject }));
  }

  /** whoAmI: the identities this connection's session is authenticated as. */
  whoAmI(): Promise<{ authScheme: string | null; user: string | null }[]> {
    return this.request<{ clientInfo: { authScheme: string | null; user: string | null }[] | null }>(OpCode.whoAmI).then((r) => r.clientInfo ?? []);
  }

  /** Ours (op 1001, records.ts's MoveRequest): moves `from` and its subtree to `to`. Apache ZooKeeper answers
   *  UNIMPLEMENTED and closes the connection. */
  move(from: string, to: string, version = -1): Promise<void> {
    return this.request(OpCode.move, { from, to, version });
  }

  /** Ends the session (closeSession, then the server closes the socket); waits at most requestTimeoutMs. */
  async close(): Promise<void> {
    if (this.failure) {
      this.sock.destroy();
      return;
    }
    this.closing = new ZkWireError('CLOSED', `${this.address}: session closed`);
    const closed = new Promise<void>((res) => this.sock.once('close', () => res()));
    const bye = this.request(OpCode.closeSession).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([bye, closed]), new Promise<void>((res) => (timer = setTimeout(res, this.requestTimeoutMs)))]);
    clearTimeout(timer);
    this.fail(this.closing);
  }

  /** Drops the TCP connection without closing the session (it expires after its timeout, or is resumed). */
  disconnect(): void {
    this.fail(new ZkWireError('CLOSED', `${this.address}: disconnected`));
  }
}

export { KeeperState };
