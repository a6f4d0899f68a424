// The spec as the checker sees it: buildSpec(options) composes the protocol's phases into one state machine.
//
// Reading order, as ZooKeeper runs them: initial.ts (the states a run starts from), fle/ (FastLeaderElection),
// zab/roles.ts (entering a role), zab/discovery.ts, zab/sync.ts, zab/broadcast.ts, faults.ts; coarse.ts folds
// election and discovery into one step; properties.ts states what must hold. Imports run one way:
// types.ts <- zab/packets.ts <- state.ts <- initial.ts <- config.ts <- the phases.
import { match, P } from 'ts-pattern';
import type { SpecOptions } from './config.ts';
import { INITIAL_STATES, MUTATIONS, makeConfig } from './config.ts';
import type { CoarseAction } from './coarse.ts';
import { COARSE_ACTION_KINDS, COARSE_VARIANT_KINDS, coarseSteps } from './coarse.ts';
import type { FleAction } from './fle/election.ts';
import { FLE_ACTION_KINDS, fleSteps } from './fle/election.ts';
import type { Footprint, MessageView, Spec, StepView } from './model.ts';
import { livenessProperties } from './liveness.ts';
import { auditSyncStep, electionProperties, total, zabProperties } from './properties.ts';
import type { ClusterState, LeaderVars, LearnerVars, Server, Txn } from './state.ts';
import { delivered, electionChannel, quorumChannel } from './state.ts';
import { initialState } from './initial.ts';
import type { Notification, Sid, Vote } from './types.ts';
import { zxidToHex } from '../traces/zxid.ts';
import type { QuorumPacket } from './zab/packets.ts';
import type { ZabAction } from './zab/steps.ts';
import { LEADER_APPLY_KIND, LEADER_LOG_KIND, VARIANT_LOCAL_KINDS, ZAB_LOCAL_KINDS, ZAB_PEER_KINDS, ZAB_RECEIVE_KINDS, zabSteps } from './zab/steps.ts';
import { VARIANTS } from './variants.ts';
import { hasVariantStep } from './seams.ts';

export type { Bounds, SpecOptions } from './config.ts';
export { DEFAULT_BOUNDS, INITIAL_STATES, MUTATIONS } from './config.ts';
export type { ClusterState } from './state.ts';

export type Action = FleAction | ZabAction | CoarseAction;

export const DEFAULT_OPTIONS: SpecOptions = { nodes: 3, observers: 0, mutations: [] };

const FLE_KINDS: ReadonlySet<string> = new Set(FLE_ACTION_KINDS);
const QUORUM_RECEIVE_KINDS: ReadonlySet<string> = new Set(ZAB_RECEIVE_KINDS);
/** What the environment does to a cluster (spec/faults.ts); a leader stepping down is the protocol's answer. */
const FAULT_KINDS: ReadonlySet<string> = new Set(['Crash', 'Restart', 'ConnectionLost', 'LearnerTimeout']);
/**
 * Steps that read another server's variables or the budget even when they do not change them (footprint): the
 * faults and timeouts (the budget, the other end of a connection, a leader's learners), the coarse steps (every
 * member of the election), and the receives that may end a learner (dropLearner reads its leader's handlers).
 */
const GLOBAL_KINDS: ReadonlySet<string> = new Set([
  ...FAULT_KINDS,
  'LeaderStepDown',
  ...COARSE_ACTION_KINDS,
  ...COARSE_VARIANT_KINDS,
  'LearnerProcessLEADERINFO',
  'LeaderProcessACKEPOCH',
  'LearnerProcessCOMMITInSync',
]);

/** Every kind of step of every phase, in the order reports list them. */
const ACTION_KINDS = [
  ...FLE_ACTION_KINDS,
  ...COARSE_ACTION_KINDS,
  ...ZAB_LOCAL_KINDS,
  ...ZAB_PEER_KINDS,
  ...ZAB_RECEIVE_KINDS,
  ...VARIANT_LOCAL_KINDS,
  ...COARSE_VARIANT_KINDS,
  LEADER_LOG_KIND,
  LEADER_APPLY_KIND,
] as const;
type ActionKind = (typeof ACTION_KINDS)[number];

type Cfg = ReturnType<typeof makeConfig>;
const zab = (c: Cfg) => c.protocol === 'zab';
const coarse = (c: Cfg) => c.granularity === 'coarse';
const fine = (c: Cfg) => !coarse(c);
const zabFine = (c: Cfg) => zab(c) && fine(c);
const observing = (c: Cfg) => c.observers > 0;

