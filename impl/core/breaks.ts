// Test-only breakages of the protocol, each breaking one rule, so that tests can show the conformance harness
// (npm run conform) catches a real implementation that goes wrong. Off unless the server runs with
// --test-faults and the environment variable ZK_TEST_BREAK names them (comma-separated). Never for production.
//
// - ackBeforeLog: a follower ACKs a PROPOSAL before the txn is in its log.
// - commitWithoutQuorum: the leader commits a proposal on fewer than a quorum of ACKs (its own is enough).
// - acceptLowerEpoch: a learner accepts a LEADERINFO whose epoch is lower than its acceptedEpoch.
// - skipTrunc: the leader sends DIFF where TRUNC is due.
// - neverStepDown: a leader that has lost its quorum of synced participants stays LEADING (an omission: caught
//   by conform's obligations at the end of a quiet run, checker/conform/obligations.ts).
// - silentFollower: a follower logs every PROPOSAL after its third in broadcast but never ACKs it (an omission
//   too: the others' ACKs still commit).
export const TEST_BREAKS = ['ackBeforeLog', 'commitWithoutQuorum', 'acceptLowerEpoch', 'skipTrunc', 'neverStepDown', 'silentFollower'] as const;
export type TestBreak = (typeof TEST_BREAKS)[number];

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
