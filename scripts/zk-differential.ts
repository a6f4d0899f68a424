// npm run diff:zk -- [flags]: the differential test of two ZooKeeper ensembles at length (test/support/
// zk-differential.ts): many seeded random sequences through our client against target A and target B, every
// result and the final trees compared. `--help` for the flags.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { compare, coverage, describeDivergence, runOn, sequence } from '../test/support/zk-differential.ts';
import { startTarget, type Target } from '../test/support/zk-target.ts';

const HELP = `zk-differential: the same random operation sequences against two ZooKeeper ensembles, compared

Usage: npm run diff:zk -- [--a TARGET] [--b TARGET] [--seeds N] [--first-seed S] [--ops N] [--json]

A target is "apache" (3 Apache ZooKeeper 3.8 servers from Debian's package, started here), "ours" (3 of our
servers, started here) or host:port[,host:port...] (an ensemble already running). When A and B are the same,
one ensemble is started and each run gets its own root znode.

Flags:
  --a TARGET        target A (default apache)
  --b TARGET        target B (default: the same as A)
  --seeds N         how many sequences (default 20)
  --first-seed S    the first seed; the others follow (default 1)
  --ops N           operations per sequence (default 1000)
  --mutate          make B's client ignore versions (shows that a difference is caught)
  --json            one JSON object on stdout instead of text
  -h, --help        this text

Each op is a create (persistent, ephemeral, sequential), delete or setData with a version, getData, exists,
getChildren, a multi of 1-3 ops, or a reconnect of the second session; results compared: error codes, paths,
data, children, Stat fields except times (zxids by order of appearance, ephemeralOwner by session).
Exit codes: 0 every sequence equal; 1 a divergence (the first one is printed); 2 bad flags; 3 a target failed
to start or an ensemble failed during the run.

Example:
  npm run diff:zk -- --a ours --b apache --seeds 5 --ops 2000
`;

const Flags = z.strictObject({
  a: z.string().min(1).default('apache'),
  b: z.string().min(1).optional(),
  seeds: z.coerce.number().int().min(1).max(100_000).default(20),
  'first-seed': z.coerce.number().int().min(0).default(1),
  ops: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  mutate: z.boolean().default(false),
  json: z.boolean().default(false),
});

async function main(): Promise<number> {
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
    console.error(`zk-differential: ${(e as Error).message} (see --help)`);
    return 2;
  }
  if (raw.help) {
    console.log(HELP.trimEnd());
    return 0;
  }
  const { help: _h, ...rest } = raw;
  const parsed = Flags.safeParse(rest);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    console.error(`zk-differential: --${i.path.join('.')}: ${i.message}`);
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
