// impl/zk/watches.ts: ZooKeeper 3.8's watch semantics as the server keeps them (WatchManager, DataTree), told as
// what a client sees. Connections are named 'A', 'B'... ; a txn's triggers are what DataTree would produce.
// test/zk-client-suite.test.ts checks the same stories end to end against Apache ZooKeeper 3.8.
import { describe, expect, it } from 'vitest';
import { WatchManager } from '../impl/zk/watches.ts';
import { Code, EventType, WatcherType } from '../impl/zkwire/codes.ts';

const { NodeCreated, NodeDeleted, NodeDataChanged, NodeChildrenChanged } = EventType;
const created = (path: string) => [{ type: NodeCreated, path }, { type: NodeChildrenChanged, path: parent(path) }];
const deleted = (path: string) => [{ type: NodeDeleted, path }, { type: NodeChildrenChanged, path: parent(path) }];
const changed = (path: string) => [{ type: NodeDataChanged, path }];
function parent(p: string) {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
const name = (t: number) => Object.entries(EventType).find(([, v]) => v === t)![0];
/** Notifications as 'A NodeCreated /a' lines. */
const seen = (ns: { watcher: string; type: number; path: string }[]) => ns.map((n) => `${n.watcher} ${name(n.type)} ${n.path}`);

describe('one-shot watches (exists, getData, getChildren)', () => {
  it('a getData watch fires once on the next change, then is gone', () => {
    const wm = new WatchManager<string>();
    wm.watchData('/a', 'A');
    expect(seen(wm.trigger(changed('/a')))).toEqual(['A NodeDataChanged /a']);
    expect(seen(wm.trigger(changed('/a')))).toEqual([]);
  });

  it('exists on a missing node watches for its creation; the parent\'s child watch sees the new child', () => {
    const wm = new WatchManager<string>();
    wm.watchData('/a/b', 'A');
    wm.watchChildren('/a', 'B');
    expect(seen(wm.trigger(created('/a/b')))).toEqual(['A NodeCreated /a/b', 'B NodeChildrenChanged /a']);
    expect(wm.watchCount()).toBe(0);
  });

  it('a delete: NodeDeleted to data and child watchers of the node, once each, then the parent\'s NodeChildrenChanged', () => {
    const wm = new WatchManager<string>();
    wm.watchData('/a', 'A');
    wm.watchChildren('/a', 'A'); // the same connection watches both: one NodeDeleted
    wm.watchChildren('/a', 'B');
    wm.watchChildren('/', 'C');
    expect(seen(wm.trigger(deleted('/a')))).toEqual(['A NodeDeleted /a', 'B NodeDeleted /a', 'C NodeChildrenChanged /']);
    expect(wm.watchCount()).toBe(0);
  });

  it('a setData does not fire child watches, a child\'s creation does not fire data watches', () => {
    const wm = new WatchManager<string>();
    wm.watchChildren('/a', 'A');
    wm.watchData('/a', 'B');
    expect(seen(wm.trigger(changed('/a')))).toEqual(['B NodeDataChanged /a']);
    expect(seen(wm.trigger(created('/a/x')))).toEqual(['A NodeChildrenChanged /a']);
  });

  it('several watchers of one path are each notified, in the order they set their watches', () => {
    const wm = new WatchManager<string>();
    for (const w of ['C', 'A', 'B']) wm.watchData('/k', w);
    wm.watchData('/k', 'C'); // again: still one watch
    expect(wm.watchCount()).toBe(3);
    expect(seen(wm.trigger(changed('/k')))).toEqual(['C NodeDataChanged /k', 'A NodeDataChanged /k', 'B NodeDataChanged /k']);
  });
});

describe('persistent watches (addWatch)', () => {
  it('a persistent watch fires on every change of the node and of its list of children, and stays', () => {
    const wm = new WatchManager<string>();
    wm.addWatch('/a', 'A', 0);
    expect(seen(wm.trigger(changed('/a')))).toEqual(['A NodeDataChanged /a']);
    expect(seen(wm.trigger(created('/a/x')))).toEqual(['A NodeChildrenChanged /a']);
    expect(seen(wm.trigger(changed('/a/x')))).toEqual([]); // not recursive
    expect(seen(wm.trigger(deleted('/a')))).toEqual(['A NodeDeleted /a']);
    expect(seen(wm.trigger(created('/a')))).toEqual(['A NodeCreated /a']);
  });

  it('a recursive watch fires for every descendant, but never NodeChildrenChanged', () => {
    const wm = new WatchManager<string>();
    wm.addWatch('/a', 'A', 1);
    expect(seen(wm.trigger(created('/a/b')))).toEqual(['A NodeCreated /a/b']);
    expect(seen(wm.trigger(created('/a/b/c')))).toEqual(['A NodeCreated /a/b/c']);
    expect(seen(wm.trigger(changed('/a/b/c')))).toEqual(['A NodeDataChanged /a/b/c']);
    expect(seen(wm.trigger(deleted('/a/b/c')))).toEqual(['A NodeDeleted /a/b/c']);
    expect(seen(wm.trigger(changed('/a')))).toEqual(['A NodeDataChanged /a']);
    expect(seen(wm.trigger(changed('/ab')))).toEqual([]); // a sibling that shares the prefix is not a descendant
  });

  it('a recursive watch and a one-shot watch of the same connection: one notification per trigger', () => {
    const wm = new WatchManager<string>();
    wm.addWatch('/', 'A', 1);
    wm.watchData('/a', 'A');
    expect(seen(wm.trigger(changed('/a')))).toEqual(['A NodeDataChanged /a']);
  });

  it('as in 3.8.0, a later one-shot watch on the same path replaces the persistent mode', () => {
    const wm = new WatchManager<string>();
    wm.addWatch('/a', 'A', 0);
    wm.watchData('/a', 'A');
    expect(seen(wm.trigger(changed('/a')))).toEqual(['A NodeDataChanged /a']);
    expect(seen(wm.trigger(changed('/a')))).toEqual([]); // one-shot now in the data table
  });
});

describe('removeWatches and checkWatches', () => {
  it('removing a watch that is there: OK, and it no longer fires; removing it again: NOWATCHER', () => {
    const wm = new WatchManager<string>();
    wm.watchData('/a', 'A');
    expect(wm.removeWatches('/a', WatcherType.Data, 'A')).toBe(Code.OK);
    expect(wm.removeWatches('/a', WatcherType.Data, 'A')).toBe(Code.NOWATCHER);
    expect(seen(wm.trigger(changed('/a')))).toEqual([]);
  });

  it('by type: a child watch is not a data watch; Any removes both', () => {
    const wm = new WatchManager<string>();
    wm.watchChildren('/a', 'A');
    expect(wm.removeWatches('/a', WatcherType.Data, 'A')).toBe(Code.NOWATCHER);
    expect(wm.checkWatches('/a', WatcherType.Children, 'A')).toBe(Code.OK);
    wm.watchData('/a', 'A');
    expect(wm.removeWatches('/a', WatcherType.Any, 'A')).toBe(Code.OK);
    expect(wm.watchCount()).toBe(0);
    expect(wm.checkWatches('/a', WatcherType.Any, 'A')).toBe(Code.NOWATCHER);
  });

  it('removes a persistent watch from both tables with Any', () => {
    const wm = new WatchManager<string>();
    wm.addWatch('/a', 'A', 1);
    expect(wm.removeWatches('/a', WatcherType.Any, 'A')).toBe(Code.OK);
    expect(seen(wm.trigger(created('/a/b')))).toEqual([]);
  });

  it('as in 3.8.0, checkWatches says OK when another connection watches the path', () => {
    const wm = new WatchManager<string>();
    wm.watchData('/a', 'B');
    expect(wm.checkWatches('/a', WatcherType.Data, 'A')).toBe(Code.OK);
    expect(wm.removeWatches('/a', WatcherType.Data, 'A')).toBe(Code.NOWATCHER);
  });

  it('a closed connection leaves no watch behind', () => {
    const wm = new WatchManager<string>();
    wm.watchData('/a', 'A');
    wm.watchChildren('/a', 'A');
    wm.addWatch('/b', 'A', 1);
    wm.watchData('/a', 'B');
    wm.removeWatcher('A');
    expect(wm.watchCount()).toBe(1);
    expect(seen(wm.trigger([...changed('/a'), ...created('/b/c')]))).toEqual(['B NodeDataChanged /a']);
  });
});

describe('setWatches on reconnect', () => {
  // The tree after the client was away: /d changed at zxid 9, /c got a child at zxid 8, /e exists now, /gone does not.
  const tree = new Map([
    ['/d', { mzxid: 9, pzxid: 2 }],
    ['/same', { mzxid: 3, pzxid: 3 }],
    ['/c', { mzxid: 1, pzxid: 8 }],
    ['/e', { mzxid: 7, pzxid: 7 }],
  ]);
  const lookup = (p: string) => tree.get(p) ?? null;

  it('fires at once what the client missed since relativeZxid, and sets again the rest', () => {
    const wm = new WatchManager<string>();
    const fired = wm.setWatches(5n, { dataWatches: ['/d', '/same', '/gone'], existWatches: ['/e', '/none'], childWatches: ['/c', '/same', '/gone'] }, 'A', lookup);
    expect(seen(fired)).toEqual([
      'A NodeDataChanged /d',
      'A NodeDeleted /gone',
      'A NodeCreated /e',
      'A NodeChildrenChanged /c',
      'A NodeDeleted /gone',
    ]);
    // /same (data and child) and /none (exists) are watched again.
    expect(wm.watchCount()).toBe(3);
    expect(seen(wm.trigger([...created('/none'), ...changed('/same'), ...created('/same/x')]))).toEqual([
      'A NodeCreated /none',
      'A NodeDataChanged /same',
      'A NodeChildrenChanged /same',
    ]);
  });

  it('persistent and recursive watches are set again whatever happened', () => {
    const wm = new WatchManager<string>();
    expect(wm.setWatches(0, { persistentWatches: ['/gone'], persistentRecursiveWatches: ['/d'] }, 'A', lookup)).toEqual([]);
    expect(seen(wm.trigger([...created('/gone'), ...created('/d/x')]))).toEqual(['A NodeCreated /gone', 'A NodeCreated /d/x']);
  });
});
