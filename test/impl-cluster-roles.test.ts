// `npm run cluster` says who leads as it changes: after a kill -9 of the leader it reports the exit, that
// there is no leader, each server's new role, and the new leader with its epoch and a client port to try.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'zk-roles-'));
let child: ChildProcess | null = null;
const pids: number[] = [];

afterAll(async () => {
  if (child !== null && child.exitCode === null) {
    const gone = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
  }
  for (const p of [child?.pid, ...pids]) {
    try {
      if (p !== undefined) process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

async function until(out: () => string, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = re.exec(out());
    if (m !== null) return m;
    if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms; output:\n${out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm run cluster: role changes', () => {
  it('after a kill -9 of the leader: the exit, no leader, the new roles, the new leader and epoch', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'impl/cluster.ts', '--nodes', '3', '--tick-time', '100', '--dir', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const first = await until(() => out, /^leader: server\.(\d), epoch (\d+)\. Try: npm run client -- --server 127\.0\.0\.1:(\d+) set hello world$/m, 60_000);
    const [leader, epoch] = [Number(first[1]), Number(first[2])];
    for (const m of out.matchAll(/^server\.(\d) participant +pid (\d+) +client 127\.0\.0\.1:(\d+)/gm)) pids.push(Number(m[2]));
    const byServer = new Map([...out.matchAll(/^server\.(\d) participant +pid (\d+) +client 127\.0\.0\.1:(\d+)/gm)].map((m) => [Number(m[1]), { pid: Number(m[2]), port: m[3] }]));
    expect(first[3]).toBe(byServer.get(leader)!.port);
    expect(out).toMatch(new RegExp(`^server\\.${leader} LEADING, epoch ${epoch}$`, 'm'));
    for (const f of [1, 2, 3].filter((s) => s !== leader)) expect(out).toMatch(new RegExp(`^server\\.${f} FOLLOWING server\\.${leader}, epoch ${epoch}$`, 'm'));

    const mark = out.length;
    process.kill(byServer.get(leader)!.pid, 'SIGKILL');
    const after = () => out.slice(mark);
    const next = await until(after, /^leader: server\.(\d), epoch (\d+)\. Try: npm run client -- --server 127\.0\.0\.1:(\d+) set hello world$/m, 60_000);
    const [leader2, epoch2] = [Number(next[1]), Number(next[2])];
    expect(leader2).not.toBe(leader);
    expect(epoch2).toBeGreaterThan(epoch);
    expect(next[3]).toBe(byServer.get(leader2)!.port);
    const lines = after().split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(new RegExp(`^server\\.${leader} exited \\(SIGKILL\\); see `))).toBeGreaterThanOrEqual(0);
    expect(at(new RegExp(`^no leader: server\\.${leader}, the leader, is gone$`))).toBeGreaterThan(at(/exited \(SIGKILL\)/));
    expect(at(new RegExp(`^server\\.${leader2} LEADING, epoch ${epoch2}$`))).toBeGreaterThan(at(/^no leader/));
    expect(at(/^leader: /)).toBeGreaterThan(at(new RegExp(`^server\\.${leader2} LEADING`)));
  }, 150_000);
});
