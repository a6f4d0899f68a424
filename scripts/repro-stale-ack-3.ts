// Finding #1 of docs/findings.md with THREE servers, against a real Apache ZooKeeper 3.8.0 ensemble: the spec's
// counterexample with the leader's own log write queued behind its PROPOSAL (`npm run check -- --nodes 3 --depth 30
// --leader-log queued`, 17 steps; traces/samples/findings/stale-ack-3-servers-queued-leader-log.ndjson).
//
// In ZooKeeper the leader sends PROPOSAL first (ProposalRequestProcessor: Leader.propose) and only then gives the
// txn to its own SyncRequestProcessor; AckRequestProcessor counts the leader's own ACK after that fsync. So with a
// slow leader disk a follower's ACK can wait for the leader's, and a follower can leave and rejoin meanwhile:
//
//   leader L and follower F serve, follower G is slow (its copy of the PROPOSAL never arrives). A client writes /x
//   (txn P); L sends PROPOSAL P to F and G and queues P to its own disk, whose fsync is slow. F logs P and ACKs; L
//   counts F's ACK (alone, not a quorum of 3). F's connection to L breaks (no crash); F rejoins L; L's
//   syncFollower sends TRUNC maxCommittedLog (P is not committed), then P again (startForwarding), then NEWLEADER.
//   F applies the TRUNC: P is gone from its log. L's fsync finishes: its own ACK and F's stale ACK are 2 of 3, L
//   commits P and the client gets OK. L is killed (kill -9) before F gets NEWLEADER. F and G elect a leader;
//   neither has P: the acknowledged write is lost, with one server down.
//
// Run: `npm run repro:stale-ack-3` (installs ZooKeeper with bench/zookeeper-install.sh if needed), or
// `npx tsx scripts/repro-stale-ack-3.ts`. It prints a step-by-step log and one verdict line: REPRODUCED, NOT
// REPRODUCED (with the step that went otherwise than the spec predicts, and why), or INCONCLUSIVE (the harness
// itself failed).
//
// How it forces the timing (harness/zookeeper/ has the wiring: every learner->leader quorum link goes through
// a proxy of ours that parses the QuorumPacket stream and can hold one direction from a packet type on):
// - the slow follower: L->G is held from the PROPOSAL of /x on (and dropped when the connection closes);
// - the slow leader disk: harness/zookeeper/fsync-hold.c, compiled here with gcc into the temp directory, is LD_PRELOADed
//   into every server; it makes fsync/fdatasync block while the server's hold file exists. The script creates L's
//   hold file just before the write and removes it to let L's fsync finish. The shim logs every call, hold and
//   release, and ZooKeeper itself warns "fsync-ing the write ahead log ... took N ms" (fsync.warningthresholdms
//   is 1000 by default);
// - the broken connection: the proxy of F->L closes both sockets of F's connection (a network fault, no crash);
// - the rejoin: L->F is held from NEWLEADER on. F gets the TRUNC and applies it, gets the re-sent PROPOSAL and
//   keeps it in memory (Learner.syncWithLeader: packetsNotCommitted, logged only on NEWLEADER, ZOOKEEPER-3911), and
//   has not had NEWLEADER when L dies.
// Nothing else is touched: no server's data is edited, no message is forged or reordered.
//
// Every java process is started here and stopped by its PID (SIGKILL) at the end, on error, on Ctrl-C and on exit;
// every wait has a deadline and the whole run has one (RUN_LIMIT_MS); the temp directory is removed at the end
// (kept with KEEP_REPRO_DIR=1). Loopback only.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { srvr } from '../impl/zkwire/four-letter.ts';
import {
  aftermath,
  createInBackground,
  formThree,
  ACK, ACKEPOCH, COMMIT, DIFF, Diverged, ZkEnsemble, hex, lastWithNext, lastZ, logLines, loggedZxids, NEWLEADER, type Outcome, preflight, PROPOSAL, proxyOutput,
  handleArgs, reproUsage, runScenario, say, type Seen, sleep, SNAP, stamp, tail, TRUNC, typeName, waitFor, type ZkServer,
  INIT_LIMIT, SYNC_LIMIT, TICK_MS,
  waitAgreed,
  FSYNC_HOLD_SRC,
} from '../harness/zookeeper/index.ts';

const SIDS = [1, 2, 3] as const;
const RUN_LIMIT_MS = 170_000;
/** The leader's fsync is held at least this long, so that ZooKeeper's own warning (over 1000 ms) confirms it. */
const MIN_HOLD_MS = 2000;

