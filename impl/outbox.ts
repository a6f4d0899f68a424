// The durability gate between the protocol core and the network: once the txn log has appends that are not
// fsynced, outgoing messages (to a peer or a client) wait; at the end of the event-loop turn one fsync covers
// them all (group commit), then they leave in order. Messages produced while that fsync is in flight wait for
// it too, and for the next one if they follow new appends. So nothing that acknowledges a write can leave
// before the write is durable.
//
// The one exception is `sendEarly`, for a message that vouches for nothing on this server's disk (a leader's
// PROPOSAL or COMMIT to its learners: ZooKeeper's leader sends a PROPOSAL before logging it). It leaves at
// once, unless a held message is waiting for the same connection: then it queues behind that one, so that it
// never overtakes it.

export interface SyncableLog {
  /** Appends not yet covered by a completed fsync. */
  readonly dirty: boolean;
  /** Make every append so far durable, then call back (off the event loop for a real file). */
  syncAsync(done: (err: Error | null) => void): void;
}

interface Held {
  readonly run: () => void;
  /** The connection it goes to (ordering of `sendEarly`), or null. */
  readonly key: string | null;
}

export class DurableOutbox {
  private held: Held[] = [];
  /** Held messages per connection, those of the fsync in flight included. */
  private heldPerKey = new Map<string, number>();
  /** The batch whose fsync just completed, while its messages are being sent. */
  private draining: Held[] | null = null;
  private flushScheduled = false;
  private syncing = false;
  private stopped = false;

  constructor(
    private readonly log: SyncableLog,
    private readonly onSyncError: (err: Error) => void,
    private readonly defer: (f: () => void) => void = setImmediate,
  ) {}

  /** Run `send` now if nothing is pending on the disk, else after the fsync that covers what came before. */
  send(send: () => void, key: string | null = null): void {
    if (!this.log.dirty && !this.syncing && this.held.length === 0) {
      // Made while a batch is being sent (by an afterSync callback): it follows the rest of that batch.
      if (this.draining) return this.enqueue(this.draining, send, key);
      return send();
    }
    this.hold(send, key);
  }

  /**
   * For a message whose sending claims nothing about this server's disk: run `send` now, whatever the log's
   * state, unless a message to the same connection (`key`) is held; then it goes right after that one.
   */
  sendEarly(send: () => void, key: string): void {
    if ((this.heldPerKey.get(key) ?? 0) === 0) return send();
    this.hold(send, key);
  }

  /** Run `f` after the next fsync completes, even if nothing is dirty (always asynchronously). */
  afterSync(f: () => void): void {
    this.hold(f, null);
  }

  stop(): void {
    this.stopped = true;
    this.held = [];
    this.heldPerKey.clear();
  }

  private hold(run: () => void, key: string | null): void {
    this.enqueue(this.held, run, key);
    this.scheduleFlush();
  }

  private enqueue(queue: Held[], run: () => void, key: string | null): void {
    queue.push({ run, key });
    if (key !== null) this.heldPerKey.set(key, (this.heldPerKey.get(key) ?? 0) + 1);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.syncing) return;
    this.flushScheduled = true;
    this.defer(() => {
      this.flushScheduled = false;
      if (!this.stopped) this.startSync();
    });
  }

  /** One group commit: everything held now leaves once the fsync of everything appended so far is done. */
  private startSync(): void {
    const batch = this.held;
    this.held = [];
    this.syncing = true;
    this.log.syncAsync((err) => {
      this.syncing = false;
      if (this.stopped) return;
      if (err) return this.onSyncError(err);
      this.draining = batch;
      try {
        // The batch may grow while it is sent (see send); those come last, in order.
        for (let i = 0; i < batch.length && !this.stopped; i++) {
          const h = batch[i]!;
          if (h.key !== null) {
            const n = (this.heldPerKey.get(h.key) ?? 1) - 1;
            if (n > 0) this.heldPerKey.set(h.key, n);
            else this.heldPerKey.delete(h.key);
          }
          h.run();
        }
      } finally {
        this.draining = null;
      }
      if (this.held.length) this.scheduleFlush();
    });
  }
}
