// `npm run mutation -- [flags] [-- check flags]`: how much of the spec the default check really pins down.
// Stryker's instrumenter puts every mutant of spec/ into one copy of the code (mutant switching: each mutant is
// active when __STRYKER_ACTIVE_MUTANT__ names it); one plain run of the check records which mutants its code
// executes; then the check runs once per executed mutant (or a seeded sample of them), in a child process, and
// each mutant is killed by a property (exit 1: an invariant violated or a reachability check left vacuous), by
// a crash (exit 3, or any other death), by the timeout, or survives (the check passes with the mutant in). A
// mutant that does not compile (typecheck.ts) is not run: it is no spec anyone could commit, and like Stryker's
// TypeScript checker the tool counts it apart, out of the score.
//
// Everything it makes lives in one temporary directory (zab-mutation-*), removed at the end, on an error, and
// on SIGINT/SIGTERM; a mutant's child process that times out is killed before the directory goes.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { Instrumenter } from '@stryker-mutator/instrumenter';
import type { Logger } from '@stryker-mutator/api/logging';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { globSync } from 'tinyglobby';
import { z } from 'zod';
import { flagProblem, formatUsage, intFlag, wantsHelp } from '../../impl/usage.ts';
import { REPO_ROOT } from '../spec-source.ts';
import { mutantTypeChecker } from './typecheck.ts';

export const DEFAULTS = { files: 'spec/**/*.ts', depth: 18, concurrency: 2, seed: 1 } as const;
/** A mutant's run may take this many times the plain run, and at least MIN_TIMEOUT_S, unless --timeout says. */
const TIMEOUT_FACTOR = 10;
const MIN_TIMEOUT_S = 60;
/** What the temporary copy of the repository needs to run the check: the checker and what it imports. */
const COPIED = ['package.json', 'tsconfig.json', 'spec', 'checker', 'impl', 'traces'];
/** Large folders under COPIED that the check never reads. */
const NOT_COPIED = ['traces/samples', 'traces/counterexamples'];

const HELP = formatUsage({
  usage: 'npm run mutation -- [flags] [-- check flags]',
  description: `
Mutation testing of the spec against the model checker: Stryker's instrumenter makes every mutant of the files
(a condition negated, an operator swapped, a block emptied...), one plain run of the check records which mutants
its code executes, and the check (\`npm run check\` at --depth, with the check flags after a second --) runs once
per executed mutant, or a seeded sample of them, 'concurrency' at a time. A mutant that does not compile (the
project's tsconfig.json on the mutated file: an emptied body where a state is returned, a guard removed before a
value that may be null is read) is not run and is left out of the score, as Stryker's TypeScript checker does.
Each other mutant is killed by a property
(an invariant violated, or a reachability check never witnessed), killed by a broken step (the check's
stepsWellDefined: a step threw, or made a state the checker cannot store, reported as a violation with its
trace), killed by a crash (the check process died: exit 3 or a signal), killed by a coverage warning (the check passed, but a kind of step that fires without the mutant never fired), timed out,
or survived: the check passed with the mutant in, so no property pins that code down. Prints the counts, the
score, and every survivor with its file:line, the original and the mutated code. Not part of npm test: a mutant
costs one check run (about 10 s at depth 18 on 2 cores); see docs/mutation.md.`,
  flags: [
    { flag: 'sample', metavar: 'N', help: 'check a random sample of N of the executed mutants (seeded by --seed); default: all of them' },
    { flag: 'seed', metavar: 'S', help: 'seed of the sample', default: DEFAULTS.seed },
    { flag: 'files', metavar: 'GLOB', help: 'which files to mutate (relative to the repository, under spec/)', default: DEFAULTS.files },
    { flag: 'line', metavar: 'N[-M]', help: 'only the mutants that start on line N (or lines N to M) of the file (with --files naming one file)' },
    { flag: 'mutants', metavar: 'N[,N...]', help: 'only these mutants (ids as the survivors list and --json print them; the same files and code give the same ids): re-run a sample\'s mutants with other check flags' },
    { flag: 'depth', metavar: 'D', help: 'depth bound of every check run (the default properties need 16 to witness every reachability check)', default: DEFAULTS.depth },
    { flag: 'concurrency', metavar: 'C', help: 'check runs at a time, each one process with one worker thread', default: DEFAULTS.concurrency },
    { flag: 'timeout', metavar: 'S', help: `seconds a mutant's run may take before it counts as timed out (default ${TIMEOUT_FACTOR}x the plain run, at least ${MIN_TIMEOUT_S})` },
    { flag: 'json', help: 'print the whole result as one JSON object instead of the summary' },
  ],
  sections: [
    ['Check flags', ['after a second --, passed to every check run, e.g. -- --invariant leaderUniqueness (not --depth, --workers, --json, --out)']],
    ['Progress', ['on a terminal, a line on stderr: mutants done, killed, survived, not compiling; nothing when stderr is a pipe or a file']],
  ],
  exit: [
    [0, 'every selected mutant was run (whatever the score)'],
    [2, 'bad usage: an unknown or invalid flag, a glob that matches no spec file, a check flag the tool sets itself'],
    [3, 'the plain check (no mutant) does not pass at these bounds, or the tool itself failed'],
    [130, 'interrupted (SIGINT); the temporary directory is removed'],
  ],
  examples: [
    'npm run mutation -- --sample 60 --seed 1',
    'npm run mutation -- --files spec/zab/sync.ts --sample 20',
    'npm run mutation -- --files spec/coarse.ts --line 98 --json',
  ],
});

