// ZooKeeper's four-letter words (`srvr`, `stat`, ...) on the client port: send the word, read the text until the
// server closes the connection. For tools that watch a real ZooKeeper ensemble (the bench's yardstick, the
// reproduction scripts); our own servers answer `stat` on their client protocol instead.
import { connect } from 'node:net';

/** The server's answer to `word`, or null if it does not answer within `timeoutMs` (or says too much). */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000, host = '127.0.0.1'): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = connect(port, host);
    let text = '';
    let settled = false;
    const done = (v: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d: string) => {
      text += d;
      if (text.length > 65536) done(null);
    });
    sock.on('error', () => done(null));
    sock.on('close', () => done(text));
  });
}

/** `srvr`: the server's mode (leader, follower, standalone...) and last zxid, or null if it does not answer. */
export async function srvr(port: number, timeoutMs = 2000): Promise<{ mode: string | null; zxid: bigint | null } | null> {
  const text = await fourLetterWord(port, 'srvr', timeoutMs);
  if (text === null) return null;
  const mode = /^Mode: (\S+)/m.exec(text)?.[1] ?? null;
  const zxid = /^Zxid: (0x[0-9a-f]+)/m.exec(text)?.[1];
  return mode === null && zxid === undefined ? null : { mode, zxid: zxid === undefined ? null : BigInt(zxid) };
}
