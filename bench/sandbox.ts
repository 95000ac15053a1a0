/**
 * Data-plane benchmark: throughput and added latency of the sandbox's data
 * plane, against a bare Node HTTP server answering the same JSON, at the
 * reference load test's 500 RPS and at the most this machine sustains.
 *
 * Run: npx tsx bench/sandbox.ts          (about 25 s)
 *
 * It also fills a metric store with 100 migrations × 6 metrics × 72 h of
 * 1-minute data and times a 500-query GetMetricData evaluation over it.
 *
 * The load generator runs in a child process so that the data plane's CPU
 * figures are its own. Backend behaviour latency is 0, so every millisecond
 * measured is the sandbox's (or the transport's) own.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { evaluateCloudWatchQueries } from "../sandbox/cloudwatch-queries.js";
import { startDataPlane } from "../sandbox/dataplane.js";
import { MetricStore } from "../sandbox/metric-store.js";
import { startTraffic, type TrafficOptions, type TrafficReport } from "../sandbox/traffic.js";
import type { SandboxSeed } from "../sandbox/types.js";

const PHASE_MS = 4000;
const TARGET_RPS = 500;
const MAX_CONCURRENCY = 32;
const RECORD = "api.bench.example.com";

type LoadResult = Omit<TrafficReport, "timeline">;

/** Child mode: run one load and print its report as JSON. */
async function runLoadChild(options: TrafficOptions): Promise<void> {
  const report = await startTraffic(options).done;
  const { timeline: _timeline, ...summary } = report;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

function loadFromChild(options: TrafficOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), "--load", JSON.stringify(options)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), (options.durationMs ?? 0) + 15_000);
    child.on("exit", (code) => {
      clearTimeout(killer);
      const line = output.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as LoadResult);
      } catch {
        reject(new Error(`load generator exited with ${code} and printed: ${output.slice(0, 500)}`));
      }
    });
  });
}

/** The same JSON body and headers the data plane sends for GET /orders, from a bare server: the transport's floor. */
async function startBaseline(): Promise<{ url: string; server: Server }> {
  const body = JSON.stringify({
    orders: [1, 2, 3].map((id) => ({ id: `ord-${id}`, status: "shipped", totalCents: 1000 * id })),
    backend: "ecs",
  });
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, {
      "content-type": "application/json",
      "x-cutover-backend": "ecs",
      "x-cutover-latency-ms": "0",
    });
    res.end(body);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function benchSeed(): SandboxSeed {
  return {
    dataPlane: [
      {
        recordName: RECORD,
        resolvers: 64,
        backends: {
          ecs: {
            kind: "ecs",
            cluster: "bench",
            service: "api",
            loadBalancer: "app/bench/0",
            targetGroup: "targetgroup/bench/0",
            perTaskRps: 100_000,
            behaviour: { latencyMs: 0, jitter: 0, errorRate: 0 },
          },
        },
      },
    ],
  };
}

interface Phase {
  name: string;
  load: LoadResult;
  cpuMs: number;
}

