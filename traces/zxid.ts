// Zxids and epochs, defined once for the spec, the implementation and the checker, and their text in traces.
//
// A zxid is ZooKeeper's long `epoch << 32 | counter` (ZxidUtils.makeZxid): the high 32 bits are the epoch of the
// leader that proposed the txn, the low 32 bits a counter that leader assigns. It is kept in a JS number, exact
// below 2^53 (epochs below 2^21, far beyond any run), so zxids compare with < and > as ZooKeeper compares longs.
//
// In traces a zxid is written as ZooKeeper prints it (Long.toHexString): "0x" and lowercase hex. ZooKeeper's
// "no such value" is Long.MIN_VALUE (an observer's vote for nobody); here it is NONE (-1), which orders the same
// way below every real id, zxid and epoch, and is written "0x8000000000000000". The two-way codec of that text
// (`ZxidFromHex`, Effect's Schema) is in traces/packets.ts, built on the functions here; this module imports no
// library, so that the servers, which format zxids per event, load nothing more for it.

export type Zxid = number;

/** Long.MIN_VALUE, ZooKeeper's "none": every real id, zxid and epoch is >= 0, so -1 orders the same way. */
export const NONE = -1;

const TWO_32 = 0x1_0000_0000;

/** ZxidUtils.makeZxid. */
export const makeZxid = (epoch: number, counter: number): Zxid => epoch * TWO_32 + counter;
/** ZxidUtils.getEpochFromZxid. */
export const epochOf = (zxid: Zxid): number => Math.floor(zxid / TWO_32);
/** ZxidUtils.getCounterFromZxid. */
export const counterOf = (zxid: Zxid): number => zxid % TWO_32;

/** NONE as ZooKeeper prints Long.MIN_VALUE. */
export const LONG_MIN_HEX = '0x8000000000000000';
/** What a zxid's text looks like: "0x" and lowercase hex digits. */
export const ZXID_TEXT = /^0x[0-9a-f]+$/;
/** The same, and the legacy "0x-1" for NONE (readers accept it). */
export const ZXID_TEXT_READ = /^0x([0-9a-f]+|-1)$/;
const HEX_PAD = '00000000';

/**
 * 0x100000002 → "0x100000002"; NONE → "0x8000000000000000". The transition log formats several zxids per write:
 * a zxid above 2^31 is not a small integer for V8 and its toString(16) takes the slow path for doubles, so the
 * epoch and the counter are formatted as two small integers.
 */
export function zxidToHex(zxid: Zxid): string {
  if (zxid < 0) return LONG_MIN_HEX;
  if (zxid < 0x8000_0000) return '0x' + zxid.toString(16);
  const epoch = Math.floor(zxid / TWO_32);
  const counter = zxid - epoch * TWO_32;
  if (counter >= 0x8000_0000 || epoch >= 0x8000_0000 || !Number.isInteger(zxid)) return '0x' + zxid.toString(16);
  const low = counter.toString(16);
  return '0x' + epoch.toString(16) + HEX_PAD.slice(low.length) + low;
}

/** The same text for a zxid held as a 64-bit long (impl/'s bigints, a client's Stat, ZooKeeper's own). */
export function longZxidToHex(zxid: bigint): string {
  return zxid < 0n ? LONG_MIN_HEX : '0x' + zxid.toString(16);
}

/**
 * The inverse of zxidToHex; NaN for text that is not a zxid. Reads "0x-1" as NONE: implementation logs printed
 * NONE that way before they printed Long.MIN_VALUE, and such logs exist.
 */
export function zxidFromHex(text: string): Zxid {
  if (text === LONG_MIN_HEX || text === '0x-1') return NONE;
  if (!ZXID_TEXT.test(text)) return NaN;
  return parseInt(text.slice(2), 16);
}

/** A zxid as a trace holds it (its text, or a number) in the spec's domain; NaN for anything else. */
export function zxidValue(v: unknown): Zxid {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  return zxidFromHex(v);
}
