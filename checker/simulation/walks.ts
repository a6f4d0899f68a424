// Random walks through the spec (--simulate): each walk starts from an initial state and takes one enabled
// step at random until the depth bound or a state with no successor, checking the properties on every state.
// Walk i draws from its own generator, seeded from the run's seed and i, so a walk does not depend on which
// thread runs it or on the walks before it: a failure is reproduced by its walk's seed alone. A broken step (the
// state's steps throw, one is not a step, or the successor the walk takes is not plain data) is a violation of
// stepsWellDefined at the state the walk is in, as in the breadth-first search (search/step-failure.ts).
import type { Property } from '../../spec/model.ts';
import type { AnySpec } from '../spec-source.ts';
import { mulberry32 } from '../../traces/random.ts';
import { notAStep, notPlainSuccessor, stepThrew, STEPS_WELL_DEFINED } from '../search/step-failure.ts';

export interface SimulationRequest {
  readonly propertyNames: readonly string[];
  readonly seed: number;
  readonly firstWalk: number;
  readonly walks: number;
  readonly depth: number;
  /**
   * --liveness with --simulate: the bounded form of the spec's liveness properties. After the walk's last fault
   * (or its start), while the hypothesis holds, the goal must hold within this many steps; null: not checked.
   */
  readonly livenessSteps?: number | null;
  /** Walks at or above this index need not run (a lower one already failed); shared flag word. */
  readonly stop: Int32Array | null;
}

export interface WalkFailure {
  readonly walk: number;
  /** The walk's own seed: `--simulate --walks 1 --seed <it>` replays this walk alone. */
  readonly walkSeed: number;
  /** The property's index among those checked; for a liveness property, that count plus its index in spec.liveness. */
  readonly prop: number;
  readonly message: string | null;
  /** Index in spec.init(), then a successor index per step. */
  readonly path: number[];
}

export interface SimulationResult {
  readonly walks: number;
  readonly steps: number;
  readonly maxDepth: number;
  readonly fired: number[];
  readonly extraKinds: string[];
  /** Per property: the fewest steps at which a walk met a witness, or -1. */
  readonly witnessDepth: number[];
  readonly failure: WalkFailure | null;
}

