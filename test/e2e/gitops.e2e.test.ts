// The GitOps loop end to end: the real workflow files run by the test runner
// (GitHub's parser and expression evaluator), their local actions run from
// their bundles as processes, against the sandbox (AWS), the local GitHub API
// and a local bare git remote, starting from real webhook payloads. After
// each run, the status committed to git must equal what the sandbox reports.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeGitHub, startFakeGitHub } from "../../sandbox/github.js";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { applyRequirements, repositoryClient, requirementsFor } from "../../src/cli/github-settings.js";
import type { MigrationsFile } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { trafficSeed } from "../fixtures/traffic/seed.js";
import { createLocalRemote, git, type LocalRemote } from "../support/git-remote.js";
import { repoRoot } from "../support/run-action.js";
import { runWorkflow, type WorkflowRun } from "../support/workflow-runner.js";

const TOKEN = "ghs_e2e_token";
const ZONE = "Z0EXAMPLE00001";
const RECORD = "api.example.com";
const fixtures = join(repoRoot, "test", "fixtures", "gitops");

function event(name: string, shas: Record<string, string>): Record<string, unknown> {
  let text = readFileSync(join(fixtures, "events", `${name}.json`), "utf8");
  for (const [placeholder, sha] of Object.entries(shas)) text = text.replaceAll(placeholder, sha);
  return JSON.parse(text) as Record<string, unknown>;
}

/** A status where staging has passed and all traffic is on the old side, as the pipeline would have left it. */
function stagingPassedStatus(): MigrationStatus {
  const at = "2026-03-01T09:00:00.000Z";
  return {
    version: 2,
    migration: "orders-api",
    phase: "staging",
    state: "passed",
    weights: { old: 100, new: 0 },
    checkpoints: [],
    timestamps: { phaseStartedAt: at, updatedAt: at },
    history: [
      { at, event: "apply-started", phase: "staging", from: "pending", to: "applying" },
      {
        at,
        event: "apply-succeeded",
        phase: "staging",
        from: "applying",
        to: "passed",
        reason: "all steps succeeded",
      },
    ],
  };
}

interface World {
  sandbox: Sandbox;
  github: FakeGitHub;
  remote: LocalRemote;
  spec: string;
  /** Publishes the new side's traffic into CloudWatch every 100 ms, as the data plane does. */
  traffic: { errorRate: number; stop(): void };
  run(
    workflow: string,
    eventName: string,
    payload: Record<string, unknown>,
    extra?: Partial<Parameters<typeof runWorkflow>[0]>,
  ): Promise<WorkflowRun>;
  /** The status committed on main. */
  status(): MigrationStatus;
  /** Share of traffic the sandbox's records send to the new side. */
  awsWeights(): { old: number; new: number };
}

const worlds: World[] = [];

afterEach(async () => {
  for (const world of worlds.splice(0)) {
    world.traffic.stop();
    await world.github.close();
    await world.sandbox.close();
  }
});

function startNewSideTraffic(sandbox: Sandbox): World["traffic"] {
  const dimensions = { ApiId: "a1b2c3d4e5", Stage: "$default" };
  const state = { errorRate: 0, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    const now = Date.now();
    const requests = 40;
    const put = (metricName: string, value: number, unit: string, timestamp = now) =>
      sandbox.cloudwatch.put({ namespace: "AWS/ApiGateway", metricName, dimensions, timestamp, value, unit });
    put("Count", requests, "Count");
    put("5xx", Math.round(requests * state.errorRate), "Count");
    for (let i = 0; i < 4; i++) put("Latency", 30 + i * 5, "Milliseconds", now + i);
  }, 100);
  return state;
}

