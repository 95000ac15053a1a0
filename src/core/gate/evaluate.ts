/**
 * Judges a planned gate from the query results: a verdict per metric, the
 * cost check, and the overall verdict, each with its reasons.
 */
import type { Threshold } from "../../model/spec.js";
import type { Verdict } from "../../model/status.js";
import {
  type BakeClock,
  type CompareJudgement,
  type CompareMetricData,
  judgeCompareCheck,
} from "./compare.js";
import { type ComputeUsage, type CostJudgement, estimateCost, judgeCost } from "./cost.js";
import type { GatePlan, PlannedCompareMetric, PlannedMetric, PlannedValue, SideName } from "./plan.js";
import { type MetricResults, type MetricSeries, seriesSum } from "./queries.js";
import { type ComparisonResult, compareToOld, judgeThresholds, round, worstVerdict } from "./verdict.js";
import type { GateWindow } from "./window.js";

export interface MetricJudgement {
  name: string;
  side: SideName;
  unit: string;
  description: string;
  /** The value over the whole window; absent when CloudWatch returned none. */
  value?: number;
  /** Requests the judged side served over the window. */
  samples: number;
  /** Datapoints of the series. */
  points: number;
  /** Periods in which the judged side served requests but the metric has no datapoint. */
  missingPeriods: number;
  pass: Threshold;
  rollback?: Threshold;
  comparison?: ComparisonResult;
  verdict: Verdict;
  reasons: string[];
  queryIds: { series: string; window: string; oldSeries?: string; oldWindow?: string };
  series: MetricSeries;
}

export interface GateJudgement {
  verdict: Verdict;
  /** One line per metric (or the cost) that did not pass. */
  reasons: string[];
  samples: Partial<Record<SideName, number>>;
  metrics: MetricJudgement[];
  cost?: CostJudgement;
  /** The compare checks, when the gate has any. */
  compare?: CompareJudgement[];
}

/** Where the bake stands, for early decisions: it started at `startsAt` and lasts `seconds`. */
export interface BakeSchedule {
  startsAt: Date;
  seconds: number;
  /** How often the monitor looks; 15 minutes when unset. */
  lookEverySeconds?: number;
}

export interface JudgeContext {
  window: GateWindow;
  /** Percent of traffic on the new side over the window (the applied weights). */
  newWeightPercent: number;
  /** The bake this look belongs to; without it a compare check makes no early decision. */
  bake?: BakeSchedule;
}

const EMPTY: MetricSeries = { timestamps: [], values: [] };

function resultOf(results: MetricResults, id: string): MetricSeries {
  return results.get(id) ?? EMPTY;
}

/**
 * The value over the window from the whole-window query. Normally one
 * datapoint; when CloudWatch's buckets split the window in two, the buckets
 * are weighted by the requests in each.
 */
export function windowValue(values: MetricSeries, requests: MetricSeries): number | undefined {
  if (values.values.length === 0) return undefined;
  if (values.values.length === 1) return values.values[0];
  const weightAt = new Map(requests.timestamps.map((t, i) => [t, requests.values[i] ?? 0]));
  let weighted = 0;
  let weights = 0;
  values.timestamps.forEach((t, i) => {
    const weight = weightAt.get(t) ?? 0;
    weighted += (values.values[i] ?? 0) * weight;
    weights += weight;
  });
  if (weights > 0) return weighted / weights;
  return values.values.reduce((total, v) => total + v, 0) / values.values.length;
}

/** Periods with requests on the side but no datapoint of the metric. */
export function missingPeriods(metric: MetricSeries, requests: MetricSeries): number {
  const present = new Set(metric.timestamps);
  let missing = 0;
  requests.timestamps.forEach((t, i) => {
    if ((requests.values[i] ?? 0) > 0 && !present.has(t)) missing++;
  });
  return missing;
}

function sideSamples(plan: GatePlan, results: MetricResults, side: SideName): number {
  const planned = plan.samples[side];
  return planned ? seriesSum(resultOf(results, planned.windowId)) : 0;
}

