// The search for a spec path that explains every logged step, over the causal orders of the steps near the
// reference order (merge.ts).
//
// A search node is a spec state and the set of logged steps it has explained: every step of rank below
// `base`, and those in `extra` (ranks ≥ base). Level k holds the nodes that explained k steps. A node may
// take the step of rank r next if r < base + window, the step before it of the same server is explained, and
// so is every step that sent a message it receives. Nodes that reach the same spec state with the same set
// are one. Only the steps between the lowest base and the highest base + window are held in memory, and
// at most `maxNodes` nodes per level (the ones closest to the reference order; the result then says
// `bounded`).
import type { ClusterState } from '../../spec/index.ts';
import type { CausalMerger, RankedStep } from './merge.ts';
import { explainStep, type ExplainContext } from './explain.ts';

export interface SearchOptions {
  readonly window: number;
  readonly maxNodes: number;
}

export interface SearchNode {
  readonly state: ClusterState;
  readonly base: number;
  /** Sorted ranks ≥ base already explained. */
  readonly extra: readonly number[];
  readonly specSteps: number;
  readonly bridges: number;
  /** By sid: the last step explained of that server was the last of its log file (it stopped or was killed). */
  readonly ended: readonly boolean[];
}

export interface SearchStats {
  steps: number;
  events: number;
  specStepsOnPath: number;
  statesExplored: number;
  maxNodesPerLevel: number;
  maxBuffered: number;
  bridges: number;
  bounded: boolean;
  /** Search nodes expanded in all, and how often the search rewound to explore other orders. */
  nodesExpanded: number;
  rewinds: number;
}

export type SearchResult =
  | { readonly ok: true; readonly stats: SearchStats; /** The spec state at the end of each complete explanation found. */ readonly finals: readonly ClusterState[] }
  | {
      readonly ok: false;
      readonly stats: SearchStats;
      /** The node that got furthest, and the step it could not explain. */
      readonly node: SearchNode;
      readonly failed: RankedStep;
      readonly failedEvent: number;
      /** The steps of the failed step's server before it, in the reference order (at most 6). */
      readonly preceding: readonly RankedStep[];
    };

/**
 * A hash of a state for merging search nodes, cached per object: spec states are immutable and share most of
 * their parts with their parent, so hashing a successor walks only what changed. Two 32-bit lanes; states
 * whose hashes collide are merged, which can only lose explanations (a pass stays a pass), never invent one.
 */
const hashCache = new WeakMap<object, number>();

function mixString(h: number, str: string): number {
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 16777619);
  return h >>> 0;
}

function hashValue(v: unknown): number {
  if (v === null || typeof v !== 'object') return mixString(2166136261, typeof v === 'string' ? 's' + v : String(v));
  const cached = hashCache.get(v);
  if (cached !== undefined) return cached;
  let a = Array.isArray(v) ? 0x9e3779b1 : 0x85ebca6b;
  let b = 0x27d4eb2f;
  if (Array.isArray(v)) {
    for (const x of v) {
      const h = hashValue(x);
      a = Math.imul(a ^ h, 0x01000193) >>> 0;
      b = (Math.imul(b, 31) + h) >>> 0;
    }
  } else {
    for (const k in v as Record<string, unknown>) {
      const h = (hashValue((v as Record<string, unknown>)[k]) ^ mixString(2166136261, k)) >>> 0;
      a = Math.imul(a ^ h, 0x01000193) >>> 0;
      b = (Math.imul(b, 31) + h) >>> 0;
    }
  }
  const out = (a ^ Math.imul(b, 0x5bd1e995)) >>> 0;
  hashCache.set(v, out * 2097152 + (b & 0x1fffff));
  return out * 2097152 + (b & 0x1fffff);
}

/**
 * The budget of partitions and txns is left out: conform runs with those unbounded, and two explanations of one
 * lost connection (the learner timed out, or the connection broke) differ only there.
 */
export function stateKey(s: ClusterState): string {
  return String(hashValue([s.servers, s.election, s.quorum, s.ghost, s.budget.crashes]));
}

function consumed(n: SearchNode, r: number): boolean {
  return r < n.base || n.extra.includes(r);
}

