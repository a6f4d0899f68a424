// Every ZAB step enabled in a state: who can take the next packet of which connection, and what it does with
// it (LearnerHandler.run on the leader's side, Learner.syncWithLeader / Follower.processPacket on the learner's).
import { match } from 'ts-pattern';
import type { Config } from '../config.ts';
import type { ClusterState } from '../state.ts';
import { quorumChannel, server } from '../state.ts';
import type { Sid } from '../types.ts';
import { connectionLost, crash, learnerTimeout, leaderStepDown, restart } from '../faults.ts';
import { followerCommitProcessor, followerFlushLog, followerProcessCOMMIT, followerProcessPROPOSAL, leaderProcessACK, leaderProcessRequest, observerProcessINFORM } from './broadcast.ts';
import { leaderProcessACKEPOCH, leaderProcessFOLLOWERINFO, learnerConnect, learnerProcessLEADERINFO } from './discovery.ts';
import type { QuorumPacket } from './packets.ts';
import {
  leaderProcessACKNEWLEADER,
  leaderSyncFollower,
  learnerFinishNEWLEADER,
  learnerProcessCOMMITInSync,
  learnerProcessINFORMInSync,
  learnerProcessNEWLEADER,
  learnerProcessPROPOSALInSync,
  learnerProcessSyncOp,
  learnerProcessUPTODATE,
} from './sync.ts';

/** Steps that consume a packet from the quorum connection of peer `from`. */
export const ZAB_RECEIVE_KINDS = [
  'LeaderProcessFOLLOWERINFO',
  'LearnerProcessLEADERINFO',
  'LeaderProcessACKEPOCH',
  'LearnerProcessDIFF',
  'LearnerProcessTRUNC',
  'LearnerProcessSNAP',
  'LearnerProcessPROPOSALInSync',
  'LearnerProcessCOMMITInSync',
  'LearnerProcessINFORMInSync',
  'LearnerProcessNEWLEADER',
  'LeaderProcessACKNEWLEADER',
  'LearnerProcessUPTODATE',
  'FollowerProcessPROPOSAL',
  'LeaderProcessACK',
  'FollowerProcessCOMMIT',
  'ObserverProcessINFORM',
] as const;
export type ZabReceiveKind = (typeof ZAB_RECEIVE_KINDS)[number];

/** Steps of one server on its own, or with a peer that is not a message sender. */
export const ZAB_LOCAL_KINDS = ['LearnerConnect', 'LeaderProcessRequest', 'FollowerFlushLog', 'LearnerTimeout', 'LeaderStepDown', 'Crash', 'Restart'] as const;
export const ZAB_PEER_KINDS = ['LeaderSyncFollower', 'ConnectionLost'] as const;
/** Steps that exist only in some variants (spec/variants.ts): the second half of NEWLEADER, the CommitProcessor. */
export const VARIANT_LOCAL_KINDS = ['LearnerFinishNEWLEADER', 'FollowerCommitProcessor'] as const;

export type ZabAction =
  | { readonly kind: ZabReceiveKind; readonly sid: Sid; readonly from: Sid }
  | { readonly kind: (typeof ZAB_LOCAL_KINDS)[number] | (typeof VARIANT_LOCAL_KINDS)[number]; readonly sid: Sid }
  | { readonly kind: (typeof ZAB_PEER_KINDS)[number]; readonly sid: Sid; readonly peer: Sid };

type Step = { readonly action: ZabAction; readonly state: ClusterState };

