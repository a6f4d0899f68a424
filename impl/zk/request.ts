// A client's write request on its way from the server holding the connection to the leader: ZooKeeper's
// Learner.request writes {sessionId, cxid, type, the request's bytes, authInfo} into a REQUEST packet. Ours is
// the same in jute, base64 in the quorum frame. createSession carries its timeout, closeSession nothing.
import { OpCode } from '../zkwire/codes.ts';
import { Id as IdRecord, JuteReader, JuteWriter, vector } from '../zkwire/jute.ts';
import { requestCodec, NONE } from '../zkwire/records.ts';
import type { Request } from './prep.ts';

const AuthInfo = vector(IdRecord);

function bodyWrite(w: JuteWriter, type: number, request: unknown): void {
  if (type === OpCode.createSession) w.int((request as { timeOut: number }).timeOut);
  else if (type === OpCode.closeSession) return;
  else {
    const codec = requestCodec(type);
    if (codec !== NONE) codec.write(w, request);
  }
}

function bodyRead(r: JuteReader, type: number): unknown {
  if (type === OpCode.createSession) return { timeOut: r.int('createSession.timeOut') };
  if (type === OpCode.closeSession) return null;
  const codec = requestCodec(type);
  return codec.read(r, 'request');
}

export function encodeRequest(req: Request): string {
  const w = new JuteWriter(256);
  w.long(req.sessionId).int(req.cxid).int(req.type);
  AuthInfo.write(w, req.authInfo.map((a) => ({ scheme: a.scheme, id: a.id })));
  bodyWrite(w, req.type, req.request);
  return w.bytes().toString('base64');
}

/** Throws (a JuteError naming the field) on anything that is not one whole request. */
export function decodeRequest(text: string): Request {
  const r = new JuteReader(Buffer.from(text, 'base64'));
  const sessionId = r.long('sessionId');
  const cxid = r.int('cxid');
  const type = r.int('type');
  const authInfo = (AuthInfo.read(r, 'authInfo') ?? []).map((a) => ({ scheme: a.scheme ?? '', id: a.id ?? '' }));
  const request = bodyRead(r, type);
  r.end('request');
  return { sessionId, cxid, type, request, authInfo };
}
