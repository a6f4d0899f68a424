// A local ensemble of real server processes on loopback: free ports, one zoo.cfg and dataDir per server,
// start/kill/restart by PID. Used by `npm run cluster`, the end-to-end tests and the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZkClient } from './client.ts';
import type { LearnerType, Sid } from './core/types.ts';

const SERVER_TS = join(dirname(fileURLToPath(import.meta.url)), 'server.ts');

export interface EnsembleOptions {
  readonly nodes: number;
  readonly observers?: number;
  readonly dir: string;
  readonly tickTime?: number;
  readonly initLimit?: number;
  readonly syncLimit?: number;
  /** More zoo.cfg lines (commitLogCount, snapCount, ...). */
  readonly extra?: Readonly<Record<string, string | number>>;
  readonly transitionLog?: boolean;
  readonly testFaults?: boolean;
  /** Extra node flags for the server processes (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
}

export interface ServerHandle {
  readonly sid: Sid;
  readonly type: LearnerType;
  readonly clientPort: number;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly configPath: string;
  /** The server's stderr/stdout. */
  readonly logPath: string;
  child: ChildProcess | null;
}

/** Ports the OS hands out for port 0, all held at once so that none repeats. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => res());
      });
      servers.push(s);
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  }
}

export class Ensemble {
  readonly servers = new Map<Sid, ServerHandle>();

  private constructor(readonly opts: EnsembleOptions) {}

  static async create(opts: EnsembleOptions): Promise<Ensemble> {
    const e = new Ensemble(opts);
    const total = opts.nodes + (opts.observers ?? 0);
    const ports = await freePorts(total * 3);
    const lines: string[] = [];
    for (let sid = 1; sid <= total; sid++) {
      const [clientPort, quorumPort, electionPort] = ports.slice((sid - 1) * 3, sid * 3) as [number, number, number];
      const type: LearnerType = sid > opts.nodes ? 'observer' : 'participant';
      const dir = resolve(opts.dir, `server${sid}`);
      const h: ServerHandle = { sid, type, clientPort, quorumPort, electionPort, dir, dataDir: join(dir, 'data'), configPath: join(dir, 'zoo.cfg'), logPath: join(dir, 'server.log'), child: null };
      e.servers.set(sid, h);
      lines.push(`server.${sid}=127.0.0.1:${quorumPort}:${electionPort}${type === 'observer' ? ':observer' : ''}`);
    }
    for (const h of e.servers.values()) {
      mkdirSync(h.dataDir, { recursive: true });
      const cfg = [
        `tickTime=${opts.tickTime ?? 200}`,
        `initLimit=${opts.initLimit ?? 10}`,
        `syncLimit=${opts.syncLimit ?? 5}`,
        `dataDir=data`,
        `clientPort=${h.clientPort}`,
        `peerType=${h.type}`,
        ...Object.entries(opts.extra ?? {}).map(([k, v]) => `${k}=${v}`),
        ...lines,
      ];
      writeFileSync(h.configPath, cfg.join('\n') + '\n');
    }
    return e;
  }

  start(sid: Sid): ServerHandle {
    const h = this.servers.get(sid)!;
    if (h.child && h.child.exitCode === null && h.child.signalCode === null) throw new Error(`server ${sid} is already running`);
    const out = openSync(h.logPath, 'a');
    const args = [...(this.opts.nodeArgs ?? []), '--import', 'tsx', SERVER_TS, '--config', h.configPath, '--id', String(sid), '--exit-with-parent'];
    if (this.opts.transitionLog === false) args.push('--transition-log', 'off');
    if (this.opts.testFaults) args.push('--test-faults');
    // stdin is a pipe the server watches: if this process dies, its servers follow.
    h.child = spawn(process.execPath, args, { stdio: ['pipe', out, out] });
    closeSync(out);
    return h;
  }

  startAll(): void {
    for (const sid of this.servers.keys()) this.start(sid);
  }

  /** Signal a server (SIGKILL by default: kill -9) and wait until it is gone. */
  async kill(sid: Sid, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.servers.get(sid)!.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill(signal);
    await Promise.race([gone, new Promise((res) => setTimeout(res, 5000))]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await gone;
    }
  }

  async stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all([...this.servers.keys()].map((sid) => this.kill(sid, signal)));
  }

  pids(): number[] {
    return [...this.servers.values()].map((h) => h.child?.pid).filter((p): p is number => p !== undefined);
  }

  client(sid: Sid, timeoutMs = 10_000): Promise<ZkClient> {
    return ZkClient.connect('127.0.0.1', this.servers.get(sid)!.clientPort, timeoutMs);
  }

  traceFiles(sid: Sid): string[] {
    const h = this.servers.get(sid)!;
    return readdirSync(h.dataDir)
      .filter((f) => /^transitions\.\d+\.ndjson$/.test(f))
      .sort()
      .map((f) => join(h.dataDir, f));
  }

  /** Test-only (servers started with testFaults): cut server `sid` off from the listed ones; [] heals. */
  fault(sid: Sid, isolate: Sid[]): Promise<void> {
    return ZkClient.fault('127.0.0.1', this.servers.get(sid)!.clientPort, isolate);
  }

  /** stat of one server (our `zabs` four-letter word), or null if it does not answer. */
  async stat(sid: Sid): Promise<Record<string, unknown> | null> {
    try {
      return await ZkClient.status('127.0.0.1', this.servers.get(sid)!.clientPort, 2000);
    } catch {
      return null;
    }
  }

  /** Poll until every listed server serves and they agree on one leader; bounded by timeoutMs. */
  async waitForLeader(sids: Sid[] = [...this.servers.keys()], timeoutMs = 30_000): Promise<Sid> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const stats = await Promise.all(sids.map((s) => this.stat(s)));
      last = JSON.stringify(stats.map((s) => s && { sid: s['sid'], state: s['state'], serving: s['serving'], leader: s['leader'] }));
      const leaders = new Set(stats.map((s) => s?.['leader']));
      if (stats.every((s) => s?.['serving'] === true) && leaders.size === 1) {
        const leader = stats[0]!['leader'] as Sid;
        if (stats.some((s) => s!['sid'] === leader && s!['state'] === 'LEADING') || !sids.includes(leader)) return leader;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no agreed leader within ${timeoutMs} ms: ${last}`);
  }
}
