// One nemesis run: start the ensemble, run the clients and the nemesis for the given time, heal, check that every
// client gets answers again (liveness), read every key on every server, check the history (checker/history/), and
// for ours check the transition logs against the spec (npm run conform).
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkHistory, type CheckResult } from '../checker/history/check.ts';
import { opToLine } from '../checker/history/format.ts';
import { conform } from '../checker/conform/run.ts';
import { formatResult as formatConform } from '../checker/conform/report.ts';
import { runNemesis, waitFormed, type FaultKind, type FaultRecord } from './faults.ts';
import { oursTarget, zookeeperTarget, type Target } from './target.ts';
import { Recorder, finalReads, runWorker, type WorkerStats } from './workload.ts';

export interface RunOptions {
  readonly target: 'zookeeper' | 'ours';
  readonly seed: number;
  readonly timeMs: number;
  readonly clients: number;
  readonly nodes: number;
  readonly keys: number;
  readonly kinds: readonly FaultKind[];
  /** Bound on recovery after each fault, and on every client's first answer after the heal. */
  readonly recoveryBoundMs: number;
  readonly historyPath: string;
  /** ours only: keep the servers' data directories (transition logs included) here, not in a removed temporary one. */
  readonly keepDir?: string;
  readonly log: (s: string) => void;
}

