/**
 * Runs a real workflow file the way the runner would, for end-to-end tests:
 * parsed with GitHub's own `@actions/workflow-parser`, expressions evaluated
 * with `@actions/expressions`, jobs in `needs` order (matrices expanded,
 * local reusable workflows called), `if:` with the status functions, and the
 * `uses: ./actions/<name>` steps run from their bundled dist as processes
 * with the runner's environment (see run-action.ts), composite actions of
 * `.github/actions/<name>` run step by step in bash. A self-repository
 * reference (`$/actions/<name>`, `$/.github/workflows/<file>`) names the same
 * files as `./`: the runner reads actions and workflows from this repository. Step and job outputs
 * flow into later `steps.*` and `needs.*` contexts.
 *
 * Third-party steps are not run; their effect is set up directly:
 * actions/checkout → the job's workspace is a fresh clone of the local bare
 * remote; aws-actions/configure-aws-credentials → the AWS environment points
 * at the sandbox; actions/setup-node → the Node running the tests. `run:`
 * steps run in bash with their `env:` evaluated, as on a runner.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import { parse as parseYaml } from "yaml";
import { parseOutputFile, repoRoot, runBundledAction } from "./run-action.js";
import { loadWorkflowParser } from "./workflow-parser.js";

type Token = {
  templateTokenType: number;
  expression?: string;
  value?: unknown;
  count?: number;
  get?(index: number): unknown;
  find?(key: string): Token | undefined;
};

/** Token types of the parser (templates/tokens/types.ts). */
const TOKEN = {
  String: 0,
  Sequence: 1,
  Mapping: 2,
  BasicExpression: 3,
  Boolean: 5,
  Number: 6,
  Null: 7,
} as const;

export type StepConclusion = "success" | "failure" | "skipped" | "cancelled";

/** What a stand-in for a local action reports: its outcome, outputs and how long it took. */
export interface StandInResult {
  outcome?: "success" | "failure";
  outputs?: Record<string, string>;
  /** Minutes the step runs; a job whose steps pass its timeout-minutes is cut off in this step. */
  minutes?: number;
}

/** Runs in place of `./actions/<name>`: gets the evaluated inputs, the job's name and the step's env. */
export type ActionStandIn = (
  inputs: Record<string, string>,
  context: { job: string; env: Record<string, string>; environment?: string },
) => StandInResult | Promise<StandInResult>;

/** An environment's protection rules, as the repository settings hold them. */
export interface EnvironmentRules {
  /** Required reviewers: each job referencing the environment waits for one of them. */
  reviewers?: string[];
  /** Deployment branch policy: the only refs/heads/<name> allowed; every branch when absent. */
  branches?: string[];
  /** Environment-level variables, laid over the repository's in `vars` for its jobs. */
  vars?: Record<string, string>;
}

/** One approval GitHub asks a person for: a job waiting on an environment with reviewers. */
export interface ApprovalRequest {
  job: string;
  environment: string;
}

export interface StepRecord {
  job: string;
  id: string;
  uses?: string;
  run?: string;
  outcome: StepConclusion;
  outputs: Record<string, string>;
  /** Evaluated `with:` of a local action. */
  inputs?: Record<string, string>;
  summary?: string;
  stdout?: string;
  stderr?: string;
}

export interface JobRecord {
  /** Job id; matrix legs and called workflows' jobs as "migrate (orders-api) / shift". */
  id: string;
  result: "success" | "failure" | "skipped" | "cancelled" | "killed";
  /** Why GitHub refused or cut the job short (branch policy, timeout). */
  annotation?: string;
  outputs: Record<string, string>;
  environment?: string;
  steps: StepRecord[];
}

