// --por, sleep sets from the spec's footprints (checker/README.md, Partial-order reduction): the search visits
// every state it visits without them, at the same depth, and generates fewer successors: distinct states,
// verdicts and depths are the same, and the successors generated plus those skipped are the full search's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { runCheck, type RunResult } from '../checker/run.ts';
import { buildSpec } from '../spec/index.ts';
import { independent } from '../checker/search/expander.ts';

const out = mkdtempSync(join(tmpdir(), 'checker-por-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const check = (...flags: string[]): Promise<RunResult> => runCheck(parseFlags([...flags, '--out', out]));

function sameSearch(por: RunResult, full: RunResult): void {
  expect(por.distinct).toBe(full.distinct);
  expect(por.depthReached).toBe(full.depthReached);
  expect(por.exhausted).toBe(full.exhausted);
  expect(por.properties).toStrictEqual(full.properties);
  expect(por.generated + por.reduction!.skipped).toBe(full.generated);
  expect(por.reduction!.generated).toBe(por.generated);
  expect(por.reduction!.factor).toBeCloseTo(full.generated / por.generated, 6);
}

describe('--por', () => {
  it('FastLeaderElection: the same states and verdicts with fewer successors, with one thread and with two', async () => {
    const full = await check('--protocol', 'fle', '--depth', '12', '--workers', '1');
    expect(full.reduction).toBeNull();
    for (const workers of ['1', '2']) {
      const por = await check('--protocol', 'fle', '--depth', '12', '--workers', workers, '--por');
      sameSearch(por, full);
      expect(por.reduction!.skipped).toBeGreaterThan(full.generated / 10);
    }
  });

  it('ZAB at the default bounds to depth 18: the pinned 168,747 states and the same verdicts', async () => {
    const full = await check('--depth', '18', '--workers', '2');
    const por = await check('--depth', '18', '--workers', '2', '--por');
    expect(por.distinct).toBe(168_747);
    sameSearch(por, full);
    expect(por.reduction!.skipped).toBeGreaterThan(0);
  }, 600_000);

  it('independence needs two local steps of two servers on disjoint channels', () => {
    const local = { global: false, channels: [1, 2] };
    expect(independent(local, 1, { global: false, channels: [3] }, 2)).toBe(true);
    expect(independent(local, 1, { global: false, channels: [3] }, 1)).toBe(false); // one server
    expect(independent(local, 1, { global: false, channels: [2] }, 2)).toBe(false); // one channel
    expect(independent(local, 1, { global: true, channels: [] }, 2)).toBe(false);
  });

  it("the spec's footprints: faults, coarse steps and budget or ghost writers are global; a notification names its channels", () => {
    const spec = buildSpec({ nodes: 3, observers: 0, mutations: [], granularity: 'fine' });
    const s0 = spec.init()[0]!;
    const steps = spec.next(s0);
    const crash = steps.find((x) => x.action.kind === 'Crash')!;
    expect(spec.footprint!(s0, crash.action, crash.state).global).toBe(true);
    const start = steps.find((x) => x.action.kind.startsWith('FLE'))!;
    const fp = spec.footprint!(s0, start.action, start.state);
    expect(fp.global).toBe(false);
    expect(fp.channels.length).toBeGreaterThan(0);
    const coarse = buildSpec({ nodes: 3, observers: 0, mutations: [], granularity: 'coarse' });
    const c0 = coarse.init()[0]!;
    for (const x of coarse.next(c0)) if (x.action.kind === 'ElectAndDiscover') expect(coarse.footprint!(c0, x.action, x.state).global).toBe(true);
  });

  it('is refused with --simulate, with --checkpoint, and for a spec without footprints', async () => {
    expect(() => parseFlags(['--simulate', '--por'])).toThrow(/--por applies to the exhaustive search/);
    expect(() => parseFlags(['--por', '--checkpoint', 'x'])).toThrow(/--por does not go with --checkpoint/);
    await expect(check('--spec', 'test/fixtures/grid.ts#buildGrid', '--por')).rejects.toThrow(/--por: this spec declares no footprint/);
  });
});
