/**
 * What `cutover init` writes into a repository that adopts cutover: a spec
 * for one migration, example load tests, thin workflows that call cutover's
 * reusable workflows pinned to a version, the status directory, code owners
 * and a checklist of what to set up on GitHub and AWS. Pure: answers in,
 * files out, so the same text is what the tests lint and parse.
 */
import type { MigrationsFile } from "../model/spec.js";

/** Everything a scaffold is made from; every field has a default in {@link defaultAnswers}. */
export interface InitAnswers {
  /** Migration id, as in status/<id>.json. */
  id: string;
  /** Route 53 weighted record that routes the migration. */
  recordName: string;
  hostedZoneId: string;
  /** The old side: an ECS service. */
  ecsCluster: string;
  ecsService: string;
  /** The old side's Application Load Balancer and target group (CloudWatch dimensions). */
  loadBalancer: string;
  targetGroup: string;
  /** The new side: a Lambda function behind an alias. */
  functionName: string;
  alias: string;
  /** The new side's API Gateway HTTP API and stage (CloudWatch dimensions). */
  apiId: string;
  apiStage: string;
  /** GitHub environments whose reviewers approve the staging and production phases. */
  stagingEnvironment: string;
  productionEnvironment: string;
  /** The repository cutover is used from (owner/name) and the ref the workflows pin. */
  source: string;
  ref: string;
  /** The default branch: applies run on pushes to it. */
  branch: string;
  /** Code owners of what runs with production credentials (@user or @org/team). */
  owners: string;
}

/** The answers a repository gets when nothing is asked: example values, all named in the checklist. */
export function defaultAnswers(directoryName: string, source: string, ref: string): InitAnswers {
  const id = migrationIdFrom(directoryName);
  return {
    id,
    recordName: "api.example.com",
    hostedZoneId: "Z0EXAMPLE00001",
    ecsCluster: "prod",
    ecsService: id,
    loadBalancer: `app/${id}/0123456789abcdef`,
    targetGroup: `targetgroup/${id}/0123456789abcdef`,
    functionName: id,
    alias: "live",
    apiId: "a1b2c3d4e5",
    apiStage: "$default",
    stagingEnvironment: "staging",
    productionEnvironment: "production",
    source,
    ref,
    branch: "main",
    owners: "@example-org/platform-leads",
  };
}

/** A migration id made from a directory name: lower case letters, digits and dashes. */
export function migrationIdFrom(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .replace(/-{2,}/g, "-");
  return /^[a-z]/.test(id) ? id.slice(0, 63) : `api${id ? `-${id}` : ""}`.slice(0, 63);
}

/** Checks the answers; each problem names the option and what would be accepted. */
export function checkAnswers(answers: InitAnswers): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, option: string, accepted: string, value: string) => {
    if (!ok) problems.push(`--${option} "${value}": expected ${accepted}`);
  };
  need(
    /^[a-z][a-z0-9-]{0,62}$/.test(answers.id),
    "id",
    "a lower-case id of letters, digits and dashes starting with a letter, such as orders-api",
    answers.id,
  );
  need(
    /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/.test(answers.source),
    "source",
    "the GitHub repository cutover is used from, as owner/name (acme/cutover)",
    answers.source,
  );
  need(
    /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(answers.ref) && !answers.ref.includes(".."),
    "ref",
    "a tag (v1, v1.2.0), a branch or a commit SHA",
    answers.ref,
  );
  need(/^[A-Za-z0-9._/-]+$/.test(answers.branch), "branch", "a branch name such as main", answers.branch);
  need(
    answers.owners
      .split(/\s+/)
      .every((owner) => /^@[A-Za-z0-9-]+(\/[A-Za-z0-9._-]+)?$|^[^@\s]+@[^@\s]+$/.test(owner)),
    "owners",
    "space-separated @user, @org/team or e-mail entries",
    answers.owners,
  );
  for (const [option, value] of [
    ["staging-environment", answers.stagingEnvironment],
    ["production-environment", answers.productionEnvironment],
  ] as const) {
    need(
      /^[A-Za-z0-9_.-]{1,255}$/.test(value),
      option,
      "a GitHub environment name (letters, digits, . _ -)",
      value,
    );
  }
  need(
    /^app\/[^/\s]+\/[^/\s]+$/.test(answers.loadBalancer),
    "load-balancer",
    "a LoadBalancer dimension such as app/orders-api/50dc6c495c0c9188",
    answers.loadBalancer,
  );
  need(
    /^targetgroup\/[^/\s]+\/[^/\s]+$/.test(answers.targetGroup),
    "target-group",
    "a TargetGroup dimension such as targetgroup/orders-api/73e2d6bc24d8a067",
    answers.targetGroup,
  );
  for (const [option, value] of [
    ["api-id", answers.apiId],
    ["api-stage", answers.apiStage],
    ["record-name", answers.recordName],
    ["hosted-zone-id", answers.hostedZoneId],
    ["ecs-cluster", answers.ecsCluster],
    ["ecs-service", answers.ecsService],
    ["function-name", answers.functionName],
    ["alias", answers.alias],
  ] as const) {
    need(value.trim() !== "" && !/\s/.test(value), option, "a non-empty value without spaces", value);
  }
  return problems;
}

