// Helpers for the end-to-end tests of impl/: a bounded write load with a ledger of acknowledged writes,
// polling with deadlines, and reading transition logs back through the trace schema.
import { readFileSync } from 'node:fs';
import { parseLine, unfoldAppended } from '../traces/reader.ts';
import type { TraceLine } from '../traces/schema.ts';
import type { Ensemble } from '../impl/ensemble.ts';
import type { ZkClient } from '../impl/client.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns a value (not undefined/false), at most timeoutMs. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
}

/** Writers that keep `depth` writes in flight each, through the given servers, until stopped. */
export class WriteLoad {
  /** Every write a server acknowledged: key -> value. */
  readonly acked = new Map<string, string>();
  errors = 0;
  private running = true;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly ens: Ensemble,
    sids: number[],
    depth: number,
    private readonly maxMs = 60_000,
    private readonly prefix = 'w',
  ) {
    const until = Date.now() + maxMs;
    this.loops = sids.flatMap((sid) => Array.from({ length: depth }, (_, lane) => this.loop(sid, lane, until)));
  }

  private async loop(sid: number, lane: number, until: number): Promise<void> {
    let client: ZkClient | null = null;
    let n = 0;
    while (this.running && Date.now() < until) {
      try {
        client ??= await this.ens.client(sid, 3000);
        const key = `${this.prefix}${sid}-${lane}-${n++}`;
        const value = `v${n}`;
        await client.set(key, value);
        this.acked.set(key, value);
      } catch {
        this.errors++;
        client?.close();
        client = null;
        await sleep(50);
      }
    }
    client?.close();
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Every acknowledged write is on the server (same value). Returns the missing keys. */
export async function missingOn(ens: Ensemble, sid: number, acked: ReadonlyMap<string, string>): Promise<string[]> {
  const c = await ens.client(sid, 3000);
  try {
    const data = await c.getMany(acked.keys());
    return [...acked].filter(([k, v]) => data.get(k) !== v).map(([k]) => k);
  } finally {
    c.close();
  }
}

export function readTrace(path: string): TraceLine[] {
  const text = readFileSync(path, 'utf8');
  // A running server may be halfway through a write: only whole lines count.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const r = parseLine(l);
      if (r.kind === 'bad' || r.kind === 'blank') throw new Error(`${path}:${i + 1}: ${r.kind === 'bad' ? r.message : 'blank'}`);
      return r.kind === 'header' ? r.header : r.kind === 'event' ? r.event : r.verdict;
    });
}

type EventLine = Extract<TraceLine, { type: 'event' }>;

/** A server's events, with the txn log appends a version 2 log folds into an event (`appended`) as their own TxnLogAppend events. */
export function events(ens: Ensemble, sid: number): EventLine[] {
  return ens.traceFiles(sid).flatMap((f) =>
    readTrace(f)
      .filter((l): l is EventLine => l.type === 'event')
      .flatMap((e) => unfoldAppended(e, { type: 'event' as const, seq: e.seq, sid: e.sid }) as EventLine[]),
  );
}
