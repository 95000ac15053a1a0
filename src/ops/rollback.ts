/**
 * rollback: brings a migration back to a checkpoint (by default the last
 * one), or all traffic back to the old side. A side that will take traffic
 * is first made able to serve (scaled back up, alias pointed back), then the
 * weights move exactly as shift-traffic moves them.
 */
import { dirname, resolve } from "node:path";
import type { ActionReport } from "../action/summary.js";
import { statusOfDocument } from "../core/aws-checkpoint.js";
import { defaultRollbackTarget } from "../core/transitions.js";
import type { Migration } from "../model/spec.js";
import { type Checkpoint, type MigrationStatus, unreadableStatus, type Weights } from "../model/status.js";
import { rollbackCompletedEvent, rollbackStartedEvent } from "../notify/event-builders.js";
import { withDeliveries } from "../notify/report.js";
import type { TargetCheckpointFields } from "../providers/compute-target.js";
import type { RouterWeights, TrafficRouter } from "../providers/traffic-router.js";
import { statusPath as statusPathOf } from "../spec/files.js";
import { writeCheckpointAfterRollback, writeIntentBeforeChange } from "./checkpoint-sync.js";
import { OperationJournal, OperationRefusal } from "./journal.js";
import {
  loadMigrationContext,
  type MigrationContext,
  readMigrationLeniently,
  validateMigrationFiles,
} from "./migration-context.js";
import { phaseShiftWeight, type TrafficActionEnvironment } from "./shift-traffic.js";
import {
  createTrafficProviders,
  formatWeights,
  moveWeights,
  type ObservedTraffic,
  observeTraffic,
  SIDES,
  type TrafficProviders,
  type WeightMove,
} from "./traffic.js";
import {
  moveHeadline,
  moveReport,
  nextStepAfterFailure,
  publishMove,
  publishSubmitted,
  refusalOf,
  type WeightMoveOutput,
} from "./traffic-report.js";

/** Rolls all traffic back to the old side, whatever the checkpoints say. */
export const ALL_OLD = "all-old";

/** What a rollback restores. */
export interface RestorePoint {
  /** Human description: "last checkpoint (phase canary-10, taken 2026-…)". */
  label: string;
  /** Share of traffic each side gets afterwards, in percent. */
  weights: Weights;
  /** The router's snapshot of the checkpoint, for an exact restore of its weights. */
  snapshot?: Checkpoint["router"];
  /** Capacity and versions to bring the compute targets back to. */
  recorded: TargetCheckpointFields;
}

/**
 * What a checkpoint says to restore on the compute targets; nothing from a
 * checkpoint taken in another environment (another AWS account), whose
 * version numbers and task definitions mean nothing here.
 */
function targetFields(
  checkpoint: Checkpoint | undefined,
  environment: string | undefined,
): TargetCheckpointFields {
  if (!checkpoint) return {};
  if (checkpoint.environment !== undefined && checkpoint.environment !== environment) return {};
  const { lambdaVersion, ecsTaskDefinition, ecsDesiredCount, lambdaReservedConcurrency } = checkpoint;
  return {
    ...(lambdaVersion !== undefined ? { lambdaVersion } : {}),
    ...(lambdaReservedConcurrency !== undefined ? { lambdaReservedConcurrency } : {}),
    ...(ecsTaskDefinition !== undefined ? { ecsTaskDefinition } : {}),
    ...(ecsDesiredCount !== undefined ? { ecsDesiredCount } : {}),
  };
}

/**
 * The router weights to write: exactly those of the checkpoint's snapshot when
 * the router can read them there (a snapshot of another kind, or one that does
 * not hold this split, gives none), else the router's own for the percentages.
 */
export function restoreWeights(router: TrafficRouter, point: RestorePoint): RouterWeights {
  const exact = point.snapshot?.kind === router.kind ? router.snapshotWeights(point.snapshot) : undefined;
  return exact ?? router.weightsFor(Math.round(point.weights.new));
}

