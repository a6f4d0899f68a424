// Coarse granularity: election and discovery taken as one atomic step, so that the checker's depth goes to
// synchronization, broadcast and recovery. Every coarse step is one outcome the fine-grained protocol can reach
// (test/coarse.test.ts replays each against the fine-grained steps):
//
// - ElectAndDiscover(L, Q): the LOOKING servers Q (a quorum, L among them, none with a better vote than L) elect L
//   with FastLeaderElection, connect, and complete discovery: L proposes max(acceptedEpoch of Q) + 1, each member
//   accepts it (acceptedEpoch), and L, with a quorum of ACKEPOCH, writes its currentEpoch.
// - LearnerJoin(j, L): a LOOKING server learns from a quorum that already follows L (outofelection), connects
//   and completes discovery with L, which has already fixed its epoch.
// - ElectAbandoned(L, V), variant 3109 only: L decides on the quorum {L, V} but V changes its mind (spec/variants.ts).
import type { Config } from './config.ts';
import { isQuorum, isVoter } from './config.ts';
import { initialVote } from './fle/election.ts';
import { totalOrderPredicate } from './fle/vote.ts';
import type { ClusterState } from './state.ts';
import { addSorted, closeConnection, lastLoggedZxid, server, updateLeader, updateLearner, updateServer, writeAcceptedEpoch } from './state.ts';
import type { Sid, Vote } from './types.ts';
import { finishDiscovery } from './zab/discovery.ts';
import { hasVariantStep } from './seams.ts';
import { startLeading, startLearning } from './zab/roles.ts';

export type CoarseAction =
  | { readonly kind: 'ElectAndDiscover'; readonly sid: Sid; readonly quorum: readonly Sid[] }
  | { readonly kind: 'LearnerJoin'; readonly sid: Sid; readonly peer: Sid }
  | { readonly kind: 'ElectAbandoned'; readonly sid: Sid; readonly peer: Sid };

export const COARSE_ACTION_KINDS = ['ElectAndDiscover', 'LearnerJoin'] as const;
/** The coarse step only variant 3109 has (the seam steps of spec/seams.ts). */
export const COARSE_VARIANT_KINDS = ['ElectAbandoned'] as const;

type Step = { readonly action: CoarseAction; readonly state: ClusterState };

/** Subsets of `xs` that contain `must`, in a fixed order. */
function subsetsWith(xs: readonly Sid[], must: Sid): Sid[][] {
  const others = xs.filter((x) => x !== must);
  const out: Sid[][] = [];
  for (let mask = 0; mask < 1 << others.length; mask++) {
    out.push([must, ...others.filter((_, i) => mask & (1 << i))].sort((a, b) => a - b));
  }
  return out;
}

export function electAndDiscover(cfg: Config, s: ClusterState, leaderSid: Sid, quorum: readonly Sid[]): ClusterState | null {
  if (!isQuorum(cfg, quorum)) return null;
  const members = quorum.map((sid) => server(s, sid));
  if (members.some((m) => !m.online || m.state !== 'LOOKING')) return null;
  const leader = server(s, leaderSid);
  const leaderVote = initialVote(cfg, leaderSid, leader);
  // FLE can only settle on L if no member's own vote is better than L's.
  if (quorum.some((sid) => totalOrderPredicate(cfg, initialVote(cfg, sid, server(s, sid)), leaderVote))) return null;
  const newEpoch = Math.max(...members.map((m) => m.acceptedEpoch)) + 1;
  if (newEpoch > cfg.bounds.maxEpoch) return null;
  const round = Math.max(...members.map((m) => m.logicalclock)) + 1;

  const vote: Vote = { ...leaderVote, electionEpoch: round, state: 'LOOKING' };
  const recvset = cfg.sids.map((sid) => (quorum.includes(sid) ? vote : null));
  let next = s;
  for (const sid of quorum) {
    next = updateServer(next, sid, {
      state: sid === leaderSid ? 'LEADING' : 'FOLLOWING',
      fle: 'idle',
      logicalclock: round,
      proposal: leaderVote,
      recvset,
      currentVote: { ...leaderVote, electionEpoch: round },
    });
  }
  next = startLeading(next, leaderSid);
  next = writeAcceptedEpoch(next, leaderSid, newEpoch);
  const learners = quorum.filter((sid) => sid !== leaderSid);
  for (const sid of learners) {
    next = startLearning(next, sid, leaderSid);
    next = writeAcceptedEpoch(next, sid, newEpoch);
    next = updateLearner(next, sid, { connected: true, newEpoch });
    next = updateServer(next, sid, { zabState: 'SYNCHRONIZATION' });
  }
  next = updateLeader(next, leaderSid, {
    learners,
    connecting: [...quorum],
    epochToPropose: newEpoch,
    newEpoch,
    electing: [...quorum],
    toSync: learners.map((sid) => ({ sid, lastZxid: lastLoggedZxid(server(s, sid)) })),
  });
  return finishDiscovery(cfg, next, leaderSid);
}

