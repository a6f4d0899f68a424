// A search stopped at a level boundary and resumed from its checkpoint (--checkpoint, --resume) ends as the
// uninterrupted search does: the same distinct and generated states, verdicts and counterexample depth; a level
// spilled to disk (--frontier-memory) changes no count; a damaged or mismatched checkpoint is refused with one
// line and nothing judged.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { replay } from '../checker/report/replay.ts';
import { runCheck, type RunResult } from '../checker/run.ts';
import { loadSpec } from '../checker/spec-source.ts';

const tmp = mkdtempSync(join(tmpdir(), 'checker-checkpoint-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(tmp, `ckpt-${dirs++}`);

function check(...flags: string[]): Promise<RunResult> {
  return runCheck(parseFlags([...flags, '--out', join(tmp, 'out')]));
}

function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'checker/cli.ts', ...args], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const same = (a: RunResult, b: RunResult): void => {
  expect(a.distinct).toBe(b.distinct);
  expect(a.generated).toBe(b.generated);
  expect(a.depthReached).toBe(b.depthReached);
  expect(a.exhausted).toBe(b.exhausted);
  expect(a.properties).toStrictEqual(b.properties);
  expect(a.coverage.map((c) => [c.kind, c.fired])).toStrictEqual(b.coverage.map((c) => [c.kind, c.fired]));
};

describe('checkpoint and resume', () => {
  it('a search stopped at depth 5 and resumed to depth 9 ends as a straight search to depth 9', async () => {
    const dir = freshDir();
    const first = await check('--depth', '5', '--workers', '2', '--checkpoint', dir, '--checkpoint-every', '0');
    expect(first.depthReached).toBe(5);
    expect(first.checkpoint!.written).toBeGreaterThan(0);
    // Fewer workers on the way back: the parent links of the first part are the coordinator's.
    const resumed = await check('--depth', '9', '--workers', '1', '--resume', dir);
    expect(resumed.checkpoint!.resumedFrom).toStrictEqual({ depth: 5, distinct: first.distinct });
    const straight = await check('--depth', '9', '--workers', '2');
    expect(straight.distinct).toBeGreaterThan(first.distinct!);
    same(resumed, straight);
  });

  it('re-running with the same --checkpoint DIR goes on from it', async () => {
    const dir = freshDir();
    await check('--protocol', 'fle', '--depth', '6', '--workers', '1', '--checkpoint', dir);
    const again = await check('--protocol', 'fle', '--depth', '10', '--workers', '2', '--checkpoint', dir);
    expect(again.checkpoint!.resumedFrom!.depth).toBe(6);
    same(again, await check('--protocol', 'fle', '--depth', '10', '--workers', '2'));
  });

  it('a violation found after the resume has the same depth, and its counterexample replays through the links of both parts', async () => {
    const dir = freshDir();
    const flags = ['--mutation', 'commitWithoutQuorum', '--workers', '1'];
    const first = await check(...flags, '--depth', '4', '--checkpoint', dir);
    expect(first.counterexample).toBeNull(); // (a reachability property not yet witnessed at depth 4 fails the run, not a violation)
    const resumed = await check(...flags, '--depth', '14', '--resume', dir);
    const straight = await check(...flags, '--depth', '14');
    expect(resumed.verdict).toBe('fail');
    expect(resumed.counterexample!.property).toBe(straight.counterexample!.property);
    expect(resumed.counterexample!.path.steps.length).toBe(straight.counterexample!.path.steps.length);
    expect(resumed.counterexample!.path.steps.length).toBeGreaterThan(4);
    const spec = await loadSpec(parseFlags([...flags]).source);
    const prop = spec.properties.find((p) => p.name === resumed.counterexample!.property)!;
    const states = replay(spec, resumed.counterexample!.path);
    expect(prop.check(states.at(-1)!.state)).toBe(false);
  });

  it('a frontier spilled to disk (--frontier-memory 0) gives the same counts, with one thread and with two', async () => {
    const straight = await check('--depth', '9', '--workers', '2');
    for (const workers of ['1', '2']) {
      const spilled = await check('--depth', '9', '--workers', workers, '--frontier-memory', '0');
      expect(spilled.memory.peakSpilledBytes).toBeGreaterThan(0);
      same(spilled, straight);
    }
    expect(straight.memory.peakSpilledBytes).toBe(0);
  });

  it('refuses a damaged or mismatched checkpoint with one line, judging nothing', async () => {
    const dir = freshDir();
    await check('--protocol', 'fle', '--depth', '4', '--workers', '1', '--checkpoint', dir);
    const at = join(dir, readFileSync(join(dir, 'LATEST'), 'utf8').trim());

    const other = cli('--protocol', 'fle', '--nodes', '4', '--depth', '6', '--resume', dir);
    expect(other.status).toBe(2);
    expect(other.stdout).toBe('');
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.stderr).toMatch(/made with other options \(nodes=3; this run: nodes=4\)/);

    const props = cli('--protocol', 'fle', '--depth', '6', '--invariant', 'leaderQuorum', '--resume', dir);
    expect(props.status).toBe(2);
    expect(props.stderr).toMatch(/made for other properties/);

    const table = readFileSync(join(at, 'table.bin'));
    table[100] = table[100]! ^ 0xff;
    writeFileSync(join(at, 'table.bin'), table);
    const damaged = cli('--protocol', 'fle', '--depth', '6', '--resume', dir);
    expect(damaged.status).toBe(2);
    expect(damaged.stdout).toBe('');
    expect(damaged.stderr.trim().split('\n')).toHaveLength(1);
    expect(damaged.stderr).toMatch(/damaged: ckpt-\d+\/table\.bin does not match its checksum/);

    writeFileSync(join(at, 'meta.json'), '{"format": 1, "identity"');
    const cut = cli('--protocol', 'fle', '--depth', '6', '--checkpoint', dir);
    expect(cut.status).toBe(2);
    expect(cut.stderr).toMatch(/damaged: ckpt-\d+\/meta\.json does not read/);

    const none = cli('--protocol', 'fle', '--depth', '6', '--resume', join(tmp, 'nowhere'));
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no such directory/);
  });

  it('checks its flags', () => {
    expect(() => parseFlags(['--simulate', '--checkpoint', 'x'])).toThrow(/--checkpoint applies to the exhaustive search/);
    expect(() => parseFlags(['--checkpoint-every', '5'])).toThrow(/only applies with --checkpoint/);
    expect(() => parseFlags(['--frontier-memory', 'lots'])).toThrow(/--frontier-memory: expected a size/);
    expect(() => parseFlags(['--resume', 'a', '--checkpoint', 'b'])).toThrow(/same folder/);
  });
});
