// The threads that expand states, behind one interface: the main thread itself (--workers 1: no messaging at
// all) or worker_threads, each rebuilding the spec from its SpecSource and sharing the fingerprint table,
// the interner and the stop flag through SharedArrayBuffers.
import { Worker } from 'node:worker_threads';
import type { Property } from '../../spec/model.ts';
import { Expander, type ExpandResult, type LevelOutput } from './expander.ts';
import type { FingerprintTable } from '../store/fingerprint-table.ts';
import type { Chunk } from './frontier.ts';
import type { SharedInterner } from '../store/interner.ts';
import type { SimulationRequest, SimulationResult } from '../simulation/walks.ts';
import { runWalks } from '../simulation/walks.ts';
import type { AnySpec, SpecSource } from '../spec-source.ts';
import { STEPS_WELL_DEFINED, stepsWellDefined } from './step-failure.ts';

export interface SearchThread {
  expand(chunk: Chunk): Promise<ExpandResult>;
  endLevel(): Promise<LevelOutput>;
  setTable(table: FingerprintTable): Promise<void>;
  parent(local: number): Promise<{ parent: number; succ: number }>;
  /** Copies of this thread's parent links [from, from + count) (for a checkpoint). */
  parents(from: number, count: number): Promise<{ parents: Uint32Array; succ: Uint16Array }>;
  simulate(request: SimulationRequest): Promise<SimulationResult>;
  close(): Promise<void>;
}

export interface SharedSearch {
  readonly source: SpecSource;
  /** Names of the selected properties, in the order the coordinator numbers them. */
  readonly propertyNames: readonly string[];
  readonly interner: SharedInterner;
  readonly table: FingerprintTable;
  readonly stop: Int32Array;
  /** Where the next level's segments spill past a budget (each thread its own share of it), or null. */
  readonly spill?: { readonly dir: string; readonly budgetBytes: number } | null;
  /** --por: sleep sets (search/expander.ts). */
  readonly por?: boolean;
  /** This thread's number (names its spill files). */
  readonly threadIndex?: number;
}

export function selectByName(spec: AnySpec, names: readonly string[]): Property<unknown>[] {
  return names.map((n) => {
    const p = spec.properties.find((q) => q.name === n) ?? (n === STEPS_WELL_DEFINED ? stepsWellDefined(spec) : undefined);
    if (p === undefined) throw new Error(`the spec has no property "${n}"`);
    return p;
  });
}

export class LocalThread implements SearchThread {
  private readonly expander: Expander;
  constructor(
    private readonly spec: AnySpec,
    shared: SharedSearch,
  ) {
    const spill = shared.spill == null ? null : { ...shared.spill, prefix: `t${shared.threadIndex ?? 0}` };
    this.expander = new Expander(spec, selectByName(spec, shared.propertyNames), shared.interner, shared.table, shared.stop, spill, shared.por ?? false);
  }
  async expand(chunk: Chunk): Promise<ExpandResult> {
    return this.expander.expand(chunk);
  }
  async endLevel(): Promise<LevelOutput> {
    return this.expander.endLevel();
  }
  async setTable(table: FingerprintTable): Promise<void> {
    this.expander.setTable(table);
  }
  async parent(local: number): Promise<{ parent: number; succ: number }> {
    return { parent: this.expander.parents.parent(local), succ: this.expander.parents.succIndex(local) };
  }
  async parents(from: number, count: number): Promise<{ parents: Uint32Array; succ: Uint16Array }> {
    return this.expander.parents.range(from, count);
  }
  async simulate(request: SimulationRequest): Promise<SimulationResult> {
    return runWalks(this.spec, selectByName(this.spec, request.propertyNames), request);
  }
  async close(): Promise<void> {}
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export class WorkerThread implements SearchThread {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(reply.error));
    });
    const fail = (e: Error): void => {
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`a worker thread exited with code ${code}`));
    });
  }

  static async start(shared: SharedSearch): Promise<WorkerThread> {
    const spill = shared.spill ?? null;
    const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), {
      workerData: {
        source: shared.source,
        propertyNames: shared.propertyNames,
        interner: shared.interner.buffer,
        tableSlots: shared.table.slots.buffer,
        tableCounter: shared.table.counter.buffer,
        tableMarks: shared.table.marks?.buffer ?? null,
        por: shared.por ?? false,
        stop: shared.stop.buffer,
        spill,
        threadIndex: shared.threadIndex ?? 0,
      },
    });
    const t = new WorkerThread(worker);
    await t.call('ready', {});
    return t;
  }

  private call<T>(op: string, args: Record<string, unknown>): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, ...args });
    });
  }

  expand(chunk: Chunk): Promise<ExpandResult> {
    return this.call('expand', { chunk });
  }
  endLevel(): Promise<LevelOutput> {
    return this.call('endLevel', {});
  }
  setTable(table: FingerprintTable): Promise<void> {
    return this.call('setTable', { slots: table.slots.buffer, counter: table.counter.buffer, marks: table.marks?.buffer ?? null });
  }
  parent(local: number): Promise<{ parent: number; succ: number }> {
    return this.call('parent', { local });
  }
  parents(from: number, count: number): Promise<{ parents: Uint32Array; succ: Uint16Array }> {
    return this.call('parents', { from, count });
  }
  simulate(request: SimulationRequest): Promise<SimulationResult> {
    return this.call('simulate', { request });
  }
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** One thread in-process for a single worker, else that many worker threads. */
export async function startThreads(workers: number, spec: AnySpec, shared: SharedSearch): Promise<SearchThread[]> {
  if (workers <= 1) return [new LocalThread(spec, { ...shared, threadIndex: 0 })];
  const started = await Promise.allSettled(Array.from({ length: workers }, (_, i) => WorkerThread.start({ ...shared, threadIndex: i })));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed === undefined) return started.map((s) => (s as PromiseFulfilledResult<WorkerThread>).value);
  // Stop the threads that did start, or they would keep the process alive.
  await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
  throw (failed as PromiseRejectedResult).reason;
}
