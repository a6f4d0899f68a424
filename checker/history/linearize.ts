// Linearizability of one znode's history: the Wing & Gong search with Lowe's memoisation, as Porcupine and
// Knossos run it. Events (each operation's invocation and completion) sit in a doubly linked list in time order.
// Walking it, at an invocation the search tries to linearize that operation now (step the model; the operation
// leaves the list, with its completion); at a completion it has reached an operation that must already have
// taken effect, so it backtracks: the last linearized operation returns to the list and the walk goes on after it.
// A (set of linearized operations, model state) pair seen before is not explored again. The model is the powerset
// of model.ts's states, which makes indeterminate operations (took effect or not) deterministic steps.
//
// The set of linearized operations is fingerprinted by Zobrist hashing (two random 32-bit words per operation,
// XORed in and out), so that a step costs O(1) rather than O(n): a collision could only make the search skip a
// pair it never saw, and so report a violation that is not one, never miss one. A violation is confirmed by a
// second search with other random words (checkHistory does), which makes a false one vanishingly unlikely.
import type { Op } from './format.ts';
import { ABSENT, ANY, role, step, stateKey, type Role } from './model.ts';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** The error of an acknowledged write that a window turned indeterminate. */
export const CUT = 'CUT';

export interface SearchResult {
  readonly ok: boolean;
  /** False when the search gave up at its budget: no verdict. */
  readonly complete: boolean;
  /** (linearized set, state) pairs explored. */
  readonly explored: number;
  /** Most operations linearized at once, of `total`. */
  readonly deepest: number;
  readonly total: number;
  /** On a violation: the operation whose completion the search could not get past at its deepest point. */
  readonly stuck: Op | null;
  /** The states possible just before it, at that point. */
  readonly stuckStates: readonly string[];
}

export interface SearchOptions {
  readonly init?: 'absent' | 'any';
  /** Explored pairs after which the search stops without a verdict. */
  readonly budget?: number;
  readonly seed?: number;
}

/** Operations as the search takes them: the ignored ones left out, indeterminate ones completing never. */
export function searchable(ops: readonly Op[]): { op: Op; role: Role }[] {
  const out: { op: Op; role: Role }[] = [];
  for (const op of ops) {
    const r = role(op);
    if (r !== 'ignored') out.push({ op, role: r });
  }
  return out;
}

