// The suite that proves a server is a ZooKeeper, through clients we did not write: node-zookeeper-client (a
// widely used JavaScript client) for every operation, each watch type, the error codes, sequential names,
// ephemerals, digest ACLs and multi; our client library (impl/zkwire/client.ts) for what that client lacks
// (persistent and recursive watches, removeWatches, create2, getEphemerals, getAllChildrenNumber, whoAmI);
// Debian's zkCli.sh; our zkcli. Built and validated against Apache ZooKeeper 3.8 (3 servers on loopback); the
// target comes from test/support/zk-target.ts (ZK_TARGET=ours runs it against our server).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fourLetterResponse, whitelist, type ConnectionStats, type FourLetterStats } from '../impl/zk/four-letter-words.ts';
import { run as zkcli } from '../impl/zkcli.ts';
import { fourLetterWord } from '../impl/zkwire/four-letter.ts';
import { ZkWireClient, ZkWireError, type Watcher } from '../impl/zkwire/client.ts';
import { AddWatchMode, CreateMode, EventType, Perms, WatcherType, errorName } from '../impl/zkwire/codes.ts';
import type { WatcherEventT } from '../impl/zkwire/records.ts';
import { apacheMissing, startTarget, zkCliPath, type Target } from './support/zk-target.ts';

const kind = process.env['ZK_TARGET'] ?? 'apache';
const missing = kind === 'apache' ? apacheMissing() : null;
if (missing !== null) console.warn(`test/zk-client-suite: skipped: ${missing}`);

let target: Target;
const opened: { close(): unknown }[] = [];

beforeAll(async () => {
  if (missing !== null) return;
  const t = await startTarget(kind);
  if ('skip' in t) throw new Error(t.skip);
  target = t;
}, 90_000);

afterAll(async () => {
  for (const c of opened.splice(0)) await Promise.resolve(c.close()).catch(() => {});
  await target?.close();
}, 30_000);

// ---- node-zookeeper-client, promisified -------------------------------------------------------------------

type Nzk = zookeeper.Client;

async function nzk(server = 0, sessionTimeout = 4000): Promise<Nzk> {
  const s = target.servers[server]!;
  const c = zookeeper.createClient(`${s.host}:${s.port}`, { sessionTimeout, spinDelay: 100, retries: 0 });
  const up = new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('node-zookeeper-client: no session within 10 s')), 10_000);
    c.once('connected', () => {
      clearTimeout(timer);
      res();
    });
  });
  c.connect();
  await up;
  opened.push(c);
  return c;
}

/** Calls a node-zookeeper-client method; resolves with its result or rejects with the error's name as ZooKeeper spells it. */
function call<T = unknown>(f: (cb: (err: unknown, ...rest: unknown[]) => void) => void): Promise<T> {
  return new Promise((res, rej) =>
    f((err, ...rest) => {
      if (err) {
        const code = (err as { code?: unknown }).code;
        rej(new Error(typeof code === 'number' ? errorName(code) : String(err)));
      } else res((rest.length > 1 ? rest : rest[0]) as T);
    }),
  );
}

