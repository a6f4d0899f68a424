// The differential test (test/support/zk-differential.ts): the same seeded random operation sequences through our
// client against target A and target B, every result and the final trees compared. In `npm test`: A and B are two
// roots on one Apache ZooKeeper 3.8 ensemble (a sanity check that equal behaviour compares equal), and a
// deliberately different B (a client that ignores versions) must be caught. ZK_TARGET picks the ensemble; the
// long runs, and A/B on different ensembles (ours against Apache's), are `npm run diff:zk`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, coverage, describeDivergence, runOn, sequence } from './support/zk-differential.ts';
import { apacheMissing, startTarget, type Target } from './support/zk-target.ts';

const kind = process.env['ZK_TARGET'] ?? 'apache';
const missing = kind === 'apache' ? apacheMissing() : null;
if (missing !== null) console.warn(`test/zk-differential: skipped: ${missing}`);

let target: Target;
beforeAll(async () => {
  if (missing !== null) return;
  const t = await startTarget(kind);
  if ('skip' in t) throw new Error(t.skip);
  target = t;
}, 90_000);
afterAll(async () => target?.close(), 30_000);

const SEEDS = [1, 2, 3];
const LENGTH = 100;

describe.skipIf(missing !== null)(`differential: ${kind} against itself`, () => {
  it.each(SEEDS.map((s) => [s]))(`seed %i: ${LENGTH} ops, every result and the final tree equal`, async (seed) => {
    const ops = sequence(seed, LENGTH);
    const tag = `${Date.now().toString(36)}s${seed}`;
    const a = await runOn(target, `/diffA${tag}`, ops);
    const b = await runOn(target, `/diffB${tag}`, ops);
    const d = compare(ops, a, b);
    expect(d === null ? null : describeDivergence(d)).toBeNull();
    // Not vacuous: the run met errors of several kinds and left a tree behind.
    console.log(`differential seed ${seed}: ${coverage(ops, a)}`);
    const errors = new Set(a.results.map((x) => x.split(' ')[0]).filter((x) => x !== 'OK' && x !== 'reconnect'));
    expect(errors.size).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('a target that ignores versions is caught, at the first op where a version matters', async () => {
    const ops = sequence(SEEDS[0]!, LENGTH);
    const tag = Date.now().toString(36);
    const a = await runOn(target, `/diffA${tag}m`, ops);
    const b = await runOn(target, `/diffB${tag}m`, ops, 'ignoreVersions');
    const d = compare(ops, a, b);
    expect(d).not.toBeNull();
    console.log(`differential mutation caught: ${describeDivergence(d!)}`);
    expect(d!.a.startsWith('BADVERSION') || d!.b.startsWith('BADVERSION')).toBe(true);
  }, 60_000);
});
