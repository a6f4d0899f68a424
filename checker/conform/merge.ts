// The reference order: the servers' logged steps merged into one sequence consistent with causality (each
// server's own order kept; a step that receives a message comes after the step that sent it, matched by
// message id), taking among the steps that may go next the one logged earliest (`time`), then the lowest
// sid. The search (search.ts) explores other causal orders within a window around this one.
//
// Streaming: it holds one step per server and the ids of messages sent and not yet received.
import type { TraceMessage } from '../../traces/schema.ts';
import { messageZxid } from '../../traces/packets.ts';
import { counterOf, zxidValue } from '../../traces/zxid.ts';
import type { LoggedStep } from './reader.ts';

export interface RankedStep {
  /** Position in the reference order, from 0. */
  readonly rank: number;
  readonly step: LoggedStep;
  /** Ranks of the steps that sent the messages this step receives. */
  readonly deps: readonly number[];
  /** Received message ids whose send is in no log (lost with a killed server's last lines, or before the trace). */
  readonly orphans: readonly string[];
  /** Rank of the previous step of the same stream-server, or -1. */
  readonly prevSameServer: number;
}

/** Message ids: "<from>:<n>"; the implementation numbers a server's messages from incarnation × 10^9. */
export function parseMessageId(id: string): { from: number; n: number } | null {
  const m = /^(\d+):(\d+)$/.exec(id);
  return m === null ? null : { from: Number(m[1]), n: Number(m[2]) };
}

const INCARNATION_BASE = 1e9;

export class CausalMerger {
  private readonly heads: (LoggedStep | null)[];
  /** Messages sent and not yet received: the rank of the step that sent each, and the message. */
  private readonly sent = new Map<string, { rank: number; msg: TraceMessage }>();
  private readonly lastRankOfSid = new Map<number, number>();
  /** By leader: the highest ACK zxid it has logged receiving from each learner, in its current role. */
  private readonly acks = new Map<number, Record<number, number>>();

  /** The highest ACK zxid leader `sid` has logged receiving from `learner` in its current role (0: none). */
  ackReceived(sid: number, learner: number): number {
    return this.acks.get(sid)?.[learner] ?? 0;
  }
  /**
   * By server: the highest zxid it vouched for as durable by sending an ACK (a PROPOSAL's, or NEWLEADER's with
   * its whole log), lowered by a TRUNC or SNAP since. A restart must not come back without it.
   */
  private readonly vouched = new Map<number, number>();
  private rank = 0;
  /** Ids whose send was never seen when they were received. */
  orphanCount = 0;
  /** The first of them: the receive's file:line and the id. */
  firstOrphan: { readonly file: string; readonly line: number; readonly id: string } | null = null;

  constructor(
    private readonly streams: readonly Iterator<LoggedStep>[],
    /** The sid of each stream (impl), or null for a check trace's single stream. */
    private readonly streamSids: readonly (number | null)[],
  ) {
    this.heads = streams.map((it) => it.next().value ?? null);
  }

  /** Peek at each stream's next step (for building the initial state). */
  peekHeads(): readonly (LoggedStep | null)[] {
    return this.heads;
  }

  private neverSent(id: string): boolean {
    const p = parseMessageId(id);
    if (p === null) return true;
    const i = this.streamSids.indexOf(p.from);
    if (i < 0) return this.streamSids[0] !== null; // impl: no log of that server
    const head = this.heads[i];
    if (head === null || head === undefined) return true;
    return head.incarnation > Math.floor(p.n / INCARNATION_BASE) && p.n >= INCARNATION_BASE;
  }

  private recvIds(step: LoggedStep): string[] {
    const ids: string[] = [];
    for (const e of step.events) {
      if (e.recv !== undefined) ids.push(e.recv.id);
      else if (e.rid !== undefined) ids.push(e.rid);
    }
    return ids;
  }

  private trackVouched(step: LoggedStep): void {
    const sid = step.sid;
    for (const e of step.events) {
      const v = this.vouched.get(sid) ?? 0;
      if (e.action === 'ServerStart') e.vouched = v;
      else if (e.action === 'TxnLogTruncate') this.vouched.set(sid, Math.min(v, zxidValue(e.params['zxid'])));
      else if (e.action === 'LearnerProcessSNAP' && e.recv !== undefined) this.vouched.set(sid, Math.min(v, zxidValue(messageZxid(e.recv))));
      for (const m of e.send) {
        if (m.type !== 'ACK') continue;
        const z = zxidValue(m.zxid);
        // NEWLEADER's ACK (counter 0): the learner's log as it stands is on disk.
        const upTo = counterOf(z) === 0 ? zxidValue(step.vars['lastZxid']) : z;
        if (!Number.isNaN(upTo)) this.vouched.set(sid, Math.max(this.vouched.get(sid) ?? 0, upTo));
      }
    }
  }

  next(): RankedStep | null {
    let best = -1;
    let bestBlocked = -1;
    const key = (s: LoggedStep) => s.events[0]!.time ?? 0;
    for (let i = 0; i < this.heads.length; i++) {
      const h = this.heads[i];
      if (h === null || h === undefined) continue;
      const ready = this.recvIds(h).every((id) => this.sent.has(id) || this.neverSent(id));
      if (ready) {
        if (best < 0 || key(h) < key(this.heads[best]!)) best = i;
      } else if (bestBlocked < 0 || key(h) < key(this.heads[bestBlocked]!)) bestBlocked = i;
    }
    const pick = best >= 0 ? best : bestBlocked;
    if (pick < 0) return null;
    const step = this.heads[pick]!;
    this.heads[pick] = this.streams[pick]!.next().value ?? null;
    const deps: number[] = [];
    const orphans: string[] = [];
    for (const e of step.events) {
      const id = e.recv !== undefined ? e.recv.id : e.rid;
      if (id === undefined) continue;
      const r = this.sent.get(id);
      if (r === undefined) {
        orphans.push(id);
        this.orphanCount++;
        this.firstOrphan ??= { file: e.file, line: e.line, id };
      } else {
        deps.push(r.rank);
        this.sent.delete(id);
        // A receive logged by id (version 2) is the message its sender logged.
        if (e.recv === undefined) e.recv = r.msg;
      }
    }
    this.trackVouched(step);
    for (const e of step.events) {
      if (e.action === 'ServerStart' || e.action === 'FLEDecide' || e.action === 'FLEReceiveFromDecided') this.acks.delete(e.sid);
      if (e.action === 'LeaderProcessACK') {
        let m = this.acks.get(e.sid);
        if (m === undefined) this.acks.set(e.sid, (m = {}));
        if (e.recv !== undefined) m[e.recv.from] = Math.max(m[e.recv.from] ?? 0, zxidValue(messageZxid(e.recv)));
        e.acksReceived = { ...m };
      } else if (e.action === 'ConnectionLost' || e.action === 'LeaderStepDown') {
        // A leader's connection closing: the ACKs it had received on it must be counted before (explain.ts).
        const m = this.acks.get(e.sid);
        if (m !== undefined) e.acksReceived = { ...m };
      }
    }
    const rank = this.rank++;
    for (const e of step.events) for (const m of e.send) this.sent.set(m.id, { rank, msg: m });
    // Messages never received (lost) would pile up: forget those sent long ago.
    if (this.sent.size > 200_000) for (const [id, r] of this.sent) if (r.rank < rank - 100_000) this.sent.delete(id);
    const prevSameServer = this.lastRankOfSid.get(step.sid) ?? -1;
    this.lastRankOfSid.set(step.sid, rank);
    return { rank, step, deps, orphans, prevSameServer };
  }
}
