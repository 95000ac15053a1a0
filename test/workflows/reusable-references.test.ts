// How the workflow runner resolves what a reusable workflow refers to, as GitHub does: a caller's
// `<owner>/<repo>/.github/workflows/<file>@<ref>` in the called repository, `$/` references in the called
// workflow's own repository, and this repository's composite actions (the rollback lock) run step by step.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLocalRemote, git } from "../support/git-remote.js";
import { runWorkflow } from "../support/workflow-runner.js";

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "cutover-workflows-"));
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const caller = dirWith({
  "caller.yml": `on: workflow_dispatch
permissions: {}
jobs:
  go:
    uses: acme/tools/.github/workflows/called.yml@v1
    with:
      migration: \${{ inputs.migration }}
`,
});

const tools = dirWith({
  "called.yml": `on:
  workflow_call:
    inputs:
      migration:
        type: string
        required: true
permissions: {}
jobs:
  check:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - id: lock
        uses: $/.github/actions/rollback-lock
        with:
          operation: check
          migration: \${{ inputs.migration }}
          token: \${{ github.token }}
  nested:
    needs: check
    uses: $/.github/workflows/inner.yml
`,
  "inner.yml": `on: workflow_call
permissions: {}
jobs:
  inner:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - id: say
        run: echo "said=inner" >> "$GITHUB_OUTPUT"
`,
});

function run(remote: ReturnType<typeof createLocalRemote>) {
  return runWorkflow({
    workflow: "caller.yml",
    workflowsDir: caller,
    repositories: { "acme/tools": tools },
    eventName: "workflow_dispatch",
    eventPayload: { inputs: { migration: "orders-api" }, ref: "refs/heads/main" },
    checkout: () => remote.clone(),
    env: {},
    token: "",
  });
}

describe("references a reusable workflow makes", () => {
  it("runs the called repository's workflow, its $/ workflow and the composite lock check", async () => {
    const remote = createLocalRemote({ "README.md": "payments\n" });
    const result = await run(remote);
    expect(result.jobs.map((job) => `${job.id}:${job.result}`)).toEqual([
      "go / check:success",
      "go / nested / inner:success",
      "go / nested:success",
      "go:success",
    ]);
    expect(result.step("go / check", "lock").inputs).toEqual({
      operation: "check",
      migration: "orders-api",
      token: "",
    });
    expect(result.step("go / nested / inner", "say").outputs).toEqual({ said: "inner" });
    expect(result.step("go / check", "lock").stdout).toContain(
      "no rollback holds refs/cutover/rollback/orders-api",
    );
  });

  it("fails the composite step while a rollback holds the lock", async () => {
    const remote = createLocalRemote({ "README.md": "payments\n" });
    git(remote.clone("holder"), "push", "--quiet", "origin", "HEAD:refs/cutover/rollback/orders-api");
    const result = await run(remote);
    const lock = result.step("go / check", "lock");
    expect(lock.outcome).toBe("failure");
    expect(lock.stderr).toContain(
      "refs/cutover/rollback/orders-api is held: a rollback of orders-api is running",
    );
    expect(result.job("go / nested").result).toBe("skipped");
  });

  it("refuses a reference to a repository the test did not map", async () => {
    await expect(
      runWorkflow({
        workflow: "caller.yml",
        workflowsDir: caller,
        eventName: "workflow_dispatch",
        eventPayload: { inputs: { migration: "orders-api" } },
        checkout: () => mkdtempSync(join(tmpdir(), "cutover-empty-")),
        env: {},
        token: "",
      }),
    ).rejects.toThrow(
      "acme/tools/.github/workflows/called.yml@v1: neither local nor in a repository the test maps",
    );
  });
});
