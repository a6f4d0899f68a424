// Every command has --help and -h: what it does, each flag with its default, the exit status, an example;
// the help wins over any other flag; and the README that documents the command names each of its flags.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);

/** Every npm script that runs a command of ours, and the README that documents it (all its flags). */
const DOCS: Readonly<Record<string, string>> = {
  check: 'checker/README.md',
  conform: 'traces/README.md',
  'conform:faults': 'traces/README.md',
  samples: 'traces/README.md',
  'make:zk-logs': 'traces/README.md',
  history: 'checker/README.md',
  simulate: 'checker/README.md',
  nemesis: 'nemesis/README.md',
  'nemesis:seeds': 'nemesis/README.md',
  'repro:stale-ack': 'docs/findings.md',
  'repro:stale-ack-3': 'docs/findings.md',
  'repro:trunc-committed': 'docs/findings.md',
  bench: 'README.md',
  server: 'impl/README.md',
  cluster: 'impl/README.md',
  client: 'impl/README.md',
  zkcli: 'impl/README.md',
  'diff:zk': 'impl/README.md',
  mutation: 'docs/mutation.md',
  view: 'checker/chart/README.md',
  explore: 'checker/chart/README.md',
};
/** Scripts that are not commands of ours. */
const NOT_COMMANDS = new Set(['test', 'test:readme', 'typecheck']);

const SCRIPTS = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
const COMMANDS = Object.keys(SCRIPTS)
  .filter((npm) => !NOT_COMMANDS.has(npm))
  .map((npm) => ({ npm, script: /\btsx (\S+\.ts)$/.exec(SCRIPTS[npm]!)?.[1] ?? '', doc: DOCS[npm] ?? '' }));

async function help(script: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
}

describe('--help of every command', () => {
  it("package.json's every command runs one file of ours with tsx, and has a README here (a new one needs its --help)", () => {
    for (const c of COMMANDS) {
      expect(c.script, `npm run ${c.npm}: ${SCRIPTS[c.npm]}`).not.toBe('');
      expect(c.doc, `npm run ${c.npm}: which README documents it? (DOCS)`).not.toBe('');
    }
    expect(COMMANDS.length).toBeGreaterThanOrEqual(17);
  });

  // Concurrently (vitest runs 5 at a time): each is two short processes that mostly wait for tsx to load.
  for (const c of COMMANDS) {
    it.concurrent(`npm run ${c.npm} -- --help`, async ({ expect }) => {
      // --help after a flag the command does not know: the help still wins.
      const [short, long] = await Promise.all([help(c.script, '-h'), help(c.script, '--no-such-flag', '--help')]);
      const text = long.stdout;
      expect(long.stderr).toBe('');
      expect(short.stdout).toBe(text);
      expect(text.split('\n')[0]).toMatch(new RegExp(`^Usage: npm run ${c.npm} -- `));
      for (const section of ['Flags:', 'Exit status:']) expect(text).toContain(`\n${section}\n`);
      expect(text).toMatch(/\nExamples?:\n {2}npm run /);
      expect(text).toMatch(/\n {2}0 {3}\S/);
      expect(text).toMatch(/\n {2}2 {3}bad usage/);
      const flags = [...text.matchAll(/^ {2}--([\w-]+)/gm)].map((m) => m[1]!);
      expect(flags).toContain('help');
      // The README that documents this command names every one of its flags.
      const doc = readFileSync(join(ROOT, c.doc), 'utf8');
      const missing = flags.filter((f) => f !== 'help' && !doc.includes(`--${f}`));
      expect(missing, `flags of ${c.npm} that ${c.doc} does not mention`).toEqual([]);
    }, 60_000);
  }
});
