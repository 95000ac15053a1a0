// The operations announce at their call sites; a sink that fails never fails
// or blocks the step, and its failure reaches the summary, the output and,
// through record-state, the status history.
import { afterEach, describe, expect, it } from "vitest";
import { validateStatusText } from "../../src/core/validate.js";
import type { Migration } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { ActionNotifications } from "../../src/notify/action.js";
import type { DeliveryRecord } from "../../src/notify/announcer.js";
import type { CloudEvent } from "../../src/notify/events.js";
import { applyRecord } from "../../src/ops/record-state.js";
import { runRollback } from "../../src/ops/rollback.js";
import { runShiftTraffic } from "../../src/ops/shift-traffic.js";
import { createSinkTransport } from "../../src/providers/notification-transports.js";
import { NOW, RecordingLog, referenceMigration, statusAt } from "../fixtures/traffic/migration.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { pairCheckpoint, TrafficWorld, weightedPair } from "../fixtures/traffic/world.js";
import { at, exampleMigration, shiftedAndBaking, stagingPassed } from "../gitops/statuses.js";
import { type Receiver, startReceiver } from "./receiver.js";

const SECRET = "whsec_operations_key";
const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

function withWebhook(): Migration {
  return {
    ...referenceMigration(),
    notifications: {
      sinks: [
        {
          kind: "webhook",
          name: "ops-hook",
          url: { secret: "HOOK_URL" },
          signingSecret: { secret: "HOOK_KEY" },
        },
      ],
    },
  };
}

function notificationsFor(hookUrl: string | undefined, log: RecordingLog, masked: string[]) {
  return new ActionNotifications({
    secretsInput: [hookUrl ? `HOOK_URL=${hookUrl}` : "", `HOOK_KEY=${SECRET}`].join("\n"),
    run: {
      correlationId: "9-1",
      workspace: "/unused",
      runUrl: "https://github.com/acme/platform/actions/runs/9",
      repository: "acme/platform",
    },
    log,
    mask: (value) => masked.push(value),
    transports: createSinkTransport,
    env: { GITHUB_RUN_ID: "9" },
    policy: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, totalBudgetMs: 6000, attemptTimeoutMs: 1500 },
  });
}

async function shift(notifications: ActionNotifications, workspace: TrafficWorkspace, world: TrafficWorld) {
  const outputs: Record<string, unknown> = {};
  const log = new RecordingLog();
  const report = await runShiftTraffic(
    {
      migration: "orders-api",
      target: { kind: "phase", phase: "canary-50" },
      spec: "migrations.json",
      insyncTimeoutSeconds: 5,
    },
    {
      run: {
        correlationId: "9-1",
        workspace: workspace.dir,
        runUrl: "https://github.com/acme/platform/actions/runs/9",
      },
      log,
      setOutput: (name, value) => {
        outputs[name] = value;
      },
      clients: world.clients,
      now: () => NOW,
      announcerFor: notifications.announcerFor,
    },
  );
  return { report, outputs };
}

describe("shift-traffic announces shift-applied", () => {
  it("sends the signed event with the weights before and after and lists it in the summary", async () => {
    const hook = await startReceiver({ secret: SECRET });
    receivers.push(hook);
    const workspace = new TrafficWorkspace(withWebhook());
    workspace.writeStatus(statusAt("canary-10", { old: 90, new: 10 }));
    const masked: string[] = [];
    const notifications = notificationsFor(hook.url, new RecordingLog(), masked);
    const { report, outputs } = await shift(notifications, workspace, new TrafficWorld(weightedPair(90, 10)));
    expect(outputs.weights).toEqual({ old: 50, new: 50 });
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.signature?.ok).toBe(true);
    const envelope = JSON.parse(hook.received[0]!.body) as CloudEvent;
    expect(envelope).toMatchObject({
      type: "dev.cutover.shift-applied",
      source: "https://github.com/acme/platform",
      subject: "orders-api",
      correlationid: "9-1",
      data: {
        phase: "canary-50",
        weights: { before: { old: 90, new: 10 }, after: { old: 50, new: 50 } },
        runUrl: "https://github.com/acme/platform/actions/runs/9",
        evidence: { changeId: "C0001" },
      },
    });
    const table = report.tables?.find((candidate) => candidate.caption === "Notifications");
    expect(table?.rows[1]).toEqual(["ops-hook (webhook)", "shift-applied", "delivered", "1", envelope.id]);
    expect(masked).toEqual(expect.arrayContaining([hook.url, SECRET]));
    let output = "";
    notifications.publish((value) => {
      output = value;
    });
    expect(JSON.parse(output)).toEqual([
      expect.objectContaining({ sink: "ops-hook", delivered: true, id: envelope.id }),
    ]);
  });

  it("still shifts when the receiver keeps failing, and says so in the summary and the log", async () => {
    const hook = await startReceiver({ secret: SECRET });
    receivers.push(hook);
    hook.script({ status: 500 }, { status: 500 }, { status: 500 });
    const workspace = new TrafficWorkspace(withWebhook());
    workspace.writeStatus(statusAt("canary-10", { old: 90, new: 10 }));
    const log = new RecordingLog();
    const notifications = notificationsFor(hook.url, log, []);
    const world = new TrafficWorld(weightedPair(90, 10));
    const { report, outputs } = await shift(notifications, workspace, world);
    expect(outputs.weights).toEqual({ old: 50, new: 50 });
    expect(world.weightOf("lambda")).toBe(50);
    expect(report.found?.join("\n")).toMatch(
      /1 notification could not be delivered \(ops-hook\); the step went on/,
    );
    expect(log.lines.join("\n")).toMatch(
      /warn could not notify ops-hook of shift-applied: gave up after 2 attempts; last: HTTP 500/,
    );
    expect(notifications.deliveries).toEqual([expect.objectContaining({ delivered: false, attempts: 2 })]);
  });

  it("still shifts when a secret is missing, and warns naming the secret", async () => {
    const workspace = new TrafficWorkspace(withWebhook());
    workspace.writeStatus(statusAt("canary-10", { old: 90, new: 10 }));
    const log = new RecordingLog();
    const notifications = notificationsFor(undefined, log, []);
    const { outputs } = await shift(notifications, workspace, new TrafficWorld(weightedPair(90, 10)));
    expect(outputs.weights).toEqual({ old: 50, new: 50 });
    expect(log.lines.join("\n")).toContain(
      'warn notification sink "ops-hook" cannot be used: the URL (secret HOOK_URL) is not set',
    );
  });
});

