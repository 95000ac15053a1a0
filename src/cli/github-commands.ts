/**
 * `cutover github-setup` applies the repository settings the workflows rely
 * on; `cutover doctor` reads them back and reports each gap with what to
 * change (exit 1 when there is one). Both reach GitHub's REST API with a
 * token from --token or GITHUB_TOKEN. The state branch comes from
 * --state-branch or `.github/cutover.json`, as the workflows read it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { actingEnvironment, ROLLBACK_ENVIRONMENT } from "../model/github-oidc.js";
import type { MigrationsFile } from "../model/spec.js";
import { loadSpec } from "../spec/files.js";
import { type CliCommand, type CliIo, EXIT, parseOptions, UsageError } from "./command.js";
import { regionProblem, roleArnProblem } from "./github-role-variables.js";
import {
  applyRequirements,
  findGaps,
  type RepositoryRequirements,
  type Reviewer,
  readState,
  repositoryClient,
  requirementsFor,
  roleEnvironments,
} from "./github-settings.js";
import { DEFAULT_SPEC_FILE } from "./validate-command.js";

/** The tracked settings file the workflows read the state branch from. */
const TRACKED_SETTINGS = join(".github", "cutover.json");

const OPTIONS = {
  repo: { type: "string" },
  token: { type: "string" },
  "api-url": { type: "string" },
  spec: { type: "string" },
  "default-branch": { type: "string" },
  "state-branch": { type: "string" },
  reviewer: { type: "string", multiple: true },
  role: { type: "string", multiple: true },
  region: { type: "string" },
} as const;

const COMMON_USAGE = `  --repo owner/name      the repository (required)
  --token TOKEN          a token with administration rights (default: GITHUB_TOKEN)
  --api-url URL          GitHub REST API base URL (default: GITHUB_API_URL or https://api.github.com)
  --spec FILE            the spec whose phase environments to set up (default: ${DEFAULT_SPEC_FILE})
  --default-branch NAME  the only branch that may deploy to the acting environments (default: main)
  --state-branch NAME    the branch status is committed to (default: "stateBranch" of ${TRACKED_SETTINGS},
                         the default branch when empty)`;

interface Target {
  owner: string;
  repo: string;
  token: string;
  apiUrl: string | undefined;
  specFile: string;
  defaultBranch: string;
  /** "" when the status goes to the default branch. */
  stateBranch: string;
  reviewers: Reviewer[];
  /** --role values as given: environment → ARN. */
  roles: Array<[string, string]>;
  region: string | undefined;
}

function parseRole(value: string): [string, string] {
  const match = /^([^=\s]+)=(.+)$/.exec(value);
  const problem = match ? roleArnProblem(match[2]!) : undefined;
  if (!match || problem)
    throw new UsageError(
      `--role "${value}": expected <environment>=<role ARN>${problem ? ` (${problem})` : ""}, e.g. production=arn:aws:iam::111111111111:role/cutover-production`,
    );
  return [match[1]!, match[2]!];
}

/** The state branch from --state-branch, else from the tracked settings file in the working directory. */
function stateBranchFrom(option: string | undefined, cwd: string): string {
  if (option !== undefined) {
    if (!/^[\w.][\w./-]*$/.test(option) || option.includes(".."))
      throw new UsageError(`--state-branch "${option}": expected a branch name (letters, digits, . _ - /)`);
    return option;
  }
  const file = join(cwd, TRACKED_SETTINGS);
  if (!existsSync(file)) return "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`${TRACKED_SETTINGS}: not valid JSON (${(error as Error).message})`);
  }
  const value = (parsed as { stateBranch?: unknown } | null)?.stateBranch ?? "";
  if (typeof value !== "string")
    throw new UsageError(
      `${TRACKED_SETTINGS}: $.stateBranch must be a branch name or "" (the default branch)`,
    );
  return value;
}

/** Maps each --role to the environment that holds it: a phase environment names its acting twin. */
function rolesFor(spec: MigrationsFile, given: Array<[string, string]>): Record<string, string> {
  const holders = roleEnvironments(requirementsFor(spec, []));
  const phases = new Set(spec.migrations.flatMap((m) => m.phases.map((phase) => phase.environment)));
  const roles: Record<string, string> = {};
  for (const [name, arn] of given) {
    const holder =
      name === "rollback" ? ROLLBACK_ENVIRONMENT : phases.has(name) ? actingEnvironment(name) : name;
    if (!holders.includes(holder))
      throw new UsageError(
        `--role ${name}=…: no such environment holds a role; expected one of ${[...phases].sort().join(", ")}, rollback (or ${holders.join(", ")})`,
      );
    if (roles[holder] !== undefined && roles[holder] !== arn)
      throw new UsageError(`--role: two roles given for ${holder}`);
    roles[holder] = arn;
  }
  return roles;
}

function parseReviewer(value: string): Reviewer {
  const match = /^(User|Team):(\d+)$/.exec(value);
  if (!match)
    throw new UsageError(`--reviewer "${value}": expected User:<id> or Team:<id> (GitHub's numeric id)`);
  return { type: match[1] as "User" | "Team", id: Number(match[2]) };
}

