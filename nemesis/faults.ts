// The nemesis: a seeded sequence of faults, each applied, held, undone, and the ensemble's recovery timed. The seed
// decides the kind, the victim (the leader or a follower, found when the fault starts), how long it lasts and the
// quiet time between faults; what the ensemble does in between is real and not seeded.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { Target } from './target.ts';

export const FAULT_KINDS = ['kill', 'partition', 'one-way', 'pause', 'fsync-stall', 'torn-tail'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly victim: number;
  readonly role: 'leader' | 'follower' | 'unknown';
  /** ms since the run began. */
  readonly at: number;
  readonly heldMs: number;
  readonly detail: string;
  /** From undoing the fault to one leader with every other server following and serving: ms, or null if not
   *  within the bound. */
  recoveryMs: number | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFormed(target: Target, boundMs: number): Promise<number | null> {
  const t = performance.now();
  while (performance.now() - t < boundMs) {
    if ((await target.formed().catch(() => null)) !== null) return performance.now() - t;
    await sleep(100);
  }
  return null;
}

export interface NemesisOptions {
  readonly seed: number;
  readonly kinds: readonly FaultKind[];
  readonly untilMs: number;
  readonly recoveryBoundMs: number;
  readonly now: () => number;
  readonly log: (s: string) => void;
}

/** Runs faults until `untilMs` (run time), one at a time; returns what it did. */
export async function runNemesis(target: Target, o: NemesisOptions): Promise<FaultRecord[]> {
  const rng = xoroshiro128plus(o.seed);
  const int = (lo: number, hi: number) => uniformInt(rng, lo, hi);
  // The same seed draws the same kinds on every target; one a target cannot apply becomes its nearest kind (one-way
  // loss a partition, an fsync fault a kill), and the report says which.
  const kinds = o.kinds;
  const substitute = (k: FaultKind): FaultKind => (k === 'one-way' && target.oneWay === null ? 'partition' : (k === 'fsync-stall' || k === 'torn-tail') && target.holdFsync === null ? 'kill' : k);
  const out: FaultRecord[] = [];
  const session = target.sessionTimeoutMs;
  for (let i = 0; i < 1000 && o.now() < o.untilMs - 3000; i++) {
    await sleep(int(1000, 3000));
    if (o.now() >= o.untilMs - 3000 || kinds.length === 0) break;
    const drawn = kinds[int(0, kinds.length - 1)]!;
    const kind = substitute(drawn);
    const wantLeader = int(0, 1) === 0;
    const leader = await target.formed().catch(() => null);
    const followers = target.sids.filter((s) => s !== leader);
    const victim = wantLeader && leader !== null ? leader : followers[int(0, followers.length - 1)]!;
    const role = leader === null ? 'unknown' : victim === leader ? 'leader' : 'follower';
    const at = o.now();
    let heldMs = 0;
    let detail = '';
    switch (kind) {
      case 'kill': {
        heldMs = int(500, 4000);
        await target.kill(victim);
        await sleep(heldMs);
        target.restart(victim);
        detail = `kill -9, restarted after ${heldMs} ms`;
        break;
      }
      case 'partition': {
        heldMs = int(2000, 8000);
        await target.isolate(victim);
        await sleep(heldMs);
        await target.heal();
        detail = `isolated from every other server for ${heldMs} ms`;
        break;
      }
      case 'one-way': {
        heldMs = int(2000, 8000);
        const other = leader !== null && victim !== leader ? leader : target.sids.find((s) => s !== victim)!;
        const [from, to] = int(0, 1) === 0 ? [victim, other] : [other, victim];
        await target.oneWay!(from, to);
        await sleep(heldMs);
        await target.heal();
        detail = `${from} -> ${to} lost for ${heldMs} ms (the other way delivered)`;
        break;
      }
      case 'pause': {
        // Longer than the session timeout and than syncLimit: sessions on it expire, its peers give up on it.
        heldMs = int(session + 500, session * 2);
        target.pause(victim);
        await sleep(heldMs);
        target.resume(victim);
        detail = `SIGSTOP for ${heldMs} ms, then SIGCONT`;
        break;
      }
      case 'fsync-stall': {
        heldMs = int(1000, 6000);
        target.holdFsync!(victim, true);
        await sleep(heldMs);
        target.holdFsync!(victim, false);
        detail = `fsync and fdatasync held for ${heldMs} ms`;
        break;
      }
      case 'torn-tail': {
        // A power loss: the disk holds only what was fsynced. Hold the fsyncs, let writes reach the page cache,
        // kill -9, then tear the log after the last point known to be durable, and restart.
        heldMs = int(300, 1500);
        const before = target.logEnd(victim);
        target.holdFsync!(victim, true);
        await sleep(heldMs);
        await target.kill(victim);
        const after = target.logEnd(victim);
        let torn = 0;
        if (before !== null && after !== null && after.file === before.file && after.end > before.end) torn = target.tear(after.file, before.end, int(before.end, after.end - 1));
        target.holdFsync!(victim, false);
        target.restart(victim);
        detail = `fsyncs held ${heldMs} ms, kill -9, ${torn > 0 ? `${torn} unsynced byte(s) of its txn log torn off` : 'nothing unsynced in its txn log to tear'}, restarted`;
        break;
      }
    }
    if (drawn !== kind) detail += ` (drawn: ${drawn}, which this target cannot apply)`;
    const rec: FaultRecord = { kind, victim, role, at, heldMs, detail, recoveryMs: null };
    rec.recoveryMs = await waitFormed(target, o.recoveryBoundMs);
    o.log(`fault ${out.length + 1}: ${kind} of server ${victim} (${role}) at ${(at / 1000).toFixed(1)} s: ${detail}; recovered ${rec.recoveryMs === null ? `NOT within ${o.recoveryBoundMs / 1000} s` : `in ${(rec.recoveryMs / 1000).toFixed(2)} s`}`);
    out.push(rec);
  }
  return out;
}
