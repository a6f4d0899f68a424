// `npm run view -- TRACE...`: a message sequence chart (one self-contained HTML file) of a trace written by
// `check`, of implementation logs (files or a directory, as `npm run conform` takes them), or of a conformance
// report (`npm run conform -- --json > report.json`). Exit status: 0 written, 2 bad usage or unreadable input.
import { statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readHeader } from '../../traces/reader.ts';
import { argsProblem, flagProblem, formatUsage, wantsHelp, type Usage } from '../../impl/usage.ts';
import { TraceFormatError } from '../report/trace-reader.ts';
import type { ChartData } from './data.ts';
import { chartPage } from './page.ts';
import { ChartInputError, chartOfCheckTrace, chartOfInputs } from './sources.ts';

export const VIEW_USAGE: Usage = {
  usage: 'npm run view -- [flags] TRACE...',
  description: `Writes a message sequence chart of a run as one HTML file that opens from disk with no network access: one
lifeline per server, an arrow per message from its send to its receive (a lost one ends in a cross), crashes,
restarts and lost connections marked, role and epoch as bands, and for the step you select each server's log and
committed txns and what the step changed; the violated invariant at the end, or conform's divergence with the
steps the spec allowed there. TRACE: traces written by \`npm run check\` (each gets its own chart, TRACE.html next
to it), or the logs of the implementation's servers (files, a dataDir or a cluster dir: one chart of them all,
in conform's causal order, with conform's verdict), Apache ZooKeeper's own server logs (one file per server), or a
report of \`npm run conform -- --json\`.`,
  flags: [
    { flag: 'out', metavar: 'FILE', help: 'where to write the chart (default: next to the trace or the first log file, its name with .html; for a directory, chart.html in it)' },
    { flag: 'no-conform', help: 'for implementation logs: draw them without running conform (no divergence marked)' },
    { flag: 'json', help: 'print what was written as one JSON object: {charts: [{file, inputs, servers, events, arrows, lost}]}' },
  ],
  exit: [
    [0, 'the chart(s) written; their paths printed'],
    [2, 'bad usage, or an input that cannot be read (file:line: what)'],
  ],
  examples: [
    'npm run view -- traces/counterexamples/committedNeverLost-*.ndjson   # a counterexample of npm run check',
    'npm run view -- /tmp/zk --out /tmp/zk.html                          # the logs of npm run cluster -- --dir /tmp/zk',
    'npm run view -- traces/samples/zookeeper/trunc/server*.log          # Apache ZooKeeper\'s own logs',
  ],
};

const Flags = z.object({
  out: z.string().min(1, 'must name a file').optional(),
  'no-conform': z.boolean().optional(),
  json: z.boolean().optional(),
});

function fail(msg: string): never {
  console.error(`view: ${msg}`);
  process.exit(2);
}

/** The default file of a chart: the trace's name with .html, or chart.html beside the logs. */
export function chartFileFor(input: string): string {
  let dir = false;
  try {
    dir = statSync(input).isDirectory();
  } catch {
    // not there: named as a file
  }
  if (dir) return input.replace(/\/+$/, '') + '/chart.html';
  return input.replace(/\.(ndjson|json|log)$/, '') + '.html';
}

function isCheckTrace(file: string): boolean {
  const h = readHeader(file);
  return 'type' in h && h.source === 'check';
}

function main(): void {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    console.log(formatUsage(VIEW_USAGE));
    process.exit(0);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: 'string' }, 'no-conform': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    fail(`${argsProblem(e)} (see --help)`);
  }
  const flags = Flags.safeParse(parsed.values);
  if (!flags.success) fail(`${flagProblem(flags.error, parsed.values)} (see --help)`);
  const inputs = parsed.positionals;
  if (inputs.length === 0) fail('no trace or log given (see --help)');
  const charts: { file: string; inputs: string[]; data: ChartData }[] = [];
  try {
    if (inputs.every((f) => f.endsWith('.ndjson') && isCheckTrace(f))) {
      if (flags.data.out !== undefined && inputs.length > 1) fail('--out names one file: give one trace with it');
      for (const f of inputs) charts.push({ file: flags.data.out ?? chartFileFor(f), inputs: [f], data: chartOfCheckTrace(f) });
    } else {
      const data = chartOfInputs(inputs, { conform: flags.data['no-conform'] !== true });
      charts.push({ file: flags.data.out ?? chartFileFor(inputs.length === 1 ? inputs[0]! : data.files[0]!), inputs, data });
    }
  } catch (e) {
    if (e instanceof ChartInputError || e instanceof TraceFormatError) fail(e.message);
    throw e;
  }
  for (const c of charts) {
    try {
      writeFileSync(c.file, chartPage(c.data));
    } catch (e) {
      fail(`${c.file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  if (flags.data.json) {
    const out = charts.map((c) => ({ file: c.file, inputs: c.inputs, servers: c.data.servers.length, events: c.data.events.length, arrows: c.data.arrows.length, lost: c.data.arrows.filter((a) => a.lost).length, verdict: c.data.verdict?.property ?? null, divergence: c.data.divergence?.where ?? null }));
    console.log(JSON.stringify({ charts: out }));
  } else {
    for (const c of charts) console.log(`Chart written to ${c.file} (${c.data.servers.length} servers, ${c.data.events.length} events, ${c.data.arrows.length} messages)`);
  }
}

main();
