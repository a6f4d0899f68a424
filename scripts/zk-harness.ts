// Shared harness of the reproduction scripts (repro-stale-ack.ts: 5 servers; repro-stale-ack-3.ts: 3 servers with a
// held leader fsync; repro-trunc-committed.ts: 3 servers with the leader's apply held by a jdb breakpoint) against a
// real Apache ZooKeeper 3.8.0 ensemble from Debian's package, on loopback.
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
// Every java (and jdb) process is started here and stopped by its PID (SIGKILL) at the end, on error, on Ctrl-C and on exit;
// with util-linux's setpriv a server also dies with this process. Every wait has a deadline, and runScenario bounds
// the whole run. The temp directory is removed at the end (kept if KEEP_REPRO_DIR is set).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZkWireClient, ZkWireError } from '../impl/zkwire/client.ts';
import { srvr } from '../impl/zkwire/four-letter.ts';
import { formatUsage, wantsHelp, type Usage } from '../impl/usage.ts';

export const JAVA_DIR = '/usr/share/java';
export const ZOOKEEPER_JAR = join(JAVA_DIR, 'zookeeper.jar');
const LOG_JARS = ['slf4j-log4j12.jar', 'log4j-1.2.jar'].map((j) => join(JAVA_DIR, j));
const MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

// ---------------------------------------------------------------------------------------------------- logging

const t0 = performance.now();
export const stamp = () => `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
export const say = (msg: string) => console.log(`[${stamp()}] ${msg}`);
export const hex = (z: bigint | number) => `0x${z.toString(16)}`;
export const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** The scenario went otherwise than the spec predicts, at this step. */
export class Diverged extends Error {
  constructor(
    readonly step: string,
    why: string,
  ) {
    super(why);
  }
}

// ------------------------------------------------------------------------------------ the quorum stream

/** Leader.java's packet types (3.8.0). */
export const PT: Record<number, string> = {
  1: 'REQUEST', 2: 'PROPOSAL', 3: 'ACK', 4: 'COMMIT', 5: 'PING', 6: 'REVALIDATE', 7: 'SYNC', 8: 'INFORM',
  9: 'COMMITANDACTIVATE', 10: 'NEWLEADER', 11: 'FOLLOWERINFO', 12: 'UPTODATE', 13: 'DIFF', 14: 'TRUNC', 15: 'SNAP',
  16: 'OBSERVERINFO', 17: 'LEADERINFO', 18: 'ACKEPOCH', 19: 'INFORMANDACTIVATE',
};
export const PROPOSAL = 2, ACK = 3, COMMIT = 4, PING = 5, NEWLEADER = 10, UPTODATE = 12, DIFF = 13, TRUNC = 14, SNAP = 15, LEADERINFO = 17, ACKEPOCH = 18;
export const SNAPSHOT_BLOB = -1; // the snapshot bytes after SNAP, up to and including the signature
export const RAW = -2; // bytes the parser gave up on (passed through, never expected here)
export const typeName = (t: number) => (t === SNAPSHOT_BLOB ? 'SNAPSHOT-DATA' : t === RAW ? 'RAW' : (PT[t] ?? `type ${t}`));

export interface Unit {
  readonly type: number;
  readonly zxid: bigint;
  readonly bytes: Buffer;
}

const MAX_FIELD = 64 * 1024 * 1024;
const SIGNATURE = Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from('BenWasHere', 'utf8')]);

/** Splits one direction of a quorum connection into QuorumPacket records. */
export class QuorumStreamParser {
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

export interface Seen {
  readonly at: string;
  readonly conn: number;
  readonly type: number;
  readonly zxid: bigint;
  action: 'forwarded' | 'held' | 'released' | 'dropped';
}

/** What the proxies print as packets pass: nothing, the sync handshake (and held packets), or every non-PING. */
export const proxyOutput: { print: 'none' | 'sync' | 'all' } = { print: 'none' };
const SYNC_TYPES = new Set([10, 11, 12, 13, 14, 15, 17, 18, -1]);

/** One direction of one (learner, leader) pair, over all its connections: what to hold, and what passed. */

export class Direction {
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
      if (proxyOutput.print === 'all' || (proxyOutput.print === 'sync' && (SYNC_TYPES.has(s.type) || s.action !== 'forwarded'))) say(`  proxy ${this.name} conn#${s.conn}: ${typeName(s.type)} ${s.zxid >= 0n ? hex(s.zxid) : ''} ${s.action}`);
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
export class Pipe {
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
/** How long a proxy keeps trying the leader's port for a learner's connection (see PairProxy.accept). */
const CONNECT_RETRY_MS = 5000;

/** The proxy of learner `from` to leader `to`: listens on a port of its own, forwards to Q(to). */
export class PairProxy {
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

