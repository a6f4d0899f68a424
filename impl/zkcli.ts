// zkcli: a small zkCli-like command line over our ZooKeeper client library (impl/zkwire/client.ts): one command
// per run, against Apache ZooKeeper or our own server. `npm run zkcli -- --help` lists the commands.
import { parseArgs } from 'node:util';
import { CreateMode, EventType, KeeperState } from './zkwire/codes.ts';
import { ZkWireClient, ZkWireError } from './zkwire/client.ts';
import type { StatT } from './zkwire/jute.ts';
import { javaDate } from './zk/four-letter-words.ts';
import type { WatcherEventT } from './zkwire/records.ts';
import { argsProblem, formatUsage, wantsHelp, type Usage } from './usage.ts';

export const EXIT = { ok: 0, zkError: 1, usage: 2, connection: 3, watchTimeout: 4 } as const;

export const ZKCLI_USAGE: Usage = {
  usage: 'npm run zkcli -- [--server host:port] <command> [args]',
  description: `Runs one ZooKeeper command against a server, like zkCli.sh, over our client library (impl/zkwire/client.ts):
against Apache ZooKeeper or our own server. Errors are one line, named as ZooKeeper names them, e.g.
"zkcli: get /x: NONODE".`,
  flags: [
    { flag: 'server', metavar: 'host:port', help: 'the server to use', default: '127.0.0.1:2181' },
    { flag: 'timeout', metavar: 'ms', help: 'session timeout asked for, and the time allowed to connect and per request', default: 10000 },
    { flag: 'wait', metavar: 'ms', help: 'how long -w waits for the watch event', default: 60000 },
  ],
  sections: [
    [
      'Commands',
      [
        'create [-s] [-e] <path> [data]    create a znode (-s sequential, -e ephemeral: it lives as long as this',
        "                                  command's session, so it is gone when zkcli exits); prints its path",
        'get [-s] [-w] <path>              print the data (-s also the Stat; -w then wait for its watch event)',
        'set [-v version] <path> <data>    set the data (-v: only if the version matches)',
        'ls [-s] [-w] <path>               list the children as [a, b] (-s also the Stat; -w wait for the event)',
        'stat <path>                       print the Stat',
        'delete [-v version] <path>        delete a znode',
        'deleteall <path>                  delete a znode and everything under it',
        'move <from> <to>                  move a znode and its subtree (our extension, op 1001: only our server',
        '                                  has it; Apache ZooKeeper answers UNIMPLEMENTED)',
      ],
    ],
  ],
  exit: [
    [0, 'done'],
    [1, 'the server answered with an error (NONODE, NODEEXISTS, BADVERSION, NOTEMPTY, NOAUTH, UNIMPLEMENTED...)'],
    [2, 'bad usage'],
    [3, 'no connection or session (refused, timed out, lost)'],
    [4, '-w timed out'],
  ],
  examples: ['npm run zkcli -- --server 127.0.0.1:2181 create /app hello', 'npm run zkcli -- --server 127.0.0.1:2181 get -s /app'],
};

class UsageError extends Error {}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** The Stat as zkCli prints it (StatPrinter). */
export function formatStat(s: StatT): string {
  const date = (ms: bigint) => javaDate(Number(ms));
  return [
    `cZxid = ${hex(s.czxid)}`,
    `ctime = ${date(s.ctime)}`,
    `mZxid = ${hex(s.mzxid)}`,
    `mtime = ${date(s.mtime)}`,
    `pZxid = ${hex(s.pzxid)}`,
    `cversion = ${s.cversion}`,
    `dataVersion = ${s.version}`,
    `aclVersion = ${s.aversion}`,
    `ephemeralOwner = ${hex(s.ephemeralOwner)}`,
    `dataLength = ${s.dataLength}`,
    `numChildren = ${s.numChildren}`,
  ].join('\n');
}

function eventName(t: number): string {
  return Object.entries(EventType).find(([, v]) => v === t)?.[0] ?? String(t);
}
function stateName(t: number): string {
  return Object.entries(KeeperState).find(([, v]) => v === t)?.[0] ?? String(t);
}
/** WatchedEvent.toString. */
export function formatEvent(e: WatcherEventT): string {
  return `WatchedEvent state:${stateName(e.state)} type:${eventName(e.type)} path:${e.path}`;
}

function intFlag(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`${name}: not an integer: ${JSON.stringify(v)}`);
  return Number(v);
}

function checkPath(p: string | undefined, what = 'path'): string {
  if (p === undefined) throw new UsageError(`missing ${what}`);
  if (!p.startsWith('/')) throw new UsageError(`${what} must start with /: ${JSON.stringify(p)}`);
  return p;
}

