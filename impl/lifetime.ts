// Servers never outlive whatever started them. A server started with --exit-with-parent stops when its stdin
// (a pipe from the launcher) closes, which covers every death of the launcher's own process, kill -9 too.
// But `npm run cluster` is a chain: npm, `sh -c`, tsx's CLI, then the node process that runs cluster.ts and
// owns the servers. A SIGTERM to npm kills `sh` and leaves tsx and everything below it running (sh does not
// pass the signal on), and a kill -9 of npm or of tsx's CLI reaches nobody. So the launcher watches that
// chain: every ancestor from its parent up to the npm process that ran the script (the first one without
// npm's `npm_lifecycle_event` in its environment), or its parent alone when npm did not start it. When one
// of them is gone, so is whoever started the cluster, and the launcher stops its servers.
//
// Linux's /proc tells a process's parent and start time (which tells a reused pid apart). Without /proc only
// the direct parent is watched, through process.ppid.
import { readFileSync } from 'node:fs';

export interface Ancestor {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat, the start time in clock ticks since boot; '' without /proc. */
  readonly start: string;
  readonly name: string;
}

interface ProcStat {
  readonly ppid: number;
  readonly start: string;
  readonly name: string;
  /** R, S, D, Z (a zombie: dead, not yet reaped), ... */
  readonly state: string;
}

function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { name: text.slice(text.indexOf('(') + 1, close), state: fields[0] ?? '?', ppid: Number(fields[1]), start: fields[19] ?? '' };
}

function startedByNpm(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').some((v) => v.startsWith('npm_lifecycle_event='));
  } catch {
    return false;
  }
}

/** The processes whose end means that whoever started this one is gone (see the top of this file). */
export function launchers(): Ancestor[] {
  const chain: Ancestor[] = [];
  let pid = process.ppid;
  const underNpm = process.env['npm_lifecycle_event'] !== undefined;
  for (let depth = 0; depth < 12 && pid > 1; depth++) {
    const st = procStat(pid);
    if (st === null) return depth === 0 ? [{ pid, start: '', name: 'parent' }] : chain;
    chain.push({ pid, start: st.start, name: st.name });
    if (!underNpm || !startedByNpm(pid)) break;
    pid = st.ppid;
  }
  return chain;
}

/** Whether this ancestor still runs (not exited, not a zombie, its pid not reused). */
export function alive(a: Ancestor): boolean {
  if (a.start === '') return process.ppid === a.pid;
  const st = procStat(a.pid);
  return st !== null && st.start === a.start && st.state !== 'Z' && st.state !== 'X';
}

/**
 * Calls `gone` once, with the first ancestor found gone, polling every `everyMs`. Returns a function that
 * stops watching. The timer does not keep the process alive.
 */
export function watchLaunchers(gone: (a: Ancestor) => void, everyMs = 250): () => void {
  const chain = launchers();
  const timer = setInterval(() => {
    const dead = chain.find((a) => !alive(a));
    if (dead === undefined) return;
    clearInterval(timer);
    gone(dead);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
