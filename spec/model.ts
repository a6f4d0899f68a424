// The contract between a specification (spec/) and the model checker (checker/).
//
// A spec is a pure, deterministic state machine: `init` gives the initial states and `next` every enabled step
// of a state, in a fixed order, so a path recorded as a list of successor indices replays exactly.
//
// States are plain data: readonly objects, arrays, numbers, strings, booleans and null, built the same way
// every time (same key order). Nothing else: no Map, Set, class instance, undefined or function. That lets the
// checker encode, hash and compare states generically (and copy them across worker threads), and lets traces
// print them as JSON.

/** Every action carries its kind (the name of the protocol step) and the server that takes it. */
export interface ActionBase {
  readonly kind: string;
  /** The server taking the step. */
  readonly sid: number;
}

export interface Successor<S, A extends ActionBase> {
  readonly action: A;
  readonly state: S;
}

export type PropertyKind =
  /** Must hold in every reachable state (TLA+'s invariant, stateright's `always`). */
  | 'invariant'
  /** Must hold in at least one reachable state, or the run is vacuous (stateright's `sometimes`). */
  | 'reachability';

export interface Property<S> {
  readonly name: string;
  readonly kind: PropertyKind;
  /** One sentence: what the property says, in the protocol's words. */
  readonly description: string;
  /** Checked by default; the others run only when named with --invariant. */
  readonly byDefault: boolean;
  /** For invariants: true when the state satisfies it. For reachability: true when the state is a witness. */
  readonly check: (state: S) => boolean;
  /** Optional explanation of a violation in this state (which servers, which values). */
  readonly explain?: (state: S) => string;
}

/**
 * A liveness property, checked with --liveness on the explored state graph (checker/search/liveness.ts): in every
 * behaviour whose faults stop, that takes every continuously enabled protocol step eventually (weak fairness of
 * the steps that are not faults), and that stays where `assume` holds, `goal` holds again and again. A
 * counterexample is a lasso: a path to a cycle of protocol steps (or to a state with none) that never meets the
 * goal.
 */
export interface LivenessProperty<S> {
  readonly name: string;
  /** One sentence: what the property says, in the protocol's words. */
  readonly description: string;
  /** The hypothesis (a quorum up, the bounds not in the way): behaviours leaving it are not counterexamples. */
  readonly assume: (state: S) => boolean;
  readonly goal: (state: S) => boolean;
  /** Optional: why a state of the loop is short of the goal. */
  readonly explain?: (state: S) => string;
}

/** A message as the checker shows it: its type, its endpoints and its fields. */
export interface MessageView {
  readonly type: string;
  readonly from: number;
  readonly to: number;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** What one step did, for printing counterexamples and writing traces. Computed only on demand. */
export interface StepView {
  readonly kind: string;
  readonly sid: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly recv: MessageView | null;
  readonly send: readonly MessageView[];
}

/**
 * What a step touched, for the checker's sleep sets (--por, checker/README.md). Two steps whose footprints are
 * both local, of different servers and on disjoint channels commute where both are enabled: each stays enabled
 * after the other, and both orders reach the same state.
 */
export interface Footprint {
  /**
   * The step may read or write more than its own server's variables and the channels listed: another server's
   * variables, the fault or write budget, the ghost variables. A global step is dependent on every other.
   */
  readonly global: boolean;
  /** Channels it changed (took a message from, appended to, cleared), as numbers the spec chooses. */
  readonly channels: readonly number[];
}

export interface Spec<S, A extends ActionBase> {
  /** A short name of the spec and its options, printed with every verdict. */
  readonly name: string;
  /** The parameters that define the state space (nodes, bounds, options), printed with every verdict. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Every action kind the spec has, so that coverage can list the ones that never fired. */
  readonly actionKinds: readonly string[];
  /**
   * Optional: the kinds that are the environment's doing (crashes, restarts, lost connections), not the
   * protocol's. Random walks take one of them only now and then; exhaustive search treats them like any other.
   */
  readonly faultKinds?: readonly string[];
  readonly properties: readonly Property<S>[];
  /** Optional: the liveness properties (checked with --liveness). */
  readonly liveness?: readonly LivenessProperty<S>[];
  /**
   * Optional: whether a step is the environment's doing (a fault, a timeout the fault budget pays for), not
   * the protocol's. Liveness assumes faults stop and grants fairness to the other steps only. Default: its kind
   * is one of faultKinds.
   */
  isFault?(before: S, action: A, after: S): boolean;
  readonly servers: readonly { readonly sid: number; readonly role: 'participant' | 'observer' }[];
  init(): readonly S[];
  /** Every enabled step, in a deterministic order. */
  next(state: S): readonly Successor<S, A>[];
  /** The variables of one server in a state, by name, for diffs between states. */
  serverVars(state: S, sid: number): Readonly<Record<string, unknown>>;
  /**
   * Optional: the footprint of the step from `before` to `after` by `action`. A step that is not global must read
   * and write only its own server's variables (`action.sid`) and the channels listed (whether it is enabled, and
   * what it does, must depend on nothing else). Without it, --por is refused.
   */
  footprint?(before: S, action: A, after: S): Footprint;
  /** What the step from `before` to `after` by `action` consumed and sent. */
  describe(before: S, action: A, after: S): StepView;
}
