// `npm run mutation` on two lines of spec/coarse.ts, with a check that only asks for leaderElected to depth 2
// (a few seconds a run): a mutant that stops every election is killed by leaderElected left vacuous, a mutant
// that indexes past the quorum table makes the spec throw, which the check reports as a violation of
// stepsWellDefined (a broken step, not a crash of the check), the counts add up, and the temporary directory with
// the instrumented copy is gone afterwards. The whole tool at the default bounds takes minutes: not here.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MutationReport } from '../checker/mutation/mutation.ts';

const ROOT = join(import.meta.dirname, '..');

function mutation(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'checker/mutation/mutation.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The 1-based line of spec/coarse.ts that contains `text` (found, so that an edit above it does not break the test). */
function lineOf(text: string): number {
  const i = readFileSync(join(ROOT, 'spec/coarse.ts'), 'utf8').split('\n').findIndex((l) => l.includes(text));
  expect(i, `spec/coarse.ts no longer has ${text}`).toBeGreaterThanOrEqual(0);
  return i + 1;
}

const leftovers = () => readdirSync(tmpdir()).filter((f) => f.startsWith('zab-mutation-'));

describe('npm run mutation', () => {
  it('kills a mutant that stops every election by leaderElected (vacuous), one that overruns the quorum table as a broken step', async () => {
    const guard = lineOf("if (!l.online || l.state !== 'LOOKING') continue;");
    const loop = lineOf('for (const quorum of quorums[leaderSid - 1]!)');
    expect(loop).toBe(guard + 1);
    const run = await mutation('--files', 'spec/coarse.ts', '--line', `${guard}-${loop}`, '--depth', '2', '--json', '--', '--invariant', 'leaderElected');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = JSON.parse(run.stdout) as MutationReport;
    const ra = { results: r.results.filter((m) => m.line === guard) };
    const rb = { results: r.results.filter((m) => m.line === loop) };
    {
      expect(r.fileCount).toBe(1);
      expect(r.mutants.executed + r.mutants.notExecuted).toBe(r.mutants.total);
      expect(r.mutants.selected).toBe(r.mutants.eligible);
      expect(r.mutants.selected).toBe(r.results.length);
      expect(r.line).toEqual({ from: guard, to: loop });
      expect(r.results.every((m) => m.file === 'spec/coarse.ts' && (m.line === guard || m.line === loop))).toBe(true);
      expect(ra.results.length).toBeGreaterThan(0);
      expect(rb.results.length).toBeGreaterThan(0);
      const s = r.summary;
      expect(s.killedByProperty + s.killedByStep + s.killedByCrash + s.killedByCoverage + s.timeout + s.survived + s.compileError).toBe(r.results.length);
      expect(Object.values(s.byProperty).reduce((x, y) => x + y, 0)).toBe(s.killedByProperty);
      const ran = r.results.length - s.compileError;
      expect(s.score).toBeCloseTo((100 * (ran - s.survived)) / ran, 1);
    }

    // Line `if (!l.online || l.state !== 'LOOKING') continue;`: the condition made always true skips every candidate.
    const never = ra.results.find((m) => m.mutator === 'ConditionalExpression' && m.replacement === 'true' && m.original === "!l.online || l.state !== 'LOOKING'");
    expect(never).toMatchObject({ outcome: 'property', property: 'leaderElected', how: 'vacuous' });
    // ... and the condition made always false lets a leader that is not LOOKING be elected again: it survives
    // leaderElected alone (the default properties are what catch it).
    const always = ra.results.find((m) => m.mutator === 'ConditionalExpression' && m.replacement === 'false' && m.original === "!l.online || l.state !== 'LOOKING'");
    expect(always?.outcome).toBe('survived');

    // Line `for (const quorum of quorums[leaderSid - 1]!)`: leaderSid + 1 reads past the table, the spec throws,
    // and the check says so as a violation with the error and where in spec/ it was thrown.
    const over = rb.results.find((m) => m.mutator === 'ArithmeticOperator' && m.replacement === 'leaderSid + 1');
    expect(over).toMatchObject({ outcome: 'step' });
    expect(over?.outcome === 'step' && over.reason).toMatch(/^a step of this state threw TypeError: .*not iterable \(at .*spec\/coarse\.ts/);

    expect(leftovers()).toEqual([]);
  }, 120_000);

  it('rejects bad input with one line and exit status 2, leaving nothing behind', async () => {
    const cases: [string[], RegExp][] = [
      [['--sample', 'many'], /^mutation: --sample: must be a whole number \(got "many"\)/],
      [['--files', 'spec/nothing-*.ts'], /^mutation: --files: "spec\/nothing-\*\.ts" matches no \.ts file under spec\//],
      [['--line', '3'], /^mutation: --line: needs --files to name one file/],
      [['--files', 'spec/coarse.ts', '--line', '9-3'], /^mutation: --line: must be a line N or a range N-M with 1 <= N <= M \(got "9-3"\)/],
      [['--', '--workers', '2'], /^mutation: check flag --workers: the mutation tool sets it itself/],
      [['--bogus'], /^mutation: Unknown option '--bogus'/],
      [['--mutants', '12,x'], /^mutation: --mutants: must be mutant ids N\[,N\.\.\.\]/],
    ];
    const runs = await Promise.all(cases.map(([args]) => mutation(...args)));
    runs.forEach((r, i) => {
      expect(r.status, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
    expect(leftovers()).toEqual([]);
  });
});
