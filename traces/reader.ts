// The one reader of trace files, for every version (1 to 3): streamed (64 KiB at a time, one line at a time),
// each line decoded with the contract (traces/schema.ts) after its messages are put in the current spelling
// (traces/packets.ts), so that what comes out is the current version's form whatever was written. Trace files
// are untrusted input: every problem is one line naming the file, the line and what is wrong, never a throw.
import { closeSync, openSync, readSync } from 'node:fs';
export { txnLogAppend, unfoldAppended } from './format.ts';
import * as Schema from 'effect/Schema';
import * as SchemaIssue from 'effect/SchemaIssue';
import { isActionName } from './actions.ts';
import { currentSpelling, MESSAGE_BY_TYPE, OTHER_SPEC_MESSAGE, RequestTxn } from './packets.ts';
import { unfoldAppended } from './format.ts';
import { TRACE_FORMAT, TRACE_VERSIONS, TraceEventEnvelope, TraceHeader, TraceVerdict, type TraceEvent } from './schema.ts';

/**
 * A problem with the input: file:line and what is wrong. `kind`: a line that does not decode (`malformed`), events
 * missing from a server's log (`gap`: a jump in its seq), or a last line cut short (`torn`: the writer stopped in
 * the middle of it, as a kill -9 can leave it). Absent: malformed.
 */
export interface InputProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
  readonly kind?: 'malformed' | 'gap' | 'torn';
}

export const formatProblem = (p: InputProblem): string => `${p.file}:${p.line}: ${p.message}`;

export interface RawLine {
  readonly text: string;
  /** 1-based. */
  readonly line: number;
  /** False for a last line the file does not end with a newline after: the writer stopped in the middle of it. */
  readonly complete: boolean;
}

/**
 * Trace files held in memory under a name (the in-process simulator's logs, checker/vopr): read as if they were
 * files, without touching the disk. `holdInMemory` returns the function that lets them go.
 */
const memoryFiles = new Map<string, Uint8Array>();

export function holdInMemory(files: ReadonlyMap<string, Uint8Array>): () => void {
  for (const [name, bytes] of files) memoryFiles.set(name, bytes);
  return () => {
    for (const name of files.keys()) memoryFiles.delete(name);
  };
}

export function isInMemory(name: string): boolean {
  return memoryFiles.has(name);
}

const CHUNK = 1 << 16;

/** The bytes of a file, 64 KiB at a time (a file held in memory: slices of it). */
function* chunks(file: string): Generator<Uint8Array> {
  const held = memoryFiles.get(file);
  if (held !== undefined) {
    for (let at = 0; at < held.length; at += CHUNK) yield held.subarray(at, at + CHUNK);
    return;
  }
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Yields the lines of a file, reading 64 KiB at a time. */
export function* readLines(file: string): Generator<RawLine> {
  // A streaming decoder: a character whose UTF-8 bytes straddle two chunks is decoded whole.
  const utf8 = new TextDecoder('utf-8');
  let rest = '';
  let line = 0;
  for (const bytes of chunks(file)) {
    const chunk = rest + utf8.decode(bytes, { stream: true });
    const parts = chunk.split('\n');
    rest = parts.pop()!;
    for (const text of parts) yield { text, line: ++line, complete: true };
  }
  rest += utf8.decode();
  if (rest !== '') yield { text: rest, line: ++line, complete: false };
}

export type ParsedLine =
  | { readonly kind: 'header'; readonly header: TraceHeader }
  | { readonly kind: 'event'; readonly event: TraceEvent }
  | { readonly kind: 'verdict'; readonly verdict: TraceVerdict }
  | { readonly kind: 'bad'; readonly message: string }
  | { readonly kind: 'blank' };

const decodeHeader = Schema.decodeUnknownResult(TraceHeader);
const decodeVerdict = Schema.decodeUnknownResult(TraceVerdict);
const decodeEnvelope = Schema.decodeUnknownResult(TraceEventEnvelope);
const decodeMessage = new Map([...MESSAGE_BY_TYPE].map(([t, s]) => [t, Schema.decodeUnknownResult(s as Schema.Codec<unknown>)]));
const decodeTxn = Schema.decodeUnknownResult(RequestTxn);
const decodeOther = Schema.decodeUnknownResult(OTHER_SPEC_MESSAGE as Schema.Codec<unknown>);
type Decoded = { ok: true; value: unknown } | { ok: false; message: string };

/** A message in the current spelling, decoded by the schema of its type; `at` is where it is in the line. */
function message(m: unknown, at: string): Decoded {
  const fixed = m !== null && typeof m === 'object' && !Array.isArray(m) ? currentSpelling(m as Record<string, unknown>) : m;
  const type = fixed !== null && typeof fixed === 'object' ? (fixed as { type?: unknown }).type : undefined;
  const decode = (typeof type === 'string' ? decodeMessage.get(type) : undefined) ?? decodeOther;
  const r = decode(fixed);
  return r._tag === 'Success' ? { ok: true, value: r.success } : { ok: false, message: describe(r.failure.issue, at) };
}

/** An event line: its envelope, then each message by its type. */
function event(o: Record<string, unknown>): Decoded {
  const r = decodeEnvelope(o);
  if (r._tag === 'Failure') return { ok: false, message: describe(r.failure.issue, '') };
  const e = r.success;
  // A request's txn (ZooKeeper's form: the older op/key/value params are free-form and read as they are).
  if (e.action === 'LeaderProcessRequest' && e.params?.['txn'] !== undefined) {
    const t = decodeTxn(e.params['txn']);
    if (t._tag === 'Failure') return { ok: false, message: describe(t.failure.issue, 'params.txn') };
  }
  let out: Record<string, unknown> = e;
  if (e.recv !== undefined) {
    const m = message(e.recv, 'recv');
    if (!m.ok) return m;
    out = { ...out, recv: m.value };
  }
  if (e.send !== undefined) {
    const send: unknown[] = [];
    for (let i = 0; i < e.send.length; i++) {
      const m = message(e.send[i], `send.${i}`);
      if (!m.ok) return m;
      send.push(m.value);
    }
    out = { ...out, send };
  }
  return { ok: true, value: out };
}
const standard = SchemaIssue.makeFormatterStandardSchemaV1();

/** One line for a decoding failure: where in the line (`at`: the message's place), and what. */
function describe(issue: SchemaIssue.Issue, at: string): string {
  const best = standard(issue).issues[0]!;
  const path = [...(at !== '' ? [at] : []), ...(best.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p)))].join('.');
  return `${path !== '' ? path + ': ' : ''}${best.message}`;
}