function describeCheckpoint(checkpoint: Checkpoint): string {
  return `phase ${checkpoint.phase ?? "(none applied)"}, taken ${checkpoint.takenAt}, ${formatWeights(checkpoint.weights)}`;
}

/**
 * Decides what to restore: the last checkpoint by default; `all-old` for
 * 100 % old; a phase name for the last checkpoint taken in that phase, or
 * else the weight that phase's shift steps leave in effect. Never a phase
 * after the applied one: that is a promotion, not a rollback.
 */
export function resolveRestorePoint(
  migration: Migration,
  status: MigrationStatus,
  targetPhase: string | undefined,
): RestorePoint {
  const last = status.checkpoints[status.checkpoints.length - 1];
  // The rollback acts on the account of the applied phase's environment.
  const environment = migration.phases.find((phase) => phase.name === status.phase)?.environment;
  const withDecommission = (fields: TargetCheckpointFields): TargetCheckpointFields => {
    const held = status.decommission?.reservedConcurrencyBefore;
    // A function held at concurrency 0: bring back the reservation it had (none when null).
    if (held !== undefined)
      return held !== null && held > 0 && fields.lambdaReservedConcurrency === undefined
        ? { ...fields, lambdaReservedConcurrency: held }
        : fields;
    // A count of 0 was taken while the old side was already scaled down: what it served with is the decommission's.
    return !fields.ecsDesiredCount && status.decommission
      ? { ...fields, ecsDesiredCount: status.decommission.desiredCountBefore }
      : fields;
  };
  const defaultAllOld = targetPhase === undefined && defaultRollbackTarget(status).kind === "all-old";
  const target = defaultAllOld ? ALL_OLD : targetPhase;
  if (target === undefined) {
    if (!last) {
      throw new OperationRefusal(
        `${migration.id} has no checkpoint in its status to roll back to; give target-phase "${ALL_OLD}" to send all traffic to the old side`,
      );
    }
    return {
      label: `last checkpoint (${describeCheckpoint(last)})`,
      weights: last.weights,
      ...(last.router ? { snapshot: last.router } : {}),
      recorded: withDecommission(targetFields(last, environment)),
    };
  }
  if (target === ALL_OLD) {
    return {
      label: defaultAllOld
        ? "all traffic to the old side (the old side was scaled down for decommissioning)"
        : "all traffic to the old side",
      weights: { old: 100, new: 0 },
      recorded: withDecommission(targetFields(last, environment)),
    };
  }
  const names = migration.phases.map((phase) => phase.name);
  const wanted = names.indexOf(target);
  if (wanted < 0) {
    throw new OperationRefusal(
      `input "target-phase": "${target}" is not a phase of ${migration.id}; give one of ${names.join(", ")} or "${ALL_OLD}"`,
    );
  }
  const applied = status.phase === null ? -1 : names.indexOf(status.phase);
  if (wanted > applied) {
    throw new OperationRefusal(
      `input "target-phase": "${target}" comes after the applied phase (${status.phase ?? "none applied"}); ` +
        `a rollback only goes back. Give an earlier phase or "${ALL_OLD}"`,
    );
  }
  const inPhase = status.checkpoints.filter((checkpoint) => checkpoint.phase === target).pop();
  if (inPhase) {
    return {
      label: `checkpoint of phase ${target} (${describeCheckpoint(inPhase)})`,
      weights: inPhase.weights,
      ...(inPhase.router ? { snapshot: inPhase.router } : {}),
      recorded: withDecommission(targetFields(inPhase, environment)),
    };
  }
  const weights = phaseWeightsBySpec(migration, target);
  return {
    label: `phase ${target} as the spec defines it (new ${weights.new} %)`,
    weights,
    recorded: withDecommission(targetFields(last, environment)),
  };
}

/**
 * The weights a phase leaves by the spec alone: whatever the shift steps up
 * to and including it leave in effect (all old before the first shift). What
 * a rollback to a phase no checkpoint was taken in restores.
 */
