// End to end: real server processes on 127.0.0.1, one ensemble of 3 participants and 1 observer taken
// through election, writes, a leader kill -9 under load, TRUNC, SNAP, a cold restart and garbage on every port.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, appendFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ensemble } from '../impl/ensemble.ts';
import { WriteLoad, eventually, events, missingOn, readTrace, sleep } from './impl-helpers.ts';

const ALL = [1, 2, 3, 4];
let ens: Ensemble;
let dir: string;
/** Every write acknowledged so far in this file: must be on every server at every check. */
const ledger = new Map<string, string>();

async function expectEverywhere(sids = ALL): Promise<void> {
  for (const sid of sids) {
    const missing = await eventually(`server ${sid} to hold every acknowledged write`, 15_000, async () => {
      const m = await missingOn(ens, sid, ledger);
      return m.length === 0 ? m : false;
    }).catch(async () => missingOn(ens, sid, ledger));
    expect(missing, `acknowledged writes missing on server ${sid}`).toEqual([]);
  }
}

function dumpLogsOnFailure(): void {
  onTestFailed(() => {
    for (const h of ens.servers.values()) {
      const text = readFileSync(h.logPath, 'utf8').split('\n').slice(-25).join('\n');
      console.error(`---- server ${h.sid} (${h.logPath}) ----\n${text}`);
    }
  });
}

/** The modes the leader synced `peer` with, waiting until there are more than `seen` of them. */
async function newSyncModes(leader: number, peer: number, seen: number): Promise<string[]> {
  return eventually(`server ${leader} to log its sync of server ${peer}`, 5000, async () => {
    const m = syncModes(leader, peer);
    return m.length > seen ? m.slice(seen) : false;
  });
}

function syncModes(leader: number, peer: number): string[] {
  return events(ens, leader)
    .filter((e) => e.action === 'LeaderSyncFollower' && e.params?.['peer'] === peer)
    .map((e) => String(e.params?.['mode']));
}

