// Shrinking a random walk's counterexample: a walk that breaks an invariant after 180 steps usually holds a much
// shorter story. Steps are dropped while the rest, replayed action by action (the same kind, server and
// parameters, wherever that action is in the successor list now), still reaches a state that breaks the same
// invariant; the path is cut at the first such state. Chunks of steps go first, then single steps (ddmin, as
// property-based testing tools shrink). Bounded in time; the result is always a real path of the spec.
import { isDeepStrictEqual } from 'node:util';
import type { ActionBase, Property } from '../../spec/model.ts';
import type { StatePath } from '../search/bfs.ts';
import { replay } from '../report/replay.ts';
import type { AnySpec } from '../spec-source.ts';

export interface Shrunk {
  readonly path: StatePath;
  /** Steps of the walk before shrinking. */
  readonly from: number;
}

interface Taken {
  readonly actions: ActionBase[];
  readonly indices: number[];
}

/**
 * Replay `actions` from initial state `init`, skipping those not enabled at their turn (dropping a step often
 * disables the ones that depended on it: they go with it); what was taken up to the first state that breaks
 * `inv`, or null if none does.
 */
function violates(spec: AnySpec, inv: Property<unknown>, init: unknown, actions: readonly ActionBase[]): Taken | null {
  let state = init;
  const taken: Taken = { actions: [], indices: [] };
  if (!inv.check(state)) return taken;
  for (const action of actions) {
    const succs = spec.next(state);
    const i = succs.findIndex((s) => s.action.kind === action.kind && s.action.sid === action.sid && isDeepStrictEqual(s.action, action));
    if (i < 0) continue;
    taken.actions.push(action);
    taken.indices.push(i);
    state = succs[i]!.state;
    if (!inv.check(state)) return taken;
  }
  return null;
}

export function shrinkPath(spec: AnySpec, inv: Property<unknown>, path: StatePath, budgetMs = 10_000): Shrunk {
  const from = path.steps.length;
  if (inv.kind !== 'invariant') return { path, from };
  const init = spec.init()[path.init];
  const deadline = performance.now() + budgetMs;
  let actions: ActionBase[] = replay(spec, path).slice(1).map((s) => s.action!);
  let best = violates(spec, inv, init, actions);
  if (best === null) return { path, from }; // not reproducible by actions (cannot happen for a spec's own walk)
  actions = best.actions;
  // Passes until one removes nothing (or the time is up), each with chunks halving down to single steps.
  for (let improved = true; improved && performance.now() < deadline; ) {
    improved = false;
    for (let chunk = Math.max(1, actions.length >> 1); chunk >= 1 && performance.now() < deadline; chunk >>= 1) {
      // From the end first: late steps are the likeliest to come after the story's point.
      for (let at = actions.length - chunk; at >= 0 && performance.now() < deadline; at -= chunk) {
        const candidate = [...actions.slice(0, at), ...actions.slice(at + chunk)];
        const found = violates(spec, inv, init, candidate);
        if (found === null || found.actions.length >= actions.length) continue;
        actions = found.actions;
        best = found;
        improved = true;
        at = Math.min(at, actions.length);
      }
    }
  }
  return { path: { init: path.init, steps: best.indices }, from };
}
