// The bundled select-migrations action, run as the runner runs it, on a clone
// of a local remote: the matrix the apply, monitor and rollback workflows use.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { MigrationsFile } from "../../src/model/spec.js";
import { createLocalRemote } from "../support/git-remote.js";
import { repoRoot, runBundledAction } from "../support/run-action.js";

const example = readFileSync(join(repoRoot, "migrations.json"), "utf8");

function withPhase(phase: string): string {
  const spec = JSON.parse(example) as MigrationsFile;
  spec.migrations[0]!.phase = phase;
  return `${JSON.stringify(spec, null, 2)}\n`;
}

describe("select-migrations", () => {
  it("lists the migration whose phase changed, with the phase's environment, weight and gate", async () => {
    const remote = createLocalRemote({ "migrations.json": withPhase("staging") });
    const before = remote.tip();
    remote.push({ "migrations.json": withPhase("canary-10") }, "orders-api: canary-10");
    const run = await runBundledAction("select-migrations", {
      inputs: { select: "changed", base: before },
      workspace: remote.clone(),
      eventName: "push",
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.matrix!)).toEqual([
      {
        migration: "orders-api",
        phase: "canary-10",
        environment: "production",
        deploy: "true",
        scenarios: [],
        weight: "10",
        gate: "standard",
      },
    ]);
    expect(run.outputs.count).toBe("1");
    expect(run.summary).toContain("orders-api → canary-10");
  });

  it("lists nothing when no phase changed, and everything on a new branch's all-zero before", async () => {
    const remote = createLocalRemote({ "migrations.json": withPhase("staging") });
    const same = await runBundledAction("select-migrations", {
      inputs: { select: "changed", base: remote.tip() },
      workspace: remote.clone(),
    });
    expect(same.outputs.count).toBe("0");
    const fresh = await runBundledAction("select-migrations", {
      inputs: { select: "changed", base: "0".repeat(40) },
      workspace: remote.clone(),
    });
    expect(JSON.parse(fresh.outputs.matrix!)[0]).toMatchObject({ phase: "staging", deploy: "true" });
    expect(JSON.parse(fresh.outputs.matrix!)[0].scenarios).toHaveLength(3);
  });

  it("refuses a rollback request naming an unknown migration or phase, naming the input", async () => {
    const remote = createLocalRemote({ "migrations.json": withPhase("canary-10") });
    const unknown = await runBundledAction("select-migrations", {
      inputs: { select: "named", migration: "payments" },
      workspace: remote.clone(),
    });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stdout).toMatch(
      /input "migration": no migration "payments" in migrations.json; it defines "orders-api"/,
    );
    const badPhase = await runBundledAction("select-migrations", {
      inputs: { select: "named", migration: "orders-api", "target-phase": "canary-20" },
      workspace: remote.clone(),
    });
    expect(badPhase.exitCode).toBe(1);
    expect(badPhase.stdout).toMatch(/input "target-phase": "canary-20" is not a phase of "orders-api"/);
  });

  it("lists baking migrations from the recorded status on the state branch", async () => {
    const remote = createLocalRemote({ "migrations.json": withPhase("canary-10") });
    const status = {
      version: 1,
      migration: "orders-api",
      phase: "canary-10",
      state: "baking",
      weights: { old: 90, new: 10 },
      checkpoints: [],
      timestamps: { updatedAt: "2026-03-01T12:00:00Z" },
      history: [],
    };
    remote.push({ "status/orders-api.json": `${JSON.stringify(status, null, 2)}\n` }, "status", "main");
    const run = await runBundledAction("select-migrations", {
      inputs: { select: "baking", token: "ghs_test" },
      workspace: remote.clone(),
      eventName: "schedule",
      eventPayload: { schedule: "*/15 * * * *" },
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.matrix!)).toMatchObject([
      { migration: "orders-api", phase: "canary-10", gate: "standard" },
    ]);
  });

  it("selects a passed phase with traffic on the new side for an alarm, and not a done one", async () => {
    const remote = createLocalRemote({ "migrations.json": withPhase("canary-10") });
    const status = {
      version: 1,
      migration: "orders-api",
      phase: "canary-10",
      state: "passed",
      weights: { old: 90, new: 10 },
      checkpoints: [],
      timestamps: { updatedAt: "2026-03-01T12:00:00Z" },
      history: [],
    };
    remote.push({ "status/orders-api.json": `${JSON.stringify(status, null, 2)}\n` }, "status", "main");
    const run = await runBundledAction("select-migrations", {
      inputs: { select: "baking", migration: "orders-api", token: "ghs_test" },
      workspace: remote.clone(),
      eventName: "repository_dispatch",
      eventPayload: { action: "cutover-alarm", client_payload: { migration: "orders-api" } },
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.matrix!)).toMatchObject([
      { migration: "orders-api", phase: "canary-10", gate: "standard", window: "1h" },
    ]);
  });
});
