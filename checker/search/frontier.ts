// The BFS frontier, stored encoded: the states of one level as their bytes, in segments that worker threads
// share (SharedArrayBuffer), each with the offsets of its records so that work can be split at any state.
// States of a segment have consecutive global ids, starting at the id base the coordinator gives it.
//
// A frontier larger than its memory budget spills: sealed segments are written to files (SpilledSegment) and
// read back one at a time when their level is expanded, so that a level is bounded by disk, not RAM.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENT_BYTES = 4 << 20;

export interface Segment {
  readonly bytes: SharedArrayBuffer;
  /** count + 1 offsets: record i spans [offsets[i], offsets[i+1]). */
  readonly offsets: SharedArrayBuffer;
  readonly count: number;
}

/** A segment written to a file: [count u32][byte length u32][offsets, (count + 1) u32][bytes]. */
export interface SpilledSegment {
  readonly file: string;
  readonly count: number;
  /** Bytes of the file. */
  readonly fileBytes: number;
}

export type SegmentRef = Segment | SpilledSegment;

export function isSpilled(s: SegmentRef): s is SpilledSegment {
  return 'file' in s;
}

/** Where a writer spills and past how many bytes of sealed segments it starts to. */
export interface SpillConfig {
  readonly dir: string;
  /** Names of this writer's files start with it (one writer per thread). */
  readonly prefix: string;
  readonly budgetBytes: number;
}

/** A segment's file image (the spill format, also the checkpoint's). */
export function segmentImage(seg: Segment): Uint8Array {
  const offsets = new Uint8Array(seg.offsets);
  const bytesLen = new Uint32Array(seg.offsets)[seg.count]!;
  const out = new Uint8Array(8 + offsets.byteLength + bytesLen);
  const head = new DataView(out.buffer);
  head.setUint32(0, seg.count, true);
  head.setUint32(4, bytesLen, true);
  out.set(offsets, 8);
  out.set(new Uint8Array(seg.bytes, 0, bytesLen), 8 + offsets.byteLength);
  return out;
}

/** A segment from its file image; throws on an image that does not hold together. */
export function segmentFromImage(img: Uint8Array, what: string): Segment {
  if (img.byteLength < 8) throw new Error(`${what}: too short for a frontier segment`);
  const head = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const count = head.getUint32(0, true);
  const bytesLen = head.getUint32(4, true);
  if (img.byteLength !== 8 + (count + 1) * 4 + bytesLen) throw new Error(`${what}: its length does not match its header`);
  const offsets = new SharedArrayBuffer((count + 1) * 4);
  new Uint8Array(offsets).set(img.subarray(8, 8 + (count + 1) * 4));
  const bytes = new SharedArrayBuffer(Math.max(1, bytesLen));
  new Uint8Array(bytes).set(img.subarray(8 + (count + 1) * 4));
  const o = new Uint32Array(offsets);
  for (let i = 0; i < count; i++) if (o[i]! > o[i + 1]!) throw new Error(`${what}: offsets out of order`);
  if (o[count] !== bytesLen) throw new Error(`${what}: offsets out of order`);
  return { bytes, offsets, count };
}

export function spillSegment(seg: Segment, file: string): SpilledSegment {
  const img = segmentImage(seg);
  writeFileSync(file, img);
  return { file, count: seg.count, fileBytes: img.byteLength };
}

/** A segment in memory: as it is, or read back from its file. */
export function loadSegment(ref: SegmentRef): Segment {
  return isSpilled(ref) ? segmentFromImage(readFileSync(ref.file), ref.file) : ref;
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
  private sealed: SegmentRef[] = [];
  /** Bytes of the sealed segments still in memory. */
  private sealedBytes = 0;
  private spilledFiles = 0;
  private total = 0;
  /** Segments start small (tiny levels stay tiny) and double up to SEGMENT_BYTES. */
  private nextSize = 64 << 10;

  constructor(private readonly spill: SpillConfig | null = null) {}

  /** Number of states written since the last takeSegments(). */
  get count(): number {
    return this.total;
  }

  append(src: Uint8Array, len: number, tail: Uint8Array | null = null, tailLen = 0): void {
    const total = len + tailLen;
    if (this.used + total > this.bytes.length) {
      this.seal();
      this.bytes = new Uint8Array(new SharedArrayBuffer(Math.max(this.nextSize, total)));
      this.nextSize = Math.min(SEGMENT_BYTES, this.nextSize * 2);
    }
    this.bytes.set(src.subarray(0, len), this.used);
    if (tail !== null) this.bytes.set(tail.subarray(0, tailLen), this.used + len);
    if (this.n + 1 >= this.offsets.length) {
      const more = new Uint32Array(this.offsets.length * 2);
      more.set(this.offsets);
      this.offsets = more;
    }
    this.offsets[this.n] = this.used;
    this.used += total;
    this.n++;
    this.total++;
  }

  /** Every segment written since the last call, in order. */
  takeSegments(): SegmentRef[] {
    this.seal();
    const out = this.sealed;
    this.sealed = [];
    this.sealedBytes = 0;
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
    const seg: Segment = { bytes: this.bytes.buffer, offsets, count: this.n };
    this.used = 0;
    this.n = 0;
    this.sealedBytes += seg.bytes.byteLength + offsets.byteLength;
    this.sealed.push(seg);
    if (this.spill !== null && this.sealedBytes > this.spill.budgetBytes) this.spillSealed(this.spill);
  }

  /** Write every sealed segment still in memory to its file. */
  private spillSealed(spill: SpillConfig): void {
    mkdirSync(spill.dir, { recursive: true });
    this.sealed = this.sealed.map((s) => (isSpilled(s) ? s : spillSegment(s, join(spill.dir, `${spill.prefix}-${this.spilledFiles++}.seg`))));
    this.sealedBytes = 0;
  }
}

/** Bytes a list of segments holds in memory (for the memory report). */
export function segmentBytes(segments: readonly SegmentRef[]): number {
  let total = 0;
  for (const s of segments) if (!isSpilled(s)) total += s.bytes.byteLength + s.offsets.byteLength;
  return total;
}

/** Bytes a list of segments holds on disk. */
export function spilledBytes(segments: readonly SegmentRef[]): number {
  let total = 0;
  for (const s of segments) if (isSpilled(s)) total += s.fileBytes;
  return total;
}
