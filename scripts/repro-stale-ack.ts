// Finding #1 of docs/findings.md (a stale ACK counted after a TRUNC) tried against a real Apache ZooKeeper 3.8.0
// ensemble: Debian's package, 5 servers on loopback, each learner->leader quorum connection through a TCP proxy of
// ours that parses ZooKeeper's quorum stream and can hold one direction from a given packet type on.
//
// Run: `npx tsx scripts/repro-stale-ack.ts` (needs `bash bench/zookeeper-install.sh` once). It prints a
// step-by-step log and one verdict line: REPRODUCED, NOT REPRODUCED (with the step that went otherwise than the spec
// predicts, and why), or INCONCLUSIVE (the harness itself failed).
//
// Wiring. Server N's zoo.cfg has its own line `server.N=127.0.0.1:Q(N):E(N)` with its real quorum port; every other
// server M's line points at a proxy port P(N->M) that forwards to Q(M). Election ports are direct. So whichever
// server leads, every learner reaches it through a proxy of ours, one per (learner, leader) pair.
//
// The quorum stream (ZooKeeper 3.8.0: Learner.registerWithLeader writes FOLLOWERINFO first, LearnerHandler.run
// reads it first; quorum SASL is off by default, so nothing precedes it) is a sequence of jute QuorumPacket
// records without length prefix: int type, long zxid, buffer data (int length, -1 for null), vector<Id> authinfo
// (int count, -1 for null; an Id is two strings). One exception: after a SNAP packet the leader writes the
// serialized snapshot and then the string "BenWasHere" (LearnerHandler.run); the proxy passes that blob as one
// unit, cut at the signature.
//
// Every java process is started here and stopped by its PID (SIGKILL) at the end, on error, on Ctrl-C and on exit;
// with util-linux's setpriv a server also dies with this process. Everything is bounded: each wait has a deadline
// and the whole run has one (RUN_LIMIT_MS). The temp directory is removed at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZkWireClient, ZkWireError } from '../impl/zkwire/client.ts';
import { srvr } from '../impl/zkwire/four-letter.ts';

const JAVA_DIR = '/usr/share/java';
const ZOOKEEPER_JAR = join(JAVA_DIR, 'zookeeper.jar');
const LOG_JARS = ['slf4j-log4j12.jar', 'log4j-1.2.jar'].map((j) => join(JAVA_DIR, j));
const MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
const SIDS = [1, 2, 3, 4, 5] as const;
// Held traffic must not trip ZooKeeper's own timeouts during the scenario: the leader gives up leading when a
// quorum has not been heard from within syncLimit ticks, a follower drops a leader it has not heard from within
// syncLimit ticks. 40 ticks of 1 s leave 40 s between the first held packet and the release. initLimit is shorter:
// it bounds how long a new leader waits for its followers' epochs, which an election hiccup can cost.
const TICK_MS = 1000;
const INIT_LIMIT = 10;
const SYNC_LIMIT = 40;
const RUN_LIMIT_MS = 175_000;

// ---------------------------------------------------------------------------------------------------- logging

