// Makes the Apache ZooKeeper 3.8 server logs that `npm run conform` is tested on (traces/samples/zookeeper/):
// real ensembles of Debian's `zookeeper` package on loopback (harness/zookeeper/ starts them, with a proxy on
// every learner->leader link), logging with ZooKeeper's own layout (`DATE [myid:N] - LEVEL [thread:Class@line] -
// message`), and each scenario's logs kept as they are, one file per server (restarts appended to it), with the
// zoo.cfg of server 1.
//
//   npm run make:zk-logs                      # every scenario (a few minutes; installs the package first)
//   npm run make:zk-logs -- trunc snap        # some of them
//   npm run make:zk-logs -- --list
//
// Scenarios (the INFO ones log at ZooKeeper's default level; DEBUG ones set org.apache.zookeeper.server.quorum to
// DEBUG, which adds "Proposing:: ..." for every proposal):
//   three-observer   3 participants and an observer, INFO: fresh start, writes, a follower killed and restarted
//                    (DIFF), the leader killed (a new election), the old leader restarted (DIFF)
//   five-rolling     4 participants and an observer, DEBUG: fresh start, then every server killed and restarted in
//                    turn (a rolling restart), a write after each
//   trunc            3 servers, INFO: the leader logs a proposal no follower gets (the proxy holds its PROPOSALs),
//                    is killed, the others elect and write, the old leader restarts and is TRUNCated
//   snap             3 servers, INFO: two start and write, the third starts empty and gets a SNAP
//   finding-1        npm run repro:stale-ack-3's run (docs/findings.md #1), its three logs
//   finding-2        npm run repro:trunc-committed's run (docs/findings.md #2), its three logs
// Scenarios not kept in the repo (run them with --out DIR, to check conform on runs nobody tuned it to):
//   five-leader-kill 5 participants, INFO: fresh start, writes, the leader killed, a new leader and writes, the old
//                    leader restarted, a write
//   three-restarts   3 servers, DEBUG: writes; a follower killed and restarted while a client keeps writing, then
//                    the other follower, the same way
//   three-leader-churn 3 servers, INFO: writes; the leader killed, a write under the next leader, the old one
//                    restarted, a write; the same once more
//
// Every process is started and killed by PID by the harness; each temp directory is removed at the end.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatUsage, wantsHelp, type Usage } from '../impl/usage.ts';
import { ZkEnsemble, hex, kill9, killAllNow, loggedZxids, preflight, PROPOSAL, say, sleep, waitFor, INIT_LIMIT, SYNC_LIMIT, TICK_MS } from '../harness/zookeeper/index.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = join(ROOT, 'traces', 'samples', 'zookeeper');
/** Where the scenarios' logs go: the kept samples, or --out DIR (runs made to check conform on, not kept). */
let OUT = SAMPLES;

type Status = Awaited<ReturnType<ZkEnsemble['status']>>;

/** Every server of `parts` answers as leader or follower (exactly one leader) and every one of `obs` as observer. */
async function formed(ens: ZkEnsemble, parts: readonly number[], obs: readonly number[] = []): Promise<Status | null> {
  const m = await ens.status([...parts, ...obs]);
  const modes = parts.map((s) => m.get(s)?.mode);
  if (modes.filter((x) => x === 'leader').length !== 1 || modes.filter((x) => x === 'follower').length !== parts.length - 1) return null;
  if (!obs.every((s) => m.get(s)?.mode === 'observer')) return null;
  return m;
}

async function waitFormed(ens: ZkEnsemble, parts: readonly number[], obs: readonly number[] = []): Promise<number> {
  const m = await waitFor('ensemble', 90_000, () => formed(ens, parts, obs), 500);
  if (m === null) throw new Error(`no ensemble of ${parts.join(',')} (+ observers ${obs.join(',') || 'none'}) within 90 s: ${ens.showStatus(await ens.status([...parts, ...obs]))}`);
  const L = [...m].find(([, x]) => x?.mode === 'leader')![0];
  say(`  formed: ${ens.showStatus(m)}`);
  return L;
}

