// A jdb session attached to a ZooKeeper server's JDWP agent (breakpoints in the real code).
import { spawn, type ChildProcess } from 'node:child_process';

import { say, sleep, waitFor } from './log.ts';
import { alive, children } from './process.ts';
// ------------------------------------------------------------------------------------------ jdb

/** A jdb (JDK's command-line debugger) session attached to a server's JDWP agent, driven through its stdin. Its
 *  output is kept (and echoed with a "jdb:" prefix when `echo` is set); the process is tracked like the servers,
 *  so it is killed by PID at the end, on error, on Ctrl-C and on exit. While a debugger is attached, JDWP keeps the
 *  threads its breakpoints suspended; when it detaches (or dies) the JVM resumes them: keep it until the end. */
export class Jdb {
  readonly child: ChildProcess;
  private out = '';
  private echoed = 0;
  echo = true;

  private constructor(readonly label: string, port: number) {
    const c = spawn('jdb', ['-attach', `127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    c.on('error', () => {});
    c.stdin?.on('error', () => {});
    const take = (b: Buffer) => {
      this.out += b.toString('utf8');
      if (this.out.length > 4 * 1024 * 1024) this.out = this.out.slice(-1024 * 1024);
      this.print(false);
    };
    c.stdout?.on('data', take);
    c.stderr?.on('data', take);
    children.add(c);
    c.once('exit', () => {
      children.delete(c);
      this.print(true);
    });
    this.child = c;
  }

  /** Echoes the complete lines received since the last call (all of them if `all`), without jdb's prompts. */
  private print(all: boolean): void {
    const end = all ? this.out.length : this.out.lastIndexOf('\n') + 1;
    if (end <= this.echoed) return;
    const chunk = this.out.slice(this.echoed, end);
    this.echoed = end;
    if (!this.echo) return;
    for (const raw of chunk.split('\n')) {
      const l = raw.replace(/^(?:> |[\w$.-]+\[\d+\] )+/, '').trimEnd();
      if (l !== '') say(`  jdb(${this.label}): ${l}`);
    }
  }

  /** Attaches to 127.0.0.1:port; null (and the process stopped) if jdb did not get to its prompt within timeoutMs. */
  static async attach(label: string, port: number, timeoutMs: number): Promise<Jdb | null> {
    const j = new Jdb(label, port);
    const ok = await j.expect(/Initializing jdb/, 0, timeoutMs);
    if (ok === null) {
      await j.stop();
      return null;
    }
    await sleep(300); // the prompt after the banner
    return j;
  }

  get alive(): boolean {
    return alive(this.child);
  }

  /** Where the output is now: expect() searches from such a mark. */
  mark(): number {
    return this.out.length;
  }

  send(cmd: string): void {
    say(`  jdb(${this.label})> ${cmd}`);
    this.child.stdin?.write(cmd + '\n');
  }

  /** The first match of re in the output from mark on, waiting up to timeoutMs for it. */
  async expect(re: RegExp, from: number, timeoutMs: number): Promise<RegExpExecArray | null> {
    return waitFor('jdb output', timeoutMs, () => re.exec(this.out.slice(from)), 50);
  }

  /** Output since a mark, prompts removed. */
  since(from: number): string {
    return this.out.slice(from).replace(/(?:^|\n)(?:> |[\w$.-]+\[\d+\] )+/g, '\n');
  }

  /** SIGKILL by PID, and wait (at most 5 s) for the exit. Returns the PID. */
  async stop(): Promise<number | undefined> {
    const c = this.child;
    if (alive(c)) {
      const gone = new Promise<void>((res) => c.once('exit', () => res()));
      c.kill('SIGKILL');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise<void>((res) => (timer = setTimeout(res, 5000)))]);
      clearTimeout(timer);
    }
    return c.pid;
  }
}
