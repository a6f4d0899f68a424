// zoo.cfg: ZooKeeper's own keys (QuorumPeerConfig.parseProperties), checked one line at a time so that a bad
// config gets exactly one message naming the file, line, key and the problem.
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { z } from 'zod';
import type { LearnerType, Sid } from './core/types.ts';

export interface ServerAddr {
  readonly sid: Sid;
  readonly host: string;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly type: LearnerType;
}

export interface ZooConfig {
  readonly tickTime: number;
  readonly initLimit: number;
  readonly syncLimit: number;
  readonly dataDir: string;
  readonly clientPort: number;
  readonly clientPortAddress: string;
  readonly peerType: LearnerType | null;
  readonly servers: ReadonlyMap<Sid, ServerAddr>;
  /** Not zoo.cfg keys in ZooKeeper (system properties there); accepted here for tests and tuning. */
  readonly commitLogCount: number;
  readonly snapCount: number;
  readonly finalizeWait: number;
  readonly maxNotificationInterval: number;
  /** Session timeouts a client may get, in ms (default 2 and 20 ticks). */
  readonly minSessionTimeout: number;
  readonly maxSessionTimeout: number;
  /** The largest frame a client may send (the jute.maxbuffer system property in ZooKeeper; default 0xfffff). */
  readonly juteMaxBuffer: number;
  /** How often the leader deletes empty containers and expired TTL nodes (znode.container.checkIntervalMs). */
  readonly containerCheckIntervalMs: number;
  /** TTL nodes (the zookeeper.extendedTypesEnabled system property; default false, as in 3.8). */
  readonly extendedTypesEnabled: boolean;
  /** The four-letter words served: 4lw.commands.whitelist as written (default srvr alone, `*` for all). */
  readonly fourLetterWhitelist: string;
}

export class ConfigError extends Error {}

const posInt = z.coerce.number({ message: 'must be an integer' }).int('must be an integer').positive('must be positive');
const port = z.coerce.number({ message: 'must be a port in 1..65535' }).int('must be a port in 1..65535').min(1, 'must be a port in 1..65535').max(65535, 'must be a port in 1..65535');
const host = z.string().regex(/^[A-Za-z0-9.\-]+$|^\[[0-9a-fA-F:]+\]$/, 'must be a host name or address');

const SCALAR_KEYS: Record<string, z.ZodType> = {
  tickTime: posInt,
  initLimit: posInt,
  syncLimit: posInt,
  dataDir: z.string().min(1, 'must not be empty'),
  clientPort: port,
  clientPortAddress: host,
  peerType: z.enum(['participant', 'observer'], 'must be participant or observer'),
  commitLogCount: posInt,
  snapCount: posInt,
  finalizeWait: posInt,
  maxNotificationInterval: posInt,
  minSessionTimeout: posInt,
  maxSessionTimeout: posInt,
  'jute.maxbuffer': posInt,
  extendedTypesEnabled: z.enum(['true', 'false'], 'must be true or false'),
  'znode.container.checkIntervalMs': posInt,
  '4lw.commands.whitelist': z.string().regex(/^\s*(\*|[a-z]{4}(\s*,\s*[a-z]{4})*)\s*$/, 'must be * or a comma-separated list of four-letter words'),
};

function firstIssue(err: z.ZodError): string {
  return err.issues[0]?.message ?? 'is invalid';
}

/** server.N=host:quorumPort:electionPort[:participant|observer] */
function parseServer(sid: number, value: string): ServerAddr | string {
  const parts = value.split(':');
  if (parts.length < 3 || parts.length > 4) return 'expected host:quorumPort:electionPort[:observer]';
  const [h, q, e, t] = parts as [string, string, string, string | undefined];
  const hostOk = host.safeParse(h);
  if (!hostOk.success) return `host ${JSON.stringify(h)} ${firstIssue(hostOk.error)}`;
  const qp = port.safeParse(q);
  if (!qp.success) return `quorum port ${JSON.stringify(q)} ${firstIssue(qp.error)}`;
  const ep = port.safeParse(e);
  if (!ep.success) return `election port ${JSON.stringify(e)} ${firstIssue(ep.error)}`;
  if (qp.data === ep.data) return 'quorum and election ports must differ';
  if (t !== undefined && t !== 'observer' && t !== 'participant') return `type ${JSON.stringify(t)} must be participant or observer`;
  return { sid, host: h, quorumPort: qp.data, electionPort: ep.data, type: t === 'observer' ? 'observer' : 'participant' };
}

