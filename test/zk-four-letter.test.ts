// impl/zk/four-letter-words.ts: the four-letter words' text in ZooKeeper 3.8's format. The expected texts are
// what a real Apache ZooKeeper 3.8.0 follower and leader answered (3 servers on loopback, 4lw.commands.whitelist=*,
// one session with a persistent node /a and an ephemeral /a/e, 5 December 2026), with the stats object filled
// with the same numbers: so these tests compare our formatting with ZooKeeper's byte for byte.
import { describe, expect, it } from 'vitest';
import { FOUR_LETTER_WORDS, fourLetterResponse, javaDate, whitelist, type FourLetterStats } from '../impl/zk/four-letter-words.ts';

const VERSION = '3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC';
const SID = 0x100001025590000n;
const all = whitelist('*');

function follower(): FourLetterStats {
  return {
    version: VERSION,
    serving: true,
    mode: 'follower',
    readOnly: false,
    latency: { min: 1, avg: 9.25, max: 21 },
    packetsReceived: 7,
    packetsSent: 6,
    outstandingRequests: 0,
    lastZxid: 0x100000003n,
    nodeCount: 7,
    proposalSizes: null,
    connections: [
      { remote: '/127.0.0.1:53934', interestOps: 0, queued: 0, received: 1, sent: 0, sessionId: 0n, lastOp: 'NA', established: null, sessionTimeoutMs: 0, lastCxid: -1, lastZxid: -1n, lastResponseTime: 0, lastLatencyMs: 0, minLatencyMs: 0, avgLatencyMs: 0, maxLatencyMs: 0 },
      { remote: '/127.0.0.1:53918', interestOps: 1, queued: 0, received: 4, sent: 4, sessionId: SID, lastOp: 'GETD', established: 1796532305422, sessionTimeoutMs: 4000, lastCxid: 3, lastZxid: 0x100000003n, lastResponseTime: 1078271, lastLatencyMs: 1, minLatencyMs: 0, avgLatencyMs: 9, maxLatencyMs: 21 },
    ],
    sessions: [{ id: SID, timeoutMs: 4000, expiresAt: Date.UTC(2026, 11, 6, 4, 45, 9) }],
    ephemerals: new Map([[SID, ['/a/e']]]),
    watchSummary: { connections: 0, paths: 0, watches: 0 },
    watchesBySession: new Map(),
    watchesByPath: new Map(),
    config: [
      ['clientPort', 22181], ['secureClientPort', -1], ['dataDir', '/tmp/zk4/s1/data/version-2'], ['dataDirSize', 67110072],
      ['dataLogDir', '/tmp/zk4/s1/data/version-2'], ['dataLogSize', 67110072], ['tickTime', 200], ['maxClientCnxns', 60],
      ['minSessionTimeout', 400], ['maxSessionTimeout', 4000], ['clientPortListenBacklog', -1], ['serverId', 1], ['initLimit', 10],
      ['syncLimit', 5], ['electionAlg', 3], ['electionPort', 23891], ['quorumPort', 23881], ['peerType', 0],
    ],
    membership: { servers: ['server.1=127.0.0.1:23881:23891:participant', 'server.2=127.0.0.1:23882:23892:participant', 'server.3=127.0.0.1:23883:23893:participant'], version: '0' },
    environment: [['zookeeper.version', VERSION], ['host.name', 'localhost']],
    metrics: new Map<string, number | string>([['zk_peer_state', 'following - broadcast'], ['zk_ephemerals_count', 1]]),
    dataDirSize: 67110072,
    logDirSize: 67110072,
  };
}

