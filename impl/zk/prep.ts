// PrepRequestProcessor: on the leader, turns a client's write request into the txn every server will apply, or
// into an error txn (which still takes a zxid, as in ZooKeeper). It checks the request against the tree as it
// will be once every txn already proposed is applied: the leader keeps a second DataTree ("prepared") that it
// applies each txn to as it proposes it, in place of ZooKeeper's outstandingChanges. Within one multi the ops
// see each other's effects through ChangeRecords over that tree (ZooKeeper's getRecordForPath/addChangeRecord),
// and a failed multi leaves nothing behind.
//
// The order of the checks, and so which error a request gets when several apply, is ZooKeeper 3.8's
// (pRequest2Txn, pRequest2TxnCreate).
import { Code, CreateMode, OpCode, Perms } from '../zkwire/codes.ts';
import type { ACLT } from '../zkwire/jute.ts';
import { checkACL, fixupACL, type Id } from './acl.ts';
import { DataTree, KeeperError, TTL_MAX, ephemeralKind, ttlOwner, type StatPersisted } from './datatree.ts';
import type { SubTxn, TxnBody, ZkTxn } from './txn.ts';

/** ZooKeeper's Request, as the core sees a client's write: the decoded jute record of its op. */
export interface Request {
  readonly sessionId: bigint;
  readonly cxid: number;
  readonly type: number;
  readonly request: any;
  readonly authInfo: readonly Id[];
}

/** The write ops: everything else is a read the connection's own server answers. */
export const WRITE_OPS: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.setData,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
  OpCode.createSession,
  OpCode.closeSession,
  OpCode.move,
]);

/** ChangeRecord: a node as a multi's earlier ops left it (stat null: deleted). */
interface ChangeRecord {
  stat: StatPersisted | null;
  childCount: number;
  acl: ACLT[];
}

class PrepView {
  private readonly changes = new Map<string, ChangeRecord>();
  constructor(readonly tree: DataTree) {}

  /** getRecordForPath: NONODE when there is no such node (or a multi op deleted it). */
  get(path: string): ChangeRecord {
    const c = this.changes.get(path);
    if (c) {
      if (!c.stat) throw new KeeperError(Code.NONODE, path);
      return c;
    }
    const n = this.tree.getNode(path);
    if (!n) throw new KeeperError(Code.NONODE, path);
    return { stat: { ...n.stat }, childCount: n.children.size, acl: n.acl };
  }

  exists(path: string): boolean {
    const c = this.changes.get(path);
    return c ? c.stat !== null : this.tree.getNode(path) !== undefined;
  }

  set(path: string, rec: ChangeRecord): void {
    this.changes.set(path, rec);
  }
}

/** PathUtils.validatePath. */
export function validatePath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path.length === 0 || path[0] !== '/') throw new KeeperError(Code.BADARGUMENTS, String(path));
  if (path.length === 1) return;
  if (path.endsWith('/')) throw new KeeperError(Code.BADARGUMENTS, path);
  let last = '/';
  for (let i = 1; i < path.length; last = path[i]!, i++) {
    const c = path[i]!;
    const code = c.charCodeAt(0);
    const relative =
      (c === '.' && last === '.' && path[i - 2] === '/' && (i + 1 === path.length || path[i + 1] === '/')) ||
      (c === '.' && last === '/' && (i + 1 === path.length || path[i + 1] === '/'));
    if (
      code === 0 ||
      (c === '/' && last === '/') ||
      relative ||
      (code > 0 && code <= 0x1f) ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0xd800 && code <= 0xf8ff) ||
      code >= 0xfff0
    )
      throw new KeeperError(Code.BADARGUMENTS, path);
  }
}

/** validatePathForCreate / getParentPathAndValidate: the parent, or BADARGUMENTS. */
function parentPathOf(path: unknown, forDelete: boolean): string {
  if (typeof path !== 'string') throw new KeeperError(Code.BADARGUMENTS);
  const slash = path.lastIndexOf('/');
  if (slash === -1 || path.includes('\0') || (forDelete && DataTree.isSpecialPath(path))) throw new KeeperError(Code.BADARGUMENTS, path);
  return slash === 0 ? '/' : path.slice(0, slash);
}

/** checkAndIncVersion. */
function checkAndIncVersion(current: number, expected: number, path: string): number {
  if (expected !== -1 && expected !== current) throw new KeeperError(Code.BADVERSION, path);
  const next = (current + 1) | 0; // a Java int wraps
  return next === -1 ? 0 : next;
}

export interface PrepContext {
  readonly zxid: number;
  readonly time: number;
  /** SessionTracker.checkSession: false for a session that is unknown, expired or closing. */
  readonly sessionLive: (id: bigint) => boolean;
  /** zookeeper.extendedTypesEnabled: TTL nodes (off by default in 3.8: they are then UNIMPLEMENTED). */
  readonly extendedTypes?: boolean;
}

