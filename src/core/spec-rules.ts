/**
 * What a reviewer checks in a spec beyond its shape: names that must be
 * unique or must exist, thresholds on the right side of each other,
 * durations that parse, files that exist, decommissioning last.
 *
 * The rules read the parsed document defensively (it may also have schema
 * errors) so that every problem is reported in one pass.
 */
import { DURATION_HINT, parseDuration } from "../model/duration.js";
import { notificationRuleFindings } from "../notify/spec-rules.js";
import { compareCheckFindings, type GateBake } from "./gate/compare-rules.js";
import { isValidPeriod } from "./gate/window.js";
import type { JsonPath } from "./spec-error.js";

/** One finding of a rule, before the file and line are attached. */
export interface RuleFinding {
  path: JsonPath;
  message: string;
  expected: string;
}

/** What rules may ask of the world: whether a file named in the spec exists (relative to the spec's directory). */
export interface RuleEnvironment {
  fileExists(relativePath: string): boolean;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function quoteList(names: readonly string[]): string {
  return names.length === 0 ? "none defined" : names.map((name) => `"${name}"`).join(", ");
}

class Findings {
  readonly list: RuleFinding[] = [];
  add(path: JsonPath, message: string, expected: string): void {
    this.list.push({ path, message, expected });
  }
}

/** Reports the second and later occurrences of each name, pointing back at the first. */
function checkUnique(
  findings: Findings,
  items: readonly { name: unknown; path: JsonPath; label: string }[],
  what: string,
): void {
  const firstAt = new Map<string, string>();
  for (const item of items) {
    if (typeof item.name !== "string") continue;
    const first = firstAt.get(item.name);
    if (first === undefined) firstAt.set(item.name, item.label);
    else
      findings.add(
        item.path,
        `"${item.name}" is also the ${what} of ${first}`,
        `${what === "id" ? "an" : "a"} ${what} used once`,
      );
  }
}

function checkDuration(
  findings: Findings,
  value: unknown,
  path: JsonPath,
  allowZero: boolean,
): number | undefined {
  if (typeof value !== "string") return undefined;
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    findings.add(path, `${JSON.stringify(value)} is not a duration`, DURATION_HINT);
    return undefined;
  }
  if (seconds === 0 && !allowZero)
    findings.add(path, `${JSON.stringify(value)} is zero`, `${DURATION_HINT}, longer than zero`);
  return seconds;
}

function checkGatePeriod(findings: Findings, period: unknown, path: JsonPath): void {
  const seconds = checkDuration(findings, period, path, false);
  if (seconds === undefined || seconds === 0) return;
  if (!isValidPeriod(seconds)) {
    findings.add(
      path,
      `${JSON.stringify(period)} (${seconds} s) is not a period CloudWatch accepts`,
      '1s, 5s, 10s, 20s, 30s or a multiple of 60 seconds such as "1m" or "5m"',
    );
  }
}

function checkThresholds(findings: Findings, metric: Json, path: JsonPath): void {
  const pass = isObject(metric.pass) ? metric.pass : undefined;
  const rollback = isObject(metric.rollback) ? metric.rollback : undefined;
  if (pass && typeof pass.min === "number" && typeof pass.max === "number" && pass.min > pass.max) {
    findings.add(
      [...path, "pass"],
      `min ${pass.min} is above max ${pass.max}: nothing can pass`,
      "min ≤ max",
    );
  }
  if (!pass || !rollback) return;
  if (typeof pass.max === "number" && typeof rollback.max === "number" && pass.max > rollback.max) {
    findings.add(
      [...path, "pass", "max"],
      `${pass.max} is above the rollback max ${rollback.max}: a value could pass and roll back at once`,
      `pass.max ≤ rollback.max (${rollback.max})`,
    );
  }
  if (typeof pass.min === "number" && typeof rollback.min === "number" && pass.min < rollback.min) {
    findings.add(
      [...path, "pass", "min"],
      `${pass.min} is below the rollback min ${rollback.min}: a value could pass and roll back at once`,
      `pass.min ≥ rollback.min (${rollback.min})`,
    );
  }
  // The pass range must sit inside the rollback range: a rollback bound on a
  // side the pass range leaves open would roll back values that pass.
  if (typeof rollback.max === "number" && typeof pass.max !== "number") {
    findings.add(
      [...path, "pass"],
      `has no max while rollback has max ${rollback.max}: a value could pass and roll back at once`,
      `pass.max ≤ rollback.max (${rollback.max})`,
    );
  }
  if (typeof rollback.min === "number" && typeof pass.min !== "number") {
    findings.add(
      [...path, "pass"],
      `has no min while rollback has min ${rollback.min}: a value could pass and roll back at once`,
      `pass.min ≥ rollback.min (${rollback.min})`,
    );
  }
}

