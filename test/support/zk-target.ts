// The ZooKeeper ensemble the client suites (test/zk-*-suite.test.ts) and the differential test run against: the
// ONE place that says which. `ZK_TARGET` picks it:
//   apache (the default)  3 Apache ZooKeeper 3.8 servers from Debian's package (`bash bench/zookeeper-install.sh`)
//   ours                  3 of our servers (impl/ensemble.ts, as `npm run cluster` starts them)
//   host:port,host:port   an ensemble already running (nothing is started or stopped)
// Every process started here runs on 127.0.0.1 with ports from the OS, is stopped by its PID (SIGKILL) in
// close(), and its temp directory removed. When a target cannot run here, startTarget says why (`skip`), and the
// suites skip with that line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ensemble, freePorts } from '../../impl/ensemble.ts';
import { ZkWireClient } from '../../impl/zkwire/client.ts';

export interface Target {
  /** "apache 3.8.0-1", "ours", or the addresses given. */
  readonly name: string;
  readonly servers: readonly { host: string; port: number }[];
  /** "127.0.0.1:p1,127.0.0.1:p2,..." (node-zookeeper-client's connection string). */
  readonly connectString: string;
  /** The server processes started here (for CPU accounting); empty for an ensemble given by address. */
  readonly pids: readonly number[];
  /** Each started server's memory after a full collection, in the order of `pids` (empty for an ensemble given by address). */
  memory(): Promise<ServerMemory[]>;
  close(): Promise<void>;
}

/** What a server process keeps after a full garbage collection. */
export interface ServerMemory {
  readonly pid: number;
  /** Apache: the JVM heap in use (jcmd GC.heap_info); ours: the V8 heap in use plus the buffers outside it. */
  readonly bytes: number;
}

/**
 * The benchmark runs both targets with ZooKeeper's default tickTime (2 s: syncLimit 5 lets a server pause 10 s)
 * and sessions that may last 60 s without a reply: a server that pauses for seconds (ours, for a snapshot of a
 * million znodes: impl/README.md) is slower, not gone. The tests use 200 ms ticks, to see failures sooner.
 */
const BENCH_TICK_MS = 2000;
const BENCH_MAX_SESSION_MS = 60_000;
/**
 * No snapshot during the benchmark, on both: ours serializes a snapshot on its main thread, which stops a server
 * with 600,000 znodes for 10 s and more on this loaded machine (ZooKeeper takes them in a thread of their own);
 * impl/README.md says so. The memory per znode is what the benchmark measures, not that.
 */
const BENCH_SNAP_COUNT = 10_000_000;

export interface TargetOptions {
  /**
   * Benchmark settings instead of the tests' small ones: Apache ZooKeeper with the heap its own scripts give it
   * (zkEnv.sh: 1000 MB) and the JVM's default collector and compilers; ours with its transition log on.
   */
  readonly bench?: boolean;
}

export type TargetKind = 'apache' | 'ours' | string;

const JAVA_DIR = '/usr/share/java';
const ZK_JAR = join(JAVA_DIR, 'zookeeper.jar');
const LOG_JARS = ['slf4j-log4j12.jar', 'log4j-1.2.jar'].map((j) => join(JAVA_DIR, j));

/** Why Apache ZooKeeper cannot run here, or null if it can. */
export function apacheMissing(): string | null {
  if (spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 20_000 }).status !== 0) return 'no java on PATH';
  if (!existsSync(ZK_JAR)) return `Apache ZooKeeper is not installed (no ${ZK_JAR}); run: bash bench/zookeeper-install.sh`;
  return null;
}

export function zkCliPath(): string | null {
  const p = '/usr/share/zookeeper/bin/zkCli.sh';
  return existsSync(p) ? p : null;
}

