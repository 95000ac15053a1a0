import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { ECSClient, waitUntilServicesStable } from "@aws-sdk/client-ecs";
import {
  ChangeResourceRecordSetsCommand,
  Route53Client,
  waitUntilResourceRecordSetsChanged,
} from "@aws-sdk/client-route-53";
import { afterEach, describe, expect, it } from "vitest";
import { createCloudWatchService } from "../../sandbox/cloudwatch.js";
import { type DataPlane, startDataPlane } from "../../sandbox/dataplane.js";
import { startSandbox } from "../../sandbox/index.js";
import { MetricStore } from "../../sandbox/metric-store.js";
import { startTraffic, type TrafficReport } from "../../sandbox/traffic.js";
import {
  API_ID,
  dataPlaneSeed,
  FakeWorld,
  FUNCTION,
  LOAD_BALANCER,
  RECORD,
  TARGET_GROUP,
} from "../fixtures/sandbox/fake-world.js";
import { type MountedServices, mountServices } from "../fixtures/sandbox/mount.js";
import { sandboxSeedWithDataPlane } from "../fixtures/sandbox/sandbox-seed.js";

interface Harness {
  world: FakeWorld;
  plane: DataPlane;
  url: string;
  services: MountedServices;
  cloudwatch: CloudWatchClient;
}

const opened: Harness[] = [];

async function start(options: { resolvers?: number; latencyMs?: number } = {}): Promise<Harness> {
  const world = new FakeWorld();
  const store = new MetricStore();
  const plane = await startDataPlane({
    seed: dataPlaneSeed(options),
    records: world.records,
    ecs: world.ecs,
    lambda: world.lambda,
    metrics: store,
  });
  const services = await mountServices([createCloudWatchService(store), plane.admin]);
  const cloudwatch = new CloudWatchClient({
    endpoint: services.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts: 1,
  });
  const harness = { world, plane, url: plane.urls[RECORD]!, services, cloudwatch };
  opened.push(harness);
  return harness;
}

afterEach(async () => {
  for (const harness of opened.splice(0)) {
    harness.cloudwatch.destroy();
    await harness.plane.close();
    await harness.services.close();
  }
});

const ALB_TARGET_GROUP = {
  Namespace: "AWS/ApplicationELB",
  Dimensions: { LoadBalancer: LOAD_BALANCER, TargetGroup: TARGET_GROUP },
};
const API_STAGE = { Namespace: "AWS/ApiGateway", Dimensions: { ApiId: API_ID, Stage: "prod" } };
const LAMBDA_ALIAS = {
  Namespace: "AWS/Lambda",
  Dimensions: { FunctionName: FUNCTION, Resource: `${FUNCTION}:live` },
};

function query(
  id: string,
  metric: { Namespace: string; Dimensions: Record<string, string> },
  metricName: string,
  stat: string,
  period = 600,
): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: metric.Namespace,
        MetricName: metricName,
        Dimensions: Object.entries(metric.Dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: period,
      Stat: stat,
    },
  };
}