export function phaseWeightsBySpec(migration: Migration, phaseName: string): Weights {
  const names = migration.phases.map((phase) => phase.name);
  let percent = 0;
  for (const name of names.slice(0, names.indexOf(phaseName) + 1))
    percent = phaseShiftWeight(migration, name) ?? percent;
  return { old: 100 - percent, new: percent };
}

export interface RollbackRequest {
  migration: Migration;
  status: MigrationStatus;
  reason: string;
  targetPhase?: string;
  insyncTimeoutSeconds: number;
  stableTimeoutSeconds: number;
  /** Desired count for an ECS side scaled to zero when nothing was recorded. */
  fallbackDesiredCount?: number;
  requestedBy: string;
  now: () => Date;
  onSubmitted?: Parameters<typeof moveWeights>[1]["onSubmitted"];
  beforeSubmit?: Parameters<typeof moveWeights>[1]["beforeSubmit"];
}

/** Brings each side that will serve back to what was recorded, both sides at once; true when anything was done. */
async function restoreSides(
  providers: TrafficProviders,
  point: RestorePoint,
  request: RollbackRequest,
  journal: OperationJournal,
): Promise<boolean> {
  const results = await Promise.all(
    SIDES.map((side) =>
      journal.step(
        `restore ${side} side`,
        () =>
          providers.sides[side].restore(point.recorded, {
            willServe: point.weights[side] > 0,
            stableTimeoutSeconds: request.stableTimeoutSeconds,
            fallbackDesiredCount: request.fallbackDesiredCount,
          }),
        (steps) =>
          steps.length === 0
            ? `${providers.sides[side].label}: nothing to restore`
            : steps.map((step) => `${step.step}: ${step.detail} (${step.elapsedMs} ms)`).join("; "),
      ),
    ),
  );
  const steps = results.flat();
  for (const step of steps) journal.done.push(`${step.step}: ${step.detail} in ${step.elapsedMs} ms.`);
  return steps.length > 0;
}

/** A rollback's weight move, and what it restored on the compute targets. */
export interface RollbackMove extends WeightMove {
  restored: TargetCheckpointFields;
}

/** Rolls back: restore the sides that will serve, then move the weights in one change and wait for INSYNC. */
export async function rollback(
  request: RollbackRequest,
  providers: TrafficProviders,
  journal: OperationJournal,
): Promise<RollbackMove> {
  const point = resolveRestorePoint(request.migration, request.status, request.targetPhase);
  journal.found.push(`Rolling back to ${point.label}. Reason: ${request.reason}`);
  const target = restoreWeights(providers.router, point);
  let observed: ObservedTraffic = await observeTraffic(providers, request.status, journal);
  if (await restoreSides(providers, point, request, journal)) {
    // Time has passed and the sides changed: decide on what is true now.
    observed = await observeTraffic(providers, request.status, journal, true);
  }
  const move = await moveWeights(
    providers,
    {
      migration: request.migration,
      status: request.status,
      observed,
      target,
      comment: `cutover ${request.migration.id} rollback to ${point.label.slice(0, 80)} by ${request.requestedBy}: ${request.reason}`,
      insyncTimeoutSeconds: request.insyncTimeoutSeconds,
      now: request.now,
      onSubmitted: request.onSubmitted,
      ...(request.beforeSubmit ? { beforeSubmit: request.beforeSubmit } : {}),
    },
    journal,
  );
  return { ...move, restored: point.recorded };
}

/** The rollback action's inputs, parsed. */
export interface RollbackInputs {
  migration: string;
  reason: string;
  targetPhase?: string;
  spec: string;
  insyncTimeoutSeconds: number;
  stableTimeoutSeconds: number;
  fallbackDesiredCount?: number;
  /** Where the AWS-side checkpoint lives ("s3://bucket/prefix"). */
  checkpointStore?: string;
}

export type RollbackOutput = WeightMoveOutput | "timings" | "lambda-version";