const t0 = performance.now();
const stamp = () => `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const say = (msg: string) => console.log(`[${stamp()}] ${msg}`);
const hex = (z: bigint | number) => `0x${z.toString(16)}`;
const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** The scenario went otherwise than the spec predicts, at this step. */
class Diverged extends Error {
  constructor(
    readonly step: string,
    why: string,
  ) {
    super(why);
  }
}

// ------------------------------------------------------------------------------------ the quorum stream

/** Leader.java's packet types (3.8.0). */
const PT: Record<number, string> = {
  1: 'REQUEST', 2: 'PROPOSAL', 3: 'ACK', 4: 'COMMIT', 5: 'PING', 6: 'REVALIDATE', 7: 'SYNC', 8: 'INFORM',
  9: 'COMMITANDACTIVATE', 10: 'NEWLEADER', 11: 'FOLLOWERINFO', 12: 'UPTODATE', 13: 'DIFF', 14: 'TRUNC', 15: 'SNAP',
  16: 'OBSERVERINFO', 17: 'LEADERINFO', 18: 'ACKEPOCH', 19: 'INFORMANDACTIVATE',
};
const PROPOSAL = 2, ACK = 3, PING = 5, NEWLEADER = 10, DIFF = 13, TRUNC = 14, SNAP = 15;
const SNAPSHOT_BLOB = -1; // the snapshot bytes after SNAP, up to and including the signature
const RAW = -2; // bytes the parser gave up on (passed through, never expected here)
const typeName = (t: number) => (t === SNAPSHOT_BLOB ? 'SNAPSHOT-DATA' : t === RAW ? 'RAW' : (PT[t] ?? `type ${t}`));

interface Unit {
  readonly type: number;
  readonly zxid: bigint;
  readonly bytes: Buffer;
}

const MAX_FIELD = 64 * 1024 * 1024;
const SIGNATURE = Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from('BenWasHere', 'utf8')]);

/** Splits one direction of a quorum connection into QuorumPacket records. */
class QuorumStreamParser {
  private buf: Buffer = Buffer.alloc(0);
  private mode: 'packets' | 'snapshot' | 'opaque' = 'packets';
  problem: string | null = null;

  constructor(private readonly leaderToLearner: boolean) {}

  push(chunk: Buffer): Unit[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Unit[] = [];
    for (;;) {
      if (this.buf.length === 0) return out;
      if (this.mode === 'opaque') {
        out.push({ type: RAW, zxid: -1n, bytes: this.buf });
        this.buf = Buffer.alloc(0);
        return out;
      }
      if (this.mode === 'snapshot') {
        const at = this.buf.indexOf(SIGNATURE);
        if (at < 0) {
          if (this.buf.length > MAX_FIELD) this.giveUp('no snapshot signature within 64 MiB');
          else return out;
          continue;
        }
        const end = at + SIGNATURE.length;
        out.push({ type: SNAPSHOT_BLOB, zxid: -1n, bytes: this.buf.subarray(0, end) });
        this.buf = this.buf.subarray(end);
        this.mode = 'packets';
        continue;
      }
      const n = this.packetLength();
      if (n === null) return out;
      if (n < 0) continue; // gave up: opaque from here
      const type = this.buf.readInt32BE(0);
      out.push({ type, zxid: this.buf.readBigInt64BE(4), bytes: this.buf.subarray(0, n) });
      this.buf = this.buf.subarray(n);
      if (type === SNAP && this.leaderToLearner) this.mode = 'snapshot';
    }
  }

  /** The length of the complete packet at the start of buf, null if incomplete, -1 if it is not one. */
  private packetLength(): number | null {
    const b = this.buf;
    if (b.length < 16) return null;
    const type = b.readInt32BE(0);
    if (!(type in PT)) return this.giveUp(`unknown packet type ${type}`);
    let off = 12;
    const dlen = b.readInt32BE(off);
    off += 4;
    if (dlen < -1 || dlen > MAX_FIELD) return this.giveUp(`data length ${dlen}`);
    off += Math.max(dlen, 0);
    if (b.length < off + 4) return null;
    const count = b.readInt32BE(off);
    off += 4;
    if (count < -1 || count > 1024) return this.giveUp(`authinfo count ${count}`);
    for (let i = 0; i < count * 2; i++) {
      if (b.length < off + 4) return null;
      const slen = b.readInt32BE(off);
      off += 4;
      if (slen < -1 || slen > MAX_FIELD) return this.giveUp(`authinfo string length ${slen}`);
      off += Math.max(slen, 0);
    }
    return b.length < off ? null : off;
  }

  private giveUp(why: string): -1 {
    this.problem = why;
    this.mode = 'opaque';
    return -1;
  }
}

// ------------------------------------------------------------------------------------------ the proxies

interface Seen {
  readonly at: string;
  readonly conn: number;
  readonly type: number;
  readonly zxid: bigint;
  action: 'forwarded' | 'held' | 'released' | 'dropped';
}

/** One direction of one (learner, leader) pair, over all its connections: what to hold, and what passed. */
/** What the proxies print as packets pass: nothing, the sync handshake (and held packets), or every non-PING. */
let proxyPrint: 'none' | 'sync' | 'all' = 'none';
const SYNC_TYPES = new Set([10, 11, 12, 13, 14, 15, 17, 18, -1]);

class Direction {
  holdOn = new Set<number>();
  holdAfter = new Set<number>();
  holding = false;
  readonly seen: Seen[] = [];
  pings = 0;
  readonly pipes = new Set<Pipe>();

  constructor(readonly name: string) {}

  /** Forget the rules and stop holding (held packets of live connections stay held until release()). */
  rules(holdOn: number[], holdAfter: number[] = []): void {
    this.holdOn = new Set(holdOn);
    this.holdAfter = new Set(holdAfter);
  }

  /** Sends what is held, in order, and holds nothing more. */
  release(): number {
    this.holdOn.clear();
    this.holdAfter.clear();
    this.holding = false;
    let n = 0;
    for (const p of this.pipes) n += p.flushHeld();
    return n;
  }

  record(s: Seen): void {
    if (s.type === PING) this.pings++;
    else {
      this.seen.push(s);
      if (proxyPrint === 'all' || (proxyPrint === 'sync' && (SYNC_TYPES.has(s.type) || s.action !== 'forwarded'))) say(`  proxy ${this.name} conn#${s.conn}: ${typeName(s.type)} ${s.zxid >= 0n ? hex(s.zxid) : ''} ${s.action}`);
    }
  }

  find(pred: (s: Seen) => boolean): Seen | undefined {
    return this.seen.find(pred);
  }

  describe(pred: (s: Seen) => boolean = () => true): string {
    const xs = this.seen.filter(pred);
    return xs.length === 0 ? '(none)' : xs.map((s) => `${typeName(s.type)}${s.zxid >= 0n ? ' ' + hex(s.zxid) : ''} [${s.action}, conn#${s.conn}]`).join(', ');
  }
}

