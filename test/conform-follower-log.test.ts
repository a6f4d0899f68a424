// The follower's side of the queued log (issue 19 class 3, nemesis class (c)): with followerLog 'queued' a
// follower's FollowerProcessPROPOSAL only queues the txn (FollowerZooKeeperServer.logRequest), and FollowerFlushLog,
// after the fsync, appends it to the durable log and sends its ACK (SyncRequestProcessor.flush, then
// SendAckRequestProcessor). impl/ logs both steps as they happen, and conform checks its logs against that spec: an
// ACK in a log was sent, so a kill -9 before the fsync leaves no ACK behind that vouches for a txn not on disk.
import { describe, expect, it } from 'vitest';
import { runSeed } from '../checker/vopr/run.ts';
import { buildSpec } from '../spec/index.ts';
import type { ClusterState } from '../spec/state.ts';
import { runStory, SERVING_1_3 } from './support/story.ts';

// Short runs: each breakage shows within its first few writes (a passing run is test/conform-leader-log.test.ts's).
const base = { participants: 3, observers: 0, timeMs: 8_000, settleMs: 3_000, breaks: [] as string[] };

const serving = SERVING_1_3;
const last = (s: ClusterState, sid: number) => s.servers[sid - 1]!.history.at(-1)!.zxid;

describe("the spec's queued follower log", () => {
  const opts = { nodes: 3, observers: 0, mutations: [], granularity: 'coarse' as const, txns: 2 };
  const atomic = buildSpec(opts);
  const queued = buildSpec({ ...opts, followerLog: 'queued' });
  const proposed = serving + '1 LeaderProcessRequest\n1 LeaderProcessRequest\n';

  it('queues a PROPOSAL without an ACK; FollowerFlushLog logs one txn a step and ACKs it', () => {
    const a = runStory(atomic, proposed + '3 <- 1 FollowerProcessPROPOSAL\ncheck %3->1 = ACK');
    expect(last(a, 3)).toBe(0x200000001);
    const q = runStory(queued, proposed + '3 <- 1 FollowerProcessPROPOSAL\n3 <- 1 FollowerProcessPROPOSAL\ncheck %3->1 = 0\ncheck 3.pendingLog = 0x200000001=3,0x200000002=4');
    expect(last(q, 3)).toBe(0x100000002);
    const once = runStory(queued, '3 FollowerFlushLog\ncheck %3->1 = ACK\ncheck 3.pendingLog = 0x200000002=4', q);
    expect(last(once, 3)).toBe(0x200000001);
    const both = runStory(queued, '3 FollowerFlushLog\ncheck %3->1 = ACK,ACK\ndisabled 3 FollowerFlushLog', once);
    expect(last(both, 3)).toBe(0x200000002);
  });

  it('loses the queue in a crash, unACKed; a role that ends without one logs it without an ACK (ZOOKEEPER-4712 fix)', () => {
    const q = runStory(queued, proposed + '3 <- 1 FollowerProcessPROPOSAL');
    const crashed = runStory(queued, '3 Crash', q);
    expect(crashed.servers[2]!.pendingLog).toEqual([]);
    expect(last(crashed, 3)).toBe(0x100000002);
    const lost = runStory(queued, '1 ConnectionLost -> 3\ncheck %3->1 = 0', q);
    expect(lost.servers[2]!.pendingLog).toEqual([]);
    expect(last(lost, 3)).toBe(0x200000001);
  });

  it("keeps ackBeforeLog's early ACK (and no ACK at its flush) in either mode", () => {
    for (const followerLog of ['atomic', 'queued'] as const) {
      const early = buildSpec({ ...opts, followerLog, mutations: ['ackBeforeLog'] });
      const s = runStory(early, proposed + '3 <- 1 FollowerProcessPROPOSAL\ncheck %3->1 = ACK\ncheck 3.pendingLog = 0x200000001=3');
      runStory(early, '3 FollowerFlushLog\ncheck %3->1 = ACK', s);
    }
  });
});

describe('conform checks impl logs with the queued follower log', () => {
  it('refuses a follower that ACKs at receipt (ackBeforeLog), at its FollowerProcessPROPOSAL', () => {
    const r = runSeed({ ...base, seed: 7, breaks: ['ackBeforeLog'] });
    expect(r.conform.verdict).toBe('divergence');
    expect(r.conform.divergence!.event.action).toBe('FollowerProcessPROPOSAL');
    expect(r.conform.divergence!.nearest!.message).toMatch(/sent \{"type":"ACK".*which the spec's FollowerProcessPROPOSAL does not send/);
  });

  it('refuses a follower that leaves an ACK out (silentFollower), at the flush that owed it', () => {
    const r = runSeed({ ...base, seed: 7, breaks: ['silentFollower'] });
    expect(r.conform.verdict).toBe('divergence');
    expect(r.conform.divergence!.event.action).toBe('FollowerFlushLog');
    expect(r.conform.divergence!.nearest!.message).toMatch(/ACK 1 of the flush: the log sent nothing, the spec's FollowerFlushLog sends \{"type":"ACK"/);
  });
});
