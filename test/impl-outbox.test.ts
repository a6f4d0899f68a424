// The durability gate: nothing leaves while the log has appends that no completed fsync covers.
import { describe, expect, it } from 'vitest';
import { DurableOutbox, type SyncableLog } from '../impl/outbox.ts';

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
