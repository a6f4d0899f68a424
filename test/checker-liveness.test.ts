// Liveness under weak fairness (checker/search/liveness.ts): fair and unfair cycles and dead ends on small specs
// written here, then ZOOKEEPER-3109 put back (spec/variants.ts) found as a lasso, the fixed spec passing.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags, UsageError } from '../checker/flags.ts';
import { runLiveness } from '../checker/search/liveness.ts';
import { replay } from '../checker/report/replay.ts';
import { runCheck } from '../checker/run.ts';
import type { AnySpec } from '../checker/spec-source.ts';

const out = mkdtempSync(join(tmpdir(), 'liveness-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Toy {
  readonly at: number;
}
type Edge = { from: number; to: number; kind: string; fault?: boolean };

/** A spec that is a graph: states 0..n-1, one step per edge; the goal is `goal`. */
function graphSpec(edges: readonly Edge[], goal: number): AnySpec {
  return {
    name: 'graph',
    params: {},
    actionKinds: [...new Set(edges.map((e) => e.kind))],
    faultKinds: edges.filter((e) => e.fault).map((e) => e.kind),
    properties: [],
    liveness: [{ name: 'reachesGoal', description: 'the goal state is reached', assume: () => true, goal: (s) => (s as Toy).at === goal }],
    servers: [{ sid: 1, role: 'participant' }],
    init: () => [{ at: 0 }],
    next: (s) => edges.filter((e) => e.from === (s as Toy).at).map((e) => ({ action: { kind: e.kind, sid: 1 }, state: { at: e.to } })),
    serverVars: (s) => ({ at: (s as Toy).at }),
    describe: (_b, a) => ({ kind: a.kind, sid: a.sid, params: {}, recv: null, send: [] }),
  } as AnySpec;
}

function verdict(edges: readonly Edge[], goal: number) {
  const spec = graphSpec(edges, goal);
  const out = runLiveness({ spec, properties: spec.liveness!, depth: 100, maxStates: null });
  expect(out.exhausted).toBe(true);
  const v = out.verdicts[0]!;
  if (v.lasso !== null) {
    // The lasso replays, and its loop closes.
    const states = replay(spec, v.lasso.path).map((r) => (r.state as Toy).at);
    expect(states[states.length - 1]).toBe(states[v.lasso.loopStart]);
    return { ...v, states };
  }
  return { ...v, states: [] };
}

describe('liveness on small graphs', () => {
  it('a cycle that can always leave for the goal by a step it never takes is unfair: the property holds', () => {
    // 0 <-> 1 by 'spin'; 'exit' is enabled in both and leads to 2, the goal.
    const v = verdict(
      [
        { from: 0, to: 1, kind: 'spin' },
        { from: 1, to: 0, kind: 'spin' },
        { from: 0, to: 2, kind: 'exit' },
        { from: 1, to: 2, kind: 'exit' },
        { from: 2, to: 2, kind: 'stay' },
      ],
      2,
    );
    expect(v.status).toBe('holds');
    expect(v.cyclicComponents).toBe(1);
    expect(v.fairComponents).toBe(0);
  });

  it('a cycle where the step to the goal is not always enabled is fair: a lasso', () => {
    // 'exit' only from 1: along 0 -> 1 -> 0 it is not continuously enabled, so fairness does not force it.
    const v = verdict(
      [
        { from: 0, to: 1, kind: 'spin' },
        { from: 1, to: 0, kind: 'spin' },
        { from: 1, to: 2, kind: 'exit' },
        { from: 2, to: 2, kind: 'stay' },
      ],
      2,
    );
    expect(v.status).toBe('violated');
    expect(v.lasso!.deadEnd).toBe(false);
    expect(v.states).not.toContain(2);
  });

  it('a fault forever possible gets no fairness, and a state with only faults left is a dead end', () => {
    const fair = verdict(
      [
        { from: 0, to: 1, kind: 'spin' },
        { from: 1, to: 0, kind: 'spin' },
        { from: 0, to: 2, kind: 'crash', fault: true },
        { from: 1, to: 2, kind: 'crash', fault: true },
        { from: 2, to: 2, kind: 'stay' },
      ],
      2,
    );
    expect(fair.status).toBe('violated');
    const dead = verdict(
      [
        { from: 0, to: 1, kind: 'step' },
        { from: 1, to: 2, kind: 'crash', fault: true },
      ],
      2,
    );
    expect(dead.status).toBe('violated');
    expect(dead.lasso!.deadEnd).toBe(true);
    expect(dead.states).toEqual([0, 1]);
  });

  it('the loop printed is itself fair: it detours to take a step enabled all along a first, shorter cycle', () => {
    // Component {0,1,2}: the short cycle 0 -> 1 -> 0 has 'side' enabled throughout; a fair loop must take it
    // (1 -> 2 -> 0) or pass a state where it is disabled. No state reaches the goal 3.
    const v = verdict(
      [
        { from: 0, to: 1, kind: 'a' },
        { from: 1, to: 0, kind: 'b' },
        { from: 0, to: 2, kind: 'side' },
        { from: 1, to: 2, kind: 'side' },
        { from: 2, to: 0, kind: 'c' },
      ],
      3,
    );
    expect(v.status).toBe('violated');
    expect(v.states.slice(v.lasso!.loopStart)).toContain(2);
  });
});

/** Brute force, for small graphs: is there a set of bad states, strongly connected by protocol edges, such that
 * every class enabled in all of them is taken inside it (a fair cycle), or a bad state with no protocol step? */
function bruteForce(n: number, edges: readonly Edge[], goal: number): boolean {
  const bad = (v: number) => v !== goal;
  const protocol = edges.filter((e) => !e.fault);
  const reachable = new Set([0]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of edges) if (reachable.has(e.from) && !reachable.has(e.to)) (reachable.add(e.to), (grew = true));
  }
  for (let v = 0; v < n; v++) if (reachable.has(v) && bad(v) && !protocol.some((e) => e.from === v)) return true;
  for (let mask = 1; mask < 1 << n; mask++) {
    const set = [...Array(n).keys()].filter((v) => mask & (1 << v));
    if (set.some((v) => !bad(v) || !reachable.has(v))) continue;
    const inside = protocol.filter((e) => mask & (1 << e.from) && mask & (1 << e.to));
    if (inside.length === 0) continue;
    const connected = set.every((a) => {
      const seen = new Set([a]);
      const todo = [a];
      for (let x = todo.pop(); x !== undefined; x = todo.pop()) {
        for (const e of inside) if (e.from === x && !seen.has(e.to)) (seen.add(e.to), todo.push(e.to));
      }
      return set.every((b) => seen.has(b));
    });
    if (!connected) continue;
    const enabledEverywhere = [...new Set(protocol.map((e) => e.kind))].filter((k) => set.every((v) => protocol.some((e) => e.from === v && e.kind === k)));
    if (enabledEverywhere.every((k) => inside.some((e) => e.kind === k))) return true;
  }
  return false;
}