/** The spec for one migration with the reference plan: staging with a smoke test, 10 %, 50 %, 100 %, decommission. */
export function scaffoldSpec(answers: InitAnswers): MigrationsFile & { $schema: string } {
  return {
    $schema: `https://raw.githubusercontent.com/${answers.source}/${answers.ref}/migrations.schema.json`,
    version: 1,
    migrations: [
      {
        id: answers.id,
        description: `${answers.recordName}: ECS service ${answers.ecsService} to Lambda function ${answers.functionName}`,
        phase: "staging",
        router: {
          kind: "route53",
          hostedZoneId: answers.hostedZoneId,
          recordName: answers.recordName,
          recordType: "A",
          oldSetIdentifier: "ecs",
          newSetIdentifier: "lambda",
        },
        oldSide: {
          kind: "ecs",
          cluster: answers.ecsCluster,
          service: answers.ecsService,
          telemetry: { kind: "alb", loadBalancer: answers.loadBalancer, targetGroup: answers.targetGroup },
        },
        newSide: {
          kind: "lambda",
          functionName: answers.functionName,
          alias: answers.alias,
          telemetry: { kind: "apigateway-http", apiId: answers.apiId, stage: answers.apiStage },
        },
        gates: {
          standard: {
            period: "1m",
            minSamples: 1000,
            metrics: [
              {
                name: "error-rate",
                metric: "error-rate",
                pass: { max: 0.01 },
                rollback: { max: 0.02 },
                compareToOld: { maxIncrease: 0.005 },
              },
              {
                name: "latency-p95",
                metric: "latency-p95",
                pass: { max: 500 },
                rollback: { max: 1000 },
                compareToOld: { maxRatio: 1.2 },
              },
            ],
          },
        },
        phases: [
          {
            name: "staging",
            environment: answers.stagingEnvironment,
            steps: [
              { kind: "deploy", side: "new" },
              { kind: "load-test", scenario: "load-tests/smoke.yml", thresholds: { maxErrorRate: 0 } },
              {
                kind: "load-test",
                scenario: "load-tests/sustained.yml",
                thresholds: { p95Ms: 500, p99Ms: 1000, maxErrorRate: 0.01, minRateRatio: 0.95 },
              },
            ],
          },
          {
            name: "canary-10",
            environment: answers.productionEnvironment,
            steps: [
              { kind: "deploy", side: "new" },
              { kind: "shift", weight: 10 },
              { kind: "bake", duration: "48h", gate: "standard" },
            ],
          },
          {
            name: "canary-50",
            environment: answers.productionEnvironment,
            steps: [
              { kind: "shift", weight: 50 },
              { kind: "bake", duration: "72h", gate: "standard" },
            ],
          },
          {
            name: "full",
            environment: answers.productionEnvironment,
            steps: [
              { kind: "shift", weight: 100 },
              { kind: "bake", duration: "7d", gate: "standard" },
            ],
          },
          {
            name: "decommission",
            environment: `${answers.productionEnvironment}-decommission`,
            steps: [{ kind: "decommission", hold: "48h", quietWindow: "1h" }],
          },
        ],
      },
    ],
  } as unknown as MigrationsFile & { $schema: string };
}

/**
 * In cutover's own repository the called plan workflow is the pull request's own copy, so a pull request
 * could change the code that grades it: there the plan runs the base branch's action instead. A repository
 * that calls a released cutover grades with that release.
 */
const OWN_REPOSITORY_GRADING = `    with:
      # The called workflow here is the pull request's: grade with the base branch's plan action.
      grade-with: base
`;

