// The client library: one TCP connection to one server, pipelined requests matched to replies by xid.
// Writes are answered once committed and applied on that server; reads are local to it (ZooKeeper's
// consistency: a read on one server may lag the leader, but never goes back in time on one connection).
import { connect, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder } from './net/frame.ts';
import { ClientReply, type ClientRequest } from './net/messages.ts';

export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Pending = { resolve: (r: ClientReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class ZkClient {
  private xid = 0;
  private pending = new Map<number, Pending>();
  private closedError: ClientError | null = null;

  private constructor(
    private readonly sock: Socket,
    readonly address: string,
    private readonly timeoutMs: number,
  ) {
    const decoder = new FrameDecoder(ClientReply);
    sock.on('data', (chunk: Buffer) => {
      let replies;
      try {
        replies = decoder.push(chunk);
      } catch (e) {
        this.fail(new ClientError('BAD_REPLY', `${address}: ${(e as Error).message}`));
        sock.destroy();
        return;
      }
      for (const r of replies) {
        const p = this.pending.get(r.xid);
        if (!p) continue;
        this.pending.delete(r.xid);
        clearTimeout(p.timer);
        p.resolve(r);
      }
    });
    sock.on('error', () => {});
    sock.once('close', () => this.fail(new ClientError('CONNECTION_LOSS', `${address}: connection closed`)));
  }

  static connect(host: string, port: number, timeoutMs = 10_000): Promise<ZkClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, host);
      sock.setNoDelay(true);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ClientError('TIMEOUT', `${host}:${port}: connect timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new ZkClient(sock, `${host}:${port}`, timeoutMs));
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(new ClientError('CONNECTION_LOSS', `${host}:${port}: ${e.message}`));
      });
    });
  }

  private fail(e: ClientError): void {
    this.closedError ??= e;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  private call(req: DistOmit<ClientRequest, 'xid'>): Promise<ClientReply> {
    if (this.closedError) return Promise.reject(this.closedError);
    const xid = ++this.xid;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new ClientError('TIMEOUT', `${this.address}: ${req.type} timed out`));
      }, this.timeoutMs);
      this.pending.set(xid, { resolve, reject, timer });
      this.sock.write(encodeFrame({ ...req, xid }));
    });
  }

  private async ok(req: DistOmit<ClientRequest, 'xid'>): Promise<ClientReply> {
    const r = await this.call(req);
    if (!r.ok) {
      const text = r.error ?? 'failed';
      throw new ClientError(/^[A-Z_]+/.exec(text)?.[0] ?? 'ERROR', `${this.address}: ${text}`);
    }
    return r;
  }

  /** Resolves with the zxid of the committed write. */
  async set(key: string, value: string): Promise<string> {
    return (await this.ok({ type: 'set', key, value })).zxid ?? '';
  }
  async del(key: string): Promise<string> {
    return (await this.ok({ type: 'del', key })).zxid ?? '';
  }
  async get(key: string): Promise<string | null> {
    return (await this.ok({ type: 'get', key })).value ?? null;
  }
  async dump(): Promise<Map<string, string>> {
    return new Map((await this.ok({ type: 'dump' })).data ?? []);
  }
  async stat(): Promise<Record<string, unknown>> {
    return (await this.ok({ type: 'stat' })).stat ?? {};
  }
  /** Test fault switch (the server must run with --test-faults): isolate it from these servers; [] heals. */
  async fault(isolate: number[]): Promise<void> {
    await this.ok({ type: 'fault', isolate });
  }

  close(): void {
    this.sock.destroy();
  }
}
