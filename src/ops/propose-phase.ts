/**
 * propose-phase: the pipeline never rewrites migrations.json silently. When
 * a bake passes it proposes the next phase, and after a rollback it proposes
 * bringing the spec back in line with what is applied, each as a pull
 * request from a bot branch whose only change is the migration's `phase`,
 * with the evidence in the body.
 */
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import type { RunContext } from "../action/run-context.js";
import type { ActionReport } from "../action/summary.js";
import { markdownTable } from "../action/summary.js";
import { locateJson, toPointer } from "../core/json-locations.js";
import type { Migration, MigrationsFile } from "../model/spec.js";
import type { AnnouncerFor } from "../notify/action.js";
import { waitingForApprovalEvent } from "../notify/event-builders.js";
import { withDeliveries } from "../notify/report.js";
import { ACTIONS_BOT } from "../providers/git-state-store.js";
import type { Notifier, OpenedPullRequest } from "../providers/notifier.js";
import { OperationRefusal } from "./journal.js";

/** The bot branch a proposal is pushed to; one per migration and phase, so a re-run updates it. */
export function proposalBranch(migration: string, phase: string): string {
  return `cutover/${migration}/${phase}`;
}

/**
 * The spec text with one migration's `phase` set to `phase`, every other
 * byte as it was (the line holding the value is edited in place); falls
 * back to re-serialising only when the text cannot be edited in place.
 */
