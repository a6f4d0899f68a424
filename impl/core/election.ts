// FastLeaderElection: lookForLeader and the WorkerReceiver, as one state machine driven by notifications and
// two timers. `notification` is the poll timeout of lookForLeader's receive loop (resend on expiry, doubling up
// to maxNotificationInterval); `finalize` is finalizeWait, armed once the proposal has a quorum.
import { broken } from './breaks.ts';
import type { QuorumPeer } from './peer.ts';
import { becomeLeader, leaderLoadData } from './leader.ts';
import { becomeLearner } from './learner.ts';
import type { Notification, Proposal, RecvVote, Sid, Vote } from './types.ts';

export interface ElectionState {
  logicalclock: number;
  proposal: Proposal;
  /** Votes of this round from LOOKING servers (and decided servers of the same round). */
  recvset: Map<Sid, RecvVote>;
  /** Votes of servers that already decided, any round. */
  outofelection: Map<Sid, RecvVote>;
  notTimeout: number;
  finalizing: boolean;
}

export function newElection(p: QuorumPeer): ElectionState {
  return { logicalclock: 0, proposal: initialProposal(p), recvset: new Map(), outofelection: new Map(), notTimeout: p.cfg.finalizeWait, finalizing: false };
}

/** getInitId / getInitLastLoggedZxid / getPeerEpoch: an observer proposes nobody (-1) so that any voter wins. */
function initialProposal(p: QuorumPeer): Proposal {
  if (p.learnerType === 'observer') return { leader: -1, zxid: -1, peerEpoch: -1 };
  return { leader: p.myid, zxid: p.lastLoggedZxid, peerEpoch: p.currentEpoch };
}

/** FastLeaderElection.totalOrderPredicate: higher epoch, then higher zxid, then higher sid; never a non-voter. */
export function totalOrderPredicate(p: QuorumPeer, n: Proposal, cur: Proposal): boolean {
  if (!p.isVoter(n.leader)) return false;
  if (broken('voteZxidBeforeEpoch')) return n.zxid > cur.zxid || (n.zxid === cur.zxid && (n.peerEpoch > cur.peerEpoch || (n.peerEpoch === cur.peerEpoch && n.leader > cur.leader)));
  if (broken('ignorePeerEpoch')) return n.zxid > cur.zxid || (n.zxid === cur.zxid && n.leader > cur.leader);
  return n.peerEpoch > cur.peerEpoch || (n.peerEpoch === cur.peerEpoch && (n.zxid > cur.zxid || (n.zxid === cur.zxid && n.leader > cur.leader)));
}

/** Vote.equals: while either side is LOOKING every field counts; between decided votes only leader and epoch. */
function sameVote(a: RecvVote, b: RecvVote): boolean {
  if (a.state === 'LOOKING' || b.state === 'LOOKING')
    return a.leader === b.leader && a.zxid === b.zxid && a.electionEpoch === b.electionEpoch && a.peerEpoch === b.peerEpoch;
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}

function hasQuorumFor(p: QuorumPeer, votes: ReadonlyMap<Sid, RecvVote>, vote: RecvVote): boolean {
  return p.isQuorum([...votes].filter(([, v]) => sameVote(v, vote)).map(([s]) => s));
}

/** checkLeader: follow someone else only if they said they are LEADING; lead only if the round is ours. */
function checkLeader(p: QuorumPeer, votes: ReadonlyMap<Sid, RecvVote>, leader: Sid, electionEpoch: number): boolean {
  if (leader !== p.myid) return votes.get(leader)?.state === 'LEADING';
  return p.fle.logicalclock === electionEpoch;
}

/** FLEStartElection: a new round, vote for ourselves (or, as an observer, for nobody), tell every voter. */
export function lookForLeader(p: QuorumPeer): void {
  p.electionTouched = true;
  const fle = p.fle;
  fle.logicalclock++;
  fle.recvset = new Map();
  fle.outofelection = new Map();
  fle.proposal = initialProposal(p);
  fle.notTimeout = p.cfg.finalizeWait;
  fle.finalizing = false;
  p.cancelTimer('finalize');
  sendNotifications(p);
  p.setTimer('notification', fle.notTimeout);
  p.emit('FLEStartElection');
}

function sendNotifications(p: QuorumPeer): void {
  for (const sid of p.voters()) {
    p.sendNotification(sid, { ...p.fle.proposal, electionEpoch: p.fle.logicalclock, state: 'LOOKING' });
  }
}

function updateProposal(p: QuorumPeer, v: Proposal): void {
  p.fle.proposal = { leader: v.leader, zxid: v.zxid, peerEpoch: v.peerEpoch };
}

/** The vote this server answers with: its proposal while LOOKING, else QuorumPeer.currentVote. */
function replyTo(p: QuorumPeer, to: Sid): void {
  if (p.state === 'LOOKING' || !p.currentVote) {
    p.sendNotification(to, { ...p.fle.proposal, electionEpoch: p.fle.logicalclock, state: p.state });
  } else {
    const v = p.currentVote;
    p.sendNotification(to, { leader: v.leader, zxid: v.zxid, peerEpoch: v.peerEpoch, electionEpoch: v.electionEpoch, state: p.state });
  }
}

