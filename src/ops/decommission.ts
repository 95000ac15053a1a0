/**
 * decommission: retires the old side in two stages. `scale-down` takes it to
 * zero tasks (an ECS service) or holds it at reserved concurrency 0 (a Lambda
 * function) once it has no weight and no traffic, and starts the hold during
 * which a rollback can still bring it back at once. `delete` removes the
 * service or the function once the hold has elapsed with no rollback and
 * still no traffic, and lists what the infrastructure code must remove after it.
 */
import { resolve } from "node:path";
import {
  DeleteServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  paginateListTaskDefinitions,
  waitUntilServicesInactive,
} from "@aws-sdk/client-ecs";
import { DeleteFunctionCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { AwsClients } from "../action/aws.js";
import type { RunContext } from "../action/run-context.js";
import type { ActionReport } from "../action/summary.js";
import {
  checkHoldElapsed,
  checkNoRollbackSince,
  checkNoTraffic,
  checkOldWeightZero,
  checkScaledDown,
  type DecommissionSettings,
  type DecommissionStage,
  decommissionSettings,
  type InfrastructureLeftover,
  infrastructureLeftovers,
  type PreconditionResult,
  refusalOf as preconditionRefusal,
  resolveHoldStart,
  type TrafficEvidence,
} from "../core/decommission.js";
import { requestCountStat } from "../core/gate/presets.js";
import { seriesSum } from "../core/gate/queries.js";
import { formatDuration } from "../model/duration.js";
import type { EcsTargetSpec, LambdaTargetSpec, Migration, TargetSpec } from "../model/spec.js";
import type { Checkpoint, DecommissionStatus, MigrationStatus, Weights } from "../model/status.js";
import type { AnnouncerFor } from "../notify/action.js";
import { decommissionEvent } from "../notify/event-builders.js";
import { withDeliveries } from "../notify/report.js";
import { type EcsServiceState, EcsTarget, shortTaskDefinition } from "../providers/ecs-target.js";
import { type LambdaAliasState, LambdaTarget } from "../providers/lambda-target.js";
import { createMetricsSource, type MetricsSource } from "../providers/metrics-source.js";
import { retryThrottled } from "../providers/throttling.js";
import { type RouterReading, readingWeights, type TrafficRouter } from "../providers/traffic-router.js";
import { createTrafficRouter, type RouterClients } from "../providers/traffic-routers.js";
import { OperationJournal, type OperationLog, OperationRefusal } from "./journal.js";
import { loadMigrationContext } from "./migration-context.js";
import { type OutputSetter, refusalOf } from "./traffic-report.js";

/** How far before the quiet window to look for proof that the request metric exists at all. */
export const METRIC_LOOKBACK_SECONDS = 14 * 86_400;

/** Pages of ListTaskDefinitions read for one family (100 revisions a page). */
const MAX_TASK_DEFINITION_PAGES = 20;

/** The providers decommissioning works with. */
export interface DecommissionProviders {
  router: TrafficRouter;
  oldSide: EcsTarget;
  ecs: ECSClient;
  metrics: MetricsSource;
}

/**
 * Counts the requests a side served over the last `windowSeconds`, from its
 * telemetry's request count. When the window has no datapoints at all, looks
 * back further for proof the metric exists, because load balancers publish
 * nothing while no requests arrive.
 */
export async function countSideRequests(
  metrics: MetricsSource,
  side: TargetSpec,
  windowSeconds: number,
  now: Date,
  lookbackSeconds = METRIC_LOOKBACK_SECONDS,
): Promise<TrafficEvidence> {
  const stat = requestCountStat(side);
  const source = `${stat.namespace} ${stat.metricName} ${stat.stat} of ${Object.entries(stat.dimensions)
    .map(([name, value]) => `${name}=${value}`)
    .join(", ")}`;
  const windowStart = new Date(now.getTime() - windowSeconds * 1000);
  // Short windows need high-resolution periods; anything a minute or longer reads whole minutes.
  const period = windowSeconds >= 60 ? 60 : 1;
  const query = (id: string, periodSeconds: number) => ({
    kind: "stat" as const,
    id,
    ...stat,
    period: periodSeconds,
    returnData: true,
  });
  const inWindow = await metrics.fetch({
    start: windowStart,
    end: now,
    queries: [query("requests", period)],
  });
  const series = inWindow.series.get("requests");
  const evidence: TrafficEvidence = {
    requests: seriesSum(series),
    datapoints: series?.values.length ?? 0,
    windowStart,
    windowEnd: now,
    source,
  };
  if (evidence.datapoints > 0) return evidence;
  const before = await metrics.fetch({
    start: new Date(windowStart.getTime() - lookbackSeconds * 1000),
    end: windowStart,
    queries: [query("history", 3600)],
  });
  return {
    ...evidence,
    seenBefore: { datapoints: before.series.get("history")?.values.length ?? 0, lookbackSeconds },
  };
}

/** What both stages observe before deciding. */
interface OldSideObservation {
  reading: RouterReading;
  weights: Weights;
  service: EcsServiceState | undefined;
  traffic: TrafficEvidence;
}

async function observeOldSide(
  providers: DecommissionProviders,
  migration: Migration,
  windowSeconds: number,
  now: Date,
  journal: OperationJournal,
): Promise<OldSideObservation> {
  const observed = await journal.step(
    "read weights, service and traffic",
    async () => {
      const [reading, service, traffic] = await Promise.all([
        providers.router.read(),
        providers.oldSide.describeService(),
        countSideRequests(providers.metrics, migration.oldSide, windowSeconds, now),
      ]);
      const weights = providers.router.effectiveWeights(readingWeights(reading));
      return { reading, weights, service, traffic };
    },
    (result) =>
      `old side ${result.weights.old} %, ${result.traffic.requests} requests in ${formatDuration(windowSeconds)}, ` +
      `${result.service ? `desiredCount ${result.service.desiredCount}` : "service missing"}`,
  );
  journal.found.push(
    `${providers.router.label}: old side ${observed.reading.sides.old.title} weight ${observed.reading.sides.old.weight}, ` +
      `new side ${observed.reading.sides.new.title} weight ${observed.reading.sides.new.weight} ` +
      `(old ${observed.weights.old} % / new ${observed.weights.new} %).`,
    observed.service
      ? `${providers.oldSide.label}: ${observed.service.status}, desiredCount ${observed.service.desiredCount}, ` +
          `runningCount ${observed.service.runningCount}, task definition ${shortTaskDefinition(observed.service.taskDefinition)}.`
      : `${providers.oldSide.label} does not exist.`,
  );
  return observed;
}

function routerLabel(reading: RouterReading): string {
  const { old, new: fresh } = reading.sides;
  return `${old.title} weight ${old.weight}, "${fresh.name}" weight ${fresh.weight}`;
}

/** Throws the refusal naming every failed precondition, with its figures; records every result either way. */
function enforce(stage: DecommissionStage, results: PreconditionResult[], journal: OperationJournal): void {
  for (const result of results) journal.found.push(`${result.ok ? "Holds" : "FAILS"}: ${result.detail}.`);
  const message = preconditionRefusal(stage, results);
  if (message) throw new DecommissionRefusal(message, results);
}

/** A precondition of decommissioning does not hold; nothing was changed. */
export class DecommissionRefusal extends OperationRefusal {
  constructor(
    message: string,
    readonly preconditions: PreconditionResult[],
  ) {
    super(message);
    this.name = "DecommissionRefusal";
  }
}

export interface DecommissionRequest {
  migration: Migration;
  status: MigrationStatus;
  settings: DecommissionSettings;
  /** Hold start given as an input, for the first delete before the status was committed. */
  holdStartedAt?: Date;
  /** Deregister the family's task definitions after deleting; the spec's setting unless given. */
  deregisterTaskDefinitions?: boolean;
  stableTimeoutSeconds: number;
  now: () => Date;
  /** Told the checkpoint before anything changes, so it survives a failed wait. */
  onCheckpoint?: (checkpoint: Checkpoint) => void;
}

/** What stage scale-down did. */
export interface ScaleDownResult {
  noOp: boolean;
  checkpoint: Checkpoint;
  desiredCountBefore?: number;
  holdStartedAt: Date;
  holdEndsAt: Date;
  decommission?: DecommissionStatus;
  preconditions: PreconditionResult[];
  traffic: TrafficEvidence;
  /** A Lambda old side: what was held, "reserved concurrency 10 → 0" or "no reservation → 0". */
  held?: string;
}

/** The count to restore on rollback when the service is already at zero: what the status recorded last. */
function recordedDesiredCount(status: MigrationStatus): number | undefined {
  if (status.decommission?.desiredCountBefore) return status.decommission.desiredCountBefore;
  for (const checkpoint of [...status.checkpoints].reverse()) {
    if (checkpoint.ecsDesiredCount && checkpoint.ecsDesiredCount > 0) return checkpoint.ecsDesiredCount;
  }
  return undefined;
}

/** Stage one: refuse unless the old side has no weight and no traffic; then scale it to zero and start the hold. */
export async function scaleDown(
  request: DecommissionRequest,
  providers: DecommissionProviders,
  journal: OperationJournal,
): Promise<ScaleDownResult> {
  const { settings, status } = request;
  const observed = await observeOldSide(
    providers,
    request.migration,
    settings.quietWindowSeconds,
    request.now(),
    journal,
  );
  const service = observed.service;
  const exists: PreconditionResult = service
    ? {
        name: "service-active",
        ok: service.status === "ACTIVE",
        detail: `${providers.oldSide.label} is ${service.status}`,
      }
    : { name: "service-active", ok: false, detail: `${providers.oldSide.label} does not exist` };
  const preconditions = [
    checkOldWeightZero(observed.weights, routerLabel(observed.reading)),
    checkNoTraffic(observed.traffic),
    exists,
  ];
  enforce("scale-down", preconditions, journal);
  const state = service!;
  const desiredCountBefore = state.desiredCount > 0 ? state.desiredCount : recordedDesiredCount(status);
  const checkpoint: Checkpoint = {
    phase: status.phase,
    takenAt: request.now().toISOString(),
    weights: observed.weights,
    router: observed.reading.snapshot,
    ...(state.taskDefinition ? { ecsTaskDefinition: state.taskDefinition } : {}),
    ...(desiredCountBefore ? { ecsDesiredCount: desiredCountBefore } : {}),
  };
  request.onCheckpoint?.(checkpoint);
  const alreadyDown = state.desiredCount === 0 && state.runningCount === 0;
  if (alreadyDown) {
    journal.done.push(
      `Nothing to scale: ${providers.oldSide.label} already has desiredCount 0 and runningCount 0.`,
    );
    if (!desiredCountBefore) {
      journal.found.push(
        "No desired count to restore is recorded (status decommission.desiredCountBefore or a checkpoint's ecsDesiredCount): " +
          "a rollback will need its fallback-desired-count input.",
      );
    }
  } else {
    await journal.step(
      "scale to zero",
      () => providers.oldSide.setDesiredCount(0),
      () => `${providers.oldSide.label} desiredCount ${state.desiredCount} → 0`,
    );
    const stable = await journal.step(
      "wait stable",
      () => providers.oldSide.waitStable(request.stableTimeoutSeconds),
      (after) =>
        `${providers.oldSide.label} runningCount ${after.runningCount}, desiredCount ${after.desiredCount}`,
    );
    journal.done.push(
      `Scaled ${providers.oldSide.label} from desiredCount ${state.desiredCount} to 0; stable with runningCount ${stable.runningCount}.`,
    );
  }
  const { holdStartedAt, holdEndsAt } = startHold(
    status,
    alreadyDown,
    settings.holdSeconds,
    request.now(),
    journal,
  );
  return {
    noOp: alreadyDown,
    checkpoint,
    desiredCountBefore,
    holdStartedAt,
    holdEndsAt,
    decommission: desiredCountBefore
      ? { stage: "scaled-down", holdStartedAt: holdStartedAt.toISOString(), desiredCountBefore }
      : undefined,
    preconditions,
    traffic: observed.traffic,
  };
}

/** What stage delete did. */
export interface DeleteResult {
  noOp: boolean;
  deletedAt: Date;
  deregistered: string[];
  leftovers: InfrastructureLeftover[];
  decommission: DecommissionStatus;
  preconditions: PreconditionResult[];
  traffic?: TrafficEvidence;
}

async function serviceImage(
  ecs: ECSClient,
  taskDefinition: string | undefined,
): Promise<{ family?: string; image?: string }> {
  if (!taskDefinition) return {};
  const output = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  const definition = output.taskDefinition;
  const containers = definition?.containerDefinitions ?? [];
  const main = containers.find((container) => container.essential !== false) ?? containers[0];
  return { family: definition?.family, image: main?.image };
}

/** ACTIVE revisions of exactly this family (the API matches a prefix). */
async function activeRevisions(ecs: ECSClient, family: string): Promise<string[]> {
  const arns: string[] = [];
  let pages = 0;
  for await (const page of paginateListTaskDefinitions(
    { client: ecs },
    { familyPrefix: family, status: "ACTIVE" },
  )) {
    for (const arn of page.taskDefinitionArns ?? []) {
      if (shortTaskDefinition(arn).replace(/:\d+$/, "") === family) arns.push(arn);
    }
    if (++pages >= MAX_TASK_DEFINITION_PAGES) break;
  }
  return arns;
}

async function deregisterFamily(
  ecs: ECSClient,
  family: string,
  journal: OperationJournal,
): Promise<string[]> {
  const arns = await activeRevisions(ecs, family);
  for (const arn of arns) {
    // One call per revision: a family with many revisions meets ECS's rate limit.
    await retryThrottled(() => ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })));
  }
  journal.done.push(
    arns.length > 0
      ? `Deregistered ${arns.length} task definition revision${arns.length === 1 ? "" : "s"} of ${family}: ${arns.map(shortTaskDefinition).join(", ")}.`
      : `No ACTIVE task definition of ${family} was left to deregister.`,
  );
  return arns;
}

