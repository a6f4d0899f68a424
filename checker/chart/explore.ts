// The explorer: the spec in the browser. A path from the initial state, extended one enabled step at a time,
// shown as the same message sequence chart; every invariant evaluated at every state; the path saved as a
// trace, or a trace opened to continue from its end. The HTTP server (127.0.0.1 only) holds one path.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Property } from '../../spec/model.ts';
import { buildSpec } from '../../spec/index.ts';
import { lineText } from '../../traces/writer.ts';
import { checkSpecOptions } from '../conform/run.ts';
import { changedVars, formatMessage, type Counterexample } from '../report/counterexample.ts';
import { ReplayError, replayEvents } from '../report/replay.ts';
import type { AnySpec } from '../spec-source.ts';
import { parseTrace, TraceFormatError } from '../report/trace-reader.ts';
import { MessageIds, traceLines } from '../report/trace-writer.ts';
import { arrowsOf, chartMessage, paramsText, specEvents, specInit, type ChartData } from './data.ts';
import { EXPLORER_COLUMN, EXPLORER_SCRIPT } from './explore-page.ts';
import { page } from './page.ts';

/** A path through the spec: the states (states[0] initial) and the index of the successor taken at each step. */
interface Path {
  spec: AnySpec;
  states: unknown[];
  taken: number[];
}

export interface EnabledStep {
  readonly index: number;
  readonly kind: string;
  readonly sid: number;
  readonly params: string;
  /** The message the step consumes, as formatMessage prints it. */
  readonly recv: string | null;
}

export interface ExplorerView {
  readonly chart: ChartData;
  readonly enabled: readonly EnabledStep[];
  /** Every property of the spec in the current state: an invariant holds, a reachability property is witnessed. */
  readonly properties: readonly { readonly name: string; readonly kind: string; readonly holds: boolean; readonly description: string; readonly explain: string | null }[];
  readonly depth: number;
  readonly spec: string;
}

export class Explorer {
  private path: Path;

  constructor(
    spec: AnySpec,
    private readonly checked: readonly Property<unknown>[],
  ) {
    this.path = { spec, states: [spec.init()[0]], taken: [] };
  }

  private get spec(): AnySpec {
    return this.path.spec;
  }

  private current(): unknown {
    return this.path.states[this.path.states.length - 1];
  }

  /** Take the enabled step of this index (spec.next's order). */
  step(index: number): void {
    const succ = this.spec.next(this.current())[index];
    if (succ === undefined) throw new ExploreError(`no enabled step ${index} (there are ${this.spec.next(this.current()).length})`);
    this.path.states.push(succ.state);
    this.path.taken.push(index);
  }

  back(): void {
    if (this.path.taken.length === 0) return;
    this.path.states.pop();
    this.path.taken.pop();
  }

  reset(): void {
    this.path = { spec: this.spec, states: [this.path.states[0]], taken: [] };
  }

  /** The path's steps as the spec describes them, with message ids as a trace gives them. */
  private described() {
    const ids = new MessageIds();
    return this.path.taken.map((index, i) => {
      const before = this.path.states[i]!;
      const succ = this.spec.next(before)[index]!;
      const view = this.spec.describe(before, succ.action, succ.state);
      const recv = view.recv === null ? null : ids.recv(view.recv);
      const send = view.send.map((m) => ids.send(m));
      return { view, recv, send, before, after: succ.state };
    });
  }

  view(): ExplorerView {
    const spec = this.spec;
    const steps = this.described();
    const invariants = this.checked.filter((p) => p.kind === 'invariant').map((p) => p.name);
    const events = specEvents(
      spec,
      this.path.states,
      steps.map((s) => ({ sid: s.view.sid, action: s.view.kind, params: s.view.params, recv: s.recv === null ? null : chartMessage(s.recv.id, s.recv), send: s.send.map((m) => chartMessage(m.id, m)) })),
      invariants,
    );
    const state = this.current();
    const chart: ChartData = {
      title: `explorer: ${spec.name}`,
      source: 'explore',
      spec: spec.name,
      files: [],
      servers: spec.servers.map((s) => ({ sid: s.sid, role: s.role })),
      init: specInit(spec, this.path.states[0]),
      events,
      arrows: arrowsOf(events),
      verdict: null,
      divergence: null,
      notes: [],
    };
    const enabled = spec.next(state).map((succ, index): EnabledStep => {
      const v = spec.describe(state, succ.action, succ.state);
      return { index, kind: v.kind, sid: v.sid, params: paramsText(v.params), recv: v.recv === null ? null : formatMessage(v.recv) };
    });
    const properties = this.checked.map((p) => {
      const hit = p.check(state);
      return { name: p.name, kind: p.kind, holds: hit, description: p.description, explain: p.kind === 'invariant' && !hit ? (p.explain?.(state) ?? null) : null };
    });
    return { chart, enabled, properties, depth: this.path.taken.length, spec: spec.name };
  }

