// `npx tsx bench/conform.ts [events]`: how fast `conform` checks a long log, and that its memory does not
// grow with the log. A standalone script (bench/run.ts measures the checker; this one is separate).
//
// The logs come from the implementation's protocol core under the seeded simulated network (impl/sim.ts):
// 3 servers elect a leader and take writes from every server until the logs hold the number of events asked
// (default 100,000), written in the trace format with the simulated clock as `time`. Then `conform` runs in a
// child process on them, and on a log a quarter as long, and the figures are printed: events, time, events/s,
// peak RSS. Figures only: nothing here passes or fails.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster, createRequest, deleteRequest, sessionRequest } from '../impl/sim.ts';
import type { CoreTraceEvent } from '../impl/core/types.ts';
import type { ConformResult } from '../checker/conform/run.ts';

const ROOT = join(import.meta.dirname, '..');

/** Simulated run until the servers logged `target` events in all; one file per server in `dir`. */
export function generateLogs(dir: string, target: number, seed = 1): number {
  const servers = new Map([1, 2, 3].map((s) => [s, 'participant' as const]));
  const sim = new SimCluster({ seed, servers, commitLogCount: 1_000_000 });
  const lines = new Map<number, string[]>([...servers.keys()].map((s) => [s, []]));
  const seen = new Map<number, number>([...servers.keys()].map((s) => [s, 0]));
  let total = 0;
  const collect = () => {
    for (const [sid, node] of sim.nodes) {
      const trace: CoreTraceEvent[] = node.trace;
      for (let i = seen.get(sid)!; i < trace.length; i++) {
        const e = trace[i]!;
        const out = lines.get(sid)!;
        out.push(JSON.stringify({ type: 'event', seq: out.length + 1, sid, action: e.action, time: sim.now, ...(e.params ? { params: e.params } : {}), ...(e.recv ? { recv: e.recv } : {}), ...(e.send ? { send: e.send } : {}), ...(e.post && Object.keys(e.post).length ? { post: e.post } : {}) }));
        total++;
      }
      seen.set(sid, trace.length);
    }
  };
  sim.start();
  for (let t = 0; t < 3000; t++) {
    sim.runFor(1);
    collect();
  }
  let req = 0;
  // The clients' session first (a txn like the others), then creates and deletes of 100 keys.
  for (const sid of sim.leaders()) sim.write(sid, ++req, sessionRequest());
  while (total < target) {
    for (const sid of servers.keys()) sim.write(sid, ++req, req % 3 === 0 ? deleteRequest(`k${req % 100}`) : createRequest(`k${req % 100}`, `v${req}`));
    for (let t = 0; t < 3; t++) {
      sim.runFor(1);
      collect();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [sid, ls] of lines) {
    const header = {
      type: 'header',
      format: 'zab-trace',
      version: 1,
      source: 'impl',
      sid,
      servers: [...servers.keys()].map((s) => ({ sid: s, role: 'participant' })),
      params: { incarnation: 1, simulated: true, seed },
      created: new Date().toISOString(),
    };
    writeFileSync(join(dir, `server${sid}-transitions.0001.ndjson`), [JSON.stringify(header), ...ls].join('\n') + '\n');
  }
  return total;
}

function measure(dir: string): ConformResult & { peakRss: number } {
  const code = `
    import { conform } from ${JSON.stringify(join(ROOT, 'checker/conform/run.ts'))};
    const r = conform({ paths: [${JSON.stringify(dir)}] });
    console.log(JSON.stringify({ ...r, divergence: r.divergence && r.divergence.event, peakRss: process.resourceUsage().maxRSS * 1024 }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').slice(-3).join(' '));
  return JSON.parse(r.stdout) as ConformResult & { peakRss: number };
}

function main(): void {
  const target = Number(process.argv[2] ?? 100_000);
  const rows: string[] = [];
  for (const n of [Math.floor(target / 4), target]) {
    const dir = join(tmpdir(), `conform-bench-${n}`);
    const t0 = Date.now();
    const events = generateLogs(dir, n);
    const gen = (Date.now() - t0) / 1000;
    const r = measure(dir);
    const s = r.stats;
    rows.push(
      `| ${events.toLocaleString('en-US')} | ${r.ok ? 'PASS' : `DIVERGENCE at ${JSON.stringify(r.divergence)}`} | ${(s.timeMs / 1000).toFixed(1)} | ${Math.round(s.events / (s.timeMs / 1000)).toLocaleString('en-US')} | ` +
        `${s.specStepsOnPath.toLocaleString('en-US')} | ${s.statesExplored.toLocaleString('en-US')} | ${s.maxBuffered} | ${(r.peakRss / 2 ** 20).toFixed(0)} MiB | ${gen.toFixed(1)} |`,
    );
  }
  console.log('| events | verdict | conform s | events/s | spec steps | states explored | steps buffered | peak RSS | generate s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main();
