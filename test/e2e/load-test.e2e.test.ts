// The bundled load-test action running the real Artillery (the repository's
// node_modules/.bin/artillery, telemetry off) against loopback only.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referenceMigration } from "../fixtures/gate/migration.js";
import { type OrdersServer, startOrdersServer } from "../fixtures/load-test/orders-server.js";
import { repoRoot, runBundledAction } from "../support/run-action.js";

const shortScenario = join(repoRoot, "test", "fixtures", "load-test", "short-10rps.yml");
let healthy: OrdersServer;
let flaky: OrdersServer;

beforeAll(async () => {
  healthy = await startOrdersServer();
  flaky = await startOrdersServer({ errorEvery: 5 });
});
afterAll(async () => {
  await healthy?.close();
  await flaky?.close();
});

/** A loopback port nobody listens on: bound, noted, closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const run = (
  inputs: Record<string, string>,
  extra: { workspace?: string; env?: Record<string, string> } = {},
) => runBundledAction("load-test", { inputs, timeoutMs: 60_000, ...extra });

describe("load-test with the real Artillery", () => {
  it("reads the right figures from the report of a short run", async () => {
    const before = healthy.requests();
    const result = await run({
      scenario: shortScenario,
      target: healthy.url,
      "max-error-rate": "0",
      "p95-ms": "1000",
      "min-rate-ratio": "0.9",
    });
    expect(result.stdout).not.toContain("::error::");
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe("pass");
    const served = healthy.requests() - before;
    expect(Number(result.outputs.requests)).toBe(served);
    expect(served).toBe(30);
    expect(JSON.parse(result.outputs.codes!)).toEqual({ "200": 30 });
    expect(Number(result.outputs["error-rate"])).toBe(0);
    expect(Number(result.outputs["requested-rate"])).toBe(10);
    expect(Number(result.outputs["achieved-rate"])).toBeGreaterThanOrEqual(9);
    const report = JSON.parse(readFileSync(result.outputs["report-path"]!, "utf8"));
    expect(report.aggregate.counters["http.requests"]).toBe(30);
    expect(Number(result.outputs.p95)).toBe(report.aggregate.summaries["http.response_time"].p95);
    expect(result.summary).toContain("xychart-beta");
    expect(result.summary).toContain("| 30 | 200: 30 | none | 0 % |");
  });

  it("fails on the error rate read from the report although Artillery exits 0", async () => {
    const result = await run({ scenario: shortScenario, target: flaky.url, "max-error-rate": "0.01" });
    expect(result.stdout).toMatch(/artillery_exit=0/);
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verdict).toBe("fail");
    expect(JSON.parse(result.outputs.codes!)).toEqual({ "200": 24, "503": 6 });
    expect(result.outputs.reason).toBe("error rate 20 % > 1 % (6 of 30)");
  });

  it("an unreachable target (a closed loopback port) fails the action", async () => {
    const port = await closedPort();
    const result = await run({
      scenario: shortScenario,
      target: `http://127.0.0.1:${port}`,
      "max-error-rate": "0.01",
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verdict).toBe("fail");
    expect(result.outputs.reason).toContain("30 requests sent, none answered");
    expect(result.outputs.p95).toBe("");
  });

  it("takes the scenario and thresholds from the spec's load-test step, and finds Artillery on PATH", async () => {
    const workspace = mkdtempSync(join(tmpdir(), "cutover-load-test-e2e-"));
    mkdirSync(join(workspace, "load-tests"));
    copyFileSync(join(repoRoot, "load-tests", "smoke.yml"), join(workspace, "load-tests", "smoke.yml"));
    const migration = referenceMigration();
    migration.phases = [
      {
        name: "staging",
        environment: "staging",
        steps: [
          {
            kind: "load-test",
            scenario: "load-tests/smoke.yml",
            thresholds: { maxErrorRate: 0, p95Ms: 2000 },
          },
        ],
      },
    ];
    migration.phase = "staging";
    writeFileSync(
      join(workspace, "migrations.json"),
      JSON.stringify({ version: 1, migrations: [migration] }),
    );
    const result = await run(
      { migration: "orders-api", step: "0", target: healthy.url },
      { workspace, env: { PATH: `${join(repoRoot, "node_modules", ".bin")}:${process.env.PATH}` } },
    );
    expect(result.stdout).toContain("artillery=PATH");
    expect(result.outputs.verdict).toBe("pass");
    expect(result.outputs.requests).toBe("4");
    const evidence = JSON.parse(result.outputs.evidence!);
    expect(evidence).toMatchObject({
      kind: "load-test",
      scenario: "load-tests/smoke.yml",
      thresholds: { maxErrorRate: 0, p95Ms: 2000 },
    });
    const wrongStep = await run({ migration: "orders-api", step: "3", target: healthy.url }, { workspace });
    expect(wrongStep.exitCode).toBe(1);
    expect(wrongStep.stdout).toContain(
      'input "step": phase "staging" has no load-test step 3; its load-test steps are 0: load-tests/smoke.yml',
    );
  });
});
