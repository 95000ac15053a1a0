/**
 * A rollback made outside the workflows, from the AWS-side checkpoint: by the
 * guardian on a rollback alarm, or by a person with `cutover rollback`. It
 * uses the rollback operation itself (an old side at zero is scaled up and
 * stable before any weight returns; one compare-and-swap change; the Lambda
 * alias pointed back alone), then journals what it did and sets a hold on
 * the checkpoint so no shift moves weight back before git has recorded it.
 *
 * Idempotent: a second delivery of the same trigger finds its journal entry
 * id on the checkpoint and does nothing; two deliveries at once race on
 * the router's compare-and-swap and on the journal's create-once write, and
 * only one change is made.
 */
import { buildCheckpointDocument, statusOfDocument } from "../core/aws-checkpoint.js";
import {
  AWS_JOURNAL_FORMAT,
  type AwsCheckpointDocument,
  type AwsJournalEntry,
  type JournalTrigger,
} from "../model/aws-checkpoint.js";
import type { Migration } from "../model/spec.js";
import { type MigrationStatus, sameWeights, unreadableStatus, type Weights } from "../model/status.js";
import {
  CheckpointConflict,
  type CheckpointStore,
  type StoredCheckpoint,
} from "../providers/checkpoint-store.js";
import { TrafficRouterRefusal } from "../providers/traffic-router.js";
import { type OperationJournal, OperationRefusal } from "./journal.js";
import { ALL_OLD, type RollbackMove, rollback } from "./rollback.js";
import { createTrafficProviders, formatWeights, type TrafficClients } from "./traffic.js";

/** How often a rollback reads again after another writer won the compare-and-swap. */
const MAX_ROLLBACK_ATTEMPTS = 3;
/** How often an announced change that has not landed is looked at again. */
const IN_FLIGHT_POLL_MS = 500;

/** How often the hold is written again after a concurrent checkpoint write. */
const MAX_HOLD_ATTEMPTS = 5;

export interface AwsRollbackRequest {
  store: CheckpointStore;
  migrationId: string;
  /** Journal entry id: stable for one trigger. */
  entryId: string;
  by: "guardian" | "break-glass";
  trigger: JournalTrigger;
  /**
   * "checkpoint": the last checkpoint (all-old while decommissioning, or
   * when none exists); "all-old"; or the last checkpoint of a named phase.
   */
  target: "checkpoint" | "all-old" | { phase: string };
  clients: TrafficClients;
  insyncTimeoutSeconds: number;
  stableTimeoutSeconds: number;
  fallbackDesiredCount?: number;
  now: () => Date;
  /**
   * What git says, for a break-glass rollback from a checkout: used when the
   * store has no checkpoint (the spec) and to check the checkpoint's spec
   * agrees. The guardian has none.
   */
  fromGit?: { migration: Migration; status?: MigrationStatus };
  /**
   * Ignore an alarm that entered ALARM before the weights it would roll back
   * took effect: a late or re-delivered event of an earlier phase.
   */
  triggeredAt?: string;
}

export type AwsRollbackOutcome = "rolled-back" | "no-op" | "duplicate" | "stale";

export interface AwsRollbackResult {
  outcome: AwsRollbackOutcome;
  detail: string;
  entry?: AwsJournalEntry;
  move?: RollbackMove;
  /** False when the hold could not be written after the change (the journal entry still records it). */
  holdWritten?: boolean;
}

/** What the rollback starts from: the checkpoint document, or git's spec when the store has none. */
interface Source {
  stored?: StoredCheckpoint;
  migration: Migration;
  status: MigrationStatus;
}

