// The one writer API of traces: the header every writer starts a file with, and the lines of the contract
// (traces/schema.ts) encoded by its schema. The checker's counterexamples and bench/ write through it; the
// implementation's servers write their header with it and their events with a hand-written encoder on the hot
// path (impl/tracelog.ts), which test/trace-contract.test.ts proves agrees with `encodeEvent` on generated events.
import { writeFileSync } from 'node:fs';
import * as Schema from 'effect/Schema';
import { makeHeader, type HeaderFields } from './format.ts';
import { TraceEvent, TraceHeader, TraceLine, type TraceVerdict } from './schema.ts';

export { makeHeader, type HeaderFields } from './format.ts';

const encodeTraceLine = Schema.encodeUnknownSync(TraceLine);
const encodeTraceEvent = Schema.encodeUnknownSync(TraceEvent);
const encodeTraceHeader = Schema.encodeUnknownSync(TraceHeader);

/** A line's JSON object as the contract encodes it (a line that does not fit the contract throws: a writer's bug). */
export const encodeLine = (line: TraceLine): unknown => encodeTraceLine(line);
export const encodeEvent = (event: TraceEvent): unknown => encodeTraceEvent(event);

/** The text of a line, without its newline. */
export const lineText = (line: TraceLine): string => JSON.stringify(encodeLine(line));
export const headerText = (fields: HeaderFields): string => JSON.stringify(encodeTraceHeader(makeHeader(fields)));

/** A whole trace file: the header, the events, and (a counterexample) the verdict. */
export function writeTraceFile(path: string, header: HeaderFields, events: Iterable<TraceEvent>, verdict?: TraceVerdict): void {
  const lines = [headerText(header)];
  for (const e of events) lines.push(lineText(e));
  if (verdict !== undefined) lines.push(lineText(verdict));
  writeFileSync(path, lines.join('\n') + '\n');
}
