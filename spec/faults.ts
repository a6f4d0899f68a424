// The environment's moves: crashes and restarts, lost connections, and the timeouts by which ZooKeeper notices
// them. Each is bounded by the run's budget (--crashes, --partitions); timeouts are nondeterministic choices.
import type { Config } from './config.ts';
import { isQuorum, isVoter } from './config.ts';
import type { ClusterState } from './state.ts';
import { dropAllChannelsOf, emptyRoundVotes, server, updateServer } from './state.ts';
import type { Sid } from './types.ts';
import { NONE } from './types.ts';
import { dropLearner, leaderShutdown, learnerShutdown } from './zab/roles.ts';

/**
 * kill -9: the process and everything volatile are gone (the data tree, the SyncRequestProcessor's queue, the
 * election round), every connection drops with what was in flight. A crashed leader's learners notice their
 * connection close and look for a new leader; a crashed learner's handler ends at its leader.
 */
export function crash(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (!me.online || s.budget.crashes >= cfg.bounds.crashes) return null;
  let next: ClusterState = { ...s, budget: { ...s.budget, crashes: s.budget.crashes + 1 } };
  if (me.state === 'LEADING' && me.zabState === 'BROADCAST') {
    next = { ...next, ghost: { ...next.ghost, crashedLeaderEpoch: Math.max(next.ghost.crashedLeaderEpoch, me.currentEpoch) } };
  }
  if (me.leader !== null) next = leaderShutdown(cfg, next, sid);
  else if (me.learner !== null) next = dropLearner(next, me.learner.leader, sid);
  next = dropAllChannelsOf(next, sid);
  return updateServer(next, sid, {
    online: false,
    state: 'LOOKING',
    zabState: 'ELECTION',
    fle: 'idle',
    logicalclock: 0,
    proposal: { leader: NONE, zxid: NONE, peerEpoch: NONE },
    recvset: emptyRoundVotes(cfg),
    outofelection: emptyRoundVotes(cfg),
    // leaderShutdown flushed the queue into the log; a crash loses it instead.
    history: me.history,
    pendingLog: [],
    committed: 0,
    // The tree and the old logger's queue (variants 2845/4712) die with the process; a restart reloads the log.
    treeZxid: null,
    orphanLog: [],
    leader: null,
    learner: null,
  });
}

/** The process starts again: QuorumPeer loads its epochs and the database from disk, and is LOOKING. */
export function restart(_cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (me.online) return null;
  const last = me.history.length === 0 ? 0 : me.history[me.history.length - 1]!.zxid;
  return updateServer(s, sid, {
    online: true,
    // loadDataBase: the snapshot, then the txns of the log after it, each added to the committedLog
    committedLogStart: me.snapshotIndex,
    currentVote: { leader: sid, zxid: last, peerEpoch: me.currentEpoch, electionEpoch: NONE },
  });
}

/** The TCP connection between a leader and one of its learners breaks: both ends see it close. */
export function connectionLost(cfg: Config, s: ClusterState, leaderSid: Sid, learnerSid: Sid): ClusterState | null {
  const l = server(s, leaderSid);
  const j = server(s, learnerSid);
  if (s.budget.partitions >= cfg.bounds.partitions) return null;
  if (!l.online || l.leader === null || !l.leader.learners.includes(learnerSid)) return null;
  if (!j.online || j.learner?.leader !== leaderSid) return null;
  const next: ClusterState = { ...s, budget: { ...s.budget, partitions: s.budget.partitions + 1 } };
  return learnerShutdown(cfg, next, learnerSid);
}

/**
 * Leader.lead's loop: the leader gives up when it cannot hear a quorum. Before it serves, a wait for the
 * quorum (epoch, ACKEPOCH, NEWLEADER ACK) can time out at any moment (initLimit); once serving, the ping
 * loop steps down when its connected participants and itself are no longer a quorum (syncLimit).
 */
export function leaderStepDown(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (!me.online || me.leader === null) return null;
  if (me.zabState === 'BROADCAST') {
    // Not a fault but its consequence: the quorum is gone, so it is certain to happen.
    if (isQuorum(cfg, [sid, ...me.leader.learners.filter((j) => isVoter(cfg, j))])) return null;
    return leaderShutdown(cfg, s, sid);
  }
  // A wait for the quorum timing out (initLimit): certain once a fault (a crash, a lost connection) has left the
  // leader and the voters up that follow it (or try to) no quorum, since nobody else can join a leader without
  // one; otherwise a fault the budget pays for. So a run without faults never relies on this timeout: a leader
  // left waiting by the election alone is a liveness bug (ZOOKEEPER-3109, spec/variants.ts), not a delay.
  const coming = cfg.sids.filter((j) => j !== sid && isVoter(cfg, j) && server(s, j).online && server(s, j).learner?.leader === sid);
  const faulted = s.budget.crashes > 0 || s.budget.partitions > 0;
  if (faulted && !isQuorum(cfg, [sid, ...coming])) return leaderShutdown(cfg, s, sid);
  if (s.budget.partitions >= cfg.bounds.partitions) return null;
  const next: ClusterState = { ...s, budget: { ...s.budget, partitions: s.budget.partitions + 1 } };
  return leaderShutdown(cfg, next, sid);
}

/**
 * Learner.connectToLeader retries, then gives up (initLimit), and the server goes back to LOOKING. Certain when
 * the server it elected is down or not leading; when that server leads, only a lost connection on the way
 * stops the learner, a fault the budget pays for (found by the simulator, `npm run simulate -- --seed 4`: a
 * learner cut off from a leader that the others follow).
 */
export function learnerTimeout(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (!me.online || me.learner === null || me.learner.connected) return null;
  const l = server(s, me.learner.leader);
  if (!l.online || l.state !== 'LEADING') return learnerShutdown(cfg, s, sid);
  if (s.budget.partitions >= cfg.bounds.partitions) return null;
  return learnerShutdown(cfg, { ...s, budget: { ...s.budget, partitions: s.budget.partitions + 1 } }, sid);
}