function judgeMetric(
  metric: PlannedMetric,
  plan: GatePlan,
  results: MetricResults,
  samples: Partial<Record<SideName, number>>,
): MetricJudgement {
  const sideRequests = plan.samples[metric.side] as PlannedValue;
  const requestsWindow = resultOf(results, sideRequests.windowId);
  const series = resultOf(results, metric.value.seriesId);
  const value = windowValue(resultOf(results, metric.value.windowId), requestsWindow);
  const sampleCount = samples[metric.side] ?? 0;
  const missing = metric.definition.missingMeansZero
    ? 0
    : missingPeriods(series, resultOf(results, sideRequests.seriesId));
  const base = {
    name: metric.name,
    side: metric.side,
    unit: metric.definition.unit,
    description: metric.definition.description,
    ...(value !== undefined ? { value } : {}),
    samples: sampleCount,
    points: series.values.length,
    missingPeriods: missing,
    pass: metric.spec.pass,
    ...(metric.spec.rollback ? { rollback: metric.spec.rollback } : {}),
    queryIds: {
      series: metric.value.seriesId,
      window: metric.value.windowId,
      ...(metric.oldValue
        ? { oldSeries: metric.oldValue.seriesId, oldWindow: metric.oldValue.windowId }
        : {}),
    },
    series,
  };
  if (sampleCount < plan.minSamples) {
    return {
      ...base,
      verdict: "insufficient-data",
      reasons: [
        `${sampleCount} requests on the ${metric.side} side; the gate needs at least ${plan.minSamples}`,
      ],
    };
  }
  if (value === undefined) {
    return {
      ...base,
      verdict: "insufficient-data",
      reasons: ["CloudWatch returned no datapoint for the window"],
    };
  }
  if (missing > 0) {
    return {
      ...base,
      verdict: "insufficient-data",
      reasons: [`${missing} period(s) with requests have no datapoint (missing data is never a pass)`],
    };
  }
  const thresholdVerdict = judgeThresholds(value, metric.spec.pass, metric.spec.rollback);
  const reasons: string[] = [];
  if (thresholdVerdict !== "pass")
    reasons.push(
      `${round(value)} is outside the ${thresholdVerdict === "rollback" ? "rollback" : "pass"} threshold`,
    );
  let comparison: ComparisonResult | undefined;
  if (metric.oldValue && metric.spec.compareToOld) {
    const oldSamples = samples.old ?? 0;
    const oldWindowValue = windowValue(
      resultOf(results, metric.oldValue.windowId),
      resultOf(results, (plan.samples.old as PlannedValue).windowId),
    );
    comparison = compareToOld(value, oldWindowValue, metric.spec.compareToOld, {
      ok: oldSamples >= plan.minSamples && oldWindowValue !== undefined,
      why:
        oldSamples < plan.minSamples
          ? `the old side served ${oldSamples} requests, fewer than ${plan.minSamples}`
          : "the old side has no datapoint",
    });
    if (comparison.verdict === "fail") reasons.push(`worse than the old side: ${comparison.reason}`);
  }
  const verdict = worstVerdict([thresholdVerdict, comparison?.verdict === "fail" ? "fail" : "pass"]);
  return { ...base, ...(comparison ? { comparison } : {}), verdict, reasons };
}

function usageFrom(plan: GatePlan, results: MetricResults): ComputeUsage | undefined {
  const cost = plan.cost;
  if (!cost) return undefined;
  if (cost.kind === "lambda") {
    return {
      kind: "lambda",
      invocations: seriesSum(resultOf(results, cost.invocationsId)),
      durationMs: seriesSum(resultOf(results, cost.durationId)),
    };
  }
  const tasks = resultOf(results, cost.runningTasksId).values;
  return { kind: "ecs", averageTasks: tasks.length ? tasks.reduce((a, b) => a + b, 0) / tasks.length : 0 };
}

/** True when none of the usage series the cost estimate reads has a datapoint. */
function usageMissing(plan: GatePlan, results: MetricResults): boolean {
  const cost = plan.cost;
  if (!cost) return false;
  const ids = cost.kind === "lambda" ? [cost.invocationsId, cost.durationId] : [cost.runningTasksId];
  return ids.every((id) => resultOf(results, id).values.length === 0);
}

