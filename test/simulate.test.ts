// The in-process simulator (checker/vopr): impl/'s server code as a cluster on virtual time, faults from a seed,
// every run's logs through conform and its acknowledged writes checked on every server. The story: clean seeds
// pass; a seed is the same run every time; each test-only breakage of a protocol rule is caught by conformance,
// with its seed printed; and the command line says what it explored.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TEST_BREAKS, broken } from '../impl/core/breaks.ts';
import { runSeed } from '../checker/vopr/run.ts';
import { coverageSummary } from '../checker/conform/coverage.ts';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);
const base = { participants: 3, observers: 0, timeMs: 20_000, settleMs: 5_000, breaks: [] as string[] };

describe('the simulator', () => {
  it('runs seeds 1-3 of the real server code under kill -9, lost connections and slow fsyncs, and every one conforms and keeps every acknowledged write', () => {
    for (const seed of [1, 2, 3]) {
      const r = runSeed({ ...base, seed });
      expect(r.conform.verdict, `seed ${seed}`).toBe('pass');
      expect(r.durability, `seed ${seed}`).toEqual([]);
      expect(r.liveness, `seed ${seed}`).toBeNull();
      expect(r.ok).toBe(true);
      // What was explored: faults of every kind, elections, and writes acknowledged through them.
      expect(r.stats.crashes).toBeGreaterThan(0);
      expect(r.stats.cuts).toBeGreaterThan(0);
      expect(r.stats.slowFsyncs).toBeGreaterThan(0);
      expect(r.stats.elections).toBeGreaterThan(3);
      expect(r.stats.acked).toBeGreaterThan(100);
      expect(r.conform.stats.events).toBeGreaterThan(1000);
      // The coverage of the spec's actions counts what the logs show, with the branches a log tells apart.
      const c = r.conform.coverage;
      expect(c['LeaderProcessACK'] ?? 0).toBeGreaterThan(100);
      expect(c['LeaderSyncFollower'] ?? 0).toBe(['DIFF', 'TRUNC', 'SNAP'].reduce((n, m) => n + (c[`LeaderSyncFollower:${m}`] ?? 0), 0));
      expect(c['Crash']).toBe(c['Restart']);
      const sum = coverageSummary(r.conform.spec.actionKinds ?? [], c);
      expect(sum.of).toBeGreaterThan(20);
      expect(sum.actions + sum.never.length).toBe(sum.of);
      expect(sum.never).not.toContain('LeaderProcessRequest');
    }
  });

  it('is deterministic: a seed is the same run, event for event', () => {
    const a = runSeed({ ...base, seed: 4, timeMs: 8_000 });
    const b = runSeed({ ...base, seed: 4, timeMs: 8_000 });
    expect(b.stats).toEqual(a.stats);
    expect(b.conform.stats.events).toBe(a.conform.stats.events);
    expect(b.conform.verdict).toBe(a.conform.verdict);
  });

  it('catches test-only breakages through conformance, on a seed that passes without them, and leaves the breakage off after', () => {
    const caught = (name: string, action: string, seed = 1) => {
      expect(runSeed({ ...base, seed }).ok, `seed ${seed} without breakage`).toBe(true);
      const r = runSeed({ ...base, seed, breaks: [name] });
      expect(r.ok, name).toBe(false);
      expect(r.conform.verdict, name).toBe('divergence');
      expect(r.conform.divergence?.event.action, name).toBe(action);
      expect(broken(name as never), `${name} stays on after the run`).toBe(false);
    };
    // A follower ACKs before the txn is in its log: the ACK is sent from a state whose log lacks it.
    caught('ackBeforeLog', 'FollowerProcessPROPOSAL');
    // The leader commits on its own ACK, once its log is flushed: a COMMIT no quorum explains.
    caught('commitWithoutQuorum', 'LeaderFlushLog');
    // DIFF where TRUNC is due: needs a learner with txns nobody committed (an isolated leader that took writes);
    // seed 23 is the first to get there since followers log FollowerFlushLog (seed 38 before).
    caught('skipTrunc', 'LeaderSyncFollower', 23);
  });

  it('catches omissions, a server that stops doing its part, by the timed obligations of its logged configuration', () => {
    expect(runSeed({ ...base, seed: 1 }).ok, 'seed 1 without breakage').toBe(true);
    const r = runSeed({ ...base, seed: 1, breaks: ['neverStepDown'] });
    // Every logged step is allowed; what is missing is the step down a leader without a quorum owes within
    // syncLimit ticks (the header's tickTime 100 ms, syncLimit 5).
    expect(r.conform.verdict).toBe('overdue');
    expect(r.conform.divergence).toBeNull();
    const o = r.conform.overdue[0]!;
    expect(o.action).toBe('LeaderStepDown');
    expect(o.boundMs).toBe(600);
    expect(o.lastedMs).toBeGreaterThan(o.boundMs);
    expect(o.since.file).toMatch(/server\d\/transitions\.\d+\.ndjson$/);
    expect(o.what).toMatch(/^server \d led without a quorum of connected participants from .* for \d+ ms, more than syncLimit \(5\) \+ 1 ticks of 100 ms = 600 ms, and did not step down/);
  });

  it('catches a learner that does not send what the spec step sends, and durable writes a step skipped, at the event that shows it', () => {
    const caught = (name: string, seed: number, action: string, message: RegExp) => {
      const r = runSeed({ ...base, seed, breaks: [name] });
      expect(r.conform.verdict, name).toBe('divergence');
      expect(r.conform.divergence?.event.action, name).toBe(action);
      expect(r.conform.divergence?.nearest?.message, name).toMatch(message);
    };
    // A follower that logs PROPOSALs and stops ACKing them: the flush after its fsync lacks the ACK the spec's sends.
    caught('silentFollower', 2, 'FollowerFlushLog', /FollowerFlushLog: ACK 1 of the flush: the log sent nothing, the spec's FollowerFlushLog sends \{"type":"ACK"/);
    // An accepted epoch taken in memory only: the step that sends ACKEPOCH changed it with no EpochFileWrite.
    caught('acceptedEpochNotDurable', 1, 'LearnerProcessLEADERINFO', /changed acceptedEpoch to \d+ without writing it to disk/);
    // A restart that comes back without the last txn it had ACKed: no crash loses what was fsynced.
    caught('loseLastTxnOnRestart', 1, 'ServerStart', /restarted with its log at 0x[0-9a-f]+, but it had ACKed up to 0x[0-9a-f]+/);
    // A follower that applies a PROPOSAL as it logs it: the apply (the event's `applied`) of a txn not committed.
    caught('applyOnPropose', 3, 'FollowerProcessPROPOSAL', /applied 0x[0-9a-f]+ to its data tree in FollowerProcessPROPOSAL; the spec's server knows committed only up to 0x[0-9a-f]+/);
  }, 120_000);

  it('a guided schedule reaches the TRUNC random faults seldom reach, passes without a breakage, and catches the breakages hidden there', () => {
    const trunc = { ...base, seed: 2, schedule: 'guided' as const, episodes: ['trunc', 'votes'] as const };
    const clean = runSeed(trunc);
    expect(clean.ok, 'guided seed 2 without breakage').toBe(true);
    expect(clean.conform.coverage['LeaderSyncFollower:TRUNC'] ?? 0).toBeGreaterThan(0);
    expect(clean.conform.coverage['LearnerProcessTRUNC'] ?? 0).toBeGreaterThan(0);
    // Each kind started reached its situation at least once (the scripts' own check of the cluster's state).
    expect(clean.stats.episodes?.reached.trunc ?? 0).toBeGreaterThan(0);
    expect(clean.stats.episodes?.reached.votes ?? 0).toBeGreaterThan(0);
    // The same seed's random schedule is the run it always was: the episodes draw from their own generator.
    expect(runSeed({ ...base, seed: 2, timeMs: 4_000 }).stats).toEqual(runSeed({ ...base, seed: 2, timeMs: 4_000, schedule: 'random' }).stats);
    for (const name of ['skipTrunc', 'truncOffByOne']) {
      const r = runSeed({ ...trunc, breaks: [name] });
      expect(r.conform.verdict, name).toBe('divergence');
    }
  }, 120_000);

  it('guided episodes reach a lower epoch, a learner ahead of its leader, the committedLog edge and a sync with proposals outstanding, and the breakages hidden there are caught at their event', () => {
    // Each episode alone, 10 s of faults: without a breakage the run passes; with it, conform names the event.
    const cases = [
      { episode: 'lowerEpoch', seed: 2, name: 'acceptLowerEpoch', branch: 'LearnerProcessLEADERINFO:refused', event: 'LearnerProcessLEADERINFO', message: /sent \{"type":"ACKEPOCH".*which the spec's LearnerProcessLEADERINFO does not send/ },
      { episode: 'ahead', seed: 2, name: 'leaderAcceptsAhead', branch: 'LeaderProcessACKEPOCH:refused', event: 'LeaderProcessACKEPOCH', message: /the log accepted the ACKEPOCH of \d; the spec's LeaderProcessACKEPOCH refuses it/ },
      { episode: 'edge', seed: 2, name: 'snapAtWindowEdge', branch: 'LeaderSyncFollower:DIFF', event: 'LeaderSyncFollower', message: /the spec's LeaderSyncFollower opens with \{"type":"DIFF"\}; the log says SNAP/ },
      // The sync must forward the proposals still outstanding before NEWLEADER (startForwarding).
      { episode: 'queued', seed: 2, name: 'noQueuedProposals', branch: 'LeaderSyncFollower:DIFF', event: 'LeaderSyncFollower', message: /packet \d+ of the sync: the log sent \{"type":"NEWLEADER".*\}, the spec sends \{"type":"PROPOSAL"/ },
    ] as const;
    for (const c of cases) {
      const opts = { ...base, timeMs: 10_000, seed: c.seed, schedule: 'guided' as const, episodes: [c.episode] };
      const clean = runSeed(opts);
      expect(clean.ok, `${c.episode} seed ${c.seed} without a breakage`).toBe(true);
      expect(clean.conform.coverage[c.branch] ?? 0, c.branch).toBeGreaterThan(0);
      expect(clean.stats.episodes?.reached[c.episode] ?? 0, `${c.episode} reached`).toBeGreaterThan(0);
      const r = runSeed({ ...opts, breaks: [c.name] });
      expect(r.conform.verdict, c.name).toBe('divergence');
      expect(r.conform.divergence?.event.action, c.name).toBe(c.event);
      expect(r.conform.divergence?.nearest?.message ?? '', c.name).toMatch(c.message);
    }
  }, 180_000);

  it('npm run simulate: a swarm names its failing seeds, keeps their logs where asked, and exits 1; --json; bad usage exits 2', async () => {
    const keep = mkdtempSync(join(tmpdir(), 'simulate-keep-'));
    try {
      const bad = await run(process.execPath, ['--import', 'tsx', 'checker/vopr/cli.ts', '--seeds', '2', '--time', '3000', '--break', 'commitWithoutQuorum', '--keep', keep, '--workers', '2'], { cwd: ROOT, encoding: 'utf8' }).then(
        () => null,
        (e: { code: number; stdout: string }) => e,
      );
      expect(bad?.code).toBe(1);
      expect(bad?.stdout).toMatch(/2 runs \(seeds 1-2, .*breaks: commitWithoutQuorum\): 0 passed, 2 failed/);
      expect(bad?.stdout).toMatch(/failing seeds: 1, 2/);
      expect(readdirSync(keep).sort()).toEqual(['seed-1', 'seed-2']);
      expect(existsSync(join(keep, 'seed-1', 'server1', 'transitions.0001.ndjson'))).toBe(true);

      const ok = await run(process.execPath, ['--import', 'tsx', 'checker/vopr/cli.ts', '--seeds', '2', '--time', '3000', '--json', '--workers', '1'], { cwd: ROOT, encoding: 'utf8' });
      const j = JSON.parse(ok.stdout) as { runs: number; passed: number; failed: number[]; results: { seed: number; ok: boolean; eventsChecked: number }[] };
      expect(j.runs).toBe(2);
      expect(j.failed).toEqual([]);
      expect(j.results.map((r) => r.seed)).toEqual([1, 2]);
      expect(j.results.every((r) => r.eventsChecked > 0)).toBe(true);

      const rate = await run(process.execPath, ['--import', 'tsx', 'checker/vopr/cli.ts', '--seeds', '1', '--time', '3000', '--every-break', '--json', '--workers', '1'], { cwd: ROOT, encoding: 'utf8' }).then(
        (r) => r,
        (e: { stdout: string }) => e,
      );
      const table = JSON.parse(rate.stdout) as { falseAlarms: number; rows: { break: string; runs: number; caught: number }[] };
      expect(table.falseAlarms).toBe(0);
      expect(table.rows.map((r) => r.break)).toEqual([...TEST_BREAKS]);
      expect(table.rows.find((r) => r.break === 'commitWithoutQuorum')?.caught).toBe(1);

      const usage = await run(process.execPath, ['--import', 'tsx', 'checker/vopr/cli.ts', '--seeds', 'many'], { cwd: ROOT, encoding: 'utf8' }).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(usage?.code).toBe(2);
      expect(usage?.stderr.trim()).toBe('simulate: --seeds: must be a whole number (got "many") (see --help)');
    } finally {
      rmSync(keep, { recursive: true, force: true });
    }
  }, 120_000);
});
