import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineContract } from "../../src/action/contract.js";
import { InputError, InputReader } from "../../src/action/inputs.js";
import { parseOutputFile, repoRoot } from "../support/run-action.js";

function runFixture(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "cutover-run-"));
  const output = join(dir, "out");
  const summary = join(dir, "summary");
  writeFileSync(output, "");
  writeFileSync(summary, "");
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "test/fixtures/action/throwing-action.ts")],
    {
      cwd: repoRoot,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_RUN_ID: "77",
        INPUT_MIGRATION: "orders-api",
        ...env,
      },
    },
  );
  return {
    status: result.status,
    stdout: result.stdout,
    outputs: parseOutputFile(readFileSync(output, "utf8")),
    summary: readFileSync(summary, "utf8"),
  };
}

describe("runAction", () => {
  it("fails the step when the body throws a plain string", () => {
    const run = runFixture({ THROWN: "string" });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("::error::a plain string");
    expect(run.summary).toContain("a plain string");
  });

  it("fails the step when the body throws a non-Error object", () => {
    const run = runFixture({ THROWN: "object" });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error::{"code":42}');
  });

  it("succeeds, writes outputs and a summary, and logs with the migration and correlation id", () => {
    const run = runFixture({ INPUT_WEIGHT: "50" });
    expect(run.status).toBe(0);
    expect(run.outputs.weight).toBe("50");
    expect(run.summary).toContain("## ok");
    expect(run.stdout).toMatch(/migration=orders-api correlation=77-1 msg="read the weight" weight=50/);
  });

  it("names the input in a validation failure", () => {
    const run = runFixture({ INPUT_WEIGHT: "150" });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error::input "weight": 150 is outside 0–100');
  });
});

describe("InputReader", () => {
  const contract = defineContract({
    name: "t",
    description: "t",
    inputs: {
      mode: { description: "m", default: "bake" },
      when: { description: "w" },
      flag: { description: "f" },
      window: { description: "d" },
    },
    outputs: {},
  });
  const reader = (values: Record<string, string>) => new InputReader(contract, (name) => values[name] ?? "");

  it("applies defaults from the contract and checks choices", () => {
    expect(reader({}).choice("mode", ["bake", "check"])).toBe("bake");
    expect(() => reader({ mode: "soak" }).choice("mode", ["bake", "check"])).toThrow(
      'input "mode": "soak" is not one of "bake", "check"',
    );
  });

  it("rejects malformed booleans, timestamps and durations with the input's name", () => {
    expect(() => reader({ flag: "yes" }).boolean("flag")).toThrow(InputError);
    expect(() => reader({ when: "yesterday" }).timestamp("when")).toThrow(
      /input "when": "yesterday" is not an ISO-8601/,
    );
    expect(() => reader({ window: "2 days" }).duration("window")).toThrow(
      /input "window": "2 days" is not a duration/,
    );
    expect(reader({ window: "1h30m" }).duration("window")).toBe(5400);
  });

  it("refuses to read an input the contract does not declare", () => {
    expect(() => reader({}).optional("other" as "mode")).toThrow(/not declared/);
  });
});
