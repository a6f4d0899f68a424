// The transition log's hand-written encoder (impl/tracelog.ts) against JSON.stringify of the event's trace form,
// on every event the protocol core emits in simulated runs with elections, writes, crashes, TRUNC and SNAP; and
// the file it writes: whole lines, in order, flushed by the timer and on close.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LineEncoder, TransitionLog } from '../impl/tracelog.ts';
import { SimCluster, createRequest, deleteRequest, sessionRequest } from '../impl/sim.ts';
import { toLogEvent } from '../impl/core/peer.ts';
import type { LearnerType, RawTraceEvent, Sid } from '../impl/core/types.ts';
import { parseLine } from '../traces/reader.ts';

/** The line JSON.stringify writes for the event in its log form (`toLogEvent`): what the encoder must write. */
function reference(seq: number, sid: Sid, time: number, raw: RawTraceEvent): string {
  const e = toLogEvent(raw);
  const event: Record<string, unknown> = { type: 'event', seq, sid, action: e.action, time };
  if (e.params) event['params'] = e.params;
  if (e.appended) event['appended'] = e.appended;
  if (e.applied) event['applied'] = e.applied;
  if (e.rid) event['rid'] = e.rid;
  if (e.send) event['send'] = e.send;
  if (e.post && Object.keys(e.post).length) event['post'] = e.post;
  return JSON.stringify(event) + '\n';
}

function encode(seq: number, sid: Sid, time: number, raw: RawTraceEvent): string {
  const enc = new LineEncoder(64);
  enc.line(seq, sid, time, raw);
  return enc.buf.toString('utf8', 0, enc.pos);
}

/** Every event of a run with elections, writes through every server, crashes, a partition (TRUNC) and SNAP. */
function simulatedEvents(seed: number): { sid: Sid; event: RawTraceEvent }[] {
  const out: { sid: Sid; event: RawTraceEvent }[] = [];
  const servers = new Map<Sid, LearnerType>([
    [1, 'participant'],
    [2, 'participant'],
    [3, 'participant'],
    [4, 'observer'],
  ]);
  const sim = new SimCluster({ seed, servers, commitLogCount: 5, snapCount: 7, onTrace: (sid, event) => out.push({ sid, event }) });
  sim.start();
  sim.runFor(3000);
  const values = ['v', 'x'.repeat(100), 'quote " and \\ backslash', 'tab\tnewline\n', 'ünïcødé ✓ 😀', 'lone \ud800 surrogate', 'y'.repeat(40) + '"'];
  let req = 0;
  const writes = (n: number) => {
    for (let i = 0; i < n; i++)
      for (const sid of servers.keys()) {
        req++;
        sim.write(sid, req, req % 5 === 0 ? deleteRequest(`k${req % 7}`) : createRequest(`k${req % 7}`, values[req % values.length]!));
      }
    sim.runFor(200);
  };
  writes(5);
  const leader = sim.leaders()[0]!;
  // A follower far behind (SNAP, commitLogCount 5), then a leader cut off with proposals of its own (TRUNC).
  const follower = leader === 1 ? 2 : 1;
  sim.crash(follower);
  writes(10);
  sim.restart(follower);
  sim.runFor(3000);
  for (const sid of servers.keys()) if (sid !== leader) sim.partition(leader, sid, true);
  sim.write(leader, ++req, createRequest('lost', 'never committed'));
  sim.runFor(5000);
  for (const sid of servers.keys()) if (sid !== leader) sim.partition(leader, sid, false);
  sim.runFor(5000);
  writes(5);
  sim.crash(leader);
  sim.runFor(3000);
  sim.restart(leader);
  sim.runFor(5000);
  writes(3);
  return out;
}

