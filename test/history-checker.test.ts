// The history checker (checker/history/): hand-made histories of one znode that are and are not linearizable,
// the session guarantees, the smallest failing window, and generated histories judged against a brute-force
// checker that tries every order.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../checker/history/check.ts';
import { DEFINITE_ERRORS, opToLine, parseHistory, type Op } from '../checker/history/format.ts';
import { linearizable, smallestWindow } from '../checker/history/linearize.ts';
import { generateHistory, injectStaleRead } from '../checker/history/generate.ts';
import { history, op } from './support/history-builder.ts';

const kinds = (r: ReturnType<typeof checkHistory>) => r.anomalies.map((a) => a.kind);

describe('linearizability of one znode', () => {
  it('a create, then a compare-and-set, then a sync read of its value: linearizable', () => {
    const h = [
      op({ f: 'create', value: 'a', at: [0, 10] }),
      op({ f: 'set', value: 'b', version: 0, at: [11, 20], stat: { version: 1, mzxid: 2 } }),
      op({ f: 'sync-get', at: [21, 30], read: { value: 'b', version: 1 } }),
    ];
    expect(linearizable(h).ok).toBe(true);
  });

  it('a sync read that returns the value overwritten before it began is not linearizable', () => {
    const h = [
      op({ f: 'create', value: 'a', at: [0, 10] }),
      op({ f: 'set', value: 'b', at: [11, 20], stat: { version: 1, mzxid: 2 } }),
      op({ f: 'sync-get', at: [21, 30], read: { value: 'a', version: 0 } }),
    ];
    const r = linearizable(h);
    expect(r.ok).toBe(false);
    expect(r.stuck?.f).toBe('sync-get');
  });

  it('concurrent operations may take effect in either order', () => {
    const h = [
      op({ f: 'create', value: 'a', at: [0, 10] }),
      op({ f: 'set', value: 'b', process: 1, at: [11, 40], stat: { version: 1, mzxid: 2 } }),
      // begun before the set completed: may see the old value
      op({ f: 'sync-get', process: 2, at: [12, 30], read: { value: 'a', version: 0 } }),
    ];
    expect(linearizable(h).ok).toBe(true);
  });

  it('two compare-and-sets of the same version cannot both succeed', () => {
    const h = [
      op({ f: 'create', value: 'a', at: [0, 10] }),
      op({ f: 'set', value: 'b', version: 0, process: 1, at: [11, 30] }),
      op({ f: 'set', value: 'c', version: 0, process: 2, at: [12, 31] }),
    ];
    expect(linearizable(h).ok).toBe(false);
    // one of them failing with BADVERSION is fine
    const h2 = [h[0]!, h[1]!, op({ f: 'set', value: 'c', version: 0, process: 2, at: [12, 31], result: 'fail', error: 'BADVERSION' })];
    expect(linearizable(h2).ok).toBe(true);
  });

  it('a failed create (NODEEXISTS) needs the znode to exist at some point in its interval', () => {
    const h = [op({ f: 'create', value: 'a', result: 'fail', error: 'NODEEXISTS', at: [0, 10] })];
    expect(linearizable(h).ok).toBe(false);
    const h2 = [op({ f: 'create', value: 'a', process: 1, at: [0, 10] }), op({ f: 'create', value: 'b', process: 2, result: 'fail', error: 'NODEEXISTS', at: [5, 12] })];
    expect(linearizable(h2).ok).toBe(true);
  });

  it('an indeterminate write may have taken effect, late, or not at all', () => {
    const create = op({ f: 'create', value: 'a', at: [0, 10] });
    const lost = op({ f: 'set', value: 'b', process: 1, at: [11, null], result: 'info', error: 'CONNECTIONLOSS' });
    expect(linearizable([create, lost, op({ f: 'sync-get', at: [100, 110], read: { value: 'a', version: 0 } })]).ok).toBe(true);
    expect(linearizable([create, lost, op({ f: 'sync-get', at: [100, 110], read: { value: 'b', version: 1 } })]).ok).toBe(true);
    // ...and a read may see it, then not: impossible
    expect(
      linearizable([
        create,
        lost,
        op({ f: 'sync-get', at: [100, 110], read: { value: 'b', version: 1 } }),
        op({ f: 'sync-get', at: [120, 130], read: { value: 'a', version: 0 } }),
      ]).ok,
    ).toBe(false);
  });

  it('an acknowledged create missing from the final reads is a lost write', () => {
    const h = history(
      op({ f: 'create', value: 'a', at: [0, 10], zxid: 2 }),
      op({ f: 'final-get', server: 1, process: 9, at: [100, 101], read: null, zxid: 5 }),
      op({ f: 'final-get', server: 2, process: 9, at: [100, 101], read: null, zxid: 5 }),
    );
    const r = checkHistory(h);
    expect(r.verdict).toBe('invalid');
    expect(kinds(r)).toContain('not-linearizable');
    const w = r.keys[0]!.window!;
    expect(w.ops.map((o) => o.f).sort()).toEqual(['create', 'final-get', 'final-get']);
  });

  it('plain reads are not linearizable in ZooKeeper: a stale plain read on another session is allowed', () => {
    const h = history(
      op({ f: 'create', value: 'a', process: 1, at: [0, 10], zxid: 2 }),
      op({ f: 'set', value: 'b', process: 1, at: [11, 20], zxid: 3, stat: { version: 1, czxid: 2, mzxid: 3 } }),
      // a follower behind the leader answers at zxid 2: the old value, consistent with its own zxid
      op({ f: 'get', process: 2, at: [21, 22], zxid: 2, read: { value: 'a', version: 0, czxid: 2, mzxid: 2 } }),
    );
    expect(checkHistory(h).verdict).toBe('valid');
  });
});

