import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ActionRefusal } from "../../src/action/run.js";
import { decommissionSettings } from "../../src/core/decommission.js";
import type { MigrationStatus } from "../../src/model/status.js";
import {
  createDecommissionProviders,
  type DecommissionOutput,
  type DecommissionRequest,
  deleteOldSide,
  runDecommission,
  scaleDown,
} from "../../src/ops/decommission.js";
import {
  historyEntry,
  journal,
  NOW,
  referenceMigration,
  rejectionOf,
  statusAtFull,
} from "../fixtures/deploy/migration.js";
import { DeployWorld, taskDefinitionArn } from "../fixtures/deploy/world.js";

const migration = referenceMigration();
const settings = decommissionSettings(migration);
const HOLD_START = "2026-03-08T00:00:00.000Z";

function request(status: MigrationStatus, extra: Partial<DecommissionRequest> = {}): DecommissionRequest {
  return { migration, status, settings, stableTimeoutSeconds: 5, now: () => NOW, ...extra };
}

function providers(world: DeployWorld) {
  return createDecommissionProviders(migration, {
    clients: world.clients,
    stablePollSeconds: { min: 0.01, max: 0.05 },
  });
}

function scaledDownWorld(): DeployWorld {
  const world = new DeployWorld();
  world.service!.desiredCount = 0;
  world.service!.runningCount = 0;
  world.service!.deployments[0]!.desiredCount = 0;
  world.service!.deployments[0]!.runningCount = 0;
  return world;
}

const heldStatus = (holdStartedAt = HOLD_START, history: MigrationStatus["history"] = []) =>
  statusAtFull({
    state: "decommissioning",
    phase: "decommission",
    decommission: { stage: "scaled-down", holdStartedAt, desiredCountBefore: 3 },
    history,
  });