export interface RunReport {
  readonly target: string;
  readonly seed: number;
  readonly timeMs: number;
  readonly limits: string[];
  readonly faults: FaultRecord[];
  readonly faultKinds: Record<string, number>;
  readonly ops: { ok: number; fail: number; info: number };
  readonly check: { verdict: CheckResult['verdict']; anomalies: { kind: string; key: string | null; message: string }[] };
  /** Every client answered again within the bound after the heal; per client, ms from the heal to its first answer. */
  readonly liveness: { ok: boolean; perClientMs: (number | null)[]; boundMs: number };
  readonly finalReadProblems: string[];
  readonly conform: { verdict: 'PASS' | 'FAIL' | 'not run'; detail: string };
  readonly historyPath: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runOnce(o: RunOptions, onTarget: (t: Target) => void): Promise<RunReport> {
  const target = o.target === 'zookeeper' ? await zookeeperTarget(o.nodes) : await oursTarget(o.nodes, o.keepDir ?? null);
  onTarget(target);
  try {
    o.log(`${target.name}: starting ${o.nodes} servers`);
    await target.start();
    const leader = await target.formed();
    o.log(`${target.name}: serving, leader ${leader}`);
    const rec = new Recorder();
    const keys = Array.from({ length: o.keys }, (_, i) => `nemesis-${o.seed}-k${i}`);
    let stopped = false;
    const stats: WorkerStats[] = Array.from({ length: o.clients }, () => ({ lastOk: -1, sessions: 0 }));
    const workers = stats.map((s, i) => runWorker(i, target, rec, keys, o.seed, () => stopped, s));
    const faults = await runNemesis(target, { seed: o.seed, kinds: o.kinds, untilMs: o.timeMs, recoveryBoundMs: o.recoveryBoundMs, now: rec.now, log: o.log });
    // Heal: whatever a fault left behind is undone (each undoes itself; this is the belt to its braces).
    await target.heal();
    for (const sid of target.sids) {
      target.holdFsync?.(sid, false);
      target.resume(sid);
      target.restart(sid);
    }
    const healAt = rec.now();
    o.log(`heal at ${(healAt / 1000).toFixed(1)} s: every server running, no fault left`);
    const formedMs = await waitFormed(target, o.recoveryBoundMs);
    // Liveness: every client answers again within the bound.
    const until = performance.now() + o.recoveryBoundMs;
    while (performance.now() < until && stats.some((s) => s.lastOk < healAt)) await sleep(100);
    const perClientMs = stats.map((s) => (s.lastOk >= healAt ? Math.round(s.lastOk - healAt) : null));
    const live = perClientMs.every((x) => x !== null);
    await sleep(1000);
    stopped = true;
    await Promise.all(workers);
    o.log(`clients stopped: ${formedMs === null ? 'ensemble NOT formed' : `ensemble formed ${(formedMs / 1000).toFixed(2)} s after the heal`}; ${live ? 'every client answered again' : 'some client got NO answer'} (ms after the heal: ${perClientMs.map((x) => x ?? 'none').join(', ')})`);
    // Final reads once every server reports the same last zxid.
    for (let i = 0; i < 300; i++) {
      const z = await target.zxids();
      const vals = [...z.values()];
      if (vals.every((x) => x !== null) && new Set(vals.map(String)).size === 1) break;
      await sleep(100);
    }
    const finalReadProblems = await finalReads(target, rec, keys);
    const header = { type: 'history', version: 1, target: target.name, seed: o.seed, nodes: o.nodes, clients: o.clients, keys, timeMs: o.timeMs, faults: faults.map((f) => ({ kind: f.kind, victim: f.victim, role: f.role, at: Math.round(f.at), detail: f.detail, recoveryMs: f.recoveryMs === null ? null : Math.round(f.recoveryMs) })) };
    writeFileSync(o.historyPath, [JSON.stringify(header), ...rec.ops.map(opToLine)].join('\n') + '\n');
    const r = checkHistory({ header, ops: rec.ops });
    let conformResult: RunReport['conform'] = { verdict: 'not run', detail: 'Apache ZooKeeper writes no transition logs' };
    if (target.name === 'ours') {
      await target.stopServers(); // the transition logs complete before they are read
      try {
        const c = conform({ paths: target.traceDirs() });
        const text = formatConform(c);
        writeFileSync(o.historyPath.replace(/\.ndjson$/, '') + '.conform.txt', text + '\n');
        conformResult = { verdict: c.ok ? 'PASS' : 'FAIL', detail: text.split('\n').slice(0, c.ok ? 3 : 12).join('\n') };
      } catch (e) {
        conformResult = { verdict: 'FAIL', detail: (e as Error).message };
      }
      if (conformResult.verdict === 'FAIL') {
        keepTransitionLogs(target.traceDirs(), logsDirOf(o.historyPath));
        conformResult = { ...conformResult, detail: `${conformResult.detail}\n(transition logs kept: npm run conform -- ${logsDirOf(o.historyPath)})` };
      }
      else rmSync(logsDirOf(o.historyPath), { recursive: true, force: true }); // an earlier run's, of the same seed
    }
    const faultKinds: Record<string, number> = {};
    for (const f of faults) faultKinds[f.kind] = (faultKinds[f.kind] ?? 0) + 1;
    return {
      target: target.name,
      seed: o.seed,
      timeMs: o.timeMs,
      limits: target.limits,
      faults,
      faultKinds,
      ops: { ok: r.counts.ok, fail: r.counts.fail, info: r.counts.info },
      check: { verdict: r.verdict, anomalies: r.anomalies.map((a) => ({ kind: a.kind, key: a.key, message: a.message })) },
      liveness: { ok: live && formedMs !== null, perClientMs, boundMs: o.recoveryBoundMs },
      finalReadProblems,
      conform: conformResult,
      historyPath: o.historyPath,
    };
  } finally {
    await target.close();
  }
}

/** Where a run whose logs conform refused keeps them: next to its history, for `npm run conform -- DIR` again. */
export function logsDirOf(historyPath: string): string {
  return historyPath.replace(/\.ndjson$/, '') + '.logs';
}

/** Copies every server's transition logs (dataDir/transitions.NNNN.ndjson) into dir/sN/, replacing what was there. */
function keepTransitionLogs(dataDirs: readonly string[], dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dataDirs.forEach((d, i) => {
    const to = join(dir, `s${i + 1}`);
    mkdirSync(to, { recursive: true });
    for (const f of readdirSync(d)) if (/^transitions\.\d+\.ndjson$/.test(f)) cpSync(join(d, f), join(to, f));
  });
}
