// A counterexample as people read it: the path re-executed through the spec, and for each step the action,
// its server, the message it consumed and those it sent (spec.describe), and every server variable it changed
// (spec.serverVars before and after).
import { isDeepStrictEqual } from 'node:util';
import type { MessageView, PropertyKind } from '../../spec/model.ts';
import type { StatePath } from '../search/bfs.ts';
import { replay } from './replay.ts';
import type { AnySpec } from '../spec-source.ts';
import { STEPS_WELL_DEFINED, stepsWellDefined } from '../search/step-failure.ts';

export interface VarChange {
  readonly sid: number;
  readonly name: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface CounterexampleStep {
  readonly step: number;
  readonly kind: string;
  readonly sid: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly recv: MessageView | null;
  readonly send: readonly MessageView[];
  readonly changes: readonly VarChange[];
}

export interface Counterexample {
  readonly property: string;
  readonly kind: PropertyKind | 'liveness';
  /** Liveness: the steps before the lasso's loop (the loop is the steps after them; none: a dead end). */
  readonly loopStart?: number;
  /** Liveness in random walks: the goal was short for this many steps at the end of the path, with no fault. */
  readonly boundedSteps?: number;
  /** The property's explanation of the last state, when it has one. */
  readonly message: string | null;
  readonly path: StatePath;
  readonly steps: readonly CounterexampleStep[];
  /** The trace file written for it, once written. */
  traceFile: string | null;
  /** Why no trace file could be written (the violation stands all the same), else null. */
  traceProblem: string | null;
  /** The chart of the trace (checker/chart/), once written; or why it could not be. */
  chartFile?: string | null;
  chartProblem?: string | null;
  /** A random walk's counterexample is shrunk (checker/simulation/shrink.ts): the walk's own length, else null. */
  shrunkFrom: number | null;
}

/** A liveness counterexample: the lasso re-executed, explained by the property at the loop's first state. */
export function buildLassoCounterexample(spec: AnySpec, property: string, path: StatePath, loopStart: number): Counterexample {
  const prop = spec.liveness?.find((p) => p.name === property);
  if (prop === undefined) throw new Error(`no liveness property ${property}`);
  const replayed = replay(spec, { init: path.init, steps: path.steps });
  const steps = describeSteps(spec, replayed);
  const entry = replayed[loopStart]!.state;
  const last = replayed[replayed.length - 1]!.state;
  if (!isDeepStrictEqual(entry, last)) throw new Error(`internal: the lasso of ${property} does not close its loop`);
  if (replayed.slice(loopStart).some((r) => prop.goal(r.state) || !prop.assume(r.state))) {
    throw new Error(`internal: the loop of ${property} meets the goal or leaves the hypothesis`);
  }
  return { property, kind: 'liveness', loopStart, message: prop.explain?.(entry) ?? null, path, steps, traceFile: null, traceProblem: null, shrunkFrom: null };
}

/** The bounded form's counterexample (random walks): a path whose last `bound` steps, faultless, miss the goal. */
export function buildBoundedCounterexample(spec: AnySpec, property: string, path: StatePath, bound: number): Counterexample {
  const prop = spec.liveness?.find((p) => p.name === property);
  if (prop === undefined) throw new Error(`no liveness property ${property}`);
  const replayed = replay(spec, { init: path.init, steps: path.steps });
  const last = replayed[replayed.length - 1]!.state;
  const deadEnd = spec.next(last).every((x) => spec.isFault?.(last, x.action, x.state) ?? (spec.faultKinds ?? []).includes(x.action.kind));
  const window = deadEnd ? replayed.slice(-1) : replayed.slice(-bound);
  if ((!deadEnd && replayed.length <= bound) || window.some((r) => prop.goal(r.state) || !prop.assume(r.state))) {
    throw new Error(`internal: the walk's last ${bound} steps do not all miss the goal of ${property}`);
  }
  const steps = describeSteps(spec, replayed);
  if (deadEnd) return { property, kind: 'liveness', loopStart: steps.length, message: prop.explain?.(last) ?? null, path, steps, traceFile: null, traceProblem: null, shrunkFrom: null };
  return { property, kind: 'liveness', boundedSteps: bound, message: prop.explain?.(last) ?? null, path, steps, traceFile: null, traceProblem: null, shrunkFrom: null };
}

function describeSteps(spec: AnySpec, replayed: ReturnType<typeof replay>): CounterexampleStep[] {
  const steps: CounterexampleStep[] = [];
  for (let i = 1; i < replayed.length; i++) {
    const before = replayed[i - 1]!.state;
    const { action, state: after } = replayed[i]!;
    // A broken spec's last state may not be readable (a violation says why): the step is then shown bare.
    let view: ReturnType<AnySpec['describe']>;
    try {
      view = spec.describe(before, action!, after);
    } catch {
      view = { kind: action!.kind, sid: action!.sid, params: {}, recv: null, send: [] };
    }
    let changes: VarChange[];
    try {
      changes = changedVars(spec, before, after);
    } catch {
      changes = [];
    }
    steps.push({ step: i, kind: view.kind, sid: view.sid, params: view.params, recv: view.recv, send: view.send, changes });
  }
  return steps;
}

export function buildCounterexample(spec: AnySpec, property: string, path: StatePath): Counterexample {
  const prop = spec.properties.find((p) => p.name === property) ?? (property === STEPS_WELL_DEFINED ? stepsWellDefined(spec) : undefined);
  if (prop === undefined) throw new Error(`no property ${property}`);
  const replayed = replay(spec, { init: path.init, steps: path.steps });
  const steps = describeSteps(spec, replayed);
  const last = replayed[replayed.length - 1]!.state;
  const holds = prop.check(last);
  if (prop.kind === 'invariant' ? holds : !holds) {
    throw new Error(`internal: the rebuilt path does not end in a ${prop.kind === 'invariant' ? 'violation' : 'witness'} of ${property}`);
  }
  return { property, kind: prop.kind, message: prop.explain?.(last) ?? null, path, steps, traceFile: null, traceProblem: null, shrunkFrom: null };
}

/** The server variables that differ between two states, server by server, in the spec's order. */
export function changedVars(spec: AnySpec, before: unknown, after: unknown): VarChange[] {
  const out: VarChange[] = [];
  for (const { sid } of spec.servers) {
    const b = spec.serverVars(before, sid);
    const a = spec.serverVars(after, sid);
    for (const name of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if (!isDeepStrictEqual(b[name], a[name])) out.push({ sid, name, before: b[name], after: a[name] });
    }
  }
  return out;
}

/** `NOTIFICATION 2->1 {leader:2, zxid:0x100000001, ...}` */
export function formatMessage(m: MessageView): string {
  const fields = Object.entries(m.fields).map(([k, v]) => `${k}:${compact(v)}`);
  return `${m.type} ${m.from}->${m.to}` + (fields.length > 0 ? ` {${fields.join(', ')}}` : '');
}

/** JSON without quotes around keys and plain strings: short enough to read in a terminal. */
export function compact(v: unknown): string {
  if (typeof v === 'string') return /^[\w.:-]+$/.test(v) ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(compact).join(', ')}]`;
  if (typeof v === 'object' && v !== null) return `{${Object.entries(v).map(([k, x]) => `${k}:${compact(x)}`).join(', ')}}`;
  return String(v);
}

export function formatCounterexample(cx: Counterexample): string[] {
  const shrunk = cx.shrunkFrom !== null && cx.shrunkFrom !== cx.steps.length ? `, shrunk from the walk's ${cx.shrunkFrom}` : '';
  const lasso = cx.loopStart === undefined ? '' : cx.loopStart === cx.steps.length ? ', a path to a dead end' : `, a lasso: ${cx.loopStart} steps, then a loop of ${cx.steps.length - cx.loopStart}`;
  const lines = [`Counterexample for ${cx.property} (${cx.steps.length} steps${shrunk}${lasso}, from initial state ${cx.path.init}):`];
  for (const s of cx.steps) {
    if (cx.loopStart !== undefined && s.step === cx.loopStart + 1) lines.push(`  -- loop: from here the steps repeat forever --`);
    const params = Object.entries(s.params).map(([k, v]) => `${k}=${compact(v)}`).join(' ');
    lines.push(`  ${String(s.step).padStart(3)}. ${s.kind} server ${s.sid}${params === '' ? '' : ` (${params})`}`);
    if (s.recv !== null) lines.push(`       recv ${formatMessage(s.recv)}`);
    for (const m of s.send) lines.push(`       send ${formatMessage(m)}`);
    for (const c of s.changes) lines.push(`       server ${c.sid} ${c.name}: ${compact(c.before)} -> ${compact(c.after)}`);
  }
  if (cx.kind === 'liveness' && cx.boundedSteps !== undefined) {
    lines.push(`  In the last ${cx.boundedSteps} steps, with no fault among them, no state reaches ${cx.property}${cx.message === null ? '.' : `: ${cx.message}`}`);
  } else if (cx.kind === 'liveness') {
    const end =
      cx.loopStart === cx.steps.length
        ? `The last state has no step of the protocol left and is short of ${cx.property}`
        : `The loop returns to the state after step ${cx.loopStart}; no state of it reaches ${cx.property}, and every protocol step enabled all along it is taken in it (weak fairness)`;
    lines.push(`  ${end}${cx.message === null ? '.' : `: ${cx.message}`}`);
  } else {
    const what = cx.kind === 'invariant' ? 'violates' : 'witnesses';
    lines.push(`  The last state ${what} ${cx.property}${cx.message === null ? '.' : `: ${cx.message}`}`);
  }
  if (cx.traceFile !== null) lines.push(`  Trace written to ${cx.traceFile}`);
  if (cx.traceProblem !== null) lines.push(`  No trace written: ${cx.traceProblem}`);
  if (cx.chartFile != null) lines.push(`  Chart written to ${cx.chartFile} (open it in a browser)`);
  if (cx.chartProblem != null) lines.push(`  No chart written: ${cx.chartProblem}`);
  return lines;
}
