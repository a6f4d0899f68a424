// Coarse steps are sound: every ElectAndDiscover and LearnerJoin the coarse spec takes is an outcome the
// fine-grained protocol reaches from the same state. For each coarse step met along random coarse walks, a
// scheduler drives the fine-grained spec (same options, `granularity: 'fine'`) through FastLeaderElection and
// discovery — only steps the fine spec lists as enabled — until the participants are where the coarse step put
// them. What must match is everything ZAB goes on with: roles, epochs, logs, the leader's new epoch and the
// learners waiting to be synced. FLE's own bookkeeping (rounds, vote sets, notifications left in flight) may
// differ, since the coarse step does not say in which order votes arrived.
import { describe, expect, it } from 'vitest';
import type { Action, ClusterState, SpecOptions } from '../spec/index.ts';
import { buildSpec } from '../spec/index.ts';
import { electionChannel, quorumChannel } from '../spec/state.ts';
import { makeRandom } from '../checker/simulation/walks.ts';

const base: SpecOptions = { nodes: 3, observers: 0, mutations: [], protocol: 'zab', initial: 'broadcast', txns: 1, crashes: 1, partitions: 1 };

/** What ZAB carries on from discovery, per participant of the coarse step. */
function projection(s: ClusterState, sids: readonly number[]) {
  return sids.map((sid) => {
    const m = s.servers[sid - 1]!;
    return {
      sid,
      state: m.state,
      zabState: m.zabState,
      currentEpoch: m.currentEpoch,
      acceptedEpoch: m.acceptedEpoch,
      history: m.history,
      snapshotIndex: m.snapshotIndex,
      committedLogStart: m.committedLogStart,
      voteLeader: m.currentVote.leader,
      learner: m.learner && { leader: m.learner.leader, connected: m.learner.connected, newEpoch: m.learner.newEpoch },
      leader: m.leader && {
        newEpoch: m.leader.newEpoch,
        learners: m.leader.learners,
        toSync: [...m.leader.toSync].sort((a, b) => a.sid - b.sid),
        newLeaderAcks: m.leader.newLeaderAcks,
      },
    };
  });
}

type Fine = ReturnType<typeof buildSpec>;

/** Take the first enabled fine step that `pick` accepts, in the order of `preferences`. */
function stepBy(fine: Fine, s: ClusterState, preferences: ((a: Action, s: ClusterState) => boolean)[]): ClusterState | null {
  const succs = fine.next(s);
  for (const pref of preferences) {
    const found = succs.find((x) => pref(x.action, s));
    if (found !== undefined) return found.state;
  }
  return null;
}

const fromOf = (a: Action): number | null => ('from' in a ? a.from : null);
const isFle = (a: Action) => a.kind.startsWith('FLE');

/**
 * ElectAndDiscover(L, Q): every member of Q starts an election, all notifications among Q are delivered (so
 * every recvset holds every vote), then each decides; the learners connect in order of decreasing
 * acceptedEpoch (so the epoch fixed by the first quorum is above all of Q's), and discovery packets between L
 * and Q are delivered until every learner of Q has sent its ACKEPOCH and L has taken them all.
 */
function fineElectAndDiscover(fine: Fine, start: ClusterState, leader: number, quorum: readonly number[]): ClusterState {
  const inQ = (sid: number) => quorum.includes(sid);
  const learners = quorum.filter((x) => x !== leader).sort((a, b) => start.servers[b - 1]!.acceptedEpoch - start.servers[a - 1]!.acceptedEpoch || a - b);
  let s = start;
  for (let i = 0; i < 400; i++) {
    const discoveryDone =
      s.servers[leader - 1]!.zabState !== 'DISCOVERY' &&
      learners.every((j) => s.servers[j - 1]!.zabState === 'SYNCHRONIZATION' && quorumChannel(s, j, leader).length === 0);
    if (discoveryDone) return s;
    const firstUnconnected = learners.find((j) => !s.servers[j - 1]!.learner?.connected);
    const next = stepBy(fine, s, [
      (a) => a.kind === 'FLEStartElection' && inQ(a.sid),
      (a) => isFle(a) && a.kind !== 'FLEDecide' && inQ(a.sid) && inQ(fromOf(a) ?? -1),
      (a) => a.kind === 'FLEDecide' && inQ(a.sid),
      (a) => a.kind === 'LearnerConnect' && a.sid === firstUnconnected,
      (a, st) => !isFle(a) && inQ(a.sid) && fromOf(a) !== null && inQ(fromOf(a)!) && quorumChannel(st, fromOf(a)!, a.sid).length > 0,
    ]);
    if (next === null) break;
    s = next;
  }
  throw new Error(`no fine-grained path found for ElectAndDiscover(${leader}, [${quorum.join(',')}])`);
}

