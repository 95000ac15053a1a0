import { describe, expect, it } from "vitest";
import { judgeGate, missingPeriods, windowValue } from "../../src/core/gate/evaluate.js";
import { type GatePlan, planGate } from "../../src/core/gate/plan.js";
import type { MetricSeries } from "../../src/core/gate/queries.js";
import { resolveGateWindow } from "../../src/core/gate/window.js";
import type { GateSpec } from "../../src/model/spec.js";
import { referenceMigration, standardGate } from "../fixtures/gate/migration.js";

const window = resolveGateWindow({
  mode: "bake",
  now: new Date("2026-03-01T11:00:00Z"),
  periodSeconds: 60,
  gateStartsAt: new Date("2026-03-01T10:00:00Z"),
});
const start = window.start.getTime();
const PERIODS = 60;

function series(values: number[], every = 60_000): MetricSeries {
  return { timestamps: values.map((_, i) => start + i * every), values };
}
const constant = (value: number, n = PERIODS) => series(Array.from({ length: n }, () => value));
const single = (value: number) => ({ timestamps: [start], values: [value] });

interface Side {
  requestsPerPeriod: number;
  errorRate: number;
  p95: number;
}

/** What CloudWatch would return for the plan, for the given behaviour of each side. */
function results(
  plan: GatePlan,
  sides: { new: Side; old?: Side },
  drop: string[] = [],
): Map<string, MetricSeries> {
  const map = new Map<string, MetricSeries>();
  for (const side of ["new", "old"] as const) {
    const behaviour = sides[side];
    const samples = plan.samples[side];
    if (!behaviour || !samples) continue;
    map.set(samples.seriesId, constant(behaviour.requestsPerPeriod));
    map.set(samples.windowId, single(behaviour.requestsPerPeriod * PERIODS));
    for (const metric of plan.metrics) {
      const value = metric.side === side ? metric.value : side === "old" ? metric.oldValue : undefined;
      if (!value) continue;
      const v = metric.name === "error-rate" ? behaviour.errorRate : behaviour.p95;
      map.set(value.seriesId, constant(v));
      map.set(value.windowId, single(v));
    }
  }
  for (const id of drop) map.delete(id);
  return map;
}

const healthy: Side = { requestsPerPeriod: 100, errorRate: 0.002, p95: 180 };
const context = { window, newWeightPercent: 10 };

describe("judgeGate", () => {
  const plan = planGate(referenceMigration(), "standard", window);

  it("passes a healthy new side no worse than the old", () => {
    const judgement = judgeGate(
      plan,
      results(plan, { new: healthy, old: { ...healthy, requestsPerPeriod: 900 } }),
      context,
    );
    expect(judgement.verdict).toBe("pass");
    expect(judgement.samples).toEqual({ new: 6000, old: 54_000 });
    expect(judgement.metrics.map((m) => [m.name, m.verdict, m.value])).toEqual([
      ["error-rate", "pass", 0.002],
      ["latency-p95", "pass", 180],
    ]);
    expect(judgement.metrics[0]!.comparison?.verdict).toBe("pass");
  });

  it("3 % errors is a rollback", () => {
    const judgement = judgeGate(
      plan,
      results(plan, { new: { ...healthy, errorRate: 0.03 }, old: healthy }),
      context,
    );
    expect(judgement.verdict).toBe("rollback");
    expect(judgement.reasons.join()).toMatch(/error-rate: rollback — 0.03 is outside the rollback threshold/);
  });

  it("p95 at 700 ms is a failure (outside pass, inside rollback)", () => {
    const judgement = judgeGate(
      plan,
      results(plan, { new: { ...healthy, p95: 700 }, old: { ...healthy, p95: 650 } }),
      context,
    );
    expect(judgement.verdict).toBe("fail");
    expect(judgement.metrics[1]).toMatchObject({ verdict: "fail", value: 700 });
  });

  it("fewer requests than minSamples is insufficient data even when every value looks good", () => {
    const thin = judgeGate(
      plan,
      results(plan, { new: { ...healthy, requestsPerPeriod: 16 }, old: healthy }),
      context,
    );
    expect(thin.samples.new).toBe(960);
    expect(thin.verdict).toBe("insufficient-data");
    expect(thin.metrics.every((m) => m.verdict === "insufficient-data")).toBe(true);
    expect(thin.reasons[0]).toContain("960 requests on the new side; the gate needs at least 1000");
  });

  it("exactly minSamples requests is enough", () => {
    const gate: GateSpec = { ...standardGate, minSamples: 6000 };
    const exact = planGate(referenceMigration({ standard: gate }), "standard", window);
    expect(judgeGate(exact, results(exact, { new: healthy, old: healthy }), context).verdict).toBe("pass");
  });

  it("insufficient samples hides even a terrible value: thin evidence neither passes nor rolls back", () => {
    const judgement = judgeGate(
      plan,
      results(plan, { new: { requestsPerPeriod: 1, errorRate: 0.5, p95: 5000 }, old: healthy }),
      context,
    );
    expect(judgement.verdict).toBe("insufficient-data");
  });

  it("a latency missing in periods that had requests is insufficient data, not a pass", () => {
    const data = results(plan, { new: healthy, old: healthy });
    const latency = plan.metrics[1]!.value.seriesId;
    const full = data.get(latency)!;
    data.set(latency, { timestamps: full.timestamps.slice(0, 50), values: full.values.slice(0, 50) });
    const judgement = judgeGate(plan, data, context);
    expect(judgement.metrics[1]).toMatchObject({ verdict: "insufficient-data", missingPeriods: 10 });
    expect(judgement.verdict).toBe("insufficient-data");
  });

  it("no datapoint for the window is insufficient data", () => {
    const data = results(plan, { new: healthy, old: healthy }, [plan.metrics[1]!.value.windowId]);
    const judgement = judgeGate(plan, data, context);
    expect(judgement.metrics[1]!.reasons).toEqual(["CloudWatch returned no datapoint for the window"]);
  });

  it("gaps in a FILLed ratio are not missing data (a quiet minute publishes no 5xx)", () => {
    const data = results(plan, { new: healthy, old: healthy });
    const errorSeries = plan.metrics[0]!.value.seriesId;
    data.set(errorSeries, constant(0.002, 30));
    expect(judgeGate(plan, data, context).metrics[0]!.verdict).toBe("pass");
  });

  it("worse than the old side beyond the comparison is a failure", () => {
    const judgement = judgeGate(
      plan,
      results(plan, { new: { ...healthy, errorRate: 0.009 }, old: { ...healthy, errorRate: 0.001 } }),
      context,
    );
    expect(judgement.metrics[0]!.comparison).toMatchObject({ verdict: "fail" });
    expect(judgement.verdict).toBe("fail");
    const slower = judgeGate(
      plan,
      results(plan, { new: { ...healthy, p95: 400 }, old: { ...healthy, p95: 300 } }),
      context,
    );
    expect(slower.metrics[1]!.comparison?.reason).toBe("new 400 > 360 (old 300 × 1.2)");
    expect(slower.verdict).toBe("fail");
  });

  it("skips the comparison when the old side served too little (e.g. at 100 %)", () => {
    const judgement = judgeGate(
      plan,
      results(plan, {
        new: { ...healthy, errorRate: 0.009 },
        old: { ...healthy, requestsPerPeriod: 1, errorRate: 0 },
      }),
      context,
    );
    expect(judgement.metrics[0]!.comparison).toMatchObject({ verdict: "skipped" });
    expect(judgement.verdict).toBe("pass");
  });

  it("no metrics answered at all is insufficient data", () => {
    expect(judgeGate(plan, new Map(), context).verdict).toBe("insufficient-data");
  });
});