describe("rollback announces its start and its end", () => {
  it("is not held up by a sink that hangs on the start, and announces completion", async () => {
    const hook = await startReceiver({ secret: SECRET });
    receivers.push(hook);
    hook.scriptWhen((body) => body.includes('"dev.cutover.rollback-started"'), "hang", "hang");
    const workspace = new TrafficWorkspace(withWebhook());
    const status: MigrationStatus = statusAt("canary-50", { old: 50, new: 50 }, [
      pairCheckpoint("staging", 0, { lambdaVersion: "5", ecsDesiredCount: 2 }),
      pairCheckpoint("canary-10", 10, { lambdaVersion: "5", ecsDesiredCount: 2 }),
    ]);
    workspace.writeStatus(status);
    const world = new TrafficWorld(weightedPair(50, 50));
    const notifications = notificationsFor(hook.url, new RecordingLog(), []);
    const outputs: Record<string, unknown> = {};
    const report = await runRollback(
      {
        migration: "orders-api",
        reason: "error rate 3 %",
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
        announcerFor: notifications.announcerFor,
      },
    );
    expect(outputs.weights).toEqual({ old: 90, new: 10 });
    const byEvent = new Map(notifications.deliveries.map((delivery) => [delivery.event, delivery]));
    expect(byEvent.get("rollback-started")).toMatchObject({ delivered: false, attempts: 2 });
    const completed = hook.received
      .map((request) => JSON.parse(request.body) as CloudEvent)
      .find((envelope) => envelope.type === "dev.cutover.rollback-completed");
    expect(completed).toMatchObject({
      type: "dev.cutover.rollback-completed",
      data: {
        rollback: { origin: "workflow", reason: "error rate 3 %" },
        weights: { after: { old: 90, new: 10 } },
      },
    });
    expect(byEvent.get("rollback-completed")).toMatchObject({ delivered: true });
    expect(report.tables?.find((table) => table.caption === "Notifications")?.rows).toHaveLength(3);
  });
});

describe("record-state keeps failed deliveries in the status history", () => {
  const failed: DeliveryRecord = {
    sink: "ops-hook",
    kind: "webhook",
    event: "gate-verdict",
    id: "0b5e0c1c-1111-2222-3333-444455556666",
    delivered: false,
    attempts: 5,
    elapsedMs: 30_000,
    error: "gave up after 5 attempts; last: HTTP 503",
  };
  const delivered: DeliveryRecord = {
    ...failed,
    sink: "ops-slack",
    kind: "slack",
    delivered: true,
    attempts: 1,
  };

  it("appends one notification-failed note per step, valid against the status schema, and not twice", async () => {
    const migration = await exampleMigration("canary-10");
    const request = {
      event: "gate-checked" as const,
      outcome: "success" as const,
      outputs: {
        verdict: "pass",
        gate: "standard",
        evidence: JSON.stringify({ kind: "gate", verdict: "pass", evaluatedAt: at(30).toISOString() }),
        notifications: JSON.stringify([failed, delivered]),
      },
      origin: { runUrl: "https://github.com/acme/platform/actions/runs/9" },
    };
    const once = applyRecord(
      migration,
      shiftedAndBaking(stagingPassed(), "canary-10", 10, 48),
      request,
      at(30),
    );
    expect(once.recorded).toContain("notification-failed");
    const note = once.status.history.at(-1)!;
    expect(note).toMatchObject({
      event: "notification-failed",
      from: note.to,
      reason: "gate-verdict to ops-hook: gave up after 5 attempts; last: HTTP 503",
      runUrl: "https://github.com/acme/platform/actions/runs/9",
      evidence: { kind: "notification", failures: [{ sink: "ops-hook", id: failed.id, attempts: 5 }] },
    });
    expect(
      validateStatusText(JSON.stringify(once.status), "status/orders-api.json", "orders-api").errors,
    ).toEqual([]);
    const twice = applyRecord(migration, once.status, request, at(31));
    expect(twice.recorded).not.toContain("notification-failed");
  });

  it("ignores an unreadable notifications output rather than failing the record", async () => {
    const migration = await exampleMigration("canary-10");
    const change = applyRecord(
      migration,
      shiftedAndBaking(stagingPassed(), "canary-10", 10, 48),
      {
        event: "gate-checked",
        outcome: "success",
        outputs: {
          verdict: "pass",
          gate: "standard",
          evidence: JSON.stringify({ kind: "gate", verdict: "pass", evaluatedAt: at(30).toISOString() }),
          notifications: "{not json",
        },
        origin: {},
      },
      at(30),
    );
    expect(change.recorded).not.toContain("notification-failed");
  });
});