  /** A learner's connection: accepted at once, forwarded once the leader's port answers. Without a proxy a learner
   *  whose leader is not listening yet gets ECONNREFUSED and tries again (Learner.connectToLeader: 5 tries, about
   *  1 s apart); through a proxy it would see its accepted connection closed, an EOF that sends it back to
   *  LOOKING. So the proxy retries the leader's port (every 200 ms, for up to CONNECT_RETRY_MS) while the
   *  learner's first bytes wait; if the port never answers, the learner's connection is closed. */
  private accept(learner: Socket): void {
    const conn = ++connCounter;
    learner.setNoDelay(true);
    this.sockets.add(learner);
    const early: Buffer[] = [];
    let up: Pipe | null = null;
    let down: Pipe | null = null;
    let leader: Socket | null = null;
    let closed = false;
    // Either side gone: the other is ended after what was forwarded; what is held is lost (as over a partition).
    const close = () => {
      if (closed) return;
      closed = true;
      if (up !== null) {
        this.up.pipes.delete(up);
        up.dropHeld();
      }
      if (down !== null) {
        this.down.pipes.delete(down);
        down.dropHeld();
      }
      for (const s of [learner, leader]) {
        if (s === null) continue;
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      }
    };
    const until = performance.now() + CONNECT_RETRY_MS;
    const dial = () => {
      if (closed) return;
      const s = connect(this.targetPort(), '127.0.0.1');
      this.sockets.add(s);
      const failed = () => {
        this.sockets.delete(s);
        s.destroy();
        if (!closed && performance.now() < until) setTimeout(dial, 200);
        else close();
      };
      s.once('error', failed);
      s.once('connect', () => {
        s.removeListener('error', failed);
        if (closed) {
          this.sockets.delete(s);
          s.destroy();
          return;
        }
        leader = s;
        s.setNoDelay(true);
        const u = new Pipe(this.up, conn, s, false);
        const d = new Pipe(this.down, conn, learner, true);
        up = u;
        down = d;
        this.up.pipes.add(u);
        this.down.pipes.add(d);
        s.on('data', (c: Buffer) => d.onData(c));
        for (const c of early.splice(0)) u.onData(c);
        s.on('error', close);
        s.on('close', () => {
          this.sockets.delete(s);
          close();
        });
        s.on('end', close);
      });
    };
    learner.on('data', (c: Buffer) => {
      if (up !== null) up.onData(c);
      else early.push(c);
    });
    learner.on('error', close);
    learner.on('close', () => {
      this.sockets.delete(learner);
      close();
    });
    learner.on('end', close);
    dial();
  }

