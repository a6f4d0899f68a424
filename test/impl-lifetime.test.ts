// Servers never outlive whatever started them. `npm run cluster` is a chain of processes (npm, sh -c, tsx's
// CLI, the node process running cluster.ts, then the servers); each test starts it as a user would, waits
// for its leader, ends one link of the chain in one way, and then checks by PID that no server is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const HAS_PROC = existsSync('/proc/self/stat');

function ppidOf(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** Running, and not a zombie (exited, not yet reaped). */
function running(pid: number): boolean {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Launch {
  readonly npm: ChildProcess;
  readonly dir: string;
  /** The processes of the chain, from npm down to the one that owns the servers. */
  readonly chain: { readonly npm: number; readonly tsx: number; readonly launcher: number };
  readonly servers: readonly number[];
  output(): string;
}

let launched: Launch | null = null;

afterEach(() => {
  if (launched === null) return;
  // Whatever the test did, nothing it started stays: the whole process group, then every pid we know of.
  for (const pid of [-launched.chain.npm, launched.chain.npm, launched.chain.tsx, launched.chain.launcher, ...launched.servers]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(launched.dir, { recursive: true, force: true });
  launched = null;
});

async function launch(): Promise<Launch> {
  const dir = mkdtempSync(join(tmpdir(), 'zk-lifetime-'));
  // Its own process group, as a shell's job: a signal to the group is what a terminal sends.
  const npm = spawn('npm', ['run', 'cluster', '--', '--nodes', '2', '--tick-time', '100', '--dir', dir], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  npm.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const partial: Launch = { npm, dir, chain: { npm: npm.pid!, tsx: 0, launcher: 0 }, servers: [], output: () => out };
  launched = partial;
  await until('the leader line', () => /^leader: server\.\d, epoch \d+/m.test(out) || npm.exitCode !== null, 60_000).catch((e: Error) => {
    throw new Error(`${e.message}; output:\n${out}`);
  });
  const servers = [...out.matchAll(/^server\.\d \w+ +pid (\d+)/gm)].map((m) => Number(m[1]));
  expect(servers, out).toHaveLength(2);
  const launcher = ppidOf(servers[0]!)!;
  const tsx = ppidOf(launcher)!;
  expect(ppidOf(servers[1]!)).toBe(launcher);
  launched = { ...partial, chain: { npm: npm.pid!, tsx, launcher }, servers };
  return launched;
}

async function expectAllGone(l: Launch, why: string): Promise<void> {
  const everyone = [l.chain.tsx, l.chain.launcher, ...l.servers];
  await until(`every server and the launcher to be gone after ${why}`, () => everyone.every((p) => !running(p)), 20_000).catch((e: Error) => {
    const left = everyone.filter(running).map((p) => `${p} (${readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 120)})`);
    throw new Error(`${e.message}; still running: ${left.join(', ')}; output:\n${l.output()}`);
  });
}

/** The lines the servers wrote when they stopped (server.ts logs "stopping: WHY"). */
function stopReasons(l: Launch): string[] {
  return [1, 2].map((sid) => /stopping: (.*)/.exec(readFileSync(join(l.dir, `server${sid}`, 'server.log'), 'utf8'))?.[1] ?? '(no stop logged)');
}

describe.skipIf(!HAS_PROC)('npm run cluster: no server outlives whatever started it (by PID, Linux /proc)', () => {
  it('SIGTERM to npm (which kills sh -c, not tsx): the launcher sees its starter gone and stops the servers cleanly', async () => {
    const l = await launch();
    process.kill(l.chain.npm, 'SIGTERM');
    await expectAllGone(l, 'SIGTERM to npm');
    expect(l.output()).toMatch(/stopping the ensemble: the process that started it is gone \(pid \d+, (sh|npm.*)\)/);
    expect(stopReasons(l)).toEqual(['SIGTERM', 'SIGTERM']);
  }, 90_000);

  it('kill -9 of npm', async () => {
    const l = await launch();
    process.kill(l.chain.npm, 'SIGKILL');
    await expectAllGone(l, 'kill -9 of npm');
    expect(stopReasons(l)).toEqual(['SIGTERM', 'SIGTERM']);
  }, 90_000);

  it("kill -9 of tsx's CLI process", async () => {
    const l = await launch();
    process.kill(l.chain.tsx, 'SIGKILL');
    await expectAllGone(l, 'kill -9 of tsx');
    expect(stopReasons(l)).toEqual(['SIGTERM', 'SIGTERM']);
  }, 90_000);

  it('kill -9 of the launcher itself: the servers see their stdin close', async () => {
    const l = await launch();
    process.kill(l.chain.launcher, 'SIGKILL');
    await expectAllGone(l, 'kill -9 of the launcher');
    expect(stopReasons(l)).toEqual(['stdin closed: the launcher is gone', 'stdin closed: the launcher is gone']);
  }, 90_000);

  it('SIGHUP to the whole process group (a closed terminal), and SIGINT to it (Ctrl-C)', async () => {
    for (const sig of ['SIGHUP', 'SIGINT'] as const) {
      const l = await launch();
      const exited = new Promise<void>((res) => l.npm.once('exit', () => res()));
      process.kill(-l.chain.npm, sig);
      await expectAllGone(l, `${sig} to the process group`);
      await exited;
      // Each server got the signal itself, as well as the launcher's SIGTERM: either stops it cleanly.
      for (const why of stopReasons(l)) expect([sig, 'SIGTERM']).toContain(why);
      rmSync(l.dir, { recursive: true, force: true });
    }
  }, 150_000);
});