async function measure(name: string, options: TrafficOptions): Promise<Phase> {
  const cpuBefore = process.cpuUsage();
  const load = await loadFromChild(options);
  const cpu = process.cpuUsage(cpuBefore);
  return { name, load, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");

function printPhase(phase: Phase): void {
  const { load } = phase;
  const server = load.serverLatencyMs["ecs"];
  console.log(
    [
      phase.name.padEnd(38),
      `${fmt(load.achievedRps, 0).padStart(6)} req/s`,
      `client p50 ${fmt(load.latencyMs.p50)} ms`,
      `p95 ${fmt(load.latencyMs.p95)} ms`,
      server ? `in-sandbox p50 ${fmt(server.p50, 3)} / p95 ${fmt(server.p95, 3)} ms` : "",
      `failures ${load.failures}, skipped ${load.skipped}, non-200 ${load.completed - (load.byStatus["200"] ?? 0)}`,
      `server CPU ${fmt((phase.cpuMs / load.elapsedMs) * 100, 1)} % of a core (${fmt((phase.cpuMs / Math.max(1, load.completed)) * 1000, 1)} µs/request)`,
    ]
      .filter(Boolean)
      .join(" | "),
  );
}

/** Fills a store as 100 migrations baking for 72 h would, and times a full 500-query gate evaluation. */
function benchMetricStore(): void {
  const migrations = 100;
  const metrics = [
    "RequestCount",
    "HTTPCode_Target_5XX_Count",
    "TargetResponseTime",
    "Count",
    "5xx",
    "Latency",
  ];
  const minutes = 72 * 60;
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const start = end - minutes * 60_000;
  const store = new MetricStore();
  const memoryBefore = process.memoryUsage();
  const fillStarted = performance.now();
  for (let migration = 0; migration < migrations; migration++) {
    const dimensions = { Service: `migration-${migration}` };
    for (const metricName of metrics) {
      for (let minute = 0; minute < minutes; minute++) {
        const value = ((migration * 31 + minute * 7) % 97) + 1;
        store.putDatum({
          namespace: "Bench",
          metricName,
          dimensions,
          timestamp: start + minute * 60_000,
          values: [value],
        });
      }
    }
  }
  const fillMs = performance.now() - fillStarted;
  const memoryAfter = process.memoryUsage();
  const queries = Array.from({ length: 500 }, (_, index) => ({
    Id: `q${index}`,
    MetricStat: {
      Metric: {
        Namespace: "Bench",
        MetricName: metrics[index % metrics.length],
        Dimensions: [{ Name: "Service", Value: `migration-${index % migrations}` }],
      },
      Period: 3600,
      Stat: index % 2 === 0 ? "Sum" : "p95",
    },
  }));
  const queryStarted = performance.now();
  const results = evaluateCloudWatchQueries(store, {
    queries,
    startTime: start,
    endTime: end,
    scanBy: "TimestampAscending",
    maxDatapoints: 100_800,
  });
  const queryMs = performance.now() - queryStarted;
  const datapoints = results.reduce((total, result) => total + result.timestamps.length, 0);
  const megabytes = (bytes: number) => fmt(bytes / 1024 / 1024, 0);
  console.log(
    `Metric store: ${store.sampleCount.toLocaleString("en")} samples stored in ${fmt(fillMs, 0)} ms ` +
      `(+${megabytes(memoryAfter.arrayBuffers - memoryBefore.arrayBuffers)} MB typed arrays, ` +
      `+${megabytes(memoryAfter.heapUsed - memoryBefore.heapUsed)} MB heap); ` +
      `500 queries (Sum and p95, 1 h periods over 72 h) → ${datapoints} datapoints in ${fmt(queryMs, 0)} ms`,
  );
}

async function main(): Promise<void> {
  benchMetricStore();
  console.log("");
  const store = new MetricStore();
  const world = { running: 4 };
  const plane = await startDataPlane({
    seed: benchSeed(),
    records: { weightedAnswers: () => [{ setIdentifier: "ecs", weight: 100, ttl: 60 }] },
    ecs: { service: () => ({ status: "ACTIVE", desiredCount: world.running, runningCount: world.running }) },
    lambda: { alias: () => undefined, functionState: () => undefined },
    metrics: store,
  });
  const baseline = await startBaseline();
  const dataPlaneUrl = plane.urls[RECORD]!;
  try {
    console.log(
      `Data-plane benchmark (${PHASE_MS / 1000} s per phase, load generator in a separate process)\n`,
    );
    const phases: Phase[] = [];
    const run = async (name: string, options: TrafficOptions) => {
      const phase = await measure(name, options);
      printPhase(phase);
      phases.push(phase);
      return phase;
    };
    const openLoop = (url: string): TrafficOptions => ({
      url,
      rps: TARGET_RPS,
      durationMs: PHASE_MS,
      path: "/orders",
    });
    const closedLoop = (url: string): TrafficOptions => ({
      url,
      concurrency: MAX_CONCURRENCY,
      durationMs: PHASE_MS,
      path: "/orders",
    });
    const bare500 = await run(`bare Node server @ ${TARGET_RPS} RPS`, openLoop(baseline.url));
    const plane500 = await run(`data plane @ ${TARGET_RPS} RPS`, openLoop(dataPlaneUrl));
    const bareMax = await run(
      `bare Node server, max (${MAX_CONCURRENCY} in flight)`,
      closedLoop(baseline.url),
    );
    const planeMax = await run(`data plane, max (${MAX_CONCURRENCY} in flight)`, closedLoop(dataPlaneUrl));
    plane.flush();

    const added = (key: "p50" | "p95") => plane500.load.latencyMs[key] - bare500.load.latencyMs[key];
    console.log("");
    console.log(
      `Added latency of the data plane at ${TARGET_RPS} RPS (vs bare server): p50 ${fmt(added("p50"), 3)} ms, p95 ${fmt(added("p95"), 3)} ms`,
    );
    console.log(
      `Max throughput: data plane ${fmt(planeMax.load.achievedRps, 0)} req/s vs bare server ${fmt(bareMax.load.achievedRps, 0)} req/s ` +
        `(${fmt(planeMax.load.achievedRps / TARGET_RPS, 1)}× the ${TARGET_RPS} RPS load test)`,
    );
    console.log(`Metric samples stored during the run: ${store.sampleCount}`);
    const sustained =
      plane500.load.failures === 0 &&
      plane500.load.skipped === 0 &&
      plane500.load.achievedRps >= TARGET_RPS * 0.95 &&
      planeMax.load.achievedRps > TARGET_RPS;
    console.log(
      sustained
        ? `Verdict: the data plane is not the bottleneck of a ${TARGET_RPS} RPS load test on this machine.`
        : `Verdict: the data plane did NOT sustain ${TARGET_RPS} RPS cleanly on this machine; see the figures above.`,
    );
    process.exitCode = sustained ? 0 : 1;
  } finally {
    await plane.close();
    baseline.server.closeAllConnections();
    await new Promise((resolve) => baseline.server.close(resolve));
  }
}

const loadIndex = process.argv.indexOf("--load");
if (loadIndex >= 0) {
  await runLoadChild(JSON.parse(process.argv[loadIndex + 1] ?? "{}") as TrafficOptions);
} else {
  await main();
}
