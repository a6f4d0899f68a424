// Breadth-first search, level by level. The coordinator (this file, main thread) cuts the current level into
// chunks and hands them to the threads; each thread expands its chunks against the shared fingerprint table
// and keeps the new states for the next level. A level ends when every chunk is done, so every state of
// level d is found before any of level d+1: the first violation found is at the least depth, whatever the
// number of threads, and the distinct states found are the same set. Between chunks the coordinator grows
// the table, watches memory, reports progress and stops the search on a violation or a limit.
import type { Property } from '../../spec/model.ts';
import type { ExpandResult, Found } from './expander.ts';
import { STOP } from './expander.ts';
import { FingerprintTable, GROW_LOAD, GROWTH } from '../store/fingerprint-table.ts';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FrontierWriter, isSpilled, loadSegment, segmentBytes, spilledBytes, type Chunk, type SegmentRef } from './frontier.ts';
import { writeCheckpoint, type LoadedCheckpoint, type SearchIdentity } from './checkpoint.ts';
import { ParentStore } from '../store/parent-store.ts';
import { SharedInterner } from '../store/interner.ts';
import type { AnySpec, SpecSource } from '../spec-source.ts';
import { createStateCodec } from '../store/state-codec.ts';
import { startThreads, type SearchThread } from './threads.ts';

export interface BfsOptions {
  readonly source: SpecSource;
  readonly spec: AnySpec;
  readonly properties: readonly Property<unknown>[];
  readonly depth: number;
  readonly maxStates: number | null;
  readonly workers: number;
  readonly maxMemoryBytes: number;
  /** Stop (cleanly, like the other limits) once the search has run this long. */
  readonly timeLimitSeconds?: number | null;
  /** Past this many bytes of the next level in memory, its segments spill to files (null: never). */
  readonly frontierBudgetBytes?: number | null;
  /** Where they spill (default: a temporary folder, removed at the end). */
  readonly spillDir?: string | null;
  /** Write what the search needs to resume to this folder, at level boundaries at most this often, and at the end. */
  readonly checkpoint?: { readonly dir: string; readonly everySeconds: number; readonly identity: SearchIdentity } | null;
  /** Sleep sets from the spec's footprints (search/expander.ts, checker/README.md): fewer successors, the same states. */
  readonly por?: boolean;
  /** Go on from this checkpoint instead of the initial states. */
  readonly resume?: LoadedCheckpoint | null;
  readonly onProgress?: (p: BfsProgress) => void;
}

export interface BfsProgress {
  readonly distinct: number;
  readonly generated: number;
  readonly queue: number;
  readonly depth: number;
}

/** State ids are 32-bit, and ROOT (2^32-1) marks an initial state: a search stops before running out. */
const MAX_IDS = 0xffff_0000;

export type StopReason = 'violation' | 'max-states' | 'max-memory' | 'time-limit';

/** A path from an initial state: its index in spec.init(), then a successor index per step. */
export interface StatePath {
  readonly init: number;
  readonly steps: readonly number[];
}

export interface PropertyHit {
  readonly depth: number;
  readonly path: StatePath;
  readonly message: string | null;
}

export interface BfsOutcome {
  readonly generated: number;
  readonly distinct: number;
  /** The deepest level holding a state. */
  readonly depthReached: number;
  /** Every reachable state was explored before the depth bound (or the search stopped). */
  readonly exhausted: boolean;
  readonly stopReason: StopReason | null;
  readonly fired: ReadonlyMap<string, number>;
  readonly firstReached: ReadonlyMap<string, number>;
  /** Per selected property: the violation (invariant) or first witness (reachability) found, if any. */
  readonly hits: readonly (PropertyHit | null)[];
  readonly tableBytes: number;
  readonly parentBytes: number;
  readonly peakFrontierBytes: number;
  /** The largest frontier held on disk (spilled segments of a level and the next), in bytes. */
  readonly peakSpilledBytes: number;
  /** Where the search went on from, when it resumed a checkpoint. */
  readonly resumedFrom: { readonly depth: number; readonly distinct: number } | null;
  readonly checkpointsWritten: number;
  /** --por: successors skipped by the sleep sets. */
  readonly skipped: number;
}

interface LevelEntry {
  readonly globalStart: number;
  readonly count: number;
  /** -1: the initial states, held by the coordinator; -2: states of a resumed checkpoint (the coordinator's `base`). */
  readonly thread: number;
  readonly localStart: number;
}

