// Decommissioning a Lambda old side (a Lambda → ECS migration): the hold at
// reserved concurrency 0, the delete of the function after it, and the
// rollback that brings the reservation back before any weight returns.
import { describe, expect, it } from "vitest";
import { decommissionSettings } from "../../src/core/decommission.js";
import { transition, transitionOrThrow } from "../../src/core/transitions.js";
import type { Migration, Route53RouterSpec } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import {
  createLambdaDecommissionProviders,
  type DecommissionRequest,
  deleteLambdaOldSide,
  holdLambdaOldSide,
} from "../../src/ops/decommission.js";
import { applyRecord } from "../../src/ops/record-state.js";
import { resolveRestorePoint } from "../../src/ops/rollback.js";
import { LambdaTarget, lambdaReadiness } from "../../src/providers/lambda-target.js";
import {
  historyEntry,
  journal,
  NOW,
  referenceMigration,
  rejectionOf,
  statusAtFull,
} from "../fixtures/deploy/migration.js";
import { DeployWorld } from "../fixtures/deploy/world.js";
import { at, exampleMigration, shiftedAndBaking, stagingPassed } from "../gitops/statuses.js";

/** The reference migration turned around: the Lambda alias is the old side. */
function lambdaToEcs(): Migration {
  const reference = referenceMigration();
  const router = reference.router as Route53RouterSpec;
  return {
    ...reference,
    oldSide: reference.newSide,
    newSide: reference.oldSide,
    router: {
      ...router,
      oldSetIdentifier: router.newSetIdentifier,
      newSetIdentifier: router.oldSetIdentifier,
    },
  };
}

const migration = lambdaToEcs();
const settings = decommissionSettings(migration);
const HOLD_START = "2026-03-08T00:00:00.000Z";
const AFTER_HOLD = new Date("2026-03-10T12:00:00.000Z");

/** The world's "lambda" record carries `weights.new`: here that is the old side's share. */
function worldAllOnEcs(): DeployWorld {
  const world = new DeployWorld();
  world.weights = { old: 100, new: 0 };
  return world;
}

function request(status: MigrationStatus, extra: Partial<DecommissionRequest> = {}): DecommissionRequest {
  return { migration, status, settings, stableTimeoutSeconds: 5, now: () => NOW, ...extra };
}

const providers = (world: DeployWorld) =>
  createLambdaDecommissionProviders(migration, { clients: world.clients });

const heldStatus = (reservedConcurrencyBefore: number | null, history: MigrationStatus["history"] = []) =>
  statusAtFull({
    state: "decommissioning",
    phase: "decommission",
    weights: { old: 0, new: 100 },
    decommission: {
      stage: "scaled-down",
      holdStartedAt: HOLD_START,
      desiredCountBefore: 0,
      reservedConcurrencyBefore,
    },
    history,
  });

