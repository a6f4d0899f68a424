// QuorumCnxManager: one TCP channel per pair of servers on the election ports. Of the two connections two
// peers may open, only the one initiated by the larger sid survives: a smaller sid that wants to talk says
// HELLO and hangs up, and the larger one calls back. Notifications wait in a per-peer send queue while no
// channel is up (capacity 1, as ZooKeeper's SEND_CAPACITY: only the newest vote matters).
import { listenTcp } from './listen.ts';
import { connect, type Server, type Socket } from 'node:net';
import type { Notification, Sid } from '../core/types.ts';
import { encodeFrame, FrameDecoder, FrameError } from './frame.ts';
import { ElectionFrame } from './messages.ts';

export interface PeerAddr {
  readonly host: string;
  readonly port: number;
}

const SEND_CAPACITY = 1;
/** A notification is a few hundred bytes: a peer announcing more is not speaking our protocol. */
const MAX_ELECTION_FRAME = 64 * 1024;

export class QuorumCnxManager {
  private server: Server | null = null;
  private channels = new Map<Sid, Socket>();
  private queues = new Map<Sid, Notification[]>();
  private connecting = new Set<Sid>();
  private sockets = new Set<Socket>();
  /** Sockets this manager connected (as opposed to accepted). */
  private opened = new WeakSet<Socket>();
  private closed = false;

  constructor(
    private readonly myid: Sid,
    private readonly peers: ReadonlyMap<Sid, PeerAddr>,
    private readonly onNotification: (n: Notification) => void,
    private readonly log: (line: string) => void,
    private readonly blocked: (sid: Sid) => boolean,
  ) {}

  async listen(addr: PeerAddr): Promise<void> {
    this.server = await listenTcp(addr.host, addr.port, (sock) => this.accept(sock), (e) => this.log(`election port: ${e.message}`));
  }

  /** toSend: to ourselves straight to the receive queue; to a peer through its channel or its send queue. */
  send(msg: Notification): void {
    if (this.closed) return;
    if (msg.to === this.myid) {
      setImmediate(() => this.onNotification(msg));
      return;
    }
    if (this.blocked(msg.to)) return;
    const ch = this.channels.get(msg.to);
    if (ch && !ch.destroyed) {
      ch.write(encodeFrame(msg));
      return;
    }
    const q = this.queues.get(msg.to) ?? [];
    q.push(msg);
    while (q.length > SEND_CAPACITY) q.shift();
    this.queues.set(msg.to, q);
    this.connectOne(msg.to);
  }

  /** Who opened the live channel to a peer: 'us', 'them', or null when there is none. */
  channelOpener(sid: Sid): 'us' | 'them' | null {
    const ch = this.channels.get(sid);
    if (!ch || ch.destroyed) return null;
    return this.opened.has(ch) ? 'us' : 'them';
  }

  /** Test fault: drop the channel to a peer (the blocked predicate keeps it down). */
  drop(sid: Sid): void {
    const ch = this.channels.get(sid);
    if (ch) ch.destroy();
    this.channels.delete(sid);
  }

  close(): void {
    this.closed = true;
    this.server?.close();
    for (const s of this.sockets) s.destroy();
  }

  private track(sock: Socket): void {
    this.sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => {});
  }

  private connectOne(sid: Sid): void {
    const addr = this.peers.get(sid);
    if (!addr || this.connecting.has(sid) || this.closed) return;
    this.connecting.add(sid);
    const sock = connect(addr.port, addr.host);
    this.opened.add(sock);
    this.track(sock);
    sock.once('close', () => this.connecting.delete(sid));
    sock.once('connect', () => {
      sock.write(encodeFrame({ type: 'HELLO', sid: this.myid }));
      if (sid > this.myid) {
        // The larger sid keeps the connection it initiates: hang up and let it call back.
        sock.end();
        return;
      }
      this.connecting.delete(sid);
      this.adopt(sid, sock, new FrameDecoder(ElectionFrame, MAX_ELECTION_FRAME));
    });
  }

  private accept(sock: Socket): void {
    this.track(sock);
    const who = `${sock.remoteAddress}:${sock.remotePort}`;
    const decoder = new FrameDecoder(ElectionFrame, MAX_ELECTION_FRAME);
    const onData = (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        return this.reject(sock, who, e);
      }
      const first = frames[0];
      if (!first) return;
      sock.off('data', onData);
      if (first.type !== 'HELLO') return this.reject(sock, who, new FrameError(`expected HELLO, got ${first.type}`));
      const sid = first.sid;
      if (!this.peers.has(sid) || sid === this.myid) return this.reject(sock, who, new FrameError(`HELLO from unknown sid ${sid}`));
      if (this.blocked(sid)) return void sock.destroy();
      if (sid < this.myid) {
        // The smaller sid called: close its connection and call it back ourselves.
        sock.destroy();
        this.connectOne(sid);
        return;
      }
      this.adopt(sid, sock, decoder);
      for (const f of frames.slice(1)) this.receive(sid, sock, who, f);
    };
    sock.on('data', onData);
  }

  private adopt(sid: Sid, sock: Socket, decoder: FrameDecoder<ElectionFrame>): void {
    const old = this.channels.get(sid);
    if (old && old !== sock) old.destroy();
    this.channels.set(sid, sock);
    const who = `server ${sid}`;
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        return this.reject(sock, who, e);
      }
      for (const f of frames) this.receive(sid, sock, who, f);
    });
    sock.once('close', () => {
      if (this.channels.get(sid) === sock) this.channels.delete(sid);
    });
    const q = this.queues.get(sid) ?? [];
    this.queues.delete(sid);
    for (const m of q) sock.write(encodeFrame(m));
  }

  private receive(sid: Sid, sock: Socket, who: string, f: ElectionFrame): void {
    if (sock.destroyed) return;
    if (f.type !== 'NOTIFICATION') return this.reject(sock, who, new FrameError('HELLO on an established channel'));
    if (f.from !== sid || f.to !== this.myid) return this.reject(sock, who, new FrameError(`notification ${f.from}->${f.to} on the channel of ${sid}`));
    if (this.blocked(sid)) return;
    this.onNotification(f);
  }

  private reject(sock: Socket, who: string, e: unknown): void {
    this.log(`election port: closing connection from ${who}: ${e instanceof Error ? e.message : String(e)}`);
    sock.destroy();
  }
}
