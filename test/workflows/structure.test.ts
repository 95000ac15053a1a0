// The structure of every workflow: least privilege, environments around AWS
// changes, OIDC only, per-migration concurrency that never cancels, timeouts,
// pinned third-party actions and no untrusted values interpolated into shell.
import { describe, expect, it } from "vitest";
import {
  checkAwsCredentials,
  checkConcurrency,
  checkEnvironments,
  checkJobPermissions,
  checkPinnedActions,
  checkPlanIsForkSafe,
  checkShellInterpolation,
  checkTimeouts,
  checkTopLevelPermissions,
  type Finding,
  workflowFiles,
  workflowFromSource,
} from "./rules.js";

const files = workflowFiles();

function describeFindings(findings: Finding[]): string[] {
  return findings.map((f) => `${f.workflow}${f.job ? ` job ${f.job}` : ""}: ${f.message}`);
}

describe("workflow structure", () => {
  for (const file of files) {
    describe(file.name, () => {
      it("grants nothing at the top and per job only what its steps need, with a comment why", () => {
        expect(
          describeFindings([...checkTopLevelPermissions(file), ...checkJobPermissions(file, files)]),
        ).toEqual([]);
      });

      it("changes AWS only from jobs in a GitHub environment, through OIDC with a role from vars", () => {
        expect(describeFindings([...checkEnvironments(file), ...checkAwsCredentials(file)])).toEqual([]);
      });

      it("runs AWS jobs in a per-migration concurrency group that never cancels a run in progress", () => {
        expect(describeFindings(checkConcurrency(file, files))).toEqual([]);
      });

      it("puts a timeout on every job", () => {
        expect(describeFindings(checkTimeouts(file))).toEqual([]);
      });

      it("pins every third-party action to a commit SHA with the release in a comment", () => {
        expect(describeFindings(checkPinnedActions(file))).toEqual([]);
      });

      it("passes untrusted values to shell only through env", () => {
        expect(describeFindings(checkShellInterpolation(file))).toEqual([]);
      });
    });
  }

  it("plans pull requests without AWS and without write access to the code (fork-safe)", () => {
    const plan = files.find((file) => file.name === "plan.yml");
    expect(plan).toBeDefined();
    expect(describeFindings(checkPlanIsForkSafe(plan!))).toEqual([]);
  });

  it("rolls back after a failure, a timeout or a cancel once a shift was attempted", () => {
    const chain = files.find((file) => file.name === "apply-migration.yml")!;
    const rollback = chain.doc.jobs.rollback!;
    expect(rollback.if).toMatch(/\(failure\(\) \|\| cancelled\(\)\)/);
    expect(rollback.if).toMatch(/needs\.shift\.outputs\.attempted == 'true'/);
    // The phase's reviewers approve once; the AWS jobs run in the reviewer-less environment.
    expect(chain.doc.jobs.approve?.environment).toBe("${{ inputs.environment }}");
    expect(chain.doc.jobs.shift?.environment).toBe("cutover-${{ inputs.environment }}");
  });

  it("takes the rollback inputs the issue names, reason required", () => {
    const rollback = files.find((file) => file.name === "rollback.yml")!;
    const inputs = (
      rollback.doc.on as { workflow_dispatch: { inputs: Record<string, { required?: boolean }> } }
    ).workflow_dispatch.inputs;
    expect(Object.keys(inputs).sort()).toEqual(["migration", "reason", "target-phase"]);
    expect(inputs.reason?.required).toBe(true);
    expect(inputs["target-phase"]?.required).toBe(false);
  });

  it("monitors on a schedule and on the alarm's repository_dispatch", () => {
    const monitor = files.find((file) => file.name === "monitor.yml")!;
    const on = monitor.doc.on as Record<string, unknown>;
    expect(on.schedule).toBeDefined();
    expect(on.repository_dispatch).toEqual({ types: ["cutover-alarm"] });
  });
});

describe("the rules catch violations", () => {
  const bad = workflowFromSource(
    "bad.yml",
    [
      "on: pull_request_target",
      "permissions: write-all",
      "concurrency:",
      "  group: everything",
      "  cancel-in-progress: true",
      "jobs:",
      "  shift:",
      "    runs-on: ubuntu-latest",
      "    permissions:",
      "      contents: write",
      "      issues: write",
      "    steps:",
      "      - uses: actions/checkout@v5",
      "      - uses: aws-actions/configure-aws-credentials@7474bc4690e29a8392af63c5b98e7449536d5c3a",
      "        with:",
      "          aws-access-key-id: AKIAEXAMPLE",
      "          role-to-assume: arn:aws:iam::123456789012:role/deploy",
      "      - uses: ./actions/shift-traffic",
      "      - run: echo ${{ github.event.pull_request.title }}",
      "",
    ].join("\n"),
  );

  it("each rule reports the broken workflow", () => {
    expect(checkTopLevelPermissions(bad)).toHaveLength(1);
    const permissions = describeFindings(checkJobPermissions(bad, [bad])).join("\n");
    expect(permissions).toMatch(/needs id-token: write/);
    expect(permissions).toMatch(/grants contents: write but no step needs it/);
    expect(permissions).toMatch(/grants issues: write/);
    expect(permissions).toMatch(/permission contents has no comment/);
    expect(describeFindings(checkEnvironments(bad))).toEqual([
      "bad.yml job shift: touches AWS outside a GitHub environment",
    ]);
    const aws = describeFindings(checkAwsCredentials(bad)).join("\n");
    expect(aws).toMatch(/role-to-assume must come from vars/);
    expect(aws).toMatch(/long-lived credentials \(aws-access-key-id\)/);
    const concurrency = describeFindings(checkConcurrency(bad)).join("\n");
    expect(concurrency).toMatch(/may cancel a run in progress/);
    expect(concurrency).toMatch(/outside a per-migration concurrency group/);
    expect(checkTimeouts(bad)).toHaveLength(1);
    const pins = describeFindings(checkPinnedActions(bad)).join("\n");
    expect(pins).toMatch(/actions\/checkout@v5 is not pinned/);
    expect(pins).toMatch(/configure-aws-credentials@7474.* has no "# vX" comment/);
    expect(checkShellInterpolation(bad)).toHaveLength(1);
    expect(describeFindings(checkPlanIsForkSafe(bad)).join("\n")).toMatch(/pull_request_target/);
  });
});