async function write(ens: ZkEnsemble, sid: number, path: string): Promise<void> {
  const c = await ens.connectClient(sid);
  await c.create(path, Buffer.from(path));
  await c.close().catch(() => {});
  // Wait until every running server has applied it (the session's closeSession too): nothing left in flight.
  const up = [...ens.servers.values()].filter((s) => s.child !== null && s.child.exitCode === null && s.child.signalCode === null).map((s) => s.sid);
  const agreed = await waitFor('agreed', 15_000, async () => {
    const m = await ens.status(up);
    const zs = new Set([...m.values()].map((x) => x?.zxid?.toString() ?? 'none'));
    return zs.size === 1 && !zs.has('none') ? m : null;
  });
  say(`  create ${path} through server ${sid}: ok${agreed === null ? ' (servers did not agree on a zxid within 15 s)' : ''}`);
}

/**
 * The lines left out of the kept logs, to keep them small: none is a protocol line. The JVM's environment
 * (Environment: the classpath alone is kilobytes), the start banner's ASCII art, and the `srvr` four-letter
 * commands this script polls with (NIOServerCnxn "Processing srvr command"); and of a stack trace, the lines after
 * its first three (a kill -9 at DEBUG level makes dozens). Everything else is kept as written.
 */
const TRIMMED = /^\S+ \S+ \[myid:\d*\] - \w+ +\[[^\]]*:(Environment|ZookeeperBanner)@\d+\]|Processing srvr command from/;

function trimCopy(from: string, to: string): void {
  const lines = readFileSync(from, 'utf8').split('\n');
  const out: string[] = [];
  let dropping = false;
  let more = 0;
  for (const l of lines) {
    if (/^\d{4}-\d{2}-\d{2} /.test(l)) {
      dropping = TRIMMED.test(l);
      more = 0;
    } else if (++more > 3) continue;
    if (!dropping) out.push(l);
  }
  writeFileSync(to, out.join('\n'));
}

/** Copies each server's log (and server 1's zoo.cfg, with the proxy ports as they were) into OUT/name. */
function keep(ens: ZkEnsemble, name: string, note: string): void {
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const s of ens.servers.values()) trimCopy(s.logPath, join(dir, `server${s.sid}.log`));
  copyFileSync(join(ens.srv(1).dir, 'zoo.cfg'), join(dir, 'zoo.cfg'));
  writeFileSync(join(dir, 'SCENARIO'), note + '\n');
  say(`kept ${dir}`);
}

interface Scenario {
  readonly what: string;
  readonly run: (classpath: string, setpriv: boolean) => Promise<void>;
}

async function withEnsemble(name: string, classpath: string, setpriv: boolean, opts: { sids: number[]; observers?: number[]; debug?: boolean }, body: (ens: ZkEnsemble) => Promise<string>): Promise<void> {
  const ens = new ZkEnsemble(
    {
      sids: opts.sids, tickMs: TICK_MS, initLimit: INIT_LIMIT, syncLimit: SYNC_LIMIT, tmpPrefix: `zk-logs-${name}-`,
      observers: opts.observers ?? [], debugLoggers: opts.debug === true ? ['org.apache.zookeeper.server.quorum'] : [],
    },
    classpath,
    setpriv,
  );
  try {
    await ens.setup();
    const note = await body(ens);
    await sleep(500);
    keep(ens, name, note);
  } finally {
    await ens.close();
  }
}

