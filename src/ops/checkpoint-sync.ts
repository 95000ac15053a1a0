/**
 * Keeping the AWS-side checkpoint in step with what the workflows change:
 * shift-traffic and rollback read it before they move weight and write it
 * after, with a conditional write on the version they read. That version is
 * the lock every writer (workflows, the guardian, break-glass) takes: a shift
 * that loses it fails clearly, and never while a rollback made outside the
 * workflows is waiting to be recorded in git.
 */
import { buildCheckpointDocument } from "../core/aws-checkpoint.js";
import type { Migration } from "../model/spec.js";
import type { MigrationStatus, PhaseState } from "../model/status.js";
import {
  CheckpointConflict,
  type CheckpointStore,
  type StoredCheckpoint,
} from "../providers/checkpoint-store.js";
import { type OperationJournal, OperationRefusal } from "./journal.js";
import { formatWeights, type WeightMove } from "./traffic.js";

/** The evidence field a recorded guardian or break-glass rollback carries: the journal entry's id. */
export const JOURNAL_ENTRY_FIELD = "journalEntry";

/** True when the status's history already records the journal entry. */
export function recordsJournalEntry(status: MigrationStatus, entryId: string): boolean {
  return status.history.some((entry) => entry.evidence?.[JOURNAL_ENTRY_FIELD] === entryId);
}

/** Reads the checkpoint before a move; a hold not yet recorded in git refuses the shift. */
export async function readCheckpointBeforeShift(
  store: CheckpointStore,
  migrationId: string,
  status: MigrationStatus,
  journal: OperationJournal,
): Promise<StoredCheckpoint | undefined> {
  const stored = await journal.step(
    "read AWS-side checkpoint",
    () => store.read(migrationId),
    (found) =>
      found
        ? `${store.checkpointLabel(migrationId)} sequence ${found.document.sequence} by ${found.document.writer}`
        : `${store.checkpointLabel(migrationId)} not written yet`,
  );
  const hold = stored?.document.rolledBack;
  if (hold && !recordsJournalEntry(status, hold.entry)) {
    throw new OperationRefusal(
      `${hold.by === "guardian" ? "the guardian" : "a break-glass rollback"} rolled ${migrationId} back at ${hold.at} ` +
        `(${formatWeights(hold.weights)}, journal entry ${hold.entry}) and git has not recorded it yet; nothing was changed. ` +
        "Run reconcile (every workflow run starts with it) to record the rollback, then shift again.",
    );
  }
  return stored;
}

export interface CheckpointWrite {
  store: CheckpointStore;
  /** What was read before the move (undefined: none existed). */
  stored: StoredCheckpoint | undefined;
  migration: Migration;
  /** The status as it will be once the move is recorded. */
  status: MigrationStatus;
  writer: string;
  now: Date;
  /** When the weights took effect (the change's submission). */
  appliedAt?: Date;
}

/** The status after a move, as the AWS side keeps it. */
export function statusAfterMove(
  status: MigrationStatus,
  move: WeightMove,
  state: PhaseState,
  phase: string | null = status.phase,
): MigrationStatus {
  const checkpoints = move.noOp ? status.checkpoints : [...status.checkpoints, move.checkpoint];
  return { ...status, phase, state, weights: move.weights, checkpoints };
}

/**
 * Writes the checkpoint after a shift, only if nobody wrote it since it was
 * read. On a conflict the shift's change may already have been undone (the
 * guardian rolled back meanwhile), so the shift fails, saying what the
 * checkpoint says now.
 */
export async function writeCheckpointAfterShift(
  write: CheckpointWrite,
  journal: OperationJournal,
): Promise<void> {
  const document = buildCheckpointDocument({
    migration: write.migration,
    status: write.status,
    previous: write.stored?.document,
    writer: write.writer,
    now: write.now,
    ...(write.appliedAt ? { appliedAt: write.appliedAt } : {}),
  });
  try {
    await journal.step("write AWS-side checkpoint", () => write.store.write(document, write.stored?.version));
  } catch (error) {
    if (!(error instanceof CheckpointConflict)) throw error;
    const now = await write.store.read(write.migration.id).catch(() => undefined);
    const hold = now?.document.rolledBack;
    throw new OperationRefusal(
      hold
        ? `${hold.by === "guardian" ? "the guardian" : "a break-glass rollback"} rolled ${write.migration.id} back at ${hold.at} while this shift was in flight: ` +
            `traffic is ${formatWeights(hold.weights)}, not what this shift set. Reconcile records it.`
        : `${write.store.checkpointLabel(write.migration.id)} was written by ${now?.document.writer ?? "another writer"} while this shift was in flight; ` +
            "two writers moved this migration at once. Run reconcile to see what the router holds before anything else.",
    );
  }
}

