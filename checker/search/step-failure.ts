// A broken spec is a finding, not a crash of the checker: a step that throws, or a successor the state store
// cannot encode (not plain data, spec/model.ts), is reported as a violation of `stepsWellDefined`, with the path
// to the state whose steps break and the error, like any invariant. The expander (search/expander.ts) meets the
// failure itself; the property's check runs only where a counterexample is rebuilt, so it costs nothing per state.
import type { Property } from '../../spec/model.ts';
import type { AnySpec } from '../spec-source.ts';
import { findNotPlainData } from '../store/plain-data.ts';

export const STEPS_WELL_DEFINED = 'stepsWellDefined';

/** An error's message, with the first stack frame inside spec/ (where the spec broke) when there is one. */
export function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const frame = (e.stack ?? '').split('\n').find((l) => /[/\\]spec[/\\]/.test(l));
  return `${e.name}: ${e.message}${frame === undefined ? '' : ` (${frame.trim().replace(/^at /, 'at ')})`}`;
}

/** The violation's message when spec.next throws on a state. */
export function stepThrew(e: unknown): string {
  return `a step of this state threw ${errorText(e)}`;
}

/** What is wrong with the steps the spec enables in `state`: the error spec.next threw, or the first successor that is not plain data; null if nothing. */
export function brokenStep(spec: AnySpec, state: unknown): string | null {
  let succs: ReturnType<AnySpec['next']>;
  try {
    succs = spec.next(state);
  } catch (e) {
    return stepThrew(e);
  }
  for (let j = 0; j < succs.length; j++) {
    const bad = notAStep(succs[j], j);
    if (bad !== null) return bad;
    const bad2 = notPlainSuccessor(succs[j]!);
    if (bad2 !== null) return bad2;
  }
  return null;
}

/** Why a step's successor cannot be stored (it is not plain data), or null. */
export function notPlainSuccessor(succ: { readonly action: { readonly kind: string; readonly sid: number }; readonly state: unknown }): string | null {
  const where = findNotPlainData(succ.state);
  return where === null ? null : `the successor by ${succ.action.kind} of server ${succ.action.sid} is not plain data (${where}): the checker cannot store it`;
}

/** Why spec.next's j-th successor is not a step ({ action: { kind, sid }, state }), or null. */
export function notAStep(succ: unknown, j: number): string | null {
  const action = (succ as { action?: { kind?: unknown } } | null | undefined)?.action;
  if (typeof action?.kind === 'string') return null;
  return `spec.next returned ${succ === undefined ? 'undefined' : JSON.stringify(succ)?.slice(0, 120)} as its successor ${j}, not a step { action, state }`;
}

/** The checker's own invariant, selected with every breadth-first search. */
export function stepsWellDefined(spec: AnySpec): Property<unknown> {
  return {
    name: STEPS_WELL_DEFINED,
    kind: 'invariant',
    description:
      'Every step the spec enables computes a state the checker can store: no step throws, and every successor is plain data (spec/model.ts). A spec that breaks this is reported here, with the path to the state whose step breaks, instead of the checker crashing.',
    byDefault: true,
    check: (s) => brokenStep(spec, s) === null,
    explain: (s) => brokenStep(spec, s) ?? 'holds',
  };
}
