// Which line of Apache ZooKeeper's server log is which step of the spec: the mapping `conform --format zookeeper`
// reads logs with, as data, in one place (traces/README.md prints it as a table). Each rule names the class and
// the log statement it matches (release-3.8.0; the same text in 3.5 to 3.9 unless said), the observation it
// makes, the spec step it witnesses ('check' when it witnesses no step but a fact about a server's state), what
// it fixes and what it leaves open.
//
// A line whose message starts with a rule's `key` but does not match its pattern is a protocol line that does
// not parse: reported with file:line, never silently skipped. Every other line is skipped and counted.

export type SyncMode = 'DIFF' | 'TRUNC' | 'SNAP';
export type Role = 'looking' | 'following' | 'leading' | 'observing';

export type Observation =
  | { readonly kind: 'start'; readonly myid: number }
  | { readonly kind: 'loaded'; readonly zxid: number }
  | { readonly kind: 'looking' }
  | { readonly kind: 'newElection'; readonly id: number; readonly zxid: number }
  | {
      readonly kind: 'notification';
      readonly from: number;
      readonly state: string;
      readonly leader: number;
      readonly round: number;
      readonly peerEpoch: number;
      readonly zxid: number;
    }
  | { readonly kind: 'peerState'; readonly role: Role; readonly zab: string | null; readonly sync: string | null }
  | { readonly kind: 'observingLeader'; readonly leader: number }
  | { readonly kind: 'learnerInfo'; readonly peer: number }
  | { readonly kind: 'syncDecision'; readonly peer: number; readonly maxCommitted: number; readonly minCommitted: number; readonly lastProcessed: number; readonly peerLast: number }
  | { readonly kind: 'syncSend'; readonly peer: number; readonly mode: SyncMode; readonly zxid: number; readonly peerLast?: number }
  | { readonly kind: 'learnerSync'; readonly mode: SyncMode; readonly zxid: number }
  | { readonly kind: 'newLeader' }
  | { readonly kind: 'upToDate' }
  | { readonly kind: 'quorumOfSupporters'; readonly sids: readonly number[]; readonly zxid: number }
  | { readonly kind: 'learnerLost'; readonly why: string }
  | { readonly kind: 'leaderShutdown'; readonly why: string }
  | { readonly kind: 'proposing'; readonly zxid: number };

export interface LineRule {
  /** The class (%C{1}) that logs it, and the method. */
  readonly source: string;
  readonly level: 'INFO' | 'DEBUG' | 'WARN';
  /** The message as ZooKeeper writes it ({} for a parameter). */
  readonly text: string;
  /** A message starting with this is a protocol line: it must then match `re`. */
  readonly key: string;
  readonly re: RegExp;
  readonly observe: (m: RegExpExecArray) => Observation;
  /** The spec action the line witnesses, or 'check' (a fact about the state, no step). */
  readonly step: string;
  readonly fixes: string;
  readonly leaves: string;
}

const hex = (s: string | undefined): number => (s === undefined ? NaN : Number.parseInt(s, 16));
const H = '([0-9a-fA-F]+)';

