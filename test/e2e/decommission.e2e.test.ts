// The bundled decommission action against the sandbox, with real HTTP traffic
// through the data plane (whose served requests become the ALB metrics the
// action reads). One story in order: refused while the old side has weight
// and traffic; scale-down once it is quiet; rollback after the scale-down
// under load; delete refused before the hold elapses; delete after it.
// The spec's decommission step holds 4 s with a 5 s quiet window.
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataPlane } from "../../sandbox/dataplane.js";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { startTraffic } from "../../sandbox/traffic.js";
import type { Checkpoint, DecommissionStatus } from "../../src/model/status.js";
import { deploySeed, e2eWorkspace, MIGRATION, recordStatus } from "../fixtures/deploy/e2e.js";
import { runBundledAction } from "../support/run-action.js";

const QUIET_MS = 5_000;
const HOLD_MS = 4_000;
let sandbox: Sandbox;
let dataPlane: DataPlane;
let ecs: ECSClient;
let url: string;
let dir: string;

beforeAll(async () => {
  const seed = deploySeed();
  sandbox = await startSandbox({ seed });
  // The sandbox runs the seed's data plane, publishing into its own CloudWatch.
  dataPlane = sandbox.dataPlane!;
  url = dataPlane.urls["api.example.com"]!;
  ecs = new ECSClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY!,
    },
  });
  dir = e2eWorkspace({ hold: "4s", quietWindow: "5s" });
});
afterAll(async () => {
  await sandbox?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function oldService() {
  const output = await ecs.send(new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] }));
  return output.services?.[0];
}

function decommission(stage: "scale-down" | "delete", extra: Record<string, string> = {}) {
  dataPlane.flush();
  return runBundledAction("decommission", {
    inputs: { migration: MIGRATION, stage, "stable-timeout": "30s", ...extra },
    env: sandbox.env,
    workspace: dir,
  });
}

/** Shifts all traffic to the new side with the bundled action and records it, as the apply workflow does. */
async function shiftAllToNew(): Promise<void> {
  const shifted = await runBundledAction("shift-traffic", {
    inputs: { migration: MIGRATION, weight: "100", "insync-timeout": "20s" },
    env: sandbox.env,
    workspace: dir,
  });
  expect(shifted.exitCode, shifted.stdout).toBe(0);
  await recordStatus(dir, (status) => {
    status.phase = "full";
    status.state = "passed";
    status.weights = { old: 0, new: 100 };
    status.checkpoints.push(JSON.parse(shifted.outputs.checkpoint!) as Checkpoint);
  });
}

/** Scales down and records the outputs in the status, as the apply workflow does. */
async function scaleDownAndRecord(): Promise<DecommissionStatus> {
  const run = await decommission("scale-down");
  expect(run.exitCode, run.stdout).toBe(0);
  const recorded = JSON.parse(run.outputs.decommission!) as DecommissionStatus;
  await recordStatus(dir, (status) => {
    status.phase = "decommission";
    status.state = "decommissioning";
    status.decommission = recorded;
    status.checkpoints.push(JSON.parse(run.outputs.checkpoint!) as Checkpoint);
  });
  return recorded;
}

