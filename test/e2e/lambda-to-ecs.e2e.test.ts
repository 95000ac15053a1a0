// The reverse direction, as seed 000 evolves: the old side is a Lambda
// function, the new side an ECS Fargate service. The bundled actions deploy
// the ECS revision, shift onto it under traffic, refuse to shift onto it once
// it cannot serve, and roll back, nothing assuming which kind is which side;
// then decommission the Lambda side: hold it at reserved concurrency 0, roll
// back from the hold under traffic, and delete the function after a hold.

import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import {
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-lambda";
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  waitUntilResourceRecordSetsChanged,
} from "@aws-sdk/client-route-53";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { startTraffic } from "../../sandbox/traffic.js";
import type { Migration, Route53RouterSpec } from "../../src/model/spec.js";
import type { Checkpoint, DecommissionStatus } from "../../src/model/status.js";
import { referenceMigration } from "../fixtures/traffic/migration.js";
import { trafficSeed } from "../fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { type BundledActionRun, runBundledAction } from "../support/run-action.js";

let sandbox: Sandbox;
let route53: Route53Client;
let ecs: ECSClient;
let lambda: LambdaClient;

/** The reference migration turned around: Lambda is the old side, the ECS service the new one. */
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

function action(
  name: "deploy" | "shift-traffic" | "rollback" | "decommission",
  workspace: TrafficWorkspace,
  inputs: Record<string, string>,
) {
  return runBundledAction(name, {
    inputs: { migration: "orders-api", ...inputs },
    env: sandbox.env,
    workspace: workspace.dir,
    timeoutMs: 60_000,
  });
}

async function recordWeights(): Promise<Record<string, number | undefined>> {
  const output = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: "Z0EXAMPLE00001",
      StartRecordName: "api.example.com",
      StartRecordType: "A",
    }),
  );
  return Object.fromEntries(
    (output.ResourceRecordSets ?? [])
      .filter((record) => record.Name?.startsWith("api.example.com"))
      .map((record) => [record.SetIdentifier, record.Weight]),
  );
}

async function ecsService() {
  return (await ecs.send(new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] })))
    .services![0]!;
}

beforeAll(async () => {
  sandbox = await startSandbox({ seed: trafficSeed() });
  const config = {
    endpoint: sandbox.endpoint,
    region: "us-east-1",
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY!,
    },
  };
  route53 = new Route53Client(config);
  ecs = new ECSClient(config);
  lambda = new LambdaClient(config);
  // Before the migration all traffic is on the Lambda side.
  const listed = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: "Z0EXAMPLE00001",
      StartRecordName: "api.example.com",
      StartRecordType: "A",
    }),
  );
  const records = (listed.ResourceRecordSets ?? []).filter((record) =>
    record.Name?.startsWith("api.example.com"),
  );
  const changed = await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: "Z0EXAMPLE00001",
      ChangeBatch: {
        Changes: records.map((record) => ({
          Action: "UPSERT" as const,
          ResourceRecordSet: { ...record, Weight: record.SetIdentifier === "lambda" ? 100 : 0 },
        })),
      },
    }),
  );
  await waitUntilResourceRecordSetsChanged(
    { client: route53, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.5 },
    { Id: changed.ChangeInfo!.Id! },
  );
});

afterAll(async () => {
  route53?.destroy();
  ecs?.destroy();
  lambda?.destroy();
  await sandbox?.close();
});