async function readSource(request: AwsRollbackRequest, journal: OperationJournal): Promise<Source> {
  const stored = await journal.step(
    "read checkpoint",
    async () => {
      try {
        return await request.store.read(request.migrationId);
      } catch (error) {
        // A person rolling back from a checkout is never stopped by a broken checkpoint; the guardian is.
        if (!request.fromGit) throw error;
        journal.log.warn("the AWS-side checkpoint cannot be used; rolling back from git", {
          error: (error as Error).message,
        });
        return undefined;
      }
    },
    (found) =>
      found
        ? `${request.store.checkpointLabel(request.migrationId)} sequence ${found.document.sequence} by ${found.document.writer}, ${formatWeights(found.document.applied.weights)}`
        : `${request.store.checkpointLabel(request.migrationId)} does not exist`,
  );
  if (stored) {
    return {
      stored,
      migration: stored.document.spec,
      status: statusOfDocument(stored.document, request.now()),
    };
  }
  if (request.fromGit) {
    const status = request.fromGit.status;
    journal.found.push(
      `No checkpoint at ${request.store.checkpointLabel(request.migrationId)}: rolling back from git's spec${status ? " and status" : " alone"}.`,
    );
    return {
      migration: request.fromGit.migration,
      status: status ?? unreadableStatus(request.migrationId, request.now()),
    };
  }
  throw new OperationRefusal(
    `no checkpoint at ${request.store.checkpointLabel(request.migrationId)}: nothing says what to restore, so nothing was changed. ` +
      "Every shift-traffic run with checkpoint-store set writes one; roll back from the workflow or with `cutover rollback` from a checkout.",
  );
}

/** Rolls back from the AWS-side checkpoint; see the module comment for the guarantees. */
export async function rollbackFromCheckpoint(
  request: AwsRollbackRequest,
  journal: OperationJournal,
): Promise<AwsRollbackResult> {
  // A change another run announced and has not landed yet is waited for, bounded, so that it cannot land after the rollback.
  const settleBy = Date.now() + request.insyncTimeoutSeconds * 1000;
  let conflicts = 0;
  for (;;) {
    const source = await readSource(request, journal);
    const document = source.stored?.document;
    if (document?.rolledBack?.entry === request.entryId) {
      return {
        outcome: "duplicate",
        detail: `already rolled back for this trigger at ${document.rolledBack.at} (journal entry ${request.entryId}); nothing changed`,
      };
    }
    // Weights count from the moment their change was announced, so an alarm raised while it was in flight is not stale.
    const appliedAt = document?.inFlight?.startedAt ?? document?.applied.appliedAt;
    if (request.triggeredAt && appliedAt && request.triggeredAt < appliedAt) {
      return {
        outcome: "stale",
        detail: `the trigger (${request.triggeredAt}) is older than the weights it would undo (applied ${appliedAt} by ${document?.writer}); nothing changed`,
      };
    }
    const phase = typeof request.target === "object" ? request.target.phase : undefined;
    const useAllOld =
      request.target === "all-old" || (phase === undefined && source.status.checkpoints.length === 0);
    const targetPhase = useAllOld ? ALL_OLD : phase;
    try {
      const move = await rollback(
        {
          migration: source.migration,
          status: source.status,
          reason: request.trigger.reason,
          ...(targetPhase !== undefined ? { targetPhase } : {}),
          insyncTimeoutSeconds: request.insyncTimeoutSeconds,
          stableTimeoutSeconds: request.stableTimeoutSeconds,
          ...(request.fallbackDesiredCount !== undefined
            ? { fallbackDesiredCount: request.fallbackDesiredCount }
            : {}),
          requestedBy:
            request.by === "guardian"
              ? `guardian (${request.entryId})`
              : `break-glass ${request.trigger.operator ?? ""}`.trim(),
          now: request.now,
        },
        createTrafficProviders(source.migration, request.clients),
        journal,
      );
      const announced = document?.inFlight;
      if (move.noOp && announced && !sameWeights(announced.target, move.weights) && Date.now() < settleBy) {
        journal.log.info(
          "a change announced by another run has not landed yet; waiting for it before deciding",
          {
            writer: announced.writer,
            target: `${announced.target.old}/${announced.target.new}`,
          },
        );
        await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_POLL_MS));
        continue;
      }
      return await settle(
        request,
        source,
        move,
        useAllOld ? "all-old" : phase !== undefined ? `phase:${phase}` : "last-checkpoint",
        journal,
      );
    } catch (error) {
      if (
        error instanceof TrafficRouterRefusal &&
        error.code === "concurrent-change" &&
        ++conflicts < MAX_ROLLBACK_ATTEMPTS
      ) {
        journal.log.warn("another writer changed the records while rolling back; reading again", {
          attempt: conflicts,
        });
        continue;
      }
      throw error;
    }
  }
}