describe('liveness against brute force', () => {
  it('on 300 random graphs of up to 7 states, a lasso exactly when brute force finds a fair cycle or a dead end', () => {
    let seed = 12345;
    const rand = (k: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    let violated = 0;
    for (let t = 0; t < 300; t++) {
      const n = 2 + rand(6);
      const edges: Edge[] = [];
      for (let m = rand(3 * n) + 1; m > 0; m--) {
        const kind = ['a', 'b', 'c', 'crash'][rand(4)]!;
        edges.push({ from: rand(n), to: rand(n), kind, fault: kind === 'crash' });
      }
      const goal = rand(n + 1); // n: no goal state at all
      const v = verdict(edges, goal);
      expect(v.status === 'violated', JSON.stringify({ edges, goal })).toBe(bruteForce(n, edges, goal));
      if (v.status === 'violated') violated++;
    }
    expect(violated).toBeGreaterThan(30);
    expect(violated).toBeLessThan(270);
  });
});

const check = (flags: readonly string[]) => runCheck(parseFlags([...flags, '--liveness', '--crashes', '0', '--partitions', '0', '--workers', '1', '--out', out]));

describe('ZOOKEEPER-3109 as a liveness bug', () => {
  it('with the bug put back, leaderEventually fails: a leader its voter abandoned waits in discovery forever', async () => {
    const r = await check(['--variant', '3109']);
    expect(r.verdict).toBe('fail');
    const p = r.liveness!.properties.find((x) => x.name === 'leaderEventually')!;
    expect(p.status).toBe('violated');
    const cx = p.counterexample!;
    expect(cx.steps[0]!.kind).toBe('ElectAbandoned');
    // The abandoned leader is still in discovery at the end, and another leader serves.
    expect(cx.message).toMatch(/leads \(DISCOVERY\)/);
    expect(cx.message).toMatch(/leads \(BROADCAST\)/);
    const trace = readFileSync(cx.traceFile!, 'utf8').trim().split('\n');
    const last = JSON.parse(trace[trace.length - 1]!) as Record<string, unknown>;
    expect(last).toMatchObject({ type: 'verdict', property: 'leaderEventually', kind: 'liveness', holds: false, loopAfter: cx.loopStart });
    // Its chart beside it, as for a safety counterexample, saying which goal the lasso never reaches.
    expect(cx.chartFile).toBe(cx.traceFile!.replace(/\.ndjson$/, '.html'));
    expect(readFileSync(cx.chartFile!, 'utf8')).toContain('leaderEventually');
  }, 60_000);

  it('the fixed spec satisfies both liveness properties at the same bounds, on the whole graph', async () => {
    const r = await check([]);
    expect(r.liveness!.exhausted).toBe(true);
    expect(r.liveness!.distinct).toBe(r.distinct);
    expect(r.liveness!.properties.map((p) => p.status)).toEqual(['holds', 'holds']);
    expect(r.verdict).toBe('pass');
  }, 60_000);

  it('in random walks, the bounded form finds the abandoned leader; the fixed spec passes the same walks', async () => {
    const walks = (variant: string[]) =>
      runCheck(parseFlags([...variant, '--simulate', '--liveness', '--walks', '300', '--seed', '1', '--crashes', '0', '--partitions', '0', '--workers', '1', '--out', out]));
    const bug = await walks(['--variant', '3109']);
    expect(bug.verdict).toBe('fail');
    expect(bug.counterexample!.property).toBe('leaderEventually');
    expect(bug.counterexample!.steps.some((s) => s.kind === 'ElectAbandoned')).toBe(true);
    const fixed = await walks([]);
    expect(fixed.walks).toBe(300);
    expect(fixed.verdict).toBe('pass');
  }, 60_000);

  it('--liveness-steps needs --simulate --liveness, and a positive count', () => {
    expect(() => parseFlags(['--liveness-steps', '50'])).toThrow(UsageError);
    expect(() => parseFlags(['--simulate', '--liveness', '--liveness-steps', '0'])).toThrow(/--liveness-steps/);
    expect(parseFlags(['--simulate', '--liveness', '--liveness-steps', '50']).simulate!.livenessSteps).toBe(50);
  });
});
