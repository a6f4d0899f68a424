// One measurement of `npm run bench` (row (e)): what one state costs the exhaustive search, stage by stage, in
// microseconds of one thread: decoding it from the frontier's bytes, the spec's `next`, encoding and
// fingerprinting its successors, and the checked properties on them. It builds the states of one level (the
// checker's own codec and dedup, in this process), then times every state of that level `reps` times and keeps,
// per state and per stage, the least of its times. Other work on the machine preempts a run now and then; the
// least of several runs of one state's few microseconds is rarely preempted, so the sum is close to what an idle
// core takes (and, unlike states/s, two versions measured at different loads can be compared). The table probe,
// the frontier and the parent links are not in it (about a tenth of the search's time: compare with the
// per cpu-s column of rows (a)).
//
// usage (from bench/run.ts): tsx bench/stage-cost.ts '{"flags":[...checker flags...],"level":12,"reps":9}'
// prints one JSON object.
import { parseFlags } from '../checker/flags.ts';
import { loadChecked } from '../checker/run.ts';
import { SharedInterner } from '../checker/store/interner.ts';
import { createStateCodec } from '../checker/store/state-codec.ts';

export interface StageCost {
  readonly level: number;
  readonly states: number;
  /** Successors per state of the level. */
  readonly successors: number;
  /** Microseconds per state of the level, each the sum over its states of the least time of `reps` runs. */
  readonly decodeUs: number;
  readonly nextUs: number;
  readonly encodeUs: number;
  readonly propertiesUs: number;
  readonly totalUs: number;
  readonly reps: number;
}

export async function stageCost(flags: readonly string[], level: number, reps: number): Promise<StageCost> {
  const { spec, properties } = await loadChecked(parseFlags([...flags]));
  const codec = createStateCodec(new SharedInterner());
  const seen = new Set<string>();
  const key = () => `${codec.fpHi()}:${codec.fpLo()}`;
  let states: Uint8Array[] = [];
  for (const s of spec.init()) {
    const n = codec.encode(s);
    if (seen.has(key())) continue;
    seen.add(key());
    states.push(codec.scratch().slice(0, n));
  }
  for (let d = 0; d < level && states.length > 0; d++) {
    const next: Uint8Array[] = [];
    for (const b of states) {
      for (const { state } of spec.next(codec.decode(b, 0, b.length))) {
        const n = codec.encode(state);
        if (seen.has(key())) continue;
        seen.add(key());
        next.push(codec.scratch().slice(0, n));
      }
    }
    states = next;
  }
  // The level in one buffer, in the order it was found (as the frontier holds it).
  const offsets = [0];
  for (const b of states) offsets.push(offsets[offsets.length - 1]! + b.length);
  const bytes = new Uint8Array(offsets[offsets.length - 1]!);
  states.forEach((b, i) => bytes.set(b, offsets[i]!));
  const n = states.length;
  const least = [0, 0, 0, 0].map(() => new Float64Array(n).fill(Infinity));
  let successors = 0;
  const now = process.hrtime.bigint;
  for (let r = 0; r < reps; r++) {
    successors = 0;
    for (let i = 0; i < n; i++) {
      const t0 = now();
      const state = codec.decode(bytes, offsets[i]!, offsets[i + 1]!);
      const t1 = now();
      const succs = spec.next(state);
      const t2 = now();
      for (const s of succs) codec.encode(s.state);
      const t3 = now();
      // The search checks the properties on new states only: about half of the successors here.
      for (let j = 0; j < succs.length; j += 2) for (const p of properties) p.check(succs[j]!.state);
      const t4 = now();
      const times = [t1 - t0, t2 - t1, t3 - t2, t4 - t3];
      for (let k = 0; k < 4; k++) least[k]![i] = Math.min(least[k]![i]!, Number(times[k]!));
      successors += succs.length;
    }
  }
  const us = (a: Float64Array) => (n === 0 ? 0 : a.reduce((x, y) => x + y, 0) / n / 1000);
  const [decodeUs, nextUs, encodeUs, propertiesUs] = least.map(us) as [number, number, number, number];
  return { level, states: n, successors: n === 0 ? 0 : successors / n, decodeUs, nextUs, encodeUs, propertiesUs, totalUs: decodeUs + nextUs + encodeUs + propertiesUs, reps };
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const { flags, level, reps } = JSON.parse(process.argv[2] ?? '{}') as { flags?: string[]; level?: number; reps?: number };
  try {
    process.stdout.write(JSON.stringify(await stageCost(flags ?? [], level ?? 12, reps ?? 9)) + '\n');
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 3;
  }
}
