// conform:faults' seeded schedule: every run of three rounds or more applies every kind of fault (seeds 11
// and 12 once dropped no connection), fewer rounds get distinct kinds, and the report names what was applied.
import { describe, expect, it } from 'vitest';
import { describeKinds, faultSchedule, type FaultKind } from '../harness/conform-faults/cluster.ts';
import { mulberry32 as rng } from '../impl/sim.ts';

const KINDS: readonly FaultKind[] = ['killFollower', 'killLeader', 'dropConnections'];

describe("conform:faults' schedule", () => {
  it('covers every kind in every seed with 3 rounds or more (seeds 0 to 999, 11 and 12 among them)', () => {
    for (let seed = 0; seed < 1000; seed++) {
      for (const rounds of [3, 4, 7]) {
        const s = faultSchedule(rng(seed), rounds);
        expect(s).toHaveLength(rounds);
        for (const k of KINDS) expect(s, `seed ${seed}, ${rounds} rounds`).toContain(k);
      }
    }
  });

  it('gives distinct kinds with fewer rounds, and is the same for the same seed', () => {
    for (let seed = 0; seed < 200; seed++) {
      expect(new Set(faultSchedule(rng(seed), 2)).size).toBe(2);
      expect(faultSchedule(rng(seed), 1)).toHaveLength(1);
      expect(faultSchedule(rng(seed), 0)).toEqual([]);
      expect(faultSchedule(rng(seed), 5)).toEqual(faultSchedule(rng(seed), 5));
    }
    // The seed decides the order: not every seed starts with the same kind.
    expect(new Set(Array.from({ length: 50 }, (_, s) => faultSchedule(rng(s), 3)[0])).size).toBe(3);
  });

  it('reports the kinds applied, and the ones not applied', () => {
    expect(describeKinds(['killLeader', 'dropConnections', 'killFollower'])).toBe('kill -9 of the leader, dropped connections, kill -9 of a follower (every kind)');
    expect(describeKinds(['killLeader', 'killLeader'])).toBe('kill -9 of the leader x2; not applied: kill -9 of a follower, dropped connections');
    expect(describeKinds([])).toBe('none; not applied: kill -9 of a follower, kill -9 of the leader, dropped connections');
  });
});
