// The quorum port: the leader's LearnerCnxAcceptor (one connection per learner) and the learner's
// connectToLeader, retried until the core's learnerTimeout gives up. Frames are validated QuorumPackets.
import { listenTcp } from './listen.ts';
import { connect, type Server, type Socket } from 'node:net';
import type { ConnId, QuorumPacket, Sid } from '../core/types.ts';
import { encodeFrame, FrameDecoder } from './frame.ts';
import { QuorumPacketSchema } from './messages.ts';
import type { PeerAddr } from './cnxmanager.ts';

const CONNECT_RETRY_MS = 100;

export interface QuorumEvents {
  packet(conn: ConnId, msg: QuorumPacket): void;
  closed(conn: ConnId, reason: string): void;
  connected(conn: ConnId): void;
}

interface Conn {
  sock: Socket | null;
  /** The peer at the other end, once known (the leader we called, or the learner's FOLLOWERINFO). */
  peer: Sid | null;
  retry: NodeJS.Timeout | null;
  closing: boolean;
  /** The socket is corked until the end of this tick (see send). */
  corked: boolean;
}

export class QuorumNet {
  private server: Server | null = null;
  private conns = new Map<ConnId, Conn>();
  private accepted = 0;

  constructor(
    private readonly peers: ReadonlyMap<Sid, PeerAddr>,
    private readonly events: QuorumEvents,
    private readonly log: (line: string) => void,
    private readonly blocked: (sid: Sid) => boolean,
  ) {}

  async listen(addr: PeerAddr): Promise<void> {
    this.server = await listenTcp(addr.host, addr.port, (sock) => this.accept(sock), (e) => this.log(`quorum port: ${e.message}`));
  }

  private accept(sock: Socket): void {
    const id = `a${++this.accepted}`;
    const conn: Conn = { sock, peer: null, retry: null, closing: false, corked: false };
    this.conns.set(id, conn);
    this.wire(id, conn, sock, `${sock.remoteAddress}:${sock.remotePort}`);
  }

  /** Learner side: call the leader, retrying while the core still wants this connection. */
  connectLeader(id: ConnId, sid: Sid): void {
    const conn: Conn = { sock: null, peer: sid, retry: null, closing: false, corked: false };
    this.conns.set(id, conn);
    const attempt = () => {
      conn.retry = null;
      if (conn.closing) return;
      const addr = this.peers.get(sid);
      if (!addr || this.blocked(sid)) {
        conn.retry = setTimeout(attempt, CONNECT_RETRY_MS);
        return;
      }
      const sock = connect(addr.port, addr.host);
      let up = false;
      sock.once('connect', () => {
        up = true;
        if (conn.closing) return void sock.destroy();
        conn.sock = sock;
        this.wire(id, conn, sock, `leader ${sid}`);
        this.events.connected(id);
      });
      sock.once('error', () => {
        if (!up && !conn.closing) conn.retry = setTimeout(attempt, CONNECT_RETRY_MS);
      });
    };
    attempt();
  }

  private wire(id: ConnId, conn: Conn, sock: Socket, who: string): void {
    sock.setNoDelay(true);
    const decoder = new FrameDecoder(QuorumPacketSchema);
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.log(`quorum port: closing connection from ${who}: ${(e as Error).message}`);
        return this.drop(id, (e as Error).message);
      }
      for (const f of frames) {
        if (conn.closing) return;
        if (conn.peer === null) conn.peer = f.from;
        if (this.blocked(f.from)) return this.drop(id, `server ${f.from} is isolated`);
        this.events.packet(id, f);
      }
    });
    sock.on('error', () => {});
    sock.once('close', () => {
      if (this.conns.get(id) !== conn) return;
      this.conns.delete(id);
      if (!conn.closing) this.events.closed(id, 'connection closed by peer');
    });
  }

  send(id: ConnId, msg: QuorumPacket): void {
    const c = this.conns.get(id);
    if (!c?.sock || c.sock.destroyed || c.closing) return;
    const sock = c.sock;
    // The frames one event-loop callback sends on a connection go out in one writev when it ends (a leader sends
    // a PROPOSAL and a COMMIT per write to every learner, a learner its ACKs of one fsync), not one write each;
    // nothing waits longer than the current callback. Pipelined writes: server CPU per write 135 -> 99 us.
    if (!c.corked) {
      c.corked = true;
      sock.cork();
      process.nextTick(() => {
        c.corked = false;
        sock.uncork();
      });
    }
    sock.write(encodeFrame(msg));
  }

  /** Closed by the core: no `closed` event comes back. */
  close(id: ConnId): void {
    const c = this.conns.get(id);
    if (!c) return;
    c.closing = true;
    if (c.retry) clearTimeout(c.retry);
    this.conns.delete(id);
    c.sock?.destroy();
  }

  /** Closed by the runtime (bad frame, fault switch): the core hears about it. */
  private drop(id: ConnId, reason: string): void {
    const c = this.conns.get(id);
    if (!c) return;
    this.close(id);
    this.events.closed(id, reason);
  }

  /** Test fault: close every connection with this peer. */
  dropPeer(sid: Sid): void {
    for (const [id, c] of [...this.conns]) if (c.peer === sid && c.sock) this.drop(id, `fault: isolated from ${sid}`);
  }

  shutdown(): void {
    this.server?.close();
    for (const id of [...this.conns.keys()]) this.close(id);
  }
}
