import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeServicesCommand, ECSClient } from "@aws-sdk/client-ecs";
import { GetFunctionCommand, LambdaClient, TooManyRequestsException } from "@aws-sdk/client-lambda";
import {
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  PriorRequestNotComplete,
  Route53Client,
  Route53ServiceException,
} from "@aws-sdk/client-route-53";
import { afterEach, describe, expect, it } from "vitest";
import { AdminUsageError, runAdminCommand } from "../../sandbox/admin.js";
import type { FaultRecord } from "../../sandbox/faults.js";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import {
  clientConfig,
  ManualClock,
  referenceSeed,
  rejectionOf,
  startTestSandbox,
} from "../fixtures/sandbox/control-plane.js";

const ZONE = "Z0123456789EXAMPLECOM";

/** The parts of GET /_sandbox/state these tests read. */
interface SandboxStateDump {
  calls: Record<string, number>;
  route53: { hostedZones: Array<{ id: string }> };
  ecs: { clusters: Array<{ services: Array<Record<string, unknown>> }> };
  lambda: { functions: Array<{ aliases: Array<Record<string, unknown>> }> };
}

let sandbox: Sandbox;
const clients: Array<{ destroy(): void }> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await sandbox.close();
});

function track<T extends { destroy(): void }>(client: T): T {
  clients.push(client);
  return client;
}

async function addFault(fault: Record<string, unknown>): Promise<Response> {
  return fetch(`${sandbox.endpoint}/_sandbox/faults`, {
    method: "POST",
    body: JSON.stringify(fault),
    headers: { "content-type": "application/json" },
  });
}

async function listFaults(): Promise<FaultRecord[]> {
  const response = await fetch(`${sandbox.endpoint}/_sandbox/faults`);
  return ((await response.json()) as { faults: FaultRecord[] }).faults;
}

