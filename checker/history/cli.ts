// `npm run history -- FILE`: check a history of ZooKeeper client operations (checker/history/format.ts).
// Exit status: 0 valid, 1 an anomaly, 2 bad usage or input, 3 unknown (a search reached its budget).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkHistory, formatResult, windowFile } from './check.ts';
import { HistoryError, opToLine, parseHistory } from './format.ts';
import { argsProblem, formatUsage, wantsHelp, type Usage } from '../../impl/usage.ts';

export const HISTORY_USAGE: Usage = {
  usage: 'npm run history -- [flags] FILE',
  description: `Checks a history of ZooKeeper client operations (NDJSON, one operation per line; the format is documented in
checker/history/format.ts and checker/README.md): linearizability of create, setData (compare-and-set with a
version), delete and sync+getData per znode (Wing-Gong search with memoisation), a session's order and
read-your-writes for plain reads (by zxid), and the final read of every znode on every server (replicas identical,
no acknowledged write missing). On a violation it prints the smallest window of time that is already not
linearizable and the operations in it.`,
  flags: [
    { flag: 'json', help: 'print the result as one JSON object' },
    { flag: 'window-out', metavar: 'FILE', help: 'write the failing windows as a history file (default: FILE.window.ndjson on a violation)' },
    { flag: 'budget', metavar: 'N', help: 'search states per znode before giving up with UNKNOWN', default: 1000000 },
  ],
  exit: [
    [0, 'valid'],
    [1, 'an anomaly found (the window is written)'],
    [2, 'bad usage or input (file:line)'],
    [3, 'unknown: a search reached its budget'],
  ],
  examples: ['npm run history -- test/fixtures/history/lost-write.ndjson', 'npm run history -- --json test/fixtures/history/valid.ndjson'],
};

function fail(msg: string): never {
  console.error(`history: ${msg}`);
  process.exit(2);
}

function main(): void {
  if (wantsHelp(process.argv.slice(2))) {
    console.log(formatUsage(HISTORY_USAGE));
    process.exit(0);
  }
  let parsed;
  try {
    parsed = parseArgs({ options: { json: { type: 'boolean' }, 'window-out': { type: 'string' }, budget: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    fail(`${argsProblem(e)} (see --help)`);
  }
  const v = parsed.values;
  if (parsed.positionals.length !== 1) fail(`give one history file (got ${parsed.positionals.length}; see --help)`);
  const file = parsed.positionals[0]!;
  let budget: number | undefined;
  if (v.budget !== undefined) {
    if (!/^\d+$/.test(v.budget) || Number(v.budget) < 1) fail(`--budget must be a positive integer (got ${JSON.stringify(v.budget)})`);
    budget = Number(v.budget);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let h;
  try {
    h = parseHistory(text, file);
  } catch (e) {
    if (e instanceof HistoryError) fail(e.message);
    throw e;
  }
  const r = checkHistory(h, { budget });
  const wf = windowFile(h, r, opToLine);
  const out = v['window-out'] ?? (wf !== null ? `${file.replace(/\.ndjson$/, '')}.window.ndjson` : undefined);
  if (wf !== null && out !== undefined) writeFileSync(out, wf);
  if (v.json) console.log(JSON.stringify(r, (k, x) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x === Infinity ? null : k === 'line' ? undefined : x)));
  else {
    console.log(formatResult(r));
    if (wf !== null && out !== undefined) console.log(`failing window(s) written to ${out}`);
  }
  process.exit(r.verdict === 'valid' ? 0 : r.verdict === 'invalid' ? 1 : 3);
}

main();
