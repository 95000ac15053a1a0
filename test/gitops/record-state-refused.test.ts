// record-state against a real git remote whose state branch refuses pushes by
// a repository rule (GitHub's GH013): a successful rollback stands and its
// step succeeds with the status to commit; any other step fails, saying which
// rule and what to change, with nothing recorded.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type RecordStateActionInputs, runRecordState } from "../../src/ops/record-state.js";
import { GitStateStore } from "../../src/providers/git-state-store.js";
import { serialiseStatus } from "../../src/providers/state-store.js";
import { createLocalRemote, refusePushesByRule } from "../support/git-remote.js";
import { repoRoot } from "../support/run-action.js";
import { at, shiftedAndBaking, stagingPassed } from "./statuses.js";

function world() {
  const spec = readFileSync(join(repoRoot, "migrations.json"), "utf8").replace(
    /"phase": "[^"]*"/,
    '"phase": "canary-10"',
  );
  const baking = shiftedAndBaking(stagingPassed(), "canary-10", 10, 48);
  const remote = createLocalRemote({
    "migrations.json": spec,
    "status/orders-api.json": serialiseStatus(baking),
    ...Object.fromEntries(
      ["smoke.yml", "sustained-100rps.yml", "spike-500rps.yml"].map((name) => [
        `load-tests/${name}`,
        readFileSync(join(repoRoot, "load-tests", name), "utf8"),
      ]),
    ),
  });
  refusePushesByRule(remote, "main");
  const workspace = remote.clone();
  const outputs: Record<string, unknown> = {};
  const warnings: string[] = [];
  const record = (inputs: Partial<RecordStateActionInputs> & Pick<RecordStateActionInputs, "event">) =>
    runRecordState(
      { migration: "orders-api", outcome: "success", stepOutputs: {}, spec: "migrations.json", ...inputs },
      {
        run: { correlationId: "1-1", workspace },
        setOutput: (name, value) => {
          outputs[name] = value;
        },
        store: new GitStateStore({ workspace, branch: "main", specPath: "migrations.json", baseDelayMs: 5 }),
        warn: (message) => warnings.push(message),
        now: () => at(30),
      },
    );
  return { remote, outputs, warnings, record, before: remote.show("status/orders-api.json") };
}

describe("record-state when the state branch refuses the push", () => {
  it("lets a successful rollback stand: warns, names the rule, and puts the status to commit in the summary", async () => {
    const { remote, outputs, warnings, record, before } = world();
    const report = await record({
      event: "rolled-back",
      reason: "error rate 5 %",
      stepOutputs: { weights: '{"old":100,"new":0}' },
    });
    expect(outputs.refused).toBe("Changes must be made through a pull request.");
    expect(outputs.committed).toBe(false);
    expect(outputs.weights).toEqual({ old: 100, new: 0 });
    expect(outputs.phase).toBe("staging");
    expect(warnings.join("\n")).toMatch(/rollback of orders-api is done .*refused by the repository's rules/);
    expect(report.headline).toMatch(/The rollback stands/);
    const markdown = (report.markdown ?? []).join("\n");
    expect(markdown).toContain('"state": "rolled-back"');
    // Nothing reached the remote.
    expect(remote.show("status/orders-api.json")).toBe(before);
  });

  it("fails any other step with the rule and what to change, recording nothing", async () => {
    const { remote, outputs, record, before } = world();
    await expect(
      record({
        event: "gate-checked",
        stepOutputs: {
          verdict: "pass",
          gate: "standard",
          evidence: JSON.stringify({ kind: "gate", gate: "standard", verdict: "pass" }),
        },
      }),
    ).rejects.toThrow(
      /refused by the repository's rules: Changes must be made through a pull request\. Nothing was recorded.*stateBranch/,
    );
    expect(outputs.refused).toBeUndefined();
    expect(remote.show("status/orders-api.json")).toBe(before);
  });
});
