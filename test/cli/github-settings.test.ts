// `cutover github-setup` and `cutover doctor` against the local GitHub API:
// a repository set up by the one is reported clean by the other, and each
// setting taken away again is reported with what to change.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type FakeGitHub, startFakeGitHub } from "../../sandbox/github.js";
import type { FakeRuleset } from "../../sandbox/github-rulesets.js";
import { BLOCKING_RULES } from "../../src/cli/github-status-rules.js";
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

/** Runs the CLI in `cwd` (the repository's checkout, whose .github/cutover.json has stateBranch ""). */
async function cliIn(cwd: string, ...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(
    [
      ...args,
      "--repo",
      "example/platform",
      "--token",
      TOKEN,
      "--api-url",
      github.url,
      "--spec",
      join(repoRoot, "migrations.json"),
    ],
    {
      cwd,
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
const cli = (...args: string[]) => cliIn(repoRoot, ...args);

const ROLES = [
  "--role",
  "staging=arn:aws:iam::111111111111:role/cutover-staging",
  "--role",
  "production=arn:aws:iam::111111111111:role/cutover-production",
  "--role",
  "production-decommission=arn:aws:iam::111111111111:role/cutover-production-decommission",
  "--role",
  "rollback=arn:aws:iam::111111111111:role/cutover-rollback",
  "--region",
  "eu-west-1",
];
const SETUP = ["github-setup", "--reviewer", "Team:42", ...ROLES];

/** Writes rulesets the way GitHub's API takes them (so they pass its validation). */
async function addRuleset(body: Record<string, unknown>): Promise<number> {
  const response = await fetch(`${github.url}/repos/example/platform/rulesets`, {
    method: "POST",
    headers: { authorization: `token ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: number }).id;
}

const writes = (from = 0) =>
  github.requests
    .slice(from)
    .filter((request) => request.method !== "GET" && /rulesets|variables/.test(request.path));

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
    const setup = await cli("github-setup", "--reviewer", "Team:42", "--reviewer", "User:7", ...ROLES);
    expect(setup.stderr).toBe("");
    expect(setup.code).toBe(0);
    expect(setup.stdout).not.toMatch(/still to change/);
    const before = github.requests.length;
    const again = await cli("github-setup", "--reviewer", "Team:42", "--reviewer", "User:7", ...ROLES);
    expect(again.code).toBe(0);
    expect(writes(before)).toEqual([]);
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
    const variables = (name: string) =>
      Object.fromEntries(
        [...github.settings.environments.get(name)!.variables.values()].map((v) => [v.name, v.value]),
      );
    expect(variables("cutover-production")).toEqual({
      CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::111111111111:role/cutover-production",
      CUTOVER_AWS_REGION: "eu-west-1",
    });
    expect(variables("cutover-rollback").CUTOVER_AWS_ROLE_ARN).toBe(
      "arn:aws:iam::111111111111:role/cutover-rollback",
    );
    // The phase environments only approve: they hold no role.
    expect(variables("production")).toEqual({});
    // Status goes to the default branch here: no ruleset is made or changed.
    expect(github.settings.rulesets).toEqual([]);
  });

  it("without roles, github-setup lists the role variables still to set", async () => {
    const setup = await cli("github-setup", "--reviewer", "Team:42");
    expect(setup.code).toBe(0);
    expect(setup.stdout).toMatch(/still to change \(8\):/);
    expect(setup.stdout).toMatch(
      /✗ environment cutover-production: variable CUTOVER_AWS_ROLE_ARN: not set → set it on the environment .*--role cutover-production=<arn>/,
    );
    expect(setup.stdout).toMatch(
      /✗ environment cutover-rollback: variable CUTOVER_AWS_REGION: not set → .*--region/,
    );
  });

  it("reports each setting taken away afterwards", async () => {
    await cli(...SETUP);
    github.settings.environments.get("production")!.preventSelfReview = false;
    github.settings.environments.get("cutover-rollback")!.deploymentBranchPolicy = null;
    github.settings.environments.get("cutover-staging")!.reviewers = [{ type: "User", id: 9 }];
    github.settings.environments.delete("cutover-production-decommission");
    github.settings.oidcSubject = { use_default: false, include_claim_keys: ["repo", "context"] };
    github.settings.workflowPermissions.can_approve_pull_request_reviews = false;
    github.settings.environments.get("cutover-production")!.variables.delete("CUTOVER_AWS_ROLE_ARN");
    github.settings.environments.get("cutover-rollback")!.variables.get("CUTOVER_AWS_REGION")!.value =
      "Ireland";
    github.settings.variables.set("CUTOVER_AWS_ROLE_ARN", {
      name: "CUTOVER_AWS_ROLE_ARN",
      value: "arn:aws:iam::111111111111:role/cutover-staging",
      createdAt: "",
      updatedAt: "",
    });
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
      expect.stringMatching(
        /^✗ environment cutover-production: variable CUTOVER_AWS_ROLE_ARN: not set \(the repository-level one stands in for it\) → set it on the environment/,
      ),
      expect.stringMatching(
        /^✗ environment cutover-rollback: variable CUTOVER_AWS_REGION: "Ireland" → expected an AWS region/,
      ),
      expect.stringMatching(/^✗ repository variable CUTOVER_AWS_ROLE_ARN: set → remove it .*silently assume/),
      "9 setting(s) to change",
    ]);
  });

  it("refuses bad arguments with what is accepted", async () => {
    expect((await cli("github-setup")).stderr).toMatch(/--reviewer: at least one required reviewer/);
    const bad = await cli("github-setup", "--reviewer", "octocat");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected User:<id> or Team:<id>/);
    const arn = await cli("github-setup", "--reviewer", "Team:1", "--role", "production=cutover-production");
    expect(arn.code).toBe(2);
    expect(arn.stderr).toMatch(
      /--role "production=cutover-production": expected <environment>=<role ARN> \(expected an IAM role ARN/,
    );
    const unknown = await cli(
      "github-setup",
      "--reviewer",
      "Team:1",
      "--role",
      "qa=arn:aws:iam::111111111111:role/qa",
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /--role qa=…: no such environment holds a role; expected one of production, production-decommission, staging, rollback/,
    );
    const region = await cli("github-setup", "--reviewer", "Team:1", "--region", "Ireland");
    expect(region.stderr).toMatch(/--region "Ireland": expected an AWS region such as eu-west-1/);
    expect((await cli("doctor", "--state-branch", "../x")).stderr).toMatch(
      /--state-branch "..\/x": expected a branch name/,
    );
    // Nothing was applied by a refused command.
    expect(github.requests.filter((request) => request.method !== "GET")).toEqual([]);
  });

  it("reads the state branch from .github/cutover.json and says what is wrong in it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cutover-settings-"));
    try {
      mkdirSync(join(dir, ".github"));
      writeFileSync(join(dir, ".github", "cutover.json"), '{ "stateBranch": 7 }');
      const bad = await cliIn(dir, "doctor");
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/\.github\/cutover\.json: \$\.stateBranch must be a branch name or ""/);
      writeFileSync(join(dir, ".github", "cutover.json"), '{ "stateBranch": "cutover-state" }');
      const setup = await cliIn(dir, ...SETUP);
      expect(setup.code).toBe(0);
      expect(setup.stdout).toMatch(/ruleset "cutover status" created on cutover-state/);
      expect((await cliIn(dir, "doctor")).code).toBe(0);
      expect(github.settings.rulesets.map((ruleset) => ruleset.name)).toEqual(["cutover status"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

describe("rulesets and the status commits", () => {
  const pullRequestRule = {
    type: "pull_request",
    parameters: {
      required_approving_review_count: 1,
      dismiss_stale_reviews_on_push: true,
      require_code_owner_review: true,
      require_last_push_approval: false,
      required_review_thread_resolution: false,
    },
  };

  it("on the default branch: reports a rule that refuses the status commits and never weakens it", async () => {
    const id = await addRuleset({
      name: "protect main",
      enforcement: "active",
      conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
      rules: [{ type: "deletion" }, { type: "non_fast_forward" }, pullRequestRule],
      bypass_actors: [{ actor_type: "RepositoryRole", actor_id: 5, bypass_mode: "always" }],
    });
    const snapshot = structuredClone(github.settings.rulesets);
    const setup = await cli(...SETUP);
    expect(setup.code).toBe(0);
    expect(github.settings.rulesets).toEqual(snapshot);
    const gap = new RegExp(
      `✗ ruleset "protect main" \\(id ${id}\\) on the state branch main: pull_request \\(changes must come through a pull request\\); GitHub Actions cannot bypass it, so every status commit would be refused, and with it the record of each rollback → commit status to a dedicated branch: set "stateBranch" .* in \\.github/cutover\\.json and run cutover github-setup\\. Adding GitHub Actions to this ruleset's bypass list instead would let any workflow with contents: write push to main`,
    );
    expect(setup.stdout).toMatch(/still to change \(1\):/);
    expect(setup.stdout).toMatch(gap);
    const doctor = await cli("doctor");
    expect(doctor.code).toBe(1);
    expect(doctor.stdout.trim().split("\n")).toEqual([expect.stringMatching(gap), "1 setting(s) to change"]);
  });

  it("lets through what a status commit passes, and a ruleset GitHub Actions bypasses", async () => {
    await cli(...SETUP);
    await addRuleset({
      name: "history",
      enforcement: "active",
      conditions: { ref_name: { include: ["refs/heads/main"], exclude: [] } },
      rules: [{ type: "deletion" }, { type: "non_fast_forward" }, { type: "required_linear_history" }],
    });
    await addRuleset({
      name: "signed, but Actions bypasses",
      enforcement: "active",
      conditions: { ref_name: { include: ["~ALL"], exclude: [] } },
      rules: [{ type: "required_signatures" }],
      bypass_actors: [{ actor_type: "Integration", actor_id: 15368, bypass_mode: "always" }],
    });
    await addRuleset({
      name: "only evaluated",
      enforcement: "evaluate",
      conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
      rules: [pullRequestRule],
    });
    await addRuleset({
      name: "release branches",
      enforcement: "active",
      conditions: { ref_name: { include: ["refs/heads/release/**/*"], exclude: [] } },
      rules: [pullRequestRule],
    });
    const doctor = await cli("doctor");
    expect(doctor.stdout).toMatch(/every setting the workflows rely on is in place/);
    expect(doctor.code).toBe(0);
  });

  it("reports an update rule GitHub Actions may bypass only on pull requests", async () => {
    await cli(...SETUP);
    await addRuleset({
      name: "locked",
      enforcement: "active",
      conditions: { ref_name: { include: ["refs/heads/ma*"], exclude: ["refs/heads/maint"] } },
      rules: [{ type: "update" }],
      bypass_actors: [{ actor_type: "Integration", actor_id: 15368, bypass_mode: "pull_request" }],
    });
    const doctor = await cli("doctor");
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(
      /✗ ruleset "locked" \(id \d+\) on the state branch main: update \(only the ruleset's bypass actors may push\)/,
    );
  });

  it("on a dedicated state branch: protects it with its own ruleset, idempotently", async () => {
    const setup = await cli(...SETUP, "--state-branch", "cutover-state");
    expect(setup.code).toBe(0);
    expect(setup.stdout).not.toMatch(/still to change/);
    const [ruleset] = github.settings.rulesets as [FakeRuleset];
    expect(ruleset).toMatchObject({
      name: "cutover status",
      target: "branch",
      enforcement: "active",
      conditions: { ref_name: { include: ["refs/heads/cutover-state"], exclude: [] } },
      rules: [{ type: "deletion" }, { type: "non_fast_forward" }, { type: "update" }],
      bypassActors: [{ actor_type: "Integration", actor_id: 15368, bypass_mode: "always" }],
    });
    const before = github.requests.length;
    expect((await cli(...SETUP, "--state-branch", "cutover-state")).stdout).toMatch(
      /ruleset "cutover status" on cutover-state: in place/,
    );
    expect(writes(before)).toEqual([]);
    expect((await cli("doctor", "--state-branch", "cutover-state")).code).toBe(0);
  });

  it("completes an existing cutover status ruleset and keeps what else it holds", async () => {
    await addRuleset({
      name: "cutover status",
      enforcement: "disabled",
      conditions: { ref_name: { include: ["refs/heads/other"], exclude: [] } },
      rules: [{ type: "deletion" }, { type: "required_linear_history" }],
      bypass_actors: [{ actor_type: "Team", actor_id: 9, bypass_mode: "always" }],
    });
    expect((await cli(...SETUP, "--state-branch", "cutover-state")).stdout).toMatch(
      /ruleset "cutover status" on cutover-state: completed/,
    );
    const [ruleset] = github.settings.rulesets as [FakeRuleset];
    expect(ruleset.enforcement).toBe("active");
    expect(ruleset.conditions?.ref_name.include).toEqual(["refs/heads/other", "refs/heads/cutover-state"]);
    expect(ruleset.rules.map((rule) => rule.type)).toEqual([
      "deletion",
      "required_linear_history",
      "non_fast_forward",
      "update",
    ]);
    expect(ruleset.bypassActors).toEqual([
      { actor_type: "Team", actor_id: 9, bypass_mode: "always" },
      { actor_type: "Integration", actor_id: 15368, bypass_mode: "always" },
    ]);
    expect((await cli("doctor", "--state-branch", "cutover-state")).code).toBe(0);
  });

  it("on a dedicated state branch: reports a rule it cannot pass and the missing protection", async () => {
    await cli(...SETUP);
    const id = await addRuleset({
      name: "signed everywhere",
      enforcement: "active",
      conditions: { ref_name: { include: ["~ALL"], exclude: [] } },
      rules: [{ type: "required_signatures" }],
    });
    const doctor = await cli("doctor", "--state-branch", "cutover-state");
    expect(doctor.code).toBe(1);
    expect(doctor.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(
          `^✗ ruleset "signed everywhere" \\(id ${id}\\) on the state branch cutover-state: required_signatures \\(status commits are not signed\\).* → remove required_signatures from this ruleset for cutover-state, or add GitHub Actions \\(Integration 15368, always\\) to its bypass list`,
        ),
      ),
      expect.stringMatching(
        /^✗ state branch cutover-state: protection: no active rule deletion, non_fast_forward, update → run cutover github-setup/,
      ),
      "2 setting(s) to change",
    ]);
  });
});

describe(".github/scripts/check-settings.sh: the apply chain's check of the state branch", () => {
  const script = join(repoRoot, ".github", "scripts", "check-settings.sh");

  /** Runs the script as apply.yml's first job does, with that job's token (asynchronously: the test GitHub answers in this process). */
  function check(stateBranch: string): Promise<{ code: number | null; out: string }> {
    const child = spawn("bash", [script], {
      env: {
        PATH: process.env.PATH,
        GH_TOKEN: TOKEN,
        API: github.url,
        REPOSITORY: "example/platform",
        DEFAULT_BRANCH: "main",
        STATE_BRANCH: stateBranch,
        ENVIRONMENTS: "staging\nproduction\nproduction-decommission",
      },
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
    });
    return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
  }

  it("is given the state branch apply.yml reads from .github/cutover.json", () => {
    // apply.yml calls cutover-apply.yml, whose first job runs the check as a composite action.
    const workflow = parseYaml(
      readFileSync(join(repoRoot, ".github", "workflows", "cutover-apply.yml"), "utf8"),
    ) as {
      jobs: Record<
        string,
        { steps: Array<{ id?: string; run?: string; uses?: string; with?: Record<string, string> }> }
      >;
    };
    const steps = workflow.jobs.changes!.steps;
    const checkAt = steps.findIndex((step) => step.uses === "$/.github/actions/check-settings");
    const configAt = steps.findIndex((step) => step.id === "config");
    expect(steps[configAt]!.run).toMatch(
      /state-branch=\$\(jq -r '\.stateBranch \/\/ ""' \.github\/cutover\.json\)/,
    );
    expect(configAt).toBeLessThan(checkAt);
    expect(steps[checkAt]!.with?.["state-branch"]).toMatch(
      /^\$\{\{ steps\.config\.outputs\.state-branch \}\}$/,
    );
    const action = parseYaml(
      readFileSync(join(repoRoot, ".github", "actions", "check-settings", "action.yml"), "utf8"),
    ) as { runs: { steps: Array<{ env?: Record<string, string>; run?: string }> } };
    const [run] = action.runs.steps;
    expect(run!.env?.STATE_BRANCH).toMatch(/^\$\{\{ inputs\.state-branch \}\}$/);
    expect(run!.run).toContain("check-settings.sh");
  });

  it("holds the same list of refusing rules as doctor", () => {
    const text = readFileSync(script, "utf8");
    const listed = JSON.parse(/^BLOCKING_RULES='(.*)'$/m.exec(text)![1]!) as string[];
    expect(listed.sort()).toEqual(Object.keys(BLOCKING_RULES).sort());
  });

  it("goes on when no rule refuses the status commits, and stops before any change when one does", async () => {
    await cli(...SETUP);
    expect(await check("")).toMatchObject({
      code: 0,
      out: expect.stringMatching(/repository settings: in place/),
    });
    const id = await addRuleset({
      name: "protect main",
      enforcement: "active",
      conditions: { ref_name: { include: ["~DEFAULT_BRANCH"], exclude: [] } },
      rules: [{ type: "non_fast_forward" }, { type: "required_signatures" }, { type: "update" }],
    });
    const stopped = await check("");
    expect(stopped.code).toBe(1);
    expect(stopped.out).toContain(
      `::error title=Repository setting missing::ruleset "protect main" (id ${id}) on the state branch main has required_signatures, update, which GitHub Actions cannot bypass: every status commit (and so each rollback's record) would be refused; commit status to a dedicated branch`,
    );
    expect(stopped.out).toMatch(/would let any workflow with contents: write push to main/);
    expect(stopped.out).toMatch(/Stopped before any change::1 repository setting/);
    // A dedicated state branch that ruleset does not cover lets the chain go on.
    expect((await check("cutover-state")).code).toBe(0);
  });

  it("on a dedicated state branch: passes the cutover status ruleset, stops at one GitHub Actions cannot bypass", async () => {
    await cli(...SETUP, "--state-branch", "cutover/state");
    expect((await check("cutover/state")).code).toBe(0);
    await addRuleset({
      name: "all branches by pull request",
      enforcement: "active",
      conditions: { ref_name: { include: ["refs/heads/**/*"], exclude: ["refs/heads/main"] } },
      rules: [
        {
          type: "pull_request",
          parameters: {
            required_approving_review_count: 1,
            dismiss_stale_reviews_on_push: false,
            require_code_owner_review: false,
            require_last_push_approval: false,
            required_review_thread_resolution: false,
          },
        },
      ],
      bypass_actors: [{ actor_type: "Integration", actor_id: 15368, bypass_mode: "pull_request" }],
    });
    const stopped = await check("cutover/state");
    expect(stopped.code).toBe(1);
    expect(stopped.out).toMatch(
      /ruleset "all branches by pull request" \(id \d+\) on the state branch cutover\/state has pull_request, .*remove those rules for cutover\/state or add GitHub Actions \(Integration 15368, always\)/,
    );
    expect((await check("")).code).toBe(0);
  });
});
