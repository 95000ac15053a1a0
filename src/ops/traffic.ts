/**
 * Moving weight between the two sides of a migration, shared by shift-traffic
 * and rollback: observe the records and both sides, refuse to move weight
 * onto a side that cannot serve, write both records in one change, wait until
 * it is in sync, and say when the gate window may start.
 */
import type { AwsClients } from "../action/aws.js";
import type { Migration } from "../model/spec.js";
import { type Checkpoint, type MigrationStatus, sameWeights, type Weights } from "../model/status.js";
import {
  type ComputeTarget,
  createComputeTarget,
  type Readiness,
  type TargetCheckpointFields,
} from "../providers/compute-target.js";
import {
  createTrafficRouter,
  type RecordWeights,
  type SubmittedChange,
  type TrafficRouter,
  type WeightedPair,
} from "../providers/traffic-router.js";
import { type OperationJournal, OperationRefusal, sinceProcessStart } from "./journal.js";

export type Side = "old" | "new";
export const SIDES: readonly Side[] = ["old", "new"];

/** The router and both compute targets of one migration. */
export interface TrafficProviders {
  router: TrafficRouter;
  sides: Record<Side, ComputeTarget>;
}

/** Creates the providers a migration's spec names, from the AWS clients. */
export function createTrafficProviders(
  migration: Migration,
  clients: Pick<AwsClients, "route53" | "ecs" | "lambda">,
  onThrottled?: (operation: string, attempt: number, delayMs: number) => void,
): TrafficProviders {
  return {
    router: createTrafficRouter(migration.router, clients, { route53: { onThrottled } }),
    sides: {
      old: createComputeTarget(migration.oldSide, clients, "oldSide"),
      new: createComputeTarget(migration.newSide, clients, "newSide"),
    },
  };
}

/** The records and both sides as observed just now. */
export interface ObservedTraffic {
  pair: WeightedPair;
  recordWeights: RecordWeights;
  /** Share of traffic each side receives now, in percent. */
  weights: Weights;
  readiness: Record<Side, Readiness>;
  /** What a checkpoint records about the compute targets. */
  targets: TargetCheckpointFields;
}

/** "old 90 % / new 10 %". */
export function formatWeights(weights: Weights): string {
  return `old ${weights.old} % / new ${weights.new} %`;
}

function describeRecord(record: WeightedPair["old"]): string {
  const parts = [`weight ${record.weight}`];
  if (record.ttl !== undefined) parts.push(`TTL ${record.ttl} s`);
  if (record.aliasTarget) {
    parts.push(
      `alias to ${record.aliasTarget.dnsName} (EvaluateTargetHealth ${record.aliasTarget.evaluateTargetHealth})`,
    );
  }
  if (record.values) parts.push(`values ${record.values.join(", ")}`);
  if (record.healthCheckId) parts.push(`health check ${record.healthCheckId}`);
  return `"${record.setIdentifier}" ${parts.join(", ")}`;
}

/** Readiness that never throws: a side that cannot even be asked is a side that cannot serve. */
async function readinessOf(target: ComputeTarget): Promise<Readiness> {
  try {
    return await target.readiness();
  } catch (error) {
    return {
      ready: false,
      summary: `${target.label}: could not check readiness (${(error as Error).message ?? String(error)})`,
      figures: {},
    };
  }
}

async function captureOf(target: ComputeTarget, journal: OperationJournal): Promise<TargetCheckpointFields> {
  try {
    return await target.capture();
  } catch (error) {
    journal.log.warn(`could not record ${target.label} in the checkpoint`, {
      error: (error as Error).message,
    });
    return {};
  }
}

/**
 * Reads the weighted pair, both sides' readiness and what a checkpoint
 * records about them, all at once: one round trip before any decision.
 */
