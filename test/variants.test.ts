// Real ZooKeeper bugs (spec/variants.ts): with each bug put back, the checker finds the invariant it breaks, and
// the counterexample replays, step by step and from its trace file, to the violation (every earlier state
// satisfies the invariant). The fixed spec passes the same invariants at the same bounds and depth, so each catch
// is the bug's doing. Results: docs/variants.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags, UsageError } from '../checker/flags.ts';
import { replay } from '../checker/report/replay.ts';
import { runCheck } from '../checker/run.ts';
import { loadSpec } from '../checker/spec-source.ts';
import { replayTraceFile } from '../checker/report/trace-reader.ts';
import { listVariants, VARIANTS } from '../spec/variants.ts';

const out = mkdtempSync(join(tmpdir(), 'variants-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Case {
  readonly variant: keyof typeof VARIANTS;
  /** Flags beyond the defaults of `npm run check` (coarse, broadcast initial state, 1 write, 1 crash, 1 partition). */
  readonly flags: readonly string[];
  readonly violates: string;
}

const cases: Case[] = [
  { variant: '2845', flags: [], violates: 'followerLogPrefix' },
  { variant: '3911', flags: [], violates: 'committedNeverLost' },
  // The txn must be committed in epoch 1 by a broadcast quorum, and two servers must crash: from S0, two crashes.
  { variant: '4643', flags: ['--initial', 'inflight', '--crashes', '2'], violates: 'committedNeverLost' },
  { variant: '4646', flags: [], violates: 'committedNeverLost' },
  { variant: '4685', flags: [], violates: 'newLeaderAckOutstanding' },
  // 4394 and 4712 are also found at the default bounds (15 and 18 steps, docs/variants.md); from S0 they are
  // shorter, which keeps this file fast.
  { variant: '4394', flags: ['--initial', 'inflight'], violates: 'syncCommitKnown' },
  { variant: '3023', flags: [], violates: 'servingIsUpToDate' },
  { variant: '4712', flags: ['--initial', 'inflight'], violates: 'followerLogPrefix' },
];

/** The invariants the variants break, checked together on the fixed spec. */
const BUG_INVARIANTS = ['followerLogPrefix', 'reportMatchesDurable', 'committedNeverLost', 'newLeaderAckOutstanding', 'syncCommitKnown', 'servingIsUpToDate'];

const check = (flags: readonly string[]) => runCheck(parseFlags([...flags, '--workers', '2', '--out', out]));

/** Depth of each variant's counterexample, per set of bounds, for the runs of the fixed spec. */
const depths = new Map<string, number>();
/** Length of each variant's counterexample, for the runs with --por. */
const lengths = new Map<string, number>();

describe('ZooKeeper bugs as variants', () => {
  it('every variant is listed with its JIRA and an invariant', () => {
    const text = listVariants();
    for (const [name, v] of Object.entries(VARIANTS)) {
      expect(text).toContain(name);
      expect(text).toContain(v.jira);
      // A liveness bug is found with --liveness, in test/checker-liveness.test.ts.
      if ('liveness' in v) continue;
      expect(cases.find((c) => c.variant === name)?.violates).toBe(v.invariant);
    }
    expect(() => parseFlags(['--variant', '1234'])).toThrow(UsageError);
  });

  for (const c of cases) {
    it(`${c.variant} (${VARIANTS[c.variant].jira}) violates ${c.violates}, and the counterexample replays to it`, async () => {
      const result = await check([...c.flags, '--variant', c.variant, '--invariant', c.violates]);
      expect(result.verdict).toBe('fail');
      const cx = result.counterexample!;
      expect(cx.property).toBe(c.violates);
      const key = c.flags.join(' ');
      depths.set(key, Math.max(depths.get(key) ?? 0, cx.steps.length));
      lengths.set(c.variant, cx.steps.length);

      const spec = await loadSpec(parseFlags([...c.flags, '--variant', c.variant]).source);
      const property = spec.properties.find((p) => p.name === c.violates)!;
      const states = replay(spec, cx.path);
      expect(states).toHaveLength(cx.steps.length + 1);
      expect(property.check(states.at(-1)!.state)).toBe(false);
      expect(states.slice(0, -1).every((s) => property.check(s.state))).toBe(true);
      const fromFile = replayTraceFile(spec, cx.traceFile!);
      expect(fromFile).toHaveLength(cx.steps.length + 1);
      expect(property.check(fromFile.at(-1)!.state)).toBe(false);
    });
  }

  // --por (sleep sets, checker/README.md) visits every state at its depth: the same shortest counterexample length.
  for (const c of cases) {
    it(`${c.variant} is found with --por too, at the same depth, and its counterexample replays`, async () => {
      const result = await check([...c.flags, '--variant', c.variant, '--invariant', c.violates, '--por']);
      expect(result.verdict).toBe('fail');
      const cx = result.counterexample!;
      expect(cx.property).toBe(c.violates);
      if (lengths.has(c.variant)) expect(cx.steps.length).toBe(lengths.get(c.variant));
      expect(result.reduction).not.toBeNull();
      const spec = await loadSpec(parseFlags([...c.flags, '--variant', c.variant]).source);
      const property = spec.properties.find((p) => p.name === c.violates)!;
      expect(property.check(replay(spec, cx.path).at(-1)!.state)).toBe(false);
    }, 600_000);
  }

  it('the fixed spec satisfies every one of these invariants at the same bounds and depths', async () => {
    expect(depths.size).toBeGreaterThan(0);
    for (const [key, depth] of depths) {
      const flags = key === '' ? [] : key.split(' ');
      const result = await check([...flags, '--depth', String(depth), ...BUG_INVARIANTS.flatMap((i) => ['--invariant', i])]);
      expect(result.verdict, `fixed spec with [${key}] to depth ${depth}`).toBe('pass');
      expect(result.depthReached).toBe(depth);
    }
  });
});
