// FileTxnLog: append-only transaction log files `log.<hex zxid of the first txn>` in dataDir/version-2.
// Each file starts with a header (magic, version); each record is [u32 length][u32 crc32][JSON txn]. Appends
// are buffered in memory and written with one write per batch; `syncAsync()` writes and fsyncs off the event
// loop (group commit: every append before the call is durable when its callback runs).
import { closeSync, fsync, fsyncSync, ftruncateSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { OpSchema } from '../net/messages.ts';
import type { Txn, Zxid } from '../core/types.ts';
import { fsyncDir } from './files.ts';

const MAGIC = Buffer.from('ZKLG0001', 'ascii');
const TxnSchema = z
  .object({ zxid: z.number().int().positive(), op: OpSchema, origin: z.object({ sid: z.number().int(), req: z.number().int() }).optional() })
  .strict();

export interface LogFile {
  readonly name: string;
  readonly start: Zxid;
}

interface ReadResult {
  readonly txns: Txn[];
  /** Byte offset after each txn, parallel to txns. */
  readonly ends: number[];
  /** Set when the file has a bad record: where the valid prefix ends and why. */
  readonly bad?: { offset: number; reason: string };
}

export function listLogs(dir: string): LogFile[] {
  return readdirSync(dir)
    .map((name) => /^log\.([0-9a-f]+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], start: parseInt(m[1]!, 16) }))
    .sort((a, b) => a.start - b.start);
}

export function readLogFile(path: string): ReadResult {
  const buf = readFileSync(path);
  const txns: Txn[] = [];
  const ends: number[] = [];
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    return { txns, ends, bad: { offset: 0, reason: 'missing or wrong file header' } };
  }
  let off = MAGIC.length;
  let last = 0;
  while (off < buf.length) {
    const bad = (reason: string): ReadResult => ({ txns, ends, bad: { offset: off, reason } });
    if (off + 8 > buf.length) return bad('torn record header');
    const len = buf.readUInt32BE(off);
    const sum = buf.readUInt32BE(off + 4);
    if (len === 0 || off + 8 + len > buf.length) return bad(`torn record (length ${len})`);
    const body = buf.subarray(off + 8, off + 8 + len);
    if (crc32(body) !== sum) return bad('checksum mismatch');
    let parsed: Txn;
    try {
      const r = TxnSchema.safeParse(JSON.parse(body.toString('utf8')));
      if (!r.success) return bad('record is not a txn');
      parsed = r.data;
    } catch {
      return bad('record is not JSON');
    }
    if (parsed.zxid <= last) return bad(`zxid ${parsed.zxid.toString(16)} not after ${last.toString(16)}`);
    last = parsed.zxid;
    off += 8 + len;
    txns.push(parsed);
    ends.push(off);
  }
  return { txns, ends };
}

export class FileTxnLog {
  private fd: number | null = null;
  private current: string | null = null;
  /** Records appended but not yet written to the file. */
  private pending: Buffer[] = [];
  /** Written to the file but not yet fsynced. */
  private unsynced = false;
  /** Bumped whenever the fd is closed, so a late fsync callback on an old fd can tell. */
  private generation = 0;

  get dirty(): boolean {
    return this.pending.length > 0 || this.unsynced;
  }

  constructor(private readonly dir: string) {}

  /** Read every log, repairing a bad tail (truncate it, warn). Returns the txns in order. */
  readAll(warn: (line: string) => void): Txn[] {
    const all: Txn[] = [];
    const logs = listLogs(this.dir);
    for (let i = 0; i < logs.length; i++) {
      const f = logs[i]!;
      const path = join(this.dir, f.name);
      const r = readLogFile(path);
      all.push(...r.txns);
      if (!r.bad) continue;
      warn(`${path}: ${r.bad.reason} at byte ${r.bad.offset}: truncating the log there`);
      this.truncateFile(path, r.bad.offset, r.txns.length === 0 && r.bad.offset === 0);
      // Nothing after a bad record can be trusted to follow it: later files go too.
      for (const later of logs.slice(i + 1)) {
        warn(`${join(this.dir, later.name)}: follows a damaged log, removed`);
        unlinkSync(join(this.dir, later.name));
      }
      break;
    }
    this.current = null;
    const last = listLogs(this.dir).at(-1);
    if (last) this.openForAppend(last.name);
    return all;
  }