export async function observeTraffic(
  providers: TrafficProviders,
  status: MigrationStatus,
  journal: OperationJournal,
  again = false,
): Promise<ObservedTraffic> {
  const observed = await journal.step(
    "read records and sides",
    async () => {
      const [pair, oldReady, newReady, oldFields, newFields] = await Promise.all([
        providers.router.readPair(),
        readinessOf(providers.sides.old),
        readinessOf(providers.sides.new),
        captureOf(providers.sides.old, journal),
        captureOf(providers.sides.new, journal),
      ]);
      const recordWeights = { old: pair.old.weight, new: pair.new.weight };
      return {
        pair,
        recordWeights,
        weights: providers.router.effectiveWeights(recordWeights),
        readiness: { old: oldReady, new: newReady },
        targets: { ...oldFields, ...newFields },
      } satisfies ObservedTraffic;
    },
    (result) => `traffic now ${formatWeights(result.weights)}`,
  );
  if (again) {
    // A second look (after a rollback restored the sides) adds only what changed.
    journal.found.push(
      ...SIDES.map((side) => `After restoring, ${side} side: ${observed.readiness[side].summary}.`),
    );
    return observed;
  }
  journal.found.push(
    `${providers.router.label}: ${describeRecord(observed.pair.old)} (old side); ${describeRecord(observed.pair.new)} (new side).`,
    `Traffic now: ${formatWeights(observed.weights)}.`,
    ...SIDES.map((side) => `${side === "old" ? "Old" : "New"} side: ${observed.readiness[side].summary}.`),
  );
  const statusLine = `Status: phase ${status.phase ?? "(none applied)"}, state ${status.state}, weights ${formatWeights(status.weights)}.`;
  journal.found.push(statusLine);
  if (status.weights.old !== observed.weights.old || status.weights.new !== observed.weights.new) {
    const drift =
      `The records (${formatWeights(observed.weights)}) differ from the status (${formatWeights(status.weights)}): ` +
      "they were changed outside cutover, or a change was not committed.";
    journal.found.push(drift);
    journal.log.warn(drift);
  }
  return observed;
}

export interface WeightMoveRequest {
  migration: Migration;
  status: MigrationStatus;
  observed: ObservedTraffic;
  /** Record weights to write. */
  target: RecordWeights;
  /** Change batch comment: who, why. */
  comment: string;
  insyncTimeoutSeconds: number;
  now: () => Date;
  /** Told as soon as the change is submitted, before waiting (so a caller can publish the change id even if the wait fails). */
  onSubmitted?: (change: SubmittedChange, checkpoint: Checkpoint) => void;
  /**
   * Awaited after every check and just before the change is submitted, with
   * the weights it will leave and the checkpoint of what it replaces: where a
   * caller records its intent, so a run killed after the change is still
   * recognised as cutover's. Throwing stops the move with nothing changed.
   */
  beforeSubmit?: (weights: Weights, checkpoint: Checkpoint) => Promise<void>;
}

/** What a weight move did. */
export interface WeightMove {
  noOp: boolean;
  previousWeights: Weights;
  weights: Weights;
  previousRecordWeights: RecordWeights;
  recordWeights: RecordWeights;
  change?: SubmittedChange;
  insyncAt?: Date;
  /** When traffic has certainly moved: INSYNC plus the records' cache time. */
  gateWindowStart: Date;
  cacheSeconds: number;
  cacheSource: string;
  /** The state before the change, for the status commit (what a rollback restores). */
  checkpoint: Checkpoint;
  /** Milliseconds since process start when the change was submitted / seen INSYNC. */
  submittedAtMs?: number;
  insyncAtMs?: number;
}

/** Refuses when weight would move onto a side that cannot serve; moving weight away is always allowed. */
export function checkSidesCanServe(observed: ObservedTraffic, target: Weights): void {
  for (const side of SIDES) {
    if (target[side] > observed.weights[side] && !observed.readiness[side].ready) {
      throw new OperationRefusal(
        `will not move traffic onto the ${side} side (${observed.weights[side]} % → ${target[side]} %): ` +
          `${observed.readiness[side].summary}. Nothing was changed.`,
      );
    }
  }
}

function checkpointOf(request: WeightMoveRequest, noOp: boolean): Checkpoint {
  const { observed, status } = request;
  if (noOp && !sameWeights(status.weights, observed.weights)) {
    // A re-run after a shift that was submitted but never recorded: the records
    // already hold the target, so what a rollback must restore is what the
    // status last recorded, not what the records hold now.
    return {
      phase: status.phase,
      takenAt: request.now().toISOString(),
      weights: status.weights,
      ...observed.targets,
    };
  }
  return {
    phase: request.status.phase,
    takenAt: request.now().toISOString(),
    weights: observed.weights,
    records: [observed.pair.old, observed.pair.new],
    ...observed.targets,
  };
}

