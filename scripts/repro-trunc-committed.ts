// Finding #2 of the spec (a COMMITTED txn truncated by a rejoining follower, because the leader's syncFollower
// compares against what the leader has APPLIED, not what it has committed), against a real Apache ZooKeeper 3.8.0
// ensemble of 3 servers. The spec's counterexamples: `npx tsx checker/cli.ts --nodes 3 --depth 30 --leader-apply
// queued --fix forgetStaleAcks` (15 steps, syncConsistency: deliveredTxnTruncated) and the same with `--invariant
// committedNeverLost` (16 steps). No stale ACK is involved: the txn is committed by a genuine quorum {L, F}.
//
// In ZooKeeper 3.8.0, Leader.tryToCommit moves a proposal from outstandingProposals to toBeApplied, sends COMMIT
// and hands it to the CommitProcessor, whose thread applies it later (CommitProcessor.run -> processWrite ->
// Leader$ToBeAppliedRequestProcessor -> FinalRequestProcessor -> ZooKeeperServer.processTxn ->
// ZKDatabase.addCommittedProposal). Only then does the txn enter the committedLog, so maxCommittedLog lags behind
// what a quorum has committed, and LearnerHandler.syncFollower sends TRUNC maxCommittedLog to a learner whose last
// zxid is that committed txn:
//
//   leader L and follower F serve, follower G is slow (its PROPOSAL and COMMIT never arrive). A client of F
//   creates /x (txn P). L proposes P; F logs and ACKs it; L commits P with {L, F}, a quorum of 3, and sends COMMIT;
//   L's own apply of P is slow. F applies P and the client gets success (a read on F sees /x). F's connection to L
//   breaks (no crash); F rejoins L before L has applied P; syncFollower sees F's last zxid P above maxCommittedLog
//   and sends TRUNC maxCommittedLog, then (startForwarding) P's PROPOSAL and COMMIT from toBeApplied, then
//   NEWLEADER. F truncates P from its txn log and reloads its database (ZKDatabase.truncateLog). L is killed
//   (kill -9) before F gets the packets after the TRUNC. F and G elect a leader; neither has P: a write that was
//   committed, applied on F and acknowledged to the client is lost, with one server down.
//
// Run: `npm run repro:trunc-committed` (installs ZooKeeper with bench/zookeeper-install.sh if needed), or
// `npx tsx scripts/repro-trunc-committed.ts`. It prints a step-by-step log and one verdict line: REPRODUCED, NOT
// REPRODUCED (with the step that went otherwise than the spec predicts, and why), or INCONCLUSIVE (the harness
// itself failed). Needs a JDK's jdb (Debian: openjdk-17-jdk-headless).
//
// How it forces the timing (harness/zookeeper/ has the wiring: every learner->leader quorum link goes through
// a proxy of ours that parses the QuorumPacket stream and can hold one direction from a packet type on):
// - the slow follower: L->G is held from the PROPOSAL of /x on (and dropped when the connection closes);
// - the slow apply of the leader: every server's JVM runs a JDWP agent on a loopback port (suspend=n: nothing
//   stops until asked). Just before the write the script attaches jdb to L and sets
//     stop thread in org.apache.zookeeper.server.quorum.Leader$ToBeAppliedRequestProcessor.processRequest
//   ("thread": only the thread that hits it is suspended). In 3.8.0 a committed write is applied inline by the
//   CommitProcessor thread itself (CommitProcessor.run -> processWrite -> nextProcessor.processRequest; the
//   worker pool serves reads), so that thread stops at the method's entry, before FinalRequestProcessor, and
//   holds no monitor: processWrite is called outside CommitProcessor's synchronized (this) wait block, which
//   CommitProcessor.commit (called by Leader.tryToCommit) needs for its notifyAll; syncFollower takes
//   ZKDatabase's logLock read lock, which only addCommittedProposal, never reached, takes for writing;
//   startForwarding synchronizes on the Leader, which that thread does not hold. jdb prints "Breakpoint hit";
//   the script then selects that thread and has jdb print request.zxid (P), the stack, and `threadlocks` ("No
//   monitors owned"); `srvr` on L keeps the previous zxid (its data tree has not applied P). Later commits would
//   queue behind it (none are made here). The hold lasts until L is killed: were jdb to detach, JDWP would resume
//   the thread;
// - the broken connection: the proxy of F->L closes both sockets of F's connection (a network fault, no crash);
// - the rejoin: L->F is held from the packet after the TRUNC on, so F applies the TRUNC and has neither the
//   re-sent PROPOSAL and COMMIT nor NEWLEADER when L dies (as in the spec's counterexample, where L crashes after
//   F's LearnerProcessTRUNC). Were the re-sent COMMIT let through, F would apply P again in memory during the
//   sync (Learner.syncWithLeader applies COMMITs at once after a TRUNC, writeToTxnLog being false) and vote with P.
// Nothing else is touched: no server's data is edited, no message is forged or reordered.
//
// `--let-resent-through` (an experiment, not the reproduction): hold L->F from NEWLEADER on instead, so that F gets
// the re-sent PROPOSAL and COMMIT of P after the TRUNC. F then applies P in memory again (it is not in F's txn log)
// and, when L dies, votes with P and keeps /x: expect NOT REPRODUCED at step 5. What it showed besides (in 3 of
// 3 runs): F, elected with P applied in memory but in neither its txn log nor its committedLog (Learner.syncWithLeader
// applies it with zk.processTxn(hdr, txn), which does not add to the committedLog), syncs G with an empty DIFF, so
// G never gets /x, while L, rejoining, gets a SNAP that has it: all three at the same zxid, /x on two of them only.
//
// `--no-apply-hold` (a control run, not the reproduction): no breakpoint. The leader applies P at once, so when F
// rejoins, maxCommittedLog is P and syncFollower sends DIFF: expect NOT REPRODUCED at step 4.
//
// Every java and jdb process is started here and stopped by its PID (SIGKILL) at the end, on error, on Ctrl-C and
// on exit; every wait has a deadline and the whole run has one (RUN_LIMIT_MS); the temp directory is removed at the
// end (kept with KEEP_REPRO_DIR=1). Loopback only (the JDWP agents listen on 127.0.0.1).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { ZkWireClient } from '../impl/zkwire/client.ts';
import {
  aftermath, formThree,
  ACK, ACKEPOCH, COMMIT, createInBackground, DIFF, Diverged, ZkEnsemble, freePort, hex, Jdb, lastWithNext, lastZ, logLines, loggedZxids, NEWLEADER, type Outcome,
  preflight, PROPOSAL, proxyOutput, handleArgs, reproUsage, runScenario, say, type Seen, sleep, SNAP, stamp, tail, TRUNC, typeName, waitFor,
  INIT_LIMIT, SYNC_LIMIT, TICK_MS,
  waitAgreed,
} from '../harness/zookeeper/index.ts';

