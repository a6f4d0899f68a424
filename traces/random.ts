// The one seeded generator behind every seed this project prints for the spec's random walks (`check --simulate`)
// and for the in-process simulator of impl/'s servers (`npm run simulate`, `conform:faults` schedules): a seed
// given back reruns the same sequence. It lives with the trace contract because a seed is part of what a run
// records (the trace header, the report), and both spec-side and impl-side code read it.
// (pure-rand, a dependency, serves the places whose sequences are not pinned by recorded seeds: the nemesis, the
// history generator, the mutation sample.)

/** mulberry32: a small, fast 32-bit generator; each call returns the next unsigned 32-bit integer. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same generator as a fraction in [0, 1). */
export function mulberry32Unit(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
