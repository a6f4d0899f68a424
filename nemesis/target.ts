// The two ensembles the nemesis runs against, behind one seam: Apache ZooKeeper 3.8 from Debian's package (the
// reproductions' harness, harness/zookeeper/: every learner->leader quorum link through a proxy of ours, the
// fsync shim LD_PRELOADed), and ours (impl/ensemble.ts, `npm run cluster`'s launcher, transition logs on, the
// servers' test fault switch for partitions). Every process is started here and stopped by its PID in close().
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ensemble as OurEnsemble } from '../impl/ensemble.ts';
import { FSYNC_HOLD_SRC, ZkEnsemble, alive, preflight, type ZkServer } from '../harness/zookeeper/index.ts';

/** Every packet type of the quorum protocol: a Direction holding on all of them holds everything. */
const ALL_PACKETS = Array.from({ length: 19 }, (_, i) => i + 1);

export interface Target {
  readonly name: 'zookeeper' | 'ours';
  readonly sids: readonly number[];
  /** What this target cannot do (fault kinds left out), said in the report. */
  readonly limits: string[];
  readonly sessionTimeoutMs: number;
  clientPort(sid: number): number;
  /** Starts every server and waits until they serve; throws on timeout. */
  start(): Promise<void>;
  /** One leader, every other server following, all answering: the leader's sid, else null. */
  formed(): Promise<number | null>;
  /** Each server's last processed zxid (null: no answer). */
  zxids(): Promise<Map<number, bigint | null>>;
  kill(sid: number): Promise<void>;
  restart(sid: number): void;
  running(sid: number): boolean;
  pause(sid: number): void;
  resume(sid: number): void;
  /** Cut `sid` off from every other server (both ways); heal() undoes every network fault. */
  isolate(sid: number): Promise<void>;
  /** Drop what `from` sends to `to` (one way); null if this target cannot. */
  oneWay: ((from: number, to: number) => Promise<void>) | null;
  heal(): Promise<void>;
  /** Hold (true) or release (false) the fsyncs of `sid`; null if the shim is not available. */
  holdFsync: ((sid: number, on: boolean) => void) | null;
  /** The end of `sid`'s newest txn log's records, in bytes (for tearing what came after a point). */
  logEnd(sid: number): { file: string; end: number } | null;
  /** Tear the log written after `from` (bytes): from a point inside it on, the bytes are lost. */
  tear(file: string, from: number, at: number): number;
  /** Transition logs (ours) for the conformance check. */
  traceDirs(): string[];
  /** Stops every server (ours: SIGTERM, so that each writes out its transition log), keeping their files. */
  stopServers(): Promise<void>;
  /** Stops every server by PID and removes every file. */
  close(): Promise<void>;
}

function compileShim(dir: string): string | null {
  const so = join(dir, 'fsync-hold.so');
  const cc = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-o', so, FSYNC_HOLD_SRC, '-ldl'], { encoding: 'utf8', timeout: 60_000 });
  return cc.status === 0 ? so : null;
}

// ------------------------------------------------------------------------------------------- ZooKeeper 3.8

/** ZooKeeper's FileTxnLog records: 16-byte header, then per txn long crc, int length, the txn, byte 'B'; the file
 *  is preallocated with zeros, so the end of the records is not the file's size. */
function zkRecordsEnd(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const buf = Buffer.alloc(Math.min(size, 64 << 20));
    const n = readSync(fd, buf, 0, buf.length, 0);
    let off = 16;
    while (off + 12 <= n) {
      const len = buf.readInt32BE(off + 8);
      if (len <= 0 || off + 12 + len + 1 > n) break;
      off += 12 + len + 1;
    }
    return off;
  } finally {
    closeSync(fd);
  }
}

/** Targets still being set up, and how to undo each: a signal that comes before a target exists still removes its folder. */
const settingUp = new Set<() => Promise<void> | void>();

/** Undo every target still being set up (their servers got the signal too): remove what they made. */
export async function abandonSetup(): Promise<void> {
  for (const undo of [...settingUp]) await undo();
  settingUp.clear();
}

