// The fixtures are reports written by Artillery 2.0.34 (`artillery run --output`)
// against a local server: healthy, with some 503s, and against a closed port.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { planPhases } from "../../src/core/load-test/phases.js";
import { readArtilleryReport } from "../../src/core/load-test/report.js";
import { latencyChart } from "../../src/core/load-test/summary.js";
import { judgeLoadTest } from "../../src/core/load-test/verdict.js";
import { repoRoot } from "../support/run-action.js";

const fixtures = join(repoRoot, "test", "fixtures", "load-test");
const report = (name: string) =>
  readArtilleryReport(JSON.parse(readFileSync(join(fixtures, `${name}.report.json`), "utf8")), name);
const phases = (name: string) => planPhases(parse(readFileSync(join(fixtures, `${name}.yml`), "utf8")), name);

describe("readArtilleryReport", () => {
  it("reads requests, codes, latency and the intermediate periods of a healthy run", () => {
    const figures = report("healthy-two-periods");
    expect(figures.requests).toBe(60);
    expect(figures.codes).toEqual({ "200": 60 });
    expect(figures.failures).toBe(0);
    expect(figures.errorRate).toBe(0);
    expect(figures.latency?.p95).toBe(19.9);
    expect(figures.latency?.count).toBe(60);
    expect(figures.periods).toHaveLength(2);
    expect(figures.periods.map((p) => p.requests).reduce((a, b) => a + b)).toBe(60);
    expect(figures.periods[0]!.at).toBeLessThan(figures.periods[1]!.at);
    expect(figures.measuredSeconds).toBeCloseTo(11.816, 3);
  });

  it("counts 5xx responses as failures", () => {
    const figures = report("flaky");
    expect(figures.codes).toEqual({ "200": 23, "503": 7 });
    expect(figures.failures).toBe(7);
    expect(figures.errorRate).toBeCloseTo(7 / 30, 12);
  });

  it("counts transport errors when nothing answered (Artillery still exits 0 for this run)", () => {
    const figures = report("refused");
    expect(figures.responses).toBe(0);
    expect(figures.errors).toEqual({ ECONNREFUSED: 30 });
    expect(figures.errorRate).toBe(1);
    expect(figures.latency).toBeUndefined();
  });

  it("refuses what is not an Artillery report, naming the file", () => {
    expect(() => readArtilleryReport({ foo: 1 }, "out.json")).toThrow(/out\.json: \$\.aggregate is missing/);
    expect(() => readArtilleryReport({ aggregate: {} }, "out.json")).toThrow(
      /\$\.aggregate\.counters is missing/,
    );
  });
});

describe("judgeLoadTest", () => {
  const thresholds = { p95Ms: 500, p99Ms: 1000, maxErrorRate: 0.01, minRateRatio: 0.95 };

  it("passes a healthy run at the requested rate", () => {
    const plan = phases("healthy-two-periods");
    expect(plan).toMatchObject({ seconds: 12, arrivals: 60, rate: 5 });
    const judgement = judgeLoadTest(report("healthy-two-periods"), plan, thresholds);
    expect(judgement.reasons).toEqual([]);
    expect(judgement.verdict).toBe("pass");
    expect(judgement.rate.ratio).toBeCloseTo(1, 12);
  });

  it("fails on errors, with the figures", () => {
    const judgement = judgeLoadTest(report("flaky"), phases("flaky"), thresholds);
    expect(judgement.verdict).toBe("fail");
    expect(judgement.reasons).toEqual(["error rate 23.33 % > 1 % (7 of 30)"]);
  });

  it("judges the error rate against 1 % when the step sets no maxErrorRate", () => {
    const judgement = judgeLoadTest(report("flaky"), phases("flaky"), {});
    expect(judgement.verdict).toBe("fail");
    expect(judgement.reasons).toEqual(["error rate 23.33 % > 1 % (7 of 30)"]);
    expect(judgement.checks.find((check) => check.name === "error-rate")?.limit).toBe("≤ 1 % (default)");
    expect(judgeLoadTest(report("healthy-two-periods"), phases("healthy-two-periods"), {}).verdict).toBe(
      "pass",
    );
  });

  it("fails when nothing answered, whatever the exit status", () => {
    const judgement = judgeLoadTest(report("refused"), phases("flaky"), thresholds);
    expect(judgement.verdict).toBe("fail");
    expect(judgement.reasons).toContain("30 requests sent, none answered");
    expect(judgement.reasons).toContain("p95: no responses to measure");
  });

  it("a generator that fell behind (fewer arrivals, or a stretched run) fails the rate check", () => {
    const figures = report("healthy-two-periods");
    const plan = { ...phases("healthy-two-periods") };
    const behind = judgeLoadTest(
      { ...figures, vusers: { ...figures.vusers, created: 50 } },
      plan,
      thresholds,
    );
    expect(behind.rate.ratio).toBeCloseTo(50 / 60, 12);
    expect(behind.reasons).toEqual([
      "achieved 4.167/s of 5/s requested (83.33 %): the load generator could not keep up",
    ]);
    const stretched = judgeLoadTest({ ...figures, measuredSeconds: 15 }, plan, thresholds);
    expect(stretched.rate.ratio).toBeCloseTo(12 / 15, 12);
    expect(stretched.verdict).toBe("fail");
  });

  it("latency thresholds: bound included", () => {
    const figures = report("healthy-two-periods");
    expect(judgeLoadTest(figures, phases("healthy-two-periods"), { p95Ms: 19.9 }).verdict).toBe("pass");
    expect(judgeLoadTest(figures, phases("healthy-two-periods"), { p95Ms: 19.8 }).reasons).toEqual([
      "p95 19.9 ms > 19.8 ms",
    ]);
  });
});

describe("latencyChart", () => {
  it("draws p50, p95 and p99 per period", () => {
    const chart = latencyChart(report("healthy-two-periods"));
    expect(chart).toMatch(/^```mermaid\nxychart-beta\n/);
    expect(chart.match(/^ {2}line \[/gm)).toHaveLength(3);
    expect(chart).toContain('x-axis "seconds since start" ["0", "10"]');
  });
});