function checkCustomMetric(findings: Findings, metric: unknown, path: JsonPath): void {
  if (!isObject(metric) || !isObject(metric.queries)) return;
  const count = Object.keys(metric.queries).length;
  if (metric.expression === undefined && count > 1) {
    findings.add(
      [...path, "expression"],
      `is missing while there are ${count} queries`,
      "an expression over the query ids, or exactly one query",
    );
  }
}

/** The bake steps that use a gate, each with its duration and the new side's weight then (the last shift before it). */
function gateBakes(migration: Json, base: JsonPath, gateName: string): GateBake[] {
  const bakes: GateBake[] = [];
  let weight: number | undefined;
  for (const { step, path } of stepsOf(migration, base)) {
    if (step.kind === "shift" && typeof step.weight === "number") weight = step.weight;
    if (step.kind !== "bake" || step.gate !== gateName) continue;
    const seconds = typeof step.duration === "string" ? parseDuration(step.duration) : undefined;
    bakes.push({
      ...(seconds !== undefined ? { seconds } : {}),
      ...(weight !== undefined ? { weight } : {}),
      path,
    });
  }
  return bakes;
}

function checkGates(findings: Findings, migration: Json, base: JsonPath): void {
  if (!isObject(migration.gates)) return;
  for (const [gateName, gate] of Object.entries(migration.gates)) {
    if (!isObject(gate)) continue;
    const gatePath = [...base, "gates", gateName];
    checkGatePeriod(findings, gate.period, [...gatePath, "period"]);
    if (gate.checkCost === true && !isObject(migration.cost)) {
      findings.add(
        [...gatePath, "checkCost"],
        "is true but the migration has no cost section",
        "a cost section (monthlyProjectionUsd, tolerance, prices) on the migration, or checkCost false",
      );
    }
    for (const finding of compareCheckFindings(gate, gatePath, gateBakes(migration, base, gateName)))
      findings.add(finding.path, finding.message, finding.expected);
    const metrics = listOf(gate.metrics);
    checkUnique(
      findings,
      metrics.map((metric, index) => ({
        name: isObject(metric) ? metric.name : undefined,
        path: [...gatePath, "metrics", index, "name"],
        label: `metrics[${index}]`,
      })),
      "name",
    );
    metrics.forEach((metric, index) => {
      if (!isObject(metric)) return;
      const metricPath = [...gatePath, "metrics", index];
      checkThresholds(findings, metric, metricPath);
      checkCustomMetric(findings, metric.metric, [...metricPath, "metric"]);
      if (metric.side === "old" && metric.compareToOld !== undefined) {
        findings.add(
          [...metricPath, "compareToOld"],
          'compares the old side with itself (side is "old")',
          'compareToOld only on metrics of the new side (side "new" or absent)',
        );
      }
    });
  }
}

function checkLoadTest(findings: Findings, step: Json, path: JsonPath, environment: RuleEnvironment): void {
  const scenario = step.scenario;
  if (typeof scenario !== "string" || scenario === "") return;
  const scenarioPath = [...path, "scenario"];
  if (
    scenario.startsWith("/") ||
    /^[A-Za-z]:[\\/]/.test(scenario) ||
    scenario.split(/[\\/]/).includes("..")
  ) {
    findings.add(
      scenarioPath,
      `${JSON.stringify(scenario)} leaves the repository`,
      'a path relative to the repository root, e.g. "load-tests/smoke.yml"',
    );
    return;
  }
  if (!environment.fileExists(scenario)) {
    findings.add(
      scenarioPath,
      `${JSON.stringify(scenario)} does not exist`,
      "an Artillery scenario file in the repository, relative to the directory of the spec",
    );
  }
}

interface StepVisit {
  step: Json;
  path: JsonPath;
  phaseIndex: number;
}

function stepsOf(migration: Json, base: JsonPath): StepVisit[] {
  return listOf(migration.phases).flatMap((phase, phaseIndex) =>
    isObject(phase)
      ? listOf(phase.steps).flatMap((step, stepIndex) =>
          isObject(step)
            ? [{ step, path: [...base, "phases", phaseIndex, "steps", stepIndex], phaseIndex }]
            : [],
        )
      : [],
  );
}

function checkShiftWeight(findings: Findings, weight: unknown, path: JsonPath): void {
  if (typeof weight !== "number") return;
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    const problem = Number.isInteger(weight)
      ? `${weight} is outside 0–100`
      : `${weight} is not a whole percentage`;
    findings.add(path, problem, "an integer percentage 0–100");
  }
}