/**
 * Writes the checkpoint after a workflow rollback, keeping any hold. A
 * rollback is never failed by bookkeeping: after bounded retries it warns
 * and the status commit still records what was done.
 */
export async function writeCheckpointAfterRollback(
  write: CheckpointWrite,
  journal: OperationJournal,
): Promise<void> {
  let stored = write.stored;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const document = buildCheckpointDocument({
      migration: write.migration,
      status: write.status,
      previous: stored?.document,
      writer: write.writer,
      now: write.now,
      keepHold: true,
      ...(write.appliedAt ? { appliedAt: write.appliedAt } : {}),
    });
    try {
      await journal.step("write AWS-side checkpoint", () => write.store.write(document, stored?.version));
      return;
    } catch (error) {
      if (!(error instanceof CheckpointConflict)) {
        journal.log.warn("could not write the AWS-side checkpoint after rolling back", {
          error: (error as Error).message,
        });
        journal.done.push(
          `The AWS-side checkpoint was not updated (${(error as Error).message}); the next shift or reconcile writes it.`,
        );
        return;
      }
      stored = await write.store.read(write.migration.id).catch(() => undefined);
    }
  }
  journal.log.warn("the AWS-side checkpoint kept changing; it was not updated after rolling back");
}

export interface IntentWrite {
  store: CheckpointStore;
  stored: StoredCheckpoint | undefined;
  migration: Migration;
  /** The status with the change applied, as the final write will record it. */
  status: MigrationStatus;
  writer: string;
  action: string;
  /** One line for people: "weight 25 %", "rollback to all-old". */
  detail: string;
  now: Date;
}

/**
 * Writes the checkpoint just before a change, with the change's intent:
 * the guardian then already restores what the change replaces, and a run
 * killed after the change is recognised by reconcile. Returns what the
 * final write must compare against. Another writer having written since the
 * read refuses the change, nothing changed.
 */
export async function writeIntentBeforeChange(
  write: IntentWrite,
  journal: OperationJournal,
): Promise<StoredCheckpoint> {
  const document = {
    ...buildCheckpointDocument({
      migration: write.migration,
      status: write.status,
      previous: write.stored?.document,
      writer: write.writer,
      now: write.now,
    }),
    inFlight: {
      writer: write.writer,
      action: write.action,
      startedAt: write.now.toISOString(),
      target: { ...write.status.weights },
      detail: write.detail,
    },
  };
  try {
    const version = await journal.step("write AWS-side intent", () =>
      write.store.write(document, write.stored?.version),
    );
    return { document, version };
  } catch (error) {
    if (error instanceof CheckpointConflict) {
      throw new OperationRefusal(
        `${write.store.checkpointLabel(write.migration.id)} was written by another writer since it was read; nothing was changed. Run again to decide on what is true now.`,
      );
    }
    throw error;
  }
}

/**
 * Takes back an announced change that was never applied (the run failed
 * between the announcement and the router's acceptance, and the router still
 * sends what it did): the document the announcement replaced is written again,
 * so the guardian restores at once instead of waiting for a change that will
 * not come. Best effort: a failure is logged, never thrown, and nothing is
 * written when another writer came since (the write compares versions).
 */
export async function withdrawIntent(
  store: CheckpointStore,
  intent: StoredCheckpoint,
  replaced: StoredCheckpoint | undefined,
  writer: string,
  now: Date,
  journal: OperationJournal,
): Promise<void> {
  const announced = intent.document.inFlight;
  if (announced?.writer !== writer) return;
  if (!replaced) {
    journal.log.warn(
      "the announced change stays on the AWS-side checkpoint: there was no document before it",
    );
    return;
  }
  const { inFlight: _earlier, ...previous } = replaced.document;
  try {
    await store.write(
      { ...previous, sequence: intent.document.sequence + 1, writtenAt: now.toISOString(), writer },
      intent.version,
    );
    journal.done.push(
      `Withdrew the announced change (${announced.detail}) from the AWS-side checkpoint: it was never applied.`,
    );
  } catch (error) {
    journal.log.warn("could not withdraw the announced change from the AWS-side checkpoint", {
      error: (error as Error).message,
    });
  }
}
