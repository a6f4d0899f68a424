// The sequential specification of one znode, as the linearizability search steps it (checker/history/linearize.ts).
//
// A state is a string: "-" the znode does not exist; "v<version>:<value>" it exists with that data version and
// data; "?:<value>" it exists with that data but a version we cannot know (an unconditional setData whose reply
// was lost); "+" it exists, data and version unknown; "*" nothing known (the start of a window cut out of a longer
// history). Values are unique per write, so a state names the write that made it.
//
// An operation's outcome is part of what must be explained: an ok create needs the znode absent, a create that
// failed with NODEEXISTS needs it present (PrepRequestProcessor decides both in the leader's order of writes), a
// compare-and-set (setData with a version) that failed with BADVERSION needs another version, an ok setData's
// reply stat gives the new version. An indeterminate operation (info) either never happened or happened as if it
// succeeded: its step keeps the state and adds the successor.
import { DEFINITE_ERRORS, type Op } from './format.ts';

export const ABSENT = '-';
export const PRESENT = '+';
export const ANY = '*';

const version = (s: string): number | null => (s[0] === 'v' ? Number(s.slice(1, s.indexOf(':'))) : null);
const value = (s: string): string | null => (s[0] === 'v' || s[0] === '?' ? s.slice(s.indexOf(':') + 1) : null);
const present = (s: string) => s !== ABSENT;
const canBeAbsent = (s: string) => s === ABSENT || s === ANY;
const mk = (ver: number | null, val: string) => (ver === null ? `?:${val}` : `v${ver}:${val}`);

/** How the search must treat an operation: an outcome to explain, one that may or may not have happened, or none. */
export type Role = 'determinate' | 'indeterminate' | 'ignored';

/** Plain gets are not linearizable in ZooKeeper (a server answers from its own tree): the session checks judge
 *  them. A read without an answer constrains nothing; a write's error outside the definite ones is indeterminate. */
export function role(o: Op): Role {
  if (o.f === 'get') return 'ignored';
  const read = o.f === 'sync-get' || o.f === 'final-get';
  if (o.result === 'ok') return 'determinate';
  if (read) return 'ignored';
  if (o.result === 'fail' && o.error !== undefined && DEFINITE_ERRORS.has(o.error)) return 'determinate';
  return 'indeterminate';
}

/** The states after a determinate op from state s (none: the outcome cannot happen in s). */
function stepOk(s: string, o: Op, out: string[]): void {
  const pres = s !== ABSENT; // "*" may be either
  const ver = version(s);
  switch (o.f) {
    case 'create':
      if (o.result === 'ok') {
        if (canBeAbsent(s)) out.push(mk(0, o.value ?? ''));
      } else if (o.error === 'NODEEXISTS') {
        if (pres) out.push(s === ANY ? PRESENT : s);
      } else if (o.error === 'NONODE') {
        // the parent is missing: not in our workload (keys live under an existing parent)
      }
      return;
    case 'set': {
      if (o.result === 'ok') {
        if (!pres) return;
        if (o.version >= 0 && ver !== null && ver !== o.version) return;
        let next: number | null = o.version >= 0 ? o.version + 1 : ver === null ? null : ver + 1;
        if (o.stat !== undefined) {
          if (next !== null && next !== o.stat.version) return;
          next = o.stat.version;
        }
        out.push(mk(next, o.value ?? ''));
      } else if (o.error === 'NONODE') {
        if (canBeAbsent(s)) out.push(ABSENT);
      } else if (o.error === 'BADVERSION') {
        if (pres && (ver === null || ver !== o.version)) out.push(s === ANY ? PRESENT : s);
      }
      return;
    }
    case 'delete':
      if (o.result === 'ok') {
        if (pres && (o.version < 0 || ver === null || ver === o.version)) out.push(ABSENT);
      } else if (o.error === 'NONODE') {
        if (canBeAbsent(s)) out.push(ABSENT);
      } else if (o.error === 'BADVERSION') {
        if (pres && (ver === null || ver !== o.version)) out.push(s === ANY ? PRESENT : s);
      }
      return;
    case 'sync-get':
    case 'final-get':
    case 'get': {
      const r = o.read;
      if (r === undefined) return;
      if (r === null) {
        if (canBeAbsent(s)) out.push(ABSENT);
        return;
      }
      if (!pres) return;
      const val = value(s);
      if (val !== null && val !== (r.value ?? '')) return;
      if (ver !== null && ver !== r.version) return;
      out.push(mk(r.version, r.value ?? ''));
      return;
    }
  }
}

/** The state after an indeterminate write that took effect (its outcome unknown: as if it had succeeded). */
function stepApplied(s: string, o: Op, out: string[]): void {
  const ver = version(s);
  switch (o.f) {
    case 'create':
      if (canBeAbsent(s)) out.push(mk(0, o.value ?? ''));
      return;
    case 'set':
      if (s === ABSENT) return;
      if (o.version >= 0) {
        if (ver === null || ver === o.version) out.push(mk(o.version + 1, o.value ?? ''));
      } else out.push(mk(ver === null ? null : ver + 1, o.value ?? ''));
      return;
    case 'delete':
      if (s !== ABSENT && (o.version < 0 || ver === null || ver === o.version)) out.push(ABSENT);
      return;
    default:
      return;
  }
}

/** One step of the powerset model: every state some member of `states` can reach by `o` (deduplicated, sorted);
 *  empty if the op's outcome is impossible from all of them. */
export function step(states: readonly string[], o: Op, r: Role): string[] {
  const out: string[] = [];
  for (const s of states) {
    if (r === 'indeterminate') {
      out.push(s);
      stepApplied(s, o, out);
    } else stepOk(s, o, out);
  }
  if (out.length <= 1) return out;
  return [...new Set(out)].sort();
}

export const stateKey = (states: readonly string[]) => (states.length === 1 ? states[0]! : states.join('\u0001'));

export function describeState(s: string): string {
  if (s === ABSENT) return 'absent';
  if (s === PRESENT) return 'present (data unknown)';
  if (s === ANY) return 'unknown';
  const ver = version(s);
  return `${JSON.stringify(value(s))} (version ${ver === null ? '?' : ver})`;
}

export { present as isPresentState };
