import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CompareMetricData,
  compareScore,
  judgeCompareCheck,
  judgeCompareMetric,
} from "../../src/core/gate/compare.js";
import { judgeGate } from "../../src/core/gate/evaluate.js";
import { gateEvidence, gateReport } from "../../src/core/gate/evidence.js";
import { planGate } from "../../src/core/gate/plan.js";
import type { MetricSeries } from "../../src/core/gate/queries.js";
import { resolveGateWindow } from "../../src/core/gate/window.js";
import { buildPlan } from "../../src/core/planner.js";
import { renderPlanMarkdown } from "../../src/core/render-plan.js";
import { transition } from "../../src/core/transitions.js";
import { formatSpecError, validateSpecText } from "../../src/core/validate.js";
import type { CompareCheckSpec, CompareMetricSpec, GateSpec } from "../../src/model/spec.js";
import { initialStatus } from "../../src/model/status.js";
import { clearPassAllowsEarlyEnd } from "../../src/ops/gate.js";
import { referenceMigration, standardGate } from "../fixtures/gate/migration.js";
import { latencyPeriods, seededNormal } from "../fixtures/gate/random.js";
import { repoRoot } from "../support/run-action.js";

const latency: CompareMetricSpec = {
  name: "p95",
  metric: "latency-p95",
  direction: "higher-is-worse",
  allowedChange: 0.05,
};

function data(newValues: number[], oldValues: number[], spec = latency): CompareMetricData {
  return {
    spec,
    newValues,
    oldValues,
    requests: { new: 5000, old: 45_000 },
    missingPeriods: { new: 0, old: 0 },
  };
}

const options = { alpha: 0.05, minSamples: 1000, minPeriods: 10 };

describe("one metric, new side against old", () => {
  const normal = seededNormal(42);
  const old = latencyPeriods(normal, 120, 200);

  it("a new side 10 % slower with the same spread fails, with U, p and the effect in the judgement", () => {
    const slower = latencyPeriods(normal, 120, 220);
    const judged = judgeCompareMetric(data(slower, old), options);
    expect(judged.classification).toBe("fail");
    expect(judged.pValue).toBeLessThan(1e-4);
    expect(judged.u! + judged.uOld!).toBe(120 * 120);
    expect(judged.meanRatio).toBeGreaterThan(1.05);
    expect(judged.worseBy).toBeCloseTo(judged.meanRatio! - 1, 12);
    expect(judged.reason).toMatch(/significantly worse: mean .* worse \(allowed 5 %\), p = /);
  });

  it("the same draws on both sides pass", () => {
    const same = latencyPeriods(normal, 120, 200);
    const judged = judgeCompareMetric(data(same, old), options);
    expect(judged.classification).toBe("pass");
  });

  it("significantly worse but within the allowance passes", () => {
    const slightly = latencyPeriods(normal, 120, 200).map((v) => v * 1.03 + 1);
    const allowedTen = { ...latency, allowedChange: 0.1 };
    const judged = judgeCompareMetric(data(slightly, old, allowedTen), options);
    expect(judged.classification).toBe("pass");
  });

  it("worse beyond the allowance on too little evidence is marginal", () => {
    const base = [100, 300, 150, 250, 200, 120, 280, 180, 220, 260];
    const judged = judgeCompareMetric(
      data(
        base.map((v) => v * 1.1),
        base,
      ),
      options,
    );
    expect(judged.worseBy).toBeCloseTo(0.1, 12);
    expect(judged.pValue).toBeGreaterThan(0.05);
    expect(judged.classification).toBe("marginal");
  });

  it("higher is better: a lower new side is the worse one", () => {
    const throughput: CompareMetricSpec = { ...latency, name: "rps", direction: "higher-is-better" };
    const lower = old.map((v) => v * 0.8);
    expect(judgeCompareMetric(data(lower, old, throughput), options).classification).toBe("fail");
    const higher = old.map((v) => v * 1.2);
    expect(judgeCompareMetric(data(higher, old, throughput), options).classification).toBe("pass");
    // …and the same pair with the direction flipped is judged the other way round.
    expect(judgeCompareMetric(data(higher, old), options).classification).toBe("fail");
  });

  it("too few requests or periods on either side, or a missing period, is insufficient data", () => {
    const thinOld = { ...data(old, old), requests: { new: 5000, old: 999 } };
    expect(judgeCompareMetric(thinOld, options)).toMatchObject({
      classification: "insufficient-data",
      reason: "999 requests on the old side; the gate needs at least 1000",
    });
    expect(judgeCompareMetric(data(old.slice(0, 9), old), options).reason).toBe(
      "9 periods with a datapoint on the new side; the check needs at least 10",
    );
    const gap = { ...data(old, old), missingPeriods: { new: 0, old: 2 } };
    expect(judgeCompareMetric(gap, options).classification).toBe("insufficient-data");
    expect(judgeCompareMetric(gap, options).u).toBeUndefined();
  });

  it("an old side at zero (no errors) and a new side above it is infinitely worse", () => {
    const errors: CompareMetricSpec = {
      ...latency,
      name: "errors",
      metric: "error-rate",
      allowedChange: 0.5,
    };
    const zeros = Array.from({ length: 30 }, () => 0);
    const some = zeros.map((_, i) => (i % 2 === 0 ? 0.02 : 0.01));
    const judged = judgeCompareMetric(data(some, zeros, errors), options);
    // Unbounded: kept out of worseBy so the evidence stays plain JSON.
    expect(judged.worseBy).toBeUndefined();
    expect(judged.fromZero).toBe("worse");
    expect(JSON.parse(JSON.stringify(judged))).toEqual(judged);
    expect(judged.meanRatio).toBeUndefined();
    expect(judged.classification).toBe("fail");
  });
});

