/**
 * `cutover github-setup` applies the repository settings the workflows rely
 * on; `cutover doctor` reads them back and reports each gap with what to
 * change (exit 1 when there is one). Both reach GitHub's REST API with a
 * token from --token or GITHUB_TOKEN.
 */
import { resolve } from "node:path";
import { loadSpec } from "../spec/files.js";
import { type CliCommand, type CliIo, EXIT, parseOptions, UsageError } from "./command.js";
import {
  applyRequirements,
  findGaps,
  type Reviewer,
  readState,
  repositoryClient,
  requirementsFor,
} from "./github-settings.js";
import { DEFAULT_SPEC_FILE } from "./validate-command.js";

const OPTIONS = {
  repo: { type: "string" },
  token: { type: "string" },
  "api-url": { type: "string" },
  spec: { type: "string" },
  "default-branch": { type: "string" },
  reviewer: { type: "string", multiple: true },
} as const;

const COMMON_USAGE = `  --repo owner/name      the repository (required)
  --token TOKEN          a token with administration rights (default: GITHUB_TOKEN)
  --api-url URL          GitHub REST API base URL (default: GITHUB_API_URL or https://api.github.com)
  --spec FILE            the spec whose phase environments to set up (default: ${DEFAULT_SPEC_FILE})
  --default-branch NAME  the only branch that may deploy to the acting environments (default: main)`;

interface Target {
  owner: string;
  repo: string;
  token: string;
  apiUrl: string | undefined;
  specFile: string;
  defaultBranch: string;
  reviewers: Reviewer[];
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
  return {
    owner,
    repo,
    token,
    apiUrl: values["api-url"] ?? process.env.GITHUB_API_URL,
    specFile: resolve(io.cwd, values.spec ?? DEFAULT_SPEC_FILE),
    defaultBranch: values["default-branch"] ?? "main",
    reviewers: (values.reviewer ?? []).map(parseReviewer),
  };
}

export const githubSetupCommand: CliCommand = {
  name: "github-setup",
  summary: "apply the repository settings the workflows rely on (environments, OIDC subject, Actions PRs)",
  usage: `Usage: cutover github-setup --repo owner/name --reviewer User:<id>|Team:<id> [options]

Creates or updates: each phase environment of the spec with its required reviewers and
prevent self-review; a reviewer-less cutover-<environment> and cutover-rollback that only
the default branch may deploy to; the OIDC subject template (repo, context, ref,
job_workflow_ref) the AWS roles trust; and the Actions setting that lets workflows open
pull requests. Idempotent.

${COMMON_USAGE}
  --reviewer TYPE:ID     a required reviewer of the phase environments (repeatable, at most 6)

Exit codes: 0 applied, 1 GitHub refused, 2 usage error.`,
  async run(args, io) {
    const settings = target(args, io);
    if (settings.reviewers.length === 0)
      throw new UsageError("--reviewer: at least one required reviewer of the phase environments");
    const spec = await loadSpec(settings.specFile);
    const octokit = repositoryClient(settings.token, settings.apiUrl);
    const required = requirementsFor(spec, settings.reviewers, settings.defaultBranch);
    for (const line of await applyRequirements(octokit, settings.owner, settings.repo, required))
      io.stdout(`${line}\n`);
    return EXIT.ok;
  },
};

export const doctorCommand: CliCommand = {
  name: "doctor",
  summary: "check the repository settings the workflows rely on and say what to change",
  usage: `Usage: cutover doctor --repo owner/name [options]

Reads back what cutover github-setup applies and reports each gap with what to change.

${COMMON_USAGE}

Exit codes: 0 nothing to change, 1 gaps found (or GitHub refused), 2 usage error.`,
  async run(args, io) {
    const settings = target(args, io);
    const spec = await loadSpec(settings.specFile);
    const octokit = repositoryClient(settings.token, settings.apiUrl);
    // Reviewers are checked for presence, not identity: doctor does not know who they should be.
    const required = requirementsFor(spec, [{ type: "User", id: 0 }], settings.defaultBranch);
    const state = await readState(
      octokit,
      settings.owner,
      settings.repo,
      required.environments.map((environment) => environment.name),
    );
    const gaps = findGaps(required, state);
    if (gaps.length === 0) {
      io.stdout(`${settings.owner}/${settings.repo}: every setting the workflows rely on is in place\n`);
      return EXIT.ok;
    }
    for (const gap of gaps) io.stdout(`✗ ${gap.setting}: ${gap.found} → ${gap.change}\n`);
    io.stdout(`${gaps.length} setting(s) to change\n`);
    return EXIT.invalid;
  },
};