describe("cost in the gate", () => {
  const gate: GateSpec = { ...standardGate, checkCost: true };
  const plan = planGate(referenceMigration({ standard: gate }), "standard", window);

  function withUsage(invocations: number, durationMs: number) {
    const data = results(plan, { new: healthy, old: healthy });
    if (plan.cost?.kind !== "lambda") throw new Error("expected a lambda cost plan");
    data.set(plan.cost.invocationsId, single(invocations));
    data.set(plan.cost.durationId, single(durationMs));
    return data;
  }

  it("passes under the projection scaled to one hour at 10 % (850 × 1/720 × 0.1 = $0.118, limit $0.148)", () => {
    const judgement = judgeGate(plan, withUsage(6000, 6000 * 120), context);
    expect(judgement.cost?.projectionUsd).toBeCloseTo(0.11806, 4);
    expect(judgement.cost?.limitUsd).toBeCloseTo(0.14757, 4);
    expect(judgement.cost?.estimateUsd).toBeCloseTo(6000 * 0.2e-6 + 720 * 0.0000166667, 8);
    expect(judgement.cost?.verdict).toBe("pass");
    expect(judgement.verdict).toBe("pass");
  });

  it("fails with the figures when the estimate exceeds the projection plus tolerance", () => {
    const judgement = judgeGate(plan, withUsage(6000, 6000 * 2000), context);
    expect(judgement.cost?.verdict).toBe("fail");
    expect(judgement.verdict).toBe("fail");
    expect(judgement.reasons.at(-1)).toMatch(
      /^cost: fail — estimated \$0\.2012 > \$0\.1476 \(projection \$0\.1181 for 1 h at 10 %, \+ 25 %\)$/,
    );
  });

  it("no usage datapoints while the new side served requests is insufficient data, not a $0 pass", () => {
    const judgement = judgeGate(plan, results(plan, { new: healthy, old: healthy }), context);
    expect(judgement.cost?.verdict).toBe("insufficient-data");
    expect(judgement.cost?.reason).toContain("no usage datapoints (Lambda Invocations and Duration)");
    expect(judgement.verdict).toBe("insufficient-data");
  });
});

describe("window values", () => {
  it("one datapoint is the value; split buckets are weighted by requests", () => {
    expect(windowValue(single(0.5), single(10))).toBe(0.5);
    expect(windowValue(series([0.1, 0.4]), series([300, 100]))).toBeCloseTo(0.175, 12);
    expect(windowValue({ timestamps: [], values: [] }, single(1))).toBeUndefined();
  });

  it("counts periods with requests and no datapoint", () => {
    expect(missingPeriods(series([1, 2]), series([5, 0, 7, 1]))).toBe(2);
  });
});
