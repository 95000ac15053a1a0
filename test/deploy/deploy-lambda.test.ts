import { describe, expect, it } from "vitest";
import type { LambdaTargetSpec } from "../../src/model/spec.js";
import {
  checkAliasSteps,
  codeSha256,
  deployLambda,
  type LambdaArtifact,
  type LambdaDeployRequest,
} from "../../src/ops/deploy-lambda.js";
import { journal, referenceMigration } from "../fixtures/deploy/migration.js";
import { awsError, DeployWorld } from "../fixtures/deploy/world.js";

const spec = referenceMigration().newSide as LambdaTargetSpec;
const zip: LambdaArtifact = {
  kind: "zip",
  path: "dist/orders.zip",
  bytes: new Uint8Array([0x50, 0x4b, 3, 4, 1, 2, 3]),
};

function request(
  artifact: LambdaArtifact = zip,
  extra: Partial<LambdaDeployRequest> = {},
): LambdaDeployRequest {
  return {
    spec,
    artifact,
    aliasSteps: [],
    aliasStepIntervalSeconds: 30,
    updateTimeoutSeconds: 10,
    description: "release 2026.03.10",
    ...extra,
  };
}

describe("checkAliasSteps", () => {
  it("moves at once without steps", () => {
    expect(checkAliasSteps([])).toEqual([100]);
  });

  it("accepts rising percents ending at 100", () => {
    expect(checkAliasSteps([10, 50, 100])).toEqual([10, 50, 100]);
  });

  it("refuses steps that fall, repeat, leave the range or stop short of 100", () => {
    expect(() => checkAliasSteps([50, 10, 100])).toThrow(
      'input "alias-steps": 50,10,100 is not a rising list',
    );
    expect(() => checkAliasSteps([10, 10, 100])).toThrow("is not a rising list");
    expect(() => checkAliasSteps([0, 100])).toThrow("is not a rising list");
    expect(() => checkAliasSteps([10, 50])).toThrow('input "alias-steps": 10,50 must end at 100');
  });
});

