// What a breadth-first search needs to resume, written at a level boundary (--checkpoint DIR) and read back
// (--resume DIR): the visited fingerprints, the interned strings the encoded states refer to, the parent links
// (counterexamples are rebuilt from them), the next level's encoded states, the counters and verdicts so far,
// and what the search was: the spec's source and options, a hash of the spec's files, the properties checked,
// and a format version. Every file is named with its SHA-256 in meta.json; a damaged or mismatched
// checkpoint is refused with a CheckpointError naming the problem, before anything is searched.
//
// Layout: DIR/LATEST names the newest complete checkpoint, DIR/ckpt-N/ (meta.json, table.bin, interner.bin,
// parents.bin, frontier-I.seg). A new one is written beside the old, then LATEST is replaced (a rename), then
// the old one is removed: a run stopped at any moment leaves a complete checkpoint behind.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { SpecSource } from '../spec-source.ts';
import { modulePath } from '../spec-source.ts';
import { isSpilled, segmentFromImage, segmentImage, type SegmentRef, type SpilledSegment } from './frontier.ts';

/** 2: fingerprints hash integer and float leaves more cheaply (store/state-codec.ts), so a format-1 table does not match. */
export const CHECKPOINT_FORMAT = 2;

export class CheckpointError extends Error {}

/** A path from an initial state, as bfs.ts records a property's hit. */
export interface SavedHit {
  readonly depth: number;
  readonly path: { readonly init: number; readonly steps: readonly number[] };
  readonly message: string | null;
}

/** What identifies the search: a checkpoint of another one is refused. */
export interface SearchIdentity {
  readonly source: SpecSource;
  readonly specName: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly propertyNames: readonly string[];
}

export interface CheckpointCounters {
  readonly depth: number;
  readonly generated: number;
  readonly distinct: number;
  /** Ids given so far; the frontier's states have ids [levelGlobalStart, nextId). */
  readonly nextId: number;
  readonly levelGlobalStart: number;
  /** Index in spec.init() of each initial state kept (ids 0..). */
  readonly initIndexOf: readonly number[];
  readonly fired: readonly (readonly [string, number])[];
  readonly firstReached: readonly (readonly [string, number])[];
  readonly hits: readonly (SavedHit | null)[];
  readonly peakFrontierBytes: number;
  readonly violation: boolean;
}

interface Meta extends CheckpointCounters {
  readonly format: number;
  readonly identity: SearchIdentity;
  readonly specHash: string;
  readonly table: { readonly capacity: number; readonly count: number };
  readonly frontier: readonly { readonly file: string; readonly count: number }[];
  /** File name → SHA-256 (hex). */
  readonly files: Readonly<Record<string, string>>;
}

/** What a checkpoint holds of the search, written and loaded alike. */
interface CheckpointContent {
  readonly counters: CheckpointCounters;
  readonly tableSlots: Int32Array;
  readonly tableCount: number;
  readonly interner: Uint8Array;
  /** Parent links of ids [initIndexOf.length, nextId), in id order. */
  readonly parents: Uint32Array;
  readonly succ: Uint16Array;
}

export interface CheckpointWrite extends CheckpointContent {
  readonly identity: SearchIdentity;
  readonly frontier: readonly SegmentRef[];
}

export interface LoadedCheckpoint extends CheckpointContent {
  readonly dir: string;
  /** The frontier's segments, read from the checkpoint's files when their level is expanded. */
  readonly frontier: readonly SpilledSegment[];
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A hash of the spec's source files (every .ts under the spec module's folder): a checkpoint of an edited spec is refused. */
export function specSourceHash(source: SpecSource): string {
  const root = dirname(modulePath(source.module));
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
    }
  };
  walk(root);
  const h = createHash('sha256');
  for (const f of files) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

function latest(dir: string): string | null {
  const file = join(dir, 'LATEST');
  if (!existsSync(file)) return null;
  return readFileSync(file, 'utf8').trim();
}

