// Benchmark of the implementation: pipelined writes/s and reads/s with p50/p99 latency against a local
// 3-server ensemble, with and without the transition log. Run alone: `npx tsx bench/impl.ts [seconds]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ensemble } from '../impl/ensemble.ts';
import type { ZkClient } from '../impl/client.ts';
import { cpuSeconds, runWorkload, WORKLOAD } from './workload.ts';

export interface ImplBenchOptions {
  /** Seconds per measurement. */
  readonly seconds?: number;
  /** Connections per server. */
  readonly connections?: number;
  /** Requests in flight per connection. */
  readonly depth?: number;
  readonly valueBytes?: number;
}

export interface ImplBenchRow {
  readonly transitionLog: boolean;
  readonly op: 'write' | 'read' | 'write, 1 in flight';
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** CPU time of the three server processes (all their threads) per operation answered, µs; NaN if unknown. */
  readonly serverCpuUsPerOp: number;
}

export async function benchImpl(opts: ImplBenchOptions = {}): Promise<ImplBenchRow[]> {
  const seconds = opts.seconds ?? WORKLOAD.seconds;
  const connections = opts.connections ?? WORKLOAD.connections;
  const depth = opts.depth ?? WORKLOAD.depth;
  const valueBytes = opts.valueBytes ?? WORKLOAD.valueBytes;
  const rows: ImplBenchRow[] = [];
  for (const transitionLog of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), 'zk-bench-'));
    const ens = await Ensemble.create({ nodes: 3, dir, tickTime: 200, transitionLog });
    const clients: ZkClient[] = [];
    try {
      ens.startAll();
      const leader = await ens.waitForLeader(undefined, 30_000);
      for (const sid of ens.servers.keys()) for (let i = 0; i < connections; i++) clients.push(await ens.client(sid, 30_000));
      // The shared workload (bench/workload.ts): warm-up, pipelined writes, pipelined reads, single writes.
      const follower = clients.find((c) => !c.address.endsWith(`:${ens.servers.get(leader)!.clientPort}`)) ?? clients[0]!;
      // The servers' CPU time is read when the workload moves on to the next row: its first request of that
      // row (a key of the row's own prefix; each row waits for the one before to finish).
      const pids = ens.pids();
      const marks = new Map<string, number>();
      const mark = (row: string) => {
        if (!marks.has(row)) marks.set(row, pids.reduce((a, pid) => a + cpuSeconds(pid), 0));
      };
      const set = (c: ZkClient, k: string, v: string) => {
        mark(k.startsWith('key-') ? 'write' : k.startsWith('seq-') ? 'write, 1 in flight' : 'warm-up');
        return c.set(k, v);
      };
      const get = (c: ZkClient, k: string) => {
        mark('read');
        return c.get(k);
      };
      const measured = await runWorkload({ clients, follower, set, get }, { seconds, depth, valueBytes });
      mark('end');
      const order = ['write', 'read', 'write, 1 in flight', 'end'];
      for (const r of measured) {
        const next = order[order.indexOf(r.op) + 1]!;
        const cpu = (marks.get(next) ?? NaN) - (marks.get(r.op) ?? NaN);
        const ops = r.opsPerSec * seconds;
        rows.push({ transitionLog, ...r, serverCpuUsPerOp: ops > 0 ? (cpu / ops) * 1e6 : NaN });
      }
    } finally {
      for (const c of clients) c.close();
      await ens.stopAll('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }
  printTable(rows, { seconds, connections, depth });
  return rows;
}

function printTable(rows: ImplBenchRow[], o: { seconds: number; connections: number; depth: number }): void {
  console.log(`impl: 3-server ensemble on loopback, ${o.connections} connection(s) per server x ${o.depth} in flight, ${o.seconds} s per row`);
  console.log('transition log | op                 |    ops/s |  p50 ms |  p99 ms | errors | server CPU µs/op');
  console.log('---------------|--------------------|----------|---------|---------|--------|-----------------');
  for (const r of rows) {
    console.log(
      `${(r.transitionLog ? 'on' : 'off').padEnd(14)} | ${r.op.padEnd(18)} | ${r.opsPerSec.toFixed(0).padStart(8)} | ${r.p50Ms.toFixed(2).padStart(7)} | ${r.p99Ms.toFixed(2).padStart(7)} | ${String(r.errors).padStart(6)} | ${(Number.isFinite(r.serverCpuUsPerOp) ? r.serverCpuUsPerOp.toFixed(1) : 'n/a').padStart(16)}`,
    );
  }
  const cost = (op: string) => {
    const off = rows.find((r) => !r.transitionLog && r.op === op)?.opsPerSec;
    const on = rows.find((r) => r.transitionLog && r.op === op)?.opsPerSec;
    return off && on ? `${(((off - on) / off) * 100).toFixed(1)}%` : 'n/a';
  };
  console.log(`cost of the transition log: writes ${cost('write')}, reads ${cost('read')}, single writes ${cost('write, 1 in flight')} fewer ops/s`);
  const cpuCost = (op: string) => {
    const off = rows.find((r) => !r.transitionLog && r.op === op)?.serverCpuUsPerOp;
    const on = rows.find((r) => r.transitionLog && r.op === op)?.serverCpuUsPerOp;
    return off !== undefined && on !== undefined && Number.isFinite(off) && Number.isFinite(on) ? `${(((on - off) / off) * 100).toFixed(1)}%` : 'n/a';
  };
  console.log(`server CPU per op with the log: writes ${cpuCost('write')}, reads ${cpuCost('read')}, single writes ${cpuCost('write, 1 in flight')} more`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[2] ?? 5);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error('bench/impl.ts: the argument is seconds per measurement, a positive number');
    process.exit(2);
  }
  benchImpl({ seconds }).then(
    () => process.exit(0),
    (e: Error) => {
      console.error(`bench/impl.ts: ${e.message}`);
      process.exit(1);
    },
  );
}