export class UsageError extends Error {}

const Flags = z.object({
  sample: intFlag(1, 1_000_000).optional(),
  seed: intFlag(-(2 ** 31), 2 ** 31 - 1).default(DEFAULTS.seed),
  files: z.string().min(1, 'must not be empty').default(DEFAULTS.files),
  line: z
    .string()
    .regex(/^\d+(-\d+)?$/, 'must be a line N or a range N-M')
    .transform((t) => {
      const [a, b] = t.split('-').map(Number);
      return { from: a!, to: b ?? a! };
    })
    .refine((r) => r.from >= 1 && r.from <= r.to, 'must be a line N or a range N-M with 1 <= N <= M')
    .optional(),
  mutants: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'must be mutant ids N[,N...] (as --json or the survivors list print them)')
    .transform((t) => t.split(','))
    .optional(),
  depth: intFlag(1, 1000).default(DEFAULTS.depth),
  concurrency: intFlag(1, 64).default(DEFAULTS.concurrency),
  timeout: intFlag(1, 86_400).optional(),
  json: z.boolean().default(false),
});
export type MutationConfig = z.infer<typeof Flags> & { readonly checkArgs: readonly string[] };

/** Check flags the tool sets on every run: the user may not give them after --. */
const RESERVED_CHECK_FLAGS = ['--depth', '--workers', '--json', '--out', '--simulate', '--help', '-h', '--list-variants'];

export function parseMutationFlags(argv: readonly string[]): MutationConfig {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const checkArgs = split < 0 ? [] : argv.slice(split + 1);
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: [...own],
      options: {
        sample: { type: 'string' },
        seed: { type: 'string' },
        files: { type: 'string' },
        line: { type: 'string' },
        mutants: { type: 'string' },
        depth: { type: 'string' },
        concurrency: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message.split('\n')[0]! : String(e));
  }
  const parsed = Flags.safeParse(values);
  if (!parsed.success) throw new UsageError(flagProblem(parsed.error, values));
  for (const a of checkArgs) {
    const name = a.split('=')[0]!;
    if (RESERVED_CHECK_FLAGS.includes(name)) throw new UsageError(`check flag ${name}: the mutation tool sets it itself (use its own --depth, --json)`);
  }
  return { ...parsed.data, checkArgs };
}

// ---------------------------------------------------------------------------------------------------------------
// Mutants

export interface MutantInfo {
  readonly id: string;
  readonly file: string;
  /** 1-based, as an editor shows it. */
  readonly line: number;
  readonly column: number;
  readonly mutator: string;
  readonly original: string;
  readonly replacement: string;
}

export type Outcome =
  /** The mutated file does not compile (the first error): not run, out of the score. */
  | { readonly outcome: 'compile-error'; readonly reason: string }
  | { readonly outcome: 'property'; readonly property: string; readonly how: 'violated' | 'vacuous' }
  | { readonly outcome: 'crash'; readonly reason: string }
  /** The check reported a broken step as a violation of stepsWellDefined (a step threw, or made a state it cannot store), with its trace. */
  | { readonly outcome: 'step'; readonly reason: string }
  /** The check passed, but a kind of step that fires without the mutant never fired (the check's coverage warning). */
  | { readonly outcome: 'coverage'; readonly neverFired: readonly string[] }
  | { readonly outcome: 'timeout' }
  | { readonly outcome: 'survived' };

