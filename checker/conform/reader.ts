// Reading the logs `conform` checks: which files, in which order, validated line by line against the trace
// schema, streamed (a fixed-size read buffer, one line at a time), and cut into *logged steps*.
//
// A logged step is what the spec explains as one unit: one event of the implementation, together with the
// durable writes logged just before it (TxnLogAppend, TxnLogTruncate, EpochFileWrite, SnapshotWrite: the impl
// logs each write as its own event, the spec folds it into the step that made it; a version 2 log folds a step's
// TxnLogAppends into its event as `appended`, and they are read back as the events they stand for), and, when the event ends a
// role (ConnectionLost, LeaderStepDown, LearnerTimeout) or starts the process (ServerStart), the
// FLEStartElection the implementation runs right after it in the same input (the spec takes both steps,
// and only the state after both is comparable).
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DURABLE_WRITES, ROLE_ENDINGS, type ActionName } from '../../traces/actions.ts';
import { isInMemory, readHeader, readTraceFile, unfoldAppended, type FileReport, type InputProblem } from '../../traces/reader.ts';
import type { TraceHeader, TraceMessage } from '../../traces/schema.ts';
import { zxidValue } from '../../traces/zxid.ts';

export type { InputProblem } from '../../traces/reader.ts';
export { DURABLE_WRITES } from '../../traces/actions.ts';

export class ConformUsageError extends Error {}

/** One logged event, with where it came from. */
export interface LoggedEvent {
  readonly sid: number;
  readonly seq: number;
  readonly action: ActionName;
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * The message the step consumed. A version 2 log gives it by id (`rid`): the merge (merge.ts) sets it to the
   * send of that id once it has read it; it stays undefined when no log holds that send.
   */
  recv: TraceMessage | undefined;
  /** The id of the message consumed, when the log gave only that (`rid`). */
  readonly rid?: string | undefined;
  readonly send: readonly TraceMessage[];
  /** Txns the step applied to the server's data tree (zxids, in order); absent when it logged none. */
  readonly applied?: readonly number[];
  readonly post: Readonly<Record<string, unknown>>;
  readonly time: number | undefined;
  readonly file: string;
  readonly line: number;
  /** Which start of the server wrote it (1 for the first file of a server; check traces: 1). */
  readonly incarnation: number;
  /**
   * LeaderProcessACK only: by learner, the highest ACK zxid this server has logged receiving (this one
   * included). Set by the merge (merge.ts), which knows the messages a version 2 log gives by id.
   */
  acksReceived?: Readonly<Record<number, number>>;
  /**
   * ServerStart only: the highest zxid the server's earlier incarnations vouched for by an ACK (of a PROPOSAL,
   * or of NEWLEADER: its whole log then) and did not truncate since. Set by the merge (merge.ts).
   */
  vouched?: number;
}

/** Events the spec explains together (see the header comment). `vars`: the server's logged variables after them. */
export interface LoggedStep {
  readonly sid: number;
  readonly events: readonly LoggedEvent[];
  readonly vars: Readonly<Record<string, unknown>>;
  /**
   * `vars` with the durable writes logged right after the step (the leading writes of the server's next step)
   * applied: a write made at the end of a step and logged after its event is also accepted.
   */
  varsWithNextWrites: Readonly<Record<string, unknown>>;
  readonly incarnation: number;
  /** The last step of its incarnation's file (the process stopped or was killed after it). */
  lastOfIncarnation: boolean;
}