const code = async (p: Promise<unknown>) => p.then(() => 'OK', (e: Error) => e.message);
const long = (b: Buffer) => b.readBigInt64BE(0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a condition, at most ms. */
async function until(what: string, ms: number, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

let n = 0;
/** A fresh test root per test. */
async function root(c: Nzk): Promise<string> {
  const p = `/t${Date.now().toString(36)}${n++}`;
  await call((cb) => c.create(p, cb));
  return p;
}

async function wire(server = 0, opts: { sessionTimeoutMs?: number } = {}): Promise<ZkWireClient> {
  const s = target.servers[server]!;
  const c = await ZkWireClient.connect({ host: s.host, port: s.port, ...opts });
  opened.push(c);
  return c;
}

/** Events a watcher saw, as "NodeCreated /path" strings. */
function recorder(): { fn: Watcher; seen: string[] } {
  const seen: string[] = [];
  const name = (t: number) => Object.entries(EventType).find(([, v]) => v === t)![0];
  return { seen, fn: (e: WatcherEventT) => void seen.push(`${name(e.type)} ${e.path}`) };
}

describe.skipIf(missing !== null)(`a ZooKeeper, seen through node-zookeeper-client (${kind})`, () => {
  it('create, getData, setData, exists, getChildren, delete: the data and the Stat move as ZooKeeper says', async () => {
    const c = await nzk();
    const r = await root(c);
    expect(await call((cb) => c.create(`${r}/a`, Buffer.from('one'), cb))).toBe(`${r}/a`);
    const [data, st] = await call<[Buffer, zookeeper.Stat]>((cb) => c.getData(`${r}/a`, cb));
    expect([data.toString(), st.version, st.dataLength, st.numChildren, long(st.ephemeralOwner)]).toEqual(['one', 0, 3, 0, 0n]);
    expect(long(st.czxid)).toBe(long(st.mzxid));
    const st2 = await call<zookeeper.Stat>((cb) => c.setData(`${r}/a`, Buffer.from('two!'), 0, cb));
    expect([st2.version, st2.dataLength]).toEqual([1, 4]);
    expect(long(st2.mzxid) > long(st.mzxid)).toBe(true);
    expect(long(st2.czxid)).toBe(long(st.czxid));
    await call((cb) => c.create(`${r}/b`, cb));
    const [children, pst] = await call<[string[], zookeeper.Stat]>((cb) => c.getChildren(r, cb));
    expect(children.sort()).toEqual(['a', 'b']);
    expect([pst.numChildren, pst.cversion]).toEqual([2, 2]);
    await call((cb) => c.remove(`${r}/a`, 1, cb));
    expect(await call((cb) => c.exists(`${r}/a`, cb))).toBeNull();
    const pst2 = await call<zookeeper.Stat>((cb) => c.exists(r, cb));
    expect([pst2.numChildren, pst2.cversion]).toEqual([1, 3]);
  });

  it('the error codes: NONODE, NODEEXISTS, BADVERSION, NOTEMPTY, NOCHILDRENFOREPHEMERALS', async () => {
    const c = await nzk();
    const r = await root(c);
    expect(await code(call((cb) => c.create(`${r}/x/y`, cb)))).toBe('NONODE');
    expect(await code(call((cb) => c.getData(`${r}/none`, cb)))).toBe('NONODE');
    expect(await code(call((cb) => c.setData(`${r}/none`, Buffer.alloc(0), cb)))).toBe('NONODE');
    expect(await code(call((cb) => c.remove(`${r}/none`, cb)))).toBe('NONODE');
    await call((cb) => c.create(`${r}/a`, cb));
    expect(await code(call((cb) => c.create(`${r}/a`, cb)))).toBe('NODEEXISTS');
    expect(await code(call((cb) => c.setData(`${r}/a`, Buffer.from('x'), 5, cb)))).toBe('BADVERSION');
    expect(await code(call((cb) => c.remove(`${r}/a`, 3, cb)))).toBe('BADVERSION');
    await call((cb) => c.create(`${r}/a/child`, cb));
    expect(await code(call((cb) => c.remove(`${r}/a`, cb)))).toBe('NOTEMPTY');
    await call((cb) => c.create(`${r}/e`, Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL, cb));
    expect(await code(call((cb) => c.create(`${r}/e/child`, cb)))).toBe('NOCHILDRENFOREPHEMERALS');
  });

  it('BADARGUMENTS for a path the server refuses (but NONODE first when the parent is missing), and UNIMPLEMENTED for TTL nodes when extended types are off (3.8\'s default)', async () => {
    const c = await nzk();
    const r = await root(c);
    const w = await wire();
    const createCode = (p: string) => w.create(p, Buffer.alloc(0)).then(() => 'OK', (e: ZkWireError) => e.code);
    expect(await createCode(`${r}/x\u0000y`)).toBe('BADARGUMENTS');
    expect(await createCode('relative')).toBe('BADARGUMENTS');
    expect(await createCode('')).toBe('BADARGUMENTS');
    // 3.8.0's PrepRequestProcessor looks the parent up before it validates the path:
    expect(await createCode(`${r}//x`)).toBe('NONODE');
    expect(await createCode(`${r}/./x`)).toBe('NONODE');
    expect(await createCode(`${r}/x/`)).toBe('NONODE');
    expect(await w.createTTL(`${r}/ttl`, Buffer.alloc(0), 1000).then(() => 'OK', (e: ZkWireError) => e.code)).toBe('UNIMPLEMENTED');
  });

  // The counter is the number of children ever created under the parent (DataNode's persisted cversion, which a
  // delete does not raise); the cversion a Stat shows counts deletes too (DataNode.copyStat: 2 * cversion -
  // numChildren). So after three creates and a delete the Stat says cversion 4 and the next name ends in 3.
  it('sequential names: a 10-digit counter of the children ever created, shared by every kind of child; Stat.cversion counts deletes too', async () => {
    const c = await nzk();
    const r = await root(c);
    const a = await call<string>((cb) => c.create(`${r}/q-`, Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT_SEQUENTIAL, cb));
    await call((cb) => c.create(`${r}/plain`, cb));
    const b = await call<string>((cb) => c.create(`${r}/q-`, Buffer.alloc(0), zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, cb));
    await call((cb) => c.remove(`${r}/plain`, cb));
    const d = await (await wire()).create(`${r}/`, Buffer.alloc(0), CreateMode.PERSISTENT_SEQUENTIAL); // node-zookeeper-client refuses a trailing /
    expect([a, b, d]).toEqual([`${r}/q-0000000000`, `${r}/q-0000000002`, `${r}/0000000003`]);
    const st = await call<zookeeper.Stat>((cb) => c.exists(r, cb));
    expect([st.cversion, st.numChildren]).toEqual([5, 3]);
  });

  it('ephemerals: owned by the session, listed by getEphemerals, gone when the session closes', async () => {
    const c = await nzk();
    const r = await root(c);
    const owner = await wire();
    await owner.create(`${r}/e1`, Buffer.alloc(0), CreateMode.EPHEMERAL);
    await owner.create(`${r}/e2`, Buffer.alloc(0), CreateMode.EPHEMERAL_SEQUENTIAL);
    const st = await call<zookeeper.Stat>((cb) => c.exists(`${r}/e1`, cb));
    expect(long(st.ephemeralOwner)).toBe(owner.sessionId);
    expect((await owner.getEphemerals(r)).sort()).toEqual([`${r}/e1`, `${r}/e20000000001`]);
    await owner.close();
    expect((await call<[string[]]>((cb) => c.getChildren(r, cb)))[0]).toEqual([]);
  });

  it('ephemerals: gone when the session expires (the connection dropped, nothing heard for the timeout)', async () => {
    const c = await nzk();
    const r = await root(c);
    const owner = await wire(1, { sessionTimeoutMs: 1000 });
    await owner.create(`${r}/e`, Buffer.alloc(0), CreateMode.EPHEMERAL);
    owner.disconnect();
    expect(await call((cb) => c.exists(`${r}/e`, cb))).not.toBeNull();
    await until('the ephemeral of an expired session removed', 15_000, async () => (await call((cb) => c.exists(`${r}/e`, cb))) === null);
  }, 20_000);

  it('ACLs with digest auth: NOAUTH without the credentials, every op with them; getACL/setACL and aversion', async () => {
    const c = await nzk();
    const r = await root(c);
    const digest = `alice:${createHash('sha1').update('alice:secret').digest('base64')}`;
    const acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('digest', digest))];
    await call((cb) => c.create(`${r}/s`, Buffer.from('hidden'), acl, zookeeper.CreateMode.PERSISTENT, cb));
    expect(await code(call((cb) => c.getData(`${r}/s`, cb)))).toBe('NOAUTH');
    expect(await code(call((cb) => c.setData(`${r}/s`, Buffer.from('x'), cb)))).toBe('NOAUTH');
    expect(await code(call((cb) => c.create(`${r}/s/k`, cb)))).toBe('NOAUTH');
    expect(await call((cb) => c.exists(`${r}/s`, cb))).not.toBeNull(); // exists needs no permission
    // Every session of this story on one server: a read on another server may not yet see a write (ZooKeeper
    // orders each session's view, not all sessions' views).
    const bob = await nzk(0);
    bob.addAuthInfo('digest', Buffer.from('alice:wrong'));
    expect(await code(call((cb) => bob.getData(`${r}/s`, cb)))).toBe('NOAUTH');
    const alice = await nzk(0);
    alice.addAuthInfo('digest', Buffer.from('alice:secret'));
    const [data] = await call<[Buffer]>((cb) => alice.getData(`${r}/s`, cb));
    expect(data.toString()).toBe('hidden');
    const [acls, st] = await call<[zookeeper.ACL[], zookeeper.Stat]>((cb) => alice.getACL(`${r}/s`, cb));
    expect(acls.map((a) => [(a as unknown as { permission: number }).permission, a.id.scheme, a.id.id])).toEqual([[Perms.ALL, 'digest', digest]]);
    const read = [new zookeeper.ACL(zookeeper.Permission.READ, new zookeeper.Id('world', 'anyone'))];
    expect(await code(call((cb) => alice.setACL(`${r}/s`, read, st.aversion + 1, cb)))).toBe('BADVERSION');
    const st2 = await call<zookeeper.Stat>((cb) => alice.setACL(`${r}/s`, read, st.aversion, cb));
    expect(st2.aversion).toBe(1);
    // c is on another server than alice: without a sync it sees the new ACL once that server applied it.
    await until('the new ACL applied on c\'s server', 5000, async () => (await code(call((cb) => c.getData(`${r}/s`, cb)))) === 'OK');
    const [open] = await call<[Buffer]>((cb) => c.getData(`${r}/s`, cb));
    expect(open.toString()).toBe('hidden');
    expect(await code(call((cb) => c.setData(`${r}/s`, Buffer.from('x'), cb)))).toBe('NOAUTH');
    const w = await wire(0);
    await w.addAuth('digest', 'alice:secret');
    expect(await w.whoAmI()).toContainEqual({ authScheme: 'digest', user: 'alice' });
    // An ACL with an unknown scheme is refused before the permission check.
    expect(await code(call((cb) => c.setACL(`${r}/s`, [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('nosuch', 'x'))], cb)))).toBe('INVALIDACL');
    expect(await w.setACL(`${r}/s`, [{ perms: Perms.ALL, id: { scheme: 'nosuch', id: 'x' } }]).then(() => 'OK', (e: ZkWireError) => e.code)).toBe('INVALIDACL');
  });

  it('multi: all or nothing; the results of each op; the first failure named, the rest rolled back', async () => {
    const c = await nzk();
    const r = await root(c);
    const ok = await call<{ type: number }[]>((cb) => c.transaction().create(`${r}/m`, Buffer.from('v')).setData(`${r}/m`, Buffer.from('w'), 0).check(`${r}/m`, 1).create(`${r}/m/k`).commit(cb));
    expect(ok.map((x) => x.type)).toEqual([1, 5, 13, 1]);
    const failed = call((cb) => c.transaction().create(`${r}/n`).check(`${r}/m`, 5).remove(`${r}/m/k`).commit(cb));
    expect(await code(failed)).toBe('BADVERSION');
    expect(await call((cb) => c.exists(`${r}/n`, cb))).toBeNull();
    expect(await call((cb) => c.exists(`${r}/m/k`, cb))).not.toBeNull();
    const w = await wire();
    const err = await w.multi([{ op: 'create', path: `${r}/n` }, { op: 'delete', path: `${r}/none` }, { op: 'setData', path: `${r}/m`, data: Buffer.alloc(0) }]).then(
      () => null,
      (e: ZkWireError) => e,
    );
    expect(err?.code).toBe('NONODE');
    expect(err?.results?.map((x) => errorName(x.err))).toEqual(['OK', 'NONODE', 'RUNTIMEINCONSISTENCY']);
    const reads = await w.multiRead([{ op: 'getData', path: `${r}/m` }, { op: 'getChildren', path: `${r}/m` }, { op: 'getData', path: `${r}/none` }]);
    expect(reads.map((x) => [x.type, errorName(x.err)])).toEqual([[4, 'OK'], [8, 'OK'], [-1, 'NONODE']]);
    expect(reads[0]!.body.data.toString()).toBe('w');
    expect(reads[1]!.body.children).toEqual(['k']);
  });

  it('one-shot watches: getData, exists (also on a missing node), getChildren; each fires once', async () => {
    const c = await nzk();
    const r = await root(c);
    const other = await nzk(1);
    const seen: string[] = [];
    const w = (tag: string) => (e: zookeeper.Event) => void seen.push(`${tag} ${e.getName()} ${e.getPath()}`);
    await call((cb) => c.exists(`${r}/a`, w('exists'), cb));
    await call((cb) => c.getChildren(r, w('children'), cb));
    await call((cb) => other.create(`${r}/a`, Buffer.from('1'), cb));
    await until('NodeCreated and NodeChildrenChanged', 5000, () => seen.length >= 2);
    await call((cb) => c.getData(`${r}/a`, w('data'), cb));
    await call((cb) => other.setData(`${r}/a`, Buffer.from('2'), cb));
    await call((cb) => other.setData(`${r}/a`, Buffer.from('3'), cb)); // no watch left: nothing more
    await call((cb) => c.getData(`${r}/a`, w('data'), cb));
    await call((cb) => c.getChildren(r, w('children'), cb));
    await call((cb) => other.remove(`${r}/a`, cb));
    await until('NodeDeleted and NodeChildrenChanged', 5000, () => seen.length >= 5);
    await sleep(200);
    expect(seen).toEqual([
      `exists NODE_CREATED ${r}/a`,
      `children NODE_CHILDREN_CHANGED ${r}`,
      `data NODE_DATA_CHANGED ${r}/a`,
      `data NODE_DELETED ${r}/a`,
      `children NODE_CHILDREN_CHANGED ${r}`,
    ]);
  });

  it('persistent and recursive watches (addWatch): they stay, a recursive one sees every descendant but no NodeChildrenChanged', async () => {
    const c = await nzk();
    const r = await root(c);
    const w = await wire();
    const p = recorder();
    const rec = recorder();
    await w.addWatch(r, AddWatchMode.PERSISTENT, p.fn);
    await w.addWatch(`${r}/d`, AddWatchMode.PERSISTENT_RECURSIVE, rec.fn);
    for (const path of [`${r}/d`, `${r}/d/e`, `${r}/d/e/f`]) await call((cb) => c.create(path, cb));
    await call((cb) => c.setData(`${r}/d/e/f`, Buffer.from('x'), cb));
    await call((cb) => c.setData(r, Buffer.from('x'), cb));
    await call((cb) => c.remove(`${r}/d/e/f`, cb));
    await until('the last events', 5000, () => rec.seen.length >= 5 && p.seen.length >= 2);
    await sleep(200);
    expect(p.seen).toEqual([`NodeChildrenChanged ${r}`, `NodeDataChanged ${r}`]);
    expect(rec.seen).toEqual([`NodeCreated ${r}/d`, `NodeCreated ${r}/d/e`, `NodeCreated ${r}/d/e/f`, `NodeDataChanged ${r}/d/e/f`, `NodeDeleted ${r}/d/e/f`]);
  });

  it('removeWatches and checkWatches: OK for a watch this connection holds, NOWATCHER otherwise; a removed watch never fires', async () => {
    const c = await nzk();
    const r = await root(c);
    await call((cb) => c.create(`${r}/a`, cb));
    const w = await wire();
    const rec = recorder();
    const codeOf = (p: Promise<void>) => p.then(() => 'OK', (e: ZkWireError) => e.code);
    expect(await codeOf(w.removeWatches(`${r}/a`, WatcherType.Data))).toBe('NOWATCHER');
    await w.getData(`${r}/a`, rec.fn);
    expect(await codeOf(w.checkWatches(`${r}/a`, WatcherType.Data))).toBe('OK');
    expect(await codeOf(w.removeWatches(`${r}/a`, WatcherType.Children))).toBe('NOWATCHER');
    expect(await codeOf(w.removeWatches(`${r}/a`, WatcherType.Data))).toBe('OK');
    expect(await codeOf(w.removeWatches(`${r}/a`, WatcherType.Data))).toBe('NOWATCHER');
    await call((cb) => c.setData(`${r}/a`, Buffer.from('x'), cb));
    await w.sync(`${r}/a`);
    await sleep(200);
    expect(rec.seen).toEqual([]);
  });

  it('setWatches on a resumed session: what happened while away fires at once', async () => {
    const c = await nzk();
    const r = await root(c);
    await call((cb) => c.create(`${r}/a`, cb));
    const w = await wire(0, { sessionTimeoutMs: 4000 });
    await w.getData(`${r}/a`, () => {});
    await w.exists(`${r}/b`, () => {});
    const lists = w.watchLists();
    const zxid = w.lastZxid;
    w.disconnect();
    await call((cb) => c.setData(`${r}/a`, Buffer.from('x'), cb));
    await call((cb) => c.create(`${r}/b`, cb));
    const s = target.servers[1]!;
    const back = await ZkWireClient.connect({ host: s.host, port: s.port, sessionId: w.sessionId, passwd: w.passwd, lastZxidSeen: zxid, sessionTimeoutMs: 4000 });
    opened.push(back);
    expect(back.sessionId).toBe(w.sessionId);
    await back.sync(r); // the other server has applied the writes made through server 0 before it checks the watches
    await back.setWatches(zxid, lists);
    await until('the missed events', 5000, () => back.events.length >= 2);
    expect(back.events.map((e) => [e.type, e.path])).toEqual([
      [EventType.NodeDataChanged, `${r}/a`],
      [EventType.NodeCreated, `${r}/b`],
    ]);
  });

  it('create2 returns the Stat; getAllChildrenNumber counts every descendant; sync', async () => {
    const c = await nzk();
    const r = await root(c);
    const w = await wire();
    const { path, stat } = await w.create2(`${r}/a`, Buffer.from('xyz'));
    expect([path, stat.version, stat.dataLength, stat.czxid === stat.mzxid]).toEqual([`${r}/a`, 0, 3, true]);
    await w.create(`${r}/a/b`, Buffer.alloc(0));
    await w.create(`${r}/a/b/c`, Buffer.alloc(0));
    expect(await w.getAllChildrenNumber(r)).toBe(3);
    expect(await w.sync(r)).toBe(r);
  });

  it('our move (op 1001): Apache ZooKeeper answers UNIMPLEMENTED and closes the connection; ours moves the subtree', async () => {
    const c = await nzk();
    const r = await root(c);
    await call((cb) => c.create(`${r}/from`, Buffer.from('v'), cb));
    await call((cb) => c.create(`${r}/from/k`, cb));
    const w = await wire();
    const result = await w.move(`${r}/from`, `${r}/to`).then(() => 'OK', (e: ZkWireError) => e.code);
    // Ours says so in srvr's version line ("zab-check (impl/)").
    const ours = /zab-check/.test((await fourLetterWord(target.servers[0]!.port, 'srvr', 5000)) ?? '');
    if (!ours) {
      expect(result).toBe('UNIMPLEMENTED');
      await until('the connection closed', 5000, () => w.error !== null);
      expect(w.error?.code).toBe('CONNECTIONLOSS');
    } else {
      expect(result).toBe('OK');
      expect((await call<[string[]]>((cb) => c.getChildren(`${r}/to`, cb)))[0]).toEqual(['k']);
      expect(await call((cb) => c.exists(`${r}/from`, cb))).toBeNull();
    }
  });
});