describe('session guarantees', () => {
  it('a read answered at a zxid must reflect every known modification up to it', () => {
    const h = history(
      op({ f: 'create', value: 'a', process: 1, at: [0, 10], zxid: 2 }),
      op({ f: 'set', value: 'b', process: 1, at: [11, 20], zxid: 3, stat: { version: 1, czxid: 2, mzxid: 3 } }),
      op({ f: 'get', process: 2, at: [21, 22], zxid: 3, read: { value: 'a', version: 0, czxid: 2, mzxid: 2 } }),
    );
    expect(kinds(checkHistory(h))).toEqual(['stale-read']);
  });

  it('a session never gets a reply from an older view', () => {
    const h = history(
      op({ f: 'get', process: 1, at: [0, 1], zxid: 7, read: null }),
      op({ f: 'get', process: 1, at: [2, 3], zxid: 5, read: null }),
    );
    expect(kinds(checkHistory(h))).toContain('zxid-order');
  });

  it('a session reads its own acknowledged write', () => {
    const h = history(
      op({ f: 'create', value: 'a', process: 1, at: [0, 10], zxid: 2 }),
      op({ f: 'set', value: 'b', process: 1, at: [11, 20], zxid: 3, stat: { version: 1, czxid: 2, mzxid: 3 } }),
      // the server claims zxid 3 yet answers with version 0: both its own write and the view are missed
      op({ f: 'get', process: 1, at: [21, 22], zxid: 3, read: { value: 'a', version: 0, czxid: 2, mzxid: 2 } }),
    );
    expect(kinds(checkHistory(h))).toEqual(expect.arrayContaining(['read-own-write', 'stale-read']));
  });

  it('replicas that differ after the heal phase, and an acknowledged setData missing from them', () => {
    const h = history(
      op({ f: 'create', value: 'a', process: 1, at: [0, 10], zxid: 2 }),
      op({ f: 'set', value: 'b', process: 1, at: [11, 20], zxid: 3, stat: { version: 1, czxid: 2, mzxid: 3 } }),
      op({ f: 'final-get', server: 1, process: 9, at: [100, 101], zxid: 3, read: { value: 'b', version: 1, czxid: 2, mzxid: 3 } }),
      op({ f: 'final-get', server: 2, process: 9, at: [100, 101], zxid: 2, read: { value: 'a', version: 0, czxid: 2, mzxid: 2 } }),
    );
    expect(kinds(checkHistory(h))).toEqual(expect.arrayContaining(['replicas-differ', 'lost-write', 'not-linearizable']));
  });
});

