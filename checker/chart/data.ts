// What a message sequence chart shows, as plain data (the page, checker/chart/page.ts, draws it): the servers,
// their variables at the start, and one row per logged event with the message it consumed, the messages it sent
// and the variables it changed; the arrows from each send to its receive; the violated property or the
// conformance divergence at the end.
//
// Three sources: a trace written by `check` (replayed through the spec, so every server's full state is known at
// every step, and every invariant is evaluated there), implementation logs (put in one causal order by conform's
// merge; the variables are those the servers logged), and the explorer's path (checker/chart/explore.ts).
import type { MessageView } from '../../spec/model.ts';
import { changedVars, compact, formatMessage } from '../report/counterexample.ts';
import type { AnySpec } from '../spec-source.ts';

/** A message as the chart labels it. */
export interface ChartMessage {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly type: string;
  /** formatMessage's text: `TYPE from->to {fields}`. */
  readonly text: string;
}

/** A server variable's value after an event, as text (compact's form). */
export interface ChartChange {
  readonly sid: number;
  readonly name: string;
  readonly value: string;
}

export interface ChartEvent {
  readonly sid: number;
  readonly action: string;
  /** The step's params in compact form (`from=2 peer=3`), or ''. */
  readonly params: string;
  readonly recv: ChartMessage | null;
  readonly send: readonly ChartMessage[];
  readonly changes: readonly ChartChange[];
  /** file:line of the event (logs), else absent. */
  readonly where?: string;
  /** Wall-clock ms (impl logs). */
  readonly time?: number;
  /** The invariants that do not hold in the state after the event (check traces and the explorer). */
  readonly broken?: readonly string[];
  /** The last event of a server's process (impl logs: its file ends here; the next start is a ServerStart). */
  readonly processEnds?: boolean;
}

/** One message from its send to its receive. */
export interface ChartArrow {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly type: string;
  readonly text: string;
  /** Index of the sending event, or -1: sent before the chart begins. */
  readonly sentAt: number;
  /** Index of the receiving event, or null: never received. */
  readonly recvAt: number | null;
  /** Never received while a later message on the same channel was: lost (a crash, a lost connection). */
  readonly lost: boolean;
}

export interface ChartVerdict {
  readonly property: string;
  /** A liveness verdict's trace is a lasso (prefix, then the loop that never reaches the goal). */
  readonly kind: 'invariant' | 'reachability' | 'liveness';
  readonly message: string | null;
}

/** A conformance divergence: the event no spec path explains, and what the spec allowed instead. */
export interface ChartDivergence {
  /** Index of the event in `events`, or null when it is not among them. */
  readonly at: number | null;
  readonly where: string;
  readonly headline: string;
  readonly enabled: readonly string[];
  readonly nearest: string[];
  readonly specState: Readonly<Record<string, string>>;
  readonly logged: string;
}

export interface ChartData {
  readonly title: string;
  readonly source: 'check' | 'impl' | 'explore';
  readonly spec: string;
  readonly files: readonly string[];
  readonly servers: readonly { readonly sid: number; readonly role: string }[];
  /** Every server's variables before the first event (text), by sid. */
  readonly init: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly events: readonly ChartEvent[];
  readonly arrows: readonly ChartArrow[];
  readonly verdict: ChartVerdict | null;
  readonly divergence: ChartDivergence | null;
  /** Lines said under the title (what was read, what was left out). */
  readonly notes: readonly string[];
}

/** A trace message as the spec's MessageView (its fields without the envelope). */
export function messageView(m: AnyMessage): MessageView {
  if ('fields' in m && typeof m.fields === 'object' && m.fields !== null) return m as MessageView;
  const { id: _id, from, to, type, ...fields } = m as AnyMessage & Record<string, unknown>;
  return { type, from, to, fields };
}

/** A trace's message (fields beside the envelope) or the spec's MessageView. */
export type AnyMessage = { readonly type: string; readonly from: number; readonly to: number } | MessageView;

export function chartMessage(id: string, m: AnyMessage): ChartMessage {
  const v = messageView(m);
  return { id, from: v.from, to: v.to, type: v.type, text: formatMessage(v) };
}

