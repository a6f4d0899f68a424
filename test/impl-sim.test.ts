// The protocol core under the seeded simulated network: election, replication, leader crash, TRUNC, SNAP.
import { describe, expect, it } from 'vitest';
import { SimCluster, createRequest, sessionRequest } from '../impl/sim.ts';
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

/** Everything a client could see of a server's tree and sessions. */
function dataOf(sim: SimCluster, sid: Sid): string {
  return sim.nodes.get(sid)!.peer.db.tree.digest();
}

/** The clients' session, created through the leader like any write. */
function openSession(sim: SimCluster): void {
  for (const l of sim.leaders()) sim.write(l, -1, sessionRequest());
  sim.runFor(500);
}

/** The keys (top-level znodes other than /zookeeper) a server holds. */
function keys(sim: SimCluster, sid: Sid): string[] {
  return sim.nodes.get(sid)!.peer.db.tree.getChildren('/')!.filter((c) => c !== 'zookeeper');
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

  it('runs an ensemble of one server: it leads alone and takes writes', () => {
    const sim = new SimCluster({ seed: 3, servers: servers(1) });
    sim.start();
    sim.runFor(2000);
    expect(sim.leaders()).toEqual([1]);
    openSession(sim);
    sim.write(1, 1, createRequest('a', 'b'));
    sim.runFor(100);
    const reply = sim.replies.get('1:1');
    expect(reply?.ok && reply.zxid).toBe(0x100000002);
    expect(reply?.ok && reply.applied.rc).toMatchObject({ err: 0, path: '/a' });
  });

  it('resends its vote on a notification timeout that doubles up to maxNotificationInterval', () => {
    const sim = new SimCluster({ seed: 9, servers: servers(3) });
    for (const other of [2, 3]) sim.partition(1, other, true);
    sim.start();
    sim.runFor(8000);
    const timeouts = sim.nodes.get(1)!.trace.filter((e) => e.action === 'FLENotificationTimeout').map((e) => e.params?.['notTimeout']);
    // finalizeWait (200) doubled, capped at the sim's maxNotificationInterval (2000).
    expect(timeouts.slice(0, 6)).toEqual([400, 800, 1600, 2000, 2000, 2000]);
    expect(sim.nodes.get(1)!.peer.state).toBe('LOOKING');
  });

  it('replicates writes through every server and survives a leader crash', () => {
    const sim = new SimCluster({ seed: 7, servers: servers(3, 1) });
    sim.start();
    sim.runFor(3000);
    openSession(sim);
    for (let i = 0; i < 40; i++) sim.write((i % 4) + 1, i, createRequest(`k${i}`, `v${i}`));
    sim.runFor(2000);
    for (let i = 0; i < 40; i++) expect(sim.replies.get(`${(i % 4) + 1}:${i}`)?.ok, `write ${i}`).toBe(true);
    const before = sim.leaders()[0]!;
    sim.crash(before);
    sim.runFor(8000);
    const after = sim.leaders();
    expect(after, states(sim)).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    const newLeader = after[0]!;
    for (let i = 40; i < 60; i++) sim.write(newLeader, i, createRequest(`k${i}`, `v${i}`));
    sim.runFor(1000);
    sim.restart(before);
    sim.runFor(8000);
    expect(sim.nodes.get(before)!.peer.state).toBe('FOLLOWING');
    const want = dataOf(sim, newLeader);
    expect(keys(sim, newLeader)).toHaveLength(60);
    for (const sid of sim.nodes.keys()) expect(dataOf(sim, sid), `server ${sid}`).toBe(want);
    const syncs = sim.nodes.get(newLeader)!.trace.filter((e) => e.action === 'LeaderSyncFollower' && e.params?.['peer'] === before);
    expect(syncs.at(-1)?.params?.['mode']).toBe('DIFF');
  });

  for (const role of ['follower', 'leader'] as const) {
    it(`a ${role} whose role ends while its log awaits an fsync goes LOOKING, and logs it, only once the fsync is done`, () => {
      // ZooKeeper's rule: the role's shutdown stops the SyncRequestProcessor, whose shutdown flushes its queue,
      // before the peer sets itself LOOKING; a vote never carries a zxid the log could still lose.
      let slow: Sid | null = null;
      // When (virtual ms) the role-ending step was logged, and the log's last zxid then.
      const atEnd = new Map<Sid, { at: number; logged: number }>();
      const sim: SimCluster = new SimCluster({
        seed: 5,
        servers: servers(3),
        fsyncDelay: (sid) => (sid === slow ? 2000 : 1),
        onTrace: (sid, e) => {
          // A leader's ConnectionLost is one learner's handler closing; its role ends with LeaderStepDown.
          const ends = role === 'leader' ? ['LeaderStepDown'] : ['ConnectionLost', 'LearnerTimeout'];
          if (ends.includes(e.action) && sid === slow && !atEnd.has(sid))
            atEnd.set(sid, { at: sim.now, logged: sim.nodes.get(sid)!.peer.lastLoggedZxid });
        },
      });
      sim.start();
      sim.runFor(3000);
      openSession(sim);
      const leader = sim.leaders()[0]!;
      const follower = [...sim.nodes.keys()].find((s) => s !== leader)!;
      const other = [...sim.nodes.keys()].find((s) => s !== leader && s !== follower)!;
      slow = role === 'leader' ? leader : follower;
      // The simulator's fsync of this server takes 2 s: the logSynced of the write's txn comes after fsyncDone.
      sim.write(leader, 1, createRequest('k', 'v'));
      const fsyncDone = sim.now + 2000;
      sim.runFor(50);
      const pending = sim.nodes.get(slow)!.peer.lastLoggedZxid;
      // The follower loses its leader; the leader loses both followers.
      if (role === 'follower') sim.crash(leader);
      else {
        sim.crash(follower);
        sim.crash(other);
      }
      sim.runFor(1500);
      expect(sim.nodes.get(slow)!.peer.state, 'still in its role, waiting for the flush').toBe(role === 'leader' ? 'LEADING' : 'FOLLOWING');
      expect(atEnd.has(slow), 'no role-ending step logged yet').toBe(false);
      sim.runFor(1000);
      expect(atEnd.get(slow)!.at, 'logged after the fsync').toBeGreaterThanOrEqual(fsyncDone);
      expect(atEnd.get(slow)!.logged).toBe(pending);
      const trace = sim.nodes.get(slow)!.trace.map((e) => e.action);
      const end = trace.lastIndexOf(role === 'leader' ? 'LeaderStepDown' : 'ConnectionLost');
      expect(trace[end + 1]).toBe('FLEStartElection');
    });
  }

  it('sends SNAP to a follower that fell behind the committed-log window', () => {
    const sim = new SimCluster({ seed: 11, servers: servers(3), commitLogCount: 10 });
    sim.start();
    sim.runFor(3000);
    const leader = sim.leaders()[0]!;
    openSession(sim);
    const lagger = [1, 2, 3].find((s) => s !== leader)!;
    sim.crash(lagger);
    for (let i = 0; i < 30; i++) sim.write(leader, i, createRequest(`k${i}`, `v${i}`));
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
    openSession(sim);
    for (let i = 0; i < 5; i++) sim.write(old, i, createRequest(`k${i}`, `v${i}`));
    sim.runFor(500);
    const others = [1, 2, 3].filter((s) => s !== old);
    for (const s of others) sim.partition(old, s, true);
    sim.write(old, 99, createRequest('lost', 'x'));
    sim.runFor(8000);
    expect(sim.replies.get(`${old}:99`)?.ok).not.toBe(true);
    const next = sim.leaders();
    expect(next, states(sim)).toHaveLength(1);
    // Healed before the new leader commits in its epoch: the old leader's extra txn is then TRUNCated (with a
    // txn of the new epoch after it, ZooKeeper would not TRUNC across the epoch boundary but send a SNAP).
    for (const s of others) sim.partition(old, s, false);
    sim.runFor(8000);
    for (let i = 5; i < 10; i++) sim.write(next[0]!, i, createRequest(`k${i}`, `v${i}`));
    sim.runFor(500);
    const syncs = sim.nodes.get(next[0]!)!.trace.filter((e) => e.action === 'LeaderSyncFollower' && e.params?.['peer'] === old);
    expect(syncs.at(-1)?.params?.['mode']).toBe('TRUNC');
    expect(sim.nodes.get(old)!.peer.db.tree.getNode('/lost')).toBeUndefined();
    expect(dataOf(sim, old)).toBe(dataOf(sim, next[0]!));
  });
});