/** The files of the arguments: files as given; directories searched (depth ≤ 4) for transitions.*.ndjson, else *.ndjson. */
export function findLogFiles(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (isInMemory(a)) {
      out.push(a);
      continue;
    }
    let st;
    try {
      st = statSync(a);
    } catch {
      throw new ConformUsageError(`${a}: no such file or directory`);
    }
    if (st.isFile()) {
      out.push(a);
      continue;
    }
    const transitions: string[] = [];
    const any: string[] = [];
    const walk = (dir: string, depth: number) => {
      for (const name of readdirSync(dir).sort()) {
        const p = join(dir, name);
        const s = statSync(p);
        if (s.isDirectory() && depth < 4) walk(p, depth + 1);
        else if (s.isFile() && /^transitions\.\d+\.ndjson$/.test(name)) transitions.push(p);
        else if (s.isFile() && name.endsWith('.ndjson')) any.push(p);
      }
    };
    walk(a, 0);
    const found = transitions.length > 0 ? transitions : any;
    if (found.length === 0) throw new ConformUsageError(`${a}: no transitions.*.ndjson (or .ndjson) file in this directory`);
    out.push(...found);
  }
  return out;
}

/** The input, sorted: one check trace, or the impl logs of each server in order of incarnation. */
export interface Input {
  readonly source: 'check' | 'impl';
  readonly servers: TraceHeader['servers'];
  /** check: the header's params (the spec options of the run). */
  readonly params: Readonly<Record<string, unknown>>;
  /** Per stream (impl: per server, in sid order; check: one stream), its files in order. */
  readonly streams: readonly { readonly sid: number | null; readonly files: readonly { file: string; incarnation: number }[] }[];
}

export function planInput(files: readonly string[], problems: InputProblem[]): Input {
  const headers: { file: string; header: TraceHeader }[] = [];
  for (const file of files) {
    const h = readHeader(file);
    // A file whose header cannot be read cannot be placed (which server, which ensemble): an input error.
    if (!('type' in h)) throw new ConformUsageError(`${h.file}:${h.line}: ${h.message}`);
    headers.push({ file, header: h });
  }
  if (headers.length === 0) throw new ConformUsageError('no trace files');
  const checks = headers.filter((h) => h.header.source === 'check');
  if (checks.length > 0) {
    if (headers.length > 1) throw new ConformUsageError(`${checks[0]!.file}: a trace written by check is conformed alone (${headers.length} files given)`);
    const { file, header } = checks[0]!;
    return { source: 'check', servers: header.servers, params: header.params ?? {}, streams: [{ sid: null, files: [{ file, incarnation: 1 }] }] };
  }
  const bySid = new Map<number, { file: string; incarnation: number }[]>();
  for (const { file, header } of headers) {
    if (header.sid === undefined) throw new ConformUsageError(`${file}:1: an impl log's header must name its server (sid)`);
    const inc = typeof header.params?.['incarnation'] === 'number' ? (header.params['incarnation'] as number) : Number(/\.(\d+)\.ndjson$/.exec(basename(file))?.[1] ?? 1);
    let list = bySid.get(header.sid);
    if (list === undefined) bySid.set(header.sid, (list = []));
    list.push({ file, incarnation: inc });
  }
  const first = headers[0]!.header;
  for (const { file, header } of headers) {
    if (JSON.stringify(header.servers) !== JSON.stringify(first.servers)) throw new ConformUsageError(`${file}:1: servers differ from ${headers[0]!.file}: not the same ensemble`);
  }
  const streams = [...bySid.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([sid, list]) => {
      list.sort((a, b) => a.incarnation - b.incarnation);
      for (let i = 1; i < list.length; i++) {
        if (list[i]!.incarnation === list[i - 1]!.incarnation) throw new ConformUsageError(`${list[i]!.file}: incarnation ${list[i]!.incarnation} of server ${sid} given twice`);
      }
      return { sid, files: list };
    });
  return { source: 'impl', servers: first.servers, params: first.params ?? {}, streams };
}

/**
 * The logged steps of one stream, in the order the files wrote them. Malformed lines are reported to
 * `problems` and skipped; the `vars` of a step accumulate the logged variables of its server.
 */