export function paramsText(params: Readonly<Record<string, unknown>> | undefined): string {
  return Object.entries(params ?? {})
    .map(([k, v]) => `${k}=${compact(v)}`)
    .join(' ');
}

export function varsText(vars: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, compact(v)]));
}

/** The arrows of a list of events: each send matched with the receive of the same id. */
export function arrowsOf(events: readonly ChartEvent[]): ChartArrow[] {
  const arrows: ChartArrow[] = [];
  const byId = new Map<string, number>();
  events.forEach((e, i) => {
    for (const m of e.send) {
      byId.set(m.id, arrows.length);
      arrows.push({ ...pick(m), sentAt: i, recvAt: null, lost: false });
    }
    if (e.recv !== null) {
      const k = byId.get(e.recv.id);
      if (k === undefined || arrows[k]!.recvAt !== null) arrows.push({ ...pick(e.recv), sentAt: -1, recvAt: i, lost: false });
      else arrows[k] = { ...arrows[k]!, recvAt: i };
    }
  });
  // A message never received, on a channel where a later one was: it was dropped (the channel is FIFO). Also
  // one whose receiver crashed after it was sent, or, for a quorum packet, whose connection closed (a crash of
  // either end, a lost connection, a role given up).
  // Arrows are in the order of their sends (those sent before the chart, appended at their receive, aside).
  const lastReceived = new Map<string, number>();
  arrows.forEach((a, k) => {
    if (a.recvAt !== null && a.sentAt >= 0) lastReceived.set(`${a.from}>${a.to}`, k);
  });
  const endsOf = (sid: number, quorum: boolean): number[] =>
    events.flatMap((e, i) => (e.sid === sid && (e.action === 'Crash' || e.processEnds === true || (quorum && CONNECTION_ENDS.has(e.action))) ? [i] : []));
  const lost = (a: ChartArrow, k: number): boolean => {
    if ((lastReceived.get(`${a.from}>${a.to}`) ?? -1) > k) return true;
    const quorum = a.type !== 'NOTIFICATION';
    const ends = [...endsOf(a.to, quorum), ...(quorum ? endsOf(a.from, true) : [])];
    return ends.some((i) => i >= a.sentAt);
  };
  return arrows.map((a, k) => (a.recvAt === null && lost(a, k) ? { ...a, lost: true } : a));
}

/** Steps that close a server's quorum connections. */
const CONNECTION_ENDS: ReadonlySet<string> = new Set(['ConnectionLost', 'LeaderStepDown', 'LearnerTimeout']);

function pick(m: ChartMessage): Omit<ChartMessage, never> {
  return { id: m.id, from: m.from, to: m.to, type: m.type, text: m.text };
}

/** Events of a path of spec states: each step's changes (every server's), and the invariants broken after it. */
export interface SpecStepInput {
  readonly sid: number;
  readonly action: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly recv: ChartMessage | null;
  readonly send: readonly ChartMessage[];
}

/** The chart events of a path through the spec: states[0] is the initial state, states[i] the state after steps[i-1]. */
export function specEvents(spec: AnySpec, states: readonly unknown[], steps: readonly SpecStepInput[], invariants: readonly string[]): ChartEvent[] {
  const props = spec.properties.filter((p) => p.kind === 'invariant' && invariants.includes(p.name));
  return steps.map((s, i) => {
    const before = states[i]!;
    const after = states[i + 1]!;
    const broken = props.filter((p) => !p.check(after)).map((p) => p.name);
    return {
      sid: s.sid,
      action: s.action,
      params: paramsText(s.params),
      recv: s.recv,
      send: s.send,
      changes: changedVars(spec, before, after).map((c) => ({ sid: c.sid, name: c.name, value: compact(c.after) })),
      ...(broken.length > 0 ? { broken } : {}),
    };
  });
}

/** Every server's variables in a spec state, as text. */
export function specInit(spec: AnySpec, state: unknown): Record<string, Record<string, string>> {
  return Object.fromEntries(spec.servers.map(({ sid }) => [String(sid), varsText(spec.serverVars(state, sid))]));
}
