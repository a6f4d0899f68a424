// DataTree: the znode tree, the state machine ZAB replicates. Pure: every server applies the same committed txns
// in zxid order (processTxn) and gets the same tree, the same Stats and the same watch triggers. It also keeps
// what ZKDatabase keeps beside the tree: the live sessions with their timeouts (sessionsWithTimeouts), so that a
// snapshot holds both, as FileSnap writes them.
//
// Semantics are ZooKeeper 3.8's DataTree: createNode (parentCVersion only ever raises the parent's cversion, and
// the parent's pzxid with it, which makes a replayed create harmless), deleteNode (the parent's pzxid, not its
// cversion), setData, setACL, killSession, multi (a failed multi applies none of its ops and answers, per op,
// OK before the failing one and RUNTIMEINCONSISTENCY after it), and the watch triggers each of them fires.
import { Code, EventType, OpCode } from '../zkwire/codes.ts';
import { JuteError, JuteReader, JuteWriter, type ACLT, type StatT } from '../zkwire/jute.ts';
import type { SubTxn, TxnBody, ZkTxn } from './txn.ts';

/** EphemeralType.CONTAINER_EPHEMERAL_OWNER (Long.MIN_VALUE). */
export const CONTAINER_OWNER = -(1n << 63n);
const EXTENDED_MASK = -0x100000000000000n; // 0xff00000000000000 as a signed long
/** EphemeralType.TTL.maxValue: ~(EXTENDED_MASK | RESERVED_BITS_MASK). */
export const TTL_MAX = (1n << 40n) - 1n;
/** EphemeralType.TTL.toEphemeralOwner. */
export const ttlOwner = (ttl: bigint): bigint => EXTENDED_MASK | ttl;

export type EphemeralKind = 'VOID' | 'NORMAL' | 'CONTAINER' | 'TTL';
/** EphemeralType.get, with extended types (TTL) enabled. */
export function ephemeralKind(owner: bigint): EphemeralKind {
  if (owner === 0n) return 'VOID';
  if (owner === CONTAINER_OWNER) return 'CONTAINER';
  if ((owner & EXTENDED_MASK) === EXTENDED_MASK) return 'TTL';
  return 'NORMAL';
}

/** StatPersisted: the Stat without the two derived fields (dataLength, numChildren). */
export interface StatPersisted {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: number;
}

/** A leaf's children: shared, never changed (a node gets a set of its own with its first child). */
const NO_CHILDREN: ReadonlySet<string> = new Set();

/**
 * The ACL lists in use, each kept once (ZooKeeper's ReferenceCountedACLCache): most znodes share one of a few
 * lists. Bounded: past MAX_INTERNED distinct lists a znode keeps its own copy.
 */
const interned = new Map<string, ACLT[]>();
const MAX_INTERNED = 10_000;

/** The lists `interned` holds, by identity: a node's own list (a clone passes it back) needs no key built. */
const internedLists = new Set<ACLT[]>();