describe("faults on AWS operations", () => {
  it("throttles the first N calls; the SDK's retry survives them and the fault reports its firings", async () => {
    sandbox = await startTestSandbox();
    expect(
      (await addFault({ service: "route53", operation: "GetHostedZone", error: "Throttling", count: 2 }))
        .status,
    ).toBe(201);
    const route53 = track(new Route53Client(clientConfig(sandbox, 3)));
    const answer = await route53.send(new GetHostedZoneCommand({ Id: ZONE }));
    expect(answer.HostedZone?.Name).toBe("example.com.");
    expect(answer.$metadata.attempts).toBe(3);
    expect(await listFaults()).toMatchObject([
      {
        service: "route53",
        operation: "GetHostedZone",
        error: "Throttling",
        status: 400,
        fired: 2,
        remaining: 0,
        active: false,
      },
    ]);
  });

  it("surfaces Throttling (400, Route 53's XML error) when retries are exhausted", async () => {
    sandbox = await startTestSandbox();
    await addFault({ service: "route53", operation: "GetHostedZone", error: "Throttling", count: 1 });
    const route53 = track(new Route53Client(clientConfig(sandbox, 1)));
    const error = await rejectionOf(route53.send(new GetHostedZoneCommand({ Id: ZONE })));
    expect(error).toBeInstanceOf(Route53ServiceException);
    expect(error.name).toBe("Throttling");
    expect(error.message).toBe("Rate exceeded");
    expect(error.$metadata?.httpStatusCode).toBe(400);
    // Other operations of the service are not affected.
    await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE }));
    expect(await route53.send(new GetHostedZoneCommand({ Id: ZONE }))).toBeDefined();
  });

  it("answers PriorRequestNotComplete with Route 53's own exception class, which the SDK retries", async () => {
    sandbox = await startTestSandbox();
    await addFault({ service: "route53", error: "PriorRequestNotComplete", count: 1 });
    const once = track(new Route53Client(clientConfig(sandbox, 1)));
    const error = await rejectionOf(once.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE })));
    expect(error).toBeInstanceOf(PriorRequestNotComplete);
    expect(error.$metadata?.httpStatusCode).toBe(400);
    await addFault({ service: "route53", operation: "*", error: "PriorRequestNotComplete", count: 1 });
    const retrying = track(new Route53Client(clientConfig(sandbox, 2)));
    const answer = await retrying.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE }));
    expect(answer.$metadata.attempts).toBe(2);
  });

  it("speaks each service's error protocol: ECS JSON 1.1, Lambda REST-JSON, CloudWatch JSON 1.0", async () => {
    sandbox = await startTestSandbox();
    await addFault({ service: "ecs", operation: "DescribeServices", error: "ThrottlingException", count: 1 });
    await addFault({
      service: "lambda",
      operation: "GetFunction",
      error: "TooManyRequestsException",
      count: 1,
    });
    await addFault({ service: "cloudwatch", operation: "GetMetricData", error: "InternalFailure", count: 1 });
    const ecs = track(new ECSClient(clientConfig(sandbox, 1)));
    const ecsError = await rejectionOf(
      ecs.send(new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] })),
    );
    expect([ecsError.name, ecsError.$metadata?.httpStatusCode]).toEqual(["ThrottlingException", 400]);
    const lambda = track(new LambdaClient(clientConfig(sandbox, 1)));
    const lambdaError = await rejectionOf(
      lambda.send(new GetFunctionCommand({ FunctionName: "orders-api" })),
    );
    expect(lambdaError).toBeInstanceOf(TooManyRequestsException);
    expect(lambdaError.$metadata?.httpStatusCode).toBe(429);
    const cloudwatch = track(new CloudWatchClient(clientConfig(sandbox, 1)));
    const query = {
      StartTime: new Date(Date.now() - 600_000),
      EndTime: new Date(),
      MetricDataQueries: [{ Id: "m", Expression: "TIME_SERIES(1)", Period: 60 }],
    };
    const cloudwatchError = await rejectionOf(cloudwatch.send(new GetMetricDataCommand(query)));
    expect([cloudwatchError.name, cloudwatchError.$metadata?.httpStatusCode]).toEqual([
      "InternalFailure",
      500,
    ]);
    // Each fault fired once; the next calls answer normally.
    expect(
      (await ecs.send(new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] }))).services,
    ).toHaveLength(1);
    expect(
      (await lambda.send(new GetFunctionCommand({ FunctionName: "orders-api" }))).Configuration?.FunctionName,
    ).toBe("orders-api");
    expect((await listFaults()).map((fault) => fault.fired)).toEqual([1, 1, 1]);
  });

  it("retries a 5xx fault as a transient error", async () => {
    sandbox = await startTestSandbox();
    await addFault({ service: "ecs", operation: "DescribeServices", error: "ServerException", count: 1 });
    const ecs = track(new ECSClient(clientConfig(sandbox, 2)));
    const answer = await ecs.send(new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] }));
    expect(answer.$metadata.attempts).toBe(2);
  });

  it("adds latency before answering normally", async () => {
    sandbox = await startTestSandbox();
    await addFault({ service: "lambda", operation: "GetFunction", latencyMs: 300, count: 1 });
    const lambda = track(new LambdaClient(clientConfig(sandbox, 1)));
    const started = performance.now();
    const answer = await lambda.send(new GetFunctionCommand({ FunctionName: "orders-api" }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(answer.Configuration?.FunctionName).toBe("orders-api");
    expect(await listFaults()).toMatchObject([{ latencyMs: 300, fired: 1, active: false }]);
  });

  it("retires a time-bounded fault when its time has passed", async () => {
    const clock = new ManualClock();
    sandbox = await startTestSandbox(referenceSeed(), clock.now);
    await addFault({ service: "route53", operation: "GetHostedZone", error: "Throttling", durationMs: 1000 });
    const route53 = track(new Route53Client(clientConfig(sandbox, 1)));
    expect((await rejectionOf(route53.send(new GetHostedZoneCommand({ Id: ZONE })))).name).toBe("Throttling");
    expect((await rejectionOf(route53.send(new GetHostedZoneCommand({ Id: ZONE })))).name).toBe("Throttling");
    clock.advance(1000);
    await route53.send(new GetHostedZoneCommand({ Id: ZONE }));
    expect(await listFaults()).toMatchObject([{ fired: 2, active: false, untilMs: clock.time }]);
  });
});

