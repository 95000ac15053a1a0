// The guardian end to end on the sandbox, with nothing of GitHub running: the
// bundled shift-traffic writes the AWS-side checkpoint; a breach (real HTTP
// traffic through the data plane, or an alarm set by hand) makes CloudWatch
// emit the alarm's state change; EventBridge delivers it to the guardian
// function, which the sandbox's Lambda runs from guardian/dist; the guardian
// restores the checkpoint; the bundled reconcile then records it in git.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DescribeServicesCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { startTraffic } from "../../sandbox/traffic.js";
import { buildCheckpointDocument, statusOfDocument } from "../../src/core/aws-checkpoint.js";
import type { MigrationStatus } from "../../src/model/status.js";
import {
  alarmState,
  eventually,
  type GuardianWorld,
  RECORD,
  startGuardianWorld,
} from "../fixtures/guardian/world.js";
import { SEED_OLD_DESIRED_COUNT } from "../fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { createLocalRemote } from "../support/git-remote.js";
import { repoRoot, runBundledAction } from "../support/run-action.js";

let world: GuardianWorld | undefined;
let workspace: TrafficWorkspace | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
  if (workspace) rmSync(workspace.dir, { recursive: true, force: true });
  workspace = undefined;
});

async function open(options: Parameters<typeof startGuardianWorld>[0] = {}) {
  world = await startGuardianWorld(options);
  workspace = new TrafficWorkspace(world.migration);
  return { world, workspace };
}

function shift(weight: number) {
  return runBundledAction("shift-traffic", {
    inputs: { migration: "orders-api", weight: String(weight), "checkpoint-store": world!.install.store },
    env: world!.sandbox.env,
    workspace: workspace!.dir,
    timeoutMs: 30_000,
  });
}

function baking(phase: string, weights: { old: number; new: number }): MigrationStatus {
  return {
    version: 2,
    migration: "orders-api",
    phase,
    state: "baking",
    weights,
    checkpoints: [],
    timestamps: { updatedAt: new Date().toISOString() },
    history: [],
  };
}

/** The repository's load-test scenarios, which the spec's staging phase names and validation checks exist. */
function loadTestFiles(): Record<string, string> {
  const dir = join(repoRoot, "load-tests");
  return Object.fromEntries(
    readdirSync(dir).map((name) => [`load-tests/${name}`, readFileSync(join(dir, name), "utf8")]),
  );
}

async function journalEntries() {
  return (await world!.store.listJournal("orders-api")).entries;
}