describe('transition log encoder', () => {
  for (const seed of [1, 2, 3]) {
    it(`writes what JSON.stringify writes for every event of a simulated run (seed ${seed})`, () => {
      const events = simulatedEvents(seed);
      const actions = new Set(events.map((e) => e.event.action));
      const types = new Set(events.flatMap((e) => [e.event.recv, ...(e.event.send ?? [])]).map((m) => m?.type));
      // The run covers the vocabulary the encoder special-cases.
      for (const a of ['ServerStart', 'FLEStartElection', 'FLEDecide', 'LeaderSyncFollower', 'LearnerProcessSNAP', 'LearnerProcessTRUNC', 'TxnLogAppend', 'SnapshotWrite', 'EpochFileWrite', 'ObserverProcessINFORM'])
        expect(actions, a).toContain(a);
      // Appends folded into a step's event (version 2), and messages that carry no txn operation.
      expect(events.some((e) => (e.event.appended?.length ?? 0) > 0)).toBe(true);
      // Applies to the data tree, named in the step that made them.
      expect(events.some((e) => (e.event.applied?.length ?? 0) > 0)).toBe(true);
      // A REQUEST (a learner forwarding a write) is not traced, like a PING.
      expect(types).not.toContain('REQUEST');
      for (const t of ['NOTIFICATION', 'FOLLOWERINFO', 'OBSERVERINFO', 'LEADERINFO', 'ACKEPOCH', 'DIFF', 'TRUNC', 'SNAP', 'PROPOSAL', 'COMMIT', 'ACK', 'NEWLEADER', 'UPTODATE', 'INFORM'])
        expect(types, t).toContain(t);
      let seq = 0;
      for (const { sid, event } of events) {
        const time = 1_795_317_493_563 + seq;
        const line = encode(++seq, sid, time, event);
        const ref = reference(seq, sid, time, event);
        expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
        expect(JSON.parse(line), ref).toEqual(JSON.parse(ref));
        expect(parseLine(line.slice(0, -1)).kind).toBe('event');
      }
    });
  }

  it('writes params and post values byte for byte as JSON.stringify does', () => {
    const odd: Record<string, unknown>[] = [
      { s: 'plain', q: 'a"b', b: 'a\\b', c: '\u0000\u001f\u007f', u: 'é✓😀', lone: '\udc00x\ud800', long: 'z'.repeat(33), longq: 'z'.repeat(40) + '\n' },
      { n: [0, -0, 1, -1, 9, 10, 99, 1073741823, 1073741824, 2 ** 53, -(2 ** 31), 1.5, 1e21, 1e-7, NaN, Infinity, -Infinity] },
      { nested: { a: [1, 'two', null, true, false, [], {}, { x: undefined }, undefined] }, skipped: undefined, f: () => 1, 'key "quoted"': 1, 'ключ': 2 },
      { date: new Date(0), map: new Map([[1, 2]]), withToJSON: { toJSON: () => 'J' }, nullProto: Object.assign(Object.create(null) as object, { a: 1 }) },
      { repairs: ['log.100000001: torn record at byte 77 ("short read")'] },
    ];
    for (const params of odd) {
      const raw: RawTraceEvent = { action: 'ServerStart', params, post: params };
      const line = encode(1, 1, 5, raw);
      expect(line).toBe(JSON.stringify({ type: 'event', seq: 1, sid: 1, action: 'ServerStart', time: 5, params, post: params }) + '\n');
    }
    // A receive is written by id (escaped like any string), the folded appends as zxids, a PROPOSAL without its op.
    const recv = { id: 'odd "id" ✓', from: 3, to: 1, type: 'PROPOSAL', zxid: 2 ** 32 + 1, op: 'b3BhcXVl', origin: { sid: 3, req: 1 } } as const;
    const ack = { id: '1:7', from: 1, to: 3, type: 'ACK', zxid: 2 ** 32 + 1 } as const;
    expect(encode(4, 1, 9, { action: 'FollowerProcessPROPOSAL', appended: [2 ** 32 + 1, 2 ** 32 + 0x80000000], recv, send: [ack, { ...recv, id: '1:8', from: 1, to: 2 }] })).toBe(
      JSON.stringify({
        type: 'event',
        seq: 4,
        sid: 1,
        action: 'FollowerProcessPROPOSAL',
        time: 9,
        appended: ['0x100000001', '0x180000000'],
        rid: 'odd "id" ✓',
        send: [
          { id: '1:7', from: 1, to: 3, type: 'ACK', zxid: '0x100000001' },
          { id: '1:8', from: 1, to: 2, type: 'PROPOSAL', zxid: '0x100000001' },
        ],
      }) + '\n',
    );
    // A line whose time is the line before's leaves it out (version 2); the reader carries it over.
    const enc = new LineEncoder(64);
    enc.line(1, 1, 5, { action: 'FLEStartElection' });
    enc.line(2, 1, 5, { action: 'FLEDecide' });
    enc.line(3, 1, 6, { action: 'LearnerConnect' });
    expect(enc.buf.toString('utf8', 0, enc.pos)).toBe(
      '{"type":"event","seq":1,"sid":1,"action":"FLEStartElection","time":5}\n{"type":"event","seq":2,"sid":1,"action":"FLEDecide"}\n{"type":"event","seq":3,"sid":1,"action":"LearnerConnect","time":6}\n',
    );
    // A step that changed no traced variable has no post.
    expect(encode(3, 2, 7, { action: 'LearnerForwardRequest', post: {} })).toBe('{"type":"event","seq":3,"sid":2,"action":"LearnerForwardRequest","time":7}\n');
  });
});

