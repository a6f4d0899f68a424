// Finding #1 of docs/findings.md (a stale ACK counted after a TRUNC) tried against a real Apache ZooKeeper 3.8.0
// ensemble: Debian's package, 5 servers on loopback, each learner->leader quorum connection through a TCP proxy of
// ours that parses ZooKeeper's quorum stream and can hold one direction from a given packet type on
// (harness/zookeeper/: the wiring, the stream parser, the proxies, the servers' start and stop).
//
// Run: `npx tsx scripts/repro-stale-ack.ts` (needs `bash bench/zookeeper-install.sh` once). It prints a
// step-by-step log and one verdict line: REPRODUCED, NOT REPRODUCED (with the step that went otherwise than the spec
// predicts, and why), or INCONCLUSIVE (the harness itself failed).
//
// Every java process is started here and stopped by its PID (SIGKILL) at the end, on error, on Ctrl-C and on exit;
// with util-linux's setpriv a server also dies with this process. Everything is bounded: each wait has a deadline
// and the whole run has one (RUN_LIMIT_MS). The temp directory is removed at the end.
import { loadavg } from 'node:os';
import { srvr } from '../impl/zkwire/four-letter.ts';
import {
  createInBackground,
  ACK, DIFF, Diverged, ZkEnsemble, hex, kill9, logLines, loggedZxids, type Outcome, preflight, PROPOSAL, proxyOutput, handleArgs, reproUsage, runScenario, say, sleep,
  SNAP, TRUNC, typeName, waitFor,
  INIT_LIMIT, SYNC_LIMIT, TICK_MS,
  waitAgreed,
} from '../harness/zookeeper/index.ts';

const SIDS = [1, 2, 3, 4, 5] as const;
const RUN_LIMIT_MS = 175_000;

