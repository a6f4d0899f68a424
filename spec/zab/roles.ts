// Entering and leaving the roles of ZAB: what QuorumPeer.run does around Leader.lead() and
// Follower.followLeader()/Observer.observeLeader(), and how a server falls back to LOOKING.
import type { Config } from '../config.ts';
import type { ClusterState, LeaderVars, LearnerVars } from '../state.ts';
import { closeConnection, emptyRoundVotes, server, updateServer, without } from '../state.ts';
import type { Sid } from '../types.ts';
import { NONE } from '../types.ts';

/**
 * Leader.lead() begins: zk.loadData() takes a snapshot of the data tree (durable), the committedLog holds the
 * txns loaded since the previous snapshot, and the leader itself is the first in connectingFollowers, with
 * its own acceptedEpoch counted by getEpochToPropose.
 */
export function startLeading(s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  const leader: LeaderVars = {
    learners: [],
    connecting: [sid],
    waitingForEpoch: [],
    epochToPropose: me.acceptedEpoch + 1,
    newEpoch: NONE,
    electing: [],
    toSync: [],
    awaitingNewLeaderAck: [],
    newLeaderAcks: [],
    awaitingUpToDate: [],
    forwarding: [],
    outstanding: [],
    committedLogStart: me.snapshotIndex,
  };
  return updateServer(s, sid, { zabState: 'DISCOVERY', leader, snapshotIndex: me.history.length });
}

/** Follower.followLeader / Observer.observeLeader begin: find the leader, not yet connected. */
export function startLearning(s: ClusterState, sid: Sid, leaderSid: Sid): ClusterState {
  const learner: LearnerVars = {
    leader: leaderSid,
    connected: false,
    newEpoch: NONE,
    syncMode: 'NONE',
    newLeaderSeen: false,
    syncTree: null,
    packetsNotLogged: [],
    packetsCommitted: [],
  };
  return updateServer(s, sid, { zabState: 'DISCOVERY', learner });
}

/** After FLE decides: LEADING runs Leader.lead(), FOLLOWING/OBSERVING run the learner's loop. */
export function enterZab(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  if (cfg.protocol !== 'zab') return s;
  const me = server(s, sid);
  if (me.state === 'LEADING') return startLeading(s, sid);
  return startLearning(s, sid, me.currentVote.leader);
}

/**
 * The role ends without a crash (an exception in lead()/followLeader(), a timeout, a lost connection):
 * QuorumPeer sets LOOKING and runs a new election. The SyncRequestProcessor is shut down, which flushes
 * what it had queued (the ZOOKEEPER-4712 fix), and the in-memory database is reloaded from disk
 * (the ZOOKEEPER-2845 fix), so what the server votes with is what it has logged.
 */
function backToLooking(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  return updateServer(s, sid, {
    state: 'LOOKING',
    zabState: 'ELECTION',
    fle: 'idle',
    recvset: emptyRoundVotes(cfg),
    outofelection: emptyRoundVotes(cfg),
    history: me.pendingLog.length === 0 ? me.history : [...me.history, ...me.pendingLog],
    pendingLog: [],
    leader: null,
    learner: null,
  });
}

/** LearnerHandler ends (removeLearnerHandler): the leader forgets the learner and the connection closes. */
export function dropLearner(s: ClusterState, leaderSid: Sid, learnerSid: Sid): ClusterState {
  const l = server(s, leaderSid).leader;
  let next = closeConnection(s, leaderSid, learnerSid);
  if (l === null) return next;
  next = updateServer(next, leaderSid, {
    leader: {
      ...l,
      learners: without(l.learners, learnerSid),
      forwarding: without(l.forwarding, learnerSid),
      toSync: l.toSync.filter((x) => x.sid !== learnerSid),
      awaitingNewLeaderAck: without(l.awaitingNewLeaderAck, learnerSid),
      awaitingUpToDate: without(l.awaitingUpToDate, learnerSid),
      waitingForEpoch: without(l.waitingForEpoch, learnerSid),
    },
  });
  return next;
}

/** Follower/Observer shutdown: back to LOOKING, and its leader's handler for it goes away. */
export function learnerShutdown(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  let next = s;
  if (me.learner !== null) next = dropLearner(next, me.learner.leader, sid);
  return backToLooking(cfg, next, sid);
}

/** Leader.shutdown: every LearnerHandler is closed, so each of its learners falls back to LOOKING too. */
export function leaderShutdown(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  let next = s;
  for (const j of me.leader?.learners ?? []) {
    next = closeConnection(next, sid, j);
    const learner = server(next, j);
    if (learner.online && learner.learner?.leader === sid) next = backToLooking(cfg, next, j);
  }
  return backToLooking(cfg, next, sid);
}
