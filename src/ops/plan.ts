/**
 * plan: on a pull request that changes migrations.json, validate the spec,
 * judge the change with the promotion rules against the recorded status,
 * and show the plan in one sticky comment (updated in place on every push).
 * The check fails when the spec is invalid or a change is refused.
 */
import { resolve } from "node:path";
import type { RunContext } from "../action/run-context.js";
import type { ActionReport } from "../action/summary.js";
import { buildPlan, type MigrationPlan, type Plan } from "../core/planner.js";
import { renderPlanMarkdown } from "../core/render-plan.js";
import { overrideAlreadyUsed, unresolvedDrift } from "../core/transitions.js";
import type { MigrationsFile } from "../model/spec.js";
import { initialStatus, type MigrationStatus } from "../model/status.js";
import { type Notifier, type StickyComment, stickyMarker } from "../providers/notifier.js";
import type { StateStore } from "../providers/state-store.js";
import { loadSpec, SpecInvalidError } from "../spec/files.js";
import { readSpecAt } from "./select-migrations.js";

/**
 * Drift made outside cutover blocks promotion until a person decides: a
 * forward move the rules allowed is refused while the status holds an
 * unsettled drift entry, unless the pull request carries an override.
 */
export function applyDriftRule(
  plan: Plan,
  statuses: ReadonlyMap<string, MigrationStatus>,
  head: MigrationsFile,
): Plan {
  const migrations = plan.migrations.map((entry): MigrationPlan => {
    const status = statuses.get(entry.migration);
    const drift = status ? unresolvedDrift(status) : undefined;
    const { decision } = entry;
    const override = head.migrations
      .find((migration) => migration.id === entry.migration)
      ?.override?.reason?.trim();
    if (!drift || !decision.allowed || decision.kind !== "forward") return entry;
    if (override && status && !overrideAlreadyUsed(status, override)) {
      return {
        ...entry,
        decision: {
          ...decision,
          reason: `${decision.reason}; the drift recorded ${drift.at} is accepted by the override: ${override}`,
        },
      };
    }
    return {
      ...entry,
      steps: [],
      decision: {
        ...decision,
        allowed: false,
        reason:
          `drift made outside cutover was recorded ${drift.at} (${drift.reason ?? "weights differ"}) and is not settled; ` +
          "promotion waits until a person decides (put AWS back, roll back, or adopt what AWS holds with the reconcile action's on-drift: adopt), " +
          (override
            ? `or the pull request writes a new override (the one in the spec, "${override}", was already used for an earlier change)`
            : "or the pull request adds an override with a reason"),
      },
    };
  });
  return { ...plan, migrations, ok: migrations.every((entry) => entry.decision.allowed) };
}

export interface PlanRequest {
  specPath: string;
  /** Commit of the base branch the pull request compares with. */
  base?: string;
  now: Date;
}

/** Builds the plan: head spec validated, base spec as it was, statuses as recorded. */
export async function makePlan(
  request: PlanRequest,
  deps: { workspace: string; store: StateStore },
): Promise<{ plan: Plan; statuses: Map<string, MigrationStatus> }> {
  const head = await loadSpec(resolve(deps.workspace, request.specPath));
  const base: MigrationsFile | undefined = request.base
    ? await readSpecAt(deps.workspace, request.base, request.specPath)
    : undefined;
  const ids = new Set([...head.migrations, ...(base?.migrations ?? [])].map((migration) => migration.id));
  const statuses = new Map<string, MigrationStatus>();
  for (const id of ids) statuses.set(id, (await deps.store.read(id)).status);
  const plan = buildPlan({
    head,
    base,
    statuses,
    now: request.now,
    specFile: request.specPath,
    ...(request.base ? { baseRef: request.base } : {}),
    initial: (id) => initialStatus(id, request.now),
  });
  return { plan: applyDriftRule(plan, statuses, head), statuses };
}

/** The comment for a spec that does not validate: every error, each with its path. */
export function invalidSpecMarkdown(error: SpecInvalidError): string {
  return [
    "## cutover plan: the spec is not valid",
    "",
    `\`${error.file}\` has ${error.errors.length} ${error.errors.length === 1 ? "error" : "errors"}; nothing can be planned until they are fixed.`,
    "",
    "```",
    error.message,
    "```",
  ].join("\n");
}