export function specWithPhase(
  text: string,
  migrationId: string,
  phase: string,
  file = "migrations.json",
): string {
  let spec: MigrationsFile;
  try {
    spec = JSON.parse(text) as MigrationsFile;
  } catch (error) {
    throw new OperationRefusal(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const index = spec.migrations?.findIndex((migration) => migration.id === migrationId) ?? -1;
  const migration = spec.migrations?.[index];
  if (!migration) {
    throw new OperationRefusal(
      `input "migration": no migration "${migrationId}" in ${file}; it defines ${(spec.migrations ?? []).map((m) => `"${m.id}"`).join(", ") || "none"}`,
    );
  }
  if (!migration.phases.some((candidate) => candidate.name === phase)) {
    throw new OperationRefusal(
      `input "phase": "${phase}" is not a phase of "${migrationId}"; its phases: ${migration.phases.map((p) => p.name).join(", ")}`,
    );
  }
  const expected = structuredClone(spec);
  expected.migrations[index]!.phase = phase;
  const line = locateJson(text).lines.get(toPointer(["migrations", index, "phase"]));
  if (line !== undefined) {
    const lines = text.split("\n");
    const pattern = new RegExp(
      `("phase"\\s*:\\s*)${JSON.stringify(migration.phase).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`,
    );
    const edited = [...lines];
    edited[line - 1] = (lines[line - 1] ?? "").replace(pattern, `$1${JSON.stringify(phase)}`);
    const candidate = edited.join("\n");
    try {
      if (isDeepStrictEqual(JSON.parse(candidate), expected)) return candidate;
    } catch {
      // fall through to re-serialising
    }
  }
  return `${JSON.stringify(expected, null, 2)}\n`;
}

/** Gate evidence as the pull request body shows it. */
interface GateEvidenceView {
  gate?: string;
  verdict?: string;
  reasons?: string[];
  window?: { start?: string; end?: string };
  samples?: { new?: number; old?: number };
  minSamples?: number;
  metrics?: Array<{
    name?: string;
    verdict?: string;
    value?: number | null;
    pass?: unknown;
    rollback?: unknown;
  }>;
  bake?: { endsAt?: string; complete?: boolean };
}

function threshold(value: unknown): string {
  if (!value || typeof value !== "object") return "–";
  const { max, min } = value as { max?: number; min?: number };
  return (
    [min !== undefined ? `≥ ${min}` : "", max !== undefined ? `≤ ${max}` : ""].filter(Boolean).join(", ") ||
    "–"
  );
}

/** The evidence section of a proposal: the gate's verdict, window, samples and each metric against its thresholds. */
export function evidenceMarkdown(evidence: unknown): string[] {
  if (!evidence || typeof evidence !== "object") return [];
  const gate = evidence as GateEvidenceView;
  const out = [
    "### Evidence",
    "",
    `Gate \`${gate.gate ?? "?"}\`: **${gate.verdict ?? "?"}** over ${gate.window?.start ?? "?"} → ${gate.window?.end ?? "?"}` +
      `, ${gate.samples?.new ?? 0} requests on the new side (minimum ${gate.minSamples ?? "?"})` +
      `${gate.bake?.complete ? `; bake complete (ended ${gate.bake.endsAt})` : ""}.`,
    "",
  ];
  if (gate.metrics?.length) {
    out.push(
      ...markdownTable([
        ["Metric", "Value", "Pass", "Rollback", "Verdict"],
        ...gate.metrics.map((metric) => [
          metric.name ?? "?",
          metric.value === null || metric.value === undefined ? "no data" : String(metric.value),
          threshold(metric.pass),
          threshold(metric.rollback),
          metric.verdict ?? "?",
        ]),
      ]),
      "",
    );
  }
  if (gate.reasons?.length) out.push(...gate.reasons.map((reason) => `- ${reason}`), "");
  out.push(
    "<details><summary>Evidence as recorded (JSON)</summary>",
    "",
    "```json",
    JSON.stringify(evidence, null, 2),
    "```",
    "",
    "</details>",
  );
  return out;
}

export interface ProposalText {
  title: string;
  body: string;
  /** True when the proposal moves the spec forward (a promotion); false when it brings it back. */
  forward: boolean;
}

/** Title and body of the pull request. */
export function proposalText(
  migration: string,
  from: string,
  to: string,
  phases: readonly string[],
  reason: string,
  evidence: unknown,
  runUrl: string | undefined,
): ProposalText {
  const forward = phases.indexOf(to) > phases.indexOf(from);
  const title = forward
    ? `cutover(${migration}): promote to ${to}`
    : `cutover(${migration}): bring migrations.json back in line (${to})`;
  const body = [
    forward
      ? `Proposes moving **${migration}** from \`${from}\` to \`${to}\` in \`migrations.json\`.`
      : `**${migration}** was rolled back: what is applied now matches \`${to}\`, while \`migrations.json\` still names \`${from}\`. Merging this brings the spec back in line with reality; nothing in AWS changes.`,
    "",
    `**Why:** ${reason}`,
    "",
    ...(forward
      ? [
          "Merging starts the apply workflow for the new phase; its jobs wait for the environment's reviewers.",
          "",
        ]
      : []),
    ...evidenceMarkdown(evidence),
    "",
    ...(runUrl ? [`Proposed by ${runUrl}.`] : []),
  ];
  return { title, body: body.join("\n"), forward };
}

/** A git command failed. */
export class ProposalGitError extends Error {
  constructor(args: string[], stderr: string) {
    super(
      `git ${args.filter((arg) => !arg.startsWith("http.extraheader")).join(" ")} failed: ${stderr.trim()}`,
    );
    this.name = "ProposalGitError";
  }
}

/** Git in the workspace, each command bounded in time; a token goes in a header for that command only. */
export function workspaceGit(workspace: string, token?: string) {
  return (
    args: string[],
    options: { remote?: boolean; env?: Record<string, string>; stdin?: string } = {},
  ) => {
    const auth =
      options.remote && token
        ? [
            "-c",
            `http.extraheader=AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`,
          ]
        : [];
    return new Promise<string>((resolve, reject) => {
      const child = execFile(
        "git",
        [...auth, ...args],
        {
          cwd: workspace,
          env: { ...process.env, GIT_TERMINAL_PROMPT: "0", ...options.env },
          timeout: 60_000,
          maxBuffer: 32 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          if (error) reject(new ProposalGitError(args, `${stdout}\n${stderr || error.message}`));
          else resolve(String(stdout));
        },
      );
      if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    });
  };
}

export interface ProposalRequest {
  migration: string;
  phase: string;
  reason: string;
  evidence?: unknown;
  specPath: string;
  /** Branch the pull request targets. */
  base: string;
  remote?: string;
}

export interface ProposalResult {
  /** Phase the spec named at the base branch. */
  from: string;
  branch?: string;
  commit?: string;
  pullRequest?: OpenedPullRequest;
  text?: ProposalText;
  /** The migration as the base branch's spec has it (its notification sinks). */
  migration?: Migration;
}

const PROPOSAL_REF = "refs/cutover/proposal-base";

/** Pushes the branch with the spec change on top of the base branch's tip and opens (or updates) the pull request. */
export async function proposePhase(
  request: ProposalRequest,
  deps: { workspace: string; token?: string; notifier: Notifier; runUrl?: string },
): Promise<ProposalResult> {
  const git = workspaceGit(deps.workspace, deps.token);
  const remote = request.remote ?? "origin";
  await git(["fetch", "--no-tags", "--quiet", remote, `+refs/heads/${request.base}:${PROPOSAL_REF}`], {
    remote: true,
  });
  const tip = (await git(["rev-parse", "--verify", `${PROPOSAL_REF}^{commit}`])).trim();
  const text = await git(["show", `${tip}:${request.specPath}`]);
  const spec = JSON.parse(text) as MigrationsFile;
  const current = spec.migrations.find((migration) => migration.id === request.migration);
  const edited = specWithPhase(text, request.migration, request.phase, request.specPath);
  const from = current?.phase ?? "";
  if (from === request.phase) return { from };
  const proposal = proposalText(
    request.migration,
    from,
    request.phase,
    current?.phases.map((phase) => phase.name) ?? [],
    request.reason,
    request.evidence,
    deps.runUrl,
  );
  const commit = await commitFile(
    git,
    tip,
    request.specPath,
    edited,
    `${proposal.title}\n\n${request.reason}\n`,
  );
  const branch = proposalBranch(request.migration, request.phase);
  // The branch belongs to the bot: a re-run replaces it with a proposal on the newest base.
  await git(["push", "--porcelain", "--force", remote, `${commit}:refs/heads/${branch}`], { remote: true });
  const pullRequest = await deps.notifier.openPullRequest({
    head: branch,
    base: request.base,
    title: proposal.title,
    body: proposal.body,
  });
  return { from, branch, commit, pullRequest, text: proposal, ...(current ? { migration: current } : {}) };
}

async function commitFile(
  git: ReturnType<typeof workspaceGit>,
  parent: string,
  path: string,
  content: string,
  message: string,
): Promise<string> {
  const index = `${process.env.RUNNER_TEMP ?? "/tmp"}/cutover-proposal-index-${process.pid}-${Date.now()}`;
  const env = { GIT_INDEX_FILE: index };
  try {
    const blob = (await git(["hash-object", "-w", "--stdin"], { stdin: content })).trim();
    await git(["read-tree", parent], { env });
    await git(["update-index", "--add", "--cacheinfo", `100644,${blob},${path}`], { env });
    const tree = (await git(["write-tree"], { env })).trim();
    const identity = {
      GIT_AUTHOR_NAME: ACTIONS_BOT.name,
      GIT_AUTHOR_EMAIL: ACTIONS_BOT.email,
      GIT_COMMITTER_NAME: ACTIONS_BOT.name,
      GIT_COMMITTER_EMAIL: ACTIONS_BOT.email,
    };
    return (
      await git(["commit-tree", tree, "-p", parent, "-F", "-"], { env: identity, stdin: message })
    ).trim();
  } finally {
    await rm(index, { force: true });
  }
}

export type ProposeOutput = "pull-request" | "url" | "branch" | "from";

/** The propose-phase action: propose, publish, report. */
export async function runProposePhase(
  request: ProposalRequest,
  env: {
    run: RunContext;
    token?: string;
    notifier: Notifier;
    setOutput: (name: ProposeOutput, value: string | number | boolean | object) => void;
    /** Announces a new pull request, which waits for people's approval, to the migration's notification sinks. */
    announcerFor?: AnnouncerFor;
  },
): Promise<ActionReport> {
  const result = await proposePhase(request, {
    workspace: env.run.workspace,
    notifier: env.notifier,
    ...(env.token ? { token: env.token } : {}),
    ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
  });
  env.setOutput("pull-request", result.pullRequest ? String(result.pullRequest.number) : "");
  env.setOutput("url", result.pullRequest?.url ?? "");
  env.setOutput("branch", result.branch ?? "");
  env.setOutput("from", result.from);
  if (!result.pullRequest) {
    return {
      title: `propose-phase: ${request.migration}`,
      headline: `migrations.json on ${request.base} already names ${request.phase}: nothing to propose.`,
    };
  }
  const pullRequest = result.pullRequest;
  const deliveries =
    pullRequest.created && result.migration
      ? ((await env.announcerFor?.(result.migration).announce(
          waitingForApprovalEvent(
            {
              migration: request.migration,
              phase: result.from,
              time: new Date(),
              ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
            },
            {
              what: `pull request #${pullRequest.number} moves phase ${result.from} → ${request.phase}`,
              ...(pullRequest.url ? { url: pullRequest.url } : {}),
              key: `pull request ${pullRequest.number} ${request.phase}`,
            },
          ),
        )) ?? [])
      : [];
  return withDeliveries<ActionReport>(
    {
      title: `propose-phase: ${request.migration} → ${request.phase}`,
      headline: `${result.pullRequest.created ? "Opened" : "Updated"} pull request #${result.pullRequest.number}: ${result.text?.title}`,
      found: [`migrations.json on ${request.base} names ${result.from} for ${request.migration}.`],
      done: [
        `Pushed ${result.commit?.slice(0, 12)} to ${result.branch}: phase ${result.from} → ${request.phase}, nothing else changed.`,
        `${result.pullRequest.created ? "Opened" : "Updated"} #${result.pullRequest.number}${result.pullRequest.url ? ` (${result.pullRequest.url})` : ""}.`,
      ],
      next: [
        result.text?.forward
          ? "Review the evidence and merge to start the next phase."
          : "Merge to bring the spec back in line.",
      ],
    },
    deliveries,
  );
}
