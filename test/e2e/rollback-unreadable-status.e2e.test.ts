// An all-old rollback is never blocked by bookkeeping: with status/<id>.json
// not even JSON, the bundled rollback action reads what it needs from the
// AWS-side checkpoint (or the spec alone), reads the true weights from
// Route 53, rolls back, and says what it could not read.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type GuardianWorld, startGuardianWorld } from "../fixtures/guardian/world.js";
import { TrafficWorkspace } from "../fixtures/traffic/workspace.js";
import { runBundledAction } from "../support/run-action.js";

let world: GuardianWorld | undefined;
let workspace: TrafficWorkspace | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
  if (workspace) rmSync(workspace.dir, { recursive: true, force: true });
  workspace = undefined;
});

function action(name: "shift-traffic" | "rollback", inputs: Record<string, string>) {
  return runBundledAction(name, {
    inputs,
    env: world!.sandbox.env,
    workspace: workspace!.dir,
    timeoutMs: 30_000,
  });
}

function breakStatus(): void {
  writeFileSync(join(workspace!.dir, "status", "orders-api.json"), "{ this is not JSON\n");
}

describe("rollback with a status that cannot be read (bundled, on the sandbox)", () => {
  it("sends all traffic to the old side from the AWS-side checkpoint, saying what it could not read", async () => {
    world = await startGuardianWorld();
    workspace = new TrafficWorkspace(world.migration);
    const store = world.install.store;
    expect(
      (await action("shift-traffic", { migration: "orders-api", weight: "50", "checkpoint-store": store }))
        .exitCode,
    ).toBe(0);
    breakStatus();
    const run = await action("rollback", {
      migration: "orders-api",
      reason: "status file broken at 3 a.m.",
      "target-phase": "all-old",
      "checkpoint-store": store,
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(await world.weights()).toEqual([100, 0]);
    expect(run.summary).toContain("Could not read the spec and status");
    expect(run.summary).toContain("Using the AWS-side checkpoint");
    expect(JSON.parse(run.outputs.weights!)).toEqual({ old: 100, new: 0 });
  }, 60_000);

  it("sends all traffic to the old side from the spec alone when there is no checkpoint store", async () => {
    world = await startGuardianWorld();
    workspace = new TrafficWorkspace(world.migration);
    expect((await action("shift-traffic", { migration: "orders-api", weight: "10" })).exitCode).toBe(0);
    breakStatus();
    const run = await action("rollback", {
      migration: "orders-api",
      reason: "status broken",
      "target-phase": "all-old",
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(await world.weights()).toEqual([100, 0]);
    expect(run.summary).toContain("an all-old rollback goes ahead on what AWS holds");
  }, 60_000);

  it("still refuses a rollback to the last checkpoint, which only the status can name, and changes nothing", async () => {
    world = await startGuardianWorld();
    workspace = new TrafficWorkspace(world.migration);
    expect((await action("shift-traffic", { migration: "orders-api", weight: "10" })).exitCode).toBe(0);
    breakStatus();
    const run = await action("rollback", { migration: "orders-api", reason: "status broken" });
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toMatch(/status/);
    expect(await world.weights()).toEqual([90, 10]);
  }, 60_000);
});
