// `npm run client -- --server HOST:PORT <command> [args]`: set KEY VALUE | get KEY | del KEY | stat, over
// ZooKeeper's client protocol (KEY is the znode /KEY).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ZkClient } from './client.ts';

const USAGE = 'usage: npm run client -- --server HOST:PORT (set KEY VALUE | get KEY | del KEY | stat)';

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
  let parsed;
  try {
    parsed = parseArgs({ options: { server: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`zk-client: ${(e as Error).message}\n${USAGE}`);
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
