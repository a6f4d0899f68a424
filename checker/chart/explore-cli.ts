// `npm run explore -- [check flags] [--port N] [--trace FILE]`: the spec in the browser, on 127.0.0.1. Runs until
// Ctrl-C. Exit status: 0 stopped, 2 bad usage (or the port is taken).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseFlags, SPEC_FLAGS, UsageError } from '../flags.ts';
import { loadChecked } from '../run.ts';
import { SpecLoadError } from '../spec-source.ts';
import { TraceFormatError } from '../report/trace-reader.ts';
import { ReplayError } from '../report/replay.ts';
import { flagProblem, formatUsage, intFlag, wantsHelp, type Usage } from '../../impl/usage.ts';
import { ExploreError, Explorer, serveExplorer, shownProperties } from './explore.ts';

export const EXPLORE_USAGE: Usage = {
  usage: 'npm run explore -- [flags]',
  description: `Serves the spec on 127.0.0.1 as a web page: the state of every server, the steps enabled there (named as in
the spec, with the message each consumes), taken by a click or a number key, back, and the path so far as a
message sequence chart (the same as npm run view's); every property evaluated in every state; the path saved as
a trace, or a trace opened to continue from its end. The spec's options are check's flags (npm run check --
--help). Runs until Ctrl-C; prints the address.`,
  flags: [
    { flag: 'port', metavar: 'N', help: 'TCP port on 127.0.0.1 (default 0: a free port, printed)' },
    { flag: 'trace', metavar: 'FILE', help: 'start from the end of this trace (written by npm run check, or saved here)' },
    { flag: 'json', help: 'print the address as one JSON object ({"url": ...}) instead of a sentence' },
    ...SPEC_FLAGS.map((f) => ({ flag: f.flag, metavar: f.metavar ?? 'N', help: `as npm run check: ${f.help}` })),
    { flag: 'mutation', metavar: 'NAME', help: 'as npm run check: break the spec on purpose (repeatable)' },
    { flag: 'fix', metavar: 'NAME', help: 'as npm run check: a proposed fix (repeatable)' },
    { flag: 'invariant', metavar: 'NAME', help: "as npm run check: the properties shown (repeatable; default: the spec's default ones)" },
    { flag: 'spec', metavar: 'FILE#EXPORT', help: 'as npm run check: another spec module and builder' },
  ],
  sections: [['Keys', ['1-9 take the nth enabled step · b or Backspace back · j/k or arrows select a step of the path · d first broken invariant · +/- zoom']]],
  exit: [
    [0, 'stopped (Ctrl-C)'],
    [2, 'bad usage, or the port cannot be bound'],
  ],
  examples: ['npm run explore -- --nodes 3 --granularity fine --initial fresh   # walk an election by clicking', 'npm run explore -- --port 8080 --trace traces/samples/findings/stale-ack-after-trunc.ndjson'],
};

const Own = z.object({ port: intFlag(0, 65535).optional(), trace: z.string().min(1, 'must name a file').optional(), json: z.boolean().optional() });

function fail(msg: string): never {
  console.error(`explore: ${msg} (see --help)`);
  process.exit(2);
}

/** Take the explorer's own flags out of argv; the rest are check's. */
function split(argv: readonly string[]): { own: Record<string, string | boolean>; rest: string[] } {
  const own: Record<string, string | boolean> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--(port|trace)(?:=(.*))?$/.exec(a);
    if (m !== null) {
      const v = m[2] ?? argv[++i];
      if (v === undefined) fail(`--${m[1]} needs a value`);
      own[m[1]!] = v;
    } else if (a === '--json') own['json'] = true;
    else rest.push(a);
  }
  return { own, rest };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    console.log(formatUsage(EXPLORE_USAGE));
    return;
  }
  const { own, rest } = split(argv);
  const flags = Own.safeParse(own);
  if (!flags.success) fail(flagProblem(flags.error, own));
  let explorer: Explorer;
  try {
    const config = parseFlags(rest);
    const { spec, properties } = await loadChecked(config);
    explorer = new Explorer(spec, shownProperties(spec, properties, config.propertyNames !== null));
    if (flags.data.trace !== undefined) {
      let text: string;
      try {
        text = readFileSync(flags.data.trace, 'utf8');
      } catch (e) {
        fail(`--trace: ${flags.data.trace}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      console.log(explorer.open(text, flags.data.trace));
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof SpecLoadError || e instanceof ExploreError || e instanceof TraceFormatError || e instanceof ReplayError) fail(e.message);
    throw e;
  }
  let server;
  try {
    server = await serveExplorer(explorer, flags.data.port ?? 0);
  } catch (e) {
    fail(`cannot listen on 127.0.0.1:${flags.data.port ?? 0}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/`;
  console.log(flags.data.json ? JSON.stringify({ url, port }) : `Explorer of ${explorer.view().spec} at ${url} (Ctrl-C stops it)`);
  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exitCode = 0;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
