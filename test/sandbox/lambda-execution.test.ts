import {
  CreateFunctionCommand,
  type CreateFunctionCommandInput,
  DeleteFunctionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  InvokeCommand,
  LambdaClient,
  PutFunctionEventInvokeConfigCommand,
  UpdateFunctionCodeCommand,
} from "@aws-sdk/client-lambda";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import type { DeadLetterSink } from "../../sandbox/types.js";
import { storedZip } from "../../src/demo/zip.js";
import { clientConfig, ManualClock, referenceSeed, rejectionOf } from "../fixtures/sandbox/control-plane.js";

const ROLE = "arn:aws:iam::123456789012:role/guardian";
const DLQ = "arn:aws:sqs:us-east-1:123456789012:cutover-orders-guardian-dlq";

/** A fake SQS: the messages each queue ARN received. */
class FakeQueues implements DeadLetterSink {
  readonly received: Array<{ queueArn: string; body: string; attributes?: Record<string, string> }> = [];
  sendToQueue(queueArn: string, body: string, attributes?: Record<string, string>): void {
    this.received.push(attributes ? { queueArn, body, attributes } : { queueArn, body });
  }
}

let sandbox: Sandbox;
let lambda: LambdaClient;
let queues: FakeQueues;

beforeEach(async () => {
  queues = new FakeQueues();
  sandbox = await startSandbox({
    seed: referenceSeed(),
    port: 0,
    lambdaAsyncRetryDelayMs: 20,
    deadLetters: queues,
  });
  lambda = new LambdaClient(clientConfig(sandbox));
});

afterEach(async () => {
  lambda.destroy();
  await sandbox.close();
});

function create(
  name: string,
  files: Record<string, string>,
  extra: Partial<CreateFunctionCommandInput> = {},
) {
  return lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: "nodejs24.x",
      Handler: "index.handler",
      Role: ROLE,
      Code: { ZipFile: new Uint8Array(storedZip(files)) },
      ...extra,
    }),
  );
}

const THROWING = {
  "index.mjs": `export const handler = async (event) => { console.log("failing on", JSON.stringify(event)); throw new TypeError("checkpoint unreadable"); };`,
};

async function invocations(): Promise<
  Array<{
    functionName: string;
    requestId: string;
    cold: boolean;
    outcome: string;
    attempt: number;
    logs: string;
  }>
> {
  const response = await fetch(`${sandbox.endpoint}/_sandbox/lambda/invocations`);
  return ((await response.json()) as { invocations: [] }).invocations;
}

function decode(payload: Uint8Array | undefined): unknown {
  return JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString("utf8"));
}

describe("CreateFunction", () => {
  it("refuses what Lambda refuses, with its error codes", async () => {
    const cases: Array<[Partial<CreateFunctionCommandInput>, string, RegExp]> = [
      [{ Role: "guardian" }, "ValidationException", /at 'role' failed to satisfy constraint/],
      [{ Timeout: 0 }, "ValidationException", /at 'timeout'.*greater than or equal to 1/],
      [{ Timeout: 901 }, "ValidationException", /less than or equal to 900/],
      [{ MemorySize: 64 }, "ValidationException", /at 'memorySize'.*greater than or equal to 128/],
      [{ MemorySize: 10_241 }, "ValidationException", /less than or equal to 10240/],
      [{ Runtime: "nodejs16.x" }, "InvalidParameterValueException", /nodejs16.x is no longer supported/],
      [{ Runtime: "python3.12" }, "InvalidParameterValueException", /runs only Node.js handlers/],
      [
        { Environment: { Variables: { BIG: "x".repeat(4090) } } },
        "InvalidParameterValueException",
        /exceeded the 4KB limit. String measured: \{"BIG"/,
      ],
      [
        { Environment: { Variables: { AWS_REGION: "eu-west-1" } } },
        "InvalidParameterValueException",
        /reserved keys .* AWS_REGION/,
      ],
      [
        { DeadLetterConfig: { TargetArn: "my-queue" } },
        "InvalidParameterValueException",
        /not an SQS queue or SNS topic/,
      ],
      [
        { Code: { ZipFile: new TextEncoder().encode("not a zip") } },
        "InvalidParameterValueException",
        /Could not unzip/,
      ],
    ];
    for (const [override, code, message] of cases) {
      const error = await rejectionOf(create("refused", { "index.mjs": "" }, override));
      expect(error.name, JSON.stringify(override).slice(0, 80)).toBe(code);
      expect(error.message).toMatch(message);
    }
    await create("taken", { "index.mjs": "export const handler = async () => 1;" });
    const again = await rejectionOf(create("taken", { "index.mjs": "" }));
    expect(again.name).toBe("ResourceConflictException");
    expect(again.message).toBe("Function already exist: taken");
  });

  it("describes the created function and deletes it", async () => {
    const created = await create(
      "guardian",
      { "index.mjs": "export const handler = async () => 1;" },
      {
        Timeout: 30,
        MemorySize: 256,
        Environment: { Variables: { CUTOVER_ENVIRONMENT: "production" } },
        DeadLetterConfig: { TargetArn: DLQ },
      },
    );
    expect(created).toMatchObject({
      FunctionName: "guardian",
      Runtime: "nodejs24.x",
      Handler: "index.handler",
      Role: ROLE,
      Timeout: 30,
      MemorySize: 256,
      Environment: { Variables: { CUTOVER_ENVIRONMENT: "production" } },
      DeadLetterConfig: { TargetArn: DLQ },
    });
    await lambda.send(new DeleteFunctionCommand({ FunctionName: "guardian" }));
    const gone = await rejectionOf(
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "guardian" })),
    );
    expect(gone.name).toBe("ResourceNotFoundException");
  });
});