describe("scale-down", () => {
  it("scales the old side to zero once it has no weight and no traffic, and starts the hold", async () => {
    const world = new DeployWorld();
    const result = await scaleDown(request(statusAtFull()), providers(world), journal());
    expect(world.mutations()).toEqual(["UpdateService"]);
    expect(world.calls[0]?.input).toMatchObject({ cluster: "prod", service: "orders-api", desiredCount: 0 });
    expect(world.service).toMatchObject({ desiredCount: 0, runningCount: 0 });
    expect(result.noOp).toBe(false);
    expect(result.checkpoint).toMatchObject({
      phase: "full",
      weights: { old: 0, new: 100 },
      ecsDesiredCount: 3,
      ecsTaskDefinition: taskDefinitionArn(7),
    });
    expect(result.checkpoint.router).toMatchObject({
      kind: "route53",
      records: [{ setIdentifier: "ecs-fargate" }, { setIdentifier: "lambda" }],
    });
    expect(result.holdStartedAt).toEqual(NOW);
    expect(result.holdEndsAt.toISOString()).toBe("2026-03-12T12:00:00.000Z");
    expect(result.decommission).toEqual({
      stage: "scaled-down",
      holdStartedAt: NOW.toISOString(),
      desiredCountBefore: 3,
    });
  });

  it("refuses while the old side still has weight, with the figure, and changes nothing", async () => {
    const world = new DeployWorld();
    world.weights = { old: 10, new: 90 };
    await expect(scaleDown(request(statusAtFull()), providers(world), journal())).rejects.toThrow(
      'decommission scale-down refused: old side weight is 10 %, must be 0 (record "ecs-fargate" weight 10, "lambda" weight 90)',
    );
    expect(world.mutations()).toEqual([]);
    expect(world.service?.desiredCount).toBe(3);
  });

  it("refuses while the old side still serves requests, with the count", async () => {
    const world = new DeployWorld();
    world.metricData.requests = [1000, 234, 0];
    await expect(scaleDown(request(statusAtFull()), providers(world), journal())).rejects.toThrow(
      /old side served 1,234 requests in the last 1h \(2026-03-10T11:00:00.000Z to 2026-03-10T12:00:00.000Z\)/,
    );
    expect(world.mutations()).toEqual([]);
  });

  it("names both failed preconditions at once", async () => {
    const world = new DeployWorld();
    world.weights = { old: 50, new: 50 };
    world.metricData.requests = [7];
    const error = await rejectionOf(scaleDown(request(statusAtFull()), providers(world), journal()));
    expect(error.message).toContain("old side weight is 50 %, must be 0");
    expect(error.message).toContain("old side served 7 requests");
    expect(error.message).toMatch(/Nothing was changed\.$/);
  });

  it("reads the old side's ALB request count over the quiet window in whole minutes", async () => {
    const world = new DeployWorld();
    await scaleDown(request(statusAtFull()), providers(world), journal());
    const [query] = world.metricQueries;
    expect(query?.StartTime).toEqual(new Date("2026-03-10T11:00:00.000Z"));
    expect(query?.EndTime).toEqual(NOW);
    expect(query?.MetricDataQueries?.[0]?.MetricStat).toEqual({
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: "RequestCount",
        Dimensions: [
          { Name: "LoadBalancer", Value: "app/orders-api/50dc6c495c0c9188" },
          { Name: "TargetGroup", Value: "targetgroup/orders-api/73e2d6bc24d8a067" },
        ],
      },
      Period: 60,
      Stat: "Sum",
    });
    // Explicit zeros in the window: no need to look further back.
    expect(world.metricQueries).toHaveLength(1);
  });

  it("accepts an empty window when the metric had data before it", async () => {
    const world = new DeployWorld();
    world.metricData.requests = [];
    const result = await scaleDown(request(statusAtFull()), providers(world), journal());
    expect(result.traffic.seenBefore).toEqual({ datapoints: 2, lookbackSeconds: 14 * 86_400 });
    expect(world.metricQueries[1]?.EndTime).toEqual(new Date("2026-03-10T11:00:00.000Z"));
    expect(world.mutations()).toEqual(["UpdateService"]);
  });

  it("refuses when the old side's request metric has no data at all", async () => {
    const world = new DeployWorld();
    world.metricData = { requests: [], history: [] };
    await expect(scaleDown(request(statusAtFull()), providers(world), journal())).rejects.toThrow(
      /no request data for the old side in the last 1h .* nor in the 14d before it: .*check oldSide.telemetry/,
    );
    expect(world.mutations()).toEqual([]);
  });

  it("refuses when the old service does not exist", async () => {
    const world = new DeployWorld();
    world.service = undefined;
    await expect(scaleDown(request(statusAtFull()), providers(world), journal())).rejects.toThrow(
      "ECS service prod/orders-api does not exist",
    );
  });

  it("is a no-op on a re-run, keeping the hold it started and the count it recorded", async () => {
    const world = scaledDownWorld();
    const result = await scaleDown(request(heldStatus()), providers(world), journal());
    expect(world.mutations()).toEqual([]);
    expect(result.noOp).toBe(true);
    expect(result.holdStartedAt.toISOString()).toBe(HOLD_START);
    expect(result.desiredCountBefore).toBe(3);
  });

  it("takes the count to restore from the last checkpoint when the service was already at zero", async () => {
    const world = scaledDownWorld();
    const result = await scaleDown(request(statusAtFull()), providers(world), journal());
    expect(result.checkpoint.ecsDesiredCount).toBe(3);
    expect(result.holdStartedAt).toEqual(NOW);
  });

  it("refuses an old side that is not an ECS service", () => {
    const lambdaOld = { ...migration, oldSide: migration.newSide };
    expect(() => createDecommissionProviders(lambdaOld, { clients: new DeployWorld().clients })).toThrow(
      'oldSide.kind of orders-api is "lambda": decommission scales down and deletes an ECS service ("ecs")',
    );
  });
});

