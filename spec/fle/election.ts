// FastLeaderElection, step by step, as lookForLeader and its WorkerReceiver thread run it.
//
// One action is one server handling one event: starting an election, taking the next notification from one
// peer's channel, or deciding when finalizeWait expires. WorkerReceiver's immediate replies are folded into
// the receive step that triggers them (both happen when the notification arrives).
import type { Config } from '../config.ts';
import { isVoter } from '../config.ts';
import type { ClusterState, Server } from '../state.ts';
import { dropHead, electionChannel, lastLoggedZxid, sendNotifications, server, updateServer } from '../state.ts';
import { enterZab } from '../zab/roles.ts';
import type { Notification, Proposal, ServerState, Sid, Vote } from '../types.ts';
import { NONE } from '../types.ts';
import { checkLeader, hasQuorumFor, totalOrderPredicate } from './vote.ts';

export type FleAction =
  | { readonly kind: 'FLEStartElection'; readonly sid: Sid }
  | { readonly kind: FleReceiveKind; readonly sid: Sid; readonly from: Sid }
  | { readonly kind: 'FLEDecide'; readonly sid: Sid };

export type FleReceiveKind =
  | 'FLEReceiveHigherRound'
  | 'FLEReceiveSameRound'
  | 'FLEReceiveLowerRound'
  | 'FLEReceiveFromDecided'
  | 'FLEFinalizeDiscard'
  | 'FLEReplyToLooking'
  | 'FLEReplyToNonVoter'
  | 'FLEDropNotification';

export const FLE_ACTION_KINDS = [
  'FLEStartElection',
  'FLEReceiveHigherRound',
  'FLEReceiveSameRound',
  'FLEReceiveLowerRound',
  'FLEReceiveFromDecided',
  'FLEFinalizeDiscard',
  'FLEDecide',
  'FLEReplyToLooking',
  'FLEReplyToNonVoter',
  'FLEDropNotification',
] as const;

type Step = { readonly action: FleAction; readonly state: ClusterState };

/** getInitId / getInitLastLoggedZxid / getPeerEpoch: a participant votes for itself, an observer for nobody. */
export function initialVote(cfg: Config, sid: Sid, self: Server): Proposal {
  if (!isVoter(cfg, sid)) return { leader: NONE, zxid: NONE, peerEpoch: NONE };
  return { leader: sid, zxid: lastLoggedZxid(self), peerEpoch: self.currentEpoch };
}

/** sendNotifications: the proposal, in this round, to every voter (itself included). */
function notifyAll(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  const n: Notification = { ...me.proposal, electionEpoch: me.logicalclock, state: 'LOOKING' };
  return sendNotifications(s, sid, cfg.voters.map((to) => ({ to, n })));
}

/** One notification back to one peer. */
function reply(s: ClusterState, from: Sid, to: Sid, n: Notification): ClusterState {
  return sendNotifications(s, from, [{ to, n }]);
}

/** QuorumPeer.setPeerState(proposedLeader, voteSet): LEADING if it is us, else learningState(). */
function decidedState(cfg: Config, sid: Sid, leader: Sid): ServerState {
  if (leader === sid) return 'LEADING';
  return cfg.learnerType(sid) === 'observer' ? 'OBSERVING' : 'FOLLOWING';
}

/** setPeerState + leaveInstance: the election is over for this server, which goes on into its ZAB role. */
function decide(cfg: Config, s: ClusterState, sid: Sid, vote: Proposal & { electionEpoch: number }): ClusterState {
  const next = updateServer(s, sid, {
    state: decidedState(cfg, sid, vote.leader),
    fle: 'idle',
    currentVote: { leader: vote.leader, zxid: vote.zxid, peerEpoch: vote.peerEpoch, electionEpoch: vote.electionEpoch },
  });
  return enterZab(cfg, next, sid);
}

/** lookForLeader's entry: a new round, a vote for itself, notifications to every voter. */
export function startElection(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  const blank = me.recvset.map(() => null);
  const next = updateServer(s, sid, {
    fle: 'voting',
    logicalclock: me.logicalclock + 1,
    proposal: initialVote(cfg, sid, me),
    recvset: blank,
    outofelection: blank,
  });
  return notifyAll(cfg, next, sid);
}