export function* loggedSteps(stream: Input['streams'][number], problems: InputProblem[]): Generator<LoggedStep> {
  const vars = new Map<number, Record<string, unknown>>();
  let pending: LoggedEvent[] = [];
  let held: LoggedStep | null = null;
  const attach = (h: LoggedStep, next: LoggedStep | null) => {
    if (next === null || next.sid !== h.sid) return;
    const extra: Record<string, unknown> = {};
    for (const e of next.events) {
      if (!DURABLE_WRITES.has(e.action)) break;
      Object.assign(extra, e.post);
    }
    if (Object.keys(extra).length > 0) h.varsWithNextWrites = { ...h.vars, ...extra };
  };
  const close = (): LoggedStep | null => {
    if (pending.length === 0) return null;
    const sid = pending[0]!.sid;
    const acc = { ...(vars.get(sid) ?? {}) };
    for (const e of pending) Object.assign(acc, e.post);
    vars.set(sid, acc);
    const step: LoggedStep = { sid, events: pending, vars: acc, varsWithNextWrites: acc, incarnation: pending[0]!.incarnation, lastOfIncarnation: false };
    pending = [];
    return step;
  };
  for (const { file, incarnation } of stream.files) {
    let sawHeader = false;
    let lastSeq = 0;
    const report: FileReport = { problems, torn: null };
    for (const r of readTraceFile(file, report)) {
      const { line } = r;
      if (r.kind === 'verdict') continue;
      if (r.kind === 'header') {
        if (sawHeader || line !== 1) problems.push({ file, line, message: 'a second header line' });
        sawHeader = true;
        continue;
      }
      const e = r.event;
      if (stream.sid !== null && e.sid !== stream.sid) {
        problems.push({ file, line, message: `event of server ${e.sid} in the log of server ${stream.sid}` });
        continue;
      }
      if (stream.sid !== null && e.seq !== lastSeq + 1) problems.push({ file, line, kind: 'gap', message: `seq ${e.seq} after ${lastSeq}: ${e.seq > lastSeq + 1 ? `${e.seq - lastSeq - 1} event(s) missing` : 'out of order'}` });
      lastSeq = e.seq;
      // Version 2 folds a step's txn log appends into its event: each is the TxnLogAppend event it stands for.
      const events: LoggedEvent[] = unfoldAppended(e, {}).map((u) => ({
        sid: e.sid,
        seq: e.seq,
        action: u.action,
        params: u.params ?? {},
        // conform reads ZAB traces: every message is one of ZooKeeper's packets (traces/packets.ts).
        recv: 'recv' in u ? (u.recv as TraceMessage | undefined) : undefined,
        rid: 'recv' in u && u.recv !== undefined ? undefined : 'rid' in u ? u.rid : undefined,
        send: 'send' in u ? ((u.send ?? []) as readonly TraceMessage[]) : [],
        ...('applied' in u && u.applied !== undefined ? { applied: u.applied.map(zxidValue) } : {}),
        post: u.post ?? {},
        time: e.time,
        file,
        line,
        incarnation,
      }));
      for (const ev of events) {
        // A step ends at an event that is not a durable write, unless (impl logs) it ends a role and the
        // next event of the same server starts the election.
        const prev = pending[pending.length - 1];
        const joins =
          prev !== undefined &&
          prev.sid === ev.sid &&
          (DURABLE_WRITES.has(prev.action) ||
            (stream.sid !== null && ROLE_ENDINGS.has(prev.action) && ev.action === 'FLEStartElection') ||
            // A learner refusing LEADERINFO gives up on its leader in the same input (the spec's step goes back
            // to LOOKING): the ConnectionLost (and FLEStartElection) the implementation logs after it join it.
            (stream.sid !== null && prev.action === 'LearnerProcessLEADERINFO' && prev.params['refused'] !== undefined && ev.action === 'ConnectionLost'));
        if (prev !== undefined && !joins) {
          const s = close();
          if (held !== null) {
            attach(held, s);
            yield held;
          }
          held = s;
        }
        pending.push(ev);
      }
    }
    if (report.torn !== null) problems.push(report.torn);
    const s = close();
    if (s !== null) {
      if (held !== null) {
        attach(held, s);
        yield held;
      }
      held = s;
    }
    if (held !== null) {
      held.lastOfIncarnation = true;
      yield held;
      held = null;
    }
    if (!sawHeader) problems.push({ file, line: 1, message: 'no header line' });
  }
}
