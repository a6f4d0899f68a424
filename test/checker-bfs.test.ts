// Breadth-first search on the toy specs of test/fixtures: exact state counts, the same results with one
// thread and with two, shortest counterexamples that replay to the violation, limits and vacuity.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { replay } from '../checker/report/replay.ts';
import { runCheck, type RunResult } from '../checker/run.ts';
import { loadSpec } from '../checker/spec-source.ts';

const out = mkdtempSync(join(tmpdir(), 'checker-bfs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const TPC = 'test/fixtures/two-phase-commit.ts#buildTwoPhaseCommit';
const GRID = 'test/fixtures/grid.ts#buildGrid';

function check(spec: string, ...flags: string[]): Promise<RunResult> {
  return runCheck(parseFlags(['--spec', spec, '--out', out, ...flags]));
}

describe('BFS', () => {
  it('counts every state of the grid once, whatever order its object keys were set in', async () => {
    for (const workers of ['1', '2']) {
      const r = await check(GRID, '--nodes', '4', '--workers', workers);
      expect(r.distinct).toBe(4 ** 4); // (bound+1)^nodes
      expect(r.depthReached).toBe(4 * 3);
      expect(r.exhausted).toBe(true);
      expect(r.generated).toBe(1 + 4 * 3 * 4 ** 3); // initial + one Inc per (counter below bound, others any)
      expect(r.verdict).toBe('pass');
    }
  });

  it('finds the same states, verdicts and coverage with one thread and with two', async () => {
    const one = await check(TPC, '--nodes', '4', '--workers', '1');
    const two = await check(TPC, '--nodes', '4', '--workers', '2');
    expect(one.distinct).toBeGreaterThan(1000);
    expect(two.distinct).toBe(one.distinct);
    expect(two.generated).toBe(one.generated);
    expect(two.depthReached).toBe(one.depthReached);
    expect(two.properties).toStrictEqual(one.properties);
    // Which action first reaches a state within a level depends on thread timing; how often each fired does not.
    expect(two.coverage.map((c) => [c.kind, c.fired])).toStrictEqual(one.coverage.map((c) => [c.kind, c.fired]));
    const sum = (r: RunResult) => r.coverage.reduce((n, c) => n + c.distinct!, 0);
    expect(sum(two)).toBe(sum(one));
    expect(one.verdict).toBe('pass');
  });

  it('stops at the depth bound and says the space was not exhausted', async () => {
    const r = await check(GRID, '--nodes', '3', '--depth', '2', '--workers', '1');
    expect(r.distinct).toBe(1 + 3 + 6); // depth 0, 1, 2
    expect(r.depthReached).toBe(2);
    expect(r.exhausted).toBe(false);
  });

  it('returns the shortest counterexample, with one thread and with two, and it replays to the violation', async () => {
    const spec = await loadSpec({ module: 'test/fixtures/grid.ts', exportName: 'buildGrid', options: { nodes: 3, bound: 3 } });
    for (const workers of ['1', '2']) {
      const r = await check(GRID, '--nodes', '3', '--invariant', 'cornerUnreachable', '--workers', workers);
      expect(r.verdict).toBe('fail');
      const cx = r.counterexample!;
      expect(cx.steps.length).toBe(9); // every counter from 0 to 3: no shorter path exists
      const states = replay(spec, cx.path);
      expect(spec.properties.find((p) => p.name === 'cornerUnreachable')!.check(states.at(-1)!.state as never)).toBe(false);
      expect(states.slice(0, -1).every((s) => spec.properties[0]!.check(s.state as never))).toBe(true);
    }
  });

  it('catches the commitEarly mutation of two-phase commit at its least depth', async () => {
    const r = await check(TPC, '--nodes', '3', '--mutation', 'commitEarly', '--workers', '2');
    expect(r.verdict).toBe('fail');
    expect(r.properties.find((p) => p.name === 'consistent')).toMatchObject({ status: 'violated', depth: 5 });
    expect(r.counterexample!.steps.map((s) => s.kind)).toContain('TMCommit');
    expect(r.stopReason).toBe('violation');
  });

  it('fails a run whose reachability property is never reached, and lists actions that never fired', async () => {
    const r = await check(TPC, '--nodes', '2', '--invariant', 'consistent', '--invariant', 'committedAndAborted', '--workers', '1');
    expect(r.properties.find((p) => p.name === 'committedAndAborted')!.status).toBe('not-reached');
    expect(r.verdict).toBe('fail');
    expect(r.counterexample).toBeNull();
    expect(r.neverFired).toStrictEqual(['TMTimeout']);
  });

  it('reports the first witness depth of a reachability property', async () => {
    const r = await check(TPC, '--nodes', '2', '--workers', '1');
    // prepare x2, receive x2, commit, deliver x2: 7 steps at least
    expect(r.properties.find((p) => p.name === 'allCommitted')).toMatchObject({ status: 'witnessed', depth: 7 });
  });

  it('stops at --max-states and says so', async () => {
    const r = await check(GRID, '--nodes', '5', '--max-states', '100', '--workers', '2');
    expect(r.stopReason).toBe('max-states');
    expect(r.distinct).toBeGreaterThanOrEqual(100);
    expect(r.distinct).toBeLessThan(4 ** 5);
    expect(r.exhausted).toBe(false);
  });

  it('stops cleanly at --max-memory with what it explored', async () => {
    const r = await check(GRID, '--nodes', '4', '--depth', '200', '--workers', '2', '--max-memory', '64M', '--spec', 'test/fixtures/grid.ts#buildGridWide');
    expect(r.stopReason).toBe('max-memory'); // the process alone is bigger than 64M: it stops after one chunk
    expect(r.distinct).toBeGreaterThan(0);
    expect(r.distinct).toBeLessThan(16 ** 4);
    expect(r.exhausted).toBe(false);
  });

  it('grows the fingerprint table under load without losing a state', async () => {
    const r = await check(GRID, '--nodes', '4', '--depth', '200', '--workers', '2', '--spec', 'test/fixtures/grid.ts#buildGridWide');
    expect(r.distinct).toBe(16 ** 4);
    expect(r.memory.bytesPerState).toBeLessThan(30);
  });
});
