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
import { LineEncoder } from '../impl/tracelog.ts';
import { headerText } from '../traces/writer.ts';
import type { ConformResult } from '../checker/conform/run.ts';

const ROOT = join(import.meta.dirname, '..');

/**
 * Simulated run until the servers logged `target` events in all; one file per server in `dir`, written as the
 * servers write their logs: the header by the trace writer API, the events by the transition log's encoder.
 */
export function generateLogs(dir: string, target: number, seed = 1): number {
  const servers = new Map([1, 2, 3].map((s) => [s, 'participant' as const]));
  const encoders = new Map([...servers.keys()].map((s) => [s, { enc: new LineEncoder(), seq: 0 }]));
  let total = 0;
  const sim: SimCluster = new SimCluster({
    seed,
    servers,
    commitLogCount: 1_000_000,
    trace: true,
    onTrace: (sid, event) => {
      const log = encoders.get(sid)!;
      log.enc.line(++log.seq, sid, sim.now, event);
      total++;
    },
  });
  sim.start();
  for (let t = 0; t < 3000; t++) sim.runFor(1);
  let req = 0;
  // The clients' session first (a txn like the others), then creates and deletes of 100 keys.
  for (const sid of sim.leaders()) sim.write(sid, ++req, sessionRequest());
  while (total < target) {
    for (const sid of servers.keys()) sim.write(sid, ++req, req % 3 === 0 ? deleteRequest(`k${req % 100}`) : createRequest(`k${req % 100}`, `v${req}`));
    for (let t = 0; t < 3; t++) sim.runFor(1);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [sid, { enc }] of encoders) {
    const header = headerText({ source: 'impl', sid, servers: [...servers.keys()].map((s) => ({ sid: s, role: 'participant' as const })), params: { incarnation: 1, simulated: true, seed } });
    writeFileSync(join(dir, `server${sid}-transitions.0001.ndjson`), Buffer.concat([Buffer.from(header + '\n'), enc.buf.subarray(0, enc.pos)]));
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
