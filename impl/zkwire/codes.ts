// ZooKeeper's numbers, defined once for the server, our client library and the tests: op codes
// (ZooDefs.OpCode), error codes (KeeperException.Code), create modes (CreateMode), permissions
// (ZooDefs.Perms), watcher events (Watcher.Event.EventType / KeeperState), the special xids of ClientCnxn,
// and the modes of addWatch and removeWatches. Values are ZooKeeper 3.8's; `move` is our extension.

export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
  /**
   * Ours, not ZooKeeper's: move a znode and its subtree (impl/README.md). A number no ZooKeeper version uses;
   * only our client library sends it, and a standard client never receives it.
   */
  move: 1001,
} as const;
export type OpCodeName = keyof typeof OpCode;

const OP_NAMES: ReadonlyMap<number, OpCodeName> = new Map(
  Object.entries(OpCode).map(([name, code]) => [code, name as OpCodeName]),
);
export function opName(code: number): string {
  return OP_NAMES.get(code) ?? `op(${code})`;
}

/** KeeperException.Code. */
export const Code = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const;
export type CodeName = keyof typeof Code;

const CODE_NAMES: ReadonlyMap<number, CodeName> = new Map(
  Object.entries(Code).map(([name, code]) => [code, name as CodeName]),
);
/** The name of an error code as KeeperException.Code spells it; unknown codes as `ERROR(n)`. */
export function errorName(code: number): string {
  return CODE_NAMES.get(code) ?? `ERROR(${code})`;
}

/** CreateMode's flag values as they travel in CreateRequest.flags. */
export const CreateMode = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;

/** ZooDefs.Perms. */
export const Perms = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/** Watcher.Event.EventType. */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;

/** Watcher.Event.KeeperState. */
export const KeeperState = {
  Disconnected: 0,
  SyncConnected: 3,
  AuthFailed: 4,
  ConnectedReadOnly: 5,
  SaslAuthenticated: 6,
  Closed: 7,
  Expired: -112,
} as const;

/** The xids ClientCnxn reserves: a notification, a ping, an auth packet, a setWatches on reconnect. */
export const Xid = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

/** AddWatchMode. */
export const AddWatchMode = { PERSISTENT: 0, PERSISTENT_RECURSIVE: 1 } as const;

/** Watcher.WatcherType, as removeWatches and checkWatches carry it. */
export const WatcherType = { Children: 1, Data: 2, Any: 3 } as const;
