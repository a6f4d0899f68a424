// Real ZooKeeper bugs as switches of the spec (`check --variant NAME`). The default spec is the fixed protocol
// (ZooKeeper 3.9 master, with ZOOKEEPER-2845, 3911, 4394, 4643, 4646, 4685, 4712 and 4785 fixed). A variant
// puts back, at the code path of one bug, what the affected releases did; everything else stays fixed, so the
// checker's counterexample shows that bug and no other. Research notes: docs/bugs.md; results: docs/variants.md.
//
// What each variant changes is its entry in VARIANT_SEAMS (spec/seams.ts): the handlers state the fixed protocol's
// rule and call a named seam where the affected code differed: onLeaveRole (zab/roles.ts backToLooking),
// onNewLeader, onFinishNewLeader and onUpToDate (zab/sync.ts), onCommit (zab/broadcast.ts), and the steps a variant
// adds (LearnerFinishNEWLEADER, FollowerCommitProcessor, and coarse.ts's ElectAbandoned: a leader its voters abandon
// during the election, a liveness bug found with --liveness). One branch is not a seam yet: 4712's PROPOSAL,
// queued rather than logged, in zab/broadcast.ts followerProcessPROPOSAL (and its old logger in followerFlushLog).

export interface Variant {
  readonly jira: string;
  /** Releases that have the behaviour (from the release tags of the ZooKeeper repository, see docs/bugs.md). */
  readonly affected: string;
  readonly fixedIn: string;
  /** One line for --list-variants. */
  readonly summary: string;
  /** The code path of the affected releases that the variant reproduces. */
  readonly codePath: string;
  readonly whatGoesWrong: string;
  readonly fix: string;
  /** The invariant the checker finds violated (a liveness property: with --liveness), and the initial state. */
  readonly invariant: string;
  /** The property is a liveness property (spec/liveness.ts): found as a lasso with --liveness. */
  readonly liveness?: boolean;
  readonly initial: 'broadcast' | 'inflight';
}

