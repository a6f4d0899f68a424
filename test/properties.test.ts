// The invariants over what servers delivered, on hand-made states: each case gives the delivered sequences of
// three servers (zxid counter=value in epoch 1) and which properties must hold. The properties are written for
// speed (they run on every state); the cases pin down what they mean.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildSpec } from '../spec/index.ts';
import type { ClusterState, Txn } from '../spec/state.ts';
import { makeZxid } from '../spec/types.ts';

const spec = buildSpec({ nodes: 3, observers: 0, mutations: [], granularity: 'coarse', txns: 9 });
const init = spec.init()[0]!;
const prop = (name: string) => spec.properties.find((p) => p.name === name)!;
const tx = (counter: number, value = counter): Txn => ({ zxid: makeZxid(1, counter), value });

/** The initial state with these delivered sequences (all committed) and these txns proposed. */
function withDelivered(seqs: readonly (readonly Txn[])[], proposed: readonly Txn[]): ClusterState {
  return {
    ...init,
    servers: init.servers.map((srv, i) => ({ ...srv, history: seqs[i]!, pendingLog: [], committed: seqs[i]!.length })),
    ghost: { ...init.ghost, proposed },
  };
}

const ALL = [tx(1), tx(2), tx(3), tx(4)];
const NAMES = ['prefixAgreement', 'totalOrder', 'primaryOrder', 'integrity'] as const;

