/**
 * The evidence of a gate evaluation as it goes into the status history
 * (queries, window, sample counts, values, thresholds, verdicts), and the
 * job summary that shows the same to people.
 */
import type { ActionReport } from "../../action/summary.js";
import type { Evidence, Verdict } from "../../model/status.js";
import type { GateJudgement, MetricJudgement } from "./evaluate.js";
import type { MetricQuery, MetricSeries } from "./queries.js";
import { describeThreshold, round } from "./verdict.js";
import type { GateMode, GateWindow } from "./window.js";

export interface BakeProgress {
  /** When the bake completes if the gate keeps passing. */
  endsAt: string;
  elapsed: boolean;
  /** Elapsed, passed, and judged over the whole phase. */
  complete: boolean;
  /** Complete before the bake's end: every compare check passed clearly after the spec's passAfter. */
  completedEarly?: boolean;
}

export interface GateEvidence extends Evidence {
  kind: "gate";
  migration: string;
  gate: string;
  mode: GateMode;
  evaluatedAt: string;
  verdict: Verdict;
  reasons: string[];
  window: {
    start: string;
    end: string;
    periodSeconds: number;
    aggregatePeriodSeconds: number;
    source: string;
  };
  minSamples: number;
  samples: Partial<Record<"new" | "old", number>>;
  metrics: Array<Omit<MetricJudgement, "series">>;
  cost?: GateJudgement["cost"];
  compare?: GateJudgement["compare"];
  bake?: BakeProgress;
  queries: MetricQuery[];
  /** GetMetricData calls made (pages included). */
  calls: number;
}

export interface EvidenceInput {
  migration: string;
  gate: string;
  mode: GateMode;
  evaluatedAt: Date;
  window: GateWindow;
  minSamples: number;
  judgement: GateJudgement;
  queries: MetricQuery[];
  calls: number;
  bake?: BakeProgress;
}

/** Builds the evidence; series are left out (they are in the chart), everything else is kept. */
export function gateEvidence(input: EvidenceInput): GateEvidence {
  const { judgement, window } = input;
  return {
    kind: "gate",
    migration: input.migration,
    gate: input.gate,
    mode: input.mode,
    evaluatedAt: input.evaluatedAt.toISOString(),
    verdict: judgement.verdict,
    reasons: judgement.reasons,
    window: {
      start: window.start.toISOString(),
      end: window.end.toISOString(),
      periodSeconds: window.periodSeconds,
      aggregatePeriodSeconds: window.aggregatePeriodSeconds,
      source: window.source,
    },
    minSamples: input.minSamples,
    samples: judgement.samples,
    metrics: judgement.metrics.map(({ series: _series, ...rest }) => rest),
    ...(judgement.cost ? { cost: judgement.cost } : {}),
    ...(judgement.compare ? { compare: judgement.compare } : {}),
    ...(input.bake ? { bake: input.bake } : {}),
    queries: input.queries,
    calls: input.calls,
  };
}

/** A value in the metric's unit, for people. */
export function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined) return "no data";
  if (unit === "fraction" || unit === "fraction of pool") return `${round(value * 100)} %`;
  if (unit === "ms") return `${round(value)} ms`;
  return round(value);
}

const CHART_POINTS = 48;

/** Averages a series down to at most `points` buckets, for a chart that stays readable. */
export function downsample(series: MetricSeries, points = CHART_POINTS): MetricSeries {
  const n = series.values.length;
  if (n <= points) return series;
  const out: MetricSeries = { timestamps: [], values: [] };
  for (let bucket = 0; bucket < points; bucket++) {
    const from = Math.floor((bucket * n) / points);
    const to = Math.floor(((bucket + 1) * n) / points);
    const slice = series.values.slice(from, to);
    out.timestamps.push(series.timestamps[from]!);
    out.values.push(slice.reduce((a, b) => a + b, 0) / slice.length);
  }
  return out;
}

function timeLabel(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString();
  if (spanMs > 2 * 86_400_000) return iso.slice(5, 16).replace("T", " ");
  return spanMs > 3_600_000 ? iso.slice(11, 16) : iso.slice(11, 19);
}

/** A Mermaid `xychart-beta` of one metric over the window, with its pass threshold as a second line. */
export function metricChart(metric: MetricJudgement): string {
  const series = downsample(metric.series);
  if (series.values.length === 0) return `_${metric.name}: no datapoints in the window._`;
  const span = (series.timestamps.at(-1) ?? 0) - (series.timestamps[0] ?? 0);
  const scale = metric.unit.startsWith("fraction") ? 100 : 1;
  const unit = scale === 100 ? "%" : metric.unit;
  const values = series.values.map((v) => Number((v * scale).toPrecision(4)));
  const threshold = metric.pass.max ?? metric.pass.min;
  const top = Math.max(...values, threshold !== undefined ? threshold * scale : 0);
  const lines = [
    "```mermaid",
    "xychart-beta",
    `  title "${metric.name} (${metric.side} side)"`,
    `  x-axis [${series.timestamps.map((t) => `"${timeLabel(t, span)}"`).join(", ")}]`,
    `  y-axis "${unit}" 0 --> ${Number((top * 1.1 || 1).toPrecision(3))}`,
    `  line [${values.join(", ")}]`,
  ];
  if (threshold !== undefined)
    lines.push(`  line [${values.map(() => Number((threshold * scale).toPrecision(4))).join(", ")}]`);
  lines.push("```");
  return lines.join("\n");
}

