// Finding #2 (docs/findings.md): a follower TRUNCated below a txn a quorum has committed, because the leader has
// not applied it yet. Leader.tryToCommit puts a committed proposal in toBeApplied; the txn enters the leader's
// committedLog only when FinalRequestProcessor applies it. syncFollower compares a rejoining learner's last zxid
// with that committedLog, so a learner that holds the committed txn (and may have served it) is told to TRUNC
// below it. If the leader crashes before the learner logs the re-sent txn, a quorum without it elects a leader.
// No stale ACK is involved: the quorum that committed the txn was real, and --fix forgetStaleAcks is on.
//
// The trace is what `npm run check -- --nodes 3 --depth 30 --leader-apply queued --fix forgetStaleAcks
// --workers 1 --invariant committedNeverLost` prints (16 steps).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { runCheck } from '../checker/run.ts';
import { readTrace, replayTraceFile } from '../checker/report/trace-reader.ts';
import { buildSpec } from '../spec/index.ts';
import type { ClusterState } from '../spec/state.ts';
import { delivered } from '../spec/state.ts';
import { runStory, SERVING_1_3 } from './support/story.ts';

const TRACE = join(import.meta.dirname, '..', 'traces', 'samples', 'findings', 'trunc-below-committed-3-servers.ndjson');
const P = 0x200000001;
const out = mkdtempSync(join(tmpdir(), 'finding-2-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const options = { nodes: 3, observers: 0, mutations: [], granularity: 'coarse', leaderApply: 'queued', fixes: ['forgetStaleAcks'] } as const;
const spec = buildSpec(options);
const holders = (s: ClusterState) => [1, 2, 3].filter((sid) => s.servers[sid - 1]!.history.some((t) => t.zxid === P));
const served = (s: ClusterState, sid: number) => delivered(s.servers[sid - 1]!).some((t) => t.zxid === P);
const committed = (s: ClusterState) => s.ghost.committed.some((t) => t.zxid === P);

describe('finding #2: TRUNC below a txn the leader has committed but not applied', () => {
  // Leader 1 and follower 3 serve epoch 2; server 2 is connected but still in discovery. A write, logged and ACKed
  // by 3: with the leader's own ACK, a quorum. The leader commits P (toBeApplied) and follower 3 applies it.
  const committedStory = `${SERVING_1_3}
    2 LearnerJoin -> 1
    1 LeaderProcessRequest
    3 <- 1 FollowerProcessPROPOSAL
    1 <- 3 LeaderProcessACK
    check %1->3 = COMMIT
    3 <- 1 FollowerProcessCOMMIT
    enabled 1 LeaderApplyCommitted
  `;
  const s1 = runStory(spec, committedStory);

  it('is committed by a real quorum, and served by the follower, before the leader applies it', () => {
    expect(committed(s1)).toBe(true);
    expect(holders(s1)).toStrictEqual([1, 3]);
    expect(served(s1, 3)).toBe(true);
    expect(served(s1, 1)).toBe(false);
    expect(s1.servers[0]!.leader!.toBeApplied).toBe(1);
  });

  // Follower 3's connection breaks; it rejoins before the leader applies P. syncFollower: 3's last zxid is P, above
  // maxCommittedLog (0x100000002), so TRUNC; then P again with its COMMIT (toBeApplied), then NEWLEADER.
  const s2 = runStory(
    spec,
    `
    1 ConnectionLost -> 3
    3 LearnerJoin -> 1
    1 LeaderSyncFollower -> 3
    check %1->3 = TRUNC,PROPOSAL,COMMIT,NEWLEADER
    3 <- 1 LearnerProcessTRUNC
    `,
    s1,
  );

  it('TRUNCs the follower below the committed txn it had served', () => {
    expect(holders(s2)).toStrictEqual([1]);
    const sync = spec.properties.find((p) => p.name === 'syncConsistency')!;
    expect(sync.check(s1)).toBe(true);
    expect(sync.check(s2)).toBe(false);
    expect(sync.explain!(s2)).toMatch(/deliveredTxnTruncated/);
  });

  it('loses it when the leader crashes, even if it applied P (and answered its client) first', () => {
    const end = runStory(spec, '1 LeaderApplyCommitted\n1 Crash\n3 ElectAndDiscover [2,3]', s2);
    const lost = spec.properties.find((p) => p.name === 'committedNeverLost')!;
    expect(lost.check(end)).toBe(false);
    expect(lost.explain!(end)).toMatch(/leader 3 of epoch 3 lacks committed txn 0x200000001=3/);
    expect(end.servers.filter((s) => !s.online).length).toBe(1);
  });

  it('is the counterexample kept in traces/samples/findings, replayed step by step', () => {
    const header = readTrace(TRACE).header;
    expect(header.params).toMatchObject({ nodes: 3, leaderApply: 'queued', fixes: ['forgetStaleAcks'] });
    const steps = replayTraceFile(buildSpec(header.params as never) as never, TRACE);
    expect(steps.length).toBe(17);
    expect(steps.map((s) => s.action?.kind ?? 'init')).toContain('LearnerProcessTRUNC');
    const lost = spec.properties.find((p) => p.name === 'committedNeverLost')!;
    expect(lost.check(steps.at(-1)!.state as ClusterState)).toBe(false);
  });

  it('does not happen with the leader applying as it commits (the default), nor with --fix countToBeApplied', () => {
    const atomic = buildSpec({ ...options, leaderApply: undefined });
    const a = runStory(atomic, committedStory.replace('enabled 1 LeaderApplyCommitted', '') + '1 ConnectionLost -> 3\n3 LearnerJoin -> 1\n1 LeaderSyncFollower -> 3\ncheck %1->3 = DIFF,NEWLEADER');
    expect(holders(a)).toStrictEqual([1, 3]);
    const fixed = buildSpec({ ...options, fixes: ['forgetStaleAcks', 'countToBeApplied'] });
    const f = runStory(fixed, committedStory + '1 ConnectionLost -> 3\n3 LearnerJoin -> 1\n1 LeaderSyncFollower -> 3\ncheck %1->3 = DIFF,NEWLEADER');
    expect(holders(f)).toStrictEqual([1, 3]);
  });
});

describe('the checker finds it at the default bounds, and passes with both fixes', () => {
  const flags = ['--nodes', '3', '--leader-apply', 'queued', '--workers', '1', '--fix', 'forgetStaleAcks', '--out', out];

  it('breadth-first: 15 steps to a follower truncating a txn it delivered', async () => {
    const r = await runCheck(parseFlags([...flags, '--depth', '30']));
    expect(r.verdict).toBe('fail');
    expect(r.counterexample?.property).toBe('syncConsistency');
    expect(r.counterexample?.steps.length).toBe(15);
  });

  it('with --fix countToBeApplied too, nothing to depth 17', async () => {
    const r = await runCheck(parseFlags([...flags, '--depth', '17', '--fix', 'countToBeApplied']));
    expect(r.verdict).toBe('pass');
    expect(r.depthReached).toBe(17);
    expect(r.distinct).toBeGreaterThan(100_000);
  });
});
