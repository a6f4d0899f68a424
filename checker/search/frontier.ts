// The BFS frontier, stored encoded: the states of one level as their bytes, in segments that worker threads
// share (SharedArrayBuffer), each with the offsets of its records so that work can be split at any state.
// States of a segment have consecutive global ids, starting at the id base the coordinator gives it.

const SEGMENT_BYTES = 4 << 20;

export interface Segment {
  readonly bytes: SharedArrayBuffer;
  /** count + 1 offsets: record i spans [offsets[i], offsets[i+1]). */
  readonly offsets: SharedArrayBuffer;
  readonly count: number;
}

/** A slice of a level for one worker: records [from, to) of a segment, the first having id `idBase + from`. */
export interface Chunk {
  readonly segment: Segment;
  readonly idBase: number;
  readonly from: number;
  readonly to: number;
}

/** Appends encoded states to segments; sealed segments go to the coordinator at the end of a level. */
export class FrontierWriter {
  private bytes: Uint8Array<SharedArrayBuffer> = new Uint8Array(new SharedArrayBuffer(0));
  private offsets = new Uint32Array(1024);
  private used = 0;
  private n = 0;
  private sealed: Segment[] = [];
  private total = 0;
  /** Segments start small (tiny levels stay tiny) and double up to SEGMENT_BYTES. */
  private nextSize = 64 << 10;

  /** Number of states written since the last takeSegments(). */
  get count(): number {
    return this.total;
  }

  append(src: Uint8Array, len: number): void {
    if (this.used + len > this.bytes.length) {
      this.seal();
      this.bytes = new Uint8Array(new SharedArrayBuffer(Math.max(this.nextSize, len)));
      this.nextSize = Math.min(SEGMENT_BYTES, this.nextSize * 2);
    }
    this.bytes.set(src.subarray(0, len), this.used);
    if (this.n + 1 >= this.offsets.length) {
      const more = new Uint32Array(this.offsets.length * 2);
      more.set(this.offsets);
      this.offsets = more;
    }
    this.offsets[this.n] = this.used;
    this.used += len;
    this.n++;
    this.total++;
  }

  /** Every segment written since the last call, in order. */
  takeSegments(): Segment[] {
    this.seal();
    const out = this.sealed;
    this.sealed = [];
    this.total = 0;
    this.bytes = new Uint8Array(new SharedArrayBuffer(0));
    this.nextSize = 64 << 10;
    return out;
  }

  private seal(): void {
    if (this.n === 0) return;
    this.offsets[this.n] = this.used;
    const offsets = new SharedArrayBuffer((this.n + 1) * 4);
    new Uint32Array(offsets).set(this.offsets.subarray(0, this.n + 1));
    this.sealed.push({ bytes: this.bytes.buffer, offsets, count: this.n });
    this.used = 0;
    this.n = 0;
  }
}

/** Bytes held by a list of segments (for the memory report). */
export function segmentBytes(segments: readonly Segment[]): number {
  let total = 0;
  for (const s of segments) total += s.bytes.byteLength + s.offsets.byteLength;
  return total;
}