export interface WorkflowRunOptions {
  /** File name under the workflows directory. */
  workflow: string;
  /** Where workflow files are read from; the repository's .github/workflows by default. */
  workflowsDir?: string;
  eventName: string;
  eventPayload: Record<string, unknown>;
  /** A fresh workspace (clone) for each job, as actions/checkout gives a fresh runner. */
  checkout: () => string;
  /** Environment every action gets (sandbox AWS endpoint and credentials, GITHUB_API_URL, ...). */
  env: Record<string, string>;
  /** `vars` context (repository and environment variables). */
  vars?: Record<string, string>;
  /** The job token (`github.token`). */
  token: string;
  repository?: string;
  /** Stop the whole run right after this step, as if the runner died: nothing else runs, not even `always()` steps. */
  killAfter?: { job: string; step: string };
  /** Per-action timeout. */
  timeoutMs?: number;
  /**
   * Where the workflows of another repository are read from, by owner/name: a caller's
   * `uses: <owner/name>/.github/workflows/<file>@<ref>` runs that file (any ref), and its own `./` and `$/`
   * calls resolve in the same directory, as GitHub resolves them in the called workflow's repository.
   */
  repositories?: Record<string, string>;
  /** Local actions run by a function instead of their bundle (workflow semantics without AWS). */
  standIns?: Record<string, ActionStandIn>;
  /** Environments' protection rules; an environment not listed has none. */
  environments?: Record<string, EnvironmentRules>;
  /** The run is cancelled (by a person or a concurrency group) right after this step. */
  cancelAfter?: { job: string; step: string };
  /**
   * A pull request from a fork: GitHub gives the run no `vars` and no secrets
   * (only GITHUB_TOKEN, read-only).
   */
  fromFork?: boolean;
  /**
   * Who caused the event. Events made with a run's GITHUB_TOKEN start no
   * workflow, except workflow_dispatch and repository_dispatch.
   */
  triggeredBy?: "user" | "github-token";
}

export interface WorkflowRun {
  jobs: JobRecord[];
  killed: boolean;
  cancelled: boolean;
  /** Approvals GitHub asked for, in order. */
  approvals: ApprovalRequest[];
  /** Every step, in the order they ran. */
  steps: StepRecord[];
  job(id: string): JobRecord;
  step(job: string, id: string): StepRecord;
}

interface Scope {
  github: Record<string, unknown>;
  inputs: Record<string, unknown>;
  vars: Record<string, string>;
  env: Record<string, string>;
  matrix: Record<string, unknown>;
  needs: Record<string, { result: string; outputs: Record<string, string> }>;
  steps: Record<string, { outcome: string; conclusion: string; outputs: Record<string, string> }>;
  strategy: Record<string, unknown>;
  job: Record<string, unknown>;
  runner: Record<string, unknown>;
  secrets: Record<string, string>;
  /** Whether any ancestor job or earlier step failed (for success()/failure()). */
  failed: boolean;
  /** Whether the run was cancelled or this job cut off by its timeout (for cancelled()). */
  cancelled?: boolean;
  /** Whether the whole run was cancelled: cancelled() holds in any job then, success() need not fail. */
  runCancelled?: boolean;
}

const CONTEXT_NAMES = [
  "github",
  "inputs",
  "vars",
  "env",
  "matrix",
  "needs",
  "steps",
  "strategy",
  "job",
  "runner",
  "secrets",
];
const STATUS_FUNCTIONS = ["success", "failure", "always", "cancelled"].map((name) => ({
  name,
  minArgs: 0,
  maxArgs: 0,
}));

/** Evaluates one expression (without `${{ }}`) against a scope. */
export function evaluateExpression(expression: string, scope: Scope): unknown {
  const lexed = new Lexer(expression).lex();
  const ast = new Parser(lexed.tokens, CONTEXT_NAMES, STATUS_FUNCTIONS).parse();
  const contexts = JSON.parse(
    JSON.stringify(Object.fromEntries(CONTEXT_NAMES.map((name) => [name, scope[name as keyof Scope] ?? {}]))),
    data.reviver,
  ) as data.Dictionary;
  const status = (value: boolean) => ({ call: () => new data.BooleanData(value) });
  const functions = new Map([
    // As on GitHub: success() is false once the run is cancelled; failure() says only that a step or job failed.
    ["success", { name: "success", minArgs: 0, maxArgs: 0, ...status(!scope.failed && !scope.cancelled) }],
    ["failure", { name: "failure", minArgs: 0, maxArgs: 0, ...status(scope.failed) }],
    ["always", { name: "always", minArgs: 0, maxArgs: 0, ...status(true) }],
    [
      "cancelled",
      {
        name: "cancelled",
        minArgs: 0,
        maxArgs: 0,
        ...status(Boolean(scope.cancelled || scope.runCancelled)),
      },
    ],
  ]);
  const result = new Evaluator(ast, contexts, functions).evaluate();
  return JSON.parse(JSON.stringify(result, data.replacer) ?? "null");
}

