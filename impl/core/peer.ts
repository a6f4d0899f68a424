// QuorumPeer: the deterministic protocol core of one server. One entry point, `step(input)`, that returns the
// effects the runtime must carry out (etcd raft's Ready). It never reads a clock, opens a socket or sleeps;
// durable state goes through the Disk interface, whose appends the runtime fsyncs before any later send.
//
// The role logic lives in one file per phase: election.ts (FastLeaderElection), leader.ts (discovery and
// sync, LearnerHandler), broadcast.ts (leader proposals), learner.ts (Follower/Observer). They share this
// object and its helpers for sending and tracing.
import { txnLogAppend } from '../../traces/format.ts';
import type { TraceMessage } from '../../traces/schema.ts';
import { broken } from './breaks.ts';
import { ZKDatabase } from './db.ts';
import type { Disk } from './disk.ts';
import { newElection, type ElectionState, lookForLeader, receiveNotification, onElectionTimeout } from './election.ts';
import { type LeaderState, leaderOnQuorumPacket, leaderOnClosed, leaderOnTimeout, leaderShutdown } from './leader.ts';
import { leaderOnLogSynced, leaderClientWrite } from './broadcast.ts';
import {
  type LearnerState,
  learnerOnQuorumPacket,
  learnerOnClosed,
  learnerOnConnected,
  learnerOnTimeout,
  learnerClientWrite,
  learnerOnLogSynced,
  learnerShutdown,
} from './learner.ts';
import {
  type ConnId,
  type CoreTraceEvent,
  type RawTraceEvent,
  type ClientResult,
  type Effect,
  type Input,
  type LearnerType,
  type Notification,
  type QuorumBody,
  type QuorumPacket,
  type ServerState,
  type Zxid,
  type Sid,
  type TimerName,
  type Txn,
  type Vote,
  epochOf,
  zxidToHex,
} from './types.ts';

export interface PeerConfig {
  readonly myid: Sid;
  /** Every server of the ensemble and its type. */
  readonly servers: ReadonlyMap<Sid, LearnerType>;
  readonly tickTime: number;
  readonly initLimit: number;
  readonly syncLimit: number;
  /** FastLeaderElection.finalizeWait (ms). */
  readonly finalizeWait: number;
  /** FastLeaderElection.maxNotificationInterval (ms): the cap of the doubling notification timeout. */
  readonly maxNotificationInterval: number;
  /** How many committed txns the leader keeps in memory for DIFF (zookeeper.commitLogCount). */
  readonly commitLogCount: number;
  /** Transactions between snapshots (zookeeper.snapCount). */
  readonly snapCount: number;
  /** Emit trace effects. Off: no post-state diffs are computed at all. */
  readonly trace: boolean;
  /** Where this incarnation's message counter starts (incarnation * 1e9), so ids stay unique across restarts. */
  readonly msgIdBase?: number;
  /** The leader's wall clock (ms), read when it prepares a txn: the txn's time, its nodes' ctime/mtime. */
  readonly now: () => number;
  /** zookeeper.extendedTypesEnabled (TTL nodes); the simulator leaves it on, servers read zoo.cfg (default off). */
  readonly extendedTypesEnabled?: boolean;
  /** A learner's sessions that saw activity since the last call (hex ids), reported in its PINGs. */
  readonly touchedSessions?: () => string[];
}

export class QuorumPeer {
  state: ServerState = 'LOOKING';
  currentEpoch = 0;
  acceptedEpoch = 0;
  readonly db: ZKDatabase;
  /** The zxid of the last txn in this server's log (its history), applied or not. */
  lastLoggedZxid = 0;
  currentVote: Vote | null = null;
  fle: ElectionState;
  leader: LeaderState | null = null;
  learner: LearnerState | null = null;
  /**
   * The role is ending (leaveRole): its connections are closed, and the step that ends it waits for the fsync
   * of everything its log still holds unsynced (up to `until`).
   */
  private leaving: { readonly action: string; readonly params: Record<string, unknown>; readonly until: Zxid; readonly votes: Notification[] } | null = null;

