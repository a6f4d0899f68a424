// Generated histories for the checker's tests and benchmark: clients on a few znodes, each operation given an
// interval and a moment inside it where it takes effect on a sequential ZooKeeper (zxids included), so the history
// is linearizable and session-consistent by construction. Some answers are lost (info): the operation still
// takes effect, or not, at random, and its session ends (the next one gets a new process number).
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Op, OpKind, ReadValue } from './format.ts';

export interface GenOptions {
  readonly ops: number;
  readonly clients?: number;
  readonly keys?: number;
  readonly seed?: number;
  /** One answer in this many is lost (0: none). */
  readonly lostEvery?: number;
}

export function generateHistory(o: GenOptions): Op[] {
  const rng = xoroshiro128plus(o.seed ?? 1);
  const int = (lo: number, hi: number) => uniformInt(rng, lo, hi);
  const clients = o.clients ?? 5;
  const nkeys = o.keys ?? 5;
  const lostEvery = o.lostEvery ?? 200;
  // Each client issues operations back to back; an operation lasts 1-20 ms and takes effect somewhere inside.
  interface Plan { id: number; process: number; f: OpKind; key: string; version: number; invoke: number; complete: number; at: number; lost: boolean; applies: boolean }
  const plans: Plan[] = [];
  const clock = new Array<number>(clients).fill(0);
  const proc = Array.from({ length: clients }, (_, i) => i);
  let nextProcess = clients;
  const kinds: OpKind[] = ['create', 'set', 'set', 'set', 'delete', 'get', 'get', 'sync-get', 'sync-get'];
  for (let id = 0; id < o.ops; id++) {
    const c = int(0, clients - 1);
    const invoke = clock[c]! + int(0, 3);
    const complete = invoke + int(1, 20);
    const lost = lostEvery > 0 && int(1, lostEvery) === 1;
    const f = kinds[int(0, kinds.length - 1)]!;
    plans.push({ id, process: proc[c]!, f, key: `k${int(0, nkeys - 1)}`, version: f === 'set' || f === 'delete' ? (int(0, 1) === 0 ? -1 : -2) : -1, invoke, complete, at: invoke + int(0, (complete - invoke) * 8) / 8, lost, applies: int(0, 1) === 0 });
    clock[c] = complete;
    if (lost) proc[c] = nextProcess++;
  }
  // The sequential ZooKeeper, in the order the operations take effect.
  const tree = new Map<string, { value: string; version: number; czxid: bigint; mzxid: bigint }>();
  let zxid = 1n;
  const out: Op[] = [];
  for (const p of [...plans].sort((a, b) => a.at - b.at || a.id - b.id)) {
    const node = tree.get(p.key);
    const value = `${p.process}.${p.id}`;
    let result: 'ok' | 'fail' = 'ok';
    let error: string | undefined;
    let read: ReadValue | null | undefined;
    let stat: Op['stat'];
    // A compare-and-set guesses the current version right most of the time.
    const version = p.version === -2 ? (node ? node.version + (int(0, 3) === 0 ? 1 : 0) : 0) : p.version;
    const effect = !p.lost || p.applies;
    switch (p.f) {
      case 'create':
        if (node) (result = 'fail'), (error = 'NODEEXISTS');
        else if (effect) tree.set(p.key, { value, version: 0, czxid: ++zxid, mzxid: zxid });
        break;
      case 'set':
        if (!node) (result = 'fail'), (error = 'NONODE');
        else if (version >= 0 && version !== node.version) (result = 'fail'), (error = 'BADVERSION');
        else if (effect) {
          const n = { value, version: node.version + 1, czxid: node.czxid, mzxid: ++zxid };
          tree.set(p.key, n);
          stat = { version: n.version, czxid: n.czxid, mzxid: n.mzxid };
        }
        break;
      case 'delete':
        if (!node) (result = 'fail'), (error = 'NONODE');
        else if (version >= 0 && version !== node.version) (result = 'fail'), (error = 'BADVERSION');
        else if (effect) {
          tree.delete(p.key);
          ++zxid;
        }
        break;
      default:
        read = node ? { value: node.value, version: node.version, czxid: node.czxid, mzxid: node.mzxid } : null;
    }
    const lost = p.lost;
    out.push({
      id: p.id, process: p.process, server: 1 + (p.process % 3), f: p.f, key: p.key, value: p.f === 'create' || p.f === 'set' ? value : null,
      version: p.f === 'set' || p.f === 'delete' ? version : -1, invoke: p.invoke, complete: lost ? Infinity : p.complete,
      result: lost ? 'info' : result, error: lost ? 'CONNECTIONLOSS' : error, zxid: lost ? undefined : zxid, read: lost ? undefined : read,
      stat: lost ? undefined : stat, line: 0,
    });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Damages a generated history: a sync read near the middle returns the value of an acknowledged setData that a
 *  later acknowledged setData surely overwrote before the read began (a stale read no order explains). Returns the
 *  id of the damaged read, or null if no such read exists. */
export function injectStaleRead(ops: Op[]): number | null {
  const byId = [...ops].sort((a, b) => a.invoke - b.invoke);
  for (let m = Math.floor(byId.length / 2); m < byId.length; m++) {
    const r = byId[m]!;
    if (r.f !== 'sync-get' || r.result !== 'ok' || !r.read) continue;
    let w: Op | null = null;
    for (let j = m - 1; j >= 0 && j > m - 2000; j--) {
      const o = byId[j]!;
      if (o.key !== r.key || o.f !== 'set' || o.result !== 'ok' || o.stat === undefined) continue;
      if (w === null) {
        if (o.complete < r.invoke) w = o;
      } else if (o.complete < w.invoke && o.value !== r.read.value) {
        const i = ops.indexOf(r);
        ops[i] = { ...r, read: { ...r.read, value: o.value, version: o.stat.version, czxid: o.stat.czxid, mzxid: o.stat.mzxid } };
        return r.id;
      }
    }
  }
  return null;
}