/** Whether an `if:` holds; an expression without a status function is wrapped in success() as GitHub does. */
function condition(expression: string | undefined, scope: Scope): boolean {
  const text = expression?.trim() || "success()";
  const hasStatus = /\b(success|failure|always|cancelled)\s*\(/i.test(text);
  const value = evaluateExpression(hasStatus ? text : `success() && (${text})`, scope);
  return Boolean(value) && value !== "" && value !== 0;
}

/** Evaluates a template token into a plain value. */
function evaluateToken(token: Token | undefined, scope: Scope): unknown {
  if (!token) return undefined;
  switch (token.templateTokenType) {
    case TOKEN.String:
    case TOKEN.Boolean:
    case TOKEN.Number:
      return token.value;
    case TOKEN.Null:
      return null;
    case TOKEN.BasicExpression:
      return evaluateExpression(token.expression!, scope);
    case TOKEN.Sequence: {
      const out: unknown[] = [];
      for (let i = 0; i < token.count!; i++) out.push(evaluateToken(token.get!(i) as Token, scope));
      return out;
    }
    case TOKEN.Mapping: {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < token.count!; i++) {
        const pair = token.get!(i) as { key: Token; value: Token };
        out[String(evaluateToken(pair.key, scope))] = evaluateToken(pair.value, scope);
      }
      return out;
    }
    default:
      throw new Error(`token type ${token.templateTokenType} is not supported by the test runner`);
  }
}

/** A value as the runner passes it to an action input or an output: strings as they are, the rest as JSON. */
function asInputString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  return JSON.stringify(value);
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries((value as Record<string, unknown>) ?? {}))
    out[key] = asInputString(item);
  return out;
}

interface ParsedWorkflow {
  // biome-ignore lint/suspicious/noExplicitAny: the parser's model types are structural
  template: any;
  root: Token;
}

async function parseWorkflowFile(name: string, workflowsDir: string): Promise<ParsedWorkflow> {
  const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await loadWorkflowParser();
  const content = readFileSync(join(workflowsDir, name), "utf8");
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors();
  if (errors.length > 0 || !parsed.value)
    throw new Error(`${name}: ${errors.map((e) => e.message).join("; ")}`);
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  if (template.errors?.length)
    throw new Error(`${name}: ${template.errors.map((e) => e.Message).join("; ")}`);
  return { template, root: parsed.value as unknown as Token };
}

/**
 * A `uses:` with a self-repository reference (`$/path`: the workflow's own repository at the running
 * commit) as the `./path` this runner resolves against this repository.
 */
export function selfRelative(uses: string): string {
  return uses.startsWith("$/") ? `./${uses.slice(2)}` : uses;
}

/** Replaces each `${{ expression }}` in a composite action's text with its value. */
function interpolate(text: string, scope: Scope): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expression: string) =>
    asInputString(evaluateExpression(expression.trim(), scope)),
  );
}

interface CompositeAction {
  inputs?: Record<string, { default?: unknown }>;
  runs: {
    using: string;
    steps: Array<{ run?: string; shell?: string; env?: Record<string, string>; uses?: string }>;
  };
}

/** Default inputs of a local action, as the runner sets them from action.yml. */
function actionDefaults(name: string): Record<string, string> {
  const path = join(repoRoot, "actions", name, "action.yml");
  if (!existsSync(path)) throw new Error(`uses: ./actions/${name}: no action.yml at ${path}`);
  const yml = parseYaml(readFileSync(path, "utf8")) as { inputs?: Record<string, { default?: unknown }> };
  const out: Record<string, string> = {};
  for (const [input, declared] of Object.entries(yml.inputs ?? {})) {
    if (declared.default !== undefined) out[input] = String(declared.default);
  }
  return out;
}

class KilledRun extends Error {}

/** Runs a `run:` script in bash -e, bounded to 30 s, as the runner's default shell does. */
function runShell(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-e", "-c", script], { cwd, env, timeout: 30_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.on("error", (error) => resolve({ status: null, stdout, stderr: `${stderr}${error.message}` }));
  });
}

/**
 * What actions/checkout does with `ref` and `path`, on the workspace the
 * test's checkout() made: a workspace that is no git clone (shell-only
 * fixtures) is left as it is; `path` gets its own clone of the same origin;
 * `ref` is checked out detached, as the action leaves it.
 */