describe('the smallest failing window', () => {
  it('finds the few operations that conflict in a long valid history', () => {
    const ops: Op[] = [op({ f: 'create', value: 'v0', at: [0, 1] })];
    for (let i = 1; i <= 200; i++) {
      ops.push(op({ f: 'set', value: `v${i}`, version: i - 1, process: i % 3, at: [i * 10, i * 10 + 5], stat: { version: i, mzxid: i + 1 } }));
      ops.push(op({ f: 'sync-get', process: 3, at: [i * 10 + 6, i * 10 + 8], read: { value: `v${i}`, version: i } }));
    }
    // one stale sync read at 1507: it returns v100 after v150 was written
    ops.push(op({ f: 'sync-get', process: 4, at: [1507, 1508.5], read: { value: 'v100', version: 100 } }));
    expect(linearizable(ops).ok).toBe(false);
    const w = smallestWindow(ops)!;
    expect(w).not.toBeNull();
    expect(w.ops.length).toBeLessThanOrEqual(4);
    expect(w.ops.some((o) => o.read?.value === 'v100')).toBe(true);
    expect(linearizable(w.ops, { init: w.init }).ok).toBe(false);
  });
});

describe('the file format', () => {
  it('round-trips operations and names the line of a bad one', () => {
    const a = op({ f: 'set', value: 'x', version: 3, at: [1, 2], result: 'ok', zxid: 0x10000002a, stat: { version: 4, czxid: 2, mzxid: 0x10000002a } });
    const text = `{"type":"history","version":1}\n${opToLine(a)}\n`;
    const h = parseHistory(text, 'h.ndjson');
    expect(h.ops[0]).toMatchObject({ f: 'set', version: 3, zxid: 0x10000002an, line: 2 });
    expect(() => parseHistory(`{"type":"history","version":1}\n{"type":"op","id":1,"process":0,"f":"set","key":"k","invoke":1,"complete":2,"result":"ok"}\n`, 'h.ndjson')).toThrow(/h\.ndjson:2: value: set needs the value/);
    expect(() => parseHistory('{"type":"op"}', 'h.ndjson')).toThrow(/h\.ndjson:1:/);
  });
});

// ------------------------------------------------------------------------------------ against brute force

/** Every order of the operations that respects real time, each indeterminate one placed or left out, checked with
 *  a plain sequential znode (written apart from model.ts, so both must agree on ZooKeeper's semantics). */
function bruteForce(ops: readonly Op[]): boolean {
  type S = { value: string; version: number } | null;
  const apply = (s: S, o: Op, asInfo: boolean): S | undefined => {
    const defin = o.result === 'fail' && o.error !== undefined && DEFINITE_ERRORS.has(o.error);
    const okLike = o.result === 'ok' || asInfo;
    switch (o.f) {
      case 'create':
        if (okLike) return s === null ? { value: o.value!, version: 0 } : undefined;
        return defin && o.error === 'NODEEXISTS' && s !== null ? s : undefined;
      case 'set':
        if (okLike) {
          if (s === null || (o.version >= 0 && s.version !== o.version)) return undefined;
          if (!asInfo && o.stat && o.stat.version !== s.version + 1) return undefined;
          return { value: o.value!, version: s.version + 1 };
        }
        if (o.error === 'NONODE') return s === null ? s : undefined;
        if (o.error === 'BADVERSION') return s !== null && s.version !== o.version ? s : undefined;
        return undefined;
      case 'delete':
        if (okLike) return s !== null && (o.version < 0 || s.version === o.version) ? null : undefined;
        if (o.error === 'NONODE') return s === null ? s : undefined;
        if (o.error === 'BADVERSION') return s !== null && s.version !== o.version ? s : undefined;
        return undefined;
      default: {
        const r = o.read;
        if (r === null) return s === null ? s : undefined;
        return s !== null && r !== undefined && s.value === r.value && s.version === r.version ? s : undefined;
      }
    }
  };
  const relevant = ops.filter((o) => o.f !== 'get' && !((o.f === 'sync-get' || o.f === 'final-get') && o.result !== 'ok'));
  const isInfo = (o: Op) => o.result === 'info' || (o.result === 'fail' && !(o.error !== undefined && DEFINITE_ERRORS.has(o.error)));
  const go = (left: Op[], s: S): boolean => {
    if (left.length === 0) return true;
    const minComplete = Math.min(...left.filter((o) => !isInfo(o)).map((o) => o.complete));
    for (let i = 0; i < left.length; i++) {
      const o = left[i]!;
      if (o.invoke > minComplete) continue;
      const rest = [...left.slice(0, i), ...left.slice(i + 1)];
      if (isInfo(o)) {
        if (go(rest, s)) return true; // never happened
      }
      const n = apply(s, o, isInfo(o));
      if (n !== undefined && go(rest, n)) return true;
    }
    // every remaining op indeterminate: they may all never happen
    return left.every(isInfo);
  };
  return go(relevant, null);
}

