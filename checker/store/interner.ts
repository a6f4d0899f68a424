// Strings (and object shapes, written as strings) interned to small integer ids that every worker thread
// agrees on: the table is an append-only log in one SharedArrayBuffer, so a state encoded by one worker can be
// decoded by another. Each thread keeps a local Map in front of the log and reads the log only on a miss.
//
// Layout: Int32 header [lock, count, usedUnits], then UTF-16 code units: for each entry, its length as two
// units (low, high) followed by its units.

const LOCK = 0;
const COUNT = 1;
const USED = 2;
const HEADER_BYTES = 16;

/** Seeds of the two 32-bit lanes of a string's content hash (fingerprints use the content, never the id). */
const SEED_A = 0x2f693b57;
const SEED_B = 0x6c8e9cf5;

export class SharedInterner {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly units: Uint16Array;
  private readonly ids = new Map<string, number>();
  private readonly strings: string[] = [];
  /** Content hashes of each id, two lanes. */
  readonly hashA: number[] = [];
  readonly hashB: number[] = [];
  /** How far this thread has read the log, in units. */
  private cursor = 0;

  constructor(buffer?: SharedArrayBuffer, bytes = 4 << 20) {
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    this.header = new Int32Array(this.buffer, 0, HEADER_BYTES / 4);
    this.units = new Uint16Array(this.buffer, HEADER_BYTES);
  }

  get size(): number {
    return this.strings.length;
  }

  /** The used part of the shared log (header and entries), for a checkpoint. Call while no thread appends. */
  snapshot(): Uint8Array {
    const used = Atomics.load(this.header, USED);
    return new Uint8Array(this.buffer, 0, HEADER_BYTES + used * 2).slice();
  }

  /** An interner holding a snapshot's entries, with room to grow. */
  static fromSnapshot(image: Uint8Array): SharedInterner {
    const buffer = new SharedArrayBuffer(Math.max(4 << 20, image.byteLength * 2));
    new Uint8Array(buffer).set(image);
    const header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    if (header[LOCK] !== 0 || HEADER_BYTES + header[USED]! * 2 !== image.byteLength) throw new Error('the string table does not match its header');
    const interner = new SharedInterner(buffer);
    interner.sync();
    if (interner.size !== header[COUNT]) throw new Error('the string table does not match its header');
    return interner;
  }

  /** The id of a string, adding it to the shared log when no thread has seen it yet. */
  id(s: string): number {
    const known = this.ids.get(s);
    if (known !== undefined) return known;
    this.sync();
    const synced = this.ids.get(s);
    if (synced !== undefined) return synced;
    return this.append(s);
  }

  string(id: number): string {
    if (id >= this.strings.length) this.sync();
    const s = this.strings[id];
    if (s === undefined) throw new Error(`interner: unknown id ${id}`);
    return s;
  }

  /** Read the entries other threads appended since the last look. */
  private sync(): void {
    const count = Atomics.load(this.header, COUNT);
    while (this.strings.length < count) {
      const len = this.units[this.cursor]! | (this.units[this.cursor + 1]! << 16);
      const start = this.cursor + 2;
      let s = '';
      // Chunked to stay clear of the argument limit of String.fromCharCode.
      for (let i = start; i < start + len; i += 4096) {
        s += String.fromCharCode(...this.units.subarray(i, Math.min(start + len, i + 4096)));
      }
      this.cursor = start + len;
      this.remember(s);
    }
  }

  private remember(s: string): void {
    this.ids.set(s, this.strings.length);
    this.strings.push(s);
    this.hashA.push(stringHash(s, SEED_A));
    this.hashB.push(stringHash(s, SEED_B));
  }

  private append(s: string): number {
    this.lock();
    try {
      this.sync();
      const again = this.ids.get(s);
      if (again !== undefined) return again;
      const used = Atomics.load(this.header, USED);
      if (used + 2 + s.length > this.units.length) {
        throw new Error(`interner: the shared string table is full (${this.buffer.byteLength} bytes)`);
      }
      this.units[used] = s.length & 0xffff;
      this.units[used + 1] = s.length >>> 16;
      for (let i = 0; i < s.length; i++) this.units[used + 2 + i] = s.charCodeAt(i);
      Atomics.store(this.header, USED, used + 2 + s.length);
      // Publishing the count last makes the entry visible only once it is complete.
      Atomics.store(this.header, COUNT, this.strings.length + 1);
      this.sync();
      return this.strings.length - 1;
    } finally {
      this.unlock();
    }
  }

  private lock(): void {
    while (Atomics.compareExchange(this.header, LOCK, 0, 1) !== 0) Atomics.wait(this.header, LOCK, 1, 1);
  }

  private unlock(): void {
    Atomics.store(this.header, LOCK, 0);
    Atomics.notify(this.header, LOCK, 1);
  }
}

/** MurmurHash3's 32-bit body over UTF-16 code units. */
export function stringHash(s: string, seed: number): number {
  let h = seed ^ s.length;
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return fmix(h);
}

/** MurmurHash3's block mix: fold one 32-bit word into the hash. */
export function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finalizer: every input bit affects every output bit. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
