// The bundled deploy action against the sandbox: a new Lambda version behind
// the alias (then rolled back with the bundled rollback action), and a new
// image on the ECS service.
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from "@aws-sdk/client-ecs";
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
} from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import type { Checkpoint } from "../../src/model/status.js";
import { deploySeed, e2eWorkspace, MIGRATION, recordOutputs } from "../fixtures/deploy/e2e.js";
import { runBundledAction } from "../support/run-action.js";

let sandbox: Sandbox;
let lambda: LambdaClient;
let ecs: ECSClient;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: deploySeed() });
  lambda = new LambdaClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: credentials(),
  });
  ecs = new ECSClient({ endpoint: sandbox.endpoint, region: sandbox.region, credentials: credentials() });
});
afterAll(async () => {
  await sandbox?.close();
});

function credentials() {
  return { accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID!, secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY! };
}

const aliasVersion = async () =>
  (await lambda.send(new GetAliasCommand({ FunctionName: "orders-api", Name: "live" }))).FunctionVersion;

describe("deploy (bundled) on the sandbox", () => {
  it("publishes a new Lambda version, points the alias at it, and rollback points it back", async () => {
    const dir = e2eWorkspace();
    const before = await aliasVersion();
    const deployed = await runBundledAction("deploy", {
      inputs: { migration: MIGRATION, "zip-file": "dist/orders-v2.zip", "update-timeout": "20s" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(deployed.exitCode, deployed.stdout).toBe(0);
    expect(deployed.outputs["previous-version"]).toBe(before);
    const version = deployed.outputs.version!;
    expect(Number(version)).toBeGreaterThan(Number(before ?? 0));
    expect(await aliasVersion()).toBe(version);
    const checkpoint = JSON.parse(deployed.outputs.checkpoint!) as Checkpoint;
    expect(checkpoint.lambdaVersion).toBe(before);
    expect(deployed.summary).toContain(`Lambda orders-api:live: version ${before} → version ${version}`);

    // record-state keeps the deploy's checkpoint for the rollback below.
    const recorded = await recordOutputs(dir, {
      event: "deployed",
      phase: "staging",
      outcome: "success",
      outputs: deployed.outputs as Record<string, string>,
    });
    expect(recorded.checkpoints.at(-1)).toEqual({ ...checkpoint, environment: "staging" });
    const rolledBack = await runBundledAction("rollback", {
      inputs: { migration: MIGRATION, reason: "release 2 returns errors" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(rolledBack.exitCode, rolledBack.stdout).toBe(0);
    expect(await aliasVersion()).toBe(before);

    // The same package again: the alias serves other code now, so it is deployed again; then a re-run is a no-op.
    const again = await runBundledAction("deploy", {
      inputs: { migration: MIGRATION, "zip-file": "dist/orders-v2.zip", "update-timeout": "20s" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(again.exitCode, again.stdout).toBe(0);
    expect(await aliasVersion()).toBe(again.outputs.version);
    const noOp = await runBundledAction("deploy", {
      inputs: { migration: MIGRATION, "zip-file": "dist/orders-v2.zip" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(noOp.exitCode, noOp.stdout).toBe(0);
    expect(noOp.outputs["no-op"]).toBe("true");
    expect(noOp.summary).toContain(
      `No change: Lambda orders-api:live already runs version ${again.outputs.version}`,
    );
  });

  it("registers a revision with the new image and waits until the service is stable on it", async () => {
    const dir = e2eWorkspace();
    const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api:v2";
    const run = await runBundledAction("deploy", {
      inputs: { migration: MIGRATION, side: "old", "image-uri": image, "stable-timeout": "30s" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(run.exitCode, run.stdout).toBe(0);
    const service = (
      await ecs.send(new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] }))
    ).services?.[0];
    expect(service?.taskDefinition).toBe(run.outputs.version);
    expect(service?.runningCount).toBe(service?.desiredCount);
    expect(service?.deployments).toHaveLength(1);
    const definition = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: run.outputs.version! }),
    );
    expect(definition.taskDefinition?.containerDefinitions?.[0]?.image).toBe(image);
    expect(definition.taskDefinition?.cpu).toBe("256");
    expect(JSON.parse(run.outputs.checkpoint!).ecsTaskDefinition).toBe(run.outputs["previous-version"]);
    expect(run.summary).toMatch(/ECS service prod\/orders-api: orders-api:\d+ → orders-api:\d+/);
  });

  it("refuses a missing package with a clear error and changes nothing", async () => {
    const dir = e2eWorkspace();
    const before = await aliasVersion();
    const run = await runBundledAction("deploy", {
      inputs: { migration: MIGRATION, "zip-file": "dist/missing.zip" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('input "zip-file": dist/missing.zip does not exist in the workspace');
    expect(run.summary).toContain("deploy: orders-api (new side) refused");
    expect(await aliasVersion()).toBe(before);
  });

  it("refuses alias-steps out of range before any write: no new code in $LATEST, no new version", async () => {
    const dir = e2eWorkspace();
    const before = await aliasVersion();
    const latest = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "orders-api" }));
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: "orders-api" }));
    const run = await runBundledAction("deploy", {
      inputs: { migration: MIGRATION, "zip-file": "dist/orders-v2.zip", "alias-steps": "10,500" },
      env: sandbox.env,
      workspace: dir,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('input "alias-steps": 10,500 is not a rising list of whole percents');
    expect(await aliasVersion()).toBe(before);
    const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "orders-api" }));
    expect(after.CodeSha256).toBe(latest.CodeSha256);
    expect(after.RevisionId).toBe(latest.RevisionId);
    const versionsAfter = await lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: "orders-api" }),
    );
    expect(versionsAfter.Versions?.length).toBe(versions.Versions?.length);
  });
});
