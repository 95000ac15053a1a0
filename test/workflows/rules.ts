/**
 * The structural rules every workflow of this repository keeps, as functions
 * that return findings, so the tests can run them on the real workflows and
 * on deliberately broken ones (a rule that never fires proves nothing).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { repoRoot } from "../support/run-action.js";

export interface WorkflowFile {
  name: string;
  source: string;
  doc: WorkflowYaml;
}

export interface StepYaml {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: string;
}

export interface JobYaml {
  name?: string;
  "runs-on"?: string;
  "timeout-minutes"?: number;
  environment?: string | { name: string };
  permissions?: Record<string, string> | string;
  concurrency?: string | { group: string; "cancel-in-progress"?: boolean | string };
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  steps?: StepYaml[];
}

export interface WorkflowYaml {
  name?: string;
  on?: unknown;
  permissions?: Record<string, string> | string;
  concurrency?: string | { group: string; "cancel-in-progress"?: boolean | string };
  jobs: Record<string, JobYaml>;
}

const WORKFLOWS_DIR = join(repoRoot, ".github", "workflows");

/** The repository's workflow files, parsed. */
export function workflowFiles(): WorkflowFile[] {
  return readdirSync(WORKFLOWS_DIR)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => workflowFromSource(name, readFileSync(join(WORKFLOWS_DIR, name), "utf8")));
}

export function workflowFromSource(name: string, source: string): WorkflowFile {
  const parsed = parseDocument(source);
  if (parsed.errors.length > 0) throw new Error(`${name}: ${parsed.errors.map((e) => e.message).join("; ")}`);
  return { name, source, doc: parsed.toJS() as WorkflowYaml };
}

/** Local actions that change AWS; a job using one must sit in an environment. */
export const AWS_MUTATING_ACTIONS = [
  "./actions/deploy",
  "./actions/shift-traffic",
  "./actions/rollback",
  "./actions/decommission",
];

const AWS_CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials";

/**
 * Why each permission may be granted: the steps that need it. A job may hold
 * a permission only when one of its steps needs it, and must hold it then.
 */
export const PERMISSION_NEEDS: Record<
  string,
  { level: "read" | "write"; neededBy: (step: StepYaml) => boolean }
> = {
  // Commits the status or pushes a proposal branch.
  contents: {
    level: "write",
    neededBy: (step) =>
      ["./actions/record-state", "./actions/reconcile", "./actions/propose-phase"].includes(uses(step)) ||
      /\bgh release create\b|\bgit push\b/.test(step.run ?? ""),
  },
  // Exchanges the job's OIDC token for an AWS role.
  "id-token": { level: "write", neededBy: (step) => uses(step) === AWS_CREDENTIALS_ACTION },
  // Reads the repository's Actions settings (the OIDC subject template) before the chain acts.
  actions: {
    level: "read",
    neededBy: (step) =>
      (step.run ?? "").includes("check-settings.sh") || uses(step) === "./.github/actions/check-settings",
  },
  // Comments on or opens pull requests.
  "pull-requests": {
    level: "write",
    neededBy: (step) => ["./actions/plan", "./actions/propose-phase"].includes(uses(step)),
  },
  // Creates deployments and statuses: record-state does when told the environment.
  deployments: {
    level: "write",
    neededBy: (step) => uses(step) === "./actions/record-state" && step.with?.environment !== undefined,
  },
};

/** What a step uses, without its ref; a self-repository reference (`$/actions/x`) as the `./actions/x` it names. */
function uses(step: StepYaml): string {
  const target = (step.uses ?? "").split("@")[0] ?? "";
  return target.startsWith("$/") ? `./${target.slice(2)}` : target;
}

function stepsOf(job: JobYaml): StepYaml[] {
  return job.steps ?? [];
}

