// The checks a reviewer would run on every change, kept in the test command so
// CI cannot pass with stale bundles, type errors or lint findings.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/run-action.js";

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe("repository quality", () => {
  it("bundled actions are current with their sources (dist check)", { timeout: 240_000 }, () => {
    const result = run(process.execPath, ["scripts/check-dist.mjs"]);
    expect(result.output).toContain("dist is current");
    expect(result.status).toBe(0);
  });

  it("type-checks under the strict tsconfig", { timeout: 240_000 }, () => {
    const result = run(process.execPath, [
      "node_modules/typescript/bin/tsc",
      "--noEmit",
      "-p",
      "tsconfig.json",
    ]);
    expect(result.output.trim().split("\n").slice(0, 40).join("\n")).not.toMatch(/error TS/);
    expect(result.status).toBe(0);
  });

  it("passes the formatter and linter", { timeout: 120_000 }, () => {
    const result = run(process.execPath, ["node_modules/@biomejs/biome/bin/biome", "check", "."]);
    expect(result.output.slice(-3000)).not.toMatch(/Found \d+ errors?/);
    expect(result.status).toBe(0);
  });
});
