// Every command has --help and -h: what it does, each flag with its default, the exit status, an example;
// the help wins over any other flag; and the README that documents the command names each of its flags.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);

const COMMANDS: readonly { readonly npm: string; readonly script: string; readonly doc: string }[] = [
  { npm: 'check', script: 'checker/cli.ts', doc: 'checker/README.md' },
  { npm: 'conform', script: 'checker/conform-cli.ts', doc: 'traces/README.md' },
  { npm: 'conform:faults', script: 'checker/conform-faults.ts', doc: 'traces/README.md' },
  { npm: 'cluster', script: 'impl/cluster.ts', doc: 'impl/README.md' },
  { npm: 'server', script: 'impl/server.ts', doc: 'impl/README.md' },
  { npm: 'client', script: 'impl/client-cli.ts', doc: 'impl/README.md' },
];

async function help(script: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
}

describe('--help of every command', () => {
  it('package.json runs exactly these commands (a new one needs its --help here)', () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    for (const c of COMMANDS) expect(scripts[c.npm], c.npm).toBe(`tsx ${c.script}`);
  });

  for (const c of COMMANDS) {
    it(`npm run ${c.npm} -- --help`, async () => {
      const [long, short, winning] = await Promise.all([help(c.script, '--help'), help(c.script, '-h'), help(c.script, '--no-such-flag', '--help')]);
      const text = long.stdout;
      expect(long.stderr).toBe('');
      expect(short.stdout).toBe(text);
      expect(winning.stdout).toBe(text);
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
