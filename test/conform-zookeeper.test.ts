// conform on Apache ZooKeeper's own server logs (traces/samples/zookeeper/, made by `npm run make:zk-logs` from
// Debian's zookeeper 3.8.0): each kept run conforms; tampered copies are refused at the line that was changed;
// damaged input is one clear error. No ZooKeeper is started here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkZooKeeperLogs } from '../checker/conform/zookeeper/check.ts';
import { looksLikeZooKeeperLog, parseZkLog, ZkLogError } from '../checker/conform/zookeeper/log.ts';
import { recognize, RULES } from '../checker/conform/zookeeper/mapping.ts';
import { readZooKeeperLogs } from '../checker/conform/zookeeper/observe.ts';

const SAMPLES = join(import.meta.dirname, '..', 'traces', 'samples', 'zookeeper');
const logsOf = (dir: string) => readdirSync(dir).filter((f) => /^server\d+\.log$/.test(f)).sort().map((f) => join(dir, f));
const tmp = mkdtempSync(join(tmpdir(), 'conform-zk-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of a sample with one server's log edited (line numbers are 1-based, of the original file). */
function tampered(sample: string, file: string, edit: (lines: string[]) => void): string[] {
  const dir = mkdtempSync(join(tmp, `${sample}-`));
  for (const f of logsOf(join(SAMPLES, sample))) {
    const lines = readFileSync(f, 'utf8').split('\n');
    if (f.endsWith(`/${file}`)) edit(lines);
    writeFileSync(join(dir, f.split('/').pop()!), lines.join('\n'));
  }
  return logsOf(dir);
}

describe('the mapping', () => {
  it('recognises every rule by its key, and reports a protocol line that does not parse', () => {
    for (const r of RULES) expect(r.text.length).toBeGreaterThan(0);
    expect(recognize('Getting a diff from the leader 0x100000004').obs).toEqual({ kind: 'learnerSync', mode: 'DIFF', zxid: 0x100000004 });
    expect(recognize('Synchronizing with Learner sid: 1 maxCommittedLog=0x5 minCommittedLog=0x1 lastProcessedZxid=0x5 peerLastZxid=0x4').obs).toMatchObject({ kind: 'syncDecision', peer: 1, peerLast: 4 });
    expect(recognize('Getting a diff from the leader zxid-unknown').malformed).toMatch(/does not parse/);
    expect(recognize('tickTime set to 1000')).toEqual({ obs: null, malformed: null });
    // QuorumPeer.run's DEBUG "Starting quorum peer" is not QuorumPeerMain's INFO start of a run; DEBUG rules still match.
    expect(recognize('Starting quorum peer', 'DEBUG').obs).toBeNull();
    expect(recognize('Starting quorum peer, myid=1', 'INFO').obs).toMatchObject({ kind: 'start', myid: 1 });
    expect(recognize('Proposing:: sessionid:0x1 type:create cxid:0x1 zxid:0x100000002 txntype:1 reqpath:n/a', 'DEBUG').obs).toMatchObject({ kind: 'proposing', zxid: 0x100000002 });
  });

  it('reads multi-line entries and refuses what is not a ZooKeeper log', () => {
    const text = '2026-12-06 04:54:24,297 [myid:4] - WARN  [QuorumConnectionThread-[myid=4]-1:QuorumCnxManager@401] - Cannot open channel\njava.net.ConnectException: Connection refused\n';
    const e = parseZkLog('x.log', text);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ myid: 4, level: 'WARN', cls: 'QuorumCnxManager', srcLine: 401, more: ['java.net.ConnectException: Connection refused'] });
    expect(looksLikeZooKeeperLog(text)).toBe(true);
    expect(looksLikeZooKeeperLog('{"v":1,"source":"impl"}\n')).toBe(false);
    expect(() => parseZkLog('g.log', 'garbage\x00\x01\n')).toThrow(ZkLogError);
    expect(() => parseZkLog('k.log', '2026-12-06 04:54:24 INFO kafka.server.KafkaServer - started\n')).toThrow(/not a ZooKeeper server log/);
    expect(() => parseZkLog('t.log', text + '2026-12-06 04:54:25,001 [myid:4] - INF')).toThrow(/t\.log:3: the file ends in the middle of a line/);
  });
});

describe('runs and log levels', () => {
  it('five-rolling: each server has 2 runs, each logging at DEBUG for the quorum package; trunc logs at INFO', () => {
    const five = readZooKeeperLogs(logsOf(join(SAMPLES, 'five-rolling')));
    expect(five.servers.map((s) => s.runs)).toEqual([2, 2, 2, 2, 2]);
    for (const s of five.servers) expect([...s.debugRuns].sort()).toEqual([0, 1]);
    const trunc = readZooKeeperLogs(logsOf(join(SAMPLES, 'trunc')));
    for (const s of trunc.servers) expect(s.debugRuns.size).toBe(0);
  });
});

// three-observer takes 40-100 s on the shared 2-core machine, five-rolling 12-30 s: with CONFORM_ZK_ALL=1 only (npm
// run conform:zk-samples checks every sample from the command line).
const SAMPLE_RUNS = ['snap', 'trunc', 'finding-1', 'finding-2', ...(process.env.CONFORM_ZK_ALL === '1' ? ['three-observer', 'five-rolling'] : [])];

