// FileSnap: `snapshot.<hex zxid>` files in dataDir/version-2: magic, crc32 of the body, then the body: the
// DataTree with its sessions in jute (DataTree.serialize: the zxid, the sessions and their timeouts, then every
// znode parents first with its data, ACL and Stat). Written to a temp file, fsynced and renamed, so a crash
// leaves no half snapshot under the name.
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Zxid } from '../core/types.ts';
import { DataTree, type SnapshotImage } from '../zk/datatree.ts';
import { fsyncDir } from './files.ts';

const MAGIC = Buffer.from('ZKSN0002', 'ascii');

export interface Snapshot {
  readonly zxid: Zxid;
  /** The tree it holds, read once (checking a snapshot means loading it); null: no snapshot. */
  readonly data: DataTree | null;
}

export function listSnapshots(dir: string): { name: string; zxid: Zxid }[] {
  return readdirSync(dir)
    .map((name) => /^snapshot\.([0-9a-f]+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], zxid: parseInt(m[1]!, 16) }))
    .sort((a, b) => b.zxid - a.zxid);
}

function encode(data: string): Buffer {
  const body = Buffer.from(data, 'base64');
  const head = Buffer.allocUnsafe(MAGIC.length + 4);
  MAGIC.copy(head, 0);
  head.writeUInt32BE(crc32(body), MAGIC.length);
  return Buffer.concat([head, body]);
}

function decode(buf: Buffer): Snapshot | string {
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return 'missing or wrong header';
  const body = buf.subarray(MAGIC.length + 4);
  if (crc32(body) !== buf.readUInt32BE(MAGIC.length)) return 'checksum mismatch';
  try {
    const tree = DataTree.deserialize(body);
    return { zxid: tree.lastProcessedZxid, data: tree };
  } catch (e) {
    return `body is not a snapshot (${(e as Error).message})`;
  }
}

/** FileSnap.findMostRecentSnapshot: the newest snapshot that reads back whole. */
export function loadNewestSnapshot(dir: string, warn: (line: string) => void): Snapshot {
  for (const s of listSnapshots(dir)) {
    const path = join(dir, s.name);
    const r = decode(readFileSync(path));
    if (typeof r !== 'string' && r.zxid === s.zxid) return r;
    warn(`${path}: ${typeof r === 'string' ? r : 'zxid does not match its name'}: skipping this snapshot`);
  }
  return { zxid: 0, data: null };
}

export function writeSnapshotSync(dir: string, zxid: Zxid, data: string): void {
  const path = join(dir, `snapshot.${zxid.toString(16)}`);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, encode(data));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dir);
}

/**
 * The background snapshot (ZooKeeper's snapInProgress thread): the image's pieces serialized one at a time and
 * written off the loop, so that the server goes on serving between two (the image stays exact meanwhile: see
 * DataTree.snapshotImage); the checksum, which heads the file, is written last. The caller releases the image.
 */
export async function writeSnapshotAsync(dir: string, image: SnapshotImage, stillValid: () => boolean): Promise<boolean> {
  const path = join(dir, `snapshot.${image.zxid.toString(16)}`);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    const head = Buffer.alloc(MAGIC.length + 4);
    MAGIC.copy(head, 0);
    await fh.write(head, 0, head.length, 0);
    let at = head.length;
    let crc = 0;
    for (let r = image.pieces.next(); !r.done; r = image.pieces.next()) {
      crc = crc32(r.value, crc);
      await fh.write(r.value, 0, r.value.length, at);
      at += r.value.length;
    }
    head.writeUInt32BE(crc, MAGIC.length);
    await fh.write(head, MAGIC.length, 4, MAGIC.length);
    await fh.sync();
  } finally {
    await fh.close();
  }
  // A TRUNC or a SNAP from the leader while we were writing makes this snapshot wrong: never publish it.
  if (!stillValid()) {
    unlinkSync(tmp);
    return false;
  }
  renameSync(tmp, path);
  fsyncDir(dir);
  return true;
}

export function removeSnapshots(dir: string, keep: (zxid: Zxid) => boolean): void {
  for (const s of listSnapshots(dir)) if (!keep(s.zxid)) unlinkSync(join(dir, s.name));
}
