import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MigrationStatus } from "../../src/model/status.js";
import {
  resolveRestorePoint,
  restoreWeights,
  rollback,
  runRollback,
  timingsOf,
} from "../../src/ops/rollback.js";
import { createTrafficProviders } from "../../src/ops/traffic.js";
import { journal, NOW, RecordingLog, referenceMigration, statusAt } from "../fixtures/traffic/migration.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { pairCheckpoint, TrafficWorld, weightedPair } from "../fixtures/traffic/world.js";

const migration = referenceMigration();

const checkpoint = pairCheckpoint;

/** At canary-50 after shifts from staging (0 %) and canary-10 (10 %). */
const atCanary50 = (): MigrationStatus =>
  statusAt("canary-50", { old: 50, new: 50 }, [
    checkpoint("staging", 0, { lambdaVersion: "5", ecsDesiredCount: 2 }),
    checkpoint("canary-10", 10, { lambdaVersion: "5", ecsDesiredCount: 2 }),
  ]);

function rollbackIn(
  world: TrafficWorld,
  status: MigrationStatus,
  targetPhase?: string,
  fallbackDesiredCount?: number,
) {
  const log = journal();
  const run = rollback(
    {
      migration,
      status,
      reason: "error rate 3.1 % > 2 %",
      targetPhase,
      insyncTimeoutSeconds: 5,
      stableTimeoutSeconds: 5,
      fallbackDesiredCount,
      requestedBy: "test",
      now: () => NOW,
    },
    createTrafficProviders(migration, world.clients),
    log,
  );
  return { run, journal: log };
}

describe("resolveRestorePoint", () => {
  it("defaults to the last checkpoint, with its exact record weights", () => {
    const point = resolveRestorePoint(migration, atCanary50(), undefined);
    expect(point.weights).toEqual({ old: 90, new: 10 });
    expect(
      restoreWeights(createTrafficProviders(migration, new TrafficWorld().clients).router, point),
    ).toEqual({
      old: 90,
      new: 10,
    });
    expect(point.recorded).toEqual({ lambdaVersion: "5", ecsDesiredCount: 2 });
    expect(point.label).toContain("last checkpoint (phase canary-10");
  });

  it("restores versions only from checkpoints of the applied phase's environment (its own account)", () => {
    const staging = { ...checkpoint("staging", 0), lambdaVersion: "1", environment: "staging" };
    const production = { ...checkpoint("canary-10", 0), lambdaVersion: "7", environment: "production" };
    const fromStaging = resolveRestorePoint(
      migration,
      statusAt("canary-10", { old: 90, new: 10 }, [staging]),
      "all-old",
    );
    expect(fromStaging.recorded).toEqual({});
    const fromProduction = resolveRestorePoint(
      migration,
      statusAt("canary-10", { old: 90, new: 10 }, [staging, production]),
      "all-old",
    );
    expect(fromProduction.recorded).toMatchObject({ lambdaVersion: "7" });
  });

  it("refuses without a checkpoint, pointing at all-old", () => {
    expect(() =>
      resolveRestorePoint(migration, statusAt("canary-10", { old: 90, new: 10 }), undefined),
    ).toThrow('orders-api has no checkpoint in its status to roll back to; give target-phase "all-old"');
  });

  it("sends everything to the old side with all-old, keeping what the last checkpoint recorded", () => {
    const point = resolveRestorePoint(migration, atCanary50(), "all-old");
    expect(point.weights).toEqual({ old: 100, new: 0 });
    expect(point.recorded.lambdaVersion).toBe("5");
  });

  it("restores a named phase's checkpoint, or its spec weight when it has none", () => {
    expect(resolveRestorePoint(migration, atCanary50(), "staging").weights).toEqual({ old: 100, new: 0 });
    const withoutCheckpoints = statusAt("full", { old: 0, new: 100 });
    expect(resolveRestorePoint(migration, withoutCheckpoints, "canary-50").weights).toEqual({
      old: 50,
      new: 50,
    });
    expect(resolveRestorePoint(migration, withoutCheckpoints, "staging").weights).toEqual({
      old: 100,
      new: 0,
    });
  });

  it("refuses a phase after the applied one and an unknown phase", () => {
    expect(() => resolveRestorePoint(migration, atCanary50(), "full")).toThrow(
      'input "target-phase": "full" comes after the applied phase (canary-50); a rollback only goes back',
    );
    expect(() => resolveRestorePoint(migration, atCanary50(), "canary-25")).toThrow(
      'input "target-phase": "canary-25" is not a phase of orders-api; give one of staging, canary-10, canary-50, full, decommission or "all-old"',
    );
  });

  it("takes the desired count from the decommission record when the checkpoint has none", () => {
    const status: MigrationStatus = {
      ...statusAt("decommission", { old: 0, new: 100 }, [checkpoint("full", 100)]),
      decommission: {
        stage: "scaled-down",
        holdStartedAt: "2026-03-01T00:00:00.000Z",
        desiredCountBefore: 4,
      },
    };
    expect(resolveRestorePoint(migration, status, "all-old").recorded).toEqual({ ecsDesiredCount: 4 });
  });

  it("rolls a scaled-down decommission back to all-old by default: the scale-down's checkpoint moves nothing", () => {
    const scaleDown = { ...checkpoint("decommission", 100), ecsDesiredCount: 4 };
    const status: MigrationStatus = {
      ...statusAt("decommission", { old: 0, new: 100 }, [checkpoint("full", 100), scaleDown]),
      decommission: {
        stage: "scaled-down",
        holdStartedAt: "2026-03-01T00:00:00.000Z",
        desiredCountBefore: 4,
      },
    };
    const point = resolveRestorePoint(migration, status, undefined);
    expect(point.weights).toEqual({ old: 100, new: 0 });
    expect(point.recorded).toMatchObject({ ecsDesiredCount: 4 });
    expect(point.label).toContain("scaled down for decommissioning");
  });
});