export function internAcl(acl: ACLT[]): ACLT[] {
  if (internedLists.has(acl)) return acl;
  const key = acl.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`).join('\n');
  const known = interned.get(key);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) {
    interned.set(key, acl);
    internedLists.add(acl);
  }
  return acl;
}

/** 0n as one shared value: a bigint read off the wire is an object of its own, and most znodes are not ephemeral. */
const ZERO = 0n;
const sharedZero = (owner: bigint): bigint => (owner === ZERO ? ZERO : owner);

export class DataNode {
  private kids: Set<string> | null = null;
  /**
   * The data, one char per byte (latin1): a string is the most compact thing V8 keeps (a Buffer of 100 bytes
   * costs its object, an ArrayBuffer, and pins the 8 KiB pool slab it was cut from). null and empty differ, as
   * in ZooKeeper: a create without data keeps null, and getData returns it.
   */
  private bytes: string | null;
  public acl: ACLT[];
  /** `data` as bytes, or already as a latin1 string (a snapshot's reader gives that). */
  constructor(
    data: Buffer | string | null,
    acl: ACLT[],
    public stat: StatPersisted,
  ) {
    this.bytes = data === null || typeof data === 'string' ? data : data.toString('latin1');
    this.acl = internAcl(acl);
  }

  /** The data as the node keeps it (latin1), for the snapshot's writer. */
  get latin1(): string | null {
    return this.bytes;
  }

  /** A fresh copy of the data (the node keeps its own). */
  get data(): Buffer | null {
    return this.bytes === null ? null : Buffer.from(this.bytes, 'latin1');
  }

  set data(d: Buffer | null) {
    this.bytes = d === null ? null : d.toString('latin1');
  }

  get dataLength(): number {
    return this.bytes === null ? 0 : this.bytes.length;
  }

  get children(): ReadonlySet<string> {
    return this.kids ?? NO_CHILDREN;
  }

  addChild(name: string): void {
    (this.kids ??= new Set()).add(name);
  }

  removeChild(name: string): void {
    if (this.kids === null) return;
    this.kids.delete(name);
    if (this.kids.size === 0) this.kids = null;
  }

  /** A copy that shares what never changes in place (the data string, the ACL list) and copies the rest. */
  clone(): DataNode {
    const c = new DataNode(null, this.acl, { ...this.stat });
    c.bytes = this.bytes;
    if (this.kids !== null) c.kids = new Set(this.kids);
    return c;
  }
}

/** Stat as a client sees it (DataNode.copyStat). Zxids and times are numbers; the wire edge makes them longs. */
export interface Stat extends StatPersisted {
  dataLength: number;
  numChildren: number;
}

/** DataTree.ProcessTxnResult. */
export interface ProcessTxnResult {
  clientId: bigint;
  cxid: number;
  zxid: number;
  type: number;
  err: number;
  path?: string;
  stat?: Stat;
  multiResult?: ProcessTxnResult[];
}

/** A watch event a txn caused, in the order DataTree fires them (impl/zk/watches.ts delivers them). */
export interface WatchTrigger {
  type: number;
  path: string;
}

/** What a KeeperException carries here: its code. */
export class KeeperError extends Error {
  constructor(
    readonly code: number,
    readonly path?: string,
  ) {
    super(`${code}${path === undefined ? '' : ` ${path}`}`);
  }
}

const zeroStat = (): StatPersisted => ({ czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0 });
const OPEN_ACL: ACLT[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const READ_ACL: ACLT[] = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];

export const parentOf = (path: string): string => {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
};
const childName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const join = (parent: string, child: string): string => (parent === '/' ? `/${child}` : `${parent}/${child}`);

/** A snapshot being written: its zxid and its bytes, piece by piece (impl/storage/snapshot.ts writes them). */
export interface SnapshotImage {
  readonly zxid: number;
  readonly pieces: Iterator<Buffer>;
  /** The image is written or abandoned: the tree stops keeping pre-images. */
  release(): void;
  /** How many nodes changed since the image was taken (their pre-images are kept). */
  readonly preImages: number;
}

/** About how many bytes a piece of a snapshot holds: small enough that serving clients goes on between two. */
export const SNAPSHOT_PIECE_BYTES = 1 << 18;

/**
 * FileSnap's body (the zxid, the sessions with their timeouts, every znode parents first with its data, ACL
 * and Stat; ACLs inline instead of ZooKeeper's ACL cache), cut into pieces of about `pieceBytes`.
 */
function* snapshotPieces(
  zxid: number,
  sessions: ReadonlyMap<bigint, number>,
  nodeCount: number,
  nodeOf: (path: string) => DataNode,
  pieceBytes: number,
): Generator<Buffer, void, void> {
  const w = new JuteWriter(Math.min(pieceBytes * 2, 1 << 22));
  w.longNumber(zxid);
  w.int(sessions.size);
  for (const [id, timeout] of sessions) w.long(id).int(timeout);
  w.int(nodeCount);
  // Pre-order, so that every parent comes before its children; a stack, not recursion (deep trees).
  const stack = ['/'];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const n = nodeOf(path);
    const s = n.stat;
    w.ustring(path).latin1(n.latin1).int(n.acl.length);
    for (const a of n.acl) w.int(a.perms).ustring(a.id.scheme).ustring(a.id.id);
    w.longNumber(s.czxid).longNumber(s.mzxid).longNumber(s.ctime).longNumber(s.mtime);
    w.int(s.version).int(s.cversion).int(s.aversion).long(s.ephemeralOwner).longNumber(s.pzxid);
    // Pushed last to first, so that they come out in the order the recursive walk had (insertion order).
    const prefix = path === '/' ? '/' : `${path}/`;
    const at = stack.length;
    for (const c of n.children) stack.push(prefix + c);
    for (let a = at, b = stack.length - 1; a < b; a++, b--) [stack[a], stack[b]] = [stack[b]!, stack[a]!];
    if (w.length >= pieceBytes) yield w.take();
  }
  if (w.length > 0) yield w.take();
}

export class DataTree {
  private readonly nodes = new Map<string, DataNode>();
  /** session -> its ephemeral znodes. */
  private readonly ephemerals = new Map<bigint, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  /** ZKDatabase.sessionsWithTimeouts: every live session and its negotiated timeout (ms). */
  readonly sessions = new Map<bigint, number>();
  lastProcessedZxid = 0;
  /** The triggers of the last processTxn. */
  private triggers: WatchTrigger[] = [];
  /** While a snapshot image is open: the pre-image of each node changed since it was taken. */
  private frozen: Map<string, DataNode> | null = null;

  constructor() {
    // The root and ZooKeeper's own nodes (DataTree's constructor and addConfigNode): all Stats zero.
    const root = new DataNode(Buffer.alloc(0), OPEN_ACL, zeroStat());
    this.nodes.set('/', root);
    this.addSystemNode('/zookeeper', OPEN_ACL);
    this.addSystemNode('/zookeeper/quota', OPEN_ACL);
    this.addSystemNode('/zookeeper/config', READ_ACL);
  }

  private addSystemNode(path: string, acl: ACLT[]): void {
    this.nodes.get(parentOf(path))!.addChild(childName(path));
    this.nodes.set(path, new DataNode(Buffer.alloc(0), acl, zeroStat()));
  }

  /** isSpecialPath: nodes no client may delete. */
  static isSpecialPath(path: string): boolean {
    return path === '/' || path === '/zookeeper' || path === '/zookeeper/quota' || path === '/zookeeper/config';
  }

  // ---- reads ----

  getNode(path: string): DataNode | undefined {
    return this.nodes.get(path === '' ? '/' : path);
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  /**
   * DataNode.copyStat: the persisted cversion counts creates only (sequential names come from it); a client sees
   * 2 * creates - children, the number of child changes. Containers and TTL nodes show ephemeralOwner 0.
   */
  statOf(n: DataNode): Stat {
    const s = n.stat;
    const kind = ephemeralKind(s.ephemeralOwner);
    return {
      czxid: s.czxid,
      mzxid: s.mzxid,
      ctime: s.ctime,
      mtime: s.mtime,
      version: s.version,
      cversion: (s.cversion * 2 - n.children.size) | 0,
      aversion: s.aversion,
      ephemeralOwner: kind === 'NORMAL' ? s.ephemeralOwner : 0n,
      dataLength: n.dataLength,
      numChildren: n.children.size,
      pzxid: s.pzxid,
    };
  }

  stat(path: string): Stat | null {
    const n = this.getNode(path);
    return n ? this.statOf(n) : null;
  }

  getChildren(path: string): string[] | null {
    const n = this.getNode(path);
    return n ? [...n.children] : null;
  }

  /** DataTree.getAllChildrenNumber: every node below path (not path itself). */
  getAllChildrenNumber(path: string): number {
    const prefix = path === '/' ? '/' : path + '/';
    let n = 0;
    for (const p of this.nodes.keys()) if (p !== '/' && p.startsWith(prefix) && p !== path) n++;
    // For the root ZooKeeper answers nodes.size() - 2 (its "" and "/" keys): /zookeeper and its children count.
    return n;
  }

  /** The ephemerals of a session, sorted (DataTree.getEphemerals returns a copy of its set). */
  getEphemerals(session: bigint): string[] {
    return [...(this.ephemerals.get(session) ?? [])].sort();
  }

  /** Every session's ephemerals (getEphemerals with a prefix, and the `dump` four-letter word). */
  allEphemerals(): ReadonlyMap<bigint, ReadonlySet<string>> {
    return this.ephemerals;
  }

  paths(): IterableIterator<string> {
    return this.nodes.keys();
  }

  // ---- applying txns ----

  /** Apply one txn (DataTree.processTxn); the watch triggers it caused are in `lastTriggers`. */
  processTxn(t: ZkTxn): ProcessTxnResult {
    this.triggers = [];
    const rc = this.apply(t.hdr.type, t.body, t);
    if (t.hdr.zxid > this.lastProcessedZxid) this.lastProcessedZxid = t.hdr.zxid;
    return rc;
  }

  get lastTriggers(): readonly WatchTrigger[] {
    return this.triggers;
  }

  private apply(type: number, body: TxnBody, t: ZkTxn): ProcessTxnResult {
    const { clientId, cxid, zxid, time } = t.hdr;
    const rc: ProcessTxnResult = { clientId, cxid, zxid, type, err: 0 };
    const b = body as Record<string, any>;
    try {
      switch (type) {
        case OpCode.create:
        case OpCode.create2:
        case OpCode.createTTL:
        case OpCode.createContainer: {
          rc.path = b['path'];
          const owner =
            type === OpCode.createContainer ? CONTAINER_OWNER : type === OpCode.createTTL ? ttlOwner(b['ttl']) : b['ephemeral'] ? clientId : 0n;
          const stat = this.createNode(b['path'], b['data'], b['acl'], owner, b['parentCVersion'], zxid, time);
          if (type !== OpCode.create) rc.stat = stat;
          break;
        }
        case OpCode.delete:
        case OpCode.deleteContainer:
          rc.path = b['path'];
          this.deleteNode(b['path'], zxid);
          break;
        case OpCode.setData:
          rc.path = b['path'];
          rc.stat = this.setData(b['path'], b['data'], b['version'], zxid, time);
          break;
        case OpCode.setACL:
          rc.path = b['path'];
          rc.stat = this.setACL(b['path'], b['acl'], b['version']);
          break;
        case OpCode.createSession:
          this.sessions.set(clientId, b['timeOut']);
          break;
        case OpCode.closeSession:
          this.killSession(clientId, zxid, b['paths2Delete']);
          break;
        case OpCode.error:
          rc.err = b['err'];
          break;
        case OpCode.check:
          rc.path = b['path'];
          break;
        case OpCode.move:
          rc.path = b['to'];
          this.move(b['from'], b['to'], zxid, time);
          break;
        case OpCode.multi:
          rc.multiResult = this.multi(b['txns'], t);
          rc.err = rc.multiResult.find((r) => r.err !== 0)?.err ?? 0;
          break;
        default:
          throw new KeeperError(Code.UNIMPLEMENTED);
      }
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      rc.err = e.code;
    }
    return rc;
  }

  private multi(txns: SubTxn[], t: ZkTxn): ProcessTxnResult[] {
    const failed = txns.some((s) => s.type === OpCode.error);
    let postFailed = false;
    return txns.map((s) => {
      if (s.type === OpCode.error) postFailed = true;
      if (failed && s.type !== OpCode.error) {
        const err = postFailed ? Code.RUNTIMEINCONSISTENCY : Code.OK;
        return this.apply(OpCode.error, { err }, t);
      }
      return this.apply(s.type, s.body, t);
    });
  }

  createNode(path: string, data: Buffer | null, acl: ACLT[], owner: bigint, parentCVersion: number, zxid: number, time: number): Stat {
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (!parent) throw new KeeperError(Code.NONODE, path);
    const existing = this.nodes.get(path);
    if (existing) {
      this.preImage(path, existing);
      existing.acl = internAcl(acl);
      throw new KeeperError(Code.NODEEXISTS, path);
    }
    this.preImage(parentPath, parent);
    if (parentCVersion === -1) parentCVersion = parent.stat.cversion + 1;
    if (parentCVersion > parent.stat.cversion) {
      parent.stat.cversion = parentCVersion;
      parent.stat.pzxid = zxid;
    }
    const child = new DataNode(data, acl, { czxid: zxid, mzxid: zxid, ctime: time, mtime: time, version: 0, cversion: 0, aversion: 0, ephemeralOwner: sharedZero(owner), pzxid: zxid });
    parent.addChild(childName(path));
    this.nodes.set(path, child);
    this.trackOwner(path, owner);
    this.triggers.push({ type: EventType.NodeCreated, path }, { type: EventType.NodeChildrenChanged, path: parentPath });
    return this.statOf(child);
  }

  private trackOwner(path: string, owner: bigint): void {
    const kind = ephemeralKind(owner);
    if (kind === 'CONTAINER') this.containers.add(path);
    else if (kind === 'TTL') this.ttls.add(path);
    else if (kind === 'NORMAL') {
      let set = this.ephemerals.get(owner);
      if (!set) this.ephemerals.set(owner, (set = new Set()));
      set.add(path);
    }
  }

  private untrackOwner(path: string, owner: bigint): void {
    const kind = ephemeralKind(owner);
    if (kind === 'CONTAINER') this.containers.delete(path);
    else if (kind === 'TTL') this.ttls.delete(path);
    else if (kind === 'NORMAL') this.ephemerals.get(owner)?.delete(path);
  }

  deleteNode(path: string, zxid: number): void {
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (!parent) throw new KeeperError(Code.NONODE, path);
    this.preImage(parentPath, parent);
    parent.removeChild(childName(path));
    if (zxid > parent.stat.pzxid) parent.stat.pzxid = zxid;
    const node = this.nodes.get(path);
    if (!node) throw new KeeperError(Code.NONODE, path);
    this.preImage(path, node);
    this.nodes.delete(path);
    this.untrackOwner(path, node.stat.ephemeralOwner);
    this.triggers.push({ type: EventType.NodeDeleted, path }, { type: EventType.NodeChildrenChanged, path: parentPath });
  }

  setData(path: string, data: Buffer | null, version: number, zxid: number, time: number): Stat {
    const n = this.nodes.get(path);
    if (!n) throw new KeeperError(Code.NONODE, path);
    this.preImage(path, n);
    n.data = data;
    n.stat.mtime = time;
    n.stat.mzxid = zxid;
    n.stat.version = version;
    this.triggers.push({ type: EventType.NodeDataChanged, path });
    return this.statOf(n);
  }

  setACL(path: string, acl: ACLT[], version: number): Stat {
    const n = this.nodes.get(path);
    if (!n) throw new KeeperError(Code.NONODE, path);
    this.preImage(path, n);
    n.acl = internAcl(acl);
    n.stat.aversion = version;
    return this.statOf(n);
  }

  /** killSession: delete the session's ephemerals (the closeSession txn lists them), forget the session. */
  killSession(session: bigint, zxid: number, paths2Delete: string[]): void {
    const own = this.ephemerals.get(session);
    this.ephemerals.delete(session);
    const paths = paths2Delete.length > 0 ? paths2Delete : [...(own ?? [])].sort();
    for (const p of paths) {
      try {
        this.deleteNode(p, zxid);
      } catch (e) {
        if (!(e instanceof KeeperError)) throw e;
        // ZooKeeper logs and goes on: the node went with an earlier txn (a replay).
      }
    }
    this.sessions.delete(session);
  }

  /**
   * Ours: `from` and its subtree become `to`, as if deleted (deepest first) and created again (top down) in one
   * txn: every moved node gets a new czxid/mzxid/pzxid (this zxid), ctime/mtime (this txn's time), version,
   * aversion 0 and cversion the number of its children; data, ACLs and ephemeral owners move with it. The old
   * parent's pzxid and the new parent's cversion and pzxid change as a delete and a create change them.
   * PrepRequestProcessor checked everything; on a replay where `from` is gone already, it is NONODE.
   */
  move(from: string, to: string, zxid: number, time: number): void {
    const src = this.nodes.get(from);
    if (!src) throw new KeeperError(Code.NONODE, from);
    if (this.nodes.has(to)) throw new KeeperError(Code.NODEEXISTS, to);
    const toParent = this.nodes.get(parentOf(to));
    if (!toParent) throw new KeeperError(Code.NONODE, to);
    // The subtree in pre-order: parents before children.
    const subtree: [string, DataNode][] = [];
    const walk = (p: string) => {
      const n = this.nodes.get(p)!;
      subtree.push([p, n]);
      for (const c of [...n.children].sort()) walk(join(p, c));
    };
    walk(from);
    for (let i = subtree.length - 1; i >= 0; i--) this.deleteNode(subtree[i]![0], zxid);
    for (const [p, n] of subtree) {
      const np = to + p.slice(from.length);
      this.createNode(np, n.data, n.acl, n.stat.ephemeralOwner, -1, zxid, time);
    }
  }

  // ---- snapshots (FileSnap: snapshotPieces above) ----

  /** The whole snapshot at once (a SNAP to a learner, the in-memory disk, tests). */
  serialize(): Buffer {
    const nodes = this.nodes;
    return Buffer.concat([...snapshotPieces(this.lastProcessedZxid, this.sessions, nodes.size, (p) => nodes.get(p)!, Infinity)]);
  }

  /**
   * The tree as it is now, to be serialized in pieces while txns go on being applied (ZooKeeper writes its
   * snapshot in its own thread, and a fuzzy one: the log replay after it mends it; ours is exact instead). Copy
   * on write: until `release`, a node's first change keeps its pre-image, and the pieces read the pre-image
   * where there is one; nodes created since are not reached, since their parent's pre-image lacks them.
   * One image at a time per tree.
   */
  snapshotImage(pieceBytes = SNAPSHOT_PIECE_BYTES): SnapshotImage {
    if (this.frozen !== null) throw new Error('a snapshot image of this tree is still open');
    const frozen = new Map<string, DataNode>();
    this.frozen = frozen;
    const nodes = this.nodes;
    const nodeOf = (p: string): DataNode => frozen.get(p) ?? nodes.get(p)!;
    const pieces = snapshotPieces(this.lastProcessedZxid, new Map(this.sessions), nodes.size, nodeOf, pieceBytes);
    return {
      zxid: this.lastProcessedZxid,
      pieces,
      release: () => {
        if (this.frozen === frozen) this.frozen = null;
      },
      get preImages() {
        return frozen.size;
      },
    };
  }

  /** Before a node changes while a snapshot image is open: keep what the image must see. */
  private preImage(path: string, n: DataNode): void {
    if (this.frozen !== null && !this.frozen.has(path)) this.frozen.set(path, n.clone());
  }

  /** A copy to change apart from this one (the leader's tree to prepare requests against): node structure copied, data and ACL lists shared. */
  clone(): DataTree {
    const t = new DataTree();
    t.nodes.clear();
    for (const [path, n] of this.nodes) t.nodes.set(path, n.clone());
    for (const [owner, paths] of this.ephemerals) t.ephemerals.set(owner, new Set(paths));
    for (const p of this.containers) t.containers.add(p);
    for (const p of this.ttls) t.ttls.add(p);
    for (const [id, timeout] of this.sessions) t.sessions.set(id, timeout);
    t.lastProcessedZxid = this.lastProcessedZxid;
    return t;
  }

  /** Throws (naming the field) on bytes that are not a whole snapshot. */
  static deserialize(bytes: Uint8Array): DataTree {
    const r = new JuteReader(bytes);
    const t = new DataTree();
    t.nodes.clear();
    t.lastProcessedZxid = r.longNumber('snapshot.zxid');
    const nSessions = r.vectorLength('snapshot.sessions', 12) ?? 0;
    for (let i = 0; i < nSessions; i++) t.sessions.set(r.long(`sessions[${i}].id`), r.int(`sessions[${i}].timeout`));
    const nNodes = r.vectorLength('snapshot.nodes', 60) ?? 0;
    let i = 0;
    try {
      for (; i < nNodes; i++) {
        const path = r.ustring('path') ?? '';
        const data = r.latin1('data');
        const nAcl = r.vectorLength('acl', 12) ?? 0;
        const acl: ACLT[] = [];
        for (let j = 0; j < nAcl; j++) acl.push({ perms: r.int('acl'), id: { scheme: r.ustring('acl'), id: r.ustring('acl') } });
        const stat: StatPersisted = {
          czxid: r.longNumber('czxid'),
          mzxid: r.longNumber('mzxid'),
          ctime: r.longNumber('ctime'),
          mtime: r.longNumber('mtime'),
          version: r.int('version'),
          cversion: r.int('cversion'),
          aversion: r.int('aversion'),
          ephemeralOwner: sharedZero(r.long('ephemeralOwner')),
          pzxid: r.longNumber('pzxid'),
        };
        if (path !== '/') {
          const parent = t.nodes.get(parentOf(path));
          if (!parent || t.nodes.has(path)) throw new Error(`snapshot: nodes[${i}] ${JSON.stringify(path)} has no parent before it, or comes twice`);
          parent.addChild(childName(path));
        } else if (i !== 0) throw new Error(`snapshot: nodes[${i}]: the root must come first`);
        t.nodes.set(path, new DataNode(data, acl, stat));
        t.trackOwner(path, stat.ephemeralOwner);
      }
    } catch (e) {
      // The reader names the field; which node it was is said here (building the name per field costs more).
      if (e instanceof JuteError) throw new JuteError(`snapshot: nodes[${i}].${(e as Error).message}`);
      throw e;
    }
    r.end('snapshot');
    if (!t.nodes.has('/')) throw new Error('snapshot: no root node');
    return t;
  }

  /** Everything a client could observe, for comparing two trees in tests (ctime/mtime included). */
  digest(): string {
    const out: string[] = [];
    for (const p of [...this.nodes.keys()].sort()) {
      const n = this.nodes.get(p)!;
      const s = this.statOf(n);
      out.push(`${p} ${n.data?.toString('hex') ?? 'null'} ${JSON.stringify(n.acl)} ${JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))} [${[...n.children].sort()}]`);
    }
    for (const [id, to] of [...this.sessions].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out.push(`session ${id} ${to} [${this.getEphemerals(id)}]`);
    return out.join('\n');
  }
}

/** Stat as the jute record wants it (longs as bigints). */
export function toWireStat(s: Stat): StatT {
  return {
    czxid: BigInt(s.czxid),
    mzxid: BigInt(s.mzxid),
    ctime: BigInt(s.ctime),
    mtime: BigInt(s.mtime),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: s.ephemeralOwner,
    dataLength: s.dataLength,
    numChildren: s.numChildren,
    pzxid: BigInt(s.pzxid),
  };
}
