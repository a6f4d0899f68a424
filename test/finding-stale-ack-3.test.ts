// Finding #1 again, with three servers, once the spec logs the leader's own proposal as ZooKeeper does
// (--leader-log queued): the leader sends PROPOSAL, then its SyncRequestProcessor writes the txn, and only then
// does AckRequestProcessor count the leader's own ACK. A follower's ACK can arrive first; if that follower's
// connection breaks and it rejoins before the leader's fsync is done, syncFollower TRUNCs it, yet the leader
// counts its old ACK with its own and commits. The leader crashes before the follower logs the txn again, and
// the other two servers elect a leader without it: one crash and one lost connection lose a committed write.
//
// The trace is what `npm run check -- --nodes 3 --depth 30 --leader-log queued --workers 1` prints (17 steps).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { runCheck } from '../checker/run.ts';
import { readTrace, replayTraceFile } from '../checker/report/trace-reader.ts';
import { buildSpec } from '../spec/index.ts';
import type { ClusterState } from '../spec/state.ts';
import { runStory, SERVING_1_3 } from './support/story.ts';

const TRACE = join(import.meta.dirname, '..', 'traces', 'samples', 'findings', 'stale-ack-3-servers-queued-leader-log.ndjson');
const P = 0x200000001;
const out = mkdtempSync(join(tmpdir(), 'finding-3-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const queued = buildSpec({ nodes: 3, observers: 0, mutations: [], granularity: 'coarse', leaderLog: 'queued' });
const acksOfP = (s: ClusterState) => s.servers[0]!.leader?.outstanding.find((p) => p.zxid === P)?.acks;
const holders = (s: ClusterState) => [1, 2, 3].filter((sid) => s.servers[sid - 1]!.history.some((t) => t.zxid === P));
const committed = (s: ClusterState) => s.ghost.committed.some((t) => t.zxid === P);

describe("finding #1 with 3 servers: the leader's own ACK comes after its fsync", () => {
  // Leader 1 and follower 3 serve epoch 2; server 2 is connected but still in discovery (it gets no PROPOSAL).
  const serving = `${SERVING_1_3}
    2 LearnerJoin -> 1
  `;
  // A client write: PROPOSAL to 3, the txn queued to the leader's disk.
  const proposed = `
    1 LeaderProcessRequest
    check 1.pendingLog = 0x200000001=3
    check 1.history = 0x100000001=1,0x100000002=2
    check %1->3 = PROPOSAL
    3 <- 1 FollowerProcessPROPOSAL
    1 <- 3 LeaderProcessACK
  `;
  const s1 = runStory(queued, serving + proposed);

  it("counts the follower's ACK while its own is still waiting for the disk, and does not commit on it alone", () => {
    expect(acksOfP(s1)).toStrictEqual([3]);
    expect(committed(s1)).toBe(false);
    expect(holders(s1)).toStrictEqual([3]);
  });

  // Follower 3's connection breaks (no crash) and it rejoins the same leader: TRUNC to maxCommittedLog, P again, NEWLEADER.
  const rejoined = `
    1 ConnectionLost -> 3
    3 LearnerJoin -> 1
    1 LeaderSyncFollower -> 3
    check %1->3 = TRUNC,PROPOSAL,NEWLEADER
  `;
  const s2 = runStory(queued, rejoined, s1);

  it('keeps the ACK of the follower it has just told to truncate', () => {
    expect(acksOfP(s2)).toStrictEqual([3]);
  });

  // The leader's fsync completes: its own ACK and the old one make a quorum of 3, P commits (the client's OK).
  const s3 = runStory(queued, '1 LeaderFlushLog\ncheck %1->3 = TRUNC,PROPOSAL,NEWLEADER,COMMIT', s2);
  // Follower 3 applies the TRUNC; the re-sent PROPOSAL waits in memory until NEWLEADER, which never comes.
  const s4 = runStory(queued, '3 <- 1 LearnerProcessTRUNC', s3);
  const end = runStory(queued, '1 Crash\n3 ElectAndDiscover [2,3]', s4);

  it('commits P on a quorum of which only the leader keeps it, and loses it with the leader', () => {
    expect(committed(s2)).toBe(false);
    expect(committed(s3)).toBe(true);
    expect(holders(s3)).toStrictEqual([1, 3]);
    expect(holders(s4)).toStrictEqual([1]);
    expect(end.servers.filter((s) => !s.online).length).toBe(1);
    const lost = queued.properties.find((p) => p.name === 'committedNeverLost')!;
    expect(lost.check(s4)).toBe(true);
    expect(lost.check(end)).toBe(false);
    expect(lost.explain!(end)).toMatch(/leader 3 of epoch 3 lacks committed txn 0x200000001=3/);
  });

  it('is the counterexample kept in traces/samples/findings, step for step', () => {
    const header = readTrace(TRACE).header;
    expect(header.params).toMatchObject({ nodes: 3, leaderLog: 'queued' });
    const steps = replayTraceFile(buildSpec(header.params as never) as never, TRACE);
    expect(steps.length).toBe(18);
    expect(JSON.stringify(steps.at(-1)!.state)).toBe(JSON.stringify(end));
  });

  it('cannot happen when the leader ACKs as it proposes (the default), nor with the proposed fix', () => {
    const atomic = buildSpec({ nodes: 3, observers: 0, mutations: [], granularity: 'coarse' });
    const a = runStory(atomic, serving + '1 LeaderProcessRequest\ncheck 1.history = 0x100000001=1,0x100000002=2,0x200000001=3');
    expect(atomic.next(a).some((x) => x.action.kind === 'LeaderFlushLog')).toBe(false);
    const fixed = buildSpec({ nodes: 3, observers: 0, mutations: [], granularity: 'coarse', leaderLog: 'queued', fixes: ['forgetStaleAcks'] });
    const f = runStory(fixed, serving + proposed + rejoined + '1 LeaderFlushLog\n3 <- 1 LearnerProcessTRUNC');
    expect(f.servers[0]!.leader?.outstanding.find((p) => p.zxid === P)?.acks).toStrictEqual([1]);
    expect(f.ghost.committed.some((t) => t.zxid === P)).toBe(false);
  });
});

describe('the checker finds it at the default bounds, and passes with the fix', () => {
  const flags = ['--nodes', '3', '--leader-log', 'queued', '--workers', '1', '--invariant', 'committedNeverLost', '--out', out];

  it('breadth-first: 17 steps, the shortest', async () => {
    const r = await runCheck(parseFlags([...flags, '--depth', '30']));
    expect(r.verdict).toBe('fail');
    expect(r.counterexample?.steps.length).toBe(17);
    expect(r.depthReached).toBe(17);
  });

  it('with --fix forgetStaleAcks, no loss in the states to depth 18', async () => {
    const r = await runCheck(parseFlags([...flags, '--depth', '18', '--fix', 'forgetStaleAcks']));
    expect(r.verdict).toBe('pass');
    expect(r.distinct).toBeGreaterThan(150_000);
    expect(r.depthReached).toBe(18);
  });
});
