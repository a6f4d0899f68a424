// ZooKeeper's watches, as the server keeps them: WatchManager (one table of path -> watchers, with a mode per
// watcher and path: WatcherModeManager) and how DataTree uses two of them, `dataWatches` and `childWatches`.
// Pure: no sockets, no timers. A watcher is an opaque key (the server's connection); what to send to whom comes
// back as a list of notifications, which the client port turns into WatcherEvent frames (xid -1).
//
// The behaviour is Apache ZooKeeper 3.8.0's (Debian's jar, read with javap), quirks included:
// - exists and getData set a one-shot watch in dataWatches, getChildren in childWatches; exists sets it even on a
//   missing node (DataTree.statNode), so it fires NodeCreated; getData and getChildren on a missing node fail
//   before setting one (the server simply does not call watchData/watchChildren then).
// - addWatch (DataTree.addWatch) puts the persistent or persistent-recursive watch in BOTH tables. A watcher has
//   one mode per path and table: a later watch on the same path replaces the mode (so a getData watch on a path
//   with a persistent watch makes it one-shot, as in 3.8.0; ZOOKEEPER-4466 changed that in 3.9).
// - WatchManager.triggerWatch walks from the path up to the root when any recursive watch exists: on the path
//   itself every watcher fires (a one-shot one is removed); on an ancestor only recursive ones fire; a recursive
//   watch never fires for NodeChildrenChanged. Each watcher is notified at most once per trigger.
// - A delete triggers NodeDeleted on dataWatches, then on childWatches suppressing the watchers already
//   notified, then NodeChildrenChanged on the parent's childWatches (DataTree.deleteNode).
// - removeWatches/checkWatches (FinalRequestProcessor): NOWATCHER when there is nothing to remove. In 3.8.0
//   WatchManager.containsWatcher answers true when ANY watcher watches the path itself, or when this watcher's
//   own mode on the path is recursive; reproduced here.
// - setWatches (DataTree.setWatches) on reconnect: fires at once what the client missed since relativeZxid.
import { Code, EventType, WatcherType } from '../zkwire/codes.ts';

export type WatcherMode = 'standard' | 'persistent' | 'persistentRecursive';

/** A `{type, path}` that applying a txn produced (DataTree's triggers): the input of WatchManager.trigger. */
export interface WatchTrigger {
  type: number;
  path: string;
}

/** One WatcherEvent for one watcher (state is always SyncConnected for these). */
export interface Notification<W> {
  watcher: W;
  type: number;
  path: string;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The path, then each ancestor up to the root (PathParentIterator.forAll). */
function* pathAndParents(path: string): Generator<string> {
  let p = path;
  for (;;) {
    yield p;
    if (p === '/' || p === '') return;
    p = parentOf(p);
  }
}

/** One of DataTree's two tables: WatchManager with its WatcherModeManager. */
export class WatchTable<W> {
  /** watchTable: path -> watchers, in the order they were added. */
  private readonly byPath = new Map<string, Set<W>>();
  /** watch2Paths: watcher -> paths. */
  private readonly byWatcher = new Map<W, Set<string>>();
  /** WatcherModeManager: only modes other than standard are kept. */
  private readonly modes = new Map<W, Map<string, WatcherMode>>();
  private recursive = 0;

  private modeOf(w: W, path: string): WatcherMode {
    return this.modes.get(w)?.get(path) ?? 'standard';
  }

  private setMode(w: W, path: string, mode: WatcherMode): void {
    const old = this.modeOf(w, path);
    if (old === 'persistentRecursive') this.recursive--;
    if (mode === 'persistentRecursive') this.recursive++;
    let m = this.modes.get(w);
    if (mode === 'standard') {
      m?.delete(path);
      if (m?.size === 0) this.modes.delete(w);
      return;
    }
    if (m === undefined) this.modes.set(w, (m = new Map()));
    m.set(path, mode);
  }

  /** WatchManager.addWatch: true if the watcher did not watch this path yet. */
  add(path: string, w: W, mode: WatcherMode = 'standard'): boolean {
    let ws = this.byPath.get(path);
    if (ws === undefined) this.byPath.set(path, (ws = new Set()));
    ws.add(w);
    let ps = this.byWatcher.get(w);
    if (ps === undefined) this.byWatcher.set(w, (ps = new Set()));
    this.setMode(w, path, mode);
    const added = !ps.has(path);
    ps.add(path);
    return added;
  }

