// The --help text of every command (check, conform, conform:faults, cluster, server, client), in one layout:
// usage line, what it does, each flag with its default, extra sections, exit status, examples. And the
// small pieces every command line shares: spotting --help/-h before anything else is parsed, whole-number
// flags with a plain message, and a zod issue turned into one line naming the flag.
import { z } from 'zod';

export interface FlagHelp {
  /** Without the dashes: 'nodes'. */
  readonly flag: string;
  /** What follows the flag ('N', 'DIR'); none for a switch. */
  readonly metavar?: string;
  readonly help: string;
  /** Printed as "(default X)"; leave out for a flag without one. */
  readonly default?: string | number;
}

export interface Usage {
  /** 'npm run cluster -- [flags]' */
  readonly usage: string;
  /** What the command does, a few short lines. */
  readonly description: string;
  readonly flags: readonly FlagHelp[];
  /** More sections after the flags, e.g. ['Commands', [...lines]]. */
  readonly sections?: readonly (readonly [string, readonly string[]])[];
  readonly exit: readonly (readonly [number, string])[];
  readonly examples: readonly string[];
}

const HELP_FLAG: FlagHelp = { flag: 'help', help: 'print this text and exit (also -h)' };
const COLUMN = 26;
const WIDTH = 112;

/** Words of `text` in lines of at most WIDTH columns, the first after `first`, the others indented by `indent`. */
function wrap(first: string, text: string, indent: number): string {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(' ')) {
    const blank = line.length === indent || line === first;
    if (!blank && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(indent) + word;
    } else line += (blank ? '' : ' ') + word;
  }
  lines.push(line);
  return lines.join('\n');
}

export function formatUsage(u: Usage): string {
  const flag = (f: FlagHelp) => {
    const left = `  --${f.flag}${f.metavar ? ` ${f.metavar}` : ''}`;
    const text = f.default === undefined ? f.help : `${f.help} (default ${f.default})`;
    return left.length < COLUMN ? wrap(left.padEnd(COLUMN), text, COLUMN) : `${left}\n${wrap(' '.repeat(COLUMN), text, COLUMN)}`;
  };
  const lines = [`Usage: ${u.usage}`, '', u.description.trim(), '', 'Flags:', ...[...u.flags, HELP_FLAG].map(flag)];
  for (const [title, body] of u.sections ?? []) lines.push('', `${title}:`, ...body.map((l) => `  ${l}`));
  lines.push('', 'Exit status:', ...u.exit.map(([code, what]) => wrap(`  ${String(code).padEnd(4)}`, what, 6)));
  lines.push('', u.examples.length === 1 ? 'Example:' : 'Examples:', ...u.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** --help or -h anywhere before a lone `--`: help wins over every other flag, valid or not. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** A whole-number flag value from its text: "abc", "1.5" and "" say "must be a whole number". */
export function intFlag(min: number, max: number) {
  return z
    .string()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** The first problem of a flags object parsed with zod, as `--flag: problem (got "value")`. */
export function flagProblem(error: z.ZodError, raw: Readonly<Record<string, unknown>>): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid flags';
  const name = issue.path[0];
  if (typeof name !== 'string') return issue.message;
  const got = raw[name];
  // A missing required flag: its schema's message says it all ("--id N is required").
  if (got === undefined) return issue.message;
  return `--${name}: ${issue.message}${typeof got === 'string' ? ` (got ${JSON.stringify(got)})` : ''}`;
}

/** parseArgs's error as one line: "Unknown option '--bogus'", without its advice about positionals. */
export function argsProblem(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0]!.replace(/\. To specify a positional argument .*$/, '');
}
