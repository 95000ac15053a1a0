// The compare check on real HTTP traffic: the sandbox's data plane serves
// each request from the ECS service (behind its ALB) or the Lambda alias
// (behind its HTTP API) by the Route 53 weights and publishes the metrics the
// gate reads; nothing is written into the metric store by the test. The gate
// is evaluated as the monitor evaluates it (evaluateGate in bake mode, real
// SDK clients through AWS_ENDPOINT_URL), over the seconds the traffic ran.
//
// The compared metric is the per-second median latency: with ~80 requests a
// second per side it is steady enough for 16 periods to tell a 10 % shift from
// noise. With the same backend latency on both sides, the new side's median
// (API Gateway Latency) read 1–3 % above the old side's (ALB
// TargetResponseTime) in trial runs, so the allowance (6 %) leaves room for
// that and for noise, and still sits well below the 10 % under test (measured
// 11–13 %).
import { rmSync } from "node:fs";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { startTraffic } from "../../sandbox/traffic.js";
import type { SandboxSeed } from "../../sandbox/types.js";
import type { GateSpec, Migration } from "../../src/model/spec.js";
import { evaluateGate } from "../../src/ops/gate.js";
import { CloudWatchMetricsSource } from "../../src/providers/cloudwatch-metrics.js";
import { referenceMigration } from "../fixtures/gate/migration.js";
import { trafficSeed } from "../fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";

const gate: GateSpec = {
  period: "1s",
  minSamples: 100,
  metrics: [
    { name: "error-rate", metric: "error-rate", pass: { max: 0.01 }, rollback: { max: 0.02 } },
    {
      name: "latency-p95",
      metric: "latency-p95",
      pass: { max: 500 },
      rollback: { max: 1000 },
      compareToOld: { maxRatio: 1.2 },
    },
  ],
  checks: [
    {
      kind: "compare",
      method: "mann-whitney",
      name: "vs-old",
      confidence: 0.95,
      minPeriods: 10,
      score: { pass: 90, marginal: 50 },
      metrics: [
        { name: "latency-p50", metric: "latency-p50", direction: "higher-is-worse", allowedChange: 0.06 },
      ],
    },
  ],
};

function migration(): Migration {
  const base = referenceMigration({ quick: gate });
  return {
    ...base,
    phase: "canary-50",
    phases: [
      {
        name: "canary-50",
        environment: "production",
        steps: [
          { kind: "shift", weight: 50 },
          { kind: "bake", duration: "72h", gate: "quick" },
        ],
      },
    ],
  };
}

/** Both records at 50/50, a smooth split, no cold starts; latencies as given (same spread). */
function seed(oldMs: number, newMs: number): SandboxSeed {
  const world = trafficSeed();
  for (const record of world.route53!.hostedZones[0]!.records) record.weight = 50;
  const plane = world.dataPlane![0]!;
  plane.resolvers = 16;
  plane.randomSeed = 5;
  plane.backends["ecs-fargate"]!.behaviour = { latencyMs: oldMs, jitter: 0.3, errorRate: 0 };
  plane.backends.lambda!.behaviour = { latencyMs: newMs, jitter: 0.3, errorRate: 0, coldStartMs: 0 };
  return world;
}

async function judge(oldMs: number, newMs: number, rps: number, durationMs: number) {
  const sandbox: Sandbox = await startSandbox({ seed: seed(oldMs, newMs) });
  const workspace = new TrafficWorkspace(migration());
  try {
    const windowStart = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
    workspace.writeStatus({
      version: 2,
      migration: "orders-api",
      phase: "canary-50",
      state: "baking",
      weights: { old: 50, new: 50 },
      checkpoints: [],
      timestamps: { gateWindowStartsAt: windowStart.toISOString(), updatedAt: windowStart.toISOString() },
      history: [],
    });
    await new Promise((resolve) => setTimeout(resolve, windowStart.getTime() - Date.now()));
    const url = sandbox.dataPlaneUrls["api.example.com"]!;
    const report = await startTraffic({
      url,
      rps,
      durationMs,
      maxRequests: Math.ceil((rps * durationMs) / 1000),
    }).done;
    sandbox.dataPlane!.flush();
    expect(report.failures).toBe(0);
    const end = new Date(Math.ceil(report.endedAt / 1000) * 1000 + 1000);
    const source = new CloudWatchMetricsSource(
      new CloudWatchClient({
        region: "us-east-1",
        endpoint: sandbox.env.AWS_ENDPOINT_URL,
        credentials: { accessKeyId: "AKIDSANDBOX", secretAccessKey: "sandbox-secret" },
      }),
    );
    const outcome = await evaluateGate(
      {
        specPath: `${workspace.dir}/migrations.json`,
        migrationId: "orders-api",
        gate: "quick",
        mode: "bake",
        windowEnd: end,
      },
      { metrics: source, log: { info: () => {}, warn: () => {} }, now: () => end },
    );
    return { outcome, report };
  } finally {
    await sandbox.close();
    rmSync(workspace.dir, { recursive: true, force: true });
  }
}

describe("compare check on the sandbox's data plane", () => {
  it("a new side 10 % slower with the same spread fails the compare check while the fixed thresholds pass", async () => {
    const { outcome } = await judge(40, 44, 160, 16_000);
    const { judgement } = outcome;
    expect(judgement.metrics.map((m) => [m.name, m.verdict])).toEqual([
      ["error-rate", "pass"],
      ["latency-p95", "pass"],
    ]);
    const check = judgement.compare![0]!;
    const p50 = check.metrics[0]!;
    expect(p50.periods.new).toBeGreaterThanOrEqual(14);
    expect(p50.worseBy).toBeGreaterThan(0.06);
    expect(p50.classification, p50.reason).toBe("fail");
    expect(check.verdict).toBe("fail");
    expect(judgement.verdict).toBe("fail");
  });

  it("identical sides pass the compare check", async () => {
    const { outcome } = await judge(40, 40, 160, 16_000);
    const check = outcome.judgement.compare![0]!;
    expect(check.metrics[0]!.classification, check.metrics[0]!.reason).toBe("pass");
    expect(outcome.judgement.verdict).toBe("pass");
  });

  it("thin traffic is insufficient data, never a pass", async () => {
    const { outcome } = await judge(40, 40, 8, 4_000);
    expect(outcome.judgement.compare![0]!.verdict).toBe("insufficient-data");
    expect(outcome.judgement.verdict).toBe("insufficient-data");
  });
});
