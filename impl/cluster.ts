// `npm run cluster -- --nodes 3 [--observers 1] [--dir DIR]`: a local ensemble on free loopback ports.
// Prints each server's addresses and files, then every role change (who leads, in which epoch) as it
// happens; stops them all on Ctrl-C, SIGTERM, SIGHUP, and when whoever started it is gone (lifetime.ts).
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { Ensemble, type ServerHandle } from './ensemble.ts';
import { watchLaunchers } from './lifetime.ts';
import { StorageError } from './storage/filedisk.ts';
import { probeDataDir } from './storage/probe.ts';
import { argsProblem, flagProblem, formatUsage, intFlag, wantsHelp, type Usage } from './usage.ts';

const Flags = z.object({
  nodes: intFlag(1, 15).default(3),
  observers: intFlag(0, 15).default(0),
  dir: z.string().min(1, 'must name a directory').optional(),
  'tick-time': intFlag(1, 60_000).default(200),
  'transition-log': z.enum(['on', 'off'], 'must be on or off').default('on'),
});

export const CLUSTER_USAGE: Usage = {
  usage: 'npm run cluster -- [flags]',
  description: `Starts a local ensemble of our servers (impl/) on free ports of 127.0.0.1: one zoo.cfg, data directory
and server.log per server under --dir. Prints each server's pid, client, quorum and election address and its
files, then every role change as it happens (LOOKING, LEADING, FOLLOWING, OBSERVING with the epoch; a new
leader with the client port to try). Stops every server on Ctrl-C, SIGTERM or SIGHUP, and when the process
that started it (npm, the shell) is gone; a server never outlives it.`,
  flags: [
    { flag: 'nodes', metavar: 'N', help: 'participants (voting servers), 1 to 15', default: 3 },
    { flag: 'observers', metavar: 'N', help: 'observers (non-voting servers), 0 to 15', default: 0 },
    { flag: 'dir', metavar: 'DIR', help: 'where the configs, data and logs go, kept after the cluster stops (default: a fresh temporary directory, removed when it stops)' },
    { flag: 'tick-time', metavar: 'MS', help: "ZooKeeper's tickTime, ms", default: 200 },
    { flag: 'transition-log', metavar: 'on|off', help: "the servers' transition logs (what npm run conform checks)", default: 'on' },
  ],
  exit: [
    [0, 'stopped (a signal, or the process that started it gone), every server with it'],
    [1, 'could not start: --dir unusable (the errno and the path are printed), no free ports'],
    [2, 'bad usage'],
  ],
  examples: [
    'npm run cluster -- --nodes 3 --observers 1 --dir /tmp/zk   # Ctrl-C stops it; then:',
    'npm run conform -- /tmp/zk                                 # check its transition logs against the spec',
  ],
};

type Role = { readonly state: string; readonly leader: number | null; readonly epoch: number; readonly serving: boolean };

/** What a server's stat says about its role, or null if it does not answer. */
function role(stat: Record<string, unknown> | null): Role | null {
  if (stat === null) return null;
  return { state: String(stat['state']), leader: typeof stat['leader'] === 'number' ? stat['leader'] : null, epoch: Number(stat['currentEpoch']), serving: stat['serving'] === true };
}

function describe(sid: number, r: Role): string {
  if (r.state === 'LOOKING') return `server.${sid} LOOKING`;
  const whose = r.state === 'LEADING' ? '' : ` server.${r.leader}`;
  return `server.${sid} ${r.state}${whose}, epoch ${r.epoch}${r.serving ? '' : ' (syncing)'}`;
}

/**
 * Polls every running server's stat and prints each change of role, and a line per new leader (or new
 * epoch) once every running server serves under it. Servers that exit are reported by their exit event.
 */
class RoleWatch {
  private readonly roles = new Map<number, string>();
  private announced = '';
  private stopped = false;
  private readonly startedAt = Date.now();
  private warned = false;

  constructor(
    private readonly ens: Ensemble,
    private readonly print: (line: string) => void,
  ) {}

  running(): ServerHandle[] {
    return [...this.ens.servers.values()].filter((h) => h.child !== null && h.child.exitCode === null && h.child.signalCode === null);
  }

  forget(sid: number): void {
    this.roles.delete(sid);
    if (this.announced.startsWith(`${sid}@`)) {
      this.announced = '';
      this.print(`no leader: server.${sid}, the leader, is gone`);
    }
  }