export async function zookeeperTarget(nodes: number): Promise<Target> {
  const pf = preflight();
  if (!pf.ok) throw new Error(pf.why);
  const sids = Array.from({ length: nodes }, (_, i) => i + 1);
  let shim: string | null = null;
  const holdFile = (s: ZkServer) => join(s.dir, 'fsync-hold');
  // tickTime 500 ms: session timeouts of 2-20 ticks (1-10 s), a learner dropped after syncLimit 5 ticks (2.5 s),
  // initLimit 10 ticks (5 s) for discovery and sync.
  const ens = new ZkEnsemble(
    { sids, tickMs: 500, initLimit: 10, syncLimit: 5, tmpPrefix: 'nemesis-zk-', env: (s): Record<string, string> => (shim === null ? {} : { LD_PRELOAD: shim, FSYNC_HOLD_FILE: holdFile(s) }) },
    pf.classpath,
    pf.setpriv,
  );
  const undo = () => ens.close();
  settingUp.add(undo);
  shim = compileShim(ens.root);
  await ens.setup();
  const srv = (sid: number) => ens.srv(sid);
  const pairs = () => [...ens.proxies.values()];
  const limits = ['election traffic (FLE) is not proxied: partitions and one-way loss cut the quorum links (learner to leader) only'];
  if (shim === null) limits.push('no gcc: fsync stalls and torn tails become kills');
  const formed = async (): Promise<number | null> => {
    const m = await ens.status(sids);
    const modes = [...m.values()].map((x) => x?.mode);
    if (modes.filter((x) => x === 'leader').length === 1 && modes.filter((x) => x === 'follower').length === sids.length - 1) return [...m].find(([, x]) => x?.mode === 'leader')![0];
    return null;
  };
  settingUp.delete(undo);
  return {
    name: 'zookeeper',
    sids,
    limits,
    sessionTimeoutMs: 4000,
    clientPort: (sid) => srv(sid).clientPort,
    async start() {
      for (const sid of sids) ens.start(sid);
      const until = performance.now() + 90_000;
      while (performance.now() < until) {
        if ((await formed()) !== null) return;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`ZooKeeper: no leader with ${nodes - 1} followers within 90 s: ${ens.showStatus(await ens.status(sids))}`);
    },
    formed,
    async zxids() {
      const m = await ens.status(sids);
      return new Map(sids.map((sid) => [sid, m.get(sid)?.zxid ?? null]));
    },
    async kill(sid) {
      await ens.kill9(sid);
    },
    restart(sid) {
      if (!alive(srv(sid).child)) ens.start(sid);
    },
    running: (sid) => alive(srv(sid).child),
    pause(sid) {
      const pid = srv(sid).child?.pid;
      if (pid !== undefined && alive(srv(sid).child)) process.kill(pid, 'SIGSTOP');
    },
    resume(sid) {
      const pid = srv(sid).child?.pid;
      if (pid !== undefined && alive(srv(sid).child)) process.kill(pid, 'SIGCONT');
    },
    async isolate(sid) {
      for (const p of pairs()) {
        if (p.from !== sid && p.to !== sid) continue;
        for (const d of [p.up, p.down]) {
          d.rules(ALL_PACKETS);
          d.holding = true;
        }
      }
    },
    oneWay: async (from, to) => {
      // from -> to: the learner's up direction if `to` leads, the leader's down direction if `from` does; both pairs.
      for (const p of pairs()) {
        if (p.from === from && p.to === to) (p.up.rules(ALL_PACKETS), (p.up.holding = true));
        if (p.from === to && p.to === from) (p.down.rules(ALL_PACKETS), (p.down.holding = true));
      }
    },
    async heal() {
      // Held packets are dropped, as a partition loses them; the connections are broken so that both ends notice.
      for (const p of pairs()) {
        const held = p.up.holding || p.down.holding;
        p.up.rules([]);
        p.down.rules([]);
        p.up.holding = false;
        p.down.holding = false;
        if (held) p.breakConnections();
      }
    },
    holdFsync:
      shim === null
        ? null
        : (sid, on) => {
            const f = holdFile(srv(sid));
            if (on) writeFileSync(f, 'hold\n');
            else if (existsSync(f)) unlinkSync(f);
          },
    logEnd(sid) {
      const dir = join(srv(sid).dataDir, 'version-2');
      if (!existsSync(dir)) return null;
      const logs = readdirSync(dir).filter((f) => /^log\.[0-9a-f]+$/.test(f)).sort((a, b) => (BigInt('0x' + a.slice(4)) < BigInt('0x' + b.slice(4)) ? -1 : 1));
      const last = logs.at(-1);
      if (last === undefined) return null;
      const file = join(dir, last);
      return { file, end: zkRecordsEnd(file) };
    },
    tear(file, from, at) {
      // Zeros from `at` to the end of the records: the preallocated file keeps its size, the torn records read as
      // padding (or as a record that fails its checksum).
      const end = zkRecordsEnd(file);
      if (at >= end || at < from) return 0;
      const fd = openSync(file, 'r+');
      try {
        writeSync(fd, Buffer.alloc(end - at), 0, end - at, at);
      } finally {
        closeSync(fd);
      }
      return end - at;
    },
    traceDirs: () => [],
    async stopServers() {
      for (const sid of sids) await ens.kill9(sid).catch(() => {});
    },
    async close() {
      for (const sid of sids) {
        const c = srv(sid).child;
        if (c?.pid !== undefined && alive(c)) process.kill(c.pid, 'SIGCONT');
      }
      await ens.close();
    },
  };
}

// ------------------------------------------------------------------------------------------------ ours

