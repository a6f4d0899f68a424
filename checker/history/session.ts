// What ZooKeeper promises a session beyond linearizable writes (the programmer's guide, "ZooKeeper Guarantees"):
// a single system image (a client never sees an older view than one it has seen) and reads that reflect its own
// writes. Plain reads are served by the server from its own tree, so they may lag behind the leader; what they may
// not do is go back, miss what their own server claims to have applied, or miss the session's own writes.
//
// The zxids make this checkable without trusting the ensemble's story: every reply carries the server's last
// processed zxid (FinalRequestProcessor: ReplyHeader(cxid, lastZxid, err)), an ok setData returns the znode's
// Stat (mzxid: the write's zxid), and a read returns the Stat of what it saw (czxid, mzxid). Checks, per session
// in the order of its operations (one at a time):
//   zxid-order       the reply zxids never decrease (a server never answers from an older view; ZooKeeper refuses
//                    a session on a server behind the client's last seen zxid, ZooKeeperServer.processConnectRequest)
//   read-own-write   a read after the session's own acknowledged setData/create/delete of that znode reflects it
//   monotonic-read   a read of a znode never returns an older modification (mzxid) than an earlier read of it
//   stale-read       a read answered at zxid Z reflects every modification of the znode with a zxid up to Z that
//                    the history knows the zxid of (acknowledged setData replies, and what any read observed)
//   read-mismatch    two observations of the same modification (mzxid) of a znode disagree on data or version
// and on the final reads, one per server and znode after the heal phase:
//   replicas-differ  the servers disagree about a znode
//   lost-write       an acknowledged setData newer than the final state of its znode
import { formatOp, type Op, type ReadValue } from './format.ts';
import { longZxidToHex } from '../../traces/zxid.ts';

export interface Anomaly {
  readonly kind: 'zxid-order' | 'read-own-write' | 'monotonic-read' | 'stale-read' | 'read-mismatch' | 'replicas-differ' | 'lost-write' | 'not-linearizable';
  readonly key: string | null;
  readonly message: string;
  readonly ops: readonly Op[];
}

const isWrite = (o: Op) => o.f === 'create' || o.f === 'set' || o.f === 'delete';
const isRead = (o: Op) => o.f === 'get' || o.f === 'sync-get' || o.f === 'final-get';
const same = (a: ReadValue | null, b: ReadValue | null) =>
  a === null || b === null ? a === b : a.value === b.value && a.version === b.version && a.czxid === b.czxid && a.mzxid === b.mzxid;
const show = (r: ReadValue | null) => (r === null ? 'absent' : `${JSON.stringify(r.value)} version ${r.version} czxid ${longZxidToHex(r.czxid)} mzxid ${longZxidToHex(r.mzxid)}`);

/** A modification of a znode whose zxid the history knows exactly. */
interface Known {
  readonly zxid: bigint;
  readonly value: string | null;
  readonly version: number;
  readonly op: Op;
}