  /** The path as a trace file (traces/README.md): a verdict line when the last state breaks an invariant. */
  traceText(created = new Date()): string {
    const spec = this.spec;
    const broken = this.checked.find((p) => p.kind === 'invariant' && !p.check(this.current()));
    const cx: Counterexample = {
      property: broken?.name ?? 'explored',
      kind: 'invariant',
      message: broken?.explain?.(this.current()) ?? null,
      path: { init: 0, steps: this.path.taken },
      steps: this.described().map((s, i) => ({ step: i + 1, kind: s.view.kind, sid: s.view.sid, params: s.view.params, recv: s.view.recv, send: s.view.send, changes: changedVars(spec, s.before, s.after) })),
      traceFile: null,
      traceProblem: null,
      shrunkFrom: null,
    };
    const lines = traceLines(spec, cx, { ...spec.params, mode: 'explore' }, created);
    lines[0] = { ...(lines[0] as Extract<(typeof lines)[number], { type: 'header' }>), note: `a path explored by hand in ${spec.name}${broken === undefined ? '' : `; its last state violates ${broken.name}`}` };
    if (broken === undefined) lines.pop();
    return lines.map(lineText).join('\n') + '\n';
  }

  /**
   * Continue from the end of a trace: replayed through this spec, or, when it does not replay here, through
   * the spec its header names (the explorer then explores that one).
   */
  open(text: string, name = 'trace'): string {
    const trace = parseTrace(text, name);
    const events = trace.events.map((e) => ({ sid: e.sid, action: e.action, params: e.params ?? {}, post: e.post }));
    let spec = this.spec;
    let replayed;
    let note = '';
    try {
      replayed = replayEvents(spec, events);
    } catch (first) {
      try {
        spec = buildSpec(checkSpecOptions(trace.header.params ?? {}, name)) as unknown as AnySpec;
        replayed = replayEvents(spec, events);
        note = ` (with the trace's own options: ${spec.name})`;
      } catch {
        throw new ExploreError(`${name} does not replay through this spec: ${(first as Error).message}`);
      }
    }
    this.path = { spec, states: replayed.map((r) => r.state), taken: replayed.slice(1).map((r) => r.index!) };
    return `opened ${name}: ${events.length} steps${note}`;
  }
}

export class ExploreError extends Error {}

/** The properties the explorer shows: the checked ones (check's defaults, or --invariant's), then, by default, every other reachability property. */
export function shownProperties(spec: AnySpec, checked: readonly Property<unknown>[], named: boolean): Property<unknown>[] {
  return [...checked, ...(named ? [] : spec.properties.filter((p) => !checked.includes(p) && p.kind === 'reachability'))];
}

/** Only this page's own requests: a Host of 127.0.0.1 or localhost at our port (no DNS rebinding). */
function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host ?? '';
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

const MAX_BODY = 64 * 2 ** 20;

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ExploreError('request too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function explorerPage(specName: string): string {
  return page({
    title: `explorer: ${specName}`,
    notes: ['Take an enabled step by clicking it or pressing its number (1-9); b or Backspace goes back. The chart is the path so far.'],
    extraColumn: EXPLORER_COLUMN,
    extraScript: EXPLORER_SCRIPT,
    connect: "'self'",
  });
}

/** Serve the explorer on 127.0.0.1 (port 0: a free one). Resolves once listening. */
export function serveExplorer(explorer: Explorer, port: number): Promise<Server> {
  let bound = port;
  const server = createServer((req, res) => {
    handle(explorer, req, res, bound).catch((e) => send(res, 500, { error: e instanceof Error ? e.message : String(e) }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      bound = (server.address() as AddressInfo).port;
      resolve(server);
    });
  });
}

function send(res: ServerResponse, status: number, v: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(v));
}

async function handle(explorer: Explorer, req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
  if (!hostAllowed(req, port)) return send(res, 403, { error: 'the explorer answers only at 127.0.0.1 or localhost' });
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  const route = `${req.method} ${url.pathname}`;
  // A state-changing request must come from the page itself (a form or a script elsewhere cannot set this).
  if (req.method === 'POST' && req.headers['content-type'] !== 'application/json') return send(res, 415, { error: 'POST with content-type application/json' });
  try {
    switch (route) {
      case 'GET /': {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(explorerPage(explorer.view().spec));
        return;
      }
      case 'GET /api/state':
        return send(res, 200, explorer.view());
      case 'POST /api/step': {
        const { index } = JSON.parse(await body(req)) as { index?: unknown };
        if (typeof index !== 'number' || !Number.isInteger(index)) throw new ExploreError('step: give {"index": N}');
        explorer.step(index);
        return send(res, 200, explorer.view());
      }
      case 'POST /api/back':
        explorer.back();
        return send(res, 200, explorer.view());
      case 'POST /api/reset':
        explorer.reset();
        return send(res, 200, explorer.view());
      case 'POST /api/open': {
        const { text, name } = JSON.parse(await body(req)) as { text?: unknown; name?: unknown };
        if (typeof text !== 'string') throw new ExploreError('open: give {"text": the trace file\'s text}');
        const note = explorer.open(text, typeof name === 'string' ? name : 'trace');
        return send(res, 200, { ...explorer.view(), note });
      }
      case 'GET /api/trace': {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'content-disposition': 'attachment; filename="explored.ndjson"', 'cache-control': 'no-store' });
        res.end(explorer.traceText());
        return;
      }
      default:
        return send(res, 404, { error: `no ${route}` });
    }
  } catch (e) {
    // The request's fault (a bad index, a trace that does not read or replay): 400; anything else is ours.
    if (e instanceof ExploreError || e instanceof SyntaxError || e instanceof TraceFormatError || e instanceof ReplayError) {
      return send(res, 400, { error: e.message.split('\n')[0] });
    }
    throw e;
  }
}
