/**
 * Lambda's error bodies and alias routing refusals as AWS answers them, through the real SDK client and raw HTTP.
 * Each case cites where AWS's behaviour is documented or recorded.
 */
import {
  GetFunctionCommand,
  InvalidParameterValueException,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../../sandbox/index.js";
import { clientConfig, rejectionOf, startTestSandbox } from "../../fixtures/sandbox/control-plane.js";

const FUNCTION = "orders-api";

/** A minimal zip archive (an empty one whose comment is `label`), different bytes for each label. */
function zipArchive(label: string): Uint8Array {
  const comment = Buffer.from(label);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(comment.length, 20);
  return new Uint8Array(Buffer.concat([end, comment]));
}
let sandbox: Sandbox;
let lambda: LambdaClient;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  lambda = new LambdaClient(clientConfig(sandbox));
  for (const label of ["v2", "v3"]) {
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: FUNCTION, ZipFile: zipArchive(label) }));
    await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.1 },
      { FunctionName: FUNCTION },
    );
    await lambda.send(new PublishVersionCommand({ FunctionName: FUNCTION }));
  }
});

afterAll(async () => {
  lambda.destroy();
  await sandbox.close();
});

const route = (weights: Record<string, number>, version = "1") =>
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

describe("error bodies", () => {
  // https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html#API_GetFunction_Errors: errors carry
  // "Type" and "Message" (e.g. {"Type":"User","Message":"Function not found: ..."}) and x-amzn-ErrorType.
  it("answers Type and Message (capital M) with x-amzn-ErrorType", async () => {
    const response = await fetch(`${sandbox.endpoint}/2015-03-31/functions/nothing`);
    expect(response.status).toBe(404);
    expect(response.headers.get("x-amzn-errortype")).toBe("ResourceNotFoundException");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      Type: "User",
      Message: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nothing",
    });
    const error = await rejectionOf(lambda.send(new GetFunctionCommand({ FunctionName: "nothing" })));
    expect(error.message).toBe("Function not found: arn:aws:lambda:us-east-1:123456789012:function:nothing");
  });
});

describe("UpdateAlias: routing configuration", () => {
  // Recorded responses in LocalStack's snapshot-tested provider (localstack/services/lambda/provider.py,
  // _create_routing_config_model): more than one entry is InvalidParameterValueException.
  it("refuses two additional versions as InvalidParameterValueException", async () => {
    const error = await route({ "2": 0.1, "3": 0.1 });
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toBe("Number of items in AdditionalVersionWeights cannot be greater than 1");
  });

  // Same source: $LATEST as a routing key fails the key pattern [0-9]+ (ValidationException).
  it("refuses $LATEST as a routing version as a ValidationException", async () => {
    const error = await route({ $LATEST: 0.5 });
    expect(error.name).toBe("ValidationException");
    expect(error.message).toContain("Map keys must satisfy constraint");
    expect(error.message).toContain("Member must satisfy regular expression pattern: [0-9]+");
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html: an alias routing to two versions
  // cannot point at $LATEST ("$LATEST is not supported for an alias pointing to more than 1 version").
  it("refuses routing from an alias on $LATEST", async () => {
    const error = await route({ "2": 0.5 }, "$LATEST");
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toBe("$LATEST is not supported for an alias pointing to more than 1 version");
  });

  // Same LocalStack source: the primary version again as the additional one.
  it("refuses the primary version as its own additional version", async () => {
    const error = await route({ "1": 0.5 });
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect(error.message).toBe(
      "Invalid function version 1. Function version 1 is already included in routing configuration.",
    );
  });
});
