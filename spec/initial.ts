// The states a run starts from. A named initial state (--initial) says what each server holds on disk (its
// epoch files, its log, its snapshot) and what the run counts as already proposed and committed; the running
// cluster is built on top of that: every server LOOKING with a fresh election, or for `inflight` a cluster caught
// in BROADCAST with a proposal in flight.
import type { ClusterState, LeaderVars, LearnerVars, Server, ZabState } from './state.ts';
import { emptyRoundVotes } from './state.ts';
import type { QuorumPacket } from './zab/packets.ts';
import type { CommittedTxn, ServerState, Sid, Txn, Vote } from './types.ts';
import { makeZxid, NONE } from './types.ts';

/** Named initial states: what the servers hold on disk when the run starts. */
export const INITIAL_STATES = {
  fresh:
    'every server has logged txn 0x100000001 in epoch 1 and server 1 also 0x100000002 (the right leader is 1, not the highest sid)',
  broadcast:
    'a cluster that was in broadcast in epoch 1 and restarts: 0x100000001 committed on a quorum, 0x100000002 proposed by server 1 but logged nowhere else, the last server empty',
  empty: 'a brand-new ensemble: empty logs, epochs 0',
  inflight:
    'server 3 leads epoch 1 in BROADCAST, 1 and 2 follow: 0x100000001 committed and applied everywhere, 0x100000002 logged by the leader and in flight to both followers (S0 of docs/bugs.md)',
} as const;
export type InitialStateName = keyof typeof INITIAL_STATES;

/** What a server holds when the run starts: its epoch files, its log, and the round it remembers. */
export interface InitialServer {
  readonly currentEpoch: number;
  readonly acceptedEpoch: number;
  readonly history: readonly Txn[];
  /** How many txns of history the last snapshot covers (the leader's committedLog starts after them). */
  readonly snapshotIndex: number;
  /** The election round kept in memory from earlier elections (0 for a server that just booted). */
  readonly logicalclock: number;
}

const t = (epoch: number, counter: number): Txn => ({ zxid: makeZxid(epoch, counter), value: counter });

/** The durable state of every server (participants, then observers) in a named initial state. */
export function presetInitial(name: InitialStateName, nodes: number, observers: number) {
  const total = nodes + observers;
  const server = (history: Txn[], epoch: number): InitialServer => ({
    currentEpoch: epoch,
    acceptedEpoch: epoch,
    history,
    snapshotIndex: 0,
    logicalclock: 0,
  });
  const majority = Math.floor(nodes / 2) + 1;
  switch (name) {
    case 'fresh':
      return {
        servers: Array.from({ length: total }, (_, i) => server(i === 0 ? [t(1, 1), t(1, 2)] : [t(1, 1)], 1)),
        proposed: [t(1, 1), t(1, 2)],
        committed: [{ ...t(1, 1), epoch: 1 }],
      };
    case 'broadcast':
      return {
        servers: Array.from({ length: total }, (_, i) => {
          if (i === 0) return server([t(1, 1), t(1, 2)], 1);
          if (i < majority) return server([t(1, 1)], 1);
          return server([], 1);
        }),
        proposed: [t(1, 1), t(1, 2)],
        committed: [{ ...t(1, 1), epoch: 1 }],
      };
    case 'empty':
      return { servers: Array.from({ length: total }, () => server([], 0)), proposed: [], committed: [] };
    case 'inflight':
      // The durable part; initialState below builds the running cluster on top of it.
      return {
        servers: Array.from({ length: total }, (_, i) => server(i === nodes - 1 ? [t(1, 1), t(1, 2)] : [t(1, 1)], 1)),
        proposed: [t(1, 1), t(1, 2)],
        committed: [{ ...t(1, 1), epoch: 1 }],
      };
  }
}

/** What the running initial state reads of the configuration (spec/config.ts's Config has it all). */
export interface InitialConfig {
  readonly protocol: 'fle' | 'zab';
  readonly nodes: number;
  readonly observers: number;
  readonly sids: readonly Sid[];
  readonly initial: readonly InitialServer[];
  /** The named initial state, or 'custom' for durable states given one by one. */
  readonly initialName: string;
  readonly initialProposed: readonly Txn[];
  readonly initialCommitted: readonly CommittedTxn[];
}

