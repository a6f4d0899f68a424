// ACLs as ZooKeeper checks them: ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL, and the world, auth,
// digest and ip schemes (DigestAuthenticationProvider, IPAuthenticationProvider). An Id is {scheme, id}; a
// connection's authInfo holds the Ids it authenticated as (its ip on connect, then each addAuth).
import { createHash } from 'node:crypto';
import { Code } from '../zkwire/codes.ts';
import type { ACLT } from '../zkwire/jute.ts';
import { KeeperError } from './datatree.ts';

export interface Id {
  readonly scheme: string;
  readonly id: string;
}

/** DigestAuthenticationProvider.generateDigest: "user:" + base64(sha1("user:password")). */
export function generateDigest(idPassword: string): string {
  const user = idPassword.split(':', 1)[0]!;
  return `${user}:${createHash('sha1').update(idPassword, 'utf8').digest('base64')}`;
}

/**
 * addAuth (AuthPacket): the Id a connection gains, or null when the scheme is unknown or the credentials are not
 * of its form (ZooKeeper answers AUTHFAILED and closes the session's connection).
 */
export function authenticate(scheme: string, auth: Buffer): Id | null {
  if (scheme === 'digest') {
    const text = auth.toString('utf8');
    if (!text.includes(':')) return null;
    return { scheme: 'digest', id: generateDigest(text) };
  }
  return null;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/\d{1,2})?$/;

/** ServerAuthenticationProvider.isValid for the schemes we know. */
function isValidId(scheme: string, id: string): boolean {
  if (scheme === 'digest') return id.split(':').length === 2;
  if (scheme === 'ip') return IPV4.test(id) || id.includes(':');
  return false;
}

/** ServerAuthenticationProvider.matches. */
function matches(scheme: string, authId: string, aclId: string): boolean {
  if (scheme === 'digest') return authId === aclId;
  if (scheme === 'ip') return ipMatches(authId, aclId);
  return false;
}

function ipMatches(addr: string, expr: string): boolean {
  const [net, bitsText] = expr.split('/');
  const a = IPV4.exec(addr);
  const n = IPV4.exec(net ?? '');
  if (!a || !n) return addr === expr;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  const toInt = (m: RegExpExecArray) => ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((toInt(a) & mask) >>> 0) === ((toInt(n) & mask) >>> 0);
}

/** ZooKeeperServer.checkACL: NOAUTH unless one ACL entry with the permission matches one of the client's Ids. */
export function checkACL(acl: readonly ACLT[], perm: number, authInfo: readonly Id[], path?: string): void {
  if (acl.length === 0) return;
  if (authInfo.some((a) => a.scheme === 'super')) return;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    const scheme = a.id.scheme ?? '';
    const id = a.id.id ?? '';
    if (scheme === 'world' && id === 'anyone') return;
    for (const auth of authInfo) if (auth.scheme === scheme && matches(scheme, auth.id, id)) return;
  }
  throw new KeeperError(Code.NOAUTH, path);
}

/**
 * PrepRequestProcessor.fixupACL: drop duplicates; world:anyone as is; `auth` becomes one entry per Id the client
 * authenticated with (INVALIDACL when it has none); any other scheme must be one we know and its id valid.
 */
export function fixupACL(path: string, authInfo: readonly Id[], acl: readonly ACLT[] | null): ACLT[] {
  const uniq: ACLT[] = [];
  const seen = new Set<string>();
  for (const a of acl ?? []) {
    const key = `${a.perms}|${a.id?.scheme}|${a.id?.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      uniq.push(a);
    }
  }
  if (uniq.length === 0) throw new KeeperError(Code.INVALIDACL, path);
  const out: ACLT[] = [];
  for (const a of uniq) {
    const scheme = a.id?.scheme;
    const id = a.id?.id;
    if (scheme === null || scheme === undefined) throw new KeeperError(Code.INVALIDACL, path);
    if (scheme === 'world' && id === 'anyone') out.push(a);
    else if (scheme === 'auth') {
      // Only schemes whose provider says isAuthenticated (digest does; ip does not) count.
      const ids = authInfo.filter((i) => i.scheme === 'digest');
      if (ids.length === 0) throw new KeeperError(Code.INVALIDACL, path);
      for (const i of ids) out.push({ perms: a.perms, id: { scheme: i.scheme, id: i.id } });
    } else {
      if (!isValidId(scheme, id ?? '')) throw new KeeperError(Code.INVALIDACL, path);
      out.push(a);
    }
  }
  return out;
}
