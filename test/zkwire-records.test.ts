// impl/zkwire/records.ts: every request and response record of ZooKeeper's client protocol round-trips through
// the op tables a server decodes with; a few layouts are pinned byte by byte (the field orders of Debian's
// zookeeper-jute-3.8.0.jar); and a frame from a client that is cut short, too long or garbage is refused with a
// JuteError naming the field and the offset, never anything else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpCode } from '../impl/zkwire/codes.ts';
import { JuteError, JuteWriter, bool, buffer, decode, decodeConnectRequest, decodeConnectResponse, encode, encodeConnectResponse, int, long, ustring, type Codec } from '../impl/zkwire/jute.ts';
import {
  CreateTTLRequest,
  MULTI_OP_REQUESTS,
  MULTI_RESULT_RECORDS,
  MultiRequest,
  MultiResponse,
  NONE,
  OP_RECORDS,
  SetWatches2,
  decodeRequest,
  encodeNotification,
  encodeReply,
  encodeRequest,
} from '../impl/zkwire/records.ts';

/** An arbitrary value of any codec built from jute.ts's primitives, records and vectors. */
function arb(c: Codec<any>): fc.Arbitrary<any> {
  if (c === int) return fc.integer({ min: -0x80000000, max: 0x7fffffff });
  if (c === long) return fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
  if (c === bool) return fc.boolean();
  if (c === buffer) return fc.option(fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)), { nil: null });
  if (c === ustring) return fc.option(fc.string({ maxLength: 8, unit: 'grapheme' }), { nil: null });
  if (c === NONE) return fc.constant(null);
  if (c === MultiRequest) return fc.array(multiOp, { maxLength: 4 });
  if (c === MultiResponse) return fc.array(multiResult, { maxLength: 4 });
  const v = c as Codec<any> & { element?: Codec<any>; fields?: Record<string, Codec<any>> };
  if (v.element !== undefined) return fc.option(fc.array(arb(v.element), { maxLength: 3 }), { nil: null });
  if (v.fields !== undefined) return fc.record(Object.fromEntries(Object.entries(v.fields).map(([k, f]) => [k, arb(f)])));
  throw new Error(`no arbitrary for codec ${(c as { name?: string }).name}`);
}
const multiOp = fc.constantFrom(...MULTI_OP_REQUESTS.keys()).chain((type) => arb(MULTI_OP_REQUESTS.get(type)!).map((request) => ({ type, request })));
const multiResult = fc.constantFrom(...MULTI_RESULT_RECORDS.keys()).chain((type) => {
  const c = MULTI_RESULT_RECORDS.get(type)!;
  return (c === null ? fc.constant(null) : arb(c)).chain((body) => fc.integer({ min: -130, max: 0 }).map((err) => ({ type, err: type === -1 ? body.err : err, body })));
});

const ops = Object.keys(OP_RECORDS).map(Number) as (keyof typeof OP_RECORDS)[];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('every op code: request and response records round-trip', () => {
  it.each(ops.map((op) => [op]))('op %i', (op) => {
    const { request, response } = OP_RECORDS[op] as { request: Codec<any> & { name: string }; response: Codec<any> & { name: string } };
    fc.assert(
      fc.property(fc.integer({ min: -8, max: 0x7fffffff }), arb(request), arb(response), (xid, req, rsp) => {
        const body = encodeRequest(new JuteWriter(), xid, op, req);
        expect(decodeRequest(body)).toEqual({ known: true, xid, type: op, request: req });
        const reply = encodeReply(new JuteWriter(), { xid, zxid: 5n, err: 0 }, op, rsp);
        expect(response === NONE ? reply.length : decode(response, reply.subarray(16))).toEqual(response === NONE ? 16 : rsp);
      }),
      { numRuns: 60 },
    );
  });

  it('an op code without a record is decoded as unknown, not as an error (UnimplementedRequestProcessor answers it)', () => {
    const w = new JuteWriter().int(7).int(999).int(123);
    expect(decodeRequest(w.bytes())).toEqual({ known: false, xid: 7, type: 999 });
  });

  it('an error reply is the header alone, whatever the op', () => {
    expect(encodeReply(new JuteWriter(), { xid: 3, zxid: 9n, err: -101 }, OpCode.getData, { data: null, stat: null }).length).toBe(16);
  });
});

