// The trace contract (traces/): the transition log's hand-written encoder agrees with the contract's schema on
// generated events (fast-check); the zxid codec's fast paths agree with its schema both ways; every older
// spelling of a packet is read in the one spelling; a request's txn reads in both of its forms.
import fc from 'fast-check';
import * as Schema from 'effect/Schema';
import { describe, expect, it } from 'vitest';
import { LineEncoder } from '../impl/tracelog.ts';
import { toLogEvent } from '../impl/core/peer.ts';
import type { Notification, QuorumPacket, RawTraceEvent } from '../impl/core/types.ts';
import { IMPL_EVENTS, ACTION_NAMES, type ActionName } from '../traces/actions.ts';
import { currentSpelling, requestTxn, ZxidFromHex } from '../traces/packets.ts';
import { parseLine } from '../traces/reader.ts';
import type { TraceEvent } from '../traces/schema.ts';
import { encodeEvent } from '../traces/writer.ts';
import { makeZxid, NONE, zxidFromHex, zxidToHex } from '../traces/zxid.ts';

const epoch = fc.integer({ min: 0, max: 2 ** 20 });
const counter = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const zxid = fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.tuple(epoch, counter).map(([e, c]) => makeZxid(e, c)));
const sid = fc.integer({ min: 0, max: 200 });
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('a"b', 'back\\slash', 'tab\t\n', 'lone \ud800', 'x'.repeat(40)));
const plain = fc.jsonValue({ maxDepth: 2 });
const record = fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('zxid', 'peer', 'committed', 'lastZxid')), plain, { maxKeys: 4 });
/** A txn as the core carries it: the base64 of its jute bytes (impl/core/types.ts). */
const op = fc.base64String({ maxLength: 64 });
const envelope = { id: fc.tuple(sid, fc.nat()).map(([s, n]) => `${s}:${n}`), from: sid, to: sid };

const notification: fc.Arbitrary<Notification> = fc.record({
  ...envelope,
  type: fc.constant('NOTIFICATION' as const),
  leader: fc.oneof(sid, fc.constant(-1)),
  zxid: fc.oneof(zxid, fc.constant(NONE)),
  electionEpoch: fc.integer({ min: -1, max: 1000 }),
  state: fc.constantFrom('LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'),
  peerEpoch: fc.integer({ min: -1, max: 1000 }),
});

/** Every packet the implementation's core builds (impl/core/types.ts), PING and REQUEST included. */
const packet: fc.Arbitrary<QuorumPacket> = fc.oneof(
  fc.record({ ...envelope, type: fc.constantFrom('FOLLOWERINFO' as const, 'OBSERVERINFO' as const), acceptedEpoch: epoch }),
  fc.record({ ...envelope, type: fc.constant('LEADERINFO' as const), newEpoch: epoch }),
  fc.record({ ...envelope, type: fc.constant('ACKEPOCH' as const), currentEpoch: fc.oneof(epoch, fc.constant(-1)), lastZxid: zxid }),
  fc.record({ ...envelope, type: fc.constantFrom('DIFF' as const, 'TRUNC' as const, 'COMMIT' as const, 'ACK' as const, 'NEWLEADER' as const), zxid }),
  fc.record({ ...envelope, type: fc.constant('SNAP' as const), zxid, data: fc.base64String({ maxLength: 64 }) }),
  fc.record({ ...envelope, type: fc.constantFrom('PROPOSAL' as const, 'INFORM' as const), zxid, op, origin: fc.option(fc.record({ sid, req: fc.nat() }), { nil: undefined }) }),
  fc.record({ ...envelope, type: fc.constant('UPTODATE' as const) }),
  fc.record({ ...envelope, type: fc.constant('PING' as const), sessions: fc.option(fc.array(fc.constantFrom('1', 'ff', '100000001a')), { nil: undefined }) }),
  fc.record({ ...envelope, type: fc.constant('REQUEST' as const), request: fc.base64String({ maxLength: 32 }), origin: fc.record({ sid, req: fc.nat() }) }),
);
const message = fc.oneof(notification, packet);