export function linearizable(ops: readonly Op[], opts: SearchOptions = {}): SearchResult {
  const items = searchable(ops);
  const n = items.length;
  const init = [opts.init === 'any' ? ANY : ABSENT];
  const budget = opts.budget ?? 1_000_000;
  if (n === 0) return { ok: true, complete: true, explored: 0, deepest: 0, total: 0, stuck: null, stuckStates: [] };
  // Events: node 2i is op i's invocation, 2i+1 its completion; head is node 2n.
  const time = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const o = items[i]!.op;
    time[2 * i] = o.invoke;
    // An indeterminate operation may take effect any time after it began, unless a window cut it (see windowOf).
    time[2 * i + 1] = items[i]!.role === 'indeterminate' && o.error !== CUT ? Infinity : o.complete;
  }
  // Time order; at equal times invocations first (the operations are then concurrent: the weaker claim).
  const order = Array.from({ length: 2 * n }, (_, k) => k).sort((a, b) => time[a]! - time[b]! || (a & 1) - (b & 1) || a - b);
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = head;
  for (const k of order) {
    next[last] = k;
    prev[k] = last;
    last = k;
  }
  const lift = (c: number) => {
    const r = c + 1;
    next[prev[c]!] = next[c]!;
    if (next[c]! >= 0) prev[next[c]!] = prev[c]!;
    next[prev[r]!] = next[r]!;
    if (next[r]! >= 0) prev[next[r]!] = prev[r]!;
  };
  const unlift = (c: number) => {
    const r = c + 1;
    next[prev[r]!] = r;
    if (next[r]! >= 0) prev[next[r]!] = r;
    next[prev[c]!] = c;
    if (next[c]! >= 0) prev[next[c]!] = c;
  };
  const rng = xoroshiro128plus(opts.seed ?? 0x9e3779b9);
  const rnd = () => rng.next();
  const z1 = new Int32Array(n);
  const z2 = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    z1[i] = rnd();
    z2[i] = rnd();
  }
  let h1 = 0;
  let h2 = 0;
  const seen = new Set<string>();
  const stackCall: number[] = [];
  const stackState: string[][] = [];
  let state: string[] = init;
  let explored = 0;
  let deepest = 0;
  let stuck: Op | null = null;
  let stuckStates: readonly string[] = [];
  let stuckDepth = -1;
  let entry = next[head]!;
  while (next[head]! >= 0) {
    if (explored > budget) return { ok: false, complete: false, explored, deepest, total: n, stuck, stuckStates };
    if ((entry & 1) === 0) {
      const i = entry >> 1;
      const it = items[i]!;
      const nextState = step(state, it.op, it.role);
      if (nextState.length > 0) {
        const n1 = h1 ^ z1[i]!;
        const n2 = h2 ^ z2[i]!;
        const key = `${n1},${n2},${stateKey(nextState)}`;
        if (!seen.has(key)) {
          seen.add(key);
          explored++;
          h1 = n1;
          h2 = n2;
          stackCall.push(entry);
          stackState.push(state);
          state = nextState;
          lift(entry);
          if (stackCall.length > deepest) deepest = stackCall.length;
          entry = next[head]!;
          continue;
        }
      }
      entry = next[entry]!;
    } else {
      // A completion: its operation was not linearized on this path.
      if (stuck === null || stackCall.length > stuckDepth) {
        stuck = items[entry >> 1]!.op;
        stuckDepth = stackCall.length;
        stuckStates = state;
      }
      if (stackCall.length === 0) return { ok: false, complete: true, explored, deepest, total: n, stuck, stuckStates };
      const c = stackCall.pop()!;
      state = stackState.pop()!;
      const i = c >> 1;
      h1 ^= z1[i]!;
      h2 ^= z2[i]!;
      unlift(c);
      entry = next[c]!;
    }
  }
  return { ok: true, complete: true, explored, deepest, total: n, stuck: null, stuckStates: [] };
}

/** The history seen through the window [a, b] of time: operations that completed before a or began after b are
 *  left out; a write begun before a or completed after b becomes indeterminate (it may have taken effect before
 *  the window, or after it), and such a read or failed write is left out. If the window is not linearizable from
 *  an unknown state ("any"), neither is the whole history (every linearization of the whole restricts to one of
 *  the window's): this is what makes a small window a proof. With a = -Infinity and the true initial state, the
 *  same holds for a prefix. */
export function windowOf(ops: readonly Op[], a: number, b: number): Op[] {
  const out: Op[] = [];
  for (const o of ops) {
    if (o.complete < a || o.invoke > b || role(o) === 'ignored') continue;
    if (o.invoke >= a && o.complete <= b) {
      out.push(o);
      continue;
    }
    const r = role(o);
    if (r === 'ignored') continue;
    const write = o.f === 'create' || o.f === 'set' || o.f === 'delete';
    if (!write || (o.result === 'fail' && r === 'determinate')) continue;
    // Begun before the window: it may have taken effect before it (then it is in the unknown initial state), else
    // by its completion. Still running at the window's end: it may take effect after the window, i.e. never here.
    out.push({ ...o, result: 'info', complete: o.complete > b ? Infinity : o.complete, error: CUT });
  }
  return out;
}

export interface Window {
  /** [a, b] in ms; a = -Infinity for a window that starts with the history (then from the znode absent). */
  readonly from: number;
  readonly to: number;
  readonly init: 'absent' | 'any';
  readonly ops: Op[];
  readonly searches: number;
}

/** Whether the window [a, b] of ops is, provably, not linearizable (a search that ran out of budget proves nothing). */
function windowFails(ops: readonly Op[], a: number, b: number, init: 'absent' | 'any', budget: number | undefined): boolean {
  const r = linearizable(windowOf(ops, a, b), { budget, init });
  return r.complete && !r.ok;
}

