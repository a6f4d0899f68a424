// The core's view of dataDir. The real implementation (storage/filedisk.ts) writes files; MemDisk keeps the
// same contract in memory for the simulated network. Appends are buffered: the runtime makes them durable
// (fsync) before any message sent after them leaves the process.
import type { DataTree, SnapshotImage } from '../zk/datatree.ts';
import { broken } from './breaks.ts';
import type { Txn, Zxid } from './types.ts';

export interface Recovered {
  readonly currentEpoch: number | null;
  readonly acceptedEpoch: number | null;
  readonly snapshotZxid: Zxid;
  /**
   * The snapshot's tree and sessions: the tree itself when the disk had to read it whole anyway (a snapshot file
   * is checked by loading it), or the base64 of its bytes (ZKDatabase.serialize); null: no snapshot, an empty tree.
   */
  readonly data: DataTree | string | null;
  /** Log records after the snapshot, in zxid order. */
  readonly txns: readonly Txn[];
  readonly warnings: readonly string[];
}

export type EpochFile = 'currentEpoch' | 'acceptedEpoch';

export interface Disk {
  load(): Recovered;
  append(txn: Txn): void;
  /** Drop every logged txn after zxid and every snapshot newer than it; return what is left on disk. */
  truncate(zxid: Zxid): Recovered;
  /** Durably install a snapshot sent by the leader and start an empty log after it. */
  installSnapshot(zxid: Zxid, data: string): void;
  /** Atomic and durable when it returns (write, fsync, rename). */
  writeEpoch(file: EpochFile, value: number): void;
  /**
   * Take a snapshot in the background: `take` gives the tree's image as of now (called at once, or not at all
   * when the disk skips this one); the disk writes its pieces as it can and releases it. False: skipped.
   */
  snapshot(zxid: Zxid, take: () => SnapshotImage): boolean;
}

/** An in-memory disk for the simulated network; `crash()` drops what a real fsync would not have kept. */
export class MemDisk implements Disk {
  private txns: Txn[] = [];
  private synced = 0;
  private snap: { zxid: Zxid; data: string | null } = { zxid: 0, data: null };
  private epochs: Record<EpochFile, number | null> = { currentEpoch: null, acceptedEpoch: null };

  load(): Recovered {
    const txns = this.txns.filter((t) => t.zxid > this.snap.zxid);
    return { ...this.epochs, snapshotZxid: this.snap.zxid, data: this.snap.data, txns, warnings: [] };
  }
  append(txn: Txn): void {
    this.txns.push(txn);
  }
  sync(): void {
    // The test-only breakage ackBeforeFsync: the newest append stays volatile until another one follows it.
    this.synced = broken('ackBeforeFsync') ? Math.max(this.synced, this.txns.length - 1) : this.txns.length;
  }
  truncate(zxid: Zxid): Recovered {
    this.txns = this.txns.filter((t) => t.zxid <= zxid);
    this.synced = Math.min(this.synced, this.txns.length);
    if (this.snap.zxid > zxid) this.snap = { zxid: 0, data: null };
    return this.load();
  }
  installSnapshot(zxid: Zxid, data: string): void {
    this.snap = { zxid, data };
    this.txns = [];
    this.synced = 0;
  }
  writeEpoch(file: EpochFile, value: number): void {
    this.epochs[file] = value;
  }
  snapshot(zxid: Zxid, take: () => SnapshotImage): boolean {
    const image = take();
    try {
      const pieces: Buffer[] = [];
      for (let r = image.pieces.next(); !r.done; r = image.pieces.next()) pieces.push(r.value);
      this.snap = { zxid, data: Buffer.concat(pieces).toString('base64') };
    } finally {
      image.release();
    }
    return true;
  }
  /** What survives a power loss: the synced prefix of the log. */
  crash(): void {
    this.txns = this.txns.slice(0, this.synced);
  }
}