export async function runBfs(opts: BfsOptions): Promise<BfsOutcome> {
  const { spec, properties } = opts;
  const deadline = opts.timeLimitSeconds == null ? null : performance.now() + opts.timeLimitSeconds * 1000;
  const resume = opts.resume ?? null;
  const interner = resume === null ? new SharedInterner() : SharedInterner.fromSnapshot(resume.interner);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const por = opts.por ?? false;
  if (por && resume !== null) throw new Error('--por does not resume a checkpoint');
  let table = new FingerprintTable(FingerprintTable.capacityFor(1024), opts.workers > 1, undefined, undefined, por);
  if (resume !== null) {
    table = new FingerprintTable(resume.tableSlots.length / 2, opts.workers > 1);
    table.slots.set(resume.tableSlots);
    Atomics.store(table.counter, 0, resume.tableCount);
  }
  const base = new ParentStore();
  const fired = new Map<string, number>(spec.actionKinds.map((k) => [k, 0]));
  const firstReached = new Map<string, number>(spec.actionKinds.map((k) => [k, 0]));
  const hits: (PropertyHit | null)[] = properties.map(() => null);
  const entries: LevelEntry[] = [];
  const initIndexOf: number[] = [];
  let generated = 0;
  let distinct = 0;
  let skipped = 0;
  let stopReason: StopReason | null = null;
  let peakFrontierBytes = 0;
  let peakSpilledBytes = 0;
  let parentBytes = 0;
  let checkpointsWritten = 0;
  const ckpt = opts.checkpoint ?? null;
  const budget = opts.frontierBudgetBytes ?? null;
  // Spill files live in their own folder, made by the first segment spilled: the checkpoint's `spill/`, the one
  // given, or a temporary one.
  const ownSpillDir = budget !== null && opts.spillDir == null && ckpt === null;
  const spillDir =
    budget === null ? null : ownSpillDir ? join(tmpdir(), `zab-check-spill-${process.pid}-${randomBytes(4).toString('hex')}`) : resolve(opts.spillDir ?? join(ckpt!.dir, 'spill'));
  if (spillDir !== null && !ownSpillDir) rmSync(spillDir, { recursive: true, force: true });

  // Level 0: the initial states, checked and stored by the coordinator.
  const codec = createStateCodec(interner);
  const writer = new FrontierWriter();
  if (resume === null) spec.init().forEach((state, i) => {
    generated++;
    const len = codec.encode(state);
    if (!table.insert(codec.fpHi(), codec.fpLo())) return;
    if (por) {
      // An initial state's trailer: its fingerprint and an empty sleep set.
      const tail = new Uint8Array(9);
      new DataView(tail.buffer).setInt32(0, codec.fpHi(), true);
      new DataView(tail.buffer).setInt32(4, codec.fpLo(), true);
      writer.append(codec.scratch(), len, tail, 9);
    } else writer.append(codec.scratch(), len);
    initIndexOf.push(i);
    distinct++;
    properties.forEach((p, k) => {
      const bad = p.kind === 'invariant' ? !p.check(state) : p.check(state);
      if (bad && hits[k] === null) hits[k] = { depth: 0, path: { init: i, steps: [] }, message: p.explain?.(state) ?? null };
    });
  });
  let level: { segments: SegmentRef[]; globalStart: number } = { segments: writer.takeSegments(), globalStart: 0 };
  let depth = 0;
  let nextId = distinct;
  if (resume === null) entries.push({ globalStart: 0, count: distinct, thread: -1, localStart: 0 });
  else {
    const c = resume.counters;
    initIndexOf.push(...c.initIndexOf);
    entries.push({ globalStart: 0, count: c.initIndexOf.length, thread: -1, localStart: 0 });
    base.pushAll(resume.parents, resume.succ);
    entries.push({ globalStart: c.initIndexOf.length, count: base.length, thread: -2, localStart: 0 });
    generated = c.generated;
    distinct = c.distinct;
    nextId = c.nextId;
    depth = c.depth;
    peakFrontierBytes = c.peakFrontierBytes;
    for (const [k, n] of c.fired) fired.set(k, n);
    for (const [k, n] of c.firstReached) firstReached.set(k, n);
    c.hits.forEach((h, k) => (hits[k] = h));
    level = { segments: [...resume.frontier], globalStart: c.levelGlobalStart };
    if (c.violation) stopReason = 'violation';
  }
  if (properties.some((p, k) => p.kind === 'invariant' && hits[k] !== null)) stopReason = 'violation';

  const threads = await startThreads(opts.workers, spec, {
    source: opts.source,
    propertyNames: properties.map((p) => p.name),
    interner,
    table,
    stop,
    spill: spillDir === null ? null : { dir: spillDir, budgetBytes: Math.floor(budget! / 2 / opts.workers) },
    por,
  });
  let lastCheckpoint = performance.now();

  async function pathTo(found: Found): Promise<StatePath> {
    const steps = found.succ < 0 ? [] : [found.succ];
    let id = found.parent;
    for (;;) {
      const e = entries.find((x) => id >= x.globalStart && id < x.globalStart + x.count)!;
      if (e.thread === -1) return { init: initIndexOf[id - e.globalStart]!, steps: steps.reverse() };
      const local = e.localStart + id - e.globalStart;
      const link = e.thread === -2 ? { parent: base.parent(local), succ: base.succIndex(local) } : await threads[e.thread]!.parent(local);
      steps.push(link.succ);
      id = link.parent;
    }
  }

  function merge(r: ExpandResult): void {
    generated += r.generated;
    distinct += r.distinct;
    skipped += r.skipped;
    const kinds = [...spec.actionKinds, ...r.extraKinds];
    r.fired.forEach((n, k) => fired.set(kinds[k]!, (fired.get(kinds[k]!) ?? 0) + n));
    r.firstReached.forEach((n, k) => firstReached.set(kinds[k]!, (firstReached.get(kinds[k]!) ?? 0) + n));
  }

  async function record(found: Found, d: number): Promise<void> {
    const prev = hits[found.prop];
    if (prev !== null && prev !== undefined && prev.depth <= d) return;
    hits[found.prop] = { depth: d, path: await pathTo(found), message: found.message };
  }

  try {
    while (stopReason === null && depth < opts.depth && level.segments.length > 0) {
      const levelCount = level.segments.reduce((n, s) => n + s.count, 0);
      const chunkSize = threads.length === 1 ? 8192 : Math.max(64, Math.min(4096, Math.ceil(levelCount / (threads.length * 16))));
      const queue: Chunk[] = [];
      // Segments are cut into chunks as the queue runs low, so that a spilled one is read back only then.
      const pending = [...level.segments];
      let idBase = level.globalStart;
      const refill = (): void => {
        while (queue.length < threads.length * 4 && pending.length > 0) {
          const segment = loadSegment(pending.shift()!);
          for (let from = 0; from < segment.count; from += chunkSize) {
            queue.push({ segment, idBase, from, to: Math.min(segment.count, from + chunkSize) });
          }
          idBase += segment.count;
        }
      };
      refill();
      let remaining = levelCount;
      const distinctBefore = distinct;
      const idle = threads.map((_, i) => i);
      const inflight = new Map<number, Promise<{ t: number; chunk: Chunk; r: ExpandResult }>>();
      const violations: Found[] = [];
      let pausing = false;
      while (queue.length > 0 || inflight.size > 0 || pending.length > 0) {
        while (!pausing && stopReason === null && idle.length > 0 && (queue.length > 0 || pending.length > 0)) {
          if (queue.length === 0) refill();
          const t = idle.pop()!;
          const chunk = queue.shift()!;
          inflight.set(t, threads[t]!.expand(chunk).then((r) => ({ t, chunk, r })));
        }
        if (inflight.size === 0) {
          if (pausing && stopReason === null) {
            const bigger = await growTable(table, threads, opts.maxMemoryBytes);
            if (bigger === null) stopReason = 'max-memory';
            else table = bigger;
            pausing = false;
            continue;
          }
          break; // stopped with chunks left
        }
        const { t, chunk, r } = await Promise.race(inflight.values());
        inflight.delete(t);
        idle.push(t);
        merge(r);
        remaining -= r.processed;
        if (r.processed < chunk.to - chunk.from) queue.unshift({ ...chunk, from: chunk.from + r.processed });
        if (r.violation !== null) violations.push(r.violation);
        for (const w of r.witnesses) if (hits[w.prop] === null) await record(w, depth + 1);
        if (violations.length > 0) stopReason = 'violation';
        else if (distinct >= (opts.maxStates ?? MAX_IDS)) stopReason = 'max-states';
        else if (process.memoryUsage.rss() > opts.maxMemoryBytes) stopReason = 'max-memory';
        else if (deadline !== null && performance.now() > deadline) stopReason = 'time-limit';
        if (stopReason !== null) Atomics.store(stop, STOP, 1);
        if (table.count >= table.capacity * GROW_LOAD) pausing = true;
        opts.onProgress?.({ distinct, generated, queue: remaining + distinct - distinctBefore, depth });
      }
      // The violation with the least (parent, successor) among those found: deterministic for one thread.
      violations.sort((a, b) => a.parent - b.parent || a.succ - b.succ);
      // (A state whose own steps broke, succ -1, is of this level's depth.)
      if (violations[0] !== undefined) await record(violations[0], violations[0].succ < 0 ? depth : depth + 1);
      const next: SegmentRef[] = [];
      parentBytes = 0;
      const levelStart = nextId;
      for (let t = 0; t < threads.length; t++) {
        const out = await threads[t]!.endLevel();
        entries.push({ globalStart: nextId, count: out.count, thread: t, localStart: out.localStart });
        parentBytes += out.parentBytes;
        nextId += out.count;
        next.push(...out.segments);
      }
      peakFrontierBytes = Math.max(peakFrontierBytes, segmentBytes(level.segments) + segmentBytes(next));
      peakSpilledBytes = Math.max(peakSpilledBytes, spilledBytes(level.segments) + spilledBytes(next));
      removeSpilled(level.segments, spillDir);
      if (nextId > levelStart) depth++;
      level = { segments: next, globalStart: levelStart };
      // A level cut short by a limit is not a boundary: the last checkpoint stands.
      if (ckpt !== null && stopReason === null && performance.now() - lastCheckpoint >= ckpt.everySeconds * 1000) {
        await saveCheckpoint();
        lastCheckpoint = performance.now();
      }
    }
    // The end of the search at a level boundary (depth bound, exhausted, violation): what a resumed run starts from.
    if (ckpt !== null && (stopReason === null || stopReason === 'violation')) await saveCheckpoint();
  } finally {
    await Promise.all(threads.map((t) => t.close()));
    if (ownSpillDir) rmSync(spillDir!, { recursive: true, force: true });
  }

  async function saveCheckpoint(): Promise<void> {
    const n = nextId - initIndexOf.length;
    const parents = new Uint32Array(n);
    const succ = new Uint16Array(n);
    for (const e of entries) {
      if (e.thread === -1 || e.count === 0) continue;
      const links = e.thread === -2 ? base.range(e.localStart, e.count) : await threads[e.thread]!.parents(e.localStart, e.count);
      parents.set(links.parents, e.globalStart - initIndexOf.length);
      succ.set(links.succ, e.globalStart - initIndexOf.length);
    }
    writeCheckpoint(ckpt!.dir, {
      identity: ckpt!.identity,
      counters: {
        depth,
        generated,
        distinct,
        nextId,
        levelGlobalStart: level.globalStart,
        initIndexOf,
        fired: [...fired.entries()],
        firstReached: [...firstReached.entries()],
        hits,
        peakFrontierBytes,
        violation: stopReason === 'violation',
      },
      tableSlots: table.slots,
      tableCount: table.count,
      interner: interner.snapshot(),
      parents,
      succ,
      frontier: stopReason === 'violation' ? [] : level.segments,
    });
    checkpointsWritten++;
  }

  return {
    generated,
    distinct,
    depthReached: depth,
    exhausted: stopReason === null && level.segments.length === 0,
    stopReason,
    fired,
    firstReached,
    hits,
    tableBytes: table.bytes,
    parentBytes: parentBytes + initIndexOf.length * 4,
    peakFrontierBytes,
    peakSpilledBytes,
    resumedFrom: resume === null ? null : { depth: resume.counters.depth, distinct: resume.counters.distinct },
    checkpointsWritten,
    skipped,
  };
}

/** Remove a level's spill files once it is expanded (a checkpoint's own files stay with it). */
function removeSpilled(segments: readonly SegmentRef[], spillDir: string | null): void {
  if (spillDir === null) return;
  for (const s of segments) if (isSpilled(s) && s.file.startsWith(spillDir)) rmSync(s.file, { force: true });
}

/** Grow the table while every thread is idle; null when the memory limit leaves no room for a bigger one. */
async function growTable(table: FingerprintTable, threads: SearchThread[], maxMemoryBytes: number): Promise<FingerprintTable | null> {
  const extra = Math.ceil(table.capacity * GROWTH) * 8;
  if (process.memoryUsage.rss() + extra > maxMemoryBytes) return null;
  let bigger: FingerprintTable;
  try {
    bigger = table.grown();
  } catch (e) {
    if (e instanceof RangeError) return null; // the allocation itself failed
    throw e;
  }
  await Promise.all(threads.map((t) => t.setTable(bigger)));
  return bigger;
}