/**
 * A LOOKING server can learn leader L through outofelection when a quorum of voters (L included) report
 * FOLLOWING/LEADING L with the same vote; L must have fixed its epoch and the server must accept it. The quorum
 * agrees on L's current vote or, with joinVotes 'election' (config.ts JOIN_VOTES), on the vote of that election
 * (same leader, zxid and round) with a peerEpoch a server of it still holds, counting the servers already serving
 * (whose peerEpoch is the new epoch) as having sent it before; the learner takes the vote it decided on.
 */
export function learnerJoin(cfg: Config, s: ClusterState, sid: Sid, leaderSid: Sid): ClusterState | null {
  const me = server(s, sid);
  const l = server(s, leaderSid);
  if (!me.online || me.state !== 'LOOKING' || sid === leaderSid) return null;
  if (!l.online || l.state !== 'LEADING' || l.leader === null || l.zabState === 'DISCOVERY') return null;
  const epoch = l.leader.newEpoch;
  if (me.acceptedEpoch > epoch) return null;
  const lv0 = l.currentVote;
  const agreeing = cfg.sids.filter((x) => {
    const v = server(s, x);
    return isVoter(cfg, x) && v.online && v.state !== 'LOOKING' && v.currentVote.leader === leaderSid && v.currentVote.peerEpoch === lv0.peerEpoch;
  });
  let peerEpoch = lv0.peerEpoch;
  if (!isQuorum(cfg, agreeing)) {
    if (cfg.joinVotes !== 'election') return null;
    const older = electionVoteEpoch(cfg, s, leaderSid, epoch);
    if (older === null) return null;
    peerEpoch = older;
  }
  const vote = peerEpoch === lv0.peerEpoch ? lv0 : { ...lv0, peerEpoch };
  let next = updateServer(s, sid, {
    state: cfg.learnerType(sid) === 'observer' ? 'OBSERVING' : 'FOLLOWING',
    fle: 'idle',
    logicalclock: vote.electionEpoch,
    currentVote: vote,
  });
  next = startLearning(next, sid, leaderSid);
  next = writeAcceptedEpoch(next, sid, epoch);
  // A new socket: what the learner's previous connection left unread is not read ahead of it (learnerConnect).
  next = closeConnection(next, sid, leaderSid);
  next = updateLearner(next, sid, { connected: true, newEpoch: epoch });
  next = updateServer(next, sid, { zabState: 'SYNCHRONIZATION' });
  const lv = server(next, leaderSid).leader!;
  return updateLeader(next, leaderSid, {
    learners: addSorted(lv.learners, sid),
    toSync: [...lv.toSync, { sid, lastZxid: lastLoggedZxid(me) }],
  });
}

/**
 * Variant 3109 (ZOOKEEPER-3109): the LOOKING voters L and V, a quorum, agree on L, and L's finalizeWait ends: L
 * decides and enters Leader.lead(), where getEpochToPropose waits for its voters' FOLLOWERINFO. But V, still in
 * its own finalizeWait, hears the better vote of a third LOOKING voter W and goes on with it: V and W stay
 * LOOKING (and may elect W), and nothing brings V back to L. With the fix, V's next LOOKING notification makes L
 * quit (Leader.reportLookingSid) and look for a leader again, which leaves L as it was before the step: the
 * fixed spec, at coarse granularity, has no such step.
 */