  /** Breaks every open connection of this pair at once (both sockets destroyed, what is held dropped), as a
   *  network fault would; the learner sees its connection to the leader fail. Returns how many sockets it closed. */
  breakConnections(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }
}

// ------------------------------------------------------------------------------------------ the servers

export interface ZkServer {
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

export function alive(c: ChildProcess | null): boolean {
  return c !== null && c.exitCode === null && c.signalCode === null;
}

/** Starts server s; `env` is added to this process's environment for it (e.g. LD_PRELOAD), `jvmArgs` to java's
 *  options (e.g. a JDWP agent). */
export function startServer(s: ZkServer, classpath: string, log4j: string, setpriv: boolean, env: Record<string, string> = {}, jvmArgs: readonly string[] = []): void {
  const java = [
    'java', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', ...jvmArgs,
    `-Dlog4j.configuration=file:${log4j}`, `-Dzk.repro.logfile=${s.logPath}`,
    '-cp', classpath, MAIN, join(s.dir, 'zoo.cfg'),
  ];
  const argv = setpriv ? ['setpriv', '--pdeathsig', 'KILL', ...java] : java; // setpriv execs java: the PID is java's
  const out = openSync(join(s.dir, 'server.out'), 'a');
  const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
  closeSync(out);
  c.on('error', () => {});
  children.add(c);
  c.once('exit', () => children.delete(c));
  s.child = c;
  s.starts++;
}

/** kill -9 by PID, and wait (at most 5 s) for the exit. */
export async function kill9(s: ZkServer): Promise<number | undefined> {
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

export function killAllNow(): void {
  for (const c of children) if (alive(c)) c.kill('SIGKILL');
}


// ------------------------------------------------------------------------------------------ jdb

/** A jdb (JDK's command-line debugger) session attached to a server's JDWP agent, driven through its stdin. Its
 *  output is kept (and echoed with a "jdb:" prefix when `echo` is set); the process is tracked like the servers,
 *  so it is killed by PID at the end, on error, on Ctrl-C and on exit. While a debugger is attached, JDWP keeps the
 *  threads its breakpoints suspended; when it detaches (or dies) the JVM resumes them: keep it until the end. */
export class Jdb {
  readonly child: ChildProcess;
  private out = '';
  private echoed = 0;
  echo = true;

  private constructor(readonly label: string, port: number) {
    const c = spawn('jdb', ['-attach', `127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    c.on('error', () => {});
    c.stdin?.on('error', () => {});
    const take = (b: Buffer) => {
      this.out += b.toString('utf8');
      if (this.out.length > 4 * 1024 * 1024) this.out = this.out.slice(-1024 * 1024);
      this.print(false);
    };
    c.stdout?.on('data', take);
    c.stderr?.on('data', take);
    children.add(c);
    c.once('exit', () => {
      children.delete(c);
      this.print(true);
    });
    this.child = c;
  }

  /** Echoes the complete lines received since the last call (all of them if `all`), without jdb's prompts. */
  private print(all: boolean): void {
    const end = all ? this.out.length : this.out.lastIndexOf('\n') + 1;
    if (end <= this.echoed) return;
    const chunk = this.out.slice(this.echoed, end);
    this.echoed = end;
    if (!this.echo) return;
    for (const raw of chunk.split('\n')) {
      const l = raw.replace(/^(?:> |[\w$.-]+\[\d+\] )+/, '').trimEnd();
      if (l !== '') say(`  jdb(${this.label}): ${l}`);
    }
  }

  /** Attaches to 127.0.0.1:port; null (and the process stopped) if jdb did not get to its prompt within timeoutMs. */
  static async attach(label: string, port: number, timeoutMs: number): Promise<Jdb | null> {
    const j = new Jdb(label, port);
    const ok = await j.expect(/Initializing jdb/, 0, timeoutMs);
    if (ok === null) {
      await j.stop();
      return null;
    }
    await sleep(300); // the prompt after the banner
    return j;
  }

  get alive(): boolean {
    return alive(this.child);
  }

  /** Where the output is now: expect() searches from such a mark. */
  mark(): number {
    return this.out.length;
  }

  send(cmd: string): void {
    say(`  jdb(${this.label})> ${cmd}`);
    this.child.stdin?.write(cmd + '\n');
  }

  /** The first match of re in the output from mark on, waiting up to timeoutMs for it. */
  async expect(re: RegExp, from: number, timeoutMs: number): Promise<RegExpExecArray | null> {
    return waitFor('jdb output', timeoutMs, () => re.exec(this.out.slice(from)), 50);
  }

  /** Output since a mark, prompts removed. */
  since(from: number): string {
    return this.out.slice(from).replace(/(?:^|\n)(?:> |[\w$.-]+\[\d+\] )+/g, '\n');
  }

  /** SIGKILL by PID, and wait (at most 5 s) for the exit. Returns the PID. */
  async stop(): Promise<number | undefined> {
    const c = this.child;
    if (alive(c)) {
      const gone = new Promise<void>((res) => c.once('exit', () => res()));
      c.kill('SIGKILL');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise<void>((res) => (timer = setTimeout(res, 5000)))]);
      clearTimeout(timer);
    }
    return c.pid;
  }
}

/** Zxids in the server's txn log files on disk (FileTxnLog: 16-byte FileHeader, then per txn: long crc, int length,
 *  the txn bytes (TxnHeader: long clientId, int cxid, long zxid, ...), byte 'B'; zero padding after the last). */
export function loggedZxids(s: ZkServer): bigint[] {
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

export function logLines(s: ZkServer, re: RegExp): string[] {
  try {
    return readFileSync(s.logPath, 'utf8').split('\n').filter((l) => re.test(l));
  } catch {
    return [];
  }
}

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

/** A log4j line of the servers' without its stamp, level, thread and logger ("%d %-5p [%t] %c{1} - %m"). */
export const tail = (line: string | undefined) => line?.replace(/^\S+ \S+ +\S+ +\[.*?\] \S+ - /, '') ?? '(no such line)';

/** The last line of s's log matching re, with the line after it (a stack trace's exception) if it is not a log line. */
export function lastWithNext(s: ZkServer, re: RegExp): string {
  let lines: string[];
  try {
    lines = readFileSync(s.logPath, 'utf8').split('\n');
  } catch {
    return '(no log)';
  }
  const i = lines.findLastIndex((l) => re.test(l));
  if (i < 0) return '(no such line)';
  const next = lines[i + 1] ?? '';
  return tail(lines[i]) + (next !== '' && !/^\d{4}-/.test(next) ? `: ${next.trim()}` : '');
}

/** The last zxid in s's txn log on disk, in hex. */
export const lastZ = (s: ZkServer) => hex(loggedZxids(s).at(-1) ?? 0n);

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined> | T | null | undefined, everyMs = 200): Promise<T | null> {
  const until = performance.now() + timeoutMs;
  for (let i = 0; i < 100_000 && performance.now() < until; i++) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    await sleep(everyMs);
  }
  void what;
  return null;
}

export function freePort(): Promise<number> {
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

type Status = Awaited<ReturnType<typeof srvr>>;

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
export class Ensemble {
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

// ------------------------------------------------------------------------ timing of every story
// Held traffic must not trip ZooKeeper's own timeouts during a scenario. tickTime 1 s. syncLimit 40: the leader
// gives up leading when a quorum has not been heard from within syncLimit ticks, and a follower drops a leader
// it has not heard from within syncLimit ticks, so a held link may stay held up to 40 s. initLimit 10: it bounds
// how long a new leader waits for its followers' epochs, and how long a learner waits for the sync packets
// (Learner.registerWithLeader), so from a TRUNC to the leader's death must take less than 10 s (it takes 1-2 s).
export const TICK_MS = 1000;
export const INIT_LIMIT = 10;
export const SYNC_LIMIT = 40;

// ------------------------------------------------------------------------ the 3-server stories (findings #1, #2)

/** Wait until every server in sids reports the same last zxid (the createSession txn applied everywhere). */
export async function waitAgreed(ens: Ensemble, sids: readonly number[]): Promise<Map<number, Status>> {
  const agreed = await waitFor('createSession everywhere', 15_000, async () => {
    const m = await ens.status(sids);
    const zs = new Set([...m.values()].map((x) => x?.zxid?.toString() ?? 'none'));
    return zs.size === 1 && !zs.has('none') ? m : null;
  });
  if (agreed === null) throw new Error(`servers did not agree on a zxid within 15 s: ${ens.showStatus(await ens.status(sids))}`);
  return agreed;
}

/** Step 1 of a 3-server story: start every server, wait for a leader with two followers; L leads, F and G follow. */
export async function formThree(ens: Ensemble, sids: readonly number[]): Promise<{ L: number; F: number; G: number }> {
  for (const sid of sids) ens.start(sid);
  const first = await waitFor('ensemble', 70_000, () => ens.formed(sids), 500);
  if (first === null) throw new Error(`no leader with 2 followers within 70 s: ${ens.showStatus(await ens.status(sids))}`);
  say(`step 1: ${ens.showStatus(first)}`);
  const L = [...first].find(([, x]) => x?.mode === 'leader')![0];
  const [F, G] = sids.filter((s) => s !== L) as [number, number];
  return { L, F, G };
}

/** What the survivors show once the leader L was killed, and all three once L is back. */
export interface Aftermath {
  /** The leader F and G elected. */
  readonly L2: number;
  /** `/x` on F and G, and whether txn z is in their txn logs. */
  readonly survivors: readonly (readonly [number, string, boolean])[];
  /** Absent on both survivors: the write is lost. */
  readonly lost: boolean;
  /** The ensemble once L rejoined, or null if the three did not re-form within 45 s. */
  readonly rejoined: Map<number, Status> | null;
  /** `/x` on every server after L rejoined. */
  readonly all: readonly (readonly [number, string])[];
}

/**
 * The end of both stories, after a kill -9 of leader L: F and G elect a leader (step `step`), `/x` is read on both
 * and their txn logs searched for z; then L restarts (step `step + 1`) and `/x` is read on all three. `extra` adds
 * a story's own lines about the new leader and about L's rejoin.
 */
export async function aftermath(
  ens: Ensemble,
  sids: readonly number[],
  roles: { L: number; F: number; G: number; z: bigint; step: number },
  facts: string[],
  extra: { elected?: (L2: number) => void; rejoined?: (leader: number) => string; restartNote?: string } = {},
): Promise<Aftermath> {
  const { L, F, G, z, step } = roles;
  const srv = (sid: number) => ens.srv(sid);
  const second = await waitFor('F, G elect', 60_000, () => ens.formed([F, G]), 500);
  if (second === null) throw new Diverged(String(step), `servers ${F}, ${G} did not form an ensemble within 60 s: ${ens.showStatus(await ens.status([F, G]))}`);
  const L2 = [...second].find(([, x]) => x?.mode === 'leader')![0];
  say(`step ${step}: ${ens.showStatus(second)}; new leader ${L2}: ${tail(logLines(srv(L2), /LEADING - LEADER ELECTION TOOK/).at(-1))}`);
  extra.elected?.(L2);
  const survivors = await Promise.all([F, G].map(async (sid) => [sid, await ens.existsOn(sid, '/x'), loggedZxids(srv(sid)).includes(z)] as const));
  say(`step ${step}: /x on ${survivors.map(([sid, e, inLog]) => `${sid}: ${e} (${hex(z)} ${inLog ? 'in' : 'not in'} its txn log)`).join('; ')}`);
  const lost = survivors.every(([, e]) => e === 'absent');
  facts.push(`${L} killed; ${F} and ${G} (a quorum of 3) elected ${L2}; /x there: ${survivors.map(([sid, e]) => `${sid} ${e}`).join(', ')}; ${hex(z)} in their txn logs: ${survivors.map(([sid, , i]) => `${sid} ${i ? 'yes' : 'no'}`).join(', ')}`);

  ens.start(L);
  say(`step ${step + 1}: restarted ${L} (pid ${srv(L).child?.pid}${extra.restartNote ?? ''})`);
  const rejoined = await waitFor('all 3', 45_000, () => ens.formed(sids), 500);
  if (rejoined === null) say(`step ${step + 1}: not all 3 formed one ensemble within 45 s: ${ens.showStatus(await ens.status(sids))}`);
  else {
    const leader = [...rejoined].find(([, x]) => x?.mode === 'leader')![0];
    say(`step ${step + 1}: ${ens.showStatus(rejoined)}; ${L}'s log: ${tail(logLines(srv(L), /Truncating log|Getting a (diff|snapshot)/).at(-1))}${extra.rejoined?.(leader) ?? ''}`);
  }
  const all = await Promise.all(sids.map(async (sid) => [sid, await ens.existsOn(sid, '/x')] as const));
  say(`step ${step + 1}: /x on ${all.map(([sid, e]) => `${sid}: ${e}`).join('; ')}`);
  facts.push(`${L} restarted${rejoined === null ? ' (the 3 did not all re-form within 45 s)' : ''}; /x: ${all.map(([sid, e]) => `${sid} ${e}`).join(', ')}`);
  return { L2, survivors, lost, rejoined, all };
}

/** Runs the scenario under a deadline for the whole run, kills the servers on Ctrl-C/SIGTERM and on exit, prints
 *  what was observed and the verdict line, and exits (0, or 2 if INCONCLUSIVE, 3 on the deadline, 130 on a signal). */
/** The --help of a repro script: what it reproduces, its flags, and the exit status runScenario gives. */
export function reproUsage(npm: string, description: string, flags: Usage['flags'] = []): Usage {
  return {
    usage: `npm run ${npm} -- ${flags.length > 0 ? '[flags]' : '(no flags)'}`,
    description: `${description}
It prints a step-by-step log and one verdict line: REPRODUCED, NOT REPRODUCED (with the step that went otherwise
than the spec predicts, and why), or INCONCLUSIVE (the harness itself failed). Needs Apache ZooKeeper 3.8
(npm run ${npm} installs Debian's package with bench/zookeeper-install.sh first).`,
    flags,
    exit: [
      [0, 'a verdict: REPRODUCED or NOT REPRODUCED (the last line says which)'],
      [2, 'bad usage, or INCONCLUSIVE: the harness failed (ZooKeeper not installed, a server did not start)'],
      [3, 'INCONCLUSIVE: the run exceeded its time limit'],
    ],
    examples: [`npm run ${npm}`],
  };
}

/** --help/-h prints `usage` and exits 0; a flag `usage` does not list exits 2. Call before anything starts. */
export function handleArgs(usage: Usage, argv: readonly string[] = process.argv.slice(2)): void {
  if (wantsHelp(argv)) {
    console.log(formatUsage(usage));
    process.exit(0);
  }
  const known = new Set(usage.flags.map((f) => `--${f.flag}`));
  const bad = argv.find((a) => !known.has(a));
  if (bad !== undefined) {
    console.error(`${usage.usage.split(' ')[2]}: unknown argument ${JSON.stringify(bad)} (see --help)`);
    process.exit(2);
  }
}

export function runScenario(limitMs: number, main: () => Promise<Outcome>): void {
  const limit = setTimeout(() => {
    console.log(`VERDICT: INCONCLUSIVE: the run exceeded ${limitMs / 1000} s; every server is killed on exit`);
    process.exit(3);
  }, limitMs);
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
}