describe('byte layouts, by hand', () => {
  it('CreateTTLRequest: path, data, acl vector, flags, then the ttl as a long', () => {
    const bytes = encode(CreateTTLRequest, { path: '/a', data: Buffer.from('x'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 5, ttl: 1000n });
    expect(hex(bytes)).toBe(
      '00000002' + '2f61' + // path "/a"
        '00000001' + '78' + // data "x"
        '00000001' + '0000001f' + '00000005' + hex(Buffer.from('world')) + '00000006' + hex(Buffer.from('anyone')) + // one ACL
        '00000005' + // flags PERSISTENT_WITH_TTL
        '00000000000003e8', // ttl
    );
  });

  it('a multi of one delete: a header {type 2, done false, err -1}, the DeleteRequest, the end header {-1, true, -1}', () => {
    const bytes = encode(MultiRequest, [{ type: OpCode.delete, request: { path: '/a', version: -1 } }]);
    expect(hex(bytes)).toBe('00000002' + '00' + 'ffffffff' + '00000002' + '2f61' + 'ffffffff' + 'ffffffff' + '01' + 'ffffffff');
  });

  it('a multi response with an error result: type -1 and the ErrorResponse, err in the header too', () => {
    const bytes = encode(MultiResponse, [{ type: OpCode.check, err: 0, body: null }, { type: -1, err: -103, body: { err: -103 } }]);
    expect(hex(bytes)).toBe('0000000d' + '00' + '00000000' + 'ffffffff' + '00' + 'ffffff99' + 'ffffff99' + 'ffffffff' + '01' + 'ffffffff');
  });

  it('a notification: xid -1, zxid -1, err 0, then WatcherEvent {type, state, path}', () => {
    const bytes = encodeNotification(new JuteWriter(), { type: 3, state: 3, path: '/k' });
    expect(hex(bytes)).toBe('ffffffff' + 'ffffffffffffffff' + '00000000' + '00000003' + '00000003' + '00000002' + '2f6b');
  });

  it('SetWatches2: relativeZxid, then five string vectors in the order data, exist, child, persistent, recursive', () => {
    const bytes = encode(SetWatches2, { relativeZxid: 0x10n, dataWatches: ['/d'], existWatches: [], childWatches: null, persistentWatches: [], persistentRecursiveWatches: ['/r'] });
    expect(hex(bytes)).toBe('0000000000000010' + '00000001' + '00000002' + '2f64' + '00000000' + 'ffffffff' + '00000000' + '00000001' + '00000002' + '2f72');
  });

  it('ConnectRequest: 45 bytes from a 3.8 client, 44 from one before 3.4 (no readOnly byte), and the response follows suit', () => {
    const w = new JuteWriter().int(0).long(0n).int(30000).long(0n).buffer(Buffer.alloc(16));
    const old = Buffer.from(w.bytes());
    const cur = Buffer.concat([old, Buffer.from([1])]);
    expect([old.length, cur.length]).toEqual([44, 45]);
    expect(decodeConnectRequest(old)).toMatchObject({ timeOut: 30000, readOnly: false, readOnlyByte: false });
    expect(decodeConnectRequest(cur)).toMatchObject({ timeOut: 30000, readOnly: true, readOnlyByte: true });
    const rsp = { protocolVersion: 0, timeOut: 4000, sessionId: 0x100n, passwd: Buffer.alloc(16, 1), readOnly: false };
    expect(encodeConnectResponse(rsp, false).length).toBe(36);
    expect(encodeConnectResponse(rsp, true).length).toBe(37);
    expect(decodeConnectResponse(encodeConnectResponse(rsp, false))).toEqual(rsp);
    expect(() => decodeConnectRequest(Buffer.concat([cur, Buffer.from([0])]))).toThrow(/ConnectRequest: 1 unexpected byte/);
  });
});

describe('untrusted frames', () => {
  const anyRequest = fc.constantFrom(...ops).chain((op) => arb(OP_RECORDS[op].request).map((req) => ({ op, bytes: Buffer.from(encodeRequest(new JuteWriter(), 1, op, req)) })));

  it('every frame cut short is refused with a JuteError naming a field and an offset', () => {
    fc.assert(
      fc.property(anyRequest, fc.nat(), ({ bytes }, cut) => {
        const n = cut % bytes.length; // a proper prefix
        expect(() => decodeRequest(bytes.subarray(0, n))).toThrow(JuteError);
        try {
          decodeRequest(bytes.subarray(0, n));
        } catch (e) {
          expect((e as Error).message).toMatch(/^\S+.*(offset \d+|after offset)/);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a byte too many is refused', () => {
    fc.assert(
      fc.property(anyRequest, ({ bytes }) => {
        expect(() => decodeRequest(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/unexpected byte/);
      }),
      { numRuns: 200 },
    );
  });

  it('garbage either decodes or is a JuteError: never another exception', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ops), fc.uint8Array({ maxLength: 64 }), (op, junk) => {
        const body = Buffer.concat([new JuteWriter().int(1).int(op).bytes(), junk]);
        try {
          decodeRequest(body);
        } catch (e) {
          expect(e).toBeInstanceOf(JuteError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('names the field: a create whose acl count runs past the frame', () => {
    const w = new JuteWriter().int(1).int(OpCode.create).ustring('/a').buffer(null).int(1000);
    expect(() => decodeRequest(w.bytes())).toThrow('CreateRequest.acl: length 1000 at offset 18 runs past the end of the frame (0 byte(s) left)');
  });

  it('a multi op that cannot be in a multi, and a multi without its end header', () => {
    const bad = new JuteWriter().int(1).int(OpCode.multi).int(OpCode.sync).bool(false).int(-1);
    expect(() => decodeRequest(bad.bytes())).toThrow(/MultiRequest\[0\]\.header: op type 9 cannot be part of a multi/);
    const open = new JuteWriter().int(1).int(OpCode.multi).int(OpCode.delete).bool(false).int(-1).ustring('/a').int(-1);
    expect(() => decodeRequest(open.bytes())).toThrow(/MultiRequest\[1\]\.header\.type: needs 4 byte\(s\) at offset 27/);
  });
});