describe.skipIf(missing !== null)(`four-letter words of ${kind}, rebuilt by impl/zk/four-letter-words.ts`, () => {
  /** The stats our formatter needs, read back from the server's own srvr/stat/wchc/wchp/dump/conf text. */
  function parse(texts: Record<string, string>): FourLetterStats {
    const v = (re: RegExp) => re.exec(texts['srvr']!)?.[1] ?? '';
    const lat = v(/^Latency min\/avg\/max: (\S+)$/m).split('/');
    const prop = /^Proposal sizes last\/min\/max: (\S+)$/m.exec(texts['srvr']!)?.[1]?.split('/').map(Number);
    const dummy: ConnectionStats = { remote: '?', interestOps: 0, queued: 0, received: 0, sent: 0, sessionId: 0n, lastOp: '', established: null, sessionTimeoutMs: 0, lastCxid: -1, lastZxid: -1n, lastResponseTime: 0, lastLatencyMs: 0, minLatencyMs: 0, avgLatencyMs: 0, maxLatencyMs: 0 };
    const conns: ConnectionStats[] = [...texts['stat']!.matchAll(/^ (\S+)\[(\w+)\]\(queued=(\d+),recved=(\d+),sent=(\d+)\)$/gm)].map((m) => ({
      remote: m[1]!, interestOps: parseInt(m[2]!, 16), queued: +m[3]!, received: +m[4]!, sent: +m[5]!, sessionId: 0n, lastOp: '', established: null,
      sessionTimeoutMs: 0, lastCxid: -1, lastZxid: -1n, lastResponseTime: 0, lastLatencyMs: 0, minLatencyMs: 0, avgLatencyMs: 0, maxLatencyMs: 0,
    }));
    // With stat refused by the whitelist, only srvr's count of connections is known.
    const count = Number(/^Connections: (\d+)$/m.exec(texts['srvr']!)?.[1] ?? 0);
    while (conns.length < count) conns.push(dummy);
    const bySession = new Map<bigint, string[]>();
    let cur: string[] = [];
    for (const line of texts['wchc']!.split('\n')) {
      if (line.startsWith('0x')) bySession.set(BigInt(line), (cur = []));
      else if (line.startsWith('\t')) cur.push(line.slice(1));
    }
    const byPath = new Map<string, bigint[]>();
    let ids: bigint[] = [];
    for (const line of texts['wchp']!.split('\n')) {
      if (line.startsWith('/')) byPath.set(line, (ids = []));
      else if (line.startsWith('\t')) ids.push(BigInt(line.slice(1)));
    }
    const ws = /^(\d+) connections watching (\d+) paths\nTotal watches:(\d+)$/m.exec(texts['wchs']!)!;
    const conf = texts['conf']!.split('membership: \n');
    return {
      version: v(/^Zookeeper version: (.*)$/m), serving: true, mode: v(/^Mode: (\S+)$/m), readOnly: false,
      latency: { min: Number(lat[0]), avg: Number(lat[1]), max: Number(lat[2]) },
      packetsReceived: Number(v(/^Received: (\d+)$/m)), packetsSent: Number(v(/^Sent: (\d+)$/m)), outstandingRequests: Number(v(/^Outstanding: (\d+)$/m)),
      lastZxid: BigInt(v(/^Zxid: (0x[0-9a-f]+)$/m)), nodeCount: Number(v(/^Node count: (\d+)$/m)),
      proposalSizes: prop ? { last: prop[0]!, min: prop[1]!, max: prop[2]! } : null,
      connections: conns, sessions: [], ephemerals: new Map(),
      watchSummary: { connections: Number(ws[1]), paths: Number(ws[2]), watches: Number(ws[3]) },
      watchesBySession: bySession, watchesByPath: byPath,
      config: conf[0]!.split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
      membership: { servers: conf[1]!.split('\n').filter((l) => l.startsWith('server.')), version: /version=(\S+)$/.exec(conf[1]!)?.[1] ?? '' },
      environment: [], metrics: new Map(), dataDirSize: 0, logDirSize: 0,
    };
  }

  it('srvr, stat, wchs, wchc, wchp and conf of a live server, with data, exist and child watches set: the same text byte for byte (or the same refusal, for a word its whitelist leaves out)', async () => {
    const c = await nzk();
    const r = await root(c);
    await call((cb) => c.create(`${r}/a`, cb));
    const w = await wire();
    await w.getData(`${r}/a`, () => {});
    await w.exists(`${r}/b`, () => {});
    await w.getChildren(r, () => {});
    const port = target.servers[0]!.port;
    const texts: Record<string, string> = {};
    // stat and srvr counters move with every 4lw connection: read srvr right after stat and compare each with itself.
    for (const word of ['wchc', 'wchp', 'wchs', 'conf', 'stat', 'srvr']) texts[word] = (await fourLetterWord(port, word, 5000)) ?? '(no answer)';
    const refused = (word: string) => texts[word] === `${word} is not executed because it is not in the whitelist.\n`;
    const allowed = new Set(['srvr', ...['wchc', 'wchp', 'wchs', 'conf', 'stat'].filter((x) => !refused(x))]);
    const blank = { wchc: '', wchp: '', wchs: '0 connections watching 0 paths\nTotal watches:0\n', conf: 'membership: \nversion=0', stat: texts['srvr']! };
    const s = parse(Object.fromEntries(Object.entries({ ...blank, ...texts }).map(([k, v]) => [k, allowed.has(k) ? v : (blank as Record<string, string>)[k] ?? v])));
    for (const word of ['wchc', 'wchp', 'wchs', 'conf', 'srvr']) expect(fourLetterResponse(word, s, allowed), word).toBe(texts[word]);
    if (allowed.has('stat')) expect(fourLetterResponse('stat', { ...s, ...parse({ ...texts, srvr: texts['stat']! }) }, allowed)).toBe(texts['stat']);
    else expect(fourLetterResponse('stat', s, allowed)).toBe(texts['stat']);
    if (allowed.has('wchc')) {
      // wchc/wchp/wchs list data watches only (3.8 dumps dataWatches): the exist and data watches, not the child one.
      expect([...(s.watchesBySession.get(w.sessionId) ?? [])].sort()).toEqual([`${r}/a`, `${r}/b`]);
      expect(s.watchesByPath.has(r)).toBe(false);
    }
  });

  it('an unknown word gets no answer; ruok is imok unless the whitelist leaves it out', async () => {
    const port = target.servers[0]!.port;
    expect(await fourLetterWord(port, 'ruok', 5000)).toMatch(/^(imok|ruok is not executed because it is not in the whitelist\.\n)$/);
    expect(await fourLetterWord(port, 'abcd', 5000)).toBe('');
  });
});

