// A newcomer's path: `cutover init` scaffolds an empty repository, and its thin workflows (which call
// acme/cutover's reusable workflows, here this repository's) run through the workflow runner against the
// sandbox and a local GitHub, from the plan comment on the pull request to the first shift after the merge.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeGitHub } from "../../sandbox/github.js";
import { startSandbox } from "../../sandbox/index.js";
import type { SandboxSeed } from "../../sandbox/types.js";
import { applyRequirements, repositoryClient, requirementsFor } from "../../src/cli/github-settings.js";
import { runCli } from "../../src/cli/main.js";
import { storedZip } from "../../src/demo/zip.js";
import type { MigrationsFile } from "../../src/model/spec.js";
import type { MigrationStatus } from "../../src/model/status.js";
import { trafficSeed } from "../fixtures/traffic/seed.js";
import { createLocalRemote, git } from "../support/git-remote.js";
import { repoRoot } from "../support/run-action.js";
import { runWorkflow, type WorkflowRun } from "../support/workflow-runner.js";

const TOKEN = "ghs_newcomer_token";
const events = join(repoRoot, "test", "fixtures", "gitops", "events");

function event(name: string, shas: Record<string, string>): Record<string, unknown> {
  let text = readFileSync(join(events, `${name}.json`), "utf8");
  for (const [placeholder, sha] of Object.entries(shas)) text = text.replaceAll(placeholder, sha);
  return JSON.parse(text) as Record<string, unknown>;
}

async function cli(cwd: string, ...argv: string[]) {
  let output = "";
  const code = await runCli(argv, {
    cwd,
    stdout: (text) => {
      output += text;
    },
    stderr: (text) => {
      output += text;
    },
    now: () => new Date(),
  });
  return { code, output };
}

/** Every file under `dir`, by relative path. */
function filesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return out;
}

/** The reference AWS world, with the set identifiers the scaffold names (ecs and lambda). */
function newcomerSeed(): SandboxSeed {
  return JSON.parse(
    JSON.stringify(trafficSeed({ propagationMs: 200, ttl: 1 })).replaceAll('"ecs-fargate"', '"ecs"'),
  );
}

