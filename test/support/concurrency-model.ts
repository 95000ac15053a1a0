/**
 * GitHub's concurrency groups as the documentation states them, for tests of
 * what happens between runs (the workflow runner plays one run at a time):
 * per group at most one running and one pending run or job; a newer pending
 * one cancels the older pending one; with `cancel-in-progress: true` a newer
 * one cancels the running one instead. A job waiting for an environment's
 * reviewers already holds the groups it is in, as do its workflow's groups.
 *
 * The groups are read from the real workflow files and evaluated with
 * `@actions/expressions`, so the model answers for the workflows as written.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { evaluateExpression, selfRelative } from "./workflow-runner.js";

interface ConcurrencyYaml {
  group: string;
  "cancel-in-progress"?: boolean | string;
}

interface JobYaml {
  uses?: string;
  needs?: string | string[];
  environment?: string | { name: string };
  concurrency?: string | ConcurrencyYaml;
  steps?: Array<{ uses?: string }>;
}

interface WorkflowYaml {
  concurrency?: string | ConcurrencyYaml;
  jobs: Record<string, JobYaml>;
}

/** One concurrency group a run holds or waits for, evaluated. */
export interface GroupClaim {
  group: string;
  cancelInProgress: boolean;
}

/** Values the group expressions read (`inputs`, `matrix`, `github`, `vars`). */
export interface ClaimContext {
  inputs?: Record<string, unknown>;
  matrix?: Record<string, unknown>;
  github?: Record<string, unknown>;
  vars?: Record<string, string>;
}

/** Replaces each `${{ expression }}` of a string with its value. */
export function interpolate(text: string, context: ClaimContext): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_match, expression: string) => {
    const value = evaluateExpression(expression, {
      github: context.github ?? {},
      inputs: context.inputs ?? {},
      vars: context.vars ?? {},
      env: {},
      matrix: context.matrix ?? {},
      needs: {},
      steps: {},
      strategy: {},
      job: {},
      runner: {},
      secrets: {},
      failed: false,
    });
    return value === null || value === undefined ? "" : String(value);
  });
}

function claimOf(concurrency: string | ConcurrencyYaml | undefined, context: ClaimContext): GroupClaim[] {
  if (!concurrency) return [];
  const spec = typeof concurrency === "string" ? { group: concurrency } : concurrency;
  const cancel = spec["cancel-in-progress"];
  return [
    {
      group: interpolate(spec.group, context),
      cancelInProgress:
        typeof cancel === "string" ? interpolate(cancel, context) === "true" : cancel === true,
    },
  ];
}

/** A workflow file, its self-repository references (`$/…`) read as the `./…` they name here. */
function readWorkflow(dir: string, name: string): WorkflowYaml {
  const doc = parseYaml(readFileSync(join(dir, name), "utf8")) as WorkflowYaml;
  for (const job of Object.values(doc.jobs)) {
    if (job.uses) job.uses = selfRelative(job.uses);
    for (const step of job.steps ?? []) if (step.uses) step.uses = selfRelative(step.uses);
  }
  return doc;
}

/**
 * The groups a run holds when its first job matching `atJob` is ready to
 * start (waiting for approval or running): its workflow's groups (and, for a
 * job calling a local reusable workflow, the called workflow's), plus the
 * job's own. `atJob` picks the job; the first job using one of `actions`
 * when given as a list of local action paths.
 */
export function claimsAt(
  dir: string,
  workflow: string,
  context: ClaimContext,
  atJob: JobMatcher,
): GroupClaim[] {
  const doc = readWorkflow(dir, workflow);
  const outer = claimOf(doc.concurrency, context);
  for (const [id, job] of Object.entries(doc.jobs)) {
    if (job.uses?.startsWith("./.github/workflows/")) {
      const inner = claimsAt(dir, job.uses.slice("./.github/workflows/".length), context, atJob);
      if (inner.length > 0 || jobMatchesInside(dir, job.uses, context, atJob))
        return [...outer, ...claimOf(job.concurrency, context), ...inner];
      continue;
    }
    if (atJob(job, id, environmentOf(job, context))) return [...outer, ...claimOf(job.concurrency, context)];
  }
  return [];
}

/** Picks a job: its YAML, its id and its environment's evaluated name. */
export type JobMatcher = (job: JobYaml, id: string, environment: string | undefined) => boolean;

function environmentOf(job: JobYaml, context: ClaimContext): string | undefined {
  if (!job.environment) return undefined;
  return interpolate(typeof job.environment === "string" ? job.environment : job.environment.name, context);
}

function jobMatchesInside(dir: string, uses: string, context: ClaimContext, atJob: JobMatcher): boolean {
  const doc = readWorkflow(dir, uses.slice("./.github/workflows/".length));
  return Object.entries(doc.jobs).some(([id, job]) => atJob(job, id, environmentOf(job, context)));
}

/** The first job that waits for reviewers: one in an environment that `hasReviewers` says has them. */
export function firstApprovalJob(hasReviewers: (environment: string) => boolean): JobMatcher {
  return (_job, _id, environment) => environment !== undefined && hasReviewers(environment);
}

/** The first job with a step using one of these local actions. */
export function firstJobUsing(...actions: string[]): JobMatcher {
  return (job) => (job.steps ?? []).some((step) => actions.includes(step.uses ?? ""));
}

export type RunState = "running" | "pending" | "cancelled" | "done";

/** The queue GitHub keeps per concurrency group. */
export class ConcurrencyQueue {
  private readonly running = new Map<string, string>();
  private readonly pending = new Map<string, string>();
  private readonly states = new Map<string, RunState>();
  private readonly claims = new Map<string, GroupClaim[]>();

  /** A run (or job) arrives wanting all these groups; it runs when it holds them all. */
  arrive(run: string, claims: GroupClaim[]): RunState {
    this.claims.set(run, claims);
    const blocked = claims.filter((claim) => {
      const holder = this.running.get(claim.group);
      return holder !== undefined && holder !== run;
    });
    for (const claim of blocked) {
      const holder = this.running.get(claim.group)!;
      if (claim.cancelInProgress) {
        this.cancel(holder);
      }
    }
    const stillBlocked = claims.some((claim) => {
      const holder = this.running.get(claim.group);
      return holder !== undefined && holder !== run;
    });
    if (!stillBlocked) {
      for (const claim of claims) this.running.set(claim.group, run);
      this.states.set(run, "running");
      return "running";
    }
    for (const claim of claims) {
      if (this.running.get(claim.group) === undefined) continue;
      const older = this.pending.get(claim.group);
      // A newer pending run cancels the older pending one, whatever cancel-in-progress says.
      if (older !== undefined && older !== run) this.cancel(older);
      this.pending.set(claim.group, run);
    }
    this.states.set(run, "pending");
    return "pending";
  }

  /** A running run ends; the pending run of each group it held may start. */
  finish(run: string): void {
    this.release(run, "done");
  }

  state(run: string): RunState | undefined {
    return this.states.get(run);
  }

  private cancel(run: string): void {
    this.release(run, "cancelled");
  }

  private release(run: string, state: RunState): void {
    this.states.set(run, state);
    const freed: string[] = [];
    for (const [group, holder] of [...this.running]) {
      if (holder === run) {
        this.running.delete(group);
        freed.push(group);
      }
    }
    for (const [group, waiting] of [...this.pending]) if (waiting === run) this.pending.delete(group);
    for (const group of freed) {
      const next = this.pending.get(group);
      if (next === undefined) continue;
      this.pending.delete(group);
      this.arrive(next, this.claims.get(next) ?? []);
    }
  }
}
