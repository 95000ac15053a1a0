// The bundled shift-traffic and record-state, run as the runner runs them,
// against the sandbox: the shift is announced to a signed loopback webhook
// and to the sandbox's SNS topic; the secrets are masked before anything
// logs; a sink that fails is warned, leaves the shift in place, and is in
// the step's notifications output, which record-state writes into the history.
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import type { Migration } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import type { CloudEvent } from "../../src/notify/events.js";
import { referenceMigration } from "../fixtures/traffic/migration.js";
import { trafficSeed } from "../fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { runBundledAction } from "../support/run-action.js";
import { type Receiver, startReceiver } from "./receiver.js";

const SECRET = "whsec_bundled_key_0123456789";
let sandbox: Sandbox;
let topicArn: string;
let hook: Receiver;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: trafficSeed(), alarmEvaluationIntervalMs: 0 });
  const sns = new SNSClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY!,
    },
  });
  topicArn = (await sns.send(new CreateTopicCommand({ Name: "cutover-ops" }))).TopicArn!;
  sns.destroy();
});

afterAll(async () => {
  await sandbox.close();
});

afterEach(async () => {
  await hook?.close();
});

function notifyingMigration(): Migration {
  return {
    ...referenceMigration(),
    notifications: {
      sinks: [
        {
          kind: "webhook",
          name: "change-log",
          url: { secret: "HOOK_URL" },
          signingSecret: { secret: "HOOK_KEY" },
        },
        {
          kind: "sns",
          name: "ops-topic",
          topicArn,
          filter: { events: ["shift-applied", "rollback-completed"] },
        },
      ],
    },
  };
}

function baking(newPercent: number): MigrationStatus {
  return {
    version: 2,
    migration: "orders-api",
    phase: "canary-10",
    state: "baking",
    weights: { old: 100 - newPercent, new: newPercent },
    checkpoints: [],
    timestamps: { updatedAt: new Date().toISOString() },
    history: [],
  };
}

describe("notifications from the bundled actions", () => {
  it("announce a shift to a signed webhook and to SNS, masking the secrets", async () => {
    hook = await startReceiver({ secret: SECRET });
    const workspace = new TrafficWorkspace(notifyingMigration());
    workspace.writeStatus(baking(0));
    const run = await runBundledAction("shift-traffic", {
      inputs: {
        migration: "orders-api",
        weight: "10",
        "notification-secrets": `HOOK_URL=${hook.url}\nHOOK_KEY=${SECRET}`,
      },
      env: sandbox.env,
      workspace: workspace.dir,
      timeoutMs: 60_000,
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.signature?.ok).toBe(true);
    const envelope = JSON.parse(hook.received[0]!.body) as CloudEvent;
    expect(envelope).toMatchObject({
      type: "dev.cutover.shift-applied",
      source: "https://github.com/example/platform",
      correlationid: "4242-1",
      data: { weights: { before: { old: 100, new: 0 }, after: { old: 90, new: 10 } } },
    });
    const published = sandbox.sns.published(topicArn);
    expect(published).toHaveLength(1);
    expect((JSON.parse(published[0]!.message) as CloudEvent).id).toBe(envelope.id);
    // The runner hides every value it was asked to mask; both were, before any line could print them.
    expect(run.stdout).toContain(`::add-mask::${SECRET}`);
    expect(run.stdout).toContain(`::add-mask::${hook.url}`);
    const deliveries = JSON.parse(run.outputs.notifications ?? "[]") as {
      sink: string;
      delivered: boolean;
    }[];
    expect(deliveries.map((delivery) => [delivery.sink, delivery.delivered])).toEqual(
      expect.arrayContaining([
        ["change-log", true],
        ["ops-topic", true],
      ]),
    );
    expect(run.summary).toContain("#### Notifications");
  });

  it("shift anyway when the webhook keeps answering 500, warn, and give the failure to record-state in the output", async () => {
    hook = await startReceiver({ secret: SECRET });
    hook.script(...Array.from({ length: 10 }, () => ({ status: 500 })));
    const workspace = new TrafficWorkspace(notifyingMigration());
    workspace.writeStatus(baking(10));
    const run = await runBundledAction("shift-traffic", {
      inputs: {
        migration: "orders-api",
        weight: "20",
        "notification-secrets": `HOOK_URL=${hook.url}\nHOOK_KEY=${SECRET}`,
      },
      env: { ...sandbox.env },
      workspace: workspace.dir,
      timeoutMs: 90_000,
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.outputs.weights!)).toEqual({ old: 80, new: 20 });
    expect(run.stdout).toMatch(/::warning::.*could not notify change-log of shift-applied/);
    const deliveries = JSON.parse(run.outputs.notifications!) as { sink: string; delivered: boolean }[];
    expect(deliveries.find((delivery) => delivery.sink === "change-log")?.delivered).toBe(false);
    expect(run.summary).toMatch(/1 notification could not be delivered \(change-log\); the step went on/);
  });
});
