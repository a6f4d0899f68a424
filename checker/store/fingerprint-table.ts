// The visited set: 64-bit fingerprints in an open-addressing table (linear probing) on one Int32Array, two
// words per slot, that worker threads share through a SharedArrayBuffer and update with Atomics.
//
// A slot is claimed by a compare-and-swap of its high word from 0 to the fingerprint's high word; the low word
// is stored right after. Both words are made non-zero, so a reader that sees the high word but a zero low
// word knows the writer is between its two stores and waits for it. Insertions never move entries, so readers
// need no lock. The table does not grow by itself: the coordinator grows it (rehash() into a bigger one)
// between chunks of work, when every worker is idle. `count` lives in a separate shared word.

export const MIN_CAPACITY = 1 << 16;
/** Load above which the coordinator stops handing out work and grows the table. */
export const GROW_LOAD = 0.75;
/** Load above which a worker gives back the rest of its chunk, so that probing always finds a free slot. */
export const STOP_LOAD = 0.85;
/** Growth factor: 1.5 rather than 2 keeps bytes per state lower just after a growth. */
export const GROWTH = 1.5;

export class FingerprintTable {
  readonly slots: Int32Array;
  readonly capacity: number;
  /** [count] shared by every thread using this table. */
  readonly counter: Int32Array;
  readonly stopAt: number;
  /**
   * --por only: a byte per slot, set when a fingerprint already in the table is inserted again (a state reached a
   * second time); null otherwise.
   */
  readonly marks: Uint8Array | null;

  constructor(capacity: number, shared: boolean, slots?: Int32Array, counter?: Int32Array, marks?: Uint8Array | boolean) {
    this.capacity = capacity;
    this.slots = slots ?? new Int32Array(shared ? new SharedArrayBuffer(capacity * 8) : new ArrayBuffer(capacity * 8));
    this.counter = counter ?? new Int32Array(shared ? new SharedArrayBuffer(4) : new ArrayBuffer(4));
    this.stopAt = Math.floor(capacity * STOP_LOAD);
    this.marks = marks instanceof Uint8Array ? marks : marks === true ? new Uint8Array(shared ? new SharedArrayBuffer(capacity) : new ArrayBuffer(capacity)) : null;
  }

  /** Rebuild a table around buffers another thread created. */
  static attach(slots: SharedArrayBuffer, counter: SharedArrayBuffer, marks: SharedArrayBuffer | null = null): FingerprintTable {
    return new FingerprintTable(slots.byteLength / 8, true, new Int32Array(slots), new Int32Array(counter), marks === null ? undefined : new Uint8Array(marks));
  }

  get count(): number {
    return Atomics.load(this.counter, 0);
  }

  get bytes(): number {
    return this.capacity * 8;
  }

  /** Insert a fingerprint; true when it was not there yet. */
  insert(hi: number, lo: number): boolean {
    return this.claim(hi, lo) >= 0;
  }

  /** insert(), and when the fingerprint was there already, mark its slot (the table must have marks). */
  insertMarking(hi: number, lo: number): boolean {
    const slot = this.claim(hi, lo);
    if (slot >= 0) return true;
    Atomics.store(this.marks!, -slot - 1, 1);
    return false;
  }

  /**
   * Find or claim the slot of a fingerprint: its index when this call claimed it (the fingerprint is new), or
   * -(index + 1) when it was there already.
   */
  private claim(hi: number, lo: number): number {
    if (hi === 0) hi = 0x5bd1e995;
    if (lo === 0) lo = 0x1b873593;
    const slots = this.slots;
    const cap = this.capacity;
    // The high bits of the low word pick the slot (a multiply-shift, so capacity need not be a power of 2).
    let i = Math.floor(((lo >>> 0) / 4294967296) * cap);
    for (let probes = 0; ; probes++) {
      // Unreachable while STOP_LOAD leaves more room than one state has successors; a clear error if not.
      if (probes === cap) throw new Error(`the fingerprint table is full (${cap} slots): a state has too many successors`);
      const w = i << 1;
      let h = Atomics.load(slots, w);
      if (h === 0) {
        h = Atomics.compareExchange(slots, w, 0, hi);
        if (h === 0) {
          Atomics.store(slots, w + 1, lo);
          Atomics.add(this.counter, 0, 1);
          return i;
        }
      }
      if (h === hi) {
        let l = Atomics.load(slots, w + 1);
        while (l === 0) l = Atomics.load(slots, w + 1);
        if (l === lo) return -i - 1;
      }
      if (++i === cap) i = 0;
    }
  }

  /** Whether the slot of a fingerprint in the table is marked. */
  marked(hi: number, lo: number): boolean {
    if (hi === 0) hi = 0x5bd1e995;
    if (lo === 0) lo = 0x1b873593;
    let i = Math.floor(((lo >>> 0) / 4294967296) * this.capacity);
    for (;;) {
      const h = Atomics.load(this.slots, i << 1);
      if (h === 0) return false;
      if (h === hi && Atomics.load(this.slots, (i << 1) + 1) === lo) return Atomics.load(this.marks!, i) !== 0;
      if (++i === this.capacity) i = 0;
    }
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0) hi = 0x5bd1e995;
    if (lo === 0) lo = 0x1b873593;
    let i = Math.floor(((lo >>> 0) / 4294967296) * this.capacity);
    for (;;) {
      const h = this.slots[i << 1]!;
      if (h === 0) return false;
      if (h === hi && this.slots[(i << 1) + 1] === lo) return true;
      if (++i === this.capacity) i = 0;
    }
  }

  /** A bigger table holding the same fingerprints. Call only while no thread inserts. */
  grown(factor = GROWTH): FingerprintTable {
    const shared = this.slots.buffer instanceof SharedArrayBuffer;
    const bigger = new FingerprintTable(Math.ceil(this.capacity * factor), shared, undefined, this.counter, this.marks !== null);
    const src = this.slots;
    const dst = bigger.slots;
    const cap = bigger.capacity;
    for (let w = 0; w < src.length; w += 2) {
      const hi = src[w]!;
      if (hi === 0) continue;
      const lo = src[w + 1]!;
      let i = Math.floor(((lo >>> 0) / 4294967296) * cap);
      while (dst[i << 1] !== 0) if (++i === cap) i = 0;
      dst[i << 1] = hi;
      dst[(i << 1) + 1] = lo;
      if (this.marks !== null) bigger.marks![i] = this.marks[w >> 1]!;
    }
    return bigger;
  }

  /** The capacity a table needs to hold n fingerprints below the growth load. */
  static capacityFor(n: number): number {
    return Math.max(MIN_CAPACITY, Math.ceil(n / GROW_LOAD) + 1);
  }
}

/**
 * The probability that two of the distinct states share a fingerprint, estimated as TLC does ("calculated
 * (optimistic)"): distinct × (generated − distinct) / 2^64.
 */
export function collisionProbability(distinct: number, generated: number): number {
  return (distinct * Math.max(0, generated - distinct)) / 2 ** 64;
}