/** pRequest: the txn for one write request (an error txn when it fails). */
export function prepRequest(tree: DataTree, req: Request, ctx: PrepContext): ZkTxn {
  const hdr = (type: number) => ({ clientId: req.sessionId, cxid: req.cxid, zxid: ctx.zxid, time: ctx.time, type });
  const view = new PrepView(tree);
  try {
    if (req.type === OpCode.multi) {
      const ops = req.request as { type: number; request: any }[];
      const txns: SubTxn[] = [];
      let failed: KeeperError | null = null;
      for (const op of ops) {
        if (failed) {
          txns.push({ type: OpCode.error, body: { err: Code.RUNTIMEINCONSISTENCY } });
          continue;
        }
        try {
          txns.push({ type: op.type, body: prepOne(view, req, op.type, op.request, ctx) });
        } catch (e) {
          if (!(e instanceof KeeperError)) throw e;
          failed = e;
          txns.push({ type: OpCode.error, body: { err: e.code } });
        }
      }
      // A failed multi is still a multi txn (its ops error results); the tree ignores it.
      return { hdr: hdr(OpCode.multi), body: { txns } };
    }
    return { hdr: hdr(req.type), body: prepOne(view, req, req.type, req.request, ctx) };
  } catch (e) {
    if (!(e instanceof KeeperError)) throw e;
    return { hdr: hdr(OpCode.error), body: { err: e.code } };
  }
}

function checkSession(req: Request, ctx: PrepContext): void {
  if (!ctx.sessionLive(req.sessionId)) throw new KeeperError(Code.SESSIONEXPIRED);
}

function prepOne(view: PrepView, req: Request, type: number, r: any, ctx: PrepContext): TxnBody {
  const zxid = ctx.zxid;
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
      return prepCreate(view, req, type, r, ctx);
    case OpCode.deleteContainer: {
      const path = r.path;
      const parentPath = parentPathOf(path, true);
      const node = view.get(path);
      if (node.childCount > 0) throw new KeeperError(Code.NOTEMPTY, path);
      if (ephemeralKind(node.stat!.ephemeralOwner) === 'NORMAL') throw new KeeperError(Code.BADVERSION, path);
      const parent = view.get(parentPath);
      view.set(parentPath, { ...parent, childCount: parent.childCount - 1, stat: { ...parent.stat!, pzxid: zxid } });
      view.set(path, { stat: null, childCount: 0, acl: [] });
      return { path };
    }
    case OpCode.delete: {
      checkSession(req, ctx);
      const path = r.path;
      const parentPath = parentPathOf(path, true);
      const parent = view.get(parentPath);
      checkACL(parent.acl, Perms.DELETE, req.authInfo, path);
      const node = view.get(path);
      checkAndIncVersion(node.stat!.version, r.version, path);
      if (node.childCount > 0) throw new KeeperError(Code.NOTEMPTY, path);
      view.set(parentPath, { ...parent, childCount: parent.childCount - 1, stat: { ...parent.stat!, pzxid: zxid } });
      view.set(path, { stat: null, childCount: 0, acl: [] });
      return { path };
    }
    case OpCode.setData: {
      checkSession(req, ctx);
      const path = r.path;
      validatePath(path);
      const node = view.get(path);
      checkACL(node.acl, Perms.WRITE, req.authInfo, path);
      const version = checkAndIncVersion(node.stat!.version, r.version, path);
      view.set(path, { ...node, stat: { ...node.stat!, version, mtime: ctx.time, mzxid: zxid } });
      return { path, data: r.data, version };
    }
    case OpCode.setACL: {
      checkSession(req, ctx);
      const path = r.path;
      validatePath(path);
      const acl = fixupACL(path, req.authInfo, r.acl);
      const node = view.get(path);
      checkACL(node.acl, Perms.ADMIN, req.authInfo, path);
      const version = checkAndIncVersion(node.stat!.aversion, r.version, path);
      view.set(path, { ...node, acl, stat: { ...node.stat!, aversion: version } });
      return { path, acl, version };
    }
    case OpCode.check: {
      checkSession(req, ctx);
      const path = r.path;
      validatePath(path);
      const node = view.get(path);
      checkACL(node.acl, Perms.READ, req.authInfo, path);
      return { path, version: checkAndIncVersion(node.stat!.version, r.version, path) };
    }
    case OpCode.createSession:
      return { timeOut: r.timeOut };
    case OpCode.closeSession:
      // The session's ephemerals as the tree will hold them once everything proposed is applied.
      return { paths2Delete: view.tree.getEphemerals(req.sessionId) };
    case OpCode.move:
      checkSession(req, ctx);
      return prepMove(view, req, r);
    default:
      throw new KeeperError(Code.UNIMPLEMENTED);
  }
}