export type MutantResult = MutantInfo & Outcome & { readonly seconds: number };

const QUIET_LOGGER: Logger = {
  isTraceEnabled: () => false,
  isDebugEnabled: () => false,
  isInfoEnabled: () => false,
  isWarnEnabled: () => false,
  isErrorEnabled: () => true,
  isFatalEnabled: () => true,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (m: string) => process.stderr.write(`mutation: stryker: ${m}\n`),
  fatal: (m: string) => process.stderr.write(`mutation: stryker: ${m}\n`),
};

/** The text a location covers; Stryker's lines are 0-based, its columns 0-based. */
function textAt(source: string[], loc: { start: { line: number; column: number }; end: { line: number; column: number } }): string {
  if (loc.start.line === loc.end.line) return source[loc.start.line]!.slice(loc.start.column, loc.end.column);
  const lines = [source[loc.start.line]!.slice(loc.start.column), ...source.slice(loc.start.line + 1, loc.end.line), source[loc.end.line]!.slice(0, loc.end.column)];
  return lines.join('\n');
}

/** Instrument `files` (repository-relative) into `root`, which holds a copy of the repository; every mutant. */
async function instrument(files: readonly string[], root: string): Promise<MutantInfo[]> {
  const sources = files.map((name) => ({ name, content: readFileSync(join(REPO_ROOT, name), 'utf8'), mutate: true as const }));
  const result = await new Instrumenter(QUIET_LOGGER).instrument(sources, { plugins: null, excludedMutations: [], ignorers: [], noHeader: false });
  for (const f of result.files) writeFileSync(join(root, f.name), f.content);
  const lines = new Map(sources.map((s) => [s.name, s.content.split('\n')]));
  return result.mutants.map((m) => ({
    id: m.id,
    file: m.fileName,
    line: m.location.start.line + 1,
    column: m.location.start.column + 1,
    mutator: m.mutatorName,
    original: textAt(lines.get(m.fileName)!, m.location),
    replacement: m.replacement ?? '',
  }));
}