/**
 * Stage two: refuse unless the hold elapsed with no rollback since it started,
 * the old side still has no weight and no traffic, and it is still at zero;
 * then delete the service and, optionally, deregister its task definitions.
 */
export async function deleteOldSide(
  request: DecommissionRequest,
  providers: DecommissionProviders,
  journal: OperationJournal,
): Promise<DeleteResult> {
  const { settings, status } = request;
  const now = request.now();
  const holdStart = resolveHoldStart(status, request.holdStartedAt);
  // Still no traffic: over the quiet window, or since the hold started if that is longer.
  const sinceHold = holdStart ? Math.floor((now.getTime() - holdStart.at.getTime()) / 1000) : 0;
  const windowSeconds = Math.max(settings.quietWindowSeconds, sinceHold);
  const observed = await observeOldSide(providers, request.migration, windowSeconds, now, journal);
  const service = observed.service;
  const gone = service?.status !== "ACTIVE";
  const preconditions = [
    checkHoldElapsed(holdStart, settings.holdSeconds, now, settings.hold),
    checkNoRollbackSince(status.history, holdStart),
    checkOldWeightZero(observed.weights, routerLabel(observed.reading)),
    checkNoTraffic(observed.traffic),
    ...(gone ? [] : [checkScaledDown(providers.oldSide.label, service)]),
  ];
  enforce("delete", preconditions, journal);
  const { family, image } = await journal.step("read task definition", () =>
    serviceImage(providers.ecs, service?.taskDefinition ?? status.checkpoints.at(-1)?.ecsTaskDefinition),
  );
  if (gone) {
    journal.done.push(
      `Nothing to delete: ${providers.oldSide.label} is ${service ? service.status : "already gone"} (deleted before; record it).`,
    );
  } else {
    await journal.step(
      "delete service",
      () =>
        providers.ecs.send(
          // Force is never needed: the service is at zero, and refusing otherwise is the point.
          new DeleteServiceCommand({
            cluster: providers.oldSide.spec.cluster,
            service: providers.oldSide.spec.service,
            force: false,
          }),
        ),
      () => `${providers.oldSide.label} deleted`,
    );
    await journal.step("wait inactive", () =>
      waitUntilServicesInactive(
        { client: providers.ecs, maxWaitTime: request.stableTimeoutSeconds, minDelay: 1, maxDelay: 10 },
        { cluster: providers.oldSide.spec.cluster, services: [providers.oldSide.spec.service] },
      ),
    );
    journal.done.push(`Deleted ${providers.oldSide.label} (it was at zero tasks; no force).`);
  }
  const deregister = request.deregisterTaskDefinitions ?? settings.deregisterTaskDefinitions;
  const deregistered =
    deregister && family
      ? await journal.step("deregister task definitions", () =>
          deregisterFamily(providers.ecs, family, journal),
        )
      : [];
  const deletedAt = request.now();
  return {
    noOp: gone,
    deletedAt,
    deregistered,
    leftovers: infrastructureLeftovers(request.migration, image),
    decommission: {
      stage: "deleted",
      holdStartedAt: (holdStart?.at ?? deletedAt).toISOString(),
      desiredCountBefore: status.decommission?.desiredCountBefore ?? 0,
      deletedAt: deletedAt.toISOString(),
    },
    preconditions,
    traffic: observed.traffic,
  };
}