/** Whether DIR holds a checkpoint (a LATEST file). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'LATEST'));
}

export function writeCheckpoint(dir: string, w: CheckpointWrite): void {
  mkdirSync(dir, { recursive: true });
  const prev = latest(dir);
  const seq = prev === null ? 1 : Number(/^ckpt-(\d+)$/.exec(prev)?.[1] ?? 0) + 1;
  const name = `ckpt-${seq}`;
  const at = join(dir, name);
  rmSync(at, { recursive: true, force: true });
  mkdirSync(at);
  const files: Record<string, string> = {};
  const put = (file: string, bytes: Uint8Array): void => {
    writeFileSync(join(at, file), bytes);
    files[file] = sha256(bytes);
  };
  put('table.bin', bytesOf(w.tableSlots));
  put('interner.bin', w.interner);
  const links = new Uint8Array(w.parents.byteLength + w.succ.byteLength);
  links.set(bytesOf(w.parents), 0);
  links.set(bytesOf(w.succ), w.parents.byteLength);
  put('parents.bin', links);
  const frontier = w.frontier.map((seg, i) => {
    const file = `frontier-${i}.seg`;
    if (isSpilled(seg)) {
      copyFileSync(seg.file, join(at, file));
      files[file] = sha256(readFileSync(join(at, file)));
    } else put(file, segmentImage(seg));
    return { file, count: seg.count };
  });
  const meta: Meta = {
    format: CHECKPOINT_FORMAT,
    identity: w.identity,
    specHash: specSourceHash(w.identity.source),
    ...w.counters,
    table: { capacity: w.tableSlots.length / 2, count: w.tableCount },
    frontier,
    files,
  };
  writeFileSync(join(at, 'meta.json'), JSON.stringify(meta));
  writeFileSync(join(dir, 'LATEST.tmp'), name + '\n');
  renameSync(join(dir, 'LATEST.tmp'), join(dir, 'LATEST'));
  for (const e of readdirSync(dir)) if (/^ckpt-\d+$/.test(e) && e !== name) rmSync(join(dir, e), { recursive: true, force: true });
}

/** Read and check the checkpoint in DIR against the search about to run. */
export function readCheckpoint(dir: string, expected: SearchIdentity): LoadedCheckpoint {
  const fail = (what: string): never => {
    throw new CheckpointError(`checkpoint ${dir}: ${what}`);
  };
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail('no such directory');
  const name = latest(dir);
  if (name === null) fail('no checkpoint in it (no LATEST file)');
  if (!/^ckpt-\d+$/.test(name!)) fail(`damaged: LATEST names "${name}"`);
  const at = join(dir, name!);
  let meta: Meta;
  try {
    meta = JSON.parse(readFileSync(join(at, 'meta.json'), 'utf8')) as Meta;
  } catch (e) {
    return fail(`damaged: ${name}/meta.json does not read (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) fail(`format ${String(meta.format)}, this checker reads format ${CHECKPOINT_FORMAT}`);
  const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);
  const got = meta.identity;
  if (got === undefined || got.source.module !== expected.source.module || got.source.exportName !== expected.source.exportName) {
    fail(`made by another spec (${got?.source.module}#${got?.source.exportName}; this run: ${expected.source.module}#${expected.source.exportName})`);
  }
  if (!same(got.source.options, expected.source.options)) {
    const keys = [...new Set([...Object.keys(got.source.options), ...Object.keys(expected.source.options)])].sort();
    const differ = keys.filter((k) => !same(got.source.options[k], expected.source.options[k]));
    const show = (o: Readonly<Record<string, unknown>>): string => differ.map((k) => `${k}=${canonical(o[k]) ?? '-'}`).join(' ');
    fail(`made with other options (${show(got.source.options)}; this run: ${show(expected.source.options)})`);
  }
  if (got.specName !== expected.specName || !same(got.params, expected.params)) fail(`made by another spec (${got.specName})`);
  if (!same(got.propertyNames, expected.propertyNames)) {
    fail(`made for other properties (${got.propertyNames.join(', ')}; this run: ${expected.propertyNames.join(', ')})`);
  }
  if (meta.specHash !== specSourceHash(expected.source)) fail("made by another version of the spec's source files");
  const read = (file: string): Uint8Array => {
    const want = meta.files?.[file];
    if (want === undefined) fail(`damaged: meta.json names no checksum for ${file}`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(join(at, file));
    } catch {
      return fail(`damaged: ${name}/${file} is missing`);
    }
    if (sha256(bytes) !== want) fail(`damaged: ${name}/${file} does not match its checksum`);
    return bytes;
  };
  const aligned = (bytes: Uint8Array): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const table = read('table.bin');
  if (table.byteLength !== meta.table.capacity * 8) fail(`damaged: table.bin holds ${table.byteLength} bytes for ${meta.table.capacity} slots`);
  const interner = read('interner.bin');
  const links = read('parents.bin');
  const n = meta.nextId - meta.initIndexOf.length;
  if (links.byteLength !== n * 6) fail(`damaged: parents.bin holds ${links.byteLength} bytes for ${n} states`);
  const frontier = meta.frontier.map((f) => {
    const bytes = read(f.file);
    let count: number;
    try {
      count = segmentFromImage(bytes, f.file).count;
    } catch (e) {
      return fail(`damaged: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (count !== f.count) fail(`damaged: ${f.file} holds ${count} states, meta.json says ${f.count}`);
    return { file: join(at, f.file), count, fileBytes: bytes.byteLength };
  });
  const inFrontier = frontier.reduce((k, f) => k + f.count, 0);
  if (inFrontier !== meta.nextId - meta.levelGlobalStart) fail(`damaged: the frontier holds ${inFrontier} states, the ids say ${meta.nextId - meta.levelGlobalStart}`);
  const linkBuf = aligned(links);
  return {
    dir,
    counters: meta,
    tableSlots: new Int32Array(aligned(table)),
    tableCount: meta.table.count,
    interner,
    parents: new Uint32Array(linkBuf, 0, n),
    succ: new Uint16Array(linkBuf.slice(n * 4)),
    frontier,
  };
}

/** JSON with object keys sorted, so that two equal plain values compare equal whatever their key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}
