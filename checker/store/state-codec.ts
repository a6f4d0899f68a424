// The checker's representation of a spec state: a compact byte encoding of plain data and a 64-bit fingerprint.
//
// The spec keeps its states as readable plain objects (spec/model.ts); the checker stores only bytes and
// fingerprints. One walk over a state writes its bytes and computes its fingerprint at once.
//
// Bytes (one tag byte, some carrying a small value):
//   0x00-0x7f  integer 0..127            0x80 null   0x81 false   0x82 true
//   0x83 uint32 varint    0x84 negative int32, varint of -v    0x85 float64 (8 bytes, any other number)
//   0x86 string, varint id     0x87 array, varint length, items     0x88 object, varint shape id, values
//   0x90-0x9f  array of length 0..15    0xa0-0xbf string id 0..31    0xc0-0xff object shape id 0..63
// Strings and shapes (the key list of an object, in its own order) are interned ids (SharedInterner), so
// decoding rebuilds each object with its keys in the original order: a decoded state is the same data, and
// the spec enumerates its successors in the same order as from the original.
//
// Fingerprint: two 32-bit MurmurHash3 lanes over the structure, with strings hashed by content (not by id, so
// the value does not depend on which thread interned a string first); a number leaf is only multiplied (an
// integer) or mixed without the finalizer (a float), since its parent mixes it again. Object entries are combined by a sum,
// so the fingerprint ignores key order: objects equal as data are the same state whatever order their keys
// were set in.
import { fmix, mix, type SharedInterner } from './interner.ts';
import { NotPlainDataError } from './plain-data.ts';
import { makeBuilder, parseShape, shapeText } from './shapes.ts';

/** Objects shorter than this are cheaper to walk again than to remember (a Map entry each). */
const MEMO_MIN_BYTES = 16;

// Lane seeds per kind of value, so that 1, "1", [1] and {1:...} all differ.
const INT_A = 0x1b873593, INT_B = 0x7f4a7c15;
const FLT_A = 0x3c6ef372, FLT_B = 0x5bd1e995;
const ARR_A = 0x27d4eb2f, ARR_B = 0x165667b1;
const OBJ_A = 0x61c88647, OBJ_B = 0x7ed55d16;
const NULL_A = 0x0b2a5c1d, NULL_B = 0x4f6cdd1d;
const TRUE_A = 0x2545f491, TRUE_B = 0x6a09e667;
const FALSE_A = 0x3243f6a8, FALSE_B = 0x13198a2e;

/**
 * The hash of a small integer, per lane: a multiplication by an odd constant (one-to-one), no more. A leaf's hash
 * is never used alone: an object entry passes it through mix and fmix with its key, an array element through mix,
 * so full mixing here was paid twice.
 */
function intHashA(v: number): number {
  return Math.imul(v ^ INT_A, 0x9e3779b1);
}
function intHashB(v: number): number {
  return Math.imul(v ^ INT_B, 0x85ebca77);
}

/** The node of a trie over key sequences: one per distinct key order seen, carrying the shape's id. */
interface ShapeNode {
  readonly keys: readonly string[];
  /** Children by key, scanned linearly: few per node, and keys from for-in compare by pointer. */
  readonly childKeys: string[];
  readonly children: ShapeNode[];
  /** Past a few children (records keyed by many strings), a Map instead. */
  byKey: Map<string, ShapeNode> | null;
  /** Content hash of the last key (the one that led here). */
  readonly keyA: number;
  readonly keyB: number;
  shape: number;
}

export interface StateCodec {
  /** Encode into the scratch buffer; returns the length. Sets fpHi/fpLo. */
  encode(state: unknown): number;
  /** The bytes of the last encode (valid until the next call). */
  readonly scratch: () => Uint8Array;
  readonly fpHi: () => number;
  readonly fpLo: () => number;
  decode(bytes: Uint8Array, start: number, end: number): unknown;
  /** The fingerprint of a state as a 16-digit hex string (for tests and messages). */
  fingerprint(state: unknown): string;
}

