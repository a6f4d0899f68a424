// A chart of Apache ZooKeeper's own server logs (one file per server), as `npm run conform` reads them
// (checker/conform/zookeeper/): each protocol line ZooKeeper logs is an event of its server, in the order of
// their timestamps. ZooKeeper does not log its packets, so the only arrows are the sync decisions: the leader's
// "Sending DIFF/TRUNC/SNAP" to the learner's line that it got one. Conform's check of the logs marks where no
// spec path explains a line, and where an invariant breaks.
import { checkZooKeeperLogs, type ZkCheckResult } from '../conform/zookeeper/check.ts';
import type { Observation } from '../conform/zookeeper/mapping.ts';
import { readZooKeeperLogs, type Seen } from '../conform/zookeeper/observe.ts';
import { compact } from '../report/counterexample.ts';
import { arrowsOf, type ChartChange, type ChartData, type ChartDivergence, type ChartEvent, type ChartMessage } from './data.ts';
import { zxidToHex } from '../../traces/zxid.ts';

/** An observation as an event: a name, its params, and the variables it tells. */
function describe(o: Observation): { action: string; params: string; vars: Record<string, string> } {
  switch (o.kind) {
    case 'start':
      return { action: 'ServerStart', params: `myid=${o.myid}`, vars: { online: 'true', state: 'LOOKING' } };
    case 'loaded':
      return { action: 'LoadedDatabase', params: `zxid=${zxidToHex(o.zxid)}`, vars: { lastZxid: zxidToHex(o.zxid) } };
    case 'looking':
      return { action: 'LOOKING', params: '', vars: { state: 'LOOKING' } };
    case 'newElection':
      return { action: 'FLEStartElection', params: `id=${o.id} zxid=${zxidToHex(o.zxid)}`, vars: {} };
    case 'notification':
      return { action: 'FLENotification', params: `from=${o.from} leader=${o.leader} round=${o.round} state=${o.state} peerEpoch=${o.peerEpoch} zxid=${zxidToHex(o.zxid)}`, vars: {} };
    case 'peerState':
      return { action: 'PeerState', params: `${o.role}${o.zab === null ? '' : ` ${o.zab}`}${o.sync === null ? '' : ` ${o.sync}`}`, vars: { state: o.role.toUpperCase(), ...(o.zab === null ? {} : { zabState: o.zab }) } };
    case 'observingLeader':
      return { action: 'ObservingLeader', params: `leader=${o.leader}`, vars: {} };
    case 'learnerInfo':
      return { action: 'LeaderProcessFOLLOWERINFO', params: `peer=${o.peer}`, vars: {} };
    case 'syncDecision':
      return { action: 'LeaderSyncFollower', params: `peer=${o.peer} maxCommitted=${zxidToHex(o.maxCommitted)} minCommitted=${zxidToHex(o.minCommitted)} peerLast=${zxidToHex(o.peerLast)}`, vars: {} };
    case 'syncSend':
      return { action: `Send${o.mode}`, params: `peer=${o.peer} zxid=${zxidToHex(o.zxid)}`, vars: {} };
    case 'learnerSync':
      return { action: `LearnerProcess${o.mode}`, params: `zxid=${zxidToHex(o.zxid)}`, vars: {} };
    case 'newLeader':
      return { action: 'LearnerProcessNEWLEADER', params: '', vars: {} };
    case 'upToDate':
      return { action: 'LearnerProcessUPTODATE', params: '', vars: {} };
    case 'quorumOfSupporters':
      return { action: 'LeaderQuorumOfSupporters', params: `sids=${o.sids.join(',')} zxid=${zxidToHex(o.zxid)}`, vars: {} };
    case 'learnerLost':
      return { action: 'ConnectionLost', params: `why=${JSON.stringify(o.why)}`, vars: {} };
    case 'leaderShutdown':
      return { action: 'LeaderStepDown', params: `why=${JSON.stringify(o.why)}`, vars: {} };
    case 'proposing':
      return { action: 'LeaderProcessRequest', params: `zxid=${zxidToHex(o.zxid)}`, vars: { lastZxid: zxidToHex(o.zxid) } };
    default: {
      const never: never = o;
      return { action: String((never as { kind: string }).kind), params: '', vars: {} };
    }
  }
}

