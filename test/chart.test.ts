// The chart's data without a browser: arrows from send to receive, which unreceived messages count as lost,
// the explorer's path saved as a trace that replays, and `npm run view`'s command line.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { arrowsOf, type ChartEvent, type ChartMessage } from '../checker/chart/data.ts';
import { Explorer, shownProperties } from '../checker/chart/explore.ts';
import { chartOfCheckTrace, chartOfInputs } from '../checker/chart/sources.ts';
import { readZooKeeperLogs } from '../checker/conform/zookeeper/observe.ts';
import { parseFlags } from '../checker/flags.ts';
import { loadChecked } from '../checker/run.ts';
import { parseTrace } from '../checker/report/trace-reader.ts';
import { protocolWalk } from './support/walk.ts';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'chart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const msg = (id: string, from: number, to: number, type = 'ACK'): ChartMessage => ({ id, from, to, type, text: `${type} ${from}->${to}` });
const ev = (sid: number, action: string, recv: ChartMessage | null, send: ChartMessage[] = []): ChartEvent => ({ sid, action, params: '', recv, send, changes: [] });

describe('arrows', () => {
  it('pairs each send with its receive; a message skipped on its channel, or to a server that crashed, is lost; the rest are in flight', () => {
    const a = msg('1:1', 1, 2);
    const b = msg('1:2', 1, 2);
    const c = msg('1:3', 1, 3);
    const d = msg('1:4', 1, 3, 'NOTIFICATION');
    const events = [ev(1, 'LeaderSyncFollower', null, [a, b, c, d]), ev(2, 'LearnerProcessDIFF', b), ev(3, 'Crash', null), ev(2, 'FollowerProcessCOMMIT', msg('3:9', 3, 2))];
    const arrows = arrowsOf(events);
    expect(arrows.map((x) => [x.id, x.sentAt, x.recvAt, x.lost])).toEqual([
      ['1:1', 0, null, true], // b, sent after it on the same channel, was received
      ['1:2', 0, 1, false],
      ['1:3', 0, null, true], // its receiver crashed
      ['1:4', 0, null, true], // a notification too: the crash of its receiver
      ['3:9', -1, 3, false], // received, sent before the chart began
    ]);
    expect(arrowsOf([ev(1, 'X', null, [a])])[0]!.lost).toBe(false);
  });
});

describe('the explorer', () => {
  it('saves its path as a trace that check\'s reader reads and that replays to the same chart', async () => {
    const { spec, properties } = await loadChecked(parseFlags(['--granularity', 'fine', '--initial', 'fresh']));
    const x = new Explorer(spec, properties);
    for (const i of [0, 0, 1, 0]) x.step(i);
    expect(() => x.step(999)).toThrow(/no enabled step 999/);
    const text = x.traceText();
    const trace = parseTrace(text, 'explored');
    expect(trace.events).toHaveLength(4);
    expect(trace.verdict).toBeNull();
    const file = join(dir, 'explored.ndjson');
    writeFileSync(file, text);
    const chart = chartOfCheckTrace(file);
    expect(chart.events.map((e) => e.action)).toEqual(x.view().chart.events.map((e) => e.action));
    expect(chart.arrows).toEqual(x.view().chart.arrows);
    const y = new Explorer(spec, properties);
    expect(y.open(text, 'explored')).toMatch(/4 steps/);
    expect(y.view().enabled).toEqual(x.view().enabled);
    x.back();
    expect(x.view().depth).toBe(3);
  });

  it('walks an election, discovery and a DIFF sync by taking enabled steps, and shows the servers serving', async () => {
    const { spec, properties } = await loadChecked(parseFlags(['--granularity', 'fine', '--initial', 'fresh']));
    const x = new Explorer(spec, shownProperties(spec, properties, false));
    const walk = protocolWalk(spec, 'LearnerProcessUPTODATE');
    for (const [k, i] of walk.indices.entries()) {
      expect(x.view().enabled[i]!.kind).toBe(walk.kinds[k]);
      x.step(i);
      // In the middle of the DIFF sync, the explorer shows the reachability property syncByDIFF witnessed.
      if (walk.kinds[k] === 'LearnerProcessDIFF') expect(x.view().properties.find((p) => p.name === 'syncByDIFF')?.holds).toBe(true);
    }
    const v = x.view();
    expect(v.chart.events.map((e) => e.action)).toEqual(walk.kinds);
    for (const k of ['FLEDecide', 'LeaderProcessACKEPOCH', 'LearnerProcessDIFF', 'LearnerProcessNEWLEADER', 'LearnerProcessUPTODATE']) expect(walk.kinds).toContain(k);
    expect(v.properties.filter((p) => p.kind === 'invariant' && !p.holds)).toEqual([]);
    let state: unknown = spec.init()[0];
    for (const i of walk.indices) state = spec.next(state)[i]!.state;
    const roles = spec.servers.map(({ sid }) => spec.serverVars(state, sid)).map((s) => `${s['state']}/${s['zabState']}`);
    expect(roles).toContain('LEADING/BROADCAST');
    expect(roles).toContain('FOLLOWING/BROADCAST');
  });
});