describe("the guardian on the sandbox", () => {
  it("rolls back a real breach: errors on the new side trip the 10 s alarm, the guardian restores the checkpoint, reconcile records it", async () => {
    await open();
    const shifted = await shift(10);
    expect(shifted.exitCode, shifted.stdout).toBe(0);
    expect(await world!.weights()).toEqual([90, 10]);
    workspace!.writeStatus({
      ...baking("canary-10", { old: 90, new: 10 }),
      checkpoints: [JSON.parse(shifted.outputs.checkpoint!)],
    });
    const alarm = world!.install.alarms.find((candidate) => candidate.metric === "error-rate")!;
    // Half the new side's answers fail; 30 requests a second for at most 60 s, on loopback.
    await fetch(`${world!.sandbox.endpoint}/_sandbox/backends/${RECORD}/lambda`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ errorRate: 0.5, durationMs: 120_000 }),
    });
    const traffic = startTraffic({ url: world!.sandbox.dataPlaneUrls[RECORD]!, rps: 30, durationMs: 60_000 });
    try {
      const entry = await eventually(
        "the guardian's rollback",
        async () => (await journalEntries())[0],
        60_000,
      );
      expect(entry).toMatchObject({
        by: "guardian",
        outcome: "rolled-back",
        before: { old: 90, new: 10 },
        after: { old: 100, new: 0 },
      });
      expect(entry.trigger.alarm?.name).toBe(alarm.name);
      expect(entry.trigger.alarm?.reason).toMatch(/datapoints/);
    } finally {
      traffic.stop();
      await traffic.done;
    }
    expect(await world!.weights()).toEqual([100, 0]);
    expect(await alarmState(world!, alarm.name)).toBe("ALARM");
    const document = (await world!.store.read("orders-api"))!.document;
    expect(document.rolledBack?.by).toBe("guardian");

    // A shift now is held until git records the rollback.
    const held = await shift(50);
    expect(held.exitCode).not.toBe(0);
    expect(held.stdout).toContain("git has not recorded it yet; nothing was changed");
    expect(await world!.weights()).toEqual([100, 0]);

    // Git catches up: the bundled reconcile records the rollback with its evidence.
    const spec = JSON.stringify({ version: 1, migrations: [world!.migration] }, null, 2);
    const remote = createLocalRemote({
      ...loadTestFiles(),
      "migrations.json": spec,
      "status/orders-api.json": `${JSON.stringify(
        {
          ...baking("canary-10", { old: 90, new: 10 }),
          checkpoints: [JSON.parse(shifted.outputs.checkpoint!)],
        },
        null,
        2,
      )}\n`,
    });
    const clone = remote.clone();
    const reconciled = await runBundledAction("reconcile", {
      inputs: { migration: "orders-api", "checkpoint-store": world!.install.store },
      env: world!.sandbox.env,
      workspace: clone,
      timeoutMs: 30_000,
    });
    expect(reconciled.exitCode, reconciled.stdout + reconciled.stderr).toBe(0);
    expect(reconciled.outputs.outcome).toBe("recorded");
    expect(reconciled.outputs["rolled-back-outside"]).toBe("guardian");
    const status = JSON.parse(remote.show("status/orders-api.json")!) as MigrationStatus;
    expect(status).toMatchObject({ state: "rolled-back", weights: { old: 100, new: 0 } });
    expect(status.history.at(-1)?.evidence).toMatchObject({
      kind: "rollback",
      by: "guardian",
      journalEntry: document.rolledBack!.entry,
    });
    rmSync(remote.root, { recursive: true, force: true });
  }, 120_000);

  it("lets reconcile recognise a killed shift-traffic weight input from the intent it announced, not as drift", async () => {
    await open();
    // The INSYNC wait is held long enough to kill the run after its change.
    await fetch(`${world!.sandbox.endpoint}/_sandbox/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ service: "route53", operation: "GetChange", latencyMs: 20_000, count: 1 }),
    });
    const killed = await runBundledAction("shift-traffic", {
      inputs: { migration: "orders-api", weight: "25", "checkpoint-store": world!.install.store },
      env: world!.sandbox.env,
      workspace: workspace!.dir,
      timeoutMs: 4000,
    });
    expect(killed.exitCode).not.toBe(0);
    expect(await world!.weights()).toEqual([75, 25]);
    const announced = (await world!.store.read("orders-api"))!.document.inFlight;
    expect(announced).toMatchObject({ action: "shift-traffic", target: { old: 75, new: 25 } });
    const spec = JSON.stringify({ version: 1, migrations: [world!.migration] }, null, 2);
    const remote = createLocalRemote({ ...loadTestFiles(), "migrations.json": spec });
    const reconciled = await runBundledAction("reconcile", {
      inputs: { migration: "orders-api", "checkpoint-store": world!.install.store },
      env: world!.sandbox.env,
      workspace: remote.clone(),
      timeoutMs: 30_000,
    });
    expect(reconciled.exitCode, reconciled.stdout).toBe(0);
    expect(reconciled.outputs.outcome).toBe("recorded");
    expect(reconciled.outputs.drift).toBe("");
    const status = JSON.parse(remote.show("status/orders-api.json")!) as MigrationStatus;
    expect(status.weights).toEqual({ old: 75, new: 25 });
    expect(status.history.at(-1)?.evidence).toMatchObject({
      unrecorded: "shift",
      announced: expect.stringContaining("25 %"),
    });
    rmSync(remote.root, { recursive: true, force: true });
  }, 60_000);

  it("takes back the announced change of a shift whose router call failed, so the guardian has nothing to wait for", async () => {
    await open();
    expect((await shift(10)).exitCode).toBe(0);
    await fetch(`${world!.sandbox.endpoint}/_sandbox/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        service: "route53",
        operation: "ChangeResourceRecordSets",
        error: "InternalFailure",
        count: 50,
      }),
    });
    const failed = await shift(25);
    expect(failed.exitCode).toBe(1);
    expect(await world!.weights()).toEqual([90, 10]);
    const document = (await world!.store.read("orders-api"))!.document;
    expect(document.inFlight, failed.stdout + failed.stderr).toBeUndefined();
    expect(document.applied.weights).toEqual({ old: 90, new: 10 });
    expect(failed.summary).toMatch(/Withdrew the announced change/);
  }, 60_000);

  it("makes one change for a duplicate delivery of the same alarm event", async () => {
    await open();
    expect((await shift(50)).exitCode).toBe(0);
    const event = {
      version: "0",
      id: "5f6b2d1e-0000-0000-0000-000000000001",
      "detail-type": "CloudWatch Alarm State Change",
      source: "aws.cloudwatch",
      account: "123456789012",
      time: new Date().toISOString(),
      region: "us-east-1",
      resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${world!.install.alarms[0]!.name}`],
      detail: {
        alarmName: world!.install.alarms[0]!.name,
        state: { value: "ALARM", reason: "Threshold Crossed", timestamp: new Date().toISOString() },
        previousState: { value: "OK", reason: "", timestamp: new Date(Date.now() - 60_000).toISOString() },
        configuration: { metrics: [] },
      },
    };
    const invoke = () =>
      world!.clients.lambda.send(
        new InvokeCommand({
          FunctionName: world!.install.functionName,
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
    const outcomes = [];
    for (const response of await Promise.all([invoke(), invoke()])) {
      expect(response.FunctionError).toBeUndefined();
      outcomes.push(JSON.parse(Buffer.from(response.Payload!).toString()).outcome);
    }
    const again = JSON.parse(Buffer.from((await invoke()).Payload!).toString());
    expect(outcomes.filter((outcome) => outcome === "rolled-back")).toHaveLength(1);
    expect(again.outcome).toBe("duplicate");
    expect(await journalEntries()).toHaveLength(1);
    expect(await world!.weights()).toEqual([100, 0]);
  }, 60_000);

  it("scales the old side up and waits until it is stable before any weight returns to it (decommission hold)", async () => {
    await open();
    expect((await shift(100)).exitCode).toBe(0);
    await world!.clients.ecs.send(
      new UpdateServiceCommand({ cluster: "prod", service: "orders-api", desiredCount: 0 }),
    );
    const stored = await world!.store.read("orders-api");
    await world!.store.write(
      buildCheckpointDocument({
        migration: world!.migration,
        status: {
          ...statusOfDocument(stored!.document, new Date()),
          phase: "decommission",
          state: "decommissioning",
          decommission: {
            stage: "scaled-down",
            holdStartedAt: new Date().toISOString(),
            desiredCountBefore: SEED_OLD_DESIRED_COUNT,
          },
        },
        previous: stored!.document,
        writer: "decommission run",
        now: new Date(),
      }),
      stored!.version,
    );
    await world!.trip();
    const entry = await eventually(
      "the guardian's rollback",
      async () => (await journalEntries())[0],
      45_000,
    );
    expect(entry.after).toEqual({ old: 100, new: 0 });
    const scaled = entry.steps?.find((step) => step.step === "restore old side");
    const submitted = entry.steps?.findIndex((step) => step.step === "submit change") ?? -1;
    expect(scaled?.detail).toMatch(/desired count|desiredCount/i);
    expect(entry.steps!.indexOf(scaled!)).toBeLessThan(submitted);
    const service = await world!.clients.ecs.send(
      new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] }),
    );
    expect(service.services?.[0]?.desiredCount).toBe(SEED_OLD_DESIRED_COUNT);
    expect(await world!.weights()).toEqual([100, 0]);
  }, 60_000);

  it("ends in one consistent state when it rolls back while a shift is in flight", async () => {
    await open();
    expect((await shift(10)).exitCode).toBe(0);
    // The next shift's change is held 3 s by the sandbox: the guardian acts meanwhile.
    await fetch(`${world!.sandbox.endpoint}/_sandbox/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        service: "route53",
        operation: "ChangeResourceRecordSets",
        latencyMs: 3000,
        count: 1,
      }),
    });
    const inFlight = shift(50);
    // Trip the alarm once the change is announced and held: an alarm from before the announcement is about
    // the earlier weights, which the guardian rightly leaves alone (a loaded machine may start the run late).
    await eventually(
      "the shift's announcement",
      async () => ((await world!.store.read("orders-api"))?.document.inFlight ? true : undefined),
      20_000,
    );
    await world!.trip();
    const run = await inFlight;
    const entry = await eventually(
      "the guardian's rollback",
      async () => (await journalEntries())[0],
      45_000,
    );
    const now = await world!.weights();
    const document = (await world!.store.read("orders-api"))!.document;
    // Route 53, the checkpoint and the journal agree; the shift did not claim weights Route 53 does not hold.
    expect(now).toEqual([document.applied.weights.old, document.applied.weights.new]);
    expect([entry.after!.old, entry.after!.new]).toEqual(now);
    if (run.exitCode === 0) {
      // The shift finished first; the guardian then undid it.
      expect(entry.before).toEqual({ old: 50, new: 50 });
    } else {
      expect(run.stdout).toMatch(/the records changed after they were read|while this shift was in flight/);
    }
    expect(now[1]).toBeLessThanOrEqual(10);
  }, 60_000);

  it("changes nothing for an unknown migration or a missing checkpoint, and dead-letters the event", async () => {
    await open();
    // No shift has run: there is no checkpoint yet.
    await world!.trip();
    const letters = await eventually(
      "a dead letter",
      async () => {
        const found = await world!.deadLetters();
        return found.length > 0 ? found : undefined;
      },
      45_000,
    );
    expect(letters.join("\n")).toMatch(/no checkpoint at s3:\/\//);
    expect(await world!.weights()).toEqual([100, 0]);
    expect(await journalEntries()).toHaveLength(0);
  }, 60_000);
});
