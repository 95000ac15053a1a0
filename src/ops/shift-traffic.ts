/**
 * shift-traffic: moves the new side of a migration to a weight, given in
 * percent or as a phase whose shift step names it.
 */
import { resolve } from "node:path";
import type { RunContext } from "../action/run-context.js";
import type { ActionReport } from "../action/summary.js";
import type { Migration } from "../model/spec.js";
import { type MigrationStatus, sameWeights, type Weights } from "../model/status.js";
import type { AnnouncerFor } from "../notify/action.js";
import { shiftAppliedEvent } from "../notify/event-builders.js";
import { withDeliveries } from "../notify/report.js";
import type { CheckpointStore, StoredCheckpoint } from "../providers/checkpoint-store.js";
import { readingWeights } from "../providers/traffic-router.js";
import {
  readCheckpointBeforeShift,
  statusAfterMove,
  withdrawIntent,
  writeCheckpointAfterShift,
  writeIntentBeforeChange,
} from "./checkpoint-sync.js";
import { OperationJournal, type OperationLog, OperationRefusal } from "./journal.js";
import { loadMigrationContext } from "./migration-context.js";
import {
  createTrafficProviders,
  formatWeights,
  moveWeights,
  observeTraffic,
  type TrafficClients,
  type TrafficProviders,
  type WeightMove,
} from "./traffic.js";
import {
  moveReport,
  nextStepAfterFailure,
  type OutputSetter,
  publishMove,
  publishSubmitted,
  refusalOf,
  type WeightMoveOutput,
} from "./traffic-report.js";

/** Where to shift to: a percent for the new side, or a phase whose shift step gives it. */
export type ShiftTarget = { kind: "weight"; percent: number } | { kind: "phase"; phase: string };

/** The weight of the phase's shift step (the last one, should there be several). */
export function phaseShiftWeight(migration: Migration, phaseName: string): number | undefined {
  const phase = migration.phases.find((candidate) => candidate.name === phaseName);
  const shifts = phase?.steps.filter((step) => step.kind === "shift") ?? [];
  const last = shifts[shifts.length - 1];
  return last?.kind === "shift" ? last.weight : undefined;
}

/** "staging (no shift), canary-10 (10 %), ..." for refusal messages. */
function describePhases(migration: Migration): string {
  return migration.phases
    .map((phase) => {
      const weight = phaseShiftWeight(migration, phase.name);
      return `${phase.name} (${weight === undefined ? "no shift" : `${weight} %`})`;
    })
    .join(", ");
}

/** The new side's percent a shift target stands for, and where it came from. */
export function resolveShiftPercent(
  migration: Migration,
  target: ShiftTarget,
): { percent: number; source: string } {
  if (target.kind === "weight") {
    if (!Number.isInteger(target.percent) || target.percent < 0 || target.percent > 100) {
      throw new OperationRefusal(
        `input "weight": ${target.percent} is not a whole percent from 0 to 100 (the new side's share of traffic)`,
      );
    }
    return { percent: target.percent, source: `input weight ${target.percent} %` };
  }
  if (!migration.phases.some((phase) => phase.name === target.phase)) {
    throw new OperationRefusal(
      `input "phase": "${target.phase}" is not a phase of ${migration.id}; its phases are ${describePhases(migration)}`,
    );
  }
  const weight = phaseShiftWeight(migration, target.phase);
  if (weight === undefined) {
    throw new OperationRefusal(
      `input "phase": phase "${target.phase}" of ${migration.id} has no shift step; phases: ${describePhases(migration)}`,
    );
  }
  return { percent: weight, source: `phase ${target.phase} shift step ${weight} %` };
}

export interface ShiftRequest {
  migration: Migration;
  status: MigrationStatus;
  target: ShiftTarget;
  insyncTimeoutSeconds: number;
  /** Who asks, for the change batch comment ("shift-traffic run 4242-1"). */
  requestedBy: string;
  now: () => Date;
  onSubmitted?: Parameters<typeof moveWeights>[1]["onSubmitted"];
  beforeSubmit?: Parameters<typeof moveWeights>[1]["beforeSubmit"];
}

/** Shifts the weights to the target; refuses (nothing changed) when the records or the receiving side are not fit. */
export async function shiftTraffic(
  request: ShiftRequest,
  providers: TrafficProviders,
  journal: OperationJournal,
): Promise<WeightMove> {
  const { percent, source } = resolveShiftPercent(request.migration, request.target);
  journal.found.push(`Target: new side ${percent} % (${source}).`);
  const target = providers.router.weightsFor(percent);
  const observed = await observeTraffic(providers, request.status, journal);
  return moveWeights(
    providers,
    {
      migration: request.migration,
      status: request.status,
      observed,
      target,
      comment: `cutover ${request.migration.id}: new ${percent}% old ${100 - percent}% (${source}) by ${request.requestedBy}`,
      insyncTimeoutSeconds: request.insyncTimeoutSeconds,
      now: request.now,
      onSubmitted: request.onSubmitted,
      ...(request.beforeSubmit ? { beforeSubmit: request.beforeSubmit } : {}),
    },
    journal,
  );
}

/** The action's inputs, parsed. */
export interface ShiftTrafficInputs {
  migration: string;
  target: ShiftTarget;
  /** Path of migrations.json, relative to the workspace. */
  spec: string;
  insyncTimeoutSeconds: number;
  /** Where the AWS-side checkpoint lives ("s3://bucket/prefix"); none: the guardian cannot act for this migration. */
  checkpointStore?: string;
}

