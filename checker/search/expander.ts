// One thread's share of the breadth-first search: take a chunk of the current level, decode each state,
// enumerate its successors, keep the ones whose fingerprint is new (bytes for the next level, parent link for
// counterexamples) and check the properties on them. The same code runs in the main thread (one worker) and in
// each worker thread; the coordinator (bfs.ts) hands out chunks and merges the results.
import type { ActionBase, Footprint, Property } from '../../spec/model.ts';
import type { FingerprintTable } from '../store/fingerprint-table.ts';
import { FrontierWriter, type Chunk, type SegmentRef, type SpillConfig } from './frontier.ts';
import type { SharedInterner } from '../store/interner.ts';
import { MAX_SUCCESSORS, ParentStore } from '../store/parent-store.ts';
import type { AnySpec } from '../spec-source.ts';
import { findNotPlainData, NotPlainDataError } from '../store/plain-data.ts';
import { createStateCodec, type StateCodec } from '../store/state-codec.ts';
import { errorText, notAStep, stepThrew, STEPS_WELL_DEFINED } from './step-failure.ts';

/**
 * A state that violates an invariant or witnesses a reachability property: reached by `succ` from `parent`; or,
 * with `succ` -1, the state `parent` itself (whose steps broke: stepsWellDefined).
 */
export interface Found {
  readonly prop: number;
  readonly parent: number;
  readonly succ: number;
  readonly message: string | null;
}

export interface ExpandResult {
  /** Records of the chunk processed; fewer than asked when the table filled up or the search was stopped. */
  readonly processed: number;
  readonly generated: number;
  readonly distinct: number;
  /** Per action kind (spec.actionKinds, then `extraKinds`): transitions, and transitions to a new state. */
  readonly fired: number[];
  readonly firstReached: number[];
  /** Kinds this thread met that spec.actionKinds does not list. */
  readonly extraKinds: string[];
  readonly violation: Found | null;
  readonly witnesses: Found[];
  /** --por: successors of spec.next skipped by the sleep sets (not encoded, not counted in `generated`). */
  readonly skipped: number;
}

export interface LevelOutput {
  readonly segments: SegmentRef[];
  /** Index in this thread's parent store of the first new state of the level. */
  readonly localStart: number;
  readonly count: number;
  /** Bytes this thread holds for parent links (all levels so far). */
  readonly parentBytes: number;
}

/** Stop flag shared with the coordinator: non-zero once the search must end (violation, limit). */
export const STOP = 0;

/**
 * --por: a frontier record is the state's bytes, then a trailer: its fingerprint (two int32), its sleep set (the
 * interned keys of the steps it may skip, uint16 each) and their number (one byte). A sleep set has at most
 * this many keys (a smaller one is always sound).
 */
const MAX_SLEEP = 255;

/** Two steps enabled at one state commute there (spec/model.ts's Footprint): both local, of two servers, on disjoint channels. */
export function independent(a: Footprint, aSid: number, b: Footprint, bSid: number): boolean {
  if (a.global || b.global || aSid === bSid) return false;
  for (const c of a.channels) if (b.channels.includes(c)) return false;
  return true;
}

export class Expander {
  readonly codec: StateCodec;
  readonly parents = new ParentStore();
  private readonly writer: FrontierWriter;
  private readonly kindIndex = new Map<string, number>();
  private readonly kinds: string[];
  private levelStart = 0;
  /** Reachability properties this thread still looks for. */
  private readonly open: Set<number>;
  private readonly interner: SharedInterner;
  private readonly trailer = new Uint8Array(8 + 2 * MAX_SLEEP + 1);
  private readonly trailerView = new DataView(this.trailer.buffer);
  private readonly keyIds = new Map<string, number>();
  /** Index of stepsWellDefined among the properties (-1: not selected, a broken step then throws as before). */
  private readonly stepsProp: number;

