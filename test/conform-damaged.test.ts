// Damaged and incomplete input is never judged as the servers' behaviour: damaged copies of the clean sample give
// an input error or an explicitly incomplete verdict, each with its own exit status and a first line naming
// file:line; a last line cut short (what a kill -9 leaves) is counted, and fails only with --strict.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConformUsageError } from '../checker/conform/reader.ts';
import { conform } from '../checker/conform/run.ts';

const CLEAN = join(import.meta.dirname, '..', 'traces', 'samples', 'clean');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of the clean sample; `edit` changes the lines (without their newlines) of one file. */
function damaged(file: string, edit: (lines: string[]) => string[], raw?: (text: string) => string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'conform-damaged-'));
  dirs.push(dir);
  for (const f of readdirSync(CLEAN)) writeFileSync(join(dir, f), readFileSync(join(CLEAN, f)));
  const path = join(dir, file);
  const text = edit(readFileSync(path, 'utf8').split('\n').filter((l) => l !== '')).join('\n') + '\n';
  writeFileSync(path, raw ? raw(text) : text);
  return { dir, path };
}

/** The sample's leader: the server whose log has client writes (LeaderProcessRequest). */
function leaderFile(): string {
  return readdirSync(CLEAN).find((f) => readFileSync(join(CLEAN, f), 'utf8').includes('"LeaderProcessRequest"'))!;
}
const follower = () => readdirSync(CLEAN).find((f) => f !== leaderFile() && !f.startsWith('server4'))!;

const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'checker/conform/cli.ts', ...args], { encoding: 'utf8' });

describe('damaged input', () => {
  it('a malformed line in the middle of a log is an input error at that line, not a divergence (exit 2)', () => {
    let at = 0;
    const { dir, path } = damaged(follower(), (ls) => {
      at = Math.floor(ls.length / 2);
      ls[at] = ls[at]!.replace(/"seq":(\d+)/, '"seq":"$1"');
      return ls;
    });
    const r = conform({ paths: [dir] });
    expect(r.verdict).toBe('input-error');
    expect(r.divergence).toBeNull();
    expect(r.problems.map((p) => `${p.file}:${p.line}`)).toEqual([`${path}:${at + 1}`]);
    expect(r.problems[0]!.message).toMatch(/^seq: /);
    const c = cli(dir);
    expect(c.status).toBe(2);
    expect(c.stdout.split('\n')[0]).toBe(`INPUT ERROR: ${path}:${at + 1}: ${r.problems[0]!.message} (1 line(s) that do not decode: the input is damaged and nothing was judged)`);
  });

  it("half of the leader's log cut off is INCOMPLETE, naming the first receive whose send is in no log (exit 3)", () => {
    const { dir } = damaged(leaderFile(), (ls) => ls.slice(0, Math.floor(ls.length / 2)));
    const r = conform({ paths: [dir] });
    expect(r.verdict).toBe('incomplete');
    expect(r.ok).toBe(false);
    expect(r.incomplete.orphans).toBeGreaterThan(0);
    const first = r.incomplete.firstOrphan!;
    expect(readFileSync(first.file, 'utf8').split('\n')[first.line - 1]).toContain(first.id);
    const c = cli(dir);
    expect(c.status).toBe(3);
    expect(c.stdout.split('\n')[0]).toMatch(new RegExp(`^INCOMPLETE: ${first.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${first.line}: received ${first.id}, whose send is in no log \\(${r.incomplete.orphans} message\\(s\\) received whose send is in no log`));
  }, 180_000); // conform twice over the whole sample (in process, then the CLI): about 16 s on an idle machine

  it('events missing from a log (a gap in its seq) make the input INCOMPLETE at the gap, never a divergence', () => {
    let at = 0;
    const { dir, path } = damaged(follower(), (ls) => {
      at = Math.floor(ls.length / 3);
      return [...ls.slice(0, at), ...ls.slice(at + 2)];
    });
    const r = conform({ paths: [dir] });
    expect(r.verdict).toBe('incomplete');
    // Line i + 1 holds the event of seq i (the header is line 1): the line after the cut is seq at + 2.
    expect(r.incomplete.gaps.map((g) => `${g.file}:${g.line}: ${g.message}`)).toEqual([`${path}:${at + 1}: seq ${at + 2} after ${at - 1}: 2 event(s) missing`]);
  });

  it("a header whose sid is not a number is an input error naming the header's line (exit 2)", () => {
    const { dir, path } = damaged(follower(), (ls) => [ls[0]!.replace(/"sid":(\d+)/, '"sid":"$1"'), ...ls.slice(1)]);
    expect(() => conform({ paths: [dir] })).toThrow(ConformUsageError);
    expect(() => conform({ paths: [dir] })).toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: sid: `));
    const c = cli(dir);
    expect(c.status).toBe(2);
    expect(c.stderr.trim().split('\n')).toHaveLength(1);
    expect(c.stderr).toContain(`${path}:1: sid: `);
  });

  it('a log that ends in the middle of a line (a kill -9) is counted and passes; --strict makes it INCOMPLETE (exit 3)', () => {
    const { dir, path } = damaged(follower(), (ls) => ls, (text) => text.slice(0, text.length - 1 - Math.floor((text.length - text.lastIndexOf('\n', text.length - 2)) / 2)));
    const lines = readFileSync(path, 'utf8').split('\n').length;
    const r = conform({ paths: [dir] });
    expect(r.verdict).toBe('pass');
    expect(r.incomplete.torn.map((t) => `${t.file}:${t.line}`)).toEqual([`${path}:${lines}`]);
    const strict = conform({ paths: [dir], strict: true });
    expect(strict.verdict).toBe('incomplete');
    const c = cli('--strict', dir);
    expect(c.status).toBe(3);
    expect(c.stdout.split('\n')[0]).toMatch(new RegExp(`^INCOMPLETE: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${lines}: the last line is cut short`));
    expect(cli(dir).status).toBe(0);
  });
});
