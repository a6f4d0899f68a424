// `npx tsx bench/history.ts`: how fast the history checker (checker/history/) decides generated histories of
// 100,000 operations (clients on 5 znodes or 1, some answers lost), and one with a stale sync read injected.
// Prints one line per history; the figures go into checker/README.md by hand. Never run by npm test.
import { checkHistory } from '../checker/history/check.ts';
import { generateHistory, injectStaleRead } from '../checker/history/generate.ts';

const rows: [string, number, number, number, number, boolean][] = [
  ['5 clients, 5 znodes, 1 answer in 500 lost', 100_000, 5, 5, 500, false],
  ['5 clients, 5 znodes, 1 answer in 50 lost', 100_000, 5, 5, 50, false],
  ['5 clients, 1 znode, 1 answer in 50 lost', 100_000, 5, 1, 50, false],
  ['10 clients, 5 znodes, 1 answer in 500 lost', 100_000, 10, 5, 500, false],
  ['5 clients, 5 znodes, 1 answer in 500 lost, one stale sync read', 100_000, 5, 5, 500, true],
];
for (const [what, n, clients, keys, lostEvery, damage] of rows) {
  const ops = generateHistory({ ops: n, clients, keys, seed: 7, lostEvery });
  const damaged = damage ? injectStaleRead(ops) : null;
  const t = performance.now();
  const r = checkHistory({ header: {}, ops });
  const ms = performance.now() - t;
  const states = r.keys.reduce((s, k) => s + k.search.explored, 0);
  const w = r.keys.find((k) => k.window !== null)?.window;
  console.log(
    `${n.toLocaleString('en-US')} ops (${what}): ${r.verdict}, ${(ms / 1000).toFixed(2)} s, ${states.toLocaleString('en-US')} search states` +
      (damaged !== null ? `; injected at #${damaged}, window of ${w?.ops.length ?? '?'} ops found, contains it: ${w?.ops.some((o) => o.id === damaged) ?? false}` : ''),
  );
}
