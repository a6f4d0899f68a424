// The charts and the explorer as a reader sees them, in a real browser: headless Chromium from Debian's
// `chromium` package (bash scripts/install-chromium.sh), driven by playwright-core. Without /usr/bin/chromium
// these tests skip, and their name says so.
//
// UPDATE_SCREENSHOTS=1 npx vitest run test/chart-browser.test.ts also writes the README's screenshots
// (docs/img/chart-4646.png, docs/img/explorer.png).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartPage } from '../checker/chart/page.ts';
import { chartOfLogs } from '../checker/chart/sources.ts';
import { Explorer, serveExplorer } from '../checker/chart/explore.ts';
import { compact } from '../checker/report/counterexample.ts';
import { parseFlags } from '../checker/flags.ts';
import { loadChecked, runCheck } from '../checker/run.ts';
import { parseTrace } from '../checker/report/trace-reader.ts';
import { writeFileSync } from 'node:fs';
import { protocolWalk } from './support/walk.ts';

/** Debian's chromium; CHROMIUM=PATH names another (and shows the skip: CHROMIUM=/none). */
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const HAVE = existsSync(CHROMIUM);
const ROOT = join(import.meta.dirname, '..');
const SHOTS = process.env['UPDATE_SCREENSHOTS'] === '1';
const SLOW = 180_000;

/** Every message of a trace or log, counted from the raw lines: each id sent, and each id received unsent. */
function countMessages(files: readonly string[]): { servers: Set<number>; messages: number } {
  const sent = new Set<string>();
  const received: string[] = [];
  let servers = new Set<number>();
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j['type'] === 'header') servers = new Set((j['servers'] as { sid: number }[]).map((s) => s.sid));
      if (j['type'] !== 'event') continue;
      for (const m of (j['send'] as { id: string }[] | undefined) ?? []) sent.add(m.id);
      const r = (j['recv'] as { id: string } | undefined)?.id ?? (j['rid'] as string | undefined);
      if (r !== undefined) received.push(r);
    }
  }
  return { servers, messages: sent.size + received.filter((id) => !sent.has(id)).length };
}

if (!HAVE) console.warn(`test/chart-browser: skipped: no browser at ${CHROMIUM} (bash scripts/install-chromium.sh installs Debian's chromium)`);