const rawEvent: fc.Arbitrary<RawTraceEvent> = fc.record({
  action: fc.constantFrom(...ACTION_NAMES),
  params: fc.option(record, { nil: undefined }),
  appended: fc.option(fc.array(zxid, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  applied: fc.option(fc.array(zxid, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  recv: fc.option(message, { nil: undefined }),
  send: fc.option(fc.array(message, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  post: fc.option(record, { nil: undefined }),
});

/** The contract's encoding of the event's log form (the slow, schema-checked path), as JSON text parses back. */
function bySchema(seq: number, sidOf: number, time: number, raw: RawTraceEvent): unknown {
  const e = toLogEvent(raw);
  const event = {
    type: 'event',
    seq,
    sid: sidOf,
    action: e.action as ActionName,
    time,
    ...(e.params ? { params: e.params } : {}),
    ...(e.appended ? { appended: e.appended } : {}),
    ...(e.applied ? { applied: e.applied } : {}),
    ...(e.rid ? { rid: e.rid } : {}),
    ...(e.send ? { send: e.send } : {}),
    ...(e.post && Object.keys(e.post).length > 0 ? { post: e.post } : {}),
  } as TraceEvent;
  return JSON.parse(JSON.stringify(encodeEvent(event)));
}

describe('the transition log encoder (impl/tracelog.ts) and the contract', () => {
  it('writes, for any event the core can emit, the line the schema encodes, and the reader decodes it back', () => {
    fc.assert(
      fc.property(fc.nat(), sid, fc.integer({ min: 0, max: 2 ** 45 }), rawEvent, (seq, s, time, raw) => {
        const enc = new LineEncoder(64);
        enc.line(seq, s, time, raw);
        const line = enc.buf.toString('utf8', 0, enc.pos);
        expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
        expect(JSON.parse(line)).toEqual(bySchema(seq, s, time, raw));
        const back = parseLine(line.slice(0, -1));
        expect(back.kind).toBe('event');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('zxids (traces/zxid.ts)', () => {
  it("prints and reads a zxid as ZooKeeper does, the fast paths agreeing with the schema's codec both ways", () => {
    const encode = Schema.encodeSync(ZxidFromHex);
    const decode = Schema.decodeSync(ZxidFromHex);
    fc.assert(
      fc.property(fc.oneof(zxid, fc.constant(NONE)), (z) => {
        const hex = zxidToHex(z);
        expect(hex).toBe(z < 0 ? '0x8000000000000000' : '0x' + z.toString(16));
        expect(encode(z)).toBe(hex);
        expect(zxidFromHex(hex)).toBe(z);
        expect(decode(hex)).toBe(z);
      }),
      { numRuns: 2000 },
    );
    expect(zxidFromHex('0x-1')).toBe(NONE); // how implementation logs printed NONE before Long.MIN_VALUE
    expect(zxidFromHex('0xZZ')).toBeNaN();
  });
});

describe('one spelling of each packet (traces/packets.ts)', () => {
  const e = { id: '2:7', from: 2, to: 1 };
  it('reads the implementation logs of versions 1 and 2 and the check traces of version 1 in the current spelling', () => {
    expect(currentSpelling({ ...e, type: 'ACKEPOCH', epoch: 1, zxid: '0x100000002' })).toEqual({ ...e, type: 'ACKEPOCH', currentEpoch: 1, lastZxid: '0x100000002' });
    expect(currentSpelling({ ...e, type: 'FOLLOWERINFO', zxid: '0x300000000' })).toEqual({ ...e, type: 'FOLLOWERINFO', acceptedEpoch: 3 });
    expect(currentSpelling({ ...e, type: 'LEADERINFO', zxid: '0x300000000' })).toEqual({ ...e, type: 'LEADERINFO', newEpoch: 3 });
    expect(currentSpelling({ ...e, type: 'PROPOSAL', zxid: '0x100000001', op: { op: 'set', key: 'k', value: 'v' }, origin: { sid: 2, req: 1 } })).toEqual({ ...e, type: 'PROPOSAL', zxid: '0x100000001' });
    expect(currentSpelling({ ...e, type: 'INFORM', txn: { zxid: '0x100000001', value: 1 } })).toEqual({ ...e, type: 'INFORM', zxid: '0x100000001', value: 1 });
    // The current spelling is left as it is.
    const now = { ...e, type: 'ACKEPOCH', currentEpoch: -1, lastZxid: '0x0' };
    expect(currentSpelling(now)).toBe(now);
  });

  it('decodes an old line into the form a version 3 writer writes', () => {
    const v1 = parseLine(JSON.stringify({ type: 'event', seq: 3, sid: 2, action: 'LearnerProcessLEADERINFO', recv: { ...e, type: 'LEADERINFO', zxid: '0x200000000' }, send: [{ id: '2:8', from: 2, to: 1, type: 'ACKEPOCH', epoch: 1, zxid: '0x100000004' }] }));
    expect(v1).toEqual({ kind: 'event', event: { type: 'event', seq: 3, sid: 2, action: 'LearnerProcessLEADERINFO', recv: { ...e, type: 'LEADERINFO', newEpoch: 2 }, send: [{ id: '2:8', from: 2, to: 1, type: 'ACKEPOCH', currentEpoch: 1, lastZxid: '0x100000004' }] } });
  });

  it('names the place and the problem of a malformed message', () => {
    const bad = parseLine(JSON.stringify({ type: 'event', seq: 3, sid: 2, action: 'LeaderProcessACK', send: [{ ...e, type: 'ACK', zxid: '0x1' }, { ...e, type: 'ACK', zxid: 'one' }] }));
    expect(bad).toEqual({ kind: 'bad', message: expect.stringMatching(/^send\.1\.zxid: a zxid is written as 0x/) });
  });
});

describe("a request's txn (LeaderProcessRequest params)", () => {
  it("reads ZooKeeper's txn form and the older key-value op form", () => {
    expect(requestTxn({ txn: { type: 'create', path: '/a', data: 'x' }, origin: 1 })).toEqual({ type: 'create', path: '/a', data: 'x' });
    expect(requestTxn({ txn: { type: 'createSession', session: '0x100000001a' } })).toEqual({ type: 'createSession', session: '0x100000001a' });
    expect(requestTxn({ op: 'set', key: 'k', value: 'v', origin: 2 })).toEqual({ type: 'set', path: 'k', value: 'v' });
    expect(requestTxn({ op: 'del', key: 'k' })).toEqual({ type: 'del', path: 'k' });
    expect(requestTxn({ peer: 3 })).toBeUndefined();
  });

  it('is accepted in either form by the reader', () => {
    for (const params of [{ txn: { type: 'setData', path: '/x', data: 'v', version: 3 }, origin: 1 }, { op: 'set', key: 'k', value: 'v', origin: 1 }]) {
      expect(parseLine(JSON.stringify({ type: 'event', seq: 1, sid: 1, action: 'LeaderProcessRequest', params, appended: ['0x100000001'] })).kind).toBe('event');
    }
    const bad = parseLine(JSON.stringify({ type: 'event', seq: 1, sid: 1, action: 'LeaderProcessRequest', params: { txn: { type: 'frobnicate', path: '/x' } } }));
    expect(bad).toEqual({ kind: 'bad', message: expect.stringMatching(/^params\.txn\.type: /) });
  });

  it('lists the events only the implementation logs in the vocabulary', () => {
    for (const a of IMPL_EVENTS) expect(ACTION_NAMES).toContain(a);
  });
});
