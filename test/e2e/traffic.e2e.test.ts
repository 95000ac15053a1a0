// The bundled shift-traffic and rollback actions, run as the runner runs them,
// against the sandbox: real SDK clients on the wire, a data plane carrying
// real HTTP requests by the current weights.
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
  waitUntilResourceRecordSetsChanged,
} from "@aws-sdk/client-route-53";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DataPlane } from "../../sandbox/dataplane.js";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { startTraffic, type TrafficReport } from "../../sandbox/traffic.js";
import type { Route53RouterSpec } from "../../src/model/spec.js";
import type { Checkpoint, MigrationStatus } from "../../src/model/status.js";
import { referenceMigration } from "../fixtures/traffic/migration.js";
import { SEED_OLD_DESIRED_COUNT, trafficSeed } from "../fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { type BundledActionRun, runBundledAction } from "../support/run-action.js";

let sandbox: Sandbox;
let dataPlane: DataPlane;
let route53: Route53Client;
let ecs: ECSClient;
let workspace: TrafficWorkspace;

const ZONE = "Z0EXAMPLE00001";
const ORIGINAL_RECORDS = trafficSeed().route53!.hostedZones[0]!.records;

function clientConfig(env: Record<string, string>) {
  return {
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION ?? "us-east-1",
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? "x",
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "x",
    },
  };
}

function action(
  name: "shift-traffic" | "rollback",
  inputs: Record<string, string>,
): Promise<BundledActionRun> {
  return runBundledAction(name, { inputs, env: sandbox.env, workspace: workspace.dir, timeoutMs: 30_000 });
}

async function pair(): Promise<Record<string, ResourceRecordSet>> {
  const output = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      StartRecordName: "api.example.com",
      StartRecordType: "A",
    }),
  );
  const records = (output.ResourceRecordSets ?? []).filter((record) =>
    record.Name?.startsWith("api.example.com"),
  );
  return Object.fromEntries(records.map((record) => [record.SetIdentifier, record]));
}

async function weights(): Promise<[number | undefined, number | undefined]> {
  const records = await pair();
  return [records["ecs-fargate"]?.Weight, records.lambda?.Weight];
}

/** Puts the records at old/new directly (as a previous run would have) and waits until INSYNC. */
async function setWeights(oldWeight: number, newWeight: number): Promise<void> {
  const records = await pair();
  const output = await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: {
        Changes: [
          { Action: "UPSERT", ResourceRecordSet: { ...records["ecs-fargate"]!, Weight: oldWeight } },
          { Action: "UPSERT", ResourceRecordSet: { ...records.lambda!, Weight: newWeight } },
        ],
      },
    }),
  );
  await waitUntilResourceRecordSetsChanged(
    { client: route53, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.5 },
    { Id: output.ChangeInfo!.Id! },
  );
}

async function oldService() {
  const output = await ecs.send(new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] }));
  return output.services![0]!;
}

