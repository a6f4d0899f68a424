// The state of the whole cluster, and the small immutable-update helpers every phase uses.
//
// Grouped as ZooKeeper's TLA+ specs group their variables: per server (what QuorumPeer and
// FastLeaderElection hold), then the network. Plain data only (see spec/model.ts).
import type { Config } from './config.ts';
import type { Notification, Proposal, ServerState, Sid, Vote, Zxid } from './types.ts';
import { NONE } from './types.ts';

/** Where a server is inside FastLeaderElection.lookForLeader. */
export type ElectionPhase =
  /** Not running lookForLeader: either about to start it (LOOKING) or already decided. */
  | 'idle'
  /** In the main loop, exchanging notifications. */
  | 'voting'
  /** The proposal has a quorum: waiting finalizeWait for a better notification before deciding. */
  | 'finalizing';

export interface Server {
  // --- QuorumPeer ---
  /** QuorumPeer.state. */
  readonly state: ServerState;
  /** QuorumPeer.currentVote: the outcome of the last election (initially a vote for itself). */
  readonly currentVote: Proposal & { readonly electionEpoch: number };

  // --- FastLeaderElection ---
  readonly fle: ElectionPhase;
  /** FastLeaderElection.logicalclock: the election round. */
  readonly logicalclock: number;
  /** proposedLeader, proposedZxid, proposedEpoch. */
  readonly proposal: Proposal;
  /** Votes of this round, by sid (index sid-1); null where none was received. A local of lookForLeader. */
  readonly recvset: readonly (Vote | null)[];
  /** Votes of servers that already decided (FOLLOWING/LEADING notifications), by sid. */
  readonly outofelection: readonly (Vote | null)[];

  // --- durable state (the files in dataDir) ---
  /** The currentEpoch file: the epoch of the last NEWLEADER this server acknowledged. */
  readonly currentEpoch: number;
  /** The acceptedEpoch file: the last epoch this server accepted in a LEADERINFO. */
  readonly acceptedEpoch: number;
  /** The zxid of the last transaction in the log (getLastLoggedZxid). */
  readonly lastZxid: Zxid;
}

export interface ClusterState {
  /** By sid: servers[sid - 1]. */
  readonly servers: readonly Server[];
  /**
   * Election channels (QuorumCnxManager connections): a FIFO queue per ordered pair, including a server's
   * channel to itself (sendNotifications sends to every voter, itself included). election[(from-1)*n + to-1].
   */
  readonly election: readonly (readonly Notification[])[];
}

export function initialServer(cfg: Config, sid: Sid): Server {
  const disk = cfg.initial[sid - 1]!;
  const total = cfg.sids.length;
  return {
    state: 'LOOKING',
    currentVote: { leader: sid, zxid: disk.lastZxid, peerEpoch: disk.currentEpoch, electionEpoch: NONE },
    fle: 'idle',
    logicalclock: disk.logicalclock,
    proposal: { leader: NONE, zxid: NONE, peerEpoch: NONE },
    recvset: Array.from({ length: total }, () => null),
    outofelection: Array.from({ length: total }, () => null),
    currentEpoch: disk.currentEpoch,
    acceptedEpoch: disk.acceptedEpoch,
    lastZxid: disk.lastZxid,
  };
}

export function initialState(cfg: Config): ClusterState {
  const total = cfg.sids.length;
  return {
    servers: cfg.sids.map((sid) => initialServer(cfg, sid)),
    election: Array.from({ length: total * total }, () => []),
  };
}

export function server(s: ClusterState, sid: Sid): Server {
  return s.servers[sid - 1]!;
}

export function updateServer(s: ClusterState, sid: Sid, patch: Partial<Server>): ClusterState {
  const servers = s.servers.slice();
  servers[sid - 1] = { ...servers[sid - 1]!, ...patch };
  return { ...s, servers };
}

function channelIndex(s: ClusterState, from: Sid, to: Sid): number {
  return (from - 1) * s.servers.length + (to - 1);
}

export function electionChannel(s: ClusterState, from: Sid, to: Sid): readonly Notification[] {
  return s.election[channelIndex(s, from, to)]!;
}

/** Append notifications to channels (QuorumCnxManager.toSend: the per-peer send queue, then TCP). */
export function sendNotifications(
  s: ClusterState,
  from: Sid,
  msgs: readonly { readonly to: Sid; readonly n: Notification }[],
): ClusterState {
  if (msgs.length === 0) return s;
  const election = s.election.slice();
  for (const { to, n } of msgs) {
    const i = channelIndex(s, from, to);
    election[i] = [...election[i]!, n];
  }
  return { ...s, election };
}

/** Take the head of the channel from→to (the receiver's next message from that peer). */
export function dropHead(s: ClusterState, from: Sid, to: Sid): ClusterState {
  const election = s.election.slice();
  const i = channelIndex(s, from, to);
  election[i] = election[i]!.slice(1);
  return { ...s, election };
}

export function setAt<T>(xs: readonly T[], sid: Sid, value: T): readonly T[] {
  const copy = xs.slice();
  copy[sid - 1] = value;
  return copy;
}