describe('the words, as 3.8.0 wrote them', () => {
  it('srvr (follower)', () => {
    expect(fourLetterResponse('srvr', follower(), all)).toBe(
      `Zookeeper version: ${VERSION}\nLatency min/avg/max: 1/9.25/21\nReceived: 7\nSent: 6\nConnections: 2\nOutstanding: 0\nZxid: 0x100000003\nMode: follower\nNode count: 7\n`,
    );
  });

  it('srvr (leader): the proposal sizes line, and an average of 0 printed as Java does (0.0)', () => {
    const s = { ...follower(), mode: 'leader', latency: { min: 0, avg: 0, max: 0 }, packetsReceived: 3, packetsSent: 2, connections: follower().connections.slice(0, 1), proposalSizes: { last: 89, min: 48, max: 91 } };
    expect(fourLetterResponse('srvr', s, all)).toBe(
      `Zookeeper version: ${VERSION}\nLatency min/avg/max: 0/0.0/0\nReceived: 3\nSent: 2\nConnections: 1\nOutstanding: 0\nZxid: 0x100000003\nMode: leader\nNode count: 7\nProposal sizes last/min/max: 89/48/91\n`,
    );
  });

  it('stat: the clients, brief, then a blank line and srvr\'s lines', () => {
    expect(fourLetterResponse('stat', { ...follower(), packetsReceived: 8, packetsSent: 7 }, all)).toBe(
      `Zookeeper version: ${VERSION}\nClients:\n /127.0.0.1:53934[0](queued=0,recved=1,sent=0)\n /127.0.0.1:53918[1](queued=0,recved=4,sent=4)\n\n` +
        'Latency min/avg/max: 1/9.25/21\nReceived: 8\nSent: 7\nConnections: 2\nOutstanding: 0\nZxid: 0x100000003\nMode: follower\nNode count: 7\n',
    );
  });

  it('cons: a session\'s connection in full', () => {
    expect(fourLetterResponse('cons', follower(), all)).toBe(
      ' /127.0.0.1:53934[0](queued=0,recved=1,sent=0)\n' +
        ' /127.0.0.1:53918[1](queued=0,recved=4,sent=4,sid=0x100001025590000,lop=GETD,est=1796532305422,to=4000,lcxid=0x3,lzxid=0x100000003,lresp=1078271,llat=1,minlat=0,avglat=9,maxlat=21)\n\n',
    );
  });

  it('ruok, isro, wchs, wchc, wchp, dirs, crst, srst, gtmk', () => {
    const s = follower();
    expect(fourLetterResponse('ruok', s, all)).toBe('imok');
    expect(fourLetterResponse('isro', s, all)).toBe('rw');
    expect(fourLetterResponse('wchs', s, all)).toBe('0 connections watching 0 paths\nTotal watches:0\n');
    expect(fourLetterResponse('wchc', s, all)).toBe('\n');
    expect(fourLetterResponse('wchp', s, all)).toBe('\n');
    expect(fourLetterResponse('dirs', s, all)).toBe('datadir_size: 67110072\nlogdir_size: 67110072\n');
    expect(fourLetterResponse('crst', s, all)).toBe('Connection stats reset.\n');
    expect(fourLetterResponse('srst', s, all)).toBe('Server stats reset.\n');
    expect(fourLetterResponse('gtmk', s, all)).toBe('306');
  });

  it('wchc and wchp: by session then paths, by path then sessions, tab-indented', () => {
    const s = { ...follower(), watchesBySession: new Map([[SID, ['/a', '/b']]]), watchesByPath: new Map([['/a', [SID, 0x2n]]]) };
    expect(fourLetterResponse('wchc', s, all)).toBe('0x100001025590000\n\t/a\n\t/b\n\n');
    expect(fourLetterResponse('wchp', s, all)).toBe('/a\n\t0x100001025590000\n\t0x2\n\n');
  });

  it('conf: key=value in 3.8\'s order, the membership, version without a newline', () => {
    const text = fourLetterResponse('conf', follower(), all)!;
    expect(text.split('\n').slice(0, 3)).toEqual(['clientPort=22181', 'secureClientPort=-1', 'dataDir=/tmp/zk4/s1/data/version-2']);
    expect(text.endsWith('peerType=0\nmembership: \nserver.1=127.0.0.1:23881:23891:participant\nserver.2=127.0.0.1:23882:23892:participant\nserver.3=127.0.0.1:23883:23893:participant\nversion=0')).toBe(true);
  });

  it('dump on a follower: global sessions with their timeouts, then the ephemerals by session', () => {
    expect(fourLetterResponse('dump', follower(), all)).toBe(
      'SessionTracker dump:\nGlobal Sessions(1):\n0x100001025590000\t4000ms\nephemeral nodes dump:\nSessions with Ephemerals (1):\n0x100001025590000:\n\t/a/e\nConnections dump:\n',
    );
  });

  it('dump on the leader: sessions in expiry sets, with Java\'s Date.toString', () => {
    const text = fourLetterResponse('dump', { ...follower(), mode: 'leader' }, all)!;
    expect(text.startsWith('SessionTracker dump:\nSession Sets (1)/(1):\n1 expire at Sun Dec 06 04:45:09 UTC 2026:\n\t0x100001025590000\nephemeral nodes dump:\n')).toBe(true);
    expect(javaDate(Date.UTC(2026, 0, 1, 0, 0, 0))).toBe('Thu Jan 01 00:00:00 UTC 2026');
  });

  it('mntr: zk_version and zk_server_state first, then the metrics tab-separated', () => {
    expect(fourLetterResponse('mntr', follower(), all)).toBe(`zk_version\t${VERSION}\nzk_server_state\tfollower\nzk_peer_state\tfollowing - broadcast\nzk_ephemerals_count\t1\n`);
  });

  it('envi', () => {
    expect(fourLetterResponse('envi', follower(), all)).toBe(`Environment:\nzookeeper.version=${VERSION}\nhost.name=localhost\n`);
  });

  it('a server that is not serving says so, but still answers ruok', () => {
    const s = { ...follower(), serving: false };
    expect(fourLetterResponse('srvr', s, all)).toBe('This ZooKeeper instance is not currently serving requests\n');
    expect(fourLetterResponse('ruok', s, all)).toBe('imok');
  });
});

describe('4lw.commands.whitelist', () => {
  it('3.8\'s default (no setting) is srvr alone; other words are refused with one line', () => {
    const w = whitelist(undefined);
    expect([...w]).toEqual(['srvr']);
    expect(fourLetterResponse('stat', follower(), w)).toBe('stat is not executed because it is not in the whitelist.\n');
    expect(fourLetterResponse('srvr', follower(), w)).toMatch(/^Zookeeper version: /);
  });

  it('a list, blanks trimmed; srvr always; isro with read-only mode; * is every word', () => {
    expect([...whitelist(' ruok , stat,,')].sort()).toEqual(['ruok', 'srvr', 'stat']);
    expect(whitelist('ruok', true).has('isro')).toBe(true);
    expect([...whitelist('*')].sort()).toEqual([...FOUR_LETTER_WORDS].sort());
  });

  it('an unknown word gets no text at all (3.8 reads it as a client frame far too long, and closes)', () => {
    expect(fourLetterResponse('abcd', follower(), all)).toBeNull();
  });
});
