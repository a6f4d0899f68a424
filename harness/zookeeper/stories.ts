// The timing and the shared steps of the reproductions' stories (findings #1 and #2), and their command line.
import { formatUsage, wantsHelp, type Usage } from '../../impl/usage.ts';

import { ZkEnsemble, type Outcome, type Status } from './ensemble.ts';
import { Diverged, hex, say, waitFor } from './log.ts';
import { killAllNow, logLines, loggedZxids, tail } from './process.ts';
import { TRUNC } from './quorum-stream.ts';
// ------------------------------------------------------------------------ timing of every story
// Held traffic must not trip ZooKeeper's own timeouts during a scenario. tickTime 1 s. syncLimit 40: the leader
// gives up leading when a quorum has not been heard from within syncLimit ticks, and a follower drops a leader
// it has not heard from within syncLimit ticks, so a held link may stay held up to 40 s. initLimit 10: it bounds
// how long a new leader waits for its followers' epochs, and how long a learner waits for the sync packets
// (Learner.registerWithLeader), so from a TRUNC to the leader's death must take less than 10 s (it takes 1-2 s).
export const TICK_MS = 1000;
export const INIT_LIMIT = 10;
export const SYNC_LIMIT = 40;

// ------------------------------------------------------------------------ the 3-server stories (findings #1, #2)

/** Wait until every server in sids reports the same last zxid (the createSession txn applied everywhere). */
export async function waitAgreed(ens: ZkEnsemble, sids: readonly number[]): Promise<Map<number, Status>> {
  const agreed = await waitFor('createSession everywhere', 15_000, async () => {
    const m = await ens.status(sids);
    const zs = new Set([...m.values()].map((x) => x?.zxid?.toString() ?? 'none'));
    return zs.size === 1 && !zs.has('none') ? m : null;
  });
  if (agreed === null) throw new Error(`servers did not agree on a zxid within 15 s: ${ens.showStatus(await ens.status(sids))}`);
  return agreed;
}

/** Step 1 of a 3-server story: start every server, wait for a leader with two followers; L leads, F and G follow. */
export async function formThree(ens: ZkEnsemble, sids: readonly number[]): Promise<{ L: number; F: number; G: number }> {
  for (const sid of sids) ens.start(sid);
  const first = await waitFor('ensemble', 70_000, () => ens.formed(sids), 500);
  if (first === null) throw new Error(`no leader with 2 followers within 70 s: ${ens.showStatus(await ens.status(sids))}`);
  say(`step 1: ${ens.showStatus(first)}`);
  const L = [...first].find(([, x]) => x?.mode === 'leader')![0];
  const [F, G] = sids.filter((s) => s !== L) as [number, number];
  return { L, F, G };
}

/** What the survivors show once the leader L was killed, and all three once L is back. */
export interface Aftermath {
  /** The leader F and G elected. */
  readonly L2: number;
  /** `/x` on F and G, and whether txn z is in their txn logs. */
  readonly survivors: readonly (readonly [number, string, boolean])[];
  /** Absent on both survivors: the write is lost. */
  readonly lost: boolean;
  /** The ensemble once L rejoined, or null if the three did not re-form within 45 s. */
  readonly rejoined: Map<number, Status> | null;
  /** `/x` on every server after L rejoined. */
  readonly all: readonly (readonly [number, string])[];
}

/**
 * The end of both stories, after a kill -9 of leader L: F and G elect a leader (step `step`), `/x` is read on both
 * and their txn logs searched for z; then L restarts (step `step + 1`) and `/x` is read on all three. `extra` adds
 * a story's own lines about the new leader and about L's rejoin.
 */
