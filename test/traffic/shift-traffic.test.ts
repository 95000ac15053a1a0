import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ActionRefusal } from "../../src/action/run.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { OperationRefusal } from "../../src/ops/journal.js";
import {
  resolveShiftPercent,
  runShiftTraffic,
  type ShiftTarget,
  shiftTraffic,
} from "../../src/ops/shift-traffic.js";
import { createTrafficProviders } from "../../src/ops/traffic.js";
import { journal, NOW, RecordingLog, referenceMigration, statusAt } from "../fixtures/traffic/migration.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { checkpointRecords, TrafficWorld, weightedPair } from "../fixtures/traffic/world.js";

const migration = referenceMigration();

function shiftIn(
  world: TrafficWorld,
  target: ShiftTarget,
  status: MigrationStatus = statusAt("staging", { old: 100, new: 0 }),
) {
  const log = journal();
  const run = shiftTraffic(
    { migration, status, target, insyncTimeoutSeconds: 5, requestedBy: "test", now: () => NOW },
    createTrafficProviders(migration, world.clients),
    log,
  );
  return { run, journal: log };
}

describe("resolveShiftPercent", () => {
  it("takes a weight as given and a phase from its shift step", () => {
    expect(resolveShiftPercent(migration, { kind: "weight", percent: 25 })).toEqual({
      percent: 25,
      source: "input weight 25 %",
    });
    expect(resolveShiftPercent(migration, { kind: "phase", phase: "canary-50" }).percent).toBe(50);
    expect(resolveShiftPercent(migration, { kind: "phase", phase: "full" }).percent).toBe(100);
  });

  it("refuses an unknown phase, listing the phases and their weights", () => {
    expect(() => resolveShiftPercent(migration, { kind: "phase", phase: "canary-25" })).toThrow(
      'input "phase": "canary-25" is not a phase of orders-api; its phases are staging (no shift), canary-10 (10 %), canary-50 (50 %), full (100 %), decommission (no shift)',
    );
  });

  it("refuses a phase without a shift step", () => {
    expect(() => resolveShiftPercent(migration, { kind: "phase", phase: "staging" })).toThrow(
      'phase "staging" of orders-api has no shift step',
    );
  });

  it("refuses a weight out of range", () => {
    expect(() => resolveShiftPercent(migration, { kind: "weight", percent: 120 })).toThrow(OperationRefusal);
    expect(() => resolveShiftPercent(migration, { kind: "weight", percent: -5 })).toThrow(
      "not a whole percent from 0 to 100",
    );
  });
});

