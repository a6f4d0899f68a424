// ZAB as stories: discovery, the three ways to synchronize a learner, broadcast, recovery from a crash, and a
// leader that loses its quorum. The cluster starts from the `broadcast` initial state: it was serving in epoch 1,
// 0x100000001 is committed on servers 1 and 2, server 1 alone logged 0x100000002, server 3 has nothing.
import { describe, expect, it } from 'vitest';
import type { SpecOptions } from '../spec/index.ts';
import { buildSpec } from '../spec/index.ts';
import { runStory } from './support/story.ts';

const coarse = (extra: Partial<SpecOptions> = {}) =>
  buildSpec({ nodes: 3, observers: 0, mutations: [], protocol: 'zab', granularity: 'coarse', initial: 'broadcast', txns: 1, crashes: 1, partitions: 2, ...extra });

function holdsEverywhere(spec: ReturnType<typeof coarse>, state: Parameters<ReturnType<typeof coarse>['next']>[0]) {
  for (const p of spec.properties) {
    if (p.kind === 'invariant' && p.byDefault) expect(p.check(state), `${p.name}: ${p.explain?.(state) ?? ''}`).toBe(true);
  }
}

describe('synchronization', () => {
  it('a learner whose last zxid is in the leader\'s committedLog gets DIFF and the txns it lacks', () => {
    const spec = coarse();
    const end = runStory(
      spec,
      `
      # server 1 has the longest log, so servers 1 and 2 elect it; epoch 2 is one above every acceptedEpoch
      1 ElectAndDiscover [1,2]
      check 1.state = LEADING
      check 1.acceptedEpoch = 2
      check 1.currentEpoch = 2
      check 2.acceptedEpoch = 2
      check 2.currentEpoch = 1
      1 LeaderSyncFollower -> 2
      check %1->2 = DIFF,PROPOSAL,COMMIT,NEWLEADER
      2 <- 1 LearnerProcessDIFF
      2 <- 1 LearnerProcessPROPOSALInSync
      2 <- 1 LearnerProcessCOMMITInSync
      check 2.learner.packetsCommitted.0 = 0x100000002
      # NEWLEADER: the committed packets reach the log and currentEpoch is written before the ACK
      2 <- 1 LearnerProcessNEWLEADER
      check 2.history = 0x100000001=1,0x100000002=2
      check 2.currentEpoch = 2
      check %2->1 = ACK
      1 <- 2 LeaderProcessACKNEWLEADER
      check 1.zabState = BROADCAST
      check 1.delivered = 0x100000001=1,0x100000002=2
      2 <- 1 LearnerProcessUPTODATE
      check 2.zabState = BROADCAST
      check 2.delivered = 0x100000001=1,0x100000002=2
      `,
    );
    holdsEverywhere(spec, end);
  });

  it('the committedLog keeps the last commitLogCount txns: a learner behind them gets SNAP, not DIFF', () => {
    // The story above with a window of one txn: learner 2 lacks 0x100000002, the only txn the leader keeps.
    const spec = coarse({ commitLogCount: 1 });
    const end = runStory(
      spec,
      `
      1 ElectAndDiscover [1,2]
      1 LeaderSyncFollower -> 2
      check %1->2 = SNAP,NEWLEADER
      2 <- 1 LearnerProcessSNAP
      2 <- 1 LearnerProcessNEWLEADER
      check 2.history = 0x100000001=1,0x100000002=2
      `,
    );
    holdsEverywhere(spec, end);
    expect(() => coarse({ commitLogCount: 0 })).toThrow(/commitLogCount must be a positive integer/);
  });

  it('a former leader with a txn nobody else logged gets TRUNC, and an empty learner gets SNAP', () => {
    const spec = coarse();
    const end = runStory(
      spec,
      `
      # servers 2 and 3 elect 2 (server 1 is slow to notice): 0x100000002 was never committed
      2 ElectAndDiscover [2,3]
      1 LearnerJoin -> 2
      check 1.acceptedEpoch = 2
      2 LeaderSyncFollower -> 1
      check %2->1 = TRUNC,NEWLEADER
      1 <- 2 LearnerProcessTRUNC
      check 1.history = 0x100000001=1
      1 <- 2 LearnerProcessNEWLEADER
      # server 3 is behind the committedLog: it gets the leader's data tree
      2 LeaderSyncFollower -> 3
      check %2->3 = SNAP,NEWLEADER
      3 <- 2 LearnerProcessSNAP
      # the leader's data tree is in memory only, and not served before UPTODATE
      check 3.history = []
      check 3.learner.syncTree = 0x100000001=1
      check 3.delivered = []
      # the snapshot reaches the disk at NEWLEADER
      3 <- 2 LearnerProcessNEWLEADER
      check 3.history = 0x100000001=1
      check 3.snapshotIndex = 1
      2 <- 1 LeaderProcessACKNEWLEADER
      check 2.zabState = BROADCAST
      2 <- 3 LeaderProcessACKNEWLEADER
      1 <- 2 LearnerProcessUPTODATE
      3 <- 2 LearnerProcessUPTODATE
      check 1.delivered = 0x100000001=1
      check 3.delivered = 0x100000001=1
      `,
    );
    holdsEverywhere(spec, end);
  });

  it('a leader serving an epoch it has applied no txn of, with an empty committedLog, sends a SNAP even to an empty learner', () => {
    // LearnerHandler.syncFollower compares the learner's last zxid with lastProcessedZxid, which startZkServer
    // sets to epoch << 32: before the leader serves, the same learner gets an empty DIFF.
    const spec = coarse({ initial: 'empty' });
    const end = runStory(
      spec,
      `
      3 ElectAndDiscover [2,3]
      3 LeaderSyncFollower -> 2
      check %3->2 = DIFF,NEWLEADER
      2 <- 3 LearnerProcessDIFF
      2 <- 3 LearnerProcessNEWLEADER
      3 <- 2 LeaderProcessACKNEWLEADER
      check 3.zabState = BROADCAST
      2 <- 3 LearnerProcessUPTODATE
      1 LearnerJoin -> 3
      3 LeaderSyncFollower -> 1
      check %3->1 = SNAP,NEWLEADER
      1 <- 3 LearnerProcessSNAP
      1 <- 3 LearnerProcessNEWLEADER
      3 <- 1 LeaderProcessACKNEWLEADER
      1 <- 3 LearnerProcessUPTODATE
      check 1.zabState = BROADCAST
      `,
    );
    holdsEverywhere(spec, end);
  });

  it('a learner joins on the election\'s notifications (joinVotes election) while the leader serves and its follower is not UPTODATE', () => {
    // The leader's vote takes the new epoch at startZkServer, the follower's only at UPTODATE: their current votes
    // differ, the notifications they sent in the election do not.
    const story = `
      3 ElectAndDiscover [2,3]
      3 LeaderSyncFollower -> 2
      2 <- 3 LearnerProcessDIFF
      2 <- 3 LearnerProcessNEWLEADER
      3 <- 2 LeaderProcessACKNEWLEADER
      check 3.zabState = BROADCAST
      1 LearnerJoin -> 3
      check 1.state = FOLLOWING
      `;
    expect(() => runStory(coarse({ initial: 'empty' }), story)).toThrow(/LearnerJoin/);
    const spec = coarse({ initial: 'empty', joinVotes: 'election' });
    holdsEverywhere(spec, runStory(spec, story));
  });
});