  /** WatchManager.triggerWatch: the watchers to notify of `type` on `path` (one-shot watches on the path are
   *  consumed), leaving out those in `suppress`. */
  trigger(path: string, type: number, suppress?: ReadonlySet<W>): Set<W> {
    const out = new Set<W>();
    const paths = this.recursive > 0 ? pathAndParents(path) : [path];
    for (const p of paths) {
      const ws = this.byPath.get(p);
      if (ws === undefined) continue;
      const atParent = p !== path;
      for (const w of [...ws]) {
        const mode = this.modeOf(w, p);
        if (mode === 'persistentRecursive') {
          if (type !== EventType.NodeChildrenChanged) out.add(w);
        } else if (!atParent) {
          out.add(w);
          if (mode === 'standard') {
            ws.delete(w);
            const ps = this.byWatcher.get(w);
            ps?.delete(p);
            if (ps?.size === 0) this.byWatcher.delete(w);
          }
        }
      }
      if (ws.size === 0) this.byPath.delete(p);
    }
    if (suppress !== undefined) for (const w of suppress) out.delete(w);
    return out;
  }

  /** WatchManager.removeWatcher(path, watcher): the watch of any mode on exactly this path. */
  remove(path: string, w: W): boolean {
    const ps = this.byWatcher.get(w);
    if (ps === undefined || !ps.delete(path)) return false;
    if (ps.size === 0) this.byWatcher.delete(w);
    const ws = this.byPath.get(path);
    if (ws === undefined || !ws.delete(w)) return false;
    if (ws.size === 0) this.byPath.delete(path);
    this.setMode(w, path, 'standard');
    return true;
  }

  /** WatchManager.containsWatcher as 3.8.0 has it (see the top of this file). */
  contains(path: string, w: W): boolean {
    const mode = this.modeOf(w, path);
    const paths = this.recursive > 0 ? pathAndParents(path) : [path];
    for (const p of paths) {
      if (p === path && this.byPath.has(p)) return true;
      if (mode === 'persistentRecursive') return true;
    }
    return false;
  }

  /** WatchManager.removeWatcher(watcher): a connection closed. */
  removeWatcher(w: W): void {
    const ps = this.byWatcher.get(w);
    if (ps === undefined) return;
    this.byWatcher.delete(w);
    for (const p of ps) {
      const ws = this.byPath.get(p);
      ws?.delete(w);
      if (ws?.size === 0) this.byPath.delete(p);
      this.setMode(w, p, 'standard');
    }
  }

  /** WatchManager.size(): the watches, one per (path, watcher). */
  size(): number {
    let n = 0;
    for (const ws of this.byPath.values()) n += ws.size;
    return n;
  }

  /** Counts for `wchs` (WatchManager.toString): watchers, paths, watches. */
  summary(): { connections: number; paths: number; watches: number } {
    let watches = 0;
    for (const ps of this.byWatcher.values()) watches += ps.size;
    return { connections: this.byWatcher.size, paths: this.byPath.size, watches };
  }

  /** Paths by watcher (`wchc`) and watchers by path (`wchp`), in insertion order. */
  byConnection(): ReadonlyMap<W, ReadonlySet<string>> {
    return this.byWatcher;
  }
  byPathMap(): ReadonlyMap<string, ReadonlySet<W>> {
    return this.byPath;
  }
}

/** What setWatches needs of the tree: a node's mzxid and pzxid, or null if there is no such node. */
export type NodeLookup = (path: string) => { mzxid: number | bigint; pzxid: number | bigint } | null;

/** The watch lists of SetWatches / SetWatches2 (null vectors as empty). */
export interface SetWatchesLists {
  dataWatches?: readonly string[] | null;
  existWatches?: readonly string[] | null;
  childWatches?: readonly string[] | null;
  persistentWatches?: readonly string[] | null;
  persistentRecursiveWatches?: readonly string[] | null;
}

/** DataTree's watches: dataWatches and childWatches, and the operations of the client protocol on them. */
export class WatchManager<W> {
  readonly dataWatches = new WatchTable<W>();
  readonly childWatches = new WatchTable<W>();

  /** exists or getData with watch=true (exists also when the node is missing). */
  watchData(path: string, w: W): void {
    this.dataWatches.add(path, w);
  }

  /** getChildren / getChildren2 with watch=true, on an existing node. */
  watchChildren(path: string, w: W): void {
    this.childWatches.add(path, w);
  }

  /** addWatch (op 106): mode is AddWatchMode (0 persistent, 1 persistent recursive). */
  addWatch(path: string, w: W, mode: number): void {
    const m: WatcherMode = mode === 1 ? 'persistentRecursive' : 'persistent';
    this.dataWatches.add(path, w, m);
    this.childWatches.add(path, w, m);
  }

