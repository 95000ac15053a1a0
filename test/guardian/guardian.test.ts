import { describe, expect, it } from "vitest";
import { buildCheckpointDocument } from "../../src/core/aws-checkpoint.js";
import {
  alarmEntryId,
  GuardianRefusal,
  migrationOfAlarm,
  readAlarmEvent,
} from "../../src/guardian/alarm-event.js";
import { type GuardianConfig, handleAlarmEvent, readGuardianConfig } from "../../src/guardian/handler.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { MemoryCheckpointStore } from "../fixtures/guardian/memory-store.js";
import { NOW, RecordingLog, referenceMigration, statusAt } from "../fixtures/traffic/migration.js";
import { pairCheckpoint, TrafficWorld, weightedPair } from "../fixtures/traffic/world.js";

const migration = referenceMigration();
const ALARM = "cutover-production-orders-api-standard-error-rate-rollback-max";

function alarmEvent(overrides: { state?: string; timestamp?: string; name?: string } = {}) {
  return {
    version: "0",
    id: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
    "detail-type": "CloudWatch Alarm State Change",
    source: "aws.cloudwatch",
    account: "123456789012",
    time: "2026-03-02T10:00:00Z",
    region: "us-east-1",
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${overrides.name ?? ALARM}`],
    detail: {
      alarmName: overrides.name ?? ALARM,
      state: {
        value: overrides.state ?? "ALARM",
        reason:
          "Threshold Crossed: 3 out of the last 3 datapoints [0.031 (02/03/26 09:59:50)] were greater than the threshold (0.02).",
        reasonData: '{"version":"1.0","recentDatapoints":[0.031,0.034,0.04],"threshold":0.02}',
        timestamp: overrides.timestamp ?? "2026-03-02T10:00:00.000+0000",
      },
      previousState: { value: "OK", timestamp: "2026-03-02T09:00:00.000+0000" },
      configuration: { metrics: [] },
    },
  };
}

const checkpoint = pairCheckpoint;

const atCanary50 = (): MigrationStatus =>
  statusAt("canary-50", { old: 50, new: 50 }, [
    checkpoint("staging", 0, { lambdaVersion: "5", ecsDesiredCount: 2 }),
    checkpoint("canary-10", 10, { lambdaVersion: "5", ecsDesiredCount: 2 }),
  ]);

const config: GuardianConfig = {
  store: "s3://cutover-checkpoints/",
  environment: "production",
  migrations: ["orders", "orders-api"],
  target: "checkpoint",
  insyncTimeoutSeconds: 5,
  stableTimeoutSeconds: 5,
};

function guarded(status: MigrationStatus = atCanary50(), records = weightedPair(50, 50)) {
  const world = new TrafficWorld(records);
  const store = new MemoryCheckpointStore();
  store.seed(
    buildCheckpointDocument({
      migration,
      status,
      writer: "shift-traffic run 1-1",
      now: NOW,
      appliedAt: new Date("2026-03-02T09:00:00.000Z"),
    }),
  );
  const log = new RecordingLog();
  const handle = (event: unknown) =>
    handleAlarmEvent(event, { config, store, clients: world.clients, log, now: () => NOW });
  return { world, store, log, handle };
}

describe("the guardian", () => {
  it("restores the last checkpoint on ALARM in one change, journals it with the alarm's evidence and holds further shifts", async () => {
    const { world, store, handle } = guarded();
    const outcome = await handle(alarmEvent());
    expect(outcome.outcome).toBe("rolled-back");
    expect(outcome.migration).toBe("orders-api");
    expect(world.weightOf("ecs-fargate")).toBe(90);
    expect(world.weightOf("lambda")).toBe(10);
    expect(world.changeBatches).toHaveLength(1);
    const [entry] = (await store.listJournal("orders-api")).entries;
    expect(entry).toMatchObject({
      by: "guardian",
      outcome: "rolled-back",
      before: { old: 50, new: 50 },
      after: { old: 90, new: 10 },
      target: "last-checkpoint",
      trigger: { kind: "alarm", alarm: { name: ALARM, state: "ALARM" } },
    });
    expect(entry!.changeId).toBe("C0001");
    expect((entry!.trigger.alarm!.reasonData as { recentDatapoints: number[] }).recentDatapoints).toEqual([
      0.031, 0.034, 0.04,
    ]);
    const document = store.document("orders-api")!;
    expect(document.rolledBack).toMatchObject({
      entry: entry!.id,
      by: "guardian",
      weights: { old: 90, new: 10 },
    });
    expect(document.applied).toMatchObject({ state: "rolled-back", weights: { old: 90, new: 10 } });
    expect(document.sequence).toBe(2);
  });

  it("makes one change for a duplicate event, delivered again or at the same time", async () => {
    const { world, store, handle } = guarded();
    const [first, second] = await Promise.all([handle(alarmEvent()), handle(alarmEvent())]);
    const third = await handle(alarmEvent());
    const outcomes = [first.outcome, second.outcome, third.outcome];
    expect(outcomes.filter((outcome) => outcome === "rolled-back")).toHaveLength(1);
    expect(third.outcome).toBe("duplicate");
    // The second concurrent delivery's batch was refused by the compare-and-swap; it then found nothing to do.
    expect(outcomes.filter((outcome) => outcome === "no-op" || outcome === "duplicate")).toHaveLength(2);
    expect(world.weightOf("ecs-fargate")).toBe(90);
    const { entries } = await store.listJournal("orders-api");
    expect(entries).toHaveLength(1);
    expect(entries[0]!.before).toEqual({ old: 50, new: 50 });
  });

  it("ignores an alarm that entered ALARM before the weights it would undo took effect", async () => {
    const { world, handle } = guarded();
    const outcome = await handle(alarmEvent({ timestamp: "2026-03-02T08:00:00.000+0000" }));
    expect(outcome.outcome).toBe("stale");
    expect(world.changeBatches).toHaveLength(0);
  });

  it("ignores OK and INSUFFICIENT_DATA", async () => {
    const { world, handle } = guarded();
    expect((await handle(alarmEvent({ state: "OK" }))).outcome).toBe("ignored");
    expect(world.changeBatches).toHaveLength(0);
  });

  it("scales an old side at zero up and waits until stable before any weight returns to it", async () => {
    const decommissioning: MigrationStatus = {
      ...statusAt("decommission", { old: 0, new: 100 }, [checkpoint("full", 100)]),
      state: "decommissioning",
      decommission: {
        stage: "scaled-down",
        holdStartedAt: "2026-03-01T00:00:00.000Z",
        desiredCountBefore: 3,
      },
    };
    const { world, handle } = guarded(decommissioning, weightedPair(0, 100));
    world.ecs = { status: "ACTIVE", desiredCount: 0, runningCount: 0, deployments: 1, pollsToConverge: 1 };
    const outcome = await handle(alarmEvent());
    expect(outcome.outcome).toBe("rolled-back");
    const scaled = world.calls.indexOf("ecs:UpdateService");
    const changed = world.calls.indexOf("route53:ChangeResourceRecordSets");
    expect(scaled).toBeGreaterThanOrEqual(0);
    expect(changed).toBeGreaterThan(scaled);
    expect(world.ecs.desiredCount).toBe(3);
    expect(world.weightOf("ecs-fargate")).toBe(100);
  });

  it("wins against a shift that lands while it rolls back: it reads again and restores", async () => {
    const { world, handle } = guarded();
    // Another writer moves the records between the guardian's read and its change.
    let moved = false;
    world.beforeCall("route53:ChangeResourceRecordSets", () => {
      if (moved) return;
      moved = true;
      world.setWeights({ "ecs-fargate": 0, lambda: 100 });
    });
    const outcome = await handle(alarmEvent());
    expect(outcome.outcome).toBe("rolled-back");
    expect(world.weightOf("ecs-fargate")).toBe(90);
    expect(world.weightOf("lambda")).toBe(10);
  });

  it("waits for a change another run announced and has not landed yet, then rolls it back too", async () => {
    const { world, store, handle } = guarded(atCanary50(), weightedPair(90, 10));
    // The shift to 50 % announced its change on the checkpoint; Route 53 still holds 90/10.
    const announced = store.document("orders-api")!;
    store.seed({
      ...announced,
      inFlight: {
        writer: "shift-traffic run 7-1",
        action: "shift-traffic",
        startedAt: "2026-03-02T09:59:00.000Z",
        target: { old: 50, new: 50 },
        detail: "new side 50 %",
      },
    });
    const landing = setTimeout(() => world.setWeights({ "ecs-fargate": 50, lambda: 50 }), 700);
    try {
      const outcome = await handle(alarmEvent());
      expect(outcome.outcome).toBe("rolled-back");
    } finally {
      clearTimeout(landing);
    }
    const [entry] = (await store.listJournal("orders-api")).entries;
    expect(entry).toMatchObject({ before: { old: 50, new: 50 }, after: { old: 90, new: 10 } });
    expect(world.weightOf("lambda")).toBe(10);
  });

  it("changes nothing and throws for an unknown migration, a missing or malformed checkpoint, or a side that cannot serve", async () => {
    const unknown = guarded();
    await expect(
      unknown.handle(alarmEvent({ name: "cutover-production-billing-standard-x-rollback-max" })),
    ).rejects.toThrow(GuardianRefusal);
    const missing = guarded();
    missing.store.texts.clear();
    await expect(missing.handle(alarmEvent())).rejects.toThrow(
      /no checkpoint at memory:\/\/checkpoints\/orders-api.json/,
    );
    const malformed = guarded();
    malformed.store.texts.set("orders-api", {
      text: '{"format":"cutover.aws-checkpoint/1","migration":"orders-api"}',
      version: 1,
    });
    await expect(malformed.handle(alarmEvent())).rejects.toThrow(/\$\.sequence must be a whole number/);
    const broken = guarded();
    broken.world.ecs = {
      status: "ACTIVE",
      desiredCount: 2,
      runningCount: 0,
      deployments: 1,
      pollsToConverge: 99,
    };
    await expect(broken.handle(alarmEvent())).rejects.toThrow(/cannot serve/);
    for (const { world } of [unknown, missing, malformed, broken])
      expect(world.changeBatches).toHaveLength(0);
  });
});

describe("alarm events", () => {
  it("reads AWS's event shape and refuses others, naming what is wrong", () => {
    expect(readAlarmEvent(alarmEvent())).toMatchObject({ alarmName: ALARM, state: "ALARM" });
    expect(() =>
      readAlarmEvent({ source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification" }),
    ).toThrow(/acts only on aws.cloudwatch/);
    expect(() => readAlarmEvent({ ...alarmEvent(), detail: {} })).toThrow(/lacks alarmName or state/);
  });

  it("picks the longest guarded id in the alarm's name", () => {
    expect(migrationOfAlarm(ALARM, ["orders", "orders-api"])).toBe("orders-api");
    expect(
      migrationOfAlarm("cutover-production-orders-standard-x-rollback-max", ["orders", "orders-api"]),
    ).toBe("orders");
  });

  it("gives every delivery of one state change the same entry id, and another state change another", () => {
    const one = readAlarmEvent(alarmEvent());
    const again = readAlarmEvent({ ...alarmEvent(), id: "another-delivery" });
    const later = readAlarmEvent(alarmEvent({ timestamp: "2026-03-02T11:00:00.000+0000" }));
    expect(alarmEntryId(one)).toBe(alarmEntryId(again));
    expect(alarmEntryId(one)).not.toBe(alarmEntryId(later));
  });

  it("reads its configuration from the environment, naming a bad variable", () => {
    expect(
      readGuardianConfig({ CUTOVER_CHECKPOINT_STORE: "s3://b/", CUTOVER_MIGRATIONS: "a, b" }).migrations,
    ).toEqual(["a", "b"]);
    expect(() => readGuardianConfig({ CUTOVER_MIGRATIONS: "a" })).toThrow(
      /CUTOVER_CHECKPOINT_STORE is not set/,
    );
    expect(() =>
      readGuardianConfig({
        CUTOVER_CHECKPOINT_STORE: "s3://b/",
        CUTOVER_MIGRATIONS: "a",
        CUTOVER_GUARDIAN_TARGET: "promote",
      }),
    ).toThrow(/give "checkpoint" or "all-old"/);
  });
});