export function parseConfig(text: string, file: string, myid: Sid, warn: (line: string) => void = () => {}): ZooConfig {
  const fail = (line: number, key: string, what: string): never => {
    throw new ConfigError(`${file}:${line}: ${key}: ${what}`);
  };
  const scalars: Record<string, unknown> = {};
  const seen = new Map<string, number>();
  const servers = new Map<Sid, ServerAddr>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) fail(lineNo, line.slice(0, 40), 'expected key=value');
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (seen.has(key)) fail(lineNo, key, `repeated (first set on line ${seen.get(key)})`);
    seen.set(key, lineNo);
    const m = /^server\.(\d+)$/.exec(key);
    if (m) {
      const sid = Number(m[1]);
      if (!Number.isSafeInteger(sid)) fail(lineNo, key, 'server id out of range');
      const s = parseServer(sid, value);
      if (typeof s === 'string') fail(lineNo, key, s);
      else servers.set(sid, s);
      return;
    }
    const schema = SCALAR_KEYS[key];
    if (!schema) {
      warn(`${file}:${lineNo}: ${key}: unknown key, ignored`);
      return;
    }
    const r = schema.safeParse(value);
    if (!r.success) fail(lineNo, key, `${JSON.stringify(value)} ${firstIssue(r.error)}`);
    else scalars[key] = r.data;
  });
  const endLine = lines.length;
  const need = (key: string): unknown => scalars[key] ?? fail(endLine, key, 'missing');
  const tickTime = need('tickTime') as number;
  const dataDir = need('dataDir') as string;
  const clientPort = need('clientPort') as number;
  if (servers.size === 0) fail(endLine, 'server.N', 'no servers listed');
  const me = servers.get(myid) ?? fail(endLine, `server.${myid}`, `missing: --id ${myid} is not listed`);
  const peerType = (scalars['peerType'] as LearnerType | undefined) ?? null;
  if (peerType && peerType !== me.type) fail(seen.get('peerType')!, 'peerType', `${peerType} contradicts server.${myid}, which is a ${me.type}`);
  if (![...servers.values()].some((s) => s.type === 'participant')) fail(endLine, 'server.N', 'no participant listed');
  const ports = new Map<string, string>();
  for (const s of servers.values()) {
    for (const [what, p] of [['quorum', s.quorumPort], ['election', s.electionPort]] as const) {
      const k = `${s.host}:${p}`;
      if (ports.has(k)) fail(seen.get(`server.${s.sid}`)!, `server.${s.sid}`, `${what} port ${p} already used by ${ports.get(k)}`);
      ports.set(k, `server.${s.sid}`);
    }
  }
  return {
    tickTime,
    initLimit: (scalars['initLimit'] as number | undefined) ?? fail(endLine, 'initLimit', 'missing'),
    syncLimit: (scalars['syncLimit'] as number | undefined) ?? fail(endLine, 'syncLimit', 'missing'),
    dataDir: resolve(dirname(resolve(file)), dataDir),
    clientPort,
    clientPortAddress: (scalars['clientPortAddress'] as string | undefined) ?? '127.0.0.1',
    peerType,
    servers,
    commitLogCount: (scalars['commitLogCount'] as number | undefined) ?? 500,
    snapCount: (scalars['snapCount'] as number | undefined) ?? 100_000,
    finalizeWait: (scalars['finalizeWait'] as number | undefined) ?? 200,
    maxNotificationInterval: (scalars['maxNotificationInterval'] as number | undefined) ?? 60_000,
    ...sessionTimeouts(tickTime, scalars, seen, fail),
    juteMaxBuffer: (scalars['jute.maxbuffer'] as number | undefined) ?? 0xfffff,
    extendedTypesEnabled: scalars['extendedTypesEnabled'] === 'true',
    containerCheckIntervalMs: (scalars['znode.container.checkIntervalMs'] as number | undefined) ?? 60_000,
    fourLetterWhitelist: (scalars['4lw.commands.whitelist'] as string | undefined) ?? 'srvr',
  };
}

/** ZooKeeperServer's defaults: 2 and 20 ticks; min must not exceed max. */
function sessionTimeouts(tickTime: number, scalars: Record<string, unknown>, seen: Map<string, number>, fail: (line: number, key: string, why: string) => never): { minSessionTimeout: number; maxSessionTimeout: number } {
  const min = (scalars['minSessionTimeout'] as number | undefined) ?? 2 * tickTime;
  const max = (scalars['maxSessionTimeout'] as number | undefined) ?? 20 * tickTime;
  if (min > max) fail(seen.get('maxSessionTimeout') ?? seen.get('minSessionTimeout')!, 'maxSessionTimeout', `${max} is below minSessionTimeout ${min}`);
  return { minSessionTimeout: min, maxSessionTimeout: max };
}

export function loadConfig(file: string, myid: Sid, warn?: (line: string) => void): ZooConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseConfig(text, file, myid, warn);
}
