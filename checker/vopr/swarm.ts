// Many seeds of the simulator: in this thread, or spread over worker threads (each runs its share of the seeds
// and sends back each result). The order of results is the order they finish in; the summary sorts by seed.
import { Worker } from 'node:worker_threads';
import { runSeed, type VoprOptions, type VoprResult } from './run.ts';

export type SeedOptions = Omit<VoprOptions, 'seed'>;

/** Run `seeds` with `workers` threads (1: here), calling `onResult` as each finishes. */
export async function runSeeds(seeds: readonly number[], opts: SeedOptions, workers: number, onResult: (r: VoprResult) => void): Promise<VoprResult[]> {
  const results: VoprResult[] = [];
  const take = (r: VoprResult) => {
    results.push(r);
    onResult(r);
  };
  if (workers <= 1 || seeds.length <= 1) {
    for (const seed of seeds) {
      take(runSeed({ ...opts, seed }));
      // Let a progress line or a signal through between runs.
      await new Promise((res) => setImmediate(res));
    }
    return results;
  }
  const shares: number[][] = Array.from({ length: Math.min(workers, seeds.length) }, () => []);
  seeds.forEach((s, i) => shares[i % shares.length]!.push(s));
  await Promise.all(
    shares.map(
      (share) =>
        new Promise<void>((resolve, reject) => {
          const w = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: { seeds: share, opts } });
          w.on('message', (r: VoprResult) => take(r));
          w.on('error', reject);
          w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a simulator worker exited with code ${code}`))));
        }),
    ),
  );
  return results;
}