export const VARIANTS = {
  '2845': {
    jira: 'ZOOKEEPER-2845',
    affected: '3.4.0-3.4.11, 3.5.0-3.5.3',
    fixedIn: '3.4.12, 3.5.4, 3.6.0',
    summary: 'a server back to LOOKING keeps its data tree and votes with its last applied zxid, below its log',
    codePath:
      'Leader.shutdown/Learner.shutdown -> ZooKeeperServer.shutdown(false) keeps zkDb as it is; lookForLeader and ACKEPOCH report getLastLoggedZxid() = the tree\'s lastProcessedZxid; syncFollower answers DIFF instead of TRUNC',
    whatGoesWrong:
      'an uncommitted txn in the log (an old leader logs its own proposals before they commit) stays there under the new epoch: the follower\'s log diverges from its leader\'s and the txn reappears on restart',
    fix: 'ZKDatabase.fastForwardDataBase in shutdown(false): the tree is caught up to the log before the vote',
    invariant: 'followerLogPrefix',
    initial: 'broadcast',
  },
  '3911': {
    jira: 'ZOOKEEPER-3911',
    affected: '3.4.10-3.4.14, 3.5.3-3.5.9, 3.6.0-3.6.2',
    fixedIn: '3.5.10, 3.6.3, 3.7.0',
    summary: 'DIFF sync: the follower ACKs NEWLEADER before the txns of the sync are logged (only after UPTODATE)',
    codePath:
      'Learner.syncWithLeader(NEWLEADER): takeSnapshot only for SNAP/TRUNC, setCurrentEpoch, ACK; packetsNotCommitted go to logRequest only after UPTODATE',
    whatGoesWrong:
      'the leader counts the ACK and commits its initial history; a crash of the follower loses those txns, and it can then lead without them: a committed txn is lost',
    fix: 'log the sync txns before the NEWLEADER ACK (logRequest at NEWLEADER; made synchronous by ZOOKEEPER-4785)',
    invariant: 'committedNeverLost',
    initial: 'broadcast',
  },
  '4643': {
    jira: 'ZOOKEEPER-4643',
    affected: '3.4.10+, 3.5.3-3.5.10, 3.6.0-3.6.4, 3.7.0-3.7.2, 3.8.0-3.8.4, 3.9.0-3.9.1',
    fixedIn: '3.8.5, 3.9.2 (ZOOKEEPER-4785)',
    summary: 'NEWLEADER: currentEpoch is written before the txns of the sync are durable; a crash in between',
    codePath:
      'Learner.syncWithLeader(NEWLEADER): self.setCurrentEpoch(newEpoch) runs before the sync txns are fsynced; QuorumPeer.loadDataBase reloads the new epoch with the old log; FLE ranks currentEpoch before the zxid',
    whatGoesWrong:
      'the restarted server votes with the new epoch and an old log, wins against a server holding a txn committed in the earlier epoch, and TRUNCs it away',
    fix: 'append and fsync the sync txns (ZKDatabase.commit), then setCurrentEpoch, then ACK (ZOOKEEPER-4785)',
    invariant: 'committedNeverLost',
    initial: 'inflight',
  },
  '4646': {
    jira: 'ZOOKEEPER-4646',
    affected: '3.5.10, 3.6.3-3.6.4, 3.7.0-3.7.2, 3.8.0-3.8.4, 3.9.0-3.9.1',
    fixedIn: '3.8.5, 3.9.2 (ZOOKEEPER-4785)',
    summary: 'NEWLEADER: the sync txns are only queued to the SyncRequestProcessor when the ACK is sent',
    codePath:
      'Learner.syncWithLeader(NEWLEADER): setCurrentEpoch, fzk.logRequest(...) for every packet (asynchronous), packetsNotCommitted.clear(), writePacket(ACK)',
    whatGoesWrong:
      'the leader counts an ACK for txns still in the logging queue; a crash of the follower (and of the leader) loses a committed txn',
    fix: 'appendRequest + ZKDatabase.commit() (fsync) before setCurrentEpoch and the ACK (ZOOKEEPER-4785)',
    invariant: 'committedNeverLost',
    initial: 'broadcast',
  },
  '4685': {
    jira: 'ZOOKEEPER-4685',
    affected: '3.5.10, 3.6.3-3.6.4, 3.7.0-3.7.2, 3.8.0-3.8.4, 3.9.0-3.9.1',
    fixedIn: '3.8.5, 3.9.2 (ZOOKEEPER-4785)',
    summary: 'the follower\'s logging thread ACKs a sync txn before the NEWLEADER ACK; the leader does not count it',
    codePath:
      'Learner.syncWithLeader(NEWLEADER): logRequest -> SyncRequestProcessor flush -> SendAckRequestProcessor writes ACK(zxid), racing writePacket(ACK newLeaderZxid); LearnerHandler takes the first packet after NEWLEADER as its ACK and Leader.waitForNewLeaderAck ignores another zxid',
    whatGoesWrong: 'the follower is never counted for NEWLEADER; if it is needed for the quorum the leader times out: the epoch fails',
    fix: 'sync txns logged synchronously at NEWLEADER and their ACKs sent only after the UPTODATE ACK (ZOOKEEPER-4785, 4394)',
    invariant: 'newLeaderAckOutstanding',
    initial: 'broadcast',
  },
  '4394': {
    jira: 'ZOOKEEPER-4394',
    affected: '3.5.10, 3.6.3-3.6.4, 3.7.0-3.7.2, 3.8.x, 3.9.0-3.9.2',
    fixedIn: '3.9.3',
    summary: 'NEWLEADER clears the proposals buffered during sync; a COMMIT before UPTODATE finds nothing (NPE)',
    codePath:
      'Learner.syncWithLeader: NEWLEADER logs every packetsNotCommitted and clears the deque; a COMMIT of an outstanding proposal (Leader.startForwarding) then does packetsNotCommitted.peekFirst().hdr -> NullPointerException',
    whatGoesWrong: 'the learner thread throws and the follower abandons the sync, again at every retry while proposals are outstanding',
    fix: 'log and apply at NEWLEADER only the packets already committed; outstanding ones stay buffered until COMMIT or UPTODATE (PR #2152)',
    invariant: 'syncCommitKnown',
    initial: 'inflight',
  },
  '3023': {
    jira: 'ZOOKEEPER-3023',
    affected: '3.4.10+, 3.5.3+, 3.6.0-3.9.2',
    fixedIn: '3.9.3',
    summary: 'a follower starts serving (UPTODATE) before the txns committed to it during sync are applied',
    codePath:
      'Learner.syncWithLeader: the committed DIFF txns are handed to fzk.commit (CommitProcessor, applied later) after UPTODATE, after zk.startServing()',
    whatGoesWrong: 'the follower serves reads from a data tree behind the leader\'s initial history (stale reads)',
    fix: 'apply the committed sync txns (processTxn) at NEWLEADER, before the ACK (PR #2152)',
    invariant: 'servingIsUpToDate',
    initial: 'broadcast',
  },
  '4712': {
    jira: 'ZOOKEEPER-4712',
    affected: '3.5.10, 3.6.3-3.6.4, 3.7.0-3.7.2, 3.8.x, 3.9.0-3.9.2',
    fixedIn: '3.9.3',
    summary: 'a follower back to LOOKING leaves its SyncRequestProcessor running: txns reach its log after the vote',
    codePath:
      'Follower.shutdown -> Learner.shutdown -> ZooKeeperServer.shutdown(false) stops the processors except syncProcessor, then fastForwardDataBase; the old SyncRequestProcessor thread still appends its queue to the txn log',
    whatGoesWrong:
      'the server votes and ACKEPOCHs with a zxid below what its log then holds; the new leader DIFFs instead of TRUNCing and an uncommitted txn stays in the follower\'s log',
    fix: 'LearnerZooKeeperServer.shutdown stops (and drains) syncProcessor before fastForwardDataBase (PR #2154)',
    invariant: 'followerLogPrefix',
    initial: 'inflight',
  },
  '3109': {
    jira: 'ZOOKEEPER-3109',
    affected: '3.4.x, 3.5.0-3.5.9 (every release before 3.6.0)',
    fixedIn: '3.6.0 (PR #588; active when zookeeper.leader.maxTimeToWaitForEpoch >= 0, off by default)',
    summary: 'a voter changes its mind at the end of the election: the leader it elected waits for it in discovery',
    codePath:
      "FastLeaderElection.lookForLeader: the leader decides on a quorum {itself, V} when finalizeWait ends; V, still in finalizeWait, hears a better vote and moves on with it; Leader.getEpochToPropose waits for V's FOLLOWERINFO until initLimit, and WorkerReceiver only answers V's LOOKING notifications",
    whatGoesWrong:
      'the leader stays LEADING in discovery, with no quorum to come, while the others elect and serve another leader: until its initLimit timeout fires (a fault the model charges to --partitions) the ensemble never settles',
    fix: "WorkerReceiver reports a LOOKING notification from a voter of the leader's vote set (Leader.reportLookingSid): the leader quits waiting for the epoch and looks for a leader again",
    invariant: 'leaderEventually',
    liveness: true,
    initial: 'broadcast',
  },
} as const satisfies Record<string, Variant>;

export type VariantName = keyof typeof VARIANTS;

export function isVariantName(name: string): name is VariantName {
  return Object.prototype.hasOwnProperty.call(VARIANTS, name);
}

/** `check --list-variants`: name, JIRA, affected versions, summary. */
export function listVariants(): string {
  return Object.entries(VARIANTS)
    .map(([name, v]) => {
      const how = 'liveness' in v ? `violates ${v.invariant}, with --liveness` : `violates ${v.invariant}`;
      return `${name.padEnd(6)}${v.jira.padEnd(16)}affects ${v.affected}\n      ${v.summary} (${how})`;
    })
    .join('\n');
}