describe("delete", () => {
  const afterHold = new Date("2026-03-10T12:00:00.000Z");

  it("refuses before the hold has elapsed, with the time elapsed", async () => {
    const world = scaledDownWorld();
    const status = heldStatus("2026-03-09T22:48:00.000Z");
    await expect(
      deleteOldSide(request(status, { now: () => afterHold }), providers(world), journal()),
    ).rejects.toThrow(
      "hold started 2026-03-09T22:48:00.000Z (status decommission.holdStartedAt); 13h12m of 48h elapsed, 1d10h48m left",
    );
    expect(world.mutations()).toEqual([]);
  });

  it("refuses when a rollback was recorded since the hold started", async () => {
    const world = scaledDownWorld();
    const status = heldStatus(HOLD_START, [
      historyEntry("2026-03-09T03:00:00.000Z", "rollback", "rolled-back", "p95 1.4 s"),
    ]);
    await expect(deleteOldSide(request(status), providers(world), journal())).rejects.toThrow(
      "1 rollback recorded since the hold started 2026-03-08T00:00:00.000Z, the last at 2026-03-09T03:00:00.000Z (event rollback: p95 1.4 s)",
    );
    expect(world.mutations()).toEqual([]);
  });

  it("refuses when the service was scaled back up", async () => {
    const world = new DeployWorld();
    await expect(deleteOldSide(request(heldStatus()), providers(world), journal())).rejects.toThrow(
      "ECS service prod/orders-api has desiredCount 3 and runningCount 3, must be 0 and 0",
    );
    expect(world.mutations()).toEqual([]);
  });

  it("refuses with traffic since the hold started, counted over the whole hold", async () => {
    const world = scaledDownWorld();
    world.metricData.requests = [0, 12];
    await expect(deleteOldSide(request(heldStatus()), providers(world), journal())).rejects.toThrow(
      /old side served 12 requests in the last 2d12h/,
    );
    expect(world.metricQueries[0]?.StartTime).toEqual(new Date(HOLD_START));
  });

  it("retries a throttled deregistration instead of failing the delete", async () => {
    const world = scaledDownWorld();
    world.deregisterThrottles = 1;
    const result = await deleteOldSide(request(heldStatus()), providers(world), journal());
    expect(world.mutations()).toEqual([
      "DeleteService",
      "DeregisterTaskDefinition",
      "DeregisterTaskDefinition",
    ]);
    expect(result.deregistered).toEqual([taskDefinitionArn(7)]);
  });

  it("refuses without any hold start", async () => {
    const world = scaledDownWorld();
    await expect(deleteOldSide(request(statusAtFull()), providers(world), journal())).rejects.toThrow(
      "no hold start recorded (status decommission.holdStartedAt is absent): run stage scale-down first",
    );
  });

  it("deletes the service without force and deregisters only its family's revisions", async () => {
    const world = scaledDownWorld();
    const result = await deleteOldSide(request(heldStatus()), providers(world), journal());
    expect(world.mutations()).toEqual(["DeleteService", "DeregisterTaskDefinition"]);
    expect(world.calls[0]?.input).toEqual({ cluster: "prod", service: "orders-api", force: false });
    expect(result.deregistered).toEqual([taskDefinitionArn(7)]);
    expect(result.decommission).toEqual({
      stage: "deleted",
      holdStartedAt: HOLD_START,
      desiredCountBefore: 3,
      deletedAt: NOW.toISOString(),
    });
    expect(result.leftovers.map((left) => left.resource)).toEqual([
      "Route 53 weighted record (old side)",
      "Application Load Balancer",
      "Target group",
      "Alarms and dashboard widgets of the old side",
      "ECR repository",
      "ECS service deploy permissions",
    ]);
  });

  it("keeps the task definitions when deregistration is turned off", async () => {
    const world = scaledDownWorld();
    const result = await deleteOldSide(
      request(heldStatus(), { deregisterTaskDefinitions: false }),
      providers(world),
      journal(),
    );
    expect(world.mutations()).toEqual(["DeleteService"]);
    expect(result.deregistered).toEqual([]);
  });

  it("uses the hold-started-at input before the status recorded the hold", async () => {
    const world = scaledDownWorld();
    const result = await deleteOldSide(
      request(statusAtFull(), { holdStartedAt: new Date(HOLD_START) }),
      providers(world),
      journal(),
    );
    expect(result.decommission.holdStartedAt).toBe(HOLD_START);
    expect(result.preconditions.find((check) => check.name === "hold-elapsed")?.detail).toContain(
      "input hold-started-at",
    );
  });

  it("is a no-op on a service already deleted, still listing what remains", async () => {
    const world = scaledDownWorld();
    world.service!.status = "INACTIVE";
    const result = await deleteOldSide(
      request(heldStatus(), { deregisterTaskDefinitions: false }),
      providers(world),
      journal(),
    );
    expect(result.noOp).toBe(true);
    expect(world.mutations()).toEqual([]);
    expect(result.leftovers.length).toBeGreaterThan(3);
  });
});