describe('broadcast and recovery', () => {
  const established = `
      1 ElectAndDiscover [1,2]
      1 LeaderSyncFollower -> 2
      2 <- 1 LearnerProcessDIFF
      2 <- 1 LearnerProcessPROPOSALInSync
      2 <- 1 LearnerProcessCOMMITInSync
      2 <- 1 LearnerProcessNEWLEADER
      1 <- 2 LeaderProcessACKNEWLEADER
      2 <- 1 LearnerProcessUPTODATE
  `;

  it('a write is proposed, logged and ACKed by a quorum, then committed in order everywhere', () => {
    const spec = coarse();
    const end = runStory(
      spec,
      `${established}
      1 LeaderProcessRequest
      check 1.history.2 = 0x200000001=3
      check %1->2 = PROPOSAL
      # not committed: only the leader has ACKed
      check 1.delivered = 0x100000001=1,0x100000002=2
      2 <- 1 FollowerProcessPROPOSAL
      check 2.history.2 = 0x200000001=3
      1 <- 2 LeaderProcessACK
      check 1.delivered.2 = 0x200000001=3
      check %1->2 = COMMIT
      2 <- 1 FollowerProcessCOMMIT
      check 2.delivered.2 = 0x200000001=3
      disabled 1 LeaderProcessRequest
      `,
    );
    holdsEverywhere(spec, end);
  });

  it('after the leader crashes, the others elect a new leader in a later epoch that keeps every committed txn', () => {
    const spec = coarse();
    const end = runStory(
      spec,
      `${established}
      1 LeaderProcessRequest
      2 <- 1 FollowerProcessPROPOSAL
      1 <- 2 LeaderProcessACK
      1 Crash
      check 1.online = false
      # the follower saw its connection close and is looking again
      check 2.state = LOOKING
      check %1->2 = 0
      2 ElectAndDiscover [2,3]
      check 2.currentEpoch = 3
      check 2.history.2 = 0x200000001=3
      2 LeaderSyncFollower -> 3
      3 <- 2 LearnerProcessSNAP
      3 <- 2 LearnerProcessNEWLEADER
      2 <- 3 LeaderProcessACKNEWLEADER
      check 2.zabState = BROADCAST
      3 <- 2 LearnerProcessUPTODATE
      1 Restart
      check 1.state = LOOKING
      1 LearnerJoin -> 2
      2 LeaderSyncFollower -> 1
      1 <- 2 LearnerProcessDIFF
      `,
    );
    holdsEverywhere(spec, end);
    expect(spec.properties.find((p) => p.name === 'newLeaderAfterCrash')!.check(end)).toBe(true);
  });

  it('a follower that closes its connection leaves its ACKs readable: the leader counts them until it closes its end (LearnerHandler reads to the end of the stream)', () => {
    const spec = coarse();
    const end = runStory(
      spec,
      `${established}
      1 LeaderProcessRequest
      2 <- 1 FollowerProcessPROPOSAL
      check %2->1 = ACK
      1 ConnectionLost -> 2
      check 2.state = LOOKING
      # the follower's socket is gone with what it had not read; its ACK is in the leader's socket buffer
      check %1->2 = 0
      check %2->1 = ACK
      check 1.delivered = 0x100000001=1,0x100000002=2
      1 <- 2 LeaderProcessACK
      check 1.delivered.2 = 0x200000001=3
      # no COMMIT goes to the closed connection
      check %1->2 = 0
      1 LeaderStepDown
      check 1.state = LOOKING
      `,
    );
    holdsEverywhere(spec, end);
    // The leader may also close its end first: the ACK goes with its socket, unread.
    const other = runStory(
      spec,
      `${established}
      1 LeaderProcessRequest
      2 <- 1 FollowerProcessPROPOSAL
      1 ConnectionLost -> 2
      1 LeaderStepDown
      check %2->1 = 0
      check 1.history.2 = 0x200000001=3
      `,
    );
    holdsEverywhere(spec, other);
  });

  it('a leader that loses its quorum steps down, and not before', () => {
    const spec = coarse();
    const end = runStory(
      spec,
      `${established}
      3 LearnerJoin -> 1
      1 LeaderSyncFollower -> 3
      3 <- 1 LearnerProcessSNAP
      3 <- 1 LearnerProcessNEWLEADER
      1 <- 3 LeaderProcessACKNEWLEADER
      1 ConnectionLost -> 3
      check 3.state = LOOKING
      # servers 1 and 2 are still a quorum
      disabled 1 LeaderStepDown
      1 ConnectionLost -> 2
      check 2.state = LOOKING
      enabled 1 LeaderStepDown
      1 LeaderStepDown
      check 1.state = LOOKING
      check 1.zabState = ELECTION
      `,
    );
    holdsEverywhere(spec, end);
  });
});