function target(args: string[], io: CliIo): Target {
  const { values } = parseOptions(args, OPTIONS, 0);
  const repository = values.repo;
  if (!repository || !/^[\w.-]+\/[\w.-]+$/.test(repository))
    throw new UsageError(`--repo: expected owner/name${repository ? `, not "${repository}"` : ""}`);
  const token = values.token ?? process.env.GITHUB_TOKEN;
  if (!token) throw new UsageError("no token: pass --token or set GITHUB_TOKEN");
  const [owner, repo] = repository.split("/") as [string, string];
  const region = values.region;
  if (region !== undefined && regionProblem(region))
    throw new UsageError(`--region "${region}": ${regionProblem(region)}`);
  return {
    owner,
    repo,
    token,
    apiUrl: values["api-url"] ?? process.env.GITHUB_API_URL,
    specFile: resolve(io.cwd, values.spec ?? DEFAULT_SPEC_FILE),
    defaultBranch: values["default-branch"] ?? "main",
    stateBranch: stateBranchFrom(values["state-branch"], io.cwd),
    reviewers: (values.reviewer ?? []).map(parseReviewer),
    roles: (values.role ?? []).map(parseRole),
    region,
  };
}

function printGaps(io: CliIo, gaps: ReturnType<typeof findGaps>): void {
  for (const gap of gaps) io.stdout(`✗ ${gap.setting}: ${gap.found} → ${gap.change}\n`);
}

async function gapsOf(settings: Target, required: RepositoryRequirements) {
  const octokit = repositoryClient(settings.token, settings.apiUrl);
  return findGaps(required, await readState(octokit, settings.owner, settings.repo, required));
}

export const githubSetupCommand: CliCommand = {
  name: "github-setup",
  summary: "apply the repository settings the workflows rely on (environments, OIDC subject, Actions PRs)",
  usage: `Usage: cutover github-setup --repo owner/name --reviewer User:<id>|Team:<id> [options]

Creates or updates: each phase environment of the spec with its required reviewers and
prevent self-review; a reviewer-less cutover-<environment> and cutover-rollback that only
the default branch may deploy to, with their role variables when given; the OIDC subject
template (repo, context, ref, job_workflow_ref) the AWS roles trust; the Actions setting
that lets workflows open pull requests; and, on a dedicated state branch, the ruleset
"cutover status" (no deletion, no force-push, only GitHub Actions pushes). Rulesets on the
default branch are never changed. Idempotent. Then lists what is still to change.

${COMMON_USAGE}
  --reviewer TYPE:ID     a required reviewer of the phase environments (repeatable, at most 6)
  --role ENV=ARN         the role CUTOVER_AWS_ROLE_ARN of an environment's jobs: a phase environment
                         (its cutover-<environment>) or rollback (repeatable)
  --region REGION        CUTOVER_AWS_REGION of every environment that holds a role

Exit codes: 0 applied, 1 GitHub refused, 2 usage error.`,
  async run(args, io) {
    const settings = target(args, io);
    if (settings.reviewers.length === 0)
      throw new UsageError("--reviewer: at least one required reviewer of the phase environments");
    const spec = await loadSpec(settings.specFile);
    const octokit = repositoryClient(settings.token, settings.apiUrl);
    const required = requirementsFor(spec, settings.reviewers, settings.defaultBranch, {
      stateBranch: settings.stateBranch,
      roles: rolesFor(spec, settings.roles),
      ...(settings.region ? { region: settings.region } : {}),
    });
    for (const line of await applyRequirements(octokit, settings.owner, settings.repo, required))
      io.stdout(`${line}\n`);
    const remaining = await gapsOf(settings, required);
    if (remaining.length > 0) {
      io.stdout(`still to change (${remaining.length}):\n`);
      printGaps(io, remaining);
    }
    return EXIT.ok;
  },
};

export const doctorCommand: CliCommand = {
  name: "doctor",
  summary: "check the repository settings the workflows rely on and say what to change",
  usage: `Usage: cutover doctor --repo owner/name [options]

Reads back what cutover github-setup applies and reports each gap with what to change: also
each ruleset rule on the state branch that would refuse the status commits, each role
environment without its own CUTOVER_AWS_ROLE_ARN and CUTOVER_AWS_REGION, and a
repository-level CUTOVER_AWS_ROLE_ARN.

${COMMON_USAGE}

Exit codes: 0 nothing to change, 1 gaps found (or GitHub refused), 2 usage error.`,
  async run(args, io) {
    const settings = target(args, io);
    const spec = await loadSpec(settings.specFile);
    // Reviewers are checked for presence, not identity: doctor does not know who they should be.
    const required = requirementsFor(spec, [{ type: "User", id: 0 }], settings.defaultBranch, {
      stateBranch: settings.stateBranch,
    });
    const gaps = await gapsOf(settings, required);
    if (gaps.length === 0) {
      io.stdout(`${settings.owner}/${settings.repo}: every setting the workflows rely on is in place\n`);
      return EXIT.ok;
    }
    printGaps(io, gaps);
    io.stdout(`${gaps.length} setting(s) to change\n`);
    return EXIT.invalid;
  },
};
