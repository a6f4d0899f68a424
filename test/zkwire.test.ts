// impl/zkwire: the jute record codec of ZooKeeper's client protocol, its frames, and the client against a fake
// server on 127.0.0.1 (no real ZooKeeper needed: bench/zk-protocol.ts and the client suites talk to one).
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ZkWireClient, ZkWireError } from '../impl/zkwire/client.ts';
import {
  ConnectRequest,
  ConnectResponse,
  CreateRequest,
  FrameSplitter,
  GetDataResponse,
  JuteError,
  JuteReader,
  JuteWriter,
  OPEN_ACL_UNSAFE,
  OpCode,
  ReplyHeader,
  RequestHeader,
  SetDataRequest,
  Stat,
  decode,
  decodeConnectResponse,
  encode,
  errorName,
  frame,
  type StatT,
} from '../impl/zkwire/jute.ts';
import { AddWatchMode, EventType } from '../impl/zkwire/codes.ts';
import { AuthPacket, ErrorResponse, GetChildrenResponse, MultiRequest, MultiResponse, encodeNotification } from '../impl/zkwire/records.ts';

const stat: StatT = {
  czxid: 0x100000001n,
  mzxid: 0x100000002n,
  ctime: 1_700_000_000_000n,
  mtime: 1_700_000_000_001n,
  version: 3,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 5,
  numChildren: 0,
  pzxid: 0x100000001n,
};

describe('jute codec', () => {
  it('writes ConnectRequest field by field, big-endian, as BinaryOutputArchive does', () => {
    const bytes = encode(ConnectRequest, { protocolVersion: 0, lastZxidSeen: 0x1234n, timeOut: 30_000, sessionId: -2n, passwd: Buffer.from([7, 8]), readOnly: true });
    expect(bytes.toString('hex')).toBe(
      '00000000' + // protocolVersion
        '0000000000001234' + // lastZxidSeen
        '00007530' + // timeOut 30000
        'fffffffffffffffe' + // sessionId -2
        '00000002' + '0708' + // passwd: length, bytes
        '01', // readOnly
    );
  });

  it('round-trips the records of the client protocol', () => {
    const cases: [{ write: (w: JuteWriter, v: never) => void; read: (r: JuteReader, f: string) => unknown; name: string }, unknown][] = [
      [ConnectRequest, { protocolVersion: 0, lastZxidSeen: 0n, timeOut: 4000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }],
      [ConnectResponse, { protocolVersion: 0, timeOut: 4000, sessionId: 0x7fffffffffffffffn, passwd: Buffer.from('0123456789abcdef'), readOnly: false }],
      [RequestHeader, { xid: -2, type: OpCode.ping }],
      [ReplyHeader, { xid: 42, zxid: -1n, err: -101 }],
      [CreateRequest, { path: '/key-1', data: Buffer.from('héllo'), acl: OPEN_ACL_UNSAFE, flags: 0 }],
      [CreateRequest, { path: '/n', data: null, acl: null, flags: 1 }],
      [SetDataRequest, { path: '/ζ', data: Buffer.alloc(0), version: -1 }],
      [GetDataResponse, { data: Buffer.from('value'), stat }],
      [Stat, stat],
    ];
    for (const [codec, value] of cases) {
      const bytes = encode(codec as never, value as never);
      expect(decode(codec as never, bytes), codec.name).toEqual(value);
    }
  });

  it('reads a ConnectResponse without the readOnly byte (servers before 3.4)', () => {
    const full = encode(ConnectResponse, { protocolVersion: 0, timeOut: 4000, sessionId: 5n, passwd: Buffer.alloc(16), readOnly: false });
    expect(decodeConnectResponse(full.subarray(0, full.length - 1))).toMatchObject({ timeOut: 4000, sessionId: 5n, readOnly: false });
  });

  it('names error codes', () => {
    expect(errorName(-101)).toBe('NONODE');
    expect(errorName(-110)).toBe('NODEEXISTS');
    expect(errorName(-9999)).toBe('ERROR(-9999)');
  });
});