/** After recording a LOOKING vote: if our proposal now has a quorum, wait finalizeWait before deciding. */
function maybeFinalize(cfg: Config, s: ClusterState, sid: Sid): ClusterState {
  const me = server(s, sid);
  const ours: Vote = { ...me.proposal, electionEpoch: me.logicalclock, state: 'LOOKING' };
  return hasQuorumFor(cfg, me.recvset, ours) ? updateServer(s, sid, { fle: 'finalizing' }) : s;
}

/** The LOOKING case of lookForLeader for a notification of a higher round. */
function receiveHigherRound(cfg: Config, s: ClusterState, sid: Sid, from: Sid, n: Notification): ClusterState {
  const me = server(s, sid);
  const own = initialVote(cfg, sid, me);
  const better = totalOrderPredicate(cfg, n, own);
  const recvset = me.recvset.map((_, i) => (i === from - 1 ? lookingVote(n) : null));
  let next = updateServer(s, sid, {
    logicalclock: n.electionEpoch,
    proposal: better ? proposalOf(n) : own,
    recvset,
  });
  next = notifyAll(cfg, next, sid);
  return maybeFinalize(cfg, next, sid);
}

/** Same round: adopt the vote if it is better (and tell everyone), then record it. */
function receiveSameRound(cfg: Config, s: ClusterState, sid: Sid, from: Sid, n: Notification): ClusterState {
  const me = server(s, sid);
  let next = s;
  if (totalOrderPredicate(cfg, n, me.proposal)) {
    next = notifyAll(cfg, updateServer(next, sid, { proposal: proposalOf(n) }), sid);
  }
  const after = server(next, sid);
  next = updateServer(next, sid, { recvset: withVote(after.recvset, from, lookingVote(n)) });
  return maybeFinalize(cfg, next, sid);
}

/**
 * receivedFollowingNotification / receivedLeadingNotification: a LOOKING server hears from one that decided.
 * Same round: count it in recvset and follow if a quorum agrees and checkLeader holds. In any case record it
 * in outofelection, and join an established ensemble if a quorum there follows a leader that says LEADING.
 */
function receiveFromDecided(cfg: Config, s: ClusterState, sid: Sid, from: Sid, n: Notification): ClusterState {
  const me = server(s, sid);
  const vote: Vote = { ...proposalOf(n), electionEpoch: n.electionEpoch, state: n.state };
  const endVote = { ...proposalOf(n), electionEpoch: n.electionEpoch };
  let recvset = me.recvset;
  if (n.electionEpoch === me.logicalclock) {
    recvset = withVote(recvset, from, vote);
    if (hasQuorumFor(cfg, recvset, vote) && checkLeader(sid, me.logicalclock, recvset, n.leader, n.electionEpoch)) {
      return decide(cfg, updateServer(s, sid, { recvset }), sid, endVote);
    }
  }
  const outofelection = withVote(me.outofelection, from, vote);
  const next = updateServer(s, sid, { recvset, outofelection });
  if (hasQuorumFor(cfg, outofelection, vote) && checkLeader(sid, me.logicalclock, outofelection, n.leader, n.electionEpoch)) {
    return decide(cfg, updateServer(next, sid, { logicalclock: n.electionEpoch }), sid, endVote);
  }
  return next;
}

/** WorkerReceiver: a LOOKING peer of a lower round is sent our proposal at once, so it catches up. */
function replyIfBehind(s: ClusterState, sid: Sid, from: Sid, n: Notification): ClusterState {
  const me = server(s, sid);
  if (n.state !== 'LOOKING' || n.electionEpoch >= me.logicalclock) return s;
  return reply(s, sid, from, { ...me.proposal, electionEpoch: me.logicalclock, state: 'LOOKING' });
}

/** A receive step of `sid` taking the notification from `from`. */
function received(kind: FleReceiveKind, sid: Sid, from: Sid, state: ClusterState): Step {
  return { action: { kind, sid, from }, state };
}

