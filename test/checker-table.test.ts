// The fingerprint table agrees with a Set of the same 64-bit values, through growth; parent links read back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collisionProbability, FingerprintTable, MIN_CAPACITY } from '../checker/store/fingerprint-table.ts';
import { fmix } from '../checker/store/interner.ts';
import { ParentStore } from '../checker/store/parent-store.ts';

const word = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

describe('fingerprint table', () => {
  it('reports new exactly when a Set of the same fingerprints does, across growths', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(word, word), { maxLength: 400 }), fc.array(fc.nat(399), { maxLength: 400 }), (fresh, repeats) => {
        let table = new FingerprintTable(MIN_CAPACITY, false);
        const set = new Set<string>();
        const seq = [...fresh, ...repeats.map((i) => fresh[i % Math.max(1, fresh.length)]).filter((x) => x !== undefined)];
        seq.forEach(([hi, lo], i) => {
          // The table stores 0 as a fixed non-zero word; the model must do the same.
          const key = `${hi === 0 ? 0x5bd1e995 : hi}:${lo === 0 ? 0x1b873593 : lo}`;
          expect(table.insert(hi, lo)).toBe(!set.has(key));
          set.add(key);
          if (i % 97 === 0) table = table.grown();
        });
        expect(table.count).toBe(set.size);
        for (const [hi, lo] of fresh) expect(table.has(hi, lo)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  // Slots are chosen by the high bits of the low word: real fingerprints are uniform, so the test's are too.
  it('keeps probing correct when the table is nearly full and the capacity is not a power of two', () => {
    let table = new FingerprintTable(MIN_CAPACITY, true);
    const n = Math.floor(MIN_CAPACITY * 0.8);
    for (let i = 1; i <= n; i++) expect(table.insert(i * 7919, fmix(i))).toBe(true);
    table = table.grown(); // capacity 1.5x: not a power of two
    expect(table.capacity % 2 === 0 && (table.capacity & (table.capacity - 1)) === 0).toBe(false);
    for (let i = 1; i <= n; i++) expect(table.insert(i * 7919, fmix(i))).toBe(false);
    expect(table.count).toBe(n);
  });

  it('estimates the collision probability as TLC does', () => {
    expect(collisionProbability(1e6, 4e6)).toBeCloseTo((1e6 * 3e6) / 2 ** 64, 20);
    expect(collisionProbability(10, 10)).toBe(0);
  });
});

describe('parent store', () => {
  it('reads back every link across blocks', () => {
    const store = new ParentStore();
    for (let i = 0; i < 200_000; i++) store.push(i * 3, i % 65_536);
    expect(store.length).toBe(200_000);
    for (const i of [0, 65_535, 65_536, 131_072, 199_999]) {
      expect(store.parent(i)).toBe(i * 3);
      expect(store.succIndex(i)).toBe(i % 65_536);
    }
  });
});
