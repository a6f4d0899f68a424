// The parameters of a spec instance: cluster shape, protocol scope, bounds, initial state and breakages.
import { INITIAL_STATES, presetInitial, type InitialServer, type InitialStateName } from './initial.ts';
export { INITIAL_STATES, type InitialServer, type InitialStateName } from './initial.ts';
import type { CommittedTxn, LearnerType, Sid, Txn } from './types.ts';
import { makeZxid } from './types.ts';
import type { VariantName } from './variants.ts';
import { isVariantName, VARIANTS } from './variants.ts';

/**
 * Deliberate breakages of the protocol, one line each. They exist to show that the checker catches real
 * mistakes: each must produce a counterexample (see test/mutations.test.ts). Never on by default.
 */
export const MUTATIONS = {
  voteOrder:
    'totalOrderPredicate compares only server ids, ignoring peerEpoch and zxid: a server with a shorter history can win',
  quorum: 'every quorum test accepts half of the voters instead of more than half: a server can lead on a minority',
  commitWithoutQuorum: 'the leader commits a proposal on its own ACK, before a quorum of followers acknowledged it',
  skipTrunc: 'syncFollower sends DIFF where TRUNC is due: a learner keeps transactions the new leader does not have',
  acceptLowerEpoch: 'a learner accepts a LEADERINFO whose epoch is lower than its acceptedEpoch',
  ackBeforeLog: 'a follower ACKs a PROPOSAL before the txn is in its log (the log write can then be lost in a crash)',
  countLearnerTwice: 'the leader counts one learner twice towards the quorum of NEWLEADER ACKs, and starts serving on a minority',
} as const;
export type MutationName = keyof typeof MUTATIONS;

/**
 * Proposed changes to the protocol, for findings of the checker that ZooKeeper has not fixed (docs/findings.md):
 * off by default, since the spec models ZooKeeper as it is.
 */
export const FIXES = {
  forgetStaleAcks:
    'syncFollower removes the learner from the ACKs of outstanding proposals: it ACKs them again once it logged them (docs/findings.md #1)',
  countToBeApplied:
    "syncFollower counts the txns the leader committed but has not applied yet (toBeApplied) as committed when it chooses between DIFF and TRUNC: it never TRUNCs a learner below a committed txn (docs/findings.md #2; matters with --leader-apply queued)",
} as const;

export type FixName = keyof typeof FIXES;

/**
 * When the leader logs its own proposal. ZooKeeper's leader sends the PROPOSAL first (Leader.propose) and then
 * queues the txn to its own SyncRequestProcessor, whose AckRequestProcessor counts the leader's ACK once the
 * fsync is done: followers' ACKs can arrive before it. 'atomic' (the default, and a smaller state space) takes
 * the three as one step.
 */
export const LEADER_LOG = {
  atomic: "the leader logs its proposal and counts its own ACK in the step that proposes it",
  queued:
    "as ZooKeeper does: the proposal waits in the leader's SyncRequestProcessor queue; a later step (LeaderFlushLog) writes it to disk and counts the leader's own ACK",
} as const;
export type LeaderLogMode = keyof typeof LEADER_LOG;

/**
 * When a follower logs and ACKs a PROPOSAL. ZooKeeper's Follower.processPacket hands it to
 * FollowerZooKeeperServer.logRequest, which only queues it for the SyncRequestProcessor; that thread appends and
 * fsyncs it later (flush), and only then does its SendAckRequestProcessor send the ACK. 'atomic' (the default, and
 * a smaller state space) takes receipt, append, fsync and ACK as one step. With 'queued' the txn waits in
 * pendingLog for FollowerFlushLog: a crash loses it, unACKed; a role that ends without a crash flushes it (the
 * ZOOKEEPER-4712 fix: LearnerZooKeeperServer.shutdownComponents calls SyncRequestProcessor.shutdown).
 */
export const FOLLOWER_LOG = {
  atomic: 'a follower logs a PROPOSAL and ACKs it in the step that receives it',
  queued:
    "as ZooKeeper does: the PROPOSAL waits in the follower's SyncRequestProcessor queue; a later step (FollowerFlushLog) writes it to disk and sends its ACK",
} as const;
export type FollowerLogMode = keyof typeof FOLLOWER_LOG;

/**
 * When the leader applies what it commits. Leader.tryToCommit puts a proposal in toBeApplied and hands it to the
 * CommitProcessor; FinalRequestProcessor applies it later, and only then does it enter the committedLog, whose
 * last zxid (maxCommittedLog) syncFollower compares a learner's last zxid with. 'atomic' (the default) applies it
 * in the committing step.
 */
export const LEADER_APPLY = {
  atomic: 'the leader applies a txn (and adds it to its committedLog) in the step that commits it',
  queued:
    "as ZooKeeper does: a committed txn waits in toBeApplied until a later step (LeaderApplyCommitted) applies it; until then syncFollower's maxCommittedLog does not count it",
} as const;
export type LeaderApplyMode = keyof typeof LEADER_APPLY;

