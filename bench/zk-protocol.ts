// Issue #12's yardstick: ZooKeeper's own client protocol, the same client library (impl/zkwire/client.ts) and
// workload against each target: create, setData and getData, with 1 and with 100 requests in flight; ops/s,
// p50, p99, and the servers' CPU time per op (user + system of the 3 server processes, from /proc).
// `npx tsx bench/zk-protocol.ts --help`.
import { parseArgs } from 'node:util';
import { ZkWireClient } from '../impl/zkwire/client.ts';
import { srvr } from '../impl/zkwire/four-letter.ts';
import { startTarget, type Target } from '../test/support/zk-target.ts';
import { cpuSeconds, formatTable, measure } from './workload.ts';

const HELP = `zk-protocol: create/setData/getData through ZooKeeper's client protocol against each target, side by side

Usage: npx tsx bench/zk-protocol.ts [--targets apache,ours] [--seconds 3] [--znodes 1000000] [--json]

  --targets LIST   comma-separated: apache (3 Apache ZooKeeper 3.8 servers, Debian's package, with the 1000 MB
                   heap of its own scripts and the JVM's default collector), ours (3 of our servers, transition
                   log on), or host:port (one server of a running ensemble; no CPU or memory columns)
                   (default apache,ours)
  --seconds N      seconds per row, after a 1 s warm-up of each op (default 3)
  --znodes N       znodes of 100 bytes created after the rows for the memory figure, 0 for none (default 1000000)
  --json           the rows, ratios and memory as JSON on stdout
  -h, --help       this text

Rows: "1 in flight" is one session doing one request at a time (through the first server); "100 in flight" is
4 sessions (spread over the servers) x 25 requests each. create makes new znodes; setData and getData use
1,000 znodes of 100 bytes made before the rows. Ratios (with both apache and ours): ours / Apache for ops/s,
p99 and server CPU per op; a row misses the goal when ours has fewer ops/s or a higher p99. Memory per znode:
each server's memory after a full collection (Apache: the JVM heap in use, jcmd; ours: the V8 heap in use plus
buffers, on SIGUSR2), before and after the znodes are created, divided by their number.
Exit codes: 0 done, 1 a measurement failed (one line says why), 2 bad flags, 3 a target did not start,
130 stopped by Ctrl-C (the servers stopped and their folders removed first).
Example: npx tsx bench/zk-protocol.ts --seconds 5 --znodes 100000
`;

export interface ProtocolRow {
  target: string;
  op: string;
  inFlight: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  serverCpuUsPerOp: number;
}

