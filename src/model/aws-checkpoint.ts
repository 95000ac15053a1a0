/**
 * The AWS-side checkpoint: what a rollback needs, kept where AWS can read it
 * without GitHub (one S3 object per migration, `checkpoints/<id>.json`), so
 * that the guardian can restore traffic while GitHub is slow or down.
 *
 * Git stays the record: every writer that commits a status also writes this
 * document, and every change the guardian (or a break-glass rollback) makes is
 * journaled beside it (`journal/<id>/<entry>.json`) until the next reconcile
 * records it in `status/<id>.json`.
 */
import type { Migration } from "./spec.js";
import type { Checkpoint, DecommissionStatus, PhaseState, Weights } from "./status.js";

export type { RouterSnapshot } from "./status.js";

/** Identifies the document format; a reader refuses any other. */
export const AWS_CHECKPOINT_FORMAT = "cutover.aws-checkpoint/1" as const;

/** Identifies a journal entry's format. */
export const AWS_JOURNAL_FORMAT = "cutover.aws-journal/1" as const;

/**
 * One checkpoint as the AWS side keeps it: the status's own, whose router
 * part is the router's snapshot tagged with its kind. (Documents have always
 * kept it so, `{ kind: "route53", records }`: those written before status
 * format 2 read unchanged.)
 */
export type AwsCheckpointEntry = Checkpoint;

/** The document at `checkpoints/<migration>.json`. */
export interface AwsCheckpointDocument {
  format: typeof AWS_CHECKPOINT_FORMAT;
  migration: string;
  /** Increases by one at every write: with the object's ETag, what writers compare before they write. */
  sequence: number;
  writtenAt: string;
  /** Who wrote it: "shift-traffic run 4242-1", "guardian", "cutover rollback (laptop of alice)". */
  writer: string;
  /** The migration's spec entry as the writer read it: routers and sides, phases with their steps. */
  spec: Migration;
  /** What is applied, as the writer left it. */
  applied: {
    phase: string | null;
    state: PhaseState;
    weights: Weights;
    /** When these weights took effect (the change's submission): an alarm from before it is about earlier weights. */
    appliedAt?: string;
    decommission?: DecommissionStatus;
  };
  /** The status's checkpoints, most recent last; a rollback restores the last by default. */
  checkpoints: AwsCheckpointEntry[];
  /**
   * Set by a rollback made outside the workflows (guardian, break-glass) and
   * kept until a workflow writes again after recording it: while set, a
   * shift refuses to move weight back onto the new side.
   */
  rolledBack?: { entry: string; at: string; by: string; weights: Weights };
  /**
   * A change a workflow run is about to make, written just before it: the
   * weights it will leave and who makes it. Cleared by the same run's write
   * after the change; left behind by a run that died in between, so reconcile
   * recognises the weights it finds as that run's.
   */
  inFlight?: { writer: string; action: string; startedAt: string; target: Weights; detail: string };
}

/** Why a rollback outside the workflows happened. */
export interface JournalTrigger {
  kind: "alarm" | "break-glass";
  /** Alarm name and the state change the event reported. */
  alarm?: { name: string; state: string; reason: string; timestamp: string; reasonData?: unknown };
  /** Who ran a break-glass rollback, and why. */
  operator?: string;
  reason: string;
}

/** One change made outside the workflows, at `journal/<migration>/<id>.json`, until reconcile records it. */
export interface AwsJournalEntry {
  format: typeof AWS_JOURNAL_FORMAT;
  /** Stable for one trigger: a duplicate alarm event gets the same id, so its write is refused. */
  id: string;
  migration: string;
  by: "guardian" | "break-glass";
  at: string;
  trigger: JournalTrigger;
  outcome: "rolled-back" | "no-op" | "refused";
  /** Why nothing changed, for no-op and refused. */
  detail?: string;
  before?: Weights;
  after?: Weights;
  changeId?: string;
  /** "last-checkpoint", "all-old", or "phase:<name>" for the last checkpoint of a phase. */
  target?: "last-checkpoint" | "all-old" | `phase:${string}`;
  /** What the rollback restored on the compute targets. */
  restored?: Record<string, unknown>;
  submittedAt?: string;
  insyncAt?: string;
  steps?: { step: string; elapsedMs: number; outcome: string; detail?: string }[];
}
