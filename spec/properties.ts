// What must hold in every reachable state (invariants) and what must be reachable (so a pass is not vacuous).
import type { Config } from './config.ts';
import type { Property } from './model.ts';
import type { ClusterState, Server } from './state.ts';
import type { Sid, Vote } from './types.ts';
import { zxidText } from './types.ts';

/** Voters whose vote in `votes` names `leader`. */
function votersFor(cfg: Config, votes: readonly (Vote | null)[], leader: Sid): Sid[] {
  const out: Sid[] = [];
  votes.forEach((v, i) => {
    if (v !== null && v.leader === leader && i < cfg.nodes) out.push(i + 1);
  });
  return out;
}

/** Strict majority of the voters: the invariants count for themselves, independent of any mutation. */
function isMajority(cfg: Config, n: number): boolean {
  return n > Math.floor(cfg.nodes / 2);
}

function leaders(s: ClusterState): Sid[] {
  const out: Sid[] = [];
  s.servers.forEach((srv, i) => {
    if (srv.state === 'LEADING') out.push(i + 1);
  });
  return out;
}

/** (peerEpoch, zxid) of a server's own history, in the order FLE is meant to prefer. */
function moreRecent(a: Server, b: Server): boolean {
  return a.currentEpoch > b.currentEpoch || (a.currentEpoch === b.currentEpoch && a.lastZxid > b.lastZxid);
}

export function electionProperties(cfg: Config): Property<ClusterState>[] {
  const props: Property<ClusterState>[] = [
    {
      name: 'leaderQuorum',
      kind: 'invariant',
      description: 'A server decides LEADING only with a quorum of voters voting for it (in recvset or outofelection).',
      byDefault: true,
      check: (s) =>
        leaders(s).every((l) => {
          const me = s.servers[l - 1]!;
          return isMajority(cfg, votersFor(cfg, me.recvset, l).length) || isMajority(cfg, votersFor(cfg, me.outofelection, l).length);
        }),
      explain: (s) => {
        const bad = leaders(s).find((l) => {
          const me = s.servers[l - 1]!;
          return !isMajority(cfg, votersFor(cfg, me.recvset, l).length) && !isMajority(cfg, votersFor(cfg, me.outofelection, l).length);
        });
        if (bad === undefined) return 'holds';
        const me = s.servers[bad - 1]!;
        return `server ${bad} is LEADING with votes from [${votersFor(cfg, me.recvset, bad).join(', ')}] only, out of ${cfg.nodes} voters`;
      },
    },
    {
      name: 'leaderIsMostUpToDate',
      kind: 'invariant',
      description:
        'No server that voted for an elected leader has a more recent history (currentEpoch, then last zxid) than that leader.',
      byDefault: true,
      check: (s) => staleLeader(cfg, s) === null,
      explain: (s) => {
        const found = staleLeader(cfg, s);
        if (found === null) return 'holds';
        const [l, j] = found;
        const a = s.servers[j - 1]!;
        const b = s.servers[l - 1]!;
        return `server ${j} (epoch ${a.currentEpoch}, zxid ${zxidText(a.lastZxid)}) voted for leader ${l} (epoch ${b.currentEpoch}, zxid ${zxidText(b.lastZxid)})`;
      },
    },
    {
      name: 'electionAgreement',
      kind: 'invariant',
      description:
        'No two servers that decided in the same election round disagree on the leader. FLE alone does NOT guarantee this (finalizeWait is a timeout, not a barrier); ZAB discovery makes it harmless. Off by default: run it to see why.',
      byDefault: false,
      check: (s) => disagreement(s) === null,
      explain: (s) => {
        const d = disagreement(s);
        if (d === null) return 'holds';
        const [a, b] = d;
        const va = s.servers[a - 1]!.currentVote;
        const vb = s.servers[b - 1]!.currentVote;
        return `in round ${va.electionEpoch} server ${a} decided on leader ${va.leader}, server ${b} on leader ${vb.leader}`;
      },
    },
    {
      name: 'leaderElected',
      kind: 'reachability',
      description: 'A server is LEADING and a quorum of voters (itself included) has decided on it.',
      byDefault: true,
      check: (s) =>
        leaders(s).some((l) => {
          const following = s.servers.filter(
            (srv, i) => i < cfg.nodes && srv.state !== 'LOOKING' && srv.currentVote.leader === l,
          ).length;
          return isMajority(cfg, following);
        }),
    },
  ];
  if (cfg.observers > 0) {
    props.push({
      name: 'observerLearnsLeader',
      kind: 'reachability',
      description: 'An observer leaves the election OBSERVING a leader.',
      byDefault: true,
      check: (s) => s.servers.some((srv, i) => i >= cfg.nodes && srv.state === 'OBSERVING'),
    });
  }
  return props;
}

/** A leader l and a voter j whose recorded vote for l hides a history more recent than l's. */
function staleLeader(cfg: Config, s: ClusterState): [Sid, Sid] | null {
  for (const l of leaders(s)) {
    const me = s.servers[l - 1]!;
    for (const j of [...votersFor(cfg, me.recvset, l), ...votersFor(cfg, me.outofelection, l)]) {
      if (moreRecent(s.servers[j - 1]!, me)) return [l, j];
    }
  }
  return null;
}

function disagreement(s: ClusterState): [Sid, Sid] | null {
  const decided = s.servers
    .map((srv, i) => ({ srv, sid: i + 1 }))
    .filter(({ srv }) => srv.state !== 'LOOKING' && srv.fle === 'idle');
  for (const a of decided) {
    for (const b of decided) {
      if (a.sid < b.sid && a.srv.currentVote.electionEpoch === b.srv.currentVote.electionEpoch && a.srv.currentVote.leader !== b.srv.currentVote.leader) {
        return [a.sid, b.sid];
      }
    }
  }
  return null;
}