export const RULES: readonly LineRule[] = [
  {
    source: 'QuorumPeerMain.runFromConfig',
    level: 'INFO',
    text: 'Starting quorum peer, myid={}',
    key: 'Starting quorum peer',
    re: /^Starting quorum peer(?:, myid=(\d+))?/,
    observe: (m) => ({ kind: 'start', myid: m[1] === undefined ? NaN : Number(m[1]) }),
    step: 'Restart (after a Crash) — the first one is the initial state',
    fixes: 'a new run of the server: everything volatile is gone',
    leaves: 'how the previous run ended (kill -9 or a clean stop: both are a crash to the spec)',
  },
  {
    source: 'ZKDatabase.loadDataBase',
    level: 'INFO',
    text: 'Snapshot loaded in {} ms, highest zxid is 0x{}, digest is {}',
    key: 'Snapshot loaded in',
    re: new RegExp(`^Snapshot loaded in \\d+ ms, highest zxid is 0x${H}`),
    observe: (m) => ({ kind: 'loaded', zxid: hex(m[1]) }),
    step: 'check',
    fixes: 'the last zxid of the log the server starts with',
    leaves: 'the epoch files (read, not logged)',
  },
  {
    source: 'QuorumPeer.run',
    level: 'INFO',
    text: 'LOOKING',
    key: 'LOOKING',
    re: /^LOOKING$/,
    observe: () => ({ kind: 'looking' }),
    step: 'check (after ConnectionLost or LeaderStepDown, inferred)',
    fixes: 'the server is back in the election',
    leaves: 'why it left its role (the WARN before it may say)',
  },
  {
    source: 'FastLeaderElection.lookForLeader',
    level: 'INFO',
    text: 'New election. My id = {}, proposed zxid=0x{}',
    key: 'New election.',
    re: new RegExp(`^New election\\. My id = (\\d+), proposed zxid=0x${H}`),
    observe: (m) => ({ kind: 'newElection', id: Number(m[1]), zxid: hex(m[2]) }),
    step: 'check',
    fixes: "the server's last logged zxid (its initial vote)",
    leaves: 'the round (logicalclock)',
  },
  {
    source: 'FastLeaderElection.Messenger.WorkerReceiver.run',
    level: 'INFO',
    text: 'Notification: my state:{}; n.sid:{}, n.state:{}, n.leader:{}, n.round:0x{}, n.peerEpoch:0x{}, n.zxid:0x{}, message format version:0x{}, n.config version:0x{}',
    key: 'Notification:',
    re: new RegExp(`^Notification: my state:(\\w+); n\\.sid:(\\d+), n\\.state:(\\w+), n\\.leader:(\\d+), n\\.round:0x${H}, n\\.peerEpoch:0x${H}, n\\.zxid:0x${H}`),
    observe: (m) => ({ kind: 'notification', from: Number(m[2]), state: m[3]!, leader: Number(m[4]), round: hex(m[5]), peerEpoch: hex(m[6]), zxid: hex(m[7]) }),
    step: 'check (the vote must be one the sender could send)',
    fixes: "the sender's vote (leader, zxid, peerEpoch), its state and round",
    leaves: 'when it was sent (sends are not logged) and whether lookForLeader used it',
  },
  {
    source: 'QuorumPeer.setPeerState / setZabState / setSyncMode',
    level: 'INFO',
    text: 'Peer state changed: {} (role[ - zab state][ - sync mode])',
    key: 'Peer state changed:',
    re: /^Peer state changed: (looking|following|leading|observing)(?: - (discovery|synchronization|broadcast))?(?: - (diff|trunc|snap|none))?$/,
    observe: (m) => ({ kind: 'peerState', role: m[1] as Role, zab: m[2] ?? null, sync: m[3] ?? null }),
    step: 'ElectAndDiscover or LearnerJoin (the role alone, when the spec has not taken it yet); else check',
    fixes: 'the role the election gave the server, then its ZAB phase',
    leaves: 'the leader a follower chose (the leader\'s "Follower sid" line names it), the quorum',
  },
  {
    source: 'Observer.observeLeader',
    level: 'INFO',
    text: 'Observing new leader sid={} addr={}',
    key: 'Observing new leader',
    re: /^Observing new leader sid=(\d+)/,
    observe: (m) => ({ kind: 'observingLeader', leader: Number(m[1]) }),
    step: 'check',
    fixes: "the observer's leader",
    leaves: '',
  },
  {
    source: 'LearnerHandler.run',
    level: 'INFO',
    text: 'Follower sid: {} : info : {}',
    key: 'Follower sid:',
    re: /^Follower sid: (\d+) : info : /,
    observe: (m) => ({ kind: 'learnerInfo', peer: Number(m[1]) }),
    step: 'check (FOLLOWERINFO or OBSERVERINFO read: the learner follows this leader)',
    fixes: 'which leader the learner connected to',
    leaves: "the learner's acceptedEpoch (in the packet, not logged)",
  },
  {
    source: 'LearnerHandler.syncFollower',
    level: 'INFO',
    text: 'Synchronizing with Learner sid: {} maxCommittedLog=0x{} minCommittedLog=0x{} lastProcessedZxid=0x{} peerLastZxid=0x{}',
    key: 'Synchronizing with Learner',
    re: new RegExp(`^Synchronizing with Learner sid: (\\d+) maxCommittedLog=0x${H} minCommittedLog=0x${H} lastProcessedZxid=0x${H} peerLastZxid=0x${H}`),
    observe: (m) => ({ kind: 'syncDecision', peer: Number(m[1]), maxCommitted: hex(m[2]), minCommitted: hex(m[3]), lastProcessed: hex(m[4]), peerLast: hex(m[5]) }),
    step: 'LeaderSyncFollower',
    fixes: "the learner's last zxid (peerLastZxid), the leader's applied zxid; with the next line of its thread, the opening packet",
    leaves: 'the opening packet when no "Sending" line follows (TRUNC past maxCommittedLog is logged at DEBUG only): the learner\'s line fixes it',
  },
  {
    source: 'LearnerHandler.syncFollower / queueCommittedProposals',
    level: 'INFO',
    text: 'Sending DIFF zxid=0x{} for peer sid: {}  (also "Sending TRUNC zxid=0x{}  for peer sid: {}"; its last case logs TRUNC and sends DIFF)',
    key: 'Sending ',
    re: new RegExp(`^Sending (DIFF|TRUNC) zxid=0x${H} +for peer sid: ?(\\d+)`),
    observe: (m) => ({ kind: 'syncSend', peer: Number(m[3]), mode: m[1] as SyncMode, zxid: hex(m[2]) }),
    step: 'part of the LeaderSyncFollower of the "Synchronizing" line before it on the same thread',
    fixes: 'the opening packet and its zxid',
    leaves: '',
  },
  {
    source: 'LearnerHandler.run',
    level: 'INFO',
    text: 'Sending snapshot last zxid of peer is 0x{}, zxid of leader is 0x{}, send zxid of db as 0x{}, {} concurrent snapshot sync, snapshot sync was {} from throttle',
    key: 'Sending snapshot',
    re: new RegExp(`^Sending snapshot last zxid of peer is 0x${H}, zxid of leader is 0x${H}, send zxid of db as 0x${H}`),
    observe: (m) => ({ kind: 'syncSend', peer: NaN, mode: 'SNAP', zxid: hex(m[3]), peerLast: hex(m[1]) }),
    step: 'part of the LeaderSyncFollower of the "Synchronizing" line before it on the same thread',
    fixes: 'SNAP and the zxid of the snapshot',
    leaves: '',
  },
  {
    source: 'Learner.syncWithLeader',
    level: 'INFO',
    text: 'Getting a diff from the leader 0x{}',
    key: 'Getting a diff',
    re: new RegExp(`^Getting a diff from the leader 0x${H}`),
    observe: (m) => ({ kind: 'learnerSync', mode: 'DIFF', zxid: hex(m[1]) }),
    step: 'LearnerProcessDIFF',
    fixes: 'the packet read and its zxid',
    leaves: '',
  },
  {
    source: 'Learner.syncWithLeader',
    level: 'WARN',
    text: 'Truncating log to get in sync with the leader 0x{}',
    key: 'Truncating log',
    re: new RegExp(`^Truncating log to get in sync with the leader 0x${H}`),
    observe: (m) => ({ kind: 'learnerSync', mode: 'TRUNC', zxid: hex(m[1]) }),
    step: 'LearnerProcessTRUNC',
    fixes: 'the packet read and the zxid the log is cut to',
    leaves: '',
  },
  {
    source: 'Learner.syncWithLeader',
    level: 'INFO',
    text: 'Getting a snapshot from leader 0x{}',
    key: 'Getting a snapshot',
    re: new RegExp(`^Getting a snapshot from leader 0x${H}`),
    observe: (m) => ({ kind: 'learnerSync', mode: 'SNAP', zxid: hex(m[1]) }),
    step: 'LearnerProcessSNAP',
    fixes: 'the packet read and its zxid',
    leaves: '',
  },
  {
    source: 'Learner.syncWithLeader',
    level: 'INFO',
    text: 'Learner received NEWLEADER message',
    key: 'Learner received NEWLEADER',
    re: /^Learner received NEWLEADER message/,
    observe: () => ({ kind: 'newLeader' }),
    step: 'LearnerProcessNEWLEADER',
    fixes: 'NEWLEADER read (the PROPOSALs and COMMITs before it are inferred)',
    leaves: 'how many PROPOSALs/COMMITs came between the opening packet and NEWLEADER',
  },
  {
    source: 'Learner.syncWithLeader',
    level: 'INFO',
    text: 'Learner received UPTODATE message',
    key: 'Learner received UPTODATE',
    re: /^Learner received UPTODATE message/,
    observe: () => ({ kind: 'upToDate' }),
    step: 'LearnerProcessUPTODATE',
    fixes: 'UPTODATE read: the learner serves',
    leaves: '',
  },
  {
    source: 'Leader.startZkServer',
    level: 'INFO',
    text: 'Have quorum of supporters, sids: [{}]; starting up and setting last processed zxid: 0x{}',
    key: 'Have quorum of supporters',
    re: new RegExp(`^Have quorum of supporters, sids: \\[\\[?([\\d, ]*)\\]?(?:,\\[[\\d, ]*\\])*\\]; starting up and setting last processed zxid: 0x${H}`),
    observe: (m) => ({ kind: 'quorumOfSupporters', sids: m[1]!.split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number), zxid: hex(m[2]) }),
    step: 'LeaderProcessACKNEWLEADER (the ACK that completes the quorum)',
    fixes: 'the new epoch (the zxid) and the servers that ACKed NEWLEADER',
    leaves: '',
  },
  {
    source: 'Follower.followLeader / Observer.observeLeader',
    level: 'WARN',
    text: 'Exception when following the leader / Exception when observing the leader',
    key: 'Exception when ',
    re: /^Exception when (following|observing) the leader/,
    observe: (m) => ({ kind: 'learnerLost', why: m[0] }),
    step: 'check (after ConnectionLost, inferred)',
    fixes: 'the learner lost its leader',
    leaves: 'which end broke the connection',
  },
  {
    source: 'Leader.shutdown',
    level: 'INFO',
    text: 'Shutdown called. For the reason {}',
    key: 'Shutdown called',
    re: /^Shutdown called\. For the reason (.*)$/,
    observe: (m) => ({ kind: 'leaderShutdown', why: m[1]! }),
    step: 'check (after LeaderStepDown or a crash, inferred)',
    fixes: 'the leader stopped leading',
    leaves: '',
  },
  {
    source: 'Leader.propose',
    level: 'DEBUG',
    text: 'Proposing:: {request, with zxid:0x{}}',
    key: 'Proposing::',
    re: new RegExp(`^Proposing:: .*zxid:0x${H}`),
    observe: (m) => ({ kind: 'proposing', zxid: hex(m[1]) }),
    step: 'LeaderProcessRequest',
    fixes: 'a client write and its zxid',
    leaves: 'the operation (the spec has values, not znodes)',
  },
];