describe('malformed input gives a JuteError naming the field', () => {
  const getData = encode(GetDataResponse, { data: Buffer.from('value'), stat });

  it('a truncated record', () => {
    expect(() => decode(GetDataResponse, getData.subarray(0, getData.length - 3))).toThrow(
      /^GetDataResponse\.stat\.pzxid: needs 8 byte\(s\) at offset \d+, only 5 left in a \d+-byte frame$/,
    );
    expect(() => decode(ReplyHeader, Buffer.alloc(0))).toThrow(/ReplyHeader\.xid: needs 4 byte/);
  });

  it('a length past the end of the frame', () => {
    const bad = Buffer.from(getData);
    bad.writeInt32BE(1000, 0); // data's length
    expect(() => decode(GetDataResponse, bad)).toThrow(/^GetDataResponse\.data: length 1000 at offset 0 runs past the end of the frame \(\d+ byte\(s\) left\)$/);
    const vec = new JuteWriter().ustring('/a').buffer(null).int(0x7fffffff).bytes();
    expect(() => decode(CreateRequest, vec)).toThrow(/CreateRequest\.acl: length 2147483647 .* runs past the end/);
  });

  it('a negative length other than -1 (null)', () => {
    const bad = Buffer.from(getData);
    bad.writeInt32BE(-2, 0);
    expect(() => decode(GetDataResponse, bad)).toThrow(/^GetDataResponse\.data: negative length -2 at offset 0$/);
  });

  it('trailing bytes, a boolean that is not 0 or 1, a string that is not UTF-8', () => {
    expect(() => decode(ReplyHeader, Buffer.concat([encode(ReplyHeader, { xid: 1, zxid: 1n, err: 0 }), Buffer.from([0])]))).toThrow(/^ReplyHeader: 1 unexpected byte\(s\) after offset 16$/);
    const rsp = encode(ConnectResponse, { protocolVersion: 0, timeOut: 1, sessionId: 1n, passwd: null, readOnly: false });
    rsp[rsp.length - 1] = 2;
    expect(() => decodeConnectResponse(rsp)).toThrow(/ConnectResponse\.readOnly: boolean byte 2/);
    expect(() => new JuteReader(new JuteWriter().buffer(Buffer.from([0xff, 0xfe])).bytes()).ustring('path')).toThrow(/^path: string at offset 0 is not valid UTF-8$/);
  });

  it('frames: split across chunks, several per chunk; a negative or oversized length fails', () => {
    const a = frame(Buffer.from('abc'));
    const b = frame(Buffer.from('defg'));
    const s = new FrameSplitter();
    const all = Buffer.concat([a, b]);
    const got: string[] = [];
    for (let i = 0; i < all.length; i += 3) got.push(...s.push(all.subarray(i, i + 3)).map((f) => f.toString()));
    expect(got).toEqual(['abc', 'defg']);
    expect(s.pending).toBe(0);
    expect(new FrameSplitter().push(Buffer.concat([a, b])).map((f) => f.toString())).toEqual(['abc', 'defg']);
    expect(() => new FrameSplitter().push(Buffer.from([0xff, 0xff, 0xff, 0xfb]))).toThrow(new JuteError('frame length -5 is outside 0..1049599'));
    expect(() => new FrameSplitter(100).push(Buffer.from([0, 0, 0, 101]))).toThrow(/frame length 101 is outside 0\.\.100/);
  });
});

// ---- the client against a fake server ----------------------------------------------------------------------

type Handler = (sock: Socket, xid: number, type: number, body: Buffer) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((res) => s.close(res))));
});

/** A server on 127.0.0.1 that accepts one session and hands each request to `handler`. */
async function fakeServer(handler: Handler, connectReply?: (sock: Socket) => void): Promise<number> {
  const server = createServer((sock) => {
    const split = new FrameSplitter();
    let connected = false;
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      for (const f of split.push(chunk)) {
        if (!connected) {
          connected = true;
          decode(ConnectRequest, f);
          if (connectReply) connectReply(sock);
          else sock.write(frame(encode(ConnectResponse, { protocolVersion: 0, timeOut: 3000, sessionId: 77n, passwd: Buffer.alloc(16), readOnly: false })));
          continue;
        }
        const r = new JuteReader(f);
        const h = RequestHeader.read(r, '');
        handler(sock, h.xid, h.type, f.subarray(8));
      }
    });
  });
  servers.push(server);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  return (server.address() as { port: number }).port;
}

const reply = (sock: Socket, xid: number, err: number, ...body: Buffer[]) => sock.write(frame(encode(ReplyHeader, { xid, zxid: 9n, err }), ...body));