/** Jobs of a workflow; a job calling a local reusable workflow brings that workflow's steps in. */
function effectiveSteps(job: JobYaml, files: WorkflowFile[]): StepYaml[] {
  const callee = job.uses?.replace(/^\$\//, "./");
  if (callee?.startsWith("./.github/workflows/")) {
    const called = files.find((file) => `./.github/workflows/${file.name}` === callee);
    if (!called) return [];
    return Object.values(called.doc.jobs).flatMap((calledJob) => effectiveSteps(calledJob, files));
  }
  return stepsOf(job);
}

export interface Finding {
  workflow: string;
  job?: string;
  message: string;
}

/** `permissions: {}` at the top: nothing is granted unless a job asks. */
export function checkTopLevelPermissions(file: WorkflowFile): Finding[] {
  const top = file.doc.permissions;
  if (typeof top === "object" && top !== null && Object.keys(top).length === 0) return [];
  return [{ workflow: file.name, message: "top-level permissions must be {} (grant per job)" }];
}

/** Every job lists exactly the permissions its steps need, each with a comment saying why. */
export function checkJobPermissions(file: WorkflowFile, files: WorkflowFile[]): Finding[] {
  const findings: Finding[] = [];
  for (const [jobId, job] of Object.entries(file.doc.jobs)) {
    const granted = job.permissions;
    if (typeof granted !== "object" || granted === null) {
      findings.push({
        workflow: file.name,
        job: jobId,
        message: "job must declare its permissions as a map",
      });
      continue;
    }
    const steps = effectiveSteps(job, files);
    for (const [permission, need] of Object.entries(PERMISSION_NEEDS)) {
      const needed = steps.some(need.neededBy);
      const level = granted[permission];
      if (needed && level !== need.level) {
        findings.push({ workflow: file.name, job: jobId, message: `needs ${permission}: ${need.level}` });
      }
      if (!needed && level === "write") {
        findings.push({
          workflow: file.name,
          job: jobId,
          message: `grants ${permission}: write but no step needs it`,
        });
      }
    }
    for (const [permission, level] of Object.entries(granted)) {
      if (!(permission in PERMISSION_NEEDS) && !(permission === "contents" && level === "read")) {
        findings.push({
          workflow: file.name,
          job: jobId,
          message: `grants ${permission}: ${level}, which nothing here needs`,
        });
      }
    }
    if (steps.some((step) => step.uses?.startsWith("actions/checkout@")) && granted.contents === undefined) {
      findings.push({
        workflow: file.name,
        job: jobId,
        message: "checks out code but does not grant contents: read",
      });
    }
    if (!job.uses) findings.push(...uncommentedPermissions(file, jobId, Object.keys(granted)));
  }
  return findings;
}

/** Each granted permission line is preceded by a comment saying why. */
function uncommentedPermissions(file: WorkflowFile, jobId: string, permissions: string[]): Finding[] {
  const lines = file.source.split("\n");
  const jobStart = lines.indexOf(`  ${jobId}:`);
  const block = lines.slice(jobStart + 1);
  const end = block.findIndex((line) => /^ {2}\S/.test(line));
  const jobLines = end === -1 ? block : block.slice(0, end);
  const findings: Finding[] = [];
  for (const permission of permissions) {
    const at = jobLines.findIndex((line) => new RegExp(`^ {6}${permission}: `).test(line));
    if (at <= 0 || !/^\s*#/.test(jobLines[at - 1] ?? "")) {
      findings.push({
        workflow: file.name,
        job: jobId,
        message: `permission ${permission} has no comment saying why`,
      });
    }
  }
  return findings;
}

/** Jobs that can change AWS (credentials or a mutating action) sit in a GitHub environment. */
export function checkEnvironments(file: WorkflowFile): Finding[] {
  const findings: Finding[] = [];
  for (const [jobId, job] of Object.entries(file.doc.jobs)) {
    const mutating = stepsOf(job).some(
      (step) => AWS_MUTATING_ACTIONS.includes(uses(step)) || uses(step) === AWS_CREDENTIALS_ACTION,
    );
    if (mutating && !job.environment) {
      findings.push({ workflow: file.name, job: jobId, message: "touches AWS outside a GitHub environment" });
    }
  }
  return findings;
}

/** AWS access only through OIDC: a role from a variable, never keys. */
export function checkAwsCredentials(file: WorkflowFile): Finding[] {
  const findings: Finding[] = [];
  for (const [jobId, job] of Object.entries(file.doc.jobs)) {
    for (const step of stepsOf(job).filter((s) => uses(s) === AWS_CREDENTIALS_ACTION)) {
      const role = String(step.with?.["role-to-assume"] ?? "");
      if (!/^\$\{\{\s*vars\.[A-Z0-9_]+\s*\}\}$/.test(role)) {
        findings.push({
          workflow: file.name,
          job: jobId,
          message: `role-to-assume must come from vars. (was "${role}")`,
        });
      }
      for (const key of ["aws-access-key-id", "aws-secret-access-key", "aws-session-token"]) {
        if (step.with && key in step.with) {
          findings.push({ workflow: file.name, job: jobId, message: `uses long-lived credentials (${key})` });
        }
      }
      if (job.permissions && typeof job.permissions === "object" && job.permissions["id-token"] !== "write") {
        findings.push({ workflow: file.name, job: jobId, message: "OIDC needs id-token: write" });
      }
    }
  }
  return findings;
}

function concurrencyOf(value: WorkflowYaml["concurrency"]): { group: string; cancel: unknown } | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return { group: value, cancel: false };
  return { group: value.group, cancel: value["cancel-in-progress"] ?? false };
}

/**
 * Every job that assumes AWS credentials runs in a concurrency group that
 * names the migration, and no group anywhere cancels a run in progress.
 */
