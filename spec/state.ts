// The state of the whole cluster, and the small immutable-update helpers every phase uses.
//
// Grouped as ZooKeeper's TLA+ specs group their variables: per server (what QuorumPeer, FastLeaderElection,
// Leader/LearnerHandler and Learner hold), the network, the fault budget, and variables that exist only to
// state the invariants. Plain data only (see spec/model.ts).
import type { QuorumPacket } from './zab/packets.ts';
import type { CommittedTxn, Notification, Proposal, ServerState, Sid, Txn, Vote, Zxid } from './types.ts';
export type { CommittedTxn, Txn } from './types.ts';
import { NONE, counterOf } from './types.ts';

/** Where a server is inside FastLeaderElection.lookForLeader. */
export type ElectionPhase =
  /** Not running lookForLeader: either about to start it (LOOKING) or already decided. */
  | 'idle'
  /** In the main loop, exchanging notifications. */
  | 'voting'
  /** The proposal has a quorum: waiting finalizeWait for a better notification before deciding. */
  | 'finalizing';

/** The ZAB phase a server is in (the TLA+ specs' zabState). */
export type ZabState = 'ELECTION' | 'DISCOVERY' | 'SYNCHRONIZATION' | 'BROADCAST';

/** What a leader holds while it leads (Leader and its LearnerHandlers). Gone when it stops leading. */
export interface LeaderVars {
  /** LearnerHandlers: learners connected to this leader (Leader.learners). */
  readonly learners: readonly Sid[];
  /** connectingFollowers: participants whose FOLLOWERINFO arrived while the new epoch was being chosen. */
  readonly connecting: readonly Sid[];
  /** Learners (participants or observers) waiting in getEpochToPropose for LEADERINFO. */
  readonly waitingForEpoch: readonly Sid[];
  /** Leader.epoch: the epoch it will propose, max acceptedEpoch seen + 1. */
  readonly epochToPropose: number;
  /** The new epoch once a quorum connected (waitingForNewEpoch = false), else NONE. */
  readonly newEpoch: number;
  /** electingFollowers: participants whose ACKEPOCH was accepted (the leader itself included). */
  readonly electing: readonly Sid[];
  /** Handlers past waitForEpochAck, waiting for syncFollower, with the learner's last zxid. */
  readonly toSync: readonly { readonly sid: Sid; readonly lastZxid: Zxid }[];
  /** Handlers that sent NEWLEADER and wait for its ACK (the next packet they read). */
  readonly awaitingNewLeaderAck: readonly Sid[];
  /** newLeaderProposal.ackSet: participants that ACKed NEWLEADER (the leader itself included). */
  readonly newLeaderAcks: readonly Sid[];
  /** Handlers whose NEWLEADER ACK arrived and that wait for the leader to start serving to send UPTODATE. */
  readonly awaitingUpToDate: readonly Sid[];
  /** forwardingFollowers and observingLearners: handlers past syncFollower, sent every new PROPOSAL/INFORM. */
  readonly forwarding: readonly Sid[];
  /** outstandingProposals, in zxid order, with the participants that ACKed each (itself included). */
  readonly outstanding: readonly { readonly zxid: Zxid; readonly acks: readonly Sid[] }[];
  /**
   * toBeApplied: how many txns after the server's `committed` ones a quorum has committed that the leader has not
   * applied yet (always 0 with leaderApply 'atomic'). They are not in the committedLog yet.
   */
  readonly toBeApplied: number;
}

export type SyncMode = 'NONE' | 'DIFF' | 'TRUNC' | 'SNAP';

/** What a learner holds about its leader (Learner, Follower, and the locals of syncWithLeader). */
export interface LearnerVars {
  /** The leader it follows (connectInfo.sid in the TLA+ spec). */
  readonly leader: Sid;
  /** Connected to the leader and registered (FOLLOWERINFO sent). */
  readonly connected: boolean;
  /** The epoch of the LEADERINFO it accepted, NONE before. */
  readonly newEpoch: number;
  readonly syncMode: SyncMode;
  /** NEWLEADER received (writeToTxnLog from then on). */
  readonly newLeaderSeen: boolean;
  /**
   * The in-memory data tree while it differs from the durable log: after SNAP (the leader's snapshot) or
   * TRUNC, until NEWLEADER takes a snapshot of it. null when the data tree is the log.
   */
  readonly syncTree: readonly Txn[] | null;
  /** packetsNotLogged: PROPOSALs received during sync, not yet in the log. */
  readonly packetsNotLogged: readonly Txn[];
  /** packetsCommitted: COMMITs received during sync for packets not yet logged. */
  readonly packetsCommitted: readonly Zxid[];
  /**
   * Variants 4643 and 4685 only (null otherwise): the NEWLEADER zxid whose handling is half done: currentEpoch
   * is written, the rest of the handler (persisting, the ACK) is a later step (LearnerFinishNEWLEADER).
   */
  readonly newLeaderAckDue: Zxid | null;
}