export function initialServer(cfg: InitialConfig, sid: Sid): Server {
  const disk = cfg.initial[sid - 1]!;
  const last = disk.history.length === 0 ? 0 : disk.history[disk.history.length - 1]!.zxid;
  return {
    online: true,
    state: 'LOOKING',
    currentVote: { leader: sid, zxid: last, peerEpoch: disk.currentEpoch, electionEpoch: NONE },
    zabState: 'ELECTION',
    fle: 'idle',
    logicalclock: disk.logicalclock,
    proposal: { leader: NONE, zxid: NONE, peerEpoch: NONE },
    recvset: emptyRoundVotes(cfg),
    outofelection: emptyRoundVotes(cfg),
    currentEpoch: disk.currentEpoch,
    acceptedEpoch: disk.acceptedEpoch,
    history: disk.history,
    snapshotIndex: disk.snapshotIndex,
    pendingLog: [],
    committedLogStart: disk.snapshotIndex,
    committed: 0,
    treeZxid: null,
    orphanLog: [],
    leader: null,
    learner: null,
  };
}

export function initialState(cfg: InitialConfig): ClusterState {
  const total = cfg.sids.length;
  return {
    servers: cfg.initialName === 'inflight' ? inflightServers(cfg) : cfg.sids.map((sid) => initialServer(cfg, sid)),
    election: Array.from({ length: total * total }, () => []),
    quorum: cfg.initialName === 'inflight' ? inflightChannels(cfg) : Array.from({ length: total * total }, () => []),
    budget: { txns: 0, crashes: 0, partitions: 0 },
    ghost: {
      established: cfg.initialName === 'inflight' ? [{ epoch: 1, sid: cfg.nodes }] : [],
      proposed: cfg.initialProposed,
      committed: cfg.initialCommitted,
      crashedLeaderEpoch: NONE,
      violations: [],
    },
  };
}

/**
 * The `inflight` initial state (S0 of docs/bugs.md, the remix TLA+ specs' SetInitState): the last participant
 * L leads epoch 1 and every other participant follows it, all in BROADCAST after an election of round 1 in
 * which all voted for L. 0x100000001 is committed and applied everywhere; L has also logged 0x100000002 and
 * ACKed it itself, and its PROPOSAL is in flight to every follower.
 */
function inflightServers(cfg: InitialConfig): Server[] {
  if (cfg.protocol !== 'zab' || cfg.observers > 0) throw new Error('the inflight initial state is for ZAB without observers');
  const l = cfg.nodes;
  const vote: Vote = { leader: l, zxid: 0, peerEpoch: 1, electionEpoch: 1, state: 'LOOKING' };
  return cfg.sids.map((sid) => {
    const base = initialServer(cfg, sid);
    const common = {
      ...base,
      state: (sid === l ? 'LEADING' : 'FOLLOWING') as ServerState,
      zabState: 'BROADCAST' as ZabState,
      logicalclock: 1,
      proposal: { leader: l, zxid: 0, peerEpoch: 1 },
      recvset: cfg.sids.map(() => vote),
      currentVote: { leader: l, zxid: 0, peerEpoch: 1, electionEpoch: 1 },
      committed: 1,
    };
    if (sid !== l) {
      const learner: LearnerVars = {
        leader: l,
        connected: true,
        newEpoch: 1,
        syncMode: 'NONE',
        newLeaderSeen: true,
        syncTree: null,
        packetsNotLogged: [],
        packetsCommitted: [],
        newLeaderAckDue: null,
      };
      return { ...common, learner };
    }
    const followers = cfg.sids.filter((x) => x !== l);
    const leader: LeaderVars = {
      learners: followers,
      connecting: [...cfg.sids],
      waitingForEpoch: [],
      epochToPropose: 1,
      newEpoch: 1,
      electing: [...cfg.sids],
      toSync: [],
      awaitingNewLeaderAck: [],
      newLeaderAcks: [...cfg.sids],
      awaitingUpToDate: [],
      forwarding: followers,
      outstanding: [{ zxid: base.history[1]!.zxid, acks: [l] }],
      toBeApplied: 0,
    };
    return { ...common, leader };
  });
}

function inflightChannels(cfg: InitialConfig): (readonly QuorumPacket[])[] {
  const total = cfg.sids.length;
  const l = cfg.nodes;
  const txn = cfg.initial[l - 1]!.history[1]!;
  return Array.from({ length: total * total }, (_, i) => {
    const from = Math.floor(i / total) + 1;
    const to = (i % total) + 1;
    return from === l && to !== l ? [{ type: 'PROPOSAL', txn } as QuorumPacket] : [];
  });
}
