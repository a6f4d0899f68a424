// One run of the checker, from a validated configuration to a RunResult (plain data that report.ts prints as
// text or JSON): load the spec, select its properties, search (BFS or random walks), rebuild and write the
// counterexample.
import type { Property, PropertyKind } from '../spec/model.ts';
import { runBfs, type BfsOutcome, type StopReason } from './search/bfs.ts';
import { hasCheckpoint, readCheckpoint, type SearchIdentity } from './search/checkpoint.ts';
import { stepsWellDefined } from './search/step-failure.ts';
import { buildBoundedCounterexample, buildCounterexample, buildLassoCounterexample, type Counterexample } from './report/counterexample.ts';
import type { WalkFailure } from './simulation/walks.ts';
import { runLiveness, type LivenessVerdict } from './search/liveness.ts';
import { collisionProbability } from './store/fingerprint-table.ts';
import { UsageError, type CheckConfig } from './flags.ts';
import { shrinkPath } from './simulation/shrink.ts';
import { failurePath, runSimulation } from './simulation/simulate.ts';
import { loadMutations, loadSpec, type AnySpec } from './spec-source.ts';
import { attachTrace } from './report/trace-writer.ts';
import { attachChart } from './chart/sources.ts';

export type PropertyStatus = 'holds' | 'violated' | 'witnessed' | 'not-reached';

export interface PropertyVerdict {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly description: string;
  readonly status: PropertyStatus;
  /** Depth of the violation or of the first witness. */
  readonly depth: number | null;
}

export interface CoverageEntry {
  readonly kind: string;
  /** Transitions taken (BFS: every successor generated; simulation: steps of the walks). */
  readonly fired: number;
  /** BFS only: transitions that reached a state not seen before. */
  readonly distinct: number | null;
}

export interface RunResult {
  readonly spec: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly mode: 'bfs' | 'simulate';
  readonly bounds: { depth: number; maxStates: number | null; workers: number; maxMemoryBytes: number; walks?: number; seed?: number };
  /** BFS: states generated (successors, duplicates included). Simulation: states visited by the walks. */
  readonly generated: number;
  /** BFS: distinct states. Simulation: null (walks do not deduplicate). */
  readonly distinct: number | null;
  readonly steps: number | null;
  readonly walks: number | null;
  readonly depthReached: number;
  readonly exhausted: boolean;
  readonly stopReason: StopReason | null;
  readonly wallSeconds: number;
  /** BFS: distinct states per second. Simulation: steps per second. */
  readonly statesPerSecond: number;
  readonly collisionProbability: number | null;
  readonly memory: {
    readonly tableBytes: number | null;
    readonly parentBytes: number | null;
    /** (fingerprint table + parent links) / distinct states. */
    readonly bytesPerState: number | null;
    readonly peakFrontierBytes: number | null;
    /** The largest frontier spilled to disk (--frontier-memory), 0 when none did. */
    readonly peakSpilledBytes: number | null;
    readonly peakRssBytes: number;
  };
  /** --por: successors generated and skipped by the sleep sets (generated + skipped is what the full search generates). */
  readonly reduction: { readonly generated: number; readonly skipped: number; readonly factor: number } | null;
  /** --checkpoint / --resume: where, how many were written, and where the search went on from. */
  readonly checkpoint: { readonly dir: string; readonly written: number; readonly resumedFrom: { readonly depth: number; readonly distinct: number } | null } | null;
  readonly properties: readonly PropertyVerdict[];
  readonly coverage: readonly CoverageEntry[];
  readonly neverFired: readonly string[];
  readonly counterexample: Counterexample | null;
  /** --liveness: the graph searched again with its edges, and a verdict (with its lasso) per liveness property. */
  readonly liveness: LivenessResult | null;
  /** Simulation failures: the failing walk and its own seed (replays it with --walks 1 --seed <it>). */
  readonly failingWalk: { readonly walk: number; readonly seed: number } | null;
  readonly verdict: 'pass' | 'fail';
}

