import {
  CreateAliasCommand,
  type FunctionConfiguration,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvalidParameterValueException,
  LambdaClient,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PreconditionFailedException,
  PublishVersionCommand,
  paginateListVersionsByFunction,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../sandbox/index.js";
import {
  clientConfig,
  ManualClock,
  referenceSeed,
  rejectionOf,
  startTestSandbox,
} from "../fixtures/sandbox/control-plane.js";

const FUNCTION = "orders-api";
const ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders-api";
const WAIT = { minDelay: 0.05, maxDelay: 0.1, maxWaitTime: 10 };

/** A minimal zip archive (an empty one with a comment), different bytes for each `label`. */
function zipArchive(label: string): Uint8Array {
  const comment = Buffer.from(label);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(comment.length, 20);
  return new Uint8Array(Buffer.concat([end, comment]));
}

let sandbox: Sandbox;
let lambda: LambdaClient;
let clock: ManualClock | undefined;

async function start(manual: boolean): Promise<void> {
  clock = manual ? new ManualClock() : undefined;
  sandbox = await startTestSandbox(referenceSeed({ updateMs: 200 }), clock?.now);
  lambda = new LambdaClient(clientConfig(sandbox));
}

afterEach(async () => {
  lambda.destroy();
  await sandbox.close();
});

async function updateAndWait(label: string): Promise<FunctionConfiguration> {
  const updated = await lambda.send(
    new UpdateFunctionCodeCommand({ FunctionName: FUNCTION, ZipFile: zipArchive(label) }),
  );
  await waitUntilFunctionUpdatedV2({ client: lambda, ...WAIT }, { FunctionName: FUNCTION });
  return updated;
}

describe("with the real clock", () => {
  beforeEach(() => start(false));

  it("describes the seeded function, its code location and its configuration by name, ARN and qualifier", async () => {
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: FUNCTION }));
    expect(fn.Configuration).toMatchObject({
      FunctionName: FUNCTION,
      FunctionArn: ARN,
      Version: "$LATEST",
      State: "Active",
      LastUpdateStatus: "Successful",
      PackageType: "Zip",
      Runtime: "nodejs22.x",
      MemorySize: 1024,
    });
    expect(fn.Code?.RepositoryType).toBe("S3");
    const byArn = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: ARN, Qualifier: "live" }),
    );
    expect(byArn).toMatchObject({ Version: "1", FunctionArn: `${ARN}:1` });
    const byQualifiedName = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: `${FUNCTION}:1` }),
    );
    expect(byQualifiedName.CodeSha256).toBe(byArn.CodeSha256);
  });

  it("answers ResourceNotFoundException (404) with x-amzn-errortype for an unknown function or version", async () => {
    const error = await rejectionOf(lambda.send(new GetFunctionCommand({ FunctionName: "nothing" })));
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.message).toBe("Function not found: arn:aws:lambda:us-east-1:123456789012:function:nothing");
    expect(error.$metadata?.httpStatusCode).toBe(404);
    const version = await rejectionOf(
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: FUNCTION, Qualifier: "42" })),
    );
    expect(version).toBeInstanceOf(ResourceNotFoundException);
  });

  it("updates code: InProgress, ResourceConflictException meanwhile, then Successful for waitUntilFunctionUpdatedV2", async () => {
    const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: FUNCTION }));
    const updated = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: FUNCTION, ZipFile: zipArchive("v2") }),
    );
    expect(updated.LastUpdateStatus).toBe("InProgress");
    expect(updated.CodeSha256).not.toBe(before.CodeSha256);
    expect(updated.RevisionId).not.toBe(before.RevisionId);
    const conflict = await rejectionOf(
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: FUNCTION, ZipFile: zipArchive("v3") })),
    );
    expect(conflict).toBeInstanceOf(ResourceConflictException);
    expect(conflict.$metadata?.httpStatusCode).toBe(409);
    expect(conflict.message).toContain(`An update is in progress for resource: ${ARN}`);
    const publishing = await rejectionOf(lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION })));
    expect(publishing).toBeInstanceOf(ResourceConflictException);
    const waited = await waitUntilFunctionUpdatedV2({ client: lambda, ...WAIT }, { FunctionName: FUNCTION });
    expect(waited.state).toBe("SUCCESS");
    const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: FUNCTION }));
    expect(after).toMatchObject({
      LastUpdateStatus: "Successful",
      State: "Active",
      CodeSha256: updated.CodeSha256,
    });
  });

  it("accepts code from S3, and refuses no source, two sources, an image for a zip function and a file that is not a zip", async () => {
    const fromS3 = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: FUNCTION,
        S3Bucket: "artifacts",
        S3Key: "orders-api/2.zip",
      }),
    );
    expect(fromS3.LastUpdateStatus).toBe("InProgress");
    await waitUntilFunctionUpdatedV2({ client: lambda, ...WAIT }, { FunctionName: FUNCTION });
    const cases = [
      {},
      { ZipFile: zipArchive("a"), S3Bucket: "b", S3Key: "k" },
      { ImageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api:2" },
      { ZipFile: new Uint8Array(Buffer.from("plain text, not an archive")) },
    ];
    for (const source of cases) {
      const error = await rejectionOf(
        lambda.send(new UpdateFunctionCodeCommand({ FunctionName: FUNCTION, ...source })),
      );
      expect(error).toBeInstanceOf(InvalidParameterValueException);
    }
  });

  it("refuses a stale RevisionId with PreconditionFailedException (412)", async () => {
    const error = await rejectionOf(
      lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: FUNCTION,
          ZipFile: zipArchive("x"),
          RevisionId: "stale",
        }),
      ),
    );
    expect(error).toBeInstanceOf(PreconditionFailedException);
    expect(error.$metadata?.httpStatusCode).toBe(412);
  });

  it("publishes versions, returns the newest one when nothing changed, and checks CodeSha256", async () => {
    const updated = await updateAndWait("v2");
    const mismatch = await rejectionOf(
      lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION, CodeSha256: "bm90IHRoZSBjb2Rl" })),
    );
    expect(mismatch).toBeInstanceOf(InvalidParameterValueException);
    const published = await lambda.send(
      new PublishVersionCommand({
        FunctionName: FUNCTION,
        CodeSha256: updated.CodeSha256,
        Description: "orders 2",
      }),
    );
    expect(published).toMatchObject({
      Version: "2",
      FunctionArn: `${ARN}:2`,
      Description: "orders 2",
      CodeSha256: updated.CodeSha256,
    });
    const again = await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION }));
    expect(again.Version).toBe("2");
  });

  it("publishes no new version when identical code is uploaded again (CodeSha256 unchanged), and one once it changes", async () => {
    await updateAndWait("v2");
    const first = await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION }));
    const reuploaded = await updateAndWait("v2");
    expect(reuploaded.CodeSha256).toBe(first.CodeSha256);
    const again = await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION }));
    expect(again.Version).toBe(first.Version);
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: FUNCTION }));
    expect(versions.Versions?.map((version) => version.Version)).toEqual(["$LATEST", "1", first.Version]);
    await updateAndWait("v3");
    const changed = await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION }));
    expect(Number(changed.Version)).toBe(Number(first.Version) + 1);
  });

  it("lists versions with Marker/MaxItems paging, $LATEST first", async () => {
    for (const label of ["v2", "v3", "v4"]) {
      await updateAndWait(label);
      await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION }));
    }
    const first = await lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: FUNCTION, MaxItems: 2 }),
    );
    expect(first.Versions?.map((version) => version.Version)).toEqual(["$LATEST", "1"]);
    expect(first.NextMarker).toBeDefined();
    const versions: string[] = [];
    for await (const page of paginateListVersionsByFunction(
      { client: lambda, pageSize: 2 },
      { FunctionName: FUNCTION },
    )) {
      versions.push(...(page.Versions ?? []).map((version) => version.Version ?? ""));
    }
    expect(versions).toEqual(["$LATEST", "1", "2", "3", "4"]);
    const badMarker = await rejectionOf(
      lambda.send(new ListVersionsByFunctionCommand({ FunctionName: FUNCTION, Marker: "not-a-marker" })),
    );
    expect(badMarker).toBeInstanceOf(InvalidParameterValueException);
  });

  it("creates, reads and updates aliases with one additional version weight", async () => {
    await updateAndWait("v2");
    await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION }));
    const live = await lambda.send(new GetAliasCommand({ FunctionName: FUNCTION, Name: "live" }));
    expect(live).toMatchObject({ AliasArn: `${ARN}:live`, Name: "live", FunctionVersion: "1" });
    expect(live.RoutingConfig).toBeUndefined();

    const canary = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: FUNCTION,
        Name: "live",
        RoutingConfig: { AdditionalVersionWeights: { "2": 0.1 } },
      }),
    );
    expect(canary.RoutingConfig?.AdditionalVersionWeights).toEqual({ "2": 0.1 });
    expect(canary.RevisionId).not.toBe(live.RevisionId);
    expect(sandbox.lambda.alias(FUNCTION, "live")).toEqual({
      functionVersion: "1",
      additionalVersionWeights: { "2": 0.1 },
    });

    const promoted = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: FUNCTION,
        Name: "live",
        FunctionVersion: "2",
        RoutingConfig: { AdditionalVersionWeights: {} },
      }),
    );
    expect(promoted.FunctionVersion).toBe("2");
    expect(promoted.RoutingConfig).toBeUndefined();

    const created = await lambda.send(
      new CreateAliasCommand({
        FunctionName: FUNCTION,
        Name: "staging",
        FunctionVersion: "1",
        Description: "pre-production",
      }),
    );
    expect(created).toMatchObject({ Name: "staging", FunctionVersion: "1", Description: "pre-production" });
    const duplicate = await rejectionOf(
      lambda.send(new CreateAliasCommand({ FunctionName: FUNCTION, Name: "staging", FunctionVersion: "1" })),
    );
    expect(duplicate).toBeInstanceOf(ResourceConflictException);
    const missing = await rejectionOf(
      lambda.send(new GetAliasCommand({ FunctionName: FUNCTION, Name: "nope" })),
    );
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(missing.message).toBe(`Cannot find alias arn: ${ARN}:nope`);
  });

  it("refuses routing AWS refuses: two extra versions, a weight above 1, $LATEST, a missing version", async () => {
    for (const label of ["v2", "v3"]) {
      await updateAndWait(label);
      await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION }));
    }
    const update = (weights: Record<string, number>, version = "1") =>
      rejectionOf(
        lambda.send(
          new UpdateAliasCommand({
            FunctionName: FUNCTION,
            Name: "live",
            FunctionVersion: version,
            RoutingConfig: { AdditionalVersionWeights: weights },
          }),
        ),
      );
    const two = await update({ "2": 0.1, "3": 0.1 });
    expect(two).toBeInstanceOf(InvalidParameterValueException);
    expect(two.message).toBe("Number of items in AdditionalVersionWeights cannot be greater than 1");
    const heavy = await update({ "2": 1.5 });
    expect(heavy.name).toBe("ValidationException");
    const latest = await update({ "2": 0.5 }, "$LATEST");
    expect(latest).toBeInstanceOf(InvalidParameterValueException);
    const absent = await update({ "9": 0.5 });
    expect(absent).toBeInstanceOf(ResourceNotFoundException);
    expect(sandbox.lambda.alias(FUNCTION, "live")).toEqual({
      functionVersion: "1",
      additionalVersionWeights: {},
    });
  });

  it("answers UnknownOperationException for a Lambda operation it does not serve", async () => {
    const error = await rejectionOf(lambda.send(new ListFunctionsCommand({})));
    expect(error.name).toBe("UnknownOperationException");
  });
});

describe("with a manual clock", () => {
  beforeEach(() => start(true));

  it("keeps LastUpdateStatus InProgress for exactly the configured update time", async () => {
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: FUNCTION, ZipFile: zipArchive("v2") }));
    clock?.advance(199);
    expect(
      (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: FUNCTION }))).LastUpdateStatus,
    ).toBe("InProgress");
    clock?.advance(1);
    expect(
      (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: FUNCTION }))).LastUpdateStatus,
    ).toBe("Successful");
  });
});
