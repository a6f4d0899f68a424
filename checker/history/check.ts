// The history checker: linearizability of the writes, compare-and-sets and sync reads of each znode (P-compositionality:
// a history is linearizable if and only if each key's is, Herlihy & Wing), the session guarantees of session.ts,
// and the final reads. On a violation, the smallest window of time that is already not linearizable.
import { formatOp, type History, type Op } from './format.ts';
import { linearizable, scanWindows, shrinkWindow, type SearchResult, type Window } from './linearize.ts';
import { describeState } from './model.ts';
import { formatAnomaly, sessionChecks, type Anomaly } from './session.ts';

export interface KeyResult {
  readonly key: string;
  readonly ops: number;
  readonly search: SearchResult;
  /** Not linearizable, proven by the whole search (confirmed) or by a failing window. */
  readonly violation: boolean;
  /** For a key that is not linearizable: the smallest failing window. */
  readonly window: Window | null;
}

export interface Counts {
  readonly ops: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly byKind: Record<string, { ok: number; fail: number; info: number }>;
}

export interface CheckResult {
  /** linearizable and no session anomaly; 'unknown' if a search ran out of budget and nothing failed. */
  readonly verdict: 'valid' | 'invalid' | 'unknown';
  readonly counts: Counts;
  readonly keys: KeyResult[];
  readonly anomalies: Anomaly[];
  readonly ms: number;
}

export interface CheckOptions {
  readonly budget?: number;
  /** Compute the smallest failing window of each key that is not linearizable (default true). */
  readonly windows?: boolean;
}

export function countOps(ops: readonly Op[]): Counts {
  const byKind: Record<string, { ok: number; fail: number; info: number }> = {};
  let ok = 0, fail = 0, info = 0;
  for (const o of ops) {
    const k = (byKind[o.f] ??= { ok: 0, fail: 0, info: 0 });
    k[o.result]++;
    if (o.result === 'ok') ok++;
    else if (o.result === 'fail') fail++;
    else info++;
  }
  return { ops: ops.length, ok, fail, info, byKind };
}

export function checkHistory(h: History, opts: CheckOptions = {}): CheckResult {
  const t0 = performance.now();
  const byKey = new Map<string, Op[]>();
  for (const o of h.ops) (byKey.get(o.key) ?? byKey.set(o.key, []).get(o.key)!).push(o);
  const keys: KeyResult[] = [];
  const anomalies: Anomaly[] = [];
  let unknown = false;
  // A window file (windowFile below) says where each key's window starts: from an unknown state, or from the start.
  const initOf = new Map<string, 'absent' | 'any'>();
  const windows = h.header['window'];
  if (Array.isArray(windows)) for (const w of windows as { key?: unknown; init?: unknown }[]) if (typeof w.key === 'string' && w.init === 'any') initOf.set(w.key, 'any');
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const init = initOf.get(key) ?? 'absent';
    let search = linearizable(ops, { budget: opts.budget, init });
    let window: Window | null = null;
    let proven = false;
    if (!search.ok) {
      // Windows slid over the history: small searches that prove a violation even where the whole search gave up.
      const scan = scanWindows(ops, { focus: search.stuck?.complete, init });
      if (scan.window !== null) {
        proven = true;
        window = scan.window;
      } else if (search.complete) {
        // A violation found with one set of fingerprint words is confirmed with another (see linearize.ts).
        const again = linearizable(ops, { budget: opts.budget, seed: 0x51ed270b, init });
        if (again.ok) search = again;
        else if (again.complete) {
          proven = true;
          window = opts.windows === false ? null : shrinkWindow(ops, -Infinity, Infinity, init, { budget: opts.budget });
        }
      }
    }
    if (!search.ok && !proven) unknown = true;
    if (proven) {
      anomalies.push({
        kind: 'not-linearizable',
        key,
        message:
          `${key}: no order of its writes and sync reads explains every result` +
          (search.complete ? `; the search of all ${search.total} linearized at most ${search.deepest} and could not get past ${search.stuck ? `#${search.stuck.id}` : '?'} (possible states then: ${search.stuckStates.map(describeState).join(' | ') || 'none'})` : `; the search of all ${search.total} reached its budget`) +
          (window ? `; smallest failing window: ${fmtWindow(window)}` : ''),
        ops: window ? window.ops : search.stuck ? [search.stuck] : [],
      });
    }
    keys.push({ key, ops: ops.length, search, violation: proven, window });
  }
  anomalies.push(...sessionChecks(h.ops));
  const verdict = anomalies.length > 0 ? 'invalid' : unknown ? 'unknown' : 'valid';
  return { verdict, counts: countOps(h.ops), keys, anomalies, ms: performance.now() - t0 };
}

export const fmtWindow = (w: Window) =>
  `${w.ops.length} operation(s) from ${w.from === -Infinity ? 'the start (znode absent)' : `${w.from.toFixed(1)} ms (state unknown)`} to ${w.to === Infinity ? 'the end' : `${w.to.toFixed(1)} ms`}`;

export function formatCounts(c: Counts): string {
  const kinds = Object.entries(c.byKind)
    .map(([k, v]) => `${k} ${v.ok}/${v.fail}/${v.info}`)
    .join(', ');
  return `${c.ops} operations: ${c.ok} ok, ${c.fail} failed (definite), ${c.info} indeterminate (ok/fail/info by kind: ${kinds})`;
}

export function formatResult(r: CheckResult): string {
  const lines: string[] = [];
  lines.push(`history: ${formatCounts(r.counts)}`);
  const explored = r.keys.reduce((s, k) => s + k.search.explored, 0);
  lines.push(`linearizability (writes, compare-and-set, sync reads, final reads; per znode): ${r.keys.filter((k) => k.search.ok).length}/${r.keys.length} znodes linearizable, ${r.keys.filter((k) => k.violation).length} not, ${explored.toLocaleString('en-US')} search states, ${(r.ms / 1000).toFixed(2)} s`);
  for (const k of r.keys) {
    const s = k.search;
    const verdict = s.ok ? 'linearizable' : k.violation ? 'NOT linearizable' : 'unknown (search budget reached, no failing window)';
    lines.push(`  ${k.key}: ${verdict} (${s.total} of ${k.ops} operations searched${s.complete ? '' : ' up to the budget'}, ${s.explored.toLocaleString('en-US')} states)`);
  }
  if (r.anomalies.length === 0) lines.push('session guarantees (zxid order, read-your-writes, monotonic and stale reads) and final reads: no anomaly');
  else {
    lines.push(`anomalies: ${r.anomalies.length}`);
    for (const a of r.anomalies) lines.push(formatAnomaly(a));
  }
  lines.push(`VERDICT: ${r.verdict.toUpperCase()}`);
  return lines.join('\n');
}

/** The smallest failing window of each key as a history file of its own (the header says what it is). */
export function windowFile(h: History, r: CheckResult, toLine: (o: Op) => string): string | null {
  const ws = r.keys.filter((k) => k.window !== null);
  if (ws.length === 0) return null;
  const out = [JSON.stringify({ ...h.header, type: 'history', version: 1, window: ws.map((k) => ({ key: k.key, from: k.window!.from === -Infinity ? null : k.window!.from, to: k.window!.to === Infinity ? null : k.window!.to, init: k.window!.init })) })];
  for (const k of ws) for (const o of k.window!.ops) out.push(toLine(o));
  return out.join('\n') + '\n';
}

export { formatOp };