export interface Server {
  // --- the process ---
  /** false between a crash and a restart. */
  readonly online: boolean;

  // --- QuorumPeer ---
  /** QuorumPeer.state. */
  readonly state: ServerState;
  /** QuorumPeer.currentVote: the outcome of the last election (initially a vote for itself). */
  readonly currentVote: Proposal & { readonly electionEpoch: number };
  readonly zabState: ZabState;

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
  /** The currentEpoch file: the epoch of the last NEWLEADER this server acknowledged (f.a in the paper). */
  readonly currentEpoch: number;
  /** The acceptedEpoch file: the last epoch this server accepted in a LEADERINFO (f.p in the paper). */
  readonly acceptedEpoch: number;
  /** The transaction log (with the snapshot it starts from): every txn made durable, in zxid order. */
  readonly history: readonly Txn[];
  /** How many txns at the head of history the last snapshot file covers. */
  readonly snapshotIndex: number;

  // --- volatile: the data tree and the logging pipeline ---
  /** Txns handed to SyncRequestProcessor (logRequest) but not yet fsynced: lost by a crash. */
  readonly pendingLog: readonly Txn[];
  /** How many txns of history ++ pendingLog are committed and applied to the data tree (delivered). */
  readonly committed: number;
  /**
   * ZKDatabase.committedLog's first txn, as an index in history: the committedLog holds what the server applied
   * since its database was last loaded (start, restart, TRUNC's reload from disk) or replaced (SNAP). Taking a
   * role keeps it (ZooKeeperServer.shutdown(false) keeps the database across roles, and the snapshot that
   * Leader.lead() takes leaves the committedLog alone): a server that leads again DIFFs learners from all of it.
   */
  readonly committedLogStart: number;
  /**
   * Variants 2845 and 4712 only (null otherwise): the last zxid of the in-memory data tree kept across a return
   * to LOOKING, which getLastLoggedZxid reports in the vote and ACKEPOCH. The fixed protocol reloads the tree
   * from the log first, so there it is always the log's last zxid.
   */
  readonly treeZxid: Zxid | null;
  /**
   * Variant 4712 only (empty otherwise): the queue of the SyncRequestProcessor of a role the server has left,
   * whose thread was not stopped and still appends to the txn log (FollowerFlushLog), without ACKs.
   */
  readonly orphanLog: readonly Txn[];

  // --- volatile: roles ---
  readonly leader: LeaderVars | null;
  readonly learner: LearnerVars | null;
}

/** How much of each fault and workload bound the path has used. */
export interface Budget {
  readonly txns: number;
  readonly crashes: number;
  readonly partitions: number;
}

/** Variables that only serve to state invariants (as in ZooKeeper's TLA+ specs). */
export interface Ghost {
  /** (epoch, sid) of every leader that finished discovery: a quorum accepted its epoch. Sorted. */
  readonly established: readonly { readonly epoch: number; readonly sid: Sid }[];
  /** Every txn a leader ever proposed, in order. */
  readonly proposed: readonly Txn[];
  /** Every txn a leader committed, with the epoch of that leader, in order of commitment, without repeats. */
  readonly committed: readonly CommittedTxn[];
  /** The highest epoch of an established leader that crashed (for the recovery witness). */
  readonly crashedLeaderEpoch: number;
  /** Named contradictions a step ran into (e.g. an epoch file written backwards). Sorted, unique. */
  readonly violations: readonly string[];
}

export interface ClusterState {
  /** By sid: servers[sid - 1]. */
  readonly servers: readonly Server[];
  /**
   * Election channels (QuorumCnxManager connections): a FIFO queue per ordered pair, including a server's
   * channel to itself (sendNotifications sends to every voter, itself included). election[(from-1)*n + to-1].
   */
  readonly election: readonly (readonly Notification[])[];
  /** Quorum channels (a learner's TCP connection to its leader), indexed like election. */
  readonly quorum: readonly (readonly QuorumPacket[])[];
  readonly budget: Budget;
  readonly ghost: Ghost;
}

