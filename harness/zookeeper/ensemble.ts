// An ensemble of real ZooKeeper 3.8 servers on loopback, wired through the proxies; clients' requests in the background.
//
// Every java (and jdb) process is started here and stopped by its PID (SIGKILL) at the end, on error, on Ctrl-C and on exit;
// with util-linux's setpriv a server also dies with this process. Every wait has a deadline, and runScenario bounds
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZkWireClient, ZkWireError } from '../../impl/zkwire/client.ts';
import { srvr } from '../../impl/zkwire/four-letter.ts';

import { freePort, hex, say, sleep, stamp } from './log.ts';
import { LOG_JARS, ZOOKEEPER_JAR, type ZkServer, alive, children, kill9, killAllNow, startServer } from './process.ts';
import { PairProxy } from './proxy.ts';
/** What became of a request sent without waiting for it: null until the reply (or the error) comes. */
export interface Reply {
  readonly ok: boolean;
  readonly text: string;
  readonly at: string;
}

/** Send `create path` and go on; the returned function tells what the client got so far. `where` names the
 *  server the client is connected to, for the log line. */
export function createInBackground(client: ZkWireClient, path: string, data: string, where = 'the leader'): () => Reply | null {
  let reply: Reply | null = null;
  say(`step 3: client sends create ${path} to ${where} (not waiting for the reply)`);
  client.create(path, Buffer.from(data)).then(
    (created) => {
      reply = { ok: true, text: `created ${created}`, at: stamp() };
      say(`  client: create ${path} succeeded (${created})`);
    },
    (e: unknown) => {
      reply = { ok: false, text: e instanceof ZkWireError ? `${e.code}: ${e.message}` : String(e), at: stamp() };
      say(`  client: create ${path} failed: ${reply.text}`);
    },
  );
  return () => reply;
}

// -------------------------------------------------------------------------------------------- scenario

// -------------------------------------------------------------------------------------------- the ensemble

export interface Outcome {
  verdict: 'REPRODUCED' | 'NOT REPRODUCED' | 'INCONCLUSIVE';
  why: string;
  facts: string[];
}

export interface EnsembleOptions {
  readonly sids: readonly number[];
  readonly tickMs: number;
  readonly initLimit: number;
  readonly syncLimit: number;
  /** Prefix of the temp directory's name. */
  readonly tmpPrefix: string;
  /** Environment added for one server's process, given its directory. */
  readonly env?: (s: ZkServer) => Record<string, string>;
  /** JVM options added for one server's process (asked at each start). */
  readonly jvmArgs?: (s: ZkServer) => readonly string[];
  /** Servers that run as observers (peerType=observer, `:observer` on their server lines). */
  readonly observers?: readonly number[];
  /** Loggers set to DEBUG (e.g. org.apache.zookeeper.server.quorum); the rest logs at INFO. */
  readonly debugLoggers?: readonly string[];
}

/**
 * The layout of the servers' log lines. 'short' (the reproductions' own): `%d{ISO8601} %-5p [%t] %c{1} - %m`.
 * 'zookeeper': ZooKeeper's shipped layout (conf/logback.xml of 3.8, conf/log4j.properties of 3.5-3.7):
 * `%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m`, the one `npm run conform --format zookeeper` reads.
 * ZK_LOG_LAYOUT=zookeeper in the environment selects it for every script (scripts/make-zk-logs.ts sets it).
 */
export const LOG_LAYOUTS = {
  short: '%d{ISO8601} %-5p [%t] %c{1} - %m%n',
  zookeeper: '%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n',
} as const;

export type Status = Awaited<ReturnType<typeof srvr>>;

/** What the scenario needs to run ZooKeeper here, or why it cannot (then INCONCLUSIVE). */
export function preflight(): { ok: true; version: string; classpath: string; setpriv: boolean } | { ok: false; why: string } {
  if (!existsSync(ZOOKEEPER_JAR)) return { ok: false, why: `no ${ZOOKEEPER_JAR}: run bash bench/zookeeper-install.sh` };
  const dpkg = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'zookeeper'], { encoding: 'utf8', timeout: 10_000 });
  const version = dpkg.status === 0 ? dpkg.stdout.trim() : 'unknown';
  const setpriv = spawnSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 10_000 }).stdout?.includes('--pdeathsig') ?? false;
  const classpath = [ZOOKEEPER_JAR, ...(LOG_JARS.every((j) => existsSync(j)) ? LOG_JARS : [])].join(':');
  return { ok: true, version, classpath, setpriv };
}

/** Servers on loopback in a temp directory, each learner->leader quorum link through a PairProxy. The
 *  constructor makes the temp directory and registers an exit hook that kills the servers and removes it;
 *  setup() writes the configs and opens the proxies; close() stops everything. */
export class ZkEnsemble {
  readonly root: string;
  readonly servers = new Map<number, ZkServer>();
  readonly proxies = new Map<string, PairProxy>();
  readonly clients: ZkWireClient[] = [];
  private log4j = '';
  private readonly onExit = () => {
    killAllNow();
    if (!process.env.KEEP_REPRO_DIR) rmSync(this.root, { recursive: true, force: true });
  };

  constructor(
    readonly opts: EnsembleOptions,
    private readonly classpath: string,
    private readonly setpriv: boolean,
  ) {
    this.root = mkdtempSync(join(tmpdir(), opts.tmpPrefix));
    process.on('exit', this.onExit);
  }