/**
 * Which votes the coarse LearnerJoin decides on. ZooKeeper's learner decides on the notifications it received,
 * which may be older than the votes the servers hold now: a vote's peerEpoch becomes the new epoch when its
 * server starts serving (the leader at startZkServer, a learner at UPTODATE: ZOOKEEPER-1732).
 */
export const JOIN_VOTES = {
  current:
    'the votes the servers hold when the learner joins: each coarse step is one the fine-grained spec reaches from the same state (test/coarse.test.ts)',
  election:
    "also the election's vote (same leader, zxid and round) with the peerEpoch a server of it still holds, counting the servers already serving as having sent it: the notifications they sent before they started serving, which a learner that was already looking reads later (the conformance of ZooKeeper's own logs)",
} as const;
export type JoinVotesMode = keyof typeof JOIN_VOTES;

export interface Bounds {
  /** Client writes the leaders may propose in all. */
  readonly txns: number;
  /** Crashes (each followed by a possible restart). */
  readonly crashes: number;
  /** Network failures: lost connections and timeouts (leader step-down, learner giving up). */
  readonly partitions: number;
  /** No leader proposes an epoch above this. */
  readonly maxEpoch: number;
}

/** Plain-data options: what the CLI, tests and worker threads pass to buildSpec. */
export interface SpecOptions {
  /** Participants (voters), sids 1..nodes. */
  readonly nodes: number;
  /** Observers, sids nodes+1..nodes+observers. */
  readonly observers: number;
  readonly mutations: readonly string[];
  /** 'fle': FastLeaderElection alone. 'zab' (default): election, discovery, sync, broadcast and faults. */
  readonly protocol?: 'fle' | 'zab';
  /** 'coarse' (DEFAULT_GRANULARITY): election and discovery as one atomic step. 'fine': every step of the real code. */
  readonly granularity?: 'fine' | 'coarse';
  /** A named initial state, or the durable state of each server (participants then observers). */
  readonly initial?: InitialStateName | readonly InitialServer[];
  /** Bounds (see Bounds); each defaults to DEFAULT_BOUNDS. */
  readonly txns?: number;
  readonly crashes?: number;
  readonly partitions?: number;
  readonly maxEpoch?: number;
  /** A real ZooKeeper bug put back into the spec (spec/variants.ts); none (the fixed protocol) by default. */
  readonly variant?: string;
  /** Proposed fixes (FIXES) to apply; none by default. */
  readonly fixes?: readonly string[];
  /** When the leader's own proposal reaches its disk and counts as its ACK (LEADER_LOG); 'atomic' by default. */
  readonly leaderLog?: LeaderLogMode;
  /** When a follower's PROPOSAL reaches its disk and is ACKed (FOLLOWER_LOG); 'atomic' by default. */
  readonly followerLog?: FollowerLogMode;
  /** When the leader applies what it commits (LEADER_APPLY); 'atomic' by default. */
  readonly leaderApply?: LeaderApplyMode;
  /** Which votes the coarse LearnerJoin decides on (JOIN_VOTES); 'current' by default. */
  readonly joinVotes?: JoinVotesMode;
  /** ZooKeeper's commitLogCount: how many committed txns the leader keeps to sync a learner by DIFF (500). */
  readonly commitLogCount?: number;
}

/** ZooKeeper's default commitLogCount (ZKDatabase.DEFAULT_COMMIT_LOG_COUNT). */
export const DEFAULT_COMMIT_LOG_COUNT = 500;

export const DEFAULT_BOUNDS: Bounds = { txns: 1, crashes: 1, partitions: 1, maxEpoch: 3 };

export interface Config {
  readonly nodes: number;
  readonly observers: number;
  readonly protocol: 'fle' | 'zab';
  readonly granularity: 'fine' | 'coarse';
  /** Every sid, participants first. */
  readonly sids: readonly Sid[];
  /** The voting members (QuorumVerifier.getVotingMembers()). */
  readonly voters: readonly Sid[];
  readonly learnerType: (sid: Sid) => LearnerType;
  readonly initialName: string;
  readonly initial: readonly InitialServer[];
  /** Ghost records of the initial state: txns proposed and committed before the run began. */
  readonly initialProposed: readonly Txn[];
  readonly initialCommitted: readonly CommittedTxn[];
  readonly bounds: Bounds;
  readonly mutations: ReadonlySet<MutationName>;
  /** The bug put back (spec/variants.ts), or null: the fixed protocol. */
  readonly variant: VariantName | null;
  readonly fixes: ReadonlySet<FixName>;
  readonly leaderLog: LeaderLogMode;
  readonly followerLog: FollowerLogMode;
  readonly leaderApply: LeaderApplyMode;
  readonly joinVotes: JoinVotesMode;
  /**
   * ZKDatabase's committedLog keeps the last commitLogCount committed txns (addCommittedProposal drops the
   * oldest): a learner behind them gets a SNAP. Far above the model checker's bounds; conform takes the servers'.
   */
  readonly commitLogCount: number;
}

/** The granularity of ZAB when none is given (the check's default too): election and discovery as one step. */
export const DEFAULT_GRANULARITY = 'coarse';