function prepCreate(view: PrepView, req: Request, type: number, r: any, ctx: PrepContext): TxnBody {
  const flags: number = r.flags;
  const ttl: bigint = type === OpCode.createTTL ? r.ttl : -1n;
  let path: string = r.path;
  // CreateMode.fromFlag
  if (!Object.values(CreateMode).includes(flags as never)) throw new KeeperError(Code.BADARGUMENTS, path);
  const isTTL = flags === CreateMode.PERSISTENT_WITH_TTL || flags === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
  const isEphemeral = flags === CreateMode.EPHEMERAL || flags === CreateMode.EPHEMERAL_SEQUENTIAL;
  const isSequential = flags === CreateMode.PERSISTENT_SEQUENTIAL || flags === CreateMode.EPHEMERAL_SEQUENTIAL || flags === CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL;
  const isContainer = flags === CreateMode.CONTAINER;
  // validateCreateRequest: TTL only with extended types, EphemeralType.validateTTL, then the session.
  if (isTTL && ctx.extendedTypes === false) throw new KeeperError(Code.UNIMPLEMENTED, path);
  if (isTTL ? ttl <= 0n || ttl > TTL_MAX : ttl >= 0n) throw new KeeperError(Code.BADARGUMENTS, path);
  checkSession(req, ctx);
  const parentPath = parentPathOf(path, false);
  const acl = fixupACL(path, req.authInfo, r.acl);
  const parent = view.get(parentPath);
  checkACL(parent.acl, Perms.CREATE, req.authInfo, path);
  const parentCVersion = parent.stat!.cversion;
  if (isSequential) path = path + sequenceSuffix(parentCVersion);
  validatePath(path);
  if (view.exists(path)) throw new KeeperError(Code.NODEEXISTS, path);
  if (ephemeralKind(parent.stat!.ephemeralOwner) === 'NORMAL') throw new KeeperError(Code.NOCHILDRENFOREPHEMERALS, path);
  const newCversion = parentCVersion + 1;
  const owner = isContainer ? -(1n << 63n) : isTTL ? ttlOwner(ttl) : isEphemeral ? req.sessionId : 0n;
  view.set(parentPath, { ...parent, childCount: parent.childCount + 1, stat: { ...parent.stat!, cversion: newCversion, pzxid: ctx.zxid } });
  const z = ctx.zxid;
  view.set(path, { acl, childCount: 0, stat: { czxid: z, mzxid: z, ctime: ctx.time, mtime: ctx.time, version: 0, cversion: 0, aversion: 0, ephemeralOwner: owner, pzxid: z } });
  const data: Buffer | null = r.data;
  if (type === OpCode.createContainer) return { path, data, acl, parentCVersion: newCversion };
  if (type === OpCode.createTTL) return { path, data, acl, parentCVersion: newCversion, ttl };
  return { path, data, acl, ephemeral: isEphemeral, parentCVersion: newCversion };
}

/** String.format("%010d", cversion): ten digits, a minus sign taking one of them. */
export function sequenceSuffix(n: number): string {
  return n < 0 ? '-' + String(-n).padStart(9, '0') : String(n).padStart(10, '0');
}

/**
 * Ours: move `from` (and its subtree) to `to`. Checked like a delete of `from` (DELETE on its parent, its
 * version) and a create of `to` (CREATE on the new parent, which must exist and not be an ephemeral); moving
 * the root or ZooKeeper's own nodes, or into its own subtree, is BADARGUMENTS; onto an existing node NODEEXISTS.
 */
function prepMove(view: PrepView, req: Request, r: { from: string; to: string; version: number }): TxnBody {
  const { from, to } = r;
  validatePath(from);
  validatePath(to);
  const fromParent = parentPathOf(from, true);
  if (to === from || to.startsWith(from + '/') || DataTree.isSpecialPath(to) || to.startsWith('/zookeeper/')) throw new KeeperError(Code.BADARGUMENTS, to);
  const src = view.get(from);
  checkACL(view.get(fromParent).acl, Perms.DELETE, req.authInfo, from);
  checkAndIncVersion(src.stat!.version, r.version, from);
  const toParentPath = parentPathOf(to, false);
  const toParent = view.get(toParentPath);
  checkACL(toParent.acl, Perms.CREATE, req.authInfo, to);
  if (view.exists(to)) throw new KeeperError(Code.NODEEXISTS, to);
  if (ephemeralKind(toParent.stat!.ephemeralOwner) === 'NORMAL') throw new KeeperError(Code.NOCHILDRENFOREPHEMERALS, to);
  return { from, to };
}
