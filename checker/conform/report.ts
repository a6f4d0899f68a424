// The text form of a conform result (the --json form is the result object itself). Its first line is the verdict.
import type { InputProblem } from './reader.ts';
import type { ConformResult, EventView } from './run.ts';

function fmtEvent(e: EventView): string {
  const parts = [`${e.file}:${e.line}`, `server ${e.sid} #${e.seq} ${e.action}`];
  if (e.params !== undefined) parts.push(`params ${JSON.stringify(e.params)}`);
  if (e.recv !== undefined) parts.push(`recv ${JSON.stringify(e.recv)}`);
  if (e.send !== undefined) parts.push(`send ${e.send.length} message(s)`);
  if (e.post !== undefined) parts.push(`post ${JSON.stringify(e.post)}`);
  return parts.join('  ');
}

const at = (p: InputProblem) => `${p.file}:${p.line}`;
/** At most this many problems of one kind are listed one per line; the rest are counted. */
const LIST = 10;

function list(out: string[], label: string, ps: readonly InputProblem[]): void {
  for (const p of ps.slice(0, LIST)) out.push(`${label}: ${at(p)}: ${p.message}`);
  if (ps.length > LIST) out.push(`${label}: ... and ${ps.length - LIST} more`);
}

/** What the input misses, in one phrase: counts, each kind named. */
function missingSummary(r: ConformResult): string {
  const m = r.incomplete;
  const parts: string[] = [];
  if (m.orphans > 0) parts.push(`${m.orphans} message(s) received whose send is in no log`);
  if (m.gaps.length > 0) parts.push(`${m.gaps.length} gap(s) in a server's seq (events missing)`);
  if (m.torn.length > 0) parts.push(`${m.torn.length} log(s) ending in the middle of a line`);
  return parts.join(', ');
}

export function formatResult(r: ConformResult): string {
  const out: string[] = [];
  const s = r.stats;
  const m = r.incomplete;
  if (r.verdict === 'input-error') {
    const p = r.problems[0]!;
    out.push(`INPUT ERROR: ${at(p)}: ${p.message} (${r.problems.length} line(s) that do not decode: the input is damaged and nothing was judged)`);
    out.push(`conform: ${r.files.length} file(s), ${r.source === 'check' ? 'a trace written by check' : 'implementation logs'}`);
    list(out, 'malformed', r.problems);
    return out.join('\n');
  }
  if (r.verdict === 'incomplete') {
    const first = m.gaps[0] !== undefined ? `${at(m.gaps[0])}: ${m.gaps[0].message}` : m.firstOrphan !== null ? `${m.firstOrphan.file}:${m.firstOrphan.line}: received ${m.firstOrphan.id}, whose send is in no log` : m.torn[0] !== undefined ? `${at(m.torn[0])}: ${m.torn[0].message}` : 'the input misses parts';
    out.push(`INCOMPLETE: ${first} (${missingSummary(r)}: no verdict on the system${r.divergence !== null ? '; the search also stopped at an event it could not explain, below' : '; every event that was logged is explained'})`);
  } else if (r.verdict === 'stalled') {
    out.push(`STALLED: every logged event is explained, but the run ended quiet with ${r.obligations.length} step(s) the protocol still owed; the first: ${r.obligations[0]!.what}`);
  } else if (r.verdict === 'overdue') {
    const o = r.overdue[0]!;
    out.push(`OVERDUE: every logged event is explained, but ${r.overdue.length} timed obligation(s) were not met; the first: server ${o.sid} owed ${o.action} within ${o.boundMs} ms of ${o.since.file}:${o.since.line}: ${o.what}`);
  } else if (r.verdict === 'pass') {
    out.push(`PASS: every logged event is explained by a spec path${s.bounded ? ' (BOUNDED: the search dropped nodes past --max-nodes; a divergence could have been missed only in that sense: the path found is real)' : ''}`);
  } else {
    out.push(`DIVERGENCE: no spec path explains an event${s.bounded ? ' (the search was bounded by --max-nodes)' : ''}: ${r.divergence!.event.file}:${r.divergence!.event.line}`);
  }
  out.push(`conform: ${r.files.length} file(s), ${r.source === 'check' ? 'a trace written by check' : 'implementation logs'}`);
  out.push(`spec: ${r.spec.name}`);
  list(out, 'missing', m.gaps);
  if (m.firstOrphan !== null) out.push(`missing: ${m.orphans} message(s) received whose send is in no log; the first at ${m.firstOrphan.file}:${m.firstOrphan.line} (id ${m.firstOrphan.id})`);
  list(out, 'cut short', m.torn);
  const counts =
    `${s.events} events (${s.steps} logged steps), ${s.specStepsOnPath} spec steps on the path, ${s.statesExplored} spec states explored, ` +
    `${(s.timeMs / 1000).toFixed(2)} s; ${s.nodesExpanded} search nodes expanded (at most ${s.maxNodesPerLevel} per step), ${s.rewinds} rewind(s), ${s.maxBuffered} steps buffered` +
    (s.bridges > 0 ? `; ${s.bridges} bridged event(s) (resent votes, lost notifications)` : '') +
    (s.orphans > 0 ? `; ${s.orphans} message(s) received whose send is in no log` : '') +
    (m.torn.length > 0 ? `; ${m.torn.length} last line(s) cut short (a kill -9), not read` : '');
  const d = r.divergence;
  if (d === null) {
    for (const o of r.obligations) out.push(`owed: ${o.what}`);
    for (const o of r.overdue) out.push(`overdue: ${o.what}`);
    out.push(counts);
    return out.join('\n');
  }
  out.push(`${r.verdict === 'incomplete' ? 'unexplained (perhaps for want of what is missing)' : 'no spec path explains this event'}:`);
  out.push(`  ${fmtEvent(d.event)}`);
  if (d.step.length > 1) {
    out.push('  logged together with:');
    for (const e of d.step) if (e !== d.event && !(e.file === d.event.file && e.line === d.event.line)) out.push(`    ${fmtEvent(e)}`);
  }
  out.push(`  logged state of server ${d.event.sid} after it: ${JSON.stringify(d.logged)}`);
  if (d.nearest !== null) {
    out.push(`  nearest spec successor: ${d.nearest.action}`);
    for (const f of d.nearest.diff) out.push(`    ${f.field}: logged ${JSON.stringify(f.logged)}, spec ${JSON.stringify(f.spec)}`);
    if (d.nearest.message !== undefined) out.push(`    message: ${d.nearest.message}`);
  }
  out.push('  spec state of each server just before it:');
  for (const [sid, v] of Object.entries(d.specState)) out.push(`    ${sid}: ${JSON.stringify(v)}`);
  out.push(`  actions the spec allows there: ${d.enabled.join(', ') || 'none'}`);
  out.push(`  preceding events of server ${d.event.sid}:`);
  for (const e of d.preceding) out.push(`    ${fmtEvent(e)}`);
  out.push(counts);
  return out.join('\n');
}
