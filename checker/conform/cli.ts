// `npm run conform -- <log files | a dataDir | a cluster dir>`: check that logged runs are runs of the spec.
// Exit status: 0 pass, 1 divergence, 2 bad usage or damaged input, 3 incomplete input (see CONFORM_USAGE).
import { parseArgs } from 'node:util';
import { conform, type ConformResult } from './run.ts';
import { formatResult } from './report.ts';
import { ConformUsageError } from './reader.ts';
import { areZooKeeperLogs, runZooKeeperConform } from './zookeeper/report.ts';
import { argsProblem, formatUsage, wantsHelp, type Usage } from '../../impl/usage.ts';

export const CONFORM_USAGE: Usage = {
  usage: 'npm run conform -- [flags] <log files | a dataDir | a cluster dir>...',
  description: `Replays the transition logs of the implementation's servers (dataDir/transitions.NNNN.ndjson, one or more
per server; a directory means every such file under it), or one trace written by \`npm run check\`, against
the spec (ZAB, fine-grained, initial state from the servers' ServerStart events; a check trace names its own
spec options in its header), and reports either PASS with counts, or the first event no spec path explains.
With Apache ZooKeeper's own server logs (3.5-3.9, one file per server), checks them against the coarse spec.

The first line of the report is the verdict: PASS, DIVERGENCE, INCOMPLETE or INPUT ERROR, with the file:line
it is about. Damaged or incomplete input is never judged as the servers' behaviour.`,
  flags: [
    { flag: 'json', help: 'print the result as one JSON object' },
    { flag: 'window', metavar: 'N', help: 'explore orders of concurrent events up to N logged steps apart', default: 12 },
    { flag: 'max-nodes', metavar: 'N', help: 'search nodes kept per step (past it the result says BOUNDED)', default: 64 },
    { flag: 'max-silent', metavar: 'N', help: 'unlogged spec steps tried before one logged event (ZooKeeper logs: 4)', default: 3 },
    {
      flag: 'strict',
      help: 'a log whose last line is cut short (as a kill -9 leaves it) makes the input incomplete; without it such a line is counted and reported, the rest judged',
    },
    {
      flag: 'format',
      metavar: 'F',
      help: 'impl, or zookeeper: Apache ZooKeeper\'s own server logs (one file per server, in order); auto recognises them by their layout',
      default: 'auto',
    },
    { flag: 'config', metavar: 'FILE', help: "with ZooKeeper logs: the ensemble's zoo.cfg (default: the servers whose logs are given)" },
  ],
  sections: [
    [
      "Apache ZooKeeper's logs (traces/README.md has the mapping of its lines to spec steps)",
      [
        'npm run conform -- traces/samples/zookeeper/trunc/server*.log',
        'prints CONFORMS or DIVERGES at file:line, the lines matched, the spec steps inferred, the lines not',
        'understood, and each invariant along the path (exit 0, 1, or 2 on damaged input).',
      ],
    ],
  ],
  exit: [
    [0, 'PASS: every logged event is explained and nothing is missing (last lines cut short are counted)'],
    [1, 'DIVERGENCE: an event no spec path explains, in an input that misses nothing; OVERDUE: every event explained, but a leader kept leading without a quorum, or a learner following a leader that was gone, longer than the logged configuration (tickTime, initLimit, syncLimit) allows'],
    [2, 'bad usage, or damaged input: a file or a line that does not decode (INPUT ERROR: file:line: what)'],
    [
      3,
      'INCOMPLETE: messages received whose send is in no log, events missing from a log (a gap in its seq), and with --strict a last line cut short: counted and named; no verdict on the system',
    ],
  ],
  examples: [
    'npm run conform -- /tmp/zk                  # the logs of `npm run cluster -- --dir /tmp/zk`, once it stopped',
    'npm run conform -- --strict traces/samples/faults',
    'npm run conform -- --json traces/samples/faults',
  ],
};

const EXIT: Record<ConformResult['verdict'], number> = { pass: 0, divergence: 1, stalled: 1, overdue: 1, 'input-error': 2, incomplete: 3 };

function fail(msg: string): never {
  console.error(`conform: ${msg}`);
  process.exit(2);
}

function main(): void {
  if (wantsHelp(process.argv.slice(2))) {
    console.log(formatUsage(CONFORM_USAGE));
    process.exit(0);
  }
  let parsed;
  try {
    parsed = parseArgs({
      options: { json: { type: 'boolean' }, format: { type: 'string' }, config: { type: 'string' }, window: { type: 'string' }, 'max-nodes': { type: 'string' }, 'max-silent': { type: 'string' }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    fail(`${argsProblem(e)} (see --help)`);
  }
  const v = parsed.values;
  const int = (name: string, raw: string | undefined, min: number): number | undefined => {
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min) fail(`--${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
    return Number(raw);
  };
  const window = int('window', v.window, 1);
  const maxNodes = int('max-nodes', v['max-nodes'], 1);
  const maxSilent = int('max-silent', v['max-silent'], 0);
  if (parsed.positionals.length === 0) fail('no log files given (see --help)');
  const format = v.format ?? 'auto';
  if (!['auto', 'impl', 'zookeeper'].includes(format)) fail(`--format must be auto, impl or zookeeper (got ${JSON.stringify(format)})`);
  if (format === 'zookeeper' || (format === 'auto' && areZooKeeperLogs(parsed.positionals))) {
    const opts = { json: v.json === true, ...(v.config !== undefined ? { config: v.config } : {}), ...(window !== undefined ? { window } : {}), ...(maxNodes !== undefined ? { maxNodes } : {}), ...(maxSilent !== undefined ? { maxSilent } : {}) };
    process.exit(runZooKeeperConform(parsed.positionals, opts));
  }
  if (v.config !== undefined) fail('--config is for ZooKeeper logs only (--format zookeeper)');
  try {
    const r = conform({ paths: parsed.positionals, strict: v.strict === true, ...(window !== undefined ? { window } : {}), ...(maxNodes !== undefined ? { maxNodes } : {}), ...(maxSilent !== undefined ? { maxSilent } : {}) });
    console.log(v.json ? JSON.stringify(r) : formatResult(r));
    process.exit(EXIT[r.verdict]);
  } catch (e) {
    if (e instanceof ConformUsageError) fail(e.message);
    throw e;
  }
}

main();