/**
 * Whether a kind of step exists under the options (spec.actionKinds, whose coverage the checker reports): one
 * entry per kind, so a new kind does not typecheck until it says when it exists. At the coarse granularity
 * election and discovery are one step (ElectAndDiscover), so FLE's steps, LEADERINFO's handshake and the
 * learner's own connect and timeout are folded into it; INFORM exists only with observers; some steps belong to
 * a variant or a queued mode only.
 */
const KIND_EXISTS: Readonly<Record<ActionKind, (c: Cfg) => boolean>> = {
  FLEStartElection: fine,
  FLEReceiveHigherRound: fine,
  FLEReceiveSameRound: fine,
  FLEReceiveLowerRound: fine,
  FLEReceiveFromDecided: fine,
  FLEFinalizeDiscard: fine,
  FLEDecide: fine,
  FLEReplyToLooking: fine,
  FLEReplyToNonVoter: (c) => fine(c) && observing(c),
  FLEDropNotification: fine,
  ElectAndDiscover: (c) => zab(c) && coarse(c),
  LearnerJoin: (c) => zab(c) && coarse(c),
  LearnerConnect: zabFine,
  LeaderProcessRequest: zab,
  FollowerFlushLog: zab,
  LearnerTimeout: zabFine,
  LeaderStepDown: zab,
  Crash: zab,
  Restart: zab,
  LeaderSyncFollower: zab,
  ConnectionLost: zab,
  LeaderProcessFOLLOWERINFO: zabFine,
  LearnerProcessLEADERINFO: zabFine,
  LeaderProcessACKEPOCH: zabFine,
  LearnerProcessDIFF: zab,
  LearnerProcessTRUNC: zab,
  LearnerProcessSNAP: zab,
  LearnerProcessPROPOSALInSync: zab,
  LearnerProcessCOMMITInSync: zab,
  LearnerProcessINFORMInSync: (c) => zab(c) && observing(c),
  LearnerProcessNEWLEADER: zab,
  LeaderProcessACKNEWLEADER: zab,
  LearnerProcessUPTODATE: zab,
  FollowerProcessPROPOSAL: zab,
  LeaderProcessACK: zab,
  FollowerProcessCOMMIT: zab,
  ObserverProcessINFORM: (c) => zab(c) && observing(c),
  LearnerFinishNEWLEADER: (c) => zab(c) && hasVariantStep(c, 'LearnerFinishNEWLEADER'),
  FollowerCommitProcessor: (c) => zab(c) && hasVariantStep(c, 'FollowerCommitProcessor'),
  ElectAbandoned: (c) => zab(c) && coarse(c) && hasVariantStep(c, 'ElectAbandoned'),
  LeaderFlushLog: (c) => zab(c) && c.leaderLog === 'queued',
  LeaderApplyCommitted: (c) => zab(c) && c.leaderApply === 'queued',
};

export function buildSpec(options: SpecOptions): Spec<ClusterState, Action> {
  const cfg = makeConfig(options);
  const mutations = [...cfg.mutations];
  const zab = cfg.protocol === 'zab';
  const coarse = cfg.granularity === 'coarse';
  const actionKinds = ACTION_KINDS.filter((k) => KIND_EXISTS[k](cfg));
  // syncAsZooKeeper is a property of the step, not of a state: checked here, on each LeaderSyncFollower.
  const audit = auditSyncStep<Action>(cfg);
  return {
    name:
      (zab ? `ZAB (FastLeaderElection, discovery, synchronization, broadcast; ${cfg.granularity} granularity)` : 'FastLeaderElection') +
      (mutations.length > 0 ? ` [mutations: ${mutations.join(', ')}]` : '') +
      (cfg.variant !== null ? ` [variant ${cfg.variant}: ${VARIANTS[cfg.variant].jira}]` : '') +
      (cfg.fixes.size > 0 ? ` [fixes: ${[...cfg.fixes].join(', ')}]` : '') +
      (zab && cfg.leaderLog !== 'atomic' ? ` [leader log: ${cfg.leaderLog}]` : '') +
      (zab && cfg.followerLog !== 'atomic' ? ` [follower log: ${cfg.followerLog}]` : '') +
      (zab && cfg.leaderApply !== 'atomic' ? ` [leader apply: ${cfg.leaderApply}]` : ''),
    params: {
      nodes: cfg.nodes,
      observers: cfg.observers,
      protocol: cfg.protocol,
      granularity: cfg.granularity,
      initial: cfg.initialName,
      ...(zab ? { txns: cfg.bounds.txns, crashes: cfg.bounds.crashes, partitions: cfg.bounds.partitions, maxEpoch: cfg.bounds.maxEpoch } : {}),
      mutations,
      ...(cfg.variant !== null ? { variant: cfg.variant } : {}),
      ...(cfg.fixes.size > 0 ? { fixes: [...cfg.fixes] } : {}),
      ...(zab && cfg.leaderLog !== 'atomic' ? { leaderLog: cfg.leaderLog } : {}),
      ...(zab && cfg.followerLog !== 'atomic' ? { followerLog: cfg.followerLog } : {}),
      ...(zab && cfg.leaderApply !== 'atomic' ? { leaderApply: cfg.leaderApply } : {}),
    },
    actionKinds,
    faultKinds: actionKinds.filter((k) => FAULT_KINDS.has(k)),
    properties: [...electionProperties(cfg), ...(zab ? zabProperties(cfg) : [])].map(total),
    liveness: livenessProperties(cfg),
    // A timeout the budget pays for (a leader's wait for its quorum) is a fault like the others.
    isFault: (before, action, after) =>
      FAULT_KINDS.has(action.kind) || before.budget.crashes !== after.budget.crashes || before.budget.partitions !== after.budget.partitions,
    servers: cfg.sids.map((sid) => ({ sid, role: cfg.learnerType(sid) })),
    init: () => [initialState(cfg)],
    next: (s) => {
      const steps: { action: Action; state: ClusterState }[] = fleSteps(cfg, s);
      if (zab) {
        if (coarse) steps.push(...coarseSteps(cfg, s));
        steps.push(...zabSteps(cfg, s));
        for (let i = 0; i < steps.length; i++) if (steps[i]?.action?.kind === 'LeaderSyncFollower') steps[i] = audit(s, steps[i]!);
      }
      return steps;
    },
    footprint: (before, action, after) => footprint(before, action, after),
    serverVars: (s, sid) => serverView(s.servers[sid - 1]!, zab),
    describe: (before, action, after) => describeStep(cfg.sids, before, action, after),
  };
}

