/**
 * The preconditions of decommissioning the old side, as pure functions of
 * what was observed and the time. Each check returns its verdict with the
 * figures that decided it, so a refusal can say exactly which precondition
 * failed and by how much.
 */

import { durationSeconds, formatDuration } from "../model/duration.js";
import type { DecommissionStep, Migration, StepSpec } from "../model/spec.js";
import type { HistoryEntry, MigrationStatus, Weights } from "../model/status.js";

/** The two stages of decommissioning: scale to zero (recoverable), then delete (final). */
export type DecommissionStage = "scale-down" | "delete";

export const DECOMMISSION_STAGES: readonly DecommissionStage[] = ["scale-down", "delete"];

/** Quiet window used when the decommission step does not name one. */
export const DEFAULT_QUIET_WINDOW = "1h";

/** One precondition and whether it holds, with its figures in `detail`. */
export interface PreconditionResult {
  /** Short stable name: "old-weight-zero", "no-traffic", "hold-elapsed", "no-rollback-since-hold", "scaled-down". */
  name: string;
  ok: boolean;
  /** A sentence with the figures, whether it holds or not. */
  detail: string;
}

/** "1,234": thousands separated, whatever the machine's locale. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** The decommission step of a migration (its last phase), or a clear error naming where it should be. */
export function decommissionStepOf(migration: Migration): { phase: string; step: DecommissionStep } {
  for (const phase of migration.phases) {
    const step = phase.steps.find(
      (candidate: StepSpec): candidate is DecommissionStep => candidate.kind === "decommission",
    );
    if (step) return { phase: phase.name, step };
  }
  throw new Error(
    `migration "${migration.id}" has no decommission step: add {"kind": "decommission", "hold": "48h"} to its last phase`,
  );
}

/** The settings of a decommission step, parsed into seconds. */
export interface DecommissionSettings {
  phase: string;
  holdSeconds: number;
  /** The hold as the spec writes it ("48h"), for messages. */
  hold: string;
  quietWindowSeconds: number;
  deregisterTaskDefinitions: boolean;
}

/** Parses the decommission step; durations are validated with the spec, so a bad one here is a plain error. */
export function decommissionSettings(migration: Migration): DecommissionSettings {
  const { phase, step } = decommissionStepOf(migration);
  return {
    phase,
    holdSeconds: durationSeconds(step.hold),
    hold: step.hold,
    quietWindowSeconds: durationSeconds(step.quietWindow ?? DEFAULT_QUIET_WINDOW),
    deregisterTaskDefinitions: step.deregisterTaskDefinitions ?? false,
  };
}

/** The old side must receive no share of traffic from the router. */
export function checkOldWeightZero(weights: Weights, recordLabel?: string): PreconditionResult {
  const records = recordLabel ? ` (${recordLabel})` : "";
  if (weights.old === 0) {
    return { name: "old-weight-zero", ok: true, detail: `old side weight is 0 %${records}` };
  }
  return {
    name: "old-weight-zero",
    ok: false,
    detail: `old side weight is ${formatPercent(weights.old)} %, must be 0${records}; shift all traffic to the new side first`,
  };
}