function check(overrides: Partial<CompareCheckSpec> = {}): CompareCheckSpec {
  return {
    kind: "compare",
    method: "mann-whitney",
    name: "vs-old",
    confidence: 0.95,
    score: { pass: 90, marginal: 60 },
    metrics: [latency],
    ...overrides,
  };
}

describe("the check's score", () => {
  const normal = seededNormal(9);
  const old = latencyPeriods(normal, 60, 200);
  const same = latencyPeriods(normal, 60, 200);
  const slower = latencyPeriods(normal, 60, 260);
  const base = [100, 300, 150, 250, 200, 120, 280, 180, 220, 260];

  it("weights pass 1, marginal ½, fail 0: weights 2, 1, 1 give (2 + ½ + 0) / 4 = 62.5, marginal", () => {
    const metrics: CompareMetricSpec[] = [
      { ...latency, name: "a", weight: 2 },
      { ...latency, name: "b" },
      { ...latency, name: "c" },
    ];
    const judged = judgeCompareCheck(
      check({ metrics }),
      [
        data(same, old, metrics[0]),
        data(
          base.map((v) => v * 1.1),
          base,
          metrics[1],
        ),
        data(slower, old, metrics[2]),
      ],
      1000,
    );
    expect(judged.metrics.map((m) => m.classification)).toEqual(["pass", "marginal", "fail"]);
    expect(judged.score).toBe(62.5);
    expect(judged.classification).toBe("marginal");
    expect(judged.verdict).toBe("fail");
    expect(judged.reasons[0]).toBe("score 62.5 is marginal (below the pass score 90)");
    expect(compareScore(judged.metrics)).toBe(62.5);
  });

  it("a failing critical metric fails the check whatever the score", () => {
    const metrics: CompareMetricSpec[] = [
      { ...latency, name: "a", weight: 10 },
      { ...latency, name: "b", critical: true },
    ];
    const judged = judgeCompareCheck(
      check({ metrics, score: { pass: 50, marginal: 10 } }),
      [data(same, old, metrics[0]), data(slower, old, metrics[1])],
      1000,
    );
    expect(judged.score).toBeCloseTo(90.91, 2);
    expect(judged.classification).toBe("fail");
    expect(judged.reasons[0]).toMatch(/^b \(critical\): significantly worse/);
  });

  it("one thin metric makes the whole check insufficient data, never a pass", () => {
    const judged = judgeCompareCheck(
      check({ metrics: [latency, { ...latency, name: "q" }] }),
      [data(same, old), data(same.slice(0, 3), old, { ...latency, name: "q" })],
      1000,
    );
    expect(judged.verdict).toBe("insufficient-data");
    expect(judged.score).toBeUndefined();
  });
});

