// Reads a trace file whole, for replay: every line must decode (traces/reader.ts, any version), and the first
// problem is thrown as one line naming the file, the line number, and what is wrong there.
import { readFileSync } from 'node:fs';
import { parseLine } from '../../traces/reader.ts';
import type { TraceEvent, TraceHeader, TraceVerdict } from '../../traces/schema.ts';
import { replayEvents, type ReplayedStep } from './replay.ts';
import type { AnySpec } from '../spec-source.ts';

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
    const p = parseLine(textLine);
    if (p.kind === 'bad') fail(n, p.message);
    if (p.kind === 'blank') fail(n, 'a blank line');
    const line = p.kind === 'header' ? p.header : p.kind === 'event' ? p.event : p.kind === 'verdict' ? p.verdict : fail(n, 'unreadable');
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