const SCENARIOS: Record<string, Scenario> = {
  'three-observer': {
    what: '3 participants + observer 4, INFO: start, writes, follower killed/restarted (DIFF), leader killed, old leader restarted',
    run: (cp, sp) =>
      withEnsemble('three-observer', cp, sp, { sids: [1, 2, 3, 4], observers: [4] }, async (ens) => {
        const P = [1, 2, 3];
        for (const sid of [1, 2, 3, 4]) ens.start(sid);
        const L = await waitFormed(ens, P, [4]);
        await write(ens, L, '/a');
        await write(ens, 4, '/b');
        const F = P.find((s) => s !== L)!;
        await kill9(ens.srv(F));
        say(`  killed follower ${F}`);
        await write(ens, L, '/c');
        await write(ens, L, '/d');
        ens.start(F);
        await waitFormed(ens, P, [4]);
        await kill9(ens.srv(L));
        say(`  killed leader ${L}`);
        const L2 = await waitFormed(ens, P.filter((s) => s !== L), [4]);
        await write(ens, L2, '/e');
        ens.start(L);
        await waitFormed(ens, P, [4]);
        await write(ens, L, '/f');
        return `leader ${L}; follower ${F} killed and restarted; leader ${L} killed, ${L2} elected, ${L} restarted`;
      }),
  },
  'five-rolling': {
    what: '4 participants + observer 5, DEBUG: start, then each server killed and restarted in turn, a write after each',
    run: (cp, sp) =>
      withEnsemble('five-rolling', cp, sp, { sids: [1, 2, 3, 4, 5], observers: [5], debug: true }, async (ens) => {
        const P = [1, 2, 3, 4];
        for (const sid of [1, 2, 3, 4, 5]) ens.start(sid);
        let L = await waitFormed(ens, P, [5]);
        await write(ens, L, '/r0');
        const order: number[] = [];
        for (const sid of [1, 2, 3, 4, 5]) {
          await kill9(ens.srv(sid));
          ens.start(sid);
          order.push(sid);
          L = await waitFormed(ens, P, [5]);
          await write(ens, L, `/r${sid}`);
        }
        return `rolling restart (kill -9 and start) of ${order.join(', ')}; last leader ${L}`;
      }),
  },
  'five-leader-kill': {
    what: '5 participants, INFO: start, writes, the leader killed, a new leader, writes, the old leader restarted (not kept: --out)',
    run: (cp, sp) =>
      withEnsemble('five-leader-kill', cp, sp, { sids: [1, 2, 3, 4, 5] }, async (ens) => {
        const P = [1, 2, 3, 4, 5];
        for (const sid of P) ens.start(sid);
        const L = await waitFormed(ens, P);
        for (const p of ['/a', '/b', '/c']) await write(ens, L, p);
        await kill9(ens.srv(L));
        say(`  killed leader ${L}`);
        const L2 = await waitFormed(ens, P.filter((s) => s !== L));
        await write(ens, L2, '/d');
        await write(ens, P.find((s) => s !== L && s !== L2)!, '/e');
        ens.start(L);
        await waitFormed(ens, P);
        await write(ens, L, '/f');
        return `leader ${L} killed after 3 writes; ${L2} elected, 2 writes; ${L} restarted, a write through it`;
      }),
  },
  'three-leader-churn': {
    what: '3 servers, INFO: writes; the leader killed, writes under the next, the old leader back; the same once more (not kept: --out)',
    run: (cp, sp) =>
      withEnsemble('three-leader-churn', cp, sp, { sids: [1, 2, 3] }, async (ens) => {
        const P = [1, 2, 3];
        for (const sid of P) ens.start(sid);
        let L = await waitFormed(ens, P);
        await write(ens, L, '/a');
        const leaders = [L];
        for (const round of [1, 2]) {
          await kill9(ens.srv(L));
          say(`  killed leader ${L}`);
          const next = await waitFormed(ens, P.filter((s) => s !== L));
          await write(ens, next, `/k${round}`);
          ens.start(L);
          L = await waitFormed(ens, P);
          await write(ens, L, `/b${round}`);
          leaders.push(L);
        }
        return `leaders in turn ${leaders.join(', ')}; each killed, the next elected and written to, the old one restarted`;
      }),
  },
  'three-restarts': {
    what: '3 servers, DEBUG: writes; each follower in turn killed and restarted while a client keeps writing (not kept: --out)',
    run: (cp, sp) =>
      withEnsemble('three-restarts', cp, sp, { sids: [1, 2, 3], debug: true }, async (ens) => {
        const P = [1, 2, 3];
        for (const sid of P) ens.start(sid);
        let L = await waitFormed(ens, P);
        await write(ens, L, '/a');
        const done: number[] = [];
        for (const F of P.filter((s) => s !== L)) {
          // A client on the leader writes in the background through the follower's kill and restart.
          const c = await ens.connectClient(L);
          let stop = false;
          let n = 0;
          const writer = (async () => {
            while (!stop) {
              await c.create(`/w${F}-${n}`, Buffer.from('x')).catch(() => {});
              n++;
              await sleep(150);
            }
          })();
          await sleep(400);
          await kill9(ens.srv(F));
          say(`  killed follower ${F} (writes going on)`);
          await sleep(1500);
          ens.start(F);
          L = await waitFormed(ens, P);
          await sleep(1000);
          stop = true;
          await writer;
          await c.close().catch(() => {});
          say(`  ${n} background writes around ${F}'s restart`);
          done.push(F);
          await write(ens, L, `/after${F}`);
        }
        return `leader ${L}; followers ${done.join(', ')} killed and restarted in turn under writes`;
      }),
  },
  trunc: {
    what: '3 servers, INFO: an orphan proposal on a killed leader; it restarts and is TRUNCated',
    run: (cp, sp) =>
      withEnsemble('trunc', cp, sp, { sids: [1, 2, 3] }, async (ens) => {
        const S = [1, 2, 3];
        for (const sid of S) ens.start(sid);
        const L = await waitFormed(ens, S);
        await write(ens, L, '/a');
        const [F, G] = S.filter((s) => s !== L) as [number, number];
        const c = await ens.connectClient(L); // createSession is a txn: before the hold
        await sleep(500);
        ens.proxy(F, L).down.rules([PROPOSAL]);
        ens.proxy(G, L).down.rules([PROPOSAL]);
        const before = loggedZxids(ens.srv(L)).length;
        c.create('/orphan', Buffer.from('x')).catch(() => {});
        const logged = await waitFor('orphan logged', 15_000, () => (loggedZxids(ens.srv(L)).length > before ? loggedZxids(ens.srv(L)).at(-1) : null), 100);
        if (logged === null) throw new Error('the leader did not log the orphan proposal within 15 s');
        say(`  leader ${L} logged ${hex(logged)}; its PROPOSALs are held`);
        await kill9(ens.srv(L));
        ens.proxy(F, L).down.rules([]);
        ens.proxy(G, L).down.rules([]);
        for (const p of [ens.proxy(F, L), ens.proxy(G, L)]) for (const pipe of p.down.pipes) pipe.dropHeld();
        const L2 = await waitFormed(ens, [F, G]);
        await write(ens, L2, '/b');
        ens.start(L);
        await waitFormed(ens, S);
        await write(ens, L2, '/c');
        return `leader ${L} logged ${hex(logged)} alone and was killed; ${L2} elected; ${L} restarted (TRUNC expected)`;
      }),
  },
  snap: {
    what: '3 servers, INFO: 1 and 2 start and write; 3 starts empty and gets a SNAP',
    run: (cp, sp) =>
      withEnsemble('snap', cp, sp, { sids: [1, 2, 3] }, async (ens) => {
        ens.start(1);
        ens.start(2);
        const L = await waitFormed(ens, [1, 2]);
        for (const p of ['/a', '/b', '/c']) await write(ens, L, p);
        ens.start(3);
        await waitFormed(ens, [1, 2, 3]);
        await write(ens, 3, '/d');
        return `1 and 2 (leader ${L}) wrote 3 znodes before 3 started empty`;
      }),
  },
};

