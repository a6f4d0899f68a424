// The ZAB state space, pinned as FastLeaderElection's is (test/checker-fle.test.ts): a change of the spec that
// adds or removes states is noticed here and must say why in its commit (the default check's count is in the
// README). Depth 18 of the default options: every invariant holds, every kind of step fires.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { runCheck } from '../checker/run.ts';

const out = mkdtempSync(join(tmpdir(), 'checker-zab-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('ZAB, 3 servers, the default options', () => {
  it('has 168,747 states to depth 18 (676,860 to depth 30: the README), and every default property holds', async () => {
    const r = await runCheck(parseFlags(['--nodes', '3', '--depth', '18', '--workers', '2', '--out', out]));
    expect(r.distinct).toBe(168_747);
    expect(r.verdict).toBe('pass');
    expect(r.properties.every((p) => p.status === 'holds' || p.status === 'witnessed')).toBe(true);
  }, 120_000);
});

describe('ZAB, 3 servers, the queued follower log (--follower-log queued)', () => {
  it('has 23,168 states to depth 12 (163,237 to depth 18, 711,675 to depth 30: checker/README.md), and every invariant holds', async () => {
    // A PROPOSAL's append and ACK are a FollowerFlushLog step of their own, one txn a step: more states than the
    // atomic log's at depth 30 (676,860), and no invariant broken. Depth 12 keeps this cheap; a write reaches every
    // server only from depth 17, so the reachability checks are not asked of it.
    const r = await runCheck(parseFlags(['--nodes', '3', '--depth', '12', '--follower-log', 'queued', '--workers', '2', '--out', out]));
    expect(r.distinct).toBe(23_168);
    const invariants = r.properties.filter((p) => p.kind === 'invariant');
    expect(invariants.length).toBeGreaterThan(20);
    expect(invariants.every((p) => p.status === 'holds')).toBe(true);
  }, 120_000);
});
