// Every ZAB step enabled in a state: who can take the next packet of which connection, and what it does with
// it (LearnerHandler.run on the leader's side, Learner.syncWithLeader / Follower.processPacket on the learner's).
import type { Config } from '../config.ts';
import type { ClusterState } from '../state.ts';
import { quorumChannel, server } from '../state.ts';
import type { Sid } from '../types.ts';
import { connectionLost, crash, learnerTimeout, leaderStepDown, restart } from '../faults.ts';
import { followerCommitProcessor, followerFlushLog, followerProcessCOMMIT, followerProcessPROPOSAL, leaderApplyCommitted, leaderFlushLog, leaderProcessACK, leaderProcessRequest, observerProcessINFORM } from './broadcast.ts';
import { leaderProcessACKEPOCH, leaderProcessFOLLOWERINFO, learnerConnect, learnerProcessLEADERINFO } from './discovery.ts';
import type { QuorumPacket } from './packets.ts';
import { hasVariantStep } from '../seams.ts';
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
/** Steps that exist only in some variants (the seam steps of spec/seams.ts): the second half of NEWLEADER, the CommitProcessor. */
export const VARIANT_LOCAL_KINDS = ['LearnerFinishNEWLEADER', 'FollowerCommitProcessor'] as const;
/** The step that exists only with leaderLog 'queued': the leader's own fsync and ACK. */
export const LEADER_LOG_KIND = 'LeaderFlushLog';
/** The step that exists only with leaderApply 'queued': the leader applies a committed txn. */
export const LEADER_APPLY_KIND = 'LeaderApplyCommitted';

export type ZabAction =
  | { readonly kind: ZabReceiveKind; readonly sid: Sid; readonly from: Sid }
  | { readonly kind: LocalKind; readonly sid: Sid }
  | { readonly kind: (typeof ZAB_PEER_KINDS)[number]; readonly sid: Sid; readonly peer: Sid };

type Step = { readonly action: ZabAction; readonly state: ClusterState };

/** A receive step, or null when the handler refuses the packet. */
function received(kind: ZabReceiveKind, sid: Sid, from: Sid, state: ClusterState | null): Step | null {
  return state === null ? null : { action: { kind, sid, from }, state };
}

/**
 * Every packet type is named in receive's switches (a new one does not typecheck until it is); a packet of no
 * known type (only a spec being edited puts one in flight) is left where it is, for wellFormed to report.
 */
function unknownPacket(p: never): null {
  void p;
  return null;
}

/** What server `sid` does with the packet at the head of the connection from `from`, if it can take it. */
function receive(cfg: Config, s: ClusterState, sid: Sid, from: Sid): Step | null {
  const p: QuorumPacket | undefined = quorumChannel(s, from, sid)[0];
  const me = server(s, sid);
  if (p === undefined || !me.online) return null;

  if (me.leader !== null && me.leader.learners.includes(from)) {
    switch (p.type) {
      case 'FOLLOWERINFO':
      case 'OBSERVERINFO':
        return received('LeaderProcessFOLLOWERINFO', sid, from, leaderProcessFOLLOWERINFO(cfg, s, sid, from, p));
      case 'ACKEPOCH':
        return received('LeaderProcessACKEPOCH', sid, from, leaderProcessACKEPOCH(cfg, s, sid, from, p));
      case 'ACK':
        return me.leader.awaitingNewLeaderAck.includes(from)
          ? received('LeaderProcessACKNEWLEADER', sid, from, leaderProcessACKNEWLEADER(cfg, s, sid, from, p.zxid))
          : received('LeaderProcessACK', sid, from, leaderProcessACK(cfg, s, sid, from, p.zxid));
      case 'LEADERINFO':
      case 'DIFF':
      case 'TRUNC':
      case 'SNAP':
      case 'PROPOSAL':
      case 'COMMIT':
      case 'INFORM':
      case 'NEWLEADER':
      case 'UPTODATE':
        return null; // a leader's packets: a learner never sends them
      default:
        return unknownPacket(p);
    }
  }
  if (me.leader !== null && p.type === 'ACK') {
    // The ACKs a learner sent before it closed its end, still in the leader's socket (learnerClosesConnection).
    return received('LeaderProcessACK', sid, from, leaderProcessACK(cfg, s, sid, from, p.zxid));
  }
  if (me.learner !== null && me.learner.leader === from) {
    // Variants 4643/4685: the learner thread is still inside the NEWLEADER handler.
    if (me.learner.newLeaderAckDue !== null) return null;
    const inSync = me.zabState === 'SYNCHRONIZATION';
    switch (p.type) {
      case 'LEADERINFO':
        return received('LearnerProcessLEADERINFO', sid, from, learnerProcessLEADERINFO(cfg, s, sid, from, p));
      case 'DIFF':
        return received('LearnerProcessDIFF', sid, from, learnerProcessSyncOp(cfg, s, sid, from, p));
      case 'TRUNC':
        return received('LearnerProcessTRUNC', sid, from, learnerProcessSyncOp(cfg, s, sid, from, p));
      case 'SNAP':
        return received('LearnerProcessSNAP', sid, from, learnerProcessSyncOp(cfg, s, sid, from, p));
      case 'PROPOSAL':
        return inSync
          ? received('LearnerProcessPROPOSALInSync', sid, from, learnerProcessPROPOSALInSync(s, sid, from, p.txn))
          : received('FollowerProcessPROPOSAL', sid, from, followerProcessPROPOSAL(cfg, s, sid, from, p.txn));
      case 'COMMIT':
        return inSync
          ? received('LearnerProcessCOMMITInSync', sid, from, learnerProcessCOMMITInSync(cfg, s, sid, from, p.zxid))
          : received('FollowerProcessCOMMIT', sid, from, followerProcessCOMMIT(cfg, s, sid, from, p.zxid));
      case 'INFORM':
        return inSync
          ? received('LearnerProcessINFORMInSync', sid, from, learnerProcessINFORMInSync(s, sid, from, p.txn))
          : received('ObserverProcessINFORM', sid, from, observerProcessINFORM(s, sid, from, p.txn));
      case 'NEWLEADER':
        return received('LearnerProcessNEWLEADER', sid, from, learnerProcessNEWLEADER(cfg, s, sid, from, p.zxid));
      case 'UPTODATE':
        return received('LearnerProcessUPTODATE', sid, from, learnerProcessUPTODATE(cfg, s, sid, from));
      case 'FOLLOWERINFO':
      case 'OBSERVERINFO':
      case 'ACKEPOCH':
      case 'ACK':
        return null; // a learner's packets: a leader never sends them
      default:
        return unknownPacket(p);
    }
  }
  return null;
}

