// zod schemas for every frame a server reads from a socket. The core trusts its inputs; these are the gate.
import { z } from 'zod';
import type { Notification, QuorumPacket } from '../core/types.ts';
import { opToTxn } from '../zk/txn.ts';

const sid = z.number().int().nonnegative().max(2 ** 31);
const zxid = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const epoch = z.number().int().min(-1).max(2 ** 31);
const base = { id: z.string().min(1).max(64), from: sid, to: sid };

/** A txn (impl/zk/txn.ts): base64 of its jute bytes, checked to open as one whole txn. */
export const OpSchema = z
  .string()
  .min(1)
  .max(4 * 1024 * 1024)
  .refine((op) => {
    try {
      opToTxn(op);
      return true;
    } catch {
      return false;
    }
  }, 'not a txn');
/** A client's request on its way to the leader (impl/zk/request.ts). */
const RequestSchema = z.string().min(1).max(4 * 1024 * 1024);
const origin = z.object({ sid, req: z.number().int() }).strict();
const state = z.enum(['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING']);

/** QuorumCnxManager's first frame on an election connection: who is calling. */
export const ElectionHello = z.object({ type: z.literal('HELLO'), sid }).strict();

export const NotificationSchema = z
  .object({ ...base, type: z.literal('NOTIFICATION'), leader: z.number().int().min(-1), zxid, electionEpoch: epoch, state, peerEpoch: epoch })
  .strict();

export const ElectionFrame = z.discriminatedUnion('type', [ElectionHello, NotificationSchema]);
export type ElectionFrame = z.infer<typeof ElectionFrame>;

const zxidPacket = <T extends string>(...types: [T, ...T[]]) => z.object({ ...base, type: z.enum(types), zxid }).strict();

export const QuorumPacketSchema = z.discriminatedUnion('type', [
  zxidPacket('DIFF', 'TRUNC', 'COMMIT', 'ACK', 'NEWLEADER'),
  z.object({ ...base, type: z.enum(['FOLLOWERINFO', 'OBSERVERINFO']), acceptedEpoch: epoch }).strict(),
  z.object({ ...base, type: z.literal('LEADERINFO'), newEpoch: epoch }).strict(),
  z.object({ ...base, type: z.literal('ACKEPOCH'), currentEpoch: epoch, lastZxid: zxid }).strict(),
  z.object({ ...base, type: z.literal('SNAP'), zxid, data: z.string().max(1024 * 1024 * 1024) }).strict(),
  z.object({ ...base, type: z.enum(['PROPOSAL', 'INFORM']), zxid, op: OpSchema, origin: origin.optional() }).strict(),
  z.object({ ...base, type: z.literal('UPTODATE') }).strict(),
  z.object({ ...base, type: z.literal('PING'), sessions: z.array(z.string().regex(/^-?[0-9a-f]{1,16}$/)).max(1_000_000).optional() }).strict(),
  z.object({ ...base, type: z.literal('REQUEST'), request: RequestSchema, origin }).strict(),
  z.object({ ...base, type: z.literal('SYNC'), origin }).strict(),
]);

// The schemas and the core's types describe the same packets; these assignments keep them in step.
export const asQuorumPacket = (p: z.infer<typeof QuorumPacketSchema>): QuorumPacket => p;
export const asNotification = (n: z.infer<typeof NotificationSchema>): Notification => n;
