// FileTxnSnapLog plus the epoch files: the real Disk under dataDir/version-2.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Disk, EpochFile, Recovered } from '../core/disk.ts';
import type { Txn, Zxid } from '../core/types.ts';
import type { SnapshotImage } from '../zk/datatree.ts';
import { writeFileAtomic } from './files.ts';
import { listSnapshots, loadNewestSnapshot, removeSnapshots, writeSnapshotAsync, writeSnapshotSync } from './snapshot.ts';
import { FileTxnLog } from './txnlog.ts';

/** How many snapshots (and the logs after the oldest of them) are kept. */
const SNAP_RETAIN = 3;

export class StorageError extends Error {}

export class FileDisk implements Disk {
  readonly dir: string;
  readonly log: FileTxnLog;
  private snapshotting: Promise<void> | null = null;
  /** Bumped by TRUNC and SNAP: a background snapshot started before them must not be published. */
  private history = 0;

  constructor(
    dataDir: string,
    private readonly warn: (line: string) => void,
  ) {
    this.dir = join(dataDir, 'version-2');
    mkdirSync(this.dir, { recursive: true });
    this.log = new FileTxnLog(this.dir);
  }

  load(): Recovered {
    const warnings: string[] = [];
    const snap = loadNewestSnapshot(this.dir, (w) => warnings.push(w));
    const txns = this.log.readAll((w) => warnings.push(w)).filter((t) => t.zxid > snap.zxid);
    return { currentEpoch: this.readEpoch('currentEpoch'), acceptedEpoch: this.readEpoch('acceptedEpoch'), snapshotZxid: snap.zxid, data: snap.data, txns, warnings };
  }

  append(txn: Txn): void {
    this.log.append(txn);
  }

  get dirty(): boolean {
    return this.log.dirty;
  }

  flush(): void {
    this.log.flush();
  }

  syncAsync(done: (err: Error | null) => void): void {
    this.log.syncAsync(done);
  }

  truncate(zxid: Zxid): Recovered {
    this.history++;
    this.log.truncate(zxid);
    removeSnapshots(this.dir, (z) => z <= zxid);
    return this.load();
  }

  installSnapshot(zxid: Zxid, data: string): void {
    this.history++;
    writeSnapshotSync(this.dir, zxid, data);
    // The snapshot is the whole history now: older snapshots and every log go.
    removeSnapshots(this.dir, (z) => z === zxid);
    this.log.removeAll();
  }

  writeEpoch(file: EpochFile, value: number): void {
    writeFileAtomic(join(this.dir, file), `${value}\n`);
  }

  snapshot(zxid: Zxid, take: () => SnapshotImage): boolean {
    if (this.snapshotting) {
      this.warn(`snapshot at 0x${zxid.toString(16)} skipped: the previous one is still being written`);
      return false;
    }
    // Later txns go to a new log file, so the files before it can be purged once enough snapshots exist.
    this.log.roll();
    const history = this.history;
    const image = take();
    this.snapshotting = writeSnapshotAsync(this.dir, image, () => history === this.history)
      .then((published) => {
        if (!published) return;
        const snaps = listSnapshots(this.dir);
        const oldest = snaps[Math.min(SNAP_RETAIN, snaps.length) - 1];
        removeSnapshots(this.dir, (z) => z >= (oldest?.zxid ?? 0));
        if (oldest) this.log.purgeBefore(oldest.zxid);
      })
      .catch((e: unknown) => this.warn(`snapshot at 0x${zxid.toString(16)} failed: ${(e as Error).message}`))
      .finally(() => {
        image.release();
        this.snapshotting = null;
      });
    return true;
  }

  close(): void {
    this.log.close();
  }

  private readEpoch(file: EpochFile): number | null {
    const path = join(this.dir, file);
    if (!existsSync(path)) return null;
    const text = readFileSync(path, 'utf8').trim();
    if (!/^\d+$/.test(text)) throw new StorageError(`${path}: expected a decimal epoch, found ${JSON.stringify(text.slice(0, 20))}`);
    return Number(text);
  }
}
