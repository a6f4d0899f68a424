// Apache ZooKeeper 3.8 server processes from Debian's package: start, kill -9 by PID, and the files they write.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { hex, stamp } from './log.ts';
export const JAVA_DIR = '/usr/share/java';
export const ZOOKEEPER_JAR = join(JAVA_DIR, 'zookeeper.jar');
export const LOG_JARS = ['slf4j-log4j12.jar', 'log4j-1.2.jar'].map((j) => join(JAVA_DIR, j));
const MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
/** The source of the fsync-holding LD_PRELOAD shim (compiled with gcc by the scripts that hold a server's disk). */
export const FSYNC_HOLD_SRC = join(dirname(fileURLToPath(import.meta.url)), 'fsync-hold.c');

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

export const children = new Set<ChildProcess>();

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