  /** FOLLOWERINFOs that arrived while we were still LOOKING. */
  private parked = new Map<ConnId, QuorumPacket>();
  private readonly votingMembers: readonly Sid[];
  private msgCount = 0;
  private connCount = 0;
  private out: Effect[] = [];
  private stepSends: (Notification | QuorumPacket)[] = [];
  /** Txns logged since the last event whose TxnLogAppend changed only lastZxid: folded into the next event. */
  private stepAppends: Zxid[] = [];
  /** Txns applied to the data tree since the last event: the next event's `applied`. */
  private stepApplies: Zxid[] = [];
  private traced: Record<string, string> = {};
  /** The scalar traced variables as of the last event (NaN: never traced). */
  private tracedScalars: { state: ServerState | null; logicalclock: number; currentEpoch: number; acceptedEpoch: number; lastZxid: Zxid } = {
    state: null,
    logicalclock: NaN,
    currentEpoch: NaN,
    acceptedEpoch: NaN,
    lastZxid: NaN,
  };
  /** Set by every election step: the election's variables may have changed (see changedVars). */
  electionTouched = true;

  constructor(
    readonly cfg: PeerConfig,
    readonly disk: Disk,
  ) {
    this.votingMembers = [...cfg.servers].filter(([, t]) => t === 'participant').map(([s]) => s);
    this.db = new ZKDatabase(cfg.commitLogCount);
    this.msgCount = cfg.msgIdBase ?? 0;
    this.fle = newElection(this);
  }

  get myid(): Sid {
    return this.cfg.myid;
  }
  get learnerType(): LearnerType {
    return this.cfg.servers.get(this.myid) ?? 'participant';
  }
  isVoter(sid: Sid): boolean {
    return this.cfg.servers.get(sid) === 'participant';
  }
  voters(): readonly Sid[] {
    return this.votingMembers;
  }
  /** QuorumMaj.containsQuorum: more than half of the voting members. */
  isQuorum(sids: Iterable<Sid>): boolean {
    let n = 0;
    for (const s of sids instanceof Set ? sids : new Set(sids)) if (this.isVoter(s) || (broken('observerInQuorum') && this.cfg.servers.has(s))) n++;
    return n * 2 > this.votingMembers.length;
  }

  step(input: Input): Effect[] {
    if (this.leaving) {
      this.stepWhileLeaving(input);
      return this.endStep(input.kind);
    }
    switch (input.kind) {
      case 'boot':
        this.boot();
        break;
      case 'election':
        receiveNotification(this, input.msg);
        break;
      case 'quorum':
        if (this.leader) leaderOnQuorumPacket(this, input.conn, input.msg);
        else if (this.learner && input.conn === this.learner.conn) learnerOnQuorumPacket(this, input.conn, input.msg);
        else if (this.state === 'LOOKING' && (input.msg.type === 'FOLLOWERINFO' || input.msg.type === 'OBSERVERINFO')) {
          // A learner that decided before we did: ZooKeeper's connection would wait in the listen backlog
          // until Leader.lead() starts accepting. Keep its FOLLOWERINFO until this election ends.
          this.parked.set(input.conn, input.msg);
        } else this.send({ kind: 'closeQuorum', conn: input.conn, reason: `${input.msg.type} while ${this.state}` });
        break;
      case 'quorumClosed':
        this.parked.delete(input.conn);
        if (this.leader) leaderOnClosed(this, input.conn, input.reason);
        else if (this.learner) learnerOnClosed(this, input.conn, input.reason);
        break;
      case 'leaderConnected':
        if (this.learner) learnerOnConnected(this, input.conn);
        else this.send({ kind: 'closeQuorum', conn: input.conn, reason: 'no longer following' });
        break;
      case 'timeout':
        this.onTimeout(input.timer);
        break;
      case 'logSynced':
        if (this.leader) leaderOnLogSynced(this, input.zxid);
        else if (this.learner) learnerOnLogSynced(this, input.zxid);
        break;
      case 'clientWrite':
        if (this.leader) leaderClientWrite(this, input.req, input.request);
        else if (this.learner) learnerClientWrite(this, input.req, input.request);
        else this.reply(input.req, { ok: false, error: 'NOT_READY: the server is LOOKING' });
        break;
      default: {
        const never: never = input;
        throw new Error(`unknown input ${JSON.stringify(never)}`);
      }
    }
    return this.endStep(input.kind);
  }