  constructor(
    private readonly spec: AnySpec,
    private readonly properties: readonly Property<unknown>[],
    interner: SharedInterner,
    private table: FingerprintTable,
    private readonly stop: Int32Array,
    spill: SpillConfig | null = null,
    private readonly por = false,
  ) {
    this.interner = interner;
    if (por && spec.footprint === undefined) throw new Error('--por: the spec declares no footprint for its steps');
    this.writer = new FrontierWriter(spill);
    this.codec = createStateCodec(interner);
    this.kinds = [...spec.actionKinds];
    this.kinds.forEach((k, i) => this.kindIndex.set(k, i));
    this.open = new Set(properties.flatMap((p, i) => (p.kind === 'reachability' ? [i] : [])));
    this.stepsProp = properties.findIndex((p) => p.name === STEPS_WELL_DEFINED);
  }

  setTable(table: FingerprintTable): void {
    this.table = table;
  }

  expand(chunk: Chunk): ExpandResult {
    const { segment, idBase, from, to } = chunk;
    const bytes = new Uint8Array(segment.bytes);
    const offsets = new Uint32Array(segment.offsets);
    const codec = this.codec;
    const table = this.table;
    const fired = new Array<number>(this.kinds.length).fill(0);
    const firstReached = new Array<number>(this.kinds.length).fill(0);
    const witnesses: Found[] = [];
    let violation: Found | null = null;
    let generated = 0;
    let distinct = 0;
    let skipped = 0;
    const por = this.por;
    const view = por ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
    let i = from;
    while (i < to) {
      let end = offsets[i + 1]!;
      // --por: the sleep set the state was reached with, unless it was reached more than once (then none).
      let sleep: number[] | null = null;
      if (por) {
        const count = bytes[end - 1]!;
        const at = end - 1 - 2 * count - 8;
        if (count > 0 && !table.marked(view!.getInt32(at, true), view!.getInt32(at + 4, true))) {
          sleep = [];
          for (let c = 0; c < count; c++) sleep.push(view!.getUint16(at + 8 + 2 * c, true));
        }
        end = at;
      }
      const state = codec.decode(bytes, offsets[i]!, end);
      const parent = idBase + i;
      let succs: ReturnType<AnySpec['next']>;
      try {
        succs = this.spec.next(state);
      } catch (e) {
        if (this.stepsProp < 0) throw e;
        violation = { prop: this.stepsProp, parent, succ: -1, message: stepThrew(e) };
        i++;
        Atomics.store(this.stop, STOP, 1);
        break;
      }
      if (succs.length > MAX_SUCCESSORS) throw new Error(`a state has ${succs.length} successors (at most ${MAX_SUCCESSORS})`);
      // --por: each step's key (-1 when two successors share it: such steps are neither skipped nor put to sleep)
      // and footprint, computed when first needed.
      let keys: number[] | null = por && sleep !== null ? this.keysOf(succs) : null;
      const prints: (Footprint | undefined)[] | null = por ? new Array<Footprint | undefined>(succs.length) : null;
      for (let j = 0; j < succs.length; j++) {
        if (this.stepsProp >= 0) {
          const bad = notAStep(succs[j], j);
          if (bad !== null) {
            violation ??= { prop: this.stepsProp, parent, succ: -1, message: bad };
            break;
          }
        }
        const { action, state: next } = succs[j]!;
        if (sleep !== null && keys![j]! >= 0 && sleep.includes(keys![j]!)) {
          skipped++;
          continue;
        }
        let k = this.kindIndex.get(action.kind);
        if (k === undefined) k = this.addKind(action, fired, firstReached);
        fired[k]!++;
        generated++;
        let len: number;
        try {
          len = this.encode(next, action);
        } catch (e) {
          if (this.stepsProp < 0) throw e;
          violation ??= { prop: this.stepsProp, parent, succ: -1, message: errorText(e) };
          break;
        }
        if (!(por ? table.insertMarking(codec.fpHi(), codec.fpLo()) : table.insert(codec.fpHi(), codec.fpLo()))) continue;
        firstReached[k]!++;
        distinct++;
        if (por) {
          keys ??= this.keysOf(succs);
          this.writer.append(codec.scratch(), len, this.trailer, this.sleepTrailer(state, succs, keys, prints!, j));
        }
        else this.writer.append(codec.scratch(), len);
        this.parents.push(parent, j);
        const found = this.checkProperties(next, parent, j, witnesses);
        if (found !== null && violation === null) violation = found;
      }
      i++;
      if (violation !== null) {
        Atomics.store(this.stop, STOP, 1);
        break;
      }
      if (Atomics.load(this.stop, STOP) !== 0 || table.count >= table.stopAt) break;
    }
    const extraKinds = this.kinds.slice(this.spec.actionKinds.length);
    return { processed: i - from, generated, distinct, fired, firstReached, extraKinds, violation, witnesses, skipped };
  }

