// A server checks its dataDir before it uses it, and a problem is one line with the real errno and the path,
// never a misleading code or a hang: a read-only filesystem says EROFS (Node's recursive mkdir said ENOENT),
// a dataDir under /proc says what refused it (Node's recursive mkdir loops there forever), a file in the way
// says so. `npm run cluster` checks its --dir the same way.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../impl/ensemble.ts';
import { StorageError } from '../impl/storage/filedisk.ts';
import { probeDataDir } from '../impl/storage/probe.ts';

const ROOT = join(import.meta.dirname, '..');
const base = mkdtempSync(join(tmpdir(), 'zk-datadir-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function probeError(dir: string): string {
  try {
    probeDataDir(dir);
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return (e as Error).message;
  }
  throw new Error(`${dir} was accepted`);
}

async function config(name: string, dataDir: string): Promise<string> {
  const [c, q, e] = (await freePorts(3)) as [number, number, number];
  const path = join(base, `${name}.cfg`);
  writeFileSync(path, ['tickTime=200', 'initLimit=10', 'syncLimit=5', `dataDir=${dataDir}`, `clientPort=${c}`, `server.1=127.0.0.1:${q}:${e}`].join('\n'));
  return path;
}

const server = (cfg: string) => spawnSync(process.execPath, ['--import', 'tsx', 'impl/server.ts', '--config', cfg, '--id', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

describe('the dataDir check at start', () => {
  it('creates missing levels, leaves no probe file behind, and accepts the directory', () => {
    const dir = join(base, 'a', 'b', 'data');
    probeDataDir(dir);
    expect(readdirSync(dir)).toEqual([]);
    probeDataDir(dir); // and again, now that it exists
  });

  it('a file in the way: names it', () => {
    writeFileSync(join(base, 'plain'), 'x');
    expect(probeError(join(base, 'plain', 'data'))).toBe(`dataDir ${join(base, 'plain', 'data')}: ${join(base, 'plain')} exists and is not a directory`);
  });

  it.skipIf(!existsSync('/proc/self'))('under /proc: the mkdir that failed and why, at once (Node recursive mkdir loops there)', () => {
    expect(probeError('/proc/self/zk/data')).toBe(
      'dataDir /proc/self/zk/data: cannot mkdir /proc/self/zk: ENOENT (no such file or directory), although /proc/self exists: it takes no new directories',
    );
  });

  it.skipIf(!existsSync('/proc/self'))('the server: one line, exit code 1, no hang', async () => {
    const r = server(await config('proc', '/proc/self/zk'));
    expect(r.error, 'the server hung').toBeUndefined();
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('zk-server: dataDir /proc/self/zk: cannot mkdir /proc/self/zk: ENOENT (no such file or directory), although /proc/self exists: it takes no new directories');
  });

  it('the cluster: its --dir is checked the same way', () => {
    writeFileSync(join(base, 'file'), 'x');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'impl/cluster.ts', '--dir', join(base, 'file', 'zk')], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`zk-cluster: --dir ${join(base, 'file', 'zk')}: ${join(base, 'file')} exists and is not a directory`);
  });

  it('a read-only filesystem: EROFS and the path (a read-only tmpfs in a user and mount namespace)', async (ctx) => {
    const ro = join(base, 'ro');
    mkdirSync(ro);
    const cfg = await config('ro', join(ro, 'data'));
    // unshare -r maps us to root in a new user namespace, -m gives it its own mounts: no privilege needed
    // where unprivileged user namespaces are allowed; elsewhere this test is skipped and says why.
    const probe = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o ro tmpfs '${ro}' && exec "$@"`, 'sh', process.execPath, '--import', 'tsx', 'impl/server.ts', '--config', cfg, '--id', '1'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (probe.error !== undefined || (probe.status !== 1 && !probe.stderr.includes('zk-server'))) {
      ctx.skip(`cannot mount a read-only tmpfs here (unshare -rm: ${probe.error?.message ?? probe.stderr.trim().split('\n')[0]})`);
    }
    expect(probe.status).toBe(1);
    expect(probe.stderr.trim()).toBe(`zk-server: dataDir ${join(ro, 'data')}: cannot mkdir ${join(ro, 'data')}: EROFS (read-only file system)`);
  });

  it('an existing directory that refuses writes: the probe file names the errno (a read-only bind mount)', async (ctx) => {
    const dir = join(base, 'rodata');
    mkdirSync(dir);
    const cfg = await config('rodata', dir);
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', `mount --bind -o ro '${dir}' '${dir}' && exec "$@"`, 'sh', process.execPath, '--import', 'tsx', 'impl/server.ts', '--config', cfg, '--id', '1'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.error !== undefined || (r.status !== 1 && !r.stderr.includes('zk-server'))) {
      ctx.skip(`cannot bind-mount read-only here (unshare -rm: ${r.error?.message ?? r.stderr.trim().split('\n')[0]})`);
    }
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`zk-server: dataDir ${dir}: cannot create ${join(dir, '.probe.')}${/\.probe\.(\d+)/.exec(r.stderr)?.[1]}: EROFS (read-only file system)`);
  });
});
