// The abstraction: how a server's logged state and messages map onto the spec's.
//
// `abstractServer` is THE abstraction function of the conformance check (TLA+ trace validation's refinement
// mapping): it takes the variables a server of the implementation logged (the accumulated `post` of its
// events, traces/README.md) and gives their values in the spec's domain (spec/state.ts): zxids as numbers,
// ZooKeeper's Long.MIN_VALUE "none" as the spec's NONE (-1), votes keyed by sid. It keeps only what the
// implementation logs; `specServer` projects a spec server onto the same variables, and the two are compared
// field by field (`diffServers`). Decisions, each forced by how the implementation logs (see traces/README.md):
//
// - `currentVote` is null in the implementation until its first election ends; the spec starts with a vote
//   for itself that nothing reads before an election ends. null is not compared.
// - `lastZxid` is the last txn the server handed to its log (the impl logs a txn as it appends it, and fsyncs
//   before any later send). In the spec that is the last of: the log (history), or, during sync, the data
//   tree rebuilt by SNAP/TRUNC (syncTree); then the PROPOSALs kept during sync (packetsNotLogged), then the
//   txns queued to the SyncRequestProcessor (pendingLog). The implementation logs PROPOSALs received during
//   sync as they arrive, where ZooKeeper 3.9 and the spec log them at NEWLEADER (impl/README.md).
// - Messages are compared on the fields the spec carries: a DIFF's zxid is not compared (the spec's
//   Learner ignores it and the two pick it differently), a SNAP's data and a txn's value are not compared
//   (the impl logs the SNAP's size and the txn's operation), REQUEST and PING are not modelled.
import { isDeepStrictEqual } from 'node:util';
import type { Server } from '../../spec/state.ts';
import type { Notification, Vote } from '../../spec/types.ts';
import type { QuorumPacket } from '../../spec/zab/packets.ts';
import type { TraceMessage } from '../../traces/packets.ts';
import { epochOf, zxidValue } from '../../traces/zxid.ts';

/** A server's observable variables, in the spec's domain. Absent: not logged (yet). */
export interface ServerAbstract {
  state?: string;
  logicalclock?: number;
  proposal?: { leader: number; zxid: number; peerEpoch: number };
  recvset?: Record<string, VoteAbstract>;
  outofelection?: Record<string, VoteAbstract>;
  currentVote?: { leader: number; zxid: number; electionEpoch: number; peerEpoch: number };
  currentEpoch?: number;
  acceptedEpoch?: number;
  lastZxid?: number;
}

export interface VoteAbstract {
  leader: number;
  zxid: number;
  electionEpoch: number;
  peerEpoch: number;
  state: string;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}

function vote(v: unknown): VoteAbstract {
  const o = (v ?? {}) as Record<string, unknown>;
  return { leader: num(o['leader']), zxid: zxidValue(o['zxid']), electionEpoch: num(o['electionEpoch']), peerEpoch: num(o['peerEpoch']), state: String(o['state']) };
}

function votes(v: unknown): Record<string, VoteAbstract> {
  const out: Record<string, VoteAbstract> = {};
  for (const [k, x] of Object.entries((v ?? {}) as Record<string, unknown>)) out[k] = vote(x);
  return out;
}

/** THE abstraction function: an implementation server's logged variables → the spec's variables. */
export function abstractServer(vars: Readonly<Record<string, unknown>>): ServerAbstract {
  const a: ServerAbstract = {};
  if ('state' in vars) a.state = String(vars['state']);
  if ('logicalclock' in vars) a.logicalclock = num(vars['logicalclock']);
  if ('proposal' in vars) {
    const p = (vars['proposal'] ?? {}) as Record<string, unknown>;
    a.proposal = { leader: num(p['leader']), zxid: zxidValue(p['zxid']), peerEpoch: num(p['peerEpoch']) };
  }
  if ('recvset' in vars) a.recvset = votes(vars['recvset']);
  if ('outofelection' in vars) a.outofelection = votes(vars['outofelection']);
  if ('currentVote' in vars && vars['currentVote'] !== null) {
    const v = vars['currentVote'] as Record<string, unknown>;
    a.currentVote = { leader: num(v['leader']), zxid: zxidValue(v['zxid']), electionEpoch: num(v['electionEpoch']), peerEpoch: num(v['peerEpoch']) };
  }
  if ('currentEpoch' in vars) a.currentEpoch = num(vars['currentEpoch']);
  if ('acceptedEpoch' in vars) a.acceptedEpoch = num(vars['acceptedEpoch']);
  if ('lastZxid' in vars) a.lastZxid = zxidValue(vars['lastZxid']);
  return a;
}

