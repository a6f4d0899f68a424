// A small client of ZooKeeper's own client protocol (what org.apache.zookeeper.ClientCnxn speaks): one TCP
// connection, one session, requests pipelined. ZooKeeper answers a session's requests in the order it received
// them, so replies are matched to the oldest request in flight and their xids must agree; a ping's reply
// (xid -2) and watch events (xid -1) come outside that order.
//
// Only what the benchmark needs: create, getData, setData, exists, delete, ping, closeSession. No watches,
// auth, reconnection or session moves: a lost connection fails every request in flight and the client.
import { connect, type Socket } from 'node:net';
import { z } from 'zod';
import {
  ConnectRequest,
  CreateFlags,
  CreateRequest,
  CreateResponse,
  DeleteRequest,
  ExistsRequest,
  ExistsResponse,
  FrameSplitter,
  GetDataRequest,
  GetDataResponse,
  JuteError,
  JuteReader,
  JuteWriter,
  OPEN_ACL_UNSAFE,
  OpCode,
  ReplyHeader,
  RequestHeader,
  SetDataRequest,
  SetDataResponse,
  Xid,
  decodeConnectResponse,
  errorName,
  frame,
  type Codec,
  type StatT,
} from './jute.ts';

export const ZkWireOptions = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  /** Session timeout asked for; the server clamps it to [2, 20] ticks. Pings go at a third of what it grants. */
  sessionTimeoutMs: z.number().int().min(1).max(3_600_000).default(10_000),
  /** Time allowed for the TCP connect and the ConnectResponse. */
  connectTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  /** A request unanswered this long fails the connection. */
  requestTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
});
export type ZkWireOptionsIn = z.input<typeof ZkWireOptions>;

/** code: a KeeperException.Code name (NONODE, NODEEXISTS, ...) for an error the server sent, or CONNECTIONLOSS,
 *  BAD_REPLY (a malformed or unexpected reply), TIMEOUT, SESSIONEXPIRED, CLOSED. */
export class ZkWireError extends Error {
  override readonly name = 'ZkWireError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  readonly xid: number;
  readonly op: string;
  readonly sentAt: number;
  readonly body: Codec<unknown> | null;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

export class ZkWireClient {
  private nextXid = 1;
  /** In flight, oldest first: the order the server answers in. */
  private readonly inflight: Pending[] = [];
  private failure: ZkWireError | null = null;
  /** Set by close(): the server closing the socket after closeSession is then no loss. */
  private closing: ZkWireError | null = null;
  private lastHeard = performance.now();
  private readonly ticker: NodeJS.Timeout;
  private readonly writer = new JuteWriter(1024);

  private constructor(
    private readonly sock: Socket,
    readonly address: string,
    readonly sessionId: bigint,
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
        done(null, new ZkWireClient(sock, address, rsp.sessionId, rsp.timeOut, o.requestTimeoutMs, splitter, frames.slice(1)));
      };
      sock.on('data', onData);
      sock.once('error', (e) => done(new ZkWireError('CONNECTIONLOSS', `${address}: ${e.message}`)));
      sock.once('close', () => done(new ZkWireError('CONNECTIONLOSS', `${address}: closed before the session was established`)));
      sock.once('connect', () => {
        const w = new JuteWriter(64);
        ConnectRequest.write(w, { protocolVersion: 0, lastZxidSeen: 0n, timeOut: o.sessionTimeoutMs, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
        sock.write(frame(w.bytes()));
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
      if (hdr.xid === Xid.ping || hdr.xid === Xid.notification) return;
      const p = this.inflight[0];
      if (p === undefined) throw new JuteError(`reply with xid ${hdr.xid} but no request in flight`);
      if (p.xid !== hdr.xid) throw new JuteError(`reply with xid ${hdr.xid} while the oldest request in flight is xid ${p.xid} (${p.op})`);
      if (hdr.err !== 0) {
        // An error reply is the header alone (FinalRequestProcessor sends no body with an error).
        this.inflight.shift();
        p.reject(new ZkWireError(errorName(hdr.err), `${this.address}: ${p.op}: ${errorName(hdr.err)}`));
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
    const pending = this.inflight.splice(0);
    for (const p of pending) p.reject(e);
  }

  private call<T>(op: string, type: number, request: Codec<any> | null, value: unknown, body: Codec<T> | null): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const xid = this.nextXid;
    this.nextXid = this.nextXid === 0x7fffffff ? 1 : this.nextXid + 1;
    this.writer.reset();
    RequestHeader.write(this.writer, { xid, type });
    if (request !== null) request.write(this.writer, value);
    this.sock.write(frame(this.writer.bytes()));
    return new Promise<T>((resolve, reject) => {
      this.inflight.push({ xid, op: `${opName(type)}${typeof (value as { path?: unknown })?.path === 'string' ? ` ${(value as { path: string }).path}` : ''}`, sentAt: performance.now(), body, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Creates a znode (persistent, world:anyone) and returns its path. */
  create(path: string, data: Uint8Array, flags: number = CreateFlags.PERSISTENT): Promise<string> {
    return this.call('create', OpCode.create, CreateRequest, { path, data: Buffer.from(data), acl: OPEN_ACL_UNSAFE, flags }, CreateResponse).then((r) => r.path ?? path);
  }

  getData(path: string): Promise<{ data: Buffer | null; stat: StatT }> {
    return this.call('getData', OpCode.getData, GetDataRequest, { path, watch: false }, GetDataResponse);
  }

  /** Sets a znode's data; version -1 matches any version. */
  setData(path: string, data: Uint8Array, version = -1): Promise<StatT> {
    return this.call('setData', OpCode.setData, SetDataRequest, { path, data: Buffer.from(data), version }, SetDataResponse).then((r) => r.stat);
  }

  /** The znode's Stat, or null if it does not exist. */
  exists(path: string): Promise<StatT | null> {
    return this.call('exists', OpCode.exists, ExistsRequest, { path, watch: false }, ExistsResponse).then(
      (r) => r.stat,
      (e: unknown) => {
        if (e instanceof ZkWireError && e.code === 'NONODE') return null;
        throw e;
      },
    );
  }

  delete(path: string, version = -1): Promise<void> {
    return this.call('delete', OpCode.delete, DeleteRequest, { path, version }, null);
  }

  /** Ends the session (closeSession, then the server closes the socket); waits at most requestTimeoutMs. */
  async close(): Promise<void> {
    if (this.failure) {
      this.sock.destroy();
      return;
    }
    this.closing = new ZkWireError('CLOSED', `${this.address}: session closed`);
    const closed = new Promise<void>((res) => this.sock.once('close', () => res()));
    const bye = this.call('closeSession', OpCode.closeSession, null, undefined, null).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([bye, closed]), new Promise<void>((res) => (timer = setTimeout(res, this.requestTimeoutMs)))]);
    clearTimeout(timer);
    this.fail(this.closing);
  }
}

function opName(type: number): string {
  for (const [k, v] of Object.entries(OpCode)) if (v === type) return k;
  return `op ${type}`;
}
