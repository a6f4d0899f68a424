// The text form of a check of ZooKeeper's own logs (the --json form is the result object itself), and the
// entry point conform-cli.ts hands ZooKeeper logs to.
import { readFileSync } from 'node:fs';
import { checkZooKeeperLogs, type ZkCheckResult } from './check.ts';
import { looksLikeZooKeeperLog, ZkLogError } from './log.ts';

export function formatZkResult(r: ZkCheckResult): string {
  const out: string[] = [];
  const s = r.stats;
  out.push(`conform: ${r.files.length} ZooKeeper server log file(s); ensemble ${r.servers.map((x) => `${x.sid}${x.role === 'observer' ? ' (observer)' : ''}: ${x.runs} run(s)`).join(', ')}`);
  out.push(`spec: ${r.spec.name}`);
  for (const p of r.problems) out.push(`not parsed: ${p.file}:${p.line}: ${p.message}`);
  const counts =
    `${s.lines} lines: ${s.protocolLines} protocol lines, ${s.matched} matched by the spec path, ${s.notUnderstood} not understood (skipped)` +
    (r.problems.length > 0 ? `, ${r.problems.length} protocol line(s) that did not parse` : '') +
    `; ${s.inferred} spec steps inferred (no line shows them); ${s.deferred} line(s) taken out of time order, ${s.rewinds} rewind(s); ` +
    `${s.statesExplored} spec states explored, ${(s.timeMs / 1000).toFixed(2)} s`;
  const props = r.properties.map((p) => `  ${p.name}: ${p.verdict === 'holds' ? 'holds on the path found' : p.verdict === 'violated' ? `VIOLATED on every path kept, first after ${p.at!.file}:${p.at!.line} ${p.at!.text}` : `violated on some of the paths that explain the lines (first after ${p.at!.file}:${p.at!.line}): the logs do not show whether it happened`}`);
  if (r.ok) {
    out.push(`CONFORMS: every protocol line is explained by a spec path${s.bounded ? ' (BOUNDED: the search dropped explanations past its limits; the path found is real)' : ''}`);
    out.push(counts);
    out.push('properties along the path:');
    out.push(...props);
    return out.join('\n');
  }
  const d = r.divergence!;
  out.push(`DIVERGES at ${d.seen.file}:${d.seen.line}: ${d.seen.text}`);
  for (const w of d.seen.with) out.push(`  with ${w.file}:${w.line}: ${w.text}`);
  out.push(`  why: ${d.why}`);
  out.push('  spec state of each server just before it:');
  for (const [sid, v] of Object.entries(d.specState)) out.push(`    ${sid}: ${JSON.stringify(v)}`);
  out.push(`  steps the spec allows there: ${d.enabled.join(', ') || 'none'}`);
  out.push(`  preceding lines of server ${d.seen.sid}:`);
  for (const p of d.preceding) out.push(`    ${p.file}:${p.line}: ${p.text}`);
  out.push(counts);
  out.push('properties along the paths up to there:');
  out.push(...props);
  return out.join('\n');
}

/** Is every file given a ZooKeeper server log (by its first lines)? */
export function areZooKeeperLogs(paths: readonly string[]): boolean {
  if (paths.length === 0) return false;
  return paths.every((p) => {
    try {
      return looksLikeZooKeeperLog(readFileSync(p, 'utf8').slice(0, 64 * 1024));
    } catch {
      return false;
    }
  });
}

/** Runs the check and prints it; returns the exit status (0 conforms, 1 diverges, 2 bad input). */
export function runZooKeeperConform(paths: readonly string[], opts: { json: boolean; config?: string; maxSilent?: number; maxNodes?: number; window?: number }): number {
  try {
    const r = checkZooKeeperLogs({ paths, ...opts });
    console.log(opts.json ? JSON.stringify(r) : formatZkResult(r));
    return r.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof ZkLogError) {
      // Damaged input is never judged as the servers' behaviour: one line naming the file, the line and the problem.
      console.log(opts.json ? JSON.stringify({ ok: false, verdict: 'input-error', error: e.message }) : `INPUT ERROR: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
