// A spec's scenario paths are relative to the spec's directory, as `cutover validate` checks them, so a
// repository that keeps its spec in a subdirectory runs the scenarios validation found.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MigrationsFile } from "../../src/model/spec.js";
import { runLoadTest } from "../../src/ops/load-test.js";
import { loadSpec } from "../../src/spec/files.js";
import { repoRoot } from "../support/run-action.js";

const quiet = { info: () => {}, warn: () => {} };

/** A workspace with the example spec in platform/, its scenarios in `scenarioDir`, and an Artillery that fails. */
function workspace(scenarioDir: string): string {
  const root = mkdtempSync(join(tmpdir(), "cutover-scenarios-"));
  const spec = JSON.parse(readFileSync(join(repoRoot, "migrations.json"), "utf8")) as MigrationsFile;
  mkdirSync(join(root, "platform"));
  writeFileSync(join(root, "platform", "migrations.json"), JSON.stringify(spec, null, 2));
  mkdirSync(join(root, scenarioDir), { recursive: true });
  for (const scenario of ["smoke.yml", "sustained-100rps.yml", "spike-500rps.yml"]) {
    writeFileSync(join(root, scenarioDir, scenario), readFileSync(join(repoRoot, "load-tests", scenario)));
  }
  mkdirSync(join(root, "node_modules", ".bin"), { recursive: true });
  const artillery = join(root, "node_modules", ".bin", "artillery");
  writeFileSync(artillery, '#!/bin/sh\necho "ran $*"\nexit 3\n');
  chmodSync(artillery, 0o755);
  return root;
}

function request(root: string) {
  return {
    workspace: root,
    specPath: "platform/migrations.json",
    migrationId: "orders-api",
    phase: "staging",
    step: "load-tests/smoke.yml",
    target: "http://127.0.0.1:9",
    thresholds: {},
    reportPath: "reports/smoke.json",
    installDir: join(root, "tools"),
  };
}

describe("load-test scenario paths", () => {
  it("reads a spec step's scenario beside the spec, where validation looks for it", async () => {
    const root = workspace("platform/load-tests");
    await expect(loadSpec(join(root, "platform", "migrations.json"))).resolves.toMatchObject({ version: 1 });
    // The scenario is read and handed to Artillery (which here fails without a report).
    await expect(runLoadTest(request(root), { log: quiet })).rejects.toThrow(
      /Artillery exited with 3 and wrote no report/,
    );
  });

  it("does not fall back to the repository root", async () => {
    const root = workspace("load-tests");
    await expect(loadSpec(join(root, "platform", "migrations.json"))).rejects.toThrow(
      /load-tests\/smoke\.yml/,
    );
    await expect(runLoadTest(request(root), { log: quiet })).rejects.toThrow(
      /scenario load-tests\/smoke\.yml \(orders-api phase staging load-test step \d+\) cannot be read/,
    );
  });
});
