// The text form of a conform result (the --json form is the result object itself).
import type { ConformResult, EventView } from './run.ts';

function fmtEvent(e: EventView): string {
  const parts = [`${e.file}:${e.line}`, `server ${e.sid} #${e.seq} ${e.action}`];
  if (e.params !== undefined) parts.push(`params ${JSON.stringify(e.params)}`);
  if (e.recv !== undefined) parts.push(`recv ${JSON.stringify(e.recv)}`);
  if (e.send !== undefined) parts.push(`send ${e.send.length} message(s)`);
  if (e.post !== undefined) parts.push(`post ${JSON.stringify(e.post)}`);
  return parts.join('  ');
}

export function formatResult(r: ConformResult): string {
  const out: string[] = [];
  const s = r.stats;
  out.push(`conform: ${r.files.length} file(s), ${r.source === 'check' ? 'a trace written by check' : 'implementation logs'}`);
  out.push(`spec: ${r.spec.name}`);
  for (const p of r.problems) out.push(`malformed: ${p.file}:${p.line}: ${p.message}`);
  const counts =
    `${s.events} events (${s.steps} logged steps), ${s.specStepsOnPath} spec steps on the path, ${s.statesExplored} spec states explored, ` +
    `${(s.timeMs / 1000).toFixed(2)} s; ${s.nodesExpanded} search nodes expanded (at most ${s.maxNodesPerLevel} per step), ${s.rewinds} rewind(s), ${s.maxBuffered} steps buffered` +
    (s.bridges > 0 ? `; ${s.bridges} bridged event(s) (resent votes, lost notifications)` : '') +
    (s.orphans > 0 ? `; ${s.orphans} message(s) received whose send is in no log` : '');
  if (r.ok) {
    out.push(`PASS: every logged event is explained by a spec path${s.bounded ? ' (BOUNDED: the search dropped nodes past --max-nodes; a divergence could have been missed only in that sense: the path found is real)' : ''}`);
    out.push(counts);
    if (r.problems.length > 0) out.push(`(${r.problems.length} malformed line(s) were skipped: see above)`);
    return out.join('\n');
  }
  const d = r.divergence!;
  out.push(`DIVERGENCE: no spec path explains this event${s.bounded ? ' (the search was bounded by --max-nodes)' : ''}:`);
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