export function makeConfig(options: SpecOptions): Config {
  const total = options.nodes + options.observers;
  const sids = Array.from({ length: total }, (_, i) => i + 1);
  const voters = sids.slice(0, options.nodes);
  for (const m of options.mutations) {
    if (!(m in MUTATIONS)) throw new Error(`unknown mutation "${m}" (known: ${Object.keys(MUTATIONS).join(', ')})`);
  }
  for (const f of options.fixes ?? []) {
    if (!(f in FIXES)) throw new Error(`unknown fix "${f}" (known: ${Object.keys(FIXES).join(', ')})`);
  }
  if (options.leaderLog !== undefined && !(options.leaderLog in LEADER_LOG)) {
    throw new Error(`unknown leader log mode "${options.leaderLog}" (known: ${Object.keys(LEADER_LOG).join(', ')})`);
  }
  if (options.followerLog !== undefined && !(options.followerLog in FOLLOWER_LOG)) {
    throw new Error(`unknown follower log mode "${options.followerLog}" (known: ${Object.keys(FOLLOWER_LOG).join(', ')})`);
  }
  if (options.leaderApply !== undefined && !(options.leaderApply in LEADER_APPLY)) {
    throw new Error(`unknown leader apply mode "${options.leaderApply}" (known: ${Object.keys(LEADER_APPLY).join(', ')})`);
  }
  if (options.commitLogCount !== undefined && !(Number.isInteger(options.commitLogCount) && options.commitLogCount > 0)) {
    throw new Error(`commitLogCount must be a positive integer, not ${options.commitLogCount}`);
  }
  if (options.joinVotes !== undefined && !(options.joinVotes in JOIN_VOTES)) {
    throw new Error(`unknown join votes mode "${options.joinVotes}" (known: ${Object.keys(JOIN_VOTES).join(', ')})`);
  }
  if (options.variant !== undefined && !isVariantName(options.variant)) {
    throw new Error(`unknown variant "${options.variant}" (known: ${Object.keys(VARIANTS).join(', ')})`);
  }
  const protocol = options.protocol ?? 'zab';
  const initialOption = options.initial ?? (protocol === 'fle' ? 'fresh' : 'broadcast');
  let initial: readonly InitialServer[];
  let initialProposed: readonly Txn[] = [];
  let initialCommitted: readonly CommittedTxn[] = [];
  if (typeof initialOption === 'string') {
    if (!(initialOption in INITIAL_STATES)) {
      throw new Error(`unknown initial state "${initialOption}" (known: ${Object.keys(INITIAL_STATES).join(', ')})`);
    }
    const preset = presetInitial(initialOption, options.nodes, options.observers);
    initial = preset.servers;
    initialProposed = preset.proposed;
    initialCommitted = preset.committed;
  } else {
    initial = initialOption;
    // Without a record of what was committed, every logged txn counts as proposed and none as committed.
    const seen = new Map<number, Txn>();
    for (const s of initial) for (const txn of s.history) seen.set(txn.zxid, txn);
    initialProposed = [...seen.values()].sort((a, b) => a.zxid - b.zxid);
  }
  if (initial.length !== total) {
    throw new Error(`initial state given for ${initial.length} servers, the cluster has ${total}`);
  }
  return {
    nodes: options.nodes,
    observers: options.observers,
    protocol,
    // Coarse steps fold election into discovery: FastLeaderElection alone is always fine-grained.
    granularity: protocol === 'fle' ? 'fine' : (options.granularity ?? DEFAULT_GRANULARITY),
    sids,
    voters,
    learnerType: (sid) => (sid <= options.nodes ? 'participant' : 'observer'),
    initialName: typeof initialOption === 'string' ? initialOption : 'custom',
    initial,
    initialProposed,
    initialCommitted,
    bounds: {
      txns: options.txns ?? DEFAULT_BOUNDS.txns,
      crashes: options.crashes ?? DEFAULT_BOUNDS.crashes,
      partitions: options.partitions ?? DEFAULT_BOUNDS.partitions,
      maxEpoch: options.maxEpoch ?? DEFAULT_BOUNDS.maxEpoch,
    },
    mutations: new Set(options.mutations as MutationName[]),
    variant: options.variant === undefined ? null : (options.variant as VariantName),
    fixes: new Set((options.fixes ?? []) as FixName[]),
    leaderLog: options.leaderLog ?? 'atomic',
    followerLog: options.followerLog ?? 'atomic',
    leaderApply: options.leaderApply ?? 'atomic',
    joinVotes: options.joinVotes ?? 'current',
    commitLogCount: options.commitLogCount ?? DEFAULT_COMMIT_LOG_COUNT,
  };
}

export function isVoter(cfg: Config, sid: Sid): boolean {
  return sid >= 1 && sid <= cfg.nodes;
}

/** QuorumMaj.containsQuorum: more than half of the voters (or, broken, half of them). */
export function isQuorum(cfg: Config, sids: readonly Sid[]): boolean {
  const half = Math.floor(cfg.nodes / 2);
  const count = sids.filter((sid) => isVoter(cfg, sid)).length;
  return cfg.mutations.has('quorum') ? count >= half && count > 0 : count > half;
}
