// A status file the demo wrote with status format 1 (checkpoints holding
// Route 53 `records`), rolled back from by the bundled rollback action on the
// sandbox: read, upgraded, and its checkpoint's exact record weights restored.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import {
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  waitUntilResourceRecordSetsChanged,
} from "@aws-sdk/client-route-53";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import type { Checkpoint } from "../../src/model/status.js";
import { referenceMigration } from "../fixtures/traffic/migration.js";
import { trafficSeed } from "../fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { runBundledAction } from "../support/run-action.js";

const ZONE = "Z0EXAMPLE00001";
const DEMO_V1 = join(import.meta.dirname, "../fixtures/status/demo-v1-canary-50.json");

let sandbox: Sandbox;
let route53: Route53Client;

async function records() {
  const output = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      StartRecordName: "api.example.com",
      StartRecordType: "A",
    }),
  );
  return (output.ResourceRecordSets ?? []).filter((record) => record.Name?.startsWith("api.example.com"));
}

beforeAll(async () => {
  sandbox = await startSandbox({ seed: trafficSeed() });
  route53 = new Route53Client({
    endpoint: sandbox.endpoint,
    region: "us-east-1",
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY!,
    },
  });
  // The demo had deployed version 2 to the alias before canary-10: the sandbox's function gets it too.
  const lambda = new LambdaClient({
    endpoint: sandbox.endpoint,
    region: "us-east-1",
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY!,
    },
  });
  await lambda.send(
    new UpdateFunctionCodeCommand({
      FunctionName: "orders-api",
      S3Bucket: "artifacts",
      S3Key: "orders-v2.zip",
    }),
  );
  await waitUntilFunctionUpdatedV2(
    { client: lambda, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.5 },
    { FunctionName: "orders-api" },
  );
  const published = await lambda.send(new PublishVersionCommand({ FunctionName: "orders-api" }));
  expect(published.Version).toBe("2");
  await lambda.send(
    new UpdateAliasCommand({ FunctionName: "orders-api", Name: "live", FunctionVersion: "2" }),
  );
  lambda.destroy();
  // Where the demo's status says canary-50 left the records.
  const changed = await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: {
        Changes: (await records()).map((record) => ({
          Action: "UPSERT" as const,
          ResourceRecordSet: { ...record, Weight: 50 },
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
  await sandbox?.close();
});

describe("a status file of format 1", () => {
  it("is rolled back from by the bundled rollback action, its checkpoint's record weights restored", async () => {
    const workspace = new TrafficWorkspace(referenceMigration());
    copyFileSync(DEMO_V1, workspace.statusPath);
    const run = await runBundledAction("rollback", {
      inputs: { migration: "orders-api", reason: "error rate 3.1 % > 2 %" },
      env: sandbox.env,
      workspace: workspace.dir,
      timeoutMs: 30_000,
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.outputs.weights!)).toEqual({ old: 90, new: 10 });
    const weights = Object.fromEntries(
      (await records()).map((record) => [record.SetIdentifier, record.Weight]),
    );
    expect(weights).toEqual({ "ecs-fargate": 90, lambda: 10 });
    // The full validation after the rollback found nothing wrong with the old file.
    expect(run.summary).not.toContain("Found after rolling back");
    // What it reports replacing is a checkpoint of today's format.
    const replaced = JSON.parse(run.outputs.checkpoint!) as Checkpoint;
    expect(replaced.router).toMatchObject({ kind: "route53" });
    expect(replaced).not.toHaveProperty("records");
  });
});
