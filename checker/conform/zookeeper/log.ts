// Reading Apache ZooKeeper's own server logs (3.5 to 3.9): the log4j/logback layout ZooKeeper ships,
// `%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n` (conf/logback.xml, conf/log4j.properties), and the
// same without the `[myid:N]` part (Debian's conf/log4j.properties). One entry per line that starts with a
// timestamp; a line that does not (a stack trace, a multi-line message) continues the entry before it.
//
// A file may hold several runs of the server (restarts appended to it): a run begins at QuorumPeerMain's
// "Starting quorum peer" line. Rotated files of one server are given in order and read as one stream.
import { readFileSync } from 'node:fs';

export class ZkLogError extends Error {}

export interface ZkEntry {
  readonly file: string;
  /** 1-based line number of the entry's first line. */
  readonly line: number;
  /** Milliseconds since the epoch, from the timestamp (the server's clock, local time read as UTC). */
  readonly time: number;
  readonly myid: number | null;
  readonly level: string;
  readonly thread: string;
  /** The simple class name (%C{1}) and source line (%L). */
  readonly cls: string;
  readonly srcLine: number;
  readonly message: string;
  /** Continuation lines (stack traces). */
  readonly more: readonly string[];
}

const STAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})[,.](\d{3})/;
// After the stamp: optional [myid:N], " - LEVEL [thread:Class@line] - message". The thread name may contain ':'
// and brackets (QuorumPeer[myid=3](plain=127.0.0.1:2181)(secure=disabled)): the class is the last `:Name@N]`.
const LAYOUT = /^ (?:\[myid:(\d*)\] )?- (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) +\[(.*):([\w$.]+)@(\d+|\?)\] - (.*)$/;

export function looksLikeZooKeeperLog(text: string): boolean {
  const lines = text.split('\n', 40);
  return lines.some((l) => {
    const m = STAMP.exec(l);
    return m !== null && LAYOUT.test(l.slice(m[0].length));
  });
}

/**
 * Parses one file. Throws ZkLogError (one line, file:line) when it is not a ZooKeeper log at all, or when it
 * ends in the middle of a line (a truncated copy).
 */
export function parseZkLog(file: string, text?: string): ZkEntry[] {
  let body: string;
  try {
    body = text ?? readFileSync(file, 'utf8');
  } catch (e) {
    throw new ZkLogError(`${file}: cannot read: ${(e as Error).message}`);
  }
  if (body.includes('\u0000')) throw new ZkLogError(`${file}:${body.slice(0, body.indexOf('\u0000')).split('\n').length}: binary data (a NUL byte): not a text log`);
  const lines = body.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  else if (lines.length > 0) {
    // The last line has no newline: a log4j appender always ends an entry with one, so the copy was cut.
    const n = lines.length;
    const last = lines[n - 1]!;
    const m = STAMP.exec(last);
    if (m === null || !LAYOUT.test(last.slice(m[0].length))) throw new ZkLogError(`${file}:${n}: the file ends in the middle of a line (truncated?): ${JSON.stringify(last.slice(0, 80))}`);
  }
  const out: ZkEntry[] = [];
  let current: { e: Omit<ZkEntry, 'more'>; more: string[] } | null = null;
  let sawLayout = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const m = STAMP.exec(l);
    const rest = m === null ? null : LAYOUT.exec(l.slice(m[0].length));
    if (m === null || rest === null) {
      if (current === null) {
        if (l.trim() === '') continue;
        if (i >= 20 || !sawLayout) {
          throw new ZkLogError(`${file}:${i + 1}: not a ZooKeeper server log: the line does not have ZooKeeper's layout "DATE [myid:N] - LEVEL [thread:Class@line] - message": ${JSON.stringify(l.slice(0, 80))}`);
        }
      }
      current?.more.push(l);
      continue;
    }
    sawLayout = true;
    if (current !== null) out.push({ ...current.e, more: current.more });
    const time = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
    current = {
      e: {
        file,
        line: i + 1,
        time,
        myid: rest[1] === undefined || rest[1] === '' ? null : Number(rest[1]),
        level: rest[2]!,
        thread: rest[3]!,
        cls: rest[4]!,
        srcLine: rest[5] === '?' ? 0 : Number(rest[5]),
        message: rest[6]!,
      },
      more: [],
    };
  }
  if (current !== null) out.push({ ...current.e, more: current.more });
  if (out.length === 0) throw new ZkLogError(`${file}:1: not a ZooKeeper server log: no line has ZooKeeper's layout "DATE [myid:N] - LEVEL [thread:Class@line] - message"`);
  return out;
}
