// The bundled metric-gate action, run as the runner runs it, judging real
// HTTP traffic: the sandbox's data plane resolves the weighted records, serves
// each request from the ECS service (behind its ALB) or the Lambda alias
// (behind its HTTP API), and publishes the AWS/ApplicationELB, AWS/ApiGateway
// and AWS/Lambda metrics the gate reads. Nothing is written into the metric
// store by the test: every figure the gate judges comes from a request a
// client sent on loopback. Faults reach the new side through the data plane's
// admin API (PUT /_sandbox/backends/<record>/<setId>).
//
// Every case gets its own sandbox (its own CloudWatch, its own data plane),
// so no case can see another's data, and judges a window it gives explicitly:
// from the second its traffic started, long enough to hold every request.
import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Sandbox } from "../../sandbox/index.js";
import { startSandbox } from "../../sandbox/index.js";
import { startTraffic, type TrafficOptions, type TrafficReport } from "../../sandbox/traffic.js";
import type { BackendBehaviour, SandboxSeed } from "../../sandbox/types.js";
import type { GateSpec, Migration } from "../../src/model/spec.js";
import { referenceMigration } from "../fixtures/gate/migration.js";
import { trafficSeed } from "../fixtures/traffic/seed.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { type BundledActionRun, runBundledAction } from "../support/run-action.js";

const RECORD = "api.example.com";
const OLD = "ecs-fargate";
const NEW = "lambda";
const MIN_SAMPLES = 50;
/**
 * The data plane draws every failure from a seeded generator, so the same
 * seed fails the same requests. With a 3 % error rate and a few hundred
 * requests on the new side, the share that fails is itself a random figure:
 * about one seed in three dips below the 2 % rollback line somewhere between
 * the 150th and the 350th Lambda request. This seed's draws stay between
 * 2.8 % and 3.7 % over that range (the new side serves about 240 here,
 * depending on how the resolvers split the load), so the error case judges a
 * rate close to the one injected on every run. Whatever the draws, the
 * gate's rate must equal the share of failed answers the client saw.
 */
const RANDOM_SEED = 21;

/** The reference gate's error-rate and p95 thresholds, on 1 s periods so a few seconds of traffic can be judged. */
const quickGate: GateSpec = {
  period: "1s",
  minSamples: MIN_SAMPLES,
  metrics: [
    {
      name: "error-rate",
      metric: "error-rate",
      pass: { max: 0.01 },
      rollback: { max: 0.02 },
      compareToOld: { maxIncrease: 0.005 },
    },
    {
      name: "latency-p95",
      metric: "latency-p95",
      pass: { max: 500 },
      rollback: { max: 1000 },
      compareToOld: { maxRatio: 1.2 },
    },
  ],
};

