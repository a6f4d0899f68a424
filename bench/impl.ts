// Benchmark of the implementation: pipelined writes/s and reads/s with p50/p99 latency against a local
// 3-server ensemble, with and without the transition log. Run alone: `npx tsx bench/impl.ts [seconds]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ensemble } from '../impl/ensemble.ts';
import type { ZkClient } from '../impl/client.ts';
import { runWorkload, WORKLOAD } from './workload.ts';

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
      const target = { clients, follower, set: (c: ZkClient, k: string, v: string) => c.set(k, v), get: (c: ZkClient, k: string) => c.get(k) };
      for (const r of await runWorkload(target, { seconds, depth, valueBytes })) rows.push({ transitionLog, ...r });
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
  console.log('transition log | op                 |    ops/s |  p50 ms |  p99 ms | errors');
  console.log('---------------|--------------------|----------|---------|---------|-------');
  for (const r of rows) {
    console.log(
      `${(r.transitionLog ? 'on' : 'off').padEnd(14)} | ${r.op.padEnd(18)} | ${r.opsPerSec.toFixed(0).padStart(8)} | ${r.p50Ms.toFixed(2).padStart(7)} | ${r.p99Ms.toFixed(2).padStart(7)} | ${String(r.errors).padStart(6)}`,
    );
  }
  const cost = (op: string) => {
    const off = rows.find((r) => !r.transitionLog && r.op === op)?.opsPerSec;
    const on = rows.find((r) => r.transitionLog && r.op === op)?.opsPerSec;
    return off && on ? `${(((off - on) / off) * 100).toFixed(1)}%` : 'n/a';
  };
  console.log(`cost of the transition log: writes ${cost('write')}, reads ${cost('read')}, single writes ${cost('write, 1 in flight')} fewer ops/s`);
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