describe("the decommission action", () => {
  function workspace(status?: MigrationStatus): string {
    const dir = mkdtempSync(join(tmpdir(), "cutover-decommission-"));
    writeFileSync(join(dir, "migrations.json"), JSON.stringify({ version: 1, migrations: [migration] }));
    if (status) {
      mkdirSync(join(dir, "status"));
      writeFileSync(join(dir, "status", "orders-api.json"), JSON.stringify(status));
    }
    return dir;
  }

  function environment(world: DeployWorld, dir: string) {
    const outputs = new Map<DecommissionOutput, unknown>();
    return {
      outputs,
      env: {
        run: { correlationId: "42-1", workspace: dir },
        log: { info: () => {}, warn: () => {} },
        setOutput: (name: DecommissionOutput, value: unknown) => outputs.set(name, value),
        clients: world.clients,
        now: () => NOW,
        stablePollSeconds: { min: 0.01, max: 0.05 },
      },
    };
  }

  it("publishes the checkpoint, the hold and the evidence after a scale-down", async () => {
    const world = new DeployWorld();
    const { outputs, env } = environment(world, workspace(statusAtFull()));
    const report = await runDecommission(
      { migration: "orders-api", stage: "scale-down", spec: "migrations.json", stableTimeoutSeconds: 5 },
      env,
    );
    expect(outputs.get("hold-started-at")).toBe(NOW.toISOString());
    expect(outputs.get("desired-count-before")).toBe(3);
    expect(outputs.get("checkpoint")).toMatchObject({ ecsDesiredCount: 3 });
    expect(outputs.get("evidence")).toMatchObject({ kind: "decommission", stage: "scale-down" });
    expect(report.headline).toContain("desiredCount 3 → 0");
    expect(report.tables?.[0]?.rows[1]).toEqual([
      "old-weight-zero",
      "yes",
      'old side weight is 0 % (record "ecs-fargate" weight 0, "lambda" weight 100)',
    ]);
  });

  it("fails with a report that shows every precondition's figures", async () => {
    const world = new DeployWorld();
    world.weights = { old: 10, new: 90 };
    const { outputs, env } = environment(world, workspace());
    const error = await runDecommission(
      { migration: "orders-api", stage: "scale-down", spec: "migrations.json", stableTimeoutSeconds: 5 },
      env,
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ActionRefusal);
    const refusal = error as ActionRefusal;
    expect(
      refusal.report?.found?.some((line) => line.startsWith("FAILS: old side weight is 10 %, must be 0")),
    ).toBe(true);
    expect(refusal.report?.next?.[0]).toContain("Nothing was changed");
    expect(refusal.report?.tables?.[0]?.caption).toBe("Preconditions");
    expect(refusal.report?.tables?.[0]?.rows).toContainEqual([
      "old-weight-zero",
      "NO",
      'old side weight is 10 %, must be 0 (record "ecs-fargate" weight 10, "lambda" weight 90); shift all traffic to the new side first',
    ]);
    expect(outputs.get("evidence")).toMatchObject({
      preconditions: expect.arrayContaining([expect.objectContaining({ ok: false })]),
    });
  });

  it("lists what remains for the infrastructure code after a delete", async () => {
    const world = scaledDownWorld();
    const { outputs, env } = environment(world, workspace(heldStatus()));
    const report = await runDecommission(
      { migration: "orders-api", stage: "delete", spec: "migrations.json", stableTimeoutSeconds: 5 },
      env,
    );
    const leftovers = report.tables?.find(
      (table) => table.caption === "What remains for the infrastructure code to remove",
    );
    expect(leftovers?.rows.map((row) => row[1])).toContain(
      "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api",
    );
    expect(outputs.get("deregistered-task-definitions")).toEqual([taskDefinitionArn(7)]);
    expect(outputs.get("decommission")).toMatchObject({ stage: "deleted" });
  });
});