  /** Interned keys of the successors' steps; -1 for a key two of them share. */
  private keysOf(succs: readonly { readonly action: ActionBase }[]): number[] {
    const seen = new Map<number, number>();
    const keys = succs.map((s) => {
      const text = JSON.stringify(s.action);
      let id = this.keyIds.get(text);
      if (id === undefined) {
        id = this.interner.id(text);
        this.keyIds.set(text, id);
      }
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return id;
    });
    for (let c = 0; c < keys.length; c++) if (seen.get(keys[c]!)! > 1) keys[c] = -1;
    return keys;
  }

  /**
   * The trailer of successor j, new: the codec's fingerprint and its sleep set, the steps before j in spec.next's
   * order that commute with j here (each reaches, after j, a state that j reaches after it). Returns its length.
   */
  private sleepTrailer(
    state: unknown,
    succs: readonly { readonly action: ActionBase; readonly state: unknown }[],
    keys: readonly number[],
    prints: (Footprint | undefined)[],
    j: number,
  ): number {
    const print = (c: number): Footprint => (prints[c] ??= this.spec.footprint!(state, succs[c]!.action, succs[c]!.state));
    const v = this.trailerView;
    v.setInt32(0, this.codec.fpHi(), true);
    v.setInt32(4, this.codec.fpLo(), true);
    let n = 0;
    if (keys[j]! >= 0 && !print(j).global) {
      const sid = succs[j]!.action.sid;
      for (let c = 0; c < j && n < MAX_SLEEP; c++) {
        if (keys[c]! < 0 || keys[c]! > 0xffff || succs[c]!.action.sid === sid) continue;
        if (independent(print(c), succs[c]!.action.sid, print(j), sid)) v.setUint16(8 + 2 * n++, keys[c]!, true);
      }
    }
    this.trailer[8 + 2 * n] = n;
    return 8 + 2 * n + 1;
  }

  /** The new states found since the last call: the next level's share of this thread. */
  endLevel(): LevelOutput {
    const count = this.writer.count;
    const out = { segments: this.writer.takeSegments(), localStart: this.levelStart, count, parentBytes: this.parents.bytes };
    this.levelStart += count;
    return out;
  }

  private encode(state: unknown, action: ActionBase): number {
    try {
      return this.codec.encode(state);
    } catch (e) {
      if (!(e instanceof NotPlainDataError)) throw e;
      const where = findNotPlainData(state) ?? e.message;
      throw new Error(`the successor by ${action.kind} of server ${action.sid} is not plain data: ${where}`);
    }
  }

  private checkProperties(state: unknown, parent: number, succ: number, witnesses: Found[]): Found | null {
    const props = this.properties;
    for (let p = 0; p < props.length; p++) {
      const prop = props[p]!;
      if (prop.kind === 'invariant') {
        if (p === this.stepsProp) continue; // met in expand itself, not by a check per state
        if (!prop.check(state)) return { prop: p, parent, succ, message: prop.explain?.(state) ?? null };
      } else if (this.open.has(p) && prop.check(state)) {
        this.open.delete(p);
        witnesses.push({ prop: p, parent, succ, message: null });
      }
    }
    return null;
  }

  private addKind(action: ActionBase, fired: number[], firstReached: number[]): number {
    const k = this.kinds.length;
    this.kinds.push(action.kind);
    this.kindIndex.set(action.kind, k);
    fired.push(0);
    firstReached.push(0);
    return k;
  }
}
