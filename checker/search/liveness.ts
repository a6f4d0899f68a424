// Liveness under weak fairness on the explored state graph, as TLC checks it.
//
// 1. The graph: a breadth-first search in this thread that keeps, besides what the safety search keeps, every
//    edge (successor state id, fairness class, fault or not) in typed arrays, in the spec's successor order, so
//    that an edge's position is the successor index a counterexample replays.
// 2. Per liveness property, the "bad" subgraph: states where the hypothesis holds and the goal does not, and the
//    protocol's steps (not faults) between them. A behaviour whose faults stop and that never meets the goal
//    ends, in a finite graph, either in a state with no protocol step at all (a dead end), or going round a
//    strongly connected component of that subgraph (iterative Tarjan).
// 3. Weak fairness of the protocol's steps: a step class (kind, server, peer) continuously enabled along a cycle
//    must be taken in it. In a component, the cycle through every state and every edge is fair exactly when
//    each class enabled in every one of its states has an edge inside it: a component passes that test, or
//    holds no fair cycle at all. A fair cycle is then built small: from the entry state, detours until no class
//    is enabled all along it without being taken (each detour takes the class, or visits a state where it is
//    disabled).
// The counterexample is a lasso: the shortest path to the component (or the dead end), then the loop.
//
// Soundness with a depth bound: only expanded states count, and every edge of an expanded state is known, so a
// lasso found in a truncated graph is a real one; "holds" is claimed only when the graph was exhausted.
import type { LivenessProperty } from '../../spec/model.ts';
import type { StatePath } from './bfs.ts';
import { SharedInterner } from '../store/interner.ts';
import type { AnySpec } from '../spec-source.ts';
import { FrontierWriter, loadSegment, type Segment } from './frontier.ts';
import { createStateCodec } from '../store/state-codec.ts';

/** Marks a fault edge in the class array: faults get no fairness. */
const FAULT = 0xffff;
const NO_PARENT = -1;

export interface LivenessOptions {
  readonly spec: AnySpec;
  readonly properties: readonly LivenessProperty<unknown>[];
  readonly depth: number;
  readonly maxStates: number | null;
  readonly onProgress?: (p: { distinct: number; edges: number; depth: number }) => void;
}

export interface Lasso {
  /** From the initial state to the loop's first state, then round the loop back to it. */
  readonly path: StatePath;
  /** Steps of path before the loop. */
  readonly loopStart: number;
  /** The loop is empty: the last state has no protocol step (a dead end). */
  readonly deadEnd: boolean;
}

export interface LivenessVerdict {
  readonly name: string;
  readonly description: string;
  readonly status: 'holds' | 'violated' | 'unknown';
  /** Components of the bad subgraph with a cycle, and how many of them were fair. */
  readonly cyclicComponents: number;
  readonly fairComponents: number;
  readonly deadEnds: number;
  readonly lasso: Lasso | null;
}

export interface LivenessOutcome {
  readonly distinct: number;
  readonly edges: number;
  readonly depthReached: number;
  readonly exhausted: boolean;
  readonly graphBytes: number;
  readonly graphSeconds: number;
  readonly analysisSeconds: number;
  readonly verdicts: readonly LivenessVerdict[];
}

