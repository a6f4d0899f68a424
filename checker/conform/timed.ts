// Timed obligations: what a server must have done within a bound of time that its configuration sets. The spec
// has no clock, so a leader that keeps LEADING without a quorum, or a learner that keeps FOLLOWING a leader that
// is gone, takes no wrong step: it takes none. ZooKeeper bounds both with the ticks of its configuration (the
// log header's params: tickTime, initLimit, syncLimit), and the logged events carry their time:
//
// - A serving leader without a quorum of connected participants (itself and the learners whose connection it
//   accepted, LeaderProcessFOLLOWERINFO, and has not lost since, ConnectionLost) for more than syncLimit ticks
//   must have stepped down (Leader.lead's ping loop: a LearnerHandler that sent nothing for syncLimit ticks is
//   not synced(), and without a quorum of synced() ones the leader shuts down).
// - A leader that has not started serving (no quorum ACKed NEWLEADER) 3 × initLimit ticks after it took the role
//   must have stepped down (getEpochToPropose, waitForEpochAck and waitForNewLeaderAck each wait initLimit).
// - A learner whose leader is gone (it stepped down, or was killed: its next ServerStart bounds the moment) must
//   have given up on it within syncLimit ticks, initLimit before it took UPTODATE (Learner's socket read timeout).
//
// Each bound gets one tick more for the timer that notices it (ZooKeeper checks on its ticks). A run whose logs
// carry no time or no configuration has no timed obligation. Observers never count toward a quorum.
import type { LoggedEvent, LoggedStep } from './reader.ts';

export interface Overdue {
  /** The server that owed the step. */
  readonly sid: number;
  /** What it owed, in the spec's words. */
  readonly action: 'LeaderStepDown' | 'LearnerTimeout';
  /** The event from which the bound runs (file:line), and its time (ms). */
  readonly since: { readonly file: string; readonly line: number; readonly time: number };
  /** The bound, in ms, and how it is made from the configuration. */
  readonly boundMs: number;
  readonly bound: string;
  /** How long the server went on (ms): to the event that ended it, or to the end of the logs. */
  readonly lastedMs: number;
  readonly what: string;
}

export interface TimedConfig {
  readonly tickTime: number;
  readonly initLimit: number;
  readonly syncLimit: number;
}

/** The timing configuration of a header's params; null when it does not give all three. */
export function timedConfig(params: Readonly<Record<string, unknown>>): TimedConfig | null {
  const n = (k: string) => (typeof params[k] === 'number' && (params[k] as number) > 0 ? (params[k] as number) : null);
  const tickTime = n('tickTime');
  const initLimit = n('initLimit');
  const syncLimit = n('syncLimit');
  return tickTime === null || initLimit === null || syncLimit === null ? null : { tickTime, initLimit, syncLimit };
}

interface Where {
  readonly file: string;
  readonly line: number;
  readonly time: number;
}

interface Leading {
  readonly since: Where;
  serving: boolean;
  readonly connected: Set<number>;
  /** Since when it has had no quorum while serving (null: it has one). */
  lost: Where | null;
}

interface Following {
  readonly leader: number;
  readonly since: Where;
  upToDate: boolean;
}

/**
 * Every server's logged events in time order, streamed: `streams` gives each server's steps in its own order (as
 * loggedSteps does); the next event is the earliest head (ties: the first stream). Events without a time are left out.
 */
export function* eventsByTime(streams: readonly Iterator<LoggedStep>[]): Generator<LoggedEvent> {
  const queues: LoggedEvent[][] = streams.map(() => []);
  const fill = (i: number): boolean => {
    while (queues[i]!.length === 0) {
      const n = streams[i]!.next();
      if (n.done === true) return false;
      queues[i]!.push(...n.value.events.filter((e) => typeof e.time === 'number'));
    }
    return true;
  };
  for (;;) {
    let best = -1;
    for (let i = 0; i < streams.length; i++) if (fill(i) && (best < 0 || queues[i]![0]!.time! < queues[best]![0]!.time!)) best = i;
    if (best < 0) return;
    yield queues[best]!.shift()!;
  }
}

