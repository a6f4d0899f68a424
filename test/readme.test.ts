// Every command the READMEs show runs as written, in their order, on this clone. The shell lines of every
// ```sh block of README.md and of every folder's README.md (impl/, traces/, checker/, ...) are run with bash from the
// repository's root. What the test changes in a line is listed in SUBSTITUTE (a directory of its own for
// /tmp/zk, the port a running cluster printed for PORT); what it does not run at all is listed in SKIP, with
// the reason; a command that runs for minutes is run for BOUNDED_S seconds and must not fail in that time.
// Everything else must finish with the exit status its rule says (0 unless it prints a counterexample on
// purpose). `npm run cluster` and `npm run server` run in the background until they are ready, and are
// stopped with Ctrl-C (SIGINT to their process group) before the next command that is not a client command.
//
// To keep this test's share of `npm test` small, commands that need nothing from the ones before them (no
// cluster, no /tmp/zk, no PORT, no counterexample X) run at the same time, POOL at most, while each README's
// cluster story runs in order beside them. Nothing here waits for a fixed time: a command is waited for until
// it ends or prints that it is ready, each wait bounded only to turn a hang into a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
// In the order a reader meets them; a folder README added later is run too, after these.
const FIRST = ['README.md', 'impl/README.md', 'traces/README.md', 'checker/README.md'];
const DOCS = [
  ...FIRST,
  ...readdirSync(ROOT, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'node_modules' && !d.name.startsWith('.') && existsSync(join(ROOT, d.name, 'README.md')))
    .map((d) => `${d.name}/README.md`)
    .filter((d) => !FIRST.includes(d))
    .sort(),
];
const BOUNDED_S = 6;

/** Not run at all, and why. Keep this list short: every entry is a command a user may find broken. */
const SKIP: readonly (readonly [RegExp, string])[] = [
  [/^npm ci$/, 'reinstalls node_modules under the running tests; CI (bash .ci/run) runs it on every clean clone'],
  [/^npm test$/, 'this test is part of it'],
  [/^npm run repro:/, 'installs Debian\'s zookeeper package (root, network) and runs real ZooKeeper ensembles for minutes'],
  [/^npm run bench$/, 'the full benchmark: minutes, and it installs Debian\'s zookeeper package first'],
  [/^bash bench\/zookeeper-install\.sh$/, 'apt-get install: needs root and the network'],
  [/^npx tsx bench\/zk-protocol\.ts /, "the benchmark against real ZooKeeper and ours (npm run bench's last part): minutes"],
  [/^npm run make:zk-logs$/, 'runs real Apache ZooKeeper ensembles for minutes and rewrites the kept samples in traces/samples/zookeeper/'],
  [/^npm run history -- \/tmp\/nemesis-/, 'reads the history that the 60 s nemesis run above writes (run here for a few seconds only)'],
];
/** Skipped only where the tool they use is not installed (it is not this project's to install). */
const onPath = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const SKIP_UNLESS: readonly (readonly [RegExp, () => boolean, string])[] = [
  [/\| nc /, () => onPath('nc'), 'nc (netcat) is not installed here'],
  [/^\/usr\/share\/zookeeper\/bin\/zkCli\.sh /, () => existsSync('/usr/share/zookeeper/bin/zkCli.sh'), "Debian's zookeeper package is not installed here (bash bench/zookeeper-install.sh)"],
];

/** Run for BOUNDED_S seconds only: they start, take their flags and run without failing; then stopped. */
const BOUNDED: readonly (readonly [RegExp, string])[] = [
  [/^npm run check -- --nodes 3 --depth 30$/, '570,052 states: 10 s on an idle machine, 40 s under load'],
  [/^npm run check -- (--nodes 3 )?--protocol fle( --initial fresh)?$/, '265,963 states'],
  [/--simulate --walks \d+ --seed \d+$/, 'thousands of walks hundreds of steps deep'],
  [/^npm run check -- --leader-(log|apply) queued/, 'a 17-step counterexample: 100,000s of states'],
  [/--nodes 5 --initial inflight .* --depth 14 /, '5 servers to depth 11: 668,050 states, a minute'],
  [/^npm run conform:faults -- --seed \d+ --runs \d+$/, 'real servers under faults: about 25 s per run'],
  [/^npm run simulate -- --seeds \d+ --every-break$/, 'every breakage (25) with 10 seeds each, 30 s of faults a run: about 10 minutes'],
  [/^npm run nemesis(:seeds)? -- .*--time 60s/, 'clients under a nemesis for 60 s per seed'],
  [/^npm run explore /, 'a web server for the browser: it serves until Ctrl-C'],
];

