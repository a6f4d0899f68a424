// The checker's self-test on ZAB: each one-line breakage of the protocol is caught, at the bounds given, with a
// counterexample that replays step by step to the violation (and holds in every state before it). The
// unbroken spec passes at the same bounds, so each catch is the breakage's doing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { replay } from '../checker/report/replay.ts';
import { runCheck } from '../checker/run.ts';
import { loadSpec } from '../checker/spec-source.ts';
import { replayTraceFile } from '../checker/report/trace-reader.ts';

const out = mkdtempSync(join(tmpdir(), 'mutations-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const txn = (counter: number) => ({ zxid: 2 ** 32 + counter, value: counter });
/** Server 3 once accepted epoch 3 from a leader that never got going; the others are at epoch 1. */
const staleAcceptedEpoch = [
  { currentEpoch: 1, acceptedEpoch: 1, history: [txn(1), txn(2)], snapshotIndex: 0, logicalclock: 0 },
  { currentEpoch: 1, acceptedEpoch: 1, history: [txn(1)], snapshotIndex: 0, logicalclock: 0 },
  { currentEpoch: 1, acceptedEpoch: 3, history: [txn(1)], snapshotIndex: 0, logicalclock: 0 },
];

interface Case {
  readonly mutation: string;
  readonly flags: readonly string[];
  readonly options?: Record<string, unknown>;
  readonly violates: string;
}

const cases: Case[] = [
  // The default bounds of `npm run check` (coarse, broadcast initial state, 1 write, 1 crash, 1 partition), to
  // depth 14: the counterexamples are 8 to 12 steps long, and the unbroken spec is checked to the same depth.
  { mutation: 'commitWithoutQuorum', flags: ['--depth', '14'], violates: 'committedNeverLost' },
  // The learner keeps a txn its new leader lacks: its log is no longer a prefix of the leader's.
  { mutation: 'skipTrunc', flags: ['--depth', '14'], violates: 'followerLogPrefix' },
  { mutation: 'ackBeforeLog', flags: ['--depth', '14'], violates: 'committedNeverLost' },
  // With 3 servers one learner and the leader are a quorum anyway: counting twice shows with 5.
  { mutation: 'countLearnerTwice', flags: ['--nodes', '5', '--txns', '0', '--partitions', '0', '--depth', '9'], violates: 'committedNeverLost' },
  // LEADERINFO is folded into the coarse step, so this one needs every step of discovery: random walks find it.
  {
    mutation: 'acceptLowerEpoch',
    flags: ['--granularity', 'fine', '--txns', '0', '--crashes', '0', '--partitions', '0', '--max-epoch', '4', '--simulate', '--walks', '3000', '--depth', '60', '--seed', '1'],
    options: { initial: staleAcceptedEpoch },
    violates: 'epochsNeverGoBack',
  },
];

/** Length of each breakage's counterexample without --por, for the run with it. */
const lengths = new Map<string, number>();

async function check(flags: readonly string[], options: Record<string, unknown> = {}) {
  const cfg = parseFlags([...flags, '--workers', '2', '--out', out]);
  const source = { ...cfg.source, options: { ...cfg.source.options, ...options } };
  return { result: await runCheck({ ...cfg, source }), source };
}

describe('ZAB breakages are caught', () => {
  for (const c of cases) {
    it(`${c.mutation} violates ${c.violates}, and the counterexample replays to it`, async () => {
      const { result, source } = await check([...c.flags, '--mutation', c.mutation], c.options);
      expect(result.verdict).toBe('fail');
      const cx = result.counterexample!;
      expect(cx.property).toBe(c.violates);
      lengths.set(c.mutation, cx.steps.length);
      const spec = await loadSpec(source);
      const property = spec.properties.find((p) => p.name === cx.property)!;
      const states = replay(spec, cx.path);
      expect(property.check(states.at(-1)!.state)).toBe(false);
      expect(states.slice(0, -1).every((s) => property.check(s.state))).toBe(true);
      const fromFile = replayTraceFile(spec, cx.traceFile!);
      expect(property.check(fromFile.at(-1)!.state)).toBe(false);
    });

    if (!c.flags.includes('--simulate')) {
      it(`${c.mutation} is caught with --por too (sleep sets: every state at its depth), at the same depth`, async () => {
        const { result, source } = await check([...c.flags, '--mutation', c.mutation, '--por'], c.options);
        expect(result.verdict).toBe('fail');
        const cx = result.counterexample!;
        expect(cx.property).toBe(c.violates);
        if (lengths.has(c.mutation)) expect(cx.steps.length).toBe(lengths.get(c.mutation));
        const spec = await loadSpec(source);
        const property = spec.properties.find((p) => p.name === cx.property)!;
        expect(property.check(replay(spec, cx.path).at(-1)!.state)).toBe(false);
      }, 600_000);
    }

    it(`without ${c.mutation}, the same run passes`, async () => {
      const { result } = await check(c.flags, c.options);
      expect(result.properties.filter((p) => p.kind === 'invariant' && p.status !== 'holds')).toEqual([]);
    });
  }
});