/** The reusable workflows a scaffold calls, by the caller file that calls each. */
export const REUSABLE_WORKFLOWS = {
  "plan.yml": "cutover-plan.yml",
  "apply.yml": "cutover-apply.yml",
  "monitor.yml": "cutover-monitor.yml",
  "rollback.yml": "cutover-rollback.yml",
} as const;

export type CallerWorkflow = keyof typeof REUSABLE_WORKFLOWS;

/**
 * The thin workflow that calls one of cutover's reusable workflows: the events, the permissions it grants and
 * the concurrency group belong to the caller; everything else lives in the called workflow. `uses` is the
 * reference to the called workflow (`owner/cutover/.github/workflows/x.yml@ref`, or `./.github/workflows/x.yml`
 * in cutover's own repository, which calls the same files the same way).
 */
export function callerWorkflow(name: CallerWorkflow, uses: string, branch: string): string {
  switch (name) {
    case "plan.yml":
      return `# Plan: on every pull request that changes migrations.json, validate the spec, apply the promotion
# rules against the recorded status and post (or update) one sticky comment with the plan. The check fails
# when the change is refused. Runs on \`pull_request\` (never \`pull_request_target\`): the pull request's
# code gets a read-only token, no secrets and no AWS access. The grading code is the called workflow's.
name: plan

on:
  pull_request:
    paths:
      - migrations.json

permissions: {}

concurrency:
  # One plan at a time per pull request, so comments are never written out of order.
  group: cutover-plan-\${{ github.event.pull_request.number }}
  cancel-in-progress: false

jobs:
  plan:
    permissions:
      # Read the spec at the base and head commits and the recorded status.
      contents: read
      # Post and update the one sticky plan comment.
      pull-requests: write
    uses: ${uses}
${uses.startsWith("./") ? OWN_REPOSITORY_GRADING : ""}`;
    case "apply.yml":
      return `# Apply: when migrations.json changes on the default branch (or on demand), run each changed
# migration's phase: one approval in the phase's environment, then reconcile, deploy, load test, shift
# and the first gate look, committing status/<id>.json after every change to AWS.
name: apply

on:
  push:
    branches:
      - ${branch}
    paths:
      - migrations.json
  workflow_dispatch:
    inputs:
      migration:
        description: Migration id to (re-)apply at the phase migrations.json names
        required: true
        type: string
      artifact:
        description: Artifact for a deploy step (zip path, S3 URI or image URI); the variable CUTOVER_ARTIFACT otherwise
        required: false
        type: string

permissions: {}

jobs:
  apply:
    # The called workflow narrows these per job; it can never get more than this grants.
    permissions:
      # Commit status/<id>.json and open the pull requests a rollback or a passed phase proposes.
      contents: write
      pull-requests: write
      # Record deployments to the phases' environments.
      deployments: write
      # Exchange the job's OIDC token for the environment's AWS role.
      id-token: write
      # Read the OIDC subject template the AWS roles rely on.
      actions: read
    uses: ${uses}
    with:
      migration: \${{ inputs.migration }}
      artifact: \${{ inputs.artifact }}
    secrets:
      # Optional: the secrets the migration's notification sinks name (NAME=value lines).
      CUTOVER_NOTIFICATION_SECRETS: \${{ secrets.CUTOVER_NOTIFICATION_SECRETS }}
`;
    case "monitor.yml":
      return `# Monitor: long bakes never hold a runner. On a schedule, and at once when a CloudWatch alarm calls
# through EventBridge (repository_dispatch type cutover-alarm), judge every baking migration: a breach
# rolls back, a completed bake is recorded as passed and the next phase proposed as a pull request.
name: monitor

on:
  schedule:
    # Off the hour's quarter marks, where GitHub's scheduler is busiest and runs late or drops runs.
    - cron: "7,22,37,52 * * * *"
  repository_dispatch:
    types:
      - cutover-alarm

permissions: {}

jobs:
  monitor:
    # The called workflow narrows these per job.
    permissions:
      # Commit status/<id>.json and propose the next phase (or the rollback) as a pull request.
      contents: write
      pull-requests: write
      # Record deployments to the phases' environments.
      deployments: write
      # Exchange the job's OIDC token for the environment's AWS role.
      id-token: write
    uses: ${uses}
    with:
      migration: \${{ github.event.client_payload.migration }}
    secrets:
      # Optional: the secrets the migration's notification sinks name (NAME=value lines).
      CUTOVER_NOTIFICATION_SECRETS: \${{ secrets.CUTOVER_NOTIFICATION_SECRETS }}
`;
    case "rollback.yml":
      return `# Rollback on demand: anyone allowed to run workflows sends a migration back at once, records why, and
# opens a pull request that brings migrations.json back in line with what is now true.
name: rollback

on:
  workflow_dispatch:
    inputs:
      migration:
        description: Migration id (as in migrations.json)
        required: true
        type: string
      reason:
        description: Why; recorded in the status history and the pull request
        required: true
        type: string
      target-phase:
        description: Phase to return to; the last checkpoint when empty, all-old for 100 % on the old side
        required: false
        type: string
        default: ""

permissions: {}

# A group of its own, apart from apply and monitor: only another rollback of the same migration can
# replace a pending one.
concurrency:
  group: cutover-rollback-\${{ inputs.migration }}
  cancel-in-progress: false

jobs:
  rollback:
    # The called workflow narrows these per job.
    permissions:
      # Commit status/<id>.json and open the pull request that brings the spec in line.
      contents: write
      pull-requests: write
      # Record the rollback against the environment.
      deployments: write
      # Exchange the job's OIDC token for the rollback role.
      id-token: write
    uses: ${uses}
    with:
      migration: \${{ inputs.migration }}
      reason: \${{ inputs.reason }}
      target-phase: \${{ inputs.target-phase }}
    secrets:
      # Optional: the secrets the migration's notification sinks name (NAME=value lines).
      CUTOVER_NOTIFICATION_SECRETS: \${{ secrets.CUTOVER_NOTIFICATION_SECRETS }}
`;
  }
}