/**
 * What a step changed, found by comparing references (states are built by immutable updates, so an untouched
 * server or channel is the same object): channels as election index, or n² + quorum index. Global when it is a
 * GLOBAL_KINDS step, or changed the budget, the ghost variables, or a server other than its own.
 */
function footprint(before: ClusterState, action: Action, after: ClusterState): Footprint {
  let global = GLOBAL_KINDS.has(action.kind) || before.budget !== after.budget || before.ghost !== after.ghost;
  for (let i = 0; i < before.servers.length && !global; i++) if (i !== action.sid - 1 && before.servers[i] !== after.servers[i]) global = true;
  const channels: number[] = [];
  if (before.election !== after.election) for (let i = 0; i < before.election.length; i++) if (before.election[i] !== after.election[i]) channels.push(i);
  const n2 = before.election.length;
  if (before.quorum !== after.quorum) for (let i = 0; i < before.quorum.length; i++) if (before.quorum[i] !== after.quorum[i]) channels.push(n2 + i);
  return { global, channels };
}

function txnView(t: Txn): string {
  return `${zxidToHex(t.zxid)}=${t.value}`;
}

/** The variables of a server as traces and counterexamples show them: zxids in hex, empty votes left out. */
export function serverView(srv: Server, zab = true): Record<string, unknown> {
  const view: Record<string, unknown> = {
    state: srv.state,
    fle: srv.fle,
    logicalclock: srv.logicalclock,
    proposal: { leader: srv.proposal.leader, zxid: zxidToHex(srv.proposal.zxid), peerEpoch: srv.proposal.peerEpoch },
    recvset: votesView(srv.recvset),
    outofelection: votesView(srv.outofelection),
    currentVote: { ...srv.currentVote, zxid: zxidToHex(srv.currentVote.zxid) },
    currentEpoch: srv.currentEpoch,
    acceptedEpoch: srv.acceptedEpoch,
    lastZxid: zxidToHex(srv.history.length === 0 ? 0 : srv.history[srv.history.length - 1]!.zxid),
  };
  if (!zab) return view;
  return {
    ...view,
    online: srv.online,
    zabState: srv.zabState,
    history: srv.history.map(txnView),
    snapshotIndex: srv.snapshotIndex,
    pendingLog: srv.pendingLog.map(txnView),
    // Variants only (spec/variants.ts): shown when they differ from the fixed protocol's values.
    ...(srv.treeZxid === null ? {} : { treeZxid: zxidToHex(srv.treeZxid) }),
    ...(srv.orphanLog.length === 0 ? {} : { orphanLog: srv.orphanLog.map(txnView) }),
    delivered: delivered(srv).map(txnView),
    leader: srv.leader === null ? null : leaderFields(srv.leader),
    learner:
      srv.learner === null
        ? null
        : {
            ...learnerFields(srv.learner),
            syncTree: srv.learner.syncTree === null ? null : srv.learner.syncTree.map(txnView),
            packetsNotLogged: srv.learner.packetsNotLogged.map(txnView),
            packetsCommitted: srv.learner.packetsCommitted.map(zxidToHex),
          },
  };
}

