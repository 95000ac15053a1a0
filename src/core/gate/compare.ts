/**
 * The compare check: the new side's per-period values against the old
 * side's over the same window, metric by metric, with the Mann-Whitney U
 * test and an effect size, then one weighted score for the check, as
 * Kayenta judges a canary. Pure: values in, classification out.
 *
 * Per metric (α = 1 − confidence):
 * - fail: the new side is significantly worse (one-sided p < α) and its mean
 *   is worse than the old side's by more than `allowedChange`;
 * - marginal: worse by more than `allowedChange`, but not significantly (the
 *   test cannot tell it from noise yet);
 * - pass: otherwise (no worse, or worse only within the allowance);
 * - insufficient data: too few requests or periods on either side, or
 *   periods with requests but no datapoint.
 * The score is 100 × Σ weight·credit / Σ weight with credit 1 for a pass,
 * ½ for a marginal and 0 for a failure.
 */
import { durationSeconds } from "../../model/duration.js";
import type { CompareCheckSpec, CompareMetricSpec } from "../../model/spec.js";
import type { Verdict } from "../../model/status.js";
import { type MannWhitneyResult, mannWhitney, median } from "./mann-whitney.js";
import { type LookLevel, lookLevel, type SpendingFunction } from "./sequential.js";
import { round } from "./verdict.js";

/** Periods per side when the check does not say. */
export const DEFAULT_MIN_PERIODS = 10;

export type MetricClassification = "pass" | "marginal" | "fail" | "insufficient-data";

const CREDIT: Record<Exclude<MetricClassification, "insufficient-data">, number> = {
  pass: 1,
  marginal: 0.5,
  fail: 0,
};

/** What a compare metric's judgement reads: the two sides' per-period values over one window. */
export interface CompareMetricData {
  spec: CompareMetricSpec;
  /** Finite per-period values of the new and old side. */
  newValues: number[];
  oldValues: number[];
  /** Requests each side served over the window. */
  requests: { new: number; old: number };
  /** Periods with requests but no datapoint, per side (0 when a missing point means zero). */
  missingPeriods: { new: number; old: number };
}

export interface CompareMetricJudgement {
  name: string;
  direction: CompareMetricSpec["direction"];
  allowedChange: number;
  weight: number;
  critical: boolean;
  classification: MetricClassification;
  reason: string;
  periods: { new: number; old: number };
  requests: { new: number; old: number };
  means?: { new: number; old: number };
  medians?: { new: number; old: number };
  /** Effect size: mean of the new side / mean of the old side (absent when the old mean is 0). */
  meanRatio?: number;
  /**
   * How much worse the new side's mean is, as a fraction of the old (negative:
   * better). Absent when the old mean is 0 and the new differs; `fromZero` says which way.
   */
  worseBy?: number;
  /** The old mean is 0 and the new one is worse ("worse") or better ("better"): an unbounded change. */
  fromZero?: "worse" | "better";
  /** U of the new side, its p-value in the worse direction, and how it was computed. */
  u?: number;
  uOld?: number;
  pValue?: number;
  pMethod?: MannWhitneyResult["method"];
  /** P(new > old) + ½ P(new = old) over pairs of periods. */
  probabilityOfSuperiority?: number;
  /** Set when early decisions are on: the failure is clear at the look's spent alpha. */
  clearFailure?: boolean;
  /** Set when an early pass is allowed: p-value that the new side is worse by the allowance or more. */
  nonInferiorityP?: number;
  clearPass?: boolean;
}

export interface EarlyLook extends LookLevel {
  spending: SpendingFunction;
  /** The look's level split over the check's metrics (Bonferroni). */
  levelPerMetric: number;
  /** A clear failure rolls back now. */
  rollback: boolean;
  /** Every metric clearly passes (only reported when the spec allows an early pass). */
  clearPass?: boolean;
  /** When an early pass may complete the bake (the spec's passAfter). */
  passAfterSeconds?: number;
}

export interface CompareJudgement {
  kind: "compare";
  method: "mann-whitney";
  name: string;
  confidence: number;
  classification: MetricClassification;
  score?: number;
  thresholds: { pass: number; marginal: number };
  /** The check's share of the gate verdict: pass; fail for marginal or failing; rollback on a clear early failure. */
  verdict: Verdict;
  reasons: string[];
  metrics: CompareMetricJudgement[];
  early?: EarlyLook;
}

/** Where a look stands in its bake, for early decisions. */
export interface BakeClock {
  elapsedSeconds: number;
  bakeSeconds: number;
  lookEverySeconds?: number;
}

function mean(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total / values.length;
}