function checkSteps(findings: Findings, migration: Json, base: JsonPath, environment: RuleEnvironment): void {
  const phases = listOf(migration.phases);
  const lastPhase = phases.length - 1;
  const gateNames = isObject(migration.gates) ? Object.keys(migration.gates) : [];
  const lastPhaseName = isObject(phases[lastPhase]) ? String(phases[lastPhase].name) : "";
  // undefined once a shift weight is unreadable: the schema reports it, and the weight before decommissioning is unknown.
  let newWeight: number | undefined = 0;
  for (const { step, path, phaseIndex } of stepsOf(migration, base)) {
    switch (step.kind) {
      case "shift":
        checkShiftWeight(findings, step.weight, [...path, "weight"]);
        newWeight = typeof step.weight === "number" ? step.weight : undefined;
        break;
      case "bake":
        checkDuration(findings, step.duration, [...path, "duration"], false);
        if (typeof step.gate === "string" && !gateNames.includes(step.gate)) {
          findings.add(
            [...path, "gate"],
            `"${step.gate}" is not a gate of this migration`,
            `one of its gates: ${quoteList(gateNames)}`,
          );
        }
        break;
      case "load-test":
        checkLoadTest(findings, step, path, environment);
        break;
      case "decommission":
        checkDuration(findings, step.hold, [...path, "hold"], false);
        checkDuration(findings, step.quietWindow, [...path, "quietWindow"], false);
        if (phaseIndex !== lastPhase) {
          findings.add(
            path,
            `decommissions the old side before the last phase ("${lastPhaseName}")`,
            "a decommission step only in the last phase",
          );
        } else if (newWeight !== undefined && newWeight !== 100) {
          findings.add(
            path,
            `decommissions the old side while the phases before leave ${100 - newWeight} % of traffic on it`,
            "a shift to weight 100 in an earlier phase",
          );
        }
        break;
    }
  }
}

function checkPhases(findings: Findings, migration: Json, base: JsonPath): void {
  const phases = listOf(migration.phases);
  checkUnique(
    findings,
    phases.map((phase, index) => ({
      name: isObject(phase) ? phase.name : undefined,
      path: [...base, "phases", index, "name"],
      label: `phases[${index}]`,
    })),
    "name",
  );
  const names = phases.flatMap((phase) =>
    isObject(phase) && typeof phase.name === "string" ? [phase.name] : [],
  );
  // With no phases the schema already says so; "one of none" would add nothing.
  const desired = migration.phase;
  if (names.length > 0 && typeof desired === "string" && desired !== "" && !names.includes(desired)) {
    findings.add(
      [...base, "phase"],
      `"${migration.phase}" is not one of the phases`,
      `one of ${quoteList(names)}`,
    );
  }
}

function checkRouter(findings: Findings, migration: Json, base: JsonPath): void {
  const router = migration.router;
  if (!isObject(router)) return;
  if (typeof router.oldSetIdentifier === "string" && router.oldSetIdentifier === router.newSetIdentifier) {
    findings.add(
      [...base, "router", "newSetIdentifier"],
      `"${router.newSetIdentifier}" is also the oldSetIdentifier: both sides would be the same record`,
      "a set identifier different from oldSetIdentifier",
    );
  }
  if (typeof router.oldTargetGroupArn === "string" && router.oldTargetGroupArn === router.newTargetGroupArn) {
    findings.add(
      [...base, "router", "newTargetGroupArn"],
      `"${router.newTargetGroupArn}" is also the oldTargetGroupArn: both sides would be the same target group`,
      "a target group different from oldTargetGroupArn",
    );
  }
}

/**
 * A migration moves between platforms: a checkpoint records one Lambda
 * version and one ECS count and task definition, so two sides of the same
 * kind would overwrite each other's and a rollback would restore the wrong one.
 */
function checkSides(findings: Findings, migration: Json, base: JsonPath): void {
  const oldSide = migration.oldSide;
  const newSide = migration.newSide;
  if (!isObject(oldSide) || !isObject(newSide) || typeof oldSide.kind !== "string") return;
  if (oldSide.kind === newSide.kind) {
    findings.add(
      [...base, "newSide", "kind"],
      `"${newSide.kind}" is also the old side's kind: cutover moves traffic between two platforms, and its checkpoints keep one state per kind`,
      oldSide.kind === "ecs" ? '"lambda"' : '"ecs"',
    );
  }
}

/** Runs every rule over a parsed spec; findings carry paths but no file or line yet. */
export function specRuleFindings(document: unknown, environment: RuleEnvironment): RuleFinding[] {
  const findings = new Findings();
  if (!isObject(document)) return findings.list;
  const migrations = listOf(document.migrations);
  checkUnique(
    findings,
    migrations.map((migration, index) => ({
      name: isObject(migration) ? migration.id : undefined,
      path: ["migrations", index, "id"],
      label: `migrations[${index}]`,
    })),
    "id",
  );
  migrations.forEach((migration, index) => {
    if (!isObject(migration)) return;
    const base: JsonPath = ["migrations", index];
    checkRouter(findings, migration, base);
    checkSides(findings, migration, base);
    checkPhases(findings, migration, base);
    checkGates(findings, migration, base);
    checkSteps(findings, migration, base, environment);
    findings.list.push(...notificationRuleFindings(migration, base));
  });
  return findings.list;
}
