// What GitHub does with the workflows, finding by finding: each scenario runs
// against the workflows as they were (test/fixtures/workflows/before/) and
// shows the fault, then against .github/workflows and shows it is gone. The
// local actions are stood in for by functions (these tests are about the
// workflow files; the actions have their own end-to-end tests), `run:` steps
// run in bash on a clone of a local git remote.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type FakeGitHub, startFakeGitHub } from "../../sandbox/github.js";
import { applyRequirements, repositoryClient, requirementsFor } from "../../src/cli/github-settings.js";
import type { MigrationsFile } from "../../src/model/spec.js";
import { ConcurrencyQueue, claimsAt, firstApprovalJob, firstJobUsing } from "../support/concurrency-model.js";
import { createLocalRemote, git } from "../support/git-remote.js";
import { repoRoot } from "../support/run-action.js";
import {
  type ActionStandIn,
  type EnvironmentRules,
  runWorkflow,
  type StandInResult,
  type WorkflowRun,
  type WorkflowRunOptions,
} from "../support/workflow-runner.js";

const BEFORE = join(repoRoot, "test", "fixtures", "workflows", "before");
const NOW = join(repoRoot, ".github", "workflows");
const MIGRATION = "orders-api";
const TOKEN = "ghs_job";

/** The test GitHub, set up as cutover github-setup leaves a repository. */
let github: FakeGitHub;
beforeAll(async () => {
  github = await startFakeGitHub({ repository: "example/platform", token: TOKEN });
  const phases = ["staging", "production", "production-decommission"].map((environment) => ({
    environment,
  }));
  const spec = { migrations: [{ phases }] } as unknown as MigrationsFile;
  await applyRequirements(
    repositoryClient(TOKEN, github.url),
    "example",
    "platform",
    requirementsFor(spec, [{ type: "Team", id: 1 }]),
  );
});
afterAll(async () => {
  await github.close();
});
const githubEnv = () => ({ GITHUB_API_URL: github.url });

/** Environments as docs/gitops.md asks for them: reviewers on the phases', main only where it says so. */
const ENVIRONMENTS: Record<string, EnvironmentRules> = {
  staging: { reviewers: ["platform-leads"] },
  production: { reviewers: ["platform-leads"] },
  "production-decommission": { reviewers: ["platform-leads"] },
  "cutover-staging": { branches: ["main"] },
  "cutover-production": { branches: ["main"] },
  "cutover-production-decommission": { branches: ["main"] },
  "cutover-rollback": { branches: ["main"] },
};

function spec(phases: Array<{ name: string; environment: string; steps: unknown[] }>, phase: string) {
  return JSON.stringify({ migrations: [{ id: MIGRATION, phase, phases }] }, null, 2);
}

const CANARY_SPEC = spec(
  [
    { name: "staging", environment: "staging", steps: [{ kind: "deploy" }] },
    { name: "canary-10", environment: "production", steps: [{ kind: "shift", weight: 10 }] },
  ],
  "canary-10",
);

/** A remote holding the repository's scripts and settings, and clones of it as workspaces. */
function world(files: Record<string, string> = {}) {
  const remote = createLocalRemote({
    ".github/scripts/rollback-lock.sh": readFileSync(
      join(repoRoot, ".github", "scripts", "rollback-lock.sh"),
      "utf8",
    ),
    ".github/cutover.json": readFileSync(join(repoRoot, ".github", "cutover.json"), "utf8"),
    ".github/scripts/check-settings.sh": readFileSync(
      join(repoRoot, ".github", "scripts", "check-settings.sh"),
      "utf8",
    ),
    "migrations.json": CANARY_SPEC,
    ...files,
  });
  return { remote, checkout: () => remote.clone() };
}

interface Call {
  action: string;
  job: string;
  inputs: Record<string, string>;
  env: Record<string, string>;
}