describe("shiftTraffic", () => {
  it("moves 0 → 10 in one change, checkpoints the state before, and starts the gate window at INSYNC + TTL", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    const { run } = shiftIn(world, { kind: "phase", phase: "canary-10" });
    const move = await run;
    expect(move.noOp).toBe(false);
    expect(move.previousWeights).toEqual({ old: 100, new: 0 });
    expect(move.weights).toEqual({ old: 90, new: 10 });
    expect(world.changeBatches).toHaveLength(1);
    expect(world.weightOf("ecs-fargate")).toBe(90);
    expect(world.weightOf("lambda")).toBe(10);
    expect(move.checkpoint).toMatchObject({
      phase: "staging",
      takenAt: NOW.toISOString(),
      weights: { old: 100, new: 0 },
      lambdaVersion: "5",
      ecsDesiredCount: 2,
    });
    expect(
      checkpointRecords(move.checkpoint)?.map((record) => [record.setIdentifier, record.weight]),
    ).toEqual([
      ["ecs-fargate", 100],
      ["lambda", 0],
    ]);
    // The old record is an alias (60 s), the new one has TTL 30: the longer wins.
    expect(move.gateWindowStart.getTime() - move.insyncAt!.getTime()).toBe(60_000);
    expect(world.changeBatches[0]!.ChangeBatch?.Comment).toContain(
      "cutover orders-api: new 10% old 90% (phase canary-10 shift step 10 %)",
    );
  });

  it("is a no-op that says so when the records already hold the target", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    const status: MigrationStatus = {
      ...statusAt("canary-50", { old: 50, new: 50 }),
      timestamps: { updatedAt: NOW.toISOString(), gateWindowStartsAt: "2026-03-01T08:00:00.000Z" },
    };
    const { run, journal: log } = shiftIn(world, { kind: "weight", percent: 50 }, status);
    const move = await run;
    expect(move.noOp).toBe(true);
    expect(move.change).toBeUndefined();
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
    expect(move.gateWindowStart.toISOString()).toBe("2026-03-01T08:00:00.000Z");
    expect(log.done).toContain("Nothing to change: the router already holds old 50 % / new 50 %.");
  });

  it("on a re-run after an unrecorded shift, checkpoints what the status last recorded, not the target", async () => {
    // Run 1 submitted 90/10 and died before recording it: the records hold the target, the status 100/0.
    const world = new TrafficWorld(weightedPair(90, 10));
    const status = statusAt("staging", { old: 100, new: 0 });
    const move = await shiftIn(world, { kind: "phase", phase: "canary-10" }, status).run;
    expect(move.noOp).toBe(true);
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
    expect(move.checkpoint).toMatchObject({ phase: "staging", weights: { old: 100, new: 0 } });
    // No record snapshot: its weights are the target's, and a rollback must not restore them.
    expect(move.checkpoint.router).toBeUndefined();
  });

  it("refuses to move weight onto a Lambda side that is mid-update, changing nothing", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    world.lambda.lastUpdateStatus = "InProgress";
    const { run } = shiftIn(world, { kind: "weight", percent: 10 });
    await expect(run).rejects.toThrow(
      "will not move traffic onto the new side (0 % → 10 %): Lambda orders-api:live cannot serve: LastUpdateStatus InProgress",
    );
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
  });

  it("refuses to move weight onto a missing Lambda alias", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    world.lambda.aliasVersion = undefined;
    await expect(shiftIn(world, { kind: "weight", percent: 10 }).run).rejects.toThrow(
      "the alias does not exist",
    );
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
  });

  it("refuses to move weight back onto an ECS side mid-deployment", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    world.ecs.deployments = 2;
    const { run } = shiftIn(
      world,
      { kind: "weight", percent: 10 },
      statusAt("canary-50", { old: 50, new: 50 }),
    );
    await expect(run).rejects.toThrow(
      /onto the old side \(50 % → 90 %\): ECS service prod\/orders-api cannot serve: mid-deployment/,
    );
    expect(world.weightOf("lambda")).toBe(50);
  });

  it("moves weight away from a side that cannot serve", async () => {
    const world = new TrafficWorld(weightedPair(50, 50));
    world.lambda.lastUpdateStatus = "InProgress";
    const move = await shiftIn(
      world,
      { kind: "weight", percent: 10 },
      statusAt("canary-50", { old: 50, new: 50 }),
    ).run;
    expect(move.weights).toEqual({ old: 90, new: 10 });
  });

  it("refuses when the pair is incomplete, before any readiness decision changes anything", async () => {
    const world = new TrafficWorld(weightedPair(100, 0).slice(0, 1));
    await expect(shiftIn(world, { kind: "weight", percent: 10 }).run).rejects.toThrow(
      'no record with SetIdentifier "lambda"',
    );
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
  });

  it("notes drift when the records disagree with the status", async () => {
    const world = new TrafficWorld(weightedPair(70, 30));
    const { run, journal: log } = shiftIn(
      world,
      { kind: "weight", percent: 50 },
      statusAt("canary-10", { old: 90, new: 10 }),
    );
    await run;
    expect(log.found.join("\n")).toContain(
      "The router (old 70 % / new 30 %) differs from the status (old 90 % / new 10 %)",
    );
  });

  it("rewrites records Route 53 reads as an equal split into explicit weights", async () => {
    const world = new TrafficWorld(weightedPair(0, 0));
    const move = await shiftIn(
      world,
      { kind: "weight", percent: 50 },
      statusAt("canary-50", { old: 50, new: 50 }),
    ).run;
    expect(move.previousWeights).toEqual({ old: 50, new: 50 });
    expect(move.noOp).toBe(false);
    expect([world.weightOf("ecs-fargate"), world.weightOf("lambda")]).toEqual([50, 50]);
  });
});

