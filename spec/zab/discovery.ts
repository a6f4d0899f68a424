// ZAB phase 1, discovery: the learners tell the new leader their acceptedEpoch, the leader picks an epoch above
// all of a quorum's (getEpochToPropose), every learner accepts it durably (LEADERINFO, ACKEPOCH), and the leader
// checks that no learner of its quorum is more up to date than itself (waitForEpochAck).
import type { Config } from '../config.ts';
import { isQuorum, isVoter } from '../config.ts';
import type { ClusterState } from '../state.ts';
import {
  addSorted,
  closeConnection,
  lastLoggedZxid,
  sendPackets,
  server,
  takePacket,
  updateLeader,
  updateLearner,
  updateServer,
  writeAcceptedEpoch,
  writeCurrentEpoch,
} from '../state.ts';
import type { Sid, Zxid } from '../types.ts';
import { NONE } from '../types.ts';
import type { QuorumPacket } from './packets.ts';
import { learnerShutdown } from './roles.ts';
import { seamsOf } from '../seams.ts';

/**
 * Learner.connectToLeader + registerWithLeader: the TCP connection is accepted by the leader's
 * LearnerCnxAcceptor (a LearnerHandler starts) and FOLLOWERINFO/OBSERVERINFO carries the acceptedEpoch.
 * Only possible while the chosen leader is up and leading.
 */
export function learnerConnect(cfg: Config, s: ClusterState, sid: Sid): ClusterState | null {
  const me = server(s, sid);
  if (!me.online || me.learner === null || me.learner.connected) return null;
  const l = server(s, me.learner.leader);
  if (!l.online || l.state !== 'LEADING' || l.leader === null) return null;
  // A new socket: the ACKs still unread on this learner's previous connection to the leader
  // (learnerClosesConnection) are not read ahead of its FOLLOWERINFO. The spec lets the old handler read them
  // before the learner reconnects, not after (one channel per pair of servers).
  let next = updateLearner(closeConnection(s, sid, me.learner.leader), sid, { connected: true });
  next = updateLeader(next, me.learner.leader, { learners: addSorted(l.leader.learners, sid) });
  const info: QuorumPacket = {
    type: cfg.learnerType(sid) === 'observer' ? 'OBSERVERINFO' : 'FOLLOWERINFO',
    acceptedEpoch: me.acceptedEpoch,
  };
  return sendPackets(next, sid, me.learner.leader, [info]);
}

/**
 * LearnerHandler gets FOLLOWERINFO and calls getEpochToPropose: while the epoch is open, each learner raises
 * it above its acceptedEpoch and waits; when a quorum of participants (the leader among them) has connected
 * the epoch is fixed, the leader writes it to its acceptedEpoch file, and every waiting handler sends
 * LEADERINFO. A learner that connects later gets LEADERINFO at once.
 */
export function leaderProcessFOLLOWERINFO(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, p: QuorumPacket): ClusterState | null {
  if (p.type !== 'FOLLOWERINFO' && p.type !== 'OBSERVERINFO') return null;
  const me = server(s0, sid);
  const l = me.leader!;
  const s = takePacket(s0, from, sid);
  if (l.newEpoch !== NONE) return sendPackets(s, sid, from, [{ type: 'LEADERINFO', newEpoch: l.newEpoch }]);

  const epochToPropose = p.acceptedEpoch >= l.epochToPropose ? p.acceptedEpoch + 1 : l.epochToPropose;
  const connecting = isVoter(cfg, from) ? addSorted(l.connecting, from) : l.connecting;
  const waitingForEpoch = addSorted(l.waitingForEpoch, from);
  if (!(connecting.includes(sid) && isQuorum(cfg, connecting))) {
    return updateLeader(s, sid, { epochToPropose, connecting, waitingForEpoch });
  }
  // The epoch is fixed. Exploring epochs beyond the bound is cut off here (the leader then times out).
  if (epochToPropose > cfg.bounds.maxEpoch) return null;
  let next = updateLeader(s, sid, { epochToPropose, connecting, waitingForEpoch: [], newEpoch: epochToPropose, electing: [sid] });
  next = writeAcceptedEpoch(next, sid, epochToPropose);
  for (const j of waitingForEpoch) next = sendPackets(next, sid, j, [{ type: 'LEADERINFO', newEpoch: epochToPropose }]);
  return next;
}