describe("Invoke", () => {
  it("runs a real handler that calls the sandbox with the SDK, cold then warm, with its environment and logs", async () => {
    const handler = `
import { S3Client, CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
const s3 = new S3Client({});
let invocations = 0;
export const handler = async (event, context) => {
  invocations++;
  console.log("writing", event.key);
  if (invocations === 1) await s3.send(new CreateBucketCommand({ Bucket: process.env.BUCKET }));
  const put = await s3.send(new PutObjectCommand({ Bucket: process.env.BUCKET, Key: event.key, Body: JSON.stringify(event), IfNoneMatch: "*" }));
  return { etag: put.ETag, invocations, region: process.env.AWS_REGION, name: process.env.AWS_LAMBDA_FUNCTION_NAME,
    requestId: context.awsRequestId, remaining: context.getRemainingTimeInMillis() };
};`;
    await create(
      "writer",
      { "index.mjs": handler },
      { Timeout: 20, Environment: { Variables: { BUCKET: "journal" } } },
    );
    const first = await lambda.send(
      new InvokeCommand({
        FunctionName: "writer",
        Payload: JSON.stringify({ key: "e1.json" }),
        LogType: "Tail",
      }),
    );
    expect(first.StatusCode).toBe(200);
    expect(first.FunctionError).toBeUndefined();
    const result = decode(first.Payload) as Record<string, unknown>;
    expect(result).toMatchObject({ invocations: 1, region: "us-east-1", name: "writer" });
    expect(result.remaining).toBeGreaterThan(0);
    expect(Buffer.from(first.LogResult ?? "", "base64").toString()).toContain("writing e1.json");
    const second = await lambda.send(
      new InvokeCommand({ FunctionName: "writer", Payload: JSON.stringify({ key: "e2.json" }) }),
    );
    expect(decode(second.Payload)).toMatchObject({ invocations: 2 });
    const s3 = new S3Client(clientConfig(sandbox));
    const stored = await s3.send(new GetObjectCommand({ Bucket: "journal", Key: "e2.json" }));
    expect(JSON.parse((await stored.Body?.transformToString()) ?? "")).toEqual({ key: "e2.json" });
    s3.destroy();
    const records = await invocations();
    expect(records.map((record) => [record.functionName, record.cold, record.outcome])).toEqual([
      ["writer", true, "success"],
      ["writer", false, "success"],
    ]);
    expect(records[0]?.requestId).toBe(result.requestId);
    expect(records[1]?.logs).toContain("writing e2.json");
  });

  it("runs new code after UpdateFunctionCode, in a new environment", async () => {
    await create("updated", { "index.mjs": "export const handler = async () => 'one';" });
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: "updated" }))).Payload)).toBe("one");
    await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: "updated",
        ZipFile: new Uint8Array(storedZip({ "index.mjs": "export const handler = async () => 'two';" })),
      }),
    );
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: "updated" }))).Payload)).toBe("two");
    expect((await invocations()).map((record) => record.cold)).toEqual([true, true]);
  });

  it("runs a CommonJS handler", async () => {
    await create(
      "cjs",
      { "app.js": "exports.main = async (event) => ({ doubled: event.n * 2 });" },
      { Handler: "app.main" },
    );
    const answer = await lambda.send(
      new InvokeCommand({ FunctionName: "cjs", Payload: JSON.stringify({ n: 21 }) }),
    );
    expect(decode(answer.Payload)).toEqual({ doubled: 42 });
  });

  it("answers a handler error as Unhandled with errorType, errorMessage and trace; DryRun 204; Event 202", async () => {
    await create("thrower", THROWING);
    const answer = await lambda.send(new InvokeCommand({ FunctionName: "thrower", Payload: "{}" }));
    expect(answer.StatusCode).toBe(200);
    expect(answer.FunctionError).toBe("Unhandled");
    const error = decode(answer.Payload) as { errorType: string; errorMessage: string; trace: string[] };
    expect(error.errorType).toBe("TypeError");
    expect(error.errorMessage).toBe("checkpoint unreadable");
    expect(error.trace[0]).toBe("TypeError: checkpoint unreadable");
    expect(Buffer.from(answer.LogResult ?? "", "base64").toString()).toBe("");
    const [record] = await invocations();
    expect(record?.logs).toMatch(new RegExp(`\\t${record?.requestId}\\tINFO\\tfailing on \\{\\}\\n`));
    const dry = await lambda.send(new InvokeCommand({ FunctionName: "thrower", InvocationType: "DryRun" }));
    expect(dry.StatusCode).toBe(204);
    const missingModule = await create("no-module", { "other.mjs": "" });
    expect(missingModule.FunctionName).toBe("no-module");
    const importError = await lambda.send(new InvokeCommand({ FunctionName: "no-module" }));
    expect((decode(importError.Payload) as { errorType: string }).errorType).toBe(
      "Runtime.ImportModuleError",
    );
    const bad = await rejectionOf(
      lambda.send(new InvokeCommand({ FunctionName: "thrower", Payload: "{not json" })),
    );
    expect(bad.name).toBe("InvalidRequestContentException");
    const seeded = await rejectionOf(lambda.send(new InvokeCommand({ FunctionName: "orders-api" })));
    expect(seeded.name).toBe("InvalidParameterValueException");
    const unknown = await rejectionOf(lambda.send(new InvokeCommand({ FunctionName: "nope" })));
    expect(unknown.name).toBe("ResourceNotFoundException");
  });

  it("stops a handler that outlives its Timeout, and the next invoke starts cold", async () => {
    await create(
      "sleeper",
      {
        "index.mjs":
          "export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return 'awake'; };",
      },
      { Timeout: 1 },
    );
    const started = Date.now();
    const answer = await lambda.send(
      new InvokeCommand({ FunctionName: "sleeper", Payload: JSON.stringify({ ms: 5000 }) }),
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(answer.FunctionError).toBe("Unhandled");
    const error = decode(answer.Payload) as { errorType: string; errorMessage: string };
    expect(error.errorType).toBe("Sandbox.Timedout");
    expect(error.errorMessage).toMatch(/Task timed out after 1.00 seconds/);
    const quick = await lambda.send(
      new InvokeCommand({ FunctionName: "sleeper", Payload: JSON.stringify({ ms: 1 }) }),
    );
    expect(decode(quick.Payload)).toBe("awake");
    expect((await invocations()).map((record) => [record.outcome, record.cold])).toEqual([
      ["timeout", true],
      ["success", true],
    ]);
  });
});

