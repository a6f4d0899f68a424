// Unit tests of impl/'s edges: zoo.cfg errors, the frame decoder, the txn log's repair of a bad tail,
// snapshot fallback, the sync decision, and the CLIs' one-line errors.
import { describe, expect, it, afterEach } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { ConfigError, parseConfig } from '../impl/config.ts';
import { FrameDecoder, FrameError, encodeFrame } from '../impl/net/frame.ts';
import { QuorumPacketSchema } from '../impl/net/messages.ts';
import { FileDisk } from '../impl/storage/filedisk.ts';
import { planSync, syncFollower } from '../impl/core/sync.ts';
import { SimCluster } from '../impl/sim.ts';
import { freePorts } from '../impl/ensemble.ts';
import { DataTree } from '../impl/zk/datatree.ts';
import { txnToOp } from '../impl/zk/txn.ts';
import { OpCode } from '../impl/zkwire/codes.ts';

/** A txn's opaque form: a delete of /k at zxid. */
const deleteOp = (zxid: number): string => txnToOp({ hdr: { clientId: 1n, cxid: 0, zxid, time: 0, type: OpCode.delete }, body: { path: '/k' } });
import { makeZxid, type Txn } from '../impl/core/types.ts';

const GOOD = ['tickTime=200', 'initLimit=10', 'syncLimit=5', 'dataDir=/tmp/x', 'clientPort=2181', 'server.1=127.0.0.1:2888:3888', 'server.2=127.0.0.1:2889:3889', 'server.3=127.0.0.1:2890:3890:observer'];

function configError(lines: string[], id = 1): string {
  try {
    parseConfig(lines.join('\n'), 'zoo.cfg', id);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

describe('zoo.cfg', () => {
  it('reads ZooKeeper keys and server lines', () => {
    const c = parseConfig(GOOD.join('\n'), '/etc/zk/zoo.cfg', 3);
    expect(c.tickTime).toBe(200);
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.servers.get(3)).toEqual({ sid: 3, host: '127.0.0.1', quorumPort: 2890, electionPort: 3890, type: 'observer' });
    expect(c.commitLogCount).toBe(500);
  });

  it('names the file, line, key and problem in one line', () => {
    const cases: [string[], number, string][] = [
      [GOOD.map((l) => (l.startsWith('tickTime') ? 'tickTime=abc' : l)), 1, 'zoo.cfg:1: tickTime: "abc" must be an integer'],
      [[...GOOD.slice(0, 5), 'server.1=127.0.0.1:2888', ...GOOD.slice(6)], 1, 'zoo.cfg:6: server.1: expected host:quorumPort:electionPort[:observer]'],
      [[...GOOD, 'server.4=127.0.0.1:99999:3891'], 1, 'zoo.cfg:9: server.4: quorum port "99999" must be a port in 1..65535'],
      [[...GOOD, 'clientPort=2182'], 1, 'zoo.cfg:9: clientPort: repeated (first set on line 5)'],
      [GOOD.filter((l) => !l.startsWith('syncLimit')), 1, 'zoo.cfg:7: syncLimit: missing'],
      [GOOD, 9, 'zoo.cfg:8: server.9: missing: --id 9 is not listed'],
      [[...GOOD, 'peerType=participant'], 3, 'zoo.cfg:9: peerType: participant contradicts server.3, which is a observer'],
      [[...GOOD, 'just words'], 1, 'zoo.cfg:9: just words: expected key=value'],
      [[...GOOD, 'server.4=127.0.0.1:2888:3999'], 1, 'zoo.cfg:9: server.4: quorum port 2888 already used by server.1'],
    ];
    for (const [lines, id, want] of cases) {
      const msg = configError(lines, id);
      expect(msg).toBe(want);
      expect(msg).not.toContain('\n');
    }
  });

  it('warns about unknown keys instead of failing', () => {
    const warnings: string[] = [];
    parseConfig([...GOOD, 'autopurge.purgeInterval=1'].join('\n'), 'zoo.cfg', 1, (w) => warnings.push(w));
    expect(warnings).toEqual(['zoo.cfg:9: autopurge.purgeInterval: unknown key, ignored']);
  });
});

describe('frames', () => {
  it('decodes frames split at any byte boundary', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }), (cuts) => {
        const msgs = [
          { id: '1:1', from: 1, to: 2, type: 'ACK', zxid: 5 },
          { id: '1:2', from: 1, to: 2, type: 'PING' },
        ];
        const bytes = Buffer.concat(msgs.map(encodeFrame));
        const d = new FrameDecoder(QuorumPacketSchema);
        const got: unknown[] = [];
        let off = 0;
        for (const c of cuts) {
          got.push(...d.push(bytes.subarray(off, off + c)));
          off = Math.min(bytes.length, off + c);
        }
        got.push(...d.push(bytes.subarray(off)));
        expect(got).toEqual(msgs);
      }),
    );
  });

  it('rejects oversized lengths, non-JSON and schema violations', () => {
    const d = () => new FrameDecoder(QuorumPacketSchema);
    expect(() => d().push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(FrameError);
    expect(() => d().push(Buffer.from([0, 0, 0, 2, 0x7b, 0x7b]))).toThrow(/not JSON/);
    expect(() => d().push(encodeFrame({ id: 'x', from: 1, to: 2, type: 'ACK', zxid: 'nope' }))).toThrow(/invalid frame: zxid/);
    expect(() => d().push(encodeFrame({ id: 'x', from: 1, to: 2, type: 'ACK', zxid: 1, extra: true }))).toThrow(/invalid frame/);
  });
});