describe('invariants over delivered txns', () => {
  const cases: [string, Txn[][], Txn[], Record<(typeof NAMES)[number], boolean>][] = [
    ['prefixes of one another', [[tx(1)], [tx(1), tx(2)], []], ALL, { prefixAgreement: true, totalOrder: true, primaryOrder: true, integrity: true }],
    ['diverging after a common prefix', [[tx(1), tx(2)], [tx(1), tx(3)], []], ALL, { prefixAgreement: false, totalOrder: true, primaryOrder: true, integrity: true }],
    ['the same two txns in another order', [[tx(1), tx(2)], [tx(2), tx(1)], []], ALL, { prefixAgreement: false, totalOrder: false, primaryOrder: false, integrity: true }],
    ['one txn twice', [[tx(1), tx(1)], [tx(1)], []], ALL, { prefixAgreement: true, totalOrder: false, primaryOrder: false, integrity: true }],
    ['a zxid with another value', [[tx(1), tx(2, 7)], [tx(1), tx(2)], []], ALL, { prefixAgreement: false, totalOrder: true, primaryOrder: true, integrity: false }],
    ['a txn nobody proposed', [[tx(1), tx(5)], [], []], ALL, { prefixAgreement: true, totalOrder: true, primaryOrder: true, integrity: false }],
    ['proposed, but not at its own value', [[tx(3, 1)], [], []], [tx(1), tx(2), tx(3, 1)], { prefixAgreement: true, totalOrder: true, primaryOrder: true, integrity: true }],
  ];
  it.each(cases)('%s', (_name, seqs, proposed, expected) => {
    const s = withDelivered(seqs, proposed);
    for (const name of NAMES) expect([name, prop(name).check(s)]).toStrictEqual([name, expected[name]]);
  });

  // The plain reading of each property, as the paper states it, against the spec's faster code.
  const sameTxn = (a: Txn, b: Txn) => a.zxid === b.zxid && a.value === b.value;
  const isPrefix = (a: readonly Txn[], b: readonly Txn[]) => a.length <= b.length && a.every((t, i) => sameTxn(t, b[i]!));
  const pairs = (xs: Txn[][]) => xs.flatMap((a, i) => xs.slice(i + 1).map((b) => [a, b] as const));
  const reference: Record<(typeof NAMES)[number], (seqs: Txn[][], proposed: Txn[]) => boolean> = {
    prefixAgreement: (seqs) => pairs(seqs).every(([a, b]) => isPrefix(a, b) || isPrefix(b, a)),
    totalOrder: (seqs) =>
      pairs(seqs).every(([a, b]) => {
        const inB = a.filter((t) => b.some((u) => sameTxn(t, u))).map((t) => b.findIndex((u) => sameTxn(t, u)));
        return inB.every((x, k) => k === 0 || x > inB[k - 1]!);
      }),
    primaryOrder: (seqs) => seqs.every((xs) => xs.every((t, i) => i === 0 || t.zxid > xs[i - 1]!.zxid)),
    integrity: (seqs, proposed) => seqs.every((xs) => xs.every((t) => proposed.some((p) => sameTxn(p, t)))),
  };
  it('agree with their plain reading on random deliveries', () => {
    const txn = fc.record({ counter: fc.integer({ min: 1, max: 4 }), value: fc.integer({ min: 1, max: 5 }) }).map(({ counter, value }) => tx(counter, value));
    const seq = fc.array(txn, { maxLength: 5 });
    fc.assert(
      fc.property(fc.tuple(seq, seq, seq), fc.array(txn, { maxLength: 6 }), (seqs, proposed) => {
        const s = withDelivered(seqs, proposed);
        for (const name of NAMES) expect([name, prop(name).check(s)]).toStrictEqual([name, reference[name](seqs, proposed)]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('withinBounds', () => {
  // txns 9, and the default crashes 1, partitions 1, maxEpoch 3.
  const holds = (s: ClusterState) => prop('withinBounds').check(s);
  it('holds at the bounds and fails one past any of them', () => {
    expect(holds(init)).toBe(true);
    expect(holds({ ...init, budget: { txns: 9, crashes: 1, partitions: 1 } })).toBe(true);
    expect(holds({ ...init, budget: { txns: 10, crashes: 1, partitions: 1 } })).toBe(false);
    expect(holds({ ...init, budget: { txns: 0, crashes: 2, partitions: 0 } })).toBe(false);
    expect(holds({ ...init, budget: { txns: 0, crashes: 0, partitions: 2 } })).toBe(false);
    expect(holds({ ...init, budget: { txns: 0, crashes: -1, partitions: 0 } })).toBe(false);
  });
  it('fails when a server accepts an epoch above --max-epoch', () => {
    const at = (e: number) => ({ ...init, servers: init.servers.map((srv, i) => (i === 0 ? { ...srv, acceptedEpoch: e } : srv)) });
    expect(holds(at(3))).toBe(true);
    expect(holds(at(4))).toBe(false);
    expect(prop('withinBounds').explain?.(at(4))).toBe('server 1 accepted epoch 4, the bound is 3');
  });
});

describe('a state a property cannot read', () => {
  it('violates the invariant, and the explanation says why, instead of throwing', () => {
    const broken = { ...init, ghost: {} } as unknown as ClusterState;
    expect(prop('leaderUniqueness').check(broken)).toBe(false);
    expect(prop('leaderUniqueness').explain?.(broken)).toMatch(/^the state cannot be read: /);
    expect(prop('leaderUniqueness').check(init)).toBe(true);
  });
  it('witnesses no reachability check', () => {
    expect(prop('newLeaderAfterCrash').check({ ...init, ghost: {} } as unknown as ClusterState)).toBe(false);
  });
});

describe('wellFormed', () => {
  it("fails when a leader's list of learners holds something that is not a server id", () => {
    // The first state reached where some server leads (a few steps of the coarse election).
    let level: ClusterState[] = [init];
    let led: ClusterState | undefined;
    for (let d = 0; d < 6 && led === undefined; d++) {
      level = level.flatMap((s) => spec.next(s).map((x) => x.state));
      led = level.find((s) => s.servers.some((srv) => srv.leader !== null && srv.leader.learners.length > 0));
    }
    expect(led).toBeDefined();
    const i = led!.servers.findIndex((srv) => srv.leader !== null && srv.leader.learners.length > 0);
    const withLearners = (learners: readonly number[]): ClusterState => ({
      ...led!,
      servers: led!.servers.map((srv, k) => (k === i ? { ...srv, leader: { ...srv.leader!, learners } } : srv)),
    });
    expect(prop('wellFormed').check(led!)).toBe(true);
    for (const bad of [[0], [4], [1.5], [2, -1]]) expect([bad, prop('wellFormed').check(withLearners(bad))]).toStrictEqual([bad, false]);
    expect(prop('wellFormed').explain!(withLearners([4]))).toMatch(/lists \[4\] among its learners, which are not all servers/);
    expect(prop('wellFormed').check(withLearners([1, 2, 3]))).toBe(true);
  });
});