describe('discovery, fine-grained', () => {
  it('learners send FOLLOWERINFO, the leader fixes the epoch on a quorum, a learner with a higher acceptedEpoch gives up', () => {
    const history = (n: number) => Array.from({ length: n }, (_, i) => ({ zxid: 2 ** 32 + i + 1, value: i + 1 }));
    const initial = [
      { currentEpoch: 1, acceptedEpoch: 1, history: history(2), snapshotIndex: 0, logicalclock: 0 },
      { currentEpoch: 1, acceptedEpoch: 1, history: history(1), snapshotIndex: 0, logicalclock: 0 },
      // server 3 once accepted epoch 3 from a leader that never got going
      { currentEpoch: 1, acceptedEpoch: 3, history: history(1), snapshotIndex: 0, logicalclock: 0 },
    ];
    const spec = buildSpec({ nodes: 3, observers: 0, mutations: [], protocol: 'zab', granularity: 'fine', initial, txns: 0, crashes: 0, partitions: 0, maxEpoch: 4 });
    runStory(
      spec,
      `
      1 FLEStartElection
      2 FLEStartElection
      3 FLEStartElection
      2 <- 1 FLEReceiveSameRound
      2 <- 2 FLEReceiveSameRound
      2 <- 2 FLEReceiveSameRound
      2 FLEDecide
      check 2.zabState = DISCOVERY
      1 <- 2 FLEReceiveSameRound
      1 <- 1 FLEReceiveSameRound
      1 <- 2 FLEReceiveSameRound
      1 FLEDecide
      check 1.state = LEADING
      3 <- 1 FLEReceiveSameRound
      3 <- 3 FLEReceiveSameRound
      3 <- 3 FLEReceiveSameRound
      3 FLEDecide
      2 LearnerConnect
      check %2->1 = FOLLOWERINFO
      # servers 1 and 2 are a quorum: epoch 2 = acceptedEpoch 1 + 1, written to the leader's acceptedEpoch
      1 <- 2 LeaderProcessFOLLOWERINFO
      check 1.acceptedEpoch = 2
      check %1->2 = LEADERINFO
      3 LearnerConnect
      1 <- 3 LeaderProcessFOLLOWERINFO
      check %1->3 = LEADERINFO
      # epoch 2 is below the 3 server 3 accepted: it refuses and looks for another leader
      3 <- 1 LearnerProcessLEADERINFO
      check 3.state = LOOKING
      check 3.acceptedEpoch = 3
      2 <- 1 LearnerProcessLEADERINFO
      check 2.acceptedEpoch = 2
      check %2->1 = ACKEPOCH
      1 <- 2 LeaderProcessACKEPOCH
      check 1.zabState = SYNCHRONIZATION
      check 1.currentEpoch = 2
      1 LeaderSyncFollower -> 2
      `,
    );
  });

  it('a learner cut off on its way to a leader that leads times out and looks again, a fault the partition budget pays for', () => {
    // server 3 logged one txn the others lack, so every vote goes to it
    const initial = [0, 0, 1].map((n) => ({ currentEpoch: 1, acceptedEpoch: 1, history: n ? [{ zxid: 2 ** 32 + 1, value: 1 }] : [], snapshotIndex: 0, logicalclock: 0 }));
    const elect = `
      1 FLEStartElection
      3 FLEStartElection
      1 <- 3 FLEReceiveSameRound
      1 <- 1 FLEReceiveSameRound
      1 <- 1 FLEReceiveSameRound
      1 FLEDecide
      check 1.state = FOLLOWING
      3 <- 1 FLEReceiveSameRound
      3 <- 3 FLEReceiveSameRound
      3 <- 1 FLEReceiveSameRound
      3 FLEDecide
      check 3.state = LEADING
      check 1.learner.connected = false
      `;
    const options = { nodes: 3, observers: 0, mutations: [], protocol: 'zab', granularity: 'fine', initial, txns: 0, crashes: 0, maxEpoch: 2 } as const;
    // no partition to spend: the leader is up and leading, so the learner's connection succeeds in the end
    runStory(buildSpec({ ...options, partitions: 0 }), `${elect}\n      disabled 1 LearnerTimeout`);
    // Learner.connectToLeader gives up after initLimit when the connection is lost on the way (the simulator's seed 4)
    runStory(
      buildSpec({ ...options, partitions: 1 }),
      `${elect}
      1 LearnerTimeout
      check 1.state = LOOKING
      disabled 2 LearnerTimeout
      `,
    );
  });
});
