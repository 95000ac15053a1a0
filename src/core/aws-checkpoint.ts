/**
 * Building and reading the AWS-side checkpoint document. Pure: no I/O, time
 * comes in as a value. A document read back is checked field by field, each
 * problem naming its JSON path, because the guardian acts on it with nobody
 * watching: a malformed checkpoint must change nothing.
 */
import {
  AWS_CHECKPOINT_FORMAT,
  type AwsCheckpointDocument,
  type AwsCheckpointEntry,
  type AwsJournalEntry,
} from "../model/aws-checkpoint.js";
import type { Migration } from "../model/spec.js";
import {
  type Checkpoint,
  type MigrationStatus,
  PHASE_STATES,
  STATUS_VERSION,
  upgradeCheckpoint,
} from "../model/status.js";

/** How many checkpoints the document keeps: enough for any rollback target a person names. */
export const AWS_CHECKPOINTS_KEPT = 20;

/** The checkpoint in the document's form: the status's own, router snapshot and all. */
export function checkpointEntry(checkpoint: Checkpoint): AwsCheckpointEntry {
  return checkpoint;
}

/** The checkpoint in the status's form, for the rollback operation (a status-format-1 checkpoint upgraded). */
export function statusCheckpoint(entry: AwsCheckpointEntry): Checkpoint {
  return upgradeCheckpoint(entry) as Checkpoint;
}

export interface CheckpointDocumentInput {
  migration: Migration;
  status: MigrationStatus;
  /** The document this one replaces, if any: its sequence goes up by one. */
  previous?: AwsCheckpointDocument;
  writer: string;
  now: Date;
  /** When the applied weights took effect; the previous document's time when they did not change. */
  appliedAt?: Date;
  /** Keep the previous document's rollback hold (a shift refused by it writes nothing anyway). */
  keepHold?: boolean;
}

/** The document a writer leaves after it has changed AWS and knows the status it will commit. */
export function buildCheckpointDocument(input: CheckpointDocumentInput): AwsCheckpointDocument {
  const { migration, status } = input;
  const document: AwsCheckpointDocument = {
    format: AWS_CHECKPOINT_FORMAT,
    migration: migration.id,
    sequence: (input.previous?.sequence ?? 0) + 1,
    writtenAt: input.now.toISOString(),
    writer: input.writer,
    spec: migration,
    applied: {
      phase: status.phase,
      state: status.state,
      weights: { ...status.weights },
      ...(input.appliedAt
        ? { appliedAt: input.appliedAt.toISOString() }
        : input.previous?.applied.appliedAt
          ? { appliedAt: input.previous.applied.appliedAt }
          : {}),
      ...(status.decommission ? { decommission: { ...status.decommission } } : {}),
    },
    checkpoints: status.checkpoints
      .slice(-AWS_CHECKPOINTS_KEPT)
      .map((checkpoint) => checkpointEntry(checkpoint)),
  };
  if (input.keepHold && input.previous?.rolledBack) document.rolledBack = input.previous.rolledBack;
  return document;
}

/**
 * The status a rollback from the document starts from: what the writer left
 * applied, and its checkpoints. The history stays empty: git holds it.
 */
export function statusOfDocument(document: AwsCheckpointDocument, now: Date): MigrationStatus {
  return {
    version: STATUS_VERSION,
    migration: document.migration,
    phase: document.applied.phase,
    state: document.applied.state,
    weights: { ...document.applied.weights },
    checkpoints: document.checkpoints.map(statusCheckpoint),
    timestamps: { updatedAt: now.toISOString() },
    ...(document.applied.decommission ? { decommission: { ...document.applied.decommission } } : {}),
    history: [],
  };
}

/** A checkpoint document that cannot be acted on; nothing may be changed from it. */
export class CheckpointDocumentError extends Error {
  constructor(
    readonly where: string,
    readonly problems: string[],
  ) {
    super(`${where} cannot be used: ${problems.join("; ")}`);
    this.name = "CheckpointDocumentError";
  }
}

type Shape = Record<string, unknown>;
const isObject = (value: unknown): value is Shape =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function checkWeights(value: unknown, path: string, problems: string[]): void {
  if (!isObject(value)) {
    problems.push(`${path} is not an object with old and new percentages`);
    return;
  }
  const { old, new: fresh } = value;
  if (
    typeof old !== "number" ||
    typeof fresh !== "number" ||
    old < 0 ||
    fresh < 0 ||
    Math.abs(old + fresh - 100) > 0.01
  ) {
    problems.push(
      `${path} must hold old and new percentages from 0 to 100 that sum to 100 (got ${JSON.stringify(value)})`,
    );
  }
}