export function electAbandoned(cfg: Config, s: ClusterState, leaderSid: Sid, voter: Sid): ClusterState | null {
  if (!hasVariantStep(cfg, 'ElectAbandoned') || leaderSid === voter || !isVoter(cfg, voter)) return null;
  const pair = [leaderSid, voter].sort((a, b) => a - b);
  if (!isQuorum(cfg, pair)) return null;
  const l = server(s, leaderSid);
  const v = server(s, voter);
  if (!l.online || l.state !== 'LOOKING' || !v.online || v.state !== 'LOOKING') return null;
  const leaderVote = initialVote(cfg, leaderSid, l);
  if (totalOrderPredicate(cfg, initialVote(cfg, voter, v), leaderVote)) return null;
  // The better vote V changes its mind for: a third voter, LOOKING, whose notification reaches V late.
  const better = cfg.voters.some((w) => {
    const x = server(s, w);
    return !pair.includes(w) && x.online && x.state === 'LOOKING' && totalOrderPredicate(cfg, initialVote(cfg, w, x), leaderVote);
  });
  if (!better || l.acceptedEpoch + 1 > cfg.bounds.maxEpoch) return null;
  const round = Math.max(l.logicalclock, v.logicalclock) + 1;
  const vote: Vote = { ...leaderVote, electionEpoch: round, state: 'LOOKING' };
  const next = updateServer(s, leaderSid, {
    state: 'LEADING',
    fle: 'idle',
    logicalclock: round,
    proposal: leaderVote,
    recvset: cfg.sids.map((sid) => (pair.includes(sid) ? vote : null)),
    currentVote: { ...leaderVote, electionEpoch: round },
  });
  return startLeading(next, leaderSid);
}

/**
 * joinVotes 'election': the older peerEpoch a quorum of L's election (same leader, zxid and round as L's vote)
 * agrees on, counting a server that already serves (peerEpoch = the new epoch) as having sent it, or null.
 */
function electionVoteEpoch(cfg: Config, s: ClusterState, leaderSid: Sid, epoch: number): number | null {
  const lv = server(s, leaderSid).currentVote;
  const inElection = cfg.sids.filter((x) => {
    const v = server(s, x);
    const cv = v.currentVote;
    return isVoter(cfg, x) && v.online && v.state !== 'LOOKING' && cv.leader === leaderSid && cv.zxid === lv.zxid && cv.electionEpoch === lv.electionEpoch;
  });
  const older = inElection.map((x) => server(s, x).currentVote.peerEpoch).filter((pe) => pe < epoch);
  if (older.length === 0) return null;
  const peerEpoch = Math.max(...older);
  const agreeing = inElection.filter((x) => {
    const pe = server(s, x).currentVote.peerEpoch;
    return pe === peerEpoch || pe === epoch;
  });
  return isQuorum(cfg, agreeing) ? peerEpoch : null;
}

const quorumsCache = new WeakMap<Config, Sid[][][]>();

/** The voter sets each leader could be elected by (subsets containing it), computed once per config. */
function candidateQuorums(cfg: Config): Sid[][][] {
  let cached = quorumsCache.get(cfg);
  if (cached === undefined) {
    cached = cfg.voters.map((l) => subsetsWith(cfg.voters, l).filter((q) => isQuorum(cfg, q)));
    quorumsCache.set(cfg, cached);
  }
  return cached;
}

export function coarseSteps(cfg: Config, s: ClusterState): Step[] {
  const steps: Step[] = [];
  const quorums = candidateQuorums(cfg);
  for (const leaderSid of cfg.voters) {
    const l = server(s, leaderSid);
    if (!l.online || l.state !== 'LOOKING') continue;
    for (const quorum of quorums[leaderSid - 1]!) {
      const next = electAndDiscover(cfg, s, leaderSid, quorum);
      if (next !== null) steps.push({ action: { kind: 'ElectAndDiscover', sid: leaderSid, quorum }, state: next });
    }
  }
  for (const sid of cfg.sids) {
    for (const leaderSid of cfg.voters) {
      const next = learnerJoin(cfg, s, sid, leaderSid);
      if (next !== null) steps.push({ action: { kind: 'LearnerJoin', sid, peer: leaderSid }, state: next });
    }
  }
  // The step variant 3109 adds (the seam steps, spec/seams.ts).
  if (hasVariantStep(cfg, 'ElectAbandoned')) {
    for (const leaderSid of cfg.voters) {
      for (const voter of cfg.voters) {
        const next = electAbandoned(cfg, s, leaderSid, voter);
        if (next !== null) steps.push({ action: { kind: 'ElectAbandoned', sid: leaderSid, peer: voter }, state: next });
      }
    }
  }
  return steps;
}