/** `uses:` of a reusable workflow as another repository calls it. */
export function remoteUses(answers: Pick<InitAnswers, "source" | "ref">, workflow: string): string {
  return `${answers.source}/.github/workflows/${workflow}@${answers.ref}`;
}

const SMOKE_SCENARIO = `# One virtual user calls the health endpoint once; any status outside 2xx/3xx is an error, and the
# staging phase's smoke step allows none (maxErrorRate: 0). Add the requests that prove your API works.
config:
  target: "{{ $env.TARGET_URL }}"
  phases:
    - name: call once
      duration: 1
      arrivalCount: 1
  http:
    timeout: 10
scenarios:
  - name: health
    flow:
      - get:
          url: "/health"
`;

const SUSTAINED_SCENARIO = `# 30 s ramp from 10 to 100 requests/s, then 100 requests/s for 5 minutes. Each virtual user makes one
# request, so arrivals per second are requests per second; the spec step's thresholds judge the report.
config:
  target: "{{ $env.TARGET_URL }}"
  phases:
    - name: ramp
      duration: 30
      arrivalRate: 10
      rampTo: 100
    - name: sustained
      duration: 300
      arrivalRate: 100
  http:
    timeout: 10
scenarios:
  - name: health
    flow:
      - get:
          url: "/health"
`;

function loadTestsReadme(): string {
  return `# Load tests

Artillery 2 scenarios that the staging phase of \`migrations.json\` runs through cutover's \`load-test\`
action. Paths in the spec are relative to the directory of \`migrations.json\`. The target comes from the
\`CUTOVER_TARGET_URL\` variable of the phase's environment (the action passes \`--target\` and sets
\`TARGET_URL\`), so the same file serves every environment. Try one locally:

\`\`\`sh
ARTILLERY_DISABLE_TELEMETRY=true npx artillery run --target https://staging.example.com load-tests/smoke.yml
\`\`\`

| File            | Load                                           | Judged on                                           |
| --------------- | ---------------------------------------------- | --------------------------------------------------- |
| \`smoke.yml\`     | one request to \`/health\`                       | no errors at all                                    |
| \`sustained.yml\` | ramp to 100 requests/s, then 100/s for 5 min   | the step's p95, p99, error rate and achieved rate  |
`;
}

function statusReadme(): string {
  return `# Status

One file per migration, \`<id>.json\`, written and committed by cutover's workflows after every change
they make to AWS: the applied phase and its state, the weights, the checkpoints a rollback restores, the
bake window and an append-only history of every decision with its evidence. Never edit these by hand;
what people want goes in \`migrations.json\`, through a pull request. \`npx cutover status\` shows them.
`;
}