describe('a real ensemble of 3 participants and 1 observer', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zk-e2e-'));
    ens = await Ensemble.create({ nodes: 3, observers: 1, dir, tickTime: 100, initLimit: 20, syncLimit: 5, testFaults: true, extra: { commitLogCount: 500, snapCount: 150 } });
    ens.startAll();
  });

  afterAll(async () => {
    await ens?.stopAll('SIGKILL');
    if (process.env['KEEP_E2E']) console.error(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it('elects one leader that every server follows', async () => {
    dumpLogsOnFailure();
    const leader = await ens.waitForLeader(ALL, 30_000);
    expect([1, 2, 3]).toContain(leader);
    const s4 = await ens.stat(4);
    expect(s4?.['state']).toBe('OBSERVING');
  });

  it('takes writes through every server, and every server holds them all', async () => {
    dumpLogsOnFailure();
    for (const sid of ALL) {
      const c = await ens.client(sid);
      try {
        const writes = Array.from({ length: 25 }, (_, i) => c.set(`via${sid}-${i}`, `${sid}:${i}`));
        await Promise.all(writes);
        for (let i = 0; i < 25; i++) ledger.set(`via${sid}-${i}`, `${sid}:${i}`);
        // A read on the same connection sees the writes before it.
        expect(await c.get(`via${sid}-24`)).toBe(`${sid}:24`);
      } finally {
        c.close();
      }
    }
    await expectEverywhere();
  });

  it('elects a new leader when the leader is killed -9 under load; the old one rejoins by DIFF unless it holds proposals no one else logged', async () => {
    dumpLogsOnFailure();
    const old = await ens.waitForLeader(ALL, 10_000);
    const others = ALL.filter((s) => s !== old);
    const load = new WriteLoad(ens, others, 4, 60_000, 'k');
    await eventually('the load to get going', 10_000, async () => load.acked.size >= 50);
    const atKill = load.acked.size;
    await ens.kill(old, 'SIGKILL');
    // Writes flow again once a new leader serves; stop the load soon after, so that the old leader's last
    // zxid stays inside the new leader's committed-log window (else SNAP would be the right answer).
    await eventually('writes under a new leader', 30_000, async () => load.acked.size >= atKill + 30);
    await load.stop();
    for (const [k, v] of load.acked) ledger.set(k, v);
    const next = await ens.waitForLeader(others, 30_000);
    expect(next).not.toBe(old);
    const before = syncModes(next, old).length;
    ens.start(old);
    await ens.waitForLeader(ALL, 30_000);
    await newSyncModes(next, old, before);
    // The old leader rejoins by DIFF when everything in its log reached the new leader. A kill -9 under load
    // may leave it with proposals nobody else logged: then (and only then) it must be rolled back, by TRUNC,
    // or by SNAP once the new leader has committed in its own epoch (ZooKeeper never TRUNCs across epochs).
    const sync = events(ens, next).filter((e) => e.action === 'LeaderSyncFollower' && e.params?.['peer'] === old).at(-1)!;
    const peerLast = String(sync.params?.['peerLastZxid']);
    const nextLogged = new Set(events(ens, next).filter((e) => e.action === 'TxnLogAppend').map((e) => String(e.params?.['zxid'])));
    if (nextLogged.has(peerLast)) expect(sync.params?.['mode'], `old leader at ${peerLast}, which the new leader has`).toBe('DIFF');
    else expect(['TRUNC', 'SNAP'], `old leader at ${peerLast}, which the new leader never logged`).toContain(sync.params?.['mode']);
    console.log(`kill -9 under load: the old leader rejoined by ${String(sync.params?.['mode'])} from ${peerLast}`);
    await expectEverywhere();
  });

  it('brings back a leader killed -9 between writes by DIFF, with the commits it missed', async () => {
    dumpLogsOnFailure();
    const old = await ens.waitForLeader(ALL, 10_000);
    const others = ALL.filter((s) => s !== old);
    // Every write is acknowledged before the kill, so everything in the old leader's log was committed.
    const c = await ens.client(others[0]!);
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.set(`quiet-${i}`, `${i}`)));
    for (let i = 0; i < 20; i++) ledger.set(`quiet-${i}`, `${i}`);
    c.close();
    await ens.kill(old, 'SIGKILL');
    const next = await ens.waitForLeader(others, 30_000);
    const c2 = await ens.client(next);
    await Promise.all(Array.from({ length: 20 }, (_, i) => c2.set(`missed-${i}`, `${i}`)));
    for (let i = 0; i < 20; i++) ledger.set(`missed-${i}`, `${i}`);
    c2.close();
    const before = syncModes(next, old).length;
    ens.start(old);
    await ens.waitForLeader(ALL, 30_000);
    const modes = await newSyncModes(next, old, before);
    expect(modes.at(-1)).toBe('DIFF');
    await expectEverywhere();
  });

  it('makes a partitioned leader truncate the proposal it could not commit', async () => {
    dumpLogsOnFailure();
    // The cut leader steps down syncLimit ticks after its last quorum of ACKs. On a loaded machine the write may
    // reach it only after that, and then it has nothing to roll back (DIFF is right). Such an attempt does not
    // test TRUNC: it is checked for DIFF and the story is played again, three times at most.
    let old = 0;
    let next = 0;
    let mode = '';
    const lostKeys: string[] = [];
    for (let attempt = 1; ; attempt++) {
      old = await ens.waitForLeader(ALL, 30_000);
      const others = ALL.filter((s) => s !== old);
      const c = await ens.client(old);
      // Fresh commits on every server, so that whoever leads next has the old leader's history in its window.
      for (let i = 0; i < 20; i++) {
        await c.set(`before-cut-${i}`, `${attempt}:${i}`);
        ledger.set(`before-cut-${i}`, `${attempt}:${i}`);
      }
      // The leader is cut off, then takes a write it can log but never commit.
      await c.fault(others);
      const key = `lost-${attempt}`;
      lostKeys.push(key);
      const lost = c.set(key, 'x').then(
        () => 'acknowledged',
        (e: Error) => e.message,
      );
      expect(await lost).not.toBe('acknowledged');
      c.close();
      next = await ens.waitForLeader(others, 30_000);
      // Healed before the new leader commits in its epoch: with a txn of the new epoch after the old leader's extra
      // one, ZooKeeper does not TRUNC across the epoch boundary but sends a SNAP.
      const before = syncModes(next, old).length;
      await ens.fault(old, []);
      await ens.waitForLeader(ALL, 30_000);
      await newSyncModes(next, old, before);
      const sync = events(ens, next).filter((e) => e.action === 'LeaderSyncFollower' && e.params?.['peer'] === old).at(-1)!;
      mode = String(sync.params?.['mode']);
      const peerLast = String(sync.params?.['peerLastZxid']);
      const nextLogged = new Set(events(ens, next).filter((e) => e.action === 'TxnLogAppend').map((e) => String(e.params?.['zxid'])));
      if (!nextLogged.has(peerLast)) break;
      expect(mode, `old leader at ${peerLast}, which the new leader has`).toBe('DIFF');
      console.log(`partitioned leader, attempt ${attempt}: it stepped down before logging ${key} (rejoined at ${peerLast} by DIFF); again`);
      expect(attempt, 'attempts in which the cut leader logged the write before stepping down').toBeLessThan(3);
    }
    expect(mode).toBe('TRUNC');
    const c2 = await ens.client(next);
    for (let i = 0; i < 10; i++) {
      await c2.set(`after-cut-${i}`, `${i}`);
      ledger.set(`after-cut-${i}`, `${i}`);
    }
    c2.close();
    // The old leader's own log shows the rollback (once its buffered transition log reaches the file).
    await eventually('the old leader to log TxnLogTruncate', 10_000, async () => events(ens, old).some((e) => e.action === 'TxnLogTruncate'));
    for (const sid of ALL) {
      const cl = await ens.client(sid);
      for (const key of lostKeys) expect(await cl.get(key), `${key} on server ${sid}`).toBeNull();
      cl.close();
    }
    await expectEverywhere();
  });

  it('sends SNAP to a follower that fell far behind', async () => {
    dumpLogsOnFailure();
    const leader = await ens.waitForLeader(ALL, 10_000);
    const lagger = [1, 2, 3].find((s) => s !== leader)!;
    await ens.kill(lagger, 'SIGKILL');
    const c = await ens.client(leader);
    // More than commitLogCount (500) writes: the lagger's last zxid leaves the leader's window.
    const writes = Array.from({ length: 600 }, (_, i) => c.set(`behind-${i}`, `${i}`));
    await Promise.all(writes);
    for (let i = 0; i < 600; i++) ledger.set(`behind-${i}`, `${i}`);
    c.close();
    const before = syncModes(leader, lagger).length;
    ens.start(lagger);
    await ens.waitForLeader(ALL, 30_000);
    const modes = await newSyncModes(leader, lagger, before);
    expect(modes.at(-1)).toBe('SNAP');
    await expectEverywhere();
  });

  it('recovers a corrupt log tail: truncates it with a warning and catches up from the leader', async () => {
    dumpLogsOnFailure();
    const leader = await ens.waitForLeader(ALL, 10_000);
    const victim = [1, 2, 3].find((s) => s !== leader)!;
    // Fresh txns, so that the victim's log has records (a SNAP may have left it without a log file).
    const c = await ens.client(victim);
    for (let i = 0; i < 20; i++) {
      await c.set(`before-corruption-${i}`, `${i}`);
      ledger.set(`before-corruption-${i}`, `${i}`);
    }
    c.close();
    await ens.kill(victim, 'SIGKILL');
    const vdir = join(ens.servers.get(victim)!.dataDir, 'version-2');
    const logs = readdirSync(vdir).filter((f) => f.startsWith('log.')).sort((a, b) => parseInt(a.slice(4), 16) - parseInt(b.slice(4), 16));
    const last = logs.at(-1);
    expect(last, 'the victim has a txn log').toBeDefined();
    // A torn record: a length that runs past the end of the file, then a few bytes.
    appendFileSync(join(vdir, last!), Buffer.from([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
    ens.start(victim);
    await ens.waitForLeader(ALL, 30_000);
    const log = readFileSync(ens.servers.get(victim)!.logPath, 'utf8');
    expect(log).toMatch(/torn record .*truncating the log there/);
    // The transition log is written every 50 ms: wait for the restart's ServerStart to reach the file.
    const repairs = await eventually('the restart to log its repairs', 10_000, async () => {
      const files = ens.traceFiles(victim);
      const start = readTrace(files.at(-1)!).find((e) => e.type === 'event' && e.action === 'ServerStart');
      return start?.type === 'event' ? String(start.params?.['repairs']) : false;
    });
    expect(repairs).toMatch(/torn record/);
    await expectEverywhere();
  });

  it('closes a connection that sends garbage, on every port, and goes on serving', async () => {
    dumpLogsOnFailure();
    const leader = await ens.waitForLeader(ALL, 10_000);
    const target = ens.servers.get(leader)!;
    const garbage = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0, 0, 0, 5, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b]),
      Buffer.concat([Buffer.from([0, 0, 0, 15]), Buffer.from('{"type":"PING"}')]),
    ];
    for (const port of [target.clientPort, target.quorumPort, target.electionPort]) {
      for (const g of garbage) {
        const closed = await new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1', () => s.write(g));
          const t = setTimeout(() => {
            s.destroy();
            resolve(false);
          }, 5000);
          s.on('error', () => {});
          s.on('close', () => {
            clearTimeout(t);
            resolve(true);
          });
        });
        expect(closed, `port ${port} closes a connection that sent ${JSON.stringify(g.toString('latin1').slice(0, 20))}`).toBe(true);
      }
    }
    const log = readFileSync(target.logPath, 'utf8');
    expect(log).toMatch(/client port: closing connection from .*: /);
    expect(log).toMatch(/quorum port: closing connection from .*: /);
    expect(log).toMatch(/election port: closing connection from .*: /);
    expect(log).not.toMatch(/internal error|at .*\.ts:\d+/);
    const c = await ens.client(leader);
    await c.set('after-garbage', 'ok');
    ledger.set('after-garbage', 'ok');
    c.close();
    expect(await ens.waitForLeader(ALL, 10_000)).toBe(leader);
    await expectEverywhere();
  });

  it('keeps every acknowledged write over a cold restart of the whole ensemble (kill -9 of all)', async () => {
    dumpLogsOnFailure();
    await ens.stopAll('SIGKILL');
    ens.startAll();
    await ens.waitForLeader(ALL, 30_000);
    await expectEverywhere();
  });

  it('writes transition logs that match the trace schema, with gap-free seqs and matching message ids', async () => {
    dumpLogsOnFailure();
    const leader = await ens.waitForLeader(ALL, 10_000);
    const c = await ens.client(leader);
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.set(`traced-${i}`, `${i}`)));
    c.close();
    await sleep(200);
    await ens.stopAll('SIGTERM');
    const sends = new Map<string, { to: number; type: string }>();
    const recvs: { id: string; sid: number; action: string; file: string }[] = [];
    const actions = new Set<string>();
    for (const sid of ALL) {
      const files = ens.traceFiles(sid);
      expect(files.length, `server ${sid} has one trace per start`).toBeGreaterThanOrEqual(2);
      for (const f of files) {
        const lines = readTrace(f);
        const head = lines[0];
        expect(head?.type).toBe('header');
        if (head?.type === 'header') {
          expect(head.source).toBe('impl');
          expect(head.sid).toBe(sid);
        }
        const evs = lines.slice(1);
        evs.forEach((e, i) => {
          expect(e.type).toBe('event');
          if (e.type !== 'event') return;
          expect(e.seq, `${f} line ${i + 2}`).toBe(i + 1);
          expect(e.sid).toBe(sid);
          // Version 2 leaves out a time equal to the line before's; the first event has one.
          if (i === 0 || e.time !== undefined) expect(typeof e.time).toBe('number');
          actions.add(e.action);
          if (e.appended?.length) actions.add('TxnLogAppend');
          // Version 2: a receive is logged by id (rid), never in full.
          expect(e.recv).toBeUndefined();
          for (const m of e.send ?? []) sends.set(m.id, { to: m.to, type: m.type });
          if (e.rid) recvs.push({ id: e.rid, sid, action: e.action, file: f });
        });
      }
    }
    // The last incarnations all stopped cleanly, so every message they received was logged by its sender.
    const lastFiles = new Set(ALL.map((sid) => ens.traceFiles(sid).at(-1)!));
    const checked = recvs.filter((r) => lastFiles.has(r.file));
    expect(checked.length).toBeGreaterThan(20);
    const received = new Set<string>();
    for (const r of checked) {
      const s = sends.get(r.id);
      expect(s, `send of ${r.id} (${r.action}) received in ${r.file}`).toBeDefined();
      expect(s!.to, `${r.id} received by ${r.sid}`).toBe(r.sid);
      // What the receiving step was is what the send was: a follower's PROPOSAL step received a PROPOSAL...
      if (r.action.startsWith('FLE')) expect(s!.type).toBe('NOTIFICATION');
      if (r.action === 'FollowerProcessPROPOSAL' || r.action === 'FollowerProcessCOMMIT' || r.action === 'LeaderProcessACK') received.add(`${r.action} ${s!.type}`);
    }
    expect([...received].sort()).toEqual(['FollowerProcessCOMMIT COMMIT', 'FollowerProcessPROPOSAL PROPOSAL', 'LeaderProcessACK ACK']);
    // A server ACKs a proposal only after the step that logged it (the runtime then holds the ACK for the fsync).
    let acks = 0;
    for (const sid of ALL) {
      for (const f of ens.traceFiles(sid)) {
        const logged = new Set<unknown>();
        for (const e of readTrace(f)) {
          if (e.type !== 'event') continue;
          if (e.action === 'TxnLogAppend') logged.add(e.params?.['zxid']);
          for (const z of e.appended ?? []) logged.add(z);
          for (const m of e.send ?? []) {
            if (m.type !== 'ACK' || String(m['zxid']).endsWith('00000000')) continue;
            expect(logged.has(m['zxid']), `${f}: ACK of ${String(m['zxid'])} before its TxnLogAppend`).toBe(true);
            acks++;
          }
        }
      }
    }
    expect(acks).toBeGreaterThan(100);
    for (const a of ['ServerStart', 'FLEStartElection', 'FLEReceiveSameRound', 'FLEDecide', 'LearnerConnect', 'LeaderProcessFOLLOWERINFO', 'LearnerProcessLEADERINFO', 'LeaderProcessACKEPOCH', 'LeaderSyncFollower', 'LearnerProcessNEWLEADER', 'LeaderProcessACKNEWLEADER', 'LearnerProcessUPTODATE', 'LeaderProcessRequest', 'FollowerProcessPROPOSAL', 'LeaderProcessACK', 'FollowerProcessCOMMIT', 'ObserverProcessINFORM', 'TxnLogAppend', 'EpochFileWrite', 'TxnLogTruncate', 'SnapshotWrite', 'LeaderStepDown', 'ConnectionLost']) {
      expect(actions, `some server logged ${a}`).toContain(a);
    }
    // Version 2 does not log a learner's forwarding of a write: the leader's LeaderProcessRequest names its origin.
    expect(actions).not.toContain('LearnerForwardRequest');
  });
});