describe("Lambda → ECS Fargate through the bundled actions", () => {
  it("deploys the ECS revision, shifts onto it under traffic, and rolls back with no failed request", async () => {
    const workspace = new TrafficWorkspace(lambdaToEcs());
    const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api:v2";
    const deployed = await action("deploy", workspace, { "image-uri": image, "stable-timeout": "30s" });
    expect(deployed.exitCode, deployed.stdout + deployed.stderr).toBe(0);
    expect(deployed.outputs.target).toBe("ECS service prod/orders-api");
    expect(deployed.outputs.version).toMatch(/task-definition\/orders-api:2$/);
    // The deploy's checkpoint keeps the router's snapshot with the Lambda side carrying all the traffic.
    const deployCheckpoint = JSON.parse(deployed.outputs.checkpoint!) as Checkpoint;
    expect(deployCheckpoint.weights).toEqual({ old: 100, new: 0 });
    expect(deployCheckpoint.router?.kind).toBe("route53");

    const url = sandbox.dataPlaneUrls["api.example.com"]!;
    const traffic = startTraffic({ url, rps: 40, durationMs: 25_000 });
    let ten: BundledActionRun;
    let fifty: BundledActionRun;
    let back: BundledActionRun;
    try {
      ten = await action("shift-traffic", workspace, { phase: "canary-10" });
      expect(ten.exitCode, ten.stdout + ten.stderr).toBe(0);
      workspace.commitMove("canary-10", ten.outputs);
      fifty = await action("shift-traffic", workspace, { phase: "canary-50" });
      expect(fifty.exitCode, fifty.stdout + fifty.stderr).toBe(0);
      workspace.commitMove("canary-50", fifty.outputs);
      // Resolvers keep an answer for the 1 s TTL: let the split reach the new side before rolling back.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      back = await action("rollback", workspace, { reason: "p95 1.2 s > 1 s" });
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await traffic.stop();
    }
    const report = traffic.snapshot();
    expect(report.failures, JSON.stringify(report.failureReasons)).toBe(0);
    expect(report.serverErrors, JSON.stringify(report.byStatus)).toBe(0);
    expect(report.byBackend["ecs-fargate"] ?? 0).toBeGreaterThan(0);
    expect(report.byBackend.lambda ?? 0).toBeGreaterThan(0);
    // The new side is the ECS record: "new 10 %" is its weight.
    expect(JSON.parse(ten.outputs.weights!)).toEqual({ old: 90, new: 10 });
    expect(JSON.parse(fifty.outputs.weights!)).toEqual({ old: 50, new: 50 });
    expect(JSON.parse(back.outputs.weights!)).toEqual({ old: 90, new: 10 });
    expect(await recordWeights()).toEqual({ lambda: 90, "ecs-fargate": 10 });
    // The rollback publishes no Lambda version for a new side that is not Lambda.
    expect(back.outputs["lambda-version"]).toBe("");
    expect((await ecsService()).taskDefinition).toMatch(/orders-api:2$/);
  });

  it("refuses to shift onto the ECS side once it is scaled to zero, and rolls back to all-Lambda", async () => {
    const workspace = new TrafficWorkspace(lambdaToEcs());
    await ecs.send(new UpdateServiceCommand({ cluster: "prod", service: "orders-api", desiredCount: 0 }));
    const deadline = Date.now() + 10_000;
    while ((await ecsService()).runningCount !== 0) {
      if (Date.now() > deadline) throw new Error("the ECS side did not scale to zero within 10 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const before = await recordWeights();
    const refused = await action("shift-traffic", workspace, { weight: "60" });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toContain("will not move traffic onto the new side");
    expect(refused.stdout).toContain("ECS service prod/orders-api");
    expect(await recordWeights()).toEqual(before);
    const back = await action("rollback", workspace, { reason: "new side down", "target-phase": "all-old" });
    expect(back.exitCode, back.stdout + back.stderr).toBe(0);
    expect(await recordWeights()).toEqual({ lambda: 100, "ecs-fargate": 0 });
  });
});

const QUIET_MS = 3_000;
const HOLD_MS = 4_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lambda → ECS with a short decommission step: hold 4 s, quiet window 3 s. */
function lambdaToEcsShortHold(): Migration {
  const migration = lambdaToEcs();
  return {
    ...migration,
    phases: migration.phases.map((phase) => ({
      ...phase,
      steps: phase.steps.map((step) =>
        step.kind === "decommission"
          ? { kind: "decommission" as const, hold: "4s", quietWindow: "3s" }
          : step,
      ),
    })),
  };
}

async function reservedConcurrency(): Promise<number | undefined> {
  return (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: "orders-api" })))
    .ReservedConcurrentExecutions;
}