// ---------------------------------------------------------------------------
// A Lambda old side: held at reserved concurrency 0, then the function deleted

/** The providers decommissioning a Lambda old side works with. */
export interface LambdaDecommissionProviders {
  router: TrafficRouter;
  oldSide: LambdaTarget;
  lambda: LambdaClient;
  metrics: MetricsSource;
}

/** What both Lambda stages observe before deciding. */
interface LambdaObservation {
  reading: RouterReading;
  weights: Weights;
  alias: LambdaAliasState;
  traffic: TrafficEvidence;
}

function reservationText(value: number | undefined): string {
  return value === undefined ? "no reservation" : `reserved concurrency ${value}`;
}

async function observeLambdaOldSide(
  providers: LambdaDecommissionProviders,
  migration: Migration,
  windowSeconds: number,
  now: Date,
  journal: OperationJournal,
): Promise<LambdaObservation> {
  const observed = await journal.step(
    "read weights, function and traffic",
    async () => {
      const [reading, alias, traffic] = await Promise.all([
        providers.router.read(),
        providers.oldSide.describeAlias(),
        countSideRequests(providers.metrics, migration.oldSide, windowSeconds, now),
      ]);
      return { reading, weights: providers.router.effectiveWeights(readingWeights(reading)), alias, traffic };
    },
    (result) =>
      `old side ${result.weights.old} %, ${result.traffic.requests} requests in ${formatDuration(windowSeconds)}, ` +
      `${result.alias.aliasVersion === undefined ? "alias missing" : reservationText(result.alias.reservedConcurrency)}`,
  );
  journal.found.push(
    `${providers.router.label}: old side ${observed.reading.sides.old.title} weight ${observed.reading.sides.old.weight}, ` +
      `new side ${observed.reading.sides.new.title} weight ${observed.reading.sides.new.weight} ` +
      `(old ${observed.weights.old} % / new ${observed.weights.new} %).`,
    observed.alias.aliasVersion === undefined
      ? `${providers.oldSide.label} does not exist.`
      : `${providers.oldSide.label}: version ${observed.alias.aliasVersion}, State ${observed.alias.state ?? "unknown"}, ` +
          `${reservationText(observed.alias.reservedConcurrency)}.`,
  );
  return observed;
}