/** The new side's change in the worse direction as a fraction of the old (±Infinity when the old is 0 and they differ). */
function worseFraction(
  newValue: number,
  oldValue: number,
  direction: CompareMetricSpec["direction"],
): number {
  const diff = direction === "higher-is-worse" ? newValue - oldValue : oldValue - newValue;
  if (oldValue === 0) return diff === 0 ? 0 : diff > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return diff / Math.abs(oldValue);
}

function percent(fraction: number): string {
  if (!Number.isFinite(fraction)) return fraction > 0 ? "∞" : "-∞";
  return `${round(fraction * 100)} %`;
}

function insufficient(data: CompareMetricData, minSamples: number, minPeriods: number): string | undefined {
  for (const side of ["new", "old"] as const) {
    if (data.requests[side] < minSamples)
      return `${data.requests[side]} requests on the ${side} side; the gate needs at least ${minSamples}`;
  }
  for (const side of ["new", "old"] as const) {
    if (data.missingPeriods[side] > 0)
      return `${data.missingPeriods[side]} period(s) with requests on the ${side} side have no datapoint (missing data is never a pass)`;
  }
  const periods = { new: data.newValues.length, old: data.oldValues.length };
  for (const side of ["new", "old"] as const) {
    if (periods[side] < minPeriods)
      return `${periods[side]} periods with a datapoint on the ${side} side; the check needs at least ${minPeriods}`;
  }
  return undefined;
}

/** Judges one metric at level `alpha`; `early` adds the clear-failure and clear-pass tests at the look's level. */
export function judgeCompareMetric(
  data: CompareMetricData,
  options: {
    alpha: number;
    minSamples: number;
    minPeriods: number;
    early?: { level: number; pass: boolean };
  },
): CompareMetricJudgement {
  const spec = data.spec;
  const base = {
    name: spec.name,
    direction: spec.direction,
    allowedChange: spec.allowedChange,
    weight: spec.weight ?? 1,
    critical: spec.critical === true,
    periods: { new: data.newValues.length, old: data.oldValues.length },
    requests: data.requests,
  };
  const thin = insufficient(data, options.minSamples, options.minPeriods);
  if (thin) return { ...base, classification: "insufficient-data", reason: thin };
  const worse = spec.direction === "higher-is-worse" ? "greater" : "less";
  const test = mannWhitney(data.newValues, data.oldValues, worse);
  const means = { new: mean(data.newValues), old: mean(data.oldValues) };
  const medians = { new: median(data.newValues), old: median(data.oldValues) };
  const worseBy = worseFraction(means.new, means.old, spec.direction);
  const beyond = worseBy > spec.allowedChange;
  const significant = test.pValue < options.alpha;
  const classification: MetricClassification = beyond ? (significant ? "fail" : "marginal") : "pass";
  const p = test.pValue.toPrecision(3);
  const change = `mean ${percent(worseBy)} ${worseBy >= 0 ? "worse" : "better"} (allowed ${percent(spec.allowedChange)})`;
  const reason =
    classification === "fail"
      ? `significantly worse: ${change}, p = ${p} < ${round(options.alpha)}`
      : classification === "marginal"
        ? `worse beyond the allowance but not significantly: ${change}, p = ${p} ≥ ${round(options.alpha)}`
        : significant
          ? `within the allowance: ${change}, p = ${p}`
          : `no significant difference: ${change}, p = ${p}`;
  const judged: CompareMetricJudgement = {
    ...base,
    classification,
    reason,
    means,
    medians,
    ...(means.old !== 0 ? { meanRatio: means.new / means.old } : {}),
    ...(Number.isFinite(worseBy) ? { worseBy } : { fromZero: worseBy > 0 ? "worse" : "better" }),
    u: test.u,
    uOld: test.uOther,
    pValue: test.pValue,
    pMethod: test.method,
    probabilityOfSuperiority: test.probabilityOfSuperiority,
  };
  if (!options.early) return judged;
  judged.clearFailure = classification === "fail" && test.pValue < options.early.level;
  if (options.early.pass) {
    // Non-inferiority: is the new side better than the old side made worse by the allowance?
    const factor = spec.direction === "higher-is-worse" ? 1 + spec.allowedChange : 1 - spec.allowedChange;
    const better = spec.direction === "higher-is-worse" ? "less" : "greater";
    const nonInferiority = mannWhitney(
      data.newValues,
      data.oldValues.map((v) => v * factor),
      better,
    );
    judged.nonInferiorityP = nonInferiority.pValue;
    judged.clearPass = classification === "pass" && nonInferiority.pValue < options.early.level;
  }
  return judged;
}

