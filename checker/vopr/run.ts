// One simulated cluster-run of the real server code, checked in process (TigerBeetle's VOPR is the model).
//
// A seed drives everything: impl/sim.ts's network (delays, per-channel FIFO) and the schedule below (client
// writes to random servers, kill -9 of random servers and their restarts, cut and healed links, slow fsyncs).
// The servers are impl/'s protocol cores (QuorumPeer over a MemDisk) on virtual time. Their transition events
// are encoded as the real servers encode them (impl/tracelog.ts's LineEncoder, one log per server and
// incarnation), held in memory (no files) and go through the same conformance search as a real run's logs
// (checker/conform). Two verdicts:
//   - conform: every logged step is one the spec allows (the same check `npm run conform` makes);
//   - durability: after the faults stop and the cluster heals, every write a client saw acknowledged is in the
//     tree of every server, and every server applied the same txns (ZooKeeper's promise to its clients);
//   - liveness: by the end of the quiet phase every server serves again (a bound in virtual time, not a proof).
// A failing seed reruns exactly: `npm run simulate -- --seed S`.
import { DEFAULT_COMMIT_LOG_COUNT } from '../../spec/config.ts';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTestBreaks } from '../../impl/core/breaks.ts';
import type { LearnerType, Sid } from '../../impl/core/types.ts';
import { SimCluster, createRequest, mulberry32, sessionRequest } from '../../impl/sim.ts';
import { LineEncoder } from '../../impl/tracelog.ts';
import { holdInMemory } from '../../traces/reader.ts';
import { headerText } from '../../traces/writer.ts';
import { conform, type ConformResult } from '../conform/run.ts';
import { zxidToHex } from '../../traces/zxid.ts';

export interface VoprOptions {
  readonly seed: number;
  /** Participants (3 or 5 are the usual ensembles). */
  readonly participants: number;
  readonly observers: number;
  /** Virtual time of the faulty phase, in ms; a quiet phase of `settleMs` follows, with every fault healed. */
  readonly timeMs: number;
  readonly settleMs: number;
  /** Test-only breakages of the protocol (impl/core/breaks.ts), on in every server of the run. */
  readonly breaks: readonly string[];
  /**
   * The logs stay in memory while conform reads them; a failing run's are also written to
   * `<keepFailing>/seed-<S>` (to read them, or to run `npm run conform` on them).
   */
  readonly keepFailing?: string | undefined;
  /** With keepFailing: keep every run's logs there, passing or not. */
  readonly keepAll?: boolean;
  /**
   * 'random' (the default): the faults of the seed only. 'guided': also episodes aimed at the spec's situations
   * random faults seldom reach (episodes below), each a scripted sequence of the spec's environment steps.
   */
  readonly schedule?: Schedule;
}

export const SCHEDULES = ['random', 'guided'] as const;
export type Schedule = (typeof SCHEDULES)[number];

/** What the run did, as counts. */
export interface VoprStats {
  readonly events: number;
  readonly writes: number;
  readonly acked: number;
  readonly crashes: number;
  readonly cuts: number;
  /** Servers cut off from every other at once. */
  readonly isolations: number;
  readonly slowFsyncs: number;
  readonly elections: number;
}

export interface VoprResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly stats: VoprStats;
  readonly conform: ConformResult;
  /** Acknowledged writes missing, or replicas that differ, after the quiet phase (empty: none). */
  readonly durability: readonly string[];
  /** Null when every server serves at the end of the quiet phase; else which do. */
  readonly liveness: string | null;
  /** Where the logs of a failing run were kept (keepFailing), else null. */
  readonly dir: string | null;
  readonly timeMs: number;
}

/** Virtual ms between two decisions of the schedule. */
const STEP = 10;
const TICK = 100;

export function runSeed(opts: VoprOptions): VoprResult {
  const started = Date.now();
  setTestBreaks(opts.breaks);
  try {
    return run(opts, started);
  } finally {
    setTestBreaks([]);
  }
}