/** The rollback action: load, roll back, publish outputs (with timings), return the job summary. */
export async function runRollback(
  inputs: RollbackInputs,
  env: TrafficActionEnvironment<RollbackOutput>,
): Promise<ActionReport> {
  const journal = new OperationJournal(env.log);
  const title = `rollback: ${inputs.migration}`;
  try {
    const specPath = resolve(env.run.workspace, inputs.spec);
    // Acting comes first: the files are checked for the fields a rollback uses
    // now, and validated in full once traffic has moved.
    const context = await loadRollbackContext(specPath, inputs, env, journal);
    // Announced while the rollback runs, never before it: a slow sink must not delay restoring traffic.
    const announcer = env.announcerFor?.(context.migration);
    const eventContext = {
      migration: context.migration.id,
      phase: context.status.phase,
      time: env.now(),
      ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
    };
    const rollbackKey = `rollback to ${inputs.targetPhase ?? "the last checkpoint"}`;
    const started = announcer?.announce(
      rollbackStartedEvent(eventContext, {
        origin: "workflow",
        reason: inputs.reason,
        weights: context.status.weights,
        key: rollbackKey,
      }),
    );
    let stored = env.checkpointStore
      ? await env.checkpointStore.read(inputs.migration).catch((error: unknown) => {
          journal.log.warn("could not read the AWS-side checkpoint; rolling back from git", {
            error: (error as Error).message,
          });
          return undefined;
        })
      : undefined;
    const providers = createTrafficProviders(context.migration, env.clients, (operation, attempt, delayMs) =>
      env.log.warn("throttled, retrying", { operation, attempt, delay_ms: delayMs }),
    );
    const move = await rollback(
      {
        migration: context.migration,
        status: context.status,
        reason: inputs.reason,
        targetPhase: inputs.targetPhase,
        insyncTimeoutSeconds: inputs.insyncTimeoutSeconds,
        stableTimeoutSeconds: inputs.stableTimeoutSeconds,
        fallbackDesiredCount: inputs.fallbackDesiredCount,
        requestedBy: `rollback run ${env.run.correlationId}`,
        now: env.now,
        onSubmitted: publishSubmitted(env.setOutput),
        ...(env.checkpointStore
          ? {
              // The intent is bookkeeping: a rollback goes ahead whether or not it could be written.
              beforeSubmit: async (weights) => {
                try {
                  stored = await writeIntentBeforeChange(
                    {
                      store: env.checkpointStore!,
                      stored,
                      migration: context.migration,
                      // What a rollback replaces is what went wrong: never a checkpoint to restore.
                      status: { ...context.status, state: "rolling-back", weights },
                      writer: `rollback run ${env.run.correlationId}`,
                      action: "rollback",
                      detail: `rollback to ${inputs.targetPhase ?? "the last checkpoint"}`,
                      now: env.now(),
                    },
                    journal,
                  );
                } catch (error) {
                  journal.log.warn("could not write the AWS-side intent; rolling back anyway", {
                    error: (error as Error).message,
                  });
                }
              },
            }
          : {}),
      },
      providers,
      journal,
    );
    publishMove(move, env.setOutput);
    env.setOutput("timings", timingsOf(move, journal));
    if (env.checkpointStore) {
      await writeCheckpointAfterRollback(
        {
          store: env.checkpointStore,
          stored,
          migration: context.migration,
          // The state the rollback left is never a checkpoint to restore: the guardian must not bring it back.
          status: { ...context.status, state: "rolled-back", weights: move.weights },
          writer: `rollback run ${env.run.correlationId}`,
          now: env.now(),
          ...(move.change ? { appliedAt: move.change.submittedAt } : {}),
        },
        journal,
      );
    }
    // The version the rollback left the alias on, so the recorded status knows what the new side serves.
    env.setOutput(
      "lambda-version",
      context.migration.newSide.kind === "lambda" ? (move.restored.lambdaVersion ?? "") : "",
    );
    const problems = await journal.step("validate spec and status", () =>
      validateMigrationFiles(specPath, inputs.migration),
    );
    for (const problem of problems) {
      journal.found.push(`Found after rolling back: ${problem}`);
      env.log.warn("the spec or status is not valid", { problem });
    }
    const completed = announcer?.announce(
      rollbackCompletedEvent(
        { ...eventContext, time: env.now() },
        {
          origin: "workflow",
          reason: inputs.reason,
          previousWeights: move.previousWeights,
          weights: move.weights,
          key: rollbackKey,
          ...(move.change ? { changeId: move.change.id } : {}),
          outcome: move.noOp ? "already in place" : "restored",
        },
      ),
    );
    const deliveries = [...((await started) ?? []), ...((await completed) ?? [])];
    return withDeliveries(
      moveReport({
        title,
        move,
        journal,
        headline: `Rolled back (${inputs.reason}): ${moveHeadline(move)}`,
        next: rollbackNextSteps(inputs.migration, context.statusPath, move),
      }),
      deliveries,
    );
  } catch (error) {
    env.setOutput("timings", { steps: journal.steps });
    throw refusalOf(`${title} did not complete`, error, journal, [nextStepAfterFailure(journal, "rollback")]);
  }
}

