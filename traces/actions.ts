// The action vocabulary of traces: the spec's actions (each the name of the code that handles one event, see
// traces/README.md) and the events only the implementation logs. One typed union, so that a name misspelt in
// the checker is a compile error, and one list, so that a reader can refuse a name no writer uses.
import { COARSE_ACTION_KINDS, COARSE_VARIANT_KINDS } from '../spec/coarse.ts';
import { FLE_ACTION_KINDS } from '../spec/fle/election.ts';
import type { Action } from '../spec/index.ts';
import { LEADER_APPLY_KIND, LEADER_LOG_KIND, VARIANT_LOCAL_KINDS, ZAB_LOCAL_KINDS, ZAB_PEER_KINDS, ZAB_RECEIVE_KINDS } from '../spec/zab/steps.ts';

export type SpecAction = Action['kind'];

/**
 * What the implementation logs beyond the spec's actions: its start, its durable writes (each logged just before
 * the step that made it), the resend of its vote on a notification timeout, and (version 1) a learner forwarding
 * a client write.
 */
export const IMPL_EVENTS = ['ServerStart', 'TxnLogAppend', 'TxnLogTruncate', 'EpochFileWrite', 'SnapshotWrite', 'FLENotificationTimeout', 'LearnerForwardRequest'] as const;
export type ImplEvent = (typeof IMPL_EVENTS)[number];

export type ActionName = SpecAction | ImplEvent;

const SPEC_ACTIONS: readonly SpecAction[] = [
  ...FLE_ACTION_KINDS,
  ...COARSE_ACTION_KINDS,
  ...COARSE_VARIANT_KINDS,
  ...ZAB_LOCAL_KINDS,
  ...ZAB_PEER_KINDS,
  ...ZAB_RECEIVE_KINDS,
  ...VARIANT_LOCAL_KINDS,
  LEADER_LOG_KIND,
  LEADER_APPLY_KIND,
];
export const ACTION_NAMES: readonly ActionName[] = [...new Set<ActionName>([...SPEC_ACTIONS, ...IMPL_EVENTS])];
const KNOWN: ReadonlySet<string> = new Set(ACTION_NAMES);

export function isActionName(name: string): name is ActionName {
  return KNOWN.has(name);
}

/** The durable writes: each is its own event, logged just before the step that made it. */
export const DURABLE_WRITES: ReadonlySet<ActionName> = new Set<ActionName>(['TxnLogAppend', 'TxnLogTruncate', 'EpochFileWrite', 'SnapshotWrite']);

/** Events after which the implementation starts a new election in the same input (the spec takes both at once). */
export const ROLE_ENDINGS: ReadonlySet<ActionName> = new Set<ActionName>(['ConnectionLost', 'LeaderStepDown', 'LearnerTimeout', 'ServerStart']);
