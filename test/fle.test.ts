// FastLeaderElection as stories: each test walks the cluster through the steps of lookForLeader.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../spec/config.ts';
import { totalOrderPredicate } from '../spec/fle/vote.ts';
import { buildSpec } from '../spec/index.ts';
import { makeZxid } from '../spec/types.ts';
import { runStory } from './support/story.ts';

const cfg = makeConfig({ nodes: 3, observers: 0, mutations: [], protocol: 'fle' });
const z = makeZxid;

describe('totalOrderPredicate: is the new vote better than the current one?', () => {
  // [new vote, current vote, better?] as (leader, zxid, peerEpoch)
  const cases: [string, [number, number, number], [number, number, number], boolean][] = [
    ['a higher peerEpoch wins over a longer log', [1, z(2, 0), 2], [3, z(1, 9), 1], true],
    ['a lower peerEpoch loses even with a longer log', [3, z(1, 9), 1], [1, z(2, 0), 2], false],
    ['same epoch: the higher zxid wins', [1, z(1, 2), 1], [3, z(1, 1), 1], true],
    ['same epoch and zxid: the higher sid wins', [3, z(1, 1), 1], [2, z(1, 1), 1], true],
    ['an identical vote is not better', [2, z(1, 1), 1], [2, z(1, 1), 1], false],
    ['a vote for a non-voter never wins', [9, z(5, 5), 5], [1, z(1, 1), 1], false],
    ['any real vote beats an observer\'s vote for nobody', [1, 0, 0], [-1, -1, -1], true],
  ];
  it.each(cases)('%s', (_name, [l1, z1, e1], [l2, z2, e2], better) => {
    expect(totalOrderPredicate(cfg, { leader: l1, zxid: z1, peerEpoch: e1 }, { leader: l2, zxid: z2, peerEpoch: e2 })).toBe(better);
  });
});

/** Servers 1 and 2 elect 1 (server 2 first switches to 1's longer log); server 3 has not started. */
const onePlusTwoElectOne = `
      1 FLEStartElection
      2 FLEStartElection
      2 <- 1 FLEReceiveSameRound
      2 <- 2 FLEReceiveSameRound
      2 <- 2 FLEReceiveSameRound
      2 FLEDecide
      1 <- 1 FLEReceiveSameRound
      1 <- 2 FLEReceiveSameRound
      1 <- 2 FLEReceiveSameRound
      1 FLEDecide`;

describe('lookForLeader', () => {
  it('a fresh ensemble elects the server with the longest log, not the highest sid', () => {
    const spec = buildSpec({ nodes: 3, observers: 0, mutations: [], protocol: 'fle' });
    const end = runStory(
      spec,
      `
      1 FLEStartElection
      2 FLEStartElection
      3 FLEStartElection
      check #1->2 = 1
      # server 2 hears server 1, whose log is longer: it switches its vote and tells every voter
      2 <- 1 FLEReceiveSameRound
      check 2.proposal.leader = 1
      check #2->3 = 2
      check 2.fle = voting
      # its own first notification (a vote for 2) is recorded but changes nothing
      2 <- 2 FLEReceiveSameRound
      check 2.recvset.2.leader = 2
      # its own second notification completes a quorum for server 1: finalizeWait begins
      2 <- 2 FLEReceiveSameRound
      check 2.fle = finalizing
      enabled 2 FLEDecide
      # during finalizeWait a worse vote (server 3 for itself) is taken and dropped
      2 <- 3 FLEFinalizeDiscard
      check 2.recvset.3 = undefined
      2 FLEDecide
      check 2.state = FOLLOWING
      check 2.currentVote.leader = 1
      # server 1 counts server 2's second vote and its own: a quorum for itself
      1 <- 2 FLEReceiveSameRound
      1 <- 1 FLEReceiveSameRound
      check 1.fle = voting
      1 <- 2 FLEReceiveSameRound
      check 1.fle = finalizing
      1 FLEDecide
      check 1.state = LEADING
      # server 3 switches to server 1 and decides too
      3 <- 1 FLEReceiveSameRound
      3 <- 3 FLEReceiveSameRound
      3 <- 3 FLEReceiveSameRound
      3 FLEDecide
      check 3.state = FOLLOWING
      check 3.currentVote.leader = 1
      `,
    );
    for (const p of spec.properties) {
      if (p.kind === 'invariant' && p.byDefault) expect(p.check(end), p.name).toBe(true);
    }
    expect(spec.properties.find((p) => p.name === 'leaderElected')!.check(end)).toBe(true);
  });

  it('a late server learns the leader from the answers of servers that decided', () => {
    const spec = buildSpec({ nodes: 3, observers: 0, mutations: [], protocol: 'fle' });
    runStory(
      spec,
      `
      ${onePlusTwoElectOne}
      check 1.state = LEADING
      # server 3 boots after the election: both decided servers answer it with their vote
      3 FLEStartElection
      1 <- 3 FLEReplyToLooking
      2 <- 3 FLEReplyToLooking
      # the notifications of round 1 from the election are still queued; 3 takes them first
      3 <- 1 FLEReceiveSameRound
      3 <- 2 FLEReceiveSameRound
      3 <- 2 FLEReceiveSameRound
      check 3.fle = finalizing
      # the leader's answer says LEADING: better? no (same vote), so finalizeWait drops it
      3 <- 1 FLEFinalizeDiscard
      3 FLEDecide
      check 3.state = FOLLOWING
      check 3.currentVote.leader = 1
      # server 2's answer arrives after 3 decided: between decided servers, notifications are dropped
      3 <- 2 FLEDropNotification
      `,
    );
  });

  it('a server of a lower round is answered at once and catches up to the higher round', () => {
    const initial = [0, 1, 1].map((logicalclock, i) => ({
      currentEpoch: 1,
      acceptedEpoch: 1,
      history: i === 0 ? [{ zxid: z(1, 1), value: 1 }, { zxid: z(1, 2), value: 2 }] : [{ zxid: z(1, 1), value: 1 }],
      snapshotIndex: 0,
      logicalclock,
    }));
    const spec = buildSpec({ nodes: 3, observers: 0, mutations: [], protocol: 'fle', initial });
    runStory(
      spec,
      `
      1 FLEStartElection
      2 FLEStartElection
      check 1.logicalclock = 1
      check 2.logicalclock = 2
      # server 2 ignores round 1 but WorkerReceiver sends server 1 its proposal of round 2
      2 <- 1 FLEReceiveLowerRound
      check 2.recvset.1 = undefined
      check #2->1 = 2
      # server 1 takes 2's first notification (round 2): new round, cleared recvset, but its own vote is better
      1 <- 2 FLEReceiveHigherRound
      check 1.logicalclock = 2
      check 1.proposal.leader = 1
      check 1.recvset.2.leader = 2
      check #1->3 = 2
      `,
    );
  });

  it('an observer never votes but learns the leader from the decided voters', () => {
    const spec = buildSpec({ nodes: 3, observers: 1, mutations: [], protocol: 'fle' });
    runStory(
      spec,
      `
      ${onePlusTwoElectOne}
      # the observer proposes nobody, and only to the voters (never to itself)
      4 FLEStartElection
      check 4.proposal.leader = -1
      check #4->4 = 0
      check #4->1 = 1
      1 <- 4 FLEReplyToNonVoter
      2 <- 4 FLEReplyToNonVoter
      4 <- 1 FLEReceiveFromDecided
      check 4.state = LOOKING
      4 <- 2 FLEReceiveFromDecided
      check 4.state = OBSERVING
      check 4.currentVote.leader = 1
      `,
    );
  });
});
