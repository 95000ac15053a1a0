/**
 * Verdict arithmetic: a value against its thresholds, the new side against
 * the old, and many verdicts into one. Missing or thin data is never a pass.
 */
import type { Comparison, Threshold } from "../../model/spec.js";
import type { Verdict } from "../../model/status.js";

/** Worst first: a rollback outranks a failure, which outranks missing evidence, which outranks a pass. */
export const VERDICT_SEVERITY: Record<Verdict, number> = {
  rollback: 3,
  fail: 2,
  "insufficient-data": 1,
  pass: 0,
};

/** The worst of several verdicts; no verdict at all is insufficient data, never a pass. */
export function worstVerdict(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.length === 0) return "insufficient-data";
  return verdicts.reduce((worst, verdict) =>
    VERDICT_SEVERITY[verdict] > VERDICT_SEVERITY[worst] ? verdict : worst,
  );
}

// Values come out of floating-point arithmetic (0.01 + 0.005); a bound hit exactly must not flip on the last bit.
function above(value: number, bound: number): boolean {
  return value - bound > 1e-12 * Math.max(1, Math.abs(bound));
}

function below(value: number, bound: number): boolean {
  return bound - value > 1e-12 * Math.max(1, Math.abs(bound));
}

/** True when `value` is inside the threshold: at most `max` and at least `min` (bounds included). */
export function withinThreshold(value: number, threshold: Threshold): boolean {
  if (threshold.max !== undefined && above(value, threshold.max)) return false;
  if (threshold.min !== undefined && below(value, threshold.min)) return false;
  return true;
}

/** Renders a threshold for people: "≤ 0.01", "≥ 5", "5 … 10". */
export function describeThreshold(threshold: Threshold | undefined): string {
  if (!threshold) return "—";
  if (threshold.max !== undefined && threshold.min !== undefined)
    return `${threshold.min} … ${threshold.max}`;
  if (threshold.max !== undefined) return `≤ ${threshold.max}`;
  if (threshold.min !== undefined) return `≥ ${threshold.min}`;
  return "any";
}

/**
 * A value against its thresholds: outside `rollback` is a rollback; outside
 * `pass` (but not outside `rollback`) is a failure; inside `pass` passes.
 */
export function judgeThresholds(
  value: number,
  pass: Threshold,
  rollback?: Threshold,
): Exclude<Verdict, "insufficient-data"> {
  if (rollback && !withinThreshold(value, rollback)) return "rollback";
  return withinThreshold(value, pass) ? "pass" : "fail";
}

export interface ComparisonResult {
  verdict: "pass" | "fail" | "skipped";
  newValue?: number;
  oldValue?: number;
  /** The largest value the new side may have. */
  bound?: number;
  reason: string;
}

/**
 * The new side against the old side over the same window. A comparison
 * without a usable old value (the old side served too little) is skipped, not
 * failed: at 100 % on the new side there is nothing left to compare with, and
 * the metric's own thresholds still apply.
 */
export function compareToOld(
  newValue: number,
  oldValue: number | undefined,
  comparison: Comparison,
  oldUsable: { ok: boolean; why?: string },
): ComparisonResult {
  if (oldValue === undefined || !oldUsable.ok) {
    return {
      verdict: "skipped",
      newValue,
      reason: `not compared: ${oldUsable.why ?? "the old side has no value"}`,
    };
  }
  const bounds: number[] = [];
  if (comparison.maxIncrease !== undefined) bounds.push(oldValue + comparison.maxIncrease);
  if (comparison.maxRatio !== undefined) bounds.push(oldValue * comparison.maxRatio);
  if (bounds.length === 0)
    return { verdict: "skipped", newValue, oldValue, reason: "not compared: no maxIncrease or maxRatio" };
  const bound = Math.min(...bounds);
  const parts = [
    comparison.maxIncrease !== undefined ? `old ${round(oldValue)} + ${comparison.maxIncrease}` : undefined,
    comparison.maxRatio !== undefined ? `old ${round(oldValue)} × ${comparison.maxRatio}` : undefined,
  ].filter(Boolean);
  const ok = !above(newValue, bound);
  return {
    verdict: ok ? "pass" : "fail",
    newValue,
    oldValue,
    bound,
    reason: `new ${round(newValue)} ${ok ? "≤" : ">"} ${round(bound)} (${parts.join(", ")})`,
  };
}

/** Rounds for messages: 4 significant digits. */
export function round(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  return Number(value.toPrecision(4)).toString();
}