export interface LivenessResult {
  readonly distinct: number;
  readonly edges: number;
  readonly depthReached: number;
  readonly exhausted: boolean;
  readonly graphBytes: number;
  readonly seconds: number;
  readonly properties: readonly (Omit<LivenessVerdict, 'lasso'> & { readonly counterexample: Counterexample | null })[];
}

function checkLiveness(config: CheckConfig, spec: AnySpec, onProgress?: (line: Record<string, number>) => void): LivenessResult {
  const started = performance.now();
  const out = runLiveness({
    spec,
    properties: spec.liveness ?? [],
    depth: config.depth,
    maxStates: config.maxStates,
    onProgress: (p) => onProgress?.({ distinct: p.distinct, edges: p.edges, depth: p.depth }),
  });
  const properties = out.verdicts.map(({ lasso, ...v }) => {
    if (lasso === null) return { ...v, counterexample: null };
    const cx = buildLassoCounterexample(spec, v.name, lasso.path, lasso.loopStart);
    writeTraceAndChart(config, spec, cx);
    return { ...v, counterexample: cx };
  });
  return {
    distinct: out.distinct,
    edges: out.edges,
    depthReached: out.depthReached,
    exhausted: out.exhausted,
    graphBytes: out.graphBytes,
    seconds: (performance.now() - started) / 1000,
    properties,
  };
}

export async function loadChecked(config: CheckConfig): Promise<{ spec: AnySpec; properties: Property<unknown>[] }> {
  const mutations = await loadMutations(config.source.module);
  const requested = (config.source.options['mutations'] as string[] | undefined) ?? [];
  for (const m of requested) {
    if (!(m in mutations)) throw new UsageError(`--mutation: unknown mutation "${m}" (known: ${Object.keys(mutations).join(', ') || 'none'})`);
  }
  const spec = await loadSpec(config.source);
  return { spec, properties: selectProperties(spec, config.propertyNames) };
}

export function selectProperties(spec: AnySpec, names: readonly string[] | null): Property<unknown>[] {
  if (names === null) return spec.properties.filter((p) => p.byDefault);
  return [...new Set(names)].map((n) => {
    const p = spec.properties.find((q) => q.name === n);
    if (p === undefined) throw new UsageError(`--invariant: unknown property "${n}" (known: ${spec.properties.map((q) => q.name).join(', ')})`);
    return p;
  });
}

