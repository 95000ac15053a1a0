/**
 * The status: what is true. One bot-owned file per migration
 * (`status/<migration-id>.json`), committed by the pipeline after every change
 * to AWS and never edited by hand. `status.schema.json` describes it.
 */

/**
 * Version of the status format this code writes. Version 1 (checkpoints held
 * Route 53 records as `records`) is still read: {@link upgradeStatus} turns
 * it into this one.
 */
export const STATUS_VERSION = 2 as const;

/** Directory, relative to the spec, that holds one status file per migration. */
export const STATUS_DIR = "status";

/** States an applied phase moves through. */
export type PhaseState =
  | "pending"
  | "applying"
  | "baking"
  | "passed"
  | "failed"
  | "rolling-back"
  | "rolled-back"
  | "decommissioning"
  | "done";

export const PHASE_STATES: readonly PhaseState[] = [
  "pending",
  "applying",
  "baking",
  "passed",
  "failed",
  "rolling-back",
  "rolled-back",
  "decommissioning",
  "done",
];

/** Percent of traffic on each side; always sums to 100. */
export interface Weights {
  old: number;
  new: number;
}

/** True when both are given and split traffic the same way. */
export function sameWeights(a: Weights | undefined, b: Weights | undefined): boolean {
  return a !== undefined && b !== undefined && a.old === b.old && a.new === b.new;
}

/** Verdict of a gate evaluation or a load test. */
export type Verdict = "pass" | "fail" | "rollback" | "insufficient-data";

/**
 * What a traffic router must restore, exactly as it was, tagged with the
 * router's kind. Opaque to everything but the router of that kind: the
 * operations store it in checkpoints and hand it back to the router.
 */
export interface RouterSnapshot {
  kind: string;
  [field: string]: unknown;
}

/** Exactly what to restore on rollback, taken before a mutation. */
export interface Checkpoint {
  /** Applied phase at the time (null before the first phase). */
  phase: string | null;
  takenAt: string;
  weights: Weights;
  /** The router's state at the time, for an exact restore. */
  router?: RouterSnapshot;
  /** Lambda version the alias pointed at before a deploy. */
  lambdaVersion?: string;
  /** ECS task definition ARN before a deploy. */
  ecsTaskDefinition?: string;
  /** ECS desired count before a scale-down. */
  ecsDesiredCount?: number;
  /** Lambda reserved concurrency before a hold at 0; absent when the function reserved none. */
  lambdaReservedConcurrency?: number;
  /**
   * GitHub environment (and so AWS account) whose resources a deploy's
   * checkpoint describes; its version and task definition are restored only there.
   */
  environment?: string;
}

/** Where decommissioning stands; present once it has started. */
export interface DecommissionStatus {
  stage: "scaled-down" | "deleted";
  holdStartedAt: string;
  desiredCountBefore: number;
  /**
   * Set when the held side is a Lambda function (its reserved concurrency is
   * 0 during the hold): the reservation before it, or null when it had none.
   */
  reservedConcurrencyBefore?: number | null;
  deletedAt?: string;
}

/** The evidence that justified a decision (gate, load test, shift). */
export interface Evidence {
  kind:
    | "gate"
    | "load-test"
    | "shift"
    | "rollback"
    | "deploy"
    | "decommission"
    | "reconcile"
    | "override"
    | "notification";
  /** Free-form, JSON-serialisable detail: queries, window, sample counts, values, thresholds, change ids. */
  [detail: string]: unknown;
}

/** One decision in the append-only history. */
export interface HistoryEntry {
  at: string;
  /** Event name, as in the state machine. */
  event: string;
  phase: string | null;
  from: PhaseState;
  to: PhaseState;
  verdict?: Verdict;
  reason?: string;
  evidence?: Evidence;
  /** Link to the workflow run that made the decision. */
  runUrl?: string;
  actor?: string;
}

export interface MigrationStatus {
  $schema?: string;
  /** {@link STATUS_VERSION}; files of version 1 are upgraded as they are read. */
  version: typeof STATUS_VERSION;
  migration: string;
  /** Applied phase, null before the first phase was applied. */
  phase: string | null;
  state: PhaseState;
  weights: Weights;
  /** Stack of checkpoints; the last one is what a rollback restores by default. */
  checkpoints: Checkpoint[];
  timestamps: {
    phaseStartedAt?: string;
    /** INSYNC + TTL of the last shift: the gate window starts here. */
    gateWindowStartsAt?: string;
    /** When the current bake completes if the gate keeps passing. */
    bakeEndsAt?: string;
    updatedAt: string;
  };
  lastVerdict?: { verdict: Verdict; at: string; gate?: string };
  decommission?: DecommissionStatus;
  history: HistoryEntry[];
}

/** The status of a migration nothing has been applied to yet. */
export function initialStatus(migrationId: string, now: Date): MigrationStatus {
  return {
    version: STATUS_VERSION,
    migration: migrationId,
    phase: null,
    state: "pending",
    weights: { old: 100, new: 0 },
    checkpoints: [],
    timestamps: { updatedAt: now.toISOString() },
    history: [],
  };
}

/**
 * The status a rollback starts from when none can be read: nothing known but
 * the migration, and weight assumed on the new side, so that every restore
 * moves traffic back. The rollback reads the true weights from the router.
 */
export function unreadableStatus(migrationId: string, now: Date): MigrationStatus {
  return { ...initialStatus(migrationId, now), state: "baking", weights: { old: 0, new: 100 } };
}

/**
 * A status document of any version this code reads, brought to
 * {@link STATUS_VERSION}; anything else is returned as it is, for validation
 * to explain. Version 1 knew one router, Route 53, and kept its weighted
 * records on each checkpoint as `records`: they become that router's
 * snapshot, `router: { kind: "route53", records }`.
 */
export function upgradeStatus(document: unknown): unknown {
  if (typeof document !== "object" || document === null || Array.isArray(document)) return document;
  const status = document as Record<string, unknown>;
  if (status.version !== 1) return document;
  const checkpoints = Array.isArray(status.checkpoints)
    ? status.checkpoints.map((checkpoint) => upgradeCheckpoint(checkpoint))
    : status.checkpoints;
  return { ...status, version: STATUS_VERSION, checkpoints };
}

/** One version-1 checkpoint in today's form (a checkpoint already of version 2 is returned unchanged). */
export function upgradeCheckpoint(checkpoint: unknown): unknown {
  if (typeof checkpoint !== "object" || checkpoint === null || Array.isArray(checkpoint)) return checkpoint;
  const { records, ...rest } = checkpoint as Record<string, unknown>;
  if (records === undefined) return checkpoint;
  return { ...rest, router: { kind: VERSION_1_ROUTER_KIND, records } };
}

/** The one router status format 1 knew. */
const VERSION_1_ROUTER_KIND = "route53";
