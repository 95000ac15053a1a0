/**
 * A plan as JSON (for tools) and as Markdown fit for a sticky pull request
 * comment: the hidden marker lets the workflow find and update its own
 * comment instead of adding a new one on every push.
 */
import { formatDuration } from "../model/duration.js";
import type { CompareCheckSpec, Comparison, Threshold } from "../model/spec.js";
import type { GatePlan, MigrationPlan, Plan, PlannedStep } from "./planner.js";

/** Hidden marker that identifies the plan comment on a pull request. */
export const PLAN_COMMENT_MARKER = "<!-- cutover-plan -->";

/** The plan as stable, indented JSON with a trailing newline. */
export function renderPlanJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

/** Escapes text for a Markdown table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A threshold as `≤ 0.01`, `≥ 5`, or `5–10`. */
export function describeThreshold(threshold: Threshold | undefined): string {
  if (!threshold) return "—";
  const { min, max } = threshold;
  if (min !== undefined && max !== undefined) return `${min}–${max}`;
  if (max !== undefined) return `≤ ${max}`;
  if (min !== undefined) return `≥ ${min}`;
  return "—";
}

function describeComparison(comparison: Comparison | undefined): string {
  if (!comparison) return "—";
  const parts: string[] = [];
  if (comparison.maxIncrease !== undefined) parts.push(`≤ old + ${comparison.maxIncrease}`);
  if (comparison.maxRatio !== undefined) parts.push(`≤ old × ${comparison.maxRatio}`);
  return parts.join(", ");
}

function gateTable(gate: GatePlan): string[] {
  return [
    "",
    `Gate \`${gate.name}\`: period ${gate.period}, at least ${gate.minSamples} requests per window${
      gate.checkCost ? ", cost checked against the projection" : ""
    }.`,
    "",
    "| Metric | Side | Pass | Roll back | Against old side |",
    "| --- | --- | --- | --- | --- |",
    ...gate.metrics.map(
      (metric) =>
        `| ${cell(metric.name)}${metric.metric === metric.name ? "" : ` (${cell(metric.metric)})`} | ${metric.side} | ${describeThreshold(
          metric.pass,
        )} | ${describeThreshold(metric.rollback)} | ${describeComparison(metric.compareToOld)} |`,
    ),
    ...(gate.checks ?? []).flatMap(compareLines),
  ];
}

/** A compare check in words: its test, score thresholds, early decisions, and each metric's allowance. */
function compareLines(check: CompareCheckSpec): string[] {
  const early = [
    check.early?.rollback ? "rolls back early on a clear failure" : "",
    check.early?.passAfter ? `may pass early after ${check.early.passAfter}` : "",
  ].filter(Boolean);
  return [
    "",
    `Compare \`${cell(check.name)}\` (new side against old, Mann-Whitney at ${Number((check.confidence * 100).toPrecision(4))} % confidence): passes at a score ≥ ${check.score.pass}, marginal ≥ ${check.score.marginal}${early.length ? `; ${early.join(", ")} (alpha spent ${check.early?.spending ?? "obrien-fleming"})` : ""}.`,
    "",
    "| Metric | Worse when | Allowed change | Weight |",
    "| --- | --- | --- | --- |",
    ...check.metrics.map(
      (metric) =>
        `| ${cell(metric.name)}${metric.critical ? " (critical)" : ""} | ${metric.direction === "higher-is-worse" ? "higher" : "lower"} | ${Number((metric.allowedChange * 100).toPrecision(4))} % | ${metric.weight ?? 1} |`,
    ),
  ];
}

function stepLines(step: PlannedStep, index: number): string[] {
  const approval = step.approval
    ? `waits for approval of environment \`${step.approval}\``
    : "waits for no approval";
  const lines = [`${index + 1}. **${cell(step.action)}** — ${approval}.`, `   Why: ${step.why}.`];
  if (step.bake?.leftSeconds !== undefined)
    lines.push(`   Bake time left: ${formatDuration(step.bake.leftSeconds)}.`);
  if (step.gate) lines.push(...gateTable(step.gate).map((line) => (line === "" ? "" : `   ${line}`)));
  return lines;
}

function decisionLine(plan: MigrationPlan): string {
  const { decision } = plan;
  const arrow = `${decision.from ?? "not in base"} → ${decision.to ?? "removed"}`;
  if (!decision.allowed) return `⛔ **Refused** (${decision.kind}, ${arrow}): ${decision.reason}.`;
  if (decision.override) return `⚠️ **Allowed by override** (${decision.kind}, ${arrow}): ${decision.reason}.`;
  if (decision.rollback) return `↩️ **Rollback** (${arrow}): ${decision.reason}.`;
  const label = decision.kind === "no-change" ? "No phase change" : "Allowed";
  return `✅ **${label}** (${decision.kind}, ${arrow}): ${decision.reason}.`;
}

function currentLines(plan: MigrationPlan): string[] {
  const { current } = plan;
  const verdict = current.lastVerdict;
  return [
    "| Applied phase | State | Weights (old / new) | Bake left | Last gate verdict | Earned promotion |",
    "| --- | --- | --- | --- | --- | --- |",
    `| ${current.phase ?? "—"} | ${current.state} | ${current.weights.old} % / ${current.weights.new} % | ${
      current.bakeLeftSeconds === undefined ? "—" : formatDuration(current.bakeLeftSeconds)
    } | ${
      verdict
        ? `${verdict.verdict}${verdict.gate ? ` (${cell(verdict.gate)})` : ""} at ${verdict.at}${
            verdict.runUrl ? ` ([run](${verdict.runUrl}))` : ""
          }`
        : "—"
    } | ${current.earnedPromotion ? "yes" : "no"} |`,
    "",
    `${current.explanation.charAt(0).toUpperCase()}${current.explanation.slice(1)}.`,
  ];
}

function migrationSection(plan: MigrationPlan): string[] {
  const lines = [`### ${plan.migration}`, "", decisionLine(plan), "", ...currentLines(plan), ""];
  if (plan.steps.length === 0) {
    lines.push(
      plan.decision.allowed ? "Nothing to apply." : "Nothing will be applied until the refusal is resolved.",
    );
  } else {
    lines.push("Steps, in order:", "", ...plan.steps.flatMap(stepLines));
  }
  return [...lines, ""];
}

/** The plan as Markdown for a sticky pull request comment (starts with {@link PLAN_COMMENT_MARKER}). */
export function renderPlanMarkdown(plan: Plan): string {
  const verdict = plan.ok ? "every change follows the promotion rules" : "**refused**: see below";
  const lines = [
    PLAN_COMMENT_MARKER,
    "## cutover plan",
    "",
    `\`${plan.specFile}\`${plan.base ? ` compared with \`${plan.base}\`` : ""}: ${verdict}. Generated ${plan.generatedAt}.`,
    "",
    ...plan.migrations.flatMap(migrationSection),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}