describe('storage', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const txn = (n: number): Txn => ({ zxid: makeZxid(1, n), op: deleteOp(makeZxid(1, n)) });

  it('replays the log after the newest valid snapshot, and truncates a corrupt tail with a warning', async () => {
    dir = mkdtempSync(join(tmpdir(), 'zk-disk-'));
    const warn: string[] = [];
    const d = new FileDisk(dir, (w) => warn.push(w));
    for (let i = 1; i <= 5; i++) d.append(txn(i));
    d.flush();
    d.writeEpoch('currentEpoch', 1);
    d.close();
    const [log] = readdirSync(join(dir, 'version-2')).filter((f) => f.startsWith('log.'));
    // Flip a byte inside the last record's body: its checksum no longer matches.
    const path = join(dir, 'version-2', log!);
    const buf = readFileSync(path);
    buf.writeUInt8(buf.readUInt8(buf.length - 3) ^ 0xff, buf.length - 3);
    writeFileSync(path, buf);
    const d2 = new FileDisk(dir, () => {});
    const r = d2.load();
    expect(r.txns.map((t) => t.zxid)).toEqual([1, 2, 3, 4].map((n) => makeZxid(1, n)));
    expect(r.warnings.join('\n')).toMatch(/checksum mismatch at byte \d+: truncating the log there/);
    expect(r.currentEpoch).toBe(1);
    // The repair is durable, and appends continue after the last good record.
    d2.append(txn(5));
    d2.flush();
    d2.close();
    const r3 = new FileDisk(dir, () => {}).load();
    expect(r3.warnings).toEqual([]);
    expect(r3.txns).toHaveLength(5);
  });

  it('TRUNC removes later txns and newer snapshots; a torn snapshot falls back to an older one', () => {
    dir = mkdtempSync(join(tmpdir(), 'zk-disk-'));
    const d = new FileDisk(dir, () => {});
    for (let i = 1; i <= 10; i++) d.append(txn(i));
    d.flush();
    const r = d.truncate(makeZxid(1, 6));
    expect(r.txns.at(-1)?.zxid).toBe(makeZxid(1, 6));
    const tree = new DataTree();
    tree.createNode('/a', Buffer.from('b'), [], 0n, -1, makeZxid(1, 2), 0);
    tree.lastProcessedZxid = makeZxid(1, 6);
    const snap = tree.serialize().toString('base64');
    d.installSnapshot(makeZxid(1, 6), snap);
    appendFileSync(join(dir, 'version-2', `snapshot.${makeZxid(1, 9).toString(16)}`), 'garbage');
    const r2 = d.load();
    expect(r2.snapshotZxid).toBe(makeZxid(1, 6));
    // The snapshot comes back loaded (read once: checking it meant loading it).
    expect(r2.data instanceof DataTree && r2.data.digest()).toBe(tree.digest());
    expect(r2.warnings.join('\n')).toMatch(/snapshot\.100000009: missing or wrong header: skipping/);
    d.close();
  });
});

