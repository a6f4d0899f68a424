// A broken spec is reported as a violation, not as a crash of the checker (checker/search/step-failure.ts): a
// step that throws, or a successor that is not plain data, fails `stepsWellDefined` with the path to the state
// whose step breaks, the error, and exit status 1, with one thread and with two; and so do random walks
// (--simulate), at the state the walk is in when the step it takes (or any step there) breaks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { runCheck } from '../checker/run.ts';
import { replay } from '../checker/report/replay.ts';
import { loadSpec } from '../checker/spec-source.ts';

const out = mkdtempSync(join(tmpdir(), 'checker-step-failure-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const GRID = 'test/fixtures/grid.ts#buildGrid';

async function check(broken: 'throw' | 'unstorable' | 'notAStep' | undefined, workers: string, simulate: string[] = []) {
  const cfg = parseFlags(['--spec', GRID, '--nodes', '2', '--workers', workers, '--out', out, ...simulate]);
  const source = { ...cfg.source, options: { ...cfg.source.options, broken, brokenAt: 2 } };
  return { result: await runCheck({ ...cfg, source }), source };
}

describe('a broken spec step', () => {
  for (const broken of ['throw', 'unstorable', 'notAStep'] as const) {
    for (const workers of ['1', '2']) {
      it(`${broken}, ${workers} worker(s): stepsWellDefined is violated at the state whose step breaks, with its path and the error`, async () => {
        const { result, source } = await check(broken, workers);
        expect(result.verdict).toBe('fail');
        const cx = result.counterexample!;
        expect(cx.property).toBe('stepsWellDefined');
        // The shortest path to a state where counter 1 is at 2: two steps, both of counter 1.
        expect(cx.steps.length).toBe(2);
        expect(result.properties.find((p) => p.name === 'stepsWellDefined')).toMatchObject({ kind: 'invariant', status: 'violated', depth: 2 });
        const spec = await loadSpec(source);
        const last = replay(spec, cx.path).at(-1)!.state as { cells: number[] };
        expect(last.cells[0]).toBe(2);
        const message = {
          // (no stack frame named: the fixture is not under spec/)
          throw: /^a step of this state threw TypeError: counter 1 broke at 2$/,
          unstorable: /^the successor by Inc of server 1 is not plain data \(state\.seen\.c1: undefined\)/,
          notAStep: /^spec\.next returned undefined as its successor 0, not a step/,
        }[broken];
        expect(cx.message).toMatch(message);
      });
    }
  }

  it('an unbroken spec passes with stepsWellDefined holding', async () => {
    const { result } = await check(undefined, '1');
    expect(result.verdict).toBe('pass');
    expect(result.properties.find((p) => p.name === 'stepsWellDefined')?.status).toBe('holds');
  });

  for (const broken of ['throw', 'unstorable', 'notAStep'] as const) {
    for (const workers of ['1', '2']) {
      it(`random walks, ${broken}, ${workers} worker(s): stepsWellDefined is violated with the walk's (shrunk) path and the error, not a crash`, async () => {
        const { result, source } = await check(broken, workers, ['--simulate', '--walks', '40', '--seed', '3', '--depth', '10']);
        expect(result.mode).toBe('simulate');
        expect(result.verdict).toBe('fail');
        expect(result.properties.find((p) => p.name === 'stepsWellDefined')).toMatchObject({ kind: 'invariant', status: 'violated' });
        const cx = result.counterexample!;
        expect(cx.property).toBe('stepsWellDefined');
        // Shrunk to the shortest story: counter 1 moved twice.
        expect(cx.steps.length).toBe(2);
        const spec = await loadSpec(source);
        expect((replay(spec, cx.path).at(-1)!.state as { cells: number[] }).cells).toEqual([2, 0]);
        expect(result.failingWalk).not.toBeNull();
        expect(cx.message).toMatch(/^(a step of this state threw TypeError: counter 1 broke at 2|the successor by Inc of server 1 is not plain data|spec\.next returned undefined as its successor 0)/);
      });
    }
  }

  it('random walks of an unbroken spec pass with stepsWellDefined holding', async () => {
    const { result } = await check(undefined, '1', ['--simulate', '--walks', '40', '--seed', '3', '--depth', '10']);
    expect(result.verdict).toBe('pass');
    expect(result.properties.find((p) => p.name === 'stepsWellDefined')?.status).toBe('holds');
  });
});