describe("early decisions", () => {
  const normal = seededNormal(5);
  const old = latencyPeriods(normal, 240, 200);
  const slower = latencyPeriods(normal, 240, 300);
  const same = latencyPeriods(normal, 240, 200);
  const clock = { elapsedSeconds: 4 * 3600, bakeSeconds: 48 * 3600 };

  it("a clear failure rolls back before the bake ends, naming the look and its level", () => {
    const judged = judgeCompareCheck(check({ early: { rollback: true } }), [data(slower, old)], 1000, clock);
    expect(judged.verdict).toBe("rollback");
    expect(judged.early).toMatchObject({ look: 16, looks: 192, rollback: true, spending: "obrien-fleming" });
    expect(judged.early!.levelPerMetric).toBeGreaterThan(0);
    expect(judged.early!.levelPerMetric).toBeLessThan(1e-6);
    expect(judged.reasons[0]).toMatch(/^p95: clear failure at look 16 of 192 \(p = .* < .*\)/);
  });

  it("without early rollback in the spec, or without a bake clock, the same evidence only fails", () => {
    expect(judgeCompareCheck(check(), [data(slower, old)], 1000, clock).verdict).toBe("fail");
    expect(judgeCompareCheck(check({ early: { rollback: true } }), [data(slower, old)], 1000).verdict).toBe(
      "fail",
    );
  });

  it("a failure that is not clear at the look's spent alpha keeps baking", () => {
    const base = Array.from({ length: 20 }, (_, i) => 180 + i * 2);
    const judged = judgeCompareCheck(
      check({ early: { rollback: true } }),
      [
        data(
          base.map((v) => v * 1.08),
          base,
        ),
      ],
      1000,
      { elapsedSeconds: 1800, bakeSeconds: 48 * 3600 },
    );
    expect(judged.metrics[0]!.classification).toBe("fail");
    expect(judged.metrics[0]!.clearFailure).toBe(false);
    expect(judged.verdict).toBe("fail");
  });

  it("a clear pass is reported only when the spec allows an early pass, and ends the bake only after passAfter", () => {
    const better = same.map((v) => v * 0.8);
    const without = judgeCompareCheck(check({ early: { rollback: true } }), [data(better, old)], 1000, clock);
    expect(without.early?.clearPass).toBeUndefined();
    const allowed = judgeCompareCheck(
      check({ early: { rollback: true, passAfter: "3h" } }),
      [data(better, old)],
      1000,
      clock,
    );
    expect(allowed.verdict).toBe("pass");
    expect(allowed.metrics[0]!.nonInferiorityP).toBeLessThan(allowed.early!.levelPerMetric);
    expect(allowed.early).toMatchObject({ clearPass: true, passAfterSeconds: 3 * 3600 });
    const gateStart = new Date("2026-03-01T00:00:00Z");
    const window = (hours: number) =>
      resolveGateWindow({
        mode: "bake",
        now: new Date(gateStart.getTime() + hours * 3_600_000),
        periodSeconds: 60,
        gateStartsAt: gateStart,
      });
    const judgement = (compare: typeof allowed) =>
      ({ verdict: "pass", reasons: [], samples: {}, metrics: [], compare: [compare] }) as Parameters<
        typeof clearPassAllowsEarlyEnd
      >[0];
    expect(clearPassAllowsEarlyEnd(judgement(allowed), gateStart, window(4))).toBe(true);
    expect(clearPassAllowsEarlyEnd(judgement(allowed), gateStart, window(2))).toBe(false);
    expect(clearPassAllowsEarlyEnd(judgement(without), gateStart, window(4))).toBe(false);
    // A same-as-old new side passes but is not clearly within the allowance this early.
    const plain = judgeCompareCheck(
      check({ early: { passAfter: "3h" } }),
      [data(same.slice(0, 30), old.slice(0, 30))],
      1000,
      { elapsedSeconds: 1800, bakeSeconds: 48 * 3600 },
    );
    expect(plain.verdict).toBe("pass");
    expect(plain.early?.clearPass).toBe(false);
  });
});