function judgeCostOf(
  plan: GatePlan,
  results: MetricResults,
  context: JudgeContext,
  newSamples: number,
): CostJudgement | undefined {
  const usage = usageFrom(plan, results);
  if (!usage || !plan.cost) return undefined;
  const windowSeconds = (context.window.end.getTime() - context.window.start.getTime()) / 1000;
  if (newSamples > 0 && usageMissing(plan, results)) {
    // The new side served requests but no usage was reported: an estimate of
    // $0 would pass on no evidence at all.
    const judgement = judgeCost(
      estimateCost(usage, plan.cost.cost, windowSeconds),
      plan.cost.cost,
      windowSeconds,
      context.newWeightPercent,
    );
    return {
      ...judgement,
      verdict: "insufficient-data",
      reason: `no usage datapoints (${plan.cost.kind === "lambda" ? "Lambda Invocations and Duration" : "ECS RunningTaskCount"}) in the window although the new side served ${newSamples} requests: the cost cannot be estimated`,
    };
  }
  const judgement = judgeCost(
    estimateCost(usage, plan.cost.cost, windowSeconds),
    plan.cost.cost,
    windowSeconds,
    context.newWeightPercent,
  );
  if (newSamples < plan.minSamples && judgement.verdict !== "insufficient-data") {
    return {
      ...judgement,
      verdict: "insufficient-data",
      reason: `${judgement.reason}; too few requests to judge`,
    };
  }
  return judgement;
}

function finite(series: MetricSeries): number[] {
  return series.values.filter((value) => Number.isFinite(value));
}

function compareData(
  metric: PlannedCompareMetric,
  plan: GatePlan,
  results: MetricResults,
  samples: Partial<Record<SideName, number>>,
): CompareMetricData {
  const sideData = (side: SideName) => {
    const series = resultOf(results, metric.seriesIds[side]);
    const requests = plan.samples[side];
    const missing =
      metric.definitions[side].missingMeansZero || !requests
        ? 0
        : missingPeriods(series, resultOf(results, requests.seriesId));
    return { values: finite(series), missing };
  };
  const fresh = sideData("new");
  const old = sideData("old");
  return {
    spec: metric.spec,
    newValues: fresh.values,
    oldValues: old.values,
    requests: { new: samples.new ?? 0, old: samples.old ?? 0 },
    missingPeriods: { new: fresh.missing, old: old.missing },
  };
}

function bakeClock(context: JudgeContext): BakeClock | undefined {
  if (!context.bake) return undefined;
  return {
    elapsedSeconds: (context.window.end.getTime() - context.bake.startsAt.getTime()) / 1000,
    bakeSeconds: context.bake.seconds,
    ...(context.bake.lookEverySeconds !== undefined
      ? { lookEverySeconds: context.bake.lookEverySeconds }
      : {}),
  };
}

/** Judges every metric, the cost and the compare checks, and the gate as a whole (the worst of them). */
export function judgeGate(plan: GatePlan, results: MetricResults, context: JudgeContext): GateJudgement {
  const samples: Partial<Record<SideName, number>> = {};
  for (const side of Object.keys(plan.samples) as SideName[])
    samples[side] = sideSamples(plan, results, side);
  const metrics = plan.metrics.map((metric) => judgeMetric(metric, plan, results, samples));
  const cost = judgeCostOf(plan, results, context, samples.new ?? 0);
  const clock = bakeClock(context);
  const compare = plan.compare?.map((check) =>
    judgeCompareCheck(
      check.spec,
      check.metrics.map((metric) => compareData(metric, plan, results, samples)),
      plan.minSamples,
      clock,
    ),
  );
  const verdicts = [
    ...metrics.map((m) => m.verdict),
    ...(cost ? [cost.verdict] : []),
    ...(compare ?? []).map((c) => c.verdict),
  ];
  const reasons = [
    ...metrics
      .filter((m) => m.verdict !== "pass")
      .map((m) => `${m.name}: ${m.verdict} — ${m.reasons.join("; ")}`),
    ...(cost && cost.verdict !== "pass" ? [`cost: ${cost.verdict} — ${cost.reason}`] : []),
    ...(compare ?? [])
      .filter((c) => c.verdict !== "pass")
      .map((c) => `${c.name} (compare): ${c.verdict} — ${c.reasons.join("; ")}`),
  ];
  return {
    verdict: worstVerdict(verdicts),
    reasons,
    samples,
    metrics,
    ...(cost ? { cost } : {}),
    ...(compare ? { compare } : {}),
  };
}
