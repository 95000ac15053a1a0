// `cutover github-setup` and `cutover doctor` against the local GitHub API:
// a repository set up by the one is reported clean by the other, and each
// setting taken away again is reported with what to change.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "../../sandbox/github.js";
import { runCli } from "../../src/cli/main.js";
import { repoRoot } from "../support/run-action.js";

const TOKEN = "ghp_admin";
let github: FakeGitHub;

beforeEach(async () => {
  github = await startFakeGitHub({ repository: "example/platform", token: TOKEN });
});
afterEach(async () => {
  await github.close();
});

async function cli(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(
    [...args, "--repo", "example/platform", "--token", TOKEN, "--api-url", github.url],
    {
      cwd: repoRoot,
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      now: () => new Date("2026-03-10T00:00:00Z"),
    },
  );
  return { code, stdout, stderr };
}

describe("cutover github-setup and doctor", () => {
  it("reports every gap on a fresh repository, with what to change", async () => {
    const doctor = await cli("doctor");
    expect(doctor.code).toBe(1);
    for (const name of [
      "staging",
      "production",
      "production-decommission",
      "cutover-production",
      "cutover-rollback",
    ])
      expect(doctor.stdout).toContain(`environment ${name}: missing`);
    expect(doctor.stdout).toMatch(
      /OIDC subject claim template: GitHub's default .* include_claim_keys repo, context, ref, job_workflow_ref/,
    );
    expect(doctor.stdout).toMatch(/allow GitHub Actions to create pull requests: off/);
  });

  it("sets a repository up so that doctor finds nothing, and twice changes nothing", async () => {
    const setup = await cli("github-setup", "--reviewer", "Team:42", "--reviewer", "User:7");
    expect(setup.stderr).toBe("");
    expect(setup.code).toBe(0);
    expect((await cli("github-setup", "--reviewer", "Team:42", "--reviewer", "User:7")).code).toBe(0);
    const doctor = await cli("doctor");
    expect(doctor.stdout).toMatch(/every setting the workflows rely on is in place/);
    expect(doctor.code).toBe(0);
    const production = github.settings.environments.get("production")!;
    expect(production.reviewers).toEqual([
      { type: "Team", id: 42 },
      { type: "User", id: 7 },
    ]);
    expect(production.preventSelfReview).toBe(true);
    const acting = github.settings.environments.get("cutover-production")!;
    expect(acting.reviewers).toEqual([]);
    expect(acting.branchPolicies.map((policy) => policy.name)).toEqual(["main"]);
    expect(github.settings.oidcSubject).toEqual({
      use_default: false,
      include_claim_keys: ["repo", "context", "ref", "job_workflow_ref"],
    });
    expect(github.settings.workflowPermissions.can_approve_pull_request_reviews).toBe(true);
  });

  it("reports each setting taken away afterwards", async () => {
    await cli("github-setup", "--reviewer", "Team:42");
    github.settings.environments.get("production")!.preventSelfReview = false;
    github.settings.environments.get("cutover-rollback")!.deploymentBranchPolicy = null;
    github.settings.environments.get("cutover-staging")!.reviewers = [{ type: "User", id: 9 }];
    github.settings.environments.delete("cutover-production-decommission");
    github.settings.oidcSubject = { use_default: false, include_claim_keys: ["repo", "context"] };
    github.settings.workflowPermissions.can_approve_pull_request_reviews = false;
    const doctor = await cli("doctor");
    expect(doctor.code).toBe(1);
    expect(doctor.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^✗ environment production: prevent self-review: off → turn on/),
      expect.stringMatching(/^✗ environment cutover-production-decommission: missing → create it/),
      expect.stringMatching(/^✗ environment cutover-staging: required reviewers: 1 → remove them/),
      expect.stringMatching(
        /^✗ environment cutover-rollback: deployment branches: all branches → allow only the branch main/,
      ),
      expect.stringMatching(/^✗ OIDC subject claim template: repo, context → use include_claim_keys/),
      expect.stringMatching(/^✗ Actions: allow GitHub Actions to create pull requests: off → turn it on/),
      "6 setting(s) to change",
    ]);
  });

  it("refuses bad arguments with what is accepted", async () => {
    expect((await cli("github-setup")).stderr).toMatch(/--reviewer: at least one required reviewer/);
    const bad = await cli("github-setup", "--reviewer", "octocat");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected User:<id> or Team:<id>/);
  });

  it("the test GitHub refuses what GitHub refuses", async () => {
    const put = (path: string, body: unknown) =>
      fetch(`${github.url}/repos/example/platform${path}`, {
        method: "PUT",
        headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect(
      (
        await put("/environments/x", {
          deployment_branch_policy: { protected_branches: true, custom_branch_policies: true },
        })
      ).status,
    ).toBe(422);
    expect(
      (
        await put("/environments/x", {
          reviewers: Array.from({ length: 7 }, (_, id) => ({ type: "User", id })),
        })
      ).status,
    ).toBe(422);
    expect((await put("/actions/oidc/customization/sub", { include_claim_keys: ["repo"] })).status).toBe(422);
    expect(
      (await put("/actions/oidc/customization/sub", { use_default: false, include_claim_keys: ["re po"] }))
        .status,
    ).toBe(422);
    const policies = await fetch(
      `${github.url}/repos/example/platform/environments/x/deployment-branch-policies`,
      {
        method: "POST",
        headers: { authorization: `token ${TOKEN}` },
        body: JSON.stringify({ name: "main" }),
      },
    );
    expect(policies.status).toBe(404); // x allows every branch: no custom policies to add to
    expect(
      (
        await fetch(`${github.url}/repos/example/platform/environments/none`, {
          headers: { authorization: `token ${TOKEN}` },
        })
      ).status,
    ).toBe(404);
  });
});
