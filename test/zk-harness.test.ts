// The reproductions of docs/findings.md hold ZooKeeper's quorum traffic by packet type, so their proxies must cut
// the stream into exactly the QuorumPackets ZooKeeper wrote, however TCP splits it, and must never lose a byte.
// No ZooKeeper is needed here: the packets are written the way jute does (int type, long zxid, buffer data,
// vector<Id> authinfo), with the snapshot that follows a SNAP ending in LearnerHandler's "BenWasHere".
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACK, COMMIT, NEWLEADER, PING, PROPOSAL, QuorumStreamParser, RAW, SNAP, SNAPSHOT_BLOB, TRUNC, type Unit } from '../harness/zookeeper/index.ts';

const int = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};

function packet(type: number, zxid: bigint, data: Buffer | null, auth: [string, string][] | null): Buffer {
  const z = Buffer.alloc(8);
  z.writeBigInt64BE(zxid);
  const parts = [int(type), z, data === null ? int(-1) : Buffer.concat([int(data.length), data])];
  if (auth === null) parts.push(int(-1));
  else {
    parts.push(int(auth.length));
    for (const [scheme, id] of auth) for (const s of [scheme, id]) parts.push(int(Buffer.byteLength(s)), Buffer.from(s));
  }
  return Buffer.concat(parts);
}

const SIGNATURE = Buffer.concat([int(10), Buffer.from('BenWasHere')]);

/** Feed `bytes` in the given chunk sizes (cycled); return every unit the parser gave. */
function parse(parser: QuorumStreamParser, bytes: Buffer, sizes: number[]): Unit[] {
  const out: Unit[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    out.push(...parser.push(bytes.subarray(at, at + n)));
    at += n;
  }
  return out;
}

describe("the reproductions' quorum-stream parser", () => {
  const arbPacket = fc.record({
    type: fc.constantFrom(PROPOSAL, ACK, COMMIT, PING, NEWLEADER, TRUNC),
    zxid: fc.bigInt({ min: 0n, max: 2n ** 40n }),
    data: fc.option(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { nil: null }),
    auth: fc.option(fc.array(fc.tuple(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })), { maxLength: 2 }), { nil: null }),
  });

  it('cuts any split of a packet stream into the packets written, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(arbPacket, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), (packets, sizes) => {
        const written = packets.map((p) => packet(p.type, p.zxid, p.data, p.auth));
        const units = parse(new QuorumStreamParser(true), Buffer.concat(written), sizes);
        expect(units.map((u) => [u.type, u.zxid])).toStrictEqual(packets.map((p) => [p.type, p.zxid]));
        expect(units.map((u) => u.bytes.toString('hex'))).toStrictEqual(written.map((w) => w.toString('hex')));
      }),
      { numRuns: 300 },
    );
  });

  it('passes the snapshot after a SNAP (leader to learner) as one unit up to the signature, then packets again', () => {
    const snapshot = Buffer.concat([Buffer.from('serialized data tree and sessions'), SIGNATURE]);
    const stream = Buffer.concat([packet(SNAP, 0x100000002n, null, null), snapshot, packet(NEWLEADER, 0x200000000n, null, null)]);
    for (const size of [1, 3, 7, 100]) {
      const units = parse(new QuorumStreamParser(true), stream, [size]);
      expect(units.map((u) => u.type)).toStrictEqual([SNAP, SNAPSHOT_BLOB, NEWLEADER]);
      expect(units[1]!.bytes.equals(snapshot)).toBe(true);
    }
    // From a learner, SNAP announces no snapshot: what follows is read as packets.
    const up = Buffer.concat([packet(SNAP, 1n, null, null), packet(ACK, 2n, null, null)]);
    expect(parse(new QuorumStreamParser(false), up, [5]).map((u) => u.type)).toStrictEqual([SNAP, ACK]);
  });

  it('gives up on bytes that are not a packet, says why, and passes every byte on', () => {
    const good = packet(ACK, 7n, null, null);
    const junk = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const parser = new QuorumStreamParser(true);
    const units = parse(parser, Buffer.concat([good, junk, good]), [6]);
    expect(units[0]!.type).toBe(ACK);
    expect(units.slice(1).every((u) => u.type === RAW)).toBe(true);
    expect(Buffer.concat(units.map((u) => u.bytes)).equals(Buffer.concat([good, junk, good]))).toBe(true);
    expect(parser.problem).toMatch(/unknown packet type/);
  });
});