function checkoutRef(workspace: string, path: string, ref: string): { ok: boolean; error?: string } {
  const gitIn = (cwd: string, ...args: string[]) => spawnSync("git", args, { cwd, encoding: "utf8" });
  if (gitIn(workspace, "rev-parse", "--git-dir").status !== 0) return { ok: true };
  let dir = workspace;
  if (path) {
    const origin = gitIn(workspace, "remote", "get-url", "origin").stdout.trim();
    dir = join(workspace, path);
    const cloned = gitIn(workspace, "clone", "--quiet", origin, dir);
    if (cloned.status !== 0) return { ok: false, error: cloned.stderr };
  }
  if (ref) {
    const moved = gitIn(dir, "checkout", "--quiet", "--detach", ref);
    if (moved.status !== 0) return { ok: false, error: `ref ${ref}: ${moved.stderr}` };
  }
  return { ok: true };
}

/** Runs a workflow for one event; returns every job and step with its outcome and outputs. */
export async function runWorkflow(options: WorkflowRunOptions): Promise<WorkflowRun> {
  const repository = options.repository ?? "example/platform";
  const runner = new WorkflowRunner(options, repository);
  const parsed = await parseWorkflowFile(options.workflow, runner.workflowsDir);
  const events = parsed.template.events as Record<string, unknown>;
  if (!(options.eventName in events)) {
    throw new Error(
      `${options.workflow} does not run on ${options.eventName} (it runs on ${Object.keys(events).join(", ")})`,
    );
  }
  if (
    options.triggeredBy === "github-token" &&
    options.eventName !== "workflow_dispatch" &&
    options.eventName !== "repository_dispatch"
  ) {
    // GitHub creates no run at all: nothing to see, not even a skipped job.
    return runner.result();
  }
  const github = {
    event_name: options.eventName,
    event: options.eventPayload,
    repository,
    token: options.token,
    run_id: "4242",
    run_attempt: "1",
    ref: (options.eventPayload.ref as string | undefined) ?? "refs/heads/main",
    sha: (options.eventPayload.after as string | undefined) ?? "",
    actor: "octocat",
    server_url: "https://github.com",
    api_url: options.env.GITHUB_API_URL ?? "https://api.github.com",
  };
  const inputs =
    options.eventName === "workflow_dispatch"
      ? ((options.eventPayload.inputs as Record<string, unknown>) ?? {})
      : {};
  try {
    await runner.runJobs(parsed, { github, inputs, prefix: "", dir: runner.workflowsDir });
  } catch (error) {
    if (!(error instanceof KilledRun)) throw error;
  }
  return runner.result();
}

class WorkflowRunner {
  private readonly jobs: JobRecord[] = [];
  private readonly steps: StepRecord[] = [];
  private killed = false;
  private cancelled = false;
  private readonly approvals: ApprovalRequest[] = [];
  readonly workflowsDir: string;

  constructor(
    private readonly options: WorkflowRunOptions,
    private readonly repository: string,
  ) {
    this.workflowsDir = options.workflowsDir ?? join(repoRoot, ".github", "workflows");
  }

  result(): WorkflowRun {
    const jobs = this.jobs;
    const steps = this.steps;
    return {
      jobs,
      steps,
      killed: this.killed,
      cancelled: this.cancelled,
      approvals: this.approvals,
      job(id) {
        const found = jobs.find((job) => job.id === id);
        if (!found) throw new Error(`no job "${id}" ran; jobs: ${jobs.map((job) => job.id).join(", ")}`);
        return found;
      },
      step(job, id) {
        const found = steps.find((step) => step.job === job && step.id === id);
        if (!found) throw new Error(`no step "${id}" in job "${job}"`);
        return found;
      },
    };
  }

