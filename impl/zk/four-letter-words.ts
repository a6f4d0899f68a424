// The four-letter words a ZooKeeper server answers on its client port (a connection whose first 4 bytes are one
// of these words instead of a ConnectRequest's length): their text, in Apache ZooKeeper 3.8's exact format
// (org.apache.zookeeper.server.command.*, ServerCnxn.dumpConnectionInfo, ServerStats, WatchManager,
// SessionTrackerImpl), from a snapshot of the server's state that the server fills (FourLetterStats). Pure:
// the server writes the text and closes the connection, as NIOServerCnxn does.
//
// Checked against a real 3.8.0 ensemble (test/zk-four-letter.test.ts has the captured shapes): line order,
// tabs, the leader-only lines, the trailing newlines (ruok's "imok" and isro's "rw" have none).

/** FourLetterCommands: every word 3.8 knows. */
export const FOUR_LETTER_WORDS = ['conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srvr', 'srst', 'stat', 'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash'] as const;
export type FourLetterWord = (typeof FOUR_LETTER_WORDS)[number];

export function isFourLetterWord(word: string): word is FourLetterWord {
  return (FOUR_LETTER_WORDS as readonly string[]).includes(word);
}

/**
 * FourLetterCommands.isEnabled: the words `4lw.commands.whitelist` allows (comma-separated, blanks trimmed; `*`
 * is every word). srvr is always allowed (zkServer.sh needs it), isro too when readonlymode.enabled is true.
 * 3.8's default, when the setting is absent, is srvr alone.
 */
export function whitelist(setting: string | undefined, readOnlyModeEnabled = false): ReadonlySet<string> {
  const out = new Set<string>();
  for (const raw of (setting ?? '').split(',')) {
    const w = raw.trim();
    if (w === '*') {
      for (const k of FOUR_LETTER_WORDS) out.add(k);
      break;
    }
    if (w !== '') out.add(w);
  }
  if (readOnlyModeEnabled) out.add('isro');
  out.add('srvr');
  return out;
}

