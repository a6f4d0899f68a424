// The durability gate: nothing leaves while the log has appends that no completed fsync covers.
import { describe, expect, it } from 'vitest';
import { DurableOutbox, type SyncableLog } from '../impl/outbox.ts';
import { leavesEarly } from '../impl/server.ts';
import { SimCluster, createRequest } from '../impl/sim.ts';
import type { Effect, LearnerType, Sid } from '../impl/core/types.ts';

/** A log whose fsyncs complete only when the test says so. */
class FakeLog implements SyncableLog {
  appended = 0;
  synced = 0;
  inFlight: { upTo: number; done: (err: Error | null) => void }[] = [];
  get dirty(): boolean {
    return this.appended > this.synced;
  }
  append(): void {
    this.appended++;
  }
  syncAsync(done: (err: Error | null) => void): void {
    this.inFlight.push({ upTo: this.appended, done });
  }
  complete(err: Error | null = null): void {
    const s = this.inFlight.shift()!;
    if (!err) this.synced = Math.max(this.synced, s.upTo);
    s.done(err);
  }
}

function setup() {
  const log = new FakeLog();
  const deferred: (() => void)[] = [];
  const errors: Error[] = [];
  const outbox = new DurableOutbox(log, (e) => errors.push(e), (f) => deferred.push(f));
  const sent: string[] = [];
  const turn = () => deferred.splice(0).forEach((f) => f());
  return { log, outbox, sent, turn, errors };
}

describe('DurableOutbox', () => {
  it('sends at once when nothing is pending on disk', () => {
    const { outbox, sent } = setup();
    outbox.send(() => sent.push('a'));
    expect(sent).toEqual(['a']);
  });

  it('holds messages after an append until the fsync that covers it completes, in order', () => {
    const { log, outbox, sent, turn } = setup();
    log.append();
    outbox.send(() => sent.push('ack1'));
    outbox.send(() => sent.push('reply1'));
    expect(sent).toEqual([]);
    turn(); // end of the event-loop turn: the fsync starts
    expect(log.inFlight).toHaveLength(1);
    expect(sent).toEqual([]);
    log.complete();
    expect(sent).toEqual(['ack1', 'reply1']);
  });

  it('holds messages made while an fsync is in flight, and those after new appends wait for the next fsync', () => {
    const { log, outbox, sent, turn } = setup();
    log.append();
    outbox.send(() => sent.push('ack1'));
    turn();
    // fsync #1 in flight; a message with no new append waits for it, one after a new append for fsync #2.
    outbox.send(() => sent.push('ping'));
    log.append();
    outbox.send(() => sent.push('ack2'));
    log.complete();
    expect(sent).toEqual(['ack1']);
    turn();
    expect(log.inFlight).toHaveLength(1);
    expect(sent).toEqual(['ack1']);
    log.complete();
    expect(sent).toEqual(['ack1', 'ping', 'ack2']);
    expect(log.dirty).toBe(false);
  });

  it('runs afterSync callbacks only after an fsync, even when nothing is dirty', () => {
    const { log, outbox, sent, turn } = setup();
    outbox.afterSync(() => sent.push('synced'));
    expect(sent).toEqual([]);
    turn();
    log.complete();
    expect(sent).toEqual(['synced']);
  });

  it('never releases held messages when the fsync fails', () => {
    const { log, outbox, sent, turn, errors } = setup();
    log.append();
    outbox.send(() => sent.push('ack'));
    turn();
    log.complete(new Error('EIO'));
    expect(sent).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['EIO']);
  });
});