describe("hold of a Lambda old side", () => {
  it("sets reserved concurrency 0 once the function has no weight and no traffic, recording that it had none", async () => {
    const world = worldAllOnEcs();
    const result = await holdLambdaOldSide(request(statusAtFull()), providers(world), journal());
    expect(world.mutations()).toEqual(["PutFunctionConcurrency"]);
    expect(world.calls[0]!.input).toEqual({ FunctionName: "orders-api", ReservedConcurrentExecutions: 0 });
    expect(world.reservedConcurrency).toBe(0);
    expect(result.decommission).toEqual({
      stage: "scaled-down",
      holdStartedAt: NOW.toISOString(),
      desiredCountBefore: 0,
      reservedConcurrencyBefore: null,
    });
    expect(result.checkpoint).toMatchObject({ weights: { old: 0, new: 100 }, lambdaVersion: "4" });
    expect(result.checkpoint.lambdaReservedConcurrency).toBeUndefined();
    expect(result.held).toBe("no reservation → reserved concurrency 0");
  });

  it("records a reservation the function had, in the status and the checkpoint", async () => {
    const world = worldAllOnEcs();
    world.reservedConcurrency = 25;
    const result = await holdLambdaOldSide(request(statusAtFull()), providers(world), journal());
    expect(result.decommission?.reservedConcurrencyBefore).toBe(25);
    expect(result.checkpoint.lambdaReservedConcurrency).toBe(25);
    expect(world.reservedConcurrency).toBe(0);
  });

  it("refuses while the old side still has weight, changing nothing", async () => {
    const world = new DeployWorld();
    world.weights = { old: 90, new: 10 };
    const error = await rejectionOf(holdLambdaOldSide(request(statusAtFull()), providers(world), journal()));
    expect(error.message).toContain("old side weight is 10 %, must be 0");
    expect(world.mutations()).toEqual([]);
    expect(world.reservedConcurrency).toBeUndefined();
  });

  it("refuses while the old side served requests in the quiet window", async () => {
    const world = worldAllOnEcs();
    world.metricData.requests = [0, 3, 0];
    const error = await rejectionOf(holdLambdaOldSide(request(statusAtFull()), providers(world), journal()));
    expect(error.message).toContain("old side served 3 requests");
    expect(world.mutations()).toEqual([]);
  });

  it("re-run keeps the hold it started and the reservation the first run recorded", async () => {
    const world = worldAllOnEcs();
    world.reservedConcurrency = 0;
    const result = await holdLambdaOldSide(request(heldStatus(25)), providers(world), journal());
    expect(result.noOp).toBe(true);
    expect(world.mutations()).toEqual([]);
    expect(result.holdStartedAt.toISOString()).toBe(HOLD_START);
    expect(result.decommission?.reservedConcurrencyBefore).toBe(25);
  });

  it("a held function cannot take traffic", () => {
    const readiness = lambdaReadiness("Lambda orders-api:live", {
      aliasVersion: "4",
      additionalVersions: {},
      state: "Active",
      lastUpdateStatus: "Successful",
      reservedConcurrency: 0,
    });
    expect(readiness.ready).toBe(false);
    expect(readiness.summary).toContain("reserved concurrency is 0");
  });
});

describe("delete of a Lambda old side", () => {
  it("refuses during the hold, with the time left", async () => {
    const world = worldAllOnEcs();
    world.reservedConcurrency = 0;
    const during = new Date("2026-03-09T00:00:00.000Z");
    const error = await rejectionOf(
      deleteLambdaOldSide(request(heldStatus(null), { now: () => during }), providers(world), journal()),
    );
    expect(error.message).toContain("1d of 48h elapsed");
    expect(world.mutations()).toEqual([]);
  });

  it("refuses when the hold was lifted by a rollback", async () => {
    const world = worldAllOnEcs();
    const rolledBack = historyEntry("2026-03-09T00:00:00.000Z", "rollback", "rolled-back");
    const error = await rejectionOf(
      deleteLambdaOldSide(
        request(heldStatus(null, [rolledBack]), { now: () => AFTER_HOLD }),
        providers(world),
        journal(),
      ),
    );
    expect(error.message).toContain("1 rollback recorded since the hold started");
    expect(error.message).toContain("has no reservation, must be reserved concurrency 0");
    expect(world.mutations()).toEqual([]);
  });

  it("deletes the function after the hold, keeping what the hold recorded", async () => {
    const world = worldAllOnEcs();
    world.reservedConcurrency = 0;
    const result = await deleteLambdaOldSide(
      request(heldStatus(25), { now: () => AFTER_HOLD }),
      providers(world),
      journal(),
    );
    expect(world.mutations()).toEqual(["DeleteFunction"]);
    expect(result.decommission).toMatchObject({ stage: "deleted", reservedConcurrencyBefore: 25 });
    expect(result.leftovers.map((left) => left.resource)).toEqual([
      "Route 53 weighted record (old side)",
      "Lambda function",
      "Log group",
    ]);
    // A re-run finds it gone and records that.
    const again = await deleteLambdaOldSide(
      request(heldStatus(25), { now: () => AFTER_HOLD }),
      providers(world),
      journal(),
    );
    expect(again.noOp).toBe(true);
    expect(world.mutations()).toEqual(["DeleteFunction"]);
  });
});

