// `npm run cluster -- --nodes 3 [--observers 1] [--dir DIR]`: a local ensemble on free loopback ports.
// Prints each server's addresses and files; Ctrl-C or SIGTERM stops them all.
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { Ensemble } from './ensemble.ts';

const Flags = z.object({
  nodes: z.coerce.number({ message: '--nodes must be an integer' }).int('--nodes must be an integer').min(1, '--nodes must be at least 1').max(15, '--nodes must be at most 15').default(3),
  observers: z.coerce.number({ message: '--observers must be an integer' }).int('--observers must be an integer').min(0, '--observers must be >= 0').max(15, '--observers must be at most 15').default(0),
  dir: z.string().min(1).optional(),
  'tick-time': z.coerce.number({ message: '--tick-time must be an integer' }).int('--tick-time must be an integer').positive('--tick-time must be positive').default(200),
  'transition-log': z.enum(['on', 'off'], '--transition-log must be on or off').default('on'),
});

async function main(): Promise<void> {
  let raw;
  try {
    raw = parseArgs({
      options: { nodes: { type: 'string' }, observers: { type: 'string' }, dir: { type: 'string' }, 'tick-time': { type: 'string' }, 'transition-log': { type: 'string' } },
      strict: true,
    }).values;
  } catch (e) {
    console.error(`zk-cluster: ${(e as Error).message}`);
    process.exit(2);
  }
  const flags = Flags.safeParse(raw);
  if (!flags.success) {
    console.error(`zk-cluster: ${flags.error.issues[0]?.message}`);
    process.exit(2);
  }
  const f = flags.data;
  const dir = f.dir ? resolve(f.dir) : mkdtempSync(join(tmpdir(), 'zk-cluster-'));
  const ens = await Ensemble.create({ nodes: f.nodes, observers: f.observers, dir, tickTime: f['tick-time'], transitionLog: f['transition-log'] === 'on' });
  ens.startAll();
  console.log(`ensemble of ${f.nodes} participant(s) and ${f.observers} observer(s) in ${dir}`);
  for (const h of ens.servers.values()) {
    console.log(
      `server.${h.sid} ${h.type.padEnd(11)} pid ${h.child?.pid}  client 127.0.0.1:${h.clientPort}  quorum :${h.quorumPort}  election :${h.electionPort}\n` +
        `    config ${h.configPath}\n    log    ${h.logPath}\n    transitions ${h.dataDir}/transitions.*.ndjson`,
    );
  }
  for (const h of ens.servers.values()) {
    h.child?.once('exit', (code, sig) => {
      if (!stopping) console.log(`server.${h.sid} exited (${sig ?? `code ${code}`}); see ${h.logPath}`);
    });
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping the ensemble');
    await ens.stopAll('SIGTERM');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  try {
    const leader = await ens.waitForLeader(undefined, 30_000);
    console.log(`leader: server.${leader}. Try: npm run client -- --server 127.0.0.1:${ens.servers.get(leader)!.clientPort} set hello world`);
  } catch (e) {
    console.log(`no leader yet: ${(e as Error).message}`);
  }
}

void main();