function specVotes(vs: readonly (Vote | null)[]): Record<string, VoteAbstract> {
  const out: Record<string, VoteAbstract> = {};
  vs.forEach((v, i) => {
    if (v !== null) out[String(i + 1)] = { leader: v.leader, zxid: v.zxid, electionEpoch: v.electionEpoch, peerEpoch: v.peerEpoch, state: v.state };
  });
  return out;
}

/** The same variables of a spec server (see the header comment for lastZxid). */
export function specServer(srv: Server): Required<ServerAbstract> {
  const logged = srv.learner?.syncTree ?? srv.history;
  const tail = [...(srv.learner?.packetsNotLogged ?? []), ...srv.pendingLog];
  const last = tail.length > 0 ? tail[tail.length - 1]!.zxid : logged.length > 0 ? logged[logged.length - 1]!.zxid : 0;
  const cv = srv.currentVote;
  return {
    state: srv.state,
    logicalclock: srv.logicalclock,
    proposal: { leader: srv.proposal.leader, zxid: srv.proposal.zxid, peerEpoch: srv.proposal.peerEpoch },
    recvset: specVotes(srv.recvset),
    outofelection: specVotes(srv.outofelection),
    currentVote: { leader: cv.leader, zxid: cv.zxid, electionEpoch: cv.electionEpoch, peerEpoch: cv.peerEpoch },
    currentEpoch: srv.currentEpoch,
    acceptedEpoch: srv.acceptedEpoch,
    lastZxid: last,
  };
}

export interface FieldDiff {
  readonly field: string;
  readonly logged: unknown;
  readonly spec: unknown;
}

/** The fields the implementation logged whose value differs from the spec server's. */
export function diffServers(logged: ServerAbstract, spec: ServerAbstract): FieldDiff[] {
  const out: FieldDiff[] = [];
  for (const [k, v] of Object.entries(logged)) {
    const s = (spec as Record<string, unknown>)[k];
    if (!isDeepStrictEqual(v, s)) out.push({ field: k, logged: v, spec: s });
  }
  return out;
}

/** A message in the spec's domain: its type and the fields the spec carries. */
export type MessageAbstract = Readonly<Record<string, unknown>> & { readonly type: string };

/**
 * A logged message (impl or check trace, in the contract's one spelling: the reader put older versions in it) → the
 * spec's domain. null: a message the spec does not model (REQUEST, PING).
 */
export function abstractLoggedMessage(m: TraceMessage): MessageAbstract | null {
  switch (m.type) {
    case 'NOTIFICATION':
      return { type: m.type, leader: m.leader, zxid: zxidValue(m.zxid), electionEpoch: m.electionEpoch, state: m.state, peerEpoch: m.peerEpoch };
    case 'FOLLOWERINFO':
    case 'OBSERVERINFO':
      return { type: m.type, acceptedEpoch: m.acceptedEpoch };
    case 'LEADERINFO':
      return { type: m.type, newEpoch: m.newEpoch };
    case 'ACKEPOCH':
      return { type: m.type, currentEpoch: m.currentEpoch, lastZxid: zxidValue(m.lastZxid) };
    case 'DIFF':
    case 'UPTODATE':
      return { type: m.type };
    case 'PROPOSAL':
    case 'INFORM':
    case 'TRUNC':
    case 'SNAP':
    case 'COMMIT':
    case 'NEWLEADER':
    case 'ACK':
      return { type: m.type, zxid: zxidValue(m.zxid) };
    case 'REQUEST':
    case 'PING':
      return null;
  }
}

/** A notification in a spec election channel. */
export function abstractNotification(n: Notification): MessageAbstract {
  return { type: 'NOTIFICATION', leader: n.leader, zxid: n.zxid, electionEpoch: n.electionEpoch, state: n.state, peerEpoch: n.peerEpoch };
}

/** A packet in a spec quorum channel. */
export function abstractPacket(p: QuorumPacket): MessageAbstract {
  if (p.type === 'PROPOSAL' || p.type === 'INFORM') return { type: p.type, zxid: p.txn.zxid };
  if (p.type === 'SNAP') return { type: p.type, zxid: p.zxid };
  if (p.type === 'DIFF') return { type: p.type };
  // The spec's other packets have the contract's fields (traces/packets.ts), zxids as numbers: the spec's domain.
  return p;
}

export function sameMessage(a: MessageAbstract, b: MessageAbstract): boolean {
  return isDeepStrictEqual(a, b);
}