describe("rollback from the hold of a Lambda old side", () => {
  it("takes the reservation to restore from the status, never turning the hold into an ECS task count", () => {
    const point = resolveRestorePoint(migration, { ...heldStatus(25), checkpoints: [] }, "all-old");
    expect(point.recorded).toEqual({ lambdaReservedConcurrency: 25 });
    const none = resolveRestorePoint(migration, { ...heldStatus(null), checkpoints: [] }, "all-old");
    expect(none.recorded).toEqual({});
  });

  it("lifts the hold before anything else when the function will serve: the recorded reservation, else none", async () => {
    const world = worldAllOnEcs();
    world.reservedConcurrency = 0;
    const target = new LambdaTarget(migration.oldSide as never, world.lambda);
    const steps = await target.restore(
      { lambdaReservedConcurrency: 25 },
      { willServe: true, stableTimeoutSeconds: 5 },
    );
    expect(steps.map((step) => step.detail)).toEqual(["Lambda orders-api reserved concurrency 0 → 25"]);
    expect(world.reservedConcurrency).toBe(25);

    world.reservedConcurrency = 0;
    await target.restore({}, { willServe: true, stableTimeoutSeconds: 5 });
    expect(world.reservedConcurrency).toBeUndefined();
    expect(world.mutations()).toEqual(["PutFunctionConcurrency", "DeleteFunctionConcurrency"]);
  });

  it("leaves the hold in place when the function will not serve", async () => {
    const world = worldAllOnEcs();
    world.reservedConcurrency = 0;
    const target = new LambdaTarget(migration.oldSide as never, world.lambda);
    expect(await target.restore({}, { willServe: false, stableTimeoutSeconds: 5 })).toEqual([]);
    expect(world.reservedConcurrency).toBe(0);
  });
});

describe("recording the hold of a Lambda old side", () => {
  /** A status in phase full at 100 % new, with the decommission phase applying. */
  async function fullAndApplyingDecommission() {
    const migration = await exampleMigration("decommission");
    const order = migration.phases.map((phase) => phase.name);
    let status = shiftedAndBaking(stagingPassed(), "canary-10", 10, 0);
    for (const [phase, weight] of [
      ["canary-50", 50],
      ["full", 100],
    ] as const) {
      status = transitionOrThrow(status, { type: "apply-started", phase, phaseOrder: order }, at(5));
      status = transitionOrThrow(
        status,
        {
          type: "shift-applied",
          weights: { old: 100 - weight, new: weight },
          checkpoint: { phase, takenAt: at(5).toISOString(), weights: status.weights },
          insyncAt: at(5),
          ttlSeconds: 60,
        },
        at(5),
      );
      status = transitionOrThrow(status, { type: "apply-succeeded", bakeSeconds: 0 }, at(5));
    }
    return { migration, status };
  }

  it("keeps the reservation the hold replaced from the action's decommission output", async () => {
    const { migration: spec, status } = await fullAndApplyingDecommission();
    const held = (reservedConcurrencyBefore: number | null) =>
      applyRecord(
        spec,
        status,
        {
          event: "decommission-started",
          phase: "decommission",
          outcome: "success",
          origin: { runUrl: "https://github.com/example/platform/actions/runs/1" },
          outputs: {
            "desired-count-before": "",
            "no-op": "false",
            decommission: JSON.stringify({
              stage: "scaled-down",
              holdStartedAt: at(60).toISOString(),
              desiredCountBefore: 0,
              reservedConcurrencyBefore,
            }),
          },
        },
        at(60),
      ).status;
    const reserved = held(25);
    expect(reserved.decommission).toMatchObject({ stage: "scaled-down", reservedConcurrencyBefore: 25 });
    expect(reserved.checkpoints.at(-1)?.lambdaReservedConcurrency).toBe(25);
    const none = held(null);
    expect(none.decommission?.reservedConcurrencyBefore).toBeNull();
    expect(none.checkpoints.at(-1)?.lambdaReservedConcurrency).toBeUndefined();
  });

  it("refuses a reservation that is not one", async () => {
    const { status } = await fullAndApplyingDecommission();
    const applying = transitionOrThrow(
      status,
      {
        type: "apply-started",
        phase: "decommission",
        phaseOrder: (await exampleMigration("decommission")).phases.map((phase) => phase.name),
      },
      at(6),
    );
    const result = transition(
      applying,
      { type: "decommission-scaled-down", desiredCountBefore: 0, reservedConcurrencyBefore: -1 },
      at(6),
    );
    expect(result).toEqual({
      ok: false,
      refusal: expect.stringContaining("reservedConcurrencyBefore -1 is not a reserved concurrency"),
    });
  });
});
