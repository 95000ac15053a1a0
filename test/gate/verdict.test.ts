import { describe, expect, it } from "vitest";
import { compareToOld, judgeThresholds, withinThreshold, worstVerdict } from "../../src/core/gate/verdict.js";

describe("judgeThresholds", () => {
  const pass = { max: 0.01 };
  const rollback = { max: 0.02 };

  it("passes inside the pass threshold, bound included", () => {
    expect(judgeThresholds(0, pass, rollback)).toBe("pass");
    expect(judgeThresholds(0.01, pass, rollback)).toBe("pass");
  });

  it("fails between the pass and the rollback threshold, rollback bound included", () => {
    expect(judgeThresholds(0.0100001, pass, rollback)).toBe("fail");
    expect(judgeThresholds(0.02, pass, rollback)).toBe("fail");
  });

  it("rolls back outside the rollback threshold", () => {
    expect(judgeThresholds(0.0200001, pass, rollback)).toBe("rollback");
    expect(judgeThresholds(0.03, pass, rollback)).toBe("rollback");
  });

  it("without a rollback threshold the worst is a failure", () => {
    expect(judgeThresholds(50, { max: 0.05 })).toBe("fail");
  });

  it("handles lower bounds (a metric that must stay high) and ranges", () => {
    expect(judgeThresholds(0.97, { min: 0.99 }, { min: 0.95 })).toBe("fail");
    expect(judgeThresholds(0.94, { min: 0.99 }, { min: 0.95 })).toBe("rollback");
    expect(withinThreshold(5, { min: 5, max: 10 })).toBe(true);
    expect(withinThreshold(10.5, { min: 5, max: 10 })).toBe(false);
  });

  it("does not flip at a bound reached through floating-point sums", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(judgeThresholds(0.1 + 0.2, { max: 0.3 })).toBe("pass");
  });
});

describe("worstVerdict", () => {
  it("orders rollback > fail > insufficient-data > pass", () => {
    expect(worstVerdict(["pass", "insufficient-data", "fail"])).toBe("fail");
    expect(worstVerdict(["pass", "rollback", "fail"])).toBe("rollback");
    expect(worstVerdict(["pass", "insufficient-data"])).toBe("insufficient-data");
    expect(worstVerdict(["pass", "pass"])).toBe("pass");
  });

  it("nothing judged is insufficient data, never a pass", () => {
    expect(worstVerdict([])).toBe("insufficient-data");
  });
});

describe("compareToOld", () => {
  const usable = { ok: true };

  it("maxIncrease: new ≤ old + increase, bound included", () => {
    expect(compareToOld(0.015, 0.01, { maxIncrease: 0.005 }, usable).verdict).toBe("pass");
    const worse = compareToOld(0.0151, 0.01, { maxIncrease: 0.005 }, usable);
    expect(worse.verdict).toBe("fail");
    expect(worse.bound).toBeCloseTo(0.015, 12);
    expect(worse.reason).toContain("old 0.01 + 0.005");
  });

  it("maxRatio: new ≤ old × ratio", () => {
    expect(compareToOld(240, 200, { maxRatio: 1.2 }, usable).verdict).toBe("pass");
    expect(compareToOld(241, 200, { maxRatio: 1.2 }, usable).verdict).toBe("fail");
  });

  it("with both, the tighter bound holds", () => {
    const result = compareToOld(0.011, 0.005, { maxIncrease: 0.01, maxRatio: 2 }, usable);
    expect(result.bound).toBeCloseTo(0.01, 12);
    expect(result.verdict).toBe("fail");
  });

  it("skips (does not fail) when the old side has too little traffic or no value", () => {
    expect(
      compareToOld(0.5, 0.01, { maxIncrease: 0.005 }, { ok: false, why: "the old side served 3 requests" }),
    ).toMatchObject({
      verdict: "skipped",
      reason: "not compared: the old side served 3 requests",
    });
    expect(compareToOld(0.5, undefined, { maxIncrease: 0.005 }, usable).verdict).toBe("skipped");
  });
});