/** A seeded sample of n of `xs` (a partial Fisher-Yates shuffle), in their original order. */
export function sample<T>(xs: readonly T[], n: number, seed: number): T[] {
  if (n >= xs.length) return [...xs];
  const rng = xoroshiro128plus(seed);
  const idx = xs.map((_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = uniformInt(rng, i, idx.length - 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => xs[i]!);
}

// ---------------------------------------------------------------------------------------------------------------
// Running the check

interface CheckRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

const running = new Set<ChildProcess>();

function runCheck(root: string, cfg: MutationConfig, env: Record<string, string>, timeoutS: number | null, preload: string[] = []): Promise<CheckRun> {
  const args = [
    '--import',
    'tsx',
    ...preload.flatMap((p) => ['--import', p]),
    join(root, 'checker', 'cli.ts'),
    '--depth',
    String(cfg.depth),
    '--workers',
    '1',
    '--json',
    '--out',
    join(root, 'out'),
    ...cfg.checkArgs,
  ];
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = timeoutS === null ? null : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      running.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      running.delete(child);
      resolvePromise({
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}

interface CheckJson {
  readonly verdict: 'pass' | 'fail';
  readonly distinct: number | null;
  readonly properties: readonly { readonly name: string; readonly status: 'holds' | 'violated' | 'witnessed' | 'not-reached' }[];
  readonly neverFired: readonly string[];
  readonly counterexample?: { readonly property: string; readonly message: string | null } | null;
}

function firstLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines.find((l) => /error/i.test(l)) ?? lines[0] ?? '').slice(0, 200);
}

/** `plainNeverFired`: the kinds of step that never fire without a mutant. */
export function classify(run: CheckRun, plainNeverFired: readonly string[]): Outcome {
  if (run.timedOut) return { outcome: 'timeout' };
  if (run.code === 0) {
    try {
      const r = JSON.parse(run.stdout) as CheckJson;
      const neverFired = r.neverFired.filter((k) => !plainNeverFired.includes(k));
      if (neverFired.length > 0) return { outcome: 'coverage', neverFired };
    } catch {
      // a pass is a pass
    }
    return { outcome: 'survived' };
  }
  if (run.code === 1) {
    try {
      const r = JSON.parse(run.stdout) as CheckJson;
      const violated = r.properties.find((p) => p.status === 'violated');
      if (violated?.name === 'stepsWellDefined') return { outcome: 'step', reason: (r.counterexample?.message ?? 'no message').slice(0, 300) };
      if (violated) return { outcome: 'property', property: violated.name, how: 'violated' };
      const vacuous = r.properties.find((p) => p.status === 'not-reached');
      if (vacuous) return { outcome: 'property', property: vacuous.name, how: 'vacuous' };
    } catch {
      // not the checker's JSON: the process died some other way
    }
  }
  const why = run.signal !== null ? `killed by ${run.signal}` : `exit ${run.code}`;
  return { outcome: 'crash', reason: `${why}: ${firstLine(run.stderr) || 'no message'}` };
}

// ---------------------------------------------------------------------------------------------------------------
// The whole run

export interface MutationReport {
  readonly files: string;
  readonly fileCount: number;
  readonly depth: number;
  readonly checkArgs: readonly string[];
  readonly seed: number;
  readonly concurrency: number;
  readonly timeoutSeconds: number;
  readonly plain: { readonly seconds: number; readonly distinct: number | null };
  /** --line, when given. */
  readonly line: { readonly from: number; readonly to: number } | null;
  readonly mutants: {
    readonly total: number;
    readonly executed: number;
    readonly notExecuted: number;
    /** Executed, and on --line when given: what --sample draws from. */
    readonly eligible: number;
    readonly selected: number;
  };
  readonly summary: {
    readonly killedByProperty: number;
    readonly byProperty: Readonly<Record<string, number>>;
    readonly killedByCrash: number;
    /** stepsWellDefined violated: a step threw or made a state the checker cannot store, reported with its trace. */
    readonly killedByStep: number;
    /** The check passed but warned that a kind of step never fired. */
    readonly killedByCoverage: number;
    readonly timeout: number;
    readonly survived: number;
    /** The mutated file does not compile: not run, and out of both scores. */
    readonly compileError: number;
    /** Everything but the survivors, over the mutants run (selected, less those that do not compile), in percent. */
    readonly score: number;
    /** killed by property, over the mutants run, in percent. */
    readonly propertyScore: number;
  };
  readonly results: readonly MutantResult[];
  readonly seconds: number;
}

class ToolError extends Error {}

function makeCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'zab-mutation-'));
  for (const item of COPIED) {
    cpSync(join(REPO_ROOT, item), join(root, item), {
      recursive: true,
      filter: (src) => !NOT_COPIED.some((n) => src === join(REPO_ROOT, n) || src.startsWith(join(REPO_ROOT, n) + '/')),
    });
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  mkdirSync(join(root, 'out'));
  return root;
}