/** A small history of one znode: a sequential run with each operation given an interval around its moment, then
 *  perhaps damaged (a read's value changed, an outcome flipped, an answer lost). */
const arbHistory = fc
  .record({
    steps: fc.array(
      fc.record({
        f: fc.constantFrom('create', 'set', 'cas', 'delete', 'sync-get'),
        process: fc.integer({ min: 0, max: 2 }),
        before: fc.integer({ min: 0, max: 30 }),
        after: fc.integer({ min: 0, max: 30 }),
        lost: fc.integer({ min: 0, max: 9 }),
        casOff: fc.integer({ min: -1, max: 1 }),
      }),
      { minLength: 1, maxLength: 7 },
    ),
    damage: fc.option(fc.record({ at: fc.nat(), how: fc.constantFrom('value', 'outcome', 'version') }), { freq: 2 }),
  })
  .map(({ steps, damage }) => {
    let s: { value: string; version: number } | null = null;
    const ops: Op[] = [];
    steps.forEach((st, i) => {
      const t = i * 20 + 30;
      const at: [number, number] = [t - st.before, t + st.after];
      const value = `v${i}`;
      const info = st.lost === 0;
      let o: Op;
      switch (st.f) {
        case 'create':
          o = s === null ? op({ f: 'create', value, process: st.process, at }) : op({ f: 'create', value, process: st.process, at, result: 'fail', error: 'NODEEXISTS' });
          if (s === null) s = { value, version: 0 };
          break;
        case 'set':
        case 'cas': {
          const version = st.f === 'cas' ? (s?.version ?? 0) + st.casOff : -1;
          if (s === null) o = op({ f: 'set', value, version, process: st.process, at, result: 'fail', error: 'NONODE' });
          else if (version >= 0 && version !== s.version) o = op({ f: 'set', value, version, process: st.process, at, result: 'fail', error: 'BADVERSION' });
          else {
            s = { value, version: s.version + 1 };
            o = op({ f: 'set', value, version, process: st.process, at, stat: { version: s.version, mzxid: i + 2 } });
          }
          break;
        }
        case 'delete':
          o = s === null ? op({ f: 'delete', process: st.process, at, result: 'fail', error: 'NONODE' }) : op({ f: 'delete', process: st.process, at });
          s = null;
          break;
        default:
          o = op({ f: 'sync-get', process: st.process, at, read: s === null ? null : { value: s.value, version: s.version } });
      }
      if (info && o.result === 'ok' && o.f !== 'sync-get') o = { ...o, result: 'info', error: 'CONNECTIONLOSS', complete: Infinity, stat: undefined };
      ops.push(o);
    });
    if (damage !== null) {
      const i = damage.at % ops.length;
      const o = ops[i]!;
      if (damage.how === 'value' && o.read) ops[i] = { ...o, read: { ...o.read, value: `${o.read.value}'` } };
      else if (damage.how === 'version' && o.read) ops[i] = { ...o, read: { ...o.read, version: o.read.version + 1 } };
      else if (damage.how === 'outcome' && o.result === 'ok' && o.f !== 'sync-get') ops[i] = { ...o, result: 'fail', error: o.f === 'create' ? 'NODEEXISTS' : 'BADVERSION', stat: undefined };
      else if (damage.how === 'outcome' && o.result === 'fail') ops[i] = { ...o, result: 'ok', error: undefined };
    }
    return ops;
  });

