// Issue #12's yardstick: ZooKeeper's own client protocol, the same client library (impl/zkwire/client.ts) and
// workload against each target: create, setData and getData, with 1 and with 100 requests in flight; ops/s,
// p50, p99, and the servers' CPU time per op (user + system of the 3 server processes, from /proc).
// `npx tsx bench/zk-protocol.ts --help`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ZkWireClient } from '../impl/zkwire/client.ts';
import { startTarget, type Target } from '../test/support/zk-target.ts';
import { formatTable, measure } from './workload.ts';

const HELP = `zk-protocol: create/setData/getData through ZooKeeper's client protocol against each target

Usage: npx tsx bench/zk-protocol.ts [--targets apache,ours] [--seconds 3] [--json]

  --targets LIST   comma-separated: apache (3 Apache ZooKeeper 3.8 servers, Debian's package), ours (3 of our
                   servers), or host:port (one server of a running ensemble; no CPU column) (default apache)
  --seconds N      seconds per row (default 3)
  --json           the rows as JSON on stdout
  -h, --help       this text

Rows: "1 in flight" is one session doing one request at a time (through the first server); "100 in flight" is
4 sessions (spread over the servers) x 25 requests each. create makes new znodes; setData and getData use
1,000 znodes of 100 bytes made before the rows. Exit codes: 0 done, 2 bad flags, 3 a target did not start.
`;

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

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

export function formatRows(rows: readonly ProtocolRow[]): string {
  const f = (x: number, d = 0) => (Number.isNaN(x) ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  return formatTable(
    ['target', 'op', 'in flight', 'ops/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU µs/op'],
    rows.map((r) => [r.target, r.op, String(r.inFlight), f(r.opsPerSec), f(r.p50Ms, 2), f(r.p99Ms, 2), String(r.errors), f(r.serverCpuUsPerOp)]),
  );
}

async function main(): Promise<number> {
  let v;
  try {
    v = parseArgs({ options: { targets: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
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
  const all: ProtocolRow[] = [];
  for (const kind of (v.targets ?? 'apache').split(',')) {
    const t = await startTarget(kind.trim()).catch((e: Error) => ({ skip: `${kind}: ${e.message}` }));
    if ('skip' in t) {
      console.error(`zk-protocol: ${t.skip}`);
      return 3;
    }
    try {
      if (!v.json) process.stderr.write(`${t.name}: ${seconds} s per row...\n`);
      all.push(...(await benchTarget(t, seconds)));
    } finally {
      await t.close();
    }
  }
  console.log(v.json ? JSON.stringify(all) : formatRows(all));
  return 0;
}

if (process.argv[1]?.endsWith('zk-protocol.ts')) main().then((code) => process.exit(code));