  private endStep(kind: Input['kind']): Effect[] {
    // Appends that no event of this step took (none followed them) are logged on their own.
    if (this.stepAppends.length) this.flushAppends();
    if (this.stepSends.length) {
      // Every traced send belongs to an event; a step that sends without one is a bug in this core.
      this.log('warn', `untraced sends in ${kind}: ${this.stepSends.map((m) => m.type).join(',')}`);
      this.stepSends = [];
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  private onTimeout(timer: TimerName): void {
    if (timer === 'notification' || timer === 'finalize') onElectionTimeout(this, timer);
    else if (this.leader) leaderOnTimeout(this, timer);
    else if (this.learner) learnerOnTimeout(this, timer);
  }

  /** ServerStart: recover the durable state (newest snapshot + log replay), then look for a leader. */
  private boot(): void {
    const rec = this.disk.load();
    for (const w of rec.warnings) this.log('warn', w);
    this.db.reset(rec.data, rec.snapshotZxid);
    for (const txn of broken('loseLastTxnOnRestart') ? rec.txns.slice(0, -1) : rec.txns) this.db.apply(txn);
    this.db.txnsSinceSnapshot = 0;
    this.lastLoggedZxid = this.db.lastProcessedZxid;
    const logEpoch = epochOf(this.lastLoggedZxid);
    // A missing epoch file means a fresh dataDir (or one from before epochs were kept): derive it from the log.
    this.currentEpoch = rec.currentEpoch ?? logEpoch;
    this.acceptedEpoch = rec.acceptedEpoch ?? this.currentEpoch;
    if (logEpoch > this.currentEpoch)
      this.log('warn', `log holds epoch ${logEpoch} txns but currentEpoch is ${this.currentEpoch} (crash between sync and NEWLEADER)`);
    this.fle = newElection(this);
    // Recovery as the trace sees it: where the state came from, and any repair of a damaged log or snapshot.
    const params: Record<string, unknown> = { snapshotZxid: zxidToHex(rec.snapshotZxid), replayed: rec.txns.length };
    if (rec.warnings.length) params['repairs'] = rec.warnings;
    this.emit('ServerStart', { params }, true);
    lookForLeader(this);
  }

  // ---- role changes ----

  /** The election ended: a new leader takes the learners that called early; anyone else turns them away. */
  takeParked(): [ConnId, QuorumPacket][] {
    const parked = [...this.parked];
    this.parked.clear();
    if (this.state === 'LEADING') return parked;
    for (const [conn] of parked) this.send({ kind: 'closeQuorum', conn, reason: `not leading (${this.state})` });
    return [];
  }

  /**
   * The role ends, logged as `action` (ConnectionLost, LearnerTimeout, LeaderStepDown with `params`). ZooKeeper's
   * rule (QuorumPeer.run after lead()/followLeader() returns): the role's shutdown closes its sockets and client
   * connections, then ZooKeeperServer.shutdown stops the SyncRequestProcessor, whose shutdown flushes what its
   * queue still holds (the fsync; the ACKs after it go to closed sockets), and only then does the peer set itself
   * LOOKING and vote. The spec's step is that whole move (backToLooking flushes the queue into the history), so
   * it is logged when the fsync is done: until then this server keeps its role's state (`leaving`) and takes no
   * new work. Nothing unsynced: the step is now.
   */
  leaveRole(action: string, params: Record<string, unknown>): void {
    if (this.leaving) return;
    const until = this.unsyncedLog();
    if (until === null) {
      this.emit(action, { params });
      return this.becomeLooking();
    }
    this.send({ kind: 'closeAllConnections', reason: `${this.state} ending` });
    if (this.learner) this.send({ kind: 'closeQuorum', conn: this.learner.conn, reason: 'learner shutting down' });
    if (this.leader) {
      for (const h of this.leader.handlers.values()) this.send({ kind: 'closeQuorum', conn: h.conn, reason: 'leader shutting down' });
      this.leader.handlers.clear();
    }
    this.cancelRoleTimers();
    this.leaving = { action, params, until, votes: [] };
  }

  /** The newest txn this role appended and has not seen fsynced yet (its SyncRequestProcessor's queue), if any. */
  private unsyncedLog(): Zxid | null {
    if (this.learner) return this.learner.toFlush.length ? this.learner.toFlush[this.learner.toFlush.length - 1]!.zxid : null;
    if (this.leader) return this.leader.phase === 'broadcast' && this.leader.flushed < this.leader.lastProposed ? this.leader.lastProposed : null;
    return null;
  }

  /** Between leaveRole and the fsync it waits for: the role's connections are closed and no new work is taken. */
  private stepWhileLeaving(input: Input): void {
    const leaving = this.leaving!;
    switch (input.kind) {
      case 'logSynced':
        if (input.zxid < leaving.until) return;
        this.leaving = null;
        // The flush's ACKs would go to the closed connection: none leaves.
        if (this.learner) this.learner.toFlush = [];
        this.emit(leaving.action, { params: leaving.params });
        this.becomeLooking();
        for (const msg of leaving.votes) receiveNotification(this, msg);
        return;
      case 'election':
        // Seam: ZooKeeper's WorkerReceiver answers a LOOKING peer with the current vote while the role shuts
        // down; here the notifications wait for the election that follows, as a slower network would deliver
        // them. The spec ends the learners' role in their leader's shutdown step (spec/zab/roles.ts
        // leaderShutdown), so a learner's answer from that window would have no spec step to match.
        leaving.votes.push(input.msg);
        return;
      case 'quorum':
      case 'leaderConnected':
        return this.send({ kind: 'closeQuorum', conn: input.conn, reason: `${this.state} ending` });
      case 'quorumClosed':
        this.parked.delete(input.conn);
        return;
      case 'clientWrite':
        return this.reply(input.req, { ok: false, error: `NOT_READY: ${this.state} ending` });
      case 'timeout':
      case 'boot':
        return;
      default: {
        const never: never = input;
        throw new Error(`unknown input ${JSON.stringify(never)}`);
      }
    }
  }

  private cancelRoleTimers(): void {
    this.cancelTimer('leaderTick');
    this.cancelTimer('leaderInit');
    this.cancelTimer('learnerTimeout');
  }

  /** Leave LEADING/FOLLOWING/OBSERVING: drop the role's connections, apply every logged txn, start FLE. */
  becomeLooking(): void {
    // First of all the clients go: what the shutdowns below apply (the logged tail) may never be committed.
    if (this.leader || this.learner) this.send({ kind: 'closeAllConnections', reason: `${this.state} ended` });
    if (this.leader) leaderShutdown(this);
    if (this.learner) learnerShutdown(this);
    this.leader = null;
    this.learner = null;
    this.cancelRoleTimers();
    this.state = 'LOOKING';
    lookForLeader(this);
  }

  /**
   * QuorumPeer.updateElectionVote (ZOOKEEPER-1732): once serving in the new epoch, the vote this server tells
   * LOOKING peers carries that epoch, so that a server that restarts joins the established leader.
   */
  updateElectionVote(epoch: number): void {
    if (!this.currentVote) return;
    this.currentVote = { ...this.currentVote, peerEpoch: epoch };
    this.electionTouched = true;
  }

  // ---- durable state ----

  setAcceptedEpoch(epoch: number): void {
    this.disk.writeEpoch('acceptedEpoch', epoch);
    this.acceptedEpoch = epoch;
    this.emitWrite('EpochFileWrite', { file: 'acceptedEpoch', value: epoch });
  }

  setCurrentEpoch(epoch: number): void {
    this.disk.writeEpoch('currentEpoch', epoch);
    this.currentEpoch = epoch;
    this.emitWrite('EpochFileWrite', { file: 'currentEpoch', value: epoch });
  }

  logTxn(txn: Txn): void {
    if (txn.zxid <= this.lastLoggedZxid) {
      // Already in our history (a resent proposal): logging it twice would break the log's zxid order.
      this.log('warn', `not logging ${zxidToHex(txn.zxid)} again: the log is at ${zxidToHex(this.lastLoggedZxid)}`);
      return;
    }
    this.disk.append(txn);
    this.lastLoggedZxid = txn.zxid;
    if (!this.cfg.trace) return;
    const t = this.tracedScalars;
    if (t.state === this.state && t.logicalclock === this.fle.logicalclock && t.currentEpoch === this.currentEpoch && t.acceptedEpoch === this.acceptedEpoch && !this.electionTouched) {
      // Its TxnLogAppend would change lastZxid alone: fold it into the step's event (`appended`).
      t.lastZxid = txn.zxid;
      this.stepAppends.push(txn.zxid);
    } else this.emitWrite('TxnLogAppend', { zxid: zxidToHex(txn.zxid) });
  }

  /**
   * Apply a committed txn (FinalRequestProcessor): its watches and sessions to the runtime, the answer to the
   * client if this server took the request; a snapshot every snapCount.
   */
  commitTxn(txn: Txn): void {
    const applied = this.db.apply(txn);
    if (!applied) return;
    if (this.cfg.trace) this.stepApplies.push(txn.zxid);
    this.out.push({ kind: 'applied', zxid: txn.zxid, applied });
    if (txn.origin?.sid === this.myid) this.reply(txn.origin.req, { ok: true, zxid: txn.zxid, applied });
    if (this.db.txnsSinceSnapshot >= this.cfg.snapCount) {
      this.db.txnsSinceSnapshot = 0;
      // Logged when taken; the file becomes durable in the background (see impl/README.md).
      if (this.disk.snapshot(this.db.lastProcessedZxid, () => this.db.snapshotImage())) this.emitWrite('SnapshotWrite', { zxid: zxidToHex(this.db.lastProcessedZxid) });
    }
  }

  // ---- sending ----

  nextMsgId(): string {
    return `${this.myid}:${++this.msgCount}`;
  }

  newConnId(): ConnId {
    return `c${++this.connCount}`;
  }

  sendNotification(to: Sid, body: Omit<Notification, 'id' | 'from' | 'to' | 'type'>): Notification {
    const msg: Notification = { id: this.nextMsgId(), from: this.myid, to, type: 'NOTIFICATION', ...body };
    this.out.push({ kind: 'sendElection', msg });
    if (this.cfg.trace) this.stepSends.push(msg);
    return msg;
  }

  sendPacket(conn: ConnId, to: Sid, body: QuorumBody): void {
    // PINGs are liveness only: they take no message number and are not traced (see impl/README.md). A REQUEST
    // (a client write a learner forwards) is not traced either: the spec has no such message, and the leader's
    // LeaderProcessRequest logs the write once, with the server the client wrote to. Nor is a SYNC (the
    // leader's answer to a learner's sync): the spec has no sync, and nothing in the ZAB state changes with it.
    const id = body.type === 'PING' ? `${this.myid}:0` : this.nextMsgId();
    const msg = { id, from: this.myid, to, ...body } as QuorumPacket;
    this.out.push({ kind: 'sendQuorum', conn, msg });
    if (this.cfg.trace && body.type !== 'PING' && body.type !== 'REQUEST' && body.type !== 'SYNC') this.stepSends.push(msg);
  }

  send(effect: Effect): void {
    this.out.push(effect);
  }

  setTimer(timer: TimerName, ms: number): void {
    this.out.push({ kind: 'setTimer', timer, ms });
  }

  cancelTimer(timer: TimerName): void {
    this.out.push({ kind: 'cancelTimer', timer });
  }

  reply(req: number, result: ClientResult): void {
    this.out.push({ kind: 'clientReply', req, result });
  }

  log(level: 'info' | 'warn', text: string): void {
    this.out.push({ kind: 'log', level, text });
  }

  // ---- tracing ----

  /** A protocol step: takes the sends made since the last event and the variables changed since then. */
  emit(action: string, ev: { recv?: Notification | QuorumPacket; params?: Record<string, unknown> } = {}, allVars = false): void {
    if (!this.cfg.trace) return;
    // One shape for every event (absent parts undefined): no spreads on the path of every write.
    const event: RawTraceEvent = {
      action,
      params: ev.params,
      appended: this.stepAppends.length ? this.stepAppends : undefined,
      applied: this.stepApplies.length ? this.stepApplies : undefined,
      recv: ev.recv,
      send: this.stepSends.length ? this.stepSends : undefined,
      post: this.changedVars(allVars),
    };
    if (this.stepSends.length) this.stepSends = [];
    if (this.stepAppends.length) this.stepAppends = [];
    if (this.stepApplies.length) this.stepApplies = [];
    this.out.push({ kind: 'trace', event });
  }

  /** A durable write, logged as its own event before the step that made it (whose sends wait for the fsync). */
  emitWrite(action: string, params: Record<string, unknown>): void {
    if (!this.cfg.trace) return;
    if (this.stepAppends.length) this.flushAppends();
    this.out.push({ kind: 'trace', event: { action, params, appended: undefined, applied: undefined, recv: undefined, send: undefined, post: this.changedVars(false) } });
  }

  /** Folded appends that will not reach an event (another write comes first, or the step ends): one event each. */
  private flushAppends(): void {
    for (const z of this.stepAppends) {
      const event: RawTraceEvent = { ...txnLogAppend(zxidToHex(z)), appended: undefined, applied: undefined, recv: undefined, send: undefined };
      this.out.push({ kind: 'trace', event });
    }
    this.stepAppends = [];
  }

  /**
   * The traced variables that differ from the last event. Scalars are compared directly; the election's
   * objects are serialized only when an election step ran since the last event (they are the costly part,
   * and the broadcast path never touches them).
   */
  private changedVars(all: boolean): Record<string, unknown> | undefined {
    const t = this.tracedScalars;
    // Most steps of the broadcast path change nothing traced (or only lastZxid): no object for them.
    if (!all && !this.electionTouched && t.state === this.state && t.logicalclock === this.fle.logicalclock && t.currentEpoch === this.currentEpoch && t.acceptedEpoch === this.acceptedEpoch && t.lastZxid === this.lastLoggedZxid)
      return undefined;
    const post: Record<string, unknown> = {};
    if (all || t.state !== this.state) post['state'] = t.state = this.state;
    if (all || t.logicalclock !== this.fle.logicalclock) post['logicalclock'] = t.logicalclock = this.fle.logicalclock;
    if (all || t.currentEpoch !== this.currentEpoch) post['currentEpoch'] = t.currentEpoch = this.currentEpoch;
    if (all || t.acceptedEpoch !== this.acceptedEpoch) post['acceptedEpoch'] = t.acceptedEpoch = this.acceptedEpoch;
    if (all || t.lastZxid !== this.lastLoggedZxid) {
      t.lastZxid = this.lastLoggedZxid;
      post['lastZxid'] = zxidToHex(this.lastLoggedZxid);
    }
    if (all || this.electionTouched) {
      for (const [k, v] of Object.entries(this.electionVars())) {
        const text = JSON.stringify(v);
        if (all || this.traced[k] !== text) post[k] = v;
        this.traced[k] = text;
      }
    }
    this.electionTouched = false;
    return post;
  }

  private electionVars(): Record<string, unknown> {
    const vote = (v: Vote | null) => v && { leader: v.leader, zxid: zxidToHex(v.zxid), electionEpoch: v.electionEpoch, peerEpoch: v.peerEpoch };
    const votes = (m: ReadonlyMap<Sid, { leader: Sid; zxid: number; electionEpoch: number; peerEpoch: number; state?: ServerState }>) =>
      Object.fromEntries([...m].map(([s, v]) => [String(s), { ...vote(v), ...(v.state ? { state: v.state } : {}) }]));
    const p = this.fle.proposal;
    return {
      proposal: { leader: p.leader, zxid: zxidToHex(p.zxid), peerEpoch: p.peerEpoch },
      recvset: votes(this.fle.recvset),
      outofelection: votes(this.fle.outofelection),
      currentVote: vote(this.currentVote),
    };
  }
}

/**
 * The line the transition log writes for an event, before seq, sid and time: its trace form with the message
 * received given by id (`rid`; the sender's log has the message).
 */
export function toLogEvent(e: RawTraceEvent): CoreTraceEvent & { rid?: string } {
  const { recv, ...rest } = toTraceEvent(e);
  return recv ? { ...rest, rid: recv.id } : rest;
}

/** The trace form of an event (the simulator's record of it; the transition log gives the message received by id). */
export function toTraceEvent(e: RawTraceEvent): CoreTraceEvent {
  return {
    action: e.action,
    ...(e.params ? { params: e.params } : {}),
    ...(e.appended ? { appended: e.appended.map(zxidToHex) } : {}),
    ...(e.applied ? { applied: e.applied.map(zxidToHex) } : {}),
    ...(e.recv ? { recv: traceMessage(e.recv) } : {}),
    ...(e.send ? { send: e.send.map(traceMessage) } : {}),
    ...(e.post ? { post: e.post } : {}),
  };
}

/**
 * The trace form of a message: zxids in hex, a SNAP's data replaced by its size, and no txn operation (a
 * PROPOSAL's, INFORM's or REQUEST's `op` and `origin`): the leader logs a txn's operation once, in the params of
 * its LeaderProcessRequest (trace version 2).
 */
export function traceMessage(msg: Notification | QuorumPacket): TraceMessage {
  const out: Record<string, unknown> = { ...msg };
  if ('zxid' in msg) out['zxid'] = zxidToHex(msg.zxid);
  if (msg.type === 'ACKEPOCH') out['lastZxid'] = zxidToHex(msg.lastZxid);
  if (msg.type === 'SNAP') {
    delete out['data'];
    out['size'] = msg.data.length;
  }
  if (msg.type === 'PROPOSAL' || msg.type === 'INFORM' || msg.type === 'REQUEST') {
    delete out['op'];
    delete out['origin'];
  }
  return out as TraceMessage;
}