describe.skipIf(missing !== null)(`the command lines against ${kind}`, () => {
  it('our zkcli: create, get -s, set -v, ls, stat, delete, deleteall; errors as one line with an exit code', async () => {
    const s = target.servers[0]!;
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const rc = await zkcli(['--server', `${s.host}:${s.port}`, ...args], (l) => out.push(l), (l) => err.push(l));
      return { rc, out: out.join('\n'), err: err.join('\n') };
    };
    const r = `/cli${Date.now().toString(36)}`;
    expect(await run('create', r, 'hello')).toEqual({ rc: 0, out: `Created ${r}`, err: '' });
    expect(await run('create', r, 'again')).toEqual({ rc: 1, out: '', err: `zkcli: create ${r} again: NODEEXISTS` });
    const got = await run('get', '-s', r);
    expect(got.out).toMatch(/^hello\ncZxid = 0x[0-9a-f]+\nctime = \w{3} \w{3} \d\d [\d:]{8} UTC \d{4}\n/);
    expect(got.out).toContain('dataVersion = 0\n');
    expect(await run('set', '-v', '3', r, 'x')).toMatchObject({ rc: 1, err: `zkcli: set ${r} x: BADVERSION` });
    expect((await run('set', '-v', '0', r, 'x')).rc).toBe(0);
    expect((await run('create', '-s', `${r}/q-`)).out).toBe(`Created ${r}/q-0000000000`);
    expect((await run('create', `${r}/b`)).rc).toBe(0);
    expect((await run('ls', r)).out).toBe('[b, q-0000000000]');
    expect((await run('stat', r)).out).toContain('numChildren = 2');
    expect(await run('delete', r)).toMatchObject({ rc: 1, err: `zkcli: delete ${r}: NOTEMPTY` });
    expect((await run('deleteall', r)).rc).toBe(0);
    expect(await run('stat', r)).toMatchObject({ rc: 1, err: `zkcli: stat ${r}: NONODE` });
    expect((await run('frob', r)).rc).toBe(2);
    expect((await run('--help')).out).toContain('Exit status:');
  });

  it('our zkcli get -w: waits for the watch event and prints it as WatchedEvent does', async () => {
    const s = target.servers[0]!;
    const c = await nzk();
    const r = await root(c);
    const out: string[] = [];
    const pending = zkcli(['--server', `${s.host}:${s.port}`, 'get', '-w', '--wait', '10000', r], (l) => out.push(l), () => {});
    await until('the watch set', 5000, () => out.length > 0);
    await call((cb) => c.setData(r, Buffer.from('v'), cb));
    expect(await pending).toBe(0);
    expect(out).toEqual(['null', `WatchedEvent state:SyncConnected type:NodeDataChanged path:${r}`]);
  });

  it.skipIf(zkCliPath() === null)("Debian's zkCli.sh: create, get, set, ls, delete", () => {
    const s = target.servers[0]!;
    const r = `/zkcli${Date.now().toString(36)}`;
    const script = [`create ${r} hello`, `create ${r}/child c`, `set ${r} world`, `get ${r}`, `ls ${r}`, `delete ${r}/child`, `ls ${r}`, `delete ${r}`, `stat ${r}`, 'quit'].join('\n');
    const res = spawnSync('bash', [zkCliPath()!, '-server', `${s.host}:${s.port}`], { input: script + '\n', encoding: 'utf8', timeout: 60_000, env: { ...process.env, ZOO_LOG4J_PROP: 'ERROR,CONSOLE' } });
    const text = res.stdout + res.stderr;
    expect(text).toContain(`Created ${r}`);
    expect(text).toContain(`Created ${r}/child`);
    expect(text).toMatch(/\nworld\n/);
    expect(text).toContain('[child]');
    expect(text).toContain('[]');
    expect(text).toContain(`Node does not exist: ${r}`);
  }, 70_000);
});
