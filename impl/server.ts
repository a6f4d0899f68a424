// A ZooKeeper server process: `npm run server -- --config zoo.cfg --id N`.
// The runtime around the protocol core: it feeds socket frames and timer expiries to QuorumPeer.step and
// carries out the effects. Every outgoing message goes through the DurableOutbox (outbox.ts): nothing leaves
// while the txn log has appends that are not fsynced, so no ACK and no client reply precedes the fsync of
// what it acknowledges. Only a leader's packets to its learners (PROPOSAL, COMMIT, ...) leave early.
import { enableTestBreaks } from './core/breaks.ts';
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { QuorumPeer } from './core/peer.ts';
import type { ConnId, Effect, Input, QuorumPacket, Sid, TimerName } from './core/types.ts';
import { ConfigError, loadConfig, type ZooConfig } from './config.ts';
import { FileDisk, StorageError } from './storage/filedisk.ts';
import { probeDataDir } from './storage/probe.ts';
import { writeFileAtomic } from './storage/files.ts';
import { TransitionLog } from './tracelog.ts';
import { QuorumCnxManager, type PeerAddr } from './net/cnxmanager.ts';
import { QuorumNet } from './net/quorum.ts';
import { ClientPort } from './net/clientport.ts';
import { DurableOutbox } from './outbox.ts';
import { OpCode } from './zkwire/codes.ts';
import { SessionTracker, initialSessionId } from './zk/sessions.ts';
import { fourLetterResponse, whitelist, type FourLetterStats } from './zk/four-letter-words.ts';
import { TTL_MAX, type DataTree } from './zk/datatree.ts';
import { freemem, hostname, totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { argsProblem, flagProblem, formatUsage, wantsHelp, type Usage } from './usage.ts';
import { zxidToHex } from '../traces/zxid.ts';

const LEADER_PACKETS: ReadonlySet<string> = new Set(['LEADERINFO', 'DIFF', 'TRUNC', 'SNAP', 'PROPOSAL', 'COMMIT', 'INFORM', 'NEWLEADER', 'UPTODATE', 'PING', 'SYNC']);

/**
 * Whether a quorum packet may leave before this server's log is fsynced (DurableOutbox.sendEarly).
 *
 * What a leader sends its learners on their connections acknowledges nothing of its own log, so it need not
 * wait for the leader's fsync: ZooKeeper's ProposalRequestProcessor sends a PROPOSAL before its
 * SyncRequestProcessor logs it, and the leader's own ACK counts only after its fsync (logSynced). A COMMIT or
 * INFORM follows a quorum of ACKs, each sent after that server's fsync; DIFF/TRUNC/SNAP carry committed history;
 * the epoch files are written and fsynced before LEADERINFO and NEWLEADER; and everything the leader logged
 * before it led was fsynced before its votes left. Even so it never overtakes a held message (a close) to the
 * same connection. Everything else waits: a learner's ACK, ACKEPOCH, REQUEST and PING (a learner answers PING
 * with PING), client replies, closes.
 */
export function leavesEarly(peer: QuorumPeer, conn: ConnId, msg: QuorumPacket): boolean {
  return peer.leader !== null && peer.leader.handlers.has(conn) && LEADER_PACKETS.has(msg.type);
}

export interface ServerOptions {
  readonly config: ZooConfig;
  readonly myid: Sid;
  readonly transitionLog: boolean;
  readonly testFaults: boolean;
}

export class ZooServer {
  readonly peer: QuorumPeer;
  readonly disk: FileDisk;
  readonly trace: TransitionLog | null;
  private readonly cnx: QuorumCnxManager;
  private readonly quorum: QuorumNet;
  private readonly clients: ClientPort;
  private readonly outbox: DurableOutbox;
  private timers = new Map<TimerName, NodeJS.Timeout>();
  private isolated = new Set<Sid>();
  private stopped = false;
  /** The leader's SessionTracker (reset from the tree whenever this server starts serving as leader). */
  private readonly sessions: SessionTracker;
  private trackerLive = false;
  private readonly expiryTimer: NodeJS.Timeout;
  /** A learner's sessions with activity since its last PING (LearnerSessionTracker.touchTable). */
  private touched = new Set<bigint>();
  private nextSessionId: bigint;
  /** Request numbers of the server's own writes (closeSession of an expired session): nobody waits for them. */
  private internalReq = 0;
  private lastContainerCheck = Date.now();

  constructor(readonly opts: ServerOptions) {
    const { config, myid } = opts;
    this.disk = new FileDisk(config.dataDir, (w) => this.log(w));
    this.outbox = new DurableOutbox(this.disk, (err) => {
      // ZooKeeper exits when it cannot fsync its log: nothing held may be acknowledged.
      this.log(`fsync of the txn log failed, stopping: ${err.message}`);
      this.stop();
      process.exit(1);
    });
    const incarnation = nextIncarnation(config.dataDir);
    const servers = new Map([...config.servers].map(([sid, s]) => [sid, s.type] as const));
    this.peer = new QuorumPeer(
      {
        myid,
        servers,
        tickTime: config.tickTime,
        initLimit: config.initLimit,
        syncLimit: config.syncLimit,
        finalizeWait: config.finalizeWait,
        maxNotificationInterval: config.maxNotificationInterval,
        commitLogCount: config.commitLogCount,
        snapCount: config.snapCount,
        trace: opts.transitionLog,
        msgIdBase: incarnation * 1e9,
        now: () => Date.now(),
        extendedTypesEnabled: config.extendedTypesEnabled,
        touchedSessions: () => {
          const ids = [...this.touched].map((id) => BigInt.asUintN(64, id).toString(16));
          this.touched.clear();
          return ids;
        },
      },
      this.disk,
    );
    this.sessions = new SessionTracker(config.tickTime, Date.now());
    this.nextSessionId = initialSessionId(myid, Date.now());
    // SessionTrackerImpl's thread: every tick, the leader closes the sessions whose time ran out.
    this.expiryTimer = setInterval(() => this.expireSessions(), config.tickTime);
    this.trace = opts.transitionLog
      ? new TransitionLog(join(config.dataDir, `transitions.${String(incarnation).padStart(4, '0')}.ndjson`), myid, {
          servers: [...servers].map(([sid, role]) => ({ sid, role })),
          params: { tickTime: config.tickTime, initLimit: config.initLimit, syncLimit: config.syncLimit, incarnation, commitLogCount: config.commitLogCount, snapCount: config.snapCount },
        })
      : null;
    const election = new Map<Sid, PeerAddr>([...config.servers].map(([sid, s]) => [sid, { host: s.host, port: s.electionPort }]));
    const quorum = new Map<Sid, PeerAddr>([...config.servers].map(([sid, s]) => [sid, { host: s.host, port: s.quorumPort }]));
    const blocked = (sid: Sid) => this.isolated.has(sid);
    this.cnx = new QuorumCnxManager(myid, election, (msg) => this.deliver({ kind: 'election', msg }), (l) => this.log(l), blocked);
    this.quorum = new QuorumNet(
      quorum,
      {
        packet: (conn, msg) => this.deliver({ kind: 'quorum', conn, msg }),
        closed: (conn, reason) => this.deliver({ kind: 'quorumClosed', conn, reason }),
        connected: (conn) => this.deliver({ kind: 'leaderConnected', conn }),
      },
      (l) => this.log(l),
      blocked,
    );
    this.clients = new ClientPort(
      {
        serving: () => this.serving(),
        tree: () => this.peer.db.tree,
        lastZxid: () => this.peer.db.lastProcessedZxid,
        newSessionId: () => this.nextSessionId++,
        minSessionTimeout: config.minSessionTimeout,
        maxSessionTimeout: config.maxSessionTimeout,
        maxBuffer: config.juteMaxBuffer,
        write: (req, request) => this.deliver({ kind: 'clientWrite', req, request }),
        touch: (id) => this.touch(id),
        fourLetter: (word, rest) => this.fourLetter(word, rest),
      },
      (l) => this.log(l),
    );
  }

  async start(): Promise<void> {
    const me = this.opts.config.servers.get(this.opts.myid)!;
    await this.cnx.listen({ host: me.host, port: me.electionPort });
    await this.quorum.listen({ host: me.host, port: me.quorumPort });
    await this.clients.listen(this.opts.config.clientPort, this.opts.config.clientPortAddress);
    this.deliver({ kind: 'boot' });
  }

  serving(): boolean {
    const p = this.peer;
    return p.leader ? p.leader.phase === 'broadcast' : p.learner ? p.learner.phase === 'broadcast' : false;
  }

  /** A session's request arrived here: the leader's tracker sees it now, a learner's in its next PING. */
  private touch(id: bigint): void {
    if (this.peer.leader) this.sessions.touch(id, Date.now());
    else this.touched.add(id);
  }

  /** The leader's expiry: a closeSession for each session whose time ran out, through the usual path. */
  private expireSessions(): void {
    const leading = this.peer.leader !== null && this.peer.leader.phase === 'broadcast';
    if (!leading) {
      this.trackerLive = false;
      return;
    }
    const now = Date.now();
    if (!this.trackerLive) {
      // A new leader knows the sessions from the tree; each gets a full timeout from now (as ZooKeeper's does).
      this.sessions.reset(this.peer.db.tree.sessions, now);
      this.trackerLive = true;
      return;
    }
    for (const id of this.sessions.expire(now)) {
      this.log(`session 0x${BigInt.asUintN(64, id).toString(16)} expired (timeout ${this.peer.db.tree.sessions.get(id)} ms)`);
      this.deliver({ kind: 'clientWrite', req: --this.internalReq, request: { sessionId: id, cxid: 0, type: OpCode.closeSession, request: null, authInfo: [] } });
    }
    if (now - this.lastContainerCheck >= this.opts.config.containerCheckIntervalMs) {
      this.lastContainerCheck = now;
      this.checkContainers(now);
    }
  }

  /**
   * ContainerManager on the leader: a deleteContainer for each container that had children and has none left,
   * and for each TTL node without children not modified for its ttl (getCandidates); checked against the
   * prepared tree like any request, so a container that got a child meanwhile stays (NOTEMPTY).
   */
  private checkContainers(now: number): void {
    const tree = this.peer.db.tree;
    const due: string[] = [];
    for (const path of tree.containers) {
      const n = tree.getNode(path);
      if (n && n.children.size === 0 && n.stat.cversion > 0) due.push(path);
    }
    for (const path of tree.ttls) {
      const n = tree.getNode(path);
      const ttl = n ? Number(BigInt.asUintN(64, n.stat.ephemeralOwner) & TTL_MAX) : 0;
      if (n && n.children.size === 0 && ttl > 0 && now - n.stat.mtime > ttl) due.push(path);
    }
    for (const path of due) this.deliver({ kind: 'clientWrite', req: --this.internalReq, request: { sessionId: 0n, cxid: 0, type: OpCode.deleteContainer, request: { path, version: -1 }, authInfo: [] } });
  }

  /**
   * Four-letter words, answered on a connection of their own. Ours besides ZooKeeper's: `zabs` (this server's
   * role and zxids as JSON, for our tools) and, with --test-faults only, `zabf` + a JSON list of server ids to
   * cut this server off from (an empty list heals).
   */
  private fourLetter(word: string, rest: Buffer): string | null {
    if (word === 'zabs') return JSON.stringify(this.stat()) + '\n';
    if (word === 'zabf') {
      let list: unknown;
      try {
        list = JSON.parse(rest.toString('utf8'));
      } catch {
        return 'error: zabf wants a JSON list of server ids\n';
      }
      if (!Array.isArray(list) || !list.every((x) => Number.isInteger(x))) return 'error: zabf wants a JSON list of server ids\n';
      return (this.fault(list as number[]) ?? 'ok') + '\n';
    }
    return fourLetterResponse(word, this.fourLetterStats(), whitelist(this.opts.config.fourLetterWhitelist));
  }

  /** What the four-letter words show of this server (impl/zk/four-letter-words.ts formats it as 3.8 does). */
  private fourLetterStats(): FourLetterStats {
    const p = this.peer;
    const cfg = this.opts.config;
    const tree = p.db.tree;
    const leading = p.leader !== null;
    const mode = leading ? 'leader' : p.state === 'OBSERVING' ? 'observer' : 'follower';
    const c = this.clients.counters;
    const w = this.clients.watchStats();
    const version = '3.8.0-zab-check, built on impl/';
    const me = cfg.servers.get(this.opts.myid)!;
    const ephemerals = new Map<bigint, string[]>();
    for (const [id, paths] of tree.allEphemerals()) if (paths.size) ephemerals.set(id, [...paths].sort());
    const now = Date.now();
    const sessions = [...tree.sessions].map(([id, timeoutMs]) => ({ id, timeoutMs, expiresAt: leading ? (this.sessions.expiryOf(id) ?? now) : now }));
    const dataBytes = dirSize(join(cfg.dataDir, 'version-2'));
    const followers = leading ? [...p.leader!.handlers.values()] : [];
    const metrics = new Map<string, number | string>([
      ['zk_avg_latency', c.latCount ? Math.round((c.latTotal / c.latCount) * 10) / 10 : 0],
      ['zk_max_latency', c.latMax],
      ['zk_min_latency', c.latMin],
      ['zk_packets_received', c.packetsReceived],
      ['zk_packets_sent', c.packetsSent],
      ['zk_num_alive_connections', this.clients.connections],
      ['zk_outstanding_requests', this.clients.outstanding],
      ['zk_znode_count', p.db.size],
      ['zk_watch_count', this.clients.watches.watchCount()],
      ['zk_ephemerals_count', [...ephemerals.values()].reduce((n, l) => n + l.length, 0)],
      ['zk_approximate_data_size', approximateDataSize(tree)],
      ['zk_global_sessions', tree.sessions.size],
      ['zk_last_proposal_size', -1],
      ...(leading
        ? ([
            ['zk_learners', followers.length],
            ['zk_synced_followers', followers.filter((h) => h.learnerType === 'participant' && h.phase === 'broadcast').length],
            ['zk_synced_observers', followers.filter((h) => h.learnerType === 'observer' && h.phase === 'broadcast').length],
            ['zk_pending_syncs', p.leader!.syncs.length],
          ] as [string, number][])
        : []),
    ]);
    return {
      version,
      serving: this.serving(),
      mode,
      readOnly: false,
      latency: { min: c.latMin, avg: c.latCount ? Math.round((c.latTotal / c.latCount) * 1000) / 1000 : 0, max: c.latMax },
      packetsReceived: c.packetsReceived,
      packetsSent: c.packetsSent,
      outstandingRequests: this.clients.outstanding,
      lastZxid: BigInt(p.db.lastProcessedZxid),
      nodeCount: p.db.size,
      proposalSizes: leading ? { last: -1, min: -1, max: -1 } : null,
      connections: this.clients.connectionStats(),
      sessions,
      ephemerals,
      watchSummary: w.summary,
      watchesBySession: w.bySession,
      watchesByPath: w.byPath,
      config: [
        ['clientPort', cfg.clientPort],
        ['secureClientPort', -1],
        ['dataDir', join(cfg.dataDir, 'version-2')],
        ['dataDirSize', dataBytes],
        ['dataLogDir', join(cfg.dataDir, 'version-2')],
        ['dataLogSize', dataBytes],
        ['tickTime', cfg.tickTime],
        ['maxClientCnxns', 0],
        ['minSessionTimeout', cfg.minSessionTimeout],
        ['maxSessionTimeout', cfg.maxSessionTimeout],
        ['clientPortListenBacklog', -1],
        ['serverId', this.opts.myid],
        ['initLimit', cfg.initLimit],
        ['syncLimit', cfg.syncLimit],
        ['electionAlg', 3],
        ['electionPort', me.electionPort],
        ['quorumPort', me.quorumPort],
        ['peerType', me.type === 'observer' ? 1 : 0],
      ],
      membership: { servers: [...cfg.servers.values()].map((s) => `server.${s.sid}=${s.host}:${s.quorumPort}:${s.electionPort}:${s.type}`), version: '0' },
      environment: [
        ['zookeeper.version', version],
        ['host.name', hostname()],
        ['node.version', process.version],
        ['os.name', process.platform],
        ['os.arch', process.arch],
        ['user.dir', process.cwd()],
        ['os.memory.free', `${Math.round(freemem() / 1048576)}MB`],
        ['os.memory.total', `${Math.round(totalmem() / 1048576)}MB`],
      ],
      metrics,
      dataDirSize: dataBytes,
      logDirSize: dataBytes,
    };
  }

  stat(): Record<string, unknown> {
    const p = this.peer;
    return {
      sid: p.myid,
      state: p.state,
      serving: this.serving(),
      leader: p.currentVote?.leader ?? null,
      currentEpoch: p.currentEpoch,
      acceptedEpoch: p.acceptedEpoch,
      lastZxid: zxidToHex(p.lastLoggedZxid),
      lastProcessedZxid: zxidToHex(p.db.lastProcessedZxid),
      size: p.db.size,
      trace: this.trace?.path ?? null,
    };
  }

  private fault(isolate: number[]): string | null {
    if (!this.opts.testFaults) return 'fault switches are off (start the server with --test-faults)';
    this.isolated = new Set(isolate);
    for (const sid of isolate) {
      this.cnx.drop(sid);
      this.quorum.dropPeer(sid);
    }
    this.log(isolate.length ? `fault: isolated from ${isolate.join(',')}` : 'fault: healed');
    return null;
  }

  /** One step of the core, then its effects. Never re-entered: inputs come from the event loop. */
  private deliver(input: Input): void {
    if (this.stopped) return;
    const before = this.peer.state;
    const effects = this.peer.step(input);
    for (const e of effects) this.carryOut(e);
    if (this.peer.state !== before) this.log(`${before} -> ${this.peer.state}${this.peer.state === 'LOOKING' ? '' : ` (leader ${this.peer.currentVote?.leader})`}`);
  }

  private carryOut(e: Effect): void {
    switch (e.kind) {
      case 'sendElection':
        // A notification carries this server's last logged zxid, and the others elect it on that claim: a
        // leader elected for txns it could lose in a crash would not have them after a restart. So votes wait
        // like ACKs (conservative; ZooKeeper reads the zxid from its in-memory DataTree). Not on the write path.
        return this.outbox.send(() => this.cnx.send(e.msg));
      case 'sendQuorum':
        if (leavesEarly(this.peer, e.conn, e.msg)) return this.outbox.sendEarly(() => this.quorum.send(e.conn, e.msg), e.conn);
        return this.outbox.send(() => this.quorum.send(e.conn, e.msg), e.conn);
      case 'connectLeader':
        return this.quorum.connectLeader(e.conn, e.sid);
      case 'closeQuorum':
        return this.outbox.send(() => this.quorum.close(e.conn), e.conn);
      case 'setTimer': {
        clearTimeout(this.timers.get(e.timer));
        const t = setTimeout(() => {
          if (this.timers.get(e.timer) !== t) return;
          this.timers.delete(e.timer);
          this.deliver({ kind: 'timeout', timer: e.timer });
        }, e.ms);
        this.timers.set(e.timer, t);
        return;
      }
      case 'cancelTimer':
        clearTimeout(this.timers.get(e.timer));
        this.timers.delete(e.timer);
        return;
      case 'sync':
        // Always asynchronous, so that logSynced is a separate step even when nothing is dirty.
        return this.outbox.afterSync(() => this.deliver({ kind: 'logSynced', zxid: e.zxid }));
      case 'clientReply':
        return this.outbox.send(() => this.clients.complete(e.req, e.result));
      case 'syncReply':
        return this.outbox.send(() => this.clients.synced(e.req));
      case 'applied': {
        // FinalRequestProcessor: watches fire as the txn is applied (before any later read's reply), and the
        // leader's tracker follows the sessions the txns create and close.
        this.clients.applied(e.applied);
        const { hdr } = e.applied.txn;
        if (hdr.type === OpCode.createSession && e.applied.rc.err === 0) this.sessions.add(hdr.clientId, this.peer.db.tree.sessions.get(hdr.clientId) ?? 0, Date.now());
        else if (hdr.type === OpCode.closeSession) this.sessions.remove(hdr.clientId);
        return;
      }
      case 'closeAllConnections':
        // At once, not through the outbox: the notifications of the txns applied next must find them closed.
        return this.clients.closeAll(e.reason);
      case 'touchSessions': {
        const now = Date.now();
        for (const hex of e.sessions) this.sessions.touch(BigInt.asIntN(64, BigInt('0x' + hex)), now);
        return;
      }
      case 'trace':
        return this.trace?.append(e.event);
      case 'log':
        return this.log(e.text);
      default: {
        const never: never = e;
        throw new Error(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  log(line: string): void {
    process.stderr.write(`${new Date().toISOString()} [${this.opts.myid}] ${line}\n`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.outbox.stop();
    clearInterval(this.expiryTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.cnx.close();
    this.quorum.shutdown();
    this.clients.close();
    try {
      this.disk.flush();
    } finally {
      this.disk.close();
      this.trace?.close();
    }
  }
}

/** Bytes of the files in a directory (dirs' datadir_size). */
function dirSize(dir: string): number {
  try {
    return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

/** DataTree.approximateDataSize: path lengths plus data lengths. */
function approximateDataSize(tree: DataTree): number {
  let n = 0;
  for (const p of tree.paths()) n += p.length + tree.getNode(p)!.dataLength;
  return n;
}

/** Each start of a server gets a number: it names the transition log file and seeds message ids. */
function nextIncarnation(dataDir: string): number {
  const path = join(dataDir, 'version-2', 'incarnation');
  let n = 0;
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^\d+$/.test(text)) throw new StorageError(`${path}: expected a number, found ${JSON.stringify(text.slice(0, 20))}`);
    n = Number(text);
  }
  writeFileAtomic(path, `${n + 1}\n`);
  return n + 1;
}

const Flags = z.object({
  config: z.string({ message: '--config FILE is required' }).min(1, '--config FILE is required'),
  id: z.string({ message: '--id N is required' }).regex(/^\d{1,9}$/, 'must be a whole number from 0').transform(Number),
  'transition-log': z.enum(['on', 'off'], 'must be on or off').default('on'),
  'test-faults': z.boolean().default(false),
  'exit-with-parent': z.boolean().default(false),
});

export const SERVER_USAGE: Usage = {
  usage: 'npm run server -- --config FILE --id N [flags]',
  description: `One ZooKeeper server of an ensemble, configured by a zoo.cfg (impl/README.md lists its keys). It elects
a leader with FastLeaderElection, replicates writes with ZAB, keeps its txn log, snapshots and epoch files in
dataDir (checked at start: created if missing, and a probe file written, fsynced, renamed and removed), and
appends every protocol step to dataDir/transitions.NNNN.ndjson. Logs go to stderr. SIGTERM, SIGINT and SIGHUP
stop it cleanly (log fsynced, transition log written).`,
  flags: [
    { flag: 'config', metavar: 'FILE', help: 'the zoo.cfg to read (required)' },
    { flag: 'id', metavar: 'N', help: "this server's myid: its server.N line in the config (required)" },
    { flag: 'transition-log', metavar: 'on|off', help: 'write the transition log', default: 'on' },
    { flag: 'test-faults', help: 'tests only: enable the fault switch and ZK_TEST_BREAK', default: 'off' },
    { flag: 'exit-with-parent', help: 'stop when stdin closes (how npm run cluster ties its servers to itself)', default: 'off' },
  ],
  exit: [
    [0, 'stopped by SIGTERM, SIGINT or SIGHUP, or its parent gone (--exit-with-parent)'],
    [1, 'cannot start or go on: dataDir unusable, a port in use, a corrupt epoch file, an fsync failed'],
    [2, 'bad usage or a bad zoo.cfg (one line naming the file, line and key)'],
    [70, 'an internal error'],
  ],
  examples: ['npm run server -- --config /tmp/zk/server1/zoo.cfg --id 1   # a server of a stopped `npm run cluster -- --dir /tmp/zk`'],
};

/** The process's memory after a full collection: the V8 heap in use, and the buffers outside it (znode data). */
function memoryAfterGc(): { heapUsed: number; external: number; arrayBuffers: number; rss: number } {
  // `gc` without --expose-gc: the flag set at run time, and the function taken from a fresh context.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

function main(): void {
  const fail = (line: string, code = 2): never => {
    process.stderr.write(`zk-server: ${line}\n`);
    process.exit(code);
  };
  if (wantsHelp(process.argv.slice(2))) {
    process.stdout.write(formatUsage(SERVER_USAGE) + '\n');
    process.exit(0);
  }
  let raw;
  try {
    raw = parseArgs({
      options: { config: { type: 'string' }, id: { type: 'string' }, 'transition-log': { type: 'string' }, 'test-faults': { type: 'boolean' }, 'exit-with-parent': { type: 'boolean' } },
      strict: true,
    }).values;
  } catch (e) {
    return fail(`${argsProblem(e)} (see --help)`);
  }
  const flags = Flags.safeParse(raw);
  if (!flags.success) return fail(flagProblem(flags.error, raw));
  let server: ZooServer;
  try {
    const config = loadConfig(flags.data.config, flags.data.id, (w) => process.stderr.write(`zk-server: warning: ${w}\n`));
    probeDataDir(config.dataDir);
    if (flags.data['test-faults'] && process.env['ZK_TEST_BREAK']) enableTestBreaks(process.env['ZK_TEST_BREAK'].split(',').filter((x) => x !== ''));
    server = new ZooServer({ config, myid: flags.data.id, transitionLog: flags.data['transition-log'] === 'on', testFaults: flags.data['test-faults'] });
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message);
    if (e instanceof StorageError) return fail(e.message, 1);
    const err = e as NodeJS.ErrnoException;
    return fail(`cannot start: ${err.code ? `${err.code} ${err.path ?? ''}`.trim() : err.message}`, 1);
  }
  const stop = (why: string) => () => {
    server.log(`stopping: ${why}`);
    server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop('SIGTERM'));
  process.on('SIGINT', stop('SIGINT'));
  // A closed terminal sends SIGHUP to its foreground processes, these servers among them.
  process.on('SIGHUP', stop('SIGHUP'));
  // A diagnostic, as `jcmd PID GC.run` then `GC.heap_info` is for ZooKeeper's JVM: SIGUSR2 collects garbage and
  // logs one line of what stays (npm run bench's memory per znode reads it).
  process.on('SIGUSR2', () => server.log(`memory after gc: ${JSON.stringify(memoryAfterGc())}`));
  if (flags.data['exit-with-parent']) {
    // Started by an ensemble: our stdin is its pipe, and its end means the parent is gone.
    process.stdin.on('end', stop('stdin closed: the launcher is gone'));
    process.stdin.on('close', stop('stdin closed: the launcher is gone'));
    process.stdin.on('error', stop('stdin failed: the launcher is gone'));
    process.stdin.resume();
  }
  process.on('uncaughtException', (e) => {
    server.log(`internal error, stopping: ${e.message}`);
    server.stop();
    process.exit(70);
  });
  server.start().then(
    () => {
      const me = server.opts.config.servers.get(server.opts.myid)!;
      server.log(`started: client ${server.opts.config.clientPortAddress}:${server.opts.config.clientPort}, quorum ${me.host}:${me.quorumPort}, election ${me.host}:${me.electionPort}, transition log ${server.trace?.path ?? 'off'}`);
    },
    (e: NodeJS.ErrnoException) => {
      server.stop();
      if (e instanceof StorageError) fail(e.message, 1);
      fail(`cannot start: ${e.code ?? ''} ${e.message}`.trim(), 1);
    },
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