/** Stand-ins that record every call; `overrides` say what a given action does. */
function standIns(
  overrides: Record<string, StandInResult | ((inputs: Record<string, string>) => StandInResult)> = {},
) {
  const calls: Call[] = [];
  const make =
    (action: string, base: StandInResult): ActionStandIn =>
    (inputs, context) => {
      calls.push({ action, job: context.job, inputs, env: context.env });
      const override = overrides[action];
      return typeof override === "function" ? override(inputs) : { ...base, ...override };
    };
  const matrix = JSON.stringify([
    {
      migration: MIGRATION,
      phase: "canary-10",
      environment: "production",
      deploy: "false",
      scenarios: [],
      weight: "10",
      gate: "standard",
    },
  ]);
  const defaults: Record<string, StandInResult> = {
    "select-migrations": { outputs: { matrix, count: "1" } },
    reconcile: {},
    deploy: { outputs: { version: "7" } },
    "load-test": { outputs: { verdict: "pass" } },
    "shift-traffic": { outputs: { weights: '{"old":90,"new":10}' } },
    "metric-gate": { outputs: { verdict: "insufficient-data" } },
    "record-state": { outputs: { phase: "staging" } },
    rollback: { outputs: { weights: '{"old":100,"new":0}' } },
    "propose-phase": {},
    decommission: {},
    monitor: { outputs: { decision: "bake", event: "" } },
    plan: { outputs: { ok: "true" } },
  };
  const stands = Object.fromEntries(Object.entries(defaults).map(([name, base]) => [name, make(name, base)]));
  return { calls, stands };
}

function pushEvent() {
  return { ref: "refs/heads/main", before: "0".repeat(40), after: "1".repeat(40) };
}

