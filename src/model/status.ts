/**
 * The status: what is true. One bot-owned file per migration
 * (`status/<migration-id>.json`), committed by the pipeline after every change
 * to AWS and never edited by hand. `status.schema.json` describes it.
 */

/** Version of the status format this code reads and writes. */
export const STATUS_VERSION = 1 as const;

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

/** A weighted record exactly as it was, so a rollback can restore every field. */
export interface RecordSnapshot {
  name: string;
  type: string;
  setIdentifier: string;
  weight: number;
  ttl?: number;
  aliasTarget?: { hostedZoneId: string; dnsName: string; evaluateTargetHealth: boolean };
  healthCheckId?: string;
  values?: string[];
}

/** Exactly what to restore on rollback, taken before a mutation. */
export interface Checkpoint {
  /** Applied phase at the time (null before the first phase). */
  phase: string | null;
  takenAt: string;
  weights: Weights;
  records?: RecordSnapshot[];
  /** Lambda version the alias pointed at before a deploy. */
  lambdaVersion?: string;
  /** ECS task definition ARN before a deploy. */
  ecsTaskDefinition?: string;
  /** ECS desired count before a scale-down. */
  ecsDesiredCount?: number;
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
