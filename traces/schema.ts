// The trace format: one schema for the checker's counterexamples and the implementation's transition logs.
// NDJSON: a header line, then one event per line. See traces/README.md for the meaning of every field.
//
// zod validates traces because they are untrusted input (files handed to `conform`, logs of a running
// cluster); the writers in checker/ and impl/ build these objects directly.
import { z } from 'zod';

export const TRACE_FORMAT = 'zab-trace';
/**
 * Version 1: the checker's traces (which still write it: nothing in them changed) and the implementation's logs
 * before version 2.
 */
export const TRACE_VERSION = 1;
/**
 * Version 2, what the implementation's servers write: a step's txn log appends folded into its event
 * (`appended`), the message received given by id (`rid`, the sender's log has it), messages without the txn's
 * operation (a PROPOSAL or INFORM is logged with its zxid; the leader logs the operation once, in
 * LeaderProcessRequest's params; a REQUEST is not logged), and no `time` on a line whose time is the previous
 * line's. A version 1 trace is a valid version 2 trace. See traces/README.md.
 */
export const IMPL_TRACE_VERSION = 2;
/** The versions a reader of this schema reads. */
export const TRACE_VERSIONS: readonly number[] = [TRACE_VERSION, IMPL_TRACE_VERSION];

/** A zxid as ZooKeeper prints it: "0x" + hex of (epoch << 32 | counter). */
export const ZxidText = z.string().regex(/^0x[0-9a-f]+$/, 'a zxid is written as 0x followed by lowercase hex');

export const ServerDecl = z.object({
  sid: z.number().int().nonnegative(),
  role: z.enum(['participant', 'observer']),
});

export const TraceHeader = z.object({
  type: z.literal('header'),
  format: z.literal(TRACE_FORMAT),
  version: z.union([z.literal(TRACE_VERSION), z.literal(IMPL_TRACE_VERSION)]),
  /** Who wrote the trace: the model checker (a counterexample or witness) or a server of the implementation. */
  source: z.enum(['check', 'impl']),
  servers: z.array(ServerDecl).min(1),
  /** For `impl`: the sid of the server that wrote this file (each server writes its own). */
  sid: z.number().int().nonnegative().optional(),
  /** Free-form parameters of the run: checker bounds and options, or the server's config. */
  params: z.record(z.string(), z.unknown()).optional(),
  created: z.string(),
  note: z.string().optional(),
});
export type TraceHeader = z.infer<typeof TraceHeader>;

/** A protocol message as it crosses a channel. `type` names the packet (NOTIFICATION, FOLLOWERINFO, ...). */
export const TraceMessage = z
  .object({
    /** Unique in a cluster run: "<from>:<n>", n counting the sender's messages. Matches a send to its receive. */
    id: z.string().min(1),
    from: z.number().int().nonnegative(),
    to: z.number().int().nonnegative(),
    type: z.string().min(1),
  })
  .catchall(z.unknown());
export type TraceMessage = z.infer<typeof TraceMessage>;

export const TraceEvent = z.object({
  type: z.literal('event'),
  /** For `check`: the step number in the path (1-based). For `impl`: the server's own event counter. */
  seq: z.number().int().nonnegative(),
  /** The server that took the step (for environment steps such as a lost connection: the server it hit). */
  sid: z.number().int().nonnegative(),
  /** The spec action, or the implementation's event name (same vocabulary: see traces/README.md). */
  action: z.string().min(1),
  /** Parameters of the action beyond sid and messages (e.g. the peer of a lost connection). */
  params: z.record(z.string(), z.unknown()).optional(),
  /**
   * (version 2, `impl`) Txns the step appended to its log before the event, in order: each stands for a
   * `TxnLogAppend` event of that zxid, logged just before this one, whose `post` is `{lastZxid: zxid}`.
   */
  appended: z.array(ZxidText).optional(),
  /** The message the step consumed, if any. */
  recv: TraceMessage.optional(),
  /**
   * (version 2, `impl`) The message the step consumed, by id, instead of `recv`: the `send` of that id, in the
   * sender's log, is the message.
   */
  rid: z.string().min(1).optional(),
  /** The messages the step sent, in order. */
  send: z.array(TraceMessage).optional(),
  /** The variables of server `sid` that the step changed, with their new values. */
  post: z.record(z.string(), z.unknown()).optional(),
  /** Wall-clock milliseconds since the epoch (implementation logs only; version 2 leaves out the previous line's). */
  time: z.number().optional(),
});
export type TraceEvent = z.infer<typeof TraceEvent>;

/** The last line of a counterexample: which property failed in the state the path reaches. */
export const TraceVerdict = z.object({
  type: z.literal('verdict'),
  property: z.string(),
  kind: z.enum(['invariant', 'reachability']),
  holds: z.boolean(),
  message: z.string().optional(),
});
export type TraceVerdict = z.infer<typeof TraceVerdict>;

export const TraceLine = z.discriminatedUnion('type', [TraceHeader, TraceEvent, TraceVerdict]);
export type TraceLine = z.infer<typeof TraceLine>;

// Converting zxids between numbers and this text is the job of traces/zxid.ts (a two-way codec).