type LocalKind = (typeof ZAB_LOCAL_KINDS)[number] | (typeof VARIANT_LOCAL_KINDS)[number] | typeof LEADER_LOG_KIND | typeof LEADER_APPLY_KIND;

/** Record a step of one server on its own, if it is enabled (its successor is not null). */
function local(steps: Step[], kind: LocalKind, sid: Sid, state: ClusterState | null): void {
  if (state !== null) steps.push({ action: { kind, sid }, state });
}

/** Record a step of a server with a peer, if it is enabled. */
function withPeer(steps: Step[], kind: (typeof ZAB_PEER_KINDS)[number], sid: Sid, peer: Sid, state: ClusterState | null): void {
  if (state !== null) steps.push({ action: { kind, sid, peer }, state });
}

/** Every ZAB and fault step enabled in `s`, in a fixed order: by server, then by peer. */
export function zabSteps(cfg: Config, s: ClusterState): Step[] {
  const steps: Step[] = [];
  for (const sid of cfg.sids) {
    const me = server(s, sid);
    if (me.online) {
      if (cfg.granularity === 'fine') local(steps, 'LearnerConnect', sid, learnerConnect(cfg, s, sid));
      for (const peer of cfg.sids) withPeer(steps, 'LeaderSyncFollower', sid, peer, leaderSyncFollower(cfg, s, sid, peer));
      local(steps, 'LeaderProcessRequest', sid, leaderProcessRequest(cfg, s, sid));
      local(steps, 'FollowerFlushLog', sid, followerFlushLog(cfg, s, sid));
      if (cfg.leaderLog === 'queued') local(steps, LEADER_LOG_KIND, sid, leaderFlushLog(cfg, s, sid));
      if (cfg.leaderApply === 'queued') local(steps, LEADER_APPLY_KIND, sid, leaderApplyCommitted(cfg, s, sid));
      // The steps a variant adds (the seam steps, spec/seams.ts).
      if (hasVariantStep(cfg, 'LearnerFinishNEWLEADER')) local(steps, 'LearnerFinishNEWLEADER', sid, learnerFinishNEWLEADER(cfg, s, sid));
      if (hasVariantStep(cfg, 'FollowerCommitProcessor')) local(steps, 'FollowerCommitProcessor', sid, followerCommitProcessor(cfg, s, sid));
      for (const from of cfg.sids) {
        const step = receive(cfg, s, sid, from);
        if (step !== null) steps.push(step);
      }
      local(steps, 'LearnerTimeout', sid, learnerTimeout(cfg, s, sid));
      local(steps, 'LeaderStepDown', sid, leaderStepDown(cfg, s, sid));
      for (const peer of cfg.sids) withPeer(steps, 'ConnectionLost', sid, peer, connectionLost(cfg, s, sid, peer));
      local(steps, 'Crash', sid, crash(cfg, s, sid));
    } else {
      local(steps, 'Restart', sid, restart(cfg, s, sid));
    }
  }
  return steps;
}