export async function oursTarget(nodes: number, keepDir: string | null): Promise<Target> {
  const root = keepDir ?? mkdtempSync(join(tmpdir(), 'nemesis-ours-'));
  const undoOurs = () => {
    if (keepDir === null) rmSync(root, { recursive: true, force: true });
  };
  settingUp.add(undoOurs);
  const shim = compileShim(root);
  // tickTime 200 ms (the cluster's default): sessions of 2-20 ticks (0.4-4 s); syncLimit 5 ticks (1 s).
  const ens = await OurEnsemble.create({ nodes, dir: root, tickTime: 200, transitionLog: true, testFaults: true });
  const sids = [...ens.servers.keys()];
  const h = (sid: number) => ens.servers.get(sid)!;
  const holdFile = (sid: number) => join(h(sid).dir, 'fsync-hold');
  const up = (sid: number) => {
    const c = h(sid).child;
    return c !== null && c.exitCode === null && c.signalCode === null;
  };
  const startOne = (sid: number) => {
    // The launcher passes this process's environment on: the shim and its hold file go in for this start only;
    // ZK_TRACE_SYNC=1 writes each transition line as it is logged, so that a kill -9 does not take the log's last
    // 50 ms with it (conform would then miss steps the server took: traces/README.md, Limits).
    const saved = { LD_PRELOAD: process.env['LD_PRELOAD'], FSYNC_HOLD_FILE: process.env['FSYNC_HOLD_FILE'], ZK_TRACE_SYNC: process.env['ZK_TRACE_SYNC'] };
    process.env['ZK_TRACE_SYNC'] = '1';
    if (shim !== null) {
      process.env['LD_PRELOAD'] = shim;
      process.env['FSYNC_HOLD_FILE'] = holdFile(sid);
    }
    try {
      ens.start(sid);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  const limits = ['one-way loss becomes a partition: our servers\' fault switch cuts both ways'];
  if (shim === null) limits.push('no gcc: fsync stalls and torn tails become kills');
  const stat = async (sid: number) => (up(sid) ? ens.stat(sid) : null);
  settingUp.delete(undoOurs);
  return {
    name: 'ours',
    sids,
    limits,
    sessionTimeoutMs: 4000,
    clientPort: (sid) => h(sid).clientPort,
    async start() {
      for (const sid of sids) startOne(sid);
      await ens.waitForLeader(undefined, 60_000);
    },
    async formed() {
      const st = await Promise.all(sids.map(stat));
      if (st.some((s) => s === null || s['serving'] !== true)) return null;
      const leaders = st.filter((s) => s!['state'] === 'LEADING');
      return leaders.length === 1 ? (leaders[0]!['sid'] as number) : null;
    },
    async zxids() {
      const st = await Promise.all(sids.map(stat));
      return new Map(sids.map((sid, i) => [sid, st[i] ? BigInt(st[i]!['lastProcessedZxid'] as string) : null]));
    },
    async kill(sid) {
      await ens.kill(sid, 'SIGKILL');
    },
    restart(sid) {
      if (!up(sid)) startOne(sid);
    },
    running: up,
    pause(sid) {
      const pid = h(sid).child?.pid;
      if (pid !== undefined && up(sid)) process.kill(pid, 'SIGSTOP');
    },
    resume(sid) {
      const pid = h(sid).child?.pid;
      if (pid !== undefined && up(sid)) process.kill(pid, 'SIGCONT');
    },
    async isolate(sid) {
      const others = sids.filter((s) => s !== sid);
      await ens.fault(sid, others).catch(() => {});
      for (const o of others) if (up(o)) await ens.fault(o, [sid]).catch(() => {});
    },
    oneWay: null,
    async heal() {
      for (const sid of sids) if (up(sid)) await ens.fault(sid, []).catch(() => {});
    },
    holdFsync:
      shim === null
        ? null
        : (sid, on) => {
            const f = holdFile(sid);
            if (on) writeFileSync(f, 'hold\n');
            else if (existsSync(f)) unlinkSync(f);
          },
    logEnd(sid) {
      const dir = join(h(sid).dataDir, 'version-2');
      if (!existsSync(dir)) return null;
      const logs = readdirSync(dir).filter((f) => /^log\.[0-9a-f]+$/.test(f)).sort((a, b) => (BigInt('0x' + a.slice(4)) < BigInt('0x' + b.slice(4)) ? -1 : 1));
      const last = logs.at(-1);
      if (last === undefined) return null;
      const file = join(dir, last);
      return { file, end: statSync(file).size };
    },
    tear(file, from, at) {
      // Our log is appended without preallocation: what came after `at` is cut off, as a lost page would leave it.
      const end = statSync(file).size;
      if (at >= end || at < from) return 0;
      truncateSync(file, at);
      return end - at;
    },
    traceDirs: () => sids.map((sid) => h(sid).dataDir),
    async stopServers() {
      for (const sid of sids) if (up(sid)) process.kill(h(sid).child!.pid!, 'SIGCONT');
      await ens.stopAll('SIGTERM');
    },
    async close() {
      for (const sid of sids) if (up(sid)) process.kill(h(sid).child!.pid!, 'SIGCONT');
      await ens.stopAll('SIGKILL');
      if (keepDir === null) rmSync(root, { recursive: true, force: true });
    },
  };
}
