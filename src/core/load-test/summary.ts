/**
 * The job summary and evidence of a load test: figures, checks, and a
 * latency chart over time from the report's intermediate periods.
 */
import type { ActionReport } from "../../action/summary.js";
import type { LoadTestThresholds } from "../../model/spec.js";
import type { Evidence } from "../../model/status.js";
import { round } from "../gate/verdict.js";
import type { PhasePlan } from "./phases.js";
import type { LoadTestFigures } from "./report.js";
import type { LoadTestJudgement } from "./verdict.js";

export interface LoadTestEvidence extends Evidence {
  kind: "load-test";
  scenario: string;
  target: string;
  verdict: "pass" | "fail";
  reasons: string[];
  thresholds: LoadTestThresholds;
  requests: number;
  codes: Record<string, number>;
  errors: Record<string, number>;
  errorRate: number;
  latencyMs?: { p50: number; p95: number; p99: number; max: number };
  rate: LoadTestJudgement["rate"];
  planned: { seconds: number; arrivals: number };
  measuredSeconds: number;
  report: string;
}

export interface LoadTestEvidenceInput {
  scenario: string;
  target: string;
  reportPath: string;
  figures: LoadTestFigures;
  plan: PhasePlan;
  thresholds: LoadTestThresholds;
  judgement: LoadTestJudgement;
}

export function loadTestEvidence(input: LoadTestEvidenceInput): LoadTestEvidence {
  const { figures, judgement } = input;
  return {
    kind: "load-test",
    scenario: input.scenario,
    target: input.target,
    verdict: judgement.verdict,
    reasons: judgement.reasons,
    thresholds: input.thresholds,
    requests: figures.requests,
    codes: figures.codes,
    errors: figures.errors,
    errorRate: figures.errorRate,
    ...(figures.latency
      ? {
          latencyMs: {
            p50: figures.latency.p50,
            p95: figures.latency.p95,
            p99: figures.latency.p99,
            max: figures.latency.max,
          },
        }
      : {}),
    rate: judgement.rate,
    planned: { seconds: input.plan.seconds, arrivals: input.plan.arrivals },
    measuredSeconds: figures.measuredSeconds,
    report: input.reportPath,
  };
}

/** A Mermaid `xychart-beta` of p50, p95 and p99 per intermediate period. */
export function latencyChart(figures: LoadTestFigures): string {
  const periods = figures.periods.filter((period) => period.latency);
  if (periods.length === 0) return "_No latency was measured: no response arrived._";
  const first = periods[0]!.at;
  const series = (pick: "p50" | "p95" | "p99") =>
    periods.map((period) => round(period.latency![pick])).join(", ");
  const top = Math.max(...periods.map((period) => period.latency!.p99));
  return [
    "```mermaid",
    "xychart-beta",
    '  title "Latency per period (p50, p95, p99)"',
    `  x-axis "seconds since start" [${periods.map((period) => `"${Math.round((period.at - first) / 1000)}"`).join(", ")}]`,
    `  y-axis "ms" 0 --> ${Number((top * 1.1 || 1).toPrecision(3))}`,
    `  line [${series("p50")}]`,
    `  line [${series("p95")}]`,
    `  line [${series("p99")}]`,
    "```",
  ].join("\n");
}

export function loadTestReport(
  evidence: LoadTestEvidence,
  figures: LoadTestFigures,
  plan: PhasePlan,
  judgement: LoadTestJudgement,
): ActionReport {
  const latency = figures.latency;
  return {
    title: `Load test ${evidence.scenario}: ${evidence.verdict}`,
    headline: `${evidence.verdict === "pass" ? "✅ pass" : "❌ fail"} against ${evidence.target}`,
    found: [
      `Requested: ${plan.phases.join("; ")} (${round(plan.arrivals)} arrivals over ${round(plan.seconds)} s).`,
      `Report: ${evidence.report}`,
      ...judgement.reasons,
    ],
    tables: [
      {
        caption: "Figures",
        rows: [
          [
            "Requests",
            "Codes",
            "Errors",
            "Error rate",
            "p50",
            "p95",
            "p99",
            "Achieved rate",
            "Requested rate",
          ],
          [
            String(figures.requests),
            Object.entries(figures.codes)
              .map(([code, n]) => `${code}: ${n}`)
              .join(", ") || "none",
            Object.entries(figures.errors)
              .map(([name, n]) => `${name}: ${n}`)
              .join(", ") || "none",
            `${round(figures.errorRate * 100)} %`,
            latency ? `${round(latency.p50)} ms` : "—",
            latency ? `${round(latency.p95)} ms` : "—",
            latency ? `${round(latency.p99)} ms` : "—",
            `${round(judgement.rate.achieved)}/s (${round(judgement.rate.ratio * 100)} %)`,
            `${round(judgement.rate.requested)}/s`,
          ],
        ],
      },
      {
        caption: "Checks",
        rows: [
          ["Check", "Value", "Limit", "Result"],
          ...judgement.checks.map((check) => [check.name, check.reason, check.limit, check.ok ? "✅" : "❌"]),
        ],
      },
    ],
    markdown: [latencyChart(figures)],
    next:
      evidence.verdict === "pass"
        ? []
        : [
            "Fix the new side (or the thresholds in migrations.json) and run the load test again; the report file holds every figure.",
          ],
  };
}