describe("decommission of the Lambda old side through the bundled actions", () => {
  const workspace = new TrafficWorkspace(lambdaToEcsShortHold());
  const url = () => sandbox.dataPlaneUrls["api.example.com"]!;

  function decommission(stage: "scale-down" | "delete") {
    sandbox.dataPlane?.flush();
    return action("decommission", workspace, { stage, "stable-timeout": "30s" });
  }

  async function shiftAllToEcs(): Promise<void> {
    const shifted = await action("shift-traffic", workspace, { weight: "100", "insync-timeout": "20s" });
    expect(shifted.exitCode, shifted.stdout + shifted.stderr).toBe(0);
    workspace.commitMove("full", shifted.outputs);
  }

  async function holdAndRecord(): Promise<DecommissionStatus> {
    const held = await decommission("scale-down");
    expect(held.exitCode, held.stdout + held.stderr).toBe(0);
    const recorded = JSON.parse(held.outputs.decommission!) as DecommissionStatus;
    const status = workspace.readStatus();
    workspace.writeStatus({
      ...status,
      phase: "decommission",
      state: "decommissioning",
      decommission: recorded,
      checkpoints: [...status.checkpoints, JSON.parse(held.outputs.checkpoint!) as Checkpoint],
    });
    return recorded;
  }

  it("refuses the hold while the function served requests, holds it at concurrency 0 once quiet", async () => {
    // The ECS side was scaled to zero above: bring it back before moving traffic onto it.
    await ecs.send(new UpdateServiceCommand({ cluster: "prod", service: "orders-api", desiredCount: 2 }));
    const deadline = Date.now() + 15_000;
    while ((await ecsService()).runningCount !== 2) {
      if (Date.now() > deadline) throw new Error("the ECS side did not reach 2 running tasks within 15 s");
      await sleep(50);
    }
    const traffic = startTraffic({ url: url(), rps: 40, durationMs: 2000 });
    await sleep(1000);
    await shiftAllToEcs();
    await traffic.done;
    const refused = await decommission("scale-down");
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(/old side served [\d,]+ requests in the last 3s/);
    expect(await reservedConcurrency()).toBeUndefined();

    await sleep(QUIET_MS + 500);
    const recorded = await holdAndRecord();
    expect(recorded).toMatchObject({ stage: "scaled-down", reservedConcurrencyBefore: null });
    expect(await reservedConcurrency()).toBe(0);
  });

  it("rollback from the hold restores the concurrency before the weights: no request of a running load fails", async () => {
    const load = startTraffic({ url: url(), rps: 40, durationMs: 5000 });
    await sleep(500);
    const back = await action("rollback", workspace, {
      reason: "new side errors",
      "target-phase": "all-old",
      "stable-timeout": "30s",
    });
    expect(back.exitCode, back.stdout + back.stderr).toBe(0);
    const report = await load.done;
    expect(report.failures, JSON.stringify(report.failureReasons)).toBe(0);
    expect(report.serverErrors, JSON.stringify(report.byStatus)).toBe(0);
    expect(report.byBackend.lambda ?? 0).toBeGreaterThan(0);
    expect(await reservedConcurrency()).toBeUndefined();
    expect(await recordWeights()).toEqual({ lambda: 100, "ecs-fargate": 0 });
    // The concurrency came back before the weight change was submitted.
    const restored = back.stdout.indexOf("reserved concurrency 0 → none");
    expect(restored).toBeGreaterThan(-1);
    expect(restored).toBeLessThan(back.stdout.indexOf('step="submit change"'));
    const status = workspace.readStatus();
    workspace.writeStatus({
      ...status,
      state: "rolled-back",
      weights: { old: 100, new: 0 },
      history: [
        ...status.history,
        {
          at: new Date().toISOString(),
          event: "rollback",
          phase: status.phase,
          from: "decommissioning",
          to: "rolled-back",
          reason: "new side errors",
        },
      ],
    });
  });

  it("refuses delete during a new hold, and deletes the function once it has elapsed", async () => {
    await shiftAllToEcs();
    await sleep(QUIET_MS + 1500);
    const recorded = await holdAndRecord();
    const early = await decommission("delete");
    expect(early.exitCode).toBe(1);
    expect(early.stdout).toContain(
      `hold started ${recorded.holdStartedAt} (status decommission.holdStartedAt);`,
    );
    expect(
      (await lambda.send(new GetFunctionCommand({ FunctionName: "orders-api" }))).Configuration,
    ).toBeDefined();

    await sleep(HOLD_MS);
    const deleted = await decommission("delete");
    expect(deleted.exitCode, deleted.stdout + deleted.stderr).toBe(0);
    expect(JSON.parse(deleted.outputs.decommission!)).toMatchObject({ stage: "deleted" });
    const gone = await lambda.send(new GetFunctionCommand({ FunctionName: "orders-api" })).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(gone).toBeInstanceOf(ResourceNotFoundException);
    expect(deleted.summary).toContain("What remains for the infrastructure code to remove");
    expect(deleted.summary).toContain("/aws/lambda/orders-api");
  });
});