describe('DurableOutbox: what leaves before the fsync (sendEarly)', () => {
  it("a leader's PROPOSAL leaves before its own fsync completes; an ACK and a client reply do not", () => {
    const { log, outbox, sent, turn } = setup();
    log.append(); // the leader logs the txn ...
    outbox.sendEarly(() => sent.push('PROPOSAL to 2'), 'a1'); // ... and proposes it at once
    outbox.sendEarly(() => sent.push('PROPOSAL to 3'), 'a2');
    outbox.send(() => sent.push('ACK to 1'), 'c1');
    outbox.send(() => sent.push('reply'));
    expect(sent).toEqual(['PROPOSAL to 2', 'PROPOSAL to 3']);
    turn(); // the fsync starts
    outbox.sendEarly(() => sent.push('COMMIT to 2'), 'a1'); // while it is in flight
    expect(sent).toEqual(['PROPOSAL to 2', 'PROPOSAL to 3', 'COMMIT to 2']);
    log.complete();
    expect(sent).toEqual(['PROPOSAL to 2', 'PROPOSAL to 3', 'COMMIT to 2', 'ACK to 1', 'reply']);
  });

  it('never lets an early message overtake a held one to the same connection; other connections are not held up', () => {
    const { log, outbox, sent, turn } = setup();
    log.append();
    outbox.send(() => sent.push('close a1'), 'a1');
    outbox.sendEarly(() => sent.push('PING a1'), 'a1');
    outbox.sendEarly(() => sent.push('PING a2'), 'a2');
    expect(sent).toEqual(['PING a2']);
    turn();
    // Still held while the fsync is in flight: its predecessor has not left.
    outbox.sendEarly(() => sent.push('COMMIT a1'), 'a1');
    expect(sent).toEqual(['PING a2']);
    log.complete();
    expect(sent.slice(0, 3)).toEqual(['PING a2', 'close a1', 'PING a1']);
    turn(); // COMMIT a1 came after the batch was taken: it goes with the next one
    log.complete();
    expect(sent).toEqual(['PING a2', 'close a1', 'PING a1', 'COMMIT a1']);
    // Once nothing is held for a1, it leaves at once again, dirty log or not.
    log.append();
    outbox.sendEarly(() => sent.push('PROPOSAL a1'), 'a1');
    expect(sent.at(-1)).toBe('PROPOSAL a1');
  });

  it('an early message queued behind a held one is lost with it when the fsync fails', () => {
    const { log, outbox, sent, turn, errors } = setup();
    log.append();
    outbox.send(() => sent.push('ACK'), 'c1');
    outbox.sendEarly(() => sent.push('early'), 'c1');
    turn();
    log.complete(new Error('EIO'));
    expect(sent).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  it('a message made while a batch is sent (by an afterSync callback) follows the rest of that batch', () => {
    const { log, outbox, sent, turn } = setup();
    log.append();
    outbox.afterSync(() => outbox.send(() => sent.push('reply 2'), 'c1'));
    outbox.send(() => sent.push('reply 1'), 'c1');
    turn();
    log.complete();
    expect(sent).toEqual(['reply 1', 'reply 2']);
  });
});

describe('which quorum packets leave early (server.ts leavesEarly), on a simulated ensemble', () => {
  function ensemble() {
    const servers = new Map<Sid, LearnerType>([
      [1, 'participant'],
      [2, 'participant'],
      [3, 'participant'],
    ]);
    const sim = new SimCluster({ seed: 7, servers });
    sim.start();
    sim.runFor(5000);
    const leaderSid = sim.leaders()[0]!;
    const leader = sim.nodes.get(leaderSid)!.peer;
    const followerSid = [...sim.nodes.keys()].find((s) => s !== leaderSid)!;
    const follower = sim.nodes.get(followerSid)!.peer;
    expect(leader.leader?.phase).toBe('broadcast');
    expect(follower.learner?.phase).toBe('broadcast');
    return { leader, follower, followerSid };
  }
  const packets = (effects: Effect[]) => effects.flatMap((e) => (e.kind === 'sendQuorum' ? [e] : []));

  it("a leader's PROPOSAL and COMMIT leave early; the follower's ACK, REQUEST and PING wait", () => {
    const { leader, follower, followerSid } = ensemble();
    // A write on the leader: PROPOSALs go early, and the leader's own ACK waits for its fsync (a sync effect).
    const proposed = leader.step({ kind: 'clientWrite', req: 1, request: createRequest('k', 'v') });
    const proposals = packets(proposed);
    expect(proposals.map((e) => e.msg.type)).toEqual(['PROPOSAL', 'PROPOSAL']);
    for (const e of proposals) expect(leavesEarly(leader, e.conn, e.msg)).toBe(true);
    expect(proposed.some((e) => e.kind === 'sync')).toBe(true);
    // The follower logs it and asks for the fsync (sync); once it is done (logSynced) it ACKs (FollowerFlushLog):
    // the ACK waits too.
    const toFollower = proposals.find((e) => e.msg.to === followerSid)!;
    const conn = follower.learner!.conn;
    const logged = follower.step({ kind: 'quorum', conn, msg: toFollower.msg });
    expect(packets(logged)).toEqual([]);
    expect(logged.some((e) => e.kind === 'sync')).toBe(true);
    const acked = packets(follower.step({ kind: 'logSynced', zxid: toFollower.msg.type === 'PROPOSAL' ? toFollower.msg.zxid : 0 }));
    expect(acked.map((e) => e.msg.type)).toEqual(['ACK']);
    expect(leavesEarly(follower, acked[0]!.conn, acked[0]!.msg)).toBe(false);
    // Its ACK completes a quorum with the leader's (logSynced): COMMITs go early.
    leader.step({ kind: 'logSynced', zxid: toFollower.msg.type === 'PROPOSAL' ? toFollower.msg.zxid : 0 });
    const commits = packets(leader.step({ kind: 'quorum', conn: toFollower.conn, msg: acked[0]!.msg }));
    expect(commits.map((e) => e.msg.type)).toContain('COMMIT');
    for (const e of commits) expect(leavesEarly(leader, e.conn, e.msg)).toBe(true);
    // A follower's forwarded write and its answer to the leader's PING wait, although PING is also a leader packet.
    const forwarded = packets(follower.step({ kind: 'clientWrite', req: 2, request: createRequest('k2', 'v') }));
    expect(forwarded.map((e) => e.msg.type)).toEqual(['REQUEST']);
    expect(leavesEarly(follower, forwarded[0]!.conn, forwarded[0]!.msg)).toBe(false);
    const ping = { id: `${leader.myid}:0`, from: leader.myid, to: followerSid, type: 'PING' } as const;
    const pong = packets(follower.step({ kind: 'quorum', conn, msg: ping }));
    expect(pong.map((e) => e.msg.type)).toEqual(['PING']);
    expect(leavesEarly(follower, pong[0]!.conn, pong[0]!.msg)).toBe(false);
    // A leader packet type on a connection that is not one of the leader's learners waits too.
    expect(leavesEarly(leader, 'no-such-conn', toFollower.msg)).toBe(false);
  });
});