/** Print a counterexample on purpose: exit status 1 (a violation), not 0. */
const EXIT_1: readonly RegExp[] = [/^npm run simulate -- .*--break /, /^npm run simulate -- .*--every-break/, /^npm run history -- test\/fixtures\/history\/lost-write\.ndjson/, /--invariant electionAgreement/, /--variant \d+/, /--mutation \w+/, /--nodes 5 --simulate --walks 1000 --seed 1$/, /--leader-(log|apply) queued/, /--invariant committedNeverLost/];

/** Started in the background; ready once their output matches. */
const DAEMONS: readonly (readonly [RegExp, RegExp])[] = [
  [/^npm run cluster /, /^leader: server\.\d+, epoch \d+\. Try: npm run client -- --server 127\.0\.0\.1:(\d+) /m],
  [/^npm run server /, / started: client /],
];
/** Clients of a running cluster: it stays up while they run. */
const CLIENT = /^(npm run (client|zkcli) |\/usr\/share\/zookeeper\/bin\/zkCli\.sh |echo \w+ \| nc )/;

// /tmp/zk: a fresh directory for each README that starts a cluster in it; a README that only reads it
// (traces/README.md) reads the one of the README before it that starts one, after that README's cluster
// story. Not one directory for all: a second `npm run cluster` over the first one's data restarts the whole
// ensemble from it, and conform does not yet follow every ensemble-wide restart.
const scratch = mkdtempSync(join(tmpdir(), 'readme-'));
const COUNTEREXAMPLES = join(ROOT, 'traces', 'counterexamples');
const before = existsSync(COUNTEREXAMPLES) ? new Set(readdirSync(COUNTEREXAMPLES)) : null;
/** Commands running at once, besides the clusters in the background. */
const POOL = 3;
/** Bounds that only turn a hang into a failure (the machine may be loaded: they are generous). */
const RUN_BOUND_MS = 300_000;
const READY_BOUND_MS = 180_000;

/** A README's cluster story: its running cluster (or server), the port it printed, its /tmp/zk. */
interface Session {
  daemon: { readonly r: Running; readonly what: string } | null;
  port: string | null;
  zk: string;
}

/** What the test writes in the README's names, and what stands for what. */
const SUBSTITUTE: readonly (readonly [RegExp, (s: Session) => Promise<string> | string])[] = [
  [/\/tmp\/zk(?=[/\s]|$)/g, (s) => s.zk],
  // A checkpoint written by one line and resumed by the next (checker/README.md): in the README's scratch folder.
  [/\/tmp\/zab-ckpt(?=[/\s]|$)/g, (s) => `${s.zk}-ckpt`],
  [/\bPORT\b/g, (s) => s.port ?? 'PORT'],
  // "X": a counterexample `npm run check` wrote (the README says to use the path it prints).
  [/traces\/counterexamples\/X\.ndjson/g, () => counterexample()],
];
/** The lines that need something from the lines before them: run in their README's order. */
const STORY = /\/tmp\/zk(?=[/\s]|$)|\/tmp\/zab-ckpt(?=[/\s]|$)|\bPORT\b|traces\/counterexamples\/X\.ndjson/;

let made: Promise<string> | null = null;
/** A counterexample of the check commands run here, or, when none has been written yet, of one run for it. */
function counterexample(): Promise<string> {
  const mine = () => (existsSync(COUNTEREXAMPLES) ? readdirSync(COUNTEREXAMPLES).filter((f) => !before?.has(f) && f.endsWith('.ndjson')) : []);
  made ??= (async () => {
    if (mine().length === 0) {
      const r = start('npm run check -- --nodes 3 --mutation quorum');
      const code = await Promise.race([r.exited, sleep(RUN_BOUND_MS).then(() => 'bound' as const)]);
      killGroup(r, 'SIGKILL');
      if (code !== 1) throw new Error(`npm run check -- --nodes 3 --mutation quorum (to have a counterexample): exit ${code}\n${tail(r.output())}`);
    }
    const newest = mine().sort((a, b) => statSync(join(COUNTEREXAMPLES, b)).mtimeMs - statSync(join(COUNTEREXAMPLES, a)).mtimeMs)[0];
    if (newest === undefined) throw new Error('npm run check wrote no counterexample');
    return join('traces', 'counterexamples', newest);
  })();
  return made;
}

