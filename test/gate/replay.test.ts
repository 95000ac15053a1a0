// `cutover gate replay` against the sandbox's CloudWatch: hours of seeded
// history (PutMetricData through the real SDK, percentiles computed by the
// sandbox from raw samples), replayed look by look through the CLI, and each
// look checked against what the monitor's own path (evaluateGate in bake
// mode, then the monitor's decision) records at that moment.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../../src/cli/main.js";
import type { GateSpec, Migration } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { evaluateGate } from "../../src/ops/gate.js";
import type { ReplayOutcome } from "../../src/ops/gate-replay.js";
import { decide } from "../../src/ops/monitor.js";
import { CloudWatchMetricsSource } from "../../src/providers/cloudwatch-metrics.js";
import { type CloudWatchServer, startCloudWatchServer } from "../fixtures/gate/cloudwatch-server.js";
import { type HistoryOptions, seedHistory } from "../fixtures/gate/history.js";
import { referenceMigration } from "../fixtures/gate/migration.js";

/** The reference thresholds, and a compare check of p95 latency and error rate against the old side. */
const judgedGate: GateSpec = {
  period: "1m",
  minSamples: 200,
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
      score: { pass: 90, marginal: 50 },
      metrics: [
        { name: "latency-p95", metric: "latency-p95", direction: "higher-is-worse", allowedChange: 0.05 },
        { name: "error-rate", metric: "error-rate", direction: "higher-is-worse", allowedChange: 0.5 },
      ],
      early: { rollback: true },
    },
  ],
};

function migration(gate: GateSpec = judgedGate): Migration {
  const base = referenceMigration({ judged: gate });
  return {
    ...base,
    phases: [
      {
        name: "canary-10",
        environment: "production",
        steps: [
          { kind: "shift", weight: 20 },
          { kind: "bake", duration: "4h", gate: "judged" },
        ],
      },
    ],
  };
}

const HOUR = 3_600_000;
/** A whole minute more than six hours ago: five hours of history, all older than an hour. */
const from = new Date(Math.floor((Date.now() - 6 * HOUR) / 60_000) * 60_000);
const to = new Date(from.getTime() + 5 * HOUR);

interface World {
  server: CloudWatchServer;
  dir: string;
}

const worlds: World[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const world of worlds.splice(0)) {
    await world.server.close();
    rmSync(world.dir, { recursive: true, force: true });
  }
});

async function world(traffic: Omit<HistoryOptions, "from" | "minutes">, spec = migration()): Promise<World> {
  const server = await startCloudWatchServer();
  const dir = mkdtempSync(join(tmpdir(), "cutover-replay-"));
  worlds.push({ server, dir });
  mkdirSync(join(dir, "status"));
  writeFileSync(join(dir, "migrations.json"), JSON.stringify({ version: 1, migrations: [spec] }, null, 2));
  const status: MigrationStatus = {
    version: 2,
    migration: "orders-api",
    phase: "canary-10",
    state: "baking",
    weights: { old: 80, new: 20 },
    checkpoints: [],
    timestamps: { gateWindowStartsAt: from.toISOString(), updatedAt: from.toISOString() },
    history: [],
  };
  writeFileSync(join(dir, "status", "orders-api.json"), JSON.stringify(status, null, 2));
  seedHistory(server.store, { from, minutes: 300, ...traffic });
  for (const [name, value] of Object.entries(server.env)) vi.stubEnv(name, value);
  return { server, dir };
}

async function cli(w: World, args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    cwd: w.dir,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    now: () => new Date(),
  });
  return { code, stdout, stderr };
}

const replayArgs = (extra: string[] = []) => [
  "gate",
  "replay",
  "--migration",
  "orders-api",
  "--gate",
  "judged",
  "--from",
  from.toISOString(),
  "--to",
  to.toISOString(),
  ...extra,
];

async function replay(w: World): Promise<ReplayOutcome> {
  const { code, stdout, stderr } = await cli(w, replayArgs(["--json"]));
  expect(stderr).toBe("");
  expect(code).toBe(0);
  return JSON.parse(stdout) as ReplayOutcome;
}

