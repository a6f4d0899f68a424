// A server's first look at its dataDir, before anything is read or written there: the directory exists (or
// is created) and takes a durable write. A problem is one StorageError naming the operation, the path and the
// real errno, at start, instead of a misleading error later or a hang:
// - Node's recursive mkdir reports ENOENT where the cause is EROFS (it retries the parent and reports that),
//   and loops forever under /proc, where mkdir fails with ENOENT although the parent exists. So the missing
//   levels are created one mkdir at a time, and each failure is reported as it is.
// - An existing directory may still refuse writes (read-only mount, permissions, a full disk): a probe file
//   is created, written, fsynced, renamed and removed, as the txn log and the epoch files will be.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { StorageError } from './filedisk.ts';
import { fsyncDir } from './files.ts';

/** "EROFS: read-only file system" out of Node's "EROFS: read-only file system, open '/x'". */
function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err.code !== 'string') return String((e as Error).message ?? e);
  const text = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1];
  return text ? `${err.code} (${text})` : err.code;
}

/** Creates `dir` if needed and checks that it takes a durable write; `what` names it in errors ('dataDir'). */
export function probeDataDir(dir: string, what = 'dataDir'): void {
  const abs = resolve(dir);
  const problem = (op: string, path: string, e: unknown, why = '') => new StorageError(`${what} ${abs}: cannot ${op} ${path}: ${errnoText(e)}${why}`);
  const missing: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) throw new StorageError(`${what} ${abs}: ${p} exists and is not a directory`);
      break;
    } catch (e) {
      if (e instanceof StorageError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a file further up; the loop reaches it and says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw problem('stat', p, e);
      missing.push(p);
      if (dirname(p) === p) break;
    }
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue;
      // mkdir says ENOENT when the parent exists but takes no new entries (/proc, /sys).
      throw problem('mkdir', p, e, code === 'ENOENT' ? `, although ${dirname(p)} exists: it takes no new directories` : '');
    }
  }
  const file = join(abs, `.probe.${process.pid}`);
  const renamed = `${file}.renamed`;
  let op = 'create';
  let at = file;
  try {
    const fd = openSync(file, 'w');
    try {
      op = 'write';
      writeSync(fd, 'probe\n');
      op = 'fsync';
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    op = 'rename';
    renameSync(file, renamed);
    op = 'fsync';
    at = abs;
    fsyncDir(abs);
    op = 'remove';
    at = renamed;
    unlinkSync(renamed);
  } catch (e) {
    for (const f of [file, renamed]) {
      try {
        unlinkSync(f);
      } catch {
        // not there, or this directory refuses even that: the error below says why
      }
    }
    throw problem(op, at, e);
  }
}