/** What server `sid` does with the packet at the head of the connection from `from`, if it can take it. */
function receive(cfg: Config, s: ClusterState, sid: Sid, from: Sid): Step | null {
  const p: QuorumPacket | undefined = quorumChannel(s, from, sid)[0];
  const me = server(s, sid);
  if (p === undefined || !me.online) return null;
  const step = (kind: ZabReceiveKind, state: ClusterState | null): Step | null => (state === null ? null : { action: { kind, sid, from }, state });

  if (me.leader !== null && me.leader.learners.includes(from)) {
    return match(p)
      .with({ type: 'FOLLOWERINFO' }, { type: 'OBSERVERINFO' }, (q) => step('LeaderProcessFOLLOWERINFO', leaderProcessFOLLOWERINFO(cfg, s, sid, from, q)))
      .with({ type: 'ACKEPOCH' }, (q) => step('LeaderProcessACKEPOCH', leaderProcessACKEPOCH(cfg, s, sid, from, q)))
      .with({ type: 'ACK' }, (q) =>
        me.leader!.awaitingNewLeaderAck.includes(from)
          ? step('LeaderProcessACKNEWLEADER', leaderProcessACKNEWLEADER(cfg, s, sid, from, q.zxid))
          : step('LeaderProcessACK', leaderProcessACK(cfg, s, sid, from, q.zxid)),
      )
      .otherwise(() => null);
  }
  if (me.learner !== null && me.learner.leader === from) {
    // Variants 4643/4685: the learner thread is still inside the NEWLEADER handler.
    if (me.learner.newLeaderAckDue !== null) return null;
    const inSync = me.zabState === 'SYNCHRONIZATION';
    return match(p)
      .with({ type: 'LEADERINFO' }, (q) => step('LearnerProcessLEADERINFO', learnerProcessLEADERINFO(cfg, s, sid, from, q)))
      .with({ type: 'DIFF' }, (q) => step('LearnerProcessDIFF', learnerProcessSyncOp(cfg, s, sid, from, q)))
      .with({ type: 'TRUNC' }, (q) => step('LearnerProcessTRUNC', learnerProcessSyncOp(cfg, s, sid, from, q)))
      .with({ type: 'SNAP' }, (q) => step('LearnerProcessSNAP', learnerProcessSyncOp(cfg, s, sid, from, q)))
      .with({ type: 'PROPOSAL' }, (q) =>
        inSync
          ? step('LearnerProcessPROPOSALInSync', learnerProcessPROPOSALInSync(s, sid, from, q.txn))
          : step('FollowerProcessPROPOSAL', followerProcessPROPOSAL(cfg, s, sid, from, q.txn)),
      )
      .with({ type: 'COMMIT' }, (q) =>
        inSync
          ? step('LearnerProcessCOMMITInSync', learnerProcessCOMMITInSync(cfg, s, sid, from, q.zxid))
          : step('FollowerProcessCOMMIT', followerProcessCOMMIT(cfg, s, sid, from, q.zxid)),
      )
      .with({ type: 'INFORM' }, (q) =>
        inSync
          ? step('LearnerProcessINFORMInSync', learnerProcessINFORMInSync(s, sid, from, q.txn))
          : step('ObserverProcessINFORM', observerProcessINFORM(s, sid, from, q.txn)),
      )
      .with({ type: 'NEWLEADER' }, (q) => step('LearnerProcessNEWLEADER', learnerProcessNEWLEADER(cfg, s, sid, from, q.zxid)))
      .with({ type: 'UPTODATE' }, () => step('LearnerProcessUPTODATE', learnerProcessUPTODATE(cfg, s, sid, from)))
      .otherwise(() => null);
  }
  return null;
}

/** Every ZAB and fault step enabled in `s`, in a fixed order: by server, then by peer. */
export function zabSteps(cfg: Config, s: ClusterState): Step[] {
  const steps: Step[] = [];
  const local = (kind: (typeof ZAB_LOCAL_KINDS)[number] | (typeof VARIANT_LOCAL_KINDS)[number], sid: Sid, state: ClusterState | null) => {
    if (state !== null) steps.push({ action: { kind, sid }, state });
  };
  const withPeer = (kind: (typeof ZAB_PEER_KINDS)[number], sid: Sid, peer: Sid, state: ClusterState | null) => {
    if (state !== null) steps.push({ action: { kind, sid, peer }, state });
  };
  for (const sid of cfg.sids) {
    const me = server(s, sid);
    if (me.online) {
      if (cfg.granularity === 'fine') local('LearnerConnect', sid, learnerConnect(cfg, s, sid));
      for (const peer of cfg.sids) withPeer('LeaderSyncFollower', sid, peer, leaderSyncFollower(cfg, s, sid, peer));
      local('LeaderProcessRequest', sid, leaderProcessRequest(cfg, s, sid));
      local('FollowerFlushLog', sid, followerFlushLog(cfg, s, sid));
      if (cfg.variant !== null) {
        local('LearnerFinishNEWLEADER', sid, learnerFinishNEWLEADER(cfg, s, sid));
        local('FollowerCommitProcessor', sid, followerCommitProcessor(cfg, s, sid));
      }
      for (const from of cfg.sids) {
        const step = receive(cfg, s, sid, from);
        if (step !== null) steps.push(step);
      }
      local('LearnerTimeout', sid, learnerTimeout(cfg, s, sid));
      local('LeaderStepDown', sid, leaderStepDown(cfg, s, sid));
      for (const peer of cfg.sids) withPeer('ConnectionLost', sid, peer, connectionLost(cfg, s, sid, peer));
      local('Crash', sid, crash(cfg, s, sid));
    } else {
      local('Restart', sid, restart(cfg, s, sid));
    }
  }
  return steps;
}