/** Refusals, one line per refused migration. */
export function refusals(plan: Plan): string[] {
  return plan.migrations
    .filter((entry) => !entry.decision.allowed)
    .map(
      (entry) =>
        `${entry.migration}: ${entry.decision.from ?? "(new)"} → ${entry.decision.to ?? "(removed)"} refused: ${entry.decision.reason}`,
    );
}

/** What the plan action publishes. */
export type PlanOutput = "ok" | "plan" | "comment-id" | "comment-url";

export interface PlanActionInputs {
  spec: string;
  base?: string;
  pullRequest?: number;
}

export interface PlanEnvironment {
  run: RunContext;
  store: StateStore;
  notifier?: Notifier;
  setOutput: (name: PlanOutput, value: string | number | boolean | object) => void;
  warn: (message: string) => void;
  now: () => Date;
}

/** A refused or invalid change: the message fails the check, the report is the job summary. */
export class PlanRefusal extends Error {
  constructor(
    message: string,
    readonly report: ActionReport,
  ) {
    super(message);
    this.name = "PlanRefusal";
  }
}

function isForbidden(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { status?: number }).status === 403;
}

async function postComment(
  env: PlanEnvironment,
  pullRequest: number | undefined,
  body: string,
): Promise<{ comment?: StickyComment; note: string }> {
  if (!pullRequest || !env.notifier)
    return { note: "No pull request number or token given: the plan is in this summary only." };
  try {
    const comment = await env.notifier.upsertStickyComment(pullRequest, stickyMarker("plan"), body);
    return {
      comment,
      note: `${comment.created ? "Posted" : "Updated"} the plan comment on #${pullRequest}${comment.url ? ` (${comment.url})` : ""}.`,
    };
  } catch (error) {
    if (!isForbidden(error)) throw error;
    const note =
      `Could not comment on #${pullRequest}: the token may not write (a pull request from a fork gets a read-only token). ` +
      "The plan is in this job summary; the check still passes or fails on it.";
    env.warn(note);
    return { note };
  }
}

/** The plan action: plan, comment, publish; fails the check when the spec is invalid or a change is refused. */
export async function runPlan(inputs: PlanActionInputs, env: PlanEnvironment): Promise<ActionReport> {
  let plan: Plan;
  try {
    ({ plan } = await makePlan(
      { specPath: inputs.spec, ...(inputs.base ? { base: inputs.base } : {}), now: env.now() },
      { workspace: env.run.workspace, store: env.store },
    ));
  } catch (error) {
    if (!(error instanceof SpecInvalidError)) throw error;
    const body = invalidSpecMarkdown(error);
    const posted = await postComment(env, inputs.pullRequest, body);
    env.setOutput("ok", false);
    throw new PlanRefusal(error.message, {
      title: "cutover plan: the spec is not valid",
      headline: `${error.errors.length} validation ${error.errors.length === 1 ? "error" : "errors"} in ${error.file}.`,
      markdown: [body],
      done: [posted.note],
    });
  }
  const markdown = renderPlanMarkdown(plan);
  const posted = await postComment(env, inputs.pullRequest, markdown);
  env.setOutput("ok", plan.ok);
  env.setOutput("plan", plan);
  env.setOutput("comment-id", posted.comment ? String(posted.comment.id) : "");
  env.setOutput("comment-url", posted.comment?.url ?? "");
  const report: ActionReport = {
    title: plan.ok ? "cutover plan" : "cutover plan: change refused",
    headline: plan.ok
      ? `${plan.migrations.length} migration${plan.migrations.length === 1 ? "" : "s"} planned; every change follows the promotion rules.`
      : refusals(plan).join(" "),
    found: plan.migrations.map(
      (entry) =>
        `${entry.migration}: ${entry.current.phase ?? "(none applied)"} ${entry.current.state}; ${entry.decision.reason}.`,
    ),
    done: [posted.note],
    markdown: [markdown],
  };
  if (!plan.ok) throw new PlanRefusal(refusals(plan).join("\n"), report);
  return report;
}
