// The differential test of two ZooKeeper ensembles: the same random sequence of operations (fast-check, seeded),
// through the same client (impl/zkwire/client.ts), against target A and target B, each under its own root znode;
// every result compared: the error code, the path a create returns (sequential names), data, children, and the
// Stat fields that do not depend on time or on which session asked (ephemeralOwner is compared as "which of our
// two sessions", zxids as the order in which they were first seen). At the end, the two trees are compared whole.
//
// Used by test/zk-differential.test.ts (a few hundred ops in `npm test`) and scripts/zk-differential.ts (long runs,
// `npm run diff:zk`).
import fc from 'fast-check';
import { CreateMode, errorName } from '../../impl/zkwire/codes.ts';
import { ZkWireClient, ZkWireError, type Op } from '../../impl/zkwire/client.ts';
import type { StatT } from '../../impl/zkwire/jute.ts';
import type { Target } from './zk-target.ts';

/** Names the ops use; index into the pool of paths known in this run (the fixed ones, then every path created). */
const FIXED = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/z', '/e', '/e/x'];

export type DiffOp =
  | { k: 'create'; c: number; p: number; seq: boolean; eph: boolean; data: string | null }
  | { k: 'delete'; c: number; p: number; version: number }
  | { k: 'setData'; c: number; p: number; version: number; data: string | null }
  | { k: 'getData'; c: number; p: number }
  | { k: 'exists'; c: number; p: number }
  | { k: 'getChildren'; c: number; p: number }
  | { k: 'multi'; c: number; ops: ({ k: 'create'; p: number; seq: boolean } | { k: 'delete'; p: number; version: number } | { k: 'setData'; p: number; version: number; data: string | null } | { k: 'check'; p: number; version: number })[] }
  /** Client 1 closes its session (its ephemerals go) and opens a new one. */
  | { k: 'reconnect' };

const c = fc.integer({ min: 0, max: 1 });
const p = fc.nat({ max: 40 });
const version = fc.constantFrom(-1, -1, 0, 1, 2);
/** null is sent as a length of -1 (what node-zookeeper-client sends for a create without data). */
const data = fc.constantFrom<string | null>(null, '', 'v', 'value', 'ü');

export const opArb: fc.Arbitrary<DiffOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('create' as const), c, p, seq: fc.boolean(), eph: fc.boolean(), data }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('delete' as const), c, p, version }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('setData' as const), c, p, version, data }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('getData' as const), c, p }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('exists' as const), c, p }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('getChildren' as const), c, p }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('multi' as const),
      c,
      ops: fc.array(
        fc.oneof(
          fc.record({ k: fc.constant('create' as const), p, seq: fc.boolean() }),
          fc.record({ k: fc.constant('delete' as const), p, version }),
          fc.record({ k: fc.constant('setData' as const), p, version, data }),
          fc.record({ k: fc.constant('check' as const), p, version }),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'reconnect' as const }) },
);

/** The op sequence of a seed (the same on every machine). */
export function sequence(seed: number, length: number): DiffOp[] {
  return fc.sample(fc.array(opArb, { minLength: length, maxLength: length }), { seed, numRuns: 1 })[0]!;
}

/** A deliberate difference, to show the comparison is not vacuous: the client ignores versions (sends -1), as a
 *  server that never checks versions would behave. */
export type Mutation = 'none' | 'ignoreVersions';

/** One target's run: results per op, and the final tree. */
export interface RunResult {
  results: string[];
  tree: string[];
}

class Normalizer {
  private readonly zxids = new Map<bigint, number>();
  readonly sessions = new Map<bigint, string>();
  constructor(private readonly root: string) {}
  zxid(z: bigint): string {
    let n = this.zxids.get(z);
    if (n === undefined) this.zxids.set(z, (n = this.zxids.size + 1));
    return `z${n}`;
  }
  path(x: string | null): string {
    if (x === null) return 'null';
    return x.startsWith(this.root) ? x.slice(this.root.length) || '/' : `?${x}`;
  }
  stat(s: StatT | null): string {
    if (s === null) return 'null';
    const owner = s.ephemeralOwner === 0n ? '-' : (this.sessions.get(s.ephemeralOwner) ?? 'other');
    return `{c:${this.zxid(s.czxid)} m:${this.zxid(s.mzxid)} p:${this.zxid(s.pzxid)} v:${s.version} cv:${s.cversion} av:${s.aversion} eph:${owner} len:${s.dataLength} n:${s.numChildren}}`;
  }
}

const buf = (d: string | null) => (d === null ? null : Buffer.from(d));

function errCode(e: unknown): string {
  if (e instanceof ZkWireError) return e.code;
  throw e;
}

