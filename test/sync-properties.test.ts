// syncAsZooKeeper (spec/properties.ts): zooKeeperSync, ZooKeeper's LearnerHandler.syncFollower restated, on
// hand-made leaders, one case of syncFollower each; and the step audit that flags a LeaderSyncFollower whose
// packets are not those, on a real step of the spec and the same step tampered with.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../spec/config.ts';
import { buildSpec } from '../spec/index.ts';
import { auditSyncStep, SYNC_NOT_ZOOKEEPERS, zooKeeperSync } from '../spec/properties.ts';
import type { ClusterState, LeaderVars, Server, Txn } from '../spec/state.ts';
import { makeZxid } from '../spec/types.ts';
import type { QuorumPacket } from '../spec/zab/packets.ts';

const options = { nodes: 3, observers: 0, mutations: [] };
const cfg = makeConfig(options);
const spec = buildSpec(options);
const init = spec.init()[0]! as ClusterState;
const z = (epoch: number, counter: number) => makeZxid(epoch, counter);
const tx = (epoch: number, counter: number): Txn => ({ zxid: z(epoch, counter), value: counter });

const LEADER: LeaderVars = {
  learners: [2, 3], connecting: [], waitingForEpoch: [], epochToPropose: 3, newEpoch: 3, electing: [1, 2, 3],
  toSync: [], awaitingNewLeaderAck: [], newLeaderAcks: [], awaitingUpToDate: [], forwarding: [], outstanding: [], toBeApplied: 0,
};

/** Server 1 leading epoch 3 with this log, before it serves (its whole log loaded) unless `serving` says how much it applied. */
function leader(history: Txn[], opts: { committedLogStart?: number; serving?: number; outstanding?: Txn[] } = {}): Server {
  const srv = init.servers[0]!;
  const serving = opts.serving !== undefined;
  return {
    ...srv,
    state: 'LEADING',
    zabState: serving ? 'BROADCAST' : 'SYNCHRONIZATION',
    history,
    committed: serving ? opts.serving! : history.length,
    committedLogStart: opts.committedLogStart ?? 0,
    leader: { ...LEADER, outstanding: (opts.outstanding ?? []).map((t) => ({ zxid: t.zxid, acks: [1] })) },
  };
}

const diff = (zxid: number): QuorumPacket => ({ type: 'DIFF', zxid });
const trunc = (zxid: number): QuorumPacket => ({ type: 'TRUNC', zxid });
const sent = (t: Txn): QuorumPacket[] => [{ type: 'PROPOSAL', txn: t }, { type: 'COMMIT', zxid: t.zxid }];
const NEWLEADER: QuorumPacket = { type: 'NEWLEADER', zxid: z(3, 0) };

describe('zooKeeperSync: which sync a learner in a given position gets', () => {
  const a = tx(1, 1);
  const b = tx(1, 2);
  it.each<[string, Server, number, string, QuorumPacket[]]>([
    ['level with lastProcessedZxid: an empty DIFF', leader([a, b]), b.zxid, 'emptyDIFF', [diff(b.zxid), NEWLEADER]],
    ['past maxCommittedLog: TRUNC to it', leader([a, b]), z(1, 3), 'TRUNC', [trunc(b.zxid), NEWLEADER]],
    ['inside the committedLog: DIFF and the txns it lacks', leader([a, b]), a.zxid, 'committedLogDIFF', [diff(b.zxid), ...sent(b), NEWLEADER]],
    ['before the committedLog (the snapshot holds its txn): SNAP', leader([a, b], { committedLogStart: 1 }), a.zxid, 'SNAP', [{ type: 'SNAP', zxid: b.zxid, snapshot: [a, b] }, NEWLEADER]],
    ['inside, its txn missing and the next of another epoch: SNAP', leader([a, tx(2, 1)]), b.zxid, 'SNAPacrossEpochs', [{ type: 'SNAP', zxid: z(2, 1), snapshot: [a, tx(2, 1)] }, NEWLEADER]],
    ['inside, its txn missing and the next of its epoch: TRUNC to the one before, then the rest', leader([a, tx(1, 3)]), b.zxid, 'committedLogTRUNC', [trunc(a.zxid), ...sent(tx(1, 3)), NEWLEADER]],
    ["at an epoch's zxid inside the window: DIFF", leader([a, tx(2, 1)]), z(2, 0), 'newEpochDIFF', [diff(z(2, 1)), ...sent(tx(2, 1)), NEWLEADER]],
    [
      'a serving leader (lastProcessedZxid is its epoch\'s zxid) forwards its outstanding proposal after the DIFF',
      leader([a, b, tx(3, 1)], { serving: 2, outstanding: [tx(3, 1)] }),
      a.zxid,
      'committedLogDIFF',
      [diff(b.zxid), ...sent(b), { type: 'PROPOSAL', txn: tx(3, 1) }, NEWLEADER],
    ],
  ])('%s', (_name, l, peer, which, packets) => {
    const got = zooKeeperSync(cfg, l, 2, peer);
    expect(got.case).toBe(which);
    expect(got.packets).toStrictEqual(packets);
  });
});

describe('the audit of LeaderSyncFollower', () => {
  // The first states of the default check, breadth first, until a LeaderSyncFollower step.
  function firstSyncStep(): { before: ClusterState; step: { action: { kind: string; sid: number; peer?: number }; state: ClusterState } } {
    let level: ClusterState[] = [init];
    for (let d = 0; d < 6; d++) {
      const next: ClusterState[] = [];
      for (const s of level) {
        for (const step of spec.next(s)) {
          if (step.action.kind === 'LeaderSyncFollower') return { before: s, step: step as never };
          next.push(step.state as ClusterState);
        }
      }
      level = next;
    }
    throw new Error('no LeaderSyncFollower within 6 steps');
  }

  it("leaves the spec's own step alone, and flags the same step with ZooKeeper's op packet replaced", () => {
    const { before, step } = firstSyncStep();
    expect(step.state.ghost.violations).not.toContain(SYNC_NOT_ZOOKEEPERS);
    const audit = auditSyncStep(cfg);
    expect(audit(before, step)).toBe(step);
    const from = step.action.sid;
    const to = step.action.peer!;
    const index = (from - 1) * before.servers.length + (to - 1);
    const channel = step.state.quorum[index]!;
    const at = before.quorum[index]!.length;
    const op = channel[at]!;
    const other: QuorumPacket = op.type === 'SNAP' ? { type: 'DIFF', zxid: op.zxid } : { type: 'SNAP', zxid: 0, snapshot: [] };
    const tampered = { ...step.state, quorum: step.state.quorum.map((c, i) => (i === index ? [...c.slice(0, at), other, ...c.slice(at + 1)] : c)) };
    const flagged = audit(before, { action: step.action, state: tampered });
    expect(flagged.state.ghost.violations).toContain(SYNC_NOT_ZOOKEEPERS);
    expect(spec.properties.find((p) => p.name === 'syncAsZooKeeper')!.check(flagged.state)).toBe(false);
  });
});
