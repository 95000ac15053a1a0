// The bundled metric-gate action against the sandbox's CloudWatch on
// loopback. AWS/ namespaces are reserved (PutMetricData refuses them, as AWS
// does), so the API Gateway metrics are recorded the way the sandbox's data
// plane records them: per-second counts and one latency sample per request.
// One API per case, so the cases cannot see each other's data.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MigrationsFile } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { type CloudWatchServer, startCloudWatchServer } from "../fixtures/gate/cloudwatch-server.js";
import { referenceMigration } from "../fixtures/gate/migration.js";
import { runBundledAction } from "../support/run-action.js";

const SECONDS = 40;
let cloudwatch: CloudWatchServer;
// Whole 5 s periods, ending a little before now so the window is complete.
const gateStart = Math.floor((Date.now() - (SECONDS + 8) * 1000) / 5000) * 5000;

beforeAll(async () => {
  cloudwatch = await startCloudWatchServer();
});
afterAll(async () => {
  await cloudwatch?.close();
});

interface Traffic {
  requestsPerSecond: number;
  errorsPerSecond: number;
  /** Latencies of the requests of each second, ms. */
  latencies: number[];
}

/** What the data plane publishes for the new side's HTTP API over the seeded seconds. */
function seed(apiId: string, traffic: Traffic): void {
  const dimensions = { ApiId: apiId, Stage: "$default" };
  const put = (metricName: string, timestamp: number, value: number, unit: string) =>
    cloudwatch.store.put({ namespace: "AWS/ApiGateway", metricName, dimensions, timestamp, value, unit });
  for (let s = 0; s < SECONDS; s++) {
    const second = gateStart + s * 1000;
    if (traffic.requestsPerSecond > 0) put("Count", second, traffic.requestsPerSecond, "Count");
    if (traffic.requestsPerSecond > 0) put("5xx", second, traffic.errorsPerSecond, "Count");
    traffic.latencies.forEach((latency, i) => {
      put("Latency", second + 10 + i, latency, "Milliseconds");
    });
  }
}

/** A workspace with a spec whose new side is `apiId` and a status whose gate window started at `gateStart`. */
function workspace(apiId: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cutover-gate-e2e-"));
  const migration = referenceMigration({
    quick: {
      period: "5s",
      minSamples: 200,
      metrics: [
        { name: "error-rate", metric: "error-rate", pass: { max: 0.01 }, rollback: { max: 0.02 } },
        { name: "latency-p95", metric: "latency-p95", pass: { max: 500 }, rollback: { max: 1000 } },
      ],
    },
  });
  migration.newSide = {
    kind: "lambda",
    functionName: "orders-api",
    alias: "live",
    telemetry: { kind: "apigateway-http", apiId, stage: "$default" },
  };
  migration.phases = [
    {
      name: "canary-10",
      environment: "production",
      steps: [
        { kind: "shift", weight: 10 },
        { kind: "bake", duration: "30s", gate: "quick" },
      ],
    },
  ];
  const spec: MigrationsFile = { version: 1, migrations: [migration] };
  writeFileSync(join(dir, "migrations.json"), JSON.stringify(spec, null, 2));
  mkdirSync(join(dir, "status"));
  const status: MigrationStatus = {
    version: 2,
    migration: "orders-api",
    phase: "canary-10",
    state: "baking",
    weights: { old: 90, new: 10 },
    checkpoints: [],
    timestamps: {
      gateWindowStartsAt: new Date(gateStart).toISOString(),
      updatedAt: new Date().toISOString(),
    },
    history: [],
  };
  writeFileSync(join(dir, "status", "orders-api.json"), JSON.stringify(status, null, 2));
  return dir;
}

function latencies(n: number, fast: number, slow: number, slowShare: number): number[] {
  return Array.from({ length: n }, (_, i) => (i < Math.round(n * slowShare) ? slow : fast + (i % 7)));
}

async function gate(apiId: string, inputs: Record<string, string> = {}) {
  return runBundledAction("metric-gate", {
    inputs: { migration: "orders-api", mode: "bake", ...inputs },
    env: cloudwatch.env,
    workspace: workspace(apiId),
    timeoutMs: 30_000,
  });
}

