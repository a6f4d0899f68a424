// A walk through the spec that a newcomer would click in the explorer: at each state the first enabled step
// that is the protocol's own (no crash, lost connection, timeout or client write), until a step of `goal` has
// been taken and `after` more steps; the successor indices taken.
import type { AnySpec } from '../../checker/spec-source.ts';

const ENVIRONMENT = new Set(['Crash', 'Restart', 'ConnectionLost', 'LeaderStepDown', 'LearnerTimeout', 'LeaderProcessRequest']);

export function protocolWalk(spec: AnySpec, goal: string, after = 0, bound = 200): { indices: number[]; kinds: string[] } {
  let state: unknown = spec.init()[0];
  const indices: number[] = [];
  const kinds: string[] = [];
  let left = -1;
  while (indices.length < bound && left !== 0) {
    const next = spec.next(state);
    const i = next.findIndex((s) => !ENVIRONMENT.has(s.action.kind));
    if (i < 0) break;
    indices.push(i);
    kinds.push(next[i]!.action.kind);
    state = next[i]!.state;
    if (left > 0) left--;
    else if (left < 0 && next[i]!.action.kind === goal) left = after;
  }
  return { indices, kinds };
}