/** What the monitor's path records at each of the replay's looks: the gate in bake mode at that moment, then the monitor. */
async function monitorAt(w: World, at: Date, spec = migration()) {
  const source = new CloudWatchMetricsSource(
    new CloudWatchClient({
      region: "us-east-1",
      endpoint: w.server.endpoint,
      credentials: { accessKeyId: "AKIDSANDBOX", secretAccessKey: "sandbox-secret" },
    }),
  );
  const outcome = await evaluateGate(
    { specPath: join(w.dir, "migrations.json"), migrationId: "orders-api", gate: "judged", mode: "bake" },
    { metrics: source, log: { info: () => {}, warn: () => {} }, now: () => at },
  );
  const status = JSON.parse(
    readFileSync(join(w.dir, "status", "orders-api.json"), "utf8"),
  ) as MigrationStatus;
  const bakeComplete = outcome.evidence.bake?.complete ?? false;
  const decision = decide(spec, status, { verdict: outcome.judgement.verdict, bakeComplete }, at);
  return { verdict: outcome.judgement.verdict, bakeComplete, decision: decision.decision };
}

const healthyOld = { perMinute: 120, medianMs: 200, spread: 0.3 };

describe("cutover gate replay against the sandbox's CloudWatch", () => {
  it("catches a new side 10 % slower with the same spread while the fixed thresholds pass, and rolls back early on latency", async () => {
    const w = await world({ seed: 11, old: healthyOld, new: { perMinute: 30, medianMs: 220, spread: 0.3 } });
    const outcome = await replay(w);
    expect(outcome.ended).toBe("rolled-back");
    const rollback = outcome.events.find((e) => e.kind === "rollback")!;
    expect(rollback.metrics).toEqual(["latency-p95 (vs-old)"]);
    // Long before the 4 h bake's end (look 16), on the spent alpha of an early look.
    expect(rollback.look).toBeLessThan(16);
    for (const look of outcome.looks) {
      // The thresholds (p95 < 500 ms, within 1.2 × the old side) pass at every look that has enough requests.
      const thresholds = look.metrics.filter((m) => m.check === "threshold");
      if (look.verdict !== "insufficient-data")
        expect(thresholds.map((m) => m.outcome)).toEqual(["pass", "pass"]);
    }
    const last = outcome.looks.at(-1)!;
    expect(last.verdict).toBe("rollback");
    expect(last.metrics.find((m) => m.check === "vs-old" && m.name === "latency-p95")?.outcome).toBe("fail");
    // Look for look, the monitor's own path records the same verdicts and decisions.
    for (const look of outcome.looks) {
      const recorded = await monitorAt(w, new Date(look.at));
      expect({ at: look.at, ...recorded }).toEqual({
        at: look.at,
        verdict: look.verdict,
        bakeComplete: look.bakeComplete,
        decision: look.decision,
      });
    }
  });

  it("identical sides pass every look and the bake passes when it ends, as the monitor would record it", async () => {
    const w = await world({ seed: 12, old: healthyOld, new: { ...healthyOld, perMinute: 30 } });
    const outcome = await replay(w);
    expect(outcome.ended).toBe("passed");
    const passed = outcome.events.find((e) => e.kind === "passed")!;
    expect(passed.look).toBe(16);
    expect(passed.at).toBe(new Date(from.getTime() + 4 * HOUR).toISOString());
    const judged = outcome.looks.filter((l) => l.verdict !== "insufficient-data");
    expect(judged.length).toBeGreaterThan(10);
    expect(judged.every((l) => l.verdict === "pass")).toBe(true);
    for (const look of [outcome.looks[0]!, outcome.looks[7]!, outcome.looks.at(-1)!]) {
      const recorded = await monitorAt(w, new Date(look.at));
      expect(recorded).toEqual({
        verdict: look.verdict,
        bakeComplete: look.bakeComplete,
        decision: look.decision,
      });
    }
  });

  it("with an early pass allowed after 1 h, a clearly healthy new side completes the bake at the first look after it", async () => {
    const early: GateSpec = {
      ...judgedGate,
      checks: [
        {
          ...judgedGate.checks![0]!,
          metrics: [
            { name: "latency-p50", metric: "latency-p50", direction: "higher-is-worse", allowedChange: 0.2 },
          ],
          early: { rollback: true, passAfter: "1h" },
        },
      ],
    };
    const spec = migration(early);
    const w = await world({ seed: 14, old: healthyOld, new: { ...healthyOld, perMinute: 30 } }, spec);
    const outcome = await replay(w);
    expect(outcome.ended).toBe("passed");
    const passed = outcome.events.find((e) => e.kind === "passed")!;
    // 1 h is look 4; the 4 h bake would have ended at look 16.
    expect(passed.look).toBe(4);
    const last = outcome.looks.at(-1)!;
    expect(last.bakeComplete).toBe(true);
    const recorded = await monitorAt(w, new Date(last.at), spec);
    expect(recorded).toEqual({ verdict: "pass", bakeComplete: true, decision: "passed" });
    // One look earlier the same clear pass may not end the bake yet.
    expect(outcome.looks[2]!.decision).toBe("bake");
  });

  it("thin traffic on the new side is insufficient data at every look: the bake is extended, never passed", async () => {
    const w = await world({
      seed: 13,
      old: healthyOld,
      new: { perMinute: 0.25, medianMs: 200, spread: 0.3 },
    });
    const outcome = await replay(w);
    expect(outcome.ended).toBe("still-baking");
    expect(outcome.looks).toHaveLength(20);
    expect(outcome.looks.every((l) => l.verdict === "insufficient-data" && l.decision === "extend")).toBe(
      true,
    );
    expect(outcome.looks.at(-1)!.compare[0]!.classification).toBe("insufficient-data");
  });

  it("prints a text chart and the events, and writes the SVG chart", async () => {
    const w = await world({ seed: 11, old: healthyOld, new: { perMinute: 30, medianMs: 220, spread: 0.3 } });
    const { code, stdout } = await cli(w, replayArgs(["--svg", "replay.svg"]));
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    const strip = lines.find((line) => line.startsWith("looks"))!;
    expect(strip).toMatch(/^looks\s+[+x?]*R$/);
    expect(
      lines.some((line) => /^latency-p95 \(vs-old\)\s+[▁▂▃▄▅▆▇█ ]+\s+last .* %, allowed 5 %$/.test(line)),
    ).toBe(true);
    expect(stdout).toMatch(/Would have rolled back at \S+ \(look \d+\) on latency-p95 \(vs-old\): /);
    const svg = readFileSync(join(w.dir, "replay.svg"), "utf8");
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('fill="#cf222e"');
    expect(svg.match(/<polyline /g)?.length ?? 0).toBeGreaterThanOrEqual(3);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  });
});

