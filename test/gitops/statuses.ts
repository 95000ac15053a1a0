// Statuses built through the real state machine, so tests start from states
// the pipeline can actually reach.
import { join } from "node:path";
import { transitionOrThrow } from "../../src/core/transitions.js";
import type { Migration } from "../../src/model/spec.js";
import { initialStatus, type MigrationStatus } from "../../src/model/status.js";
import { findMigration, loadSpec } from "../../src/spec/files.js";
import { repoRoot } from "../support/run-action.js";

export const T0 = new Date("2026-03-01T10:00:00Z");

export function at(minutes: number): Date {
  return new Date(T0.getTime() + minutes * 60_000);
}

/** The example migration of the repository's migrations.json, with its phase set. */
export async function exampleMigration(phase = "canary-10"): Promise<Migration> {
  const spec = await loadSpec(join(repoRoot, "migrations.json"));
  return { ...findMigration(spec, "orders-api"), phase };
}

const ORDER = ["staging", "canary-10", "canary-50", "full", "decommission"];

/** staging applied and passed, all traffic on the old side. */
export function stagingPassed(): MigrationStatus {
  let status = initialStatus("orders-api", T0);
  status = transitionOrThrow(status, { type: "apply-started", phase: "staging", phaseOrder: ORDER }, T0);
  return transitionOrThrow(status, { type: "apply-succeeded", bakeSeconds: 0 }, T0);
}

/** A phase shifted to `weight` and baking for `bakeHours`, from `status`. */
export function shiftedAndBaking(
  status: MigrationStatus,
  phase: string,
  weight: number,
  bakeHours: number,
  now = at(1),
): MigrationStatus {
  let next = transitionOrThrow(status, { type: "apply-started", phase, phaseOrder: ORDER }, now);
  next = transitionOrThrow(
    next,
    {
      type: "shift-applied",
      weights: { old: 100 - weight, new: weight },
      checkpoint: {
        phase: status.phase,
        takenAt: now.toISOString(),
        weights: status.weights,
        ecsDesiredCount: 3,
        lambdaVersion: "1",
      },
      insyncAt: now,
      ttlSeconds: 60,
    },
    now,
  );
  return transitionOrThrow(next, { type: "apply-succeeded", bakeSeconds: bakeHours * 3600 }, now);
}