describe("compare checks in the gate", () => {
  const start = new Date("2026-03-01T10:00:00Z");
  const window = resolveGateWindow({
    mode: "bake",
    now: new Date(start.getTime() + 60 * 60_000),
    periodSeconds: 60,
    gateStartsAt: start,
  });
  const gate: GateSpec = { ...standardGate, checks: [check({ metrics: [latency] })] };
  const migration = referenceMigration({ standard: gate });

  it("asks each compare metric per period on both sides, and judges them into the gate verdict and evidence", () => {
    const plan = planGate(migration, "standard", window, "g");
    expect(plan.compare).toHaveLength(1);
    const { seriesIds } = plan.compare![0]!.metrics[0]!;
    expect(seriesIds.new).not.toBe(seriesIds.old);
    const periods = Array.from({ length: 60 }, (_, i) => start.getTime() + i * 60_000);
    const series = (values: number[]): MetricSeries => ({ timestamps: periods, values });
    const normal = seededNormal(3);
    const results = new Map<string, MetricSeries>();
    for (const query of plan.queries) results.set(query.id, series(periods.map(() => 0)));
    const requests = (side: "new" | "old", perPeriod: number) => {
      results.set(plan.samples[side]!.seriesId, series(periods.map(() => perPeriod)));
      results.set(plan.samples[side]!.windowId, {
        timestamps: [start.getTime()],
        values: [perPeriod * 60],
      });
    };
    requests("new", 100);
    requests("old", 900);
    for (const metric of plan.metrics) {
      const value = metric.name === "error-rate" ? 0.001 : 230;
      results.set(metric.value.windowId, { timestamps: [start.getTime()], values: [value] });
      results.set(metric.value.seriesId, series(periods.map(() => value)));
      if (metric.oldValue) {
        results.set(metric.oldValue.windowId, { timestamps: [start.getTime()], values: [value * 0.95] });
        results.set(metric.oldValue.seriesId, series(periods.map(() => value)));
      }
    }
    results.set(seriesIds.new, series(latencyPeriods(normal, 60, 220)));
    results.set(seriesIds.old, series(latencyPeriods(normal, 60, 200)));
    const judgement = judgeGate(plan, results, { window, newWeightPercent: 10 });
    // The thresholds pass (230 ms < 500 ms, within 1.2 × old), the comparison catches the 10 %.
    expect(judgement.metrics.map((m) => m.verdict)).toEqual(["pass", "pass"]);
    expect(judgement.compare![0]!.classification).toBe("fail");
    expect(judgement.verdict).toBe("fail");
    expect(judgement.reasons.at(-1)).toMatch(
      /^vs-old \(compare\): fail — score 0 is below the marginal score 60/,
    );
    const evidence = gateEvidence({
      migration: "orders-api",
      gate: "standard",
      mode: "bake",
      evaluatedAt: window.end,
      window,
      minSamples: plan.minSamples,
      judgement,
      queries: plan.queries,
      calls: 1,
    });
    const metric = evidence.compare![0]!.metrics[0]!;
    expect(metric.u).toBeGreaterThan(1800);
    expect(metric.pValue).toBeLessThan(0.001);
    expect(metric.meanRatio).toBeGreaterThan(1.05);
    const report = gateReport(evidence, judgement);
    const table = report.tables!.find((t) => t.caption?.startsWith("vs-old"));
    expect(table?.rows[1]?.[0]).toBe("p95");
    expect(table?.rows[1]?.at(-1)).toBe("❌ fail");
    expect(report.next).toEqual([
      "The bake does not complete while a metric is outside its pass threshold or a compare check does not pass; see the reasons above.",
    ]);
  });

  it("a compare metric that cannot be resolved on a side names the check's path", () => {
    const bad: GateSpec = {
      ...standardGate,
      checks: [check({ metrics: [{ ...latency, metric: "cold-starts" }] })],
    };
    expect(() => planGate(referenceMigration({ standard: bad }), "standard", window)).toThrow(
      /^gates\.standard\.checks\[0\]\.metrics\[0\] \(old side\): preset "cold-starts" reads AWS\/Lambda metrics/,
    );
  });
});