export function checkConcurrency(file: WorkflowFile, files: WorkflowFile[] = []): Finding[] {
  const findings: Finding[] = [];
  const top = concurrencyOf(file.doc.concurrency) ?? callersConcurrency(file, files);
  const all = [top, ...Object.values(file.doc.jobs).map((job) => concurrencyOf(job.concurrency))];
  if (all.every((entry) => entry === undefined) && !Object.values(file.doc.jobs).some((job) => job.uses)) {
    findings.push({ workflow: file.name, message: "has no concurrency group" });
  }
  for (const entry of all) {
    if (entry && entry.cancel !== false) {
      findings.push({
        workflow: file.name,
        message: `concurrency group ${entry.group} may cancel a run in progress`,
      });
    }
  }
  for (const [jobId, job] of Object.entries(file.doc.jobs)) {
    if (!stepsOf(job).some((step) => uses(step) === AWS_CREDENTIALS_ACTION)) continue;
    const group = concurrencyOf(job.concurrency) ?? top;
    if (!group || !/migration/.test(group.group)) {
      findings.push({
        workflow: file.name,
        job: jobId,
        message: "touches AWS outside a per-migration concurrency group",
      });
    }
  }
  return findings;
}

/**
 * The workflow-level group a reusable workflow runs in: its callers' (the caller holds the group for the whole
 * run, called jobs included), when every caller in `files` has the same one.
 */
function callersConcurrency(file: WorkflowFile, files: WorkflowFile[]) {
  if (eventNames(file.doc.on).join() !== "workflow_call") return undefined;
  const callers = files.filter((other) =>
    Object.values(other.doc.jobs).some(
      (job) => job.uses?.replace(/^\$\//, "./") === `./.github/workflows/${file.name}`,
    ),
  );
  const groups = callers.map((caller) => concurrencyOf(caller.doc.concurrency));
  const first = groups[0];
  return first && groups.every((group) => group?.group === first.group) ? first : undefined;
}

/** Every job has a timeout (a job calling a reusable workflow takes the called jobs' timeouts). */
export function checkTimeouts(file: WorkflowFile): Finding[] {
  return Object.entries(file.doc.jobs)
    .filter(([, job]) => !job.uses && typeof job["timeout-minutes"] !== "number")
    .map(([jobId]) => ({ workflow: file.name, job: jobId, message: "has no timeout-minutes" }));
}

/** Third-party actions pinned to a full commit SHA with a `# vX` comment saying which release. */
export function checkPinnedActions(file: WorkflowFile): Finding[] {
  const findings: Finding[] = [];
  for (const line of file.source.split("\n")) {
    const match = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
    if (!match) continue;
    const [, target = "", rest = ""] = match;
    // This repository's own actions and workflows, at the commit that runs.
    if (target.startsWith("./") || target.startsWith("$/")) continue;
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(target)) {
      findings.push({ workflow: file.name, message: `${target} is not pinned to a 40-hex commit SHA` });
    } else if (!/#\s*v\d+(\.\d+)*\b/.test(rest)) {
      findings.push({ workflow: file.name, message: `${target} has no "# vX" comment naming the release` });
    }
  }
  return findings;
}

/** Contexts whose values a person outside the team can influence. */
const UNTRUSTED_IN_SHELL = /\$\{\{[^}]*\b(github\.event|inputs\.|github\.head_ref|steps\.|needs\.|matrix\.)/;

/** No expression inside `run:` refers to an untrusted value; those reach the shell through `env:`. */
export function checkShellInterpolation(file: WorkflowFile): Finding[] {
  const findings: Finding[] = [];
  for (const [jobId, job] of Object.entries(file.doc.jobs)) {
    for (const step of stepsOf(job)) {
      if (step.run && UNTRUSTED_IN_SHELL.test(step.run)) {
        findings.push({
          workflow: file.name,
          job: jobId,
          message: `step "${step.name ?? step.run.slice(0, 30)}" interpolates an untrusted value into shell`,
        });
      }
    }
  }
  return findings;
}

/** Plan runs on `pull_request` (never `pull_request_target`) with no AWS and no write to contents. */
export function checkPlanIsForkSafe(file: WorkflowFile): Finding[] {
  const findings: Finding[] = [];
  const events = eventNames(file.doc.on);
  if (!events.includes("pull_request")) {
    findings.push({ workflow: file.name, message: "plan must run on pull_request" });
  }
  if (events.includes("pull_request_target")) {
    findings.push({ workflow: file.name, message: "plan must not run on pull_request_target" });
  }
  for (const [jobId, job] of Object.entries(file.doc.jobs)) {
    const perms = typeof job.permissions === "object" ? job.permissions : {};
    if (perms["id-token"] || perms.contents === "write" || job.environment) {
      findings.push({
        workflow: file.name,
        job: jobId,
        message: "plan job can reach AWS or write to the repository",
      });
    }
  }
  return findings;
}

/** Event names of `on:`, which may be a string, a list or a map. */
export function eventNames(on: unknown): string[] {
  if (typeof on === "string") return [on];
  if (Array.isArray(on)) return on.map(String);
  if (on && typeof on === "object") return Object.keys(on);
  return [];
}
