// From what the project reads to a chart: a trace written by `check`, implementation logs (files or a
// directory, as `npm run conform` takes them), or a conformance report (`npm run conform -- --json`).
import { readFileSync, writeFileSync } from 'node:fs';
import { buildSpec } from '../../spec/index.ts';
import type { TraceMessage } from '../../traces/schema.ts';
import { CausalMerger, parseMessageId } from '../conform/merge.ts';
import { findLogFiles, loggedSteps, planInput, type InputProblem, type LoggedEvent } from '../conform/reader.ts';
import { checkSpecOptions, conform, type ConformResult, type Divergence } from '../conform/run.ts';
import { compact } from '../report/counterexample.ts';
import { replayEvents } from '../report/replay.ts';
import type { AnySpec } from '../spec-source.ts';
import { readTrace, type Trace } from '../report/trace-reader.ts';
import { chartPage } from './page.ts';
import { chartOfZooKeeperLogs } from './zookeeper.ts';
import { areZooKeeperLogs } from '../conform/zookeeper/report.ts';
import { ZkLogError } from '../conform/zookeeper/log.ts';
import { arrowsOf, chartMessage, paramsText, specEvents, specInit, type ChartChange, type ChartData, type ChartDivergence, type ChartEvent } from './data.ts';

export class ChartInputError extends Error {}

