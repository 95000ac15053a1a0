/**
 * What a reviewer checks in a gate's compare checks beyond their shape:
 * unique names, score thresholds in order, an early pass that parses and
 * leaves some bake, custom metrics that say how their queries combine. Reads
 * the parsed document defensively, like the other spec rules.
 */
import { DURATION_HINT, parseDuration } from "../../model/duration.js";
import { type JsonPath, renderJsonPath } from "../spec-error.js";

export interface CompareRuleFinding {
  path: JsonPath;
  message: string;
  expected: string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function duplicates(
  items: readonly unknown[],
  pathOf: (index: number) => JsonPath,
  what: string,
  findings: CompareRuleFinding[],
): void {
  const first = new Map<string, number>();
  items.forEach((item, index) => {
    const name = isObject(item) ? item.name : undefined;
    if (typeof name !== "string") return;
    const at = first.get(name);
    if (at === undefined) first.set(name, index);
    else
      findings.push({
        path: pathOf(index),
        message: `"${name}" is also the name of ${what}[${at}]`,
        expected: "a name used once",
      });
  });
}

/** A bake step that uses the gate: how long, at which new-side weight, and where. */
export interface GateBake {
  seconds?: number;
  /** The new side's weight during the bake (the last shift before it), when known. */
  weight?: number;
  path: JsonPath;
}

/**
 * Findings for `gate.checks` at `gatePath`; `bakes` are the bake steps that
 * use this gate, to check an early pass against and to find bakes with
 * nothing on one side to compare.
 */
export function compareCheckFindings(
  gate: Json,
  gatePath: JsonPath,
  bakes: readonly GateBake[],
): CompareRuleFinding[] {
  const findings: CompareRuleFinding[] = [];
  if (!Array.isArray(gate.checks) || gate.checks.length === 0) return findings;
  const checks = gate.checks as unknown[];
  const bakeSeconds = bakes.map((b) => b.seconds).filter((s): s is number => s !== undefined && s > 0);
  for (const bake of bakes) {
    if (bake.weight !== 100 && bake.weight !== 0) continue;
    const empty = bake.weight === 100 ? "old" : "new";
    findings.push({
      path: [...gatePath, "checks"],
      message: `compare the two sides, but the bake at ${renderJsonPath(bake.path)} runs at ${bake.weight} % on the new side: the ${empty} side serves nothing to compare with, so the gate could never pass`,
      expected: "checks only on gates baked between 1 and 99 % (bake steps can name different gates)",
    });
  }
  duplicates(checks, (index) => [...gatePath, "checks", index, "name"], "checks", findings);
  checks.forEach((check, index) => {
    if (!isObject(check) || check.kind !== "compare") return;
    const path = [...gatePath, "checks", index];
    const score = isObject(check.score) ? check.score : undefined;
    if (
      score &&
      typeof score.pass === "number" &&
      typeof score.marginal === "number" &&
      score.marginal > score.pass
    ) {
      findings.push({
        path: [...path, "score", "marginal"],
        message: `${score.marginal} is above the pass score ${score.pass}`,
        expected: `a marginal score at most the pass score (${score.pass})`,
      });
    }
    const metrics = Array.isArray(check.metrics) ? (check.metrics as unknown[]) : [];
    duplicates(metrics, (i) => [...path, "metrics", i, "name"], "metrics", findings);
    metrics.forEach((metric, i) => {
      if (!isObject(metric) || !isObject(metric.metric) || !isObject(metric.metric.queries)) return;
      const count = Object.keys(metric.metric.queries).length;
      if (metric.metric.expression === undefined && count > 1) {
        findings.push({
          path: [...path, "metrics", i, "metric", "expression"],
          message: `is missing while there are ${count} queries`,
          expected: "an expression over the query ids, or exactly one query",
        });
      }
    });
    const early = isObject(check.early) ? check.early : undefined;
    if (early && typeof early.passAfter === "string") {
      const after = parseDuration(early.passAfter);
      const at = [...path, "early", "passAfter"];
      if (after === undefined) {
        findings.push({
          path: at,
          message: `${JSON.stringify(early.passAfter)} is not a duration`,
          expected: DURATION_HINT,
        });
      } else if (after === 0) {
        findings.push({
          path: at,
          message: `${JSON.stringify(early.passAfter)} is zero`,
          expected: `${DURATION_HINT}, longer than zero`,
        });
      } else {
        const shortest = Math.min(...bakeSeconds);
        if (bakeSeconds.length > 0 && after >= shortest) {
          findings.push({
            path: at,
            message: `${JSON.stringify(early.passAfter)} is not shorter than the bake (${shortest} s) of a step using this gate: it could never shorten it`,
            expected: "a duration shorter than every bake that uses this gate, or no passAfter",
          });
        }
      }
    }
  });
  return findings;
}