describe('generated histories, against a brute-force checker', () => {
  it('the search and brute force agree on every history (500 histories)', () => {
    let invalid = 0;
    fc.assert(
      fc.property(arbHistory, (ops) => {
        const expected = bruteForce(ops);
        if (!expected) invalid++;
        expect(linearizable(ops).ok).toBe(expected);
        // a failing history's smallest window fails on its own
        if (!expected) {
          const w = smallestWindow(ops)!;
          expect(linearizable(w.ops, { init: w.init }).ok).toBe(false);
        }
      }),
      { numRuns: 500, seed: 20261206 },
    );
    // the generator makes both kinds
    expect(invalid).toBeGreaterThan(20);
    expect(invalid).toBeLessThan(480);
  });
});

describe('a long generated history', () => {
  it('20,000 operations of 5 clients on 5 znodes, one answer in 500 lost: valid; with one stale sync read: invalid, and the window names it', () => {
    const ops = generateHistory({ ops: 20_000, seed: 3, lostEvery: 500 });
    const r = checkHistory({ header: {}, ops });
    expect(r.verdict).toBe('valid');
    expect(r.counts.info).toBeGreaterThan(10);
    const damaged = injectStaleRead(ops);
    expect(damaged).not.toBeNull();
    const bad = checkHistory({ header: {}, ops });
    expect(bad.verdict).toBe('invalid');
    const k = bad.keys.find((x) => x.violation)!;
    expect(k.window!.ops.some((o) => o.id === damaged)).toBe(true);
    expect(k.window!.ops.length).toBeLessThan(50);
  });
});

describe('npm run history', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'checker/history/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
  it('a lost acknowledged write: exit 1, the window printed and written as a history file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-cli-'));
    try {
      const out = join(dir, 'w.ndjson');
      const r = cli('test/fixtures/history/lost-write.ndjson', '--window-out', out);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/k1: NOT linearizable/);
      expect(r.stdout).toMatch(/lost-write: k1: acknowledged setData "b"/);
      expect(r.stdout).toMatch(/VERDICT: INVALID/);
      const w = parseHistory(readFileSync(out, 'utf8'), out);
      expect(w.ops.map((o) => o.id)).toEqual([3, 4, 6, 7, 8]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a valid history: exit 0; --json; bad input: exit 2 naming file and line', () => {
    const ok = cli('test/fixtures/history/valid.ndjson', '--json');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).verdict).toBe('valid');
    const bad = cli('test/fixtures/history/missing.ndjson');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('history: test/fixtures/history/missing.ndjson: no such file');
    expect(cli('--budget', 'x', 'f').stderr).toMatch(/--budget must be a positive integer/);
  });
});

describe('what the nemesis found against ours (nemesis/README.md, Findings)', () => {
  const load = (f: string) => parseHistory(readFileSync(join('nemesis/findings', f), 'utf8'), f);
  it('seed 8: a sync read on a follower misses a setData acknowledged before the sync began (our sync is answered locally)', () => {
    const r = checkHistory(load('ours-seed8-sync-read-stale.window.ndjson'));
    expect(r.verdict).toBe('invalid');
    expect(r.keys.filter((k) => k.violation).map((k) => k.key)).toContain('nemesis-8-k0');
  });
  it('seed 16: a sync read on an isolated leader shows a delete that the next epoch does not have', () => {
    const w = checkHistory(load('ours-seed16-uncommitted-delete-read.window.ndjson'));
    expect(w.verdict).toBe('invalid');
    const full = checkHistory(load('ours-seed16.ndjson'));
    expect(full.keys.find((k) => k.key === 'nemesis-16-k2')?.violation).toBe(true);
    expect(full.keys.find((k) => k.key === 'nemesis-16-k2')?.window?.ops.some((o) => o.id === 311)).toBe(true);
  });
});
