// The guardian announces the rollback it made, from its own environment's
// sinks (a signed webhook here), correlated by the alarm's journal entry id;
// a sink that fails changes nothing about the rollback.
import { afterEach, describe, expect, it } from "vitest";
import { buildCheckpointDocument } from "../../src/core/aws-checkpoint.js";
import { type GuardianConfig, handleAlarmEvent } from "../../src/guardian/handler.js";
import type { CloudEvent } from "../../src/notify/events.js";
import { GUARDIAN_NOTIFY_ENV, guardianAnnouncer, guardianSinks } from "../../src/notify/guardian.js";
import { createSinkTransport } from "../../src/providers/notification-transports.js";
import { MemoryCheckpointStore } from "../fixtures/guardian/memory-store.js";
import { NOW, RecordingLog, referenceMigration, statusAt } from "../fixtures/traffic/migration.js";
import { pairCheckpoint, TrafficWorld, weightedPair } from "../fixtures/traffic/world.js";
import { type Receiver, startReceiver } from "./receiver.js";

const SECRET = "whsec_guardian_key";
const ALARM = "cutover-production-orders-api-standard-error-rate-rollback-max";
const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

const config: GuardianConfig = {
  store: "s3://cutover-checkpoints/",
  environment: "production",
  migrations: ["orders-api"],
  target: "checkpoint",
  insyncTimeoutSeconds: 5,
  stableTimeoutSeconds: 5,
};

function alarmEvent() {
  return {
    version: "0",
    id: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
    "detail-type": "CloudWatch Alarm State Change",
    source: "aws.cloudwatch",
    account: "123456789012",
    time: "2026-03-02T10:00:00Z",
    region: "us-east-1",
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${ALARM}`],
    detail: {
      alarmName: ALARM,
      state: { value: "ALARM", reason: "Threshold Crossed", timestamp: "2026-03-02T10:00:00.000+0000" },
      previousState: { value: "OK", timestamp: "2026-03-02T09:00:00.000+0000" },
      configuration: { metrics: [] },
    },
  };
}

function guarded(env: Record<string, string>) {
  const world = new TrafficWorld(weightedPair(50, 50));
  const store = new MemoryCheckpointStore();
  store.seed(
    buildCheckpointDocument({
      migration: referenceMigration(),
      status: statusAt("canary-50", { old: 50, new: 50 }, [
        pairCheckpoint("staging", 0, { lambdaVersion: "5", ecsDesiredCount: 2 }),
        pairCheckpoint("canary-10", 10, { lambdaVersion: "5", ecsDesiredCount: 2 }),
      ]),
      writer: "shift-traffic run 1-1",
      now: NOW,
      appliedAt: new Date("2026-03-02T09:00:00.000Z"),
    }),
  );
  const log = new RecordingLog();
  const announce = guardianAnnouncer(
    { AWS_REGION: "us-east-1", AWS_LAMBDA_FUNCTION_NAME: "cutover-guardian", ...env },
    createSinkTransport,
    log,
    { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, totalBudgetMs: 6000, attemptTimeoutMs: 1500 },
  );
  const handle = () =>
    handleAlarmEvent(alarmEvent(), {
      config,
      store,
      clients: world.clients,
      log,
      now: () => NOW,
      ...(announce ? { announce } : {}),
    });
  return { world, handle, log };
}

describe("the guardian's notifications", () => {
  it("come from its environment: an SNS topic and a signed webhook, none when nothing is set", () => {
    expect(guardianSinks({})).toEqual([]);
    expect(
      guardianSinks({
        [GUARDIAN_NOTIFY_ENV.snsTopicArn]: "arn:aws:sns:us-east-1:123456789012:ops",
        [GUARDIAN_NOTIFY_ENV.webhookUrl]: "https://hooks.example.com/cutover",
      }).map((sink) => sink.kind),
    ).toEqual(["sns", "webhook"]);
  });

  it("announce the rollback with origin guardian and the alarm's entry id as correlation id", async () => {
    const hook = await startReceiver({ secret: SECRET });
    receivers.push(hook);
    const { handle, world } = guarded({
      [GUARDIAN_NOTIFY_ENV.webhookUrl]: hook.url,
      [GUARDIAN_NOTIFY_ENV.webhookSecret]: SECRET,
    });
    const outcome = await handle();
    expect(outcome.outcome).toBe("rolled-back");
    expect(world.weightOf("lambda")).toBe(10);
    expect(outcome.notifications).toEqual([
      expect.objectContaining({ sink: "guardian-webhook", delivered: true }),
    ]);
    expect(hook.received[0]!.signature?.ok).toBe(true);
    const envelope = JSON.parse(hook.received[0]!.body) as CloudEvent;
    expect(envelope).toMatchObject({
      type: "dev.cutover.rollback-completed",
      source: "urn:cutover:guardian:us-east-1:cutover-guardian",
      correlationid: outcome.entry,
      data: {
        rollback: { origin: "guardian", reason: expect.stringContaining(ALARM) },
        weights: { before: { old: 50, new: 50 }, after: { old: 90, new: 10 } },
      },
    });
  });

  it("still roll back when the webhook fails, and log why", async () => {
    const hook = await startReceiver({ secret: SECRET });
    receivers.push(hook);
    hook.script({ status: 503 }, { status: 503 });
    const { handle, world, log } = guarded({
      [GUARDIAN_NOTIFY_ENV.webhookUrl]: hook.url,
      [GUARDIAN_NOTIFY_ENV.webhookSecret]: SECRET,
    });
    const outcome = await handle();
    expect(outcome.outcome).toBe("rolled-back");
    expect(world.weightOf("lambda")).toBe(10);
    expect(outcome.notifications).toEqual([expect.objectContaining({ delivered: false, attempts: 2 })]);
    expect(log.lines.join("\n")).toMatch(/warn could not notify guardian-webhook of rollback-completed/);
  });
});