export function chartOfZooKeeperLogs(paths: readonly string[], options: { conform?: boolean; config?: string } = {}): ChartData {
  const run = readZooKeeperLogs(paths);
  const seen: Seen[] = run.servers.flatMap((s) => s.seen).sort((a, b) => a.time - b.time || a.sid - b.sid || a.line - b.line);
  const events: ChartEvent[] = [];
  // The leader's sync decision sent to each learner, waiting for the learner's line that it got it.
  const pending = new Map<number, ChartMessage>();
  let n = 0;
  for (const s of seen) {
    const d = describe(s.obs);
    let send: ChartMessage[] = [];
    let recv: ChartMessage | null = null;
    // The opening packet: its own "Sending ..." line, or that line folded into the sync decision.
    const opening = s.obs.kind === 'syncSend' ? s.obs : s.send;
    if (opening !== undefined) {
      const m = { id: `${s.sid}:sync-${++n}`, from: s.sid, to: opening.peer, type: opening.mode, text: `${opening.mode} ${s.sid}->${opening.peer} {zxid:${zxidToHex(opening.zxid)}}` };
      pending.set(opening.peer, m);
      send = [m];
    } else if (s.obs.kind === 'learnerSync') {
      const m = pending.get(s.sid);
      if (m !== undefined && m.type === s.obs.mode) {
        recv = m;
        pending.delete(s.sid);
      }
    }
    const changes: ChartChange[] = Object.entries(d.vars).map(([name, value]) => ({ sid: s.sid, name, value }));
    events.push({ sid: s.sid, action: d.action, params: d.params, recv, send, changes, where: `${s.file}:${s.line}`, time: s.time });
  }
  const notes = [`${events.length} protocol lines of ${run.servers.length} server(s) (${run.lines} lines read), in the order of their timestamps; ZooKeeper does not log its packets: the arrows are the sync decisions`];
  let result: ZkCheckResult | null = null;
  if (options.conform !== false) {
    try {
      result = checkZooKeeperLogs({ paths, ...(options.config === undefined ? {} : { config: options.config }) });
      notes.push(`conform: ${result.ok ? 'CONFORMS' : `DIVERGES${result.divergence === null ? '' : ` at ${result.divergence.seen.file}:${result.divergence.seen.line}`}`}; ${result.stats.matched} lines matched, ${result.stats.inferred} spec steps inferred`);
    } catch (e) {
      notes.push(`conform could not judge these logs: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // Invariants broken on every path conform kept: the row of the line after which they break.
  const brokenAt = new Map<string, string[]>();
  for (const p of result?.properties ?? []) {
    if (p.verdict === 'holds' || p.at === undefined) continue;
    const k = `${p.at.file}:${p.at.line}`;
    brokenAt.set(k, [...(brokenAt.get(k) ?? []), `${p.name}${p.verdict === 'possible' ? ' (on some paths)' : ''}`]);
  }
  const withBroken = events.map((e) => (brokenAt.has(e.where!) ? { ...e, broken: brokenAt.get(e.where!)! } : e));
  let divergence: ChartDivergence | null = null;
  const d = result?.divergence ?? null;
  if (d !== null) {
    const where = `${d.seen.file}:${d.seen.line}`;
    const at = withBroken.findIndex((e) => e.where === where);
    divergence = {
      at: at < 0 ? null : at,
      where,
      headline: `no spec path explains server ${d.seen.sid}'s line ${where}: ${d.why}`,
      enabled: d.enabled,
      nearest: [d.seen.text],
      specState: Object.fromEntries(Object.entries(d.specState).map(([sid, v]) => [sid, compact(v)])),
      logged: d.seen.text,
    };
  }
  const observers = new Set(run.servers.filter((s) => s.observer).map((s) => s.sid));
  return {
    title: `ZooKeeper logs: ${paths.join(' ')}`,
    source: 'impl',
    spec: result?.spec.name ?? '(not conformed)',
    files: run.servers.flatMap((s) => s.files),
    servers: run.servers.map((s) => ({ sid: s.sid, role: observers.has(s.sid) ? 'observer' : 'participant' })),
    init: Object.fromEntries(run.servers.map((s) => [String(s.sid), {}])),
    events: withBroken,
    arrows: arrowsOf(withBroken),
    verdict: null,
    divergence,
    notes,
  };
}