export async function runMutation(cfg: MutationConfig, onProgress: (done: number, of: number, r: MutantResult) => void, root: string): Promise<MutationReport> {
  const started = performance.now();
  const files = globSync(cfg.files, { cwd: REPO_ROOT, onlyFiles: true })
    .filter((f) => f.startsWith('spec/') && f.endsWith('.ts'))
    .sort();
  if (files.length === 0) throw new UsageError(`--files: ${JSON.stringify(cfg.files)} matches no .ts file under spec/`);
  if (cfg.line !== undefined && files.length !== 1) throw new UsageError(`--line: needs --files to name one file (${files.length} match)`);

  const all = await instrument(files, root);
  const coverageFile = join(root, 'coverage.json');
  const plain = await runCheck(root, cfg, { ZAB_MUTATION_COVERAGE: coverageFile }, null, [join(root, 'checker', 'mutation', 'coverage.mjs')]);
  if (plain.code !== 0) {
    const why = plain.code === 1 ? 'a property fails or is vacuous at these bounds (raise --depth?)' : firstLine(plain.stderr);
    if (plain.code === 2) throw new UsageError(`check flags: ${firstLine(plain.stderr).replace(/^check: /, '')}`);
    throw new ToolError(`the plain check (no mutant) does not pass: exit ${plain.code}: ${why}`);
  }
  const { distinct, neverFired: plainNeverFired } = JSON.parse(plain.stdout) as CheckJson;
  const hit = new Set(JSON.parse(readFileSync(coverageFile, 'utf8')) as string[]);
  const executed = all.filter((m) => hit.has(m.id));
  const onLines = cfg.line === undefined ? executed : executed.filter((m) => m.line >= cfg.line!.from && m.line <= cfg.line!.to);
  const onLine = cfg.mutants === undefined ? onLines : onLines.filter((m) => cfg.mutants!.includes(m.id));
  const selected = cfg.sample === undefined ? onLine : sample(onLine, cfg.sample, cfg.seed);
  const timeoutSeconds = cfg.timeout ?? Math.max(MIN_TIMEOUT_S, Math.ceil(TIMEOUT_FACTOR * plain.seconds));

  const results: MutantResult[] = new Array(selected.length);
  const compiles = mutantTypeChecker(REPO_ROOT);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < selected.length) {
      const i = next++;
      const m = selected[i]!;
      const started = performance.now();
      const error = compiles(m);
      if (error !== null) {
        results[i] = { ...m, outcome: 'compile-error', reason: error, seconds: Math.round((performance.now() - started) / 100) / 10 };
        onProgress(++done, selected.length, results[i]!);
        continue;
      }
      const run = await runCheck(root, cfg, { __STRYKER_ACTIVE_MUTANT__: m.id }, timeoutSeconds);
      results[i] = { ...m, ...classify(run, plainNeverFired), seconds: Math.round(run.seconds * 10) / 10 };
      onProgress(++done, selected.length, results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, Math.max(selected.length, 1)) }, worker));

  const byProperty: Record<string, number> = {};
  let crash = 0;
  let step = 0;
  let coverage = 0;
  let timeout = 0;
  let survived = 0;
  let compileError = 0;
  for (const r of results) {
    if (r.outcome === 'compile-error') compileError++;
    else if (r.outcome === 'property') {
      const key = r.how === 'vacuous' ? `${r.property} (vacuous)` : r.property;
      byProperty[key] = (byProperty[key] ?? 0) + 1;
    } else if (r.outcome === 'crash') crash++;
    else if (r.outcome === 'step') step++;
    else if (r.outcome === 'coverage') coverage++;
    else if (r.outcome === 'timeout') timeout++;
    else survived++;
  }
  const ran = results.length - compileError;
  const killedByProperty = ran - crash - step - coverage - timeout - survived;
  const pct = (k: number) => (ran === 0 ? 0 : Math.round((1000 * k) / ran) / 10);
  return {
    files: cfg.files,
    fileCount: files.length,
    depth: cfg.depth,
    checkArgs: cfg.checkArgs,
    seed: cfg.seed,
    concurrency: cfg.concurrency,
    timeoutSeconds,
    plain: { seconds: Math.round(plain.seconds * 10) / 10, distinct },
    line: cfg.line ?? null,
    mutants: { total: all.length, executed: executed.length, notExecuted: all.length - executed.length, eligible: onLine.length, selected: selected.length },
    summary: {
      killedByProperty,
      byProperty: Object.fromEntries(Object.entries(byProperty).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
      killedByCrash: crash,
      killedByStep: step,
      killedByCoverage: coverage,
      timeout,
      survived,
      compileError,
      score: pct(ran - survived),
      propertyScore: pct(killedByProperty),
    },
    results,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

const n = (x: number) => x.toLocaleString('en-US');

export function formatReport(r: MutationReport): string {
  const s = r.summary;
  const lines = [
    `Mutation testing of ${r.files} (${r.fileCount} file${r.fileCount === 1 ? '' : 's'}) against the check at depth ${r.depth}${r.checkArgs.length ? ` with ${r.checkArgs.join(' ')}` : ''}`,
    `  plain check: PASS, ${r.plain.distinct === null ? '?' : n(r.plain.distinct)} states, ${r.plain.seconds} s instrumented; timeout per mutant ${r.timeoutSeconds} s`,
    `Mutants: ${n(r.mutants.total)}; executed by the check ${n(r.mutants.executed)}; not executed ${n(r.mutants.notExecuted)} (not run); run ${n(r.mutants.selected)}` +
      (r.line === null ? '' : r.line.from === r.line.to ? ` on line ${r.line.from}` : ` on lines ${r.line.from}-${r.line.to}`) +
      (r.mutants.selected < r.mutants.eligible ? ` (a sample of ${n(r.mutants.eligible)}, seed ${r.seed})` : ''),
    `Killed by a property: ${s.killedByProperty}`,
    ...Object.entries(s.byProperty).map(([p, k]) => `  ${p.padEnd(36)} ${k}`),
    `Killed by a broken step (stepsWellDefined: a step threw or made a state the checker cannot store): ${s.killedByStep}`,
    `Killed by a crash: ${s.killedByCrash}`,
    `Killed by a coverage warning: ${s.killedByCoverage}`,
    `Timed out: ${s.timeout}`,
    `Survived: ${s.survived}`,
    `Not run, do not compile: ${s.compileError}`,
    `Score: ${s.score}% killed (${r.mutants.selected - s.compileError - s.survived} of ${r.mutants.selected - s.compileError} run); by properties alone ${s.propertyScore}%`,
    `Time: ${r.seconds} s, concurrency ${r.concurrency}`,
  ];
  const survivors = r.results.filter((x) => x.outcome === 'survived');
  if (survivors.length > 0) {
    lines.push('Survivors:');
    for (const m of survivors) {
      lines.push(`  ${m.file}:${m.line}:${m.column} ${m.mutator} (mutant ${m.id})`);
      lines.push(...m.original.split('\n').map((l) => `    - ${l}`));
      lines.push(...m.replacement.split('\n').map((l) => `    + ${l}`));
    }
  }
  const broken = r.results.filter((x) => x.outcome === 'step');
  if (broken.length > 0) {
    lines.push('Broken steps:');
    for (const m of broken) if (m.outcome === 'step') lines.push(`  ${m.file}:${m.line}:${m.column} ${m.mutator}: ${m.reason}`);
  }
  const crashes = r.results.filter((x) => x.outcome === 'crash');
  if (crashes.length > 0) {
    lines.push('Crashes:');
    for (const m of crashes) if (m.outcome === 'crash') lines.push(`  ${m.file}:${m.line}:${m.column} ${m.mutator}: ${m.reason}`);
  }
  const uncompiled = r.results.filter((x) => x.outcome === 'compile-error');
  if (uncompiled.length > 0) {
    lines.push('Do not compile:');
    for (const m of uncompiled) if (m.outcome === 'compile-error') lines.push(`  ${m.file}:${m.line}:${m.column} ${m.mutator} (mutant ${m.id}): ${m.reason}`);
  }
  const unfired = r.results.filter((x) => x.outcome === 'coverage');
  if (unfired.length > 0) {
    lines.push('Coverage warnings:');
    for (const m of unfired) if (m.outcome === 'coverage') lines.push(`  ${m.file}:${m.line}:${m.column} ${m.mutator}: never fired: ${m.neverFired.join(', ')}`);
  }
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length))) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  let cfg: MutationConfig;
  try {
    cfg = parseMutationFlags(argv);
  } catch (e) {
    return usage(e);
  }
  const root = makeCopy();
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of running) c.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    process.stderr.write(`mutation: interrupted (${sig}); temporary files removed\n`);
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tty = process.stderr.isTTY;
  const counts = { killed: 0, survived: 0, uncompiled: 0 };
  try {
    const report = await runMutation(
      cfg,
      (done, of, r) => {
        if (r.outcome === 'survived') counts.survived++;
        else if (r.outcome === 'compile-error') counts.uncompiled++;
        else counts.killed++;
        if (tty) process.stderr.write(`\r\x1b[Kmutants ${done}/${of}  killed ${counts.killed}  survived ${counts.survived}  do not compile ${counts.uncompiled}`);
      },
      root,
    );
    if (tty) process.stderr.write('\r\x1b[K');
    process.stdout.write((cfg.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
    return 0;
  } catch (e) {
    if (tty) process.stderr.write('\r\x1b[K');
    if (e instanceof UsageError) return usage(e);
    process.stderr.write(`mutation: error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 3;
  } finally {
    cleanup();
  }
}

function usage(e: unknown): number {
  process.stderr.write(`mutation: ${e instanceof Error ? e.message : String(e)} (see --help)\n`);
  return 2;
}

if (process.argv[1] !== undefined && relative(process.argv[1], new URL(import.meta.url).pathname) === '') {
  process.exitCode = await main(process.argv.slice(2));
}
