// Prints a RunResult: a human summary (text) or the whole result as one JSON object (--json).
import { compact, formatCounterexample } from './counterexample.ts';
import type { RunResult } from '../run.ts';

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

export function formatBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  if (b >= 2 ** 10) return `${(b / 2 ** 10).toFixed(1)} KiB`;
  return `${b} B`;
}

export function formatText(r: RunResult): string {
  const lines: string[] = [];
  lines.push(`${r.spec}`);
  lines.push(`  params: ${Object.entries(r.params).map(([k, v]) => `${k}=${compact(v)}`).join(' ')}`);
  const b = r.bounds;
  if (r.mode === 'bfs') {
    lines.push(`  bounds: depth ${b.depth}${b.maxStates === null ? '' : `, max-states ${n(b.maxStates)}`}, workers ${b.workers}, max-memory ${formatBytes(b.maxMemoryBytes)}`);
    lines.push(`States: ${n(r.distinct!)} distinct, ${n(r.generated)} generated, depth reached ${r.depthReached}`);
    lines.push(`  ${searchEnd(r)}`);
    lines.push(`Time: ${r.wallSeconds.toFixed(2)} s, ${n(r.statesPerSecond)} distinct states/s`);
    lines.push(`Fingerprint collision probability (TLC's optimistic estimate): ${r.collisionProbability!.toExponential(1)}`);
    const m = r.memory;
    lines.push(
      `Memory: ${m.bytesPerState === null ? '-' : m.bytesPerState.toFixed(1)} bytes per visited state ` +
        `(fingerprints ${formatBytes(m.tableBytes!)}, parent links ${formatBytes(m.parentBytes!)}), ` +
        `peak frontier ${formatBytes(m.peakFrontierBytes!)}${m.peakSpilledBytes ? ` in memory and ${formatBytes(m.peakSpilledBytes)} spilled to disk` : ''}, peak RSS ${formatBytes(m.peakRssBytes)}`,
    );
    const red = r.reduction;
    if (red !== null) {
      lines.push(
        `Reduction (--por, sleep sets): ${n(red.skipped)} successors skipped; generated ${n(red.generated)} with it, ${n(red.generated + red.skipped)} without (${red.factor.toFixed(2)}x); ` +
          `states ${n(r.distinct!)}, as without it (1.00x: every state is visited)`,
      );
    }
    const ck = r.checkpoint;
    if (ck !== null) {
      const from = ck.resumedFrom === null ? 'from the initial states' : `resumed at depth ${ck.resumedFrom.depth} (${n(ck.resumedFrom.distinct)} states)`;
      lines.push(`Checkpoint: ${ck.dir}, ${from}; ${ck.written} written${ck.written > 0 ? ` (--resume ${ck.dir} goes on from the last)` : ''}`);
    }
  } else {
    lines.push(`  bounds: ${n(b.walks!)} walks of up to ${b.depth} steps, seed ${b.seed}, workers ${b.workers}`);
    lines.push(`Walks: ${n(r.walks!)} walks, ${n(r.steps!)} steps, deepest walk ${r.depthReached} steps`);
    if (r.stopReason === 'max-memory') lines.push(`  stopped at the memory limit (--max-memory)`);
    lines.push(`Time: ${r.wallSeconds.toFixed(2)} s, ${n(r.statesPerSecond)} steps/s, peak RSS ${formatBytes(r.memory.peakRssBytes)}`);
  }
  lines.push('Properties:');
  const partial = r.stopReason !== null ? ' (in the states explored before the stop)' : '';
  for (const p of r.properties) {
    const status = {
      holds: `holds${partial}`,
      violated: `VIOLATED at depth ${p.depth}`,
      witnessed: `witnessed at depth ${p.depth}`,
      'not-reached': `NOT REACHED: the run is vacuous`,
    }[p.status];
    lines.push(`  ${p.name} (${p.kind}): ${status}`);
  }
  if (r.liveness !== null) lines.push(...livenessLines(r));
  lines.push(r.mode === 'bfs' ? 'Coverage (transitions generated / leading to a new state):' : 'Coverage (steps taken):');
  const width = Math.max(...r.coverage.map((c) => c.kind.length), 4);
  for (const c of r.coverage) lines.push(`  ${c.kind.padEnd(width)}  ${n(c.fired).padStart(12)}${c.distinct === null ? '' : ` / ${n(c.distinct)}`}`);
  if (r.neverFired.length > 0) lines.push(`Warning: actions that never fired: ${r.neverFired.join(', ')}`);
  if (r.counterexample !== null) {
    if (r.failingWalk !== null) {
      lines.push(`Walk ${r.failingWalk.walk} of seed ${b.seed} failed; replay it alone with: --simulate --walks 1 --seed ${r.failingWalk.seed} --depth ${b.depth}`);
    }
    lines.push(...formatCounterexample(r.counterexample));
  }
  for (const p of r.liveness?.properties ?? []) if (p.counterexample !== null) lines.push(...formatCounterexample(p.counterexample));
  if (r.counterexample !== null) {
    // printed above
  } else if (r.mode === 'simulate') {
    lines.push(`Seed: ${b.seed} (rerun with --seed ${b.seed} to repeat these walks)`);
  }
  const cut = r.verdict === 'pass' && r.stopReason !== null ? ` (within what was explored: the search stopped at a limit, see above)` : '';
  lines.push(`Result: ${r.verdict === 'pass' ? 'PASS' : 'FAIL'}${cut}`);
  return lines.join('\n');
}

function livenessLines(r: RunResult): string[] {
  const l = r.liveness!;
  const reach = l.exhausted ? `exhausted at depth ${l.depthReached}` : `depth bound ${r.bounds.depth} reached: a lasso found is real, but "holds" cannot be claimed`;
  const lines = [
    `Liveness (weak fairness of the protocol's steps, faults stopping): ${n(l.distinct)} states, ${n(l.edges)} edges, ${reach}; ${l.seconds.toFixed(2)} s, graph ${formatBytes(l.graphBytes)}`,
  ];
  for (const p of l.properties) {
    const found = `${p.deadEnds} dead ends, ${p.fairComponents} fair of ${p.cyclicComponents} cyclic components short of it`;
    const status = { holds: 'holds', violated: 'VIOLATED (lasso below)', unknown: 'no lasso within the depth bound (not proven)' }[p.status];
    lines.push(`  ${p.name} (liveness): ${status}; ${found}`);
  }
  return lines;
}

function searchEnd(r: RunResult): string {
  // A limit stops the search inside a level: the levels above it are complete.
  const done = `every state up to depth ${Math.max(0, r.depthReached - 1)} was checked, depth ${r.depthReached} only in part`;
  switch (r.stopReason) {
    case 'violation':
      return 'stopped at the first violation (the shortest: every shallower state was checked)';
    case 'max-states':
      return `stopped at --max-states: ${done}; to go on, raise --max-states or lower --depth`;
    case 'time-limit':
      return `stopped at the time limit: ${done}`;
    case 'max-memory':
      return (
        `stopped at the memory limit (--max-memory ${formatBytes(r.bounds.maxMemoryBytes)}): ${done}; ` +
        `to go on: raise --max-memory, lower --depth, or go deeper by random walks with --simulate`
      );
    case null:
      return r.exhausted
        ? `space exhausted at depth ${r.depthReached}, before the depth bound ${r.bounds.depth}: every reachable state was checked`
        : `depth bound ${r.bounds.depth} reached: states deeper than that were not explored`;
  }
}

export function formatJson(r: RunResult): string {
  return JSON.stringify(r);
}
