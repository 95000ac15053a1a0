/**
 * The verdict of a load test: latency, errors and the achieved rate against
 * the thresholds of the spec's load-test step. A run that sent nothing, or
 * whose generator could not keep up with the requested rate, fails.
 */
import type { LoadTestThresholds } from "../../model/spec.js";
import { round } from "../gate/verdict.js";
import type { PhasePlan } from "./phases.js";
import type { LoadTestFigures } from "./report.js";

export interface RateFigures {
  /** Arrivals per second the phases ask for. */
  requested: number;
  /** Arrivals per second achieved: created virtual users over the longer of the planned and measured run. */
  achieved: number;
  /** achieved / requested. */
  ratio: number;
  /** Requests per second actually sent over the same time. */
  requestsPerSecond: number;
}

export interface LoadTestCheck {
  name: "requests" | "p95" | "p99" | "error-rate" | "rate";
  value: number | undefined;
  limit: string;
  ok: boolean;
  reason: string;
}

export interface LoadTestJudgement {
  verdict: "pass" | "fail";
  rate: RateFigures;
  checks: LoadTestCheck[];
  reasons: string[];
}

/**
 * The achieved rate. The run is timed over the longer of the planned and the
 * measured duration: a generator that falls behind stretches the run (or
 * creates fewer users), and either lowers the ratio.
 */
export function rateFigures(figures: LoadTestFigures, plan: PhasePlan): RateFigures {
  const seconds = Math.max(plan.seconds, figures.measuredSeconds);
  const achieved = seconds > 0 ? figures.vusers.created / seconds : 0;
  return {
    requested: plan.rate,
    achieved,
    ratio: plan.rate > 0 ? achieved / plan.rate : 0,
    requestsPerSecond: seconds > 0 ? figures.requests / seconds : 0,
  };
}

function maxCheck(
  name: LoadTestCheck["name"],
  value: number | undefined,
  limit: number | undefined,
  unit: string,
): LoadTestCheck | undefined {
  if (limit === undefined) return undefined;
  if (value === undefined || Number.isNaN(value)) {
    return {
      name,
      value: undefined,
      limit: `≤ ${limit}${unit}`,
      ok: false,
      reason: `${name}: no responses to measure`,
    };
  }
  const ok = value <= limit;
  return {
    name,
    value,
    limit: `≤ ${limit}${unit}`,
    ok,
    reason: `${name} ${round(value)}${unit} ${ok ? "≤" : ">"} ${limit}${unit}`,
  };
}

/** Judges the figures against the thresholds. */
/** The error rate a load test may reach when its step sets no `maxErrorRate`. */
export const DEFAULT_MAX_ERROR_RATE = 0.01;

export function judgeLoadTest(
  figures: LoadTestFigures,
  plan: PhasePlan,
  thresholds: LoadTestThresholds,
): LoadTestJudgement {
  const rate = rateFigures(figures, plan);
  const checks: LoadTestCheck[] = [
    {
      name: "requests",
      value: figures.requests,
      limit: "> 0",
      ok: figures.requests > 0 && figures.responses > 0,
      reason:
        figures.requests === 0
          ? "no request was sent"
          : figures.responses === 0
            ? `${figures.requests} requests sent, none answered`
            : `${figures.requests} requests, ${figures.responses} responses`,
    },
  ];
  const p95 = maxCheck("p95", figures.latency?.p95, thresholds.p95Ms, " ms");
  const p99 = maxCheck("p99", figures.latency?.p99, thresholds.p99Ms, " ms");
  if (p95) checks.push(p95);
  if (p99) checks.push(p99);
  {
    // The error rate is always judged: a run whose requests all fail never passes.
    const limit = thresholds.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE;
    const ok = figures.errorRate <= limit;
    checks.push({
      name: "error-rate",
      value: figures.errorRate,
      limit: `≤ ${round(limit * 100)} %${thresholds.maxErrorRate === undefined ? " (default)" : ""}`,
      ok,
      reason: `error rate ${round(figures.errorRate * 100)} % ${ok ? "≤" : ">"} ${round(limit * 100)} % (${figures.failures} of ${Math.max(figures.requests, figures.vusers.created)})`,
    });
  }
  if (thresholds.minRateRatio !== undefined) {
    const ok = rate.ratio >= thresholds.minRateRatio;
    checks.push({
      name: "rate",
      value: rate.ratio,
      limit: `≥ ${round(thresholds.minRateRatio * 100)} % of requested`,
      ok,
      reason: `achieved ${round(rate.achieved)}/s of ${round(rate.requested)}/s requested (${round(rate.ratio * 100)} %)${ok ? "" : ": the load generator could not keep up"}`,
    });
  }
  const reasons = checks.filter((check) => !check.ok).map((check) => check.reason);
  return { verdict: reasons.length === 0 ? "pass" : "fail", rate, checks, reasons };
}
