// The spec as the checker sees it: buildSpec(options) composes the protocol's phases into one state machine.
import { match } from 'ts-pattern';
import type { SpecOptions } from './config.ts';
import { MUTATIONS, makeConfig } from './config.ts';
import type { FleAction } from './fle/election.ts';
import { FLE_ACTION_KINDS, fleSteps } from './fle/election.ts';
import type { MessageView, Spec, StepView } from './model.ts';
import { electionProperties } from './properties.ts';
import type { ClusterState, Server } from './state.ts';
import { electionChannel, initialState } from './state.ts';
import type { Notification, Sid, Vote } from './types.ts';
import { zxidText } from './types.ts';

export type { SpecOptions } from './config.ts';
export { MUTATIONS } from './config.ts';
export type { ClusterState } from './state.ts';

export type Action = FleAction;

export const DEFAULT_OPTIONS: SpecOptions = { nodes: 3, observers: 0, mutations: [] };

export function buildSpec(options: SpecOptions): Spec<ClusterState, Action> {
  const cfg = makeConfig(options);
  const mutations = [...cfg.mutations];
  return {
    name: 'FastLeaderElection' + (mutations.length > 0 ? ` [mutations: ${mutations.join(', ')}]` : ''),
    params: {
      nodes: cfg.nodes,
      observers: cfg.observers,
      mutations,
      initial: cfg.initial.map((d) => ({ ...d, lastZxid: zxidText(d.lastZxid) })),
    },
    actionKinds: [...FLE_ACTION_KINDS],
    properties: electionProperties(cfg),
    servers: cfg.sids.map((sid) => ({ sid, role: cfg.learnerType(sid) })),
    init: () => [initialState(cfg)],
    next: (s) => fleSteps(cfg, s),
    serverVars: (s, sid) => serverView(s.servers[sid - 1]!),
    describe: (before, action, after) => describeStep(cfg.sids, before, action, after),
  };
}

/** The variables of a server as traces and counterexamples show them: zxids in hex, empty votes left out. */
export function serverView(srv: Server): Record<string, unknown> {
  return {
    state: srv.state,
    fle: srv.fle,
    logicalclock: srv.logicalclock,
    proposal: { leader: srv.proposal.leader, zxid: zxidText(srv.proposal.zxid), peerEpoch: srv.proposal.peerEpoch },
    recvset: votesView(srv.recvset),
    outofelection: votesView(srv.outofelection),
    currentVote: { ...srv.currentVote, zxid: zxidText(srv.currentVote.zxid) },
    currentEpoch: srv.currentEpoch,
    acceptedEpoch: srv.acceptedEpoch,
    lastZxid: zxidText(srv.lastZxid),
  };
}

function votesView(votes: readonly (Vote | null)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  votes.forEach((v, i) => {
    if (v !== null) out[String(i + 1)] = { ...v, zxid: zxidText(v.zxid) };
  });
  return out;
}

function notificationView(from: Sid, to: Sid, n: Notification): MessageView {
  return {
    type: 'NOTIFICATION',
    from,
    to,
    fields: { leader: n.leader, zxid: zxidText(n.zxid), electionEpoch: n.electionEpoch, state: n.state, peerEpoch: n.peerEpoch },
  };
}

/** The channel an action consumes from, if any. */
function consumedFrom(action: Action): Sid | null {
  return match(action)
    .with({ kind: 'FLEStartElection' }, { kind: 'FLEDecide' }, () => null)
    .otherwise((a) => a.from);
}

function describeStep(sids: readonly Sid[], before: ClusterState, action: Action, after: ClusterState): StepView {
  const from = consumedFrom(action);
  const recvd = from === null ? undefined : electionChannel(before, from, action.sid)[0];
  const send: MessageView[] = [];
  for (const to of sids) {
    let old = electionChannel(before, action.sid, to);
    if (from === action.sid && to === action.sid) old = old.slice(1);
    for (const n of electionChannel(after, action.sid, to).slice(old.length)) send.push(notificationView(action.sid, to, n));
  }
  return {
    kind: action.kind,
    sid: action.sid,
    params: from === null ? {} : { from },
    recv: from === null || recvd === undefined ? null : notificationView(from, action.sid, recvd),
    send,
  };
}

export function listMutations(): [string, string][] {
  return Object.entries(MUTATIONS);
}
