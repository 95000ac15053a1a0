import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { locateJson, toPointer } from "../../src/core/json-locations.js";
import { renderJsonPath } from "../../src/core/spec-error.js";
import { formatSpecError, validateSpecText, validateStatusText } from "../../src/core/validate.js";
import { initialStatus } from "../../src/model/status.js";
import { repoRoot } from "../support/run-action.js";

const example = readFileSync(join(repoRoot, "migrations.json"), "utf8");
const allFilesExist = { file: "migrations.json", fileExists: () => true };

describe("json locations", () => {
  it("maps each value's pointer to its line", () => {
    const text = '{\n  "a": 1,\n  "b": [\n    {"c": true},\n    "d"\n  ],\n  "e/f": {}\n}\n';
    const { lines, syntaxError } = locateJson(text);
    expect(syntaxError).toBeUndefined();
    expect(lines.get("")).toBe(1);
    expect(lines.get("/a")).toBe(2);
    expect(lines.get("/b")).toBe(3);
    expect(lines.get("/b/0")).toBe(4);
    expect(lines.get("/b/0/c")).toBe(4);
    expect(lines.get("/b/1")).toBe(5);
    expect(lines.get(toPointer(["e/f"]))).toBe(7);
  });

  it("says where a syntax error is", () => {
    expect(locateJson('{\n  "a": 1,\n}').syntaxError).toMatchObject({ line: 3, column: 1 });
    expect(locateJson('{"a": "unterminated\n}').syntaxError?.message).toContain("unterminated string");
    expect(locateJson("[1, 2] 3").syntaxError?.message).toContain("after the end");
  });

  it("handles escapes in keys and strings", () => {
    const { lines, syntaxError } = locateJson('{"a\\"b": "x\\\\", "t": "\\u00e9"}');
    expect(syntaxError).toBeUndefined();
    expect(lines.get('/a"b')).toBe(1);
  });
});

describe("paths", () => {
  it("renders indexes in brackets and odd keys quoted", () => {
    expect(renderJsonPath(["migrations", 0, "gates", "standard", "metrics", 1, "pass"])).toBe(
      "migrations[0].gates.standard.metrics[1].pass",
    );
    expect(renderJsonPath(["dimensions", "a.b"])).toBe('dimensions["a.b"]');
    expect(renderJsonPath([])).toBe("");
  });

  it("formats an error as file:line path: message (expected …)", () => {
    expect(
      formatSpecError({
        file: "migrations.json",
        line: 12,
        path: "migrations[0].phases[2].steps[0].weight",
        message: "150 is outside 0–100",
        expected: "an integer percentage 0–100",
      }),
    ).toBe(
      "migrations.json:12 migrations[0].phases[2].steps[0].weight: 150 is outside 0–100 (expected an integer percentage 0–100)",
    );
  });
});

