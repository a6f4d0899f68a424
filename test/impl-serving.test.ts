// What a server's clients may see, told on the protocol core under the simulated network: never a txn that no
// quorum committed (nemesis seed 16: an isolated leader's clients read a delete the next epoch did not have), and
// after a sync every write committed before it (nemesis seeds 8, 39, 40: sync was answered locally).
import { describe, expect, it } from 'vitest';
import { SimCluster, createRequest, deleteRequest, sessionRequest } from '../impl/sim.ts';
import type { LearnerType, Request, Sid } from '../impl/core/types.ts';
import { OpCode } from '../impl/zkwire/codes.ts';
import { SIM_SESSION } from '../impl/sim.ts';

const syncRequest = (): Request => ({ sessionId: SIM_SESSION, cxid: 0, type: OpCode.sync, request: { path: '/' }, authInfo: [] });

const three = (): Map<Sid, LearnerType> => new Map<Sid, LearnerType>([
  [1, 'participant'],
  [2, 'participant'],
  [3, 'participant'],
]);

/** A 3-server ensemble with a leader, the clients' session and `/k` committed on every server. */
function ensembleWithKey(seed: number): { sim: SimCluster; leader: Sid } {
  const sim = new SimCluster({ seed, servers: three() });
  sim.start();
  sim.runFor(3000);
  const [leader] = sim.leaders();
  expect(leader).toBeDefined();
  sim.write(leader!, -1, sessionRequest());
  sim.write(leader!, 1, createRequest('k', 'v'));
  sim.runFor(500);
  for (const n of sim.nodes.values()) expect(n.peer.db.tree.getNode('/k')).toBeDefined();
  return { sim, leader: leader! };
}

describe('a server shows its clients committed txns only', () => {
  it('an isolated leader logs a delete no quorum commits; it closes its clients before it applies it on stepping down', () => {
    const { sim, leader } = ensembleWithKey(16);
    const others = [1, 2, 3].filter((s) => s !== leader);
    for (const o of others) sim.partition(leader, o, true);
    // The delete reaches the cut-off leader: it prepares, logs and proposes it, and nobody ACKs it.
    sim.write(leader, 2, deleteRequest('k'));
    const old = sim.nodes.get(leader)!;
    const del = old.peer.lastLoggedZxid;
    expect(old.peer.db.lastProcessedZxid).toBeLessThan(del);
    expect(old.peer.db.tree.getNode('/k')).toBeDefined();
    // Within a tick the leader finds no synced quorum and steps down; as ZooKeeper's fastForwardDataBase it applies its logged
    // tail, but only after every client connection of its serving time is closed.
    sim.runFor(3000);
    const view = old.view;
    expect(view).toContain(del);
    expect(view.indexOf('closed')).toBeGreaterThanOrEqual(0);
    expect(view.indexOf('closed')).toBeLessThan(view.indexOf(del));
    // The write's client was told nothing but the loss of its connection.
    expect(sim.replies.get(`${leader}:2`)).toMatchObject({ ok: false });
    // The others elected a leader of a new epoch without the delete; after the heal the old leader joins and
    // is brought back to the committed history (TRUNC or SNAP): /k is there on every server.
    for (const o of others) sim.partition(leader, o, false);
    sim.runFor(8000);
    expect(sim.leaders()).toHaveLength(1);
    expect(sim.leaders()[0]).not.toBe(leader);
    for (const [sid, n] of sim.nodes) expect(n.peer.db.tree.getNode('/k'), `server ${sid}`).toBeDefined();
  });

  it('a follower cut off from its leader closes its clients when it gives up on it', () => {
    const { sim, leader } = ensembleWithKey(3);
    const follower = [1, 2, 3].find((s) => s !== leader)!;
    for (const s of [1, 2, 3]) if (s !== follower) sim.partition(follower, s, true);
    sim.runFor(3000);
    const n = sim.nodes.get(follower)!;
    expect(n.peer.state).toBe('LOOKING');
    expect(n.view.at(-1)).toBe('closed');
  });
});

describe('sync goes through the leader (Learner.sync, Leader.processSync)', () => {
  for (const seed of [1, 2, 3]) {
    it(`a follower answers a sync after applying every write the leader proposed before it took the sync (seed ${seed})`, () => {
      const { sim, leader } = ensembleWithKey(seed);
      const follower = [1, 2, 3].find((s) => s !== leader)!;
      // Ten writes through the leader, and at the same instant a sync on the follower: the sync reaches the
      // leader after the writes were proposed, so its answer must come after their COMMITs.
      for (let i = 0; i < 10; i++) sim.write(leader, 100 + i, createRequest(`w${i}`, 'x'));
      sim.write(follower, 200, syncRequest());
      const proposed = sim.nodes.get(leader)!.peer.lastLoggedZxid;
      sim.runFor(500);
      const synced = sim.syncs.get(`${follower}:200`);
      expect(synced).toBeDefined();
      expect(synced!).toBeGreaterThanOrEqual(proposed);
      // The SYNC is not a protocol step of the spec: nothing of it is in the transition log.
      for (const n of sim.nodes.values()) expect(n.trace.some((e) => JSON.stringify(e).includes('SYNC'))).toBe(false);
    });
  }

  it('a leader answers a sync of its own client once a quorum answered a PING sent after it', () => {
    const { sim, leader } = ensembleWithKey(4);
    sim.write(leader, 300, syncRequest());
    expect(sim.syncs.has(`${leader}:300`)).toBe(false);
    sim.runFor(100);
    expect(sim.syncs.get(`${leader}:300`)).toBe(sim.nodes.get(leader)!.peer.db.lastProcessedZxid);
  });

  it('a leader cut off from its followers never answers a sync: the client loses its connection', () => {
    const { sim, leader } = ensembleWithKey(5);
    for (const o of [1, 2, 3]) if (o !== leader) sim.partition(leader, o, true);
    sim.write(leader, 301, syncRequest());
    sim.runFor(3000);
    expect(sim.syncs.has(`${leader}:301`)).toBe(false);
    expect(sim.replies.get(`${leader}:301`)).toMatchObject({ ok: false });
  });

  it('a follower cut off from its leader never answers a sync: the client loses its connection', () => {
    const { sim, leader } = ensembleWithKey(6);
    const follower = [1, 2, 3].find((s) => s !== leader)!;
    sim.partition(follower, leader, true);
    sim.write(follower, 302, syncRequest());
    sim.runFor(3000);
    expect(sim.syncs.has(`${follower}:302`)).toBe(false);
    expect(sim.replies.get(`${follower}:302`)).toMatchObject({ ok: false });
  });

  it('a leader alone in an ensemble of one answers a sync at once', () => {
    const sim = new SimCluster({ seed: 3, servers: new Map<Sid, LearnerType>([[1, 'participant']]) });
    sim.start();
    sim.runFor(2000);
    sim.write(1, -1, sessionRequest());
    sim.runFor(100);
    sim.write(1, 1, syncRequest());
    sim.runFor(10);
    expect(sim.syncs.get('1:1')).toBe(0x100000001);
  });
});