/** The reservation to bring back when the function is already at 0: what the status recorded; null for none. */
function recordedReservation(status: MigrationStatus): number | null | undefined {
  const recorded = status.decommission?.reservedConcurrencyBefore;
  if (recorded !== undefined) return recorded;
  return status.checkpoints.findLast((checkpoint) => checkpoint.lambdaReservedConcurrency !== undefined)
    ?.lambdaReservedConcurrency;
}

/**
 * Stage one for a Lambda old side: refuse unless it has no weight and no
 * traffic; then set its reserved concurrency to 0, so it serves nothing while
 * the function, its versions and its alias stay ready to come back at once.
 */
export async function holdLambdaOldSide(
  request: DecommissionRequest,
  providers: LambdaDecommissionProviders,
  journal: OperationJournal,
): Promise<ScaleDownResult> {
  const { settings, status } = request;
  const observed = await observeLambdaOldSide(
    providers,
    request.migration,
    settings.quietWindowSeconds,
    request.now(),
    journal,
  );
  const { alias } = observed;
  const exists: PreconditionResult = {
    name: "function-exists",
    ok: alias.aliasVersion !== undefined,
    detail:
      alias.aliasVersion !== undefined
        ? `${providers.oldSide.label} exists (version ${alias.aliasVersion})`
        : `${providers.oldSide.label} does not exist`,
  };
  const preconditions = [
    checkOldWeightZero(observed.weights, routerLabel(observed.reading)),
    checkNoTraffic(observed.traffic),
    exists,
  ];
  enforce("scale-down", preconditions, journal);
  const alreadyHeld = alias.reservedConcurrency === 0;
  // A re-run finds the function at 0: what it reserved before is what the first run recorded.
  const before = alreadyHeld ? (recordedReservation(status) ?? null) : (alias.reservedConcurrency ?? null);
  const checkpoint: Checkpoint = {
    phase: status.phase,
    takenAt: request.now().toISOString(),
    weights: observed.weights,
    router: observed.reading.snapshot,
    ...(alias.aliasVersion ? { lambdaVersion: alias.aliasVersion } : {}),
    ...(before !== null && before > 0 ? { lambdaReservedConcurrency: before } : {}),
  };
  request.onCheckpoint?.(checkpoint);
  const held = `${reservationText(before ?? undefined)} → reserved concurrency 0`;
  if (alreadyHeld) {
    journal.done.push(`Nothing to hold: ${providers.oldSide.label} already has reserved concurrency 0.`);
  } else {
    await journal.step(
      "hold at concurrency 0",
      () => providers.oldSide.setReservedConcurrency(0),
      () => `${providers.oldSide.label}: ${held}`,
    );
    journal.done.push(
      `Held ${providers.oldSide.label} at reserved concurrency 0 (was ${reservationText(before ?? undefined)}): every invocation is throttled.`,
    );
  }
  const { holdStartedAt, holdEndsAt } = startHold(
    status,
    alreadyHeld,
    settings.holdSeconds,
    request.now(),
    journal,
  );
  return {
    noOp: alreadyHeld,
    checkpoint,
    holdStartedAt,
    holdEndsAt,
    decommission: {
      stage: "scaled-down",
      holdStartedAt: holdStartedAt.toISOString(),
      // A function has no task count; what the hold replaced is its reservation.
      desiredCountBefore: 0,
      reservedConcurrencyBefore: before,
    },
    preconditions,
    traffic: observed.traffic,
    held,
  };
}