function codeOwners(answers: InitAnswers): string {
  return `# Changes to what runs with production credentials, and to what it deploys, need an owner's review
# (turn on "Require review from Code Owners" in the default branch's ruleset).
/.github/ ${answers.owners}
/actions/ ${answers.owners}
/load-tests/ ${answers.owners}
/infra/ ${answers.owners}
/migrations.json ${answers.owners}
`;
}

/** The checklist of what cutover cannot set up from files, with the values this scaffold used. */
export function checklist(answers: InitAnswers, examples: readonly string[]): string {
  const environments = [
    answers.stagingEnvironment,
    answers.productionEnvironment,
    `${answers.productionEnvironment}-decommission`,
  ];
  const runnerEnvironments = [...environments.map((name) => `cutover-${name}`), "cutover-rollback"];
  return `# Running cutover in this repository

This repository moves \`${answers.recordName}\` from ECS to Lambda with cutover
([${answers.source}](https://github.com/${answers.source}) at \`${answers.ref}\`). The workflows in
\`.github/workflows/\` are thin callers of cutover's reusable workflows; the guide for adopting teams is
[docs/adoption.md](https://github.com/${answers.source}/blob/${answers.ref}/docs/adoption.md).

## Before the first pull request

${
  examples.length > 0
    ? `- [ ] Replace the example values in \`migrations.json\`: ${examples.map((example) => `\`${example}\``).join(", ")}.\n`
    : ""
}- [ ] Replace the code owners in \`.github/CODEOWNERS\` (${answers.owners}) if they are not yours.
- [ ] \`npx cutover validate\` passes.

## On GitHub (Settings)

- [ ] Environments with required reviewers, one per phase's approval: ${environments.map((name) => `\`${name}\``).join(", ")}.
- [ ] Reviewer-less environments the AWS jobs run in, each deployable from \`${answers.branch}\` only:
      ${runnerEnvironments.map((name) => `\`${name}\``).join(", ")}.
- [ ] Variables on each \`cutover-*\` environment: \`CUTOVER_AWS_ROLE_ARN\` (the role below),
      \`CUTOVER_AWS_REGION\`, \`CUTOVER_CHECKPOINT_STORE\` (the guardian's S3 location); on the staging one
      \`CUTOVER_TARGET_URL\` (what the load tests call). Repository variable \`CUTOVER_ARTIFACT\` for deploys.
- [ ] The default branch's ruleset (or branch protection) lets GitHub Actions push the status commits to
      \`status/\` (a bypass for the Actions integration), or set \`stateBranch\` in \`.github/cutover.json\`
      to a branch the workflows may push to.
- [ ] The OIDC subject template that the roles trust (\`npx cutover github-setup\` applies the settings,
      \`npx cutover doctor\` checks them).
- [ ] "Allow GitHub Actions to create and approve pull requests", so the monitor can propose the next phase.

## On AWS

- [ ] The OIDC roles, the guardian and the rollback alarms that cutover's \`infra/\` creates from this
      \`migrations.json\` (\`npm run synth\` in cutover, then Terraform), one role per \`cutover-*\` environment.
- [ ] The weighted records \`${answers.recordName}\` (set identifiers \`ecs\` and \`lambda\`) in zone
      \`${answers.hostedZoneId}\`.
`;
}

/** Every file of the scaffold, by path relative to the repository root. */
export function scaffoldFiles(
  answers: InitAnswers,
  examples: readonly string[] = [],
): Record<string, string> {
  const files: Record<string, string> = {
    "migrations.json": `${JSON.stringify(scaffoldSpec(answers), null, 2)}\n`,
    "load-tests/README.md": loadTestsReadme(),
    "load-tests/smoke.yml": SMOKE_SCENARIO,
    "load-tests/sustained.yml": SUSTAINED_SCENARIO,
    "status/README.md": statusReadme(),
    ".github/cutover.json": `${JSON.stringify({ stateBranch: "" }, null, 2)}\n`,
    ".github/CODEOWNERS": codeOwners(answers),
    "CUTOVER.md": checklist(answers, examples),
  };
  for (const [caller, reusable] of Object.entries(REUSABLE_WORKFLOWS)) {
    files[`.github/workflows/${caller}`] = callerWorkflow(
      caller as CallerWorkflow,
      remoteUses(answers, reusable),
      answers.branch,
    );
  }
  return files;
}