function failures(run: WorkflowRun): string {
  return run.steps
    .filter((step) => step.outcome === "failure")
    .map((step) => `${step.job} / ${step.id}: ${step.stderr ?? ""}${step.stdout ?? ""}`.slice(0, 3000))
    .join("\n");
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("a repository scaffolded by cutover init", () => {
  it("gets its plan comment, then its first shift, through acme/cutover's reusable workflows", async () => {
    const scaffold = mkdtempSync(join(tmpdir(), "orders-platform-"));
    const init = await cli(
      scaffold,
      "init",
      "--yes",
      "--source=acme/cutover",
      "--ref=v1",
      "--id=orders-api",
      "--record-name=api.example.com",
      "--hosted-zone-id=Z0EXAMPLE00001",
      "--ecs-cluster=prod",
      "--load-balancer=app/orders-api/50dc6c495c0c9188",
      "--target-group=targetgroup/orders-api/73e2d6bc24d8a067",
      "--api-id=a1b2c3d4e5",
      "--owners=@example/platform",
    );
    expect(init.code, init.output).toBe(0);
    expect((await cli(scaffold, "validate")).code).toBe(0);
    const specText = readFileSync(join(scaffold, "migrations.json"), "utf8");
    const spec = JSON.parse(specText) as MigrationsFile;

    // The repository on "GitHub": the scaffold, staging passed as the pipeline recorded it, and a build.
    const at = "2026-03-01T09:00:00.000Z";
    const staged: MigrationStatus = {
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
    const remote = createLocalRemote({
      ...filesOf(scaffold),
      "status/orders-api.json": `${JSON.stringify(staged, null, 2)}\n`,
    });
    const builder = remote.clone("builder");
    writeFileSync(
      join(builder, "orders-api.zip"),
      storedZip({ "index.mjs": "export const handler = async () => ({ statusCode: 200, body: 'ok' });" }),
    );
    git(builder, "add", "orders-api.zip");
    git(builder, "commit", "--quiet", "-m", "Build orders-api");
    git(builder, "push", "--quiet", "origin", "main");

    const sandbox = await startSandbox({ seed: newcomerSeed() });
    const github = await startFakeGitHub({
      repository: "example/platform",
      token: TOKEN,
      gitDir: remote.bare,
      pullRequests: [
        { number: 7, title: "orders-api: canary-10", head: "orders-api-canary-10", base: "main" },
      ],
    });
    cleanups.push(async () => {
      await github.close();
      await sandbox.close();
    });
    await applyRequirements(
      repositoryClient(TOKEN, github.url),
      "example",
      "platform",
      requirementsFor(spec, [{ type: "Team", id: 1 }]),
    );
    const run = (
      workflow: string,
      eventName: string,
      payload: Record<string, unknown>,
      checkout = () => remote.clone(),
    ) =>
      runWorkflow({
        workflow,
        workflowsDir: join(scaffold, ".github", "workflows"),
        repositories: { "acme/cutover": join(repoRoot, ".github", "workflows") },
        eventName,
        eventPayload: payload,
        checkout,
        env: { ...sandbox.env, GITHUB_API_URL: github.url },
        vars: {
          CUTOVER_AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/cutover",
          CUTOVER_AWS_REGION: sandbox.region,
          CUTOVER_ARTIFACT: "orders-api.zip",
        },
        token: TOKEN,
        timeoutMs: 60_000,
      });
    const canary = specText.replace('"phase": "staging"', '"phase": "canary-10"');

    // 1. A pull request moves orders-api to canary-10: the plan is commented on it.
    const branch = remote.clone("branch");
    git(branch, "checkout", "--quiet", "-b", "orders-api-canary-10");
    writeFileSync(join(branch, "migrations.json"), canary);
    git(branch, "commit", "--quiet", "-am", "orders-api: canary-10");
    git(branch, "push", "--quiet", "origin", "orders-api-canary-10");
    const base = remote.tip("main");
    const head = remote.tip("orders-api-canary-10");
    const plan = await run(
      "plan.yml",
      "pull_request",
      event("pull_request.opened", { BASE_SHA: base, HEAD_SHA: head }),
      () => remote.clone(undefined, "orders-api-canary-10"),
    );
    expect(failures(plan)).toBe("");
    expect(plan.step("plan / plan", "plan").outputs.ok).toBe("true");
    const comment = github.comments.find((candidate) => candidate.issueNumber === 7);
    expect(comment?.body).toContain("<!-- cutover:plan -->");
    expect(comment?.body).toContain("canary-10");

    // 2. The merge: the apply chain deploys the build and shifts 10 % to the new side.
    const before = remote.tip("main");
    const after = remote.push({ "migrations.json": canary }, "Merge orders-api: canary-10");
    const apply = await run("apply.yml", "push", event("push", { BASE_SHA: before, HEAD_SHA: after }));
    expect(failures(apply)).toBe("");
    const deployed = apply.steps.find(
      (step) => step.job.endsWith("/ deploy") && step.uses === "./actions/deploy",
    );
    expect(deployed?.outcome).toBe("success");
    expect(deployed?.inputs?.["zip-file"]).toBe("orders-api.zip");
    const status = JSON.parse(remote.show("status/orders-api.json") ?? "null") as MigrationStatus;
    expect(status).toMatchObject({ phase: "canary-10", state: "baking", weights: { old: 90, new: 10 } });
    const zone = (
      sandbox.state().route53 as {
        hostedZones: Array<{ id: string; records: Array<{ setIdentifier?: string; weight?: number }> }>;
      }
    ).hostedZones.find((candidate) => candidate.id.endsWith("Z0EXAMPLE00001"))!;
    const weighted = zone.records.filter((record) => record.setIdentifier !== undefined);
    expect(weighted.map((record) => [record.setIdentifier, record.weight])).toEqual([
      ["ecs", 90],
      ["lambda", 10],
    ]);
  }, 180_000);
});