/** Journals the rollback and sets the hold on the checkpoint. */
async function settle(
  request: AwsRollbackRequest,
  source: Source,
  move: RollbackMove,
  target: AwsJournalEntry["target"] & string,
  journal: OperationJournal,
): Promise<AwsRollbackResult> {
  const entry: AwsJournalEntry = {
    format: AWS_JOURNAL_FORMAT,
    id: request.entryId,
    migration: request.migrationId,
    by: request.by,
    at: request.now().toISOString(),
    trigger: request.trigger,
    outcome: move.noOp ? "no-op" : "rolled-back",
    before: move.previousWeights,
    after: move.weights,
    target,
    restored: { ...move.restored },
    ...(move.change ? { changeId: move.change.id, submittedAt: move.change.submittedAt.toISOString() } : {}),
    ...(move.insyncAt ? { insyncAt: move.insyncAt.toISOString() } : {}),
    steps: journal.steps.map(({ step, elapsedMs, outcome, detail }) => ({
      step,
      elapsedMs,
      outcome,
      detail,
    })),
  };
  if (move.noOp) {
    return {
      outcome: "no-op",
      detail: `the records already send ${formatWeights(move.weights)}; nothing changed`,
      entry,
      move,
    };
  }
  const written = await journal.step(
    "write journal entry",
    () => request.store.appendJournal(entry),
    (fresh) => (fresh ? `journal entry ${entry.id}` : `journal entry ${entry.id} already existed`),
  );
  if (!written) journal.log.warn("a journal entry for this trigger already existed", { entry: entry.id });
  const holdWritten = await writeHold(request, source, move.weights, journal);
  return {
    outcome: "rolled-back",
    detail: `${formatWeights(move.previousWeights)} → ${formatWeights(move.weights)}, change ${move.change?.id ?? "(none)"}`,
    entry,
    move,
    holdWritten,
  };
}

/**
 * Writes the checkpoint with the rollback applied and the hold set, on top
 * of whatever another writer left meanwhile; false if it could not.
 */
async function writeHold(
  request: AwsRollbackRequest,
  source: Source,
  weights: Weights,
  journal: OperationJournal,
): Promise<boolean> {
  let stored = source.stored;
  for (let attempt = 1; attempt <= MAX_HOLD_ATTEMPTS; attempt++) {
    const base = stored?.document;
    const status = base ? statusOfDocument(base, request.now()) : source.status;
    const next: AwsCheckpointDocument = {
      ...buildCheckpointDocument({
        migration: base?.spec ?? source.migration,
        status: { ...status, state: "rolled-back", weights },
        previous: base,
        writer:
          request.by === "guardian" ? "guardian" : `break-glass ${request.trigger.operator ?? ""}`.trim(),
        now: request.now(),
        appliedAt: request.now(),
      }),
      rolledBack: { entry: request.entryId, at: request.now().toISOString(), by: request.by, weights },
    };
    try {
      await journal.step("write checkpoint hold", () => request.store.write(next, stored?.version));
      return true;
    } catch (error) {
      if (!(error instanceof CheckpointConflict)) {
        journal.log.warn("could not write the checkpoint hold; the journal entry records the rollback", {
          error: (error as Error).message,
        });
        return false;
      }
      stored = await request.store.read(request.migrationId).catch(() => undefined);
      if (!stored) break;
    }
  }
  journal.log.warn(
    "the checkpoint kept changing; the hold was not written (the journal entry records the rollback)",
  );
  return false;
}