// VOPR-style: random crashes, restarts, partitions and writes; then a healthy phase in which the ensemble must
// converge. Safety: every acknowledged write survives, and all servers end with the same state.
describe('simulated ensemble under random faults', () => {
  function rand(seed: number): () => number {
    let a = seed * 7919 + 17;
    return () => {
      a = (a * 1103515245 + 12345) % 2147483648;
      return a / 2147483648;
    };
  }

  for (let seed = 1; seed <= 25; seed++) {
    it(`keeps every acknowledged write (seed ${seed})`, () => {
      const n = 3 + (seed % 2) * 2; // 3 or 5 participants
      const sim = new SimCluster({ seed, servers: servers(n, 1), commitLogCount: 20, snapCount: 15 });
      const r = rand(seed);
      const pick = <T,>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
      const sids = [...sim.nodes.keys()];
      const cuts: [number, number][] = [];
      const writes = new Map<string, { sid: number; req: number; key: string; value: string }>();
      let req = 0;
      sim.start();
      sim.runFor(3000);
      openSession(sim);
      for (let step = 0; step < 150; step++) {
        const x = r();
        const up = sids.filter((s) => sim.nodes.get(s)!.up);
        const down = sids.filter((s) => !sim.nodes.get(s)!.up);
        if (x < 0.05 && down.length < Math.floor(n / 2)) sim.crash(pick(up));
        else if (x < 0.12 && down.length) sim.restart(pick(down));
        else if (x < 0.16) {
          const a = pick(sids);
          const b = pick(sids.filter((s) => s !== a));
          sim.partition(a, b, true);
          cuts.push([a, b]);
        } else if (x < 0.22 && cuts.length) {
          const [a, b] = cuts.splice(Math.floor(r() * cuts.length), 1)[0]!;
          sim.partition(a, b, false);
        } else {
          for (let i = 0; i < 3; i++) {
            const sid = pick(up);
            const key = `s${seed}-${req}`;
            const value = `v${req}`;
            writes.set(`${sid}:${++req}`, { sid, req, key, value });
            sim.write(sid, req, createRequest(key, value));
          }
        }
        sim.runFor(50 + Math.floor(r() * 200));
      }
      // Healthy phase: heal, restart, let it settle.
      for (const [a, b] of cuts) sim.partition(a, b, false);
      for (const s of sids) if (!sim.nodes.get(s)!.up) sim.restart(s);
      sim.runFor(20_000);
      expect(sim.leaders(), states(sim)).toHaveLength(1);
      const ref = dataOf(sim, sim.leaders()[0]!);
      for (const s of sids) expect(dataOf(sim, s), `server ${s} vs the leader (${states(sim)})`).toBe(ref);
      const tree = sim.nodes.get(sim.leaders()[0]!)!.peer.db.tree;
      let acked = 0;
      for (const [id, w] of writes) {
        const reply = sim.replies.get(id);
        if (reply?.ok !== true) continue;
        expect(reply.applied.rc.err, `write ${w.key}`).toBe(0);
        acked++;
        expect(tree.getNode(`/${w.key}`)?.data?.toString(), `acknowledged write ${w.key}`).toBe(w.value);
      }
      expect(acked).toBeGreaterThan(0);
    });
  }
});
