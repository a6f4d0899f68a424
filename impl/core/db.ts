// ZKDatabase: the replicated state (the DataTree with its sessions, impl/zk/datatree.ts), the zxid of the last
// transaction applied to it, and the in-memory window of recently committed transactions the leader uses to
// sync a learner by DIFF instead of SNAP (ZKDatabase.committedLog / minCommittedLog / maxCommittedLog).
//
// The ZAB core moves txns as opaque strings (Op); this is where they are opened and applied. On the leader it
// also keeps the tree as it will be once every proposed txn is applied ("prepared"), which
// PrepRequestProcessor checks new requests against (ZooKeeper's outstandingChanges).
import { DataTree, type ProcessTxnResult, type SnapshotImage, type WatchTrigger } from '../zk/datatree.ts';
import { prepRequest, type Request } from '../zk/prep.ts';
import { opToTxn, txnToOp, type ZkTxn } from '../zk/txn.ts';
import type { Op, Txn, Zxid } from './types.ts';

/** What applying one committed txn did: the txn opened, its result, the watch events it fired. */
export interface Applied {
  readonly txn: ZkTxn;
  readonly rc: ProcessTxnResult;
  readonly triggers: readonly WatchTrigger[];
}

export class ZKDatabase {
  tree = new DataTree();
  private prepared: DataTree | null = null;
  lastProcessedZxid: Zxid = 0;
  /** Oldest first; at most commitLogCount entries. */
  private committed: Txn[] = [];
  /** Transactions applied since the last snapshot was requested. */
  txnsSinceSnapshot = 0;

  constructor(private readonly commitLogCount: number) {}

  /** Znodes in the tree. */
  get size(): number {
    return this.tree.nodeCount;
  }

  /** Apply one committed transaction in zxid order. Older or repeated zxids are ignored, as a replay may overlap. */
  apply(txn: Txn): Applied | null {
    if (txn.zxid <= this.lastProcessedZxid) return null;
    const zk = opToTxn(txn.op);
    const rc = this.tree.processTxn(zk);
    this.lastProcessedZxid = txn.zxid;
    this.committed.push(txn);
    if (this.committed.length > this.commitLogCount) this.committed.shift();
    this.txnsSinceSnapshot++;
    return { txn: zk, rc, triggers: this.tree.lastTriggers };
  }

  /**
   * PrepRequestProcessor on the leader: the txn for a request at `zxid`, checked against the tree plus every
   * proposal not yet applied (`pending`, oldest first, used only when the prepared tree is first built).
   */
  prepare(request: Request, zxid: Zxid, time: number, pending: Iterable<Txn>, extendedTypes = true): { op: Op; txn: ZkTxn } {
    if (!this.prepared) {
      this.prepared = this.tree.clone();
      for (const t of pending) if (t.zxid > this.lastProcessedZxid) this.prepared.processTxn(opToTxn(t.op));
    }
    const prepared = this.prepared;
    const txn = prepRequest(prepared, request, { zxid, time, sessionLive: (id) => prepared.sessions.has(id), extendedTypes });
    prepared.processTxn(txn);
    return { op: txnToOp(txn), txn };
  }

  /** The leader stopped leading: what it prepared may never be applied. */
  dropPrepared(): void {
    this.prepared = null;
  }

  /** Replace everything by a snapshot (cold start, SNAP from the leader, reload after TRUNC); null: empty. */
  reset(data: DataTree | string | null, zxid: Zxid): void {
    this.tree = data === null ? new DataTree() : typeof data === 'string' ? DataTree.deserialize(Buffer.from(data, 'base64')) : data;
    this.prepared = null;
    this.lastProcessedZxid = zxid;
    this.tree.lastProcessedZxid = zxid;
    this.committed = [];
    this.txnsSinceSnapshot = 0;
  }

  /** The tree and its sessions as a snapshot holds them (base64 of DataTree.serialize). */
  serialize(): string {
    this.tree.lastProcessedZxid = this.lastProcessedZxid;
    return this.tree.serialize().toString('base64');
  }

  /** The tree as of now, for a snapshot written in pieces while txns go on (DataTree.snapshotImage). */
  snapshotImage(): SnapshotImage {
    this.tree.lastProcessedZxid = this.lastProcessedZxid;
    return this.tree.snapshotImage();
  }

  /** The window of committed transactions, oldest first (read-only view). */
  committedLog(): readonly Txn[] {
    return this.committed;
  }

  minCommittedLog(): Zxid {
    return this.committed[0]?.zxid ?? this.lastProcessedZxid;
  }

  maxCommittedLog(): Zxid {
    return this.committed[this.committed.length - 1]?.zxid ?? this.lastProcessedZxid;
  }
}
