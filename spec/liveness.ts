// What must eventually happen once the faults stop (checked with `check --liveness`, checker/search/liveness.ts).
//
// Both properties assume what ZooKeeper needs to make progress: a quorum of voters up (connections come back on
// their own in this model: a lost one makes the learner look for its leader again), and the run's epoch bound
// not in the way (an election that would need an epoch above --max-epoch cannot happen in the model, though it
// would in ZooKeeper: such states are outside the hypothesis, so liveness is only claimed below the bound).
import type { Config } from './config.ts';
import { isQuorum, isVoter } from './config.ts';
import type { LivenessProperty } from './model.ts';
import type { ClusterState, Server } from './state.ts';
import { delivered } from './state.ts';
import type { Sid } from './types.ts';
import { NONE } from './types.ts';

/** The leader every online server agrees on and serves with, or null. */
function establishedLeader(s: ClusterState): Sid | null {
  const leaders = s.servers.flatMap((srv, i) => (srv.online && srv.state === 'LEADING' ? [i + 1] : []));
  if (leaders.length !== 1) return null;
  const l = leaders[0]!;
  if (s.servers[l - 1]!.zabState !== 'BROADCAST') return null;
  const allFollow = s.servers.every((srv, i) => !srv.online || i + 1 === l || (srv.learner?.leader === l && srv.zabState === 'BROADCAST'));
  return allFollow ? l : null;
}

function assumption(cfg: Config): (s: ClusterState) => boolean {
  return (s) => {
    const up = cfg.voters.filter((sid) => s.servers[sid - 1]!.online);
    if (!isQuorum(cfg, up)) return false;
    // An epoch fixed by a leader is one no election has to go past; otherwise the next election needs
    // max(acceptedEpoch) + 1, which the bound may forbid.
    const settled = s.servers.some((srv) => srv.online && srv.leader !== null && srv.leader.newEpoch !== NONE);
    const highest = Math.max(...s.servers.map((srv) => srv.acceptedEpoch));
    return settled || highest < cfg.bounds.maxEpoch;
  };
}

function describeViews(cfg: Config, s: ClusterState): string {
  return cfg.sids
    .map((sid) => {
      const srv: Server = s.servers[sid - 1]!;
      if (!srv.online) return `${sid} down`;
      const role = srv.state === 'LEADING' ? 'leads' : srv.learner !== null ? `follows ${srv.learner.leader}` : srv.state.toLowerCase();
      return `${sid} ${role} (${srv.zabState})`;
    })
    .join(', ');
}

export function livenessProperties(cfg: Config): LivenessProperty<ClusterState>[] {
  if (cfg.protocol !== 'zab') return [];
  const assume = assumption(cfg);
  const explain = (s: ClusterState) => describeViews(cfg, s);
  return [
    {
      name: 'leaderEventually',
      description:
        'once the faults stop, with a quorum up, a leader is eventually established in every server\'s view: it serves (BROADCAST) and every server up follows it, synchronized',
      assume,
      goal: (s) => establishedLeader(s) !== null,
      explain,
    },
    {
      name: 'writesEventuallyCommitted',
      description:
        'once the faults stop, with a quorum up, every client write the established leader proposed is eventually committed by a quorum and delivered by every server up',
      assume,
      goal: (s) => {
        const l = establishedLeader(s);
        if (l === null) return false;
        const leader = s.servers[l - 1]!;
        if (leader.leader!.outstanding.length > 0 || leader.pendingLog.length > 0) return false;
        const mine = delivered(leader).length;
        if (mine !== leader.history.length) return false;
        const acked = cfg.sids.filter((sid) => isVoter(cfg, sid) && s.servers[sid - 1]!.online && delivered(s.servers[sid - 1]!).length === mine);
        return isQuorum(cfg, acked) && s.servers.every((srv) => !srv.online || delivered(srv).length === mine);
      },
      explain,
    },
  ];
}
