// The znode tree as the leader prepares and every server applies it: ZooKeeper's Stat semantics, error codes,
// sequential names, ephemerals, multi, ACLs, our move; txns and snapshots that round-trip; and model-based runs
// (fast-check commands) of the tree and of move against a plain model.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Code, CreateMode, EventType, OpCode, Perms } from '../impl/zkwire/codes.ts';
import { CONTAINER_OWNER, DataTree, type ProcessTxnResult } from '../impl/zk/datatree.ts';
import { prepRequest, sequenceSuffix, type Request } from '../impl/zk/prep.ts';
import { decodeTxn, encodeTxn, opToTxn, txnToOp, txnSummary } from '../impl/zk/txn.ts';
import { authenticate, generateDigest, type Id } from '../impl/zk/acl.ts';
import { ExpiryQueue, SessionTracker, initialSessionId, negotiateTimeout, sessionPassword } from '../impl/zk/sessions.ts';

const OPEN = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const S1 = 0x100000000001n;
const S2 = 0x100000000002n;

/** A leader and one follower: the leader preps against its tree, both apply the txn as the follower decodes it. */
class Ensemble {
  readonly leader = new DataTree();
  readonly follower = new DataTree();
  zxid = 0x100000000;
  time = 1_000;
  constructor() {
    for (const s of [S1, S2]) this.write(s, OpCode.createSession, { timeOut: 10_000 });
  }
  write(session: bigint, type: number, request: unknown, authInfo: Id[] = []): ProcessTxnResult {
    const req: Request = { sessionId: session, cxid: 1, type, request, authInfo };
    const txn = prepRequest(this.leader, req, { zxid: ++this.zxid, time: ++this.time, sessionLive: (id) => this.leader.sessions.has(id) });
    const rc = this.leader.processTxn(txn);
    const again = this.follower.processTxn(decodeTxn(encodeTxn(txn)));
    expect(again).toEqual(rc);
    return rc;
  }
  create(path: string, data = '', flags: number = CreateMode.PERSISTENT, session = S1, acl = OPEN): ProcessTxnResult {
    return this.write(session, OpCode.create2, { path, data: Buffer.from(data), acl, flags });
  }
}