function run(opts: VoprOptions, started: number): VoprResult {
  const servers = new Map<Sid, LearnerType>();
  for (let s = 1; s <= opts.participants; s++) servers.set(s, 'participant');
  for (let s = 1; s <= opts.observers; s++) servers.set(opts.participants + s, 'observer');
  const sids = [...servers.keys()];
  // The schedule has its own generator: the network's draws (impl/sim.ts) do not shift it.
  const rand = mulberry32((Math.imul(opts.seed, 0x9e3779b1) ^ 0x5eed) >>> 0);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

  // Each server's log, one per incarnation, encoded as the real servers encode theirs.
  const logs = new Map<string, { sid: Sid; incarnation: number; enc: LineEncoder; seq: number }>();
  let events = 0;
  let elections = 0;
  let slowFsyncs = 0;
  const sim: SimCluster = new SimCluster({
    seed: opts.seed,
    servers,
    tickTime: TICK,
    commitLogCount: DEFAULT_COMMIT_LOG_COUNT,
    trace: true,
    // A slow disk now and then: the fsync of a log append takes up to a few ticks.
    fsyncDelay: () => {
      if (rand() >= 0.05) return 1;
      slowFsyncs++;
      return between(2, 3 * TICK);
    },
    onTrace: (sid, event) => {
      const incarnation = sim.nodes.get(sid)!.incarnation + 1;
      const key = `${sid}.${incarnation}`;
      let log = logs.get(key);
      if (log === undefined) logs.set(key, (log = { sid, incarnation, enc: new LineEncoder(1 << 14), seq: 0 }));
      log.enc.line(++log.seq, sid, sim.now, event);
      events++;
      if (event.action === 'FLEStartElection') elections++;
    },
  });

  const down = new Map<Sid, number>();
  const cuts = new Map<string, number>();
  const pending = new Map<number, { sid: Sid; key: string }>();
  const ackedKeys = new Set<string>();
  let req = 0;
  let writes = 0;
  let crashes = 0;
  let cutCount = 0;
  let isolations = 0;
  let sessionAcked = false;
  const collectReplies = () => {
    for (const [r, w] of pending) {
      const res = sim.replies.get(`${w.sid}:${r}`);
      if (res === undefined) continue;
      pending.delete(r);
      if (!res.ok) continue;
      if (w.key === '') sessionAcked = true;
      else if (res.applied.rc.err === 0) ackedKeys.add(w.key);
    }
  };
  const up = () => sids.filter((s) => !down.has(s));

  // Guided episodes draw from their own generator: the random schedule of a seed stays the same with them.
  const guided = opts.schedule === 'guided' ? new Episodes(mulberry32((Math.imul(opts.seed, 0x85ebca6b) ^ 0x91d) >>> 0), sim, sids, cuts, down) : null;
  const writeTo = (sid: Sid) => {
    const key = `k${++req}`;
    writes++;
    pending.set(req, { sid, key });
    sim.write(sid, req, createRequest(key, `v${req}`));
  };

  sim.start();
  for (let t = 0; t < opts.timeMs; t += STEP) {
    const hold = guided?.step(t, writeTo, sessionAcked) ?? false;
    // Client writes: the session first (every write after it is made in it), then creates of fresh znodes.
    if (hold) {
      // An episode holds the clients' writes (it needs a new epoch without a txn yet).
    } else if (!sessionAcked) {
      if (t % 500 === 0 && up().length > 0) {
        const sid = pick(up());
        pending.set(++req, { sid, key: '' });
        sim.write(sid, req, sessionRequest());
      }
    } else if (rand() < 0.3) {
      writeTo(pick(up().length > 0 ? up() : sids));
    }
    // kill -9 of a server now and then (any server, a majority too: safety must hold regardless), back later.
    if (rand() < 1 / 250 && up().length > 0) {
      const sid = pick(up());
      sim.crash(sid);
      crashes++;
      down.set(sid, t + between(STEP, 40 * TICK));
    }
    // A lost connection between two servers, healed later.
    if (rand() < 1 / 250) {
      const a = pick(sids);
      const b = pick(sids.filter((s) => s !== a));
      const key = [a, b].sort().join('-');
      if (!cuts.has(key)) {
        sim.partition(a, b, true);
        cutCount++;
        cuts.set(key, t + between(STEP, 40 * TICK));
      }
    }
    // A server cut off from every other (a leader so isolated keeps taking writes it can never commit).
    if (rand() < 1 / 500) {
      const a = pick(sids);
      const until = t + between(20 * STEP, 40 * TICK);
      for (const b of sids) {
        if (b === a) continue;
        const key = [a, b].sort().join('-');
        if (cuts.has(key)) continue;
        sim.partition(a, b, true);
        cuts.set(key, until);
      }
      isolations++;
    }
    for (const [sid, at] of down) if (at <= t) (down.delete(sid), sim.restart(sid));
    for (const [key, at] of cuts) {
      if (at > t) continue;
      cuts.delete(key);
      const [a, b] = key.split('-').map(Number) as [Sid, Sid];
      sim.partition(a, b, false);
    }
    sim.runFor(STEP);
    collectReplies();
  }
  // The quiet phase: everything healed and running, no new writes.
  for (const sid of down.keys()) sim.restart(sid);
  down.clear();
  for (const key of cuts.keys()) {
    const [a, b] = key.split('-').map(Number) as [Sid, Sid];
    sim.partition(a, b, false);
  }
  cuts.clear();
  sim.runFor(opts.settleMs);
  collectReplies();

  const { durability, liveness } = checkDurability(sim, sids, ackedKeys, opts.settleMs);

  // The logs, one per server and incarnation, in memory under the names a cluster directory would give them.
  const serverList = sids.map((sid) => ({ sid, role: servers.get(sid)! }));
  const root = `simulate-seed-${opts.seed}`;
  const files = new Map<string, Uint8Array>();
  for (const log of logs.values()) {
    const header = headerText({
      source: 'impl',
      sid: log.sid,
      servers: serverList,
      params: { tickTime: TICK, initLimit: 10, syncLimit: 5, commitLogCount: DEFAULT_COMMIT_LOG_COUNT, incarnation: log.incarnation, simulated: true, seed: opts.seed },
    });
    const name = join(`server${log.sid}`, `transitions.${String(log.incarnation).padStart(4, '0')}.ndjson`);
    files.set(name, Buffer.concat([Buffer.from(header + '\n'), log.enc.buf.subarray(0, log.enc.pos)]));
  }
  let result: ConformResult;
  const release = holdInMemory(new Map([...files].map(([name, bytes]) => [join(root, name), bytes])));
  try {
    // The run ended with a quiet phase: what the protocol still owed then is an omission (conform's obligations).
    result = conform({ paths: [...files.keys()].map((name) => join(root, name)), settled: true });
  } finally {
    release();
  }
  let kept: string | null = null;
  if ((!result.ok || durability.length > 0 || liveness !== null || opts.keepAll === true) && opts.keepFailing !== undefined) {
    kept = join(opts.keepFailing, `seed-${opts.seed}`);
    rmSync(kept, { recursive: true, force: true });
    for (const [name, bytes] of files) {
      mkdirSync(dirname(join(kept, name)), { recursive: true });
      writeFileSync(join(kept, name), bytes);
    }
    // Read again where they are kept, so that the report names files that exist.
    result = conform({ paths: [kept], settled: true });
  }
  return {
    seed: opts.seed,
    ok: result.ok && durability.length === 0 && liveness === null,
    stats: { events, writes, acked: ackedKeys.size, crashes, cuts: cutCount, isolations, slowFsyncs, elections },
    conform: result,
    durability,
    liveness,
    dir: kept,
    timeMs: Date.now() - started,
  };
}