/** The findings' reproductions, run as they are with ZooKeeper's log layout; their temp directory kept and read. */
function fromRepro(name: string, script: string, what: string): Scenario {
  return {
    what,
    run: async () => {
      const r = spawnSync('npx', ['tsx', join(ROOT, 'scripts', script)], {
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, ZK_LOG_LAYOUT: 'zookeeper', KEEP_REPRO_DIR: '1' },
      });
      const out = r.stdout ?? '';
      const verdict = /VERDICT: .*/.exec(out)?.[0] ?? `no verdict (exit ${r.status})`;
      const kept = [...out.matchAll(/\] kept (\/\S+)\s*$/gm)].at(-1)?.[1];
      say(`  ${script}: ${verdict}`);
      if (kept === undefined || !existsSync(kept)) throw new Error(`${script} kept no directory: ${out.slice(-400)}`);
      try {
        const dir = join(OUT, name);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        for (const sid of [1, 2, 3]) trimCopy(join(kept, `server${sid}`, 'server.log'), join(dir, `server${sid}.log`));
        copyFileSync(join(kept, 'server1', 'zoo.cfg'), join(dir, 'zoo.cfg'));
        const facts = out.split('\n').filter((l) => l.startsWith('  - '));
        writeFileSync(join(dir, 'SCENARIO'), [`npm run ${script.replace(/\.ts$/, '').replace('repro-', 'repro:')}`, verdict, ...facts].join('\n') + '\n');
        say(`kept ${dir}`);
      } finally {
        rmSync(kept, { recursive: true, force: true });
      }
    },
  };
}
SCENARIOS['finding-1'] = fromRepro('finding-1', 'repro-stale-ack-3.ts', 'docs/findings.md #1 with 3 servers (npm run repro:stale-ack-3)');
SCENARIOS['finding-2'] = fromRepro('finding-2', 'repro-trunc-committed.ts', 'docs/findings.md #2 (npm run repro:trunc-committed)');