/** Runs one command; output lines go to `out`. Returns the exit code. */
export async function run(argv: readonly string[], out: (line: string) => void, err: (line: string) => void): Promise<number> {
  if (wantsHelp(argv)) {
    out(formatUsage(ZKCLI_USAGE));
    return EXIT.ok;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        timeout: { type: 'string' },
        wait: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        s: { type: 'boolean', short: 's' },
        e: { type: 'boolean', short: 'e' },
        w: { type: 'boolean', short: 'w' },
        v: { type: 'string', short: 'v' },
      },
    });
  } catch (e) {
    err(`zkcli: ${argsProblem(e)} (see --help)`);
    return EXIT.usage;
  }
  const { values: f, positionals } = parsed;
  if (positionals.length === 0) {
    err(formatUsage(ZKCLI_USAGE));
    return EXIT.usage;
  }
  const [cmd, ...args] = positionals as [string, ...string[]];
  let host: string, port: number, timeout: number, waitMs: number, version: number;
  try {
    const server = f.server ?? '127.0.0.1:2181';
    const m = /^([^:]+):(\d{1,5})$/.exec(server);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--server: expected host:port, got ${JSON.stringify(server)}`);
    [host, port] = [m[1]!, Number(m[2])];
    timeout = intFlag(f.timeout, '--timeout', 10_000);
    waitMs = intFlag(f.wait, '--wait', 60_000);
    version = intFlag(f.v, '-v', -1);
    if (timeout < 1 || waitMs < 0) throw new UsageError('--timeout must be at least 1 and --wait at least 0');
    const known = ['create', 'get', 'set', 'ls', 'stat', 'delete', 'deleteall', 'move'];
    if (!known.includes(cmd)) throw new UsageError(`unknown command ${JSON.stringify(cmd)} (one of ${known.join(', ')})`);
  } catch (e) {
    err(`zkcli: ${(e as Error).message}`);
    return EXIT.usage;
  }

  let c: ZkWireClient;
  try {
    c = await ZkWireClient.connect({ host, port, sessionTimeoutMs: timeout, connectTimeoutMs: timeout, requestTimeoutMs: timeout });
  } catch (e) {
    err(`zkcli: cannot connect to ${host}:${port}: ${(e as Error).message}`);
    return EXIT.connection;
  }
  let event: Promise<WatcherEventT> | null = null;
  let onEvent: (e: WatcherEventT) => void = () => {};
  const watcher = f.w ? (e: WatcherEventT) => onEvent(e) : undefined;
  if (f.w) event = new Promise((res) => (onEvent = res));
  try {
    switch (cmd) {
      case 'create': {
        const path = checkPath(args[0]);
        const flags = (f.e ? CreateMode.EPHEMERAL : 0) | (f.s ? CreateMode.PERSISTENT_SEQUENTIAL : 0);
        out(`Created ${await c.create(path, Buffer.from(args[1] ?? ''), flags)}`);
        break;
      }
      case 'get': {
        const path = checkPath(args[0]);
        const r = await c.getData(path, watcher);
        out(r.data === null ? 'null' : r.data.toString('utf8'));
        if (f.s) out(formatStat(r.stat));
        break;
      }
      case 'set': {
        const path = checkPath(args[0]);
        if (args[1] === undefined) throw new UsageError('set: missing data');
        const st = await c.setData(path, Buffer.from(args[1]), version);
        if (f.s) out(formatStat(st));
        break;
      }
      case 'ls': {
        const path = checkPath(args[0]);
        const r = await c.getChildren2(path, watcher);
        out(`[${[...r.children].sort().join(', ')}]`);
        if (f.s) out(formatStat(r.stat));
        break;
      }
      case 'stat': {
        const path = checkPath(args[0]);
        const st = await c.exists(path);
        if (st === null) throw new ZkWireError('NONODE', `stat ${path}: NONODE`);
        out(formatStat(st));
        break;
      }
      case 'delete':
        await c.delete(checkPath(args[0]), version);
        break;
      case 'deleteall': {
        const root = checkPath(args[0]);
        const walk = async (p: string): Promise<void> => {
          for (const ch of await c.getChildren(p)) await walk(p === '/' ? `/${ch}` : `${p}/${ch}`);
          if (p !== '/') await c.delete(p);
        };
        await walk(root);
        break;
      }
      case 'move':
        await c.move(checkPath(args[0], 'from'), checkPath(args[1], 'to'), version);
        break;
    }
    if (event !== null) {
      let timer: NodeJS.Timeout | undefined;
      const ev = await Promise.race([event, new Promise<null>((res) => (timer = setTimeout(() => res(null), waitMs)))]);
      clearTimeout(timer);
      if (ev === null) {
        err(`zkcli: no watch event within ${waitMs} ms`);
        return EXIT.watchTimeout;
      }
      out(formatEvent(ev));
    }
    return EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`zkcli: ${e.message}`);
      return EXIT.usage;
    }
    const code = e instanceof ZkWireError ? e.code : 'ERROR';
    const where = `${cmd} ${args.join(' ')}`.trim();
    if (code === 'CONNECTIONLOSS' || code === 'TIMEOUT' || code === 'SESSIONEXPIRED' || code === 'BAD_REPLY') {
      err(`zkcli: ${where}: ${(e as Error).message}`);
      return EXIT.connection;
    }
    err(`zkcli: ${where}: ${code}`);
    return EXIT.zkError;
  } finally {
    await c.close().catch(() => {});
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run(process.argv.slice(2), (l) => console.log(l), (l) => console.error(l)).then((code) => process.exit(code));
}