/** One direction of one TCP connection. */
class Pipe {
  private readonly parser: QuorumStreamParser;
  private held: { unit: Unit; seen: Seen }[] = [];

  constructor(
    readonly dir: Direction,
    readonly conn: number,
    private readonly dst: Socket,
    leaderToLearner: boolean,
  ) {
    this.parser = new QuorumStreamParser(leaderToLearner);
  }

  onData(chunk: Buffer): void {
    for (const unit of this.parser.push(chunk)) {
      if (this.parser.problem !== null) {
        say(`  proxy ${this.dir.name}: stream not parsed from here on (${this.parser.problem}); passing bytes through`);
        this.parser.problem = null;
      }
      const d = this.dir;
      if (!d.holding && d.holdOn.has(unit.type)) d.holding = true;
      const seen: Seen = { at: stamp(), conn: this.conn, type: unit.type, zxid: unit.zxid, action: d.holding ? 'held' : 'forwarded' };
      if (d.holding) this.held.push({ unit, seen });
      else this.dst.write(unit.bytes);
      d.record(seen);
      if (!d.holding && d.holdAfter.has(unit.type)) d.holding = true;
    }
  }

  flushHeld(): number {
    const h = this.held;
    this.held = [];
    for (const { unit, seen } of h) {
      this.dst.write(unit.bytes);
      seen.action = 'released';
    }
    return h.length;
  }

  dropHeld(): void {
    for (const { seen } of this.held) seen.action = 'dropped';
    if (this.held.length > 0) say(`  proxy ${this.dir.name} conn#${this.conn} closed: ${this.held.length} held packet(s) dropped (${this.held.filter((h) => h.unit.type !== PING).map((h) => typeName(h.unit.type)).join(', ') || 'PINGs'})`);
    this.held = [];
  }
}

let connCounter = 0;

/** The proxy of learner `from` to leader `to`: listens on a port of its own, forwards to Q(to). */
class PairProxy {
  readonly down: Direction; // leader -> learner
  readonly up: Direction; // learner -> leader
  port = 0;
  private server: NetServer | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly from: number,
    readonly to: number,
    private readonly targetPort: () => number,
  ) {
    this.down = new Direction(`${to}->${from}`);
    this.up = new Direction(`${from}->${to}`);
  }

  async listen(): Promise<void> {
    const server = createServer((learner) => this.accept(learner));
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(0, '127.0.0.1', () => res());
    });
    server.on('error', () => {});
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('proxy: no port');
    this.port = a.port;
  }

  private accept(learner: Socket): void {
    const conn = ++connCounter;
    const leader = connect(this.targetPort(), '127.0.0.1');
    for (const s of [learner, leader]) {
      s.setNoDelay(true);
      this.sockets.add(s);
    }
    const up = new Pipe(this.up, conn, leader, false);
    const down = new Pipe(this.down, conn, learner, true);
    this.up.pipes.add(up);
    this.down.pipes.add(down);
    let closed = false;
    // Either side gone: the other is ended after what was forwarded; what is held is lost (as over a partition).
    const close = () => {
      if (closed) return;
      closed = true;
      this.up.pipes.delete(up);
      this.down.pipes.delete(down);
      up.dropHeld();
      down.dropHeld();
      for (const s of [learner, leader]) {
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      }
    };
    learner.on('data', (c: Buffer) => up.onData(c));
    leader.on('data', (c: Buffer) => down.onData(c));
    for (const s of [learner, leader]) {
      s.on('error', close);
      s.on('close', () => {
        this.sockets.delete(s);
        close();
      });
      s.on('end', close);
    }
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }
}

// ------------------------------------------------------------------------------------------ the servers

interface ZkServer {
  readonly sid: number;
  readonly clientPort: number;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly logPath: string;
  child: ChildProcess | null;
  starts: number;
}

const children = new Set<ChildProcess>();

function alive(c: ChildProcess | null): boolean {
  return c !== null && c.exitCode === null && c.signalCode === null;
}

