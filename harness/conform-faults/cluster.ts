// The fault-injection harness: real server processes, a client write workload, faults chosen by a seed,
// then `conform` over the logs they wrote. Used by `npm run conform:faults` and test/conform-faults.test.ts.
//
// A run: a 3-server ensemble with an observer on 127.0.0.1; writers through every server; `rounds` faults,
// each one of: kill -9 of a follower and its restart, kill -9 of the leader and its restart, dropped
// connections between one server and the others (the impl's --test-faults switch) and their healing; then
// every server must serve again under one leader, the ensemble is stopped, and conform reads the logs.
// Every wait is bounded; every process started is stopped by PID, also on failure.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ensemble } from '../../impl/ensemble.ts';
import type { ZkClient } from '../../impl/client.ts';
import { conform, type ConformResult } from '../../checker/conform/run.ts';
import { mulberry32 as rng } from '../../impl/sim.ts';

export interface FaultRunOptions {
  readonly seed: number;
  readonly dir: string;
  readonly rounds?: number;
  /** Test-only breakages to turn on in the servers (impl/core/breaks.ts, passed as ZK_TEST_BREAK). */
  readonly breaks?: readonly string[];
  /** The faults, in order; default: faultSchedule(seed, rounds), every one of the first three kinds. */
  readonly schedule?: readonly FaultKind[];
  /**
   * Server 1 starts with acceptedEpoch 5 on disk (as after a crash during a discovery that never finished)
   * and only once the others have a leader: the leader's epoch is then lower than the one it accepted.
   */
  readonly staleAcceptedEpoch?: boolean;
  /** Run the client write workload (default true). */
  readonly workload?: boolean;
  /** Pause of each writer between its writes, ms (default 5). */
  readonly paceMs?: number;
  /** How long the workload runs before the first fault, ms (default 300). */
  readonly warmupMs?: number;
  readonly log?: (line: string) => void;
}

export type FaultKind = 'killFollower' | 'killLeader' | 'dropConnections' | 'isolateLeaderWithWrite';
const RANDOM_KINDS: readonly FaultKind[] = ['killFollower', 'killLeader', 'dropConnections'];

export interface FaultRunResult {
  readonly seed: number;
  readonly dir: string;
  /** The faults applied, in order, as lines ('kill -9 leader 2, restart'). */
  readonly faults: readonly string[];
  /** Their kinds, in the same order. */
  readonly kinds: readonly FaultKind[];
  readonly writesAcked: number;
  readonly conform: ConformResult;
}

/** What each kind of fault does, for reports. */
export const FAULT_KIND_NAMES: Readonly<Record<FaultKind, string>> = {
  killFollower: 'kill -9 of a follower',
  killLeader: 'kill -9 of the leader',
  dropConnections: 'dropped connections',
  isolateLeaderWithWrite: 'a cut-off leader with a write in flight',
};

/**
 * The faults of a seeded run: every random kind once, in an order the seed shuffles, then (past three
 * rounds) kinds drawn by the seed. So every run of three rounds or more has each kind; fewer rounds get
 * distinct kinds.
 */
export function faultSchedule(random: () => number, rounds: number): FaultKind[] {
  const kinds = [...RANDOM_KINDS];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  while (kinds.length < rounds) kinds.push(RANDOM_KINDS[Math.floor(random() * RANDOM_KINDS.length)]!);
  return kinds.slice(0, rounds);
}

