// The clients: each a loop of one operation at a time on one session, connected to a server of its own (client i to
// server i mod n, the next one when that fails), recording every operation in the history (checker/history/format.ts).
// A session that lost its connection or timed out is never reused: its last operation is indeterminate, and the
// client goes on as a new process (Jepsen's rule), which keeps the session checks sound.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { DEFINITE_ERRORS, type Op, type OpKind, type ReadValue } from '../checker/history/format.ts';
import { ZkWireClient, ZkWireError } from '../impl/zkwire/client.ts';
import type { Target } from './target.ts';

export const path = (key: string) => `/${key}`;

export class Recorder {
  readonly ops: Op[] = [];
  private nextId = 1;
  private nextProcess = 1;
  readonly t0 = performance.now();
  now = () => performance.now() - this.t0;
  id = () => this.nextId++;
  process = () => this.nextProcess++;
}

const readOf = (data: Buffer | null, stat: { version: number; czxid: bigint; mzxid: bigint }): ReadValue => ({
  value: data === null ? null : data.toString('utf8'),
  version: stat.version,
  czxid: stat.czxid,
  mzxid: stat.mzxid,
});

export interface WorkerStats {
  /** Time (ms since the run began) of this client's last ok answer. */
  lastOk: number;
  sessions: number;
}

/** One client until `stop()` says so. */
export async function runWorker(index: number, target: Target, rec: Recorder, keys: readonly string[], seed: number, stop: () => boolean, stats: WorkerStats): Promise<void> {
  const rng = xoroshiro128plus(seed * 1000 + index);
  const int = (lo: number, hi: number) => uniformInt(rng, lo, hi);
  const sids = target.sids;
  let serverIdx = index % sids.length;
  let client: ZkWireClient | null = null;
  let process = -1;
  let server = -1;
  const known = new Map<string, number>(); // last version this client saw per key, for its compare-and-sets
  let counter = 0;
  for (let guard = 0; guard < 10_000_000 && !stop(); guard++) {
    if (client === null || client.error !== null) {
      if (client !== null) client.close().catch(() => {});
      client = null;
      server = sids[serverIdx % sids.length]!;
      try {
        client = await ZkWireClient.connect({ port: target.clientPort(server), sessionTimeoutMs: target.sessionTimeoutMs, connectTimeoutMs: 3000, requestTimeoutMs: 5000 });
        process = rec.process();
        stats.sessions++;
      } catch {
        serverIdx++;
        await new Promise((r) => setTimeout(r, 100 + int(0, 200)));
        continue;
      }
    }
    const c = client;
    const key = keys[int(0, keys.length - 1)]!;
    const roll = int(0, 99);
    const f: OpKind = roll < 12 ? 'create' : roll < 47 ? 'set' : roll < 55 ? 'delete' : roll < 72 ? 'get' : 'sync-get';
    const cas = (f === 'set' && int(0, 1) === 0) || (f === 'delete' && int(0, 2) === 0);
    const version = cas ? (known.get(key) ?? 0) + (int(0, 4) === 0 ? 1 : 0) : -1;
    const value = f === 'create' || f === 'set' ? `${process}.${++counter}` : null;
    const invoke = rec.now();
    const base = { id: rec.id(), process, server, f, key, value, version, invoke, line: 0 };
    let op: Op;
    try {
      const data = value === null ? Buffer.alloc(0) : Buffer.from(value);
      if (f === 'create') {
        const r = await c.create2(path(key), data);
        known.set(key, r.stat.version);
        op = { ...base, complete: rec.now(), result: 'ok', error: undefined, zxid: c.lastZxid, read: undefined, stat: { version: r.stat.version, czxid: r.stat.czxid, mzxid: r.stat.mzxid } };
      } else if (f === 'set') {
        const st = await c.setData(path(key), data, version);
        known.set(key, st.version);
        op = { ...base, complete: rec.now(), result: 'ok', error: undefined, zxid: c.lastZxid, read: undefined, stat: { version: st.version, czxid: st.czxid, mzxid: st.mzxid } };
      } else if (f === 'delete') {
        await c.delete(path(key), version);
        known.delete(key);
        op = { ...base, complete: rec.now(), result: 'ok', error: undefined, zxid: c.lastZxid, read: undefined, stat: undefined };
      } else {
        if (f === 'sync-get') await c.sync(path(key));
        let read: ReadValue | null;
        try {
          const r = await c.getData(path(key));
          read = readOf(r.data, r.stat);
          known.set(key, r.stat.version);
        } catch (e) {
          if (!(e instanceof ZkWireError && e.code === 'NONODE')) throw e;
          read = null;
        }
        op = { ...base, complete: rec.now(), result: 'ok', error: undefined, zxid: c.lastZxid, read, stat: undefined };
      }
      stats.lastOk = op.complete;
    } catch (e) {
      const code = e instanceof ZkWireError ? e.code : 'ERROR';
      if (DEFINITE_ERRORS.has(code) && c.error === null) {
        op = { ...base, complete: rec.now(), result: 'fail', error: code, zxid: c.lastZxid, read: undefined, stat: undefined };
        if (code === 'NONODE') known.delete(key);
        stats.lastOk = op.complete; // a definite answer is an answer
      } else {
        // No answer we can trust: the write may or may not have happened. This session is done.
        op = { ...base, complete: Infinity, result: 'info', error: code, zxid: undefined, read: undefined, stat: undefined };
        c.close().catch(() => {});
        client = null;
        serverIdx++;
      }
    }
    rec.ops.push(op);
  }
  if (client !== null) await Promise.race([client.close().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
}

/** After the heal phase, once the servers agree: getData of every key on every server, each on a new session. */
export async function finalReads(target: Target, rec: Recorder, keys: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const sid of target.sids) {
    let c: ZkWireClient | null = null;
    const process = rec.process();
    try {
      c = await ZkWireClient.connect({ port: target.clientPort(sid), sessionTimeoutMs: target.sessionTimeoutMs, connectTimeoutMs: 5000, requestTimeoutMs: 5000 });
      for (const key of keys) {
        const invoke = rec.now();
        let read: ReadValue | null;
        try {
          const r = await c.getData(path(key));
          read = readOf(r.data, r.stat);
        } catch (e) {
          if (!(e instanceof ZkWireError && e.code === 'NONODE')) throw e;
          read = null;
        }
        rec.ops.push({ id: rec.id(), process, server: sid, f: 'final-get', key, value: null, version: -1, invoke, complete: rec.now(), result: 'ok', error: undefined, zxid: c.lastZxid, read, stat: undefined, line: 0 });
      }
    } catch (e) {
      problems.push(`server ${sid}: no final read (${(e as Error).message})`);
    } finally {
      if (c !== null) await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
    }
  }
  return problems;
}