describe("async invocations", () => {
  it("configures event invokes within Lambda's limits", async () => {
    await create("configured", THROWING);
    const none = await rejectionOf(
      lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: "configured" })),
    );
    expect(none.name).toBe("ResourceNotFoundException");
    for (const [input, message] of [
      [{ MaximumRetryAttempts: 3 }, /maximumRetryAttempts.*less than or equal to 2/],
      [{ MaximumEventAgeInSeconds: 59 }, /maximumEventAgeInSeconds.*greater than or equal to 60/],
      [{ MaximumEventAgeInSeconds: 21_601 }, /less than or equal to 21600/],
    ] as const) {
      const error = await rejectionOf(
        lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: "configured", ...input })),
      );
      expect(error.name).toBe("ValidationException");
      expect(error.message).toMatch(message);
    }
    const put = await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "configured",
        MaximumRetryAttempts: 1,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: DLQ } },
      }),
    );
    expect(put.LastModified).toBeInstanceOf(Date);
    const got = await lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: "configured" }));
    expect(got).toMatchObject({
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: DLQ } },
    });
  });

  it("retries a throwing handler twice, then sends the failure record to OnFailure and the event to the DLQ", async () => {
    const onFailure = "arn:aws:sqs:us-east-1:123456789012:on-failure";
    await create("failing", THROWING, { DeadLetterConfig: { TargetArn: DLQ } });
    await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "failing",
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: onFailure } },
      }),
    );
    const accepted = await lambda.send(
      new InvokeCommand({
        FunctionName: "failing",
        InvocationType: "Event",
        Payload: JSON.stringify({ alarm: "x" }),
      }),
    );
    expect(accepted.StatusCode).toBe(202);
    expect(queues.received).toEqual([]);
    await sandbox.lambda.drainAsync();
    const records = await invocations();
    expect(records.map((record) => [record.attempt, record.outcome])).toEqual([
      [1, "error"],
      [2, "error"],
      [3, "error"],
    ]);
    const requestId = records[0]?.requestId;
    expect(new Set(records.map((record) => record.requestId))).toEqual(new Set([requestId]));
    expect(queues.received.map((message) => message.queueArn)).toEqual([onFailure, DLQ]);
    const record = JSON.parse(queues.received[0]?.body ?? "{}");
    expect(record).toMatchObject({
      version: "1.0",
      requestContext: {
        requestId,
        functionArn: "arn:aws:lambda:us-east-1:123456789012:function:failing:$LATEST",
        condition: "RetriesExhausted",
        approximateInvokeCount: 3,
      },
      requestPayload: { alarm: "x" },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      responsePayload: { errorType: "TypeError", errorMessage: "checkpoint unreadable" },
    });
    expect(queues.received[1]).toEqual({
      queueArn: DLQ,
      body: JSON.stringify({ alarm: "x" }),
      attributes: { RequestID: requestId, ErrorCode: "200", ErrorMessage: "checkpoint unreadable" },
    });
  });

  it("drops an event older than MaximumEventAgeInSeconds at its retry, with condition EventAgeExceeded", async () => {
    await sandbox.close();
    const clock = new ManualClock();
    sandbox = await startSandbox({
      seed: referenceSeed(),
      port: 0,
      now: clock.now,
      lambdaAsyncRetryDelayMs: 1000,
      deadLetters: queues,
    });
    lambda.destroy();
    lambda = new LambdaClient(clientConfig(sandbox));
    await create("aging", THROWING);
    await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: "aging",
        MaximumEventAgeInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: DLQ } },
      }),
    );
    await lambda.send(new InvokeCommand({ FunctionName: "aging", InvocationType: "Event", Payload: "{}" }));
    const deadline = Date.now() + 5000;
    while ((await invocations()).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    clock.advance(61_000);
    await sandbox.lambda.drainAsync();
    expect((await invocations()).map((record) => record.attempt)).toEqual([1]);
    expect(queues.received.map((message) => JSON.parse(message.body).requestContext)).toEqual([
      expect.objectContaining({ condition: "EventAgeExceeded", approximateInvokeCount: 1 }),
    ]);
  });

  it("records a dead-letter delivery the queue refused", async () => {
    queues.sendToQueue = () => {
      throw new Error("The specified queue does not exist.");
    };
    await create("undeliverable", THROWING, { DeadLetterConfig: { TargetArn: DLQ } });
    await lambda.send(
      new PutFunctionEventInvokeConfigCommand({ FunctionName: "undeliverable", MaximumRetryAttempts: 0 }),
    );
    await lambda.send(
      new InvokeCommand({ FunctionName: "undeliverable", InvocationType: "Event", Payload: "{}" }),
    );
    await sandbox.lambda.drainAsync();
    const records = (await invocations()) as Array<{
      attempt: number;
      outcome: string;
      error?: { errorType: string };
    }>;
    expect(records.map((record) => [record.attempt, record.outcome, record.error?.errorType])).toEqual([
      [1, "error", "TypeError"],
      [0, "error", "DeadLetterDeliveryFailed"],
    ]);
  });

  it("takes events through the AsyncInvoker interface, and refuses an unknown function", async () => {
    await create("ok", { "index.mjs": "export const handler = async (event) => event;" });
    const { requestId } = await sandbox.lambda.invokeAsync(
      "arn:aws:lambda:us-east-1:123456789012:function:ok",
      JSON.stringify({ source: "aws.cloudwatch" }),
    );
    await sandbox.lambda.drainAsync();
    expect((await invocations()).map((record) => [record.requestId, record.outcome])).toEqual([
      [requestId, "success"],
    ]);
    expect(queues.received).toEqual([]);
    await expect(
      sandbox.lambda.invokeAsync("arn:aws:lambda:us-east-1:123456789012:function:missing", "{}"),
    ).rejects.toMatchObject({ code: "ResourceNotFoundException", status: 404 });
  });
});
