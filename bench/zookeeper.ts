// The yardstick: Apache ZooKeeper 3.8 (Debian's package `zookeeper`, see bench/zookeeper-install.sh) running the
// same workload as bench/impl.ts (bench/workload.ts) against a local 3-server ensemble on loopback, through
// ZooKeeper's own client protocol (impl/zkwire). Keys are znodes /key-N, /seq-N, /warm-N; a write is setData
// (version -1), a read getData. The key space is created before the warm-up, outside the measurement.
//
// The servers are started here without the package's init scripts: `java -cp zookeeper.jar... QuorumPeerMain
// zoo.cfg`, each with its own temp dataDir and myid, zoo.cfg and log4j file, all in one temp directory that is
// removed at the end. Every server is stopped by its PID (SIGTERM, then SIGKILL after 5 s) at the end, on an
// error and on Ctrl-C; where util-linux's setpriv exists, a server also dies with this process (PDEATHSIG).
//
// Nothing here fails the benchmark: if ZooKeeper is not installed or does not start, one line says why the
// yardstick is missing. Run alone: `npx tsx bench/zookeeper.ts [seconds] [--with-impl]`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { srvr } from '../impl/zkwire/four-letter.ts';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { freePorts } from '../impl/ensemble.ts';
import { ZkWireClient, ZkWireError } from '../impl/zkwire/client.ts';
import { formatTable, runWorkload, WORKLOAD, WORKLOAD_OPS, type WorkloadOp, type WorkloadRow } from './workload.ts';

const JAVA_DIR = '/usr/share/java';
const ZOOKEEPER_JAR = join(JAVA_DIR, 'zookeeper.jar');
/** Logging for the servers: slf4j's log4j 1.2 binding (both in Debian's ZooKeeper dependencies), else none. */
const LOG_JARS = ['slf4j-log4j12.jar', 'log4j-1.2.jar'].map((j) => join(JAVA_DIR, j));
const MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
const TICK_TIME = 200;
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5000;

export interface ZooKeeperBenchOptions {
  readonly seconds?: number;
  readonly connections?: number;
  readonly depth?: number;
  readonly valueBytes?: number;
}

export interface ZooKeeperBenchResult {
  /** Null when the yardstick could not run; `missing` says why. */
  readonly rows: WorkloadRow[] | null;
  readonly missing: string | null;
  readonly version: string | null;
  readonly seconds: number;
  readonly connections: number;
  readonly depth: number;
  readonly valueBytes: number;
  readonly loadBefore: number[];
  readonly loadAfter: number[];
}

class Missing extends Error {}

interface Installation {
  readonly classpath: string;
  readonly version: string;
  readonly setpriv: boolean;
}

function locate(): Installation {
  if (!existsSync(ZOOKEEPER_JAR)) throw new Missing(`Apache ZooKeeper is not installed (no ${ZOOKEEPER_JAR}); run: bash bench/zookeeper-install.sh`);
  const java = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 30_000 });
  if (java.error || java.status !== 0) throw new Missing(`java does not run (${java.error?.message ?? `exit status ${java.status}`})`);
  const dpkg = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'zookeeper'], { encoding: 'utf8', timeout: 10_000 });
  const version = dpkg.status === 0 && dpkg.stdout.trim() !== '' ? dpkg.stdout.trim() : 'unknown version';
  const logJars = LOG_JARS.every((j) => existsSync(j)) ? LOG_JARS : [];
  const setpriv = spawnSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 10_000 }).stdout?.includes('--pdeathsig') ?? false;
  return { classpath: [ZOOKEEPER_JAR, ...logJars].join(':'), version, setpriv };
}

interface ZkServer {
  readonly sid: number;
  readonly clientPort: number;
  readonly dir: string;
  readonly outPath: string;
  child: ChildProcess | null;
}

/** The `srvr` four-letter word: the server's Mode line (leader, follower, ...), or null if it does not answer. */
async function srvrMode(port: number, timeoutMs = 2000): Promise<string | null> {
  return (await srvr(port, timeoutMs))?.mode ?? null;
}

class ZooKeeperEnsemble {
  readonly servers: ZkServer[] = [];
  private readonly onExit = () => this.killNow();
  private readonly onSignal = (sig: NodeJS.Signals) => {
    console.error(`bench/zookeeper.ts: ${sig}: stopping the ZooKeeper servers`);
    void this.stop().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };

  private constructor(
    readonly dir: string,
    private readonly inst: Installation,
  ) {}

