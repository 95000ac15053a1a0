import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { judgeCompareCheck } from "../../src/core/gate/compare.js";
import { lookLevel, type SpendingFunction, spentAlpha } from "../../src/core/gate/sequential.js";
import type { CompareCheckSpec } from "../../src/model/spec.js";
import { latencyPeriods, seededNormal } from "../fixtures/gate/random.js";

describe("alpha spending", () => {
  it("spends nothing at the start, all of alpha at the end, and more as the bake goes on", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 0.2, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom<SpendingFunction>("obrien-fleming", "pocock"),
        (alpha, a, b, kind) => {
          const [lo, hi] = a < b ? [a, b] : [b, a];
          expect(spentAlpha(0, alpha, kind)).toBe(0);
          expect(spentAlpha(1, alpha, kind)).toBe(alpha);
          expect(spentAlpha(lo, alpha, kind)).toBeLessThanOrEqual(spentAlpha(hi, alpha, kind) + 1e-15);
          expect(spentAlpha(hi, alpha, kind)).toBeLessThanOrEqual(alpha + 1e-12);
        },
      ),
    );
  });

  it("O'Brien–Fleming keeps almost all of alpha for the end; Pocock spends evenly", () => {
    // At a quarter of the bake: 2 − 2Φ(1.96 / 0.5) = 8.9e-5 against 0.05 · ln(1 + (e − 1)/4) = 0.0181.
    expect(spentAlpha(0.25, 0.05)).toBeCloseTo(8.857e-5, 7);
    expect(spentAlpha(0.25, 0.05, "pocock")).toBeCloseTo(0.05 * Math.log(1 + (Math.E - 1) / 4), 12);
  });

  it("the looks' levels over a whole bake add up to alpha (the union bound), whatever the bake and schedule", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 14 * 24 * 4 }),
        fc.constantFrom(60, 300, 900, 3600),
        fc.constantFrom<SpendingFunction>("obrien-fleming", "pocock"),
        (slots, step, kind) => {
          const bake = slots * 900;
          let total = 0;
          const looks = Math.ceil(bake / step);
          for (let k = 1; k <= looks; k++) total += lookLevel(k * step, bake, 0.05, kind, step).level;
          expect(total).toBeCloseTo(0.05, 10);
          // A look after the bake has nothing left to spend.
          expect(lookLevel(bake + step, bake, 0.05, kind, step).level).toBe(0);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("a look anywhere inside a slot has that slot's level", () => {
    const a = lookLevel(15 * 60 + 1, 48 * 3600, 0.05);
    const b = lookLevel(30 * 60, 48 * 3600, 0.05);
    expect(a.look).toBe(2);
    expect(b.look).toBe(2);
    expect(a.level).toBe(b.level);
    expect(a.looks).toBe(192);
  });
});

/** A check with early rollback on one latency metric, at the harshest allowance (any worse mean counts). */
function check(spending: SpendingFunction, allowedChange = 0): CompareCheckSpec {
  return {
    kind: "compare",
    method: "mann-whitney",
    name: "vs-old",
    confidence: 0.95,
    score: { pass: 90, marginal: 50 },
    metrics: [{ name: "p95", metric: "latency-p95", direction: "higher-is-worse", allowedChange }],
    early: { rollback: true, spending },
  };
}

interface Simulation {
  /** Trials in which some look before the bake's end rolled back. */
  earlyRollbacks: number;
  /** Trials in which some look would have failed at the full alpha (looking without spending). */
  naiveFailures: number;
  trials: number;
  /** Mean look of the first early rollback, over trials that had one. */
  meanRollbackLook: number;
}

/**
 * Simulates bakes the monitor looks at every 15 minutes: 1-minute periods,
 * each look judging every period since the gate start (cumulative windows,
 * as the monitor does). `shift` scales the new side's latency.
 */
function simulate(
  seed: number,
  trials: number,
  bakeHours: number,
  spending: SpendingFunction,
  shift = 1,
): Simulation {
  const normal = seededNormal(seed);
  const spec = check(spending);
  const bakeSeconds = bakeHours * 3600;
  const looks = bakeSeconds / 900;
  let earlyRollbacks = 0;
  let naiveFailures = 0;
  let lookSum = 0;
  for (let trial = 0; trial < trials; trial++) {
    const oldAll = latencyPeriods(normal, looks * 15, 200);
    const newAll = latencyPeriods(normal, looks * 15, 200 * shift);
    let rolledBack = false;
    let naive = false;
    for (let look = 1; look <= looks && !(rolledBack && naive); look++) {
      const n = look * 15;
      const judged = judgeCompareCheck(
        spec,
        [
          {
            spec: spec.metrics[0]!,
            newValues: newAll.slice(0, n),
            oldValues: oldAll.slice(0, n),
            requests: { new: 10_000, old: 10_000 },
            missingPeriods: { new: 0, old: 0 },
          },
        ],
        100,
        { elapsedSeconds: look * 900, bakeSeconds },
      );
      if (!rolledBack && judged.verdict === "rollback") {
        rolledBack = true;
        lookSum += look;
      }
      if (judged.metrics[0]!.classification === "fail") naive = true;
    }
    if (rolledBack) earlyRollbacks++;
    if (naive) naiveFailures++;
  }
  return {
    earlyRollbacks,
    naiveFailures,
    trials,
    meanRollbackLook: earlyRollbacks ? lookSum / earlyRollbacks : 0,
  };
}

describe("early rollback under repeated looks (seeded simulation)", () => {
  const trials = 300;
  const alpha = 0.05;
  // Three binomial standard deviations of a rate alpha over the trials.
  const tolerance = 3 * Math.sqrt((alpha * (1 - alpha)) / trials);

  for (const spending of ["obrien-fleming", "pocock"] as const) {
    it(`${spending}: identical sides roll back early in at most alpha of the bakes, while looking at full alpha each time would not`, () => {
      const result = simulate(20260301, trials, 12, spending);
      const rate = result.earlyRollbacks / result.trials;
      const naiveRate = result.naiveFailures / result.trials;
      expect(rate).toBeLessThanOrEqual(alpha + tolerance);
      // Without spending, 48 looks at 0.05 fail a healthy side far more often than 5 %: the method matters.
      expect(naiveRate).toBeGreaterThan(2 * alpha);
    });
  }

  it("a new side 15 % slower is rolled back before the bake ends in nearly every bake", () => {
    const result = simulate(7, 60, 12, "obrien-fleming", 1.15);
    expect(result.earlyRollbacks / result.trials).toBeGreaterThan(0.95);
    // …and long before the end (48 looks).
    expect(result.meanRollbackLook).toBeLessThan(24);
  });
});
