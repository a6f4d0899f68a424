// The trace format's constants and the plain helpers its writers and readers share: the header every file starts
// with, and the txn log appends a step folds into its event (`appended`). No schema here (traces/schema.ts has it):
// the servers write through this module per event and at start, and must not load a schema library to do it (a
// server's start under load measured 1.4 to 2 s longer with Effect's Schema loaded).
import type { TraceHeader } from './schema.ts';

export const TRACE_FORMAT = 'zab-trace';
/**
 * The version every writer writes. 1: the checker's traces, and the implementation's logs before version 2.
 * 2: the implementation's logs made cheap (each message logged once, by its sender: a receive by id, `rid`; a
 * step's txn log appends folded into its event, `appended`; no txn operation in the packets; no `time` when it
 * repeats). 3: one spelling of every packet's fields for every writer (traces/packets.ts), a request's txn as
 * `params.txn`, and every writer on version 2's rules (the checker's traces have no `rid` or `appended` to give).
 * See traces/README.md.
 */
export const TRACE_VERSION = 3;
/** The versions a reader reads: all of them (old logs exist); traces/reader.ts turns them into this version's form. */
export const TRACE_VERSIONS: readonly number[] = [1, 2, 3];

/** What a writer says in its header; the rest (type, format, version, created) is filled in. */
export type HeaderFields = Omit<TraceHeader, 'type' | 'format' | 'version' | 'created'> & { readonly created?: Date };

export function makeHeader(fields: HeaderFields): TraceHeader {
  const { created, ...rest } = fields;
  return { type: 'header', format: TRACE_FORMAT, version: TRACE_VERSION, ...rest, created: (created ?? new Date()).toISOString() };
}

/** The event a txn log append folded into a later event (`appended`, from version 2) stands for. */
export function txnLogAppend(zxid: string): { action: 'TxnLogAppend'; params: { zxid: string }; post: { lastZxid: string } } {
  return { action: 'TxnLogAppend', params: { zxid }, post: { lastZxid: zxid } };
}

/**
 * An event with the txn log appends folded into it (`appended`) unfolded: a TxnLogAppend event for each (with the
 * event's `stamp` fields: seq, sid, time), then the event itself without `appended`.
 */
export function unfoldAppended<E extends { readonly appended?: readonly string[] | undefined }, S extends object>(e: E, stamp: S): (Omit<E, 'appended'> | (S & ReturnType<typeof txnLogAppend>))[] {
  if (e.appended === undefined) return [e];
  const { appended, ...event } = e;
  return [...appended.map((z) => ({ ...stamp, ...txnLogAppend(z) })), event];
}
