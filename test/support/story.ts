// A tiny language for protocol stories: each line is a step the spec must allow, or a check of the state.
//
//   1 FLEStartElection            server 1 takes an action that consumes no message
//   2 <- 1 FLEReceiveSameRound    server 2 takes the next message from server 1, and that step is of this kind
//   1 LeaderSyncFollower -> 2     server 1 takes a step aimed at peer 2 (no message consumed)
//   1 ElectAndDiscover [1,2]      a coarse step with the quorum that takes part
//   check 2.proposal.leader = 1   a variable of a server, as serverVars shows it (zxids in hex, txns as zxid=value)
//   check #1->2 = 2               the number of messages in flight on the election channel 1→2
//   check %1->2 = 3               the number of packets in flight on the quorum connection 1→2
//   check %1->2 = NEWLEADER,ACK   ... or their types, in order
//   enabled 3 FLEDecide           the step is possible (without taking it); `disabled` says it is not
//
// Blank lines and `#` comments are skipped. A step the spec does not allow fails with the list of enabled ones.
import type { Action, ClusterState } from '../../spec/index.ts';
import type { Spec } from '../../spec/model.ts';
import { electionChannel, quorumChannel } from '../../spec/state.ts';

type S = ClusterState;

function describeAction(a: Action): string {
  if ('from' in a) return `${a.sid} <- ${a.from} ${a.kind}`;
  if ('peer' in a) return `${a.sid} ${a.kind} -> ${a.peer}`;
  if ('quorum' in a) return `${a.sid} ${a.kind} [${a.quorum.join(',')}]`;
  return `${a.sid} ${a.kind}`;
}

function findStep(spec: Spec<S, Action>, state: S, text: string) {
  return spec.next(state).find((x) => describeAction(x.action) === text);
}

function lookup(value: unknown, path: string[]): unknown {
  let v = value;
  for (const key of path) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[key];
  return v;
}

export function runStory(spec: Spec<S, Action>, script: string, start?: S): S {
  let state = start ?? spec.init()[0]!;
  const lines = script.split('\n').map((l) => l.replace(/#(?!\d).*$/, '').trim());
  lines.forEach((line, i) => {
    if (line === '') return;
    const where = `story line ${i + 1} "${line}"`;
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^check #(\d+)->(\d+) = (\d+)$/))) {
      const got = electionChannel(state, Number(m[1]), Number(m[2])).length;
      if (got !== Number(m[3])) throw new Error(`${where}: ${got} messages in flight`);
    } else if ((m = line.match(/^check %(\d+)->(\d+) = (.+)$/))) {
      const packets = quorumChannel(state, Number(m[1]), Number(m[2]));
      const got = /^\d+$/.test(m[3]!) ? String(packets.length) : packets.map((p) => p.type).join(',');
      if (got !== m[3]) throw new Error(`${where}: found ${got || 'nothing'}`);
    } else if ((m = line.match(/^check (\d+)\.([\w.]+) = (.+)$/))) {
      const got = lookup(spec.serverVars(state, Number(m[1])), m[2]!.split('.'));
      const same = String(got) === m[3] || (m[3] === '[]' && Array.isArray(got) && got.length === 0);
      if (!same) throw new Error(`${where}: found ${JSON.stringify(got)}`);
    } else if ((m = line.match(/^(enabled|disabled) (.+)$/))) {
      const found = findStep(spec, state, m[2]!);
      if ((found !== undefined) !== (m[1] === 'enabled')) throw new Error(`${where}: it is ${found ? 'enabled' : 'not enabled'}`);
    } else if (/^\d+ /.test(line)) {
      const found = findStep(spec, state, line);
      if (found === undefined) {
        const enabled = spec.next(state).map((x) => describeAction(x.action)).join('; ');
        throw new Error(`${where}: not a step the spec allows here. Enabled: ${enabled}`);
      }
      state = found.state;
    } else {
      throw new Error(`${where}: cannot parse`);
    }
  });
  return state;
}

/** From the initial state: leader 1 and follower 3 serve epoch 2 (elected, SNAP-synced, UPTODATE); 2 is not there yet. */
export const SERVING_1_3 = `
  1 ElectAndDiscover [1,3]
  1 LeaderSyncFollower -> 3
  3 <- 1 LearnerProcessSNAP
  3 <- 1 LearnerProcessNEWLEADER
  1 <- 3 LeaderProcessACKNEWLEADER
  3 <- 1 LearnerProcessUPTODATE
`;