/** Delete only a function the hold left at reserved concurrency 0; anything else means it may serve again. */
export function checkHeldAtZero(label: string, alias: LambdaAliasState): PreconditionResult {
  if (alias.reservedConcurrency === 0)
    return { name: "held-at-zero", ok: true, detail: `${label} has reserved concurrency 0` };
  return {
    name: "held-at-zero",
    ok: false,
    detail:
      `${label} has ${reservationText(alias.reservedConcurrency)}, must be reserved concurrency 0; ` +
      "its hold was lifted (a rollback?): run stage scale-down again before deleting",
  };
}

/** What the infrastructure code still declares once the old function is gone. */
function lambdaLeftovers(migration: Migration, spec: LambdaTargetSpec): InfrastructureLeftover[] {
  const router = infrastructureLeftovers(migration, undefined).filter(
    (left) => left.resource !== "Container image" && left.resource !== "ECR repository",
  );
  return [
    ...router,
    {
      resource: "Lambda function",
      identifier: `${spec.functionName} (alias ${spec.alias})`,
      change: `remove the function ${spec.functionName}, its alias, reserved concurrency and permissions from the infrastructure code, or the next apply recreates it`,
    },
    {
      resource: "Log group",
      identifier: `/aws/lambda/${spec.functionName}`,
      change:
        "delete the function's log group once its retention is no longer needed; deleting the function keeps it",
    },
  ];
}

/**
 * Stage two for a Lambda old side: refuse unless the hold elapsed with no
 * rollback since it started, the old side still has no weight and no
 * traffic, and it is still held at 0; then delete the function (its
 * versions and aliases go with it).
 */