/** "kill -9 of the leader, dropped connections x2; not applied: kill -9 of a follower", for a run's report. */
export function describeKinds(kinds: readonly FaultKind[]): string {
  const counts = new Map<FaultKind, number>();
  for (const k of kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
  const applied = [...counts].map(([k, n]) => `${FAULT_KIND_NAMES[k]}${n > 1 ? ` x${n}` : ''}`);
  const missing = RANDOM_KINDS.filter((k) => !counts.has(k)).map((k) => FAULT_KIND_NAMES[k]);
  return `${applied.length > 0 ? applied.join(', ') : 'none'}${missing.length > 0 ? `; not applied: ${missing.join(', ')}` : ' (every kind)'}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writers, one per server, each keeping one write in flight; errors (NOT_READY, lost connections) are expected. */
class Workload {
  acked = 0;
  private running = true;
  private readonly loops: Promise<void>[];
  constructor(ens: Ensemble, sids: readonly number[], untilMs: number, private readonly paceMs: number) {
    const until = Date.now() + untilMs;
    this.loops = sids.map((sid) => this.loop(ens, sid, until));
  }
  private async loop(ens: Ensemble, sid: number, until: number): Promise<void> {
    let c: ZkClient | null = null;
    let n = 0;
    while (this.running && Date.now() < until) {
      try {
        c ??= await ens.client(sid, 1000);
        await c.set(`k${sid}-${n++ % 50}`, `v${n}`);
        this.acked++;
        await sleep(this.paceMs);
      } catch {
        c?.close();
        c = null;
        await sleep(100);
      }
    }
    c?.close();
  }
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

export async function faultRun(opts: FaultRunOptions): Promise<FaultRunResult> {
  const log = opts.log ?? (() => {});
  const random = rng(opts.seed);
  rmSync(opts.dir, { recursive: true, force: true });
  mkdirSync(opts.dir, { recursive: true });
  const ens = await Ensemble.create({
    nodes: 3,
    observers: 1,
    dir: opts.dir,
    tickTime: 100,
    initLimit: 10,
    syncLimit: 5,
    testFaults: true,
    // DIFF from the in-memory committed log for the whole run (the spec has no bounded commit log).
    extra: { commitLogCount: 1_000_000 },
  });
  if (opts.staleAcceptedEpoch) {
    mkdirSync(join(ens.servers.get(1)!.dataDir, 'version-2'), { recursive: true });
    writeFileSync(join(ens.servers.get(1)!.dataDir, 'version-2', 'acceptedEpoch'), '5\n');
    writeFileSync(join(ens.servers.get(1)!.dataDir, 'version-2', 'currentEpoch'), '0\n');
  }
  const savedBreak = process.env['ZK_TEST_BREAK'];
  const savedSync = process.env['ZK_TRACE_SYNC'];
  process.env['ZK_TRACE_SYNC'] = '1';
  if (opts.breaks && opts.breaks.length > 0) process.env['ZK_TEST_BREAK'] = opts.breaks.join(',');
  else delete process.env['ZK_TEST_BREAK'];
  const faults: string[] = [];
  const kinds: FaultKind[] = [];
  let load: Workload | null = null;
  try {
    if (opts.staleAcceptedEpoch) {
      for (const sid of [2, 3, 4]) ens.start(sid);
      await ens.waitForLeader([2, 3], 20_000);
      ens.start(1);
      // Its start (a tsx process) takes seconds on a loaded machine: wait until it answers, then for its election.
      for (const until = Date.now() + 20_000; (await ens.stat(1)) === null && Date.now() < until; ) await sleep(100);
      await sleep(1500);
    } else ens.startAll();
    let leader = await ens.waitForLeader(opts.staleAcceptedEpoch ? [2, 3] : undefined, 20_000);
    if (opts.workload !== false) load = new Workload(ens, opts.staleAcceptedEpoch ? [2, 3] : [1, 2, 3, 4], 120_000, opts.paceMs ?? 5);
    await sleep(opts.warmupMs ?? 300);
    const schedule = opts.schedule ?? faultSchedule(random, opts.rounds ?? 3);
    for (const kind of schedule) {
      kinds.push(kind);
      const followers = [1, 2, 3].filter((s) => s !== leader);
      if (kind === 'killFollower') {
        const f = followers[Math.floor(random() * followers.length)]!;
        faults.push(`kill -9 follower ${f}, restart`);
        await ens.kill(f, 'SIGKILL');
        await sleep(200 + Math.floor(random() * 600));
        ens.start(f);
      } else if (kind === 'killLeader') {
        faults.push(`kill -9 leader ${leader}, restart`);
        const old = leader;
        await ens.kill(old, 'SIGKILL');
        await ens.waitForLeader(followers, 20_000);
        await sleep(Math.floor(random() * 400));
        ens.start(old);
      } else if (kind === 'dropConnections') {
        const target = [1, 2, 3][Math.floor(random() * 3)]!;
        const others = [1, 2, 3, 4].filter((s) => s !== target);
        faults.push(`drop connections of ${target}, heal`);
        const c = await ens.client(target, 2000);
        try {
          await c.fault(others);
          await sleep(300 + Math.floor(random() * 900));
          await c.fault([]);
        } finally {
          c.close();
        }
      } else {
        // The leader is cut off and then takes a write it logs but can never commit: it must TRUNC it later.
        const old = leader;
        const others = [1, 2, 3, 4].filter((s) => s !== old);
        faults.push(`drop connections of leader ${old} with a write in flight, heal`);
        const c = await ens.client(old, 2000);
        try {
          await c.fault(others);
          const lost = c.set('lost', 'x').catch(() => null);
          await lost;
          await ens.waitForLeader(followers, 20_000);
          await sleep(300);
          await c.fault([]);
        } finally {
          c.close();
        }
      }
      log(`seed ${opts.seed}: ${faults[faults.length - 1]}`);
      leader = await ens.waitForLeader(opts.staleAcceptedEpoch ? [2, 3] : undefined, 30_000);
      await sleep(200 + Math.floor(random() * 400));
    }
    await sleep(200);
  } finally {
    await load?.stop();
    await ens.stopAll('SIGTERM');
    if (savedSync === undefined) delete process.env['ZK_TRACE_SYNC'];
    else process.env['ZK_TRACE_SYNC'] = savedSync;
    if (savedBreak === undefined) delete process.env['ZK_TEST_BREAK'];
    else process.env['ZK_TEST_BREAK'] = savedBreak;
  }
  const result = conform({ paths: [opts.dir] });
  return { seed: opts.seed, dir: opts.dir, faults, kinds, writesAcked: load?.acked ?? 0, conform: result };
}

export function runDir(base: string, seed: number): string {
  return join(base, `seed-${seed}`);
}