function formatPercent(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Requests the old side served over a window, as read from its metrics. */
export interface TrafficEvidence {
  /** Sum of the request count over the window. */
  requests: number;
  /** Datapoints returned for the window (explicit zeros count). */
  datapoints: number;
  windowStart: Date;
  windowEnd: Date;
  /** Where the figure comes from: "AWS/ApplicationELB RequestCount Sum of ALB … target group …". */
  source: string;
  /**
   * Whether the metric had any datapoint in the lookback before the window.
   * Load balancers publish nothing while no requests arrive, so an empty
   * window only proves quiet when the metric is known to exist.
   */
  seenBefore?: { datapoints: number; lookbackSeconds: number };
}

function windowText(evidence: TrafficEvidence): string {
  const seconds = Math.round((evidence.windowEnd.getTime() - evidence.windowStart.getTime()) / 1000);
  return `in the last ${formatDuration(seconds)} (${evidence.windowStart.toISOString()} to ${evidence.windowEnd.toISOString()})`;
}

/** The old side must have served no requests over the window, with data to prove it. */
export function checkNoTraffic(evidence: TrafficEvidence): PreconditionResult {
  const where = windowText(evidence);
  if (evidence.requests > 0) {
    return {
      name: "no-traffic",
      ok: false,
      detail: `old side served ${formatCount(evidence.requests)} requests ${where}, must be 0 (${evidence.source})`,
    };
  }
  if (evidence.datapoints > 0) {
    return {
      name: "no-traffic",
      ok: true,
      detail: `old side served 0 requests ${where} (${evidence.datapoints} datapoints, all zero; ${evidence.source})`,
    };
  }
  const before = evidence.seenBefore;
  if (before && before.datapoints > 0) {
    return {
      name: "no-traffic",
      ok: true,
      detail:
        `old side served 0 requests ${where}: no datapoints in the window, and the metric had ` +
        `${before.datapoints} datapoints in the ${formatDuration(before.lookbackSeconds)} before it (${evidence.source})`,
    };
  }
  return {
    name: "no-traffic",
    ok: false,
    detail:
      `no request data for the old side ${where}` +
      (before ? ` nor in the ${formatDuration(before.lookbackSeconds)} before it` : "") +
      `: a quiet side cannot be told from telemetry that points elsewhere; check oldSide.telemetry (${evidence.source})`,
  };
}

/** When the hold started, from the status or an input, and where that came from. */
export interface HoldStart {
  at: Date;
  source: string;
}

/**
 * The hold start to judge by. The status is the record; an input is for the
 * first run, before the status was committed. When both are given the later
 * one counts, so a mistaken input can only lengthen the hold.
 */
export function resolveHoldStart(status: MigrationStatus, input: Date | undefined): HoldStart | undefined {
  const recorded = status.decommission?.holdStartedAt
    ? new Date(status.decommission.holdStartedAt)
    : undefined;
  const fromStatus = recorded && !Number.isNaN(recorded.getTime()) ? recorded : undefined;
  if (fromStatus && input) {
    return input.getTime() > fromStatus.getTime()
      ? { at: input, source: `input hold-started-at (later than the status's ${fromStatus.toISOString()})` }
      : { at: fromStatus, source: "status decommission.holdStartedAt" };
  }
  if (fromStatus) return { at: fromStatus, source: "status decommission.holdStartedAt" };
  if (input) return { at: input, source: "input hold-started-at" };
  return undefined;
}

/** The hold must have fully elapsed since it started. */
export function checkHoldElapsed(
  start: HoldStart | undefined,
  holdSeconds: number,
  now: Date,
  hold = formatDuration(holdSeconds),
): PreconditionResult {
  if (!start) {
    return {
      name: "hold-elapsed",
      ok: false,
      detail:
        "no hold start recorded (status decommission.holdStartedAt is absent): run stage scale-down first, " +
        "or give input hold-started-at with its hold-started-at output",
    };
  }
  const elapsedSeconds = Math.floor((now.getTime() - start.at.getTime()) / 1000);
  if (elapsedSeconds < 0) {
    return {
      name: "hold-elapsed",
      ok: false,
      detail: `hold started ${start.at.toISOString()} (${start.source}), which is in the future of ${now.toISOString()}`,
    };
  }
  const endsAt = new Date(start.at.getTime() + holdSeconds * 1000);
  if (elapsedSeconds < holdSeconds) {
    return {
      name: "hold-elapsed",
      ok: false,
      detail:
        `hold started ${start.at.toISOString()} (${start.source}); ${formatDuration(elapsedSeconds)} of ${hold} elapsed, ` +
        `${formatDuration(holdSeconds - elapsedSeconds)} left (until ${endsAt.toISOString()})`,
    };
  }
  return {
    name: "hold-elapsed",
    ok: true,
    detail: `hold started ${start.at.toISOString()} (${start.source}); ${formatDuration(elapsedSeconds) || "0s"} of ${hold} elapsed`,
  };
}

/** True for a history entry that records a rollback (its event, or the state it moved to). */
export function isRollbackEntry(entry: HistoryEntry): boolean {
  return (
    /rollback|roll-back|rolled-back/i.test(entry.event) ||
    entry.to === "rolling-back" ||
    entry.to === "rolled-back"
  );
}

/** No rollback may have been recorded since the hold started: a rollback put the old side back in use. */
export function checkNoRollbackSince(
  history: readonly HistoryEntry[],
  start: HoldStart | undefined,
): PreconditionResult {
  if (!start) {
    return { name: "no-rollback-since-hold", ok: false, detail: "no hold start to compare the history with" };
  }
  const since = history.filter(
    (entry) => isRollbackEntry(entry) && new Date(entry.at).getTime() >= start.at.getTime(),
  );
  const last = since[since.length - 1];
  if (!last) {
    return {
      name: "no-rollback-since-hold",
      ok: true,
      detail: `no rollback in the status history since the hold started ${start.at.toISOString()}`,
    };
  }
  return {
    name: "no-rollback-since-hold",
    ok: false,
    detail:
      `${since.length} rollback${since.length === 1 ? "" : "s"} recorded since the hold started ${start.at.toISOString()}, ` +
      `the last at ${last.at} (event ${last.event}${last.reason ? `: ${last.reason}` : ""}); ` +
      "the old side was needed again, so start over from stage scale-down",
  };
}

/** Delete only a service that stage scale-down left at zero; anything else means it is, or may be, in use. */
export function checkScaledDown(
  label: string,
  service: { status: string; desiredCount: number; runningCount: number } | undefined,
): PreconditionResult {
  if (!service)
    return { name: "scaled-down", ok: false, detail: `${label} does not exist (already deleted?)` };
  if (service.status !== "ACTIVE") {
    return {
      name: "scaled-down",
      ok: false,
      detail: `${label} is ${service.status}, not ACTIVE (already being deleted?)`,
    };
  }
  if (service.desiredCount !== 0 || service.runningCount !== 0) {
    return {
      name: "scaled-down",
      ok: false,
      detail:
        `${label} has desiredCount ${service.desiredCount} and runningCount ${service.runningCount}, must be 0 and 0; ` +
        "it was scaled back up (a rollback?): run stage scale-down again before deleting",
    };
  }
  return { name: "scaled-down", ok: true, detail: `${label} has desiredCount 0 and runningCount 0` };
}

/** The failed preconditions, joined into one refusal message; undefined when all hold. */
export function refusalOf(
  stage: DecommissionStage,
  results: readonly PreconditionResult[],
): string | undefined {
  const failed = results.filter((result) => !result.ok);
  if (failed.length === 0) return undefined;
  return `decommission ${stage} refused: ${failed.map((result) => result.detail).join("; ")}. Nothing was changed.`;
}

/** Something the infrastructure code still declares once the service is gone, and the change that removes it. */
export interface InfrastructureLeftover {
  resource: string;
  identifier: string;
  change: string;
}

/** The ECR repository an image lives in, or undefined when the image is not in ECR. */
export function ecrRepositoryOf(
  image: string | undefined,
): { registry: string; repository: string } | undefined {
  if (!image) return undefined;
  const match =
    /^(\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)\/([^:@]+)(?:[:@].*)?$/.exec(image);
  return match ? { registry: match[1]!, repository: match[2]! } : undefined;
}

/** The old side's entry in the router, which the infrastructure code still declares. */
function routerLeftover(router: Migration["router"]): InfrastructureLeftover {
  if (router.kind === "alb") {
    return {
      resource: "ALB forward action target group (old side)",
      identifier: `${router.oldTargetGroupArn} in the forward action of ${router.ruleArn ?? router.listenerArn}`,
      change:
        `remove the old side's target group ${router.oldTargetGroupArn} (weight 0) from the forward action; ` +
        `keep ${router.newTargetGroupArn} with its weight unchanged`,
    };
  }
  return {
    resource: "Route 53 weighted record (old side)",
    identifier: `${router.recordName} ${router.recordType} SetIdentifier "${router.oldSetIdentifier}" in zone ${router.hostedZoneId}`,
    change:
      `delete the old side's weighted record "${router.oldSetIdentifier}" (weight 0) from the record pair; ` +
      `keep "${router.newSetIdentifier}" as a weighted record with its weight unchanged, so it is updated in place rather than replaced`,
  };
}

/**
 * What stays declared in the infrastructure code after the old service is
 * deleted: the old weighted record, the load balancer and target group in
 * front of the service, the image repository, and the old side's metrics in
 * alarms and dashboards. Each with the exact change to make.
 */
export function infrastructureLeftovers(
  migration: Migration,
  image: string | undefined,
): InfrastructureLeftover[] {
  const { router, oldSide, newSide } = migration;
  const leftovers: InfrastructureLeftover[] = [routerLeftover(router)];
  if (oldSide.telemetry.kind === "alb") {
    leftovers.push(
      {
        resource: "Application Load Balancer",
        identifier: oldSide.telemetry.loadBalancer,
        change:
          `delete the load balancer ${oldSide.telemetry.loadBalancer} with its listeners, and the lookup of it that the ` +
          `old record's alias target reads (it must go in the same change as the record, or the plan fails)`,
      },
      {
        resource: "Target group",
        identifier: oldSide.telemetry.targetGroup,
        change: `delete the target group ${oldSide.telemetry.targetGroup}; no service registers targets in it any more`,
      },
      {
        resource: "Alarms and dashboard widgets of the old side",
        identifier: `AWS/ApplicationELB LoadBalancer=${oldSide.telemetry.loadBalancer}`,
        change: `drop the old side's metrics from ${migration.id}'s dashboard and alarms; they would read no data from now on`,
      },
    );
  }
  const ecr = ecrRepositoryOf(image);
  leftovers.push(
    ecr
      ? {
          resource: "ECR repository",
          identifier: `${ecr.registry}/${ecr.repository}`,
          change:
            `delete the repository ${ecr.repository} (and its lifecycle policy) once no other service pulls from it; ` +
            `its last image was ${image}`,
        }
      : {
          resource: "Container image",
          identifier: image ?? "unknown",
          change: "the image is not in an ECR repository of this account; nothing to remove there",
        },
  );
  if (newSide.kind === "lambda") {
    leftovers.push({
      resource: "ECS service deploy permissions",
      identifier: oldSide.kind === "ecs" ? `${oldSide.cluster}/${oldSide.service}` : oldSide.kind,
      change:
        "remove the old service from the deploy role's ECS statements (UpdateService, DeleteService, task definitions)",
    });
  }
  return leftovers;
}
