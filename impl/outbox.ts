// The durability gate between the protocol core and the network: once the txn log has appends that are not
// fsynced, every outgoing message (to a peer or a client) waits; at the end of the event-loop turn one fsync
// covers them all (group commit), then they leave in order. Messages produced while that fsync is in flight
// wait for it too, and for the next one if they follow new appends. So nothing that acknowledges a write
// can leave before the write is durable.

export interface SyncableLog {
  /** Appends not yet covered by a completed fsync. */
  readonly dirty: boolean;
  /** Make every append so far durable, then call back (off the event loop for a real file). */
  syncAsync(done: (err: Error | null) => void): void;
}

export class DurableOutbox {
  private held: (() => void)[] = [];
  private flushScheduled = false;
  private syncing = false;
  private stopped = false;

  constructor(
    private readonly log: SyncableLog,
    private readonly onSyncError: (err: Error) => void,
    private readonly defer: (f: () => void) => void = setImmediate,
  ) {}

  /** Run `send` now if nothing is pending on the disk, else after the fsync that covers what came before. */
  send(send: () => void): void {
    if (!this.log.dirty && !this.syncing && this.held.length === 0) return send();
    this.held.push(send);
    this.scheduleFlush();
  }

  /** Run `f` after the next fsync completes, even if nothing is dirty (always asynchronously). */
  afterSync(f: () => void): void {
    this.held.push(f);
    this.scheduleFlush();
  }

  stop(): void {
    this.stopped = true;
    this.held = [];
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
      for (const f of batch) f();
      if (this.held.length) this.scheduleFlush();
    });
  }
}
