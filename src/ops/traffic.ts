/**
 * Moving weight between the two sides of a migration, shared by shift-traffic
 * and rollback: observe the router and both sides, refuse to move weight
 * onto a side that cannot serve, write both weights in one change, wait until
 * it is in effect, and say when the gate window may start. Which router does
 * it is the spec's business: this module speaks only the router contract.
 */
import type { Migration } from "../model/spec.js";
import { type Checkpoint, type MigrationStatus, sameWeights, type Weights } from "../model/status.js";
import type { ComputeTarget, Readiness, TargetCheckpointFields } from "../providers/compute-target.js";
import { createComputeTarget, type TargetClients } from "../providers/compute-targets.js";
import {
  type RouterReading,
  type RouterWeights,
  readingWeights,
  type SubmittedChange,
  type TrafficRouter,
} from "../providers/traffic-router.js";
import { createTrafficRouter, type RouterClients } from "../providers/traffic-routers.js";
import { type OperationJournal, OperationRefusal, sinceProcessStart } from "./journal.js";

export type Side = "old" | "new";
export const SIDES: readonly Side[] = ["old", "new"];

/** The router and both compute targets of one migration. */
export interface TrafficProviders {
  router: TrafficRouter;
  sides: Record<Side, ComputeTarget>;
}

/** The AWS clients a traffic operation may need: its router's and both compute targets'. */
export type TrafficClients = RouterClients & TargetClients;

/** Creates the providers a migration's spec names, from the AWS clients. */
export function createTrafficProviders(
  migration: Migration,
  clients: TrafficClients,
  onThrottled?: (operation: string, attempt: number, delayMs: number) => void,
): TrafficProviders {
  return {
    router: createTrafficRouter(migration.router, clients, { onThrottled }),
    sides: {
      old: createComputeTarget(migration.oldSide, clients, "oldSide"),
      new: createComputeTarget(migration.newSide, clients, "newSide"),
    },
  };
}

/** The router and both sides as observed just now. */
export interface ObservedTraffic {
  reading: RouterReading;
  /** The router's weights, in its own units. */
  routerWeights: RouterWeights;
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
 * A side serves only when its compute target and the router both say so
 * (a load balancer's target health, say); the router's word is added to the
 * target's.
 */
function combinedReadiness(target: Readiness, router: Readiness | undefined): Readiness {
  if (!router) return target;
  return {
    ready: target.ready && router.ready,
    summary: `${target.summary}; ${router.summary}`,
    figures: { ...target.figures, ...router.figures },
  };
}

/**
 * Reads the router, both sides' readiness and what a checkpoint
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
      const [reading, oldReady, newReady, oldFields, newFields] = await Promise.all([
        providers.router.read(),
        readinessOf(providers.sides.old),
        readinessOf(providers.sides.new),
        captureOf(providers.sides.old, journal),
        captureOf(providers.sides.new, journal),
      ]);
      const routerWeights = readingWeights(reading);
      return {
        reading,
        routerWeights,
        weights: providers.router.effectiveWeights(routerWeights),
        readiness: {
          old: combinedReadiness(oldReady, reading.readiness?.old),
          new: combinedReadiness(newReady, reading.readiness?.new),
        },
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
    `${providers.router.label}: ${observed.reading.sides.old.detail} (old side); ${observed.reading.sides.new.detail} (new side).`,
    `Traffic now: ${formatWeights(observed.weights)}.`,
    ...SIDES.map((side) => `${side === "old" ? "Old" : "New"} side: ${observed.readiness[side].summary}.`),
  );
  const statusLine = `Status: phase ${status.phase ?? "(none applied)"}, state ${status.state}, weights ${formatWeights(status.weights)}.`;
  journal.found.push(statusLine);
  if (status.weights.old !== observed.weights.old || status.weights.new !== observed.weights.new) {
    const drift =
      `The router (${formatWeights(observed.weights)}) differs from the status (${formatWeights(status.weights)}): ` +
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
  /** Router weights to write. */
  target: RouterWeights;
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
  previousRouterWeights: RouterWeights;
  routerWeights: RouterWeights;
  change?: SubmittedChange;
  insyncAt?: Date;
  /** When traffic has certainly moved: the change in effect plus the router's settle time. */
  gateWindowStart: Date;
  settleSeconds: number;
  settleSource: string;
  /** How each side appeared in the router before the change, for summaries. */
  sides: RouterReading["sides"];
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
    router: observed.reading.snapshot,
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
  const checkpoint = checkpointOf(request, sameWeights(observed.routerWeights, target));
  const base = {
    previousWeights: observed.weights,
    weights,
    previousRouterWeights: observed.routerWeights,
    routerWeights: target,
    settleSeconds: observed.reading.settleSeconds,
    settleSource: observed.reading.settleSource,
    sides: observed.reading.sides,
    checkpoint,
  };
  if (sameWeights(observed.routerWeights, target)) {
    journal.done.push(`Nothing to change: the router already holds ${formatWeights(weights)}.`);
    return { ...base, noOp: true, gateWindowStart: noOpGateWindowStart(request, weights) };
  }
  checkSidesCanServe(observed, weights);
  await request.beforeSubmit?.(weights, checkpoint);
  const change = await journal.step(
    "submit change",
    () => providers.router.submitWeights(observed.reading, target, request.comment),
    (submitted) =>
      `change ${submitted.id} ${submitted.status}: ${formatWeights(observed.weights)} → ${formatWeights(weights)}`,
  );
  const submittedAtMs = sinceProcessStart();
  request.onSubmitted?.(change, checkpoint);
  journal.done.push(
    `Submitted change ${change.id} (both weights in one change): ${formatWeights(observed.weights)} → ${formatWeights(weights)}, ` +
      `router weights ${observed.routerWeights.old}/${observed.routerWeights.new} → ${target.old}/${target.new}.`,
  );
  const insyncAt = await journal.step(
    "wait INSYNC",
    () => providers.router.waitApplied(change, request.insyncTimeoutSeconds),
    (at) => `change ${change.id} INSYNC at ${at.toISOString()}`,
  );
  const insyncAtMs = sinceProcessStart();
  const gateWindowStart = new Date(insyncAt.getTime() + observed.reading.settleSeconds * 1000);
  journal.done.push(
    `Change ${change.id} INSYNC at ${insyncAt.toISOString()} (${insyncAtMs - submittedAtMs} ms after submission); ` +
      `gate window starts ${gateWindowStart.toISOString()} (INSYNC + ${observed.reading.settleSource}).`,
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
  return new Date(request.now().getTime() + request.observed.reading.settleSeconds * 1000);
}

/** Rows of the router table: each side's weight before and after and the fields kept as they were. */
export function routerRows(move: WeightMove): string[][] {
  const row = (side: Side) => {
    const view = move.sides[side];
    return [
      view.name,
      side,
      String(move.previousRouterWeights[side]),
      String(move.routerWeights[side]),
      `${move.previousWeights[side]} % → ${move.weights[side]} %`,
      view.kept.join(", "),
    ];
  };
  return [
    ["Router entry", "Side", "Weight before", "Weight after", "Share of traffic", "Kept as it was"],
    row("old"),
    row("new"),
  ];
}