async function createWorld(): Promise<World> {
  const spec = readFileSync(join(fixtures, "migrations.json"), "utf8");
  const files: Record<string, string> = {
    "migrations.json": spec,
    "status/orders-api.json": `${JSON.stringify(stagingPassedStatus(), null, 2)}\n`,
  };
  // The tracked settings and scripts the workflows read from the checkout.
  for (const path of [
    ".github/cutover.json",
    ".github/scripts/rollback-lock.sh",
    ".github/scripts/check-settings.sh",
  ]) {
    files[path] = readFileSync(join(repoRoot, path), "utf8");
  }
  for (const name of readdirSync(join(repoRoot, "load-tests"))) {
    files[`load-tests/${name}`] = readFileSync(join(repoRoot, "load-tests", name), "utf8");
  }
  const remote = createLocalRemote(files);
  const sandbox = await startSandbox({ seed: trafficSeed({ propagationMs: 200, ttl: 1 }) });
  const github = await startFakeGitHub({
    repository: "example/platform",
    token: TOKEN,
    gitDir: remote.bare,
    pullRequests: [{ number: 7, title: "orders-api: canary-10", head: "orders-api-canary-10", base: "main" }],
  });
  // The repository as cutover github-setup leaves it: the apply chain checks it first.
  await applyRequirements(
    repositoryClient(TOKEN, github.url),
    "example",
    "platform",
    requirementsFor(JSON.parse(spec) as MigrationsFile, [{ type: "Team", id: 1 }]),
  );
  const world: World = {
    sandbox,
    github,
    remote,
    spec,
    traffic: startNewSideTraffic(sandbox),
    run: (workflow, eventName, payload, extra = {}) =>
      runWorkflow({
        workflow,
        eventName,
        eventPayload: payload,
        checkout: () => remote.clone(),
        env: { ...sandbox.env, GITHUB_API_URL: github.url },
        vars: {
          CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/cutover",
          CUTOVER_AWS_REGION: sandbox.region,
        },
        token: TOKEN,
        timeoutMs: 60_000,
        ...extra,
      }),
    status: () => JSON.parse(remote.show("status/orders-api.json") ?? "null") as MigrationStatus,
    awsWeights: () => {
      const records = (
        sandbox.state().route53 as {
          hostedZones: Array<{
            id: string;
            records: Array<{ name: string; setIdentifier?: string; weight?: number }>;
          }>;
        }
      ).hostedZones
        .find((zone) => zone.id.endsWith(ZONE))!
        .records.filter((record) => record.name.replace(/\.$/, "") === RECORD);
      const weight = (id: string) => records.find((record) => record.setIdentifier === id)?.weight ?? 0;
      const old = weight("ecs-fargate");
      const fresh = weight("lambda");
      return { old: Math.round((old * 100) / (old + fresh)), new: Math.round((fresh * 100) / (old + fresh)) };
    },
  };
  worlds.push(world);
  return world;
}

/** Pushes a change of the migration's phase to `branch` (a person's commit); returns [before, after]. */
function pushPhase(world: World, phase: string, branch = "main"): [string, string] {
  const before = world.remote.tip("main");
  const text = readFileSync(join(fixtures, "migrations.json"), "utf8").replace(
    '"phase": "staging"',
    `"phase": "${phase}"`,
  );
  if (branch !== "main") {
    const dir = world.remote.clone(`branch-${branch}-${Date.now()}`);
    git(dir, "checkout", "--quiet", "-b", branch);
    return [before, pushFrom(dir, text, branch)];
  }
  return [before, world.remote.push({ "migrations.json": text }, `orders-api: ${phase}`)];
}

function pushFrom(dir: string, spec: string, branch: string): string {
  writeFileSync(join(dir, "migrations.json"), spec);
  git(dir, "commit", "--quiet", "-am", "bump phase");
  git(dir, "push", "--quiet", "origin", branch);
  return git(dir, "rev-parse", "HEAD").trim();
}

function failures(run: WorkflowRun): string {
  return run.steps
    .filter((step) => step.outcome === "failure")
    .map(
      (step) =>
        `${step.job} / ${step.id}: ${step.stderr ?? ""}${
          step.stdout
            ?.split("\n")
            .filter((line) => line.startsWith("::error"))
            .join("\n") ?? ""
        }`,
    )
    .join("\n");
}

async function waitUntil(iso: string | undefined, extraMs = 1200): Promise<void> {
  const wait = new Date(iso ?? 0).getTime() + extraMs - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 40_000)));
}