export function sessionChecks(ops: readonly Op[], limit = 50): Anomaly[] {
  const out: Anomaly[] = [];
  const add = (a: Anomaly) => {
    if (out.length < limit) out.push(a);
  };
  // Known modifications per key, by zxid.
  const known = new Map<string, Map<bigint, Known>>();
  const note = (key: string, k: Known) => {
    let m = known.get(key);
    if (m === undefined) known.set(key, (m = new Map()));
    const had = m.get(k.zxid);
    if (had === undefined) m.set(k.zxid, k);
    else if (had.value !== k.value || had.version !== k.version)
      add({ kind: 'read-mismatch', key, message: `${key}: the modification at zxid ${longZxidToHex(k.zxid)} seen as ${JSON.stringify(had.value)} version ${had.version} and as ${JSON.stringify(k.value)} version ${k.version}`, ops: [had.op, k.op] });
  };
  for (const o of ops) {
    if (o.result !== 'ok') continue;
    if ((o.f === 'set' || o.f === 'create') && o.stat !== undefined) note(o.key, { zxid: o.stat.mzxid, value: o.value, version: o.stat.version, op: o });
    if (isRead(o) && o.read) note(o.key, { zxid: o.read.mzxid, value: o.read.value, version: o.read.version, op: o });
  }
  const sorted = new Map<string, Known[]>();
  for (const [k, m] of known) sorted.set(k, [...m.values()].sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0)));
  // Deletes by key: an absent read is explained by a delete that may lie in the window it needs.
  const deletes = new Map<string, Op[]>();
  for (const o of ops) if (o.f === 'delete' && o.result !== 'fail') (deletes.get(o.key) ?? deletes.set(o.key, []).get(o.key)!).push(o);

  // stale-read: the read, answered at zxid Z, must show the newest known modification up to Z.
  for (const o of ops) {
    if (!isRead(o) || o.result !== 'ok' || o.read === undefined || o.zxid === undefined) continue;
    const mods = sorted.get(o.key) ?? [];
    const Z = o.zxid;
    if (o.read !== null) {
      if (o.read.mzxid > Z) {
        add({ kind: 'stale-read', key: o.key, message: `${o.key}: read answered at zxid ${longZxidToHex(Z)} shows a modification at ${longZxidToHex(o.read.mzxid)}, after it`, ops: [o] });
        continue;
      }
      const newer = mods.find((m) => m.zxid > o.read!.mzxid && m.zxid <= Z);
      if (newer !== undefined)
        add({ kind: 'stale-read', key: o.key, message: `${o.key}: read answered at zxid ${longZxidToHex(Z)} shows mzxid ${longZxidToHex(o.read.mzxid)}, but ${longZxidToHex(newer.zxid)} (${JSON.stringify(newer.value)}) modified it before that`, ops: [newer.op, o] });
    } else {
      let before: Known | undefined;
      for (const m of mods) if (m.zxid <= Z) before = m;
      if (before === undefined) continue;
      // Some delete (acknowledged after `before`, or without an answer) begun before this read completed?
      const dels = deletes.get(o.key) ?? [];
      const explained = dels.some((d) => d.invoke <= o.complete && (d.result === 'info' || d.zxid === undefined || d.zxid > before.zxid));
      if (!explained)
        add({ kind: 'stale-read', key: o.key, message: `${o.key}: read answered at zxid ${longZxidToHex(Z)} found no znode, but ${longZxidToHex(before.zxid)} (${JSON.stringify(before.value)}) wrote it before that and no delete can have followed`, ops: [before.op, o] });
    }
  }

  // Per session.
  const byProcess = new Map<number, Op[]>();
  for (const o of ops) if (o.f !== 'final-get') (byProcess.get(o.process) ?? byProcess.set(o.process, []).get(o.process)!).push(o);
  for (const [, list] of byProcess) {
    list.sort((a, b) => a.invoke - b.invoke);
    let last: Op | null = null; // the op with the highest reply zxid so far
    const lastRead = new Map<string, Op>();
    const ownWrite = new Map<string, Op>();
    for (const o of list) {
      if (o.result !== 'info' && o.zxid !== undefined) {
        if (last !== null && o.zxid < last.zxid!) add({ kind: 'zxid-order', key: null, message: `session p${o.process} got a reply at zxid ${longZxidToHex(o.zxid)} after one at ${longZxidToHex(last.zxid!)}: an older view`, ops: [last, o] });
        if (last === null || o.zxid > last.zxid!) last = o;
      }
      if (o.result !== 'ok') continue;
      if (isRead(o) && o.read !== undefined) {
        const prev = lastRead.get(o.key);
        if (prev !== undefined && prev.read && o.read && o.read.mzxid < prev.read.mzxid)
          add({ kind: 'monotonic-read', key: o.key, message: `${o.key}: session p${o.process} read mzxid ${longZxidToHex(o.read.mzxid)} after having read ${longZxidToHex(prev.read.mzxid)}`, ops: [prev, o] });
        const own = ownWrite.get(o.key);
        if (own !== undefined) {
          const bad =
            own.f === 'set' && own.stat !== undefined ? o.read === null ? !(deletes.get(o.key) ?? []).some((d) => d.invoke <= o.complete && d.complete >= own.invoke && d !== own) : o.read.mzxid < own.stat.mzxid :
            own.f === 'create' ? o.read === null ? !(deletes.get(o.key) ?? []).some((d) => d.invoke <= o.complete && d.complete >= own.invoke) : own.stat !== undefined ? o.read.mzxid < own.stat.mzxid : own.zxid !== undefined && o.read.mzxid < own.zxid :
            own.f === 'delete' ? o.read !== null && own.zxid !== undefined && o.read.czxid < own.zxid :
            false;
          if (bad) add({ kind: 'read-own-write', key: o.key, message: `${o.key}: session p${o.process} read ${show(o.read)} after its own acknowledged ${own.f}`, ops: [own, o] });
        }
        lastRead.set(o.key, o);
      }
      if (isWrite(o)) ownWrite.set(o.key, o);
    }
  }

  // Final reads: one view per server, all the same, none older than an acknowledged setData.
  const finals = new Map<string, Op[]>();
  for (const o of ops) if (o.f === 'final-get' && o.result === 'ok' && o.read !== undefined) (finals.get(o.key) ?? finals.set(o.key, []).get(o.key)!).push(o);
  for (const [key, fs] of finals) {
    const first = fs[0]!;
    const odd = fs.find((f) => !same(f.read!, first.read!));
    if (odd !== undefined)
      add({ kind: 'replicas-differ', key, message: `${key}: server ${first.server} has ${show(first.read!)}, server ${odd.server} has ${show(odd.read!)}`, ops: fs });
    for (const f of fs) {
      const r = f.read!;
      const dels = deletes.get(key) ?? [];
      for (const o of ops) {
        if (o.key !== key || o.f !== 'set' || o.result !== 'ok' || o.stat === undefined) continue;
        const lost = r === null ? !dels.some((d) => d.complete >= o.invoke) : r.mzxid < o.stat.mzxid;
        if (lost) add({ kind: 'lost-write', key, message: `${key}: acknowledged setData ${JSON.stringify(o.value)} (mzxid ${longZxidToHex(o.stat.mzxid)}) is missing from server ${f.server}'s final state (${show(r)})`, ops: [o, f] });
      }
    }
  }
  return out;
}

export function formatAnomaly(a: Anomaly): string {
  return [`  ${a.kind}: ${a.message}`, ...a.ops.slice(0, 12).map((o) => `      ${formatOp(o)}`), ...(a.ops.length > 12 ? [`      ... ${a.ops.length - 12} more`] : [])].join('\n');
}