/** Every acknowledged create on every server that serves, and every server at the same zxid with the same tree. */
function checkDurability(sim: SimCluster, sids: readonly Sid[], acked: ReadonlySet<string>, settleMs: number): { durability: string[]; liveness: string | null } {
  const out: string[] = [];
  const serving = sids.filter((s) => {
    const p = sim.nodes.get(s)!.peer;
    return (p.state === 'LEADING' && p.leader?.phase === 'broadcast') || ((p.state === 'FOLLOWING' || p.state === 'OBSERVING') && p.learner?.phase === 'broadcast');
  });
  const liveness = serving.length < sids.length ? `${settleMs} ms after the faults stopped, ${serving.length === 0 ? 'no server serves' : `only servers ${serving.join(', ')} of ${sids.join(', ')} serve`}` : null;
  const first = serving[0];
  for (const sid of serving) {
    const db = sim.nodes.get(sid)!.peer.db;
    const missing = [...acked].filter((k) => db.tree.getNode(`/${k}`) === undefined);
    if (missing.length > 0) out.push(`server ${sid} lacks ${missing.length} acknowledged write(s), the first /${missing[0]}`);
    if (first !== undefined && sid !== first) {
      const a = sim.nodes.get(first)!.peer.db;
      if (a.lastProcessedZxid !== db.lastProcessedZxid || a.tree.digest() !== db.tree.digest()) {
        out.push(`servers ${first} and ${sid} differ: zxid ${zxidToHex(a.lastProcessedZxid)} and ${zxidToHex(db.lastProcessedZxid)}${a.tree.digest() === db.tree.digest() ? '' : ', trees differ'}`);
      }
    }
  }
  return { durability: out, liveness };
}