const SIDS = [1, 2, 3] as const;
const RUN_LIMIT_MS = 200_000;
const BREAKPOINT_CLASS = 'org.apache.zookeeper.server.quorum.Leader$ToBeAppliedRequestProcessor';
const BREAKPOINT = `${BREAKPOINT_CLASS}.processRequest`;
const LET_RESENT_THROUGH = process.argv.includes('--let-resent-through');
const NO_APPLY_HOLD = process.argv.includes('--no-apply-hold');

/** The time of a log4j line ("%d{ISO8601}": 2026-11-22 06:00:46,123), in ms since the epoch (local time). */
function logMs(line: string | undefined): number | null {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3})/.exec(line ?? '');
  if (m === null) return null;
  const [y, mo, d, h, mi, sec, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, sec, ms).getTime();
}

interface Hold {
  readonly hitLine: string;
  readonly worker: string;
  readonly heldZxid: bigint;
  readonly lockText: string;
}

/** Waits for the breakpoint on leader L to be hit, and has jdb show what the suspended thread holds: the request's
 *  zxid (must be z), its stack, its monitors. A string says why that could not be shown (INCONCLUSIVE). */
async function inspectHold(j: Jdb, hitMark: number, z: bigint, L: number): Promise<Hold | string> {
  const hit = await j.expect(/Breakpoint hit: "thread=([^"]+)"[^\n]*/, hitMark, 10_000);
  if (hit === null) throw new Diverged('3', `leader ${L} committed ${hex(z)} but its apply did not reach the breakpoint within 10 s`);
  const worker = hit[1]!;
  // jdb does not make a thread that stopped alone its current thread: find its id, select it, then ask.
  let m = j.mark();
  j.echo = false; // the whole thread list: only the suspended thread's row is printed
  j.send('threads');
  const esc = worker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const row = await j.expect(new RegExp(`\\((\\S+)\\)(0x[0-9a-f]+|\\d+)\\s+${esc}\\s+([^\\n]*)`), m, 10_000);
  if (row === null) return `jdb's thread list has no ${worker}`;
  await sleep(500); // the rest of the list
  j.echo = true;
  const tid = row[2]!;
  say(`step 3: jdb's thread list: ${worker} (${row[1]} ${tid}) ${row[3]!.trim()}`);
  j.send(`thread ${tid}`);
  m = j.mark();
  j.send('print request.zxid');
  const pz = await j.expect(/request\.zxid = (-?\d+)/, m, 10_000);
  m = j.mark();
  j.send('where');
  await j.expect(/\[\d+\] \S+\.run \([^\n]*\n/, m, 10_000); // the bottom frame: a thread's run()
  const stack = j.since(m).split('\n').filter((l) => /^\s*\[\d+\]/.test(l)).map((l) => l.trim().replace(/^\[\d+\] /, '').replace(/org\.apache\.zookeeper\.server\./g, ''));
  m = j.mark();
  j.send(`threadlocks ${tid}`);
  const locks = await j.expect(/Monitor information for thread[^\n]*\n(?:[^\n]*\n){0,6}/, m, 10_000);
  const lockText = locks === null ? '(no answer)' : locks[0].split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^\S+\[\d+\]$/.test(l)).join(' / ');
  const heldZxid = pz === null ? null : BigInt(pz[1]!);
  if (heldZxid === null) return `jdb did not print the held request's zxid (${j.since(m).slice(0, 300)})`;
  if (heldZxid !== z) return `the breakpoint held request ${hex(heldZxid)}, not the write's ${hex(z)}`;
  say(`step 3: jdb: "${hit[0]}"; the suspended ${worker} is about to apply request.zxid = ${hex(heldZxid)}; its stack: ${stack.join(' <- ')}`);
  say(`step 3: jdb threadlocks: ${lockText}`);
  return { hitLine: hit[0], worker, heldZxid, lockText };
}

