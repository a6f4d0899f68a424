// A zxid as traces write it: "0x" and the lowercase hex of (epoch << 32 | counter), ZooKeeper's own notation
// (Long.toHexString), with Long.MIN_VALUE (an observer's vote for nobody) as the spec's NONE (-1). One two-way
// codec, so that what the writers print and what the readers parse cannot drift apart. The text's format is
// validated by the zod schema of traces/schema.ts (untrusted input); this codec only converts.
import * as Schema from 'effect/Schema';
import * as SchemaGetter from 'effect/SchemaGetter';

const LONG_MIN_HEX = '0x8000000000000000';

export const ZxidFromHex = Schema.String.pipe(
  Schema.decodeTo(Schema.Number, {
    decode: SchemaGetter.transform((text: string) => (text === LONG_MIN_HEX ? -1 : parseInt(text.slice(2), 16))),
    encode: SchemaGetter.transform((zxid: number) => (zxid < 0 ? LONG_MIN_HEX : '0x' + zxid.toString(16))),
  }),
);

/** 0x100000002 → "0x100000002"; -1 (NONE) → "0x8000000000000000". */
export const zxidToHex: (zxid: number) => string = Schema.encodeSync(ZxidFromHex);

/** The inverse; text that is not "0x" and hex digits decodes to NaN (validate it first). */
export const zxidFromHex: (text: string) => number = Schema.decodeSync(ZxidFromHex);
