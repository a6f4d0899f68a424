// From ZooKeeper's log files to each server's observations, in its own order (mapping.ts says which line is which).
import { readFileSync } from 'node:fs';
import { parseZkLog, ZkLogError, type ZkEntry } from './log.ts';
import { recognize, type Observation } from './mapping.ts';

export interface Seen {
  /** ZooKeeper's server id. */
  readonly sid: number;
  /** The run of the server (0 = the first the logs show; a "Starting quorum peer" line begins the next). */
  readonly run: number;
  readonly file: string;
  readonly line: number;
  readonly time: number;
  readonly text: string;
  readonly obs: Observation;
  /** Lines folded into this observation (the "Sending ..." line after a sync decision, on the same thread). */
  readonly with: readonly { file: string; line: number; text: string }[];
  /**
   * A learner's lines between an election it decided and its return to LOOKING, when it never synced with that
   * leader (no DIFF/TRUNC/SNAP line in between): it chose a leader that was gone (stale notifications) and could not
   * connect. The spec's learner connects only to a leading leader, so these lines take no step (a bridge, counted).
   */
  readonly unsynced?: boolean;
  /** For a sync decision: the opening packet its "Sending ..." line names, when there is one. */
  readonly send?: Extract<Observation, { kind: 'syncSend' }>;
}

export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface ServerLog {
  readonly sid: number;
  readonly files: readonly string[];
  readonly seen: readonly Seen[];
  readonly runs: number;
  /** The server reports itself an observer somewhere in its log. */
  readonly observer: boolean;
  /**
   * The runs that log at DEBUG for ZooKeeper's quorum package (a DEBUG line of one of its classes): as a leader,
   * such a run logs every proposal it makes (Leader.propose, "Proposing:: ..."), so none is to be inferred.
   */
  readonly debugRuns: ReadonlySet<number>;
}

/** Simple names (%C{1}) of classes of org.apache.zookeeper.server.quorum, inner classes included. */
const QUORUM_CLASS = /^(Leader|LearnerHandler|Learner|LearnerSender|Follower|Observer|QuorumPeer|QuorumCnxManager|FastLeaderElection|LeaderZooKeeperServer|LearnerZooKeeperServer|FollowerZooKeeperServer|ObserverZooKeeperServer|ProposalRequestProcessor|SendAckRequestProcessor|FollowerRequestProcessor|ObserverRequestProcessor)(\$.*)?$/;

export interface ObservedRun {
  readonly servers: readonly ServerLog[];
  readonly problems: readonly Problem[];
  readonly lines: number;
  readonly protocolLines: number;
  readonly skipped: number;
}

/** The server id of a file: its [myid:N] stamps, or its "Starting quorum peer, myid=N" line. */
function sidOf(file: string, entries: readonly ZkEntry[]): number {
  const ids = new Set<number>();
  for (const e of entries) {
    if (e.myid !== null) ids.add(e.myid);
    const m = /^Starting quorum peer, myid=(\d+)/.exec(e.message);
    if (m) ids.add(Number(m[1]));
  }
  if (ids.size === 0) throw new ZkLogError(`${file}:1: no server id in the log (no [myid:N] and no "Starting quorum peer, myid=N" line): is it a ZooKeeper server's log?`);
  if (ids.size > 1) {
    const first = entries.find((e) => e.myid !== null && e.myid !== [...ids][0]);
    throw new ZkLogError(`${file}:${first?.line ?? 1}: lines of several servers in one file (myid ${[...ids].join(', ')}): give one file per server`);
  }
  return [...ids][0]!;
}

