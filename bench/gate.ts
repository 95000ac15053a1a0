/**
 * Gate evaluation at scale: seeds N migrations × 6 metrics of 1-minute data
 * over a window (100 × 72 h by default) into the sandbox's CloudWatch with
 * PutMetricData, then times one evaluation of every gate and prints the
 * GetMetricData calls made against the fewest the API allows for that many
 * queries and datapoints (500 queries and 100,800 datapoints per call).
 *
 *   npx tsx bench/gate.ts [--migrations 100] [--hours 72]
 *
 * AWS/ namespaces are reserved for AWS (PutMetricData refuses them), so the
 * seeded metrics live in a namespace of their own and the gates read them as
 * custom metrics.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CloudWatchClient, type MetricDatum, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { createCloudWatchService } from "../sandbox/cloudwatch.js";
import { MetricStore } from "../sandbox/metric-store.js";
import { minimumCalls } from "../src/core/gate/batch.js";
import { resolveGateWindow } from "../src/core/gate/window.js";
import type { CustomMetricQuery, GateSpec, Migration } from "../src/model/spec.js";
import { evaluateGates } from "../src/ops/gate.js";
import { CloudWatchMetricsSource } from "../src/providers/cloudwatch-metrics.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const MIGRATIONS = flag("migrations", 100);
const HOURS = flag("hours", 72);
const MINUTES = HOURS * 60;
const NAMESPACE = "Bench/Orders";
const PUT_BATCH = 1000; // PutMetricData's limit on MetricData entries per call
const PUT_CONCURRENCY = 4;

const end = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
const start = end - MINUTES * 60_000;

function query(api: string, metricName: string, stat: string): CustomMetricQuery {
  return { namespace: NAMESPACE, metricName, dimensions: { Api: api }, stat };
}

function migrationFor(index: number): Migration {
  const api = `api-${index}`;
  const gate: GateSpec = {
    period: "1m",
    // The sample count reads the side's API Gateway preset, which this namespace does not feed.
    minSamples: 0,
    metrics: [
      {
        name: "error-rate",
        metric: {
          queries: { e: query(api, "Errors", "Sum"), r: query(api, "Requests", "Sum") },
          expression: "IF(r > 0, FILL(e, 0) / r)",
        },
        pass: { max: 0.01 },
        rollback: { max: 0.02 },
      },
      {
        name: "latency-p95",
        metric: { queries: { l: query(api, "Latency", "p95") } },
        pass: { max: 500 },
        rollback: { max: 1000 },
      },
      { name: "latency-p99", metric: { queries: { l: query(api, "Latency", "p99") } }, pass: { max: 1000 } },
      { name: "throttles", metric: { queries: { t: query(api, "Throttles", "Sum") } }, pass: { max: 10 } },
      {
        name: "concurrency",
        metric: { queries: { c: query(api, "Concurrency", "Maximum") } },
        pass: { max: 900 },
      },
      {
        name: "cold-starts",
        metric: {
          queries: { c: query(api, "ColdStarts", "Sum"), r: query(api, "Requests", "Sum") },
          expression: "IF(r > 0, FILL(c, 0) / r)",
        },
        pass: { max: 0.05 },
      },
    ],
  };
  return {
    id: `bench-${index}`,
    description: "benchmark migration",
    phase: "canary",
    router: {
      kind: "route53",
      hostedZoneId: "Z1",
      recordName: `${api}.example.com`,
      recordType: "A",
      oldSetIdentifier: "old",
      newSetIdentifier: "new",
    },
    oldSide: {
      kind: "ecs",
      cluster: "c",
      service: api,
      telemetry: { kind: "alb", loadBalancer: `app/${api}/1`, targetGroup: `targetgroup/${api}/1` },
    },
    newSide: {
      kind: "lambda",
      functionName: api,
      alias: "live",
      telemetry: { kind: "apigateway-http", apiId: api, stage: "$default" },
    },
    gates: { standard: gate },
    phases: [
      {
        name: "canary",
        environment: "production",
        steps: [{ kind: "bake", duration: `${HOURS}h`, gate: "standard" }],
      },
    ],
  };
}

/** Six metrics per migration per minute; 1,000 datums per call. */
function* datums(): Generator<MetricDatum[]> {
  const batch: MetricDatum[] = [];
  for (let m = 0; m < MIGRATIONS; m++) {
    const Dimensions = [{ Name: "Api", Value: `api-${m}` }];
    for (let minute = 0; minute < MINUTES; minute++) {
      const Timestamp = new Date(start + minute * 60_000 + 1000);
      const requests = 100 + ((minute * 7 + m) % 40);
      batch.push(
        { MetricName: "Requests", Dimensions, Timestamp, Value: requests, Unit: "Count" },
        { MetricName: "Errors", Dimensions, Timestamp, Value: (minute + m) % 3 === 0 ? 1 : 0, Unit: "Count" },
        {
          MetricName: "Latency",
          Dimensions,
          Timestamp,
          Values: [80, 95, 120, 180, 260 + (minute % 50)],
          Counts: [40, 30, 20, 8, 2],
          Unit: "Milliseconds",
        },
        { MetricName: "Throttles", Dimensions, Timestamp, Value: 0, Unit: "Count" },
        { MetricName: "Concurrency", Dimensions, Timestamp, Value: 20 + (minute % 15), Unit: "Count" },
        { MetricName: "ColdStarts", Dimensions, Timestamp, Value: minute % 10 === 0 ? 1 : 0, Unit: "Count" },
      );
      if (batch.length >= PUT_BATCH) {
        yield batch.splice(0, PUT_BATCH);
      }
    }
  }
  if (batch.length > 0) yield batch;
}

