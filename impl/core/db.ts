// ZKDatabase: the replicated state (a key-value map standing in for the DataTree), the zxid of the last
// transaction applied to it, and the in-memory window of recently committed transactions the leader uses to
// sync a learner by DIFF instead of SNAP (ZKDatabase.committedLog / minCommittedLog / maxCommittedLog).
import type { Op, Txn, Zxid } from './types.ts';

export class ZKDatabase {
  private map = new Map<string, string>();
  lastProcessedZxid: Zxid = 0;
  /** Oldest first; at most commitLogCount entries. */
  private committed: Txn[] = [];
  /** Transactions applied since the last snapshot was requested. */
  txnsSinceSnapshot = 0;

  constructor(private readonly commitLogCount: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  entries(): [string, string][] {
    return Array.from(this.map);
  }

  /** Apply one committed transaction in zxid order. Older or repeated zxids are ignored, as a replay may overlap. */
  apply(txn: Txn): boolean {
    if (txn.zxid <= this.lastProcessedZxid) return false;
    applyOp(this.map, txn.op);
    this.lastProcessedZxid = txn.zxid;
    this.committed.push(txn);
    if (this.committed.length > this.commitLogCount) this.committed.shift();
    this.txnsSinceSnapshot++;
    return true;
  }

  /** Replace everything by a snapshot (cold start, SNAP from the leader, reload after TRUNC). */
  reset(data: Iterable<readonly [string, string]>, zxid: Zxid): void {
    this.map = new Map(data);
    this.lastProcessedZxid = zxid;
    this.committed = [];
    this.txnsSinceSnapshot = 0;
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

export function applyOp(map: Map<string, string>, op: Op): void {
  if (op.op === 'set') map.set(op.key, op.value);
  else map.delete(op.key);
}