describe("rollback", () => {
  it("rolls back from 50 to the last checkpoint in one change", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    const { run } = rollbackIn(world, atCanary50());
    const move = await run;
    expect(move.previousWeights).toEqual({ old: 50, new: 50 });
    expect(move.weights).toEqual({ old: 90, new: 10 });
    expect(world.changeBatches).toHaveLength(1);
    expect(world.changeBatches[0]!.ChangeBatch?.Comment).toContain("error rate 3.1 % > 2 %");
    expect(world.count("ecs:UpdateService")).toBe(0);
  });

  it("scales a scaled-down old side back up and waits until stable before moving any weight", async () => {
    const world = new TrafficWorld(weightedPair(0, 100));
    world.ecs = { ...world.ecs, desiredCount: 0, runningCount: 0, pollsToConverge: 2 };
    const status: MigrationStatus = {
      ...statusAt("decommission", { old: 0, new: 100 }, [checkpoint("full", 100)]),
      decommission: {
        stage: "scaled-down",
        holdStartedAt: "2026-03-01T00:00:00.000Z",
        desiredCountBefore: 3,
      },
    };
    const { run, journal: log } = rollbackIn(world, status, "all-old");
    const move = await run;
    expect(move.weights).toEqual({ old: 100, new: 0 });
    const scaled = world.calls.indexOf("ecs:UpdateService");
    const changed = world.calls.indexOf("route53:ChangeResourceRecordSets");
    expect(scaled).toBeGreaterThan(-1);
    expect(changed).toBeGreaterThan(scaled);
    // The last look at the service before the change saw it running at the recorded count.
    const describesBeforeChange = world.calls
      .slice(scaled, changed)
      .filter((call) => call === "ecs:DescribeServices");
    expect(describesBeforeChange.length).toBeGreaterThanOrEqual(3);
    expect(world.ecs).toMatchObject({ desiredCount: 3, runningCount: 3 });
    expect(log.done.join("\n")).toContain("scale up: ECS service prod/orders-api desiredCount 0 → 3");
    const steps = log.steps.map((step) => step.step);
    expect([...steps].sort()).toEqual(
      [
        "read records and sides",
        "read records and sides",
        "restore new side",
        "restore old side",
        "submit change",
        "wait INSYNC",
      ].sort(),
    );
    expect(steps.indexOf("submit change")).toBeGreaterThan(steps.indexOf("restore old side"));
  });

  it("refuses, changing nothing, when the old side is at zero and no count was recorded", async () => {
    const world = new TrafficWorld(weightedPair(0, 100));
    world.ecs = { ...world.ecs, desiredCount: 0, runningCount: 0 };
    const { run } = rollbackIn(world, statusAt("full", { old: 0, new: 100 }), "all-old");
    await expect(run).rejects.toThrow("scaled to zero and no desired count was recorded");
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
    expect(world.weightOf("lambda")).toBe(100);
  });

  it("scales up with the desired count given when nothing was recorded", async () => {
    const world = new TrafficWorld(weightedPair(0, 100));
    world.ecs = { ...world.ecs, desiredCount: 0, runningCount: 0 };
    await rollbackIn(world, statusAt("full", { old: 0, new: 100 }), "all-old", 2).run;
    expect(world.ecs.desiredCount).toBe(2);
    expect(world.weightOf("ecs-fargate")).toBe(100);
  });

  it("points a moved Lambda alias back to the recorded version", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    world.lambda.aliasVersion = "6";
    await rollbackIn(world, atCanary50()).run;
    expect(world.lambda.aliasVersion).toBe("5");
    expect(world.calls.indexOf("lambda:UpdateAlias")).toBeLessThan(
      world.calls.indexOf("route53:ChangeResourceRecordSets"),
    );
  });

  it("moves weight away from a Lambda side that is mid-update", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    world.lambda.lastUpdateStatus = "InProgress";
    const move = await rollbackIn(world, atCanary50()).run;
    expect(move.weights).toEqual({ old: 90, new: 10 });
  });

  it("is a no-op when already at the restore point, and still reports timings", async () => {
    const world = new TrafficWorld(weightedPair(90, 10));
    const { run, journal: log } = rollbackIn(world, atCanary50());
    const move = await run;
    expect(move.noOp).toBe(true);
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
    const timings = timingsOf(move, log);
    expect(timings.changeSubmittedMs).toBeNull();
    expect(timings.steps.map((step) => step.step)).toContain("read records and sides");
  });
});

