// Entering and leaving the roles of ZAB: what QuorumPeer.run does around Leader.lead() and
// Follower.followLeader()/Observer.observeLeader(), and how a server falls back to LOOKING.
import type { Config } from '../config.ts';
import type { ClusterState, LeaderVars, LearnerVars } from '../state.ts';
import { closeConnection, delivered, emptyRoundVotes, lastZxidOf, learnerClosesConnection, server, updateServer, without } from '../state.ts';
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
  // Variants 2845/4712: the spec's leader always leads from its log (a stale tree is not followed into lead()).
  const fresh = me.treeZxid === null ? {} : { treeZxid: null };
  return updateServer(s, sid, { zabState: 'DISCOVERY', leader, snapshotIndex: me.history.length, ...fresh });
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
 * QuorumPeer sets LOOKING and runs a new election. The SyncRequestProcessor is shut down, which flushes
 * what it had queued (the ZOOKEEPER-4712 fix), and the in-memory database is reloaded from disk
 * (the ZOOKEEPER-2845 fix), so what the server votes with is what it has logged.
 */
function backToLooking(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  const looking = {
    state: 'LOOKING' as const,
    zabState: 'ELECTION' as const,
    fle: 'idle' as const,
    recvset: emptyRoundVotes(cfg),
    outofelection: emptyRoundVotes(cfg),
    leader: null,
    learner: null,
  };
  if (cfg.variant === '4643' && me.learner !== null && me.learner.newLeaderAckDue !== null) {
    // ZOOKEEPER-4643: a closed socket does not stop the learner thread between setCurrentEpoch and the end of the
    // NEWLEADER handler: it persists the sync txns, then fails to write the ACK. Only a crash cuts in between.
    let history = me.history;
    let notLogged = me.learner.packetsNotLogged;
    for (const z of me.learner.packetsCommitted) {
      if (notLogged[0]?.zxid !== z) continue;
      history = [...history, notLogged[0]];
      notLogged = notLogged.slice(1);
    }
    return updateServer(s, sid, { ...looking, history });
  }
  if (cfg.variant === '2845') {
    // ZOOKEEPER-2845 (before 3.4.12/3.5.4): ZooKeeperServer.shutdown(false) keeps zkDb as it is, without
    // fastForwardDataBase. The tree holds what was applied (committed); the log may hold more (a leader logs its
    // own proposals before they commit), and getLastLoggedZxid now reports the tree's last zxid. A tree that was
    // never applied to since the restart is the log itself (loadDataBase replayed all of it).
    const all = [...me.history, ...me.pendingLog];
    const tree = me.committed === 0 ? lastZxidOf(all) : lastZxidOf(delivered(me));
    return updateServer(s, sid, { ...looking, history: all, pendingLog: [], treeZxid: tree === lastZxidOf(all) ? null : tree });
  }
  if (cfg.variant === '4712') {
    // ZOOKEEPER-4712 (3.5.10-3.9.2): Learner.shutdown -> ZooKeeperServer.shutdown(false) shuts the processors down
    // but not syncProcessor, then fastForwardDataBase catches the tree up to the log as it is now. The old
    // SyncRequestProcessor keeps its queue and its thread, and appends it to the log later (FollowerFlushLog).
    return updateServer(s, sid, {
      ...looking,
      pendingLog: [],
      orphanLog: [...me.orphanLog, ...me.pendingLog],
      treeZxid: me.pendingLog.length === 0 && me.orphanLog.length === 0 ? null : lastZxidOf(me.history),
    });
  }
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