export async function benchTarget(t: Target, seconds: number): Promise<ProtocolRow[]> {
  const value = Buffer.alloc(100, 0x61);
  const clients: ZkWireClient[] = [];
  const open = async (i: number) => {
    const s = t.servers[i % t.servers.length]!;
    const c = await ZkWireClient.connect({ host: s.host, port: s.port, sessionTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    clients.push(c);
    return c;
  };
  try {
    const single = [await open(0)];
    const many = [await open(0), await open(1), await open(2), await open(3)];
    const root = `/bench${Date.now().toString(36)}`;
    await single[0]!.create(root, Buffer.alloc(0));
    await Promise.all(Array.from({ length: 1000 }, (_, i) => many[i % 4]!.create(`${root}/k${i}`, value)));
    let seq = 0;
    const ops: [string, (c: ZkWireClient, n: number) => Promise<unknown>][] = [
      ['create', (c) => c.create(`${root}/c${seq++}`, value)],
      ['setData', (c, n) => c.setData(`${root}/k${n % 1000}`, value)],
      ['getData', (c, n) => c.getData(`${root}/k${n % 1000}`)],
    ];
    const rows: ProtocolRow[] = [];
    for (const [op, f] of ops) {
      // A warm-up of each op, unmeasured: the JIT of both (the JVM's and V8's) sees the path first.
      await measure(many, 25, 1, f);
      for (const [inFlight, cs, depth] of [[1, single, 1], [100, many, 25]] as const) {
        const cpu0 = t.pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
        const m = await measure(cs, depth, seconds, f);
        const cpu = t.pids.reduce((a, pid) => a + cpuSeconds(pid), 0) - cpu0;
        const n = m.opsPerSec * seconds;
        rows.push({ target: t.name, op, inFlight, opsPerSec: m.opsPerSec, p50Ms: m.p50Ms, p99Ms: m.p99Ms, errors: m.errors, serverCpuUsPerOp: t.pids.length > 0 && n > 0 ? (cpu / n) * 1e6 : NaN });
      }
    }
    return rows;
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }
}

export interface MemoryRow {
  target: string;
  znodes: number;
  /** Per server, in the target's order: its mode, and bytes kept per znode created. */
  servers: { mode: string; bytesBefore: number; bytesAfter: number; bytesPerZnode: number }[];
  /** Seconds the creates took (4 sessions x 25 in flight). */
  createSeconds: number;
}

/** Each server's memory after a full collection, before and after `n` znodes of 100 bytes are created. */
export async function memoryPerZnode(t: Target, n: number, progress: (done: number) => void = () => {}): Promise<MemoryRow> {
  const clients = await Promise.all([0, 1, 2, 3].map((i) => {
    const s = t.servers[i % t.servers.length]!;
    return ZkWireClient.connect({ host: s.host, port: s.port, sessionTimeoutMs: 60_000, requestTimeoutMs: 120_000 });
  }));
  try {
    const root = `/mem${Date.now().toString(36)}`;
    await clients[0]!.create(root, Buffer.alloc(0));
    const before = await t.memory();
    const value = Buffer.alloc(100, 0x62);
    const t0 = performance.now();
    let next = 0;
    const lane = async (c: ZkWireClient) => {
      for (let i = next++; i < n; i = next++) {
        await c.create(`${root}/z${i}`, value);
        if (i % 10_000 === 0) progress(i);
      }
    };
    await Promise.all(clients.flatMap((c) => Array.from({ length: 25 }, () => lane(c))));
    const createSeconds = (performance.now() - t0) / 1000;
    const after = await t.memory();
    const modes = await Promise.all(t.servers.map(async (s) => (await srvr(s.port, 10_000))?.mode ?? '?'));
    return {
      target: t.name,
      znodes: n,
      servers: after.map((a, i) => ({ mode: modes[i] ?? '?', bytesBefore: before[i]!.bytes, bytesAfter: a.bytes, bytesPerZnode: (a.bytes - before[i]!.bytes) / n })),
      createSeconds,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }
}

export interface RatioRow {
  op: string;
  inFlight: number;
  /** ours / Apache */
  opsPerSec: number;
  p99: number;
  serverCpuPerOp: number;
  /** Ours has fewer ops/s or a higher p99 than Apache on this row. */
  misses: boolean;
}

/** ours / Apache on each row both measured. */
export function ratios(rows: readonly ProtocolRow[], ours: string, apache: string): RatioRow[] {
  const out: RatioRow[] = [];
  for (const o of rows.filter((r) => r.target === ours)) {
    const a = rows.find((r) => r.target === apache && r.op === o.op && r.inFlight === o.inFlight);
    if (a === undefined) continue;
    const opsPerSec = o.opsPerSec / a.opsPerSec;
    const p99 = o.p99Ms / a.p99Ms;
    out.push({ op: o.op, inFlight: o.inFlight, opsPerSec, p99, serverCpuPerOp: o.serverCpuUsPerOp / a.serverCpuUsPerOp, misses: opsPerSec < 1 || p99 > 1 });
  }
  return out;
}

export function formatRows(rows: readonly ProtocolRow[]): string {
  const f = (x: number, d = 0) => (Number.isNaN(x) ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  return formatTable(
    ['target', 'op', 'in flight', 'ops/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU µs/op'],
    rows.map((r) => [r.target, r.op, String(r.inFlight), f(r.opsPerSec), f(r.p50Ms, 2), f(r.p99Ms, 2), String(r.errors), f(r.serverCpuUsPerOp)]),
  );
}

export function formatRatios(rs: readonly RatioRow[]): string {
  const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-');
  return formatTable(
    ['ours / Apache', 'in flight', 'ops/s', 'p99', 'server CPU per op', 'goal'],
    rs.map((r) => [r.op, String(r.inFlight), x(r.opsPerSec), x(r.p99), x(r.serverCpuPerOp), r.misses ? 'MISSED' : 'met']),
  );
}

export function formatMemory(ms: readonly MemoryRow[]): string {
  const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
  return formatTable(
    ['target', 'znodes', 'server', 'mode', 'before', 'after', 'bytes per znode'],
    ms.flatMap((m) => m.servers.map((s, i) => [m.target, m.znodes.toLocaleString('en-US'), String(i + 1), s.mode, mb(s.bytesBefore), mb(s.bytesAfter), s.bytesPerZnode.toFixed(0)])),
  );
}

export interface ProtocolBench {
  rows: ProtocolRow[];
  ratios: RatioRow[];
  memory: MemoryRow[];
  /** Targets that could not run here, and why. */
  skipped: string[];
}

/** Every target in turn: the rows, then (with `znodes` > 0) the memory per znode; a target that cannot start is skipped with its reason. */
export async function benchProtocol(kinds: readonly string[], seconds: number, znodes: number, say: (line: string) => void): Promise<ProtocolBench> {
  const out: ProtocolBench = { rows: [], ratios: [], memory: [], skipped: [] };
  const names = new Map<string, string>();
  for (const kind of kinds) {
    // Ctrl-C (or SIGTERM), even while the target starts: its servers are stopped by their PIDs and its folder
    // removed before leaving.
    const starting = startTarget(kind, { bench: true }).catch((e: Error) => ({ skip: `${kind}: ${e.message}` }));
    // (A second signal, as tsx's launcher relays the first, must not cut the cleanup short: `on`, once acted on.)
    let stopping = false;
    const stop = (sig: NodeJS.Signals) => () => {
      if (stopping) return;
      stopping = true;
      say(`zk-protocol: ${sig}: stopping ${kind}`);
      void starting.then((t) => ('skip' in t ? undefined : t.close())).finally(() => process.exit(130));
    };
    const onInt = stop('SIGINT');
    const onTerm = stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const t = await starting;
    if ('skip' in t) {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      out.skipped.push(t.skip);
      say(`zk-protocol: ${t.skip}`);
      continue;
    }
    names.set(kind, t.name);
    try {
      say(`${t.name}: 1 s warm-up and ${seconds} s per row...`);
      out.rows.push(...(await benchTarget(t, seconds)));
      if (znodes > 0 && t.pids.length > 0) {
        say(`${t.name}: creating ${znodes.toLocaleString('en-US')} znodes of 100 bytes for the memory per znode...`);
        out.memory.push(await memoryPerZnode(t, znodes, (d) => say(`  ${d.toLocaleString('en-US')} created`)));
      }
    } finally {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      await t.close();
    }
  }
  const ours = names.get('ours');
  const apache = names.get('apache');
  if (ours !== undefined && apache !== undefined) out.ratios = ratios(out.rows, ours, apache);
  return out;
}

export function formatBench(b: ProtocolBench): string {
  const parts = [formatRows(b.rows)];
  if (b.ratios.length > 0) parts.push(formatRatios(b.ratios));
  if (b.memory.length > 0) parts.push(formatMemory(b.memory));
  return parts.join('\n\n');
}

async function main(): Promise<number> {
  let v;
  try {
    v = parseArgs({ options: { targets: { type: 'string' }, seconds: { type: 'string' }, znodes: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (e) {
    console.error(`zk-protocol: ${(e as Error).message} (see --help)`);
    return 2;
  }
  if (v.help) {
    console.log(HELP.trimEnd());
    return 0;
  }
  const seconds = Number(v.seconds ?? 3);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
    console.error(`zk-protocol: --seconds: expected a number of seconds in (0, 600], got ${JSON.stringify(v.seconds)}`);
    return 2;
  }
  const znodes = Number(v.znodes ?? 1_000_000);
  if (!Number.isInteger(znodes) || znodes < 0 || znodes > 10_000_000) {
    console.error(`zk-protocol: --znodes: expected a whole number from 0 to 10000000, got ${JSON.stringify(v.znodes)}`);
    return 2;
  }
  const kinds = (v.targets ?? 'apache,ours').split(',').map((k) => k.trim());
  const tty = process.stderr.isTTY === true;
  const b = await benchProtocol(kinds, seconds, znodes, (line) => {
    if (!v.json && (tty || !line.startsWith('  '))) process.stderr.write(`${line}\n`);
  });
  if (b.rows.length === 0 && b.skipped.length > 0) return 3;
  console.log(v.json ? JSON.stringify(b) : formatBench(b));
  return b.skipped.length > 0 ? 3 : 0;
}

if (process.argv[1]?.endsWith('zk-protocol.ts')) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`zk-protocol: ${e.message}`);
      process.exit(1);
    },
  );
}
