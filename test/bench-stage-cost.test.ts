// bench/stage-cost.ts (row (e) of `npm run bench`): it measures the stages on the states of the level asked for.
import { describe, expect, it } from 'vitest';
import { stageCost } from '../bench/stage-cost.ts';

describe('bench stage cost', () => {
  it('times decode, next, encode and properties on every state of one level', async () => {
    const c = await stageCost(['--nodes', '3', '--protocol', 'fle'], 4, 2);
    expect(c.level).toBe(4);
    expect(c.states).toBeGreaterThan(10);
    expect(c.successors).toBeGreaterThan(1);
    for (const us of [c.decodeUs, c.nextUs, c.encodeUs, c.propertiesUs]) expect(us).toBeGreaterThan(0);
    expect(c.totalUs).toBeCloseTo(c.decodeUs + c.nextUs + c.encodeUs + c.propertiesUs, 6);
  });
});
