// The seams of spec/seams.ts: every deviation from ZooKeeper's rule (variant, mutation, proposed fix) is an entry
// of its table, the handlers of fle/, zab/, faults.ts and coarse.ts never test a variant, mutation or fix
// themselves, and two deviations that would
// change one seam are refused. Cheap: no search.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXES, makeConfig, MUTATIONS } from '../spec/config.ts';
import { FIX_SEAMS, hasVariantStep, MUTATION_SEAMS, seamsOf, VARIANT_SEAMS } from '../spec/seams.ts';
import { VARIANTS, type VariantName } from '../spec/variants.ts';

const ROOT = join(import.meta.dirname, '..');
const HANDLER_FILES = ['spec/fle/election.ts', 'spec/fle/vote.ts', 'spec/zab/discovery.ts', 'spec/zab/roles.ts', 'spec/zab/steps.ts', 'spec/zab/sync.ts', 'spec/zab/broadcast.ts', 'spec/faults.ts', 'spec/coarse.ts'];

describe('spec/seams.ts', () => {
  it('every variant changes at least one seam; every mutation and fix too, but quorum (a branch of isQuorum)', () => {
    for (const name of Object.keys(VARIANTS) as VariantName[]) expect(Object.keys(VARIANT_SEAMS[name]).length, name).toBeGreaterThan(0);
    const unseamed = Object.keys(MUTATIONS).filter((m) => Object.keys(MUTATION_SEAMS[m as keyof typeof MUTATIONS]).length === 0);
    expect(unseamed).toEqual(['quorum']);
    for (const f of Object.keys(FIXES)) expect(Object.keys(FIX_SEAMS[f as keyof typeof FIXES]).length, f).toBeGreaterThan(0);
  });

  it('the fixed protocol has no seam; a variant, mutation and fix merge theirs', () => {
    expect(seamsOf(makeConfig({ nodes: 3, observers: 0, mutations: [] }))).toEqual({});
    const cfg = makeConfig({ nodes: 3, observers: 0, mutations: ['skipTrunc'], variant: '4643', fixes: ['forgetStaleAcks'] });
    const seams = seamsOf(cfg);
    expect(Object.keys(seams).sort()).toEqual(['insteadOfTrunc', 'onFinishNewLeader', 'onLeaveRole', 'onNewLeader', 'steps', 'syncForgetsStaleAcks']);
    expect(seamsOf(cfg)).toBe(seams);
    expect(hasVariantStep(cfg, 'LearnerFinishNEWLEADER')).toBe(true);
    expect(hasVariantStep(cfg, 'FollowerCommitProcessor')).toBe(false);
  });

  it('refuses two deviations at one seam', () => {
    const original = MUTATION_SEAMS.voteOrder;
    const table = MUTATION_SEAMS as Record<string, unknown>;
    table['voteOrder'] = { insteadOfTrunc: MUTATION_SEAMS.skipTrunc.insteadOfTrunc };
    try {
      expect(() => seamsOf(makeConfig({ nodes: 3, observers: 0, mutations: ['voteOrder', 'skipTrunc'] }))).toThrow(/both change the seam insteadOfTrunc/);
    } finally {
      table['voteOrder'] = original;
    }
  });

  it('the handlers test no variant, mutation or fix themselves', () => {
    for (const file of HANDLER_FILES) {
      const code = readFileSync(join(ROOT, file), 'utf8');
      expect(code.match(/cfg\.(variant|mutations|fixes)\b/g), file).toBeNull();
    }
  });
});
