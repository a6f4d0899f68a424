// Reads a trace file and validates every line against the schema (traces/schema.ts). Trace files are untrusted
// input (written by other tools, edited by hand), so every problem is reported as one line: the file, the
// line number, and what is wrong there.
import { readFileSync } from 'node:fs';
import { TRACE_FORMAT, TRACE_VERSION, TraceLine, type TraceEvent, type TraceHeader, type TraceVerdict } from '../traces/schema.ts';
import { replayEvents, type ReplayedStep } from './replay.ts';
import type { AnySpec } from './spec-source.ts';

export class TraceFormatError extends Error {}

export interface Trace {
  readonly header: TraceHeader;
  readonly events: readonly TraceEvent[];
  readonly verdict: TraceVerdict | null;
}

export function parseTrace(text: string, file = '<trace>'): Trace {
  const raw = text.split('\n');
  if (raw[raw.length - 1] === '') raw.pop();
  const fail = (line: number, what: string): never => {
    throw new TraceFormatError(`${file}:${line}: ${what}`);
  };
  if (raw.length === 0) fail(1, 'empty file: a trace starts with a header line');
  let header: TraceHeader | null = null;
  const events: TraceEvent[] = [];
  let verdict: TraceVerdict | null = null;
  raw.forEach((textLine, i) => {
    const n = i + 1;
    let json: unknown;
    try {
      json = JSON.parse(textLine);
    } catch (e) {
      fail(n, `not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    checkVersion(json, n, fail);
    const r = TraceLine.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      fail(n, `${issue.path.length > 0 ? issue.path.join('.') + ': ' : ''}${issue.message}`);
    }
    const line = r.data!;
    if (n === 1 && line.type !== 'header') fail(n, `expected the header line, found a ${line.type} line`);
    if (verdict !== null) fail(n, `${line.type === 'event' ? 'an' : 'a'} ${line.type} line after the verdict line`);
    if (line.type === 'header') {
      if (n !== 1) fail(n, 'a second header line');
      header = line;
    } else if (line.type === 'event') events.push(line);
    else verdict = line;
  });
  return { header: header!, events, verdict };
}

function checkVersion(json: unknown, n: number, fail: (line: number, what: string) => never): void {
  if (typeof json !== 'object' || json === null || (json as { type?: unknown }).type !== 'header') return;
  const h = json as { format?: unknown; version?: unknown };
  if (h.format !== TRACE_FORMAT) fail(n, `not a ${TRACE_FORMAT} trace (format ${JSON.stringify(h.format)})`);
  if (h.version !== TRACE_VERSION) fail(n, `trace version ${JSON.stringify(h.version)} is not supported (this reader reads version ${TRACE_VERSION})`);
}

export function readTrace(file: string): Trace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TraceFormatError(`${file}: cannot read (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseTrace(text, file);
}

/** Read a checker trace and re-execute its events through the spec. */
export function replayTraceFile(spec: AnySpec, file: string): ReplayedStep[] {
  const trace = readTrace(file);
  return replayEvents(spec, trace.events.map((e) => ({ sid: e.sid, action: e.action, params: e.params ?? {}, post: e.post })));
}
