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
import type { LearnerType, RawTraceEvent, Sid } from '../../impl/core/types.ts';
import { SimCluster, createRequest, mulberry32, sessionRequest } from '../../impl/sim.ts';
import { LineEncoder } from '../../impl/tracelog.ts';
import { holdInMemory } from '../../traces/reader.ts';
import { headerText } from '../../traces/writer.ts';
import { conform, type ConformResult } from '../conform/run.ts';
import { counterOf, epochOf, zxidToHex } from '../../traces/zxid.ts';

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
  /** With the guided schedule: only these episode kinds (default: all that apply). */
  readonly episodes?: readonly EpisodeKind[];
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
  /** The guided schedule: how many episodes of each kind started, and how many reached their situation. */
  readonly episodes?: { readonly started: Partial<Record<EpisodeKind, number>>; readonly reached: Partial<Record<EpisodeKind, number>> };
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
/** Guided schedule: how long the episodes wait for a serving leader and every participant up before recovering them. */
const RECOVER = 1500;

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
  // Guided episodes (made below, once the cluster exists) see every logged event and may slow a server's fsyncs.
  let guided: Episodes | null = null;
  const sim: SimCluster = new SimCluster({
    seed: opts.seed,
    servers,
    tickTime: TICK,
    commitLogCount: DEFAULT_COMMIT_LOG_COUNT,
    trace: true,
    // A slow disk now and then: the fsync of a log append takes up to a few ticks.
    fsyncDelay: (sid) => {
      let ms = 1;
      if (rand() < 0.05) {
        slowFsyncs++;
        ms = between(2, 3 * TICK);
      }
      return guided?.fsyncDelay(sid, ms) ?? ms;
    },
    onTrace: (sid, event) => {
      const incarnation = sim.nodes.get(sid)!.incarnation + 1;
      const key = `${sid}.${incarnation}`;
      let log = logs.get(key);
      if (log === undefined) logs.set(key, (log = { sid, incarnation, enc: new LineEncoder(1 << 14), seq: 0 }));
      log.enc.line(++log.seq, sid, sim.now, event);
      events++;
      if (event.action === 'FLEStartElection') elections++;
      guided?.onTrace(sid, event);
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
  guided =
    opts.schedule === 'guided'
      ? new Episodes(
          mulberry32((Math.imul(opts.seed, 0x85ebca6b) ^ 0x91d) >>> 0),
          sim,
          sids,
          sids.filter((s) => servers.get(s) === 'participant'),
          cuts,
          down,
          (opts.episodes ?? EPISODES).filter((k) => k !== 'observerQuorum' || opts.observers > 0),
          opts.timeMs - 8_000,
        )
      : null;
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
    if (rand() < 1 / 250 && up().length > 0 && !(guided?.faultsHeld ?? false)) {
      const sid = pick(up());
      sim.crash(sid);
      crashes++;
      down.set(sid, t + between(STEP, 40 * TICK));
    }
    // A lost connection between two servers, healed later.
    if (rand() < 1 / 250 && !(guided?.faultsHeld ?? false)) {
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
    if (rand() < 1 / 500 && !(guided?.faultsHeld ?? false)) {
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
    stats: { events, writes, acked: ackedKeys.size, crashes, cuts: cutCount, isolations, slowFsyncs, elections, ...(guided === null ? {} : { episodes: { started: guided.started, reached: guided.reached } }) },
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

/** The episode kinds of the guided schedule (Episodes below). */
export const EPISODES = ['trunc', 'votes', 'lowerEpoch', 'ahead', 'edge', 'queued', 'observerQuorum'] as const;
export type EpisodeKind = (typeof EPISODES)[number];

/** One scripted episode: a generator advanced once a schedule step; it yields true while the clients' writes are held. */
type Script = Generator<boolean, void, void>;

/**
 * Spec-guided episodes: scripted sequences of the spec's environment steps (a lost connection, a client write, a
 * crash), each aimed at a situation of the spec that the random faults seldom reach, found by the coverage report
 * (npm run simulate prints which spec actions and branches no log showed). Some act at an exact logged event
 * (onTrace: a cut made there drops the packets the event's step sends). One runs at a time, 0.3 to 1 s after the
 * last, once a leader serves and every participant runs (after 1.5 s of waiting for that, the servers down restart
 * and the lost connections heal); it starts from a whole network (the random schedule's cuts heal), and the random
 * faults are held while it runs, so they act between the episodes. The next kind is one whose situation was reached
 * least often so far in the run (each script checks the cluster's state, not the servers' answers: coverage-
 * directed), lowerEpoch first among equals (it cannot start in the last 8 s of the faulty phase), then a seeded
 * order. Before this (main at 8e7d170) the kinds went in turn with the random faults running through them: a run of
 * seeds 1-10 got 3 to 6 episodes, often not one of each kind, and waited up to 10 s for a leader between them.
 *
 * - trunc (LeaderSyncFollower's TRUNC, LearnerProcessTRUNC: the spec's syncByTRUNC): the serving leader is cut off
 *   from every other server and takes writes it cannot commit; the clients' writes are held until the others
 *   serve in a new epoch, then the old leader's connections heal: it comes back with txns the new leader never
 *   had, before any txn of the new epoch, and must be TRUNCed. It starts once the serving epoch has committed two
 *   txns (so the TRUNC names a txn inside the epoch), and the writes reach the leader in the step that cuts it off
 *   (a leader whose connections close steps down at its next tick, within a few ms: writes sent after the cut
 *   mostly found it LOOKING, and there was no TRUNC).
 * - votes (a vote whose epoch order and zxid order disagree): the same, but the new leader is killed as the old
 *   one comes back, so the old leader (older epoch, larger zxid) and the new epoch's follower (newer epoch, smaller
 *   zxid) vote against each other.
 * - lowerEpoch (LearnerProcessLEADERINFO refused: a leader's epoch below the learner's acceptedEpoch): a leader is
 *   cut off (and restarted) at the EpochFileWrite of the epoch it proposes, before its LEADERINFO leaves; it wins
 *   the next election too (the votes did not change) and is cut off the same way, so it accepted e+2 where the
 *   others still hold e; they elect without it (epoch e+1), and it comes back to a leader of a lower epoch than
 *   it accepted. Its leader is then restarted, so that a new epoch above e+2 lets it in.
 * - ahead (LeaderProcessACKEPOCH refused: a learner ahead of its leader): the serving leader is cut off and logs
 *   writes it cannot commit, then killed; the others elect, and the link between them is cut as the follower
 *   decides (its connection is refused, it still answers FOLLOWING); the old leader restarts, joins the new leader
 *   on their two answers and, being ahead of it, is part of its discovery.
 * - edge (LeaderSyncFollower's DIFF from the oldest txn of the committedLog): a fresh leader (it took a snapshot
 *   as it took the lead) commits one txn, a follower logs it and is killed, two more txns commit, the leader and
 *   the other follower are killed; the leader restarts (its committedLog starts after its snapshot: the follower's
 *   last txn is the oldest) and syncs the follower. Three participants only.
 * - queued (proposals outstanding while a learner syncs: the spec's forwarding between the sync and NEWLEADER): a
 *   follower is killed, the leader's fsyncs are made slow (its own ACK waits for them, so with one follower left
 *   nothing commits before it), writes go on until the leader has synced the follower with proposals outstanding
 *   (at most 1 s), the follower restarting into them.
 * - observerQuorum (with observers: a leader left with observers only must step down): the serving leader is cut
 *   off from the other participants, not from the observers.
 */
class Episodes {
  private t = 0;
  private writeTo: (sid: Sid) => void = () => {};
  private script: Script | null = null;
  private readonly order: EpisodeKind[];
  private turn = 0;
  private nextAt = 0;
  /** The spec-event hook of the running script (cuts made at an exact step). */
  private watch: ((sid: Sid, event: RawTraceEvent) => void) | null = null;
  /** A server whose fsyncs are slow while the script says so. */
  private slowFsync: Sid | null = null;
  /**
   * The random schedule's faults (kill -9, lost connections, isolations) are held while an episode runs: its
   * script makes the faults of its situation, and a random one in the middle mostly spoils it (a leader that
   * loses its other follower before the sync, a cut healed early). They act between the episodes.
   */
  get faultsHeld(): boolean {
    return this.script !== null;
  }
  /** How many episodes of each kind started (the run's stats). */
  readonly started: Partial<Record<EpisodeKind, number>> = {};
  /**
   * How many episodes of each kind reached their situation (the script's own check of the cluster's state, not of
   * what the servers answered). The next episode is of a kind reached least often so far (coverage-directed).
   */
  readonly reached: Partial<Record<EpisodeKind, number>> = {};

  constructor(
    private readonly rand: () => number,
    private readonly sim: SimCluster,
    private readonly sids: readonly Sid[],
    private readonly participants: readonly Sid[],
    private readonly cuts: Map<string, number>,
    private readonly down: Map<Sid, number>,
    kinds: readonly EpisodeKind[],
    /** No lowerEpoch episode starts after this time (its server needs a new epoch to rejoin: up to 8 s). */
    private readonly lastLowerEpoch: number,
  ) {
    // A seeded order of the kinds, taken in turn: every kind comes once before any comes twice.
    const order = [...kinds];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.order = order;
  }

  /** Advance the episode at virtual time t; true while the clients' writes are held. */
  step(t: number, writeTo: (sid: Sid) => void, sessionAcked: boolean): boolean {
    this.t = t;
    this.writeTo = writeTo;
    if (this.script === null) {
      // The next episode starts a random 0.3 to 1 s after the last one, as soon as the clients have a session, a
      // leader serves and every participant runs.
      if (!sessionAcked || this.order.length === 0 || t < this.nextAt) return false;
      if (this.leader() === undefined || !this.allUp() || !this.allServing()) {
        // The random faults left no serving leader or a participant down: past RECOVER of waiting, the servers
        // down restart and the lost connections heal (the environment's steps), so that they do not starve the
        // episodes (a random kill -9 keeps a server down up to 4 s, and three kinds of faults come every 1.7 s).
        if (t - this.nextAt >= RECOVER) this.recover();
        return false;
      }
      const kind = this.next(t);
      if (kind === null) return false;
      // Every episode starts from a whole network: the random schedule's lost connections heal first (a random cut
      // left between the two others would keep them from electing while the episode's leader is cut off).
      this.healAll();
      this.started[kind] = (this.started[kind] ?? 0) + 1;
      this.script = this.run(kind);
    }
    const r = this.script.next();
    if (r.done === true) {
      this.script = null;
      this.nextAt = t + 300 + Math.floor(this.rand() * 700);
      this.watch = null;
      this.slowFsync = null;
      return false;
    }
    return r.value;
  }

  /**
   * The next kind: of those that may start now (lowerEpoch's server can rejoin only in an epoch above the one it
   * accepted: it needs its 8 s), one reached least often so far; of those, lowerEpoch first while it may still
   * start (the one kind with a deadline), then the seeded order, from the last one.
   */
  private next(t: number): EpisodeKind | null {
    let best: number | null = null;
    const rank = (kind: EpisodeKind) => 2 * (this.reached[kind] ?? 0) + (kind === 'lowerEpoch' ? 0 : 1);
    for (let i = 0; i < this.order.length; i++) {
      const at = (this.turn + i) % this.order.length;
      const kind = this.order[at]!;
      if (kind === 'lowerEpoch' && t > this.lastLowerEpoch) continue;
      if (best === null || rank(kind) < rank(this.order[best]!)) best = at;
    }
    if (best === null) return null;
    this.turn = best + 1;
    return this.order[best]!;
  }

  private recover(): void {
    this.nextAt = this.t;
    for (const sid of [...this.down.keys()]) this.restart(sid);
    this.healAll();
  }

  private healAll(): void {
    for (const key of [...this.cuts.keys()]) {
      const [a, b] = key.split('-').map(Number) as [Sid, Sid];
      this.cuts.delete(key);
      this.sim.partition(a, b, false);
    }
  }

  private mark(kind: EpisodeKind): void {
    this.reached[kind] = (this.reached[kind] ?? 0) + 1;
  }

  onTrace(sid: Sid, event: RawTraceEvent): void {
    this.watch?.(sid, event);
  }

  /** The fsync delay of a server (`base`: the random schedule's, drawn whatever the episode does). */
  fsyncDelay(sid: Sid, base: number): number {
    return sid === this.slowFsync ? Math.max(base, 4 * TICK) : base;
  }

  private run(kind: EpisodeKind): Script {
    switch (kind) {
      case 'trunc':
      case 'votes':
        return this.trunc(kind);
      case 'lowerEpoch':
        return this.lowerEpoch();
      case 'ahead':
        return this.ahead();
      case 'edge':
        return this.edge();
      case 'queued':
        return this.queued();
      case 'observerQuorum':
        return this.observerQuorum();
    }
  }

  // ---- the environment's steps ----

  private leader(): Sid | undefined {
    return this.sim.leaders().find((s) => !this.down.has(s));
  }
  private peer(sid: Sid) {
    return this.sim.nodes.get(sid)!.peer;
  }
  private key(a: Sid, b: Sid): string {
    return [a, b].sort().join('-');
  }
  /** Cut a from each of `others`; the random schedule heals them after `ms` if the script does not first. */
  private cutFrom(a: Sid, others: readonly Sid[], ms: number): void {
    for (const b of others) {
      if (b === a || this.cuts.has(this.key(a, b))) continue;
      this.sim.partition(a, b, true);
      this.cuts.set(this.key(a, b), this.t + ms);
    }
  }
  private heal(a: Sid, others: readonly Sid[]): void {
    for (const b of others) if (b !== a && this.cuts.delete(this.key(a, b))) this.sim.partition(a, b, false);
  }
  /** kill -9 of a running server; the random schedule restarts it after `ms` unless the script does first. */
  private crash(sid: Sid, ms: number): boolean {
    if (this.down.has(sid)) return false;
    this.sim.crash(sid);
    this.down.set(sid, this.t + ms);
    return true;
  }
  private restart(sid: Sid): void {
    if (!this.down.delete(sid)) return;
    this.sim.restart(sid);
  }
  private allUp(): boolean {
    return this.participants.every((s) => !this.down.has(s));
  }
  /**
   * Every server that runs serves: the leader and each learner past UPTODATE. An episode that cut a leader off (or
   * killed it) while a learner was between NEWLEADER and UPTODATE would meet impl/'s known deviation, in-sync
   * PROPOSALs logged at once (impl/README.md), not the situation it aims at: a false alarm at the learner's
   * FLEStartElection (guided seed 13 with an observer: its lastZxid counted an in-sync PROPOSAL never committed).
   */
  private allServing(): boolean {
    return this.sids.every((s) => {
      if (this.down.has(s)) return true;
      const p = this.peer(s);
      return (p.state === 'LEADING' && p.leader?.phase === 'broadcast') || ((p.state === 'FOLLOWING' || p.state === 'OBSERVING') && p.learner?.phase === 'broadcast');
    });
  }
  /** Hold the writes (or not) for `ms`. */
  private *wait(ms: number, hold = true): Script {
    const until = this.t + ms;
    while (this.t < until) yield hold;
  }
  /** Hold the writes until `cond` (true) or `ms` passed (false). */
  private *until(cond: () => boolean, ms: number, hold = true): Generator<boolean, boolean, void> {
    const until = this.t + ms;
    while (!cond()) {
      if (this.t >= until) return false;
      yield hold;
    }
    return true;
  }

  // ---- the episodes ----

  private *trunc(kind: 'trunc' | 'votes'): Script {
    // The serving epoch first commits two txns of its own (the clients write meanwhile), so that the TRUNC names a
    // txn inside the epoch, as after any while of serving, not its first.
    const serving = () => {
      const l = this.leader();
      const z = l === undefined ? 0 : this.peer(l).db.lastProcessedZxid;
      return l !== undefined && this.allServing() && epochOf(z) === this.peer(l).currentEpoch && counterOf(z) >= 2;
    };
    if (!(yield* this.until(serving, 20 * TICK, false))) return;
    const old = this.leader()!;
    // Its writes are proposed (and logged) in the step that cuts it off: the PROPOSALs are lost with the
    // connections. (Cut first, it would step down at its next tick, within a few ms, before most writes came.)
    for (let i = 0; i < 3; i++) this.writeTo(old);
    this.cutFrom(old, this.sids, 60 * TICK);
    const oldLast = this.peer(old).lastLoggedZxid;
    this.watch = (sid, ev) => {
      // The situation: a leader syncing the old one, whose log holds txns past everything the leader has.
      if (ev.action === 'LeaderSyncFollower' && ev.params?.['peer'] === old && sid !== old && oldLast > this.peer(sid).db.lastProcessedZxid) this.mark(kind);
    };
    yield true;
    let other: Sid | undefined;
    yield* this.until(() => (other = this.sim.leaders().find((s) => s !== old)) !== undefined, 40 * TICK);
    this.heal(old, this.sids);
    if (kind === 'votes' && other !== undefined) {
      this.crash(other, 10 * TICK + Math.floor(this.rand() * 10 * TICK));
      this.mark(kind);
      this.watch = null;
    }
    yield* this.wait(15 * TICK);
  }

  private *lowerEpoch(): Script {
    const first = this.leader()!;
    if (!this.allUp()) return;
    // A new election: the serving leader restarts.
    this.crash(first, STEP);
    let cut: Sid | null = null;
    this.watch = (sid, ev) => {
      // The leader's EpochFileWrite of the epoch it proposes comes before its LEADERINFO leaves: cut it off there.
      if (cut !== null || ev.action !== 'EpochFileWrite' || ev.params?.['file'] !== 'acceptedEpoch') return;
      if (this.peer(sid).state !== 'LEADING') return;
      cut = sid;
      this.cutFrom(sid, this.sids, 60 * TICK);
    };
    let ahead: Sid | null = null;
    for (let round = 1; round <= 2; round++) {
      cut = null;
      if (!(yield* this.until(() => cut !== null, 40 * TICK))) return;
      const w: Sid = cut!;
      this.crash(w, round === 1 ? STEP : 100 * TICK);
      this.heal(w, this.sids);
      ahead = w;
    }
    this.watch = null;
    // The others elect without it (an epoch below the one it accepted); then it comes back.
    const w = ahead!;
    let other: Sid | undefined;
    if (!(yield* this.until(() => (other = this.leader()) !== undefined, 40 * TICK))) return this.restart(w);
    this.restart(w);
    let met = false;
    this.watch = (sid, ev) => {
      if (sid === w && ev.action === 'LearnerProcessLEADERINFO') met = true;
    };
    if (yield* this.until(() => met, 30 * TICK, false)) this.mark('lowerEpoch');
    this.watch = null;
    // Its leader restarts: the next epoch is above the one it accepted.
    if (other !== undefined && this.sim.leaders().includes(other)) this.crash(other, 10 * TICK);
    yield* this.wait(15 * TICK, false);
  }

  private *ahead(): Script {
    const w = this.leader()!;
    if (this.participants.length !== 3 || !this.allUp()) return;
    this.cutFrom(w, this.sids, 60 * TICK);
    for (let i = 0; i < 3; i++) this.writeTo(w);
    let pair: [Sid, Sid] | null = null;
    this.watch = (sid, ev) => {
      // A follower of the others' new leader decides: cut it from that leader before it connects.
      if (pair !== null || sid === w || ev.params?.['decided'] !== 'FOLLOWING') return;
      const leader = ev.params['leader'] as Sid;
      if (leader === w || !this.participants.includes(sid)) return;
      pair = [leader, sid];
      this.cutFrom(leader, [sid], 30 * TICK);
    };
    yield* this.wait(3 * STEP);
    // Its writes are logged (and fsynced: the simulator syncs each step); it dies with them.
    this.crash(w, 60 * TICK);
    const ready = yield* this.until(() => pair !== null && this.peer(pair[0]).state === 'LEADING' && this.peer(pair[1]).state === 'FOLLOWING', 40 * TICK);
    this.watch = null;
    this.heal(w, this.sids);
    this.restart(w);
    if (!ready) return;
    const [b, c] = pair!;
    let acked = false;
    this.watch = (sid, ev) => {
      if (sid === b && ev.action === 'LeaderProcessACKEPOCH' && ev.params?.['peer'] === w) acked = true;
    };
    if (yield* this.until(() => acked, 20 * TICK)) this.mark('ahead');
    this.watch = null;
    // Refused, it would follow the same leader again and ACK the epoch it now holds with -1 (not compared, not
    // counted: waitForEpochAck), until that leader gives up on its discovery. The leader restarts instead.
    this.crash(b, 10 * TICK);
    this.heal(b, [c]);
    yield* this.wait(15 * TICK);
  }

  private *edge(): Script {
    if (this.participants.length !== 3 || !this.allUp()) return;
    // A fresh leader: it takes a snapshot as it takes the lead, and its committedLog will start after it once restarted.
    this.crash(this.leader()!, STEP);
    let l: Sid | undefined;
    if (!(yield* this.until(() => (l = this.leader()) !== undefined && this.allUp(), 40 * TICK))) return;
    const leader: Sid = l!;
    yield* this.wait(2 * TICK);
    if (!this.sim.leaders().includes(leader)) return;
    const start = this.peer(leader).db.lastProcessedZxid;
    const others = this.participants.filter((s) => s !== leader);
    const f = others[Math.floor(this.rand() * others.length)]!;
    const g = others.find((s) => s !== f)!;
    this.writeTo(leader);
    if (!(yield* this.until(() => this.peer(f).lastLoggedZxid > start, 10 * TICK))) return;
    const fLast = this.peer(f).lastLoggedZxid;
    const after = this.peer(leader).db.committedLog().filter((t) => t.zxid > start);
    if (after.length !== 1 || after[0]!.zxid !== fLast) return;
    this.crash(f, 100 * TICK);
    this.writeTo(leader);
    this.writeTo(leader);
    if (!(yield* this.until(() => this.peer(leader).db.lastProcessedZxid > fLast + 1, 10 * TICK))) return this.restart(f);
    yield* this.wait(2 * STEP);
    // The leader and the other follower die; the leader comes back with the follower at its oldest txn.
    this.crash(leader, STEP);
    this.crash(g, 20 * TICK);
    this.restart(f);
    this.mark('edge');
    yield* this.wait(20 * TICK, false);
  }

  private *queued(): Script {
    const leader = this.leader()!;
    if (!this.allUp()) return;
    const others = this.participants.filter((s) => s !== leader);
    const f = others[Math.floor(this.rand() * others.length)]!;
    this.crash(f, 100 * TICK);
    yield* this.wait(5 * TICK, false);
    if (!this.sim.leaders().includes(leader)) return this.restart(f);
    // The leader's own ACK waits for its slow fsyncs: with one follower left, its proposals stay outstanding.
    this.slowFsync = leader;
    let synced = false;
    this.watch = (sid, ev) => {
      // The situation: the leader syncs the follower while proposals are outstanding.
      if (sid === leader && ev.action === 'LeaderSyncFollower' && ev.params?.['peer'] === f && (this.peer(leader).leader?.outstanding.size ?? 0) > 0) synced = true;
    };
    // Writes go on until the follower is synced (or 1 s).
    for (let i = 0; i < 100 && !synced; i++) {
      if (i % 3 === 0) this.writeTo(leader);
      if (i === 6) this.restart(f);
      yield false;
    }
    if (synced) this.mark('queued');
    this.watch = null;
    this.slowFsync = null;
    yield* this.wait(10 * TICK, false);
  }

  private *observerQuorum(): Script {
    const leader = this.leader()!;
    this.cutFrom(leader, this.participants, 30 * TICK);
    this.writeTo(leader);
    this.writeTo(leader);
    yield* this.wait(25 * TICK);
    this.mark('observerQuorum');
    this.heal(leader, this.participants);
    yield* this.wait(15 * TICK);
  }
}
