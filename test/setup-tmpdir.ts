// vitest's globalSetup: the test run gets a temporary directory of its own (TMPDIR, which os.tmpdir() and
// every process the tests start read), so that whatever a test leaves behind is seen, reported and removed
// at the end instead of piling up in the machine's /tmp. A test cleans up what it creates; a leftover fails
// the run here, with its name.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir = '';
let saved: string | undefined;

export function setup(): void {
  saved = process.env['TMPDIR'];
  const outer = tmpdir();
  dir = mkdtempSync(join(outer, 'zab-check-tests-'));
  // tsx keeps its compile cache in the temporary directory (tsx-UID): the processes the tests start keep
  // using the machine's, instead of compiling everything again in each run.
  const cache = `tsx-${process.getuid?.() ?? 0}`;
  mkdirSync(join(outer, cache), { recursive: true });
  symlinkSync(join(outer, cache), join(dir, cache));
  process.env['TMPDIR'] = dir;
}

export function teardown(): void {
  if (saved === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = saved;
  let left: string[] = [];
  try {
    left = readdirSync(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
  left = left.filter((f) => !/^tsx-\d+$/.test(f));
  if (left.length > 0) {
    process.exitCode = 1;
    throw new Error(`the tests left ${left.length} entries in their temporary directory (now removed): ${left.join(', ')}`);
  }
}
