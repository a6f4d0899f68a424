// The quorum stream between a ZooKeeper 3.8 learner and its leader, split into QuorumPacket records.
// The quorum stream (ZooKeeper 3.8.0: Learner.registerWithLeader writes FOLLOWERINFO first, LearnerHandler.run
// reads it first; quorum SASL is off by default, so nothing precedes it) is a sequence of jute QuorumPacket
// records without length prefix: int type, long zxid, buffer data (int length, -1 for null), vector<Id> authinfo
// (int count, -1 for null; an Id is two strings). One exception: after a SNAP packet the leader writes the
// serialized snapshot and then the string "BenWasHere" (LearnerHandler.run); the proxy passes that blob as one
// unit, cut at the signature.

// ------------------------------------------------------------------------------------ the quorum stream

/** Leader.java's packet types (3.8.0). */
export const PT: Record<number, string> = {
  1: 'REQUEST', 2: 'PROPOSAL', 3: 'ACK', 4: 'COMMIT', 5: 'PING', 6: 'REVALIDATE', 7: 'SYNC', 8: 'INFORM',
  9: 'COMMITANDACTIVATE', 10: 'NEWLEADER', 11: 'FOLLOWERINFO', 12: 'UPTODATE', 13: 'DIFF', 14: 'TRUNC', 15: 'SNAP',
  16: 'OBSERVERINFO', 17: 'LEADERINFO', 18: 'ACKEPOCH', 19: 'INFORMANDACTIVATE',
};
export const PROPOSAL = 2, ACK = 3, COMMIT = 4, PING = 5, NEWLEADER = 10, UPTODATE = 12, DIFF = 13, TRUNC = 14, SNAP = 15, LEADERINFO = 17, ACKEPOCH = 18;
export const SNAPSHOT_BLOB = -1; // the snapshot bytes after SNAP, up to and including the signature
export const RAW = -2; // bytes the parser gave up on (passed through, never expected here)
export const typeName = (t: number) => (t === SNAPSHOT_BLOB ? 'SNAPSHOT-DATA' : t === RAW ? 'RAW' : (PT[t] ?? `type ${t}`));

export interface Unit {
  readonly type: number;
  readonly zxid: bigint;
  readonly bytes: Buffer;
}

const MAX_FIELD = 64 * 1024 * 1024;
const SIGNATURE = Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from('BenWasHere', 'utf8')]);

/** Splits one direction of a quorum connection into QuorumPacket records. */
export class QuorumStreamParser {
  private buf: Buffer = Buffer.alloc(0);
  private mode: 'packets' | 'snapshot' | 'opaque' = 'packets';
  problem: string | null = null;

  constructor(private readonly leaderToLearner: boolean) {}

  push(chunk: Buffer): Unit[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Unit[] = [];
    for (;;) {
      if (this.buf.length === 0) return out;
      if (this.mode === 'opaque') {
        out.push({ type: RAW, zxid: -1n, bytes: this.buf });
        this.buf = Buffer.alloc(0);
        return out;
      }
      if (this.mode === 'snapshot') {
        const at = this.buf.indexOf(SIGNATURE);
        if (at < 0) {
          if (this.buf.length > MAX_FIELD) this.giveUp('no snapshot signature within 64 MiB');
          else return out;
          continue;
        }
        const end = at + SIGNATURE.length;
        out.push({ type: SNAPSHOT_BLOB, zxid: -1n, bytes: this.buf.subarray(0, end) });
        this.buf = this.buf.subarray(end);
        this.mode = 'packets';
        continue;
      }
      const n = this.packetLength();
      if (n === null) return out;
      if (n < 0) continue; // gave up: opaque from here
      const type = this.buf.readInt32BE(0);
      out.push({ type, zxid: this.buf.readBigInt64BE(4), bytes: this.buf.subarray(0, n) });
      this.buf = this.buf.subarray(n);
      if (type === SNAP && this.leaderToLearner) this.mode = 'snapshot';
    }
  }

  /** The length of the complete packet at the start of buf, null if incomplete, -1 if it is not one. */
  private packetLength(): number | null {
    const b = this.buf;
    if (b.length < 16) return null;
    const type = b.readInt32BE(0);
    if (!(type in PT)) return this.giveUp(`unknown packet type ${type}`);
    let off = 12;
    const dlen = b.readInt32BE(off);
    off += 4;
    if (dlen < -1 || dlen > MAX_FIELD) return this.giveUp(`data length ${dlen}`);
    off += Math.max(dlen, 0);
    if (b.length < off + 4) return null;
    const count = b.readInt32BE(off);
    off += 4;
    if (count < -1 || count > 1024) return this.giveUp(`authinfo count ${count}`);
    for (let i = 0; i < count * 2; i++) {
      if (b.length < off + 4) return null;
      const slen = b.readInt32BE(off);
      off += 4;
      if (slen < -1 || slen > MAX_FIELD) return this.giveUp(`authinfo string length ${slen}`);
      off += Math.max(slen, 0);
    }
    return b.length < off ? null : off;
  }

  private giveUp(why: string): -1 {
    this.problem = why;
    this.mode = 'opaque';
    return -1;
  }
}