describe('syncFollower decision', () => {
  const log = (zxids: number[]): Txn[] => zxids.map((zxid) => ({ zxid, op: deleteOp(zxid) }));
  const z = makeZxid;

  it('DIFF when the learner is a prefix of the window', () => {
    const p = planSync(z(1, 3), z(1, 5), log([z(1, 1), z(1, 2), z(1, 3), z(1, 4), z(1, 5)]));
    expect(p.mode).toBe('DIFF');
    expect(p.mode !== 'SNAP' && p.txns.map((t) => t.zxid)).toEqual([z(1, 4), z(1, 5)]);
  });
  it('TRUNC when the learner is ahead of the leader', () => {
    expect(planSync(z(1, 9), z(1, 5), log([z(1, 4), z(1, 5)]))).toEqual({ mode: 'TRUNC', zxid: z(1, 5), txns: [] });
  });
  it('TRUNC to the last common zxid when the learner diverged within the epoch of the next txn', () => {
    const p = planSync(z(1, 7), z(1, 9), log([z(1, 5), z(1, 6), z(1, 8), z(1, 9)]));
    expect(p.mode).toBe('TRUNC');
    expect(p.zxid).toBe(z(1, 6));
    expect(p.mode !== 'SNAP' && p.txns.map((t) => t.zxid)).toEqual([z(1, 8), z(1, 9)]);
  });
  it('SNAP, not a TRUNC across an epoch boundary, when the learner diverged in an old epoch (queueCommittedProposals)', () => {
    expect(planSync(z(1, 7), z(2, 2), log([z(1, 5), z(1, 6), z(2, 1), z(2, 2)])).mode).toBe('SNAP');
  });
  it('SNAP when the learner is behind the window', () => {
    expect(planSync(z(1, 1), z(1, 9), log([z(1, 5), z(1, 9)])).mode).toBe('SNAP');
  });
  it('SNAP from a leader serving an epoch it applied nothing of, with an empty window, even to a learner where it is', () => {
    // Before the leader serves, the same learner gets an empty DIFF; with txns in the window, a DIFF of them.
    expect(planSync(z(1, 5), z(1, 5), [], z(2, 0))).toEqual({ mode: 'SNAP', zxid: z(1, 5) });
    expect(planSync(0, 0, [], z(1, 0))).toEqual({ mode: 'SNAP', zxid: 0 });
    expect(planSync(z(1, 5), z(1, 5), [], 0)).toEqual({ mode: 'DIFF', zxid: z(1, 5), txns: [] });
    expect(planSync(z(1, 5), z(1, 5), log([z(1, 4), z(1, 5)]), z(2, 0)).mode).toBe('DIFF');
  });
});

describe('syncFollower and the ACKs of a rejoining learner (docs/findings.md #1)', () => {
  it('forgets the ACKs the learner gave to outstanding proposals before it left, and sends them to it again', () => {
    const sim = new SimCluster({ seed: 1, servers: new Map([1, 2, 3, 4, 5].map((s) => [s, 'participant' as const])) });
    sim.start();
    sim.runFor(5000);
    const leader = sim.leaders()[0]!;
    const p = sim.nodes.get(leader)!.peer;
    const l = p.leader!;
    const h = [...l.handlers.values()].find((x) => x.learnerType === 'participant')!;
    const zxid = l.lastProposed + 1;
    l.outstanding.set(zxid, { txn: { zxid, op: deleteOp(zxid) }, acks: new Set([leader, h.sid]) });
    const other = [...l.handlers.values()].find((x) => x.sid !== h.sid)!;
    syncFollower(p, h);
    expect([...l.outstanding.get(zxid)!.acks]).toStrictEqual([leader]);
    // Only the learner being synced loses its ACK.
    l.outstanding.get(zxid)!.acks.add(other.sid);
    syncFollower(p, h);
    expect([...l.outstanding.get(zxid)!.acks].sort()).toStrictEqual([leader, other.sid].sort());
  });
});