/** WorkerReceiver, then (while LOOKING) one turn of lookForLeader's loop. */
export function receiveNotification(p: QuorumPeer, n: Notification): void {
  p.electionTouched = true;
  if (!p.isVoter(n.from)) {
    // WorkerReceiver answers a non-voter with QuorumPeer.getCurrentVote() (not the proposal of a running
    // election): before any election ends, the initial vote for itself.
    const v = p.currentVote ?? { leader: p.myid, zxid: p.lastLoggedZxid, peerEpoch: p.currentEpoch };
    p.sendNotification(n.from, { leader: v.leader, zxid: v.zxid, peerEpoch: v.peerEpoch, electionEpoch: p.fle.logicalclock, state: p.state });
    p.emit('FLEReplyToNonVoter', { recv: n });
    return;
  }
  if (p.state !== 'LOOKING') {
    if (n.state === 'LOOKING') {
      replyTo(p, n.from);
      p.emit('FLEReplyToLooking', { recv: n });
    } else {
      p.emit('FLEDropNotification', { recv: n });
    }
    return;
  }
  const fle = p.fle;
  // Any notification ends lookForLeader's poll: the resend timer starts over (its length keeps doubling).
  p.setTimer('notification', fle.notTimeout);
  if (fle.finalizing) {
    if (!totalOrderPredicate(p, n, fle.proposal)) {
      p.emit('FLEFinalizeDiscard', { recv: n });
      return;
    }
    // Something better arrived during finalizeWait: put it back and run the loop again.
    fle.finalizing = false;
    p.cancelTimer('finalize');
  }
  if (n.state === 'LOOKING') onLooking(p, n);
  else if (n.state === 'FOLLOWING' || n.state === 'LEADING') onDecided(p, n);
  else p.emit('FLEDropNotification', { recv: n });
}

function onLooking(p: QuorumPeer, n: Notification): void {
  const fle = p.fle;
  let action: string;
  if (n.electionEpoch > fle.logicalclock) {
    fle.logicalclock = n.electionEpoch;
    fle.recvset = new Map();
    updateProposal(p, totalOrderPredicate(p, n, initialProposal(p)) ? n : initialProposal(p));
    sendNotifications(p);
    action = 'FLEReceiveHigherRound';
  } else if (n.electionEpoch < fle.logicalclock) {
    // WorkerReceiver tells a LOOKING peer of a lower round what we propose; lookForLeader ignores the vote.
    replyTo(p, n.from);
    p.emit('FLEReceiveLowerRound', { recv: n });
    return;
  } else {
    if (totalOrderPredicate(p, n, fle.proposal)) {
      updateProposal(p, n);
      sendNotifications(p);
    }
    action = 'FLEReceiveSameRound';
  }
  fle.recvset.set(n.from, { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: 'LOOKING' });
  const mine: RecvVote = { ...fle.proposal, electionEpoch: fle.logicalclock, state: 'LOOKING' };
  if (hasQuorumFor(p, fle.recvset, mine) || (broken('decideWithoutQuorum') && [...fle.recvset.values()].some((v) => sameVote(v, mine)))) {
    fle.finalizing = true;
    p.setTimer('finalize', p.cfg.finalizeWait);
  }
  p.emit(action, { recv: n, params: fle.finalizing ? { finalizeWait: true } : {} });
}

/** receivedFollowingNotification / receivedLeadingNotification. */
function onDecided(p: QuorumPeer, n: Notification): void {
  const fle = p.fle;
  const vote: RecvVote = { leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, peerEpoch: n.peerEpoch, state: n.state };
  if (n.electionEpoch === fle.logicalclock) {
    fle.recvset.set(n.from, vote);
    if (hasQuorumFor(p, fle.recvset, vote) && checkLeader(p, fle.recvset, n.leader, n.electionEpoch)) {
      decide(p, vote, 'FLEReceiveFromDecided', n);
      return;
    }
  }
  fle.outofelection.set(n.from, vote);
  if (hasQuorumFor(p, fle.outofelection, vote) && checkLeader(p, fle.outofelection, n.leader, n.electionEpoch)) {
    fle.logicalclock = n.electionEpoch;
    decide(p, vote, 'FLEReceiveFromDecided', n);
    return;
  }
  p.emit('FLEReceiveFromDecided', { recv: n });
}

export function onElectionTimeout(p: QuorumPeer, timer: 'notification' | 'finalize'): void {
  p.electionTouched = true;
  if (p.state !== 'LOOKING') return;
  const fle = p.fle;
  if (timer === 'finalize') {
    if (!fle.finalizing) return;
    decide(p, { ...fle.proposal, electionEpoch: fle.logicalclock }, 'FLEDecide');
    return;
  }
  // Nothing heard for notTimeout: send our vote again (QuorumCnxManager reconnects as needed) and back off.
  sendNotifications(p);
  fle.notTimeout = Math.min(fle.notTimeout * 2, p.cfg.maxNotificationInterval);
  p.setTimer('notification', fle.notTimeout);
  p.emit('FLENotificationTimeout', { params: { notTimeout: fle.notTimeout } });
}

/** setPeerState + leaveInstance, then QuorumPeer's main loop starts the role. */
function decide(p: QuorumPeer, v: Vote, action: string, recv?: Notification): void {
  p.fle.finalizing = false;
  p.cancelTimer('finalize');
  p.cancelTimer('notification');
  p.currentVote = { leader: v.leader, zxid: v.zxid, electionEpoch: v.electionEpoch, peerEpoch: v.peerEpoch };
  p.state = v.leader === p.myid ? 'LEADING' : p.learnerType === 'participant' ? 'FOLLOWING' : 'OBSERVING';
  if (p.state === 'LEADING') leaderLoadData(p);
  p.emit(action, { ...(recv ? { recv } : {}), params: { decided: p.state, leader: v.leader } });
  if (p.state === 'LEADING') becomeLeader(p);
  else becomeLearner(p, v.leader);
}