/** A growable typed array. */
class Grow<T extends Int32Array | Uint16Array | Uint8Array> {
  n = 0;
  constructor(
    public a: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = this.make(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

interface Graph {
  readonly states: number;
  /** States 0..expanded-1 have their edges: edgeStart[i]..edgeStart[i+1]. */
  readonly expanded: number;
  readonly edgeStart: Int32Array;
  readonly target: Int32Array;
  readonly cls: Uint16Array;
  readonly parent: Int32Array;
  readonly parentSucc: Uint16Array;
  readonly initIndex: Int32Array;
  /** Per property k, bit 2k: hypothesis holds; bit 2k+1: goal holds. */
  readonly marks: Uint8Array;
  readonly depthReached: number;
  readonly exhausted: boolean;
  readonly classes: number;
}

function buildGraph(opts: LivenessOptions): Graph {
  const { spec, properties } = opts;
  if (properties.length > 4) throw new Error('liveness: at most 4 properties at once');
  const codec = createStateCodec(new SharedInterner());
  const ids = new Map<number, number>();
  const target = new Grow(new Int32Array(1 << 16), (n) => new Int32Array(n));
  const cls = new Grow(new Uint16Array(1 << 16), (n) => new Uint16Array(n));
  const edgeStart = new Grow(new Int32Array(1 << 14), (n) => new Int32Array(n));
  const parent = new Grow(new Int32Array(1 << 14), (n) => new Int32Array(n));
  const parentSucc = new Grow(new Uint16Array(1 << 14), (n) => new Uint16Array(n));
  const initIndex = new Grow(new Int32Array(16), (n) => new Int32Array(n));
  const marks = new Grow(new Uint8Array(1 << 14), (n) => new Uint8Array(n));
  const classIds = new Map<string, number>();
  const isFault = spec.isFault?.bind(spec) ?? ((_b: unknown, a: { kind: string }) => (spec.faultKinds ?? []).includes(a.kind));
  const limit = opts.maxStates ?? 0xffff_0000;

  function key(): number {
    // 53 of the fingerprint's 64 bits (the collision odds are printed with the result).
    return (codec.fpHi() >>> 0) * 2 ** 21 + (codec.fpLo() >>> 11);
  }
  function add(state: unknown, from: number, succ: number): number {
    const len = codec.encode(state);
    const k = key();
    const known = ids.get(k);
    if (known !== undefined) return known;
    const id = ids.size;
    ids.set(k, id);
    parent.push(from);
    parentSucc.push(succ);
    let m = 0;
    properties.forEach((p, i) => {
      if (p.assume(state)) m |= 1 << (2 * i);
      if (p.goal(state)) m |= 1 << (2 * i + 1);
    });
    marks.push(m);
    writer.append(codec.scratch(), len);
    return id;
  }

  // The frontier is kept encoded, and each state decoded before it is expanded, as the safety search's threads
  // do: encoding a successor then reuses the bytes of every part it shares with the state just decoded.
  const writer = new FrontierWriter();
  spec.init().forEach((s, i) => {
    const before = ids.size;
    add(s, NO_PARENT, 0);
    if (ids.size > before) initIndex.push(i);
  });
  let level: Segment[] = writer.takeSegments().map(loadSegment);
  let depth = 0;
  let expanded = 0;
  let stopped = false;
  const levelStates = (segs: Segment[]) => segs.reduce((n, x) => n + x.count, 0);
  while (levelStates(level) > 0 && depth < opts.depth && !stopped) {
    for (const segment of level) {
      const bytes = new Uint8Array(segment.bytes);
      const offsets = new Uint32Array(segment.offsets);
      for (let r = 0; r < segment.count && !stopped; r++) {
        if (ids.size >= limit) {
          stopped = true;
          break;
        }
        const state = codec.decode(bytes, offsets[r]!, offsets[r + 1]!);
        edgeStart.push(target.n);
        const succs = spec.next(state);
        if (succs.length > 0xfffe) throw new Error('liveness: more than 65,534 successors of one state');
        succs.forEach((s, i) => {
          target.push(add(s.state, expanded, i));
          const a = s.action as { kind: string; sid: number; from?: number; peer?: number };
          if (isFault(state, a, s.state)) {
            cls.push(FAULT);
            return;
          }
          const name = `${a.kind}/${a.sid}/${a.from ?? ''}/${a.peer ?? ''}`;
          let c = classIds.get(name);
          if (c === undefined) classIds.set(name, (c = classIds.size));
          cls.push(c);
        });
        expanded++;
      }
    }
    const next = writer.takeSegments().map(loadSegment);
    if (!stopped) {
      level = next;
      if (levelStates(next) > 0) depth++;
    }
    opts.onProgress?.({ distinct: ids.size, edges: target.n, depth });
  }
  edgeStart.push(target.n);
  if (classIds.size >= FAULT) throw new Error('liveness: too many step classes');
  return {
    states: ids.size,
    expanded,
    edgeStart: edgeStart.a,
    target: target.a,
    cls: cls.a,
    parent: parent.a,
    parentSucc: parentSucc.a,
    initIndex: initIndex.a,
    marks: marks.a,
    depthReached: depth,
    exhausted: !stopped && levelStates(level) === 0 && expanded === ids.size,
    classes: classIds.size,
  };
}

/** The path from an initial state to `id`, as successor indices. */
function pathTo(g: Graph, id: number): StatePath {
  const steps: number[] = [];
  let at = id;
  while (g.parent[at] !== NO_PARENT) {
    steps.push(g.parentSucc[at]!);
    at = g.parent[at]!;
  }
  return { init: g.initIndex[at]!, steps: steps.reverse() };
}

/**
 * Strongly connected components of the subgraph `inside` (protocol edges only), iteratively (Tarjan). Returns
 * comp[id] (-1 outside) and the number of components.
 */
function components(g: Graph, inside: (id: number) => boolean): { comp: Int32Array; count: number } {
  const n = g.expanded;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  const callNode = new Int32Array(n);
  const callEdge = new Int32Array(n);
  let sp = 0;
  let counter = 0;
  let count = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1 || !inside(root)) continue;
    let depth = 0;
    callNode[0] = root;
    callEdge[0] = g.edgeStart[root]!;
    index[root] = low[root] = counter++;
    stack[sp++] = root;
    onStack[root] = 1;
    while (depth >= 0) {
      const v = callNode[depth]!;
      const e = callEdge[depth]!;
      if (e < g.edgeStart[v + 1]!) {
        callEdge[depth] = e + 1;
        const w = g.target[e]!;
        if (g.cls[e] === FAULT || w >= n || !inside(w)) continue;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack[sp++] = w;
          onStack[w] = 1;
          depth++;
          callNode[depth] = w;
          callEdge[depth] = g.edgeStart[w]!;
        } else if (onStack[w] === 1 && index[w]! < low[v]!) {
          low[v] = index[w]!;
        }
        continue;
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack[--sp]!;
          onStack[w] = 0;
          comp[w] = count;
        } while (w !== v);
        count++;
      }
      depth--;
      if (depth >= 0) {
        const u = callNode[depth]!;
        if (low[v]! < low[u]!) low[u] = low[v]!;
      }
    }
  }
  return { comp, count };
}