describe('command lines', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const run = (script: string, args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 20_000 });

  it('server: a bad config is one line on stderr and exit code 2', () => {
    dir = mkdtempSync(join(tmpdir(), 'zk-cli-'));
    const cfg = join(dir, 'zoo.cfg');
    writeFileSync(cfg, GOOD.map((l) => (l.startsWith('initLimit') ? 'initLimit=-3' : l)).join('\n'));
    const r = run('impl/server.ts', ['--config', cfg, '--id', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`zk-server: ${cfg}:2: initLimit: "-3" must be positive`);
    const r2 = run('impl/server.ts', ['--config', cfg]);
    expect(r2.stderr.trim()).toBe('zk-server: --id N is required');
    const r3 = run('impl/server.ts', ['--config', join(dir, 'nope.cfg'), '--id', '1']);
    expect(r3.stderr.trim()).toBe(`zk-server: ${join(dir, 'nope.cfg')}: cannot read: ENOENT`);
  });

  it('server: a corrupt epoch file is one line on stderr and exit code 1', async () => {
    dir = mkdtempSync(join(tmpdir(), 'zk-cli-'));
    const cfg = join(dir, 'zoo.cfg');
    const [p1, p2, p3] = (await freePorts(3)) as [number, number, number];
    writeFileSync(cfg, ['tickTime=200', 'initLimit=10', 'syncLimit=5', 'dataDir=data', `clientPort=${p1}`, `server.1=127.0.0.1:${p2}:${p3}`].join('\n'));
    mkdirSync(join(dir, 'data', 'version-2'), { recursive: true });
    writeFileSync(join(dir, 'data', 'version-2', 'acceptedEpoch'), 'twelve\n');
    const r = run('impl/server.ts', ['--config', cfg, '--id', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`zk-server: ${join(dir, 'data', 'version-2', 'acceptedEpoch')}: expected a decimal epoch, found "twelve"`);
  });

  it('client and cluster: bad flags are one line', () => {
    dir = mkdtempSync(join(tmpdir(), 'zk-cli-'));
    const c = run('impl/client-cli.ts', ['--server', 'nohost', 'get', 'k']);
    expect(c.status).toBe(2);
    expect(c.stderr.split('\n')[0]).toBe('zk-client: --server must be HOST:PORT');
    const k = run('impl/cluster.ts', ['--nodes', 'zero']);
    expect(k.status).toBe(2);
    expect(k.stderr.trim()).toBe('zk-cluster: --nodes: must be a whole number (got "zero")');
  });
});

describe('npm run cluster', () => {
  let dir = '';
  let pid: number | undefined;
  afterEach(() => {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts an ensemble, prints its addresses and leader, and stops every server on SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'zk-cluster-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'impl/cluster.ts', '--nodes', '3', '--dir', dir, '--tick-time', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    pid = child.pid;
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const deadline = Date.now() + 40_000;
    while (!/leader: server\.\d/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/leader: server\.\d, epoch \d+\. Try: npm run client -- --server 127\.0\.0\.1:\d+ set hello world/);
    const pids = [...out.matchAll(/server\.\d participant +pid (\d+) +client 127\.0\.0\.1:(\d+) +quorum :(\d+) +election :(\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(3);
    expect(out).toContain(join(dir, 'server1', 'server.log'));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Every server is gone too (signal 0 only checks that the process exists).
    for (const p of pids) {
      const alive = (() => {
        try {
          process.kill(p, 0);
          return true;
        } catch {
          return false;
        }
      })();
      expect(alive, `server pid ${p}`).toBe(false);
    }
    pid = undefined;
  });
});
