// A key-value view of the ensemble for our own tools and tests (the conformance fault runs, the benchmark, the
// end-to-end tests): key `k` is the znode `/k`. It speaks ZooKeeper's client protocol through our client
// library (impl/zkwire/client.ts), one session per ZkClient. Server status and the test-only fault switch
// travel as four-letter words of ours (`zabs`, `zabf`) on connections of their own.
import { connect } from 'node:net';
import { ZkWireClient, ZkWireError } from './zkwire/client.ts';

export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Send a four-letter word (and anything after it), read the answer until the server closes. */
export function fourLetterWord(host: string, port: number, word: string, rest = '', timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ClientError('TIMEOUT', `${host}:${port}: no answer to ${word} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(word + rest));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(new ClientError('CONNECTIONLOSS', `${host}:${port}: ${e.message}`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

const wrap = (e: unknown): Error => (e instanceof ZkWireError ? new ClientError(e.code, e.message) : (e as Error));

export class ZkClient {
  private constructor(
    private readonly zk: ZkWireClient,
    readonly host: string,
    readonly port: number,
  ) {}

  static async connect(host: string, port: number, timeoutMs = 10_000): Promise<ZkClient> {
    try {
      const zk = await ZkWireClient.connect({ host, port, connectTimeoutMs: timeoutMs, requestTimeoutMs: Math.max(timeoutMs, 10_000) });
      return new ZkClient(zk, host, port);
    } catch (e) {
      throw wrap(e);
    }
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Create `/key` with the value, or set its data if it exists; resolves once committed and applied here. */
  async set(key: string, value: string): Promise<void> {
    const data = Buffer.from(value);
    try {
      await this.zk.create(`/${key}`, data);
    } catch (e) {
      if (!(e instanceof ZkWireError) || e.code !== 'NODEEXISTS') throw wrap(e);
      try {
        await this.zk.setData(`/${key}`, data);
      } catch (e2) {
        throw wrap(e2);
      }
    }
  }

  /** The value of `/key` on this server, null if there is none. */
  async get(key: string): Promise<string | null> {
    try {
      const r = await this.zk.getData(`/${key}`);
      return r.data?.toString() ?? '';
    } catch (e) {
      if (e instanceof ZkWireError && e.code === 'NONODE') return null;
      throw wrap(e);
    }
  }

  async del(key: string): Promise<void> {
    try {
      await this.zk.delete(`/${key}`);
    } catch (e) {
      throw wrap(e);
    }
  }

  /** The values of the given keys on this server (missing ones left out). */
  async getMany(keys: Iterable<string>): Promise<Map<string, string>> {
    const ks = [...keys];
    const values = await Promise.all(ks.map((k) => this.get(k)));
    return new Map(ks.flatMap((k, i) => (values[i] === null ? [] : [[k, values[i]!] as [string, string]])));
  }

  /** This server's role and zxids (our `zabs` word). */
  stat(): Promise<Record<string, unknown>> {
    return ZkClient.status(this.host, this.port);
  }

  static async status(host: string, port: number, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const text = await fourLetterWord(host, port, 'zabs', '', timeoutMs);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ClientError('BAD_REPLY', `${host}:${port}: zabs answered ${JSON.stringify(text.slice(0, 80))}`);
    }
  }

  /** Test-only (a server started with --test-faults): cut this server off from the listed ones; [] heals. */
  fault(isolate: number[]): Promise<void> {
    return ZkClient.fault(this.host, this.port, isolate);
  }

  /** The fault switch without a session (a server that does not serve takes no sessions). */
  static async fault(host: string, port: number, isolate: number[]): Promise<void> {
    const text = await fourLetterWord(host, port, 'zabf', JSON.stringify(isolate));
    if (text.trim() !== 'ok') throw new ClientError('FAULT', `${host}:${port}: ${text.trim() || 'no answer'}`);
  }

  close(): void {
    void this.zk.close().catch(() => {});
  }
}
