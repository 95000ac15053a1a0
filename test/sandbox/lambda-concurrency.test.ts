import {
  DeleteFunctionConcurrencyCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  InvalidParameterValueException,
  InvokeCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  ResourceNotFoundException,
  TooManyRequestsException,
} from "@aws-sdk/client-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCloudWatchService } from "../../sandbox/cloudwatch.js";
import { type DataPlane, startDataPlane } from "../../sandbox/dataplane.js";
import type { Sandbox } from "../../sandbox/index.js";
import { MetricStore } from "../../sandbox/metric-store.js";
import { startTraffic } from "../../sandbox/traffic.js";
import {
  clientConfig,
  referenceSeed,
  rejectionOf,
  startTestSandbox,
} from "../fixtures/sandbox/control-plane.js";
import { dataPlaneSeed, FakeWorld, FUNCTION, RECORD } from "../fixtures/sandbox/fake-world.js";
import { mountServices } from "../fixtures/sandbox/mount.js";

describe("Lambda reserved concurrency", () => {
  let sandbox: Sandbox;
  let lambda: LambdaClient;

  beforeEach(async () => {
    sandbox = await startTestSandbox(referenceSeed());
    lambda = new LambdaClient({ ...clientConfig(sandbox), maxAttempts: 1 });
  });

  afterEach(async () => {
    lambda.destroy();
    await sandbox.close();
  });

  it("puts, reads and deletes a reservation; a function without one answers no value", async () => {
    const before = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: "orders-api" }));
    expect(before.ReservedConcurrentExecutions).toBeUndefined();
    const put = await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: "orders-api", ReservedConcurrentExecutions: 0 }),
    );
    expect(put.ReservedConcurrentExecutions).toBe(0);
    const held = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: "orders-api" }));
    expect(held.ReservedConcurrentExecutions).toBe(0);
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: "orders-api" }));
    expect(fn.Concurrency?.ReservedConcurrentExecutions).toBe(0);
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: "orders-api" }));
    const after = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: "orders-api" }));
    expect(after.ReservedConcurrentExecutions).toBeUndefined();
  });

  it("refuses a reservation that leaves less than 100 of the account's 1000 unreserved", async () => {
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: "orders-api", ReservedConcurrentExecutions: 900 }),
    );
    const over = await rejectionOf(
      lambda.send(
        new PutFunctionConcurrencyCommand({ FunctionName: "orders-api", ReservedConcurrentExecutions: 901 }),
      ),
    );
    expect(over).toBeInstanceOf(InvalidParameterValueException);
    expect(over.message).toBe(
      "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
    );
    expect(over.$metadata?.httpStatusCode).toBe(400);
    const kept = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: "orders-api" }));
    expect(kept.ReservedConcurrentExecutions).toBe(900);
  });

  it("refuses a negative or missing value, a qualifier, and an unknown function", async () => {
    const negative = await rejectionOf(
      lambda.send(
        new PutFunctionConcurrencyCommand({ FunctionName: "orders-api", ReservedConcurrentExecutions: -1 }),
      ),
    );
    expect(negative.name).toBe("ValidationException");
    expect(negative.message).toContain("Member must have value greater than or equal to 0");
    const missing = await rejectionOf(
      lambda.send(
        new PutFunctionConcurrencyCommand({
          FunctionName: "orders-api",
        } as unknown as ConstructorParameters<typeof PutFunctionConcurrencyCommand>[0]),
      ),
    );
    expect(missing.name).toBe("ValidationException");
    expect(missing.message).toContain("'reservedConcurrentExecutions'");
    const qualified = await rejectionOf(
      lambda.send(
        new PutFunctionConcurrencyCommand({
          FunctionName: "orders-api:live",
          ReservedConcurrentExecutions: 0,
        }),
      ),
    );
    expect(qualified.name).toBe("ValidationException");
    const unknown = await rejectionOf(
      lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: "nothing" })),
    );
    expect(unknown).toBeInstanceOf(ResourceNotFoundException);
    expect(unknown.$metadata?.httpStatusCode).toBe(404);
  });

  it("throttles every synchronous invocation while the reservation is 0", async () => {
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: "orders-api", ReservedConcurrentExecutions: 0 }),
    );
    const throttled = await rejectionOf(lambda.send(new InvokeCommand({ FunctionName: "orders-api" })));
    expect(throttled).toBeInstanceOf(TooManyRequestsException);
    expect(throttled.$metadata?.httpStatusCode).toBe(429);
    expect((throttled as TooManyRequestsException).Reason).toBe(
      "ReservedFunctionConcurrentInvocationLimitExceeded",
    );
  });
});

describe("data plane with a Lambda reservation of 0", () => {
  let plane: DataPlane | undefined;
  let services: Awaited<ReturnType<typeof mountServices>> | undefined;

  afterEach(async () => {
    await plane?.close();
    await services?.close();
  });

  it("serves nothing from the held function and counts throttles, then serves once it is lifted", async () => {
    const world = new FakeWorld();
    const store = new MetricStore();
    plane = await startDataPlane({
      seed: dataPlaneSeed(),
      records: world.records,
      ecs: world.ecs,
      lambda: world.lambda,
      metrics: store,
    });
    services = await mountServices([createCloudWatchService(store), plane.admin]);
    const url = plane.urls[RECORD]!;
    world.setWeights(0, 1, 60);
    world.reservedConcurrency = 0;
    const held = await startTraffic({ url, rps: 50, durationMs: 400 }).done;
    expect(held.completed).toBeGreaterThan(0);
    expect(held.serverErrors).toBe(held.completed);
    expect(held.byVersion["lambda@3"] ?? 0).toBe(0);
    plane.flush();
    const throttles = store.query(
      { namespace: "AWS/Lambda", metricName: "Throttles", dimensions: { FunctionName: FUNCTION } },
      { start: held.startedAt - 60_000, end: held.endedAt + 60_000, period: 600, statistic: { kind: "Sum" } },
    );
    expect(throttles.values.reduce((total, value) => total + value, 0)).toBe(held.completed);
    world.reservedConcurrency = undefined;
    const lifted = await startTraffic({ url, rps: 50, durationMs: 400 }).done;
    expect(lifted.byVersion["lambda@3"]).toBe(lifted.completed);
  });
});