async function main(): Promise<Outcome> {
  const facts: string[] = [];
  const pre = preflight();
  if (!pre.ok) return { verdict: 'INCONCLUSIVE', why: pre.why, facts };
  say(`Apache ZooKeeper ${pre.version} (Debian package), 5 servers on loopback, tickTime ${TICK_MS} ms, initLimit ${INIT_LIMIT}, syncLimit ${SYNC_LIMIT}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const ens = new ZkEnsemble({ sids: SIDS, tickMs: TICK_MS, initLimit: INIT_LIMIT, syncLimit: SYNC_LIMIT, tmpPrefix: 'zk-stale-ack-' }, pre.classpath, pre.setpriv);
  const srv = (sid: number) => ens.srv(sid);
  const proxy = (from: number, to: number) => ens.proxy(from, to);
  const start = (sid: number) => ens.start(sid);
  const status = (sids: readonly number[]) => ens.status(sids);
  const showStatus = (m: Awaited<ReturnType<typeof status>>) => ens.showStatus(m);
  const formed = (sids: readonly number[]) => ens.formed(sids);
  const connectClient = (sid: number) => ens.connectClient(sid);
  const existsOn = (sid: number) => ens.existsOn(sid, '/x');
  try {
    await ens.setup();

    // ---- Step 1: the ensemble
    say('step 1: starting 5 servers');
    for (const sid of SIDS) start(sid);
    const first = await waitFor('ensemble', 70_000, () => formed(SIDS), 500);
    if (first === null) throw new Error(`no leader with 4 followers within 70 s: ${showStatus(await status(SIDS))}`);
    say(`step 1: ${showStatus(first)}`);
    const L = [...first].find(([, x]) => x?.mode === 'leader')![0];
    const followers = SIDS.filter((s) => s !== L);
    // The finding's roles, by position among the followers (with leader 5: C=1, B=2, A=3, D=4).
    const [C, B, A, D] = followers as [number, number, number, number];
    say(`roles: leader ${L}; ${A} ACKs then rejoins and is TRUNCated; ${B}'s ACK is held; ${C} and ${D} never get the PROPOSAL${L === 5 ? '' : ' (the leader is not 5 as expected; roles assigned among the followers the same way)'}`);
    facts.push(`leader ${L} elected at start; roles A=${A} (ACK, rejoin, TRUNC), B=${B} (held ACK), C=${C}, D=${D} (no PROPOSAL)`);

    // ---- Step 2: a session, committed everywhere
    const client = await connectClient(L);
    say(`step 2: client session ${hex(client.sessionId)} on leader ${L}, timeout ${client.sessionTimeoutMs} ms (createSession is a txn)`);
    const synced = await waitAgreed(ens, SIDS);
    const committedZxid = synced.get(L)!.zxid!;
    say(`step 2: ${showStatus(synced)}`);

    // ---- Step 3: hold, then the write
    proxyOutput.print = 'all';
    proxy(C, L).down.rules([PROPOSAL]);
    proxy(D, L).down.rules([PROPOSAL]);
    proxy(B, L).up.rules([ACK]);
    const holdStart = performance.now();
    say(`step 3: holding ${L}->${C} and ${L}->${D} from the next PROPOSAL on, ${B}->${L} from the next ACK on (PINGs are not printed)`);
    const reply = createInBackground(client, '/x', 'acknowledged write');
    const proposal = await waitFor('PROPOSAL to A', 10_000, () => proxy(A, L).down.find((s) => s.type === PROPOSAL && s.zxid > committedZxid && s.action === 'forwarded'));
    if (proposal === null) throw new Diverged('3', `the leader's PROPOSAL did not reach ${A} within 10 s`);
    const z = proposal.zxid;
    const ackA = await waitFor('ACK of A', 10_000, () => proxy(A, L).up.find((s) => s.type === ACK && s.zxid === z));
    if (ackA === null) throw new Diverged('3', `${A} did not ACK ${hex(z)} within 10 s`);
    const ackB = await waitFor('ACK of B held', 10_000, () => proxy(B, L).up.find((s) => s.type === ACK && s.zxid === z && s.action === 'held'));
    if (ackB === null) throw new Diverged('3', `${B}'s ACK of ${hex(z)} was not seen (held) within 10 s`);
    await sleep(500); // the leader reads A's ACK
    const early = reply();
    if (early !== null) throw new Diverged('3', `the client had a reply before a quorum could ACK: ${early.text}`);
    say(`step 3: proposal ${hex(z)}; ${A} ACKed it (forwarded to the leader), ${B}'s ACK is held; held on ${L}->${C}: ${proxy(C, L).down.describe((s) => s.action === 'held')}; on ${L}->${D}: ${proxy(D, L).down.describe((s) => s.action === 'held')}`);
    say(`step 3: txn logs on disk: ${[L, A, B, C, D].map((sid) => `${sid}: last ${hex(loggedZxids(srv(sid)).at(-1) ?? 0n)}`).join('; ')}; client reply: none yet`);
    facts.push(`txn ${hex(z)} (create /x) proposed; ${A} logged and ACKed it, ${B} logged it with its ACK held, ${C} and ${D} never got it; the only ACKs that could have reached the leader were its own and ${A}'s, 2 of 5, and no reply was sent`);

    // ---- Step 4: A crashes and rejoins; the sync packet is the last thing it gets
    const pidA = await kill9(srv(A));
    say(`step 4: kill -9 server ${A} (pid ${pidA}); its txn log ends at ${hex(loggedZxids(srv(A)).at(-1) ?? 0n)}`);
    proxy(A, L).down.rules([], [DIFF, TRUNC, SNAP]);
    start(A);
    say(`step 4: restarted server ${A} (pid ${srv(A).child?.pid}); holding ${L}->${A} after its sync packet (DIFF/TRUNC/SNAP)`);
    const syncPkt = await waitFor('sync packet to A', 30_000, () => proxy(A, L).down.find((s) => s.conn !== proposal.conn && [DIFF, TRUNC, SNAP].includes(s.type)));
    if (syncPkt === null) throw new Diverged('4', `server ${A} did not get a sync packet from leader ${L} within 30 s after its restart (${showStatus(await status(SIDS))})`);
    const syncLine = logLines(srv(L), new RegExp(`Synchronizing with Learner sid: ${A} `)).at(-1);
    if (syncLine) say(`step 4: leader's log: ${syncLine.replace(/^.* - /, '')}`);
    if (syncPkt.type !== TRUNC) throw new Diverged('4', `leader ${L} synced the rejoining ${A} with ${typeName(syncPkt.type)} ${hex(syncPkt.zxid)}, not TRUNC`);
    say(`step 4: leader sent TRUNC ${hex(syncPkt.zxid)} to ${A}; held after it on ${L}->${A}: ${proxy(A, L).down.describe((s) => s.conn === syncPkt.conn && s.action === 'held')}`);
    const truncated = await waitFor('A truncated', 15_000, () => {
      if (logLines(srv(A), /Truncating log to get in sync/).length === 0) return null;
      const zs = loggedZxids(srv(A));
      return zs.includes(z) ? null : zs;
    });
    if (truncated === null) throw new Diverged('4', `server ${A} did not truncate ${hex(z)} from its txn log within 15 s (log: ${logLines(srv(A), /Truncat/).at(-1) ?? 'no Truncating line'})`);
    await sleep(500);
    const pidA2 = await kill9(srv(A));
    const afterTrunc = loggedZxids(srv(A));
    say(`step 4: ${A} logged "${logLines(srv(A), /Truncating log/).at(-1)?.replace(/^.* - /, '')}"; kill -9 server ${A} (pid ${pidA2}); its txn log on disk now ends at ${hex(afterTrunc.at(-1) ?? 0n)}, ${hex(z)} ${afterTrunc.includes(z) ? 'PRESENT' : 'absent'}`);
    facts.push(`${A} restarted with ${hex(z)} in its log and rejoined ${L}; the leader's syncFollower sent TRUNC ${hex(syncPkt.zxid)}; ${A} truncated ${hex(z)} from its log on disk and was killed before it got the re-sent PROPOSAL`);

    // ---- Step 5: the held ACK
    const stillLeader = (await srvr(srv(L).clientPort))?.mode;
    if (stillLeader !== 'leader') throw new Diverged('5', `server ${L} is no longer leading (mode ${stillLeader ?? 'no answer'}) before the held ACK was released`);
    const released = proxy(B, L).up.release();
    say(`step 5: released ${released} held packet(s) on ${B}->${L} (${(performance.now() - holdStart) / 1000 | 0} s after the holds began): ${proxy(B, L).up.describe((s) => s.action === 'released')}`);
    const got = await waitFor('client reply', 10_000, () => reply());
    if (got === null) throw new Diverged('5', `no reply to create /x within 10 s after ${B}'s ACK was released: the leader did not commit with ACKs {${L}, ${A}, ${B}}`);
    if (!got.ok) throw new Diverged('5', `create /x failed: ${got.text}`);
    const lz = (await srvr(srv(L).clientPort))?.zxid;
    const commits = proxy(B, L).down.describe((s) => s.zxid === z);
    say(`step 5: the client got success for create /x; leader ${L} srvr zxid ${lz === undefined || lz === null ? '?' : hex(lz)}; ${L}->${B}: ${commits}`);
    // The leader's ack set is not visible from outside; what is: the only ACKs of z that reached it are A's (before A
    // truncated) and B's (just released), plus its own, and a commit needs 3 of 5.
    facts.push(`${B}'s ACK released: the leader committed ${hex(z)} and the client got success; the only ACKs of ${hex(z)} that had reached the leader were ${A}'s (sent before ${A} truncated it) and ${B}'s, plus its own, and only ${L} and ${B} still had ${hex(z)} on disk`);

    // ---- Step 6: the leader and B crash; A, C, D elect
    proxyOutput.print = 'sync';
    const pidL = await kill9(srv(L));
    const pidB = await kill9(srv(B));
    say(`step 6: kill -9 leader ${L} (pid ${pidL}) and server ${B} (pid ${pidB}); their txn logs end at ${hex(loggedZxids(srv(L)).at(-1) ?? 0n)} and ${hex(loggedZxids(srv(B)).at(-1) ?? 0n)}`);
    start(A);
    say(`step 6: restarted server ${A} (pid ${srv(A).child?.pid})`);
    const second = await waitFor('A, C, D elect', 60_000, () => formed([A, C, D]), 500);
    if (second === null) throw new Diverged('6', `servers ${A}, ${C}, ${D} did not form an ensemble within 60 s: ${showStatus(await status([A, C, D]))}`);
    const L2 = [...second].find(([, x]) => x?.mode === 'leader')![0];
    say(`step 6: ${showStatus(second)}; new leader ${L2}`);
    const seen3 = await Promise.all([A, C, D].map(async (sid) => [sid, await existsOn(sid), loggedZxids(srv(sid)).includes(z)] as const));
    say(`step 6: /x on ${seen3.map(([sid, e, inLog]) => `${sid}: ${e} (${hex(z)} ${inLog ? 'in' : 'not in'} its txn log)`).join('; ')}`);
    const lost = seen3.every(([, e]) => e === 'absent');
    facts.push(`${L} and ${B} killed; ${A}, ${C}, ${D} (a quorum of 5) elected ${L2}; /x there: ${seen3.map(([sid, e]) => `${sid} ${e}`).join(', ')}`);

    // ---- Step 7: everyone back
    start(B);
    start(L);
    say(`step 7: restarted ${B} (pid ${srv(B).child?.pid}) and ${L} (pid ${srv(L).child?.pid})`);
    const third = await waitFor('all 5', 60_000, () => formed(SIDS), 500);
    if (third === null) say(`step 7: not all 5 formed one ensemble within 60 s: ${showStatus(await status(SIDS))}`);
    else say(`step 7: ${showStatus(third)}`);
    for (const sid of [B, L]) {
      const tl = logLines(srv(sid), /Truncating log|Getting a (diff|snapshot)/).at(-1);
      if (tl) say(`step 7: ${sid}'s log: ${tl.replace(/^.* - /, '')}`);
    }
    const seen5 = await Promise.all(SIDS.map(async (sid) => [sid, await existsOn(sid), loggedZxids(srv(sid)).includes(z)] as const));
    say(`step 7: /x on ${seen5.map(([sid, e, inLog]) => `${sid}: ${e} (${hex(z)} ${inLog ? 'in' : 'not in'} its txn log)`).join('; ')}`);
    facts.push(`${B} and ${L} restarted${third === null ? ' (the 5 did not all re-form within 60 s)' : ''}; /x: ${seen5.map(([sid, e]) => `${sid} ${e}`).join(', ')}`);

    if (lost) {
      const stillLost = seen5.every(([, e]) => !e.startsWith('present'));
      return {
        verdict: 'REPRODUCED',
        why: `create /x (${hex(z)}) was acknowledged to the client, then absent on ${A}, ${C}, ${D} under leader ${L2} with ${L} and ${B} down${stillLost ? `, and still absent on every server after ${B} and ${L} rejoined` : ', but present again somewhere after all rejoined'}`,
        facts,
      };
    }
    return { verdict: 'NOT REPRODUCED', why: `step 6: /x is present on the ensemble of ${A}, ${C}, ${D} (${seen3.map(([sid, e]) => `${sid} ${e}`).join(', ')})`, facts };
  } catch (e) {
    if (e instanceof Diverged) return { verdict: 'NOT REPRODUCED', why: `step ${e.step}: ${e.message}`, facts };
    return { verdict: 'INCONCLUSIVE', why: `the harness failed: ${(e as Error).message}`, facts };
  } finally {
    await ens.close();
  }
}

handleArgs(
  reproUsage(
    'repro:stale-ack',
    `Finding #1 of docs/findings.md (a stale ACK counted after a TRUNC loses a committed write) against a real
Apache ZooKeeper 3.8.0 ensemble of 5 servers on loopback, each quorum link through a proxy of ours.`,
    [],
  ),
);
runScenario(RUN_LIMIT_MS, main);