async function apply(
  dir: string,
  options: Partial<WorkflowRunOptions> & { stands: Record<string, ActionStandIn> },
) {
  const { checkout } = world();
  return runWorkflow({
    workflow: "apply.yml",
    workflowsDir: dir,
    eventName: "push",
    eventPayload: pushEvent(),
    checkout,
    env: githubEnv(),
    token: TOKEN,
    environments: ENVIRONMENTS,
    vars: { CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::111111111111:role/cutover", CUTOVER_AWS_REGION: "eu-west-1" },
    standIns: options.stands,
    ...options,
  });
}

/**
 * A job's name without the thin caller's job and the matrix values of its caller:
 * "apply / migrate (orders-api, …) / shift" → "migrate / shift" (this repository's workflows call the
 * reusable ones from one job named like the workflow).
 */
const short = (name: string) =>
  name.replace(/^(?:apply|monitor|rollback|plan) \/ (?=.)/, "").replace(/^([\w-]+) \([^/]*\) \/ /, "$1 / ");

function jobOf(run: WorkflowRun, name: string) {
  const found = run.jobs.find((job) => short(job.id) === name);
  if (!found) throw new Error(`no job "${name}"; jobs: ${run.jobs.map((job) => short(job.id)).join(", ")}`);
  return found;
}

const writes = (calls: Call[]) =>
  calls.filter((call) => ["shift-traffic", "deploy", "rollback", "decommission"].includes(call.action));

/** A manual rollback of the migration (rollback.yml dispatched on main), with the stand-ins' overrides. */
async function dispatchRollback(
  dir: string,
  overrides: Parameters<typeof standIns>[0] = {},
): Promise<{ run: WorkflowRun; remote: ReturnType<typeof world>["remote"] }> {
  const { stands } = standIns(overrides);
  const { remote, checkout } = world();
  const run = await runWorkflow({
    workflow: "rollback.yml",
    workflowsDir: dir,
    eventName: "workflow_dispatch",
    eventPayload: {
      ref: "refs/heads/main",
      inputs: { migration: MIGRATION, reason: "errors", "target-phase": "" },
    },
    checkout,
    env: githubEnv(),
    token: TOKEN,
    environments: ENVIRONMENTS,
    vars: { CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::1:role/r", CUTOVER_AWS_REGION: "eu-west-1" },
    standIns: {
      ...stands,
      "select-migrations": () => ({
        outputs: {
          matrix: JSON.stringify([{ migration: MIGRATION, phase: "canary-10", environment: "production" }]),
          count: "1",
        },
      }),
    },
  });
  return { run, remote };
}

describe("1. branch code with the production role", () => {
  const dispatchOnBranch = {
    ref: "refs/heads/try-something",
    inputs: { migration: MIGRATION, artifact: "" },
  };

  it("before: a dispatch on any branch runs the shift in production", async () => {
    const { calls, stands } = standIns();
    const run = await apply(BEFORE, {
      stands,
      eventName: "workflow_dispatch",
      eventPayload: dispatchOnBranch,
    });
    expect(writes(calls).map((call) => call.action)).toEqual(["shift-traffic"]);
    expect(jobOf(run, "migrate / shift").environment).toBe("production");
  });

  it("now: the reviewer-less environment that holds the role refuses every branch but main", async () => {
    const { calls, stands } = standIns();
    const run = await apply(NOW, { stands, eventName: "workflow_dispatch", eventPayload: dispatchOnBranch });
    expect(writes(calls)).toEqual([]);
    const reconcile = jobOf(run, "migrate / reconcile");
    expect(reconcile.result).toBe("failure");
    expect(reconcile.annotation).toMatch(
      /Branch "try-something" is not allowed to deploy to cutover-production/,
    );
  });
});

describe("the chain's first job checks the repository settings it can see", () => {
  it("stops before any change on a repository that was never set up, saying what to change", async () => {
    const bare = await startFakeGitHub({ repository: "example/platform", token: TOKEN });
    try {
      const { calls, stands } = standIns();
      const run = await apply(NOW, { stands, env: { GITHUB_API_URL: bare.url } });
      const changes = jobOf(run, "changes");
      expect(changes.result).toBe("failure");
      const said = changes.steps.map((step) => step.stdout ?? "").join("");
      expect(said).toMatch(
        /OIDC subject template .*include_claim_keys to repo, context, ref, job_workflow_ref/,
      );
      expect(said).toMatch(/environment cutover-production does not exist/);
      expect(said).toMatch(/environment production .*required reviewers/);
      expect(said).toMatch(/Stopped before any change/);
      expect(writes(calls)).toEqual([]);
      expect(run.approvals).toEqual([]);
    } finally {
      await bare.close();
    }
  });

  it("goes on once cutover github-setup has run", async () => {
    const { stands } = standIns();
    const run = await apply(NOW, { stands });
    expect(jobOf(run, "changes").result).toBe("success");
  });
});

describe("2. a pending rollback replaced by the next monitor run", () => {
  const hasReviewers = (environment: string) => (ENVIRONMENTS[environment]?.reviewers ?? []).length > 0;

  function scenario(dir: string) {
    const queue = new ConcurrencyQueue();
    const inputs = { migration: MIGRATION, environment: "production" };
    // An apply reaches its approval and waits for a person.
    const applying = queue.arrive(
      "apply",
      claimsAt(dir, "apply.yml", { inputs, matrix: inputs }, firstApprovalJob(hasReviewers)),
    );
    // Someone dispatches a rollback while it waits.
    const rollbackClaims = claimsAt(dir, "rollback.yml", { inputs }, firstJobUsing("./actions/rollback"));
    queue.arrive("rollback", rollbackClaims);
    // The next scheduled monitor run judges the migration.
    const monitorClaims = claimsAt(
      dir,
      "monitor.yml",
      { inputs, matrix: inputs },
      firstJobUsing("./actions/metric-gate"),
    );
    queue.arrive("monitor", monitorClaims);
    return { queue, applying, rollbackClaims };
  }

  it("before: the apply waiting for approval holds the group and the monitor cancels the rollback", () => {
    const { queue, applying } = scenario(BEFORE);
    expect(applying).toBe("running");
    expect(queue.state("rollback")).toBe("cancelled");
  });

  it("now: the rollback has its own group and runs at once; nothing holds the migration's group while a person decides", () => {
    const { queue, applying, rollbackClaims } = scenario(NOW);
    expect(rollbackClaims.map((claim) => claim.group)).toEqual([`cutover-rollback-${MIGRATION}`]);
    expect(applying).toBe("running"); // it holds nothing: the approval job is in no group
    expect(queue.state("rollback")).toBe("running");
    expect(queue.state("monitor")).toBe("running");
    // Only another rollback could replace a pending rollback.
    queue.arrive("second-rollback", rollbackClaims);
    queue.arrive("third-rollback", rollbackClaims);
    expect(queue.state("second-rollback")).toBe("cancelled");
    expect(queue.state("rollback")).toBe("running");
  });

  it("the queue model: newer pending cancels older pending, cancel-in-progress cancels the running one", () => {
    const queue = new ConcurrencyQueue();
    const group = [{ group: "g", cancelInProgress: false }];
    queue.arrive("a", group);
    queue.arrive("b", group);
    queue.arrive("c", group);
    expect([queue.state("a"), queue.state("b"), queue.state("c")]).toEqual([
      "running",
      "cancelled",
      "pending",
    ]);
    queue.finish("a");
    expect(queue.state("c")).toBe("running");
    queue.arrive("d", [{ group: "g", cancelInProgress: true }]);
    expect([queue.state("c"), queue.state("d")]).toEqual(["cancelled", "running"]);
  });

  it("now: apply and monitor jobs step aside while a rollback holds the lock", async () => {
    const { remote, checkout } = world();
    const holder = remote.clone();
    git(holder, "push", "--quiet", "origin", `HEAD:refs/cutover/rollback/${MIGRATION}`);
    const { calls, stands } = standIns();
    const run = await runWorkflow({
      workflow: "apply.yml",
      workflowsDir: NOW,
      eventName: "push",
      eventPayload: pushEvent(),
      checkout,
      env: githubEnv(),
      token: TOKEN,
      environments: ENVIRONMENTS,
      vars: { CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::1:role/r", CUTOVER_AWS_REGION: "eu-west-1" },
      standIns: stands,
    });
    const reconcile = jobOf(run, "migrate / reconcile");
    expect(reconcile.result).toBe("failure");
    expect(reconcile.steps.find((step) => step.outcome === "failure")?.stderr).toMatch(
      /A rollback is in progress/,
    );
    expect(writes(calls)).toEqual([]);
  });
});

describe("3. shifted traffic unwatched while the first gate check waits", () => {
  it("before: after the shift, the gate check waits for another approval", async () => {
    const { calls, stands } = standIns();
    const run = await apply(BEFORE, { stands });
    const approvals = run.approvals.map((approval) => short(approval.job));
    expect(approvals.indexOf("migrate / shift")).toBeGreaterThan(-1);
    expect(approvals.indexOf("migrate / check")).toBeGreaterThan(approvals.indexOf("migrate / shift"));
    const gate = calls.find((call) => call.action === "metric-gate")!;
    expect(gate.job).not.toBe(calls.find((call) => call.action === "shift-traffic")!.job);
  });

  it("now: the first look runs in the shift's job, after the phase's only approval", async () => {
    const { calls, stands } = standIns();
    const run = await apply(NOW, { stands });
    expect(run.approvals.map((approval) => short(approval.job))).toEqual(["migrate / approve"]);
    const shift = calls.find((call) => call.action === "shift-traffic")!;
    expect(calls.find((call) => call.action === "metric-gate")!.job).toBe(shift.job);
  });
});

describe("4. a shift cut off by its timeout or a cancel", () => {
  for (const [label, options] of [
    ["timeout", { overrides: { "shift-traffic": { minutes: 60 } } }],
    ["cancel", { cancelAfter: { job: "shift", step: "shift" } }],
  ] as const) {
    it(`before: a ${label} during the shift is never rolled back`, async () => {
      const { calls, stands } = standIns("overrides" in options ? options.overrides : {});
      const run = await apply(BEFORE, {
        stands,
        ...("cancelAfter" in options ? { cancelAfter: options.cancelAfter } : {}),
      });
      expect(jobOf(run, "migrate / shift").result).toBe("cancelled");
      expect(jobOf(run, "migrate / rollback").result).toBe("skipped");
      expect(calls.some((call) => call.action === "rollback")).toBe(false);
    });

    it(`now: a ${label} during the shift is rolled back`, async () => {
      const { calls, stands } = standIns("overrides" in options ? options.overrides : {});
      const run = await apply(NOW, {
        stands,
        ...("cancelAfter" in options ? { cancelAfter: options.cancelAfter } : {}),
      });
      expect(jobOf(run, "migrate / shift").result).toBe("cancelled");
      expect(jobOf(run, "migrate / rollback").result).toBe("success");
      expect(calls.filter((call) => call.action === "rollback")).toHaveLength(1);
    });
  }
});

describe("5. approvals per job", () => {
  const STAGING_SPEC = spec(
    [
      {
        name: "staging",
        environment: "staging",
        steps: [{ kind: "deploy" }, { kind: "load-test" }, { kind: "load-test" }, { kind: "load-test" }],
      },
    ],
    "staging",
  );
  const matrix = JSON.stringify([
    {
      migration: MIGRATION,
      phase: "staging",
      environment: "staging",
      deploy: "true",
      scenarios: ["smoke", "sustained", "spike"],
      weight: "",
      gate: "",
    },
  ]);

  async function staging(dir: string) {
    const { stands } = standIns({ "select-migrations": { outputs: { matrix, count: "1" } } });
    const { checkout } = world({ "migrations.json": STAGING_SPEC });
    return runWorkflow({
      workflow: "apply.yml",
      workflowsDir: dir,
      eventName: "push",
      eventPayload: pushEvent(),
      checkout,
      env: githubEnv(),
      token: TOKEN,
      environments: ENVIRONMENTS,
      vars: { CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::1:role/r", CUTOVER_AWS_REGION: "eu-west-1" },
      standIns: stands,
    });
  }

  it("before: the staging phase asks its reviewers five times", async () => {
    expect((await staging(BEFORE)).approvals).toHaveLength(5);
  });

  it("now: once", async () => {
    const { approvals } = await staging(NOW);
    expect(approvals.map((approval) => [short(approval.job), approval.environment])).toEqual([
      ["migrate / approve", "staging"],
    ]);
  });
});

describe("6. the smaller ones", () => {
  it("plans from the base branch's code, the pull request's spec as data", () => {
    // Before, plan.yml held the job; now the reusable cutover-plan.yml does, with the action at its own commit.
    const checkoutBeforePlan = (dir: string, file: string) => {
      const doc = parseYaml(readFileSync(join(dir, file), "utf8")) as {
        jobs: Record<string, { steps: Array<{ uses?: string; with?: Record<string, string> }> }>;
      };
      const steps = doc.jobs.plan!.steps;
      const planIndex = steps.findIndex((step) =>
        ["./actions/plan", "$/actions/plan"].includes(step.uses ?? ""),
      );
      // The workspace root (the base commit whose history the plan compares with; before, also where
      // ./actions/plan was read from) is the last checkout without a path.
      const root = steps
        .slice(0, planIndex)
        .filter((step) => step.uses?.startsWith("actions/checkout@") && !step.with?.path)
        .at(-1);
      const copiesSpec = steps
        .slice(0, planIndex)
        .some((step) =>
          (step as { run?: string }).run?.includes(
            "cp .cutover-pull-request/migrations.json migrations.json",
          ),
        );
      return { ref: root?.with?.ref, specFromPullRequest: copiesSpec };
    };
    expect(checkoutBeforePlan(BEFORE, "plan.yml").ref).toBeUndefined(); // the pull request's merge commit
    expect(checkoutBeforePlan(NOW, "cutover-plan.yml")).toEqual({
      ref: "${{ github.event.pull_request.base.sha }}",
      specFromPullRequest: true,
    });
    // Here the called workflow is the pull request's own copy, so its $/ action would be too: this
    // repository grades with the base checkout's ./actions/plan; a caller of a release with the release's.
    const caller = parseYaml(readFileSync(join(NOW, "plan.yml"), "utf8")) as {
      jobs: { plan: { with?: Record<string, string> } };
    };
    expect(caller.jobs.plan.with?.["grade-with"]).toBe("base");
    const steps = (
      parseYaml(readFileSync(join(NOW, "cutover-plan.yml"), "utf8")) as {
        jobs: { plan: { steps: Array<{ uses?: string; if?: string }> } };
      }
    ).jobs.plan.steps;
    expect(steps.find((step) => step.uses === "./actions/plan")?.if).toBe("inputs.grade-with == 'base'");
    expect(steps.find((step) => step.uses === "$/actions/plan")?.if).toBe("inputs.grade-with != 'base'");
  });

  it("a fork's pull request reads the state branch from the tracked file, not from vars it does not get", async () => {
    const plan = async (dir: string) => {
      const { calls, stands } = standIns();
      const { remote, checkout } = world({ ".github/cutover.json": '{ "stateBranch": "cutover-state" }\n' });
      const base = remote.tip();
      const head = remote.push(
        { "migrations.json": CANARY_SPEC.replace('"canary-10"', '"staging"') },
        "fork change",
        "main",
      );
      await runWorkflow({
        workflow: "plan.yml",
        workflowsDir: dir,
        eventName: "pull_request",
        eventPayload: { number: 7, pull_request: { number: 7, base: { sha: base }, head: { sha: head } } },
        checkout,
        env: {},
        token: "ghs_read_only",
        vars: { CUTOVER_STATE_BRANCH: "cutover-state" },
        fromFork: true,
        standIns: stands,
      });
      const plan = calls.find((call) => call.action === "plan")!;
      return plan.inputs["state-branch"];
    };
    expect(await plan(BEFORE)).toBe("");
    expect(await plan(NOW)).toBe("cutover-state");
  });

  it("chooses the decommission job by the phase's decommission step, not its name", async () => {
    const RETIRE_SPEC = spec(
      [{ name: "retire-ecs", environment: "production-decommission", steps: [{ kind: "decommission" }] }],
      "retire-ecs",
    );
    const matrix = JSON.stringify([
      {
        migration: MIGRATION,
        phase: "retire-ecs",
        environment: "production-decommission",
        deploy: "false",
        scenarios: [],
        weight: "",
        gate: "",
      },
    ]);
    const decommissions = async (dir: string) => {
      const { calls, stands } = standIns({ "select-migrations": { outputs: { matrix, count: "1" } } });
      const { checkout } = world({ "migrations.json": RETIRE_SPEC });
      await runWorkflow({
        workflow: "apply.yml",
        workflowsDir: dir,
        eventName: "push",
        eventPayload: pushEvent(),
        checkout,
        env: githubEnv(),
        token: TOKEN,
        environments: ENVIRONMENTS,
        vars: { CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::1:role/r", CUTOVER_AWS_REGION: "eu-west-1" },
        standIns: stands,
      });
      return calls.filter((call) => call.action === "decommission").length;
    };
    expect(await decommissions(BEFORE)).toBe(0);
    expect(await decommissions(NOW)).toBe(1);
  });

  it("passes an s3:// artifact as bucket and key, not as a workspace path", async () => {
    const STAGING = spec(
      [{ name: "staging", environment: "staging", steps: [{ kind: "deploy" }] }],
      "staging",
    );
    const matrix = JSON.stringify([
      {
        migration: MIGRATION,
        phase: "staging",
        environment: "staging",
        deploy: "true",
        scenarios: [],
        weight: "",
        gate: "",
      },
    ]);
    const deployInputs = async (dir: string) => {
      const { calls, stands } = standIns({ "select-migrations": { outputs: { matrix, count: "1" } } });
      const { checkout } = world({ "migrations.json": STAGING });
      await runWorkflow({
        workflow: "apply.yml",
        workflowsDir: dir,
        eventName: "workflow_dispatch",
        eventPayload: {
          ref: "refs/heads/main",
          inputs: { migration: MIGRATION, artifact: "s3://builds/orders/42.zip" },
        },
        checkout,
        env: githubEnv(),
        token: TOKEN,
        environments: ENVIRONMENTS,
        vars: { CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::1:role/r", CUTOVER_AWS_REGION: "eu-west-1" },
        standIns: stands,
      });
      const { inputs } = calls.find((call) => call.action === "deploy")!;
      return { zip: inputs["zip-file"], bucket: inputs["s3-bucket"] ?? "", key: inputs["s3-key"] ?? "" };
    };
    expect((await deployInputs(BEFORE)).zip).toBe("s3://builds/orders/42.zip");
    expect(await deployInputs(NOW)).toEqual({ zip: "", bucket: "builds", key: "orders/42.zip" });
  });

  it("a rollback whose pull request cannot be opened still succeeds, with a warning saying what to change", async () => {
    const rollback = async (dir: string) =>
      (await dispatchRollback(dir, { "propose-phase": { outcome: "failure" } })).run;
    expect(jobOf(await rollback(BEFORE), "rollback").result).toBe("failure");
    const now = await rollback(NOW);
    expect(jobOf(now, "rollback").result).toBe("success");
    expect(
      jobOf(now, "rollback")
        .steps.map((step) => step.stdout ?? "")
        .join(""),
    ).toMatch(/allow GitHub Actions to create pull requests/);
  });

  it("a rollback whose status commit a ruleset refuses still succeeds and keeps the lock, so nothing acts on the stale status", async () => {
    const rollback = async (dir: string, record: StandInResult) => {
      const { run, remote } = await dispatchRollback(dir, { "record-state": record });
      const locked = git(remote.bare, "for-each-ref", `refs/cutover/rollback/${MIGRATION}`).trim() !== "";
      return { result: jobOf(run, "rollback").result, locked };
    };
    // Before: record-state failed on the refused push, and the rollback job with it.
    expect((await rollback(BEFORE, { outcome: "failure" })).result).toBe("failure");
    // Now: record-state succeeds with the refusal in its outputs; the lock stays held.
    expect(
      await rollback(NOW, {
        outputs: {
          refused: "Changes must be made through a pull request.",
          phase: "staging",
          committed: "false",
        },
      }),
    ).toEqual({ result: "success", locked: true });
    // And a recorded rollback releases it, as before.
    expect(await rollback(NOW, { outputs: { refused: "", phase: "staging", committed: "true" } })).toEqual({
      result: "success",
      locked: false,
    });
  });

  it("hands the notification secrets only to the steps that notify, never to a whole workflow or job", () => {
    for (const file of ["apply-migration.yml", "monitor-migration.yml", "cutover-rollback.yml"]) {
      const doc = parseYaml(readFileSync(join(NOW, file), "utf8")) as {
        env?: Record<string, string>;
        jobs: Record<
          string,
          { env?: Record<string, string>; steps?: Array<{ uses?: string; env?: Record<string, string> }> }
        >;
      };
      expect(JSON.stringify(doc.env ?? {}), file).not.toContain("secrets.");
      let given = 0;
      for (const [id, job] of Object.entries(doc.jobs)) {
        expect(JSON.stringify(job.env ?? {}), `${file} ${id}`).not.toContain("secrets.");
        for (const step of job.steps ?? []) {
          if (!step.env?.CUTOVER_NOTIFICATION_SECRETS) continue;
          given++;
          expect(step.uses, `${file} ${id}`).toMatch(
            /^[.$]\/actions\/(shift-traffic|metric-gate|rollback|decommission|reconcile|record-state|propose-phase)$/,
          );
        }
      }
      expect(given, file).toBeGreaterThan(0);
    }
  });

  it("hands the role's credentials only to the steps that call AWS", async () => {
    const withCredentials = async (dir: string) => {
      const { calls, stands } = standIns({ "metric-gate": { outputs: { verdict: "pass" } } });
      const run = await apply(dir, { stands });
      expect(jobOf(run, "migrate / shift").result).toBe("success");
      return {
        given: [...new Set(calls.filter((call) => call.env.AWS_ACCESS_KEY_ID).map((call) => call.action))],
        called: [...new Set(calls.map((call) => call.action))],
      };
    };
    // Before: configure-aws-credentials exported them to every later step of the job.
    expect((await withCredentials(BEFORE)).given).toContain("record-state");
    const now = await withCredentials(NOW);
    expect(now.called).toEqual(expect.arrayContaining(["record-state", "shift-traffic", "metric-gate"]));
    expect(now.given.sort()).toEqual(["metric-gate", "reconcile", "shift-traffic"]);
  });

  it("schedules the monitor off the quarter-hour marks", () => {
    const cron = (dir: string) =>
      (
        parseYaml(readFileSync(join(dir, "monitor.yml"), "utf8")) as {
          on: { schedule: Array<{ cron: string }> };
        }
      ).on.schedule[0]!.cron;
    const minutes = (expression: string) => {
      const field = expression.split(/\s+/)[0]!;
      if (field.startsWith("*/"))
        return Array.from({ length: 60 / Number(field.slice(2)) }, (_, i) => i * Number(field.slice(2)));
      return field.split(",").map(Number);
    };
    expect(minutes(cron(BEFORE))).toContain(0);
    const now = minutes(cron(NOW));
    expect(now.filter((minute) => minute % 15 === 0)).toEqual([]);
    expect(now).toHaveLength(4); // still every 15 minutes
  });

  it("starts no workflow for a pull request opened with GITHUB_TOKEN", async () => {
    const { calls, stands } = standIns();
    const run = await runWorkflow({
      workflow: "plan.yml",
      workflowsDir: NOW,
      eventName: "pull_request",
      eventPayload: { number: 8, pull_request: { number: 8, base: { sha: "b" }, head: { sha: "h" } } },
      checkout: world().checkout,
      env: githubEnv(),
      token: TOKEN,
      triggeredBy: "github-token",
      standIns: stands,
    });
    expect(run.jobs).toEqual([]);
    expect(calls).toEqual([]);
  });
});