  async run(everyMs = 250): Promise<void> {
    while (!this.stopped) {
      const up = this.running();
      const roles = await Promise.all(up.map(async (h) => [h.sid, role(await this.ens.stat(h.sid))] as const));
      if (this.stopped) return;
      for (const [sid, r] of roles) {
        if (r === null) continue;
        const text = describe(sid, r);
        // Syncing is a moment between roles: print it only if it lasts (the next poll still shows it).
        if (this.roles.get(sid) !== text) {
          this.roles.set(sid, text);
          if (r.serving || r.state === 'LOOKING') this.print(text);
        }
      }
      const leaders = new Set(roles.map(([, r]) => (r?.serving ? `${r.leader}@${r.epoch}` : null)));
      const [only] = leaders;
      if (roles.length > 0 && leaders.size === 1 && only !== null && only !== undefined && only !== this.announced) {
        this.announced = only;
        const [sid, epoch] = only.split('@').map(Number) as [number, number];
        const h = this.ens.servers.get(sid);
        this.print(`leader: server.${sid}, epoch ${epoch}. Try: npm run client -- --server 127.0.0.1:${h?.clientPort} set hello world`);
      }
      if (this.announced === '' && !this.warned && Date.now() - this.startedAt > 30_000) {
        this.warned = true;
        this.print(`no leader after 30 s; see the servers' logs`);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  stop(): void {
    this.stopped = true;
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    console.log(formatUsage(CLUSTER_USAGE));
    return 0;
  }
  let raw;
  try {
    raw = parseArgs({
      args: argv,
      options: { nodes: { type: 'string' }, observers: { type: 'string' }, dir: { type: 'string' }, 'tick-time': { type: 'string' }, 'transition-log': { type: 'string' } },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`zk-cluster: ${argsProblem(e)} (see --help)`);
    return 2;
  }
  const flags = Flags.safeParse(raw);
  if (!flags.success) {
    console.error(`zk-cluster: ${flagProblem(flags.error, raw)}`);
    return 2;
  }
  const f = flags.data;
  // A closed terminal or pipe must not end the launcher before it has stopped its servers.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const temporary = f.dir === undefined;
  const dir = f.dir ? resolve(f.dir) : mkdtempSync(join(tmpdir(), 'zk-cluster-'));
  try {
    probeDataDir(dir, '--dir');
  } catch (e) {
    if (!(e instanceof StorageError)) throw e;
    console.error(`zk-cluster: ${e.message}`);
    return 1;
  }
  const ens = await Ensemble.create({ nodes: f.nodes, observers: f.observers, dir, tickTime: f['tick-time'], transitionLog: f['transition-log'] === 'on' });
  let stopping = false;
  const watch = new RoleWatch(ens, (l) => {
    if (!stopping) console.log(l);
  });
  const done = new Promise<number>((resolveDone) => {
    const stop = async (why: string) => {
      if (stopping) return;
      stopping = true;
      watch.stop();
      console.log(`stopping the ensemble: ${why}`);
      await ens.stopAll('SIGTERM');
      if (temporary) rmSync(dir, { recursive: true, force: true });
      resolveDone(0);
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop(sig));
    watchLaunchers((a) => void stop(`the process that started it is gone (pid ${a.pid}, ${a.name})`));
  });
  ens.startAll();
  console.log(`ensemble of ${f.nodes} participant(s) and ${f.observers} observer(s) in ${dir}${temporary ? ' (temporary: removed when the cluster stops; --dir keeps it)' : ''}`);
  for (const h of ens.servers.values()) {
    console.log(
      `server.${h.sid} ${h.type.padEnd(11)} pid ${h.child?.pid}  client 127.0.0.1:${h.clientPort}  quorum :${h.quorumPort}  election :${h.electionPort}\n` +
        `    config ${h.configPath}\n    log    ${h.logPath}\n    transitions ${h.dataDir}/transitions.*.ndjson`,
    );
    h.child?.once('exit', (code, sig) => {
      if (stopping) return;
      console.log(`server.${h.sid} exited (${sig ?? `code ${code}`}); see ${h.logPath}`);
      watch.forget(h.sid);
    });
  }
  void watch.run();
  return done;
}

main().then((code) => process.exit(code));
