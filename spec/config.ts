// The parameters of a spec instance: cluster shape, initial histories, and deliberate breakages.
import type { LearnerType, Sid, Zxid } from './types.ts';
import { makeZxid } from './types.ts';

/**
 * Deliberate breakages of the protocol, one line each. They exist to show that the checker catches real
 * mistakes: each must produce a counterexample (see test/mutations.test.ts). Never on by default.
 */
export const MUTATIONS = {
  voteOrder:
    'totalOrderPredicate compares only server ids, ignoring peerEpoch and zxid: a server with a shorter history can win',
  quorum: 'hasAllQuorums accepts half of the voters instead of more than half: a server can lead on a minority',
} as const;
export type MutationName = keyof typeof MUTATIONS;

/** What a server holds when the run starts: its epochs, the zxid of its last logged transaction, its round. */
export interface InitialServer {
  readonly currentEpoch: number;
  readonly acceptedEpoch: number;
  readonly lastZxid: Zxid;
  /** The election round kept in memory from earlier elections (0 for a server that just booted). */
  readonly logicalclock: number;
}

/** Plain-data options: what the CLI, tests and worker threads pass to buildSpec. */
export interface SpecOptions {
  /** Participants (voters), sids 1..nodes. */
  readonly nodes: number;
  /** Observers, sids nodes+1..nodes+observers. */
  readonly observers: number;
  readonly mutations: readonly string[];
  /** Durable state per server (participants then observers); default: see defaultInitial. */
  readonly initial?: readonly InitialServer[];
}

export interface Config {
  readonly nodes: number;
  readonly observers: number;
  /** Every sid, participants first. */
  readonly sids: readonly Sid[];
  /** The voting members (QuorumVerifier.getVotingMembers()). */
  readonly voters: readonly Sid[];
  readonly learnerType: (sid: Sid) => LearnerType;
  readonly initial: readonly InitialServer[];
  readonly mutations: ReadonlySet<MutationName>;
}

/**
 * By default the ensemble boots together (every round 0), and server 1 has logged one more transaction than
 * the others, so the right leader is server 1 and not simply the highest sid: a broken vote order then shows.
 * Rounds that differ (a server that rebooted while the others remember earlier elections) are an `initial`
 * option: they multiply the notifications, and so the state space, many times over.
 */
export function defaultInitial(nodes: number, observers: number): InitialServer[] {
  return Array.from({ length: nodes + observers }, (_, i) => ({
    currentEpoch: 1,
    acceptedEpoch: 1,
    lastZxid: makeZxid(1, i === 0 ? 2 : 1),
    logicalclock: 0,
  }));
}

export function makeConfig(options: SpecOptions): Config {
  const total = options.nodes + options.observers;
  const sids = Array.from({ length: total }, (_, i) => i + 1);
  const voters = sids.slice(0, options.nodes);
  for (const m of options.mutations) {
    if (!(m in MUTATIONS)) throw new Error(`unknown mutation "${m}" (known: ${Object.keys(MUTATIONS).join(', ')})`);
  }
  const initial = options.initial ?? defaultInitial(options.nodes, options.observers);
  if (initial.length !== total) {
    throw new Error(`initial state given for ${initial.length} servers, the cluster has ${total}`);
  }
  return {
    nodes: options.nodes,
    observers: options.observers,
    sids,
    voters,
    learnerType: (sid) => (sid <= options.nodes ? 'participant' : 'observer'),
    initial,
    mutations: new Set(options.mutations as MutationName[]),
  };
}

export function isVoter(cfg: Config, sid: Sid): boolean {
  return sid >= 1 && sid <= cfg.nodes;
}

/** QuorumMaj.containsQuorum: more than half of the voters (or, broken, half of them). */
export function isQuorum(cfg: Config, voters: readonly Sid[]): boolean {
  const half = Math.floor(cfg.nodes / 2);
  const count = voters.filter((sid) => isVoter(cfg, sid)).length;
  return cfg.mutations.has('quorum') ? count >= half && count > 0 : count > half;
}
