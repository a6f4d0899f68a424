// Re-execute a recorded path through the spec, step by step: the checker rebuilds counterexamples this way
// (it keeps only a parent link and a successor index per state), and tests use it to show that a
// counterexample really leads to the violation.
import { isDeepStrictEqual } from 'node:util';
import type { ActionBase } from '../../spec/model.ts';
import type { AnySpec } from '../spec-source.ts';

/** A step as recorded: the index of the successor in spec.next's order, or the action taken. */
export type RecordedStep = number | ActionBase;

export interface RecordedPath {
  /** Index in spec.init() (default 0). */
  readonly init?: number;
  readonly steps: readonly RecordedStep[];
}

export interface ReplayedStep {
  /** 0 for the initial state, then the step number. */
  readonly step: number;
  readonly action: ActionBase | null;
  /** The successor index taken (null for the initial state). */
  readonly index: number | null;
  readonly state: unknown;
}

export class ReplayError extends Error {}

export function replay(spec: AnySpec, path: RecordedPath): ReplayedStep[] {
  const inits = spec.init();
  const init = path.init ?? 0;
  if (init < 0 || init >= inits.length) throw new ReplayError(`initial state ${init} does not exist (the spec has ${inits.length})`);
  const out: ReplayedStep[] = [{ step: 0, action: null, index: null, state: inits[init] }];
  let state: unknown = inits[init];
  path.steps.forEach((recorded, i) => {
    const succs = spec.next(state);
    const index = typeof recorded === 'number' ? recorded : succs.findIndex((s) => isDeepStrictEqual(s.action, recorded));
    const succ = succs[index];
    if (succ === undefined) {
      const what = typeof recorded === 'number' ? `successor ${recorded}` : `action ${JSON.stringify(recorded)}`;
      throw new ReplayError(`step ${i + 1}: ${what} is not enabled (${succs.length} successors: ${kindsOf(succs)})`);
    }
    state = succ.state;
    out.push({ step: i + 1, action: succ.action, index, state });
  });
  return out;
}

function kindsOf(succs: readonly { action: ActionBase }[]): string {
  return succs.map((s) => `${s.action.kind}@${s.action.sid}`).join(', ') || 'none';
}

/** An event of a trace file, as much as is needed to find the step it records. */
export interface TraceStep {
  readonly sid: number;
  readonly action: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly post?: Readonly<Record<string, unknown>>;
}

/**
 * Replay the events of a trace: at each step, the successor whose action has the event's kind and server,
 * and, when several do, whose described params and changed variables match the event's.
 */
export function replayEvents(spec: AnySpec, events: readonly TraceStep[], init = 0): ReplayedStep[] {
  const inits = spec.init();
  if (inits[init] === undefined) throw new ReplayError(`initial state ${init} does not exist`);
  let state: unknown = inits[init];
  const out: ReplayedStep[] = [{ step: 0, action: null, index: null, state }];
  events.forEach((ev, i) => {
    const succs = spec.next(state);
    const candidates = succs.flatMap((s, index) => (s.action.kind === ev.action && s.action.sid === ev.sid ? [index] : []));
    const matching = candidates.filter((index) => {
      const s = succs[index]!;
      const view = spec.describe(state, s.action, s.state);
      if (ev.params !== undefined && !isDeepStrictEqual({ ...view.params }, { ...ev.params })) return false;
      if (ev.post === undefined) return true;
      const after = spec.serverVars(s.state, ev.sid);
      return Object.entries(ev.post).every(([k, v]) => isDeepStrictEqual(after[k], v));
    });
    const index = matching[0];
    if (index === undefined) {
      throw new ReplayError(`step ${i + 1}: no enabled ${ev.action} of server ${ev.sid} matches the trace (${kindsOf(succs)})`);
    }
    state = succs[index]!.state;
    out.push({ step: i + 1, action: succs[index]!.action, index, state });
  });
  return out;
}