/** One line of a trace file, decoded. */
export function parseLine(text: string): ParsedLine {
  if (text.trim() === '') return { kind: 'blank' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { kind: 'bad', message: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { kind: 'bad', message: 'not a JSON object' };
  const o = json as Record<string, unknown>;
  if (o['type'] === 'header') {
    if (o['format'] !== TRACE_FORMAT) return { kind: 'bad', message: `not a ${TRACE_FORMAT} trace (format ${JSON.stringify(o['format'])})` };
    if (typeof o['version'] !== 'number' || !TRACE_VERSIONS.includes(o['version']))
      return { kind: 'bad', message: `trace version ${JSON.stringify(o['version'])} is not supported (this reader reads versions ${TRACE_VERSIONS.join(', ')})` };
  }
  switch (o['type']) {
    case 'event': {
      const r = event(o);
      return r.ok ? { kind: 'event', event: r.value as TraceEvent } : { kind: 'bad', message: r.message };
    }
    case 'header': {
      const r = decodeHeader(o);
      return r._tag === 'Success' ? { kind: 'header', header: r.success } : { kind: 'bad', message: describe(r.failure.issue, '') };
    }
    case 'verdict': {
      const r = decodeVerdict(o);
      return r._tag === 'Success' ? { kind: 'verdict', verdict: r.success } : { kind: 'bad', message: describe(r.failure.issue, '') };
    }
    default:
      return { kind: 'bad', message: `type: not a header, event or verdict line (type ${JSON.stringify(o['type'])})` };
  }
}

/** One line of a file as the reader gives it: its place, and a header, an event (time carried over), or a verdict. */
export type TraceRecord = { readonly file: string; readonly line: number } & (
  | { readonly kind: 'header'; readonly header: TraceHeader }
  | { readonly kind: 'event'; readonly event: TraceEvent }
  | { readonly kind: 'verdict'; readonly verdict: TraceVerdict }
);

/** What a file's reading found beyond its records: its bad lines, and whether its last line was cut short. */
export interface FileReport {
  readonly problems: InputProblem[];
  /** The last line had no newline after it (a writer stopped in the middle of it), and did not decode. */
  torn: InputProblem | null;
}

/**
 * The records of a trace file, in order. A version 2 or 3 line without `time` gets the time of the line before
 * (writers leave out a time that repeats). A line that does not decode goes to `report.problems` and is skipped,
 * except a last line cut short, which goes to `report.torn` (a kill -9 can leave one; see traces/README.md).
 */
export function* readTraceFile(file: string, report: FileReport): Generator<TraceRecord> {
  let lastTime: number | undefined;
  let source: TraceHeader['source'] | undefined;
  for (const { text, line, complete } of readLines(file)) {
    const p = parseLine(text);
    if (p.kind === 'blank') continue;
    if (p.kind === 'bad') {
      if (complete) report.problems.push({ file, line, message: p.message });
      else report.torn = { file, line, kind: 'torn', message: `the last line is cut short (no newline after it): ${p.message}` };
      continue;
    }
    if (p.kind === 'header') source = p.header.source;
    if (p.kind === 'event' && source === 'impl' && !isActionName(p.event.action)) {
      report.problems.push({ file, line, message: `action: unknown action ${JSON.stringify(p.event.action)} (traces/README.md lists the vocabulary)` });
      continue;
    }
    if (p.kind === 'event') {
      let event = p.event;
      if (event.time !== undefined) lastTime = event.time;
      else if (lastTime !== undefined) event = { ...event, time: lastTime };
      yield { file, line, kind: 'event', event };
    } else if (p.kind === 'header') yield { file, line, kind: 'header', header: p.header };
    else yield { file, line, kind: 'verdict', verdict: p.verdict };
  }
}

/** Only the header of a file (its first line), or the problem with it. */
export function readHeader(file: string): TraceHeader | InputProblem {
  for (const { text, line } of readLines(file)) {
    const p = parseLine(text);
    if (p.kind === 'header') return p.header;
    return { file, line, message: p.kind === 'bad' ? p.message : `expected the header line, found ${p.kind === 'blank' ? 'a blank line' : `a ${p.kind} line`}` };
  }
  return { file, line: 1, message: 'empty file: a trace starts with a header line' };
}