/** Waits until every server gives a session and answers exists('/'), or throws after timeoutMs. */
async function waitServing(servers: readonly { host: string; port: number }[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const s of servers) {
    for (;;) {
      try {
        const c = await ZkWireClient.connect({ host: s.host, port: s.port, connectTimeoutMs: 2000, requestTimeoutMs: 2000 });
        try {
          await c.exists('/');
        } finally {
          await c.close();
        }
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`${s.host}:${s.port} not serving after ${timeoutMs} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}

const connectString = (servers: readonly { host: string; port: number }[]) => servers.map((s) => `${s.host}:${s.port}`).join(',');

async function startApache(o: TargetOptions): Promise<Target> {
  const root = mkdtempSync(join(tmpdir(), 'zk-target-'));
  const children: ChildProcess[] = [];
  const kill = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', kill);
  const close = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            c.once('exit', () => res());
            c.kill('SIGKILL');
          }),
      ),
    );
    process.removeListener('exit', kill);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(9);
    const log4j = join(root, 'log4j.properties');
    writeFileSync(
      log4j,
      'log4j.rootLogger=INFO, FILE\nlog4j.appender.FILE=org.apache.log4j.FileAppender\nlog4j.appender.FILE.File=${zk.target.log}\n' +
        'log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\nlog4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n\n',
    );
    const members = [1, 2, 3].map((sid) => `server.${sid}=127.0.0.1:${ports[3 * sid - 2]}:${ports[3 * sid - 1]}`);
    const setpriv = spawnSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 10_000 }).stdout?.includes('--pdeathsig') ?? false;
    const classpath = [ZK_JAR, ...(LOG_JARS.every((j) => existsSync(j)) ? LOG_JARS : [])].join(':');
    const servers: { host: string; port: number }[] = [];
    for (const sid of [1, 2, 3]) {
      const dir = join(root, `server${sid}`);
      mkdirSync(join(dir, 'data'), { recursive: true });
      writeFileSync(join(dir, 'data', 'myid'), `${sid}\n`);
      const clientPort = ports[3 * sid - 3]!;
      servers.push({ host: '127.0.0.1', port: clientPort });
      writeFileSync(
        join(dir, 'zoo.cfg'),
        [
          `tickTime=${o.bench === true ? BENCH_TICK_MS : 200}`,
          'initLimit=10',
          'syncLimit=5',
          `dataDir=${join(dir, 'data')}`,
          `clientPort=${clientPort}`,
          'clientPortAddress=127.0.0.1',
          'admin.enableServer=false',
          '4lw.commands.whitelist=*',
          ...(o.bench === true ? [`maxSessionTimeout=${BENCH_MAX_SESSION_MS}`, `snapCount=${BENCH_SNAP_COUNT}`] : []),
          ...members,
        ].join('\n') + '\n',
      );
      const jvm = o.bench === true ? ['-Xmx1000m'] : ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];
      const java = ['java', ...jvm, `-Dlog4j.configuration=file:${log4j}`, `-Dzk.target.log=${join(dir, 'server.log')}`, '-cp', classpath, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(dir, 'zoo.cfg')];
      const argv = setpriv ? ['setpriv', '--pdeathsig', 'KILL', ...java] : java;
      const out = openSync(join(dir, 'server.out'), 'a');
      const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', out, out] });
      closeSync(out);
      c.on('error', () => {});
      children.push(c);
    }
    await waitServing(servers, 60_000);
    const dpkg = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'zookeeper'], { encoding: 'utf8', timeout: 10_000 });
    const pids = children.map((c) => c.pid).filter((x): x is number => x !== undefined);
    return { name: `Apache ZooKeeper ${dpkg.status === 0 ? dpkg.stdout.trim() : '3.8'}`, servers, connectString: connectString(servers), pids, memory: async () => pids.map(jvmHeapUsed), close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function startOurs(o: TargetOptions): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'zk-target-ours-'));
  // The same settings as the Apache target's zoo.cfg: every four-letter word allowed.
  const ens = await Ensemble.create({ nodes: 3, dir, tickTime: o.bench === true ? BENCH_TICK_MS : 200, transitionLog: o.bench === true, extra: { '4lw.commands.whitelist': '*', ...(o.bench === true ? { maxSessionTimeout: String(BENCH_MAX_SESSION_MS), snapCount: String(BENCH_SNAP_COUNT) } : {}) } });
  const close = async () => {
    await ens.stopAll('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    ens.startAll();
    const servers = [...ens.servers.values()].map((h) => ({ host: '127.0.0.1', port: h.clientPort }));
    await waitServing(servers, 60_000);
    const handles = [...ens.servers.values()];
    const memory = () => Promise.all(handles.map((h) => ourMemory(h.child!.pid!, h.logPath)));
    return { name: 'ours', servers, connectString: connectString(servers), pids: ens.pids(), memory, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** A JVM's heap in use after a full collection: `jcmd PID GC.run`, then the heap line of `jcmd PID GC.heap_info`. */
function jvmHeapUsed(pid: number): ServerMemory {
  spawnSync('jcmd', [String(pid), 'GC.run'], { encoding: 'utf8', timeout: 60_000 });
  const info = spawnSync('jcmd', [String(pid), 'GC.heap_info'], { encoding: 'utf8', timeout: 60_000 });
  const used = /heap\s+total \d+K, used (\d+)K/.exec(info.stdout ?? '');
  if (used === null) throw new Error(`jcmd ${pid} GC.heap_info: no heap line in ${JSON.stringify((info.stdout ?? info.stderr ?? '').slice(0, 200))}`);
  return { pid, bytes: Number(used[1]) * 1024 };
}

/** Our server's memory after a full collection: SIGUSR2 makes it log one `memory after gc: {...}` line. */
async function ourMemory(pid: number, logPath: string): Promise<ServerMemory> {
  const lines = () => readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes('memory after gc: '));
  const before = lines().length;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const now = lines();
    if (now.length > before) {
      const m = JSON.parse(now[now.length - 1]!.slice(now[now.length - 1]!.indexOf('{'))) as { heapUsed: number; external: number };
      return { pid, bytes: m.heapUsed + m.external };
    }
    if (Date.now() > deadline) throw new Error(`server ${pid} did not report its memory within 60 s (${logPath})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts (or names) the target; `{ skip }` when it cannot run here. */
export async function startTarget(kind: TargetKind = process.env['ZK_TARGET'] ?? 'apache', o: TargetOptions = {}): Promise<Target | { skip: string }> {
  if (kind === 'apache') {
    const why = apacheMissing();
    if (why !== null) return { skip: `Apache ZooKeeper suite skipped: ${why}` };
    return startApache(o);
  }
  if (kind === 'ours') return startOurs(o);
  const servers = kind.split(',').map((hp) => {
    const m = /^([^:]+):(\d+)$/.exec(hp.trim());
    if (m === null) throw new Error(`ZK_TARGET: expected apache, ours or host:port[,host:port...], got ${JSON.stringify(kind)}`);
    return { host: m[1]!, port: Number(m[2]) };
  });
  await waitServing(servers, 30_000);
  return { name: kind, servers, connectString: connectString(servers), pids: [], memory: async () => [], close: async () => {} };
}
