// Writes a counterexample as a trace file (traces/README.md): a header, one event per step, a verdict.
// Message ids "<from>:<n>" are given here: n counts what the sender has sent since the trace began, and a
// receive carries the id of the send it consumes (the first message still in flight on that channel with the
// same content; earlier ones were lost).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageView } from '../../spec/model.ts';
import type { ActionName } from '../../traces/actions.ts';
import type { TraceEvent, TraceLine, TraceMessage } from '../../traces/schema.ts';
import { lineText, makeHeader } from '../../traces/writer.ts';
import type { Counterexample } from './counterexample.ts';
import type { AnySpec } from '../spec-source.ts';

/** Assigns message ids along a path. */
export class MessageIds {
  private readonly sent = new Map<number, number>();
  private readonly inFlight = new Map<string, { id: string; content: string }[]>();
  private unmatched = 0;

  send(m: MessageView): TraceMessage {
    const n = (this.sent.get(m.from) ?? 0) + 1;
    this.sent.set(m.from, n);
    const id = `${m.from}:${n}`;
    const channel = this.channel(m);
    channel.push({ id, content: contentKey(m) });
    return toTrace(id, m);
  }

  recv(m: MessageView): TraceMessage {
    const channel = this.channel(m);
    const key = contentKey(m);
    const at = channel.findIndex((x) => x.content === key);
    if (at < 0) return toTrace(`${m.from}:before-${++this.unmatched}`, m); // in flight before the trace began
    const id = channel.splice(0, at + 1)[at]!.id;
    return toTrace(id, m);
  }

  private channel(m: MessageView): { id: string; content: string }[] {
    const k = `${m.from}>${m.to}`;
    let c = this.inFlight.get(k);
    if (c === undefined) this.inFlight.set(k, (c = []));
    return c;
  }
}

function contentKey(m: MessageView): string {
  return JSON.stringify([m.type, m.fields]);
}

function toTrace(id: string, m: MessageView): TraceMessage {
  return { ...m.fields, id, from: m.from, to: m.to, type: m.type } as TraceMessage;
}

export function traceLines(spec: AnySpec, cx: Counterexample, params: Record<string, unknown>, created = new Date()): TraceLine[] {
  const ids = new MessageIds();
  const lines: TraceLine[] = [
    makeHeader({
      source: 'check',
      servers: spec.servers.map((s) => ({ sid: s.sid, role: s.role })),
      params,
      created,
      note: `${cx.kind === 'reachability' ? 'witness of' : cx.kind === 'liveness' ? 'lasso against' : 'counterexample to'} ${cx.property} in ${spec.name}, from initial state ${cx.path.init}`,
    }),
  ];
  for (const s of cx.steps) {
    const post = Object.fromEntries(s.changes.filter((c) => c.sid === s.sid).map((c) => [c.name, c.after]));
    const ev: TraceEvent = {
      type: 'event',
      seq: s.step,
      sid: s.sid,
      action: s.kind as ActionName,
      ...(Object.keys(s.params).length > 0 ? { params: { ...s.params } } : {}),
      ...(s.recv !== null ? { recv: ids.recv(s.recv) } : {}),
      ...(s.send.length > 0 ? { send: s.send.map((m) => ids.send(m)) } : {}),
      ...(Object.keys(post).length > 0 ? { post } : {}),
    };
    lines.push(ev);
  }
  lines.push({
    type: 'verdict',
    property: cx.property,
    kind: cx.kind,
    holds: cx.kind === 'reachability',
    ...(cx.message === null ? {} : { message: cx.message }),
    ...(cx.loopStart === undefined ? {} : { loopAfter: cx.loopStart }),
  });
  return lines;
}

/**
 * Write the counterexample's trace under `dir` and note its path on it; when it cannot be written (the folder
 * refuses, or a step holds what the trace contract cannot encode: a malformed packet of a spec being edited),
 * note why instead: the violation is the result, the file only a copy of it.
 */
export function attachTrace(dir: string, spec: AnySpec, cx: Counterexample, params: Record<string, unknown>): void {
  try {
    cx.traceFile = writeTrace(dir, spec, cx, params);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    cx.traceProblem = err.code !== undefined ? `${err.code} ${err.path ?? dir}` : (err.message.split('\n')[0] ?? String(e));
  }
}

/** Write the trace under `dir` (created if missing); returns the file's path. */
export function writeTrace(dir: string, spec: AnySpec, cx: Counterexample, params: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${cx.property}-${stamp}-${process.pid}.ndjson`);
  writeFileSync(file, traceLines(spec, cx, params).map(lineText).join('\n') + '\n');
  return file;
}