/** A chart of a trace written by `check`: replayed through the spec it names, when it replays. */
export function chartOfCheckTrace(file: string, spec?: AnySpec): ChartData {
  const trace = readTrace(file);
  let replayProblem: string | null = null;
  let states: unknown[] | null = null;
  try {
    spec ??= buildSpec(checkSpecOptions(trace.header.params ?? {}, file)) as unknown as AnySpec;
    states = replayEvents(spec, trace.events.map((e) => ({ sid: e.sid, action: e.action, params: e.params ?? {}, post: e.post }))).map((r) => r.state);
  } catch (e) {
    replayProblem = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
  const verdict = trace.verdict === null ? null : { property: trace.verdict.property, kind: trace.verdict.kind, message: trace.verdict.message ?? null };
  const base = {
    title: trace.header.note ?? `trace ${file}`,
    source: 'check' as const,
    files: [file],
    servers: trace.header.servers.map((s) => ({ sid: s.sid, role: s.role })),
    verdict,
    divergence: null,
  };
  if (spec === undefined || states === null) {
    const events = loggedEvents(trace);
    return { ...base, spec: '(not replayed)', init: emptyInit(base.servers), events, arrows: arrowsOf(events), notes: [`not replayed through the spec (${replayProblem}): each server's variables are those the trace lists`] };
  }
  const invariants = spec.properties.filter((p) => p.kind === 'invariant' && (p.byDefault || p.name === verdict?.property)).map((p) => p.name);
  const events = specEvents(
    spec,
    states,
    trace.events.map((e) => ({
      sid: e.sid,
      action: e.action,
      params: e.params ?? {},
      recv: e.recv === undefined ? null : chartMessage(e.recv.id, e.recv),
      send: (e.send ?? []).map((m) => chartMessage(m.id, m)),
    })),
    invariants,
  ).map((ev, i) => ({ ...ev, where: `${file}:${i + 2}` }));
  return { ...base, spec: spec.name, init: specInit(spec, states[0]), events, arrows: arrowsOf(events), notes: [`${trace.events.length} steps replayed through the spec; its ${invariants.length} invariants evaluated in every state (a row where one breaks is tinted red)`] };
}

function emptyInit(servers: readonly { sid: number }[]): Record<string, Record<string, string>> {
  return Object.fromEntries(servers.map((s) => [String(s.sid), {}]));
}

function loggedEvents(trace: Trace): ChartEvent[] {
  return trace.events.map((e) => ({
    sid: e.sid,
    action: e.action,
    params: paramsText(e.params),
    recv: e.recv === undefined ? null : chartMessage(e.recv.id, e.recv),
    send: (e.send ?? []).map((m) => chartMessage(m.id, m)),
    changes: Object.entries(e.post ?? {}).map(([name, v]) => ({ sid: e.sid, name, value: compact(v) })),
  }));
}

export interface LogChartOptions {
  /** Run conform on the logs and mark its divergence (default true). */
  readonly conform?: boolean;
  /** A conformance result already computed for these logs. */
  readonly result?: ConformResult;
}

/** A chart of implementation logs: every server's events in conform's causal order. */
export function chartOfLogs(paths: readonly string[], options: LogChartOptions = {}): ChartData {
  let files: string[];
  const problems: InputProblem[] = [];
  let input;
  try {
    files = findLogFiles(paths);
    input = planInput(files, problems);
  } catch (e) {
    throw new ChartInputError(e instanceof Error ? e.message : String(e));
  }
  if (input.source === 'check') return chartOfCheckTrace(files[0]!);
  const merger = new CausalMerger(
    input.streams.map((s) => loggedSteps(s, problems)),
    input.streams.map((s) => s.sid),
  );
  const events: ChartEvent[] = [];
  const lastEndOf = new Map<number, number>();
  for (let r = merger.next(); r !== null; r = merger.next()) {
    for (const e of r.step.events) events.push(logEvent(e));
    if (r.step.lastOfIncarnation) {
      events[events.length - 1] = { ...events[events.length - 1]!, processEnds: true };
      lastEndOf.set(r.step.sid, events.length - 1);
    }
  }
  // The end of a server's last file is the end of the logs, not a process ending: no mark.
  for (const i of lastEndOf.values()) {
    const { processEnds: _, ...rest } = events[i]!;
    events[i] = rest;
  }
  let result = options.result ?? null;
  const notes = [`${events.length} events of ${input.streams.length} server(s) from ${files.length} file(s), in conform's causal order (each server's own order; a receive after its send)`];
  if (problems.length > 0) notes.push(`${problems.length} problem(s) reading them; the first: ${problems[0]!.file}:${problems[0]!.line}: ${problems[0]!.message}`);
  if (result === null && options.conform !== false) {
    try {
      result = conform({ paths: files });
    } catch (e) {
      notes.push(`conform could not judge these logs: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (result !== null) notes.push(`conform: ${result.verdict.toUpperCase()}${result.divergence === null ? '' : ` at ${result.divergence.event.file}:${result.divergence.event.line}`}`);
  return {
    title: `implementation logs: ${paths.join(' ')}`,
    source: 'impl',
    spec: result?.spec.name ?? '(not conformed)',
    files,
    servers: input.servers.map((s) => ({ sid: s.sid, role: s.role })),
    init: emptyInit(input.servers),
    events,
    arrows: arrowsOf(events),
    verdict: null,
    divergence: result?.divergence == null ? null : divergenceOf(result.divergence, events),
    notes,
  };
}

function logEvent(e: LoggedEvent): ChartEvent {
  const recv = e.recv !== undefined ? chartMessage(e.recv.id, e.recv as TraceMessage) : e.rid !== undefined ? unknownMessage(e.rid, e.sid) : null;
  const changes: ChartChange[] = Object.entries(e.post).map(([name, v]) => ({ sid: e.sid, name, value: compact(v) }));
  return {
    sid: e.sid,
    action: e.action,
    params: paramsText(e.params),
    recv,
    send: e.send.map((m) => chartMessage(m.id, m)),
    changes,
    where: `${e.file}:${e.line}`,
    ...(e.time !== undefined ? { time: e.time } : {}),
  };
}

function unknownMessage(id: string, to: number) {
  const from = parseMessageId(id)?.from ?? 0;
  return { id, from, to, type: '?', text: `message ${id} ${from}->${to} (its send is in no log)` };
}

export function divergenceOf(d: Divergence, events: readonly ChartEvent[]): ChartDivergence {
  const where = `${d.event.file}:${d.event.line}`;
  let at = events.findIndex((e) => e.where === where && e.action === d.event.action);
  if (at < 0) at = events.findIndex((e) => e.where === where);
  const nearest: string[] = [];
  if (d.nearest !== null) {
    nearest.push(`nearest spec successor: ${d.nearest.action}`);
    for (const f of d.nearest.diff) nearest.push(`${f.field}: logged ${compact(f.logged)}, spec ${compact(f.spec)}`);
    if (d.nearest.message !== undefined) nearest.push(d.nearest.message);
  }
  return {
    at: at < 0 ? null : at,
    where,
    headline: `no spec path explains server ${d.event.sid}'s #${d.event.seq} ${d.event.action} (${where})`,
    enabled: d.enabled,
    nearest,
    specState: Object.fromEntries(Object.entries(d.specState).map(([sid, v]) => [sid, compact(v)])),
    logged: compact(d.logged),
  };
}

/** A conformance report written by `npm run conform -- --json`: the logs it judged, with its divergence. */
export function chartOfConformReport(file: string): ChartData {
  let r: ConformResult;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as ConformResult;
  } catch (e) {
    throw new ChartInputError(`${file}: not a conform --json report (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof r !== 'object' || r === null || !Array.isArray(r.files) || typeof r.verdict !== 'string') {
    throw new ChartInputError(`${file}: not a conform --json report (no verdict and files)`);
  }
  if (r.source === 'check') {
    const chart = chartOfCheckTrace(r.files[0]!);
    return { ...chart, divergence: r.divergence === null ? null : divergenceOf(r.divergence, chart.events), notes: [...chart.notes, `conform report ${file}: ${r.verdict.toUpperCase()}`] };
  }
  return chartOfLogs(r.files, { result: r });
}

/** Any of the inputs `npm run view` takes: a .json conform report, a check trace, impl logs, or ZooKeeper's own logs. */
export function chartOfInputs(paths: readonly string[], options: LogChartOptions = {}): ChartData {
  if (paths.length === 1 && paths[0]!.endsWith('.json')) return chartOfConformReport(paths[0]!);
  if (areZooKeeperLogs(paths)) {
    try {
      return chartOfZooKeeperLogs(paths, { conform: options.conform !== false });
    } catch (e) {
      if (e instanceof ZkLogError) throw new ChartInputError(e.message);
      throw e;
    }
  }
  return chartOfLogs(paths, options);
}

/**
 * `check`'s hook: the chart of a counterexample's trace, written next to it (NAME.html), its path noted on the
 * counterexample; a chart that cannot be made is noted instead (the trace stands).
 */
export function attachChart(spec: AnySpec, cx: { traceFile: string | null; chartFile?: string | null; chartProblem?: string | null }): void {
  if (cx.traceFile === null) return;
  const file = cx.traceFile.replace(/\.ndjson$/, '') + '.html';
  try {
    writeFileSync(file, chartPage(chartOfCheckTrace(cx.traceFile, spec)));
    cx.chartFile = file;
  } catch (e) {
    cx.chartProblem = e instanceof Error ? (e.message.split('\n')[0] ?? String(e)) : String(e);
  }
}