/** orders-api at canary-50, baking on the quick gate; the names match the sandbox seed's. */
function migration(): Migration {
  const base = referenceMigration({ quick: quickGate });
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

/**
 * The traffic seed (TTL 1 s, the ALB, HTTP API and Lambda names of the
 * reference migration) with the records at 50/50, enough resolvers for a
 * smooth split over a few seconds, and no cold starts (they are not what
 * these cases judge).
 */
function gateSeed(): SandboxSeed {
  const seed = trafficSeed();
  for (const record of seed.route53!.hostedZones[0]!.records) record.weight = 50;
  const plane = seed.dataPlane![0]!;
  plane.resolvers = 16;
  plane.randomSeed = RANDOM_SEED;
  plane.backends[OLD]!.behaviour = { latencyMs: 40, jitter: 0.3, errorRate: 0 };
  plane.backends[NEW]!.behaviour = { latencyMs: 25, jitter: 0.3, errorRate: 0, coldStartMs: 0 };
  return seed;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface World {
  sandbox: Sandbox;
  url: string;
  workspace: TrafficWorkspace;
}

/** A fresh sandbox and workspace for one case, closed and removed afterwards. */
async function inWorld(run: (world: World) => Promise<void>): Promise<void> {
  const shiftedAt = new Date();
  const sandbox = await startSandbox({ seed: gateSeed() });
  const workspace = new TrafficWorkspace(migration());
  try {
    // What the workflow would have committed after the shift to 50 %; the
    // window-start input below overrides the gate start for the check.
    workspace.writeStatus({
      version: 2,
      migration: "orders-api",
      phase: "canary-50",
      state: "baking",
      weights: { old: 50, new: 50 },
      checkpoints: [],
      timestamps: { gateWindowStartsAt: shiftedAt.toISOString(), updatedAt: shiftedAt.toISOString() },
      history: [],
    });
    const url = sandbox.dataPlaneUrls[RECORD];
    expect(url, "the seed declares a data plane").toBeDefined();
    await run({ sandbox, url: url!, workspace });
  } finally {
    await sandbox.close();
    rmSync(workspace.dir, { recursive: true, force: true });
  }
}

/** Changes the new side's behaviour through the data plane's admin API, as a person would. */
async function setNewSide(world: World, behaviour: Partial<BackendBehaviour>): Promise<void> {
  const response = await fetch(`${world.sandbox.endpoint}/_sandbox/backends/${RECORD}/${NEW}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...behaviour, durationMs: 120_000 }),
  });
  const body = (await response.json()) as { behaviour: BackendBehaviour };
  expect(response.status, JSON.stringify(body)).toBe(200);
  expect(body.behaviour).toMatchObject(behaviour);
}

interface Sent {
  report: TrafficReport;
  /** Whole second at or before the first request. */
  windowStart: Date;
  /** Whole seconds from windowStart that hold every request sent. */
  windowSeconds: number;
}

/** Sends bounded load through the data plane and waits for every answer. */
async function send(world: World, options: Omit<TrafficOptions, "url">): Promise<Sent> {
  const windowStart = Math.floor(Date.now() / 1000) * 1000;
  const report = await startTraffic({ url: world.url, ...options }).done;
  // Every answer is in; publish the counts of the last second now rather than at the next tick.
  world.sandbox.dataPlane!.flush();
  // Metrics carry the time a request arrived, which is before the run ended.
  const windowSeconds = Math.ceil((report.endedAt - windowStart) / 1000) + 1;
  expect(report.failures, JSON.stringify(report.failureReasons)).toBe(0);
  expect(report.skipped).toBe(0);
  expect(report.completed).toBe(report.sent);
  return { report, windowStart: new Date(windowStart), windowSeconds };
}

interface MetricFigure {
  name: string;
  value?: number;
  samples: number;
  verdict: string;
  reasons: string[];
  comparison?: { verdict: string; oldValue?: number };
}

interface Evidence {
  verdict: string;
  window: { start: string; end: string; periodSeconds: number; source: string };
  minSamples: number;
  samples: { new?: number; old?: number };
  metrics: MetricFigure[];
}

/**
 * One check after the shift, as apply-migration runs it: the first
 * `windowSeconds` after the explicit start (the action waits for them to
 * pass if they have not yet).
 */
async function check(world: World, sent: Sent): Promise<{ run: BundledActionRun; evidence: Evidence }> {
  const run = await runBundledAction("metric-gate", {
    inputs: {
      migration: "orders-api",
      mode: "check",
      "window-start": sent.windowStart.toISOString(),
      window: `${sent.windowSeconds}s`,
    },
    env: world.sandbox.env,
    workspace: world.workspace.dir,
    timeoutMs: 30_000,
  });
  expect(run.stdout, run.stderr).not.toContain("::error::");
  expect(run.exitCode, run.stdout + run.stderr).toBe(0);
  expect(run.outputs.gate).toBe("quick");
  expect(run.outputs["window-start"]).toBe(sent.windowStart.toISOString());
  expect(run.outputs["window-end"]).toBe(
    new Date(sent.windowStart.getTime() + sent.windowSeconds * 1000).toISOString(),
  );
  const evidence = JSON.parse(run.outputs.evidence!) as Evidence;
  expect(evidence.window.periodSeconds).toBe(1);
  expect(evidence.window.source).toContain("input window-start");
  expect(evidence.minSamples).toBe(MIN_SAMPLES);
  return { run, evidence };
}

function metric(evidence: Evidence, name: string): MetricFigure {
  const found = evidence.metrics.find((candidate) => candidate.name === name);
  expect(found, `metric ${name} in the evidence`).toBeDefined();
  return found!;
}

/** The requests each side answered, as the client saw them, must be what CloudWatch counted. */
function expectSamplesMatchClient(evidence: Evidence, run: BundledActionRun, report: TrafficReport): void {
  const newServed = report.byBackend[NEW] ?? 0;
  expect(Number(run.outputs.samples)).toBe(newServed);
  expect(evidence.samples.new).toBe(newServed);
  expect(evidence.samples.old).toBe(report.byBackend[OLD] ?? 0);
}

describe("metric-gate (bundled) judging real traffic through the sandbox's data plane", () => {
  it("a healthy new side at 50/50 passes", async () => {
    await inWorld(async (world) => {
      const sent = await send(world, { rps: 80, durationMs: 6000, maxRequests: 480 });
      const { report } = sent;
      expect(report.sent).toBe(480);
      expect(report.serverErrors).toBe(0);
      // Both sides served a real share of the load.
      expect(report.byBackend[NEW] ?? 0).toBeGreaterThan(150);
      expect(report.byBackend[OLD] ?? 0).toBeGreaterThan(150);

      const { run, evidence } = await check(world, sent);
      expect(run.outputs.verdict, run.outputs.reason).toBe("pass");
      expect(run.outputs.reason).toBe("all 2 metrics inside their pass thresholds");
      expectSamplesMatchClient(evidence, run, report);
      expect(metric(evidence, "error-rate").value).toBe(0);
      const p95 = metric(evidence, "latency-p95");
      expect(p95.value).toBeGreaterThan(20);
      expect(p95.value).toBeLessThan(200);
      // The old side (ALB TargetResponseTime, published in seconds) was compared, not skipped.
      expect(p95.comparison?.verdict).toBe("pass");
      expect(p95.comparison?.oldValue).toBeGreaterThan(p95.value!);
      expect(run.summary).toContain("| error-rate | new | 0 % | ≤ 0.01 | ≤ 0.02 |");
    });
  });

  it("3 % errors injected on the new side is a rollback", async () => {
    await inWorld(async (world) => {
      await setNewSide(world, { errorRate: 0.03 });
      const sent = await send(world, { rps: 80, durationMs: 6000, maxRequests: 480 });
      const { report } = sent;
      const newServed = report.byBackend[NEW] ?? 0;
      // A Lambda function error reaches the client as API Gateway's 502; the old side failed nothing.
      const failed = report.byStatus["502"] ?? 0;
      expect(report.serverErrors).toBe(failed);
      expect(newServed).toBeGreaterThan(150);

      const { run, evidence } = await check(world, sent);
      expect(run.outputs.verdict, run.outputs.reason).toBe("rollback");
      expect(run.outputs.reason).toMatch(/^error-rate: rollback — 0\.0\d+ is outside the rollback threshold/);
      expectSamplesMatchClient(evidence, run, report);
      const errorRate = metric(evidence, "error-rate");
      expect(errorRate.verdict).toBe("rollback");
      // Exactly the share of the new side's answers the client saw fail, and close to what was injected.
      expect(errorRate.value).toBeCloseTo(failed / newServed, 12);
      expect(errorRate.value).toBeGreaterThan(0.02);
      expect(errorRate.value).toBeLessThan(0.045);
      expect(errorRate.comparison).toMatchObject({ verdict: "fail", oldValue: 0 });
      expect(metric(evidence, "latency-p95").verdict).toBe("pass");
    });
  });

  it("the new side's p95 pushed to about 700 ms is a failure, not a rollback", async () => {
    await inWorld(async (world) => {
      // Log-normal around 600 ms: p95 ≈ 600 × (1 + 1.6 × 0.1) ≈ 700 ms.
      await setNewSide(world, { latencyMs: 600, jitter: 0.1 });
      const sent = await send(world, { rps: 60, durationMs: 6000, maxRequests: 360 });
      const { report } = sent;
      expect(report.serverErrors).toBe(0);
      expect(report.byBackend[NEW] ?? 0).toBeGreaterThan(100);
      const clientP95 = report.serverLatencyMs[NEW]!.p95;
      expect(clientP95).toBeGreaterThan(600);

      const { run, evidence } = await check(world, sent);
      expect(run.outputs.verdict, run.outputs.reason).toBe("fail");
      expect(run.outputs.reason).toMatch(/^latency-p95: fail — \d+(\.\d+)? is outside the pass threshold/);
      expectSamplesMatchClient(evidence, run, report);
      const p95 = metric(evidence, "latency-p95");
      expect(p95.verdict).toBe("fail");
      expect(p95.value).toBeGreaterThanOrEqual(600);
      expect(p95.value).toBeLessThan(1000);
      // CloudWatch's p95 is computed from the same latencies the data plane reported to the client.
      expect(Math.abs(p95.value! - clientP95) / clientP95).toBeLessThan(0.05);
      expect(metric(evidence, "error-rate")).toMatchObject({ value: 0, verdict: "pass" });
    });
  });

  it("errors from just before the window start are not counted, whatever the window's alignment", async () => {
    await inWorld(async (world) => {
      // Failing traffic starts just after a 10 s boundary, so the window that follows starts
      // a few seconds past it: a 10 s datapoint would begin at the boundary and hold the errors.
      await sleep(10_000 - (Date.now() % 10_000) + 100);
      await setNewSide(world, { errorRate: 0.5 });
      const failing = await send(world, { rps: 40, durationMs: 2500 });
      expect(failing.report.serverErrors).toBeGreaterThan(0);
      await setNewSide(world, { errorRate: 0 });
      await sleep(1000 - (Date.now() % 1000) + 20);
      const healthy = await send(world, { rps: 60, durationMs: 4000 });
      expect(healthy.windowStart.getTime() % 10_000).not.toBe(0);
      expect(healthy.report.serverErrors).toBe(0);

      const { run, evidence } = await check(world, healthy);
      expect(run.outputs.verdict, run.outputs.reason).toBe("pass");
      expectSamplesMatchClient(evidence, run, healthy.report);
      expect(metric(evidence, "error-rate")).toMatchObject({ value: 0, verdict: "pass" });
    });
  });

  it("a handful of requests is insufficient data, never a pass", async () => {
    await inWorld(async (world) => {
      const sent = await send(world, { rps: 5, maxRequests: 10, durationMs: 3000 });
      const { report } = sent;
      expect(report.sent).toBe(10);
      expect(report.serverErrors).toBe(0);
      const newServed = report.byBackend[NEW] ?? 0;
      expect(newServed).toBeGreaterThan(0);

      const { run, evidence } = await check(world, sent);
      expect(run.outputs.verdict, run.outputs.reason).toBe("insufficient-data");
      expectSamplesMatchClient(evidence, run, report);
      expect(evidence.samples.new).toBeLessThan(MIN_SAMPLES);
      expect(run.outputs.reason).toContain(
        `${newServed} requests on the new side; the gate needs at least ${MIN_SAMPLES}`,
      );
      for (const figure of evidence.metrics) expect(figure.verdict).toBe("insufficient-data");
    });
  });
});
