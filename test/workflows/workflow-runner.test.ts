// The test runner's semantics, pinned on a workflow of shell steps only, so
// the end-to-end tests stand on a runner that behaves like GitHub's.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/run-action.js";
import { runWorkflow } from "../support/workflow-runner.js";

const workflowsDir = join(repoRoot, "test", "fixtures", "gitops", "workflows");

function run(failAt: string, killAfter?: { job: string; step: string }) {
  return runWorkflow({
    workflow: "chain.yml",
    workflowsDir,
    eventName: "workflow_dispatch",
    eventPayload: { inputs: { "fail-at": failAt }, ref: "refs/heads/main" },
    checkout: () => mkdtempSync(join(tmpdir(), "cutover-runner-")),
    env: {},
    token: "ghs_test",
    killAfter,
  });
}

describe("workflow runner", () => {
  it("runs jobs in needs order, expands a matrix from JSON and passes outputs on", async () => {
    const result = await run("");
    expect(result.jobs.map((job) => `${job.id}:${job.result}`)).toEqual([
      "list:success",
      "work (a, 10):success",
      "work (b, 50):success",
      "skipped:skipped",
      "after-skipped:skipped",
      "rollback:skipped",
      "called / inner:success",
      "called:success",
    ]);
    expect(result.step("work (b, 50)", "shift").outputs).toEqual({ shifted: "b" });
    // Inputs of the called workflow: given ones evaluated, missing ones from their defaults.
    expect(result.step("called / inner", "echo").outputs).toEqual({ said: "x-success/fallback" });
  });

  it("skips later steps after a failure and runs a failure() job whose condition holds", async () => {
    const result = await run("work-a");
    expect(result.job("work (a, 10)").result).toBe("failure");
    expect(result.step("work (a, 10)", "after").outcome).toBe("skipped");
    expect(result.job("rollback").result).toBe("success");
    expect(result.job("called").result).toBe("skipped");
  });

  it("stops everything after the killed step, as a runner that died", async () => {
    const result = await run("", { job: "work (a, 10)", step: "shift" });
    expect(result.killed).toBe(true);
    expect(result.jobs.map((job) => `${job.id}:${job.result}`)).toEqual([
      "list:success",
      "work (a, 10):killed",
    ]);
  });

  it("refuses an event the workflow does not run on", async () => {
    await expect(
      runWorkflow({
        workflow: "chain.yml",
        workflowsDir,
        eventName: "push",
        eventPayload: {},
        checkout: () => tmpdir(),
        env: {},
        token: "t",
      }),
    ).rejects.toThrow(/does not run on push/);
  });
});