/** Shrinks a failing window [a, b]: the earliest end b' <= b for which [a, b'] still fails (binary search over
 *  completion times; a failing window stays failing as its end grows), then the latest start a' >= a for that end
 *  (from an unknown state; if no later start fails, the window keeps its start and initial state). */
export function shrinkWindow(ops: readonly Op[], a: number, b: number, init: 'absent' | 'any', opts: SearchOptions = {}): Window {
  let searches = 0;
  const fails = (x: number, y: number, i: 'absent' | 'any') => (searches++, windowFails(ops, x, y, i, opts.budget));
  const ends = [...new Set(ops.map((o) => o.complete).filter((t) => t !== Infinity && t <= b && t >= a))].sort((x, y) => x - y);
  ends.push(b);
  let lo = 0;
  let hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fails(a, ends[mid]!, init)) hi = mid;
    else lo = mid + 1;
  }
  const end = ends[lo]!;
  const starts = [...new Set(ops.map((o) => o.invoke).filter((t) => t <= end && t > a))].sort((x, y) => x - y);
  let start = a;
  let startInit = init;
  if (starts.length > 0 && fails(starts[0]!, end, 'any')) {
    let l = 0;
    let h = starts.length - 1;
    while (l < h) {
      const mid = (l + h + 1) >> 1;
      if (fails(starts[mid]!, end, 'any')) l = mid;
      else h = mid - 1;
    }
    start = starts[l]!;
    startInit = 'any';
  }
  return { from: start, to: end, init: startInit, ops: windowOf(ops, start, end), searches };
}

/** A window of at most `span` ms that is not linearizable, from windows of growing span slid over the history
 *  (each a small search): a proof that the whole history is not, found even when the search of the whole
 *  history cannot finish (every indeterminate operation stays open to the end and multiplies what it must try). */
export function scanWindows(ops: readonly Op[], opts: SearchOptions & { spans?: readonly number[]; focus?: number } = {}): { window: Window | null; searches: number } {
  let searches = 0;
  if (ops.length === 0) return { window: null, searches };
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const o of ops) {
    t0 = Math.min(t0, o.invoke);
    t1 = Math.max(t1, o.complete === Infinity ? o.invoke : o.complete);
  }
  const budget = opts.budget ?? 20_000;
  const spans = opts.spans ?? [50, 200, 1_000, 5_000, 20_000];
  const tryWindow = (a: number, b: number): Window | null => {
    const first = a <= t0;
    const from = first ? -Infinity : a;
    const init = first ? (opts.init ?? 'absent') : 'any';
    searches++;
    if (!windowFails(ops, from, b, init, budget)) return null;
    const w = shrinkWindow(ops, from, b, init, { budget });
    searches += w.searches;
    return { ...w, searches };
  };
  // Where the whole search got stuck first: the windows that end with that operation.
  if (opts.focus !== undefined && opts.focus !== Infinity) {
    for (const span of spans) {
      const w = tryWindow(opts.focus - span, opts.focus);
      if (w !== null) return { window: w, searches };
    }
  }
  for (const span of spans) {
    const stepMs = span / 2;
    for (let a = t0 - stepMs; a <= t1; a += stepMs) {
      const w = tryWindow(a, a + span);
      if (w !== null) return { window: w, searches };
    }
    if (t1 - t0 <= span) break;
  }
  return { window: null, searches };
}

/** The smallest failing window of a history that is not linearizable (null if the history is, or if no search
 *  could decide): first by sliding windows, then by shrinking the whole history. */
export function smallestWindow(ops: readonly Op[], opts: SearchOptions = {}): Window | null {
  const scan = scanWindows(ops, opts);
  if (scan.window !== null) return scan.window;
  if (!windowFails(ops, -Infinity, Infinity, opts.init ?? 'absent', opts.budget)) return null;
  const w = shrinkWindow(ops, -Infinity, Infinity, opts.init ?? 'absent', opts);
  return { ...w, searches: w.searches + scan.searches + 1 };
}