/**
 * Spec-guided episodes: scripted sequences of the spec's environment steps (a lost connection, a client write, a
 * crash), each aimed at a situation of the spec that the random faults seldom reach, found by the coverage report
 * (npm run simulate prints which spec actions and branches no log showed):
 *
 * - trunc (LeaderSyncFollower's TRUNC, LearnerProcessTRUNC: the spec's syncByTRUNC): the serving leader is cut off
 *   from every other server and takes writes it cannot commit; the clients' writes are held until the others
 *   serve in a new epoch, then the old leader's connections heal: it comes back with txns the new leader never
 *   had, before any txn of the new epoch, and must be TRUNCed.
 * - votes (a vote whose epoch order and zxid order disagree): the same, but the new leader is killed as the old
 *   one comes back, so the old leader (older epoch, larger zxid) and the new epoch's follower (newer epoch, smaller
 *   zxid) vote against each other.
 */
class Episodes {
  private episode: { kind: 'trunc' | 'votes'; old: Sid; phase: 'write' | 'elect' | 'settle'; at: number; writes: number } | null = null;

  constructor(
    private readonly rand: () => number,
    private readonly sim: SimCluster,
    private readonly sids: readonly Sid[],
    private readonly cuts: Map<string, number>,
    private readonly down: Map<Sid, number>,
  ) {}

  /** Advance the episode at virtual time t; true while the clients' writes are held. */
  step(t: number, writeTo: (sid: Sid) => void, sessionAcked: boolean): boolean {
    const e = this.episode;
    if (e === null) {
      // About one episode every 3 s, once the clients have a session and a leader serves.
      if (!sessionAcked || this.rand() >= STEP / 3000) return false;
      const old = this.sim.leaders()[0];
      if (old === undefined || this.down.has(old)) return false;
      for (const b of this.sids) {
        if (b === old) continue;
        this.sim.partition(old, b, true);
        // The random schedule's healing is the episode's safety net.
        this.cuts.set([old, b].sort().join('-'), t + 60 * TICK);
      }
      this.episode = { kind: this.rand() < 0.5 ? 'trunc' : 'votes', old, phase: 'write', at: t, writes: 0 };
      return true;
    }
    if (e.phase === 'write') {
      if (t - e.at >= 3 * STEP * e.writes && e.writes < 3) {
        writeTo(e.old);
        e.writes++;
      }
      if (e.writes === 3) Object.assign(e, { phase: 'elect', at: t });
      return true;
    }
    if (e.phase === 'elect') {
      const other = this.sim.leaders().find((s) => s !== e.old);
      if (other === undefined && t - e.at < 40 * TICK) return true;
      for (const b of this.sids) {
        if (b === e.old) continue;
        const key = [e.old, b].sort().join('-');
        if (this.cuts.delete(key)) this.sim.partition(e.old, b, false);
      }
      if (e.kind === 'votes' && other !== undefined && !this.down.has(other)) {
        this.sim.crash(other);
        this.down.set(other, t + 10 * TICK + Math.floor(this.rand() * 10 * TICK));
      }
      Object.assign(e, { phase: 'settle', at: t });
      return true;
    }
    if (t - e.at < 15 * TICK) return true;
    this.episode = null;
    return false;
  }
}