/** A round's votes, one slot per server, none yet. */
export function emptyRoundVotes(cfg: { readonly sids: readonly Sid[] }): readonly (Vote | null)[] {
  return cfg.sids.map(() => null);
}

export function server(s: ClusterState, sid: Sid): Server {
  return s.servers[sid - 1]!;
}

export function updateServer(s: ClusterState, sid: Sid, patch: Partial<Server>): ClusterState {
  const servers = s.servers.slice();
  servers[sid - 1] = patchServer(servers[sid - 1]!, patch);
  return { servers, election: s.election, quorum: s.quorum, budget: s.budget, ghost: s.ghost };
}

/**
 * `me` with the fields of `p` replaced. Written out field by field rather than as `{ ...me, ...p }`, so that
 * every Server is built by this one literal (one hidden class in V8): along a random walk, spreads of spreads
 * fell back to slow objects, and updateServer took a third of the simulation's time.
 */
function patchServer(me: Server, p: Partial<Server>): Server {
  return {
    online: p.online !== undefined ? p.online : me.online,
    state: p.state !== undefined ? p.state : me.state,
    currentVote: p.currentVote !== undefined ? p.currentVote : me.currentVote,
    zabState: p.zabState !== undefined ? p.zabState : me.zabState,
    fle: p.fle !== undefined ? p.fle : me.fle,
    logicalclock: p.logicalclock !== undefined ? p.logicalclock : me.logicalclock,
    proposal: p.proposal !== undefined ? p.proposal : me.proposal,
    recvset: p.recvset !== undefined ? p.recvset : me.recvset,
    outofelection: p.outofelection !== undefined ? p.outofelection : me.outofelection,
    currentEpoch: p.currentEpoch !== undefined ? p.currentEpoch : me.currentEpoch,
    acceptedEpoch: p.acceptedEpoch !== undefined ? p.acceptedEpoch : me.acceptedEpoch,
    history: p.history !== undefined ? p.history : me.history,
    snapshotIndex: p.snapshotIndex !== undefined ? p.snapshotIndex : me.snapshotIndex,
    pendingLog: p.pendingLog !== undefined ? p.pendingLog : me.pendingLog,
    committed: p.committed !== undefined ? p.committed : me.committed,
    committedLogStart: p.committedLogStart !== undefined ? p.committedLogStart : me.committedLogStart,
    treeZxid: p.treeZxid !== undefined ? p.treeZxid : me.treeZxid,
    orphanLog: p.orphanLog !== undefined ? p.orphanLog : me.orphanLog,
    leader: p.leader !== undefined ? p.leader : me.leader,
    learner: p.learner !== undefined ? p.learner : me.learner,
  };
}

export function updateLeader(s: ClusterState, sid: Sid, p: Partial<LeaderVars>): ClusterState {
  const l = server(s, sid).leader!;
  // Field by field, as patchServer and for the same reason.
  const leader: LeaderVars = {
    learners: p.learners !== undefined ? p.learners : l.learners,
    connecting: p.connecting !== undefined ? p.connecting : l.connecting,
    waitingForEpoch: p.waitingForEpoch !== undefined ? p.waitingForEpoch : l.waitingForEpoch,
    epochToPropose: p.epochToPropose !== undefined ? p.epochToPropose : l.epochToPropose,
    newEpoch: p.newEpoch !== undefined ? p.newEpoch : l.newEpoch,
    electing: p.electing !== undefined ? p.electing : l.electing,
    toSync: p.toSync !== undefined ? p.toSync : l.toSync,
    awaitingNewLeaderAck: p.awaitingNewLeaderAck !== undefined ? p.awaitingNewLeaderAck : l.awaitingNewLeaderAck,
    newLeaderAcks: p.newLeaderAcks !== undefined ? p.newLeaderAcks : l.newLeaderAcks,
    awaitingUpToDate: p.awaitingUpToDate !== undefined ? p.awaitingUpToDate : l.awaitingUpToDate,
    forwarding: p.forwarding !== undefined ? p.forwarding : l.forwarding,
    outstanding: p.outstanding !== undefined ? p.outstanding : l.outstanding,
    toBeApplied: p.toBeApplied !== undefined ? p.toBeApplied : l.toBeApplied,
  };
  return updateServer(s, sid, { leader });
}