export async function aftermath(
  ens: ZkEnsemble,
  sids: readonly number[],
  roles: { L: number; F: number; G: number; z: bigint; step: number },
  facts: string[],
  extra: { elected?: (L2: number) => void; rejoined?: (leader: number) => string; restartNote?: string } = {},
): Promise<Aftermath> {
  const { L, F, G, z, step } = roles;
  const srv = (sid: number) => ens.srv(sid);
  const second = await waitFor('F, G elect', 60_000, () => ens.formed([F, G]), 500);
  if (second === null) throw new Diverged(String(step), `servers ${F}, ${G} did not form an ensemble within 60 s: ${ens.showStatus(await ens.status([F, G]))}`);
  const L2 = [...second].find(([, x]) => x?.mode === 'leader')![0];
  say(`step ${step}: ${ens.showStatus(second)}; new leader ${L2}: ${tail(logLines(srv(L2), /LEADING - LEADER ELECTION TOOK/).at(-1))}`);
  extra.elected?.(L2);
  const survivors = await Promise.all([F, G].map(async (sid) => [sid, await ens.existsOn(sid, '/x'), loggedZxids(srv(sid)).includes(z)] as const));
  say(`step ${step}: /x on ${survivors.map(([sid, e, inLog]) => `${sid}: ${e} (${hex(z)} ${inLog ? 'in' : 'not in'} its txn log)`).join('; ')}`);
  const lost = survivors.every(([, e]) => e === 'absent');
  facts.push(`${L} killed; ${F} and ${G} (a quorum of 3) elected ${L2}; /x there: ${survivors.map(([sid, e]) => `${sid} ${e}`).join(', ')}; ${hex(z)} in their txn logs: ${survivors.map(([sid, , i]) => `${sid} ${i ? 'yes' : 'no'}`).join(', ')}`);

  ens.start(L);
  say(`step ${step + 1}: restarted ${L} (pid ${srv(L).child?.pid}${extra.restartNote ?? ''})`);
  const rejoined = await waitFor('all 3', 45_000, () => ens.formed(sids), 500);
  if (rejoined === null) say(`step ${step + 1}: not all 3 formed one ensemble within 45 s: ${ens.showStatus(await ens.status(sids))}`);
  else {
    const leader = [...rejoined].find(([, x]) => x?.mode === 'leader')![0];
    say(`step ${step + 1}: ${ens.showStatus(rejoined)}; ${L}'s log: ${tail(logLines(srv(L), /Truncating log|Getting a (diff|snapshot)/).at(-1))}${extra.rejoined?.(leader) ?? ''}`);
  }
  const all = await Promise.all(sids.map(async (sid) => [sid, await ens.existsOn(sid, '/x')] as const));
  say(`step ${step + 1}: /x on ${all.map(([sid, e]) => `${sid}: ${e}`).join('; ')}`);
  facts.push(`${L} restarted${rejoined === null ? ' (the 3 did not all re-form within 45 s)' : ''}; /x: ${all.map(([sid, e]) => `${sid} ${e}`).join(', ')}`);
  return { L2, survivors, lost, rejoined, all };
}

/** Runs the scenario under a deadline for the whole run, kills the servers on Ctrl-C/SIGTERM and on exit, prints
 *  what was observed and the verdict line, and exits (0, or 2 if INCONCLUSIVE, 3 on the deadline, 130 on a signal). */
/** The --help of a repro script: what it reproduces, its flags, and the exit status runScenario gives. */
export function reproUsage(npm: string, description: string, flags: Usage['flags'] = []): Usage {
  return {
    usage: `npm run ${npm} -- ${flags.length > 0 ? '[flags]' : '(no flags)'}`,
    description: `${description}
It prints a step-by-step log and one verdict line: REPRODUCED, NOT REPRODUCED (with the step that went otherwise
than the spec predicts, and why), or INCONCLUSIVE (the harness itself failed). Needs Apache ZooKeeper 3.8
(npm run ${npm} installs Debian's package with bench/zookeeper-install.sh first).`,
    flags,
    exit: [
      [0, 'a verdict: REPRODUCED or NOT REPRODUCED (the last line says which)'],
      [2, 'bad usage, or INCONCLUSIVE: the harness failed (ZooKeeper not installed, a server did not start)'],
      [3, 'INCONCLUSIVE: the run exceeded its time limit'],
    ],
    examples: [`npm run ${npm}`],
  };
}

/** --help/-h prints `usage` and exits 0; a flag `usage` does not list exits 2. Call before anything starts. */
export function handleArgs(usage: Usage, argv: readonly string[] = process.argv.slice(2)): void {
  if (wantsHelp(argv)) {
    console.log(formatUsage(usage));
    process.exit(0);
  }
  const known = new Set(usage.flags.map((f) => `--${f.flag}`));
  const bad = argv.find((a) => !known.has(a));
  if (bad !== undefined) {
    console.error(`${usage.usage.split(' ')[2]}: unknown argument ${JSON.stringify(bad)} (see --help)`);
    process.exit(2);
  }
}

export function runScenario(limitMs: number, main: () => Promise<Outcome>): void {
  const limit = setTimeout(() => {
    console.log(`VERDICT: INCONCLUSIVE: the run exceeded ${limitMs / 1000} s; every server is killed on exit`);
    process.exit(3);
  }, limitMs);
  const onSignal = (sig: NodeJS.Signals) => {
    console.log(`${sig}: killing the servers`);
    killAllNow();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllNow);
  main().then(
    (o) => {
      clearTimeout(limit);
      console.log('\nobserved:');
      for (const f of o.facts) console.log(`  - ${f}`);
      console.log(`\nVERDICT: ${o.verdict}: ${o.why}`);
      process.exit(o.verdict === 'INCONCLUSIVE' ? 2 : 0);
    },
    (e: Error) => {
      console.log(`VERDICT: INCONCLUSIVE: ${e.message}`);
      process.exit(2);
    },
  );
}