export async function runCheck(config: CheckConfig, onProgress?: (line: Record<string, number>) => void): Promise<RunResult> {
  const { spec, properties: selected } = await loadChecked(config);
  if (config.liveness && (spec.liveness ?? []).length === 0) throw new UsageError('--liveness: this spec has no liveness properties (--protocol fle has none)');
  const started = performance.now();
  // A step that throws or a successor that cannot be stored is a violation too, in the breadth-first search and in
  // walks alike (search/step-failure.ts).
  const properties = [...selected, stepsWellDefined(spec)];
  const base = { spec: spec.name, params: spec.params, properties };
  if (config.simulate === null) {
    const identity: SearchIdentity = { source: config.source, specName: spec.name, params: spec.params, propertyNames: properties.map((p) => p.name) };
    if (config.por && spec.footprint === undefined) throw new UsageError('--por: this spec declares no footprint for its steps (spec/model.ts)');
    const ck = config.checkpoint;
    const resume = ck !== null && (ck.mustExist || hasCheckpoint(ck.dir)) ? readCheckpoint(ck.dir, identity) : null;
    const out = await runBfs({
      source: config.source,
      spec,
      properties,
      depth: config.depth,
      maxStates: config.maxStates,
      workers: config.workers,
      maxMemoryBytes: config.maxMemoryBytes,
      timeLimitSeconds: config.timeLimitSeconds ?? null,
      frontierBudgetBytes: config.frontierMemoryBytes,
      checkpoint: ck === null ? null : { dir: ck.dir, everySeconds: ck.everySeconds, identity },
      por: config.por,
      resume,
      onProgress: (p) => onProgress?.({ distinct: p.distinct, queue: p.queue, depth: p.depth, generated: p.generated }),
    });
    const wall = (performance.now() - started) / 1000;
    const liveness = config.liveness ? checkLiveness(config, spec, onProgress) : null;
    return finishBfs(config, spec, base, out, wall, liveness);
  }
  const sim = config.simulate;
  const out = await runSimulation({
    source: config.source,
    spec,
    properties,
    walks: sim.walks,
    seed: sim.seed,
    depth: config.depth,
    livenessSteps: config.liveness ? sim.livenessSteps : null,
    workers: config.workers,
    maxMemoryBytes: config.maxMemoryBytes,
    onProgress: (p) => onProgress?.({ walks: p.walks, steps: p.steps }),
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const live = failedLiveness(config, spec, properties, out.failure);
  const failed = live === null ? out.failure : null;
  // The walk's path, shrunk to a shorter one that breaks the same invariant (checker/simulation/shrink.ts); not counted
  // in the time of the walks.
  const shrunk = failed === null ? null : shrinkPath(spec, properties[failed.prop]!, failurePath(failed));
  const verdicts = properties.map((p, i): PropertyVerdict => {
    const d = out.witnessDepth[i]!;
    if (p.kind === 'reachability') return verdict(p, d >= 0 ? 'witnessed' : 'not-reached', d >= 0 ? d : null);
    return failed !== null && failed.prop === i ? verdict(p, 'violated', shrunk!.path.steps.length) : verdict(p, 'holds', null);
  });
  const counterexample = live ?? (failed === null ? null : buildCounterexample(spec, properties[failed.prop]!.name, shrunk!.path));
  if (counterexample !== null && live === null) {
    counterexample.shrunkFrom = shrunk!.from;
    writeTraceAndChart(config, spec, counterexample);
  }
  return {
    spec: base.spec,
    params: base.params,
    mode: 'simulate',
    bounds: { depth: config.depth, maxStates: null, workers: config.workers, maxMemoryBytes: config.maxMemoryBytes, walks: sim.walks, seed: sim.seed },
    generated: out.steps + out.walks,
    distinct: null,
    steps: out.steps,
    walks: out.walks,
    depthReached: out.maxDepth,
    exhausted: false,
    stopReason: out.failure !== null ? 'violation' : out.stoppedForMemory ? 'max-memory' : null,
    wallSeconds,
    statesPerSecond: out.steps / Math.max(wallSeconds, 1e-9),
    collisionProbability: null,
    memory: { tableBytes: null, parentBytes: null, bytesPerState: null, peakFrontierBytes: null, peakSpilledBytes: null, peakRssBytes: peakRss() },
    checkpoint: null,
    reduction: null,
    properties: verdicts,
    ...coverage(spec, out.fired, null),
    counterexample,
    liveness: null,
    failingWalk: out.failure === null ? null : { walk: out.failure.walk, seed: out.failure.walkSeed },
    verdict: passes(verdicts) && live === null ? 'pass' : 'fail',
  };
}

/** A walk that broke the bounded form of a liveness property: its path, as a counterexample (not shrunk). */
function failedLiveness(config: CheckConfig, spec: AnySpec, properties: readonly Property<unknown>[], f: WalkFailure | null): Counterexample | null {
  if (f === null || f.prop < properties.length) return null;
  const name = spec.liveness![f.prop - properties.length]!.name;
  const cx = buildBoundedCounterexample(spec, name, failurePath(f), config.simulate!.livenessSteps);
  writeTraceAndChart(config, spec, cx);
  return cx;
}

function finishBfs(
  config: CheckConfig,
  spec: AnySpec,
  base: { spec: string; params: Readonly<Record<string, unknown>>; properties: Property<unknown>[] },
  out: BfsOutcome,
  wallSeconds: number,
  liveness: LivenessResult | null,
): RunResult {
  const props = base.properties;
  const verdicts = props.map((p, i): PropertyVerdict => {
    const hit = out.hits[i] ?? null;
    if (p.kind === 'reachability') return verdict(p, hit === null ? 'not-reached' : 'witnessed', hit?.depth ?? null);
    return verdict(p, hit === null ? 'holds' : 'violated', hit?.depth ?? null);
  });
  // The shortest violation: the first invariant violated at the least depth.
  let counterexample: Counterexample | null = null;
  const violated = props
    .map((p, i) => ({ p, hit: out.hits[i] ?? null }))
    .filter((x) => x.p.kind === 'invariant' && x.hit !== null)
    .sort((a, b) => a.hit!.depth - b.hit!.depth)[0];
  if (violated !== undefined) {
    counterexample = buildCounterexample(spec, violated.p.name, violated.hit!.path);
    writeTraceAndChart(config, spec, counterexample);
  }
  const kept = out.tableBytes + out.parentBytes;
  return {
    spec: base.spec,
    params: base.params,
    mode: 'bfs',
    bounds: { depth: config.depth, maxStates: config.maxStates, workers: config.workers, maxMemoryBytes: config.maxMemoryBytes },
    generated: out.generated,
    distinct: out.distinct,
    steps: null,
    walks: null,
    depthReached: out.depthReached,
    exhausted: out.exhausted,
    stopReason: out.stopReason,
    wallSeconds,
    // A resumed search counts the states it found itself, not those of the checkpoint it went on from.
    statesPerSecond: (out.distinct - (out.resumedFrom?.distinct ?? 0)) / Math.max(wallSeconds, 1e-9),
    collisionProbability: collisionProbability(out.distinct, out.generated),
    memory: {
      tableBytes: out.tableBytes,
      parentBytes: out.parentBytes,
      bytesPerState: out.distinct === 0 ? null : kept / out.distinct,
      peakFrontierBytes: out.peakFrontierBytes,
      peakSpilledBytes: out.peakSpilledBytes,
      peakRssBytes: peakRss(),
    },
    checkpoint: config.checkpoint === null ? null : { dir: config.checkpoint.dir, written: out.checkpointsWritten, resumedFrom: out.resumedFrom },
    reduction: config.por ? { generated: out.generated, skipped: out.skipped, factor: (out.generated + out.skipped) / Math.max(1, out.generated) } : null,
    properties: verdicts,
    ...coverage(spec, out.fired, out.firstReached),
    counterexample,
    liveness,
    failingWalk: null,
    verdict: passes(verdicts) && (liveness === null || liveness.properties.every((p) => p.status !== 'violated')) ? 'pass' : 'fail',
  };
}

function verdict(p: Property<unknown>, status: PropertyStatus, depth: number | null): PropertyVerdict {
  return { name: p.name, kind: p.kind, description: p.description, status, depth };
}

function passes(verdicts: readonly PropertyVerdict[]): boolean {
  return verdicts.every((v) => v.status === 'holds' || v.status === 'witnessed');
}

function coverage(spec: AnySpec, fired: ReadonlyMap<string, number>, firstReached: ReadonlyMap<string, number> | null) {
  const entries = [...fired.entries()].map(([kind, n]) => ({ kind, fired: n, distinct: firstReached?.get(kind) ?? null }));
  return { coverage: entries, neverFired: spec.actionKinds.filter((k) => (fired.get(k) ?? 0) === 0) };
}

/** A counterexample's trace file and, beside it, its chart (check prints both paths). */
function writeTraceAndChart(config: CheckConfig, spec: AnySpec, cx: Counterexample): void {
  attachTrace(config.out, spec, cx, traceParams(config, spec));
  attachChart(spec, cx);
}

/** The trace header's params: the spec's own, and the run's bounds. */
function traceParams(config: CheckConfig, spec: AnySpec): Record<string, unknown> {
  const run = config.simulate === null ? { mode: 'bfs', depth: config.depth } : { mode: 'simulate', depth: config.depth, seed: config.simulate.seed };
  return { ...spec.params, ...run };
}

/** Peak resident memory of the whole process (all threads), in bytes. */
function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}