export interface Recognized {
  readonly obs: Observation | null;
  /** A protocol line that did not parse. */
  readonly malformed: string | null;
}

/**
 * The observation a log message is, if any. With the entry's level: a line logged at DEBUG or TRACE is only one of
 * the DEBUG rules (ZooKeeper logs other messages at DEBUG that begin like an INFO rule's: QuorumPeer.run's
 * "Starting quorum peer" next to QuorumPeerMain's INFO "Starting quorum peer, myid=N").
 */
export function recognize(message: string, level?: string): Recognized {
  const debug = level === 'DEBUG' || level === 'TRACE';
  for (const r of RULES) {
    if (!message.startsWith(r.key)) continue;
    if (debug && r.level !== 'DEBUG') continue;
    const m = r.re.exec(message);
    if (m === null) {
      if (r.key === 'Sending ' && !/^Sending (DIFF|TRUNC) /.test(message)) continue; // other "Sending ..." lines
      if (r.key === 'Exception when ' ) return { obs: null, malformed: null };
      return { obs: null, malformed: `a "${r.key}" line (${r.source}) that does not parse as "${r.text}"` };
    }
    const obs = r.observe(m);
    const nums = Object.values(obs).filter((v) => typeof v === 'number');
    if (nums.some((v) => Number.isNaN(v)) && !(obs.kind === 'syncSend' && obs.mode === 'SNAP') && !(obs.kind === 'start')) {
      return { obs: null, malformed: `a "${r.key}" line (${r.source}) with a field that is not a number` };
    }
    return { obs, malformed: null };
  }
  return { obs: null, malformed: null };
}