describe("runRollback", () => {
  it("rolls back even when the spec has an unrelated validation error, and says so", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    const workspace = new TrafficWorkspace(migration);
    workspace.writeStatus(atCanary50());
    rmSync(join(workspace.dir, "load-tests", "smoke.yml"));
    const outputs: Record<string, unknown> = {};
    const report = await runRollback(
      {
        migration: "orders-api",
        reason: "error rate",
        spec: "migrations.json",
        insyncTimeoutSeconds: 5,
        stableTimeoutSeconds: 5,
      },
      {
        run: { correlationId: "9-1", workspace: workspace.dir },
        log: new RecordingLog(),
        setOutput: (name, value) => {
          outputs[name] = value;
        },
        clients: world.clients,
        now: () => NOW,
      },
    );
    expect(outputs.weights).toEqual({ old: 90, new: 10 });
    expect(report.found?.join("\n")).toMatch(/Found after rolling back: [\s\S]*smoke\.yml/);
    const timings = outputs.timings as { changeSubmittedMs: number; insyncMs: number };
    expect(timings.insyncMs).toBeGreaterThanOrEqual(timings.changeSubmittedMs);
    expect(report.headline).toContain("Rolled back (error rate)");
  });
});

describe("quick status reading for rollback", () => {
  it("refuses a status whose checkpoint weights do not add up, naming the JSON path", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    const workspace = new TrafficWorkspace(migration);
    const status = atCanary50();
    status.checkpoints[1]!.weights = { old: 90, new: 20 };
    workspace.writeStatus(status);
    const error = await runRollback(
      {
        migration: "orders-api",
        reason: "x",
        spec: "migrations.json",
        insyncTimeoutSeconds: 5,
        stableTimeoutSeconds: 5,
      },
      {
        run: { correlationId: "9-1", workspace: workspace.dir },
        log: new RecordingLog(),
        setOutput: () => {},
        clients: world.clients,
        now: () => NOW,
      },
    ).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(error?.message).toContain("$.checkpoints[1].weights must sum to 100, not 110");
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
  });
});