describe("metric-gate against the sandbox's CloudWatch", () => {
  it("a healthy new side passes, and the bake (30 s) is complete", async () => {
    seed("healthy", { requestsPerSecond: 20, errorsPerSecond: 0, latencies: latencies(20, 90, 240, 0.1) });
    const run = await gate("healthy");
    expect(run.stdout).not.toContain("::error::");
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe("pass");
    expect(run.outputs.gate).toBe("quick");
    expect(Number(run.outputs.samples)).toBeGreaterThanOrEqual(20 * (SECONDS - 5));
    expect(run.outputs["bake-elapsed"]).toBe("true");
    expect(run.outputs["bake-complete"]).toBe("true");
    const evidence = JSON.parse(run.outputs.evidence!);
    expect(evidence).toMatchObject({
      kind: "gate",
      verdict: "pass",
      window: { start: new Date(gateStart).toISOString(), periodSeconds: 5 },
    });
    expect(evidence.metrics.map((m: { name: string; value: number }) => [m.name, m.value])).toEqual([
      ["error-rate", 0],
      ["latency-p95", 240],
    ]);
    expect(evidence.calls).toBe(1);
    expect(JSON.parse(readFileSync(run.outputs["evidence-path"]!, "utf8")).verdict).toBe("pass");
    expect(run.summary).toContain("| error-rate | new | 0 % | ≤ 0.01 | ≤ 0.02 |");
    expect(run.summary).toContain("xychart-beta");
  });

  it("3 % errors is a rollback (and fail-on: rollback fails the step with the summary)", async () => {
    seed("errors", { requestsPerSecond: 100, errorsPerSecond: 3, latencies: latencies(100, 90, 200, 0.05) });
    const run = await gate("errors");
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe("rollback");
    expect(run.outputs.reason).toMatch(/^error-rate: rollback — 0\.03 is outside the rollback threshold$/);
    expect(run.outputs["bake-complete"]).toBe("false");
    const refused = await gate("errors", { "fail-on": "rollback,fail" });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toContain('::error::gate "quick" verdict rollback (fail-on: rollback,fail)');
    expect(refused.summary).toContain("🛑 rollback");
  });

  it("p95 at 700 ms is a failure", async () => {
    seed("slow", { requestsPerSecond: 20, errorsPerSecond: 0, latencies: latencies(20, 100, 700, 0.1) });
    const run = await gate("slow");
    expect(run.outputs.verdict).toBe("fail");
    const evidence = JSON.parse(run.outputs.evidence!);
    expect(evidence.metrics[1]).toMatchObject({ name: "latency-p95", value: 700, verdict: "fail" });
  });

  it("almost no traffic is insufficient data, never a pass", async () => {
    seed("quiet", { requestsPerSecond: 0, errorsPerSecond: 0, latencies: [] });
    cloudwatch.store.put({
      namespace: "AWS/ApiGateway",
      metricName: "Count",
      dimensions: { ApiId: "quiet", Stage: "$default" },
      timestamp: gateStart + 10_000,
      value: 3,
      unit: "Count",
    });
    const run = await gate("quiet");
    expect(run.outputs.verdict).toBe("insufficient-data");
    expect(run.outputs.samples).toBe("3");
    expect(run.outputs.reason).toContain("3 requests on the new side; the gate needs at least 200");
  });

  it("check mode judges the first part after the gate start", async () => {
    seed("check", { requestsPerSecond: 20, errorsPerSecond: 0, latencies: latencies(20, 90, 240, 0.1) });
    const run = await gate("check", { mode: "check", window: "20s" });
    expect(run.stdout).not.toContain("::error::");
    expect(run.outputs.verdict).toBe("pass");
    expect(run.outputs["window-end"]).toBe(new Date(gateStart + 20_000).toISOString());
    expect(run.outputs.samples).toBe(String(20 * 20));
    expect(run.outputs["bake-complete"]).toBe("false");
  });

  it("bad input fails the step naming the input and what exists", async () => {
    const unknownGate = await gate("healthy", { gate: "nope" });
    expect(unknownGate.exitCode).toBe(1);
    expect(unknownGate.stdout).toContain('input "gate": "orders-api" has no gate "nope"; it defines "quick"');
    const badMode = await gate("healthy", { mode: "soak" });
    expect(badMode.stdout).toContain('input "mode": "soak" is not one of "bake", "check"');
    const badFailOn = await gate("healthy", { "fail-on": "rollback,never" });
    expect(badFailOn.stdout).toContain('input "fail-on": "never" is not a verdict');
  });
});