/** Scales the old side to zero, as a decommission does, and waits (bounded) until no task runs. */
async function scaleOldSideToZero(): Promise<void> {
  await ecs.send(new UpdateServiceCommand({ cluster: "prod", service: "orders-api", desiredCount: 0 }));
  const deadline = Date.now() + 10_000;
  while ((await oldService()).runningCount !== 0) {
    if (Date.now() > deadline) throw new Error("the old side did not scale to zero within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function injectFault(fault: Record<string, unknown>): Promise<{ id: string }> {
  const response = await fetch(`${sandbox.endpoint}/_sandbox/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fault),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { fault: { id: string } }).fault;
}

function checkpointAt(phase: string, newPercent: number): Checkpoint {
  return {
    phase,
    takenAt: new Date().toISOString(),
    weights: { old: 100 - newPercent, new: newPercent },
    router: {
      kind: "route53",
      records: [
        {
          name: "api.example.com.",
          type: "A",
          setIdentifier: "ecs-fargate",
          weight: 100 - newPercent,
          ttl: 1,
        },
        { name: "api.example.com.", type: "A", setIdentifier: "lambda", weight: newPercent, ttl: 1 },
      ],
    },
    lambdaVersion: "1",
    ecsDesiredCount: SEED_OLD_DESIRED_COUNT,
  };
}

function statusAt(phase: string, newPercent: number, checkpoints: Checkpoint[]): MigrationStatus {
  return {
    version: 2,
    migration: "orders-api",
    phase,
    state: "baking",
    weights: { old: 100 - newPercent, new: newPercent },
    checkpoints,
    timestamps: { updatedAt: new Date().toISOString() },
    history: [],
  };
}

function expectFieldsPreserved(records: Record<string, ResourceRecordSet>): void {
  for (const seeded of ORIGINAL_RECORDS) {
    const record = records[seeded.setIdentifier!]!;
    expect(record.TTL, `${seeded.setIdentifier} TTL`).toBe(seeded.ttl);
    expect(
      record.ResourceRecords?.map((value) => value.Value),
      `${seeded.setIdentifier} values`,
    ).toEqual(seeded.values);
    expect(record.HealthCheckId, `${seeded.setIdentifier} health check`).toBe(seeded.healthCheckId);
  }
}

beforeAll(async () => {
  const seed = trafficSeed();
  sandbox = await startSandbox({ seed });
  // The sandbox runs the seed's data plane, publishing into its own CloudWatch.
  dataPlane = sandbox.dataPlane!;
  route53 = new Route53Client(clientConfig(sandbox.env));
  ecs = new ECSClient(clientConfig(sandbox.env));
});

afterAll(async () => {
  route53?.destroy();
  ecs?.destroy();
  await sandbox?.close();
});

beforeEach(async () => {
  workspace = new TrafficWorkspace(referenceMigration());
  await setWeights(100, 0);
  const service = await oldService();
  if (service.desiredCount !== SEED_OLD_DESIRED_COUNT) {
    await ecs.send(
      new UpdateServiceCommand({
        cluster: "prod",
        service: "orders-api",
        desiredCount: SEED_OLD_DESIRED_COUNT,
      }),
    );
  }
  const deadline = Date.now() + 10_000;
  while ((await oldService()).runningCount !== SEED_OLD_DESIRED_COUNT) {
    if (Date.now() > deadline)
      throw new Error("the old side did not come back to its seeded count within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

describe("shift-traffic (bundled) on the sandbox", () => {
  it("shifts 0 → 10 → 50 → 100, preserving every other field, then no-ops at 100", async () => {
    const steps: Array<[string, Record<string, string>, [number, number]]> = [
      ["canary-10", { phase: "canary-10" }, [90, 10]],
      ["canary-50", { weight: "50" }, [50, 50]],
      ["full", { phase: "full" }, [0, 100]],
    ];
    for (const [phase, target, expected] of steps) {
      const run = await action("shift-traffic", { migration: "orders-api", ...target });
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(JSON.parse(run.outputs.weights!)).toEqual({ old: expected[0], new: expected[1] });
      expect(run.outputs["no-op"]).toBe("false");
      expect(run.outputs["change-id"]).not.toBe("");
      // TTL 1 s on both records: the gate window opens one second after INSYNC.
      expect(Date.parse(run.outputs["gate-window-start"]!) - Date.parse(run.outputs["insync-at"]!)).toBe(
        1000,
      );
      expect(await weights()).toEqual(expected);
      expectFieldsPreserved(await pair());
      expect(run.summary).toContain(`## shift-traffic: orders-api`);
      expect(run.stdout).toMatch(/migration=orders-api correlation=4242-1 msg="change \S+ INSYNC/);
      workspace.commitMove(phase, run.outputs);
    }
    const checkpoints = workspace.readStatus().checkpoints;
    expect(checkpoints.map((checkpoint) => [checkpoint.phase, checkpoint.weights.new])).toEqual([
      [null, 0],
      ["canary-10", 10],
      ["canary-50", 50],
    ]);

    const again = await action("shift-traffic", { migration: "orders-api", phase: "full" });
    expect(again.exitCode, again.stdout).toBe(0);
    expect(again.outputs["no-op"]).toBe("true");
    expect(again.outputs["change-id"]).toBe("");
    expect(again.summary).toContain("No change: the router already sends old 0 % / new 100 %.");
  });

  it("refuses a record missing its pair, naming it, and changes nothing", async () => {
    const migration = referenceMigration();
    workspace.writeSpec({
      ...migration,
      router: { ...(migration.router as Route53RouterSpec), newSetIdentifier: "lambda-v2" },
    });
    const run = await action("shift-traffic", { migration: "orders-api", weight: "10" });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      '::error::Route 53 zone Z0EXAMPLE00001 record api.example.com A: no record with SetIdentifier "lambda-v2"',
    );
    expect(run.summary).toContain("shift-traffic: orders-api refused");
    expect(run.summary).toContain("Nothing was changed.");
    expect(await weights()).toEqual([100, 0]);
  });

  it("survives throttling and PriorRequestNotComplete on its first calls", async () => {
    const faults = [
      await injectFault({
        service: "route53",
        operation: "ListResourceRecordSets",
        error: "Throttling",
        count: 2,
      }),
      await injectFault({
        service: "route53",
        operation: "ChangeResourceRecordSets",
        error: "Throttling",
        count: 1,
      }),
      await injectFault({
        service: "route53",
        operation: "ChangeResourceRecordSets",
        error: "PriorRequestNotComplete",
        count: 1,
      }),
    ];
    const run = await action("shift-traffic", { migration: "orders-api", weight: "10" });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(await weights()).toEqual([90, 10]);
    const listed = (await (await fetch(`${sandbox.endpoint}/_sandbox/faults`)).json()) as {
      faults: Array<{ id: string; fired: number }>;
    };
    const records = listed.faults;
    for (const fault of faults) {
      const record = records.find((candidate) => candidate.id === fault.id);
      expect(record?.fired, `fault ${fault.id}`).toBeGreaterThan(0);
    }
  });
});

