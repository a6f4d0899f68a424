// What a server's clients may see, told on the protocol core under the simulated network: never a txn that no
// quorum committed (nemesis seed 16: an isolated leader's clients read a delete the next epoch did not have).
import { describe, expect, it } from 'vitest';
import { SimCluster, createRequest, deleteRequest, sessionRequest } from '../impl/sim.ts';
import type { LearnerType, Sid } from '../impl/core/types.ts';

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
