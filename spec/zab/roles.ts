// Entering and leaving the roles of ZAB: what QuorumPeer.run does around Leader.lead() and
// Follower.followLeader()/Observer.observeLeader(), and how a server falls back to LOOKING.
import type { Config } from '../config.ts';
import { seamsOf } from '../seams.ts';
import type { ClusterState, LeaderVars, LearnerVars, Server } from '../state.ts';
import { closeConnection, emptyRoundVotes, learnerClosesConnection, server, updateServer, without } from '../state.ts';
import type { Sid } from '../types.ts';
import { NONE } from '../types.ts';

/**
 * Leader.lead() begins: zk.loadData() takes a snapshot of the data tree (durable; the committedLog stays as it
 * is, see Server.committedLogStart), and the leader itself is the first in connectingFollowers, with
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
    toBeApplied: 0,
  };
  // The leader leads from its log: the tree is the log's (treeZxid: null; a stale tree of variants 2845/4712 is
  // not followed into lead()).
  return updateServer(s, sid, { zabState: 'DISCOVERY', leader, snapshotIndex: me.history.length, treeZxid: null });
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
    newLeaderAckDue: null,
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
 * QuorumPeer sets LOOKING and runs a new election. Learner.shutdown/Leader.shutdown -> ZooKeeperServer.shutdown(false)
 * shuts the SyncRequestProcessor down, which flushes what it had queued into the log (the ZOOKEEPER-4712 fix), and
 * the in-memory database is caught up with the log (fastForwardDataBase, the ZOOKEEPER-2845 fix), so what the
 * server votes with is what it has logged. Variants 2845, 4643 and 4712 differ at the seam onLeaveRole (seams.ts).
 */
function backToLooking(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  const flushed = (): Partial<Server> => ({ history: me.pendingLog.length === 0 ? me.history : [...me.history, ...me.pendingLog], pendingLog: [] });
  return updateServer(s, sid, {
    state: 'LOOKING',
    zabState: 'ELECTION',
    fle: 'idle',
    recvset: emptyRoundVotes(cfg),
    outofelection: emptyRoundVotes(cfg),
    leader: null,
    learner: null,
    ...(seamsOf(cfg).onLeaveRole?.(me) ?? flushed()),
  });
}

/**
 * LearnerHandler ends (removeLearnerHandler): the leader forgets the learner and the connection closes. When the
 * learner closed it (`byLearner`), its ACKs already sent stay readable by the leader (learnerClosesConnection).
 */
export function dropLearner(s: ClusterState, leaderSid: Sid, learnerSid: Sid, byLearner = false): ClusterState {
  const l = server(s, leaderSid).leader;
  let next = byLearner ? learnerClosesConnection(s, leaderSid, learnerSid) : closeConnection(s, leaderSid, learnerSid);
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
  if (me.learner !== null) next = dropLearner(next, me.learner.leader, sid, true);
  return backToLooking(cfg, next, sid);
}

/**
 * Leader.shutdown: every LearnerHandler is closed, so each of its learners falls back to LOOKING too; the ACKs of
 * learners that had closed their end and that the leader had not read yet go with its sockets.
 */
export function leaderShutdown(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  let next = s;
  for (const j of cfg.sids) {
    if (j === sid) continue;
    next = closeConnection(next, sid, j);
    if (!me.leader?.learners.includes(j)) continue;
    const learner = server(next, j);
    if (learner.online && learner.learner?.leader === sid) next = backToLooking(cfg, next, j);
  }
  return backToLooking(cfg, next, sid);
}
