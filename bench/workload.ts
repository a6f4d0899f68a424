// The client workload of bench/impl.ts (our server with and without its transition log); `measure` and
// `formatTable` are also bench/zk-protocol.ts's (ours next to Apache ZooKeeper). bench/impl.ts's rows:
//   warm-up   1 s of pipelined writes to fresh keys warm-N (not reported);
//   write     pipelined writes of `valueBytes` bytes to key-(N mod keys), every connection of every server;
//   read      pipelined reads of the same keys;
//   write, 1 in flight   one write at a time through one follower connection, to seq-(N mod singleKeys).
// Each row runs for `seconds`; ops/s counts the requests answered without error in that time.
import { readFileSync } from 'node:fs';

export const WORKLOAD = {
  seconds: 5,
  /** Connections per server. */
  connections: 2,
  /** Requests in flight per connection. */
  depth: 32,
  valueBytes: 100,
  /** Key space of the write and read rows. */
  keys: 10_000,
  /** Key space of the single-write row. */
  singleKeys: 1000,
  warmupSeconds: 1,
} as const;

export type WorkloadOp = 'write' | 'read' | 'write, 1 in flight';
export const WORKLOAD_OPS: readonly WorkloadOp[] = ['write', 'read', 'write, 1 in flight'];

export interface Measured {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** The first error's message, if any. */
  readonly firstError: string | null;
}

export interface WorkloadRow extends Measured {
  readonly op: WorkloadOp;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `depth` lanes per client, each sending its next request when the previous one is answered, for `seconds`. */
export async function measure<C>(clients: readonly C[], depth: number, seconds: number, op: (c: C, n: number) => Promise<unknown>): Promise<Measured> {
  const lat: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const start = performance.now();
  const until = start + seconds * 1000;
  let n = 0;
  const lane = async (c: C) => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await op(c, n++);
        lat.push(performance.now() - t0);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
        // A client whose connection is gone fails at once: do not spin on it.
        if (errors > 1000) await new Promise((res) => setTimeout(res, 10));
      }
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: depth }, () => lane(c))));
  const elapsed = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { opsPerSec: lat.length / elapsed, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), errors, firstError };
}

/** What a server under test offers the workload: connected clients and the two operations. */
export interface WorkloadTarget<C> {
  /** `connections` clients per server. */
  readonly clients: readonly C[];
  /** A client of a follower (the single-write row). */
  readonly follower: C;
  set(c: C, key: string, value: string): Promise<unknown>;
  get(c: C, key: string): Promise<unknown>;
}

export interface WorkloadParams {
  readonly seconds: number;
  readonly depth: number;
  readonly valueBytes: number;
}

export async function runWorkload<C>(t: WorkloadTarget<C>, o: WorkloadParams): Promise<WorkloadRow[]> {
  const value = 'x'.repeat(o.valueBytes);
  // Warm up (JIT, page cache), then measure writes, then reads of the keys just written.
  await measure(t.clients, o.depth, WORKLOAD.warmupSeconds, (c, n) => t.set(c, `warm-${n}`, value));
  const w = await measure(t.clients, o.depth, o.seconds, (c, n) => t.set(c, `key-${n % WORKLOAD.keys}`, value));
  const r = await measure(t.clients, o.depth, o.seconds, (c, n) => t.get(c, `key-${n % WORKLOAD.keys}`));
  // One write at a time through a follower: the protocol's own latency, with the CPU mostly idle.
  const s1 = await measure([t.follower], 1, o.seconds, (c, n) => t.set(c, `seq-${n % WORKLOAD.singleKeys}`, value));
  return [
    { op: 'write', ...w },
    { op: 'read', ...r },
    { op: 'write, 1 in flight', ...s1 },
  ];
}

/** A plain text table: a header row, a rule, the rows; the first column left-aligned, the others right. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => header.map((_, i) => (i === 0 ? (cells[i] ?? '').padEnd(width[i]!) : (cells[i] ?? '').padStart(width[i]!))).join(' | ');
  return [line(header), width.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** CPU seconds (user + system, all threads) a process has used, from /proc; NaN where there is no /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of proc(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}
