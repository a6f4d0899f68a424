// A finding of the checker on the fixed protocol (ZooKeeper 3.9 as the spec models it), kept as a trace in
// traces/samples/findings/: with 5 servers, a committed txn is lost while only the leader has crashed.
//
// Follower 3 logs and ACKs 0x100000002, and the leader counts the ACK. Follower 3 then crashes and rejoins.
// LearnerHandler.syncFollower sees its last zxid above maxCommittedLog (0x100000002 is still outstanding) and
// sends TRUNC: follower 3 removes the txn from its log. The leader never forgets the ACK, so follower 2's ACK
// makes a quorum {5, 3, 2} and commits the txn while only servers 5 and 2 hold it. The leader crashes before
// follower 3 logs the txn again, and servers 1, 3 and 4 elect 4, which lacks it.
//
// The trace is what `npm run check -- --nodes 5 --initial inflight --crashes 3 --txns 0 --partitions 0
// --max-epoch 2 --depth 14 --invariant committedNeverLost` prints (11 steps, ~660,000 states); 1,000 random
// walks of 5 servers (`--nodes 5 --simulate --walks 1000 --seed 1`) run into the same loss. With the proposed
// fix (`--fix forgetStaleAcks`) the same search passes to depth 14 (5.4 million states) and so do the walks.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../checker/report/replay.ts';
import { readTrace, replayTraceFile } from '../checker/report/trace-reader.ts';
import { buildSpec } from '../spec/index.ts';
import type { ClusterState } from '../spec/state.ts';

const TRACE = join(import.meta.dirname, '..', 'traces', 'samples', 'findings', 'stale-ack-after-trunc.ndjson');
const TXN = 0x100000002;

describe('finding: an ACK counted before a TRUNC that removed the txn', () => {
  const header = readTrace(TRACE).header;
  const spec = buildSpec(header.params as never);
  const steps = replayTraceFile(spec as never, TRACE);
  const states = steps.map((s) => s.state as ClusterState);
  const kinds = steps.map((s) => (s.action === null ? 'init' : `${s.action.kind}@${s.action.sid}`));
  const has = (s: ClusterState, sid: number) => s.servers[sid - 1]!.history.some((t) => t.zxid === TXN);
  const acks = (s: ClusterState) => s.servers[4]!.leader?.outstanding.find((p) => p.zxid === TXN)?.acks ?? [];

  it('replays step by step through the spec', () => {
    expect(kinds).toStrictEqual([
      'init',
      'FollowerProcessPROPOSAL@2',
      'FollowerProcessPROPOSAL@3',
      'LeaderProcessACK@5',
      'Crash@3',
      'Restart@3',
      'LearnerJoin@3',
      'LeaderSyncFollower@5',
      'LearnerProcessTRUNC@3',
      'LeaderProcessACK@5',
      'Crash@5',
      'ElectAndDiscover@4',
    ]);
  });

  it('the leader keeps follower 3 among the ACKs of a txn its TRUNC took out of follower 3 log', () => {
    expect(acks(states[3]!)).toContain(3); // counted
    expect(has(states[7]!, 3)).toBe(true);
    expect(has(states[8]!, 3)).toBe(false); // truncated
    expect(acks(states[8]!)).toContain(3); // still counted
  });

  it('commits it with only the leader and follower 2 holding it, then loses it when the leader crashes', () => {
    const committed = (s: ClusterState) => s.ghost.committed.some((t) => t.zxid === TXN);
    expect(committed(states[8]!)).toBe(false);
    expect(committed(states[9]!)).toBe(true);
    expect([1, 2, 3, 4, 5].filter((sid) => has(states[9]!, sid))).toStrictEqual([2, 5]);
    const last = states.at(-1)!;
    expect(last.servers.filter((s) => !s.online).length).toBe(1); // only the old leader is down
    const lost = spec.properties.find((p) => p.name === 'committedNeverLost')!;
    expect(states.slice(0, -1).every((s) => lost.check(s))).toBe(true);
    expect(lost.check(last)).toBe(false);
    expect(lost.explain!(last)).toMatch(/leader 4 of epoch 2 lacks committed txn 0x100000002/);
  });
});

describe('the proposed fix: syncFollower forgets the ACKs of the learner it syncs (--fix forgetStaleAcks)', () => {
  const header = readTrace(TRACE).header;
  const broken = buildSpec(header.params as never);
  const fixed = buildSpec({ ...(header.params as object), fixes: ['forgetStaleAcks'] } as never);
  // The same first nine steps, by successor index (the fix changes what a step does, not which are enabled up
  // to follower 2's ACK, which no longer commits); then the leader's crash and the election of server 4.
  const indices = replayTraceFile(broken as never, TRACE).slice(1, 10).map((s) => s.index!);
  const states = replay(fixed as never, { steps: indices }).map((s) => s.state as ClusterState);
  const take = (kind: string, sid: number) => {
    const next = fixed.next(states.at(-1)!).find((x) => x.action.kind === kind && x.action.sid === sid && JSON.stringify((x.action as { quorum?: number[] }).quorum ?? [1, 3, 4]) === '[1,3,4]');
    expect(next, `${kind}@${sid}`).toBeDefined();
    states.push(next!.state);
  };
  take('Crash', 5);
  take('ElectAndDiscover', 4);
  const acks = (s: ClusterState) => s.servers[4]!.leader?.outstanding.find((p) => p.zxid === TXN)?.acks ?? [];

  it('drops follower 3 from the ACKs when it syncs, so follower 2 alone does not make a quorum', () => {
    expect(acks(states[6]!)).toStrictEqual([3, 5]);
    expect(acks(states[7]!)).toStrictEqual([5]);
    expect(acks(states[9]!)).toStrictEqual([2, 5]);
    expect(states[9]!.ghost.committed.some((t) => t.zxid === TXN)).toBe(false);
  });

  it('keeps every invariant along the path, to the election of server 4 after the leader crashed', () => {
    expect(states.length).toBe(12);
    for (const s of states) for (const p of fixed.properties) if (p.kind === 'invariant') expect([p.name, p.check(s)]).toStrictEqual([p.name, true]);
  });
});