/** Classes with a protocol edge out of `v` (to anywhere: enabledness does not depend on the target). */
function enabledClasses(g: Graph, v: number, out: Set<number>): Set<number> {
  out.clear();
  for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) if (g.cls[e] !== FAULT) out.add(g.cls[e]!);
  return out;
}

/** Shortest non-empty path inside component c from `from` to a state satisfying `to`, as edge indices (BFS). */
function pathInside(g: Graph, comp: Int32Array, c: number, from: number, to: (v: number) => boolean): number[] {
  const via = new Map<number, number>([[from, -1]]);
  const queue = [from];
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi]!;
    for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) {
      const w = g.target[e]!;
      if (g.cls[e] === FAULT || w >= g.expanded || comp[w] !== c) continue;
      if (to(w)) return [...edgesBack(g, via, v), e];
      if (via.has(w)) continue;
      via.set(w, e);
      queue.push(w);
    }
  }
  throw new Error('liveness: internal: no path inside a component');
}

function edgesBack(g: Graph, via: Map<number, number>, end: number): number[] {
  const edges: number[] = [];
  let v = end;
  for (;;) {
    const e = via.get(v)!;
    if (e < 0) break;
    edges.push(e);
    v = sourceOf(g, e);
  }
  return edges.reverse();
}

function sourceOf(g: Graph, e: number): number {
  let lo = 0;
  let hi = g.expanded - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (g.edgeStart[mid]! <= e) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A fair loop from `entry` round component c, as edge indices; built by detours (see the file's comment). */
function fairLoop(g: Graph, comp: Int32Array, c: number, entry: number): number[] {
  const scratch = new Set<number>();
  const loop: number[] = [];
  const goRound = (edges: number[]) => loop.push(...edges);
  // A first cycle through entry: out along any internal edge and back.
  goRound(pathInside(g, comp, c, entry, (v) => v === entry));
  for (let guard = 0; guard <= g.classes + 1; guard++) {
    const visited = [entry, ...loop.map((e) => g.target[e]!)];
    const taken = new Set(loop.map((e) => g.cls[e]!));
    let always = new Set<number>(enabledClasses(g, entry, scratch));
    for (const v of visited) {
      const en = enabledClasses(g, v, scratch);
      always = new Set([...always].filter((x: number) => en.has(x)));
    }
    const starved = [...always].find((x) => !taken.has(x));
    if (starved === undefined) return loop;
    // Take the starved class inside the component, or pass a state where it is disabled.
    let detourEnd = -1;
    let edge = -1;
    for (let v = 0; v < g.expanded && detourEnd < 0; v++) {
      if (comp[v] !== c) continue;
      if (!enabledClasses(g, v, scratch).has(starved)) {
        detourEnd = v;
        break;
      }
      for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) {
        const w = g.target[e]!;
        if (g.cls[e] === starved && w < g.expanded && comp[w] === c) {
          detourEnd = v;
          edge = e;
          break;
        }
      }
    }
    if (detourEnd < 0) throw new Error('liveness: internal: a fair component without a fair loop');
    const there = detourEnd === entry ? [] : pathInside(g, comp, c, entry, (v) => v === detourEnd);
    goRound(there);
    let at = detourEnd;
    if (edge >= 0) {
      loop.push(edge);
      at = g.target[edge]!;
    }
    if (at !== entry) goRound(pathInside(g, comp, c, at, (v) => v === entry));
  }
  throw new Error('liveness: internal: the fair loop did not settle');
}

function checkProperty(g: Graph, k: number, p: LivenessProperty<unknown>): LivenessVerdict {
  const bad = (v: number) => (g.marks[v]! & (1 << (2 * k))) !== 0 && (g.marks[v]! & (1 << (2 * k + 1))) === 0;
  let deadEnds = 0;
  let firstDead = -1;
  for (let v = 0; v < g.expanded; v++) {
    if (!bad(v)) continue;
    let protocolSteps = 0;
    for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) if (g.cls[e] !== FAULT) protocolSteps++;
    if (protocolSteps === 0) {
      deadEnds++;
      if (firstDead < 0) firstDead = v;
    }
  }
  const { comp, count } = components(g, bad);
  const size = new Int32Array(count);
  const cyclic = new Uint8Array(count);
  const first = new Int32Array(count).fill(-1);
  for (let v = 0; v < g.expanded; v++) {
    const c = comp[v]!;
    if (c < 0) continue;
    size[c]!++;
    if (first[c] === -1) first[c] = v;
    for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) {
      if (g.cls[e] !== FAULT && g.target[e] === v) cyclic[c] = 1;
    }
  }
  for (let c = 0; c < count; c++) if (size[c]! > 1) cyclic[c] = 1;
  // Per cyclic component: how many of its states enable each class, and which classes it takes inside.
  const enabledCount = new Map<number, Map<number, number>>();
  const takenInside = new Map<number, Set<number>>();
  const scratch = new Set<number>();
  for (let v = 0; v < g.expanded; v++) {
    const c = comp[v]!;
    if (c < 0 || cyclic[c] === 0) continue;
    let counts = enabledCount.get(c);
    if (counts === undefined) enabledCount.set(c, (counts = new Map()));
    let taken = takenInside.get(c);
    if (taken === undefined) takenInside.set(c, (taken = new Set()));
    for (const x of enabledClasses(g, v, scratch)) counts.set(x, (counts.get(x) ?? 0) + 1);
    for (let e = g.edgeStart[v]!; e < g.edgeStart[v + 1]!; e++) {
      const w = g.target[e]!;
      if (g.cls[e] !== FAULT && w < g.expanded && comp[w] === c) taken.add(g.cls[e]!);
    }
  }
  let cyclicComponents = 0;
  let fairComponents = 0;
  let fairest = -1;
  for (let c = 0; c < count; c++) {
    if (cyclic[c] === 0) continue;
    cyclicComponents++;
    const taken = takenInside.get(c)!;
    const fair = [...enabledCount.get(c)!].every(([x, n]) => n < size[c]! || taken.has(x));
    if (!fair) continue;
    fairComponents++;
    if (fairest < 0 || first[c]! < first[fairest]!) fairest = c;
  }
  let lasso: Lasso | null = null;
  // The lasso whose loop starts nearest the initial state (state ids are in breadth-first order).
  if (fairest >= 0 && (firstDead < 0 || first[fairest]! < firstDead)) {
    const entry = first[fairest]!;
    const prefix = pathTo(g, entry);
    const loop = fairLoop(g, comp, fairest, entry).map((e) => e - g.edgeStart[sourceOf(g, e)]!);
    lasso = { path: { init: prefix.init, steps: [...prefix.steps, ...loop] }, loopStart: prefix.steps.length, deadEnd: false };
  } else if (firstDead >= 0) {
    const prefix = pathTo(g, firstDead);
    lasso = { path: prefix, loopStart: prefix.steps.length, deadEnd: true };
  }
  const status = lasso !== null ? 'violated' : g.exhausted ? 'holds' : 'unknown';
  return { name: p.name, description: p.description, status, cyclicComponents, fairComponents, deadEnds, lasso };
}

export function runLiveness(opts: LivenessOptions): LivenessOutcome {
  const t0 = performance.now();
  const g = buildGraph(opts);
  const t1 = performance.now();
  const verdicts = opts.properties.map((p, k) => checkProperty(g, k, p));
  const graphBytes = g.edgeStart.byteLength + g.target.byteLength + g.cls.byteLength + g.parent.byteLength + g.parentSucc.byteLength + g.marks.byteLength;
  return {
    distinct: g.states,
    edges: g.edgeStart[g.expanded]!,
    depthReached: g.depthReached,
    exhausted: g.exhausted,
    graphBytes,
    graphSeconds: (t1 - t0) / 1000,
    analysisSeconds: (performance.now() - t1) / 1000,
    verdicts,
  };
}