/**
 * Moves the weights to `target` in one atomic change and waits for INSYNC;
 * a no-op, saying so, when the records already hold `target`.
 */
export async function moveWeights(
  providers: TrafficProviders,
  request: WeightMoveRequest,
  journal: OperationJournal,
): Promise<WeightMove> {
  const { observed, target } = request;
  const weights = providers.router.effectiveWeights(target);
  const checkpoint = checkpointOf(request, sameWeights(observed.recordWeights, target));
  const base = {
    previousWeights: observed.weights,
    weights,
    previousRecordWeights: observed.recordWeights,
    recordWeights: target,
    cacheSeconds: observed.pair.cacheSeconds,
    cacheSource: observed.pair.cacheSource,
    checkpoint,
  };
  if (sameWeights(observed.recordWeights, target)) {
    journal.done.push(`Nothing to change: the records already hold ${formatWeights(weights)}.`);
    return { ...base, noOp: true, gateWindowStart: noOpGateWindowStart(request, weights) };
  }
  checkSidesCanServe(observed, weights);
  await request.beforeSubmit?.(weights, checkpoint);
  const change = await journal.step(
    "submit change",
    () => providers.router.submitWeights(observed.pair, target, request.comment),
    (submitted) =>
      `change ${submitted.id} ${submitted.status}: ${formatWeights(observed.weights)} → ${formatWeights(weights)}`,
  );
  const submittedAtMs = sinceProcessStart();
  request.onSubmitted?.(change, checkpoint);
  journal.done.push(
    `Submitted change ${change.id} (both records in one batch): ${formatWeights(observed.weights)} → ${formatWeights(weights)}, ` +
      `record weights ${observed.recordWeights.old}/${observed.recordWeights.new} → ${target.old}/${target.new}.`,
  );
  const insyncAt = await journal.step(
    "wait INSYNC",
    () => providers.router.waitInSync(change, request.insyncTimeoutSeconds),
    (at) => `change ${change.id} INSYNC at ${at.toISOString()}`,
  );
  const insyncAtMs = sinceProcessStart();
  const gateWindowStart = new Date(insyncAt.getTime() + observed.pair.cacheSeconds * 1000);
  journal.done.push(
    `Change ${change.id} INSYNC at ${insyncAt.toISOString()} (${insyncAtMs - submittedAtMs} ms after submission); ` +
      `gate window starts ${gateWindowStart.toISOString()} (INSYNC + ${observed.pair.cacheSource}).`,
  );
  return { ...base, noOp: false, change, insyncAt, gateWindowStart, submittedAtMs, insyncAtMs };
}

/**
 * With nothing changed now, the window started when these weights took
 * effect: the status knows when if it agrees with the records; otherwise the
 * weights were set outside cutover at an unknown time, so the window starts a
 * full cache time from now.
 */
function noOpGateWindowStart(request: WeightMoveRequest, weights: Weights): Date {
  const recorded = request.status.timestamps.gateWindowStartsAt;
  const agrees = request.status.weights.old === weights.old && request.status.weights.new === weights.new;
  if (agrees && recorded) return new Date(recorded);
  return new Date(request.now().getTime() + request.observed.pair.cacheSeconds * 1000);
}

/** Rows of the records table: each record's weight before and after and the fields kept as they were. */
export function recordRows(move: WeightMove): string[][] {
  const [oldRecord, newRecord] = move.checkpoint.records ?? [];
  const row = (side: Side) => {
    const record = side === "old" ? oldRecord : newRecord;
    if (!record) return [side, side, "", "", "", ""];
    const kept = [
      record.ttl !== undefined ? `TTL ${record.ttl}` : "",
      record.aliasTarget ? `alias ${record.aliasTarget.dnsName}` : "",
      record.values ? record.values.join(" ") : "",
      record.healthCheckId ? `health check ${record.healthCheckId}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    return [
      record.setIdentifier,
      side,
      String(move.previousRecordWeights[side]),
      String(move.recordWeights[side]),
      `${move.previousWeights[side]} % → ${move.weights[side]} %`,
      kept,
    ];
  };
  return [
    ["Record", "Side", "Weight before", "Weight after", "Share of traffic", "Kept as it was"],
    row("old"),
    row("new"),
  ];
}