  async setup(): Promise<void> {
    const { sids } = this.opts;
    this.log4j = join(this.root, 'log4j.properties');
    writeFileSync(
      this.log4j,
      [
        'log4j.rootLogger=INFO, FILE',
        'log4j.appender.FILE=org.apache.log4j.FileAppender',
        'log4j.appender.FILE.File=${zk.repro.logfile}',
        'log4j.appender.FILE.layout=org.apache.log4j.PatternLayout',
        `log4j.appender.FILE.layout.ConversionPattern=${process.env.ZK_LOG_LAYOUT === 'zookeeper' ? LOG_LAYOUTS.zookeeper : LOG_LAYOUTS.short}`,
        ...(this.opts.debugLoggers ?? []).map((l) => `log4j.logger.${l}=DEBUG`),
        '',
      ].join('\n'),
    );
    for (const sid of sids) {
      const dir = join(this.root, `server${sid}`);
      const dataDir = join(dir, 'data');
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'myid'), `${sid}\n`);
      const [clientPort, quorumPort, electionPort] = [await freePort(), await freePort(), await freePort()];
      this.servers.set(sid, { sid, clientPort, quorumPort, electionPort, dir, dataDir, logPath: join(dir, 'server.log'), child: null, starts: 0 });
    }
    for (const from of sids) {
      for (const to of sids) {
        if (from === to) continue;
        const p = new PairProxy(from, to, () => this.srv(to).quorumPort);
        await p.listen();
        this.proxies.set(`${from}->${to}`, p);
      }
    }
    for (const s of this.servers.values()) {
      const obs = new Set(this.opts.observers ?? []);
      const lines = sids.map((m) => `server.${m}=127.0.0.1:${m === s.sid ? s.quorumPort : this.proxy(s.sid, m).port}:${this.srv(m).electionPort}${obs.has(m) ? ':observer' : ''}`);
      const cfg = [
        `tickTime=${this.opts.tickMs}`,
        `initLimit=${this.opts.initLimit}`,
        `syncLimit=${this.opts.syncLimit}`,
        `dataDir=${s.dataDir}`,
        `clientPort=${s.clientPort}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=srvr',
        ...(obs.has(s.sid) ? ['peerType=observer'] : []),
        ...lines,
      ];
      writeFileSync(join(s.dir, 'zoo.cfg'), cfg.join('\n') + '\n');
    }
  }

  srv(sid: number): ZkServer {
    const s = this.servers.get(sid);
    if (s === undefined) throw new Error(`no server ${sid}`);
    return s;
  }

  /** The proxy of learner `from` to leader `to`. */
  proxy(from: number, to: number): PairProxy {
    const p = this.proxies.get(`${from}->${to}`);
    if (p === undefined) throw new Error(`no proxy ${from}->${to}`);
    return p;
  }

  start(sid: number): void {
    const s = this.srv(sid);
    startServer(s, this.classpath, this.log4j, this.setpriv, this.opts.env?.(s) ?? {}, this.opts.jvmArgs?.(s) ?? []);
  }

  kill9(sid: number): Promise<number | undefined> {
    return kill9(this.srv(sid));
  }

  async status(sids: readonly number[]): Promise<Map<number, Status>> {
    const r = await Promise.all(sids.map((sid) => srvr(this.srv(sid).clientPort)));
    return new Map(sids.map((sid, i) => [sid, r[i] ?? null]));
  }

  showStatus(m: Map<number, Status>): string {
    return [...m].map(([sid, x]) => `${sid}: ${x === null ? 'down/no answer' : `${x.mode ?? '?'} zxid ${x.zxid === null ? '?' : hex(x.zxid)}`}`).join('; ');
  }

  /** One leader and the rest following among `sids`, all answering; null until then. Throws if one exited. */
  async formed(sids: readonly number[]): Promise<Map<number, Status> | null> {
    for (const sid of sids) {
      const c = this.srv(sid).child;
      if (!alive(c)) throw new Error(`server ${sid} exited (${c?.exitCode ?? c?.signalCode}); see its log`);
    }
    const m = await this.status(sids);
    const modes = [...m.values()].map((x) => x?.mode);
    if (modes.filter((x) => x === 'leader').length === 1 && modes.filter((x) => x === 'follower').length === sids.length - 1) return m;
    return null;
  }

  async connectClient(sid: number): Promise<ZkWireClient> {
    const c = await ZkWireClient.connect({ port: this.srv(sid).clientPort, sessionTimeoutMs: 20_000, requestTimeoutMs: 30_000, connectTimeoutMs: 15_000 });
    this.clients.push(c);
    return c;
  }

  /** `exists path` through a new session on server sid: 'absent', 'present (czxid ..)' or 'no answer (..)'. */
  async existsOn(sid: number, path = '/x'): Promise<string> {
    try {
      const c = await this.connectClient(sid);
      const st = await c.exists(path);
      return st === null ? 'absent' : `present (czxid ${hex(st.czxid)})`;
    } catch (e) {
      return `no answer (${(e as Error).message})`;
    }
  }

  /** Closes the clients, SIGKILLs every server by PID, closes the proxies, removes the temp directory. */
  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => Promise.race([c.close().catch(() => {}), sleep(2000)])));
    const pids: number[] = [];
    for (const s of this.servers.values()) {
      const pid = s.child?.pid;
      if (alive(s.child) && pid !== undefined) pids.push(pid);
      await kill9(s).catch((err: Error) => say(`cleanup: ${err.message}`));
    }
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
    for (const p of this.proxies.values()) p.close();
    const left = [...this.servers.values()].filter((s) => alive(s.child)).map((s) => s.child?.pid);
    say(`cleanup: SIGKILL to pid(s) ${pids.join(', ') || '(none running)'}; still running: ${left.length === 0 ? 'none' : left.join(', ')}`);
    if (process.env.KEEP_REPRO_DIR) say(`kept ${this.root}`);
    else rmSync(this.root, { recursive: true, force: true });
    process.removeListener('exit', this.onExit);
  }
}