  append(txn: Txn): void {
    if (this.fd === null) this.create(txn.zxid);
    const body = Buffer.from(JSON.stringify(txn.origin ? { zxid: txn.zxid, op: txn.op, origin: txn.origin } : { zxid: txn.zxid, op: txn.op }), 'utf8');
    const rec = Buffer.allocUnsafe(8 + body.length);
    rec.writeUInt32BE(body.length, 0);
    rec.writeUInt32BE(crc32(body), 4);
    body.copy(rec, 8);
    this.pending.push(rec);
  }

  private writePending(): void {
    if (this.pending.length === 0 || this.fd === null) return;
    writeSync(this.fd, this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending));
    this.pending = [];
    this.unsynced = true;
  }

  /** Write and fsync now, on the event loop (for roll, truncate, close). */
  flush(): void {
    this.writePending();
    if (!this.unsynced || this.fd === null) return;
    fsyncSync(this.fd);
    this.unsynced = false;
  }

  /** Write now, fsync in the thread pool; `done` runs once everything appended so far is durable. */
  syncAsync(done: (err: Error | null) => void): void {
    this.writePending();
    if (!this.unsynced || this.fd === null) return void setImmediate(() => done(null));
    this.unsynced = false;
    const gen = this.generation;
    fsync(this.fd, (err) => {
      // The fd was closed meanwhile: closing fsyncs synchronously first, so the data is durable anyway.
      done(err && gen === this.generation ? err : null);
    });
  }

  /** Start a new file at the next append (after a snapshot, as ZooKeeper's rollLog). */
  roll(): void {
    this.flush();
    this.close();
  }

  /** Remove every txn after zxid. */
  truncate(zxid: Zxid): void {
    this.flush();
    this.close();
    for (const f of listLogs(this.dir)) {
      const path = join(this.dir, f.name);
      if (f.start > zxid) {
        unlinkSync(path);
        continue;
      }
      const r = readLogFile(path);
      const keep = r.txns.filter((t) => t.zxid <= zxid).length;
      const end = keep === 0 ? MAGIC.length : r.ends[keep - 1]!;
      this.truncateFile(path, end, false);
    }
    fsyncDir(this.dir);
    const last = listLogs(this.dir).at(-1);
    if (last) this.openForAppend(last.name);
  }

  /** Delete every log file (after installing a snapshot from the leader). */
  removeAll(): void {
    this.close();
    for (const f of listLogs(this.dir)) unlinkSync(join(this.dir, f.name));
    fsyncDir(this.dir);
  }

  /** Delete files whose every txn is at or below zxid (covered by a retained snapshot). */
  purgeBefore(zxid: Zxid): void {
    const logs = listLogs(this.dir);
    for (let i = 0; i + 1 < logs.length; i++) {
      if (logs[i + 1]!.start - 1 <= zxid && logs[i]!.name !== this.current) unlinkSync(join(this.dir, logs[i]!.name));
    }
  }

  close(): void {
    if (this.fd !== null) {
      this.flush();
      closeSync(this.fd);
      this.generation++;
    }
    this.fd = null;
    this.current = null;
    this.pending = [];
    this.unsynced = false;
  }

  private create(zxid: Zxid): void {
    const name = `log.${zxid.toString(16)}`;
    const fd = openSync(join(this.dir, name), 'wx');
    writeSync(fd, MAGIC);
    fsyncSync(fd);
    fsyncDir(this.dir);
    this.fd = fd;
    this.current = name;
  }

  private openForAppend(name: string): void {
    this.fd = openSync(join(this.dir, name), 'a');
    this.current = name;
  }

  private truncateFile(path: string, offset: number, remove: boolean): void {
    if (remove) {
      unlinkSync(path);
      return;
    }
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, offset);
    fsyncSync(fd);
    closeSync(fd);
  }
}