export function readZooKeeperLogs(paths: readonly string[]): ObservedRun {
  const problems: Problem[] = [];
  const byServer = new Map<number, { files: string[]; entries: ZkEntry[] }>();
  let lines = 0;
  for (const file of paths) {
    const entries = parseZkLog(file);
    lines += readFileSync(file, 'utf8').split('\n').length - 1;
    const sid = sidOf(file, entries);
    let s = byServer.get(sid);
    if (s === undefined) byServer.set(sid, (s = { files: [], entries: [] }));
    s.files.push(file);
    s.entries.push(...entries);
  }
  let protocolLines = 0;
  let skipped = 0;
  const servers: ServerLog[] = [];
  for (const [sid, { files, entries }] of [...byServer].sort((a, b) => a[0] - b[0])) {
    const seen: Seen[] = [];
    let run = -1;
    let observer = false;
    // The last sync decision per LearnerHandler thread, waiting for its "Sending ..." line.
    const openSync = new Map<string, number>();
    const debugRuns = new Set<number>();
    for (const e of entries) {
      if (e.level === 'DEBUG' && QUORUM_CLASS.test(e.cls)) debugRuns.add(Math.max(run, 0));
      const r = recognize(e.message, e.level);
      if (r.malformed !== null) {
        problems.push({ file: e.file, line: e.line, message: `${r.malformed}: ${JSON.stringify(e.message.slice(0, 160))}` });
        continue;
      }
      if (r.obs === null) {
        skipped++;
        continue;
      }
      protocolLines++;
      const o = r.obs;
      if (o.kind === 'start') {
        run++;
        openSync.clear();
      }
      if (run < 0) run = 0; // a log that begins after the start (rotated): the first run
      if (o.kind === 'peerState' && o.role === 'observing') observer = true;
      if (o.kind === 'syncSend') {
        const at = openSync.get(e.thread);
        const d = at === undefined ? undefined : seen[at];
        if (d !== undefined && d.obs.kind === 'syncDecision' && (Number.isNaN(o.peer) || o.peer === d.obs.peer)) {
          seen[at!] = { ...d, send: { ...o, peer: d.obs.peer }, with: [...d.with, { file: e.file, line: e.line, text: e.message }] };
          openSync.delete(e.thread);
          continue;
        }
        problems.push({ file: e.file, line: e.line, message: `a "Sending" line with no "Synchronizing with Learner" line before it on thread ${e.thread}` });
        continue;
      }
      if (o.kind === 'syncDecision') openSync.set(e.thread, seen.length);
      seen.push({ sid, run, file: e.file, line: e.line, time: e.time, text: e.message, obs: o, with: [] });
    }
    markUnsynced(seen);
    servers.push({ sid, files, seen, runs: run + 1, observer, debugRuns });
  }
  return { servers, problems, lines, protocolLines, skipped };
}

function markUnsynced(seen: Seen[]): void {
  for (let i = 0; i < seen.length; i++) {
    const o = seen[i]!.obs;
    if (o.kind !== 'peerState' || o.zab !== null || (o.role !== 'following' && o.role !== 'observing')) continue;
    let end = i + 1;
    let synced = false;
    for (; end < seen.length; end++) {
      const k = seen[end]!.obs;
      if (k.kind === 'learnerSync' || k.kind === 'newLeader' || k.kind === 'upToDate') synced = true;
      if (k.kind === 'looking' || k.kind === 'start' || (k.kind === 'peerState' && k.role === 'looking')) break;
    }
    if (synced || end >= seen.length || seen[end]!.obs.kind === 'start') continue;
    for (let j = i; j < end; j++) {
      const k = seen[j]!.obs.kind;
      if (k === 'peerState' || k === 'observingLeader' || k === 'learnerLost') seen[j] = { ...seen[j]!, unsynced: true };
    }
  }
}

/** Servers and observers of a zoo.cfg: `server.N=host:q:e[:observer|:participant][;client]`. */
export function readZooCfg(file: string): { participants: number[]; observers: number[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ZkLogError(`--config ${file}: cannot read: ${(e as Error).message}`);
  }
  const participants: number[] = [];
  const observers: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    const m = /^server\.(\d+)\s*=\s*(.*)$/.exec(l);
    if (m === null) return;
    const spec = m[2]!.split(';')[0]!;
    if (!/:\d+:\d+/.test(spec)) throw new ZkLogError(`${file}:${i + 1}: a server line without quorum and election ports: ${JSON.stringify(l)}`);
    (/:observer\s*$/.test(spec) ? observers : participants).push(Number(m[1]));
  });
  if (participants.length === 0) throw new ZkLogError(`${file}:1: no server.N lines: not a zoo.cfg of an ensemble`);
  return { participants: participants.sort((a, b) => a - b), observers: observers.sort((a, b) => a - b) };
}