/** Reads queries over the run's window; each result is summed over its datapoints (one datapoint for a 600 s period). */
async function read(harness: Harness, report: TrafficReport, queries: MetricDataQuery[]) {
  harness.plane.flush();
  const output = await harness.cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(report.startedAt - 60_000),
      EndTime: new Date(report.endedAt + 60_000),
      MetricDataQueries: queries,
    }),
  );
  return Object.fromEntries(
    (output.MetricDataResults ?? []).map((result) => [
      result.Id!,
      { values: result.Values ?? [], points: result.Values?.length ?? 0 },
    ]),
  );
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe("data plane routing by weights", () => {
  it("converges to a 90/10 split with TTL caching, and CloudWatch agrees with what the client saw", async () => {
    const harness = await start();
    harness.world.setWeights(90, 10, 1);
    const report = await startTraffic({ url: harness.url, rps: 200, durationMs: 3000 }).done;

    expect(report.failures).toBe(0);
    expect(report.sent).toBe(600);
    expect(report.completed).toBe(600);
    expect(report.byStatus).toEqual({ "200": 600 });
    const ecsShare = (report.byBackend["ecs"] ?? 0) / report.completed;
    expect(Math.abs(ecsShare - 0.9)).toBeLessThan(0.05);

    const metrics = await read(harness, report, [
      query("alb_requests", ALB_TARGET_GROUP, "RequestCount", "Sum"),
      query("alb_p95", ALB_TARGET_GROUP, "TargetResponseTime", "p95"),
      query("api_count", API_STAGE, "Count", "Sum"),
      query("api_5xx", API_STAGE, "5xx", "Sum"),
      query("api_p95", API_STAGE, "Latency", "p95"),
      query("invocations", LAMBDA_ALIAS, "Invocations", "Sum"),
      query("lambda_errors", LAMBDA_ALIAS, "Errors", "Sum"),
    ]);
    // Counts are exact.
    expect(sum(metrics["alb_requests"]!.values)).toBe(report.byBackend["ecs"]);
    expect(sum(metrics["api_count"]!.values)).toBe(report.byBackend["lambda"]);
    expect(sum(metrics["invocations"]!.values)).toBe(report.byBackend["lambda"]);
    expect(sum(metrics["api_5xx"]!.values)).toBe(0);
    expect(sum(metrics["lambda_errors"]!.values)).toBe(0);
    // One 600 s period holds the whole run, so its p95 is the p95 of every request the client saw answered.
    expect(metrics["alb_p95"]!.points).toBe(1);
    expect(metrics["alb_p95"]!.values[0]! * 1000).toBeCloseTo(report.serverLatencyMs["ecs"]!.p95, 6);
    expect(metrics["api_p95"]!.values[0]).toBe(report.serverLatencyMs["lambda"]!.p95);
    // The latency is real, not only published: the client times each request from outside the
    // server's interval, so for each backend its p95 is at least the p95 CloudWatch holds (less 1 ms
    // for a timer that fires a fraction of a millisecond early).
    expect(report.clientLatencyMs["ecs"]!.p95).toBeGreaterThanOrEqual(
      metrics["alb_p95"]!.values[0]! * 1000 - 1,
    );
    expect(report.clientLatencyMs["lambda"]!.p95).toBeGreaterThanOrEqual(metrics["api_p95"]!.values[0]! - 1);
  });

  it("moves traffic gradually over one TTL when the weights change", async () => {
    const harness = await start();
    harness.world.setWeights(255, 0, 1);
    const traffic = startTraffic({ url: harness.url, rps: 200, durationMs: 3500 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    harness.world.setWeights(0, 255, 1);
    const report = await traffic.done;
    const [first, during, , last] = report.timeline;
    expect(first?.byBackend).toEqual({ ecs: first?.sent });
    // During the TTL after the change some resolvers still answer with the old record.
    expect(during?.byBackend["ecs"] ?? 0).toBeGreaterThan(0);
    expect(during?.byBackend["lambda"] ?? 0).toBeGreaterThan(0);
    expect(last?.byBackend).toEqual({ lambda: last?.sent });
  });

  it("answers 503 from the load balancer while the ECS service has no running task", async () => {
    const harness = await start();
    harness.world.setWeights(1, 0, 60);
    harness.world.ecsService = { status: "ACTIVE", desiredCount: 0, runningCount: 0 };
    const report = await startTraffic({ url: harness.url, rps: 100, maxRequests: 20 }).done;
    expect(report.byStatus).toEqual({ "503": 20 });
    expect(report.byBackend).toEqual({ ecs: 20 });
    const metrics = await read(harness, report, [
      query(
        "elb_5xx",
        { Namespace: "AWS/ApplicationELB", Dimensions: { LoadBalancer: LOAD_BALANCER } },
        "HTTPCode_ELB_5XX_Count",
        "Sum",
      ),
      query("requests", ALB_TARGET_GROUP, "RequestCount", "Sum"),
    ]);
    expect(sum(metrics["elb_5xx"]!.values)).toBe(20);
    // The load balancer counts only requests it could route to a target.
    expect(metrics["requests"]!.points).toBe(0);
  });
});

describe("Lambda backend", () => {
  it("splits invocations across the alias's versions and counts cold starts", async () => {
    const harness = await start();
    harness.world.setWeights(0, 1, 60);
    harness.world.aliasView = { functionVersion: "3", additionalVersionWeights: { "4": 0.25 } };
    const report = await startTraffic({ url: harness.url, rps: 200, durationMs: 2000 }).done;
    expect(report.completed).toBe(400);
    const canaryShare = (report.byVersion["lambda@4"] ?? 0) / report.completed;
    expect(Math.abs(canaryShare - 0.25)).toBeLessThan(0.06);

    const versionDims = (version: string) => ({
      Namespace: "AWS/Lambda",
      Dimensions: { FunctionName: FUNCTION, Resource: `${FUNCTION}:live`, ExecutedVersion: version },
    });
    const metrics = await read(harness, report, [
      query("v3", versionDims("3"), "Invocations", "Sum"),
      query("v4", versionDims("4"), "Invocations", "Sum"),
      query(
        "cold",
        { Namespace: "Cutover/Lambda", Dimensions: { FunctionName: FUNCTION, Resource: `${FUNCTION}:live` } },
        "ColdStart",
        "Sum",
      ),
      query(
        "init",
        { Namespace: "LambdaInsights", Dimensions: { function_name: FUNCTION } },
        "init_duration",
        "SampleCount",
      ),
      query(
        "init_max",
        { Namespace: "LambdaInsights", Dimensions: { function_name: FUNCTION } },
        "init_duration",
        "Maximum",
      ),
      query("concurrency", LAMBDA_ALIAS, "ConcurrentExecutions", "Maximum"),
    ]);
    expect(sum(metrics["v3"]!.values)).toBe(report.byVersion["lambda@3"]);
    expect(sum(metrics["v4"]!.values)).toBe(report.byVersion["lambda@4"]);
    // At least one environment per version starts cold, and far fewer than one per request.
    const coldStarts = sum(metrics["cold"]!.values);
    expect(coldStarts).toBeGreaterThanOrEqual(2);
    expect(coldStarts).toBeLessThan(report.completed / 4);
    expect(sum(metrics["init"]!.values)).toBe(coldStarts);
    expect(metrics["init_max"]!.values[0]).toBe(30);
    expect(metrics["concurrency"]!.values[0]).toBeGreaterThanOrEqual(1);
  });

  it("goes cold again after the idle timeout", async () => {
    const harness = await start({ latencyMs: 2 });
    harness.world.setWeights(0, 1, 60);
    const admin = `${harness.services.endpoint}/_sandbox/backends/${RECORD}/lambda`;
    const put = await fetch(admin, {
      method: "PUT",
      body: JSON.stringify({ idleTimeoutMs: 1000, jitter: 0 }),
    });
    expect(put.status).toBe(200);
    const startedAt = Date.now();
    const first = await fetch(`${harness.url}/health`);
    await fetch(`${harness.url}/health`);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const cold = await fetch(`${harness.url}/health`);
    const latency = (response: Response) => Number(response.headers.get("x-cutover-latency-ms"));
    expect(latency(first)).toBeGreaterThanOrEqual(30);
    expect(latency(cold)).toBeGreaterThanOrEqual(30);
    const window = { startedAt, endedAt: Date.now() } as TrafficReport;
    const coldStarts = {
      Namespace: "Cutover/Lambda",
      Dimensions: { FunctionName: FUNCTION, Resource: `${FUNCTION}:live` },
    };
    const metrics = await read(harness, window, [
      query("cold", coldStarts, "ColdStart", "Sum"),
      query("invocations", LAMBDA_ALIAS, "Invocations", "Sum"),
    ]);
    // The second request reused the first one's environment; the third found it idle too long.
    expect(sum(metrics["invocations"]!.values)).toBe(3);
    expect(sum(metrics["cold"]!.values)).toBe(2);
  });
});

describe("backend behaviour admin API", () => {
  it("lists backends, applies a bounded error rate, and reverts when it expires", async () => {
    const harness = await start({ latencyMs: 1 });
    harness.world.setWeights(1, 0, 60);
    const admin = `${harness.services.endpoint}/_sandbox/backends`;
    const listed = (await (await fetch(admin)).json()) as {
      backends: Array<{ setIdentifier: string; kind: string }>;
    };
    expect(listed.backends.map((backend) => [backend.setIdentifier, backend.kind])).toEqual([
      ["ecs", "ecs"],
      ["lambda", "lambda"],
    ]);
    const put = await fetch(`${admin}/${RECORD}/ecs`, {
      method: "PUT",
      body: JSON.stringify({ errorRate: 1, durationMs: 1500 }),
    });
    const applied = (await put.json()) as {
      behaviour: { errorRate: number; latencyMs: number };
      overrideExpiresAt: string;
    };
    expect(applied.behaviour).toMatchObject({ errorRate: 1, latencyMs: 1 });
    expect(applied.overrideExpiresAt).not.toBeNull();

    const failing = await startTraffic({ url: harness.url, rps: 100, maxRequests: 10 }).done;
    expect(failing.byStatus).toEqual({ "500": 10 });
    const metrics = await read(harness, failing, [
      query("target_5xx", ALB_TARGET_GROUP, "HTTPCode_Target_5XX_Count", "Sum"),
    ]);
    expect(sum(metrics["target_5xx"]!.values)).toBe(10);

    await new Promise((resolve) => setTimeout(resolve, 1600));
    const recovered = await startTraffic({ url: harness.url, rps: 100, maxRequests: 10 }).done;
    expect(recovered.byStatus).toEqual({ "200": 10 });
  });

  it("refuses invalid behaviour naming the field and what is accepted, and unknown backends", async () => {
    const harness = await start();
    const admin = `${harness.services.endpoint}/_sandbox/backends`;
    const refuse = async (path: string, body: unknown) => {
      const response = await fetch(`${admin}/${path}`, { method: "PUT", body: JSON.stringify(body) });
      return { status: response.status, message: ((await response.json()) as { message: string }).message };
    };
    expect(await refuse(`${RECORD}/ecs`, { errorRate: 2 })).toEqual({
      status: 400,
      message: "body.errorRate: expected a number from 0 to 1, got 2",
    });
    expect((await refuse(`${RECORD}/ecs`, { coldStartMs: 100 })).message).toMatch(/only Lambda backends/);
    expect((await refuse(`${RECORD}/ecs`, { latency: 100 })).message).toMatch(
      /unknown field; accepted: latencyMs/,
    );
    expect(await refuse(`${RECORD}/blue`, { errorRate: 0 })).toEqual({
      status: 404,
      message: `record ${RECORD} has no backend blue; known: ecs, lambda`,
    });
  });
});

describe("data plane API", () => {
  it("serves /health, /orders, /orders/:id and POST /orders as JSON with the backend headers", async () => {
    const harness = await start({ latencyMs: 0 });
    harness.world.setWeights(0, 1, 60);
    const health = await fetch(`${harness.url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get("x-cutover-backend")).toBe("lambda");
    expect(health.headers.get("x-cutover-version")).toBe("3");
    expect(await health.json()).toEqual({ status: "ok", backend: "lambda", version: "3" });
    const orders = (await (await fetch(`${harness.url}/orders`)).json()) as { orders: unknown[] };
    expect(orders.orders).toHaveLength(3);
    expect(await (await fetch(`${harness.url}/orders/42`)).json()).toMatchObject({
      id: "42",
      status: "shipped",
    });
    const created = await fetch(`${harness.url}/orders`, { method: "POST", body: "{}" });
    expect(created.status).toBe(201);
  });

  it("answers 502 when the record has no weighted answers", async () => {
    const harness = await start();
    const response = await fetch(`${harness.url}/health`);
    expect(response.status).toBe(502);
    expect(response.headers.get("x-cutover-backend")).toBe("none");
  });
});

describe("data plane in startSandbox", () => {
  it("follows a weight change made with the Route 53 client and publishes what it served to the sandbox's CloudWatch", async () => {
    const sandbox = await startSandbox({ seed: sandboxSeedWithDataPlane() });
    const clientConfig = {
      endpoint: sandbox.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    };
    const route53 = new Route53Client(clientConfig);
    const ecs = new ECSClient(clientConfig);
    const cloudwatch = new CloudWatchClient(clientConfig);
    try {
      await waitUntilServicesStable(
        { client: ecs, minDelay: 1, maxDelay: 1, maxWaitTime: 20 },
        { cluster: "prod", services: ["orders-api"] },
      );
      const record = (setIdentifier: string, weight: number, value: string) => ({
        Action: "UPSERT" as const,
        ResourceRecordSet: {
          Name: "api.example.com",
          Type: "CNAME" as const,
          SetIdentifier: setIdentifier,
          Weight: weight,
          TTL: 1,
          ResourceRecords: [{ Value: value }],
        },
      });
      const change = await route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: "Z0123456789EXAMPLECOM",
          ChangeBatch: {
            Changes: [
              record("ecs-fargate", 90, "orders-alb.us-east-1.elb.amazonaws.com"),
              record("lambda", 10, "d-abcde12345.execute-api.us-east-1.amazonaws.com"),
            ],
          },
        }),
      );
      await waitUntilResourceRecordSetsChanged(
        { client: route53, minDelay: 1, maxDelay: 1, maxWaitTime: 20 },
        { Id: change.ChangeInfo!.Id! },
      );
      // Caches filled before the change expire within the 1 s TTL.
      await new Promise((resolve) => setTimeout(resolve, 1100));

      // The backend admin API is served on the control-plane port.
      const listed = await fetch(`${sandbox.endpoint}/_sandbox/backends`);
      expect(((await listed.json()) as { backends: unknown[] }).backends).toHaveLength(2);

      const report = await startTraffic({
        url: sandbox.dataPlaneUrls["api.example.com"]!,
        rps: 200,
        durationMs: 2000,
      }).done;
      expect(report.failures).toBe(0);
      expect(report.byStatus).toEqual({ "200": 400 });
      const lambdaShare = (report.byBackend["lambda"] ?? 0) / report.completed;
      expect(Math.abs(lambdaShare - 0.1)).toBeLessThan(0.05);

      sandbox.dataPlane!.flush();
      const output = await cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(report.startedAt - 60_000),
          EndTime: new Date(report.endedAt + 60_000),
          MetricDataQueries: [
            query(
              "alb",
              {
                Namespace: "AWS/ApplicationELB",
                Dimensions: {
                  LoadBalancer: "app/orders-alb/50dc6c495c0c9188",
                  TargetGroup: "targetgroup/orders-api/943f017f100becff",
                },
              },
              "RequestCount",
              "Sum",
            ),
            query(
              "api",
              { Namespace: "AWS/ApiGateway", Dimensions: { ApiId: "a1b2c3d4e5", Stage: "$default" } },
              "Count",
              "Sum",
            ),
          ],
        }),
      );
      const totals = Object.fromEntries(
        (output.MetricDataResults ?? []).map((result) => [result.Id, sum(result.Values ?? [])]),
      );
      expect(totals).toEqual({ alb: report.byBackend["ecs-fargate"], api: report.byBackend["lambda"] });
    } finally {
      route53.destroy();
      ecs.destroy();
      cloudwatch.destroy();
      await sandbox.close();
    }
  });
});
