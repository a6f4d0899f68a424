// Simulation (--simulate): random walks spread over the threads in chunks of walk indices. Walks are
// independent and seeded by their index, so the result does not depend on the number of threads: when walks
// fail, the one reported is the failing walk with the least index, and every walk below it has run.
import type { Property } from '../../spec/model.ts';
import type { StatePath } from '../search/bfs.ts';
import { FingerprintTable } from '../store/fingerprint-table.ts';
import { SharedInterner } from '../store/interner.ts';
import type { SimulationResult, WalkFailure } from './walks.ts';
import type { AnySpec, SpecSource } from '../spec-source.ts';
import { startThreads } from '../search/threads.ts';

export interface SimulateOptions {
  readonly source: SpecSource;
  readonly spec: AnySpec;
  readonly properties: readonly Property<unknown>[];
  readonly walks: number;
  readonly seed: number;
  readonly depth: number;
  /** The bounded form of liveness: the goal within this many steps after the last fault (null: off). */
  readonly livenessSteps?: number | null;
  readonly workers: number;
  readonly maxMemoryBytes: number;
  readonly onProgress?: (p: { walks: number; steps: number }) => void;
}

export interface SimulateOutcome {
  readonly walks: number;
  readonly steps: number;
  readonly maxDepth: number;
  readonly fired: ReadonlyMap<string, number>;
  /** Per selected property: the fewest steps at which a walk reached a witness, or -1. */
  readonly witnessDepth: readonly number[];
  readonly failure: (WalkFailure & { readonly path: number[] }) | null;
  readonly stoppedForMemory: boolean;
}

export function failurePath(f: WalkFailure): StatePath {
  return { init: f.path[0]!, steps: f.path.slice(1) };
}

export async function runSimulation(opts: SimulateOptions): Promise<SimulateOutcome> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  stop[0] = opts.walks; // walks at or above this index need not run
  const threads = await startThreads(opts.workers, opts.spec, {
    source: opts.source,
    propertyNames: opts.properties.map((p) => p.name),
    interner: new SharedInterner(undefined, 1 << 16),
    table: new FingerprintTable(1024, opts.workers > 1),
    stop: new Int32Array(new SharedArrayBuffer(4)),
  });
  const fired = new Map<string, number>(opts.spec.actionKinds.map((k) => [k, 0]));
  const witnessDepth = opts.properties.map(() => -1);
  let walks = 0;
  let steps = 0;
  let maxDepth = 0;
  let failure: WalkFailure | null = null;
  let stoppedForMemory = false;
  const chunk = Math.max(1, Math.min(200, Math.ceil(opts.walks / (threads.length * 16))));
  let nextWalk = 0;
  const merge = (r: SimulationResult): void => {
    walks += r.walks;
    steps += r.steps;
    maxDepth = Math.max(maxDepth, r.maxDepth);
    const kinds = [...opts.spec.actionKinds, ...r.extraKinds];
    r.fired.forEach((n, k) => fired.set(kinds[k]!, (fired.get(kinds[k]!) ?? 0) + n));
    r.witnessDepth.forEach((d, p) => {
      if (d >= 0 && (witnessDepth[p]! < 0 || d < witnessDepth[p]!)) witnessDepth[p] = d;
    });
    if (r.failure !== null && (failure === null || r.failure.walk < failure.walk)) failure = r.failure;
  };
  try {
    await Promise.all(
      threads.map(async (t) => {
        while (nextWalk < Atomics.load(stop, 0) && !stoppedForMemory) {
          const firstWalk = nextWalk;
          const count = Math.min(chunk, opts.walks - firstWalk);
          nextWalk += count;
          merge(await t.simulate({ propertyNames: opts.properties.map((p) => p.name), seed: opts.seed, firstWalk, walks: count, depth: opts.depth, livenessSteps: opts.livenessSteps ?? null, stop }));
          if (process.memoryUsage.rss() > opts.maxMemoryBytes) stoppedForMemory = true;
          opts.onProgress?.({ walks, steps });
        }
      }),
    );
  } finally {
    await Promise.all(threads.map((t) => t.close()));
  }
  return { walks, steps, maxDepth, fired, witnessDepth, failure, stoppedForMemory };
}