export async function deleteLambdaOldSide(
  request: DecommissionRequest,
  providers: LambdaDecommissionProviders,
  journal: OperationJournal,
): Promise<DeleteResult> {
  const { settings, status } = request;
  const now = request.now();
  const holdStart = resolveHoldStart(status, request.holdStartedAt);
  const sinceHold = holdStart ? Math.floor((now.getTime() - holdStart.at.getTime()) / 1000) : 0;
  const windowSeconds = Math.max(settings.quietWindowSeconds, sinceHold);
  const observed = await observeLambdaOldSide(providers, request.migration, windowSeconds, now, journal);
  const gone = observed.alias.aliasVersion === undefined;
  const preconditions = [
    checkHoldElapsed(holdStart, settings.holdSeconds, now, settings.hold),
    checkNoRollbackSince(status.history, holdStart),
    checkOldWeightZero(observed.weights, routerLabel(observed.reading)),
    checkNoTraffic(observed.traffic),
    ...(gone ? [] : [checkHeldAtZero(providers.oldSide.label, observed.alias)]),
  ];
  enforce("delete", preconditions, journal);
  const spec = providers.oldSide.spec;
  if (gone) {
    journal.done.push(
      `Nothing to delete: ${providers.oldSide.label} is already gone (deleted before; record it).`,
    );
  } else {
    await journal.step(
      "delete function",
      () =>
        retryThrottled(() =>
          providers.lambda.send(new DeleteFunctionCommand({ FunctionName: spec.functionName })),
        ),
      () => `Lambda ${spec.functionName} deleted with its versions and aliases`,
    );
    journal.done.push(
      `Deleted Lambda ${spec.functionName} with its versions and aliases (it was held at reserved concurrency 0).`,
    );
  }
  const deletedAt = request.now();
  return {
    noOp: gone,
    deletedAt,
    deregistered: [],
    leftovers: lambdaLeftovers(request.migration, spec),
    decommission: {
      stage: "deleted",
      holdStartedAt: (holdStart?.at ?? deletedAt).toISOString(),
      desiredCountBefore: 0,
      reservedConcurrencyBefore: status.decommission?.reservedConcurrencyBefore ?? null,
      deletedAt: deletedAt.toISOString(),
    },
    preconditions,
    traffic: observed.traffic,
  };
}

/** Creates the providers for a Lambda old side. */
export function createLambdaDecommissionProviders(
  migration: Migration,
  env: Pick<DecommissionEnvironment, "clients">,
): LambdaDecommissionProviders {
  if (migration.oldSide.kind !== "lambda") {
    throw new OperationRefusal(
      `oldSide.kind of ${migration.id} is "${migration.oldSide.kind}": this holds and deletes a Lambda function ("lambda")`,
    );
  }
  return {
    router: createTrafficRouter(migration.router, env.clients),
    oldSide: new LambdaTarget(migration.oldSide as LambdaTargetSpec, env.clients.lambda),
    lambda: env.clients.lambda,
    metrics: createMetricsSource("cloudwatch", env.clients),
  };
}

// ---------------------------------------------------------------------------
// The action

/** Outputs of the decommission action. */
export type DecommissionOutput =
  | "stage"
  | "no-op"
  | "checkpoint"
  | "desired-count-before"
  | "hold-started-at"
  | "hold-ends-at"
  | "deleted-at"
  | "deregistered-task-definitions"
  | "decommission"
  | "evidence";

/** The decommission action's inputs, parsed. */
export interface DecommissionInputs {
  migration: string;
  stage: DecommissionStage;
  spec: string;
  holdStartedAt?: Date;
  deregisterTaskDefinitions?: boolean;
  stableTimeoutSeconds: number;
}

/** What the action needs from the runner, injected so the operation can run anywhere. */
export interface DecommissionEnvironment {
  run: RunContext;
  log: OperationLog;
  setOutput: OutputSetter<DecommissionOutput>;
  clients: RouterClients & Pick<AwsClients, "ecs" | "cloudwatch" | "lambda">;
  now: () => Date;
  /** Polling while waiting for the service to become stable, in seconds. */
  stablePollSeconds?: { min: number; max: number };
  /** Announces each stage to the migration's notification sinks; a failed delivery never fails the step. */
  announcerFor?: AnnouncerFor;
}

/** Creates the providers from the clients; an old side that is not an ECS service cannot be decommissioned here. */
export function createDecommissionProviders(
  migration: Migration,
  env: Pick<DecommissionEnvironment, "clients" | "stablePollSeconds">,
): DecommissionProviders {
  if (migration.oldSide.kind !== "ecs") {
    throw new OperationRefusal(
      `oldSide.kind of ${migration.id} is "${migration.oldSide.kind}": decommission scales down and deletes an ECS service ("ecs")`,
    );
  }
  return {
    router: createTrafficRouter(migration.router, env.clients),
    oldSide: new EcsTarget(migration.oldSide as EcsTargetSpec, env.clients.ecs, {
      ...(env.stablePollSeconds ? { stablePollSeconds: env.stablePollSeconds } : {}),
    }),
    ecs: env.clients.ecs,
    metrics: createMetricsSource("cloudwatch", env.clients),
  };
}

/** The two stages for the old side's kind, with the providers they need. */
interface DecommissionStages {
  label: string;
  scaleDown(request: DecommissionRequest, journal: OperationJournal): Promise<ScaleDownResult>;
  delete(request: DecommissionRequest, journal: OperationJournal): Promise<DeleteResult>;
}