describe('DataTree and PrepRequestProcessor', () => {
  it('starts with the root and ZooKeeper’s own nodes, all Stats zero', () => {
    const t = new DataTree();
    expect(t.getChildren('/')).toEqual(['zookeeper']);
    expect(t.getChildren('/zookeeper')!.sort()).toEqual(['config', 'quota']);
    // A client sees cversion 2 * creates - children (DataNode.copyStat): -1 for the root of a fresh tree.
    expect(t.stat('/')).toMatchObject({ czxid: 0, cversion: -1, numChildren: 1, pzxid: 0 });
  });

  it('create sets the new node’s Stat and raises the parent’s cversion and pzxid', () => {
    const e = new Ensemble();
    const rc = e.create('/a', 'hello');
    expect(rc.err).toBe(0);
    expect(rc.path).toBe('/a');
    expect(rc.stat).toEqual({ czxid: e.zxid, mzxid: e.zxid, ctime: e.time, mtime: e.time, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 5, numChildren: 0, pzxid: e.zxid });
    expect(e.leader.getNode('/')!.stat).toMatchObject({ cversion: 1, pzxid: e.zxid });
    expect(e.leader.stat('/')).toMatchObject({ cversion: 0, pzxid: e.zxid, numChildren: 2 });
    expect(e.leader.lastTriggers).toEqual([
      { type: EventType.NodeCreated, path: '/a' },
      { type: EventType.NodeChildrenChanged, path: '/' },
    ]);
  });

  it('delete moves the parent’s pzxid but not its cversion; setData bumps version and mzxid', () => {
    const e = new Ensemble();
    e.create('/a');
    e.create('/a/b');
    const cz = e.zxid;
    expect(e.write(S1, OpCode.setData, { path: '/a/b', data: Buffer.from('x'), version: 0 }).stat).toMatchObject({ version: 1, mzxid: e.zxid, czxid: cz, dataLength: 1 });
    expect(e.write(S1, OpCode.setData, { path: '/a/b', data: Buffer.from('y'), version: 0 }).err).toBe(Code.BADVERSION);
    expect(e.write(S1, OpCode.delete, { path: '/a', version: -1 }).err).toBe(Code.NOTEMPTY);
    expect(e.write(S1, OpCode.delete, { path: '/a/b', version: 0 }).err).toBe(Code.BADVERSION);
    expect(e.write(S1, OpCode.delete, { path: '/a/b', version: 1 }).err).toBe(0);
    // One create and one delete: persisted cversion 1, the client's 2 (both changes).
    expect(e.leader.getNode('/a')!.stat.cversion).toBe(1);
    expect(e.leader.stat('/a')).toMatchObject({ cversion: 2, pzxid: e.zxid, numChildren: 0 });
    expect(e.write(S1, OpCode.delete, { path: '/a/b', version: -1 }).err).toBe(Code.NONODE);
  });

  it('names sequential nodes from the parent’s cversion, ten digits', () => {
    const e = new Ensemble();
    e.create('/q');
    expect(e.create('/q/n-', '', CreateMode.PERSISTENT_SEQUENTIAL).path).toBe('/q/n-0000000000');
    e.create('/q/x');
    expect(e.create('/q/n-', '', CreateMode.EPHEMERAL_SEQUENTIAL).path).toBe('/q/n-0000000002');
    e.write(S1, OpCode.delete, { path: '/q/x', version: -1 });
    // delete does not raise cversion: the next name follows the creates only.
    expect(e.create('/q/n-', '', CreateMode.PERSISTENT_SEQUENTIAL).path).toBe('/q/n-0000000003');
    expect(sequenceSuffix(-5)).toBe('-000000005');
  });

  it('gives ZooKeeper’s errors for bad creates', () => {
    const e = new Ensemble();
    expect(e.create('/a/b').err).toBe(Code.NONODE);
    expect(e.create('a').err).toBe(Code.BADARGUMENTS);
    expect(e.create('/a/').err).toBe(Code.NONODE); // the parent "/a" is looked up before the path is validated
    expect(e.create('/a//b').err).toBe(Code.NONODE);
    e.create('/a');
    expect(e.create('/a/./b').err).toBe(Code.NONODE);
    expect(e.create('/a/.').err).toBe(Code.BADARGUMENTS);
    expect(e.create('/a').err).toBe(Code.NODEEXISTS);
    expect(e.create('/e', '', CreateMode.EPHEMERAL).err).toBe(0);
    expect(e.create('/e/c').err).toBe(Code.NOCHILDRENFOREPHEMERALS);
    expect(e.create('/b', '', 99).err).toBe(Code.BADARGUMENTS);
    expect(e.create('/b', '', 0, S1, []).err).toBe(Code.INVALIDACL);
    expect(e.create('/b', '', 0, 0x777n).err).toBe(Code.SESSIONEXPIRED);
    expect(e.write(S1, OpCode.delete, { path: '/zookeeper', version: -1 }).err).toBe(Code.BADARGUMENTS);
    expect(e.write(S1, OpCode.delete, { path: '/', version: -1 }).err).toBe(Code.BADARGUMENTS);
  });

  it('ephemerals belong to their session and go with its closeSession', () => {
    const e = new Ensemble();
    e.create('/p');
    e.create('/p/e1', '', CreateMode.EPHEMERAL, S1);
    e.create('/p/e2', '', CreateMode.EPHEMERAL, S2);
    expect(e.leader.stat('/p/e1')!.ephemeralOwner).toBe(S1);
    expect(e.leader.getEphemerals(S1)).toEqual(['/p/e1']);
    const rc = e.write(S1, OpCode.closeSession, null);
    expect(rc.err).toBe(0);
    expect(e.leader.getChildren('/p')).toEqual(['e2']);
    expect(e.leader.sessions.has(S1)).toBe(false);
    expect(e.leader.lastTriggers).toEqual([
      { type: EventType.NodeDeleted, path: '/p/e1' },
      { type: EventType.NodeChildrenChanged, path: '/p' },
    ]);
    expect(e.create('/x', '', 0, S1).err).toBe(Code.SESSIONEXPIRED);
  });

  it('containers and TTL nodes carry ZooKeeper’s ephemeralOwner markers', () => {
    const e = new Ensemble();
    // The tree keeps the markers; a client's Stat shows 0 for both (DataNode.getClientEphemeralOwner).
    expect(e.write(S1, OpCode.createContainer, { path: '/c', data: null, acl: OPEN, flags: CreateMode.CONTAINER }).stat!.ephemeralOwner).toBe(0n);
    expect(e.leader.getNode('/c')!.stat.ephemeralOwner).toBe(CONTAINER_OWNER);
    const ttl = e.write(S1, OpCode.createTTL, { path: '/t', data: null, acl: OPEN, flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 5000n });
    expect(ttl.stat!.ephemeralOwner).toBe(0n);
    expect(e.leader.getNode('/t')!.stat.ephemeralOwner).toBe(BigInt.asIntN(64, 0xff00000000001388n));
    expect(e.write(S1, OpCode.createTTL, { path: '/t2', data: null, acl: OPEN, flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 0n }).err).toBe(Code.BADARGUMENTS);
    expect(e.leader.containers.has('/c') && e.leader.ttls.has('/t')).toBe(true);
    // A container may have children (it is not an ephemeral).
    expect(e.create('/c/x').err).toBe(0);
  });

  it('multi is all or nothing, with OK before the failed op and RUNTIMEINCONSISTENCY after it', () => {
    const e = new Ensemble();
    const ok = e.write(S1, OpCode.multi, [
      { type: OpCode.create, request: { path: '/m', data: null, acl: OPEN, flags: 0 } },
      { type: OpCode.create, request: { path: '/m/a', data: null, acl: OPEN, flags: 0 } },
      { type: OpCode.setData, request: { path: '/m/a', data: Buffer.from('v'), version: 0 } },
      { type: OpCode.check, request: { path: '/m/a', version: 1 } },
    ]);
    expect(ok.err).toBe(0);
    expect(ok.multiResult!.map((r) => [r.type, r.err])).toEqual([
      [OpCode.create, 0],
      [OpCode.create, 0],
      [OpCode.setData, 0],
      [OpCode.check, 0],
    ]);
    const before = e.leader.digest();
    const bad = e.write(S1, OpCode.multi, [
      { type: OpCode.create, request: { path: '/n', data: null, acl: OPEN, flags: 0 } },
      { type: OpCode.delete, request: { path: '/m', version: -1 } },
      { type: OpCode.create, request: { path: '/o', data: null, acl: OPEN, flags: 0 } },
    ]);
    expect(bad.err).toBe(Code.NOTEMPTY);
    expect(bad.multiResult!.map((r) => [r.type, r.err])).toEqual([
      [OpCode.error, Code.OK],
      [OpCode.error, Code.NOTEMPTY],
      [OpCode.error, Code.RUNTIMEINCONSISTENCY],
    ]);
    expect(e.leader.digest()).toBe(before);
  });

  it('enforces ACLs: digest, auth, world, with NOAUTH when refused', () => {
    const e = new Ensemble();
    const alice = authenticate('digest', Buffer.from('alice:secret'))!;
    expect(alice.id).toBe(generateDigest('alice:secret'));
    // The example of ZooKeeper's administrator's guide (superDigest for the password "test").
    expect(generateDigest('super:test')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    const mine = [{ perms: Perms.READ | Perms.WRITE | Perms.CREATE | Perms.DELETE | Perms.ADMIN, id: { scheme: 'auth', id: '' } }];
    expect(e.write(S1, OpCode.create, { path: '/s', data: null, acl: mine, flags: 0 }).err).toBe(Code.INVALIDACL);
    expect(e.write(S1, OpCode.create, { path: '/s', data: null, acl: mine, flags: 0 }, [alice]).err).toBe(0);
    expect(e.leader.getNode('/s')!.acl).toEqual([{ perms: Perms.ALL, id: alice }]);
    expect(e.write(S2, OpCode.setData, { path: '/s', data: null, version: -1 }).err).toBe(Code.NOAUTH);
    expect(e.write(S2, OpCode.create, { path: '/s/c', data: null, acl: OPEN, flags: 0 }).err).toBe(Code.NOAUTH);
    expect(e.write(S2, OpCode.setData, { path: '/s', data: null, version: -1 }, [alice]).err).toBe(0);
    const readOnly = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
    expect(e.write(S1, OpCode.setACL, { path: '/s', acl: readOnly, version: 0 }, [alice]).stat!.aversion).toBe(1);
    expect(e.write(S1, OpCode.setACL, { path: '/s', acl: OPEN, version: -1 }, [alice]).err).toBe(Code.NOAUTH);
    expect(e.write(S1, OpCode.create, { path: '/d', data: null, acl: [{ perms: 31, id: { scheme: 'digest', id: 'nocolon' } }], flags: 0 }).err).toBe(Code.INVALIDACL);
  });

  it('move: the subtree with its data, ACLs and owners, Stats as a delete and a create, watches for both', () => {
    const e = new Ensemble();
    e.create('/a');
    e.create('/a/b', 'B');
    e.create('/a/b/c', 'C');
    e.create('/a/b/eph', 'E', CreateMode.EPHEMERAL, S2);
    e.create('/z');
    const toCv = e.leader.getNode('/z')!.stat.cversion;
    const rc = e.write(S1, OpCode.move, { from: '/a/b', to: '/z/b2', version: 0 });
    expect(rc.err).toBe(0);
    expect(e.leader.getNode('/a/b')).toBeUndefined();
    expect(e.leader.getNode('/z/b2/c')!.data?.toString()).toBe('C');
    expect(e.leader.stat('/z/b2/eph')!.ephemeralOwner).toBe(S2);
    expect(e.leader.getEphemerals(S2)).toEqual(['/z/b2/eph']);
    expect(e.leader.stat('/z/b2')).toMatchObject({ czxid: e.zxid, mzxid: e.zxid, pzxid: e.zxid, version: 0, cversion: 2, numChildren: 2, dataLength: 1 });
    expect(e.leader.getNode('/z')!.stat).toMatchObject({ cversion: toCv + 1, pzxid: e.zxid });
    expect(e.leader.stat('/a')).toMatchObject({ numChildren: 0, pzxid: e.zxid });
    const t = e.leader.lastTriggers;
    expect(t.filter((x) => x.type === EventType.NodeDeleted).map((x) => x.path).sort()).toEqual(['/a/b', '/a/b/c', '/a/b/eph']);
    expect(t.filter((x) => x.type === EventType.NodeCreated).map((x) => x.path)).toEqual(['/z/b2', '/z/b2/c', '/z/b2/eph']);
    expect(t).toContainEqual({ type: EventType.NodeChildrenChanged, path: '/a' });
    expect(t).toContainEqual({ type: EventType.NodeChildrenChanged, path: '/z' });
    // The refusals.
    expect(e.write(S1, OpCode.move, { from: '/z', to: '/z/b2/c/x', version: -1 }).err).toBe(Code.BADARGUMENTS);
    expect(e.write(S1, OpCode.move, { from: '/z/b2', to: '/a', version: -1 }).err).toBe(Code.NODEEXISTS);
    expect(e.write(S1, OpCode.move, { from: '/z/b2', to: '/q/x', version: -1 }).err).toBe(Code.NONODE);
    expect(e.write(S1, OpCode.move, { from: '/z/b2', to: '/y', version: 7 }).err).toBe(Code.BADVERSION);
    expect(e.write(S1, OpCode.move, { from: '/zookeeper', to: '/y', version: -1 }).err).toBe(Code.BADARGUMENTS);
    expect(e.write(S1, OpCode.move, { from: '/nope', to: '/y', version: -1 }).err).toBe(Code.NONODE);
    expect(e.write(S1, OpCode.move, { from: '/a', to: '/z/b2/eph/x', version: -1 }).err).toBe(Code.NOCHILDRENFOREPHEMERALS);
  });

  it('txns round-trip through their bytes and the core’s opaque string; the summary names type and path', () => {
    const e = new Ensemble();
    const t = prepRequest(e.leader, { sessionId: S1, cxid: 7, type: OpCode.create, request: { path: '/x', data: Buffer.from('d'), acl: OPEN, flags: 1 }, authInfo: [] }, { zxid: 0x200000001, time: 123, sessionLive: () => true });
    expect(opToTxn(txnToOp(t))).toEqual(t);
    expect(txnSummary(t)).toEqual({ type: 'create', path: '/x' });
    expect(() => decodeTxn(Buffer.from([1, 2, 3]))).toThrow();
  });

  it('a snapshot holds the tree and the sessions; replaying txns it already holds changes nothing', () => {
    const e = new Ensemble();
    e.create('/a', 'x');
    e.create('/a/e', '', CreateMode.EPHEMERAL, S2);
    const snap = DataTree.deserialize(e.leader.serialize());
    expect(snap.digest()).toBe(e.leader.digest());
    expect(snap.getEphemerals(S2)).toEqual(['/a/e']);
    // Replay of a create the snapshot holds: NODEEXISTS, and the parent's cversion does not go back.
    const replay = prepRequest(new DataTree(), { sessionId: S1, cxid: 1, type: OpCode.create, request: { path: '/a', data: null, acl: OPEN, flags: 0 }, authInfo: [] }, { zxid: 5, time: 5, sessionLive: () => true });
    expect(snap.processTxn(replay).err).toBe(Code.NODEEXISTS);
    expect(snap.getNode('/')!.stat.cversion).toBe(e.leader.getNode('/')!.stat.cversion);
    expect(() => DataTree.deserialize(Buffer.from('garbage'))).toThrow();
  });

  it('a snapshot image written in pieces while txns go on holds the tree as it was when taken (fast-check)', () => {
    const paths = ['/a', '/b', '/a/c', '/a/d', '/b/e', '/a/c/f'];
    const op = fc.record({
      kind: fc.constantFrom('create', 'delete', 'set', 'acl', 'move'),
      path: fc.constantFrom(...paths),
      to: fc.constantFrom(...paths),
      data: fc.constantFrom('', 'x', 'a longer value'),
      pull: fc.boolean(),
    });
    const READ = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
    let zxid = 0x100000000;
    const apply = (t: DataTree, o: { kind: string; path: string; to: string; data: string }): void => {
      zxid++;
      try {
        if (o.kind === 'create') t.createNode(o.path, Buffer.from(o.data), OPEN, 0n, -1, zxid, zxid);
        else if (o.kind === 'delete') {
          if (t.getNode(o.path)?.children.size === 0) t.deleteNode(o.path, zxid);
        } else if (o.kind === 'set') t.setData(o.path, Buffer.from(o.data), 1, zxid, zxid);
        else if (o.kind === 'acl') t.setACL(o.path, READ, 1);
        else if (!o.to.startsWith(o.path)) t.move(o.path, o.to, zxid, zxid);
      } catch {
        // NONODE / NODEEXISTS: the op did nothing, as a refused txn does.
      }
    };
    fc.assert(
      fc.property(fc.array(op, { maxLength: 15 }), fc.array(op, { maxLength: 25 }), (before, during) => {
        const t = new DataTree();
        for (const o of before) apply(t, o);
        t.sessions.set(S1, 10_000);
        const expected = t.serialize();
        const image = t.snapshotImage(40);
        t.sessions.set(S2, 20_000);
        const pieces: Buffer[] = [];
        for (const o of during) {
          if (o.pull) {
            const r = image.pieces.next();
            if (!r.done) pieces.push(r.value);
          }
          apply(t, o);
        }
        for (let r = image.pieces.next(); !r.done; r = image.pieces.next()) pieces.push(r.value);
        expect(Buffer.concat(pieces).equals(expected)).toBe(true);
        image.release();
        const kept = image.preImages;
        apply(t, { kind: 'set', path: '/a', to: '/a', data: 'after' });
        expect(image.preImages).toBe(kept);
        // The live tree went on: its own snapshot reads back as itself.
        expect(DataTree.deserialize(t.serialize()).digest()).toBe(t.digest());
      }),
      { numRuns: 300 },
    );
  });

  it('the leader’s copy to prepare against (clone) equals the tree, and changes apart from it', () => {
    const e = new Ensemble();
    e.create('/a', 'x');
    e.create('/a/e', '', CreateMode.EPHEMERAL, S2);
    e.create('/b');
    const copy = e.leader.clone();
    expect(copy.digest()).toBe(e.leader.digest());
    expect(copy.getEphemerals(S2)).toEqual(['/a/e']);
    const before = e.leader.digest();
    copy.setData('/a', Buffer.from('changed'), -1, 0x100000099, 99);
    copy.createNode('/b/c', null, OPEN, 0n, -1, 0x10000009a, 100);
    copy.deleteNode('/a/e', 0x10000009b);
    expect(e.leader.digest()).toBe(before);
    expect(e.leader.getNode('/a')!.data).toEqual(Buffer.from('x'));
    expect(e.leader.getNode('/b')!.children.size).toBe(0);
    expect(e.leader.getEphemerals(S2)).toEqual(['/a/e']);
    expect(copy.getNode('/b')!.children.has('c')).toBe(true);
  });

  it('data keeps every byte value, and null apart from empty', () => {
    const t = new DataTree();
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    t.createNode('/all', all, OPEN, 0n, -1, 1, 1);
    t.createNode('/null', null, OPEN, 0n, -1, 2, 2);
    t.createNode('/empty', Buffer.alloc(0), OPEN, 0n, -1, 3, 3);
    expect(t.getNode('/all')!.data).toEqual(all);
    expect(t.statOf(t.getNode('/all')!).dataLength).toBe(256);
    expect(t.getNode('/null')!.data).toBeNull();
    expect(t.getNode('/empty')!.data).toEqual(Buffer.alloc(0));
  });
});

describe('sessions', () => {
  it('ids carry the server id in the top byte; passwords are a function of the id', () => {
    const id = initialSessionId(3, 1_700_000_000_000);
    expect(Number(BigInt.asUintN(64, id) >> 56n)).toBe(3);
    expect(sessionPassword(id)).toEqual(sessionPassword(id));
    expect(sessionPassword(id).length).toBe(16);
    expect(sessionPassword(id + 1n)).not.toEqual(sessionPassword(id));
    expect(negotiateTimeout(1, 400, 4000)).toBe(400);
    expect(negotiateTimeout(99999, 400, 4000)).toBe(4000);
  });

  it('expire in tick buckets: touched sessions live on, idle ones expire once', () => {
    const q = new ExpiryQueue<string>(100, 0);
    expect(q.update('a', 250, 0)).toBe(300);
    expect(q.poll(299)).toEqual([]);
    expect(q.poll(300)).toEqual(['a']);
    const st = new SessionTracker(100, 0);
    st.add(1n, 400, 0);
    st.add(2n, 400, 0);
    for (let now = 0; now <= 1000; now += 100) {
      st.touch(1n, now);
      const gone = st.expire(now);
      if (now < 500) expect(gone).toEqual([]);
      if (now === 500) expect(gone).toEqual([2n]);
      if (now > 500) expect(gone).toEqual([]);
    }
    expect(st.isLive(1n)).toBe(true);
    expect(st.isLive(2n)).toBe(false);
    expect(st.touch(2n, 1000)).toBe(false);
  });
});

// ---- model-based: the tree against a plain map of paths ----

interface ModelNode {
  data: string;
  version: number;
  cversion: number;
}
type Model = Map<string, ModelNode>;
const NAMES = ['a', 'b', 'c'];
const pathArb = fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((p) => '/' + p.join('/'));
const parent = (p: string) => (p.lastIndexOf('/') === 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
const childrenOf = (m: Model, p: string) => [...m.keys()].filter((k) => k !== p && parent(k) === p && k !== '/');

type Cmd = fc.Command<Model, Ensemble>;
const check = (e: Ensemble, m: Model) => {
  for (const [p, n] of m) {
    const s = e.leader.stat(p)!;
    expect(s, p).not.toBeNull();
    expect(e.leader.getNode(p)!.data?.toString()).toBe(n.data);
    expect(s.version).toBe(n.version);
    expect(s.cversion).toBe(2 * n.cversion - s.numChildren);
    expect(s.numChildren).toBe(childrenOf(m, p).length + (p === '/' ? 1 : 0));
  }
  const real = [...e.leader.paths()].filter((p) => !p.startsWith('/zookeeper'));
  expect(real.sort()).toEqual([...m.keys()].sort());
  expect(e.follower.digest()).toBe(e.leader.digest());
};

const createCmd = (path: string, data: string): Cmd => ({
  check: () => true,
  run(m, e) {
    const rc = e.create(path, data);
    const expected = !m.has(parent(path)) ? Code.NONODE : m.has(path) ? Code.NODEEXISTS : 0;
    expect(rc.err).toBe(expected);
    if (expected === 0) {
      m.set(path, { data, version: 0, cversion: 0 });
      m.get(parent(path))!.cversion++;
    }
    check(e, m);
  },
  toString: () => `create ${path} ${data}`,
});
const deleteCmd = (path: string, version: number): Cmd => ({
  check: () => true,
  run(m, e) {
    const rc = e.write(S1, OpCode.delete, { path, version });
    const n = m.get(path);
    const expected = !m.has(parent(path)) || !n ? Code.NONODE : version !== -1 && version !== n.version ? Code.BADVERSION : childrenOf(m, path).length ? Code.NOTEMPTY : 0;
    expect(rc.err).toBe(expected);
    if (expected === 0) m.delete(path);
    check(e, m);
  },
  toString: () => `delete ${path} v${version}`,
});
const setCmd = (path: string, data: string, version: number): Cmd => ({
  check: () => true,
  run(m, e) {
    const rc = e.write(S1, OpCode.setData, { path, data: Buffer.from(data), version });
    const n = m.get(path);
    const expected = !n ? Code.NONODE : version !== -1 && version !== n.version ? Code.BADVERSION : 0;
    expect(rc.err).toBe(expected);
    if (expected === 0) {
      n!.data = data;
      n!.version++;
      expect(rc.stat!.version).toBe(n!.version);
    }
    check(e, m);
  },
  toString: () => `set ${path} ${data} v${version}`,
});
const moveCmd = (from: string, to: string): Cmd => ({
  check: () => true,
  run(m, e) {
    const rc = e.write(S1, OpCode.move, { from, to, version: -1 });
    const expected =
      to === from || to.startsWith(from + '/') ? Code.BADARGUMENTS : !m.has(from) ? Code.NONODE : !m.has(parent(to)) ? Code.NONODE : m.has(to) ? Code.NODEEXISTS : 0;
    expect(rc.err).toBe(expected);
    if (expected === 0) {
      const moved = [...m.keys()].filter((k) => k === from || k.startsWith(from + '/')).sort();
      const nodes = moved.map((k) => [k, m.get(k)!] as const);
      for (const [k] of nodes) m.delete(k);
      for (const [k, n] of nodes) {
        const np = to + k.slice(from.length);
        m.set(np, { data: n.data, version: 0, cversion: 0 });
        m.get(parent(np))!.cversion++;
      }
    }
    check(e, m);
  },
  toString: () => `move ${from} ${to}`,
});

describe('model-based', () => {
  it('create, delete, setData and move agree with a plain model of paths (fast-check commands)', () => {
    const cmds = [
      fc.tuple(pathArb, fc.constantFrom('', 'x', 'yy')).map(([p, d]) => createCmd(p, d)),
      fc.tuple(pathArb, fc.constantFrom(-1, 0, 1)).map(([p, v]) => deleteCmd(p, v)),
      fc.tuple(pathArb, fc.constantFrom('1', '22'), fc.constantFrom(-1, 0, 1)).map(([p, d, v]) => setCmd(p, d, v)),
      fc.tuple(pathArb, pathArb).map(([a, b]) => moveCmd(a, b)),
    ];
    fc.assert(
      fc.property(fc.commands(cmds, { size: '+1' }), (cs) => {
        const model: Model = new Map([['/', { data: '', version: 0, cversion: 0 }]]);
        const e = new Ensemble();
        fc.modelRun(() => ({ model, real: e }), cs);
        // The follower's snapshot of the result is the same tree.
        expect(DataTree.deserialize(e.follower.serialize()).digest()).toBe(e.leader.digest());
      }),
      { numRuns: 50 },
    );
  });
});