function startServer(s: ZkServer, classpath: string, log4j: string, setpriv: boolean): void {
  const java = [
    'java', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
    `-Dlog4j.configuration=file:${log4j}`, `-Dzk.repro.logfile=${s.logPath}`,
    '-cp', classpath, MAIN, join(s.dir, 'zoo.cfg'),
  ];
  const argv = setpriv ? ['setpriv', '--pdeathsig', 'KILL', ...java] : java; // setpriv execs java: the PID is java's
  const out = openSync(join(s.dir, 'server.out'), 'a');
  const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', out, out] });
  closeSync(out);
  c.on('error', () => {});
  children.add(c);
  c.once('exit', () => children.delete(c));
  s.child = c;
  s.starts++;
}

/** kill -9 by PID, and wait (at most 5 s) for the exit. */
async function kill9(s: ZkServer): Promise<number | undefined> {
  const c = s.child;
  if (c === null || !alive(c)) return c?.pid;
  const gone = new Promise<void>((res) => c.once('exit', () => res()));
  c.kill('SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([gone, new Promise<void>((res) => (timer = setTimeout(res, 5000)))]);
  clearTimeout(timer);
  if (alive(c)) throw new Error(`server ${s.sid} (pid ${c.pid}) still running 5 s after SIGKILL`);
  return c.pid;
}

function killAllNow(): void {
  for (const c of children) if (alive(c)) c.kill('SIGKILL');
}


/** Zxids in the server's txn log files on disk (FileTxnLog: 16-byte FileHeader, then per txn: long crc, int length,
 *  the txn bytes (TxnHeader: long clientId, int cxid, long zxid, ...), byte 'B'; zero padding after the last). */
function loggedZxids(s: ZkServer): bigint[] {
  const dir = join(s.dataDir, 'version-2');
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((f) => /^log\.[0-9a-f]+$/.test(f))
    .sort((a, b) => (BigInt('0x' + a.slice(4)) < BigInt('0x' + b.slice(4)) ? -1 : 1));
  const zxids: bigint[] = [];
  for (const f of files) {
    const fd = openSync(join(dir, f), 'r');
    const buf = Buffer.alloc(1 << 20);
    const n = readSync(fd, buf, 0, buf.length, 0);
    closeSync(fd);
    let off = 16;
    while (off + 12 <= n) {
      const len = buf.readInt32BE(off + 8);
      if (len <= 0 || off + 12 + len + 1 > n) break;
      if (len >= 20) zxids.push(buf.readBigInt64BE(off + 12 + 12));
      off += 12 + len + 1;
    }
  }
  return zxids;
}

function logLines(s: ZkServer, re: RegExp): string[] {
  try {
    return readFileSync(s.logPath, 'utf8').split('\n').filter((l) => re.test(l));
  } catch {
    return [];
  }
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined> | T | null | undefined, everyMs = 200): Promise<T | null> {
  const until = performance.now() + timeoutMs;
  for (let i = 0; i < 100_000 && performance.now() < until; i++) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    await sleep(everyMs);
  }
  void what;
  return null;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a !== null && typeof a !== 'string' ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

// -------------------------------------------------------------------------------------------- scenario

interface Outcome {
  verdict: 'REPRODUCED' | 'NOT REPRODUCED' | 'INCONCLUSIVE';
  why: string;
  facts: string[];
}

async function main(): Promise<Outcome> {
  const facts: string[] = [];
  if (!existsSync(ZOOKEEPER_JAR)) return { verdict: 'INCONCLUSIVE', why: `no ${ZOOKEEPER_JAR}: run bash bench/zookeeper-install.sh`, facts };
  const dpkg = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'zookeeper'], { encoding: 'utf8', timeout: 10_000 });
  const version = dpkg.status === 0 ? dpkg.stdout.trim() : 'unknown';
  const setpriv = spawnSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 10_000 }).stdout?.includes('--pdeathsig') ?? false;
  const classpath = [ZOOKEEPER_JAR, ...(LOG_JARS.every((j) => existsSync(j)) ? LOG_JARS : [])].join(':');
  say(`Apache ZooKeeper ${version} (Debian package), 5 servers on loopback, tickTime ${TICK_MS} ms, initLimit ${INIT_LIMIT}, syncLimit ${SYNC_LIMIT}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  const root = mkdtempSync(join(tmpdir(), 'zk-stale-ack-'));
  const servers = new Map<number, ZkServer>();
  const proxies = new Map<string, PairProxy>();
  const clients: ZkWireClient[] = [];
  const onExit = () => {
    killAllNow();
    rmSync(root, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  try {
    const log4j = join(root, 'log4j.properties');
    writeFileSync(
      log4j,
      [
        'log4j.rootLogger=INFO, FILE',
        'log4j.appender.FILE=org.apache.log4j.FileAppender',
        'log4j.appender.FILE.File=${zk.repro.logfile}',
        'log4j.appender.FILE.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n',
        '',
      ].join('\n'),
    );
    for (const sid of SIDS) {
      const dir = join(root, `server${sid}`);
      const dataDir = join(dir, 'data');
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'myid'), `${sid}\n`);
      const [clientPort, quorumPort, electionPort] = [await freePort(), await freePort(), await freePort()];
      servers.set(sid, { sid, clientPort, quorumPort, electionPort, dir, dataDir, logPath: join(dir, 'server.log'), child: null, starts: 0 });
    }
    const srv = (sid: number) => servers.get(sid)!;
    for (const from of SIDS) {
      for (const to of SIDS) {
        if (from === to) continue;
        const p = new PairProxy(from, to, () => srv(to).quorumPort);
        await p.listen();
        proxies.set(`${from}->${to}`, p);
      }
    }
    const proxy = (from: number, to: number) => proxies.get(`${from}->${to}`)!;
    for (const s of servers.values()) {
      const lines = SIDS.map((m) => `server.${m}=127.0.0.1:${m === s.sid ? s.quorumPort : proxy(s.sid, m).port}:${srv(m).electionPort}`);
      const cfg = [
        `tickTime=${TICK_MS}`,
        `initLimit=${INIT_LIMIT}`,
        `syncLimit=${SYNC_LIMIT}`,
        `dataDir=${s.dataDir}`,
        `clientPort=${s.clientPort}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=srvr',
        ...lines,
      ];
      writeFileSync(join(s.dir, 'zoo.cfg'), cfg.join('\n') + '\n');
    }
    const start = (sid: number) => startServer(srv(sid), classpath, log4j, setpriv);
    const status = async (sids: readonly number[]) => {
      const r = await Promise.all(sids.map((sid) => srvr(srv(sid).clientPort)));
      return new Map(sids.map((sid, i) => [sid, r[i] ?? null]));
    };
    const showStatus = (m: Map<number, Awaited<ReturnType<typeof srvr>>>) =>
      [...m].map(([sid, x]) => `${sid}: ${x === null ? 'down/no answer' : `${x.mode ?? '?'} zxid ${x.zxid === null ? '?' : hex(x.zxid)}`}`).join('; ');
    /** One leader and the rest following among `sids`, all answering; null until then. */
    const formed = async (sids: readonly number[]) => {
      for (const sid of sids) {
        const c = srv(sid).child;
        if (!alive(c)) throw new Error(`server ${sid} exited (${c?.exitCode ?? c?.signalCode}); see its log`);
      }
      const m = await status(sids);
      const modes = [...m.values()].map((x) => x?.mode);
      if (modes.filter((x) => x === 'leader').length === 1 && modes.filter((x) => x === 'follower').length === sids.length - 1) return m;
      return null;
    };
    const connectClient = async (sid: number) => {
      const c = await ZkWireClient.connect({ port: srv(sid).clientPort, sessionTimeoutMs: 20_000, requestTimeoutMs: 30_000, connectTimeoutMs: 15_000 });
      clients.push(c);
      return c;
    };
    const existsOn = async (sid: number): Promise<string> => {
      try {
        const c = await connectClient(sid);
        const st = await c.exists('/x');
        return st === null ? 'absent' : `present (czxid ${hex(st.czxid)})`;
      } catch (e) {
        return `no answer (${(e as Error).message})`;
      }
    };

    // ---- Step 1: the ensemble
    say('step 1: starting 5 servers');
    for (const sid of SIDS) start(sid);
    const first = await waitFor('ensemble', 70_000, () => formed(SIDS), 500);
    if (first === null) throw new Error(`no leader with 4 followers within 70 s: ${showStatus(await status(SIDS))}`);
    say(`step 1: ${showStatus(first)}`);
    const L = [...first].find(([, x]) => x?.mode === 'leader')![0];
    const followers = SIDS.filter((s) => s !== L);
    // The finding's roles, by position among the followers (with leader 5: C=1, B=2, A=3, D=4).
    const [C, B, A, D] = followers as [number, number, number, number];
    say(`roles: leader ${L}; ${A} ACKs then rejoins and is TRUNCated; ${B}'s ACK is held; ${C} and ${D} never get the PROPOSAL${L === 5 ? '' : ' (the leader is not 5 as expected; roles assigned among the followers the same way)'}`);
    facts.push(`leader ${L} elected at start; roles A=${A} (ACK, rejoin, TRUNC), B=${B} (held ACK), C=${C}, D=${D} (no PROPOSAL)`);

    // ---- Step 2: a session, committed everywhere
    const client = await connectClient(L);
    say(`step 2: client session ${hex(client.sessionId)} on leader ${L}, timeout ${client.sessionTimeoutMs} ms (createSession is a txn)`);
    const synced = await waitFor('createSession everywhere', 15_000, async () => {
      const m = await status(SIDS);
      const zs = new Set([...m.values()].map((x) => x?.zxid?.toString() ?? 'none'));
      return zs.size === 1 && !zs.has('none') ? m : null;
    });
    if (synced === null) throw new Error(`servers did not agree on a zxid within 15 s: ${showStatus(await status(SIDS))}`);
    const committedZxid = synced.get(L)!.zxid!;
    say(`step 2: ${showStatus(synced)}`);

    // ---- Step 3: hold, then the write
    proxyPrint = 'all';
    proxy(C, L).down.rules([PROPOSAL]);
    proxy(D, L).down.rules([PROPOSAL]);
    proxy(B, L).up.rules([ACK]);
    const holdStart = performance.now();
    say(`step 3: holding ${L}->${C} and ${L}->${D} from the next PROPOSAL on, ${B}->${L} from the next ACK on (PINGs are not printed)`);
    let reply: { ok: boolean; text: string; at: string } | null = null;
    say('step 3: client sends create /x to the leader (not waiting for the reply)');
    client.create('/x', Buffer.from('acknowledged write')).then(
      (path) => {
        reply = { ok: true, text: `created ${path}`, at: stamp() };
        say(`  client: create /x succeeded (${path})`);
      },
      (e: unknown) => {
        reply = { ok: false, text: e instanceof ZkWireError ? `${e.code}: ${e.message}` : String(e), at: stamp() };
        say(`  client: create /x failed: ${reply.text}`);
      },
    );
    const proposal = await waitFor('PROPOSAL to A', 10_000, () => proxy(A, L).down.find((s) => s.type === PROPOSAL && s.zxid > committedZxid && s.action === 'forwarded'));
    if (proposal === null) throw new Diverged('3', `the leader's PROPOSAL did not reach ${A} within 10 s`);
    const z = proposal.zxid;
    const ackA = await waitFor('ACK of A', 10_000, () => proxy(A, L).up.find((s) => s.type === ACK && s.zxid === z));
    if (ackA === null) throw new Diverged('3', `${A} did not ACK ${hex(z)} within 10 s`);
    const ackB = await waitFor('ACK of B held', 10_000, () => proxy(B, L).up.find((s) => s.type === ACK && s.zxid === z && s.action === 'held'));
    if (ackB === null) throw new Diverged('3', `${B}'s ACK of ${hex(z)} was not seen (held) within 10 s`);
    await sleep(500); // the leader reads A's ACK
    const early = reply as { ok: boolean; text: string } | null;
    if (early !== null) throw new Diverged('3', `the client had a reply before a quorum could ACK: ${early.text}`);
    say(`step 3: proposal ${hex(z)}; ${A} ACKed it (forwarded to the leader), ${B}'s ACK is held; held on ${L}->${C}: ${proxy(C, L).down.describe((s) => s.action === 'held')}; on ${L}->${D}: ${proxy(D, L).down.describe((s) => s.action === 'held')}`);
    say(`step 3: txn logs on disk: ${[L, A, B, C, D].map((sid) => `${sid}: last ${hex(loggedZxids(srv(sid)).at(-1) ?? 0n)}`).join('; ')}; client reply: none yet`);
    facts.push(`txn ${hex(z)} (create /x) proposed; ${A} logged and ACKed it, ${B} logged it with its ACK held, ${C} and ${D} never got it; the only ACKs that could have reached the leader were its own and ${A}'s, 2 of 5, and no reply was sent`);

    // ---- Step 4: A crashes and rejoins; the sync packet is the last thing it gets
    const pidA = await kill9(srv(A));
    say(`step 4: kill -9 server ${A} (pid ${pidA}); its txn log ends at ${hex(loggedZxids(srv(A)).at(-1) ?? 0n)}`);
    proxy(A, L).down.rules([], [DIFF, TRUNC, SNAP]);
    start(A);
    say(`step 4: restarted server ${A} (pid ${srv(A).child?.pid}); holding ${L}->${A} after its sync packet (DIFF/TRUNC/SNAP)`);
    const syncPkt = await waitFor('sync packet to A', 30_000, () => proxy(A, L).down.find((s) => s.conn !== proposal.conn && [DIFF, TRUNC, SNAP].includes(s.type)));
    if (syncPkt === null) throw new Diverged('4', `server ${A} did not get a sync packet from leader ${L} within 30 s after its restart (${showStatus(await status(SIDS))})`);
    const syncLine = logLines(srv(L), new RegExp(`Synchronizing with Learner sid: ${A} `)).at(-1);
    if (syncLine) say(`step 4: leader's log: ${syncLine.replace(/^.* - /, '')}`);
    if (syncPkt.type !== TRUNC) throw new Diverged('4', `leader ${L} synced the rejoining ${A} with ${typeName(syncPkt.type)} ${hex(syncPkt.zxid)}, not TRUNC`);
    say(`step 4: leader sent TRUNC ${hex(syncPkt.zxid)} to ${A}; held after it on ${L}->${A}: ${proxy(A, L).down.describe((s) => s.conn === syncPkt.conn && s.action === 'held')}`);
    const truncated = await waitFor('A truncated', 15_000, () => {
      if (logLines(srv(A), /Truncating log to get in sync/).length === 0) return null;
      const zs = loggedZxids(srv(A));
      return zs.includes(z) ? null : zs;
    });
    if (truncated === null) throw new Diverged('4', `server ${A} did not truncate ${hex(z)} from its txn log within 15 s (log: ${logLines(srv(A), /Truncat/).at(-1) ?? 'no Truncating line'})`);
    await sleep(500);
    const pidA2 = await kill9(srv(A));
    const afterTrunc = loggedZxids(srv(A));
    say(`step 4: ${A} logged "${logLines(srv(A), /Truncating log/).at(-1)?.replace(/^.* - /, '')}"; kill -9 server ${A} (pid ${pidA2}); its txn log on disk now ends at ${hex(afterTrunc.at(-1) ?? 0n)}, ${hex(z)} ${afterTrunc.includes(z) ? 'PRESENT' : 'absent'}`);
    facts.push(`${A} restarted with ${hex(z)} in its log and rejoined ${L}; the leader's syncFollower sent TRUNC ${hex(syncPkt.zxid)}; ${A} truncated ${hex(z)} from its log on disk and was killed before it got the re-sent PROPOSAL`);

    // ---- Step 5: the held ACK
    const stillLeader = (await srvr(srv(L).clientPort))?.mode;
    if (stillLeader !== 'leader') throw new Diverged('5', `server ${L} is no longer leading (mode ${stillLeader ?? 'no answer'}) before the held ACK was released`);
    const released = proxy(B, L).up.release();
    say(`step 5: released ${released} held packet(s) on ${B}->${L} (${(performance.now() - holdStart) / 1000 | 0} s after the holds began): ${proxy(B, L).up.describe((s) => s.action === 'released')}`);
    const got = await waitFor('client reply', 10_000, () => reply);
    if (got === null) throw new Diverged('5', `no reply to create /x within 10 s after ${B}'s ACK was released: the leader did not commit with ACKs {${L}, ${A}, ${B}}`);
    if (!got.ok) throw new Diverged('5', `create /x failed: ${got.text}`);
    const lz = (await srvr(srv(L).clientPort))?.zxid;
    const commits = proxy(B, L).down.describe((s) => s.zxid === z);
    say(`step 5: the client got success for create /x; leader ${L} srvr zxid ${lz === undefined || lz === null ? '?' : hex(lz)}; ${L}->${B}: ${commits}`);
    // The leader's ack set is not visible from outside; what is: the only ACKs of z that reached it are A's (before A
    // truncated) and B's (just released), plus its own, and a commit needs 3 of 5.
    facts.push(`${B}'s ACK released: the leader committed ${hex(z)} and the client got success; the only ACKs of ${hex(z)} that had reached the leader were ${A}'s (sent before ${A} truncated it) and ${B}'s, plus its own, and only ${L} and ${B} still had ${hex(z)} on disk`);

    // ---- Step 6: the leader and B crash; A, C, D elect
    proxyPrint = 'sync';
    const pidL = await kill9(srv(L));
    const pidB = await kill9(srv(B));
    say(`step 6: kill -9 leader ${L} (pid ${pidL}) and server ${B} (pid ${pidB}); their txn logs end at ${hex(loggedZxids(srv(L)).at(-1) ?? 0n)} and ${hex(loggedZxids(srv(B)).at(-1) ?? 0n)}`);
    start(A);
    say(`step 6: restarted server ${A} (pid ${srv(A).child?.pid})`);
    const second = await waitFor('A, C, D elect', 60_000, () => formed([A, C, D]), 500);
    if (second === null) throw new Diverged('6', `servers ${A}, ${C}, ${D} did not form an ensemble within 60 s: ${showStatus(await status([A, C, D]))}`);
    const L2 = [...second].find(([, x]) => x?.mode === 'leader')![0];
    say(`step 6: ${showStatus(second)}; new leader ${L2}`);
    const seen3 = await Promise.all([A, C, D].map(async (sid) => [sid, await existsOn(sid), loggedZxids(srv(sid)).includes(z)] as const));
    say(`step 6: /x on ${seen3.map(([sid, e, inLog]) => `${sid}: ${e} (${hex(z)} ${inLog ? 'in' : 'not in'} its txn log)`).join('; ')}`);
    const lost = seen3.every(([, e]) => e === 'absent');
    facts.push(`${L} and ${B} killed; ${A}, ${C}, ${D} (a quorum of 5) elected ${L2}; /x there: ${seen3.map(([sid, e]) => `${sid} ${e}`).join(', ')}`);

    // ---- Step 7: everyone back
    start(B);
    start(L);
    say(`step 7: restarted ${B} (pid ${srv(B).child?.pid}) and ${L} (pid ${srv(L).child?.pid})`);
    const third = await waitFor('all 5', 60_000, () => formed(SIDS), 500);
    if (third === null) say(`step 7: not all 5 formed one ensemble within 60 s: ${showStatus(await status(SIDS))}`);
    else say(`step 7: ${showStatus(third)}`);
    for (const sid of [B, L]) {
      const tl = logLines(srv(sid), /Truncating log|Getting a (diff|snapshot)/).at(-1);
      if (tl) say(`step 7: ${sid}'s log: ${tl.replace(/^.* - /, '')}`);
    }
    const seen5 = await Promise.all(SIDS.map(async (sid) => [sid, await existsOn(sid), loggedZxids(srv(sid)).includes(z)] as const));
    say(`step 7: /x on ${seen5.map(([sid, e, inLog]) => `${sid}: ${e} (${hex(z)} ${inLog ? 'in' : 'not in'} its txn log)`).join('; ')}`);
    facts.push(`${B} and ${L} restarted${third === null ? ' (the 5 did not all re-form within 60 s)' : ''}; /x: ${seen5.map(([sid, e]) => `${sid} ${e}`).join(', ')}`);

    if (lost) {
      const stillLost = seen5.every(([, e]) => !e.startsWith('present'));
      return {
        verdict: 'REPRODUCED',
        why: `create /x (${hex(z)}) was acknowledged to the client, then absent on ${A}, ${C}, ${D} under leader ${L2} with ${L} and ${B} down${stillLost ? `, and still absent on every server after ${B} and ${L} rejoined` : ', but present again somewhere after all rejoined'}`,
        facts,
      };
    }
    return { verdict: 'NOT REPRODUCED', why: `step 6: /x is present on the ensemble of ${A}, ${C}, ${D} (${seen3.map(([sid, e]) => `${sid} ${e}`).join(', ')})`, facts };
  } catch (e) {
    if (e instanceof Diverged) return { verdict: 'NOT REPRODUCED', why: `step ${e.step}: ${e.message}`, facts };
    return { verdict: 'INCONCLUSIVE', why: `the harness failed: ${(e as Error).message}`, facts };
  } finally {
    await Promise.all(clients.map((c) => Promise.race([c.close().catch(() => {}), sleep(2000)])));
    const pids: number[] = [];
    for (const s of servers.values()) {
      const pid = s.child?.pid;
      if (alive(s.child) && pid !== undefined) pids.push(pid);
      await kill9(s).catch((err: Error) => say(`cleanup: ${err.message}`));
    }
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
    for (const p of proxies.values()) p.close();
    const left = [...servers.values()].filter((s) => alive(s.child)).map((s) => s.child?.pid);
    say(`cleanup: SIGKILL to pid(s) ${pids.join(', ') || '(none running)'}; still running: ${left.length === 0 ? 'none' : left.join(', ')}`);
    if (process.env.KEEP_REPRO_DIR) say(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
    process.removeListener('exit', onExit);
  }
}

const limit = setTimeout(() => {
  console.log(`VERDICT: INCONCLUSIVE: the run exceeded ${RUN_LIMIT_MS / 1000} s; every server is killed on exit`);
  process.exit(3);
}, RUN_LIMIT_MS);
const onSignal = (sig: NodeJS.Signals) => {
  console.log(`${sig}: killing the servers`);
  killAllNow();
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', killAllNow);

main().then(
  (o) => {
    clearTimeout(limit);
    console.log('\nobserved:');
    for (const f of o.facts) console.log(`  - ${f}`);
    console.log(`\nVERDICT: ${o.verdict}: ${o.why}`);
    process.exit(o.verdict === 'INCONCLUSIVE' ? 2 : 0);
  },
  (e: Error) => {
    console.log(`VERDICT: INCONCLUSIVE: ${e.message}`);
    process.exit(2);
  },
);