const VERDICT_MARK: Record<Verdict, string> = {
  pass: "✅ pass",
  fail: "❌ fail",
  rollback: "🛑 rollback",
  "insufficient-data": "⏳ insufficient-data",
};

const CLASS_MARK: Record<string, string> = {
  pass: "✅ pass",
  marginal: "⚠️ marginal",
  fail: "❌ fail",
  "insufficient-data": "⏳ insufficient-data",
};

function fraction(value: number | undefined): string {
  if (value === undefined) return "—";
  if (!Number.isFinite(value)) return value > 0 ? "+∞" : "−∞";
  return `${value >= 0 ? "+" : ""}${round(value * 100)} %`;
}

/** One compare check as a table: per metric the two means, the change, U, p and the class. */
export function compareTable(check: NonNullable<GateJudgement["compare"]>[number]): {
  caption: string;
  rows: string[][];
} {
  const early = check.early
    ? `; look ${check.early.look}/${check.early.looks}, early level ${check.early.levelPerMetric.toPrecision(3)} per metric (${check.early.spending})`
    : "";
  return {
    caption: `${check.name}: Mann-Whitney at ${round(check.confidence * 100)} % confidence — ${CLASS_MARK[check.classification]}${check.score !== undefined ? `, score ${check.score} (pass ≥ ${check.thresholds.pass}, marginal ≥ ${check.thresholds.marginal})` : ""}${early}`,
    rows: [
      [
        "Metric",
        "Worse when",
        "Mean new",
        "Mean old",
        "Change (worse +)",
        "Allowed",
        "U",
        "p",
        "Periods",
        "Class",
      ],
      ...check.metrics.map((m) => [
        m.name,
        m.direction === "higher-is-worse" ? "higher" : "lower",
        m.means ? round(m.means.new) : "—",
        m.means ? round(m.means.old) : "—",
        m.fromZero ? (m.fromZero === "worse" ? "+∞ (old 0)" : "−∞ (old 0)") : fraction(m.worseBy),
        fraction(m.allowedChange),
        m.u !== undefined ? round(m.u) : "—",
        m.pValue !== undefined ? m.pValue.toPrecision(3) : "—",
        `${m.periods.new}/${m.periods.old}`,
        CLASS_MARK[m.classification] ?? m.classification,
      ]),
    ],
  };
}

/** The job summary of a gate evaluation. */
export function gateReport(evidence: GateEvidence, judgement: GateJudgement): ActionReport {
  const rows = [
    ["Metric", "Side", "Value", "Pass", "Rollback", "vs old side", "Verdict", "Samples", "Points"],
    ...judgement.metrics.map((m) => [
      m.name,
      m.side,
      formatValue(m.value, m.unit),
      describeThreshold(m.pass),
      describeThreshold(m.rollback),
      m.comparison ? m.comparison.reason : "—",
      VERDICT_MARK[m.verdict],
      String(m.samples),
      m.missingPeriods > 0 ? `${m.points} (${m.missingPeriods} missing)` : String(m.points),
    ]),
  ];
  if (judgement.cost) {
    const cost = judgement.cost;
    rows.push([
      "cost",
      "new",
      `$${round(cost.estimateUsd)}`,
      `≤ $${round(cost.limitUsd)}`,
      "—",
      "—",
      VERDICT_MARK[cost.verdict],
      String(judgement.samples.new ?? 0),
      "—",
    ]);
  }
  const bake = evidence.bake;
  const next: string[] = [];
  if (evidence.verdict === "rollback")
    next.push("Roll back: the rollback workflow restores the last checkpoint.");
  if (evidence.verdict === "insufficient-data")
    next.push(
      "Wait for more traffic: the bake is extended, the gate is evaluated again on the next schedule.",
    );
  if (evidence.verdict === "fail")
    next.push(
      (judgement.compare ?? []).some((check) => check.verdict === "fail")
        ? "The bake does not complete while a metric is outside its pass threshold or a compare check does not pass; see the reasons above."
        : "The bake does not complete while a metric is outside its pass threshold; see the reasons above.",
    );
  if (bake?.complete) next.push("The bake is complete: propose the next phase.");
  return {
    title: `Gate "${evidence.gate}" of ${evidence.migration}: ${evidence.verdict}`,
    headline: `${VERDICT_MARK[evidence.verdict]} over ${evidence.window.start} → ${evidence.window.end} (${evidence.mode})`,
    found: [
      `Window from ${evidence.window.source}; ${evidence.window.periodSeconds} s periods.`,
      `Requests: ${Object.entries(evidence.samples)
        .map(([side, n]) => `${side} side ${n}`)
        .join(", ")} (minimum ${evidence.minSamples}).`,
      `${evidence.queries.length} queries in ${evidence.calls} GetMetricData call(s).`,
      ...evidence.reasons,
      ...(bake
        ? [
            `Bake ends at ${bake.endsAt}: ${bake.elapsed ? "elapsed" : "not yet elapsed"}${bake.complete ? ", complete" : ""}.`,
          ]
        : []),
    ],
    tables: [{ caption: "Metrics", rows }, ...(judgement.compare ?? []).map(compareTable)],
    markdown: judgement.metrics.map(metricChart),
    next,
  };
}