/** Every step a server can take with the notification at the head of the channel from→sid. */
function receive(cfg: Config, s0: ClusterState, sid: Sid, from: Sid): Step | null {
  const channel = electionChannel(s0, from, sid);
  const n = channel[0];
  if (n === undefined) return null;
  const me = server(s0, sid);
  if (!me.online) return null;
  const s = dropHead(s0, from, sid);

  // WorkerReceiver: a non-voter (an observer) is answered right away with our current vote, in any state.
  if (!isVoter(cfg, from)) {
    const v = me.currentVote;
    const answer: Notification = { leader: v.leader, zxid: v.zxid, peerEpoch: v.peerEpoch, electionEpoch: me.logicalclock, state: me.state };
    return received('FLEReplyToNonVoter', sid, from, reply(s, sid, from, answer));
  }

  if (me.state !== 'LOOKING') {
    // WorkerReceiver of a decided server: tell a LOOKING peer who leads; anything else is dropped.
    if (n.state !== 'LOOKING') return received('FLEDropNotification', sid, from, s);
    const v = me.currentVote;
    return received('FLEReplyToLooking', sid, from, reply(s, sid, from, { ...v, state: me.state }));
  }

  // LOOKING, but lookForLeader has not started yet: the notification waits in the queue.
  if (me.fle === 'idle') return null;

  const answered = replyIfBehind(s, sid, from, n);
  if (!isVoter(cfg, n.leader)) return received('FLEDropNotification', sid, from, answered);

  if (me.fle === 'finalizing') {
    // finalizeWait: only a better vote interrupts; anything else is taken off the queue and forgotten.
    if (!totalOrderPredicate(cfg, n, me.proposal)) return received('FLEFinalizeDiscard', sid, from, answered);
  }
  const voting = me.fle === 'finalizing' ? updateServer(answered, sid, { fle: 'voting' }) : answered;

  switch (n.state) {
    case 'LOOKING':
      if (n.electionEpoch > me.logicalclock) return received('FLEReceiveHigherRound', sid, from, receiveHigherRound(cfg, voting, sid, from, n));
      if (n.electionEpoch < me.logicalclock) return received('FLEReceiveLowerRound', sid, from, voting);
      return received('FLEReceiveSameRound', sid, from, receiveSameRound(cfg, voting, sid, from, n));
    case 'OBSERVING':
      return received('FLEDropNotification', sid, from, voting);
    case 'FOLLOWING':
    case 'LEADING':
      return received('FLEReceiveFromDecided', sid, from, receiveFromDecided(cfg, voting, sid, from, n));
  }
}

/** Every FastLeaderElection step enabled in `s`, in a fixed order: by server, then by peer. */
export function fleSteps(cfg: Config, s: ClusterState): Step[] {
  const steps: Step[] = [];
  if (cfg.granularity === 'coarse') return steps;
  for (const sid of cfg.sids) {
    const me = server(s, sid);
    if (!me.online) continue;
    if (me.state === 'LOOKING' && me.fle === 'idle') {
      steps.push({ action: { kind: 'FLEStartElection', sid }, state: startElection(cfg, s, sid) });
    }
    for (const from of cfg.sids) {
      const step = receive(cfg, s, sid, from);
      if (step !== null) steps.push(step);
    }
    if (me.fle === 'finalizing') {
      // finalizeWait expired without a better notification: decide on the proposal.
      steps.push({ action: { kind: 'FLEDecide', sid }, state: decide(cfg, s, sid, { ...me.proposal, electionEpoch: me.logicalclock }) });
    }
  }
  return steps;
}

function proposalOf(n: Notification): Proposal {
  return { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch };
}

function lookingVote(n: Notification): Vote {
  return { ...proposalOf(n), electionEpoch: n.electionEpoch, state: 'LOOKING' };
}

function withVote(votes: readonly (Vote | null)[], sid: Sid, vote: Vote): readonly (Vote | null)[] {
  const copy = votes.slice();
  copy[sid - 1] = vote;
  return copy;
}