describe("the GitOps loop", () => {
  it("plans, applies, passes a bake, proposes the next phase, rolls back on errors and on demand", async () => {
    const world = await createWorld();

    // 1. A pull request bumps orders-api from staging (0 %) to canary-10 (10 %): the plan is commented.
    const [base, head] = pushPhase(world, "canary-10", "orders-api-canary-10");
    const plan = await world.run(
      "plan.yml",
      "pull_request",
      event("pull_request.opened", { BASE_SHA: base, HEAD_SHA: head }),
      {
        checkout: () => world.remote.clone(undefined, "orders-api-canary-10"),
      },
    );
    expect(failures(plan)).toBe("");
    const comment = world.github.comments.find((candidate) => candidate.issueNumber === 7);
    expect(comment?.body).toContain("<!-- cutover:plan -->");
    expect(comment?.body).toContain("canary-10");
    expect(plan.step("plan / plan", "plan-base").outputs.ok).toBe("true");

    // 2. The merge: the apply chain shifts to 10 %, commits the status, creates the deployment.
    const [before, after] = pushPhase(world, "canary-10");
    const apply = await world.run("apply.yml", "push", event("push", { BASE_SHA: before, HEAD_SHA: after }));
    expect(failures(apply)).toBe("");
    expect(world.awsWeights()).toEqual({ old: 90, new: 10 });
    expect(world.status()).toMatchObject({
      phase: "canary-10",
      state: "baking",
      weights: world.awsWeights(),
    });
    expect(world.github.deployments.map((deployment) => deployment.environment)).toContain("production");

    // 3. The bake completes with a passing gate: passed is recorded and canary-50 proposed with the evidence.
    await waitUntil(world.status().timestamps.bakeEndsAt);
    const monitor = await world.run("monitor.yml", "schedule", event("schedule", {}));
    expect(failures(monitor)).toBe("");
    expect(world.status()).toMatchObject({
      phase: "canary-10",
      state: "passed",
      weights: world.awsWeights(),
    });
    const proposal = world.github.pulls.find((pull) => pull.head === "cutover/orders-api/canary-50");
    expect(proposal?.title).toBe("cutover(orders-api): promote to canary-50");
    expect(proposal?.body).toContain("| error-rate |");
    expect(world.remote.show("migrations.json", "cutover/orders-api/canary-50")).toContain(
      '"phase": "canary-50"',
    );

    // 4. canary-50 is merged and applied; errors appear; the monitor rolls back to the last checkpoint.
    const [before50, after50] = [
      world.remote.tip("main"),
      world.remote.push(
        { "migrations.json": world.remote.show("migrations.json", "cutover/orders-api/canary-50")! },
        "Merge canary-50",
      ),
    ];
    const apply50 = await world.run(
      "apply.yml",
      "push",
      event("push", { BASE_SHA: before50, HEAD_SHA: after50 }),
    );
    expect(failures(apply50)).toBe("");
    expect(world.status()).toMatchObject({
      phase: "canary-50",
      state: "baking",
      weights: { old: 50, new: 50 },
    });
    world.traffic.errorRate = 0.5;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const breach = await world.run(
      "monitor.yml",
      "repository_dispatch",
      event("repository_dispatch.cutover-alarm", {}),
    );
    expect(failures(breach)).toBe("");
    expect(world.awsWeights()).toEqual({ old: 90, new: 10 });
    expect(world.status()).toMatchObject({
      phase: "canary-50",
      state: "rolled-back",
      weights: world.awsWeights(),
    });
    expect(
      world
        .status()
        .history.map((entry) => entry.event)
        .slice(-2),
    ).toEqual(["gate-evaluated", "rollback-completed"]);
    expect(world.github.pulls.find((pull) => pull.head === "cutover/orders-api/canary-10")?.title).toBe(
      "cutover(orders-api): bring migrations.json back in line (canary-10)",
    );

    // 5. Someone rolls everything back to the old side by hand.
    const payload = event("workflow_dispatch.rollback", {});
    (payload.inputs as Record<string, string>)["target-phase"] = "all-old";
    const manual = await world.run("rollback.yml", "workflow_dispatch", payload);
    expect(failures(manual)).toBe("");
    expect(world.awsWeights()).toEqual({ old: 100, new: 0 });
    expect(world.status()).toMatchObject({ state: "rolled-back", weights: world.awsWeights() });
    expect(world.status().history.at(-1)?.reason).toBeDefined();
  }, 240_000);

  it("reconciles a shift whose status commit was lost when the runner died", async () => {
    const world = await createWorld();
    const [before, after] = pushPhase(world, "canary-10");
    const killed = await world.run(
      "apply.yml",
      "push",
      event("push", { BASE_SHA: before, HEAD_SHA: after }),
      {
        killAfter: { job: "shift", step: "shift" },
      },
    );
    expect(killed.killed).toBe(true);
    expect(world.awsWeights()).toEqual({ old: 90, new: 10 });
    expect(world.status()).toMatchObject({ phase: "staging", weights: { old: 100, new: 0 } }); // git lags reality

    const payload = event("workflow_dispatch.rollback", {});
    payload.inputs = { migration: "orders-api", artifact: "" };
    const rerun = await world.run("apply.yml", "workflow_dispatch", payload);
    expect(failures(rerun)).toBe("");
    const status = world.status();
    expect(status).toMatchObject({ phase: "canary-10", state: "baking", weights: world.awsWeights() });
    const reconciled = status.history.find((entry) => entry.event === "reconciled");
    expect(reconciled?.reason).toMatch(/applied but never recorded/);
    expect(status.checkpoints.at(-1)?.weights).toEqual({ old: 100, new: 0 });
  }, 240_000);
});