/** The weighted score, 0–100, of judged metrics (none insufficient). */
export function compareScore(metrics: readonly CompareMetricJudgement[]): number {
  let credit = 0;
  let weights = 0;
  for (const metric of metrics) {
    if (metric.classification === "insufficient-data") continue;
    credit += metric.weight * CREDIT[metric.classification];
    weights += metric.weight;
  }
  return weights === 0 ? 0 : Math.round((10_000 * credit) / weights) / 100;
}

/**
 * Judges a compare check: each metric, the score, and the check's verdict.
 * `clock` is where the look stands in its bake; without it (a one-off
 * check) no early decision is made.
 */
export function judgeCompareCheck(
  check: CompareCheckSpec,
  data: readonly CompareMetricData[],
  minSamples: number,
  clock?: BakeClock,
): CompareJudgement {
  const alpha = 1 - check.confidence;
  const minPeriods = check.minPeriods ?? DEFAULT_MIN_PERIODS;
  const early = check.early;
  const wantsEarly =
    clock !== undefined && early !== undefined && (early.rollback === true || early.passAfter !== undefined);
  const spending: SpendingFunction = early?.spending ?? "obrien-fleming";
  const look = wantsEarly
    ? lookLevel(clock.elapsedSeconds, clock.bakeSeconds, alpha, spending, clock.lookEverySeconds)
    : undefined;
  const levelPerMetric = look ? look.level / Math.max(1, data.length) : 0;
  const metrics = data.map((d) =>
    judgeCompareMetric(d, {
      alpha,
      minSamples,
      minPeriods,
      ...(look ? { early: { level: levelPerMetric, pass: early?.passAfter !== undefined } } : {}),
    }),
  );
  const thresholds = { pass: check.score.pass, marginal: check.score.marginal };
  const common = {
    kind: "compare" as const,
    method: "mann-whitney" as const,
    name: check.name,
    confidence: check.confidence,
    thresholds,
    metrics,
  };
  const clearFailures = early?.rollback ? metrics.filter((m) => m.clearFailure) : [];
  const earlyLook = (rollback: boolean, clearPass?: boolean): EarlyLook | undefined =>
    look
      ? {
          ...look,
          spending,
          levelPerMetric,
          rollback,
          ...(clearPass !== undefined ? { clearPass } : {}),
          ...(early?.passAfter !== undefined ? { passAfterSeconds: durationSeconds(early.passAfter) } : {}),
        }
      : undefined;
  const thinMetrics = metrics.filter((m) => m.classification === "insufficient-data");
  if (clearFailures.length > 0) {
    const spent = earlyLook(true, false)!;
    return {
      ...common,
      classification: "fail",
      ...(thinMetrics.length === 0 ? { score: compareScore(metrics) } : {}),
      verdict: "rollback",
      reasons: clearFailures.map(
        (m) =>
          `${m.name}: clear failure at look ${spent.look} of ${spent.looks} (p = ${m.pValue!.toPrecision(3)} < ${spent.levelPerMetric.toPrecision(3)}, the alpha this look may spend): ${m.reason}`,
      ),
      early: spent,
    };
  }
  if (thinMetrics.length > 0) {
    const at = earlyLook(false, false);
    return {
      ...common,
      classification: "insufficient-data",
      verdict: "insufficient-data",
      reasons: thinMetrics.map((m) => `${m.name}: ${m.reason}`),
      ...(at ? { early: at } : {}),
    };
  }
  const score = compareScore(metrics);
  const criticalFailures = metrics.filter((m) => m.critical && m.classification === "fail");
  const classification: MetricClassification =
    criticalFailures.length > 0
      ? "fail"
      : score >= thresholds.pass
        ? "pass"
        : score >= thresholds.marginal
          ? "marginal"
          : "fail";
  const reasons =
    criticalFailures.length > 0
      ? criticalFailures.map((m) => `${m.name} (critical): ${m.reason}`)
      : classification === "pass"
        ? []
        : [
            `score ${score} is ${classification === "marginal" ? `marginal (below the pass score ${thresholds.pass})` : `below the marginal score ${thresholds.marginal}`}`,
            ...metrics
              .filter((m) => m.classification !== "pass")
              .map((m) => `${m.name}: ${m.classification} — ${m.reason}`),
          ];
  const clearPass =
    early?.passAfter !== undefined && classification === "pass"
      ? metrics.every((m) => m.clearPass === true)
      : false;
  const at = earlyLook(false, early?.passAfter !== undefined ? clearPass : undefined);
  return {
    ...common,
    classification,
    score,
    verdict: classification === "pass" ? "pass" : "fail",
    reasons,
    ...(at ? { early: at } : {}),
  };
}