describe("the admin API", () => {
  it("refuses unbounded and malformed faults, naming the field", async () => {
    sandbox = await startTestSandbox();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ service: "route53", error: "Throttling" }, "a fault must be bounded"],
      [
        { service: "dynamodb", error: "Throttling", count: 1 },
        '"service" must be one of route53, ecs, lambda, cloudwatch, s3',
      ],
      [{ service: "ecs", error: "Throttling", count: 0 }, '"count" must be an integer from 1'],
      [{ service: "ecs", count: 1 }, 'a fault needs "error"'],
      [{ service: "ecs", error: "Throttling", count: 1, when: "now" }, 'unknown field "when"'],
      [{ service: "ecs", status: 500, latencyMs: 5, count: 1 }, '"status" needs "error"'],
    ];
    for (const [fault, message] of cases) {
      const response = await addFault(fault);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain(message);
    }
    expect(await listFaults()).toEqual([]);
  });

  it("clears faults and dumps the state with call counts", async () => {
    sandbox = await startTestSandbox();
    await addFault({ service: "ecs", error: "Throttling", count: 5 });
    const cleared = await fetch(`${sandbox.endpoint}/_sandbox/faults`, { method: "DELETE" });
    expect(await cleared.json()).toEqual({ cleared: 1 });
    const route53 = track(new Route53Client(clientConfig(sandbox)));
    await route53.send(new GetHostedZoneCommand({ Id: ZONE }));
    const state = (await (await fetch(`${sandbox.endpoint}/_sandbox/state`)).json()) as SandboxStateDump;
    expect(state.calls).toEqual({ "route53.GetHostedZone": 1 });
    expect(state.route53.hostedZones[0]?.id).toBe(ZONE);
    expect(state.ecs.clusters[0]?.services[0]).toMatchObject({ serviceName: "orders-api", runningCount: 3 });
    expect(state.lambda.functions[0]?.aliases[0]).toMatchObject({ Name: "live", FunctionVersion: "1" });
    expect((await fetch(`${sandbox.endpoint}/_sandbox/nothing`)).status).toBe(404);
  });

  it("is driven by the command line: fault add, list, clear and state", async () => {
    sandbox = await startTestSandbox();
    const env = { AWS_ENDPOINT_URL: sandbox.endpoint };
    const added = JSON.parse(
      await runAdminCommand(
        [
          "fault",
          "add",
          "--service",
          "route53",
          "--operation",
          "ChangeResourceRecordSets",
          "--error",
          "Throttling",
          "--count",
          "3",
        ],
        env,
      ),
    );
    expect(added.fault).toMatchObject({
      service: "route53",
      operation: "ChangeResourceRecordSets",
      remaining: 3,
    });
    const listed = JSON.parse(await runAdminCommand(["fault", "list"], env));
    expect(listed.faults).toHaveLength(1);
    await expect(
      runAdminCommand(["fault", "add", "--service", "route53", "--error", "Throttling"], env),
    ).rejects.toThrow(/must be bounded/);
    await expect(
      runAdminCommand(["fault", "add", "--service", "route53", "--bogus", "1"], env),
    ).rejects.toBeInstanceOf(AdminUsageError);
    await expect(runAdminCommand(["fault", "list"], {})).rejects.toThrow(/no sandbox endpoint/);
    expect(JSON.parse(await runAdminCommand(["fault", "clear", "--endpoint", sandbox.endpoint], {}))).toEqual(
      { cleared: 1 },
    );
    expect(JSON.parse(await runAdminCommand(["state"], env)).region).toBe("us-east-1");
  });

  it("answers a request no service claims with a 404, and one signed for a service with its unknown-operation error", async () => {
    sandbox = await startTestSandbox();
    const unsigned = await fetch(`${sandbox.endpoint}/nothing/here`);
    expect(unsigned.status).toBe(404);
    expect(((await unsigned.json()) as { __type: string }).__type).toBe("UnknownOperationException");
    const signed = await fetch(`${sandbox.endpoint}/2013-04-01/healthcheck`, {
      headers: {
        authorization:
          "AWS4-HMAC-SHA256 Credential=AKID/20300101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=0",
      },
    });
    expect(signed.status).toBe(400);
    expect(await signed.text()).toContain("<Code>UnknownOperationException</Code>");
  });
});

describe("starting and stopping", () => {
  it("listens on loopback only", async () => {
    sandbox = await startTestSandbox();
    expect(sandbox.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.env).toEqual({
      AWS_ENDPOINT_URL: sandbox.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: expect.any(String),
      AWS_SECRET_ACCESS_KEY: expect.any(String),
    });
    await expect(startSandbox({ seed: referenceSeed(), host: "0.0.0.0" as "127.0.0.1" })).rejects.toThrow(
      /listens on 127.0.0.1 only/,
    );
  });

  it("saves the state to a file on close", async () => {
    const file = join(tmpdir(), `sandbox-state-${process.pid}-${Date.now()}.json`);
    sandbox = await startSandbox({ seed: referenceSeed(), saveStateTo: file });
    const ecs = track(new ECSClient(clientConfig(sandbox)));
    await ecs.send(new DescribeServicesCommand({ cluster: "prod", services: ["orders-api"] }));
    await sandbox.close();
    const saved = JSON.parse(await readFile(file, "utf8"));
    expect(saved.calls).toEqual({ "ecs.DescribeServices": 1 });
    expect(saved.route53.hostedZones[0].records.length).toBeGreaterThan(0);
    await rm(file);
  });
});
