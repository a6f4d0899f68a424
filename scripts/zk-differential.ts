// npm run diff:zk -- [flags]: the differential test of two ZooKeeper ensembles at length (test/support/
// zk-differential.ts): many seeded random sequences through our client against target A and target B, every
// result and the final trees compared. `--help` for the flags.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { compare, coverage, describeDivergence, runOn, sequence } from '../test/support/zk-differential.ts';
import { startTarget, type Target } from '../test/support/zk-target.ts';
import { argsProblem, flagProblem, formatUsage, intFlag, wantsHelp, type Usage } from '../impl/usage.ts';

export const DIFF_ZK_USAGE: Usage = {
  usage: 'npm run diff:zk -- [--a TARGET] [--b TARGET] [--seeds N] [--first-seed S] [--ops N] [--json]',
  description: `The same random operation sequences against two ZooKeeper ensembles, compared. A target is "apache" (3 Apache
ZooKeeper 3.8 servers from Debian's package, started here), "ours" (3 of our servers, started here) or
host:port[,host:port...] (an ensemble already running). When A and B are the same, one ensemble is started and
each run gets its own root znode.

Each op is a create (persistent, ephemeral, sequential), delete or setData with a version, getData, exists,
getChildren, a multi of 1-3 ops, or a reconnect of the second session; results compared: error codes, paths,
data, children, Stat fields except times (zxids by order of appearance, ephemeralOwner by session).`,
  flags: [
    { flag: 'a', metavar: 'TARGET', help: 'target A', default: 'apache' },
    { flag: 'b', metavar: 'TARGET', help: 'target B (default: the same as A)' },
    { flag: 'seeds', metavar: 'N', help: 'how many sequences', default: 20 },
    { flag: 'first-seed', metavar: 'S', help: 'the first seed; the others follow', default: 1 },
    { flag: 'ops', metavar: 'N', help: 'operations per sequence', default: 1000 },
    { flag: 'mutate', help: "make B's client ignore versions (shows that a difference is caught)" },
    { flag: 'json', help: 'one JSON object on stdout instead of text' },
  ],
  exit: [
    [0, 'every sequence equal'],
    [1, 'a divergence (the first one is printed)'],
    [2, 'bad usage'],
    [3, 'a target failed to start or an ensemble failed during the run'],
  ],
  examples: ['npm run diff:zk -- --a ours --b apache --seeds 5 --ops 2000'],
};

const Flags = z.strictObject({
  a: z.string().min(1).default('apache'),
  b: z.string().min(1).optional(),
  seeds: intFlag(1, 100_000).default(20),
  'first-seed': intFlag(0, 2 ** 31 - 1).default(1),
  ops: intFlag(1, 1_000_000).default(1000),
  mutate: z.boolean().default(false),
  json: z.boolean().default(false),
});

async function main(): Promise<number> {
  if (wantsHelp(process.argv.slice(2))) {
    console.log(formatUsage(DIFF_ZK_USAGE));
    return 0;
  }
  let raw;
  try {
    raw = parseArgs({
      options: {
        a: { type: 'string' },
        b: { type: 'string' },
        seeds: { type: 'string' },
        'first-seed': { type: 'string' },
        ops: { type: 'string' },
        mutate: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`zk-differential: ${argsProblem(e)} (see --help)`);
    return 2;
  }
  const { help: _h, ...rest } = raw;
  const parsed = Flags.safeParse(rest);
  if (!parsed.success) {
    console.error(`zk-differential: ${flagProblem(parsed.error, rest)}`);
    return 2;
  }
  const f = parsed.data;
  const bKind = f.b ?? f.a;
  const tty = process.stderr.isTTY && !f.json;
  const targets: Target[] = [];
  try {
    let A: Target, B: Target;
    try {
      const a = await startTarget(f.a);
      if ('skip' in a) throw new Error(a.skip);
      targets.push(a);
      A = a;
      if (bKind === f.a) B = A;
      else {
        const b = await startTarget(bKind);
        if ('skip' in b) throw new Error(b.skip);
        targets.push(b);
        B = b;
      }
    } catch (e) {
      console.error(`zk-differential: ${(e as Error).message}`);
      return 3;
    }
    const t0 = performance.now();
    let total = 0;
    for (let i = 0; i < f.seeds; i++) {
      const seed = f['first-seed'] + i;
      const ops = sequence(seed, f.ops);
      const tag = `${Date.now().toString(36)}s${seed}`;
      let a, b;
      try {
        a = await runOn(A, `/diffA${tag}`, ops);
        b = await runOn(B, `/diffB${tag}`, ops, f.mutate ? 'ignoreVersions' : 'none');
      } catch (e) {
        console.error(`zk-differential: seed ${seed}: a target failed: ${(e as Error).message}`);
        return 3;
      }
      total += ops.length;
      const d = compare(ops, a, b);
      if (d !== null) {
        if (f.json) console.log(JSON.stringify({ verdict: 'DIVERGED', a: A.name, b: B.name, seed, ops: f.ops, step: d.step, op: d.op, resultA: d.a, resultB: d.b }));
        else console.log(`DIVERGED: ${A.name} vs ${B.name}, seed ${seed} (${f.ops} ops), ${describeDivergence(d)}`);
        return 1;
      }
      if (tty) process.stderr.write(`\rseed ${seed}: equal (${i + 1}/${f.seeds}, ${total} ops)   `);
      if (!f.json && !tty && i === 0) console.log(`seed ${seed}: ${coverage(ops, a)}`);
    }
    if (tty) process.stderr.write('\n');
    const secs = (performance.now() - t0) / 1000;
    if (f.json) console.log(JSON.stringify({ verdict: 'EQUAL', a: A.name, b: B.name, seeds: f.seeds, firstSeed: f['first-seed'], opsPerSeed: f.ops, ops: total, seconds: secs }));
    else console.log(`EQUAL: ${A.name} vs ${B.name}: ${f.seeds} sequences of ${f.ops} ops (seeds ${f['first-seed']}..${f['first-seed'] + f.seeds - 1}), ${total} ops on each side, every result and final tree equal (${secs.toFixed(1)} s)`);
    return 0;
  } finally {
    for (const t of targets) await t.close().catch(() => {});
  }
}

main().then((code) => process.exit(code));