describe('ZkWireClient', () => {
  it('pipelines requests, matches replies in order, passes server errors through without failing the connection', async () => {
    const data = new Map<string, Buffer>();
    const port = await fakeServer((sock, xid, type, body) => {
      if (type === OpCode.setData) {
        const req = decode(SetDataRequest, body);
        data.set(req.path!, req.data!);
        reply(sock, xid, 0, encode(Stat, stat));
      } else if (type === OpCode.getData) {
        const path = new JuteReader(body).ustring('path')!;
        const v = data.get(path);
        if (v === undefined) reply(sock, xid, -101);
        else reply(sock, xid, 0, encode(GetDataResponse, { data: v, stat }));
      } else if (type === OpCode.closeSession) {
        reply(sock, xid, 0);
        sock.end();
      }
    });
    const c = await ZkWireClient.connect({ port });
    expect(c.sessionId).toBe(77n);
    expect(c.sessionTimeoutMs).toBe(3000);
    const writes = Array.from({ length: 50 }, (_, i) => c.setData(`/k${i}`, Buffer.from(`v${i}`)));
    const reads = Array.from({ length: 50 }, (_, i) => c.getData(`/k${i}`));
    expect((await Promise.all(writes))[0]).toEqual(stat);
    expect((await Promise.all(reads)).map((r) => r.data!.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    await expect(c.getData('/none')).rejects.toMatchObject({ code: 'NONODE' });
    expect((await c.getData('/k1')).data!.toString()).toBe('v1');
    await c.close();
    expect(c.error?.code).toBe('CLOSED');
  });

  it('a malformed reply fails the connection with one line', async () => {
    const port = await fakeServer((sock, xid) => {
      // A GetDataResponse whose data length runs past the end.
      reply(sock, xid, 0, Buffer.from([0, 0, 0x10, 0]));
    });
    const c = await ZkWireClient.connect({ port });
    const [r1, r2] = await Promise.allSettled([c.getData('/a'), c.getData('/b')]);
    expect(r1.status).toBe('rejected');
    const e = (r1 as PromiseRejectedResult).reason as unknown;
    expect(e).toBeInstanceOf(ZkWireError);
    expect((e as ZkWireError).code).toBe('BAD_REPLY');
    expect((e as ZkWireError).message).toMatch(/^127\.0\.0\.1:\d+: malformed reply: getData \/a\.data: length 4096 at offset 16 runs past the end of the frame \(0 byte\(s\) left\)$/);
    expect(r2).toEqual({ status: 'rejected', reason: e });
    await expect(c.getData('/c')).rejects.toBe(e);
    await c.close();
  });

  it('a reply out of order, a negative frame length, and a refused session are reported, not thrown', async () => {
    const outOfOrder = await fakeServer((sock, xid) => reply(sock, xid + 1, 0));
    const c1 = await ZkWireClient.connect({ port: outOfOrder });
    await expect(c1.delete('/x')).rejects.toThrow(/reply with xid 2 while the oldest request in flight is xid 1 \(delete \/x\)/);
    await c1.close();

    const negative = await fakeServer((sock) => sock.write(Buffer.from([0x80, 0, 0, 0])));
    const c2 = await ZkWireClient.connect({ port: negative });
    await expect(c2.exists('/x')).rejects.toMatchObject({ code: 'BAD_REPLY', message: expect.stringMatching(/frame length -2147483648 is outside/) });
    await c2.close();

    const refusing = await fakeServer(
      () => {},
      (sock) => sock.end(frame(encode(ConnectResponse, { protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }))),
    );
    await expect(ZkWireClient.connect({ port: refusing })).rejects.toMatchObject({ code: 'SESSIONEXPIRED' });

    const truncated = await fakeServer(
      () => {},
      (sock) => sock.end(frame(Buffer.from([0, 0, 0, 0, 0, 0]))),
    );
    await expect(ZkWireClient.connect({ port: truncated })).rejects.toThrow(/ConnectResponse\.timeOut: needs 4 byte\(s\) at offset 4, only 2 left/);
    await expect(ZkWireClient.connect({ port: 0 })).rejects.toThrow(/zkwire options: port: /);
  });

  it('pings at a third of the session timeout, and ping replies do not disturb the order', async () => {
    let pings = 0;
    const port = await fakeServer(
      (sock, xid, type) => {
        if (type === OpCode.ping) {
          pings++;
          reply(sock, -2, 0);
        } else {
          reply(sock, xid, 0);
          if (type === OpCode.closeSession) sock.end();
        }
      },
      (sock) => sock.write(frame(encode(ConnectResponse, { protocolVersion: 0, timeOut: 150, sessionId: 1n, passwd: Buffer.alloc(16), readOnly: false }))),
    );
    const c = await ZkWireClient.connect({ port, sessionTimeoutMs: 150 });
    await new Promise((res) => setTimeout(res, 400));
    await c.delete('/y');
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(c.error).toBeNull();
    await c.close();
  });
});

describe('ZkWireClient: watches, auth and multi (fake server, no ZooKeeper needed)', () => {
  const notify = (sock: Socket, type: number, path: string) => sock.write(frame(encodeNotification(new JuteWriter(), { type, state: 3, path })));

  it('a watch callback runs once per event as ZooKeeper\'s client dispatches it: one-shot data/exist/child watches, persistent and recursive ones', async () => {
    let sock!: Socket;
    const port = await fakeServer((s, xid, type) => {
      sock = s;
      if (type === OpCode.getData) reply(s, xid, 0, encode(GetDataResponse, { data: null, stat }));
      else if (type === OpCode.exists) reply(s, xid, -101);
      else if (type === OpCode.getChildren) reply(s, xid, 0, encode(GetChildrenResponse, { children: [] }));
      else if (type === OpCode.addWatch) reply(s, xid, 0, encode(ErrorResponse, { err: 0 }));
    });
    const c = await ZkWireClient.connect({ port });
    const seen: string[] = [];
    const rec = (tag: string) => (e: { type: number; path: string | null }) => void seen.push(`${tag} ${e.type} ${e.path}`);
    await c.getData('/a', rec('data'));
    expect(await c.exists('/b', rec('exist'))).toBeNull(); // NONODE: the watch is set for the creation
    await c.getChildren('/', rec('child'));
    await c.addWatch('/r', AddWatchMode.PERSISTENT_RECURSIVE, rec('recursive'));
    await c.addWatch('/a', AddWatchMode.PERSISTENT, rec('persistent'));
    notify(sock, EventType.NodeDataChanged, '/a');
    notify(sock, EventType.NodeDataChanged, '/a'); // the data watch is gone; the persistent one stays
    notify(sock, EventType.NodeCreated, '/b');
    notify(sock, EventType.NodeChildrenChanged, '/');
    notify(sock, EventType.NodeCreated, '/r/x/y');
    notify(sock, EventType.NodeChildrenChanged, '/r'); // never to a recursive watch
    for (let i = 0; i < 50 && seen.length < 6; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['data 3 /a', 'persistent 3 /a', 'persistent 3 /a', 'exist 1 /b', 'child 4 /', 'recursive 1 /r/x/y']);
    expect(c.events).toHaveLength(6);
    c.disconnect();
  });

  it('addAuth\'s reply (xid -4) may come before the replies of earlier requests; AUTHFAILED rejects it', async () => {
    const held: [Socket, number][] = [];
    const port = await fakeServer((s, xid, type, body) => {
      if (type === OpCode.getData) held.push([s, xid]);
      else if (type === OpCode.auth) {
        const a = decode(AuthPacket, body);
        expect(xid).toBe(-4);
        reply(s, -4, a.auth!.toString() === 'u:good' ? 0 : -115);
        for (const [hs, hx] of held.splice(0)) reply(hs, hx, -101);
      }
    });
    const c = await ZkWireClient.connect({ port });
    const read = c.getData('/x');
    await c.addAuth('digest', 'u:good');
    await expect(read).rejects.toMatchObject({ code: 'NONODE' });
    await expect(c.addAuth('digest', 'u:bad')).rejects.toMatchObject({ code: 'AUTHFAILED' });
    expect(c.error).toBeNull();
    c.disconnect();
  });

  it('a failed multi (header err 0, error results in the body) rejects with the first error and carries every result', async () => {
    const port = await fakeServer((s, xid, type, body) => {
      expect(type).toBe(OpCode.multi);
      expect(decode(MultiRequest, body).map((o) => o.type)).toEqual([OpCode.create, OpCode.check]);
      reply(s, xid, 0, encode(MultiResponse, [{ type: -1, err: 0, body: { err: 0 } }, { type: -1, err: -103, body: { err: -103 } }]));
    });
    const c = await ZkWireClient.connect({ port });
    const e = await c.multi([{ op: 'create', path: '/a' }, { op: 'check', path: '/b', version: 3 }]).catch((x: ZkWireError) => x);
    expect(e).toMatchObject({ code: 'BADVERSION' });
    expect((e as ZkWireError).results?.map((r) => r.err)).toEqual([0, -103]);
    c.disconnect();
  });

  it('a notification that is not a WatcherEvent fails the connection with one line', async () => {
    let sock!: Socket;
    const port = await fakeServer((s, xid) => {
      sock = s;
      reply(s, xid, 0, encode(Stat, stat));
    });
    const c = await ZkWireClient.connect({ port });
    await c.setData('/a', Buffer.alloc(0));
    sock.write(frame(encode(ReplyHeader, { xid: -1, zxid: -1n, err: 0 }), Buffer.from([0, 0])));
    for (let i = 0; i < 50 && c.error === null; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.error?.message).toMatch(/malformed reply: notification\.type: needs 4 byte/);
  });
});