/** The `timings` output: every step, and the two figures a rollback is judged by. */
export function timingsOf(move: WeightMove, journal: OperationJournal) {
  return {
    changeSubmittedMs: move.submittedAtMs ?? null,
    insyncMs: move.insyncAtMs ?? null,
    steps: journal.steps,
  };
}

function rollbackNextSteps(migrationId: string, statusPath: string, move: WeightMove): string[] {
  const steps = [
    `Commit ${statusPath}: state rolled-back, weights ${formatWeights(move.weights)}, with the reason and this run in the history.`,
    `Open a pull request that brings ${migrationId}'s phase in migrations.json back in line with what is applied.`,
  ];
  if (!move.noOp)
    steps.push(`Metrics from ${move.gateWindowStart.toISOString()} on reflect the restored weights.`);
  return steps;
}

/**
 * Loads the spec and status for a rollback. An all-old rollback is never
 * blocked by bookkeeping: when the status (or the spec) cannot be read, it
 * takes what it needs from the AWS-side checkpoint, or from the spec alone,
 * reads the true weights from AWS, goes ahead, and says what it could not read.
 */
async function loadRollbackContext(
  specPath: string,
  inputs: RollbackInputs,
  env: TrafficActionEnvironment<RollbackOutput>,
  journal: OperationJournal,
): Promise<MigrationContext> {
  try {
    return await journal.step("load spec and status", () =>
      loadMigrationContext(specPath, inputs.migration, env.now(), { quick: true }),
    );
  } catch (error) {
    if (inputs.targetPhase !== ALL_OLD) throw error;
    const problem = (error as Error).message;
    journal.found.push(
      `Could not read the spec and status (${problem}); an all-old rollback goes ahead on what AWS holds.`,
    );
    journal.log.warn("rolling back to all-old without a readable status", { problem });
    const stored = env.checkpointStore
      ? await env.checkpointStore.read(inputs.migration).catch(() => undefined)
      : undefined;
    const statusPath = statusPathOf(dirname(specPath), inputs.migration);
    if (stored) {
      journal.found.push(
        `Using the AWS-side checkpoint ${env.checkpointStore!.checkpointLabel(inputs.migration)} (sequence ${stored.document.sequence}).`,
      );
      return {
        specPath,
        migration: stored.document.spec,
        statusPath,
        statusExists: false,
        status: statusOfDocument(stored.document, env.now()),
      };
    }
    const migration = await journal.step("load spec alone", () =>
      readMigrationLeniently(specPath, inputs.migration),
    );
    return {
      specPath,
      migration,
      statusPath,
      statusExists: false,
      status: unreadableStatus(inputs.migration, env.now()),
    };
  }
}