async function main(): Promise<void> {
  const store = new MetricStore();
  const service = createCloudWatchService(store);
  let getMetricDataCalls = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (String(req.headers["x-amz-target"] ?? "").endsWith("GetMetricData")) getMetricDataCalls++;
      service
        .handle(req, Buffer.concat(chunks), res)
        .catch((error: unknown) => res.writeHead(500).end(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new CloudWatchClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    maxAttempts: 3,
  });
  try {
    const seedStarted = performance.now();
    let putCalls = 0;
    const batches = datums();
    const workers = Array.from({ length: PUT_CONCURRENCY }, async () => {
      for (let next = batches.next(); !next.done; next = batches.next()) {
        await client.send(new PutMetricDataCommand({ Namespace: NAMESPACE, MetricData: next.value }));
        putCalls++;
      }
    });
    await Promise.all(workers);
    const seedMs = performance.now() - seedStarted;
    const seeded = MIGRATIONS * 6 * MINUTES;
    console.log(
      `seeded ${seeded.toLocaleString("en")} datapoints (${MIGRATIONS} migrations × 6 metrics × ${MINUTES} minutes) with ${putCalls} PutMetricData calls in ${(seedMs / 1000).toFixed(1)} s`,
    );

    const window = resolveGateWindow({
      mode: "bake",
      now: new Date(end),
      periodSeconds: 60,
      gateStartsAt: new Date(start),
    });
    const items = Array.from({ length: MIGRATIONS }, (_, i) => ({
      migration: migrationFor(i),
      gate: "standard",
      window,
      newWeightPercent: 10,
    }));
    const evaluated = performance.now();
    const { results, stats } = await evaluateGates(items, new CloudWatchMetricsSource(client));
    const evaluateMs = performance.now() - evaluated;
    const verdicts = new Map<string, number>();
    for (const result of results)
      verdicts.set(result.judgement.verdict, (verdicts.get(result.judgement.verdict) ?? 0) + 1);
    const minimum = minimumCalls(stats.queries, stats.datapoints);
    console.log(
      `evaluated ${MIGRATIONS} gates over ${HOURS} h in ${(evaluateMs / 1000).toFixed(2)} s (${(evaluateMs / MIGRATIONS).toFixed(1)} ms per gate)`,
    );
    console.log(
      `queries: ${stats.queries.toLocaleString("en")}; datapoints returned: ${stats.datapoints.toLocaleString("en")}`,
    );
    console.log(
      `GetMetricData calls: ${stats.calls} (server counted ${getMetricDataCalls}); API minimum: ${minimum} = max(⌈${stats.queries}/500⌉, ⌈${stats.datapoints}/100800⌉)`,
    );
    console.log(`verdicts: ${[...verdicts].map(([verdict, n]) => `${verdict} ${n}`).join(", ")}`);
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

await main();