/** A leader's variables, without toBeApplied while it is 0 (always, with leaderApply 'atomic'). */
function leaderFields(l: LeaderVars): Record<string, unknown> {
  const { toBeApplied, ...rest } = l;
  const view = { ...rest, outstanding: l.outstanding.map((p) => ({ zxid: zxidToHex(p.zxid), acks: p.acks })) };
  return toBeApplied === 0 ? view : { ...view, toBeApplied };
}

/** A learner's variables, without the variants' newLeaderAckDue while it is unused. */
function learnerFields(l: LearnerVars): Record<string, unknown> {
  const { newLeaderAckDue, ...rest } = l;
  return newLeaderAckDue === null ? rest : { ...rest, newLeaderAckDue: zxidToHex(newLeaderAckDue) };
}

function votesView(votes: readonly (Vote | null)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  votes.forEach((v, i) => {
    if (v !== null) out[String(i + 1)] = { ...v, zxid: zxidToHex(v.zxid) };
  });
  return out;
}

function notificationView(from: Sid, to: Sid, n: Notification): MessageView {
  return {
    type: 'NOTIFICATION',
    from,
    to,
    fields: { leader: n.leader, zxid: zxidToHex(n.zxid), electionEpoch: n.electionEpoch, state: n.state, peerEpoch: n.peerEpoch },
  };
}

/** A quorum packet's fields as traces show them: zxids in hex, txns as zxid and value. Every packet type is named. */
export function packetView(from: Sid, to: Sid, p: QuorumPacket): MessageView {
  const fields: Record<string, unknown> = match(p)
    .with({ type: P.union('FOLLOWERINFO', 'OBSERVERINFO') }, (q) => ({ acceptedEpoch: q.acceptedEpoch }))
    .with({ type: 'LEADERINFO' }, (q) => ({ newEpoch: q.newEpoch }))
    .with({ type: 'ACKEPOCH' }, (q) => ({ currentEpoch: q.currentEpoch, lastZxid: zxidToHex(q.lastZxid) }))
    .with({ type: P.union('DIFF', 'TRUNC', 'COMMIT', 'NEWLEADER', 'ACK') }, (q) => ({ zxid: zxidToHex(q.zxid) }))
    .with({ type: 'SNAP' }, (q) => ({ zxid: zxidToHex(q.zxid), snapshot: q.snapshot.map(txnView) }))
    .with({ type: P.union('PROPOSAL', 'INFORM') }, (q) => ({ zxid: zxidToHex(q.txn.zxid), value: q.txn.value }))
    .with({ type: 'UPTODATE' }, () => ({}))
    // A packet of no known type (a broken spec: the wellFormed invariant says so) is shown as it is, so that its
    // counterexample can still be printed.
    .exhaustive((unknown) => ({ packet: JSON.stringify(unknown) }));
  return { type: p.type, from, to, fields };
}

function describeStep(sids: readonly Sid[], before: ClusterState, action: Action, after: ClusterState): StepView {
  const from = 'from' in action ? action.from : null;
  const onElection = FLE_KINDS.has(action.kind);
  const onQuorum = QUORUM_RECEIVE_KINDS.has(action.kind);
  const send: MessageView[] = [];
  for (const to of sids) {
    // What the step appended to each of its outgoing channels (a channel to itself may also have lost its head).
    let oldE = electionChannel(before, action.sid, to);
    if (onElection && from === action.sid && to === action.sid) oldE = oldE.slice(1);
    const newE = electionChannel(after, action.sid, to);
    if (newE.length > oldE.length) for (const n of newE.slice(oldE.length)) send.push(notificationView(action.sid, to, n));
    const oldQ = quorumChannel(before, action.sid, to);
    const newQ = quorumChannel(after, action.sid, to);
    if (newQ.length > oldQ.length) for (const p of newQ.slice(oldQ.length)) send.push(packetView(action.sid, to, p));
  }
  let recv: MessageView | null = null;
  if (from !== null && onElection) {
    const n = electionChannel(before, from, action.sid)[0];
    if (n !== undefined) recv = notificationView(from, action.sid, n);
  } else if (from !== null && onQuorum) {
    const p = quorumChannel(before, from, action.sid)[0];
    if (p !== undefined) recv = packetView(from, action.sid, p);
  }
  const params: Record<string, unknown> = {};
  if (from !== null) params.from = from;
  if ('peer' in action) params.peer = action.peer;
  if ('quorum' in action) params.quorum = action.quorum;
  return { kind: action.kind, sid: action.sid, params, recv, send };
}

export function listMutations(): [string, string][] {
  return Object.entries(MUTATIONS);
}

export function listInitialStates(): [string, string][] {
  return Object.entries(INITIAL_STATES);
}