describe('real ZooKeeper 3.8.0 runs conform', () => {
  for (const sample of SAMPLE_RUNS) {
    it(`${sample}: every protocol line matched, the unlogged steps inferred`, { timeout: 240_000 }, () => {
      const r = checkZooKeeperLogs({ paths: logsOf(join(SAMPLES, sample)) });
      expect(r.divergence).toBeNull();
      expect(r.ok).toBe(true);
      expect(r.problems).toEqual([]);
      expect(r.stats.matched).toBe(r.stats.protocolLines);
      expect(r.stats.inferred).toBeGreaterThan(0);
      expect(r.stats.notUnderstood).toBeGreaterThan(0);
      const violated = r.properties.filter((p) => p.verdict !== 'holds').map((p) => p.name);
      // Finding #2: the TRUNC below a txn the leader committed and the follower applied (syncConsistency), and the
      // txn gone after the leader's crash (committedNeverLost), on the path that explains the lines.
      if (sample === 'finding-2') expect(violated).toEqual(expect.arrayContaining(['syncConsistency', 'committedNeverLost']));
      else expect(violated).toEqual([]);
    });
  }
});

describe('tampered copies are refused at the right line', () => {
  it('a changed sync zxid (the leader says the empty learner had 0x100000003)', { timeout: 120_000 }, () => {
    const paths = tampered('snap', 'server2.log', (l) => (l[134] = l[134]!.replace('peerLastZxid=0x0', 'peerLastZxid=0x100000003')));
    const r = checkZooKeeperLogs({ paths });
    expect(r.ok).toBe(false);
    expect(r.divergence!.seen).toMatchObject({ line: 135, sid: 2 });
    expect(r.divergence!.seen.file).toMatch(/server2\.log$/);
    expect(r.divergence!.why).toMatch(/peerLastZxid=0x100000003/);
  });

  it('a line removed (the learner never read NEWLEADER): its UPTODATE has no step', { timeout: 120_000 }, () => {
    const paths = tampered('snap', 'server3.log', (l) => l.splice(94, 1));
    const r = checkZooKeeperLogs({ paths });
    expect(r.ok).toBe(false);
    expect(r.divergence!.seen.file).toMatch(/server3\.log$/);
    expect(r.divergence!.seen.text).toMatch(/UPTODATE|broadcast/);
    expect(r.divergence!.seen.line).toBeGreaterThanOrEqual(95);
  });

  it('two leaders (a follower logs that it leads too)', { timeout: 120_000 }, () => {
    const paths = tampered('snap', 'server1.log', (l) => (l[82] = l[82]!.replace('Peer state changed: following', 'Peer state changed: leading')));
    const r = checkZooKeeperLogs({ paths });
    expect(r.ok).toBe(false);
    expect(r.divergence!.seen.file).toMatch(/server1\.log$/);
    expect(r.divergence!.seen.line).toBe(83);
    expect(r.divergence!.enabled.length).toBeGreaterThan(0);
  });

  it("a FOLLOWING server's notification for itself: its startup vote (round -1) passes, any other is refused", { timeout: 120_000 }, () => {
    // QuorumPeer.run sets currentVote when lookForLeader returns, after lookForLeader set the state: a server that
    // just decided may still answer with its startup vote (a five-leader-kill run showed it).
    const vote = (round: string) => (l: string[]) =>
      l.splice(63, 0, l[62]!.replace('n.leader:2, n.round:0x1, n.peerEpoch:0x1', `n.leader:1, n.round:0x${round}, n.peerEpoch:0x0`));
    expect(checkZooKeeperLogs({ paths: tampered('snap', 'server3.log', vote('ffffffffffffffff')) }).ok).toBe(true);
    const r = checkZooKeeperLogs({ paths: tampered('snap', 'server3.log', vote('1')) });
    expect(r.ok).toBe(false);
    expect(r.divergence!.seen).toMatchObject({ line: 64, sid: 3 });
    expect(r.divergence!.why).toMatch(/server 1 says it is FOLLOWING itself/);
  });

  it('a notification with a vote nobody cast', { timeout: 120_000 }, () => {
    const paths = tampered('snap', 'server3.log', (l) => (l[59] = l[59]!.replace('n.zxid:0x0,', 'n.zxid:0x100000007,')));
    const r = checkZooKeeperLogs({ paths });
    expect(r.ok).toBe(false);
    expect(r.divergence!.seen).toMatchObject({ line: 60, sid: 3 });
    expect(r.divergence!.why).toMatch(/no election of server 3 started with that zxid/);
  });
});

describe('npm run conform on ZooKeeper logs', () => {
  const cli = (args: string[]) => spawnSync('npx', ['tsx', 'checker/conform/cli.ts', ...args], { encoding: 'utf8', timeout: 120_000 });

  it('recognises them by their content and says how much it observed', { timeout: 120_000 }, () => {
    const r = cli(logsOf(join(SAMPLES, 'snap')));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^CONFORMS: every protocol line is explained by a spec path/m);
    expect(r.stdout).toMatch(/\d+ lines: 56 protocol lines, 56 matched by the spec path, \d+ not understood \(skipped\); \d+ spec steps inferred/);
    expect(r.stdout).toMatch(/committedNeverLost: holds on the path found/);
  });

  it('damaged input: one line, exit 2', { timeout: 120_000 }, () => {
    const bad = join(tmp, 'bad.log');
    writeFileSync(bad, 'this is not a log\n');
    const r = cli(['--format', 'zookeeper', bad]);
    expect(r.status).toBe(2);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^INPUT ERROR: .*bad\.log:1: not a ZooKeeper server log/);
    const cut = join(tmp, 'cut.log');
    writeFileSync(cut, readFileSync(logsOf(join(SAMPLES, 'snap'))[0]!, 'utf8').slice(0, 5000) + '\ncut in the mid');
    const t = cli([cut]);
    expect(t.status).toBe(2);
    expect(t.stdout).toMatch(/^INPUT ERROR: .*cut\.log:\d+: the file ends in the middle of a line \(truncated\?\)/);
  });
});
