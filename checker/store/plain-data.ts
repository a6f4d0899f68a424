// The spec's states must be plain data (spec/model.ts): objects with the plain prototype, arrays, numbers,
// strings, booleans and null. The codec throws NotPlainDataError on anything else; findNotPlainData then
// names where the offending value sits, for a one-line error.

export class NotPlainDataError extends Error {}

/** Where in a state the first value that is not plain data sits, e.g. `servers[1].recvset: undefined`. */
export function findNotPlainData(v: unknown, path = 'state'): string | null {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v !== 'object') return `${path}: ${typeof v}`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = findNotPlainData(v[i], `${path}[${i}]`);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return `${path}: a ${(v as object).constructor?.name ?? 'null-prototype'} object`;
  for (const [k, x] of Object.entries(v)) {
    const bad = findNotPlainData(x, `${path}.${k}`);
    if (bad !== null) return bad;
  }
  return null;
}