  static async start(inst: Installation): Promise<ZooKeeperEnsemble> {
    const e = new ZooKeeperEnsemble(mkdtempSync(join(tmpdir(), 'zk-yardstick-')), inst);
    process.on('exit', e.onExit);
    process.on('SIGINT', e.onSignal);
    process.on('SIGTERM', e.onSignal);
    try {
      await e.launch();
      return e;
    } catch (err) {
      await e.stop();
      throw err;
    }
  }

  private async launch(): Promise<void> {
    const ports = await freePorts(9);
    const lines = [1, 2, 3].map((sid) => `server.${sid}=127.0.0.1:${ports[3 * sid - 2]}:${ports[3 * sid - 1]}`);
    const log4j = join(this.dir, 'log4j.properties');
    writeFileSync(
      log4j,
      [
        'log4j.rootLogger=INFO, FILE',
        'log4j.appender.FILE=org.apache.log4j.FileAppender',
        'log4j.appender.FILE.File=${zk.bench.logfile}',
        'log4j.appender.FILE.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n',
        '',
      ].join('\n'),
    );
    for (const sid of [1, 2, 3]) {
      const dir = join(this.dir, `server${sid}`);
      const dataDir = join(dir, 'data');
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'myid'), `${sid}\n`);
      const clientPort = ports[3 * sid - 3]!;
      // forceSync and snapCount keep their defaults: every txn is fsynced before its ACK, as in ours.
      const cfg = [
        `tickTime=${TICK_TIME}`,
        'initLimit=10',
        'syncLimit=5',
        `dataDir=${dataDir}`,
        `clientPort=${clientPort}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=srvr',
        ...lines,
      ];
      writeFileSync(join(dir, 'zoo.cfg'), cfg.join('\n') + '\n');
      this.servers.push({ sid, clientPort, dir, outPath: join(dir, 'server.out'), child: null });
    }
    for (const s of this.servers) {
      const java = ['java', '-Xmx1000m', `-Dlog4j.configuration=file:${log4j}`, `-Dzk.bench.logfile=${join(s.dir, 'server.log')}`, '-cp', this.inst.classpath, MAIN, join(s.dir, 'zoo.cfg')];
      // setpriv execs java: the PID is java's own.
      const argv = this.inst.setpriv ? ['setpriv', '--pdeathsig', 'KILL', ...java] : java;
      const out = openSync(s.outPath, 'a');
      s.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', out, out], detached: false });
      closeSync(out);
      s.child.on('error', () => {});
    }
    await this.waitForQuorum();
  }

  /** Until one server leads and the others follow; fails early if a server exits. */
  private async waitForQuorum(): Promise<void> {
    const deadline = performance.now() + START_TIMEOUT_MS;
    let modes: (string | null)[] = [];
    while (performance.now() < deadline) {
      for (const s of this.servers) {
        const c = s.child!;
        if (c.exitCode !== null || c.signalCode !== null) {
          throw new Error(`ZooKeeper server ${s.sid} exited (${c.exitCode ?? c.signalCode}) while starting: ${this.lastLine(s)}`);
        }
      }
      modes = await Promise.all(this.servers.map((s) => srvrMode(s.clientPort)));
      if (modes.filter((m) => m === 'leader').length === 1 && modes.filter((m) => m === 'follower').length === this.servers.length - 1) return;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`no ZooKeeper leader within ${START_TIMEOUT_MS / 1000} s (modes: ${modes.map((m) => m ?? 'no answer').join(', ')})`);
  }

  private lastLine(s: ZkServer): string {
    for (const f of [s.outPath, join(s.dir, 'server.log')]) {
      try {
        const lines = readFileSync(f, 'utf8').split('\n').filter((l) => /ERROR|Exception|Error:/.test(l));
        if (lines.length > 0) return lines[lines.length - 1]!.slice(0, 300);
      } catch {
        // no such file yet
      }
    }
    return 'no error in its log';
  }

  async modes(): Promise<Map<number, string | null>> {
    const m = await Promise.all(this.servers.map((s) => srvrMode(s.clientPort)));
    return new Map(this.servers.map((s, i) => [s.sid, m[i] ?? null]));
  }

  /** Each server: SIGTERM, then SIGKILL if it is still there after STOP_GRACE_MS. Then the temp dir goes. */
  async stop(): Promise<void> {
    await Promise.all(
      this.servers.map(async (s) => {
        const c = s.child;
        if (!c || c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
        const gone = new Promise<void>((res) => c.once('exit', () => res()));
        c.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([gone, new Promise<void>((res) => (timer = setTimeout(res, STOP_GRACE_MS)))]);
        clearTimeout(timer);
        if (c.exitCode === null && c.signalCode === null) {
          c.kill('SIGKILL');
          await Promise.race([gone, new Promise<void>((res) => (timer = setTimeout(res, STOP_GRACE_MS)))]);
          clearTimeout(timer);
        }
      }),
    );
    process.removeListener('exit', this.onExit);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** On process exit (no time for anything asynchronous): SIGKILL whatever still runs. */
  private killNow(): void {
    for (const s of this.servers) {
      const c = s.child;
      if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `f` over `items` with `lanes` concurrent workers, until done or the deadline. */
async function pool<T>(items: readonly T[], lanes: number, deadlineMs: number, f: (item: T, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  const until = performance.now() + deadlineMs;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (next < items.length) {
        if (performance.now() > until) throw new Error(`creating the key space took more than ${deadlineMs / 1000} s`);
        await f(items[next++]!, lane);
      }
    }),
  );
}

export async function benchZooKeeper(opts: ZooKeeperBenchOptions = {}): Promise<ZooKeeperBenchResult> {
  const seconds = opts.seconds ?? WORKLOAD.seconds;
  const connections = opts.connections ?? WORKLOAD.connections;
  const depth = opts.depth ?? WORKLOAD.depth;
  const valueBytes = opts.valueBytes ?? WORKLOAD.valueBytes;
  const base = { seconds, connections, depth, valueBytes, loadBefore: loadavg() };
  let inst: Installation;
  try {
    inst = locate();
  } catch (e) {
    if (!(e instanceof Missing)) throw e;
    return { ...base, rows: null, missing: e.message, version: null, loadAfter: loadavg() };
  }
  let ens: ZooKeeperEnsemble | null = null;
  const clients: { c: ZkWireClient; sid: number }[] = [];
  try {
    for (let attempt = 1; ens === null; attempt++) {
      try {
        ens = await ZooKeeperEnsemble.start(inst);
      } catch (e) {
        // A free port taken by someone else between freePorts and java's bind: one more try.
        if (attempt >= 2) throw e;
      }
    }
    for (const s of ens.servers) {
      for (let i = 0; i < connections; i++) {
        clients.push({ c: await ZkWireClient.connect({ port: s.clientPort, sessionTimeoutMs: 20 * TICK_TIME, requestTimeoutMs: 30_000 }), sid: s.sid });
      }
    }
    const modes = await ens.modes();
    const followerSid = [...modes].find(([, m]) => m === 'follower')?.[0];
    const follower = clients.find((x) => x.sid === followerSid)?.c ?? clients[0]!.c;
    const bytes = new Map<string, Buffer>();
    const data = (v: string) => bytes.get(v) ?? (bytes.set(v, Buffer.from(v, 'utf8')), bytes.get(v)!);
    const all = clients.map((x) => x.c);
    // The key space, before the warm-up: the write row then updates existing znodes, as ours overwrites keys.
    const keys = [...Array.from({ length: WORKLOAD.keys }, (_, i) => `/key-${i}`), ...Array.from({ length: WORKLOAD.singleKeys }, (_, i) => `/seq-${i}`)];
    const empty = Buffer.alloc(0);
    await pool(keys, all.length * depth, 120_000, async (path, lane) => {
      await all[lane % all.length]!.create(path, empty).catch((e: unknown) => {
        if (!(e instanceof ZkWireError && e.code === 'NODEEXISTS')) throw e;
      });
    });
    const set = async (c: ZkWireClient, key: string, value: string): Promise<unknown> => {
      const path = `/${key}`;
      try {
        return await c.setData(path, data(value));
      } catch (e) {
        if (!(e instanceof ZkWireError && e.code === 'NONODE')) throw e;
      }
      // A znode not there yet (the warm-up's): create it; if another lane just did, set it.
      try {
        return await c.create(path, data(value));
      } catch (e) {
        if (!(e instanceof ZkWireError && e.code === 'NODEEXISTS')) throw e;
        return c.setData(path, data(value));
      }
    };
    const rows = await runWorkload({ clients: all, follower, set, get: (c, key) => c.getData(`/${key}`) }, { seconds, depth, valueBytes });
    return { ...base, rows, missing: null, version: inst.version, loadAfter: loadavg() };
  } catch (e) {
    return { ...base, rows: null, missing: `Apache ZooKeeper ${inst.version} did not run: ${(e as Error).message}`, version: inst.version, loadAfter: loadavg() };
  } finally {
    await Promise.all(clients.map((x) => x.c.close()));
    await ens?.stop();
  }
}

const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
const ops = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(0));
const lat = (r: { p50Ms: number; p99Ms: number } | undefined) => (r === undefined ? '-' : `${r.p50Ms.toFixed(2)} / ${r.p99Ms.toFixed(2)}`);

function describe(zk: ZooKeeperBenchResult): string {
  return (
    `yardstick: Apache ZooKeeper ${zk.version ?? ''} (Debian package), 3 servers on loopback, tickTime ${TICK_TIME}, forceSync yes; ` +
    `${zk.connections} connection(s) per server x ${zk.depth} in flight, ${zk.valueBytes}-byte values, ${zk.seconds} s per row`
  );
}

function errorsNote(label: string, rows: readonly (WorkloadRow | undefined)[]): string[] {
  return rows.filter((r): r is WorkloadRow => r !== undefined && r.errors > 0).map((r) => `${label} ${r.op}: ${r.errors} error(s), the first: ${r.firstError ?? '?'}`);
}

/** ZooKeeper's rows alone. */
export function formatZooKeeper(zk: ZooKeeperBenchResult): string {
  if (zk.rows === null) return `ZooKeeper yardstick missing: ${zk.missing}`;
  const table = formatTable(
    ['op', 'ops/s', 'p50 ms', 'p99 ms', 'errors'],
    zk.rows.map((r) => [r.op, ops(r.opsPerSec), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), String(r.errors)]),
  );
  return [describe(zk), table, ...errorsNote('ZooKeeper', zk.rows), `load average before ${load(zk.loadBefore)}, after ${load(zk.loadAfter)}`].join('\n');
}

/** The row shape bench/impl.ts returns (transitionLog on/off per op). */
export interface ImplRowLike extends Omit<WorkloadRow, 'firstError'> {
  readonly transitionLog: boolean;
  readonly firstError?: string | null;
}

/** Ours (transition log on and off) next to ZooKeeper, per row, with the ratio ours-on / ZooKeeper. */
export function formatComparison(impl: readonly ImplRowLike[] | null, zk: ZooKeeperBenchResult): string {
  if (zk.rows === null) return `ZooKeeper yardstick missing: ${zk.missing}`;
  const find = (on: boolean, op: WorkloadOp) => impl?.find((r) => r.transitionLog === on && r.op === op);
  const rows = WORKLOAD_OPS.map((op) => {
    const on = find(true, op);
    const off = find(false, op);
    const z = zk.rows!.find((r) => r.op === op);
    const ratio = on && z && z.opsPerSec > 0 ? `${(on.opsPerSec / z.opsPerSec).toFixed(2)}x` : '-';
    return [op, ops(on?.opsPerSec), ops(off?.opsPerSec), ops(z?.opsPerSec), ratio, lat(on), lat(off), lat(z)];
  });
  const table = formatTable(
    ['row', 'ours, log on ops/s', 'ours, log off ops/s', 'ZooKeeper ops/s', 'ours on / ZK', 'ours on p50/p99 ms', 'ours off p50/p99 ms', 'ZK p50/p99 ms'],
    rows,
  );
  return [describe(zk), table, ...errorsNote('ZooKeeper', zk.rows), `load average before the ZooKeeper rows ${load(zk.loadBefore)}, after ${load(zk.loadAfter)}`].join('\n');
}

function isImplRows(x: unknown): x is ImplRowLike[] {
  return Array.isArray(x) && x.every((r) => typeof r === 'object' && r !== null && 'transitionLog' in r && 'op' in r && 'opsPerSec' in r);
}

/** For bench/run.ts: runs the yardstick and prints it next to the implementation's rows (whatever benchImpl returned). */
export async function printYardstick(implResult: unknown, opts: ZooKeeperBenchOptions = {}): Promise<void> {
  const zk = await benchZooKeeper(opts);
  console.log(isImplRows(implResult) ? formatComparison(implResult, zk) : formatZooKeeper(zk));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let seconds: number = WORKLOAD.seconds;
  let withImpl = false;
  try {
    const { values, positionals } = parseArgs({ options: { 'with-impl': { type: 'boolean' } }, allowPositionals: true });
    if (positionals.length > 1) throw new Error(`one argument expected, got ${positionals.length}`);
    seconds = Number(positionals[0] ?? WORKLOAD.seconds);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw new Error('the argument is seconds per row, a positive number up to 600');
    withImpl = values['with-impl'] ?? false;
  } catch (e) {
    console.error(`bench/zookeeper.ts: ${(e as Error).message}\nusage: npx tsx bench/zookeeper.ts [seconds] [--with-impl]`);
    process.exit(2);
  }
  const main = async () => {
    let impl: unknown = null;
    if (withImpl) impl = await (await import('./impl.ts')).benchImpl({ seconds });
    const zk = await benchZooKeeper({ seconds });
    console.log(withImpl ? `\n${formatComparison(isImplRows(impl) ? impl : null, zk)}` : formatZooKeeper(zk));
  };
  main().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(`bench/zookeeper.ts: ${e.message}`);
      process.exit(1);
    },
  );
}
