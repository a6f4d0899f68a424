// The trace format: one contract for the checker's counterexamples and the implementation's transition logs.
// NDJSON: a header line, then one event per line (and, from the checker, a verdict). See traces/README.md for the
// meaning of every field. Effect's Schema describes each line both ways: a reader decodes untrusted lines with it
// (traces/reader.ts), and the writers' output is what it encodes (traces/writer.ts; impl/tracelog.ts's fast
// encoder is tested against it, test/trace-contract.test.ts).
import * as Schema from 'effect/Schema';
import type { ActionName } from './actions.ts';
import { LearnerType, TraceMessage } from './packets.ts';
import { ZxidText } from './packets.ts';

export { TraceMessage } from './packets.ts';

export { TRACE_FORMAT, TRACE_VERSION, TRACE_VERSIONS } from './format.ts';
import { TRACE_FORMAT } from './format.ts';

const Int = Schema.Number.check(Schema.isInt());
const Count = Int.check(Schema.isGreaterThanOrEqualTo(0));
const Params = Schema.Record(Schema.String, Schema.Unknown);

export const ServerDecl = Schema.Struct({ sid: Count, role: LearnerType });

export const TraceHeader = Schema.Struct({
  type: Schema.Literal('header'),
  format: Schema.Literal(TRACE_FORMAT),
  version: Schema.Literals([1, 2, 3]),
  /** Who wrote the trace: the model checker (a counterexample or witness) or a server of the implementation. */
  source: Schema.Literals(['check', 'impl']),
  servers: Schema.Array(ServerDecl).check(Schema.isMinLength(1)),
  /** For `impl`: the sid of the server that wrote this file (each server writes its own). */
  sid: Schema.optionalKey(Count),
  /** Free-form parameters of the run: checker bounds and options, or the server's config. */
  params: Schema.optionalKey(Params),
  created: Schema.String,
  note: Schema.optionalKey(Schema.String),
});
export type TraceHeader = typeof TraceHeader.Type;

/**
 * An action name of the vocabulary (traces/actions.ts). The schema takes any name: a trace written by `check` for
 * another spec (`--spec`) has that spec's names. The reader refuses a name outside the vocabulary in an
 * implementation's log (traces/reader.ts).
 */
const Action = Schema.String.check(Schema.isMinLength(1)) as unknown as Schema.Codec<ActionName, ActionName>;

const eventFields = <M extends Schema.Top>(message: M) =>
  ({
    type: Schema.Literal('event'),
    /** For `check`: the step number in the path (1-based). For `impl`: the server's own event counter. */
    seq: Count,
    /** The server that took the step (for environment steps such as a lost connection: the server it hit). */
    sid: Count,
    action: Action,
    /** Parameters of the action beyond sid and messages (the peer of a lost connection, a request's txn...). */
    params: Schema.optionalKey(Params),
    /**
     * (`impl`, from version 2) Txns the step appended to its log before the event, in order: each stands for a
     * `TxnLogAppend` event of that zxid, logged just before this one, whose `post` is `{lastZxid: zxid}`.
     */
    appended: Schema.optionalKey(Schema.Array(ZxidText)),
    /**
     * (`impl`, version 3) Txns the step applied to the server's data tree (ZooKeeper's FinalRequestProcessor), in
     * order. Absent: none, or a log written before applies were logged.
     */
    applied: Schema.optionalKey(Schema.Array(ZxidText)),
    /** The message the step consumed, if any. */
    recv: Schema.optionalKey(message),
    /** (`impl`, from version 2) The message the step consumed, by id, instead of `recv`: its `send` has the rest. */
    rid: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
    /** The messages the step sent, in order. */
    send: Schema.optionalKey(Schema.Array(message)),
    /** The variables of server `sid` that the step changed, with their new values. */
    post: Schema.optionalKey(Params),
    /** Wall-clock milliseconds since the epoch (`impl` only; from version 2 left out when it repeats the line before's). */
    time: Schema.optionalKey(Schema.Number),
  }) as const;

export const TraceEvent = Schema.Struct(eventFields(TraceMessage));
export type TraceEvent = typeof TraceEvent.Type;
/**
 * An event with its messages not yet decoded: the reader decodes each message by its type (traces/packets.ts,
 * MESSAGE_BY_TYPE), which is several times faster than TraceMessage's union; the result is a TraceEvent.
 */
export const TraceEventEnvelope = Schema.Struct(eventFields(Schema.Unknown));

/** The last line of a counterexample: which property failed in the state the path reaches. */
export const TraceVerdict = Schema.Struct({
  type: Schema.Literal('verdict'),
  property: Schema.String,
  kind: Schema.Literals(['invariant', 'reachability', 'liveness']),
  holds: Schema.Boolean,
  message: Schema.optionalKey(Schema.String),
  /** Liveness: the lasso's loop is the events after this seq, back to the state after it (none: a dead end). */
  loopAfter: Schema.optionalKey(Schema.Number),
});
export type TraceVerdict = typeof TraceVerdict.Type;

export const TraceLine = Schema.Union([TraceHeader, TraceEvent, TraceVerdict]);
export type TraceLine = typeof TraceLine.Type;