describe("compare checks in the spec", () => {
  const example = readFileSync(join(repoRoot, "migrations.json"), "utf8");
  const allFilesExist = { file: "migrations.json", fileExists: () => true };

  /** The example spec with a gate "canary" (the standard one plus `checks`) baked by canary-10 (48h) and canary-50 (72h). */
  function withChecks(checks: unknown[]): string {
    const spec = JSON.parse(example);
    const migration = spec.migrations[0];
    migration.gates.canary = { ...migration.gates.standard, checks };
    for (const phase of migration.phases) {
      if (!phase.name.startsWith("canary")) continue;
      for (const step of phase.steps) if (step.kind === "bake") step.gate = "canary";
    }
    return JSON.stringify(spec, null, 2);
  }

  function errorsOf(text: string): string[] {
    const result = validateSpecText(text, allFilesExist);
    return result.ok ? [] : result.errors.map((error) => formatSpecError(error));
  }

  it("accepts a compare check with every field", () => {
    const full = {
      ...check({ metrics: [{ ...latency, weight: 2, critical: true }] }),
      minPeriods: 20,
      early: { rollback: true, passAfter: "24h", spending: "pocock" },
    };
    expect(errorsOf(withChecks([full]))).toEqual([]);
  });

  it("refuses a confidence outside (0, 1), naming its JSON path and what is accepted", () => {
    for (const confidence of [0, 1, 1.5, -0.1]) {
      const errors = errorsOf(withChecks([{ ...check(), confidence }]));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain("migrations[0].gates.canary.checks[0].confidence");
      expect(errors[0]).toContain("strictly between 0 and 1");
    }
  });

  it("refuses an unknown method, a marginal score above the pass score, and names used twice", () => {
    expect(errorsOf(withChecks([{ ...check(), method: "t-test" }])).join("\n")).toContain("checks[0].method");
    expect(errorsOf(withChecks([check({ score: { pass: 70, marginal: 80 } })])).join("\n")).toContain(
      "checks[0].score.marginal: 80 is above the pass score 70",
    );
    const twice = errorsOf(withChecks([check({ metrics: [latency, latency] }), check()])).join("\n");
    expect(twice).toContain('checks[1].name: "vs-old" is also the name of checks[0]');
    expect(twice).toContain('checks[0].metrics[1].name: "p95" is also the name of metrics[0]');
  });

  it("refuses checks on a gate baked at 100 %, where the old side serves nothing to compare with", () => {
    const spec = JSON.parse(example);
    spec.migrations[0].gates.standard.checks = [check()];
    const errors = errorsOf(JSON.stringify(spec, null, 2));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("migrations[0].gates.standard.checks");
    expect(errors[0]).toMatch(
      /the bake at migrations\[0\]\.phases\[3\]\.steps\[\d\] runs at 100 % on the new side: the old side serves nothing/,
    );
  });

  it("refuses an early pass that could never shorten the bake (the shortest bake using the gate is 48h)", () => {
    const errors = errorsOf(withChecks([check({ early: { passAfter: "48h" } })])).join("\n");
    expect(errors).toContain("checks[0].early.passAfter");
    expect(errors).toContain("is not shorter than the bake");
    expect(errorsOf(withChecks([check({ early: { passAfter: "47h" } })]))).toEqual([]);
  });
});

describe("compare checks in the plan comment", () => {
  it("shows the test, the score thresholds, the early decisions and each metric's allowance", () => {
    const gate: GateSpec = {
      ...standardGate,
      checks: [
        check({
          metrics: [
            latency,
            { ...latency, name: "errors", metric: "error-rate", allowedChange: 0.5, critical: true },
          ],
          early: { rollback: true, passAfter: "24h" },
        }),
      ],
    };
    const migration = referenceMigration({ standard: gate });
    const now = new Date("2026-03-01T00:00:00Z");
    const plan = buildPlan({
      head: { version: 1, migrations: [migration] },
      base: undefined,
      statuses: new Map(),
      now,
      specFile: "migrations.json",
      initial: (id) => initialStatus(id, now),
    });
    const text = renderPlanMarkdown(plan);
    expect(text).toContain(
      "Compare `vs-old` (new side against old, Mann-Whitney at 95 % confidence): passes at a score ≥ 90, marginal ≥ 60; rolls back early on a clear failure, may pass early after 24h (alpha spent obrien-fleming).",
    );
    expect(text).toContain("| p95 | higher | 5 % | 1 |");
    expect(text).toContain("| errors (critical) | higher | 50 % | 1 |");
  });
});

describe("recording an early pass", () => {
  const now = new Date("2026-03-02T00:00:00Z");
  const baking = {
    ...initialStatus("orders-api", now),
    phase: "canary-10",
    state: "baking" as const,
    weights: { old: 90, new: 10 },
    timestamps: {
      updatedAt: now.toISOString(),
      gateWindowStartsAt: "2026-03-01T00:00:00.000Z",
      bakeEndsAt: "2026-03-03T00:00:00.000Z",
    },
  };

  it("a pass whose evidence says the bake completed early ends the bake before its end; a plain pass does not", () => {
    const early = transition(
      baking,
      {
        type: "gate-evaluated",
        gate: "standard",
        verdict: "pass",
        evidence: {
          kind: "gate",
          bake: {
            endsAt: baking.timestamps.bakeEndsAt,
            elapsed: false,
            complete: true,
            completedEarly: true,
          },
        },
      },
      now,
    );
    expect(early.ok && early.status.state).toBe("passed");
    expect(early.ok && early.entry.reason).toBe(
      'gate "standard" passed clearly before the bake\'s end, as its compare checks allow',
    );
    const plain = transition(
      baking,
      { type: "gate-evaluated", gate: "standard", verdict: "pass", evidence: { kind: "gate" } },
      now,
    );
    expect(plain.ok && plain.status.state).toBe("baking");
    // The flag on anything but a pass changes nothing.
    const failed = transition(
      baking,
      {
        type: "gate-evaluated",
        gate: "standard",
        verdict: "fail",
        evidence: { kind: "gate", bake: { completedEarly: true } },
      },
      now,
    );
    expect(failed.ok && failed.status.state).toBe("baking");
  });
});
