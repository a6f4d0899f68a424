// npm run mutation leaves out the mutants that do not compile (checker/mutation/typecheck.ts), as Stryker's
// TypeScript checker does: a handler's body emptied where a state must be returned, or a guard removed so that a
// value that may be null is read, is no spec anyone could commit. Checked here on real lines of spec/faults.ts
// (found by their text, so that an edit above them does not break the test): the same file with a mutant that
// compiles passes, one that does not is named with the compiler's error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyEdit, mutantTypeChecker } from '../checker/mutation/typecheck.ts';

const ROOT = join(import.meta.dirname, '..');
const FILE = 'spec/faults.ts';
const source = readFileSync(join(ROOT, FILE), 'utf8');

/** The mutant replacing `original` where it first occurs on the line holding `lineText`. */
function mutant(lineText: string, original: string, replacement: string) {
  const lines = source.split('\n');
  const i = lines.findIndex((l) => l.includes(lineText));
  expect(i, `${FILE} no longer has ${lineText}`).toBeGreaterThanOrEqual(0);
  const column = lines[i]!.indexOf(original);
  expect(column).toBeGreaterThanOrEqual(0);
  return { file: FILE, line: i + 1, column: column + 1, original, replacement };
}

describe('mutants that do not compile', () => {
  it('applies a mutant where it is, and refuses one whose original code is not there', () => {
    const m = mutant('if (me.online) return null;', 'me.online', 'false');
    const out = applyEdit(source, m);
    expect(out.split('\n')[m.line - 1]).toContain('if (false) return null;');
    expect(out.length).toBe(source.length - 'me.online'.length + 'false'.length);
    expect(() => applyEdit(source, { ...m, column: m.column + 1 })).toThrow(/does not hold the mutant's original code/);
  });

  it('tells a mutant that compiles from one the compiler rejects', () => {
    const compiles = mutantTypeChecker(ROOT);
    // Restart's guard made false: a wrong spec (a server restarts while up), but a compiling one.
    expect(compiles(mutant('if (me.online) return null;', 'me.online', 'false'))).toBeNull();
    // LeaderStepDown's guard made true: the step is never enabled. The compiler reports `me.leader` possibly null in
    // the dead code after it (it does not narrow there); that is not the mutant's error, so it compiles.
    expect(compiles(mutant('if (!me.online || me.leader === null) return null;', '!me.online || me.leader === null', 'true'))).toBeNull();
    // LearnerTimeout's guard without `me.learner === null`: me.learner may be null where it is read.
    const guard = "!me.online || me.learner === null || me.learner.connected";
    expect(compiles(mutant(guard, 'me.learner === null', 'false'))).toMatch(/TS18047: 'me\.learner' is possibly 'null'/);
    // The successor of Crash as `{}`: not a ClusterState.
    expect(compiles(mutant('let next: ClusterState = { ...s, budget:', '{ ...s, budget: { ...s.budget, crashes: s.budget.crashes + 1 } }', '{}'))).toMatch(/TS2739: Type '\{\}' is missing the following properties from type 'ClusterState'/);
    // And the original again: the checker keeps no mutant from one call to the next.
    expect(compiles(mutant('if (me.online) return null;', 'me.online', 'me.online'))).toBeNull();
  }, 60_000);
});