export function createStateCodec(interner: SharedInterner): StateCodec {
  let buf = new Uint8Array(1 << 16);
  let pos = 0;
  let HA = 0;
  let HB = 0;
  const f64 = new Float64Array(1);
  const f64words = new Int32Array(f64.buffer);
  const f64bytes = new Uint8Array(f64.buffer);
  const root: ShapeNode = { keys: [], childKeys: [], children: [], byKey: null, keyA: 0, keyB: 0, shape: -1 };
  const strA = interner.hashA;
  const strB = interner.hashB;

  function room(n: number): void {
    if (pos + n <= buf.length) return;
    const bigger = new Uint8Array(Math.max(buf.length * 2, pos + n));
    bigger.set(buf.subarray(0, pos));
    buf = bigger;
  }

  function varint(x: number): void {
    while (x >= 0x80) {
      buf[pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    buf[pos++] = x;
  }

  function child(node: ShapeNode, key: string): ShapeNode {
    if (node.byKey !== null) {
      const found = node.byKey.get(key);
      if (found !== undefined) return found;
    } else {
      const keys = node.childKeys;
      for (let i = 0; i < keys.length; i++) if (keys[i] === key) return node.children[i]!;
    }
    const id = interner.id(key);
    const n: ShapeNode = { keys: [...node.keys, key], childKeys: [], children: [], byKey: null, keyA: strA[id]!, keyB: strB[id]!, shape: -1 };
    node.childKeys.push(key);
    node.children.push(n);
    if (node.byKey !== null) node.byKey.set(key, n);
    else if (node.children.length > 12) node.byKey = new Map(node.childKeys.map((k, i) => [k, node.children[i]!]));
    return n;
  }

  function shapeOf(node: ShapeNode): number {
    if (node.shape < 0) node.shape = interner.id(shapeText(node.keys));
    return node.shape;
  }

  function encodeNumber(v: number): void {
    room(9);
    if ((v | 0) === v) {
      v |= 0; // -0 becomes 0
      if (v >= 0) {
        if (v < 0x80) buf[pos++] = v;
        else {
          buf[pos++] = 0x83;
          varint(v);
        }
      } else {
        buf[pos++] = 0x84;
        varint(-v >>> 0);
      }
      HA = intHashA(v);
      HB = intHashB(v);
      return;
    }
    buf[pos++] = 0x85;
    f64[0] = v;
    for (let i = 0; i < 8; i++) buf[pos++] = f64bytes[i]!;
    HA = mix(mix(FLT_A, f64words[0]!), f64words[1]!);
    HB = mix(mix(FLT_B, f64words[0]!), f64words[1]!);
  }

  function encodeValue(v: unknown): void {
    switch (typeof v) {
      case 'number':
        encodeNumber(v);
        return;
      case 'string': {
        const id = interner.id(v);
        room(6);
        if (id < 32) buf[pos++] = 0xa0 + id;
        else {
          buf[pos++] = 0x86;
          varint(id);
        }
        HA = strA[id]!;
        HB = strB[id]!;
        return;
      }
      case 'boolean':
        room(1);
        buf[pos++] = v ? 0x82 : 0x81;
        HA = v ? TRUE_A : FALSE_A;
        HB = v ? TRUE_B : FALSE_B;
        return;
      case 'object':
        if (v === null) {
          room(1);
          buf[pos++] = 0x80;
          HA = NULL_A;
          HB = NULL_B;
        } else {
          const slot = memo.get(v);
          if (slot !== undefined) encodeKnown(slot);
          else if (Array.isArray(v)) encodeArray(v);
          else if (Object.getPrototypeOf(v) === Object.prototype) encodeObject(v as Record<string, unknown>);
          else throw new NotPlainDataError(`a ${(v as object).constructor?.name ?? 'null-prototype'} object`);
        }
        return;
      default:
        throw new NotPlainDataError(typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`);
    }
  }

  function encodeArray(xs: readonly unknown[]): void {
    const n = xs.length;
    room(6);
    if (n < 16) buf[pos++] = 0x90 + n;
    else {
      buf[pos++] = 0x87;
      varint(n);
    }
    let a = mix(ARR_A, n);
    let b = mix(ARR_B, n);
    for (let i = 0; i < n; i++) {
      encodeValue(xs[i]);
      a = mix(a, HA);
      b = mix(b, HB);
    }
    HA = fmix(a);
    HB = fmix(b);
  }

  function encodeObject(o: Record<string, unknown>): void {
    room(1);
    const at = pos++;
    let node = root;
    let sa = 0;
    let sb = 0;
    let n = 0;
    for (const k in o) {
      node = child(node, k);
      encodeValue(o[k]);
      sa = (sa + fmix(mix(node.keyA, HA))) | 0;
      sb = (sb + fmix(mix(node.keyB, HB))) | 0;
      n++;
    }
    const shape = shapeOf(node);
    if (shape < 64) buf[at] = 0xc0 + shape;
    else {
      // Rare: a large shape id needs a longer header; move the values to make room.
      const end = pos;
      let extra = 1;
      for (let x = shape; x >= 0x80; x >>>= 7) extra++;
      room(extra);
      buf.copyWithin(at + 1 + extra, at + 1, end);
      buf[at] = 0x88;
      pos = at + 1;
      varint(shape);
      pos = end + extra;
    }
    HA = fmix(mix(mix(OBJ_A, sa), n));
    HB = fmix(mix(mix(OBJ_B, sb), n));
  }

  // --- decoding ---
  // Decoding also computes the fingerprint of every object and array it builds, and remembers where its bytes
  // are. The spec builds successors by immutable updates, so most of a successor is the very objects of the
  // state it came from: encoding meets them again and copies their bytes and hash instead of walking them.
  let src: Uint8Array = buf;
  let at = 0;
  let memo = new Map<object, number>();
  let memoStart = new Int32Array(256);
  let memoEnd = new Int32Array(256);
  let memoA = new Int32Array(256);
  let memoB = new Int32Array(256);
  let memoSrc: Uint8Array = buf;

  function remember(o: object, start: number): void {
    const slot = memo.size;
    if (slot === memoStart.length) {
      const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      memoStart = grow(memoStart);
      memoEnd = grow(memoEnd);
      memoA = grow(memoA);
      memoB = grow(memoB);
    }
    memo.set(o, slot);
    memoStart[slot] = start;
    memoEnd[slot] = at;
    memoA[slot] = HA;
    memoB[slot] = HB;
  }

  /** Encode an object or array met before in the last decoded state: copy its bytes and hash. */
  function encodeKnown(slot: number): void {
    const s = memoStart[slot]!;
    const len = memoEnd[slot]! - s;
    room(len);
    if (len < 32) for (let i = 0; i < len; i++) buf[pos + i] = memoSrc[s + i]!;
    else buf.set(memoSrc.subarray(s, s + len), pos);
    pos += len;
    HA = memoA[slot]!;
    HB = memoB[slot]!;
  }

  function readVarint(): number {
    let x = 0;
    let shift = 0;
    for (;;) {
      const b = src[at++]!;
      x += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return x;
      shift += 7;
    }
  }

  interface ShapeInfo {
    readonly keys: readonly string[];
    readonly keyA: readonly number[];
    readonly keyB: readonly number[];
    /** Builds the object from its values with one object literal (see makeBuilder). */
    readonly build: (values: unknown[]) => Record<string, unknown>;
  }
  const shapes: (ShapeInfo | undefined)[] = [];

  function shapeInfo(shape: number): ShapeInfo {
    let info = shapes[shape];
    if (info === undefined) {
      const text = interner.string(shape);
      const keys = parseShape(text);
      const ids = keys.map((k) => interner.id(k));
      info = { keys, keyA: ids.map((i) => strA[i]!), keyB: ids.map((i) => strB[i]!), build: makeBuilder(keys) };
      shapes[shape] = info;
    }
    return info;
  }

  /** Value buffers, one per nesting level (an object's values are decoded before it is built). */
  const valueStack: unknown[][] = [];
  let nesting = 0;

  function decodeObject(shape: number, start: number): Record<string, unknown> {
    const { keys, keyA, keyB, build } = shapeInfo(shape);
    const values = valueStack[nesting] ?? (valueStack[nesting] = []);
    nesting++;
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < keys.length; i++) {
      values[i] = decodeValue();
      sa = (sa + fmix(mix(keyA[i]!, HA))) | 0;
      sb = (sb + fmix(mix(keyB[i]!, HB))) | 0;
    }
    nesting--;
    const o = build(values);
    HA = fmix(mix(mix(OBJ_A, sa), keys.length));
    HB = fmix(mix(mix(OBJ_B, sb), keys.length));
    if (at - start > MEMO_MIN_BYTES) remember(o, start);
    return o;
  }

  function decodeArray(n: number, start: number): unknown[] {
    const xs: unknown[] = []; // filled by push: packed elements, as the spec's own arrays
    let a = mix(ARR_A, n);
    let b = mix(ARR_B, n);
    for (let i = 0; i < n; i++) {
      xs.push(decodeValue());
      a = mix(a, HA);
      b = mix(b, HB);
    }
    HA = fmix(a);
    HB = fmix(b);
    if (at - start > MEMO_MIN_BYTES) remember(xs, start);
    return xs;
  }

  function decodedInt(v: number): number {
    HA = intHashA(v);
    HB = intHashB(v);
    return v;
  }

  function decodedString(id: number): string {
    const s = interner.string(id); // first: it learns ids other threads added, and their hashes
    HA = strA[id]!;
    HB = strB[id]!;
    return s;
  }

  function decodeValue(): unknown {
    const start = at;
    const t = src[at++]!;
    if (t < 0x80) return decodedInt(t);
    if (t >= 0xc0) return decodeObject(t - 0xc0, start);
    if (t >= 0xa0) return decodedString(t - 0xa0);
    if (t >= 0x90) return decodeArray(t - 0x90, start);
    switch (t) {
      case 0x80:
        HA = NULL_A;
        HB = NULL_B;
        return null;
      case 0x81:
        HA = FALSE_A;
        HB = FALSE_B;
        return false;
      case 0x82:
        HA = TRUE_A;
        HB = TRUE_B;
        return true;
      case 0x83:
        return decodedInt(readVarint() | 0);
      case 0x84:
        return decodedInt(-readVarint() | 0);
      case 0x85: {
        for (let i = 0; i < 8; i++) f64bytes[i] = src[at++]!;
        HA = mix(mix(FLT_A, f64words[0]!), f64words[1]!);
        HB = mix(mix(FLT_B, f64words[0]!), f64words[1]!);
        return f64[0];
      }
      case 0x86:
        return decodedString(readVarint());
      case 0x87:
        return decodeArray(readVarint(), start);
      case 0x88:
        return decodeObject(readVarint(), start);
      default:
        throw new Error(`state codec: bad tag 0x${t.toString(16)} at byte ${at - 1}`);
    }
  }

  const codec: StateCodec = {
    encode(state) {
      pos = 0;
      encodeValue(state);
      return pos;
    },
    scratch: () => buf,
    fpHi: () => HA,
    fpLo: () => HB,
    decode(bytes, start, end) {
      src = bytes;
      memoSrc = bytes;
      memo = new Map();
      at = start;
      const v = decodeValue();
      if (at !== end) throw new Error(`state codec: decoded ${at - start} bytes of ${end - start}`);
      return v;
    },
    fingerprint(state) {
      codec.encode(state);
      return (HA >>> 0).toString(16).padStart(8, '0') + (HB >>> 0).toString(16).padStart(8, '0');
    },
  };
  return codec;
}