function decommissionStages(
  migration: Migration,
  env: Pick<DecommissionEnvironment, "clients" | "stablePollSeconds">,
): DecommissionStages {
  if (migration.oldSide.kind === "lambda") {
    const providers = createLambdaDecommissionProviders(migration, env);
    return {
      label: providers.oldSide.label,
      scaleDown: (request, journal) => holdLambdaOldSide(request, providers, journal),
      delete: (request, journal) => deleteLambdaOldSide(request, providers, journal),
    };
  }
  const providers = createDecommissionProviders(migration, env);
  return {
    label: providers.oldSide.label,
    scaleDown: (request, journal) => scaleDown(request, providers, journal),
    delete: (request, journal) => deleteOldSide(request, providers, journal),
  };
}

function evidenceOf(
  stage: DecommissionStage,
  preconditions: PreconditionResult[],
  traffic: TrafficEvidence | undefined,
) {
  return {
    kind: "decommission" as const,
    stage,
    preconditions,
    ...(traffic
      ? {
          traffic: {
            requests: traffic.requests,
            datapoints: traffic.datapoints,
            windowStart: traffic.windowStart.toISOString(),
            windowEnd: traffic.windowEnd.toISOString(),
            source: traffic.source,
            ...(traffic.seenBefore ? { seenBefore: traffic.seenBefore } : {}),
          },
        }
      : {}),
  };
}

function preconditionRows(preconditions: PreconditionResult[]): string[][] {
  return [
    ["Precondition", "Holds", "Figures"],
    ...preconditions.map((result) => [result.name, result.ok ? "yes" : "NO", result.detail]),
  ];
}

function publishScaleDown(result: ScaleDownResult, setOutput: OutputSetter<DecommissionOutput>): void {
  setOutput("stage", "scale-down");
  setOutput("no-op", result.noOp);
  setOutput("checkpoint", result.checkpoint);
  setOutput("desired-count-before", result.desiredCountBefore ?? "");
  setOutput("hold-started-at", result.holdStartedAt.toISOString());
  setOutput("hold-ends-at", result.holdEndsAt.toISOString());
  setOutput("decommission", result.decommission ?? "");
  setOutput("evidence", evidenceOf("scale-down", result.preconditions, result.traffic));
}

function scaleDownReport(
  title: string,
  result: ScaleDownResult,
  journal: OperationJournal,
  statusPath: string,
): ActionReport {
  return {
    title,
    headline: result.noOp
      ? `Already at zero; the hold started ${result.holdStartedAt.toISOString()} and ends ${result.holdEndsAt.toISOString()}.`
      : result.held
        ? `Held the old side at zero (${result.held}); hold until ${result.holdEndsAt.toISOString()}.`
        : `Scaled the old side to zero (desiredCount ${result.desiredCountBefore} → 0); hold until ${result.holdEndsAt.toISOString()}.`,
    found: journal.found,
    done: journal.done,
    tables: [
      { caption: "Preconditions", rows: preconditionRows(result.preconditions) },
      { caption: "Steps", rows: journal.timingRows() },
    ],
    next: [
      `Commit ${statusPath}: state decommissioning, decommission ${JSON.stringify(result.decommission ?? {})}, the \`checkpoint\` output pushed onto checkpoints.`,
      result.held
        ? `Until ${result.holdEndsAt.toISOString()} a rollback restores the old function's concurrency (${result.held.split(" → ")[0]}) before moving any traffic.`
        : `Until ${result.holdEndsAt.toISOString()} a rollback scales the old side back to desiredCount ${result.desiredCountBefore ?? "(give fallback-desired-count)"} before moving any traffic.`,
      `After ${result.holdEndsAt.toISOString()}, run decommission with stage delete.`,
    ],
  };
}

function publishDelete(result: DeleteResult, setOutput: OutputSetter<DecommissionOutput>): void {
  setOutput("stage", "delete");
  setOutput("no-op", result.noOp);
  setOutput("hold-started-at", result.decommission.holdStartedAt);
  setOutput("deleted-at", result.deletedAt.toISOString());
  setOutput("deregistered-task-definitions", result.deregistered);
  setOutput("decommission", result.decommission);
  setOutput("evidence", evidenceOf("delete", result.preconditions, result.traffic));
}

function deleteReport(
  title: string,
  result: DeleteResult,
  journal: OperationJournal,
  statusPath: string,
): ActionReport {
  return {
    title,
    headline: result.noOp
      ? "The old side was already deleted; the leftovers below remain for the infrastructure code."
      : `Deleted the old side${result.deregistered.length ? ` and deregistered ${result.deregistered.length} task definitions` : ""}. This cannot be rolled back.`,
    found: journal.found,
    done: journal.done,
    tables: [
      { caption: "Preconditions", rows: preconditionRows(result.preconditions) },
      {
        caption: "What remains for the infrastructure code to remove",
        rows: [
          ["Resource", "Identifier", "Change to make"],
          ...result.leftovers.map((left) => [left.resource, left.identifier, left.change]),
        ],
      },
      { caption: "Steps", rows: journal.timingRows() },
    ],
    next: [
      `Commit ${statusPath}: state done, decommission ${JSON.stringify(result.decommission)}.`,
      ...result.leftovers.map((left) => `${left.resource} ${left.identifier}: ${left.change}.`),
    ],
  };
}