function checkSpec(value: unknown, problems: string[]): void {
  if (!isObject(value)) {
    problems.push("$.spec is not the migration's spec entry");
    return;
  }
  const need = (shape: unknown, path: string, fields: string[]) => {
    if (!isObject(shape)) {
      problems.push(`${path} is missing`);
      return;
    }
    for (const field of fields) {
      if (typeof shape[field] !== "string" || shape[field] === "")
        problems.push(`${path}.${field} must be a non-empty string`);
    }
  };
  if (typeof value.id !== "string") problems.push("$.spec.id must be the migration id");
  need(value.router, "$.spec.router", ["kind"]);
  need(value.oldSide, "$.spec.oldSide", ["kind"]);
  need(value.newSide, "$.spec.newSide", ["kind"]);
  if (!Array.isArray(value.phases)) problems.push("$.spec.phases must be the list of phases");
}

/**
 * Parses and checks a checkpoint document read from `where`; throws
 * {@link CheckpointDocumentError} naming every problem with its JSON path.
 */
export function parseCheckpointDocument(
  text: string,
  where: string,
  migrationId: string,
): AwsCheckpointDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CheckpointDocumentError(where, [`it is not JSON (${(error as Error).message})`]);
  }
  const problems: string[] = [];
  if (!isObject(raw)) throw new CheckpointDocumentError(where, ["it is not a JSON object"]);
  if (raw.format !== AWS_CHECKPOINT_FORMAT) {
    problems.push(
      `$.format is ${JSON.stringify(raw.format)}; this version reads ${JSON.stringify(AWS_CHECKPOINT_FORMAT)}`,
    );
  }
  if (raw.migration !== migrationId) {
    problems.push(`$.migration is ${JSON.stringify(raw.migration)}, not ${JSON.stringify(migrationId)}`);
  }
  if (!Number.isInteger(raw.sequence) || (raw.sequence as number) < 1)
    problems.push("$.sequence must be a whole number from 1");
  checkSpec(raw.spec, problems);
  if (isObject(raw.spec) && raw.spec.id !== migrationId)
    problems.push(`$.spec.id is not ${JSON.stringify(migrationId)}`);
  const applied = raw.applied;
  if (!isObject(applied)) problems.push("$.applied is missing");
  else {
    if (!PHASE_STATES.includes(applied.state as never)) {
      problems.push(
        `$.applied.state ${JSON.stringify(applied.state)} is not one of ${PHASE_STATES.join(", ")}`,
      );
    }
    if (applied.phase !== null && typeof applied.phase !== "string")
      problems.push("$.applied.phase must be a phase name or null");
    checkWeights(applied.weights, "$.applied.weights", problems);
  }
  if (!Array.isArray(raw.checkpoints)) problems.push("$.checkpoints must be a list");
  else {
    raw.checkpoints.forEach((entry, index) => {
      const path = `$.checkpoints[${index}]`;
      if (!isObject(entry)) {
        problems.push(`${path} is not an object`);
        return;
      }
      checkWeights(entry.weights, `${path}.weights`, problems);
      if (entry.router !== undefined) {
        if (!isObject(entry.router) || typeof entry.router.kind !== "string") {
          problems.push(`${path}.router must be a snapshot tagged with its router kind`);
        } else if (
          isObject(raw.spec) &&
          isObject(raw.spec.router) &&
          entry.router.kind !== raw.spec.router.kind
        ) {
          problems.push(
            `${path}.router is a ${entry.router.kind} snapshot but the migration routes with ${String(raw.spec.router.kind)}`,
          );
        }
      }
    });
  }
  if (raw.rolledBack !== undefined) {
    if (!isObject(raw.rolledBack) || typeof raw.rolledBack.entry !== "string") {
      problems.push("$.rolledBack must name the journal entry of the rollback");
    } else checkWeights(raw.rolledBack.weights, "$.rolledBack.weights", problems);
  }
  if (raw.inFlight !== undefined) {
    if (!isObject(raw.inFlight) || typeof raw.inFlight.writer !== "string") {
      problems.push("$.inFlight must name the writer of the change in flight");
    } else checkWeights(raw.inFlight.target, "$.inFlight.target", problems);
  }
  if (problems.length > 0) throw new CheckpointDocumentError(where, problems);
  return raw as unknown as AwsCheckpointDocument;
}

/** Parses a journal entry; undefined (with the reason) when it is not one this version reads. */
export function parseJournalEntry(text: string): { entry: AwsJournalEntry } | { problem: string } {
  try {
    const raw = JSON.parse(text) as Shape;
    if (!isObject(raw) || raw.format !== "cutover.aws-journal/1" || typeof raw.id !== "string") {
      return { problem: "not a cutover journal entry (format cutover.aws-journal/1 with an id)" };
    }
    return { entry: raw as unknown as AwsJournalEntry };
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
}
