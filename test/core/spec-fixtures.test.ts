// Every malformed spec in test/fixtures/specs/ is rejected with exactly one
// error, at the JSON path a reviewer would point at, on the right line.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { locateJson, toPointer } from "../../src/core/json-locations.js";
import { formatSpecError, validateSpecText } from "../../src/core/validate.js";
import { repoRoot } from "../support/run-action.js";

const FIXTURES = join(repoRoot, "test/fixtures/specs");
const SCENARIOS = new Set([
  "load-tests/smoke.yml",
  "load-tests/sustained-100rps.yml",
  "load-tests/spike-500rps.yml",
]);

/** Fixture → the path its one error must name, and words its message must contain. */
const CASES: Record<string, { path: string; says: string }> = {
  "bad-bake-duration": { path: "migrations[0].phases[1].steps[1].duration", says: '"48 hours"' },
  "bad-gate-period": { path: "migrations[0].gates.standard.period", says: "not a period CloudWatch accepts" },
  "bad-hold-duration": { path: "migrations[0].phases[4].steps[0].hold", says: '"two days"' },
  "bad-metric-preset": {
    path: "migrations[0].gates.standard.metrics[0].metric",
    says: '"error-ratio" is not allowed',
  },
  "bad-migration-id": { path: "migrations[0].id", says: '"Orders API"' },
  "bad-query-id": {
    path: "migrations[0].gates.standard.metrics[2].metric.queries.ColdStarts",
    says: '"ColdStarts"',
  },
  "bad-record-type": { path: "migrations[0].router.recordType", says: '"TXT" is not allowed' },
  "bad-telemetry-kind": { path: "migrations[0].newSide.telemetry.kind", says: 'unknown kind "lambda-url"' },
  "bad-weight-150": { path: "migrations[0].phases[2].steps[0].weight", says: "150 is outside 0–100" },
  "bad-weight-fraction": {
    path: "migrations[0].phases[1].steps[0].weight",
    says: "12.5 is not a whole number",
  },
  "check-cost-without-cost": { path: "migrations[0].gates.standard.checkCost", says: "no cost section" },
  "compare-old-with-itself": {
    path: "migrations[0].gates.standard.metrics[0].compareToOld",
    says: "old side with itself",
  },
  "custom-metric-without-expression": {
    path: "migrations[0].gates.standard.metrics[2].metric.expression",
    says: "2 queries",
  },
  "decommission-before-full-traffic": {
    path: "migrations[0].phases[4].steps[0]",
    says: "leave 10 % of traffic",
  },
  "decommission-not-last": { path: "migrations[0].phases[2].steps[2]", says: "before the last phase" },
  "duplicate-metric-name": {
    path: "migrations[0].gates.standard.metrics[1].name",
    says: "also the name of metrics[0]",
  },
  "duplicate-migration-id": { path: "migrations[1].id", says: "also the id of migrations[0]" },
  "duplicate-phase-name": { path: "migrations[0].phases[2].name", says: "also the name of phases[1]" },
  "empty-override-reason": { path: "migrations[0].override.reason", says: '"  "' },
  "empty-pass-threshold": { path: "migrations[0].gates.standard.metrics[2].pass", says: "empty object" },
  "error-rate-above-one": {
    path: "migrations[0].phases[0].steps[2].thresholds.maxErrorRate",
    says: "5 is outside 0–1",
  },
  "min-samples-zero": { path: "migrations[0].gates.standard.minSamples", says: "0 is below the minimum 1" },
  "missing-hosted-zone": { path: "migrations[0].router.hostedZoneId", says: "is missing" },
  "missing-scenario": { path: "migrations[0].phases[0].steps[1].scenario", says: "does not exist" },
  "misspelt-field": { path: "migrations[0].phases[1].steps[0].weigth", says: 'unknown field "weigth"' },
  "no-phases": { path: "migrations[0].phases", says: "empty list" },
  "pass-above-rollback": {
    path: "migrations[0].gates.standard.metrics[1].pass.max",
    says: "above the rollback max 1000",
  },
  "pass-min-below-rollback-min": {
    path: "migrations[0].gates.standard.metrics[4].pass.min",
    says: "below the rollback min 500",
  },
  "pass-open-below-rollback-min": {
    path: "migrations[0].gates.standard.metrics[4].pass",
    says: "has no min while rollback has min 500",
  },
  "same-set-identifiers": {
    path: "migrations[0].router.newSetIdentifier",
    says: "also the oldSetIdentifier",
  },
  "scenario-outside-repo": {
    path: "migrations[0].phases[0].steps[3].scenario",
    says: "leaves the repository",
  },
  "unknown-desired-phase": { path: "migrations[0].phase", says: '"canary-20" is not one of the phases' },
  "unknown-gate": { path: "migrations[0].phases[1].steps[1].gate", says: '"strict" is not a gate' },
  "unknown-step-kind": { path: "migrations[0].phases[1].steps[1].kind", says: 'unknown kind "pause"' },
  "weights-as-string": { path: "migrations[0].phases[3].steps[0].weight", says: '"100" is a string' },
  "wrong-version": { path: "version", says: "2 is not allowed" },
  "zero-bake-duration": { path: "migrations[0].phases[2].steps[1].duration", says: '"0h" is zero' },
};

/** The pointer of a readable path, for finding its line independently of the validator. */
function pointerOf(path: string): string {
  const segments = [...path.matchAll(/([A-Za-z_$][\w$-]*)|\[(\d+)\]/g)].map((match) =>
    match[2] === undefined ? match[1]! : Number(match[2]),
  );
  return toPointer(segments);
}

describe("malformed spec fixtures", () => {
  it("there is a case for every fixture file, and at least 20", () => {
    const files = readdirSync(FIXTURES)
      .filter((name) => name.endsWith(".json"))
      .map((name) => name.replace(/\.json$/, ""))
      .sort();
    expect(files).toEqual(Object.keys(CASES).sort());
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it.each(Object.entries(CASES))("%s is rejected at its JSON path", (name, { path, says }) => {
    const file = `${name}.json`;
    const text = readFileSync(join(FIXTURES, file), "utf8");
    const result = validateSpecText(text, { file, fileExists: (candidate) => SCENARIOS.has(candidate) });
    expect(result.ok).toBe(false);
    expect(result.errors.map((error) => error.path)).toEqual([path]);
    const [error] = result.errors;
    expect(error!.message).toContain(says);
    expect(error!.expected.length).toBeGreaterThan(0);
    // The line is the value's own line, or for a missing field the line of the object that lacks it.
    const locations = locateJson(text);
    let pointer = pointerOf(path);
    while (!locations.lines.has(pointer)) pointer = pointer.slice(0, pointer.lastIndexOf("/"));
    expect(error!.line).toBe(locations.lines.get(pointer));
    expect(formatSpecError(error!)).toBe(
      `${file}:${error!.line} ${path}: ${error!.message} (expected ${error!.expected})`,
    );
  });
});
