// The checker on the real spec: an exhaustive run of FastLeaderElection with 3 servers (its state count
// pinned, so a change of the state space is noticed), and each deliberate mutation caught by a
// counterexample that replays, from the trace file, to the violation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { replay } from '../checker/report/replay.ts';
import { runCheck } from '../checker/run.ts';
import { loadSpec } from '../checker/spec-source.ts';
import { replayTraceFile } from '../checker/report/trace-reader.ts';

const out = mkdtempSync(join(tmpdir(), 'checker-fle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('FastLeaderElection, 3 servers', () => {
  it('is explored exhaustively before depth 30 and every default property holds', async () => {
    const r = await runCheck(parseFlags(['--nodes', '3', '--protocol', 'fle', '--initial', 'fresh', '--depth', '30', '--workers', '2', '--out', out]));
    expect(r.distinct).toBe(265_963);
    expect(r.exhausted).toBe(true);
    expect(r.verdict).toBe('pass');
    expect(r.properties.every((p) => p.status === 'holds' || p.status === 'witnessed')).toBe(true);
  });

  for (const mutation of ['voteOrder', 'quorum'] as const) {
    it(`catches the ${mutation} mutation with a counterexample that replays to the violation`, async () => {
      const r = await runCheck(parseFlags(['--nodes', '3', '--protocol', 'fle', '--initial', 'fresh', '--mutation', mutation, '--workers', '2', '--out', out]));
      expect(r.verdict).toBe('fail');
      const cx = r.counterexample!;
      const spec = await loadSpec({ module: 'spec/index.ts', exportName: 'buildSpec', options: { nodes: 3, observers: 0, protocol: 'fle', mutations: [mutation] } });
      const property = spec.properties.find((p) => p.name === cx.property)!;
      const byIndex = replay(spec, cx.path);
      expect(property.check(byIndex.at(-1)!.state)).toBe(false);
      expect(byIndex.slice(0, -1).every((s) => property.check(s.state))).toBe(true);
      const fromFile = replayTraceFile(spec, cx.traceFile!);
      expect(fromFile).toHaveLength(cx.steps.length + 1);
      expect(property.check(fromFile.at(-1)!.state)).toBe(false);
    });
  }
});