async function main(): Promise<Outcome> {
  const facts: string[] = [];
  const pre = preflight();
  if (!pre.ok) return { verdict: 'INCONCLUSIVE', why: pre.why, facts };
  const jdbVersion = spawnSync('jdb', ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (jdbVersion.status !== 0) return { verdict: 'INCONCLUSIVE', why: `no working jdb (a JDK's debugger): ${jdbVersion.error?.message ?? jdbVersion.stderr}`, facts };
  say(`Apache ZooKeeper ${pre.version} (Debian package), 3 servers on loopback, tickTime ${TICK_MS} ms, initLimit ${INIT_LIMIT}, syncLimit ${SYNC_LIMIT}; ${(jdbVersion.stdout + jdbVersion.stderr).trim()}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const jdwpPorts = new Map<number, number>();
  const ens = new ZkEnsemble(
    {
      sids: SIDS, tickMs: TICK_MS, initLimit: INIT_LIMIT, syncLimit: SYNC_LIMIT, tmpPrefix: 'zk-trunc-committed-',
      jvmArgs: (s) => [`-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:${jdwpPorts.get(s.sid)}`],
    },
    pre.classpath,
    pre.setpriv,
  );
  const srv = (sid: number) => ens.srv(sid);
  const proxy = (from: number, to: number) => ens.proxy(from, to);
  let jdb: Jdb | null = null;
  try {
    await ens.setup();
    for (const sid of SIDS) jdwpPorts.set(sid, await freePort());

    // ---- Step 1: the ensemble, each JVM with a JDWP agent
    say(`step 1: starting 3 servers, each JVM with a JDWP agent (suspend=n) on 127.0.0.1: ${SIDS.map((sid) => `${sid}: port ${jdwpPorts.get(sid)}`).join(', ')}`);
    const { L, F, G } = await formThree(ens, SIDS);
    say(`roles: leader L=${L}; F=${F} serves the client, ACKs, applies the COMMIT, loses its connection, rejoins and is TRUNCated; G=${G} never gets the PROPOSAL`);
    facts.push(`leader ${L} elected at start; roles F=${F} (client's server; ACK, COMMIT applied, connection broken, rejoin, TRUNC), G=${G} (slow: PROPOSAL held)`);
    const agentLine = readFileSync(join(srv(L).dir, 'server.out'), 'utf8').split('\n').find((l) => l.includes('Listening for transport dt_socket'));
    say(`step 1: leader ${L}'s JVM: ${agentLine ?? '(no JDWP agent line in its stdout)'}`);

    // ---- Step 2: jdb on the leader; a session on F, committed and applied everywhere
    const j = await Jdb.attach(`leader ${L}`, jdwpPorts.get(L)!, 30_000);
    if (j === null) return { verdict: 'INCONCLUSIVE', why: `jdb could not attach to leader ${L}'s JDWP agent on 127.0.0.1:${jdwpPorts.get(L)} within 30 s`, facts };
    jdb = j;
    say(`step 2: jdb attached to leader ${L} (pid ${j.child.pid}); no breakpoint yet, nothing suspended`);
    // jdb's default "catch uncaught java.lang.Throwable" would suspend the whole VM on any uncaught exception.
    let m = j.mark();
    j.send('ignore uncaught java.lang.Throwable');
    await j.expect(/Removed:|Not found|Usage/, m, 5_000);
    const client: ZkWireClient = await ens.connectClient(F);
    say(`step 2: client session ${hex(client.sessionId)} on follower ${F}, timeout ${client.sessionTimeoutMs} ms (createSession is a txn)`);
    const synced = await waitAgreed(ens, SIDS);
    const committedZxid = synced.get(L)!.zxid!;
    say(`step 2: ${ens.showStatus(synced)} (srvr's Zxid is the data tree's last applied zxid)`);

    // ---- Step 3: the slow follower, the breakpoint, then the write through F
    proxyOutput.print = 'all';
    proxy(G, L).down.rules([PROPOSAL]);
    say(`step 3: holding ${L}->${G} from the next PROPOSAL on (PINGs are not printed)`);
    if (NO_APPLY_HOLD) say('step 3: --no-apply-hold (a control run): no breakpoint; the leader applies the write at once');
    else {
      m = j.mark();
      j.send(`stop thread in ${BREAKPOINT}`);
      const armed = await j.expect(/Set breakpoint[^\n]*|Deferring breakpoint[^\n]*|Unable to set[^\n]*|not a valid[^\n]*/, m, 10_000);
      if (armed === null || !/^Set breakpoint/.test(armed[0])) return { verdict: 'INCONCLUSIVE', why: `jdb did not set the breakpoint on ${BREAKPOINT}: ${armed?.[0] ?? 'no answer within 10 s'}`, facts };
    }
    const hitMark = j.mark();
    const reply = createInBackground(client, '/x', 'committed write', `follower ${F}`);
    const proposal = await waitFor('PROPOSAL to F', 10_000, () => proxy(F, L).down.find((s) => s.type === PROPOSAL && s.zxid > committedZxid && s.action === 'forwarded'));
    if (proposal === null) throw new Diverged('3', `the leader's PROPOSAL did not reach ${F} within 10 s`);
    const z = proposal.zxid;
    const ackF = await waitFor('ACK of F', 10_000, () => proxy(F, L).up.find((s) => s.type === ACK && s.zxid === z));
    if (ackF === null) throw new Diverged('3', `${F} did not ACK ${hex(z)} within 10 s`);
    const commitF = await waitFor('COMMIT to F', 10_000, () => proxy(F, L).down.find((s) => s.type === COMMIT && s.zxid === z && s.action === 'forwarded'));
    if (commitF === null) throw new Diverged('3', `leader ${L} did not send COMMIT ${hex(z)} to ${F} within 10 s (ACKs {${L}, ${F}} are a quorum of 3)`);
    let hold: Hold | null = null;
    if (!NO_APPLY_HOLD) {
      const h = await inspectHold(j, hitMark, z, L);
      if (typeof h === 'string') return { verdict: 'INCONCLUSIVE', why: h, facts };
      hold = h;
    }
    const got = await waitFor('client reply', 10_000, () => reply(), 20);
    if (got === null) throw new Diverged('3', `no reply to create /x within 10 s after ${F} got COMMIT ${hex(z)}`);
    if (!got.ok) throw new Diverged('3', `create /x failed: ${got.text}`);
    const read = await client.exists('/x').then(
      (st) => (st === null ? 'absent' : `present, czxid ${hex(st.czxid)}`),
      (e: Error) => `no answer (${e.message})`,
    );
    const st3 = await ens.status(SIDS);
    const fLog = loggedZxids(srv(F));
    if (!fLog.includes(z)) throw new Diverged('3', `${F} ACKed ${hex(z)} but its txn log on disk does not have it (last ${lastZ(srv(F))})`);
    if (hold !== null && st3.get(L)?.zxid !== committedZxid) throw new Diverged('3', `leader ${L}'s srvr zxid is ${hex(st3.get(L)?.zxid ?? 0n)}, not ${hex(committedZxid)}: its apply was not held`);
    say(`step 3: proposal ${hex(z)}; ${F} logged it (txn log on disk ends at ${lastZ(srv(F))}) and ACKed it; leader ${L} sent COMMIT ${hex(z)} to ${F} at ${commitF.at.trim()}; held on ${L}->${G}: ${proxy(G, L).down.describe((s) => s.action === 'held')}`);
    say(`step 3: the client got success at ${got.at.trim()} (${got.text}); a read on ${F}: /x ${read}; srvr: ${ens.showStatus(st3)} (leader ${L} ${st3.get(L)?.zxid === committedZxid ? 'has not applied' : 'has applied'} ${hex(z)}; its txn log on disk ${loggedZxids(srv(L)).includes(z) ? 'has' : 'lacks'} it)`);
    facts.push(`txn ${hex(z)} (create /x, sent to ${F}) proposed; ${F} logged and ACKed it; leader ${L} committed it with {${L}, ${F}} and sent COMMIT to ${F}; ${G}'s PROPOSAL and COMMIT held`);
    if (hold !== null) facts.push(`leader ${L}'s apply of ${hex(z)} held by the jdb breakpoint (${hold.worker} suspended in ToBeAppliedRequestProcessor.processRequest, request.zxid = ${hex(hold.heldZxid)}; ${hold.lockText}); srvr on ${L}: ${hex(st3.get(L)?.zxid ?? 0n)}, on ${F}: ${hex(st3.get(F)?.zxid ?? 0n)}`);
    else facts.push(`--no-apply-hold: leader ${L}'s apply not held; srvr on ${L}: ${hex(st3.get(L)?.zxid ?? 0n)}, on ${F}: ${hex(st3.get(F)?.zxid ?? 0n)}`);
    facts.push(`the client got success for create /x from ${F}; a read on ${F} saw /x (${read})`);

    // ---- Step 4: F's connection breaks; F rejoins; TRUNC of a committed txn
    if (LET_RESENT_THROUGH) proxy(F, L).down.rules([NEWLEADER]);
    else proxy(F, L).down.rules([], [TRUNC]);
    const closed = proxy(F, L).breakConnections();
    const brokeAt = stamp();
    say(`step 4: broke ${F}'s connection to leader ${L} (${closed} socket(s) closed by the proxy; no server crashed); holding ${L}->${F} from ${LET_RESENT_THROUGH ? 'the next NEWLEADER on (--let-resent-through: an experiment)' : 'the packet after the next TRUNC on'}`);
    const notSame = (s: Seen) => s.conn !== proposal.conn;
    const syncPkt = await waitFor('sync packet to F', 30_000, () => proxy(F, L).down.find((s) => notSame(s) && [DIFF, TRUNC, SNAP].includes(s.type)));
    if (syncPkt === null) throw new Diverged('4', `server ${F} did not get a sync packet from leader ${L} within 30 s after its connection broke (${ens.showStatus(await ens.status(SIDS))})`);
    say(`step 4: ${F}'s log: "${lastWithNext(srv(F), /Exception when following the leader/)}", then "${tail(logLines(srv(F), /FOLLOWING - LEADER ELECTION TOOK/).at(-1))}"`);
    const ackEpoch = proxy(F, L).up.find((s) => notSame(s) && s.type === ACKEPOCH);
    say(`step 4: ${F} rejoined (conn#${syncPkt.conn}); its ACKEPOCH carries last zxid ${ackEpoch ? hex(ackEpoch.zxid) : '?'}`);
    const syncLine = await waitFor('sync line', 3_000, () => logLines(srv(L), new RegExp(`Synchronizing with Learner sid: ${F} `)).at(-1), 50);
    say(`step 4: leader's log: ${tail(syncLine ?? undefined)}`);
    if (syncPkt.type !== TRUNC) throw new Diverged('4', `leader ${L} synced the rejoining ${F} with ${typeName(syncPkt.type)} ${hex(syncPkt.zxid)}, not TRUNC`);
    const truncated = await waitFor('F truncated', 8_000, () => {
      if (logLines(srv(F), /Truncating log to get in sync/).length === 0) return null;
      const zs = loggedZxids(srv(F));
      return zs.includes(z) ? null : zs;
    });
    if (truncated === null) throw new Diverged('4', `server ${F} did not truncate ${hex(z)} from its txn log within 8 s (log: ${logLines(srv(F), /Truncat/).at(-1) ?? 'no Truncating line'})`);
    const newLeader = await waitFor('NEWLEADER held', 5_000, () => proxy(F, L).down.find((s) => s.conn === syncPkt.conn && s.type === NEWLEADER));
    const exceptionLine = logLines(srv(F), /Exception when following the leader/).at(-1);
    const truncLine = logLines(srv(F), /Truncating log to get in sync/).at(-1);
    const tookMs = (logMs(truncLine) ?? NaN) - (logMs(exceptionLine) ?? NaN);
    say(`step 4: ${F} logged "${tail(truncLine)}" ${Number.isNaN(tookMs) ? '' : `${tookMs} ms after its "Exception when following the leader"`}; its txn log on disk now ends at ${hex(truncated.at(-1) ?? 0n)}, ${hex(z)} absent`);
    say(`step 4: leader ${L} to ${F} on the new connection: ${proxy(F, L).down.describe((s) => s.conn === syncPkt.conn)}${newLeader === null ? ' (no NEWLEADER seen within 5 s)' : ''}`);
    const resent = proxy(F, L).down.find((s) => s.conn === syncPkt.conn && s.type === PROPOSAL && s.zxid === z);
    const recommit = proxy(F, L).down.find((s) => s.conn === syncPkt.conn && s.type === COMMIT && s.zxid === z);
    const st4 = await ens.status([L]);
    const hits = (j.since(hitMark).match(/Breakpoint hit/g) ?? []).length;
    say(`step 4: leader ${L}: srvr zxid ${hex(st4.get(L)?.zxid ?? 0n)}; jdb ${j.alive ? 'attached' : 'GONE'}, ${hits} breakpoint hit(s) so far`);
    if (hold !== null && st4.get(L)?.zxid !== committedZxid) throw new Diverged('4', `leader ${L} applied something (srvr zxid ${hex(st4.get(L)?.zxid ?? 0n)}) while its apply of ${hex(z)} was to be held`);
    if (st4.get(L)?.mode !== 'leader') throw new Diverged('4', `server ${L} is no longer leading (mode ${st4.get(L)?.mode ?? 'no answer'})`);
    facts.push(`${F}'s connection broken at ${brokeAt.trim()}; ${F} rejoined ${L} with last zxid ${ackEpoch ? hex(ackEpoch.zxid) : '?'}; the leader ("${tail(syncLine ?? undefined)}") sent TRUNC ${hex(syncPkt.zxid)}${resent ? `, PROPOSAL ${hex(z)}` : ''}${recommit ? `, COMMIT ${hex(z)}` : ''}${newLeader ? ', NEWLEADER' : ''} (${LET_RESENT_THROUGH ? 'NEWLEADER held' : 'all after the TRUNC held'}); ${F} truncated the committed ${hex(z)} from its txn log on disk${Number.isNaN(tookMs) ? '' : `, ${tookMs} ms after its connection failed (its log's times)`}`);

    if (LET_RESENT_THROUGH) {
      await sleep(500); // F applies the re-sent COMMIT during the sync
      const fz = (await ens.status([F])).get(F)?.zxid;
      say(`step 4: --let-resent-through: ${F}'s srvr zxid is now ${fz === undefined || fz === null ? '? (not serving while it syncs)' : hex(fz)}; its txn log on disk ${loggedZxids(srv(F)).includes(z) ? 'has' : 'lacks'} ${hex(z)}`);
    }

    // ---- Step 5: the leader dies; F and G elect
    const pidL = await ens.kill9(L);
    const pidJ = await j.stop();
    say(`step 5: kill -9 leader ${L} (pid ${pidL}); stopped jdb (pid ${pidJ})`);
    proxyOutput.print = 'sync';
    say(`step 5: txn logs on disk: ${L}: ${loggedZxids(srv(L)).includes(z) ? 'has' : 'lacks'} ${hex(z)}; ${F}: ${loggedZxids(srv(F)).includes(z) ? 'has' : 'lacks'} ${hex(z)}; ${G}: ${loggedZxids(srv(G)).includes(z) ? 'has' : 'lacks'} ${hex(z)}`);
    const { L2, survivors, lost, rejoined, all } = await aftermath(ens, SIDS, { L, F, G, z, step: 5 }, facts, {
      elected: (leader) => {
        const other = leader === F ? G : F;
        say(`step 5: leader ${leader}'s log: ${tail(logLines(srv(leader), new RegExp(`Synchronizing with Learner sid: ${other} `)).at(-1))}; ${other} got ${proxy(other, leader).down.describe((s) => [DIFF, TRUNC, SNAP].includes(s.type))}`);
      },
      restartNote: '; no debugger attached',
      rejoined: (leader) => `; leader ${leader}'s log: ${tail(logLines(srv(leader), new RegExp(`Synchronizing with Learner sid: ${L} `)).at(-1))}`,
    });

    if (lost) {
      const stillLost = all.every(([, e]) => !e.startsWith('present'));
      return {
        verdict: 'REPRODUCED',
        why: `create /x (${hex(z)}) was committed by {${L}, ${F}}, applied on ${F} and acknowledged to the client, then absent on ${F} and ${G} under leader ${L2} with only ${L} down${stillLost ? `, and still absent on every server after ${L} rejoined` : ', but present again somewhere after it rejoined'}`,
        facts,
      };
    }
    // With --let-resent-through, F leads with /x applied in memory only (not in its committedLog): G, synced by DIFF
    // from that committedLog, never gets it, while a SNAP (L's rejoin) carries it. Say so if the replicas disagree.
    const present = all.filter(([, e]) => e.startsWith('present')).map(([sid]) => sid);
    const absent = all.filter(([, e]) => e === 'absent').map(([sid]) => sid);
    const zs3 = rejoined === null ? '' : ` though all report zxid ${[...new Set([...rejoined.values()].map((x) => hex(x?.zxid ?? 0n)))].join('/')}`;
    const diverged = present.length > 0 && absent.length > 0 ? `; but the replicas DIVERGED after step 6: /x present on ${present.join(', ')}, absent on ${absent.join(', ')}${zs3}` : '';
    if (diverged !== '') facts.push(`replica divergence${zs3}: /x present on ${present.join(', ')}, absent on ${absent.join(', ')}`);
    return { verdict: 'NOT REPRODUCED', why: `step 5: /x is present on the ensemble of ${F}, ${G} (${survivors.map(([sid, e]) => `${sid} ${e}`).join(', ')})${LET_RESENT_THROUGH ? ' (expected with --let-resent-through)' : ''}${diverged}`, facts };
  } catch (e) {
    if (e instanceof Diverged) return { verdict: 'NOT REPRODUCED', why: `step ${e.step}: ${e.message}${NO_APPLY_HOLD ? ' (expected with --no-apply-hold)' : ''}`, facts };
    return { verdict: 'INCONCLUSIVE', why: `the harness failed: ${(e as Error).message}`, facts };
  } finally {
    if (jdb !== null && jdb.alive) say(`cleanup: jdb pid ${await jdb.stop()} killed`);
    await ens.close();
  }
}

handleArgs(
  reproUsage(
    'repro:trunc-committed',
    `Finding #2 of docs/findings.md (a committed txn TRUNCated away from a rejoining follower) against a real Apache
ZooKeeper 3.8.0 ensemble of 3 servers; the leader's apply is held with jdb (Debian: openjdk-17-jdk-headless).`,
    [
      { flag: 'let-resent-through', help: 'an experiment: hold only NEWLEADER, so the PROPOSAL and COMMIT resent after the TRUNC reach the follower' },
      { flag: 'no-apply-hold', help: "do not hold the leader's apply (the control run: no TRUNC of the committed txn)" },
    ],
  ),
);
runScenario(RUN_LIMIT_MS, main);