/** Walk 0 uses the run's seed itself, so a failing walk's seed given back as --seed replays it as walk 0. */
export function walkSeed(seed: number, walk: number): number {
  if (walk === 0) return seed >>> 0;
  let z = (seed + Math.imul(walk, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A walk's generator: traces/random.ts's mulberry32 (one generator for every seed the project prints). */
export const makeRandom = mulberry32;

/**
 * A walk takes one of the environment's steps (spec.faultKinds) 1 time in FAULT_ODDS when the protocol could
 * also move: uniform choice spent the crash budget before the first leader was elected, so walks never saw a
 * leader crash. With only faults enabled, or none, the choice is uniform.
 */
export const FAULT_ODDS = 16;

/** The index of the successor a walk takes. */
function choose(succs: readonly { readonly action: { readonly kind: string } }[], faults: ReadonlySet<string>, random: () => number): number {
  if (faults.size === 0) return random() % succs.length;
  let nf = 0;
  for (const x of succs) if (faults.has(x.action.kind)) nf++;
  if (nf === 0 || nf === succs.length) return random() % succs.length;
  const fault = random() % FAULT_ODDS === 0;
  let k = random() % (fault ? nf : succs.length - nf);
  for (let j = 0; j < succs.length; j++) {
    if (faults.has(succs[j]!.action.kind) === fault && k-- === 0) return j;
  }
  throw new Error('unreachable: the successor counts changed');
}

export function runWalks(spec: AnySpec, props: readonly Property<unknown>[], req: SimulationRequest): SimulationResult {
  const faults: ReadonlySet<string> = new Set(spec.faultKinds ?? []);
  const isFault = spec.isFault?.bind(spec) ?? ((_b: unknown, a: { kind: string }) => faults.has(a.kind));
  const live = req.livenessSteps == null ? [] : (spec.liveness ?? []);
  const bound = req.livenessSteps ?? 0;
  const kinds = [...spec.actionKinds];
  const kindIndex = new Map(kinds.map((k, i) => [k, i]));
  const fired = new Array<number>(kinds.length).fill(0);
  const witnessDepth = props.map(() => -1);
  // stepsWellDefined (when selected) is met where the walk computes the steps, not by its check (which would
  // compute them all again); -1: not selected, a broken step throws as before.
  const stepsProp = props.findIndex((p) => p.name === STEPS_WELL_DEFINED);
  const inits = spec.init();
  let steps = 0;
  let maxDepth = 0;
  let walks = 0;
  for (let w = req.firstWalk; w < req.firstWalk + req.walks; w++) {
    if (req.stop !== null && w >= Atomics.load(req.stop, 0)) break;
    const seed = walkSeed(req.seed, w);
    const random = makeRandom(seed);
    const first = random() % inits.length;
    const path = [first];
    let state: unknown = inits[first];
    let depth = 0;
    // Per liveness property: the step since which the hypothesis held and the goal did not, with no fault since.
    const short = live.map(() => 0);
    for (;;) {
      let bad = checkState(props, state, depth, witnessDepth, stepsProp);
      let broken: string | null = null;
      let succs: ReturnType<AnySpec['next']> = [];
      if (depth < req.depth) {
        try {
          succs = spec.next(state);
        } catch (e) {
          if (stepsProp < 0) throw e;
          broken = stepThrew(e);
        }
        for (let j = 0; j < succs.length && broken === null && stepsProp >= 0; j++) broken = notAStep(succs[j], j);
        if (broken !== null) succs = [];
      }
      // The step the walk takes, drawn here (no other draw comes between) so that the successor it makes can be
      // checked for plain data first.
      const j = bad === null && broken === null && succs.length > 0 ? choose(succs, faults, random) : -1;
      if (j >= 0 && stepsProp >= 0) broken = notPlainSuccessor(succs[j]!);
      if (bad === null && broken !== null) bad = stepsProp;
      // A state with no step left, short of the goal, is a dead end: a failure whatever the bound.
      const deadEnd = live.length > 0 && depth < req.depth && succs.every((x) => isFault(state, x.action, x.state));
      for (let p = 0; p < live.length && bad === null; p++) {
        if (live[p]!.goal(state) || !live[p]!.assume(state)) short[p] = depth;
        else if (depth - short[p]! >= bound || deadEnd) bad = props.length + p;
      }
      if (bad !== null) {
        if (req.stop !== null) Atomics.store(req.stop, 0, Math.min(Atomics.load(req.stop, 0), w));
        const extraKinds = kinds.slice(spec.actionKinds.length);
        const explain = bad < props.length ? props[bad]!.explain : live[bad - props.length]!.explain;
        const message = bad === stepsProp && broken !== null ? broken : (explain?.(state) ?? null);
        const failure = { walk: w, walkSeed: seed, prop: bad, message, path };
        return { walks: walks + 1, steps, maxDepth: Math.max(maxDepth, depth), fired, extraKinds, witnessDepth, failure };
      }
      if (depth === req.depth || succs.length === 0) break;
      const { action, state: next } = succs[j]!;
      let k = kindIndex.get(action.kind);
      if (k === undefined) {
        k = kinds.length;
        kinds.push(action.kind);
        kindIndex.set(action.kind, k);
        fired.push(0);
      }
      fired[k]!++;
      if (live.length > 0 && isFault(state, action, next)) short.fill(depth + 1);
      path.push(j);
      state = next;
      depth++;
      steps++;
    }
    maxDepth = Math.max(maxDepth, depth);
    walks++;
  }
  return { walks, steps, maxDepth, fired, extraKinds: kinds.slice(spec.actionKinds.length), witnessDepth, failure: null };
}

/** The index of a violated invariant, or null; records reachability witnesses on the way. */
function checkState(props: readonly Property<unknown>[], state: unknown, depth: number, witnessDepth: number[], skip: number): number | null {
  for (let p = 0; p < props.length; p++) {
    const prop = props[p]!;
    if (p === skip) continue;
    if (prop.kind === 'invariant') {
      if (!prop.check(state)) return p;
    } else if ((witnessDepth[p]! < 0 || depth < witnessDepth[p]!) && prop.check(state)) {
      witnessDepth[p] = depth;
    }
  }
  return null;
}