describe("deployLambda", () => {
  it("updates the code, waits, publishes exactly that code and points the alias at the new version", async () => {
    const world = new DeployWorld();
    const outcome = await deployLambda(request(), world.lambda, journal());
    expect(world.mutations()).toEqual(["UpdateFunctionCode", "PublishVersion", "UpdateAlias"]);
    expect(world.calls[0]?.input).toMatchObject({
      FunctionName: "orders-api",
      RevisionId: "rev-1",
      Publish: false,
    });
    expect(world.calls[1]?.input).toMatchObject({
      CodeSha256: codeSha256(zip.kind === "zip" ? zip.bytes : new Uint8Array()),
    });
    expect(world.calls[2]?.input).toMatchObject({
      FunctionVersion: "5",
      RoutingConfig: { AdditionalVersionWeights: {} },
    });
    expect(world.alias).toEqual({ version: "5", routing: {} });
    expect(outcome).toMatchObject({
      previous: "4",
      deployed: "5",
      noOp: false,
      checkpointFields: { lambdaVersion: "4" },
    });
  });

  it("deploys an S3 object", async () => {
    const world = new DeployWorld();
    await deployLambda(
      request({ kind: "s3", bucket: "artifacts", key: "orders/2026.03.10.zip", objectVersion: "v9" }),
      world.lambda,
      journal(),
    );
    expect(world.calls[0]?.input).toMatchObject({
      S3Bucket: "artifacts",
      S3Key: "orders/2026.03.10.zip",
      S3ObjectVersion: "v9",
    });
    expect(world.alias?.version).toBe("5");
  });

  it("is a no-op when the alias's version already has the zip's code", async () => {
    const world = new DeployWorld();
    world.versions.set("4", codeSha256(zip.kind === "zip" ? zip.bytes : new Uint8Array()));
    const outcome = await deployLambda(request(), world.lambda, journal());
    expect(outcome).toMatchObject({ noOp: true, previous: "4", deployed: "4" });
    expect(world.mutations()).toEqual([]);
  });

  it("refuses a function that does not exist", async () => {
    const world = new DeployWorld();
    world.lambdaFunction = undefined;
    await expect(deployLambda(request(), world.lambda, journal())).rejects.toThrow(
      "Lambda orders-api:live: function orders-api does not exist (newSide.functionName)",
    );
  });

  it("refuses an alias that does not exist", async () => {
    const world = new DeployWorld();
    world.alias = undefined;
    await expect(deployLambda(request(), world.lambda, journal())).rejects.toThrow(
      "alias live of function orders-api does not exist",
    );
    expect(world.mutations()).toEqual([]);
  });

  it("refuses while an update is in progress", async () => {
    const world = new DeployWorld();
    world.lambdaFunction!.LastUpdateStatus = "InProgress";
    await expect(deployLambda(request(), world.lambda, journal())).rejects.toThrow(
      "Lambda orders-api:live: an update is already in progress (LastUpdateStatus InProgress)",
    );
    expect(world.mutations()).toEqual([]);
  });

  it("refuses while the alias is mid-shift between two versions", async () => {
    const world = new DeployWorld();
    world.versions.set("5", "sha-v5");
    world.alias = { version: "4", routing: { "5": 0.1 } };
    await expect(deployLambda(request(), world.lambda, journal())).rejects.toThrow(
      "the alias is in the middle of a gradual shift (version 4 with version 5 10 %)",
    );
  });

  it("refuses an image for a zip function, and a zip for an image function", async () => {
    const world = new DeployWorld();
    await expect(
      deployLambda(request({ kind: "image", uri: "repo/orders:v2" }), world.lambda, journal()),
    ).rejects.toThrow('input "image-uri": Lambda orders-api:live is a Zip package function');
    world.lambdaFunction!.PackageType = "Image";
    await expect(deployLambda(request(), world.lambda, journal())).rejects.toThrow(
      "is an Image package function; give image-uri",
    );
    expect(world.mutations()).toEqual([]);
  });

  it("recognises its own update when a lost response ends in PreconditionFailed, by the code's CodeSha256", async () => {
    const world = new DeployWorld();
    world.loseUpdateResponse = true;
    const outcome = await deployLambda(request(), world.lambda, journal());
    expect(world.mutations()).toEqual(["UpdateFunctionCode", "PublishVersion", "UpdateAlias"]);
    expect(outcome.deployed).toBe(world.alias?.version);
    expect(world.alias?.version).not.toBe("4");
  });

  it("leaves the alias on the previous version when the update fails", async () => {
    const world = new DeployWorld();
    world.updateOutcome = "Failed";
    await expect(deployLambda(request(), world.lambda, journal())).rejects.toThrow(
      "the code update did not succeed within 10 s: LastUpdateStatus Failed (The runtime failed to start). " +
        "The alias was not moved; it still serves version 4",
    );
    expect(world.mutations()).toEqual(["UpdateFunctionCode"]);
    expect(world.alias).toEqual({ version: "4", routing: {} });
  });

  it("shifts the alias gradually through its routing weights, pausing between steps", async () => {
    const world = new DeployWorld();
    const pauses: number[] = [];
    const outcome = await deployLambda(
      request(zip, { aliasSteps: [10, 50, 100], sleep: async (ms) => void pauses.push(ms) }),
      world.lambda,
      journal(),
    );
    const aliasUpdates = world.calls
      .filter((call) => call.command === "UpdateAlias")
      .map((call) => call.input);
    expect(aliasUpdates).toEqual([
      expect.objectContaining({
        FunctionVersion: "4",
        RoutingConfig: { AdditionalVersionWeights: { "5": 0.1 } },
      }),
      expect.objectContaining({
        FunctionVersion: "4",
        RoutingConfig: { AdditionalVersionWeights: { "5": 0.5 } },
      }),
      expect.objectContaining({ FunctionVersion: "5", RoutingConfig: { AdditionalVersionWeights: {} } }),
    ]);
    expect(pauses).toEqual([30_000, 30_000]);
    expect(outcome.deployed).toBe("5");
    expect(world.alias).toEqual({ version: "5", routing: {} });
  });

  it("puts the alias back on the previous version alone when a gradual step fails", async () => {
    const world = new DeployWorld();
    world.failWeightedAlias = awsError(
      "ResourceConflictException",
      "The operation cannot be performed at this time.",
      409,
    );
    await expect(
      deployLambda(request(zip, { aliasSteps: [10, 100], sleep: async () => {} }), world.lambda, journal()),
    ).rejects.toThrow(
      "moving the alias to version 5 failed (The operation cannot be performed at this time.); it was put back on version 4 alone",
    );
    expect(world.alias).toEqual({ version: "4", routing: {} });
  });
});