/** The decommission action: load the migration, check the stage's preconditions, act, publish outputs and the summary. */
export async function runDecommission(
  inputs: DecommissionInputs,
  env: DecommissionEnvironment,
): Promise<ActionReport> {
  const journal = new OperationJournal(env.log);
  const title = `decommission ${inputs.stage}: ${inputs.migration}`;
  try {
    const specPath = resolve(env.run.workspace, inputs.spec);
    const context = await journal.step("load spec and status", () =>
      loadMigrationContext(specPath, inputs.migration, env.now()),
    );
    let settings: DecommissionSettings;
    try {
      settings = decommissionSettings(context.migration);
    } catch (error) {
      throw new OperationRefusal(`${specPath}: ${(error as Error).message}`);
    }
    journal.found.push(
      `Decommission step of phase ${settings.phase}: hold ${formatDuration(settings.holdSeconds)}, quiet window ` +
        `${formatDuration(settings.quietWindowSeconds)}, deregister task definitions ${inputs.deregisterTaskDefinitions ?? settings.deregisterTaskDefinitions}.`,
    );
    const stages = decommissionStages(context.migration, env);
    const request: DecommissionRequest = {
      migration: context.migration,
      status: context.status,
      settings,
      holdStartedAt: inputs.holdStartedAt,
      deregisterTaskDefinitions: inputs.deregisterTaskDefinitions,
      stableTimeoutSeconds: inputs.stableTimeoutSeconds,
      now: env.now,
      onCheckpoint: (checkpoint) => env.setOutput("checkpoint", checkpoint),
    };
    const announce = async (step: Parameters<typeof decommissionEvent>[1]) =>
      (await env.announcerFor?.(context.migration).announce(
        decommissionEvent(
          {
            migration: context.migration.id,
            phase: settings.phase,
            time: env.now(),
            ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
          },
          step,
        ),
      )) ?? [];
    if (inputs.stage === "scale-down") {
      const result = await stages.scaleDown(request, journal);
      publishScaleDown(result, env.setOutput);
      const deliveries = result.noOp
        ? []
        : await announce({
            stage: "scaled-down",
            target: stages.label,
            detail: result.held ?? `desiredCount ${result.desiredCountBefore} → 0`,
            holdEndsAt: result.holdEndsAt.toISOString(),
          });
      return withDeliveries(scaleDownReport(title, result, journal, context.statusPath), deliveries);
    }
    const result = await stages.delete(request, journal);
    publishDelete(result, env.setOutput);
    const deliveries = result.noOp
      ? []
      : await announce({
          stage: "deleted",
          target: stages.label,
          detail: `deleted after the hold${result.deregistered.length ? `, ${result.deregistered.length} task definitions deregistered` : ""}`,
        });
    return withDeliveries(deleteReport(title, result, journal, context.statusPath), deliveries);
  } catch (error) {
    const refusal = refusalOf(`${title} refused`, error, journal, nextAfterFailure(inputs.stage, journal));
    if (error instanceof DecommissionRefusal) {
      env.setOutput("evidence", evidenceOf(inputs.stage, error.preconditions, undefined));
      refusal.report?.tables?.unshift({
        caption: "Preconditions",
        rows: preconditionRows(error.preconditions),
      });
    }
    throw refusal;
  }
}

function nextAfterFailure(stage: DecommissionStage, journal: OperationJournal): string[] {
  const changed = journal.steps.some(
    (step) =>
      step.outcome === "ok" &&
      ["scale to zero", "hold at concurrency 0", "delete service", "delete function"].includes(step.step),
  );
  if (!changed)
    return [
      "Nothing was changed. Wait until the failed preconditions hold, or fix what the message names, then re-run.",
    ];
  return stage === "scale-down"
    ? [
        "The scale-down was submitted: commit the status with the `checkpoint` output so a rollback knows the count to restore, then re-run to confirm.",
      ]
    : [
        "The deletion was submitted: re-run stage delete to finish (deregistering, for a service) and to list what remains.",
      ];
}

/**
 * When the hold starts and ends: a re-run whose side was already held keeps the hold it started; a fresh
 * hold starts now, when the side is at zero.
 */
function startHold(
  status: MigrationStatus,
  alreadyHeld: boolean,
  holdSeconds: number,
  now: Date,
  journal: OperationJournal,
): { holdStartedAt: Date; holdEndsAt: Date } {
  const recordedStart = status.decommission?.holdStartedAt
    ? new Date(status.decommission.holdStartedAt)
    : undefined;
  const holdStartedAt = alreadyHeld && recordedStart ? recordedStart : now;
  const holdEndsAt = new Date(holdStartedAt.getTime() + holdSeconds * 1000);
  journal.done.push(
    `Hold of ${formatDuration(holdSeconds)} started ${holdStartedAt.toISOString()}; delete is allowed from ${holdEndsAt.toISOString()}.`,
  );
  return { holdStartedAt, holdEndsAt };
}