/** One line of the shim's log: "<ms> call|held|released <fn> fd=<n> <path>[ after <ms> ms]". */
interface ShimLine {
  readonly ms: number;
  readonly kind: string;
  readonly fn: string;
  readonly path: string;
  readonly heldMs: number | null;
}

function shimLines(s: ZkServer): ShimLine[] {
  let text: string;
  try {
    text = readFileSync(join(s.dir, 'fsync.log'), 'utf8');
  } catch {
    return [];
  }
  const out: ShimLine[] = [];
  for (const l of text.split('\n')) {
    const m = /^(\d+) (call|held|released|error) (\S+)(?: fd=\d+ (\S*))?(?: after (\d+) ms)?/.exec(l);
    if (m) out.push({ ms: Number(m[1]), kind: m[2]!, fn: m[3]!, path: m[4] ?? '', heldMs: m[5] === undefined ? null : Number(m[5]) });
  }
  return out;
}

const isTxnLog = (path: string) => /\/version-2\/log\.[0-9a-f]+$/.test(path);

async function main(): Promise<Outcome> {
  const facts: string[] = [];
  const pre = preflight();
  if (!pre.ok) return { verdict: 'INCONCLUSIVE', why: pre.why, facts };
  say(`Apache ZooKeeper ${pre.version} (Debian package), 3 servers on loopback, tickTime ${TICK_MS} ms, initLimit ${INIT_LIMIT}, syncLimit ${SYNC_LIMIT}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const holdFile = (s: ZkServer) => join(s.dir, 'fsync-hold');
  let shim = '';
  const ens = new ZkEnsemble(
    {
      sids: SIDS, tickMs: TICK_MS, initLimit: INIT_LIMIT, syncLimit: SYNC_LIMIT, tmpPrefix: 'zk-stale-ack-3-',
      env: (s) => ({ LD_PRELOAD: shim, FSYNC_HOLD_FILE: holdFile(s), FSYNC_HOLD_LOG: join(s.dir, 'fsync.log'), FSYNC_HOLD_MAX_MS: '60000' }),
    },
    pre.classpath,
    pre.setpriv,
  );
  const srv = (sid: number) => ens.srv(sid);
  const proxy = (from: number, to: number) => ens.proxy(from, to);
  try {
    // ---- Step 0: the shim
    shim = join(ens.root, 'fsync-hold.so');
    const cc = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-o', shim, FSYNC_HOLD_SRC, '-ldl'], { encoding: 'utf8', timeout: 60_000 });
    if (cc.status !== 0 || !existsSync(shim)) return { verdict: 'INCONCLUSIVE', why: `could not compile ${FSYNC_HOLD_SRC}: ${cc.error?.message ?? cc.stderr}`, facts };
    say(`step 0: compiled the fsync hold shim (${FSYNC_HOLD_SRC} -> ${shim}), LD_PRELOADed into every server`);
    await ens.setup();

    // ---- Step 1: the ensemble
    say('step 1: starting 3 servers');
    const { L, F, G } = await formThree(ens, SIDS);
    say(`roles: leader L=${L}; F=${F} ACKs, loses its connection, rejoins and is TRUNCated; G=${G} never gets the PROPOSAL`);
    facts.push(`leader ${L} elected at start; roles F=${F} (ACK, connection broken, rejoin, TRUNC), G=${G} (slow: PROPOSAL held)`);
    const startCalls = shimLines(srv(L));
    if (startCalls.length === 0) return { verdict: 'INCONCLUSIVE', why: `the shim logged no call in leader ${L} (not loaded?)`, facts };
    say(`step 1: the shim is loaded: leader ${L} made ${startCalls.length} sync call(s) so far (${[...new Set(startCalls.map((c) => `${c.fn} ${c.path.replace(/^.*\//, '')}`))].join(', ')})`);

    // ---- Step 2: a session, committed everywhere
    const client = await ens.connectClient(L);
    say(`step 2: client session ${hex(client.sessionId)} on leader ${L}, timeout ${client.sessionTimeoutMs} ms (createSession is a txn)`);
    const synced = await waitAgreed(ens, SIDS);
    const committedZxid = synced.get(L)!.zxid!;
    say(`step 2: ${ens.showStatus(synced)}`);
    const logSync = await waitFor('the leader fsyncs its txn log', 5_000, () => shimLines(srv(L)).find((c) => c.kind === 'call' && isTxnLog(c.path)));
    if (logSync === null) return { verdict: 'INCONCLUSIVE', why: `leader ${L} committed ${hex(committedZxid)} without an fsync/fdatasync of its txn log reaching the shim`, facts };
    say(`step 2: FileTxnLog.commit's FileChannel.force reached the shim as ${logSync.fn}(${logSync.path.replace(ens.root, '$TMP')})`);

    // ---- Step 3: the slow follower, the slow leader disk, then the write
    proxyOutput.print = 'all';
    proxy(G, L).down.rules([PROPOSAL]);
    writeFileSync(holdFile(srv(L)), 'hold\n');
    const holdStart = performance.now();
    say(`step 3: holding ${L}->${G} from the next PROPOSAL on; created leader ${L}'s fsync hold file (PINGs are not printed)`);
    const reply = createInBackground(client, '/x', 'acknowledged write');
    const proposal = await waitFor('PROPOSAL to F', 10_000, () => proxy(F, L).down.find((s) => s.type === PROPOSAL && s.zxid > committedZxid && s.action === 'forwarded'));
    if (proposal === null) throw new Diverged('3', `the leader's PROPOSAL did not reach ${F} within 10 s`);
    const z = proposal.zxid;
    const ackF = await waitFor('ACK of F', 10_000, () => proxy(F, L).up.find((s) => s.type === ACK && s.zxid === z));
    if (ackF === null) throw new Diverged('3', `${F} did not ACK ${hex(z)} within 10 s`);
    const heldG = await waitFor('PROPOSAL to G held', 5_000, () => proxy(G, L).down.find((s) => s.type === PROPOSAL && s.zxid === z && s.action === 'held'));
    if (heldG === null) throw new Diverged('3', `the PROPOSAL of ${hex(z)} to ${G} was not seen (held) within 5 s`);
    const held = await waitFor('leader fsync held', 5_000, () => shimLines(srv(L)).find((c) => c.kind === 'held' && isTxnLog(c.path)));
    if (held === null) throw new Diverged('3', `leader ${L}'s fsync of its txn log did not reach the hold within 5 s`);
    await sleep(500); // the leader reads F's ACK
    const early = reply();
    if (early !== null) throw new Diverged('3', `the client had a reply while the leader's fsync was held: ${early.text}`);
    const lStatus = await srvr(srv(L).clientPort);
    const fLog = loggedZxids(srv(F));
    if (!fLog.includes(z)) throw new Diverged('3', `${F} ACKed ${hex(z)} but its txn log on disk does not have it (last ${lastZ(srv(F))})`);
    say(`step 3: proposal ${hex(z)}; ${F} logged it (txn log on disk ends at ${hex(fLog.at(-1)!)}) and ACKed it (forwarded to the leader); held on ${L}->${G}: ${proxy(G, L).down.describe((s) => s.action === 'held')}`);
    say(`step 3: leader ${L}'s ${held.fn} of ${held.path.replace(/^.*\//, '')} is held by the shim; its txn log file ${loggedZxids(srv(L)).includes(z) ? `already has ${hex(z)} (written to the page cache before force(); not yet durable)` : `does not have ${hex(z)} yet`}; srvr zxid ${hex(lStatus?.zxid ?? 0n)} (not applied); client reply: none`);
    facts.push(`txn ${hex(z)} (create /x) proposed; ${F} logged and ACKed it, the leader counted that ACK; ${G}'s PROPOSAL held; the leader's fdatasync of its txn log held, so no ACK of its own; no reply to the client`);

    // ---- Step 4: F's connection breaks; F rejoins; TRUNC
    proxy(F, L).down.rules([NEWLEADER]);
    const closed = proxy(F, L).breakConnections();
    const brokeAt = stamp();
    say(`step 4: broke ${F}'s connection to leader ${L} (${closed} socket(s) closed by the proxy; no server crashed); holding ${L}->${F} from the next NEWLEADER on`);
    const notSame = (s: Seen) => s.conn !== proposal.conn;
    const syncPkt = await waitFor('sync packet to F', 30_000, () => proxy(F, L).down.find((s) => notSame(s) && [DIFF, TRUNC, SNAP].includes(s.type)));
    if (syncPkt === null) throw new Diverged('4', `server ${F} did not get a sync packet from leader ${L} within 30 s after its connection broke (${ens.showStatus(await ens.status(SIDS))})`);
    say(`step 4: ${F}'s log: "${lastWithNext(srv(F), /Exception when following the leader/)}", then "${tail(logLines(srv(F), /FOLLOWING - LEADER ELECTION TOOK/).at(-1))}"`);
    const ackEpoch = proxy(F, L).up.find((s) => notSame(s) && s.type === ACKEPOCH);
    say(`step 4: ${F} rejoined (conn#${syncPkt.conn}); its ACKEPOCH carries last zxid ${ackEpoch ? hex(ackEpoch.zxid) : '?'}`);
    const syncLine = logLines(srv(L), new RegExp(`Synchronizing with Learner sid: ${F} `)).at(-1);
    say(`step 4: leader's log: ${tail(syncLine)}`);
    if (syncPkt.type !== TRUNC) throw new Diverged('4', `leader ${L} synced the rejoining ${F} with ${typeName(syncPkt.type)} ${hex(syncPkt.zxid)}, not TRUNC`);
    const newLeader = await waitFor('NEWLEADER held', 5_000, () => proxy(F, L).down.find((s) => s.conn === syncPkt.conn && s.type === NEWLEADER && s.action === 'held'));
    if (newLeader === null) throw new Diverged('4', `no NEWLEADER to ${F} within 5 s after the sync packet: ${proxy(F, L).down.describe((s) => s.conn === syncPkt.conn)}`);
    say(`step 4: leader ${L} to ${F} on the new connection: ${proxy(F, L).down.describe((s) => s.conn === syncPkt.conn)}`);
    const truncated = await waitFor('F truncated', 8_000, () => {
      if (logLines(srv(F), /Truncating log to get in sync/).length === 0) return null;
      const zs = loggedZxids(srv(F));
      return zs.includes(z) ? null : zs;
    });
    if (truncated === null) throw new Diverged('4', `server ${F} did not truncate ${hex(z)} from its txn log within 8 s (log: ${logLines(srv(F), /Truncat/).at(-1) ?? 'no Truncating line'})`);
    say(`step 4: ${F} logged "${tail(logLines(srv(F), /Truncating log/).at(-1))}"; its txn log on disk now ends at ${hex(truncated.at(-1) ?? 0n)}, ${hex(z)} absent`);
    const resent = proxy(F, L).down.find((s) => s.conn === syncPkt.conn && s.type === PROPOSAL && s.zxid === z);
    const order = proxy(F, L).down.seen.filter((s) => s.conn === syncPkt.conn).map((s) => typeName(s.type));
    const resentBeforeNewLeader = resent !== undefined && order.indexOf('PROPOSAL') < order.indexOf('NEWLEADER');
    say(`step 4: the re-sent PROPOSAL ${hex(z)} ${resent === undefined ? 'was NOT seen' : `${resent.action === 'forwarded' ? 'reached' : 'did not reach'} ${F}${resentBeforeNewLeader ? ', before NEWLEADER' : ' (not before NEWLEADER)'}`}; ${F}'s txn log on disk: ${loggedZxids(srv(F)).includes(z) ? `HAS ${hex(z)}` : `no ${hex(z)} (kept in memory until NEWLEADER)`}`);
    facts.push(`${F}'s connection broken at ${brokeAt.trim()}; ${F} rejoined ${L} with last zxid ${ackEpoch ? hex(ackEpoch.zxid) : '?'}; the leader sent TRUNC ${hex(syncPkt.zxid)}${resent ? `, then PROPOSAL ${hex(z)} again` : ''}, then NEWLEADER (held); ${F} truncated ${hex(z)} from its txn log on disk`);

    // ---- Step 5: the leader's disk catches up
    const mode = (await srvr(srv(L).clientPort))?.mode;
    if (mode !== 'leader') throw new Diverged('5', `server ${L} is no longer leading (mode ${mode ?? 'no answer'}) before its fsync was released`);
    const noReplyYet = reply();
    if (noReplyYet !== null) throw new Diverged('5', `the client had a reply before the leader's fsync was released: ${noReplyYet.text}`);
    // Hold long enough for ZooKeeper's own fsync warning (fsync.warningthresholdms, 1000 by default) to confirm it.
    await sleep(Math.max(0, held.ms + MIN_HOLD_MS - Date.now()));
    rmSync(holdFile(srv(L)), { force: true });
    say(`step 5: removed leader ${L}'s fsync hold file (${((performance.now() - holdStart) / 1000).toFixed(1)} s after it was created)`);
    const got = await waitFor('client reply', 8_000, () => reply(), 20);
    if (got === null) throw new Diverged('5', `no reply to create /x within 8 s after leader ${L}'s fsync was released: the leader did not commit with ACKs {${L}, ${F}}`);
    if (!got.ok) throw new Diverged('5', `create /x failed: ${got.text}`);
    const released = shimLines(srv(L)).find((c) => c.kind === 'released' && isTxnLog(c.path));
    const warn = (await waitFor('fsync warning', 3_000, () => logLines(srv(L), /fsync-ing the write ahead log/).at(-1), 50)) ?? undefined;
    const lz = (await srvr(srv(L).clientPort))?.zxid;
    say(`step 5: the client got success for create /x at ${got.at.trim()}; leader ${L} srvr zxid ${lz === undefined || lz === null ? '?' : hex(lz)}`);
    say(`step 5: shim: ${released ? `${released.fn} of ${released.path.replace(/^.*\//, '')} released after ${released.heldMs} ms` : 'no release line'}; leader's log: ${tail(warn)}`);
    if (released === undefined || warn === undefined) say(`step 5: WARNING: the hold is not confirmed by ${released === undefined ? 'the shim log' : ''}${released === undefined && warn === undefined ? ' nor ' : ''}${warn === undefined ? "ZooKeeper's fsync warning" : ''}`);
    say(`step 5: ACKs of ${hex(z)} that passed the proxies to ${L}: ${F}->${L}: ${proxy(F, L).up.describe((s) => s.type === ACK && s.zxid === z)}; ${G}->${L}: ${proxy(G, L).up.describe((s) => s.type === ACK && s.zxid === z)}`);
    say(`step 5: COMMIT ${hex(z)} on ${L}->${F}: ${proxy(F, L).down.describe((s) => s.type === COMMIT && s.zxid === z)}; on ${L}->${G}: ${proxy(G, L).down.describe((s) => s.type === COMMIT && s.zxid === z)}; ${F} has not had NEWLEADER: ${proxy(F, L).down.describe((s) => s.conn === syncPkt.conn && s.type === NEWLEADER)}`);
    facts.push(`leader ${L}'s ${released?.fn ?? 'fsync'} released after ${released?.heldMs ?? '?'} ms (ZooKeeper: "${tail(warn)}"); the leader committed ${hex(z)} and the client got success; the ACKs of ${hex(z)} that ever reached the leader: ${F}'s (before the TRUNC) and its own; only ${L} had ${hex(z)} on disk`);

    // ---- Step 6: F and G elect (at once: F must not time out on the held sync, initLimit, and get P again)
    const pidL = await ens.kill9(L);
    say(`step 6: kill -9 leader ${L} (pid ${pidL})`);
    proxyOutput.print = 'sync';
    say(`step 6: txn logs on disk: ${L}: ${loggedZxids(srv(L)).includes(z) ? 'has' : 'lacks'} ${hex(z)}; ${F}: ${loggedZxids(srv(F)).includes(z) ? 'has' : 'lacks'} ${hex(z)}; ${G}: ${loggedZxids(srv(G)).includes(z) ? 'has' : 'lacks'} ${hex(z)}`);
    const { L2, survivors, lost, all } = await aftermath(ens, SIDS, { L, F, G, z, step: 6 }, facts);

    if (lost) {
      const stillLost = all.every(([, e]) => !e.startsWith('present'));
      return {
        verdict: 'REPRODUCED',
        why: `create /x (${hex(z)}) was acknowledged to the client, then absent on ${F} and ${G} under leader ${L2} with only ${L} down${stillLost ? `, and still absent on every server after ${L} rejoined` : ', but present again somewhere after it rejoined'}`,
        facts,
      };
    }
    return { verdict: 'NOT REPRODUCED', why: `step 6: /x is present on the ensemble of ${F}, ${G} (${survivors.map(([sid, e]) => `${sid} ${e}`).join(', ')})`, facts };
  } catch (e) {
    if (e instanceof Diverged) return { verdict: 'NOT REPRODUCED', why: `step ${e.step}: ${e.message}`, facts };
    return { verdict: 'INCONCLUSIVE', why: `the harness failed: ${(e as Error).message}`, facts };
  } finally {
    await ens.close();
  }
}

handleArgs(
  reproUsage(
    'repro:stale-ack-3',
    `Finding #1 of docs/findings.md with three servers against a real Apache ZooKeeper 3.8.0 ensemble: the leader's
own log write queued behind its PROPOSAL (a slow leader disk, an fsync-holding LD_PRELOAD shim).`,
    [],
  ),
);
runScenario(RUN_LIMIT_MS, main);
