// A worker thread of the search: rebuilds the spec from its SpecSource and serves the coordinator's requests
// (expand a chunk, hand over a level, swap in a grown table, look up a parent link, run random walks).
import { parentPort, workerData } from 'node:worker_threads';
import { FingerprintTable } from '../store/fingerprint-table.ts';
import { SharedInterner } from '../store/interner.ts';
import { loadSpec, type SpecSource } from '../spec-source.ts';
import { LocalThread } from './threads.ts';

interface Init {
  source: SpecSource;
  propertyNames: string[];
  interner: SharedArrayBuffer;
  tableSlots: SharedArrayBuffer;
  tableCounter: SharedArrayBuffer;
  tableMarks: SharedArrayBuffer | null;
  por: boolean;
  stop: SharedArrayBuffer;
  spill: { dir: string; budgetBytes: number } | null;
  threadIndex: number;
}

const init = workerData as Init;
const port = parentPort!;
const spec = await loadSpec(init.source);
const thread = new LocalThread(spec, {
  source: init.source,
  propertyNames: init.propertyNames,
  interner: new SharedInterner(init.interner),
  table: FingerprintTable.attach(init.tableSlots, init.tableCounter, init.tableMarks),
  por: init.por,
  stop: new Int32Array(init.stop),
  spill: init.spill,
  threadIndex: init.threadIndex,
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Request = { id: number; op: string } & Record<string, any>;

async function serve(req: Request): Promise<unknown> {
  switch (req.op) {
    case 'ready':
      return null;
    case 'expand':
      return thread.expand(req['chunk']);
    case 'endLevel':
      return thread.endLevel();
    case 'setTable':
      return thread.setTable(FingerprintTable.attach(req['slots'], req['counter'], req['marks']));
    case 'parent':
      return thread.parent(req['local']);
    case 'parents':
      return thread.parents(req['from'], req['count']);
    case 'simulate':
      return thread.simulate(req['request']);
    default:
      throw new Error(`worker: unknown request ${req.op}`);
  }
}

port.on('message', (req: Request) => {
  serve(req).then(
    (value) => port.postMessage({ id: req.id, ok: true, value }),
    (e: unknown) => port.postMessage({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
