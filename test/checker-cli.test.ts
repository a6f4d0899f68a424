// `npm run check` as users run it: exit status, one-line usage errors, the text summary and --json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const out = mkdtempSync(join(tmpdir(), 'checker-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const TPC = ['--spec', 'test/fixtures/two-phase-commit.ts#buildTwoPhaseCommit', '--out', out];

function check(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'checker/cli.ts', ...args], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('check command', () => {
  it('rejects bad flags with one line naming the flag, and exit status 2', () => {
    const cases: [string[], RegExp][] = [
      [['--nodes', '9'], /^check: --nodes: must be at most 7 \(got "9"\)/],
      [['--nodes', 'two'], /^check: --nodes: /],
      [['--depth=-1'], /^check: --depth: must be at least 0/],
      [['--bogus'], /^check: Unknown option '--bogus'/],
      [['--walks', '5'], /^check: --walks only applies with --simulate/],
      [['--fix', 'nope'], /^check: --fix: unknown fix "nope" \(known: forgetStaleAcks, countToBeApplied\)/],
      [['--leader-log', 'lazy'], /^check: --leader-log: must be one of atomic, queued \(got "lazy"\)/],
      [['--leader-apply', 'later'], /^check: --leader-apply: must be one of atomic, queued \(got "later"\)/],
      [['--txns', '-1'], /^check: --txns: must be at least 0 \(got "-1"\)/],
      [['--max-memory', 'lots'], /^check: --max-memory: expected a size/],
      [[...TPC, '--invariant', 'nope'], /^check: --invariant: unknown property "nope" \(known: consistent, allCommitted, neverCommits, committedAndAborted\)/],
      [[...TPC, '--mutation', 'nope'], /^check: --mutation: unknown mutation "nope" \(known: commitEarly\)/],
      [['--spec', 'no/such/file.ts'], /^check: spec module no\/such\/file.ts not found/],
    ];
    for (const [args, message] of cases) {
      const r = check(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });

  it('prints the flags and mutations with --help', () => {
    const r = check(...TPC, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--nodes N/);
    expect(r.stdout).toMatch(/commitEarly/);
  });

  it('prints a summary and exits 0 when every property holds', () => {
    const r = check(...TPC, '--nodes', '3', '--workers', '1');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/States: 415 distinct, 1,398 generated, depth reached 10/);
    expect(r.stdout).toMatch(/space exhausted at depth 10/);
    expect(r.stdout).toMatch(/allCommitted \(reachability\): witnessed at depth 10/);
    expect(r.stdout).toMatch(/Warning: actions that never fired: TMTimeout/);
    expect(r.stdout).toMatch(/Result: PASS/);
    expect(r.stderr).toBe(''); // no progress line when stderr is not a terminal
  });

  it('exits 1 with the counterexample, printed step by step', () => {
    const r = check(...TPC, '--nodes', '3', '--mutation', 'commitEarly', '--workers', '2');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/consistent \(invariant\): VIOLATED at depth 5/);
    expect(r.stdout).toMatch(/Counterexample for consistent \(5 steps/);
    expect(r.stdout).toMatch(/recv Prepared \d->0/);
    expect(r.stdout).toMatch(/server 0 state: init -> committed/);
    expect(r.stdout).toMatch(/Trace written to .*consistent-.*\.ndjson/);
  });

  it('prints one JSON object with --json', () => {
    const r = check(...TPC, '--nodes', '2', '--workers', '1', '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ mode: 'bfs', verdict: 'pass', exhausted: true, stopReason: null, bounds: { depth: 30, workers: 1 } });
    expect(j.distinct).toBeGreaterThan(0);
    expect(j.params).toStrictEqual({ nodes: 2, mutations: [] });
    expect(typeof j.collisionProbability).toBe('number');
    expect(j.neverFired).toStrictEqual(['TMTimeout']);
    expect(j.properties.map((p: { name: string; status: string }) => [p.name, p.status])).toStrictEqual([
      ['consistent', 'holds'],
      ['allCommitted', 'witnessed'],
      // The checker's own: every step of a breadth-first run is well defined (none throws, each state storable).
      ['stepsWellDefined', 'holds'],
    ]);
  });

  it('fails a vacuous run with exit status 1', () => {
    const r = check(...TPC, '--nodes', '2', '--workers', '1', '--invariant', 'committedAndAborted');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/committedAndAborted \(reachability\): NOT REACHED: the run is vacuous/);
  });
});
