// A simulator worker thread: runs its share of the seeds one after another and posts each result.
import { parentPort, workerData } from 'node:worker_threads';
import { runSeed } from './run.ts';
import type { SeedOptions } from './swarm.ts';

const { seeds, opts } = workerData as { seeds: number[]; opts: SeedOptions };
for (const seed of seeds) parentPort!.postMessage(runSeed({ ...opts, seed }));
