// What is kept per visited state to rebuild a counterexample: the id of the state it was first reached from
// and the index of the successor (in spec.next's order) that led to it, 6 bytes. A counterexample is rebuilt
// by following parents to an initial state and re-executing the spec along the successor indices.
//
// Entries live in fixed-size blocks so that growing never copies and never holds more than one spare block.

const BLOCK = 1 << 16;
/** Parent of an initial state: its successor index is then its index in spec.init(). */
export const ROOT = 0xffffffff;
export const MAX_SUCCESSORS = 0xffff;

export class ParentStore {
  private readonly parents: Uint32Array[] = [];
  private readonly indices: Uint16Array[] = [];
  private n = 0;

  get length(): number {
    return this.n;
  }

  get bytes(): number {
    return this.parents.length * BLOCK * 6;
  }

  push(parent: number, succIndex: number): number {
    const b = Math.floor(this.n / BLOCK);
    if (b === this.parents.length) {
      this.parents.push(new Uint32Array(BLOCK));
      this.indices.push(new Uint16Array(BLOCK));
    }
    const i = this.n % BLOCK;
    this.parents[b]![i] = parent;
    this.indices[b]![i] = succIndex;
    return this.n++;
  }

  parent(local: number): number {
    return this.parents[Math.floor(local / BLOCK)]![local % BLOCK]!;
  }

  succIndex(local: number): number {
    return this.indices[Math.floor(local / BLOCK)]![local % BLOCK]!;
  }

  /** Copies of entries [from, from + count): their parents and successor indices. */
  range(from: number, count: number): { parents: Uint32Array; succ: Uint16Array } {
    const parents = new Uint32Array(count);
    const succ = new Uint16Array(count);
    for (let i = 0; i < count; i++) {
      parents[i] = this.parent(from + i);
      succ[i] = this.succIndex(from + i);
    }
    return { parents, succ };
  }

  /** Append entries (a checkpoint's links, read back). */
  pushAll(parents: Uint32Array, succ: Uint16Array): void {
    for (let i = 0; i < parents.length; i++) this.push(parents[i]!, succ[i]!);
  }
}
