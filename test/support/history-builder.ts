// Small builders for the history checker's tests: operations in memory, as the checker sees them.
import type { Op, OpKind, ReadValue } from '../../checker/history/format.ts';

let nextId = 1;

export interface OpInit {
  process?: number;
  server?: number;
  f: OpKind;
  key?: string;
  value?: string | null;
  version?: number;
  at: [number, number | null];
  result?: 'ok' | 'fail' | 'info';
  error?: string;
  zxid?: number;
  read?: { value: string; version: number; czxid?: number; mzxid?: number } | null;
  stat?: { version: number; czxid?: number; mzxid: number };
}

export function op(x: OpInit): Op {
  const rv = (r: NonNullable<OpInit['read']>): ReadValue => ({ value: r.value, version: r.version, czxid: BigInt(r.czxid ?? r.mzxid ?? 1), mzxid: BigInt(r.mzxid ?? 1) });
  return {
    id: nextId++,
    process: x.process ?? 0,
    server: x.server,
    f: x.f,
    key: x.key ?? 'k',
    value: x.value ?? null,
    version: x.version ?? -1,
    invoke: x.at[0],
    complete: x.at[1] === null ? Infinity : x.at[1],
    result: x.result ?? 'ok',
    error: x.error,
    zxid: x.zxid === undefined ? undefined : BigInt(x.zxid),
    read: x.read === undefined ? undefined : x.read === null ? null : rv(x.read),
    stat: x.stat === undefined ? undefined : { version: x.stat.version, czxid: BigInt(x.stat.czxid ?? 1), mzxid: BigInt(x.stat.mzxid) },
    line: 0,
  };
}

export const history = (...ops: Op[]) => ({ header: { type: 'history', version: 1 }, ops });