describe("decommission (bundled) on the sandbox", () => {
  it("refuses scale-down while the old side has weight and serves traffic", async () => {
    const load = await startTraffic({ url, rps: 40, durationMs: 1500 }).done;
    expect(load.byBackend["ecs-fargate"]).toBeGreaterThan(0);
    const run = await decommission("scale-down");
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain("old side weight is 100 %, must be 0");
    expect(run.stdout).toMatch(/old side served [\d,]+ requests in the last 5s/);
    expect(run.summary).toContain("| old-weight-zero | NO |");
    expect((await oldService())?.desiredCount).toBe(2);
  });

  it("refuses while the old side served requests within the quiet window, even at weight 0", async () => {
    const load = startTraffic({ url, rps: 40, durationMs: 3000 });
    await shiftAllToNew();
    await load.done;
    const run = await decommission("scale-down");
    expect(run.exitCode).toBe(1);
    expect(run.stdout).not.toContain("old side weight is");
    expect(run.stdout).toMatch(/old side served [\d,]+ requests in the last 5s/);
    expect((await oldService())?.desiredCount).toBe(2);
  });

  it("scales the old side to zero once it has been quiet for the window", async () => {
    await sleep(QUIET_MS + 500);
    const recorded = await scaleDownAndRecord();
    expect(recorded).toMatchObject({ stage: "scaled-down", desiredCountBefore: 2 });
    const service = await oldService();
    expect(service).toMatchObject({ desiredCount: 0, runningCount: 0 });
  });

  it("rollback after the scale-down scales the old side up first: no request of a running load fails", async () => {
    const load = startTraffic({ url, rps: 40, durationMs: 6000 });
    await sleep(500);
    const rolledBack = await runBundledAction("rollback", {
      inputs: {
        migration: MIGRATION,
        reason: "new side errors",
        "target-phase": "all-old",
        "stable-timeout": "30s",
      },
      env: sandbox.env,
      workspace: dir,
    });
    expect(rolledBack.exitCode, rolledBack.stdout).toBe(0);
    const report = await load.done;
    expect(report.failures).toBe(0);
    expect(report.serverErrors).toBe(0);
    expect(report.byBackend["ecs-fargate"]).toBeGreaterThan(0);
    expect((await oldService())?.runningCount).toBe(2);
    await recordStatus(dir, (status) => {
      status.history.push({
        at: new Date().toISOString(),
        event: "rollback",
        phase: status.phase,
        from: "decommissioning",
        to: "rolled-back",
        reason: "new side errors",
      });
      status.state = "rolled-back";
      status.weights = { old: 100, new: 0 };
    });
  });

  it("refuses delete after that rollback, naming it and the scaled-up service", async () => {
    const run = await decommission("delete", { "deregister-task-definitions": "false" });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain("1 rollback recorded since the hold started");
    expect(run.stdout).toContain("has desiredCount 2 and runningCount 2, must be 0 and 0");
    expect((await oldService())?.status).toBe("ACTIVE");
  });

  it("refuses delete before the hold of a new scale-down elapses", async () => {
    await shiftAllToNew();
    await sleep(QUIET_MS + 500);
    const recorded = await scaleDownAndRecord();
    const run = await decommission("delete", { "deregister-task-definitions": "false" });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `hold started ${recorded.holdStartedAt} (status decommission.holdStartedAt);`,
    );
    expect(run.stdout).toMatch(/of 4s elapsed/);
    expect((await oldService())?.status).toBe("ACTIVE");
  });

  it("deletes the old service once the hold has elapsed, deregisters its task definitions, and lists what the infrastructure code must remove", async () => {
    await sleep(HOLD_MS);
    const family = (await oldService())?.taskDefinition?.split("/")[1]?.replace(/:\d+$/, "");
    expect(family).toBeTruthy();
    const run = await decommission("delete");
    expect(run.exitCode, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.decommission!)).toMatchObject({ stage: "deleted" });
    expect((await oldService())?.status).toBe("INACTIVE");
    const deregistered = JSON.parse(run.outputs["deregistered-task-definitions"]!) as string[];
    expect(deregistered.length).toBeGreaterThan(0);
    for (const arn of deregistered) {
      const described = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      expect(described.taskDefinition?.status).toBe("INACTIVE");
    }
    const active = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: "ACTIVE" }));
    expect(active.taskDefinitionArns?.filter((arn) => arn.includes(`/${family}:`))).toEqual([]);
    expect(run.summary).toContain("What remains for the infrastructure code to remove");
    expect(run.summary).toContain('SetIdentifier "ecs-fargate"');
    expect(run.summary).toContain("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api");
  });
});