describe("validateSpecText", () => {
  it("accepts the example spec and returns it typed", () => {
    const result = validateSpecText(example, allFilesExist);
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(result.value.migrations[0]!.phases.map((phase) => phase.name)).toEqual([
        "staging",
        "canary-10",
        "canary-50",
        "full",
        "decommission",
      ]);
  });

  it.each(["1s", "5s", "10s", "20s", "30s", "1m", "5m"])("accepts %s as a gate period", (period) => {
    const spec = JSON.parse(example);
    spec.migrations[0].gates.standard.period = period;
    expect(validateSpecText(JSON.stringify(spec, null, 2), allFilesExist).ok).toBe(true);
  });

  it.each(["15s", "45s", "90s"])("refuses %s as a gate period, naming the accepted ones", (period) => {
    const spec = JSON.parse(example);
    spec.migrations[0].gates.standard.period = period;
    const result = validateSpecText(JSON.stringify(spec, null, 2), allFilesExist);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      const text = result.errors.map((error) => formatSpecError(error)).join("\n");
      expect(text).toContain("migrations[0].gates.standard.period");
      expect(text).toContain("20s");
    }
  });

  it("refuses two sides of the same kind, naming the new side's kind", () => {
    const spec = JSON.parse(example);
    spec.migrations[0].newSide = { ...spec.migrations[0].oldSide, service: "orders-api-v2" };
    const result = validateSpecText(JSON.stringify(spec, null, 2), allFilesExist);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((error) => error.path)).toEqual(["migrations[0].newSide.kind"]);
      expect(result.errors[0]!.message).toContain("is also the old side's kind");
    }
  });

  it("asks for each scenario file relative to the spec", () => {
    const asked: string[] = [];
    const fileExists = (path: string) => {
      asked.push(path);
      return true;
    };
    validateSpecText(example, { file: "migrations.json", fileExists });
    expect(asked).toEqual([
      "load-tests/smoke.yml",
      "load-tests/sustained-100rps.yml",
      "load-tests/spike-500rps.yml",
    ]);
  });

  it("reports every error at once, schema and rules together, in line order", () => {
    const spec = JSON.parse(example);
    const migration = spec.migrations[0];
    migration.phases[1].steps[1].weight = 150;
    migration.phases[2].steps[1].gate = "nope";
    migration.router.newSetIdentifier = migration.router.oldSetIdentifier;
    delete migration.description;
    const result = validateSpecText(JSON.stringify(spec, null, 2), {
      file: "m.json",
      fileExists: () => false,
    });
    expect(result.ok).toBe(false);
    const paths = result.errors.map((error) => error.path);
    expect(paths).toEqual([
      "migrations[0].description",
      "migrations[0].router.newSetIdentifier",
      "migrations[0].phases[0].steps[1].scenario",
      "migrations[0].phases[0].steps[2].scenario",
      "migrations[0].phases[0].steps[3].scenario",
      "migrations[0].phases[1].steps[1].weight",
      "migrations[0].phases[2].steps[1].gate",
    ]);
    const lines = result.errors.map((error) => error.line ?? 0);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
  });

  it("does not repeat a rule's finding where the schema already explains the path", () => {
    const spec = JSON.parse(example);
    spec.migrations[0].phases[1].steps[1].weight = -5;
    const result = validateSpecText(JSON.stringify(spec), allFilesExist);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.message).toBe("-5 is outside 0–100");
  });

  it("reports invalid JSON with its line and nothing else", () => {
    const result = validateSpecText('{\n  "version": 1,\n  "migrations": [\n}\n', allFilesExist);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ path: "", line: 4 });
    expect(formatSpecError(result.errors[0]!)).toMatch(/^migrations\.json:4: not valid JSON: /);
  });

  it("reports a document that is not an object", () => {
    const result = validateSpecText("[]", allFilesExist);
    expect(result.errors[0]).toMatchObject({ path: "", message: "[] is a list" });
  });
});

describe("validateStatusText", () => {
  const now = new Date("2026-03-01T12:00:00.000Z");

  it("accepts the initial status", () => {
    const text = JSON.stringify(initialStatus("orders-api", now));
    expect(validateStatusText(text, "status/orders-api.json", "orders-api").errors).toEqual([]);
  });

  it("rejects weights that do not sum to 100, a foreign migration and an unknown state", () => {
    const status = { ...initialStatus("other", now), weights: { old: 60, new: 30 }, state: "paused" };
    const result = validateStatusText(
      JSON.stringify(status, null, 2),
      "status/orders-api.json",
      "orders-api",
    );
    expect(result.errors.map((error) => error.path).sort()).toEqual(["migration", "state", "weights"]);
    expect(result.errors.find((error) => error.path === "weights")?.message).toBe("old 60 + new 30 = 90");
  });

  it("rejects a timestamp that is not ISO 8601", () => {
    const status = initialStatus("orders-api", now);
    status.timestamps.updatedAt = "yesterday";
    const result = validateStatusText(JSON.stringify(status), "s.json");
    expect(result.errors.map((error) => error.path)).toEqual(["timestamps.updatedAt"]);
  });
});
