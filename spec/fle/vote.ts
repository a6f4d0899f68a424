// How FastLeaderElection compares and counts votes.
import type { Config } from '../config.ts';
import { isQuorum, isVoter } from '../config.ts';
import type { Proposal, Sid, Vote } from '../types.ts';
import { seamsOf } from '../seams.ts';

/**
 * FastLeaderElection.totalOrderPredicate: is the vote (newId, newZxid, newEpoch) better than the current one?
 * Higher peerEpoch wins, then higher zxid, then higher sid. A vote for a non-voter (weight 0) never wins,
 * which is why an observer's vote for Long.MIN_VALUE is replaced by the first real vote it hears.
 */
export function totalOrderPredicate(cfg: Config, next: Proposal, current: Proposal): boolean {
  if (!isVoter(cfg, next.leader)) return false;
  // A deviation may order votes otherwise (the seam totalOrder: voteOrder).
  const deviation = seamsOf(cfg).totalOrder;
  if (deviation !== undefined) return deviation(next, current);
  return (
    next.peerEpoch > current.peerEpoch ||
    (next.peerEpoch === current.peerEpoch &&
      (next.zxid > current.zxid || (next.zxid === current.zxid && next.leader > current.leader)))
  );
}

/**
 * Vote.equals: if either vote was cast while LOOKING, all of leader, zxid, electionEpoch and peerEpoch must
 * match; between decided servers only leader and peerEpoch count (ZOOKEEPER-1805: their zxid and round may
 * legitimately differ).
 */
export function sameVote(a: Vote, b: Vote): boolean {
  if (a.state === 'LOOKING' || b.state === 'LOOKING') {
    return a.leader === b.leader && a.zxid === b.zxid && a.electionEpoch === b.electionEpoch && a.peerEpoch === b.peerEpoch;
  }
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}

/** getVoteTracker(votes, vote).hasAllQuorums(): do the voters whose recorded vote equals `vote` form a quorum? */
export function hasQuorumFor(cfg: Config, votes: readonly (Vote | null)[], vote: Vote): boolean {
  const acks: Sid[] = [];
  votes.forEach((v, i) => {
    if (v !== null && sameVote(vote, v)) acks.push(i + 1);
  });
  return isQuorum(cfg, acks);
}

/**
 * FastLeaderElection.checkLeader: before following `leader`, make sure it said it is LEADING (so a crashed
 * leader is not elected over and over); if the leader is this server, the round must be its own.
 */
export function checkLeader(self: Sid, logicalclock: number, votes: readonly (Vote | null)[], leader: Sid, electionEpoch: number): boolean {
  if (leader !== self) {
    const v = votes[leader - 1];
    return v !== null && v !== undefined && v.state === 'LEADING';
  }
  return logicalclock === electionEpoch;
}