export function updateLearner(s: ClusterState, sid: Sid, p: Partial<LearnerVars>): ClusterState {
  const l = server(s, sid).learner!;
  const learner: LearnerVars = {
    leader: p.leader !== undefined ? p.leader : l.leader,
    connected: p.connected !== undefined ? p.connected : l.connected,
    newEpoch: p.newEpoch !== undefined ? p.newEpoch : l.newEpoch,
    syncMode: p.syncMode !== undefined ? p.syncMode : l.syncMode,
    newLeaderSeen: p.newLeaderSeen !== undefined ? p.newLeaderSeen : l.newLeaderSeen,
    syncTree: p.syncTree !== undefined ? p.syncTree : l.syncTree,
    packetsNotLogged: p.packetsNotLogged !== undefined ? p.packetsNotLogged : l.packetsNotLogged,
    packetsCommitted: p.packetsCommitted !== undefined ? p.packetsCommitted : l.packetsCommitted,
    newLeaderAckDue: p.newLeaderAckDue !== undefined ? p.newLeaderAckDue : l.newLeaderAckDue,
  };
  return updateServer(s, sid, { learner });
}

function channelIndex(s: ClusterState, from: Sid, to: Sid): number {
  return (from - 1) * s.servers.length + (to - 1);
}

export function electionChannel(s: ClusterState, from: Sid, to: Sid): readonly Notification[] {
  return s.election[channelIndex(s, from, to)]!;
}