/** What the action needs from the runner, injected so the operation can run anywhere. */
export interface TrafficActionEnvironment<O extends string> {
  run: RunContext;
  log: OperationLog;
  setOutput: OutputSetter<O>;
  clients: TrafficClients;
  now: () => Date;
  /** The AWS-side checkpoint store, when the action was given one. */
  checkpointStore?: CheckpointStore;
  /** Announces decisions to the migration's notification sinks; a failed delivery never fails the step. */
  announcerFor?: AnnouncerFor;
}

/** The shift-traffic action: load the migration, shift, publish outputs, return the job summary. */
export async function runShiftTraffic(
  inputs: ShiftTrafficInputs,
  env: TrafficActionEnvironment<WeightMoveOutput>,
): Promise<ActionReport> {
  const journal = new OperationJournal(env.log);
  const title = `shift-traffic: ${inputs.migration}`;
  const writer = `shift-traffic run ${env.run.correlationId}`;
  const store = env.checkpointStore;
  let stored: StoredCheckpoint | undefined;
  let submitted = false;
  let unchangedBy: (() => Promise<boolean>) | undefined;
  // What the router sent when the change was announced.
  let announcedOver: Weights | undefined;
  let replaced: StoredCheckpoint | undefined;
  try {
    const specPath = resolve(env.run.workspace, inputs.spec);
    const context = await journal.step("load spec and status", () =>
      loadMigrationContext(specPath, inputs.migration, env.now()),
    );
    const providers = createTrafficProviders(context.migration, env.clients, (operation, attempt, delayMs) =>
      env.log.warn("throttled, retrying", { operation, attempt, delay_ms: delayMs }),
    );
    // Whether the router still sends what it sent at the announcement: then the change was never applied.
    unchangedBy = async () => {
      if (!announcedOver) return false;
      const reading = await providers.router.read();
      return sameWeights(providers.router.effectiveWeights(readingWeights(reading)), announcedOver);
    };
    stored = store
      ? await readCheckpointBeforeShift(store, context.migration.id, context.status, journal)
      : undefined;
    const phase = inputs.target.kind === "phase" ? inputs.target.phase : context.status.phase;
    const published = publishSubmitted(env.setOutput);
    const move = await shiftTraffic(
      {
        migration: context.migration,
        status: context.status,
        target: inputs.target,
        insyncTimeoutSeconds: inputs.insyncTimeoutSeconds,
        requestedBy: `shift-traffic run ${env.run.correlationId}`,
        now: env.now,
        onSubmitted: (change, checkpoint) => {
          submitted = true;
          published(change, checkpoint);
        },
        ...(store
          ? {
              beforeSubmit: async (weights, checkpoint) => {
                announcedOver = { ...checkpoint.weights };
                replaced = stored;
                stored = await writeIntentBeforeChange(
                  {
                    store,
                    stored,
                    migration: context.migration,
                    status: {
                      ...context.status,
                      phase,
                      state: "applying",
                      weights,
                      checkpoints: [...context.status.checkpoints, checkpoint],
                    },
                    writer,
                    action: "shift-traffic",
                    detail: `new side ${weights.new} % (${inputs.target.kind === "phase" ? `phase ${inputs.target.phase}` : "weight input"})`,
                    now: env.now(),
                  },
                  journal,
                );
              },
            }
          : {}),
      },
      providers,
      journal,
    );
    if (store && (!move.noOp || !stored || !sameWeights(stored.document.applied.weights, move.weights))) {
      await writeCheckpointAfterShift(
        {
          store,
          stored,
          migration: context.migration,
          status: statusAfterMove(context.status, move, "applying", phase),
          writer,
          now: env.now(),
          // The weights count from their announcement: an alarm raised while the change was in flight concerns them.
          ...(stored?.document.inFlight
            ? { appliedAt: new Date(stored.document.inFlight.startedAt) }
            : move.change
              ? { appliedAt: move.change.submittedAt }
              : {}),
        },
        journal,
      );
    }
    publishMove(move, env.setOutput);
    const deliveries = move.noOp
      ? []
      : ((await env.announcerFor?.(context.migration).announce(
          shiftAppliedEvent(
            {
              migration: context.migration.id,
              phase,
              time: env.now(),
              ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
            },
            {
              previousWeights: move.previousWeights,
              weights: move.weights,
              ...(move.change ? { changeId: move.change.id } : {}),
              gateWindowStart: move.gateWindowStart,
            },
          ),
        )) ?? []);
    return withDeliveries(
      moveReport({
        title,
        move,
        journal,
        next: shiftNextSteps(inputs.migration, context.statusPath, move),
      }),
      deliveries,
    );
  } catch (error) {
    // A change announced but never submitted, with the router unchanged, is taken back; one that may
    // still apply (submitted, or its answer lost) stays announced for the guardian and reconcile.
    if (store && stored?.document.inFlight && !submitted && (await unchangedBy?.().catch(() => false)))
      await withdrawIntent(store, stored, replaced, writer, env.now(), journal);
    throw refusalOf(`${title} refused`, error, journal, [nextStepAfterFailure(journal, "shift-traffic")]);
  }
}

function shiftNextSteps(migrationId: string, statusPath: string, move: WeightMove): string[] {
  if (move.noOp) {
    return [
      `Nothing to commit unless ${statusPath} disagrees with ${formatWeights(move.weights)}.`,
      `The gate window starts (or started) ${move.gateWindowStart.toISOString()}.`,
    ];
  }
  return [
    `Commit ${statusPath}: weights ${formatWeights(move.weights)}, the \`checkpoint\` output pushed onto checkpoints, gateWindowStartsAt ${move.gateWindowStart.toISOString()}.`,
    `Evaluate the gate from ${move.gateWindowStart.toISOString()} on: traffic before it has not certainly moved and is not evidence.`,
    `To undo, run rollback for ${migrationId}: it restores this checkpoint (${formatWeights(move.previousWeights)}).`,
  ];
}