  /**
   * The notifications of one applied txn's triggers, in trigger order; within a trigger each watcher once, in
   * the order the watches were found (the path first, then its ancestors; within a path, oldest watch first).
   */
  trigger(triggers: readonly WatchTrigger[]): Notification<W>[] {
    const out: Notification<W>[] = [];
    const emit = (ws: Iterable<W>, t: WatchTrigger) => {
      for (const watcher of ws) out.push({ watcher, type: t.type, path: t.path });
    };
    for (const t of triggers) {
      switch (t.type) {
        case EventType.NodeCreated:
        case EventType.NodeDataChanged:
          emit(this.dataWatches.trigger(t.path, t.type), t);
          break;
        case EventType.NodeDeleted: {
          const processed = this.dataWatches.trigger(t.path, t.type);
          const more = this.childWatches.trigger(t.path, t.type, processed);
          emit(processed, t);
          emit(more, t);
          break;
        }
        case EventType.NodeChildrenChanged:
          emit(this.childWatches.trigger(t.path, t.type), t);
          break;
        default:
          throw new Error(`WatchManager.trigger: event type ${t.type} is not one a txn triggers`);
      }
    }
    return out;
  }

  /** removeWatches (op 18) as DataTree.removeWatch: OK, or NOWATCHER when this watcher had none to remove. */
  removeWatches(path: string, type: number, w: W): number {
    let removed = false;
    if (type === WatcherType.Children || type === WatcherType.Any) removed = this.childWatches.remove(path, w) || removed;
    if (type === WatcherType.Data || type === WatcherType.Any) removed = this.dataWatches.remove(path, w) || removed;
    if (type !== WatcherType.Children && type !== WatcherType.Data && type !== WatcherType.Any) return Code.BADARGUMENTS;
    return removed ? Code.OK : Code.NOWATCHER;
  }

  /** checkWatches (op 17) as DataTree.containsWatcher: OK or NOWATCHER. */
  checkWatches(path: string, type: number, w: W): number {
    let found: boolean;
    if (type === WatcherType.Children) found = this.childWatches.contains(path, w);
    else if (type === WatcherType.Data) found = this.dataWatches.contains(path, w);
    else if (type === WatcherType.Any) found = this.childWatches.contains(path, w) || this.dataWatches.contains(path, w);
    else return Code.BADARGUMENTS;
    return found ? Code.OK : Code.NOWATCHER;
  }

  /**
   * setWatches / setWatches2 after a reconnect (DataTree.setWatches): each watch the client had is set again,
   * unless what it waits for already happened after relativeZxid (the last zxid the client saw): then its event
   * is returned, to be sent at once instead. Data watch: NodeDeleted if the node is gone, NodeDataChanged if its
   * mzxid is newer. Exist watch: NodeCreated if the node exists. Child watch: NodeDeleted if gone,
   * NodeChildrenChanged if its pzxid is newer. Persistent and recursive watches are simply set again.
   */
  setWatches(relativeZxid: number | bigint, lists: SetWatchesLists, w: W, lookup: NodeLookup): Notification<W>[] {
    const rel = BigInt(relativeZxid);
    const out: Notification<W>[] = [];
    const fire = (type: number, path: string) => out.push({ watcher: w, type, path });
    for (const path of lists.dataWatches ?? []) {
      const n = lookup(path);
      if (n === null) fire(EventType.NodeDeleted, path);
      else if (BigInt(n.mzxid) > rel) fire(EventType.NodeDataChanged, path);
      else this.dataWatches.add(path, w);
    }
    for (const path of lists.existWatches ?? []) {
      if (lookup(path) !== null) fire(EventType.NodeCreated, path);
      else this.dataWatches.add(path, w);
    }
    for (const path of lists.childWatches ?? []) {
      const n = lookup(path);
      if (n === null) fire(EventType.NodeDeleted, path);
      else if (BigInt(n.pzxid) > rel) fire(EventType.NodeChildrenChanged, path);
      else this.childWatches.add(path, w);
    }
    for (const path of lists.persistentWatches ?? []) this.addWatch(path, w, 0);
    for (const path of lists.persistentRecursiveWatches ?? []) this.addWatch(path, w, 1);
    return out;
  }

  /** A connection closed: every watch of it goes. */
  removeWatcher(w: W): void {
    this.dataWatches.removeWatcher(w);
    this.childWatches.removeWatcher(w);
  }

  /** DataTree.getWatchCount (mntr's zk_watch_count): both tables. */
  watchCount(): number {
    return this.dataWatches.size() + this.childWatches.size();
  }
}
