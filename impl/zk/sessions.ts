// SessionTracker: session ids and passwords as ZooKeeper makes them, the negotiated timeout, and the leader's
// expiry of sessions in tick-sized buckets (SessionTrackerImpl with its ExpiryQueue). Pure: the caller passes
// the time. A learner does not expire sessions; it reports which of its sessions were active, and the leader
// touches them (LearnerSessionTracker, the PING exchange).
import { createHash } from 'node:crypto';

/** SessionTrackerImpl.initializeNextSessionId: the server id in the top byte, a time-based counter below. */
export function initialSessionId(sid: number, nowMs: number): bigint {
  let next = BigInt.asUintN(64, BigInt(Math.floor(nowMs)) << 24n) >> 8n;
  next = BigInt.asIntN(64, next | (BigInt(sid) << 56n));
  if (next === -(1n << 63n)) next++;
  return next;
}

/**
 * The session's password. ZooKeeper draws 16 bytes from java.util.Random seeded with sessionId ^ superSecret;
 * any function of the id that every server computes alike does the same job (a reconnect to another server is
 * checked against it), so ours is SHA-1 of the id and the same constant.
 */
export function sessionPassword(sessionId: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(sessionId ^ 0xb3415c00n);
  return createHash('sha1').update(b).digest().subarray(0, 16);
}

/** ZooKeeperServer.processConnectRequest: the timeout asked for, clamped to [min, max] session timeout. */
export function negotiateTimeout(asked: number, minMs: number, maxMs: number): number {
  return Math.min(Math.max(asked, minMs), maxMs);
}

/** ExpiryQueue: elements in buckets of `interval` ms, each due at the end of its bucket. */
export class ExpiryQueue<E> {
  private readonly expiry = new Map<E, number>();
  private readonly buckets = new Map<number, Set<E>>();
  private nextExpiration: number;

  constructor(
    private readonly interval: number,
    now: number,
  ) {
    this.nextExpiration = this.round(now);
  }

  private round(time: number): number {
    return (Math.floor(time / this.interval) + 1) * this.interval;
  }

  /** Due at round(now + timeout); returns the new expiry time. */
  update(e: E, timeout: number, now: number): number {
    const prev = this.expiry.get(e);
    const next = this.round(now + timeout);
    if (prev === next) return next;
    let set = this.buckets.get(next);
    if (!set) this.buckets.set(next, (set = new Set()));
    set.add(e);
    this.expiry.set(e, next);
    if (prev !== undefined) this.buckets.get(prev)?.delete(e);
    return next;
  }

  remove(e: E): void {
    const prev = this.expiry.get(e);
    if (prev === undefined) return;
    this.expiry.delete(e);
    this.buckets.get(prev)?.delete(e);
  }

  /** Every element whose bucket is due by `now` (removed from the queue). */
  poll(now: number): E[] {
    const out: E[] = [];
    while (now >= this.nextExpiration) {
      const set = this.buckets.get(this.nextExpiration);
      this.buckets.delete(this.nextExpiration);
      for (const e of set ?? []) {
        out.push(e);
        this.expiry.delete(e);
      }
      this.nextExpiration += this.interval;
    }
    return out;
  }

  /** When the next bucket is due (the caller's timer). */
  get nextDue(): number {
    return this.nextExpiration;
  }

  expiryOf(e: E): number | undefined {
    return this.expiry.get(e);
  }
}

/**
 * The leader's SessionTrackerImpl: sessions with their timeouts, touched by every request (and by learners'
 * reports), expired when their bucket passes. `closing` sessions take no more requests (setSessionClosing).
 */
export class SessionTracker {
  private readonly timeouts = new Map<bigint, number>();
  private readonly closing = new Set<bigint>();
  private queue: ExpiryQueue<bigint>;

  constructor(
    private readonly tickTime: number,
    now: number,
  ) {
    this.queue = new ExpiryQueue(tickTime, now);
  }

  /** The sessions the committed tree holds (after recovery, or when this server starts leading). */
  reset(sessions: ReadonlyMap<bigint, number>, now: number): void {
    this.timeouts.clear();
    this.closing.clear();
    this.queue = new ExpiryQueue(this.tickTime, now);
    for (const [id, t] of sessions) this.add(id, t, now);
  }

  add(id: bigint, timeout: number, now: number): void {
    this.timeouts.set(id, timeout);
    this.queue.update(id, timeout, now);
  }

  remove(id: bigint): void {
    this.timeouts.delete(id);
    this.closing.delete(id);
    this.queue.remove(id);
  }

  /** touchSession: false when the session is unknown or closing (the request then fails SESSIONEXPIRED). */
  touch(id: bigint, now: number): boolean {
    const t = this.timeouts.get(id);
    if (t === undefined || this.closing.has(id)) return false;
    this.queue.update(id, t, now);
    return true;
  }

  isLive(id: bigint): boolean {
    return this.timeouts.has(id) && !this.closing.has(id);
  }

  setClosing(id: bigint): void {
    if (this.timeouts.has(id)) this.closing.add(id);
  }

  timeoutOf(id: bigint): number | undefined {
    return this.timeouts.get(id);
  }

  /** The sessions whose time ran out (each marked closing: the caller proposes their closeSession). */
  expire(now: number): bigint[] {
    const out = this.queue.poll(now).filter((id) => this.timeouts.has(id) && !this.closing.has(id));
    for (const id of out) this.closing.add(id);
    return out;
  }

  get nextDue(): number {
    return this.queue.nextDue;
  }

  /** When a session expires unless it is heard from (its bucket's end). */
  expiryOf(id: bigint): number | undefined {
    return this.queue.expiryOf(id);
  }

  get size(): number {
    return this.timeouts.size;
  }
}
