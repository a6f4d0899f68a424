// FinalRequestProcessor: what a client gets back. For a write, the response record built from the result of
// applying its txn (ProcessTxnResult); for a read, the answer from the tree of the server the client is
// connected to, with ZooKeeper's ACL checks and the watches the read sets. Pure: the client port encodes the
// records and sends them.
import { Code, OpCode, Perms } from '../zkwire/codes.ts';
import type { ACLT } from '../zkwire/jute.ts';
import type { MultiResult } from '../zkwire/records.ts';
import { checkACL, type Id } from './acl.ts';
import { DataTree, KeeperError, toWireStat, type ProcessTxnResult } from './datatree.ts';
import type { WatchManager } from './watches.ts';

export interface Answer {
  readonly err: number;
  /** The response record (absent: the reply is the header alone). */
  readonly response?: unknown;
}

const EMPTY_STAT = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 0, numChildren: 0, pzxid: 0 };

/** The response to a write, from the result of applying its txn. */
export function writeAnswer(type: number, rc: ProcessTxnResult): Answer {
  if (type === OpCode.multi) {
    // A failed multi still answers err 0 in its header: the per-op results carry the errors.
    return { err: 0, response: (rc.multiResult ?? []).map(multiResult) };
  }
  if (rc.err !== 0) return { err: rc.err };
  switch (type) {
    case OpCode.create:
      return { err: 0, response: { path: rc.path } };
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return { err: 0, response: { path: rc.path, stat: toWireStat(rc.stat!) } };
    case OpCode.setData:
    case OpCode.setACL:
      return { err: 0, response: { stat: toWireStat(rc.stat!) } };
    case OpCode.check:
      return { err: 0, response: { stat: toWireStat(rc.stat ?? EMPTY_STAT) } };
    default:
      return { err: 0 };
  }
}

function multiResult(r: ProcessTxnResult): MultiResult {
  switch (r.type) {
    case OpCode.create:
      return { type: OpCode.create, err: 0, body: { path: r.path } };
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return { type: OpCode.create2, err: 0, body: { path: r.path, stat: toWireStat(r.stat!) } };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type: OpCode.delete, err: 0, body: null };
    case OpCode.setData:
      return { type: OpCode.setData, err: 0, body: { stat: toWireStat(r.stat!) } };
    case OpCode.check:
      return { type: OpCode.check, err: 0, body: null };
    default:
      return { type: OpCode.error, err: r.err, body: { err: r.err } };
  }
}

export interface ReadContext<W> {
  readonly tree: DataTree;
  readonly authInfo: readonly Id[];
  readonly sessionId: bigint;
  readonly watches: WatchManager<W>;
  readonly watcher: W;
}

function node(tree: DataTree, path: unknown) {
  if (typeof path !== 'string') throw new KeeperError(Code.BADARGUMENTS);
  const n = tree.getNode(path);
  if (!n) throw new KeeperError(Code.NONODE, path);
  return n;
}

/** getACL without ADMIN: digest ids are hidden (FinalRequestProcessor's "x:x"). */
function redact(acl: ACLT[]): ACLT[] {
  return acl.map((a) => (a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: 'x:x' } } : a));
}

/** A read served here (exists, getData, getChildren(2), getACL, getAllChildrenNumber, getEphemerals, multiRead, watches). */
export function readAnswer<W>(type: number, r: any, ctx: ReadContext<W>): Answer {
  const { tree, authInfo, watches, watcher } = ctx;
  try {
    switch (type) {
      case OpCode.exists: {
        if (typeof r.path !== 'string' || r.path.includes('\0')) throw new KeeperError(Code.BADARGUMENTS);
        // statNode sets the watch even on a missing node: it fires NodeCreated.
        if (r.watch) watches.watchData(r.path, watcher);
        const stat = tree.stat(r.path);
        if (!stat) throw new KeeperError(Code.NONODE, r.path);
        return { err: 0, response: { stat: toWireStat(stat) } };
      }
      case OpCode.getData: {
        const n = node(tree, r.path);
        checkACL(n.acl, Perms.READ, authInfo, r.path);
        if (r.watch) watches.watchData(r.path, watcher);
        return { err: 0, response: { data: n.data, stat: toWireStat(tree.statOf(n)) } };
      }
      case OpCode.getChildren:
      case OpCode.getChildren2: {
        const n = node(tree, r.path);
        checkACL(n.acl, Perms.READ, authInfo, r.path);
        if (r.watch) watches.watchChildren(r.path, watcher);
        const children = [...n.children];
        return { err: 0, response: type === OpCode.getChildren ? { children } : { children, stat: toWireStat(tree.statOf(n)) } };
      }
      case OpCode.getACL: {
        const n = node(tree, r.path);
        checkACL(n.acl, Perms.READ | Perms.ADMIN, authInfo, r.path);
        let acl = n.acl;
        try {
          checkACL(n.acl, Perms.ADMIN, authInfo, r.path);
        } catch {
          acl = redact(acl);
        }
        return { err: 0, response: { acl, stat: toWireStat(tree.statOf(n)) } };
      }
      case OpCode.getAllChildrenNumber: {
        const n = node(tree, r.path);
        checkACL(n.acl, Perms.READ, authInfo, r.path);
        return { err: 0, response: { totalNumber: tree.getAllChildrenNumber(r.path) } };
      }
      case OpCode.getEphemerals: {
        const prefix: string = r.prefixPath ?? '/';
        const all = tree.getEphemerals(ctx.sessionId);
        return { err: 0, response: { ephemerals: prefix === '/' || prefix === '' ? all : all.filter((p) => p.startsWith(prefix)) } };
      }
      case OpCode.multiRead: {
        const results: MultiResult[] = (r as { type: number; request: any }[]).map((op) => {
          const a = readAnswer(op.type, op.request, ctx);
          if (a.err !== 0) return { type: OpCode.error, err: a.err, body: { err: a.err } };
          return { type: op.type, err: 0, body: a.response };
        });
        return { err: 0, response: results };
      }
      case OpCode.addWatch:
        watches.addWatch(r.path, watcher, r.mode);
        return { err: 0, response: { err: 0 } };
      case OpCode.checkWatches:
        return { err: watches.checkWatches(r.path, r.type, watcher) };
      case OpCode.removeWatches:
        return { err: watches.removeWatches(r.path, r.type, watcher) };
      case OpCode.whoAmI:
        return {
          err: 0,
          response: { clientInfo: authInfo.map((a) => ({ authScheme: a.scheme, user: a.scheme === 'digest' ? a.id.split(':')[0] : a.id })) },
        };
      default:
        return { err: Code.UNIMPLEMENTED };
    }
  } catch (e) {
    if (e instanceof KeeperError) return { err: e.code };
    throw e;
  }
}

/** The reads a connection's own server answers (the rest of the known ops are writes or session control). */
export const READ_OPS: ReadonlySet<number> = new Set([
  OpCode.exists,
  OpCode.getData,
  OpCode.getChildren,
  OpCode.getChildren2,
  OpCode.getACL,
  OpCode.getAllChildrenNumber,
  OpCode.getEphemerals,
  OpCode.multiRead,
  OpCode.addWatch,
  OpCode.checkWatches,
  OpCode.removeWatches,
  OpCode.whoAmI,
]);