describe("cutover gate replay refuses bad input with exit 2, naming the flag or JSON path", () => {
  async function quietWorld(spec = migration()): Promise<World> {
    const server = await startCloudWatchServer();
    const dir = mkdtempSync(join(tmpdir(), "cutover-replay-"));
    worlds.push({ server, dir });
    writeFileSync(join(dir, "migrations.json"), JSON.stringify({ version: 1, migrations: [spec] }, null, 2));
    for (const [name, value] of Object.entries(server.env)) vi.stubEnv(name, value);
    return { server, dir };
  }

  it("--from after --to", async () => {
    const w = await quietWorld();
    const result = await cli(w, [
      ...replayArgs().slice(0, 6),
      "--from",
      to.toISOString(),
      "--to",
      from.toISOString(),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--from");
    expect(result.stderr).toContain("is not before --to");
    expect(w.server.getMetricDataCalls()).toBe(0);
  });

  it("an unknown gate, and a gate with no compare check", async () => {
    const w = await quietWorld(migration({ ...judgedGate, checks: [] }));
    const unknown = await cli(
      w,
      replayArgs().map((a) => (a === "judged" ? "nope" : a)),
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--gate: "orders-api" has no gate "nope"; it defines "judged"');
    const plain = await cli(w, replayArgs());
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(
      '--gate: gate "judged" of "orders-api" has no compare check (gates.judged.checks)',
    );
    expect(w.server.getMetricDataCalls()).toBe(0);
  });

  it("a confidence outside (0, 1) in the spec", async () => {
    const bad = { ...judgedGate, checks: [{ ...judgedGate.checks![0]!, confidence: 1.5 }] };
    const w = await quietWorld(migration(bad));
    const result = await cli(w, replayArgs());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("migrations[0].gates.judged.checks[0].confidence");
    expect(result.stderr).toContain("strictly between 0 and 1");
  });

  it("a time without a zone, a bad step, a missing flag and an unknown subcommand", async () => {
    const w = await quietWorld();
    const noZone = await cli(w, [
      ...replayArgs().slice(0, 6),
      "--from",
      "2026-03-01T00:00:00",
      "--to",
      "now",
    ]);
    expect(noZone.code).toBe(2);
    expect(noZone.stderr).toContain('--from "2026-03-01T00:00:00" is not a time; give ISO 8601 with a zone');
    const step = await cli(w, replayArgs(["--step", "0m"]));
    expect(step.code).toBe(2);
    expect(step.stderr).toContain('--step "0m" is not a duration longer than zero');
    const missing = await cli(w, ["gate", "replay", "--gate", "judged"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--migration is required");
    const sub = await cli(w, ["gate", "rewind"]);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('unknown subcommand "rewind"; known: replay');
  });
});