/**
 * Learner.registerWithLeader reads LEADERINFO: a newer epoch is written to the acceptedEpoch file and
 * ACKEPOCH carries the currentEpoch; the same epoch is acknowledged with -1; an older one is an IOException:
 * the learner gives up on this leader.
 */
export function learnerProcessLEADERINFO(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, p: QuorumPacket): ClusterState | null {
  if (p.type !== 'LEADERINFO') return null;
  const me = server(s0, sid);
  const s = takePacket(s0, from, sid);
  const ack = (currentEpoch: number): QuorumPacket => ({ type: 'ACKEPOCH', currentEpoch, lastZxid: lastLoggedZxid(me) });
  // A lower epoch is refused, unless a deviation accepts it (the seam acceptsLowerEpoch: acceptLowerEpoch).
  if (p.newEpoch > me.acceptedEpoch || (p.newEpoch < me.acceptedEpoch && seamsOf(cfg).acceptsLowerEpoch === true)) {
    let next = writeAcceptedEpoch(s, sid, p.newEpoch);
    next = updateLearner(next, sid, { newEpoch: p.newEpoch });
    next = updateServer(next, sid, { zabState: 'SYNCHRONIZATION' });
    return sendPackets(next, sid, from, [ack(me.currentEpoch)]);
  }
  if (p.newEpoch === me.acceptedEpoch) {
    const next = updateServer(updateLearner(s, sid, { newEpoch: p.newEpoch }), sid, { zabState: 'SYNCHRONIZATION' });
    return sendPackets(next, sid, from, [ack(NONE)]);
  }
  return learnerShutdown(cfg, s, sid);
}

/** isMoreRecentThan on StateSummary: a higher currentEpoch, or the same and a higher last zxid. */
function isMoreRecentThan(epochA: number, zxidA: Zxid, epochB: number, zxidB: Zxid): boolean {
  return epochA > epochB || (epochA === epochB && zxidA > zxidB);
}

/**
 * LearnerHandler gets ACKEPOCH and calls waitForEpochAck. A learner more recent than the leader makes the
 * handler throw (the leader, still waiting for a quorum, will time out). Otherwise the learner joins
 * electingFollowers (unless it had already accepted this epoch); when they are a quorum with the leader,
 * election is finished: the leader writes its currentEpoch and every waiting handler goes on to sync.
 */
export function leaderProcessACKEPOCH(cfg: Config, s0: ClusterState, sid: Sid, from: Sid, p: QuorumPacket): ClusterState | null {
  if (p.type !== 'ACKEPOCH') return null;
  const me = server(s0, sid);
  const l = me.leader!;
  const s = takePacket(s0, from, sid);
  const toSync = [...l.toSync.filter((x) => x.sid !== from), { sid: from, lastZxid: p.lastZxid }];
  if (me.zabState !== 'DISCOVERY') return updateLeader(s, sid, { toSync });
  if (p.currentEpoch === NONE) return updateLeader(s, sid, { toSync });
  // The leader's StateSummary was taken when lead() began: its currentEpoch and last zxid then.
  if (isMoreRecentThan(p.currentEpoch, p.lastZxid, me.currentEpoch, lastLoggedZxid(me))) {
    return learnerShutdown(cfg, s, from);
  }
  const electing = isVoter(cfg, from) ? addSorted(l.electing, from) : l.electing;
  let next = updateLeader(s, sid, { toSync, electing });
  if (electing.includes(sid) && isQuorum(cfg, electing)) next = finishDiscovery(cfg, next, sid);
  return next;
}

/** electionFinished: the leader sets its currentEpoch (lead() after waitForEpochAck) and counts itself for NEWLEADER. */
export function finishDiscovery(_cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  const epoch = me.leader!.newEpoch;
  let next = writeCurrentEpoch(s, sid, epoch);
  next = updateServer(next, sid, { zabState: 'SYNCHRONIZATION' });
  next = updateLeader(next, sid, { newLeaderAcks: [sid] });
  const established = [...next.ghost.established, { epoch, sid }].sort((a, b) => a.epoch - b.epoch || a.sid - b.sid);
  return { ...next, ghost: { ...next.ghost, established } };
}