/** The timed obligations the logs show unmet. `events`: every server's logged events in time order (eventsByTime). */
export function overdueEvents(cfg: TimedConfig, participants: ReadonlySet<number>, events: Iterable<LoggedEvent>): Overdue[] {
  const out: Overdue[] = [];
  const quorum = Math.floor(participants.size / 2) + 1;
  const tick = cfg.tickTime;
  const syncBound = { ms: (cfg.syncLimit + 1) * tick, text: `syncLimit (${cfg.syncLimit}) + 1 ticks of ${tick} ms` };
  const initBound = { ms: (cfg.initLimit + 1) * tick, text: `initLimit (${cfg.initLimit}) + 1 ticks of ${tick} ms` };
  const startBound = { ms: (3 * cfg.initLimit + 1) * tick, text: `3 × initLimit (${cfg.initLimit}) + 1 ticks of ${tick} ms` };
  const leading = new Map<number, Leading>();
  const following = new Map<number, Following>();
  /** By leader: when it was last gone (stepped down, or restarted after a kill). */
  const gone = new Map<number, Where[]>();
  const state = new Map<number, string>();
  const hasQuorum = (sid: number, l: Leading) => (participants.has(sid) ? 1 : 0) + [...l.connected].filter((j) => participants.has(j)).length >= quorum;

  // `goneAt`: when the learners may take it as gone (a kill: its restart, the latest the kill can have been).
  const endLeading = (sid: number, at: Where, how: string, goneAt = at) => {
    const l = leading.get(sid);
    if (l === undefined) return;
    leading.delete(sid);
    checkLeader(sid, l, at, how);
    const g = gone.get(sid) ?? [];
    g.push(goneAt);
    gone.set(sid, g);
  };
  const checkLeader = (sid: number, l: Leading, at: Where, how: string) => {
    if (!l.serving && at.time - l.since.time > startBound.ms) {
      out.push({ sid, action: 'LeaderStepDown', since: l.since, boundMs: startBound.ms, bound: startBound.text, lastedMs: at.time - l.since.time, what: `server ${sid} led (${l.since.file}:${l.since.line}) without serving for ${at.time - l.since.time} ms, more than ${startBound.text} = ${startBound.ms} ms, and did not step down (${how})` });
    } else if (l.serving && l.lost !== null && at.time - l.lost.time > syncBound.ms) {
      out.push({ sid, action: 'LeaderStepDown', since: l.lost, boundMs: syncBound.ms, bound: syncBound.text, lastedMs: at.time - l.lost.time, what: `server ${sid} led without a quorum of connected participants from ${l.lost.file}:${l.lost.line} for ${at.time - l.lost.time} ms, more than ${syncBound.text} = ${syncBound.ms} ms, and did not step down (${how})` });
    }
  };
  const endFollowing = (sid: number, at: Where, how: string) => {
    const f = following.get(sid);
    if (f === undefined) return;
    following.delete(sid);
    checkLearner(sid, f, at, how);
  };
  const checkLearner = (sid: number, f: Following, at: Where, how: string) => {
    const death = (gone.get(f.leader) ?? []).find((d) => d.time >= f.since.time);
    if (death === undefined) return;
    const b = f.upToDate ? syncBound : initBound;
    if (at.time - death.time <= b.ms) return;
    out.push({ sid, action: 'LearnerTimeout', since: death, boundMs: b.ms, bound: b.text, lastedMs: at.time - death.time, what: `server ${sid} went on following server ${f.leader} for ${at.time - death.time} ms after it was gone (${death.file}:${death.line}), more than ${b.text} = ${b.ms} ms (${how})` });
  };

  let end: Where | null = null;
  const lastOf = new Map<number, Where>();
  for (const e of events) {
    if (e.time === undefined) continue;
    const at: Where = { file: e.file, line: e.line, time: e.time };
    end = at;
    const sid = e.sid;
    if (e.action === 'ServerStart') {
      // A kill -9 is not logged: it came after the server's last event before this start, and before the start.
      const last = lastOf.get(sid) ?? at;
      endLeading(sid, last, 'killed after it', at);
      endFollowing(sid, last, 'killed after it');
    }
    lastOf.set(sid, at);
    const before = state.get(sid);
    const after = typeof e.post['state'] === 'string' ? (e.post['state'] as string) : before;
    if (after !== undefined) state.set(sid, after);
    if (before === 'LEADING' && after !== 'LEADING') endLeading(sid, at, `${e.action}`);
    if ((before === 'FOLLOWING' || before === 'OBSERVING') && after !== before) endFollowing(sid, at, `${e.action}`);
    if (after === 'LEADING' && !leading.has(sid)) leading.set(sid, { since: at, serving: false, connected: new Set(), lost: null });
    const l = leading.get(sid);
    if (l !== undefined) {
      const peer = e.params['peer'];
      if (e.action === 'LeaderProcessFOLLOWERINFO' && typeof peer === 'number') l.connected.add(peer);
      if (e.action === 'ConnectionLost' && typeof peer === 'number') l.connected.delete(peer);
      if (e.action === 'LeaderProcessACKNEWLEADER' && e.params['serving'] === true && !l.serving) {
        checkLeader(sid, l, at, 'it started serving then');
        l.serving = true;
      }
      if (l.serving) {
        const q = hasQuorum(sid, l);
        if (!q && l.lost === null) l.lost = at;
        else if (q && l.lost !== null) {
          checkLeader(sid, l, at, 'its quorum came back then');
          l.lost = null;
        }
      }
      if (e.action === 'LeaderStepDown') endLeading(sid, at, 'LeaderStepDown');
    }
    if (e.action === 'LearnerConnect' && typeof e.params['leader'] === 'number') {
      endFollowing(sid, at, 'it connected again');
      following.set(sid, { leader: e.params['leader'] as number, since: at, upToDate: false });
    }
    const f = following.get(sid);
    if (f !== undefined) {
      if (e.action === 'LearnerProcessUPTODATE') f.upToDate = true;
      if (e.action === 'ConnectionLost' || e.action === 'LearnerTimeout') endFollowing(sid, at, e.action);
    }
  }
  if (end !== null) {
    for (const [sid, l] of leading) checkLeader(sid, l, end, 'the logs end');
    for (const [sid, f] of following) checkLearner(sid, f, end, 'the logs end');
  }
  // One report per obligation and server: the first.
  out.sort((a, b) => a.since.time + a.boundMs - (b.since.time + b.boundMs));
  return out;
}