describe("writers exclude each other (bundled, on the sandbox)", () => {
  it("lets one of two shift-traffic runs started together win; the other fails saying so and changes nothing", async () => {
    // Both runs read the records before either change is applied: the sandbox
    // holds each ChangeResourceRecordSets for 2 s before serving it.
    await injectFault({
      service: "route53",
      operation: "ChangeResourceRecordSets",
      latencyMs: 2000,
      count: 2,
    });
    const [ten, fifty] = await Promise.all([
      action("shift-traffic", { migration: "orders-api", weight: "10" }),
      action("shift-traffic", { migration: "orders-api", weight: "50" }),
    ]);
    const runs = [ten, fifty];
    const won = runs.filter((run) => run.exitCode === 0);
    const lost = runs.filter((run) => run.exitCode !== 0);
    expect(won, runs.map((run) => run.stdout).join("\n")).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.stdout).toContain("the records changed after they were read");
    expect(lost[0]!.stdout).toContain("nothing was changed");
    expect(lost[0]!.outputs.weights).toBeUndefined();
    // Route 53 holds exactly what the winner says it set.
    const winner = JSON.parse(won[0]!.outputs.weights!) as { old: number; new: number };
    expect(await weights()).toEqual([winner.old, winner.new]);
  });
});

describe("rollback (bundled) on the sandbox", () => {
  it("rolls back from 50 to the last checkpoint and reports every step with timings", async () => {
    await setWeights(50, 50);
    workspace.writeStatus(
      statusAt("canary-50", 50, [checkpointAt("staging", 0), checkpointAt("canary-10", 10)]),
    );
    const run = await action("rollback", { migration: "orders-api", reason: "p95 1240 ms > 1000 ms" });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.outputs["previous-weights"]!)).toEqual({ old: 50, new: 50 });
    expect(JSON.parse(run.outputs.weights!)).toEqual({ old: 90, new: 10 });
    expect(await weights()).toEqual([90, 10]);
    expectFieldsPreserved(await pair());
    const timings = JSON.parse(run.outputs.timings!) as {
      changeSubmittedMs: number;
      insyncMs: number;
      steps: Array<{ step: string }>;
    };
    expect(timings.changeSubmittedMs).toBeGreaterThan(0);
    expect(timings.insyncMs).toBeGreaterThan(timings.changeSubmittedMs);
    expect(timings.steps.map((step) => step.step)).toEqual(
      expect.arrayContaining([
        "load spec and status",
        "read records and sides",
        "submit change",
        "wait INSYNC",
      ]),
    );
    expect(run.summary).toContain("Rolled back (p95 1240 ms > 1000 ms)");
    expect(run.summary).toContain(
      "| Step | Started (ms since process start) | Took (ms) | Outcome | Detail |",
    );
  });

  it("scales the scaled-down old side up before moving weight back, and no request fails", async () => {
    await setWeights(0, 100);
    await scaleOldSideToZero();
    workspace.writeStatus({
      ...statusAt("decommission", 100, [
        checkpointAt("canary-50", 50),
        { ...checkpointAt("full", 100), ecsDesiredCount: undefined },
      ]),
      state: "decommissioning",
      decommission: {
        stage: "scaled-down",
        holdStartedAt: new Date().toISOString(),
        desiredCountBefore: SEED_OLD_DESIRED_COUNT,
      },
    });
    const url = dataPlane.urls["api.example.com"]!;
    const traffic = startTraffic({ url, rps: 40, durationMs: 15_000 });
    let run: BundledActionRun;
    let report: TrafficReport;
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      run = await action("rollback", { migration: "orders-api", reason: "cost", "target-phase": "all-old" });
      // Resolvers keep the old answer for one TTL (1 s): let the traffic follow the change.
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      report = await traffic.stop();
    }
    // The invariant first: the data plane's load never met a side that could not serve.
    expect(report.failures, JSON.stringify(report.failureReasons)).toBe(0);
    expect(report.serverErrors, JSON.stringify(report.byStatus)).toBe(0);
    expect(report.byBackend["ecs-fargate"] ?? 0).toBeGreaterThan(0);
    expect(report.byBackend.lambda ?? 0).toBeGreaterThan(0);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.outputs.weights!)).toEqual({ old: 100, new: 0 });
    const service = await oldService();
    expect([service.desiredCount, service.runningCount]).toEqual([
      SEED_OLD_DESIRED_COUNT,
      SEED_OLD_DESIRED_COUNT,
    ]);
    const timings = JSON.parse(run.outputs.timings!) as {
      steps: Array<{ step: string; startMs: number; elapsedMs: number }>;
    };
    const restored = timings.steps.find((step) => step.step === "restore old side")!;
    const submitted = timings.steps.find((step) => step.step === "submit change")!;
    expect(submitted.startMs).toBeGreaterThanOrEqual(restored.startMs + restored.elapsedMs);
    expect(run.summary).toContain(
      `scale up: ECS service prod/orders-api desiredCount 0 → ${SEED_OLD_DESIRED_COUNT}`,
    );
    expect(await weights()).toEqual([100, 0]);
  });
});