describe("runShiftTraffic", () => {
  function workspace(status?: MigrationStatus): string {
    const created = new TrafficWorkspace(migration);
    if (status) created.writeStatus(status);
    return created.dir;
  }

  function environment(world: TrafficWorld, dir: string) {
    const outputs: Record<string, unknown> = {};
    return {
      outputs,
      env: {
        run: { correlationId: "9-1", workspace: dir },
        log: new RecordingLog(),
        setOutput: (name: string, value: unknown) => {
          outputs[name] = value;
        },
        clients: world.clients,
        now: () => NOW,
      },
    };
  }

  it("publishes every output and a summary with the records and timings", async () => {
    const world = new TrafficWorld(weightedPair(90, 10));
    const dir = workspace(statusAt("canary-10", { old: 90, new: 10 }));
    const { outputs, env } = environment(world, dir);
    const report = await runShiftTraffic(
      {
        migration: "orders-api",
        target: { kind: "phase", phase: "canary-50" },
        spec: "migrations.json",
        insyncTimeoutSeconds: 5,
      },
      env,
    );
    expect(outputs["previous-weights"]).toEqual({ old: 90, new: 10 });
    expect(outputs.weights).toEqual({ old: 50, new: 50 });
    expect(outputs["change-id"]).toBe("C0001");
    expect(outputs["no-op"]).toBe(false);
    expect(outputs["insync-at"]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((outputs.checkpoint as { phase: string }).phase).toBe("canary-10");
    expect(report.tables?.[0]?.rows[1]).toEqual([
      "ecs-fargate",
      "old",
      "90",
      "50",
      "90 % → 50 %",
      "alias orders-api-123.us-east-1.elb.amazonaws.com., health check hc-old-1",
    ]);
    expect(report.tables?.[1]?.rows.map((row) => row[0])).toEqual([
      "Step",
      "load spec and status",
      "read records and sides",
      "submit change",
      "wait INSYNC",
    ]);
    expect(report.next?.[0]).toContain("status/orders-api.json");
  });

  it("turns a refusal into a failed step with a summary of what was found", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    world.lambda.state = "Pending";
    const dir = workspace();
    const { outputs, env } = environment(world, dir);
    const error = await runShiftTraffic(
      {
        migration: "orders-api",
        target: { kind: "weight", percent: 10 },
        spec: "migrations.json",
        insyncTimeoutSeconds: 5,
      },
      env,
    ).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ActionRefusal);
    const refusal = error as ActionRefusal;
    expect(refusal.message).toContain("function State Pending, not Active");
    expect(refusal.report?.found?.join("\n")).toContain("Traffic now: old 100 % / new 0 %.");
    expect(refusal.report?.next).toEqual([
      "Nothing was changed. Fix what the message names, then re-run shift-traffic.",
    ]);
    expect(outputs).toEqual({});
  });

  it("names the migration ids when the migration is unknown", async () => {
    const world = new TrafficWorld();
    const { env } = environment(world, workspace());
    await expect(
      runShiftTraffic(
        {
          migration: "payments",
          target: { kind: "weight", percent: 10 },
          spec: "migrations.json",
          insyncTimeoutSeconds: 5,
        },
        env,
      ),
    ).rejects.toThrow('input "migration": no migration "payments" in');
  });

  it("refuses on an invalid spec, listing the validation errors", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    const dir = workspace();
    rmSync(join(dir, "load-tests", "smoke.yml"));
    const { env } = environment(world, dir);
    await expect(
      runShiftTraffic(
        {
          migration: "orders-api",
          target: { kind: "weight", percent: 10 },
          spec: "migrations.json",
          insyncTimeoutSeconds: 5,
        },
        env,
      ),
    ).rejects.toThrow(/is not valid \(1 error\):[\s\S]*smoke\.yml/);
    expect(world.count("route53:ChangeResourceRecordSets")).toBe(0);
  });

  it("publishes the change id even when INSYNC does not come in time", async () => {
    const world = new TrafficWorld(weightedPair(100, 0));
    world.pendingPolls = 1_000_000;
    const { outputs, env } = environment(world, workspace());
    const error = await runShiftTraffic(
      {
        migration: "orders-api",
        target: { kind: "weight", percent: 10 },
        spec: "migrations.json",
        insyncTimeoutSeconds: 1,
      },
      env,
    ).then(
      () => undefined,
      (thrown: unknown) => thrown as ActionRefusal,
    );
    expect(error?.message).toContain("was not INSYNC within 1 s");
    expect(outputs["change-id"]).toBe("C0001");
    expect((outputs.checkpoint as { weights: unknown }).weights).toEqual({ old: 100, new: 0 });
    expect(error?.report?.next?.[0]).toContain("The change was submitted");
  });
});
