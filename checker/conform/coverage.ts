// Coverage: which of the spec's actions, and which branches of them, the logs exercised. conform explains every
// logged event by a spec step of the same kind (explain.ts), so the events of a run that conforms are the spec
// steps its path took that the implementation logs: the spec's actions that no run's logs show are the situations
// the runs never reached (the simulator's seeds, or a real cluster's), and a breakage hidden there goes unseen.
// Branches, where the log tells them apart cheaply: a sync's mode, an ACKEPOCH or LEADERINFO refused, a COMMIT
// that matched no pending txn, a vote that started finalizeWait, a kill -9 and its restart (a ServerStart after the
// first), a leader's commit by its own ACK (LeaderFlushLog) or a learner's.
import type { LoggedEvent } from './reader.ts';

/** Counts by spec action (`LeaderProcessACK`) and branch (`LeaderSyncFollower:TRUNC`). */
export type Coverage = Record<string, number>;

/** The branch an event took, when the log tells it (null: the action's only branch, or one the log does not show). */
function branchOf(e: LoggedEvent): string | null {
  const p = e.params;
  switch (e.action) {
    case 'LeaderSyncFollower':
      return typeof p['mode'] === 'string' ? (p['mode'] as string) : null;
    case 'LeaderProcessACKEPOCH':
    case 'LearnerProcessLEADERINFO':
      return p['refused'] !== undefined ? 'refused' : 'accepted';
    case 'FollowerProcessCOMMIT':
      return p['error'] !== undefined ? 'mismatch' : 'next pending';
    case 'FLEReceiveSameRound':
    case 'FLEReceiveHigherRound':
      return p['finalizeWait'] === true ? 'finalizeWait' : null;
    case 'LeaderProcessACK':
      return Array.isArray(p['committed']) && p['committed'].length > 0 ? "commits on a learner's ACK" : 'commits nothing';
    case 'LeaderFlushLog':
      return Array.isArray(p['committed']) && p['committed'].length > 0 ? 'commits on its own ACK' : 'commits nothing';
    case 'ConnectionLost':
      return typeof p['reason'] === 'string' && (p['reason'] as string).startsWith('no packet') ? 'deadline' : null;
    default:
      return null;
  }
}

/** Counts the events into `into` (by action and by branch). */
export function countCoverage(into: Coverage, e: LoggedEvent): void {
  into[e.action] = (into[e.action] ?? 0) + 1;
  const b = branchOf(e);
  if (b !== null) into[`${e.action}:${b}`] = (into[`${e.action}:${b}`] ?? 0) + 1;
  // A kill -9 is not logged: a start after the first is a Crash and its Restart.
  if (e.action === 'ServerStart' && e.incarnation > 1) {
    into['Crash'] = (into['Crash'] ?? 0) + 1;
    into['Restart'] = (into['Restart'] ?? 0) + 1;
  }
}

/** The branches worth listing when none was exercised (the spec's, as the log names them). */
export const BRANCHES: readonly string[] = [
  'LeaderSyncFollower:DIFF',
  'LeaderSyncFollower:TRUNC',
  'LeaderSyncFollower:SNAP',
  'LeaderProcessACKEPOCH:refused',
  'LearnerProcessLEADERINFO:refused',
  'FLEReceiveSameRound:finalizeWait',
  'FLEReceiveHigherRound:finalizeWait',
  "LeaderProcessACK:commits on a learner's ACK",
  'LeaderFlushLog:commits on its own ACK',
];

/** Adds `b` into `a`. */
export function addCoverage(a: Coverage, b: Readonly<Coverage>): Coverage {
  for (const [k, n] of Object.entries(b)) a[k] = (a[k] ?? 0) + n;
  return a;
}

/** Of `kinds` (the spec's actions; impl logs every one) and BRANCHES: how many exercised, and those never. */
export function coverageSummary(kinds: readonly string[], c: Readonly<Coverage>): { actions: number; of: number; never: string[]; branchesNever: string[] } {
  const never = kinds.filter((k) => (c[k] ?? 0) === 0);
  return { actions: kinds.length - never.length, of: kinds.length, never, branchesNever: BRANCHES.filter((b) => (c[b] ?? 0) === 0) };
}
