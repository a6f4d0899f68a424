// zod schemas for every frame a server reads from a socket. The core trusts its inputs; these are the gate.
import { z } from 'zod';
import type { Notification, QuorumPacket } from '../core/types.ts';

const sid = z.number().int().nonnegative().max(2 ** 31);
const zxid = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const epoch = z.number().int().min(-1).max(2 ** 31);
const key = z.string().min(1).max(1024);
const value = z.string().max(1024 * 1024);
const base = { id: z.string().min(1).max(64), from: sid, to: sid };

export const OpSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('set'), key, value }).strict(),
  z.object({ op: z.literal('del'), key }).strict(),
]);
const origin = z.object({ sid, req: z.number().int().nonnegative() }).strict();
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
  zxidPacket('FOLLOWERINFO', 'OBSERVERINFO', 'LEADERINFO', 'DIFF', 'TRUNC', 'COMMIT', 'ACK', 'NEWLEADER'),
  z.object({ ...base, type: z.literal('ACKEPOCH'), epoch, zxid }).strict(),
  z.object({ ...base, type: z.literal('SNAP'), zxid, data: z.array(z.tuple([key, value])) }).strict(),
  z.object({ ...base, type: z.enum(['PROPOSAL', 'INFORM']), zxid, op: OpSchema, origin: origin.optional() }).strict(),
  z.object({ ...base, type: z.enum(['UPTODATE', 'PING']) }).strict(),
  z.object({ ...base, type: z.literal('REQUEST'), op: OpSchema, origin }).strict(),
]);

// The schemas and the core's types describe the same packets; these assignments keep them in step.
export const asQuorumPacket = (p: z.infer<typeof QuorumPacketSchema>): QuorumPacket => p;
export const asNotification = (n: z.infer<typeof NotificationSchema>): Notification => n;

/** Client port: requests carry a client-chosen xid echoed in the reply (ZooKeeper's RequestHeader.xid). */
export const ClientRequest = z.discriminatedUnion('type', [
  z.object({ type: z.literal('set'), xid: z.number().int(), key, value }).strict(),
  z.object({ type: z.literal('del'), xid: z.number().int(), key }).strict(),
  z.object({ type: z.literal('get'), xid: z.number().int(), key }).strict(),
  z.object({ type: z.literal('dump'), xid: z.number().int() }).strict(),
  z.object({ type: z.literal('stat'), xid: z.number().int() }).strict(),
  /** Test-only (server started with --test-faults): cut or heal the links to the listed servers. */
  z.object({ type: z.literal('fault'), xid: z.number().int(), isolate: z.array(sid) }).strict(),
]);
export type ClientRequest = z.infer<typeof ClientRequest>;

export const ClientReply = z.object({
  xid: z.number().int(),
  ok: z.boolean(),
  error: z.string().optional(),
  zxid: z.string().optional(),
  value: z.string().nullable().optional(),
  data: z.array(z.tuple([z.string(), z.string()])).optional(),
  stat: z.record(z.string(), z.unknown()).optional(),
});
export type ClientReply = z.infer<typeof ClientReply>;