  async runJobs(
    parsed: ParsedWorkflow,
    call: {
      github: Record<string, unknown>;
      inputs: Record<string, unknown>;
      prefix: string;
      /** Directory the running workflow was read from, where its local calls resolve. */
      dir: string;
    },
  ): Promise<Record<string, { result: string; outputs: Record<string, string> }>> {
    const done: Record<
      string,
      { result: string; outputs: Record<string, string>; failedChain: boolean; cancelledChain: boolean }
    > = {};
    const pending = [...parsed.template.jobs];
    const rootJobs = parsed.root.find!("jobs")!;
    while (pending.length > 0) {
      const index = pending.findIndex((job) =>
        (job.needs ?? []).every((need: Token) => String(need.value) in done),
      );
      if (index === -1) throw new Error("jobs have a needs cycle");
      const job = pending.splice(index, 1)[0];
      const id = String(job.id.value);
      const needIds: string[] = (job.needs ?? []).map((need: Token) => String(need.value));
      const needs = Object.fromEntries(
        needIds.map((need) => [need, { result: done[need]!.result, outputs: done[need]!.outputs }]),
      );
      const failedChain = needIds.some((need) => done[need]!.result === "failure" || done[need]!.failedChain);
      // A job cut off (timeout, cancel) makes cancelled() true for what depends on it.
      const cancelledChain =
        this.cancelled ||
        needIds.some((need) => done[need]!.result === "cancelled" || done[need]!.cancelledChain);
      const base: Scope = {
        github: call.github,
        inputs: call.inputs,
        // GitHub gives a fork's pull request no configuration variables and no secrets.
        vars: this.options.fromFork ? {} : (this.options.vars ?? {}),
        env: {},
        matrix: {},
        needs,
        steps: {},
        strategy: {},
        job: {},
        runner: { os: "Linux", temp: "/tmp" },
        secrets: {},
        failed: failedChain,
        cancelled: cancelledChain,
      };
      const env = stringMap(evaluateToken(parsed.root.find!("env"), base));
      base.env = env;
      const legs = this.matrixLegs(job, base);
      const results: JobRecord[] = [];
      for (const matrix of legs) {
        const scope: Scope = { ...base, matrix, steps: {} };
        const legName = `${call.prefix}${id}${Object.keys(matrix).length > 0 ? ` (${Object.values(matrix).map(asInputString).join(", ")})` : ""}`;
        // A skipped dependency skips this job unless its if: uses a status function that says otherwise.
        const anySkipped = needIds.some((need) => done[need]!.result === "skipped");
        const ifText = job.if?.expression as string | undefined;
        const explicitStatus = /\b(always|failure|cancelled)\s*\(/i.test(ifText ?? "");
        const runs = (!anySkipped || explicitStatus) && condition(ifText, scope);
        if (!runs) {
          const skipped: JobRecord = { id: legName, result: "skipped", outputs: {}, steps: [] };
          this.jobs.push(skipped);
          results.push(skipped);
          continue;
        }
        if (job.type === "reusableWorkflowJob") {
          results.push(await this.callWorkflow(job, scope, legName, call.dir));
        } else {
          const rawJob = rootJobs.find!(id)!;
          results.push(await this.runJob(job, rawJob, scope, legName));
        }
      }
      const result = results.some((r) => r.result === "failure")
        ? "failure"
        : results.some((r) => r.result === "cancelled")
          ? "cancelled"
          : results.every((r) => r.result === "skipped")
            ? "skipped"
            : "success";
      // Matrix legs write the same job outputs; the last leg's value wins, as on GitHub.
      const outputs = Object.assign({}, ...results.map((r) => r.outputs)) as Record<string, string>;
      done[id] = { result, outputs, failedChain, cancelledChain };
    }
    return Object.fromEntries(
      Object.entries(done).map(([id, entry]) => [id, { result: entry.result, outputs: entry.outputs }]),
    );
  }

  private matrixLegs(job: { strategy?: Token }, scope: Scope): Array<Record<string, unknown>> {
    if (!job.strategy) return [{}];
    const strategy = evaluateToken(job.strategy, scope) as { matrix?: Record<string, unknown> };
    const matrix = strategy.matrix ?? {};
    const { include, exclude: _exclude, ...axes } = matrix as { include?: unknown; exclude?: unknown };
    let legs: Array<Record<string, unknown>> = [{}];
    for (const [axis, values] of Object.entries(axes)) {
      if (!Array.isArray(values)) throw new Error(`matrix axis ${axis} is not a list`);
      legs = legs.flatMap((leg) => values.map((value) => ({ ...leg, [axis]: value })));
    }
    if (Array.isArray(include)) {
      legs =
        Object.keys(axes).length === 0 ? (include as Array<Record<string, unknown>>) : [...legs, ...include];
    }
    return legs.filter((leg) => Object.keys(leg).length > 0 || Object.keys(axes).length === 0);
  }

  private async callWorkflow(
    job: { ref: Token; "input-values"?: Token },
    scope: Scope,
    name: string,
    dir: string,
  ): Promise<JobRecord> {
    const ref = selfRelative(String(job.ref.value));
    const remote = /^([^/]+\/[^/]+)\/\.github\/workflows\/([^/@]+)@.+$/.exec(ref);
    let calledDir = dir;
    let file: string;
    if (remote && this.options.repositories?.[remote[1]!]) {
      calledDir = this.options.repositories[remote[1]!]!;
      file = remote[2]!;
    } else if (ref.startsWith("./.github/workflows/")) {
      file = ref.slice("./.github/workflows/".length);
    } else {
      throw new Error(`reusable workflow ${ref}: neither local nor in a repository the test maps`);
    }
    const called = await parseWorkflowFile(file, calledDir);
    const given = evaluateToken(job["input-values"], scope) as Record<string, unknown> | undefined;
    const declared = (called.template.events.workflow_call?.inputs ?? {}) as Record<
      string,
      { default?: unknown }
    >;
    const inputs: Record<string, unknown> = {};
    for (const [input, definition] of Object.entries(declared)) {
      inputs[input] = given?.[input] ?? definition.default ?? "";
    }
    const jobs = await this.runJobs(called, {
      github: scope.github,
      inputs,
      prefix: `${name} / `,
      dir: calledDir,
    });
    const failed = Object.values(jobs).some((job) => job.result === "failure");
    const cancelled = Object.values(jobs).some((job) => job.result === "cancelled");
    const record: JobRecord = {
      id: name,
      result: failed ? "failure" : cancelled ? "cancelled" : "success",
      outputs: {},
      steps: [],
    };
    this.jobs.push(record);
    return record;
  }

  private async runJob(
    job: { steps: Array<Record<string, unknown>>; environment?: Token; outputs?: Token },
    rawJob: Token,
    initialScope: Scope,
    name: string,
  ): Promise<JobRecord> {
    let scope = initialScope;
    const record: JobRecord = { id: name, result: "success", outputs: {}, steps: [] };
    this.jobs.push(record);
    if (job.environment) {
      const environment = evaluateToken(job.environment, scope);
      record.environment = asInputString(
        typeof environment === "object" && environment !== null
          ? (environment as { name?: unknown }).name
          : environment,
      );
      const rules = this.options.environments?.[record.environment] ?? {};
      const ref = String(scope.github.ref ?? "");
      const branch = ref.replace(/^refs\/heads\//, "");
      if (rules.branches && !(ref.startsWith("refs/heads/") && rules.branches.includes(branch))) {
        // GitHub refuses the job before it starts: no approval asked, no step run, no token minted.
        record.result = "failure";
        record.annotation = `Branch "${branch}" is not allowed to deploy to ${record.environment} due to environment protection rules.`;
        return record;
      }
      if ((rules.reviewers ?? []).length > 0)
        this.approvals.push({ job: name, environment: record.environment });
      if (!this.options.fromFork) scope = { ...scope, vars: { ...scope.vars, ...(rules.vars ?? {}) } };
    }
    const workspace = this.options.checkout();
    const rawSteps = rawJob.find!("steps")!;
    const timeoutMinutes = Number(evaluateToken(rawJob.find!("timeout-minutes"), scope) ?? 360);
    let elapsedMinutes = 0;
    let failed = false;
    // A job's steps judge success() and failure() on the job's own steps, as on GitHub.
    let cutOff = false;
    for (let index = 0; index < job.steps.length; index++) {
      const step = job.steps[index] as { id: string; uses?: Token; run?: Token; if?: Token; env?: Token };
      const rawStep = rawSteps.get!(index) as Token;
      const stepScope: Scope = { ...scope, failed, cancelled: cutOff, runCancelled: this.cancelled };
      const id = step.id;
      const uses = step.uses ? selfRelative(String(step.uses.value)) : undefined;
      const stepRecord: StepRecord = { job: name, id, uses, outcome: "skipped", outputs: {} };
      if (!condition(step.if?.expression, stepScope)) {
        scope.steps[id] = { outcome: "skipped", conclusion: "skipped", outputs: {} };
        this.push(record, stepRecord);
        continue;
      }
      const stepEnv = stringMap(evaluateToken(step.env, stepScope));
      const standIn = uses?.startsWith("./actions/")
        ? this.options.standIns?.[uses.slice("./actions/".length)]
        : undefined;
      if (uses?.startsWith("./actions/") && standIn) {
        const action = uses.slice("./actions/".length);
        const given = stringMap(evaluateToken(rawStep.find!("with"), stepScope));
        const inputs = { ...actionDefaults(action), ...given };
        const outcome = await standIn(inputs, {
          job: name,
          env: { ...scope.env, ...stepEnv },
          environment: record.environment,
        });
        elapsedMinutes += outcome.minutes ?? 0;
        if (elapsedMinutes > timeoutMinutes) {
          // The runner cancels the step in flight; what follows runs only under always() or cancelled().
          Object.assign(stepRecord, { inputs, outcome: "cancelled" });
          record.annotation = `The job has exceeded the maximum execution time of ${timeoutMinutes} minutes.`;
          cutOff = true;
        } else {
          Object.assign(stepRecord, {
            inputs,
            outcome: outcome.outcome ?? "success",
            outputs: outcome.outputs ?? {},
          });
        }
      } else if (uses?.startsWith("./actions/")) {
        const action = uses.slice("./actions/".length);
        const given = stringMap(evaluateToken(rawStep.find!("with"), stepScope));
        const inputs = { ...actionDefaults(action), ...given };
        const run = await runBundledAction(action, {
          inputs,
          workspace,
          eventName: this.options.eventName,
          eventPayload: this.options.eventPayload,
          timeoutMs: this.options.timeoutMs ?? 120_000,
          env: {
            // Credentials reach an action only as configure-aws-credentials hands them on: exported
            // to the job's later steps, or as its outputs in the step's own env.
            ...this.options.env,
            AWS_ACCESS_KEY_ID: "",
            AWS_SECRET_ACCESS_KEY: "",
            AWS_SESSION_TOKEN: "",
            ...scope.env,
            ...stepEnv,
            GITHUB_REPOSITORY: this.repository,
            GITHUB_JOB: name,
          },
        });
        Object.assign(stepRecord, {
          inputs,
          outcome: run.exitCode === 0 ? "success" : "failure",
          outputs: run.outputs,
          summary: run.summary,
          stdout: run.stdout,
          stderr: run.stderr,
        });
      } else if (uses?.startsWith("./.github/actions/")) {
        const given = stringMap(evaluateToken(rawStep.find!("with"), stepScope));
        const result = await this.runComposite(
          uses.slice(2),
          given,
          workspace,
          {
            PATH: process.env.PATH ?? "",
            ...scope.env,
            ...stepEnv,
          },
          stepScope,
        );
        Object.assign(stepRecord, { inputs: given, ...result });
      } else if (uses?.startsWith("aws-actions/configure-aws-credentials@")) {
        // As the action does: the role's credentials exported to every later step of the job unless
        // output-env-credentials is false, and set as step outputs when output-credentials is true.
        const given = stringMap(evaluateToken(rawStep.find!("with"), stepScope));
        const credentials = assumedCredentials(this.options.env);
        if (given["output-env-credentials"] !== "false")
          scope.env = {
            ...scope.env,
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
            ...(given["aws-region"]
              ? { AWS_REGION: given["aws-region"], AWS_DEFAULT_REGION: given["aws-region"] }
              : {}),
          };
        Object.assign(stepRecord, {
          inputs: given,
          outcome: "success",
          outputs:
            given["output-credentials"] === "true"
              ? {
                  "aws-access-key-id": credentials.accessKeyId,
                  "aws-secret-access-key": credentials.secretAccessKey,
                  ...(credentials.sessionToken ? { "aws-session-token": credentials.sessionToken } : {}),
                }
              : {},
        });
      } else if (uses?.startsWith("actions/checkout@")) {
        const given = stringMap(evaluateToken(rawStep.find!("with"), stepScope));
        const checkedOut = checkoutRef(workspace, given.path ?? "", given.ref ?? "");
        Object.assign(stepRecord, { inputs: given, outcome: checkedOut.ok ? "success" : "failure" });
        if (!checkedOut.ok) stepRecord.stderr = checkedOut.error;
      } else if (uses?.startsWith("actions/setup-node@")) {
        stepRecord.outcome = "success";
      } else if (step.run) {
        const script = asInputString(evaluateToken(step.run, stepScope));
        const outputFile = join(mkdtempSync(join(tmpdir(), "cutover-run-step-")), "output");
        writeFileSync(outputFile, "");
        // Asynchronous, so a step may call servers this process runs (the test GitHub).
        const result = await runShell(script, workspace, {
          PATH: process.env.PATH ?? "",
          GITHUB_OUTPUT: outputFile,
          ...scope.env,
          ...stepEnv,
        });
        Object.assign(stepRecord, {
          run: script,
          outputs: parseOutputFile(readFileSync(outputFile, "utf8")),
          outcome: result.status === 0 ? "success" : "failure",
          stdout: result.stdout,
          stderr: result.stderr,
        });
      } else {
        throw new Error(`step ${id} of ${name} uses ${uses}, which the test runner cannot stand in for`);
      }
      scope.steps[id] = {
        outcome: stepRecord.outcome,
        conclusion: stepRecord.outcome,
        outputs: stepRecord.outputs,
      };
      // continue-on-error: the outcome stays failure, the conclusion is success and the job goes on.
      const continueOnError = evaluateToken(rawStep.find!("continue-on-error"), stepScope) === true;
      if (stepRecord.outcome === "failure" && continueOnError) scope.steps[id]!.conclusion = "success";
      else if (stepRecord.outcome === "failure") failed = true;
      this.push(record, stepRecord);
      const kill = this.options.killAfter;
      if (kill && name.endsWith(kill.job) && id === kill.step) {
        record.result = "killed";
        this.killed = true;
        throw new KilledRun();
      }
      const cancel = this.options.cancelAfter;
      if (cancel && name.endsWith(cancel.job) && id === cancel.step) {
        this.cancelled = true;
        cutOff = true;
      }
    }
    record.result = failed ? "failure" : cutOff ? "cancelled" : "success";
    record.outputs = stringMap(evaluateToken(job.outputs, { ...scope, failed, cancelled: cutOff }));
    return record;
  }

  /**
   * Runs a composite action of this repository as the runner does: its `run:` steps in bash, in the
   * workspace, with the calling step's env, each step's own env and GITHUB_ACTION_PATH set to the action's
   * directory; `inputs` are the action's defaults overlaid with the step's `with:`. Stops at the first failure.
   */
  private async runComposite(
    path: string,
    given: Record<string, string>,
    workspace: string,
    env: Record<string, string>,
    scope: Scope,
  ): Promise<Pick<StepRecord, "outcome" | "outputs" | "stdout" | "stderr">> {
    const actionDir = join(repoRoot, path);
    const file = join(actionDir, "action.yml");
    if (!existsSync(file)) throw new Error(`uses: ${path}: no action.yml at ${file}`);
    const action = parseYaml(readFileSync(file, "utf8")) as CompositeAction;
    if (action.runs.using !== "composite") throw new Error(`${path} is not a composite action`);
    const inputs: Record<string, string> = {};
    for (const [name, declared] of Object.entries(action.inputs ?? {})) {
      inputs[name] = given[name] ?? (declared.default === undefined ? "" : String(declared.default));
    }
    const inner: Scope = { ...scope, inputs };
    let stdout = "";
    let stderr = "";
    for (const step of action.runs.steps) {
      if (!step.run || step.shell !== "bash")
        throw new Error(`${path}: only run steps with shell: bash are modelled`);
      const stepEnv = Object.fromEntries(
        Object.entries(step.env ?? {}).map(([key, value]) => [key, interpolate(String(value), inner)]),
      );
      const result = await runShell(interpolate(step.run, inner), workspace, {
        ...env,
        ...stepEnv,
        GITHUB_ACTION_PATH: actionDir,
      });
      stdout += result.stdout;
      stderr += result.stderr;
      if (result.status !== 0) return { outcome: "failure", outputs: {}, stdout, stderr };
    }
    return { outcome: "success", outputs: {}, stdout, stderr };
  }

  private push(job: JobRecord, step: StepRecord): void {
    job.steps.push(step);
    this.steps.push(step);
  }
}

/** The credentials a role assumption gives in tests: the sandbox's when the run has them, else stand-ins. */
function assumedCredentials(env: Record<string, string>) {
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID || "ASIATESTRUNNER",
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY || "runner-test-secret",
    sessionToken: env.AWS_SESSION_TOKEN || "",
  };
}
