// Test-only breakages of the protocol, each breaking one rule, so that tests can show the conformance harness
// (npm run conform) catches a real implementation that goes wrong. Off unless the server runs with
// --test-faults and the environment variable ZK_TEST_BREAK names them (comma-separated). Never for production.
//
// - ackBeforeLog: a follower ACKs a PROPOSAL before the txn is in its log.
// - commitWithoutQuorum: the leader commits a proposal on fewer than a quorum of ACKs (its own is enough).
// - acceptLowerEpoch: a learner accepts a LEADERINFO whose epoch is lower than its acceptedEpoch.
// - skipTrunc: the leader sends DIFF where TRUNC is due.
// - neverStepDown: a leader that has lost its quorum of synced participants stays LEADING (an omission: caught
//   by conform's timed obligations, checker/conform/timed.ts: OVERDUE past syncLimit ticks).
// - silentFollower: a follower logs every PROPOSAL after its third in broadcast but never ACKs it (an omission
//   too: the others' ACKs still commit).
//
// The mutation set of issue 19 (npm run simulate -- --every-break measures conformance's catch rate on them):
// election (FLE)
// - voteZxidBeforeEpoch: totalOrderPredicate compares the zxid before the epoch.
// - ignorePeerEpoch: totalOrderPredicate ignores the notification's peerEpoch (zxid, then sid).
// - decideWithoutQuorum: a LOOKING server enters finalizeWait on its own vote alone, without a quorum for it.
// discovery
// - epochNotMaxPlusOne: the leader proposes the largest accepted epoch it heard, not one past it.
// - acceptedEpochNotDurable: a learner takes LEADERINFO's epoch in memory only (no acceptedEpoch file) before ACKEPOCH.
// - leaderAcceptsAhead: the leader does not refuse an ACKEPOCH from a learner whose history is ahead of its own.
// sync
// - snapAtWindowEdge: a learner whose last zxid is the oldest of the leader's committedLog gets SNAP, not DIFF.
// - diffSkipsOne: a DIFF's txns start one after the first the learner lacks.
// - truncOffByOne: TRUNC names the zxid before the right one (when it is of the same epoch).
// - noQueuedProposals: the leader does not forward its outstanding proposals between the sync and NEWLEADER.
// - noCurrentEpochAtNewLeader: a learner acknowledges NEWLEADER without writing currentEpoch.
// broadcast
// - commitOutOfOrder: the leader commits any proposal with a quorum, not only in zxid order.
// - applyOnPropose: a follower applies a PROPOSAL (and answers its client) as it logs it, before the COMMIT.
// - leaderProposeUnlogged: the leader sends PROPOSALs without appending them to its own log.
// - leaderAckBeforeFsync: the leader counts its own ACK of a proposal as it proposes, before its log is fsynced
//   (invisible to the spec's atomic leader log, which counts it there too; the queued one sees it).
// durability
// - ackBeforeFsync: the simulator's disk fsyncs every append but the newest (MemDisk), so a server ACKs what is not durable.
// - loseLastTxnOnRestart: a restarted server drops the last txn of the log it recovers.
// observers
// - observerAcks: an observer ACKs every INFORM it logs.
// - observerInQuorum: the leader counts observers in its discovery, NEWLEADER and step-down quorums.
export const TEST_BREAKS = [
  'ackBeforeLog',
  'commitWithoutQuorum',
  'acceptLowerEpoch',
  'skipTrunc',
  'neverStepDown',
  'silentFollower',
  'voteZxidBeforeEpoch',
  'ignorePeerEpoch',
  'decideWithoutQuorum',
  'epochNotMaxPlusOne',
  'acceptedEpochNotDurable',
  'leaderAcceptsAhead',
  'snapAtWindowEdge',
  'diffSkipsOne',
  'truncOffByOne',
  'noQueuedProposals',
  'noCurrentEpochAtNewLeader',
  'commitOutOfOrder',
  'applyOnPropose',
  'leaderProposeUnlogged',
  'leaderAckBeforeFsync',
  'ackBeforeFsync',
  'loseLastTxnOnRestart',
  'observerAcks',
  'observerInQuorum',
] as const;
export type TestBreak = (typeof TEST_BREAKS)[number];

/** Breakages that can only show with an observer in the ensemble (--every-break runs them with one). */
export const OBSERVER_BREAKS: ReadonlySet<TestBreak> = new Set<TestBreak>(['observerAcks', 'observerInQuorum']);

const on = new Set<TestBreak>();

export function enableTestBreaks(names: readonly string[]): void {
  for (const n of names) {
    if (!(TEST_BREAKS as readonly string[]).includes(n)) throw new Error(`unknown test break "${n}" (known: ${TEST_BREAKS.join(', ')})`);
    on.add(n as TestBreak);
  }
}

/** Exactly these breakages from now on (none: the protocol as written). For the in-process simulator, whose servers share this module. */
export function setTestBreaks(names: readonly string[]): void {
  on.clear();
  enableTestBreaks(names);
}

export function broken(name: TestBreak): boolean {
  return on.size > 0 && on.has(name);
}