describe.skipIf(!HAVE)(`charts and explorer in headless Chromium${HAVE ? '' : ` (skipped: no ${CHROMIUM}; bash scripts/install-chromium.sh installs it)`}`, () => {
  let browser: Browser;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chart-browser-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, SLOW);
  afterAll(async () => {
    await browser?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** A page that records every request it makes other than `allowed`. */
  async function open(url: string, allowed: (u: string) => boolean, width = 1400): Promise<{ page: Page; foreign: string[]; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 860 } });
    const foreign: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!allowed(r.url())) foreign.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    return { page, foreign, errors };
  }

  it('the chart of ZOOKEEPER-4646\'s counterexample, as check writes it: a lifeline per server, an arrow per message, the invariant, no network', async () => {
    const r = await runCheck(parseFlags(['--variant', '4646', '--workers', '1', '--out', dir]));
    const cx = r.counterexample!;
    expect(cx.chartFile).toBe(cx.traceFile!.replace(/\.ndjson$/, '.html'));
    const { servers, messages } = countMessages([cx.traceFile!]);
    const url = pathToFileURL(cx.chartFile!).href;
    const { page, foreign, errors } = await open(url, (u) => u === url);
    expect(await page.locator('#heads .head').count()).toBe(servers.size);
    expect(await page.locator('line.lifeline').count()).toBe(servers.size);
    expect(await page.locator('.arrow').count()).toBe(messages);
    expect(await page.locator('[data-action]').count()).toBe(cx.steps.length);
    const verdict = page.locator('#verdict');
    expect(await verdict.getAttribute('data-property')).toBe(cx.property);
    expect(await verdict.textContent()).toContain(`violates ${cx.property}`);
    // Keyboard: End selects the last step, whose row breaks the invariant.
    await page.locator('#chart').focus();
    await page.keyboard.press('End');
    expect(await page.locator('#step-title').textContent()).toBe(`Step ${cx.steps.length} of ${cx.steps.length}: ${cx.steps.at(-1)!.kind} by server ${cx.steps.at(-1)!.sid}`);
    expect(await page.locator('#broken').textContent()).toContain(cx.property);
    if (SHOTS) {
      await page.keyboard.press('d');
      await page.screenshot({ path: join(ROOT, 'docs', 'img', 'chart-4646.png') });
    }
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, SLOW);

  it('the chart of impl logs that diverge: one lifeline per server, every message, the divergence marked with the steps the spec allowed', async () => {
    const logs = join(ROOT, 'traces', 'samples', 'diverging-commit-without-quorum');
    const files = readdirSync(logs).map((f) => join(logs, f));
    const { servers, messages } = countMessages(files);
    const data = chartOfLogs([logs]);
    expect(data.divergence).not.toBeNull();
    const file = join(dir, 'logs.html');
    writeFileSync(file, chartPage(data));
    const url = pathToFileURL(file).href;
    const { page, foreign, errors } = await open(url, (u) => u === url);
    expect(await page.locator('line.lifeline').count()).toBe(servers.size);
    expect(await page.locator('.arrow').count()).toBe(messages);
    expect(await page.locator('#divrow').count()).toBe(1);
    expect(await page.locator('#divergence-end').textContent()).toContain(data.divergence!.where);
    await page.locator('#chart').focus();
    await page.keyboard.press('d');
    const panel = page.locator('#divergence');
    expect(await panel.textContent()).toContain('Steps the spec allowed there');
    expect(await panel.locator('li').count()).toBe(Math.max(1, data.divergence!.enabled.length));
    expect(await page.locator('#divmark').count()).toBe(1);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  }, SLOW);

  it('the explorer: steps taken by click and by key show the spec\'s state, back undoes one, a trace opened continues and saves as the same run, and the page talks only to its server', async () => {
    const config = parseFlags(['--granularity', 'fine', '--initial', 'fresh']);
    const { spec, properties } = await loadChecked(config);
    let server: Server | null = null;
    try {
      server = await serveExplorer(new Explorer(spec, properties), 0);
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const { page, foreign, errors } = await open(`${base}/`, (u) => u.startsWith(`${base}/`));
      let state: unknown = spec.init()[0];
      const expectShown = async (depth: number) => {
        await page.locator(`#enabled-title:has-text("at depth ${depth}")`).waitFor();
        const next = spec.next(state);
        expect(await page.locator('#enabled li').evaluateAll((ls) => ls.map((l) => `${l.getAttribute('data-kind')}@${l.getAttribute('data-sid')}`))).toEqual(next.map((s) => `${s.action.kind}@${s.action.sid}`));
        for (const { sid } of spec.servers) {
          const v = spec.serverVars(state, sid) as Record<string, unknown>;
          const box = page.locator(`#panel .server[data-sid="${sid}"]`);
          expect(await box.locator('strong').textContent()).toBe(`server ${sid}: ${v['state']}, epoch ${v['currentEpoch']}, ${v['zabState']}`);
          expect(await box.locator('tr[data-var="history"] td').nth(1).textContent()).toBe(compact(v['history']));
        }
        for (const p of properties) expect(await page.locator(`#properties li[data-property="${p.name}"]`).getAttribute('data-holds')).toBe(String(p.check(state)));
      };
      await expectShown(0);
      // Click the first enabled step three times, then press 2 (the second), then go back once.
      for (let depth = 1; depth <= 3; depth++) {
        await page.locator('#enabled li').first().click();
        state = spec.next(state)[0]!.state;
        await expectShown(depth);
      }
      const before = state;
      await page.keyboard.press('2');
      state = spec.next(state)[1]!.state;
      await expectShown(4);
      expect(await page.locator('[data-action]').count()).toBe(4);
      await page.keyboard.press('b');
      state = before;
      await expectShown(3);
      // A newcomer's walk from the start: an election, discovery and a DIFF sync, one click per step.
      await page.locator('#reset').click();
      state = spec.init()[0];
      await expectShown(0);
      const walk = protocolWalk(spec, 'LearnerProcessUPTODATE');
      expect(walk.kinds).toContain('LearnerProcessDIFF');
      for (const [k, i] of walk.indices.entries()) {
        await page.locator(`#enabled li[data-index="${i}"]`).click();
        await page.locator(`#enabled-title:has-text("at depth ${k + 1}")`).waitFor();
        state = spec.next(state)[i]!.state;
      }
      await expectShown(walk.indices.length);
      expect(await page.locator('[data-action]').evaluateAll((es) => es.map((e) => e.getAttribute('data-action')))).toEqual(walk.kinds);
      if (SHOTS) {
        await page.locator('[data-action="LearnerProcessDIFF"]').first().click();
        mkdirSync(join(ROOT, 'docs', 'img'), { recursive: true });
        await page.screenshot({ path: join(ROOT, 'docs', 'img', 'explorer.png') });
      }
      // Open a finding's trace (5 servers, other options): the explorer continues from its end, with its spec;
      // the path saved again is the same run, ending in the same violation.
      const name = 'stale-ack-after-trunc.ndjson';
      const text = readFileSync(join(ROOT, 'traces', 'samples', 'findings', name), 'utf8');
      const original = parseTrace(text, name);
      await page.locator('#open').setInputFiles({ name, mimeType: 'application/x-ndjson', buffer: Buffer.from(text) });
      await page.locator(`#enabled-title:has-text("at depth ${original.events.length}")`).waitFor();
      expect(await page.locator('#status').textContent()).toContain(`opened ${name}: ${original.events.length} steps`);
      expect(await page.locator('line.lifeline').count()).toBe(original.header.servers.length);
      expect(await page.locator(`#properties li[data-property="${original.verdict!.property}"]`).getAttribute('data-holds')).toBe('false');
      const saved = parseTrace(await page.evaluate(() => fetch('/api/trace').then((r) => r.text())), 'saved');
      expect(saved.events.map((e) => `${e.action}@${e.sid}`)).toEqual(original.events.map((e) => `${e.action}@${e.sid}`));
      expect(saved.verdict?.property).toBe(original.verdict!.property);
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
      await page.close();
    } finally {
      await new Promise<void>((resolve) => (server === null ? resolve() : server.close(() => resolve())));
    }
  }, SLOW);
});
