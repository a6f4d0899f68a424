// Logging, waiting and the divergence error of the reproductions (stamp, say, waitFor, freePort).
import { createServer } from 'node:net';

// ---------------------------------------------------------------------------------------------------- logging

const t0 = performance.now();
export const stamp = () => `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
export const say = (msg: string) => console.log(`[${stamp()}] ${msg}`);
export const hex = (z: bigint | number) => `0x${z.toString(16)}`;
export const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** The scenario went otherwise than the spec predicts, at this step. */
export class Diverged extends Error {
  constructor(
    readonly step: string,
    why: string,
  ) {
    super(why);
  }
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined> | T | null | undefined, everyMs = 200): Promise<T | null> {
  const until = performance.now() + timeoutMs;
  for (let i = 0; i < 100_000 && performance.now() < until; i++) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    await sleep(everyMs);
  }
  void what;
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a !== null && typeof a !== 'string' ? res(a.port) : rej(new Error('no port'))));
    });
  });
}