/** LearnerJoin(j, L): j starts an election, the decided servers answer it, it follows L, connects, and completes discovery. */
function fineLearnerJoin(fine: Fine, start: ClusterState, sid: number, leader: number): ClusterState {
  let s = start;
  for (let i = 0; i < 400; i++) {
    const me = s.servers[sid - 1]!;
    if (me.zabState === 'SYNCHRONIZATION' && quorumChannel(s, sid, leader).length === 0 && electionChannel(s, sid, sid).length === 0) return s;
    const next = stepBy(fine, s, [
      (a) => a.kind === 'FLEStartElection' && a.sid === sid,
      // Only the servers that decided answer (a LOOKING one may stay silent: its reply is not needed).
      (a, st) => (a.kind === 'FLEReplyToLooking' || a.kind === 'FLEReplyToNonVoter') && fromOf(a) === sid && st.servers[a.sid - 1]!.state !== 'LOOKING',
      (a) => isFle(a) && a.sid === sid,
      (a) => a.kind === 'LearnerConnect' && a.sid === sid,
      (a) => !isFle(a) && ((a.sid === sid && fromOf(a) === leader) || (a.sid === leader && fromOf(a) === sid)),
    ]);
    if (next === null) break;
    s = next;
  }
  throw new Error(`no fine-grained path found for LearnerJoin(${sid}, ${leader})`);
}

function checkCoarseSteps(options: SpecOptions, seed: number, walks: number, length: number): number {
  const coarse = buildSpec({ ...options, granularity: 'coarse' });
  const fine = buildSpec({ ...options, granularity: 'fine' });
  const next32 = makeRandom(seed);
  const random = () => next32() / 2 ** 32;
  let checked = 0;
  for (let w = 0; w < walks; w++) {
    let s = coarse.init()[0]!;
    for (let d = 0; d < length; d++) {
      const succs = coarse.next(s);
      for (const { action, state } of succs) {
        if (action.kind === 'ElectAndDiscover' && 'quorum' in action) {
          const reached = fineElectAndDiscover(fine, s, action.sid, action.quorum);
          expect(projection(reached, action.quorum), `seed ${seed} walk ${w} step ${d}: ElectAndDiscover(${action.sid}, [${action.quorum}])`).toEqual(projection(state, action.quorum));
          checked++;
        } else if (action.kind === 'LearnerJoin' && 'peer' in action) {
          const reached = fineLearnerJoin(fine, s, action.sid, action.peer);
          expect(projection(reached, [action.sid, action.peer]), `seed ${seed} walk ${w} step ${d}: LearnerJoin(${action.sid}, ${action.peer})`).toEqual(projection(state, [action.sid, action.peer]));
          checked++;
        }
      }
      if (succs.length === 0) break;
      s = succs[Math.floor(random() * succs.length)]!.state;
    }
  }
  return checked;
}

describe('coarse steps are steps of the fine-grained protocol', () => {
  it('3 servers from the broadcast state, along random coarse walks', () => {
    expect(checkCoarseSteps(base, 11, 40, 20)).toBeGreaterThan(100);
  });

  it('3 servers and an observer, from an empty ensemble', () => {
    expect(checkCoarseSteps({ ...base, observers: 1, initial: 'empty' }, 12, 20, 16)).toBeGreaterThan(40);
  });

  it('5 servers, whose quorums can leave servers out', () => {
    expect(checkCoarseSteps({ ...base, nodes: 5, txns: 0 }, 13, 8, 10)).toBeGreaterThan(40);
  });
});