describe('transition log file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zk-tracelog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const header = { servers: [{ sid: 1, role: 'participant' as const }], params: { incarnation: 1 } };

  const linesOf = (path: string) => readFileSync(path, 'utf8').split('\n');

  it('keeps every line, in order, across buffer swaps, growth and close', async () => {
    const path = join(dir, 'many.ndjson');
    const log = new TransitionLog(path, 1, header);
    const big = 'v'.repeat(700 * 1024); // larger than the initial buffer: it grows
    const n = 6000;
    for (let i = 1; i <= n; i++) {
      log.append({ action: 'TxnLogAppend', params: { zxid: '0x' + (0x100000000 + i).toString(16), value: i === 3000 ? big : 'x'.repeat(200) }, post: { lastZxid: '0x1' } });
      // Let some writes complete in between, so that batches go out while others are filled.
      if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    log.close();
    const lines = linesOf(path);
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(n + 1);
    expect(JSON.parse(lines[0]!).type).toBe('header');
    lines.slice(1).forEach((l, i) => {
      const e = JSON.parse(l) as { seq: number; params: { zxid: string; value: string } };
      expect(e.seq).toBe(i + 1);
      expect(e.params.zxid).toBe('0x' + (0x100000000 + i + 1).toString(16));
      expect(e.params.value.length).toBe(i + 1 === 3000 ? big.length : 200);
    });
  });

  it('writes buffered lines within the flush interval without waiting for close', async () => {
    const path = join(dir, 'timer.ndjson');
    const log = new TransitionLog(path, 1, header);
    log.append({ action: 'FLEStartElection', post: { logicalclock: 1 } });
    log.append({ action: 'FLEDecide', post: { state: 'LEADING' } });
    expect(linesOf(path)).toHaveLength(2); // header only, and the empty string after its newline
    // The timer fires after 50 ms; the write completes in the thread pool. Bounded wait.
    for (let i = 0; i < 100 && linesOf(path).length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(linesOf(path).slice(1, 3).map((l) => (JSON.parse(l) as { action: string }).action)).toEqual(['FLEStartElection', 'FLEDecide']);
    log.append({ action: 'LearnerTimeout' });
    log.close();
    log.append({ action: 'AfterClose' });
    expect(linesOf(path).slice(1, -1).map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3]);
  });
});
