// QuorumCnxManager over real loopback sockets: every notification arrives, and of the two connections a pair
// of servers may open only the one initiated by the larger sid is kept.
import { afterEach, describe, expect, it } from 'vitest';
import { QuorumCnxManager, type PeerAddr } from '../impl/net/cnxmanager.ts';
import { freePorts } from '../impl/ensemble.ts';
import type { Notification, Sid } from '../impl/core/types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('QuorumCnxManager', () => {
  let managers: QuorumCnxManager[] = [];
  afterEach(() => {
    for (const m of managers) m.close();
    managers = [];
  });

  it('delivers between every pair and keeps only connections opened by the larger sid', async () => {
    const sids = [1, 2, 3];
    const ports = await freePorts(sids.length);
    const peers = new Map<Sid, PeerAddr>(sids.map((s, i) => [s, { host: '127.0.0.1', port: ports[i]! }]));
    const got = new Map<Sid, Notification[]>(sids.map((s) => [s, []]));
    const logs: string[] = [];
    const blocked = new Set<string>();
    for (const sid of sids) {
      const m = new QuorumCnxManager(sid, peers, (n) => got.get(sid)!.push(n), (l) => logs.push(l), (peer) => blocked.has(`${sid}-${peer}`));
      await m.listen(peers.get(sid)!);
      managers.push(m);
    }
    let n = 0;
    const sendAll = () => {
      for (const from of sids) {
        for (const to of sids) {
          const msg: Notification = { id: `${from}:${++n}`, from, to, type: 'NOTIFICATION', leader: from, zxid: 0, electionEpoch: 1, state: 'LOOKING', peerEpoch: 0 };
          managers[from - 1]!.send(msg);
        }
      }
    };
    sendAll();
    const deadline = Date.now() + 10_000;
    // The send queue keeps only the newest notification per peer while no channel is up, so resend like
    // FLE's notification timeout does until every pair has heard from each other.
    while (Date.now() < deadline && ![...got].every(([, ns]) => new Set(ns.map((x) => x.from)).size === 3)) {
      await sleep(100);
      sendAll();
    }
    for (const sid of sids) expect(new Set(got.get(sid)!.map((x) => x.from)), `server ${sid} heard from`).toEqual(new Set(sids));
    for (const a of sids) {
      for (const b of sids) {
        if (a === b) continue;
        expect(managers[a - 1]!.channelOpener(b), `channel of ${a} to ${b}`).toBe(a > b ? 'us' : 'them');
      }
    }
    for (const [sid, ns] of got) for (const x of ns) expect(x.to).toBe(sid);
    expect(logs.filter((l) => l.includes('closing connection'))).toEqual([]);
  });
});
