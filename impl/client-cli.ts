// `npm run client -- --server HOST:PORT <command> [args]`: set KEY VALUE | get KEY | del KEY | stat, over
// ZooKeeper's client protocol (KEY is the znode /KEY).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ZkClient } from './client.ts';
import { argsProblem, formatUsage, wantsHelp, type Usage } from './usage.ts';

const USAGE = 'usage: npm run client -- --server HOST:PORT (set KEY VALUE | get KEY | del KEY | stat); --help says more';

export const CLIENT_USAGE: Usage = {
  usage: 'npm run client -- --server HOST:PORT COMMAND [ARGS]',
  description: `Sends one request to a server of our ensemble (impl/) over ZooKeeper's client protocol (KEY is the
znode /KEY) and prints the reply. Writes go through the leader and are answered once committed; reads are
served by the server you name. npm run zkcli has every ZooKeeper command.`,
  flags: [{ flag: 'server', metavar: 'HOST:PORT', help: 'a client port that npm run cluster printed (required)' }],
  sections: [
    [
      'Commands',
      [
        "set KEY VALUE   create or set /KEY; prints 'ok' once committed",
        "get KEY         print the data of /KEY, or '(none)' and exit 1",
        "del KEY         delete /KEY; prints 'ok' once committed",
        "stat            this server's state, leader, epochs, zxids and transition log, as JSON",
      ],
    ],
  ],
  exit: [
    [0, 'done'],
    [1, 'the request failed (not connected, an error from the server, connection lost), or get found no node'],
    [2, 'bad usage'],
  ],
  examples: ['npm run client -- --server 127.0.0.1:PORT set hello world   # PORT: a client port the cluster printed'],
};

const Command = z.union([
  z.tuple([z.literal('set'), z.string().min(1), z.string()]),
  z.tuple([z.literal('get'), z.string().min(1)]),
  z.tuple([z.literal('del'), z.string().min(1)]),
  z.tuple([z.literal('stat')]),
]);
const Server = z
  .string({ message: '--server HOST:PORT is required' })
  .regex(/^[A-Za-z0-9.\-]+:\d{1,5}$/, '--server must be HOST:PORT');

async function main(): Promise<number> {
  if (wantsHelp(process.argv.slice(2))) {
    console.log(formatUsage(CLIENT_USAGE));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ options: { server: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`zk-client: ${argsProblem(e)}\n${USAGE}`);
    return 2;
  }
  const server = Server.safeParse(parsed.values.server);
  if (!server.success) {
    console.error(`zk-client: ${server.error.issues[0]?.message}\n${USAGE}`);
    return 2;
  }
  const cmd = Command.safeParse(parsed.positionals);
  if (!cmd.success) {
    console.error(`zk-client: bad command ${JSON.stringify(parsed.positionals.join(' '))}\n${USAGE}`);
    return 2;
  }
  const [host, port] = server.data.split(':') as [string, string];
  let client: ZkClient | null = null;
  try {
    client = await ZkClient.connect(host, Number(port));
    const c = cmd.data;
    switch (c[0]) {
      case 'set':
        await client.set(c[1], c[2]);
        console.log('ok');
        break;
      case 'get': {
        const v = await client.get(c[1]);
        console.log(v ?? '(none)');
        if (v === null) return 1;
        break;
      }
      case 'del':
        await client.del(c[1]);
        console.log('ok');
        break;
      case 'stat':
        console.log(JSON.stringify(await client.stat(), null, 2));
        break;
    }
    return 0;
  } catch (e) {
    console.error(`zk-client: ${(e as Error).message}`);
    return 1;
  } finally {
    client?.close();
  }
}

main().then((code) => process.exit(code));