describe('npm run view', () => {
  const view = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'checker/chart/view-cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

  it('writes a chart of a finding\'s trace and says what is in it (--json)', async () => {
    const out = join(dir, 'finding.html');
    const r = await view('--json', '--out', out, 'traces/samples/findings/stale-ack-after-trunc.ndjson');
    const j = JSON.parse(r.stdout) as { charts: { file: string; servers: number; events: number; arrows: number; verdict: string }[] };
    const trace = parseTrace(readFileSync(join(ROOT, 'traces/samples/findings/stale-ack-after-trunc.ndjson'), 'utf8'));
    expect(j.charts).toHaveLength(1);
    expect(j.charts[0]).toMatchObject({ file: out, servers: trace.header.servers.length, events: trace.events.length, verdict: trace.verdict!.property });
    const html = readFileSync(out, 'utf8');
    expect(html).toContain("connect-src 'none'");
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
  }, 120_000);

  it('says what is wrong in one line, exit 2', async () => {
    for (const [args, message] of [
      [['--bogus', 'x'], /^view: Unknown option '--bogus' \(see --help\)\n$/],
      [[], /^view: no trace or log given \(see --help\)\n$/],
      [['--out', '', 'x.ndjson'], /^view: --out: must name a file/],
      [[join(dir, 'missing')], /^view: .*missing/],
    ] as const) {
      const e = await view(...args).then(
        () => null,
        (x: { code: number; stderr: string }) => x,
      );
      expect(e?.code, args.join(' ')).toBe(2);
      expect(e!.stderr).toMatch(message);
      expect(e!.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(join(dir, 'missing.html'))).toBe(false);
  }, 120_000);
});

describe("a chart of Apache ZooKeeper's own logs", () => {
  it('has a row per protocol line conform reads, and an arrow per sync decision from the leader to the learner that took it', () => {
    const dirOf = join(ROOT, 'traces', 'samples', 'zookeeper', 'trunc');
    const files = ['server1.log', 'server2.log', 'server3.log'].map((f) => join(dirOf, f));
    const data = chartOfInputs(files);
    const seen = readZooKeeperLogs(files).servers.reduce((n, s) => n + s.seen.length, 0);
    expect(data.events).toHaveLength(seen);
    expect(data.servers.map((s) => s.sid)).toEqual([1, 2, 3]);
    expect(data.arrows.length).toBeGreaterThan(0);
    for (const a of data.arrows) {
      expect(a.recvAt, a.text).not.toBeNull();
      expect(data.events[a.sentAt]!.sid).toBe(a.from);
      expect(data.events[a.recvAt!]!.action).toBe(`LearnerProcess${a.type}`);
    }
    for (const a of data.arrows) expect(['DIFF', 'TRUNC', 'SNAP']).toContain(a.type);
    expect(data.notes.join(' ')).toMatch(/conform: CONFORMS/);
  });
});