export function makeZkLogsUsage(): Usage {
  return {
    usage: 'npm run make:zk-logs -- [SCENARIO...]',
    description: `Runs Apache ZooKeeper 3.8 ensembles (Debian's package, on loopback) through the scenarios named (default: every
one) and keeps their server logs, in ZooKeeper's own layout, under traces/samples/zookeeper/ for npm run conform.`,
    flags: [
      { flag: 'list', help: 'list the scenarios (this text) and exit' },
      { flag: 'out', metavar: 'DIR', help: 'write each scenario\'s logs to DIR/SCENARIO instead of traces/samples/zookeeper/SCENARIO (default: the samples)' },
    ],
    sections: [['Scenarios', Object.entries(SCENARIOS).map(([k, v]) => `${k.padEnd(16)} ${v.what}`)]],
    exit: [
      [0, 'every scenario kept'],
      [1, 'a scenario failed'],
      [2, 'bad usage (an unknown scenario), or ZooKeeper cannot run here'],
    ],
    examples: ['npm run make:zk-logs -- trunc snap', 'npm run make:zk-logs -- --out /tmp/zk-runs five-leader-kill three-restarts'],
  };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (wantsHelp(args) || args.includes('--list')) {
    console.log(formatUsage(makeZkLogsUsage()));
    return 0;
  }
  const o = args.indexOf('--out');
  if (o >= 0) {
    const dir = args[o + 1];
    if (dir === undefined || dir.startsWith('-')) {
      console.error('make-zk-logs: --out needs a directory');
      return 2;
    }
    OUT = dir;
    args.splice(o, 2);
  }
  const unknown = args.find((a) => a.startsWith('-'));
  if (unknown !== undefined) {
    console.error(`make-zk-logs: unknown option ${JSON.stringify(unknown)} (see --help)`);
    return 2;
  }
  const names = args.length > 0 ? args : Object.keys(SCENARIOS).filter((n) => !SCENARIOS[n]!.what.includes('(not kept'));
  for (const n of names) if (SCENARIOS[n] === undefined) {
    console.error(`make-zk-logs: no scenario ${n} (--list lists them)`);
    return 2;
  }
  const pre = preflight();
  if (!pre.ok) {
    console.error(`make-zk-logs: ${pre.why}`);
    return 2;
  }
  say(`Apache ZooKeeper ${pre.version}`);
  process.env.ZK_LOG_LAYOUT = 'zookeeper';
  let failed = 0;
  for (const n of names) {
    say(`scenario ${n}: ${SCENARIOS[n]!.what}`);
    try {
      await SCENARIOS[n]!.run(pre.classpath, pre.setpriv);
    } catch (e) {
      failed++;
      say(`scenario ${n} FAILED: ${(e as Error).message}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    killAllNow();
    process.exit(code);
  },
  (e: Error) => {
    killAllNow();
    console.error(`make-zk-logs: ${e.message}`);
    process.exit(1);
  },
);
