// The properties added for the survivors of `npm run mutation` (docs/mutation.md, fourth round): each reachability
// check is a default property (test/checker-zab.test.ts's depth-18 check witnesses every default one), the two
// shallow ones are pinned at their depths (ackReadAfterLearnerLeft, at 9, takes too long for here: the README's
// listing shows it), and the ordering of the record of established leaders is
// part of wellFormed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { runCheck } from '../checker/run.ts';
import { buildSpec } from '../spec/index.ts';
import type { ClusterState } from '../spec/state.ts';

const out = mkdtempSync(join(tmpdir(), 'survivor-properties-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('reachability checks for the survivors', () => {
  const cases: [string, number][] = [
    ['leaderGaveUpBeforeServing', 2],
    ['electedOverLongerLog', 3],
  ];
  it.each(cases)('%s is witnessed at depth %i, not before', async (name, depth) => {
    const r = await runCheck(parseFlags(['--invariant', name, '--depth', String(depth), '--workers', '1', '--out', out]));
    expect(r.properties.find((p) => p.name === name)).toMatchObject({ status: 'witnessed', depth });
    expect(r.verdict).toBe('pass');
  }, 60_000);

  it('they are default properties of the default check', () => {
    const spec = buildSpec({ nodes: 3, observers: 0, mutations: [] });
    const defaults = spec.properties.filter((p) => p.byDefault).map((p) => p.name);
    for (const name of ['leaderGaveUpBeforeServing', 'electedOverLongerLog', 'ackReadAfterLearnerLeft']) expect(defaults).toContain(name);
  });
});

describe('wellFormed reads the order of the record of established leaders', () => {
  const spec = buildSpec({ nodes: 3, observers: 0, mutations: [] });
  const init = spec.init()[0]!;
  const wellFormed = spec.properties.find((p) => p.name === 'wellFormed')!;
  const withEstablished = (established: { epoch: number; sid: number }[]): ClusterState => ({ ...init, ghost: { ...init.ghost, established } });
  it('in epoch order it holds; out of it (sorted by server, say) it fails and says so', () => {
    expect(wellFormed.check(withEstablished([{ epoch: 2, sid: 3 }, { epoch: 3, sid: 1 }]))).toBe(true);
    const bad = withEstablished([{ epoch: 3, sid: 1 }, { epoch: 2, sid: 3 }]);
    expect(wellFormed.check(bad)).toBe(false);
    expect(wellFormed.explain!(bad)).toMatch(/out of epoch order: 3:1, 2:3/);
  });
});