const untracked = () => spawnSync('git', ['ls-files', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n').filter((f) => f !== '');
const untrackedBefore = new Set(untracked());
const sessions: Session[] = [];

afterAll(async () => {
  for (const s of sessions) await stopDaemon(s).catch(() => {});
  // Files the commands wrote into the clone (npm run history writes the failing window next to its input).
  for (const f of untracked()) if (!untrackedBefore.has(f)) rmSync(join(ROOT, f), { force: true });
  rmSync(scratch, { recursive: true, force: true });
  // The counterexamples the README's check commands wrote (the default --out) are the test's to remove.
  if (existsSync(COUNTEREXAMPLES)) {
    for (const f of readdirSync(COUNTEREXAMPLES)) if (!before?.has(f)) rmSync(join(COUNTEREXAMPLES, f), { force: true });
    if (before === null && readdirSync(COUNTEREXAMPLES).length === 0) rmSync(COUNTEREXAMPLES, { recursive: true });
  }
});

interface Line {
  readonly doc: string;
  readonly line: number;
  readonly command: string;
}

/** The commands of a document's ```sh blocks: one per line, `a && b` as two, comments dropped. */
function shellCommands(doc: string): Line[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const out: Line[] = [];
  let inSh = false;
  lines.forEach((text, i) => {
    if (/^```/.test(text)) {
      inSh = !inSh && /^```(sh|bash|shell)\s*$/.test(text);
      return;
    }
    if (!inSh) return;
    const command = text.replace(/\s+#.*$/, '').trim();
    if (command === '' || command.startsWith('#')) return;
    for (const part of command.split(' && ')) out.push({ doc, line: i + 1, command: part.trim() });
  });
  return out;
}

type Plan = { kind: 'skip'; why: string } | { kind: 'bounded'; why: string; exit: number } | { kind: 'daemon'; ready: RegExp } | { kind: 'run'; exit: number };

function plan(command: string): Plan {
  const skip = SKIP.find(([re]) => re.test(command));
  if (skip) return { kind: 'skip', why: skip[1] };
  const missing = SKIP_UNLESS.find(([re, present]) => re.test(command) && !present());
  if (missing) return { kind: 'skip', why: missing[2] };
  const exit = EXIT_1.some((re) => re.test(command)) ? 1 : 0;
  const bounded = BOUNDED.find(([re]) => re.test(command));
  if (bounded) return { kind: 'bounded', why: bounded[1], exit };
  const daemon = DAEMONS.find(([re]) => re.test(command));
  if (daemon) return { kind: 'daemon', ready: daemon[1] };
  return { kind: 'run', exit };
}

/** Part of a README's cluster story (in order), or free to run beside anything else. */
const inStory = (command: string) => STORY.test(command) || CLIENT.test(command) || DAEMONS.some(([re]) => re.test(command));

async function substitute(command: string, s: Session): Promise<string> {
  let out = command;
  // search, not test: it leaves a /g pattern's lastIndex alone.
  for (const [re, to] of SUBSTITUTE) if (out.search(re) !== -1) out = out.replace(re, await to(s));
  return out;
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

function start(command: string): Running {
  // Its own process group, so that a bound or Ctrl-C reaches everything it started. No stdin, as in CI.
  const child = spawn('bash', ['-c', command], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const add = (b: Buffer) => {
    if (out.length < 1_000_000) out += b.toString();
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const exited = new Promise<number | null>((res) => child.once('exit', (code, sig) => res(code ?? (sig ? 128 : null))));
  return { child, exited, output: () => out };
}

function killGroup(r: Running, sig: NodeJS.Signals): void {
  try {
    process.kill(-r.child.pid!, sig);
  } catch {
    // already gone
  }
}

function groupAlive(r: Running): boolean {
  try {
    process.kill(-r.child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

const tail = (text: string) => text.split('\n').slice(-25).join('\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** At most POOL commands at once (the clusters in the background are not counted). */
let slots = POOL;
const waiting: (() => void)[] = [];
async function inPool<T>(f: () => Promise<T>): Promise<T> {
  if (slots === 0) await new Promise<void>((res) => waiting.push(res));
  else slots--;
  try {
    return await f();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else slots++;
  }
}

/** Ctrl-C, as a user stops `npm run cluster` before going on. */
async function stopDaemon(s: Session): Promise<void> {
  if (s.daemon === null) return;
  const { r, what } = s.daemon;
  s.daemon = null;
  s.port = null;
  killGroup(r, 'SIGINT');
  const code = await Promise.race([r.exited, sleep(60_000).then(() => 'timeout' as const)]);
  // The servers got the SIGINT too and flush their transition logs as they stop, maybe after the launcher
  // exited: wait for the whole group (bounded) before the SIGKILL that would cut a log short.
  for (const until = Date.now() + 30_000; groupAlive(r) && Date.now() < until; ) await sleep(100);
  killGroup(r, 'SIGKILL');
  expect(code, `${what} did not stop on Ctrl-C:\n${tail(r.output())}`).not.toBe('timeout');
  if (/^npm run cluster /.test(what)) expect(r.output(), what).toMatch(/stopping the ensemble: SIGINT/);
}

async function runLine(l: Line, s: Session): Promise<string> {
  const p = plan(l.command);
  const where = `${l.doc}:${l.line}: ${l.command}`;
  if (p.kind === 'skip') return `skipped  ${where} (${p.why})`;
  // The next step of the cluster story that is not a client: Ctrl-C first, as the README says.
  if (inStory(l.command) && !CLIENT.test(l.command)) await stopDaemon(s);
  const command = await substitute(l.command, s);
  if (p.kind === 'daemon') {
    const r = start(command);
    const deadline = Date.now() + READY_BOUND_MS;
    let m: RegExpMatchArray | null = null;
    while ((m = p.ready.exec(r.output())) === null && r.child.exitCode === null && Date.now() < deadline) await sleep(100);
    if (m === null) {
      killGroup(r, 'SIGKILL');
      throw new Error(`${where}: not ready (${r.child.exitCode === null ? 'no ready line within the bound' : `exited ${r.child.exitCode}`}):\n${tail(r.output())}`);
    }
    s.daemon = { r, what: l.command };
    if (m[1] !== undefined) s.port = m[1];
    return `running  ${where}`;
  }
  return inPool(async () => {
    const r = start(command);
    const bound = p.kind === 'bounded' ? BOUNDED_S * 1000 : RUN_BOUND_MS;
    const code = await Promise.race([r.exited, sleep(bound).then(() => 'bound' as const)]);
    if (code === 'bound') {
      // Ctrl-C first, so that the command cleans up what it made; then nothing of it may stay.
      killGroup(r, 'SIGINT');
      await Promise.race([r.exited, sleep(60_000)]);
      // What it started (a nemesis's servers, their folders) may still be cleaning up after the launcher exited:
      // wait for the whole group, bounded, before the SIGKILL that would cut that short.
      for (const until = Date.now() + 60_000; groupAlive(r) && Date.now() < until; ) await sleep(100);
    }
    killGroup(r, 'SIGKILL');
    if (code === 'bound') {
      if (p.kind === 'bounded') return `bounded  ${where} (ran ${BOUNDED_S} s without failing: ${p.why})`;
      throw new Error(`${where}: still running after ${bound / 1000} s:\n${tail(r.output())}`);
    }
    expect(code, `${where} (as run: ${command}):\n${tail(r.output())}`).toBe(p.exit);
    return `ran      ${where} (exit ${code})`;
  });
}

const startsCluster = (doc: string) => shellCommands(doc).some((l) => /^npm run cluster .*\/tmp\/zk/.test(l.command));
/** Each README's cluster story, done once its own is: a README that reads /tmp/zk waits for the one it reads. */
const stories = new Map<string, Promise<void>>();

describe('the READMEs\' shell commands', () => {
  it('finds the commands, and every skipped or bounded one is on the lists above', () => {
    const all = DOCS.flatMap(shellCommands);
    expect(all.length).toBeGreaterThan(20);
    for (const d of FIRST) expect(shellCommands(d).length, d).toBeGreaterThan(0);
    // Each rule still matches a command: a README change that drops one leaves no stale entry behind.
    for (const [re, why] of [...SKIP, ...BOUNDED]) expect(all.some((l) => re.test(l.command)), `${re} (${why}) matches no command`).toBe(true);
  });

  // The READMEs at the same time; in each, the cluster story in order and the other commands beside it.
  DOCS.forEach((doc, i) => {
    const reads = [...DOCS.slice(0, i)].reverse().find(startsCluster);
    const session: Session = { daemon: null, port: null, zk: join(scratch, `zk-${(startsCluster(doc) ? doc : reads ?? 'none').replace(/\W/g, '-')}`) };
    sessions.push(session);
    let done!: () => void;
    stories.set(doc, new Promise<void>((res) => (done = res)));
    it.concurrent(`${doc}: every command runs as written`, async () => {
      const lines = shellCommands(doc);
      const report = new Map<Line, string>();
      const story = (async () => {
        try {
          const story = lines.filter((l) => inStory(l.command));
          // Reading another README's /tmp/zk: once that README's cluster has stopped.
          if (!startsCluster(doc) && reads !== undefined && story.some((l) => /\/tmp\/zk/.test(l.command))) await stories.get(reads);
          for (const l of story) report.set(l, await runLine(l, session));
          await stopDaemon(session);
        } finally {
          done();
        }
      })();
      const others = lines.filter((l) => !inStory(l.command)).map(async (l) => report.set(l, await runLine(l, session)));
      await Promise.all([story, ...others]);
      console.log(lines.map((l) => report.get(l)).join('\n'));
    }, 900_000);
  });
});