export function search(
  merger: CausalMerger,
  makeCtx: (node: SearchNode, unlogged: (sid: number) => boolean) => ExplainContext,
  init: ClusterState,
  opts: SearchOptions,
  onLevel?: (level: number, nodes: number) => void,
): SearchResult {
  const buffer = new Map<number, RankedStep>();
  let loaded = 0; // ranks [lowest kept, loaded) are in the buffer
  let exhausted = false;
  const recent = new Map<number, RankedStep[]>(); // per server, its last steps in reference order
  const stats: SearchStats = { steps: 0, events: 0, specStepsOnPath: 0, statesExplored: 0, maxNodesPerLevel: 1, maxBuffered: 0, bridges: 0, bounded: false, nodesExpanded: 0, rewinds: 0 };
  const load = (upTo: number) => {
    while (!exhausted && loaded < upTo) {
      const r = merger.next();
      if (r === null) {
        exhausted = true;
        break;
      }
      buffer.set(r.rank, r);
      loaded = r.rank + 1;
      stats.steps++;
      stats.events += r.step.events.length;
    }
    stats.maxBuffered = Math.max(stats.maxBuffered, buffer.size);
  };
  const remember = (r: RankedStep) => {
    let list = recent.get(r.step.sid);
    if (list === undefined) recent.set(r.step.sid, (list = []));
    if (list.length > 0 && list[list.length - 1]!.rank >= r.rank) return;
    list.push(r);
    if (list.length > 6) list.shift();
  };

  // The search runs narrow (the reference order, window 1) and, when a level comes out empty, rewinds
  // `opts.window` levels and runs wide (every causal order within the window) until it is past that point.
  const narrow = 1;
  let width = narrow;
  let wideUntil = -1;
  const snapshots: { depth: number; nodes: SearchNode[] }[] = [];
  let level: SearchNode[] = [{ state: init, base: 0, extra: [], specSteps: 0, bridges: 0, ended: init.servers.map(() => false).concat(false) }];
  let depth = 0;
  for (;;) {
    const maxBase = Math.max(...level.map((n) => n.base));
    load(maxBase + opts.window + 1);
    if (exhausted && level.some((n) => n.base >= loaded)) {
      const complete = level.filter((n) => n.base >= loaded);
      const done = complete[0]!;
      stats.specStepsOnPath = done.specSteps;
      stats.bridges = done.bridges;
      return { ok: true, stats, finals: complete.map((n) => n.state) };
    }
    snapshots.push({ depth, nodes: level });
    if (snapshots.length > opts.window + 2) snapshots.shift();
    // Children grouped by the steps they explained; the (costly) state key only where a group has several.
    const groups = new Map<string, SearchNode[]>();
    stats.nodesExpanded += level.length;
    for (const node of level) {
      const unlogged = (sid: number): boolean => node.ended[sid] === true;
      const ctx = makeCtx(node, unlogged);
      for (let r = node.base; r < Math.min(loaded, node.base + width); r++) {
        if (consumed(node, r)) continue;
        const rs = buffer.get(r)!;
        if (rs.prevSameServer >= 0 && !consumed(node, rs.prevSameServer)) continue;
        if (!rs.deps.every((d) => consumed(node, d))) continue;
        const out = explainStep(ctx, node.state, rs.step);
        stats.statesExplored += out.explored;
        for (const x of out.results) {
          let base = node.base;
          let extra = [...node.extra, r].sort((a, b) => a - b);
          while (extra.length > 0 && extra[0] === base) {
            extra = extra.slice(1);
            base++;
          }
          const ended = node.ended.slice();
          ended[rs.step.sid] = rs.step.lastOfIncarnation;
          const child: SearchNode = { state: x.state, base, extra, specSteps: node.specSteps + x.specSteps, bridges: node.bridges + x.bridges.length, ended };
          const key = `${base}|${extra.join(',')}|${ended.map((e) => (e ? 1 : 0)).join('')}`;
          const g = groups.get(key);
          if (g === undefined) groups.set(key, [child]);
          else g.push(child);
        }
      }
    }
    const next: SearchNode[] = [];
    for (const g of groups.values()) {
      if (g.length === 1) {
        next.push(g[0]!);
        continue;
      }
      const seen = new Set<string>();
      for (const n of g) {
        const k = stateKey(n.state);
        if (!seen.has(k)) {
          seen.add(k);
          next.push(n);
        }
      }
    }
    if (next.length === 0 && width < opts.window) {
      // Rewind and search wide.
      stats.rewinds++;
      const from = snapshots[0]!;
      snapshots.length = 0;
      wideUntil = depth + opts.window + 1;
      width = opts.window;
      depth = from.depth;
      level = from.nodes;
      continue;
    }
    if (next.length === 0) {
      const node = level.reduce((a, b) => (b.base > a.base ? b : a));
      const failed = buffer.get(node.base)!;
      const out = explainStep(makeCtx(node, () => false), node.state, failed.step);
      const preceding: RankedStep[] = [];
      for (let r = Math.max(0, node.base - 200); r < node.base; r++) {
        const b = buffer.get(r);
        if (b !== undefined && b.step.sid === failed.step.sid) preceding.push(b);
      }
      for (const p of recent.get(failed.step.sid) ?? []) if (p.rank < node.base && !preceding.some((x) => x.rank === p.rank)) preceding.push(p);
      preceding.sort((a, b) => a.rank - b.rank);
      return { ok: false, stats, node, failed, failedEvent: Math.max(0, out.failedAt), preceding: preceding.slice(-6) };
    }
    let nodes = next;
    if (nodes.length > opts.maxNodes) {
      stats.bounded = true;
      nodes.sort((a, b) => b.base - a.base || a.extra.length - b.extra.length);
      nodes = nodes.slice(0, opts.maxNodes);
    }
    stats.maxNodesPerLevel = Math.max(stats.maxNodesPerLevel, nodes.length);
    level = nodes;
    depth++;
    if (width > narrow && depth >= wideUntil) width = narrow;
    onLevel?.(depth, nodes.length);
    // Drop what no node needs any more (keep a few per server for the report).
    const minBase = Math.min(...(snapshots[0]?.nodes ?? level).map((n) => n.base), ...level.map((n) => n.base));
    for (const [r, rs] of buffer) {
      if (r < minBase - 8) {
        remember(rs);
        buffer.delete(r);
      }
    }
  }
}
