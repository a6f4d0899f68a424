// The protocol core under the seeded simulated network: election, replication, leader crash, TRUNC, SNAP.
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../impl/sim.ts';
import type { LearnerType, Sid } from '../impl/core/types.ts';

function servers(n: number, observers = 0): Map<Sid, LearnerType> {
  const m = new Map<Sid, LearnerType>();
  for (let i = 1; i <= n; i++) m.set(i, 'participant');
  for (let i = 1; i <= observers; i++) m.set(n + i, 'observer');
  return m;
}

function states(sim: SimCluster): string {
  return [...sim.nodes].map(([s, n]) => `${s}:${n.up ? n.peer.state : 'DOWN'}`).join(' ');
}

function dataOf(sim: SimCluster, sid: Sid): string {
  return JSON.stringify(sim.nodes.get(sid)!.peer.db.entries().sort());
}

describe('simulated ensemble', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`elects one leader that every server follows (seed ${seed})`, () => {
      const sim = new SimCluster({ seed, servers: servers(3, 1) });
      sim.start();
      sim.runFor(5000);
      expect(sim.leaders(), states(sim)).toHaveLength(1);
      const leader = sim.leaders()[0]!;
      // The leader has the highest (epoch, zxid, sid): with empty logs, server 3.
      expect(leader).toBe(3);
      for (const [sid, n] of sim.nodes) {
        if (sid === leader) continue;
        expect(n.peer.state).toBe(sid === 4 ? 'OBSERVING' : 'FOLLOWING');
        expect(n.peer.learner?.phase).toBe('broadcast');
        expect(n.peer.currentVote?.leader).toBe(leader);
      }
    });
  }

  it('replicates writes through every server and survives a leader crash', () => {
    const sim = new SimCluster({ seed: 7, servers: servers(3, 1) });
    sim.start();
    sim.runFor(3000);
    for (let i = 0; i < 40; i++) sim.write((i % 4) + 1, i, { op: 'set', key: `k${i}`, value: `v${i}` });
    sim.runFor(2000);
    for (let i = 0; i < 40; i++) expect(sim.replies.get(`${(i % 4) + 1}:${i}`)?.ok, `write ${i}`).toBe(true);
    const before = sim.leaders()[0]!;
    sim.crash(before);
    sim.runFor(8000);
    const after = sim.leaders();
    expect(after, states(sim)).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    const newLeader = after[0]!;
    for (let i = 40; i < 60; i++) sim.write(newLeader, i, { op: 'set', key: `k${i}`, value: `v${i}` });
    sim.runFor(1000);
    sim.restart(before);
    sim.runFor(8000);
    expect(sim.nodes.get(before)!.peer.state).toBe('FOLLOWING');
    const want = dataOf(sim, newLeader);
    expect(JSON.parse(want)).toHaveLength(60);
    for (const sid of sim.nodes.keys()) expect(dataOf(sim, sid), `server ${sid}`).toBe(want);
    const syncs = sim.nodes.get(newLeader)!.trace.filter((e) => e.action === 'LeaderSyncFollower' && e.params?.['peer'] === before);
    expect(syncs.at(-1)?.params?.['mode']).toBe('DIFF');
  });

  it('sends SNAP to a follower that fell behind the committed-log window', () => {
    const sim = new SimCluster({ seed: 11, servers: servers(3), commitLogCount: 10 });
    sim.start();
    sim.runFor(3000);
    const leader = sim.leaders()[0]!;
    const lagger = [1, 2, 3].find((s) => s !== leader)!;
    sim.crash(lagger);
    for (let i = 0; i < 30; i++) sim.write(leader, i, { op: 'set', key: `k${i}`, value: `v${i}` });
    sim.runFor(1000);
    sim.restart(lagger);
    sim.runFor(5000);
    const syncs = sim.nodes.get(leader)!.trace.filter((e) => e.action === 'LeaderSyncFollower' && e.params?.['peer'] === lagger);
    expect(syncs.at(-1)?.params?.['mode']).toBe('SNAP');
    expect(dataOf(sim, lagger)).toBe(dataOf(sim, leader));
  });

  it('truncates an old leader proposal that no follower logged', () => {
    const sim = new SimCluster({ seed: 5, servers: servers(3) });
    sim.start();
    sim.runFor(3000);
    const old = sim.leaders()[0]!;
    for (let i = 0; i < 5; i++) sim.write(old, i, { op: 'set', key: `k${i}`, value: `v${i}` });
    sim.runFor(500);
    const others = [1, 2, 3].filter((s) => s !== old);
    for (const s of others) sim.partition(old, s, true);
    sim.write(old, 99, { op: 'set', key: 'lost', value: 'x' });
    sim.runFor(8000);
    expect(sim.replies.get(`${old}:99`)?.ok).not.toBe(true);
    const next = sim.leaders();
    expect(next, states(sim)).toHaveLength(1);
    for (let i = 5; i < 10; i++) sim.write(next[0]!, i, { op: 'set', key: `k${i}`, value: `v${i}` });
    sim.runFor(500);
    for (const s of others) sim.partition(old, s, false);
    sim.runFor(8000);
    const syncs = sim.nodes.get(next[0]!)!.trace.filter((e) => e.action === 'LeaderSyncFollower' && e.params?.['peer'] === old);
    expect(syncs.at(-1)?.params?.['mode']).toBe('TRUNC');
    expect(sim.nodes.get(old)!.peer.db.get('lost')).toBeUndefined();
    expect(dataOf(sim, old)).toBe(dataOf(sim, next[0]!));
  });
});