export function quorumChannel(s: ClusterState, from: Sid, to: Sid): readonly QuorumPacket[] {
  return s.quorum[channelIndex(s, from, to)]!;
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

/** Take the head of the election channel from→to (the receiver's next notification from that peer). */
export function dropHead(s: ClusterState, from: Sid, to: Sid): ClusterState {
  const election = s.election.slice();
  const i = channelIndex(s, from, to);
  election[i] = election[i]!.slice(1);
  return { ...s, election };
}

/** Queue packets on the quorum connection from→to, in order (LearnerHandler.queuedPackets / writePacket). */
export function sendPackets(s: ClusterState, from: Sid, to: Sid, packets: readonly QuorumPacket[]): ClusterState {
  if (packets.length === 0) return s;
  const quorum = s.quorum.slice();
  const i = channelIndex(s, from, to);
  quorum[i] = [...quorum[i]!, ...packets];
  return { ...s, quorum };
}

/** Take the head of the quorum channel from→to. */
export function takePacket(s: ClusterState, from: Sid, to: Sid): ClusterState {
  const quorum = s.quorum.slice();
  const i = channelIndex(s, from, to);
  quorum[i] = quorum[i]!.slice(1);
  return { ...s, quorum };
}

/** A TCP connection closes: whatever both ends had not read yet is lost. */
export function closeConnection(s: ClusterState, a: Sid, b: Sid): ClusterState {
  const ab = channelIndex(s, a, b);
  const ba = channelIndex(s, b, a);
  if (s.quorum[ab]!.length === 0 && s.quorum[ba]!.length === 0) return s;
  const quorum = s.quorum.slice();
  quorum[ab] = [];
  quorum[ba] = [];
  return { ...s, quorum };
}


/**
 * The learner's end of its connection to the leader closes (Learner.shutdown -> closeSocket; Follower.followLeader
 * and Observer.observeLeader end on the IOException of readPacket: a read timeout of syncLimit ticks, the leader's
 * close, a broken link). What the learner had not read is gone with its socket. What it sent before is not: TCP
 * delivers it ahead of the FIN, and the leader's LearnerHandler.run reads it from its socket buffer with
 * ia.readRecord and handles it (case Leader.ACK: learnerMaster.processAck) until the read hits the end of the
 * stream; only then does its finally call LearnerHandler.shutdown -> removeLearnerHandler. A leader paused past
 * syncLimit (SIGSTOP) does exactly that once resumed: the nemesis's ours seed 6 (nemesis/README.md).
 *
 * The spec folds the leader's noticing into the close (the leader forgets the learner at once, as before) and
 * leaves the learner's ACKs of proposals on the channel, for LeaderProcessACK to take later (spec/zab/steps.ts)
 * or for the leader's own close to drop (leaderShutdown, a crash). Only ACKs of proposals stay: Leader.processAck
 * counts them whichever handler reads them; the learner's other packets (FOLLOWERINFO, ACKEPOCH, the ACK of
 * NEWLEADER) feed a handler's own wait, which the spec's leader no longer has for it, and are dropped as before.
 */
export function learnerClosesConnection(s: ClusterState, leader: Sid, learner: Sid): ClusterState {
  const up = s.quorum[channelIndex(s, learner, leader)]!;
  let keep = 0;
  for (const p of up) {
    if (p.type !== 'ACK' || counterOf(p.zxid) === 0) break;
    keep++;
  }
  const next = closeConnection(s, leader, learner);
  if (keep === 0) return next;
  const quorum = next.quorum.slice();
  quorum[channelIndex(s, learner, leader)] = up.slice(0, keep);
  return { ...next, quorum };
}

/**
 * A process dies: its quorum connections are gone with what was in flight, and so is what it had sent on the
 * election port. What others send it on the election port waits for its next incarnation: QuorumCnxManager keeps
 * the messages for a peer in queueSendMap while there is no connection, and a SendWorker starts a new connection
 * by sending lastMessageSent again. (ZooKeeper keeps one message per peer; the spec keeps them all, and a receiver
 * reads them in order.)
 */
export function dropAllChannelsOf(s: ClusterState, sid: Sid): ClusterState {
  const n = s.servers.length;
  const election = s.election.slice();
  const quorum = s.quorum.slice();
  for (let other = 1; other <= n; other++) {
    election[channelIndex(s, sid, other)] = [];
    quorum[channelIndex(s, sid, other)] = [];
    quorum[channelIndex(s, other, sid)] = [];
  }
  return { ...s, election, quorum };
}

export function setAt<T>(xs: readonly T[], sid: Sid, value: T): readonly T[] {
  const copy = xs.slice();
  copy[sid - 1] = value;
  return copy;
}

export function lastZxidOf(txns: readonly Txn[]): Zxid {
  return txns.length === 0 ? 0 : txns[txns.length - 1]!.zxid;
}

/** getLastLoggedZxid: the last zxid of the data tree, which a server reloaded from its log (see treeZxid). */
export function lastLoggedZxid(me: Server): Zxid {
  return me.treeZxid ?? lastZxidOf(me.history);
}

/**
 * The sequence a server has delivered: applied as committed while it served (a leader once established, a
 * learner from UPTODATE on). What a learner applies during sync is not served until UPTODATE, so it is not
 * delivered yet.
 */
export function delivered(me: Server): readonly Txn[] {
  if (me.committed === 0) return [];
  return [...me.history, ...me.pendingLog].slice(0, me.committed);
}

export function addSorted(xs: readonly Sid[], sid: Sid): readonly Sid[] {
  if (xs.includes(sid)) return xs;
  return [...xs, sid].sort((a, b) => a - b);
}

export function without(xs: readonly Sid[], sid: Sid): readonly Sid[] {
  return xs.includes(sid) ? xs.filter((x) => x !== sid) : xs;
}

export function addViolation(s: ClusterState, name: string): ClusterState {
  if (s.ghost.violations.includes(name)) return s;
  return { ...s, ghost: { ...s.ghost, violations: [...s.ghost.violations, name].sort() } };
}

/** Write the acceptedEpoch file (atomically). Epoch files must never go backwards. */
export function writeAcceptedEpoch(s: ClusterState, sid: Sid, epoch: number): ClusterState {
  const me = server(s, sid);
  const next = updateServer(s, sid, { acceptedEpoch: epoch });
  return epoch < me.acceptedEpoch ? addViolation(next, 'epochWentBack') : next;
}

/** Write the currentEpoch file (atomically). */
export function writeCurrentEpoch(s: ClusterState, sid: Sid, epoch: number): ClusterState {
  const me = server(s, sid);
  const next = updateServer(s, sid, { currentEpoch: epoch });
  return epoch < me.currentEpoch ? addViolation(next, 'epochWentBack') : next;
}

/**
 * NEWLEADER's persisting loop: for each zxid in packetsCommitted, in order, the head of packetsNotLogged is
 * appended to the log if it is that txn (a mismatch is skipped, as the real loop does with a warning). Returns
 * the log and the packets still not logged.
 */
export function logCommittedPackets(history: readonly Txn[], notLogged: readonly Txn[], committed: readonly Zxid[]) {
  let logged = history;
  let rest = notLogged;
  for (const z of committed) {
    const head = rest[0];
    if (head === undefined || head.zxid !== z) continue;
    logged = [...logged, head];
    rest = rest.slice(1);
  }
  return { history: logged, notLogged: rest };
}