/** Runs `ops` against `target` under `root` (created here, removed by the caller's target teardown or left). */
export async function runOn(target: Target, root: string, ops: readonly DiffOp[], mutation: Mutation = 'none'): Promise<RunResult> {
  // Both sessions on one server: a read then sees every write acknowledged before it, whoever made it (on two
  // servers a follower may lag, and the comparison would see timing, not behaviour).
  const srv = (_i: number) => target.servers[0]!;
  const open = async (i: number, _generation: number) => ZkWireClient.connect({ host: srv(i).host, port: srv(i).port, sessionTimeoutMs: 10_000, requestTimeoutMs: 20_000 });
  const norm = new Normalizer(root);
  const clients = [await open(0, 0), await open(1, 0)];
  let generation = 0;
  norm.sessions.set(clients[0]!.sessionId, 'c0');
  norm.sessions.set(clients[1]!.sessionId, `c1#${generation}`);
  const pool = FIXED.map((x) => root + x);
  const at = (i: number) => pool[i % pool.length]!;
  const v = (x: number) => (mutation === 'ignoreVersions' ? -1 : x);
  const results: string[] = [];
  try {
    await clients[0]!.create(root, Buffer.alloc(0));
    for (const op of ops) {
      if (op.k === 'reconnect') {
        await clients[1]!.close();
        clients[1] = await open(1, ++generation);
        norm.sessions.set(clients[1].sessionId, `c1#${generation}`);
        // A sync through client 0 so that its next read sees the closed session's ephemerals gone.
        await clients[0]!.sync(root);
        results.push('reconnect');
        continue;
      }
      const cl = clients[op.c]!;
      let r: string;
      try {
        switch (op.k) {
          case 'create': {
            const flags = op.eph ? (op.seq ? CreateMode.EPHEMERAL_SEQUENTIAL : CreateMode.EPHEMERAL) : op.seq ? CreateMode.PERSISTENT_SEQUENTIAL : CreateMode.PERSISTENT;
            const path = await cl.create(at(op.p) + (op.seq ? '/q-' : ''), buf(op.data), flags);
            if (!pool.includes(path)) pool.push(path);
            r = `OK ${norm.path(path)}`;
            break;
          }
          case 'delete':
            await cl.delete(at(op.p), v(op.version));
            r = 'OK';
            break;
          case 'setData':
            r = `OK ${norm.stat(await cl.setData(at(op.p), buf(op.data), v(op.version)))}`;
            break;
          case 'getData': {
            const g = await cl.getData(at(op.p));
            r = `OK ${JSON.stringify(g.data?.toString('utf8') ?? null)} ${norm.stat(g.stat)}`;
            break;
          }
          case 'exists':
            r = `OK ${norm.stat(await cl.exists(at(op.p)))}`;
            break;
          case 'getChildren': {
            const g = await cl.getChildren2(at(op.p));
            r = `OK [${[...g.children].sort().join(',')}] ${norm.stat(g.stat)}`;
            break;
          }
          case 'multi': {
            const mops: Op[] = op.ops.map((o) =>
              o.k === 'create'
                ? { op: 'create', path: at(o.p) + (o.seq ? '/q-' : ''), flags: o.seq ? CreateMode.PERSISTENT_SEQUENTIAL : 0 }
                : o.k === 'delete'
                  ? { op: 'delete', path: at(o.p), version: v(o.version) }
                  : o.k === 'setData'
                    ? { op: 'setData', path: at(o.p), data: buf(o.data), version: v(o.version) }
                    : { op: 'check', path: at(o.p), version: v(o.version) },
            );
            const show = (res: { type: number; err: number; body: any }[]) =>
              res
                .map((x) => {
                  if (x.type === -1) return errorName(x.err);
                  if (x.body?.path !== undefined) {
                    if (!pool.includes(x.body.path)) pool.push(x.body.path);
                    return `${x.type}:${norm.path(x.body.path)}`;
                  }
                  if (x.body?.stat !== undefined) return `${x.type}:${norm.stat(x.body.stat)}`;
                  return `${x.type}`;
                })
                .join(' ');
            try {
              r = `OK ${show(await cl.multi(mops))}`;
            } catch (e) {
              r = `${errCode(e)} ${show((e as ZkWireError).results ?? [])}`;
            }
            break;
          }
        }
      } catch (e) {
        r = errCode(e);
      }
      results.push(r);
    }
    // The whole tree under the root, read through client 0.
    await clients[0]!.sync(root);
    const tree: string[] = [];
    const walk = async (path: string): Promise<void> => {
      const g = await clients[0]!.getData(path);
      const ch = await clients[0]!.getChildren(path);
      tree.push(`${norm.path(path)} ${JSON.stringify(g.data?.toString('utf8') ?? null)} ${norm.stat(g.stat)}`);
      for (const x of [...ch].sort()) await walk(`${path}/${x}`);
    };
    await walk(root);
    return { results, tree };
  } finally {
    for (const cl of clients) await cl.close().catch(() => {});
  }
}

export interface Divergence {
  step: number;
  op: DiffOp | 'final tree';
  a: string;
  b: string;
}

/** The first difference between two runs of the same ops, or null. */
export function compare(ops: readonly DiffOp[], a: RunResult, b: RunResult): Divergence | null {
  for (let i = 0; i < ops.length; i++) {
    if (a.results[i] !== b.results[i]) return { step: i, op: ops[i]!, a: a.results[i] ?? '(none)', b: b.results[i] ?? '(none)' };
  }
  for (let i = 0; i < Math.max(a.tree.length, b.tree.length); i++) {
    if (a.tree[i] !== b.tree[i]) return { step: ops.length, op: 'final tree', a: a.tree[i] ?? '(none)', b: b.tree[i] ?? '(none)' };
  }
  return null;
}

/** Counts of what a run exercised, for the verdict line. */
export function coverage(ops: readonly DiffOp[], r: RunResult): string {
  const byKind = new Map<string, number>();
  for (const o of ops) byKind.set(o.k, (byKind.get(o.k) ?? 0) + 1);
  const errors = new Map<string, number>();
  for (const x of r.results) {
    const code = x.split(' ')[0]!;
    if (code !== 'OK' && code !== 'reconnect') errors.set(code, (errors.get(code) ?? 0) + 1);
  }
  const fmt = (m: Map<string, number>) => [...m].sort().map(([k, n]) => `${k} ${n}`).join(', ');
  return `ops: ${fmt(byKind)}; errors: ${fmt(errors) || 'none'}; final tree ${r.tree.length} znodes`;
}

export function describeDivergence(d: Divergence): string {
  return `step ${d.step} ${d.op === 'final tree' ? 'final tree' : JSON.stringify(d.op)}:\n  A: ${d.a}\n  B: ${d.b}`;
}