/** One client connection as `cons` and `stat` show it (ServerCnxn's counters). */
export interface ConnectionStats {
  /** "/127.0.0.1:53918" (InetSocketAddress.toString). */
  remote: string;
  /** The selector's interest ops: 1 while reading (NIOServerCnxn), 0 when throttled or closing. */
  interestOps: number;
  queued: number;
  received: number;
  sent: number;
  /** 0n before the session is established (a 4lw connection): then only the brief fields are shown. */
  sessionId: bigint;
  /** The last op as ZooKeeper abbreviates it (GETD, SETD, CREA, DELE, EXIS, GETC, PING, SESS, MULT, ...). */
  lastOp: string;
  /** Epoch ms. */
  established: number | null;
  sessionTimeoutMs: number;
  lastCxid: number;
  lastZxid: bigint;
  /** Epoch ms of the last response. */
  lastResponseTime: number;
  lastLatencyMs: number;
  minLatencyMs: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

export interface SessionInfo {
  id: bigint;
  timeoutMs: number;
  /** Epoch ms at which the session expires if nothing is heard (the leader's expiry bucket). */
  expiresAt: number;
}

export interface FourLetterStats {
  /** "3.8.0-..., built on ..." (Version.getFullVersion()). */
  version: string;
  /** False while the server is not serving (LOOKING, syncing): most words then say ZK_NOT_SERVING. */
  serving: boolean;
  /** leader, follower, observer, standalone, read-only. */
  mode: string;
  readOnly: boolean;
  latency: { min: number; avg: number; max: number };
  packetsReceived: number;
  packetsSent: number;
  outstandingRequests: number;
  lastZxid: bigint;
  nodeCount: number;
  /** The leader's proposal sizes (last/min/max; -1 before the first); null on a non-leader. */
  proposalSizes: { last: number; min: number; max: number } | null;
  connections: ConnectionStats[];
  /** Global sessions (the leader's tracker, or a learner's view). */
  sessions: SessionInfo[];
  /** Session id -> its ephemeral paths. */
  ephemerals: ReadonlyMap<bigint, readonly string[]>;
  /** Counts of the data watches (WatchTable.summary()): what wchs shows. */
  watchSummary: { connections: number; paths: number; watches: number };
  /** Session id -> watched paths (wchc), data watches only as in 3.8. */
  watchesBySession: ReadonlyMap<bigint, readonly string[]>;
  /** Path -> watching session ids (wchp). */
  watchesByPath: ReadonlyMap<string, readonly bigint[]>;
  /** `conf`'s key=value lines in 3.8's order (clientPort, secureClientPort, dataDir, ...), then membership. */
  config: readonly (readonly [string, string | number])[];
  /** `server.N=host:quorum:election:participant` lines of the membership, and the config version (hex). */
  membership: { servers: readonly string[]; version: string };
  /** `envi`'s key=value lines (zookeeper.version, host.name, java.version... or node's equivalents). */
  environment: readonly (readonly [string, string])[];
  /** mntr's lines after zk_version and zk_server_state: name -> number or string, in this order. */
  metrics: ReadonlyMap<string, number | string>;
  dataDirSize: number;
  logDirSize: number;
  /** The connection expiry part of `dump`, as text, if the server keeps one. */
  connectionSets?: string;
}

export const ZK_NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

/** Java's Double.toString for the values latency averages take (always a fractional part). */
function javaDouble(x: number): string {
  if (Number.isInteger(x)) return `${x}.0`;
  return String(x);
}

const hex = (v: bigint | number) => v.toString(16);

/** Java's Date.toString in UTC: "Sun Dec 06 04:45:07 UTC 2026". */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

/** ServerCnxn.dumpConnectionInfo (no trailing newline). */
export function connectionInfo(c: ConnectionStats, brief: boolean): string {
  let s = ` ${c.remote}[${c.interestOps === 0 ? '0' : hex(c.interestOps)}](queued=${c.queued},recved=${c.received},sent=${c.sent}`;
  if (!brief && c.sessionId !== 0n) {
    s += `,sid=0x${hex(c.sessionId)},lop=${c.lastOp}`;
    if (c.established !== null) s += `,est=${c.established}`;
    if (c.sessionTimeoutMs !== 0) s += `,to=${c.sessionTimeoutMs}`;
    if (c.lastCxid >= 0) s += `,lcxid=0x${hex(c.lastCxid)}`;
    if (c.lastZxid >= 0n) s += `,lzxid=0x${hex(c.lastZxid)}`;
    s += `,lresp=${c.lastResponseTime},llat=${c.lastLatencyMs},minlat=${c.minLatencyMs},avglat=${Math.trunc(c.avgLatencyMs)},maxlat=${c.maxLatencyMs}`;
  }
  return `${s})`;
}

/** srvr's lines (StatCommand without the clients): ServerStats.toString and the node count. */
function serverStats(s: FourLetterStats): string {
  let out =
    `Latency min/avg/max: ${s.latency.min}/${javaDouble(s.latency.avg)}/${s.latency.max}\n` +
    `Received: ${s.packetsReceived}\n` +
    `Sent: ${s.packetsSent}\n` +
    `Connections: ${s.connections.length}\n` +
    `Outstanding: ${s.outstandingRequests}\n` +
    `Zxid: 0x${hex(s.lastZxid)}\n` +
    `Mode: ${s.mode}\n` +
    `Node count: ${s.nodeCount}\n`;
  if (s.proposalSizes !== null) out += `Proposal sizes last/min/max: ${s.proposalSizes.last}/${s.proposalSizes.min}/${s.proposalSizes.max}\n`;
  return out;
}

/** The leader's SessionTrackerImpl.toString: sessions grouped by expiry time; a learner lists its global sessions. */
function sessionDump(s: FourLetterStats): string {
  if (s.mode === 'leader' || s.mode === 'standalone') {
    const buckets = new Map<number, SessionInfo[]>();
    for (const x of [...s.sessions].sort((a, b) => a.expiresAt - b.expiresAt)) {
      const b = buckets.get(x.expiresAt) ?? [];
      b.push(x);
      buckets.set(x.expiresAt, b);
    }
    let out = `Session Sets (${buckets.size})/(${s.sessions.length}):\n`;
    for (const [at, list] of buckets) {
      out += `${list.length} expire at ${javaDate(at)}:\n`;
      for (const x of list) out += `\t0x${hex(x.id)}\n`;
    }
    return out;
  }
  let out = `Global Sessions(${s.sessions.length}):\n`;
  for (const x of s.sessions) out += `0x${hex(x.id)}\t${x.timeoutMs}ms\n`;
  return out;
}

/**
 * The text a server answers `word` with, or null for a word 3.8 does not know (the connection is then read as
 * a client's, and a 4-byte length that large closes it: no answer). `allowed` is whitelist()'s result.
 */
export function fourLetterResponse(word: string, s: FourLetterStats, allowed: ReadonlySet<string>): string | null {
  if (!isFourLetterWord(word)) return null;
  if (!allowed.has(word)) return `${word} is not executed because it is not in the whitelist.\n`;
  const notServing = `${ZK_NOT_SERVING}\n`;
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return s.serving ? (s.readOnly ? 'ro' : 'rw') : 'null';
    case 'srvr':
      return s.serving ? `Zookeeper version: ${s.version}\n${serverStats(s)}` : notServing;
    case 'stat': {
      if (!s.serving) return notServing;
      let out = `Zookeeper version: ${s.version}\nClients:\n`;
      for (const c of s.connections) out += `${connectionInfo(c, true)}\n`;
      return `${out}\n${serverStats(s)}`;
    }
    case 'cons': {
      if (!s.serving) return notServing;
      let out = '';
      for (const c of s.connections) out += `${connectionInfo(c, false)}\n`;
      return `${out}\n`;
    }
    case 'crst':
      return s.serving ? 'Connection stats reset.\n' : notServing;
    case 'srst':
      return s.serving ? 'Server stats reset.\n' : notServing;
    case 'wchs':
      return s.serving ? `${s.watchSummary.connections} connections watching ${s.watchSummary.paths} paths\nTotal watches:${s.watchSummary.watches}\n` : notServing;
    case 'wchc': {
      if (!s.serving) return notServing;
      let out = '';
      for (const [id, paths] of s.watchesBySession) {
        out += `0x${hex(id)}\n`;
        for (const p of paths) out += `\t${p}\n`;
      }
      return `${out}\n`;
    }
    case 'wchp': {
      if (!s.serving) return notServing;
      let out = '';
      for (const [path, ids] of s.watchesByPath) {
        out += `${path}\n`;
        for (const id of ids) out += `\t0x${hex(id)}\n`;
      }
      return `${out}\n`;
    }
    case 'conf': {
      if (!s.serving) return notServing;
      let out = '';
      for (const [k, v] of s.config) out += `${k}=${v}\n`;
      out += 'membership: \n';
      for (const l of s.membership.servers) out += `${l}\n`;
      return `${out}version=${s.membership.version}`;
    }
    case 'envi': {
      let out = 'Environment:\n';
      for (const [k, v] of s.environment) out += `${k}=${v}\n`;
      return out;
    }
    case 'dirs':
      return s.serving ? `datadir_size: ${s.dataDirSize}\nlogdir_size: ${s.logDirSize}\n` : notServing;
    case 'dump': {
      if (!s.serving) return notServing;
      let out = `SessionTracker dump:\n${sessionDump(s)}ephemeral nodes dump:\nSessions with Ephemerals (${s.ephemerals.size}):\n`;
      for (const [id, paths] of s.ephemerals) {
        out += `0x${hex(id)}:\n`;
        for (const p of paths) out += `\t${p}\n`;
      }
      // 3.8 then lists NIO's connection expiry queue (`Connections Sets (n)/(m):`, connections grouped by the
      // time they expire); the server fills it (connectionSets), empty when it keeps no such queue.
      out += `Connections dump:\n${s.connectionSets ?? ''}`;
      return out;
    }
    case 'mntr': {
      if (!s.serving) return notServing;
      let out = `zk_version\t${s.version}\nzk_server_state\t${s.mode}\n`;
      for (const [k, v] of s.metrics) out += `${k}\t${v}\n`;
      return out;
    }
    case 'gtmk':
      // The trace mask: ours has none; 3.8's default (ZooTrace: client ping, request and server-session masks).
      return '306';
    case 'stmk':
      // Sets the trace mask from 8 more bytes; 3.8 answers nothing when they are missing, and ours keeps no mask.
      return '';
    case 'hash':
      // The digest history: 3.8 printed nothing in our captures (no digests logged yet); ours keeps no digests.
      return '';
  }
}
