/**
 * The repository settings the workflows rely on, as data: what they must be
 * (from the spec's phase environments), how to read them back from the
 * GitHub REST API, how to apply them, and the gaps between the two, each
 * with what to change. `cutover github-setup` applies, `cutover doctor`
 * reports. The rulesets on the state branch are in github-status-rules.ts,
 * the role variables in github-role-variables.ts.
 */
import { getOctokit } from "@actions/github";
import { actingEnvironment, OIDC_SUBJECT_CLAIMS, ROLLBACK_ENVIRONMENT } from "../model/github-oidc.js";
import type { MigrationsFile } from "../model/spec.js";
import {
  applyRoleVariables,
  type RoleVariables,
  readRoleVariables,
  roleVariableGaps,
} from "./github-role-variables.js";
import {
  applyStatusRuleset,
  readStateBranchRules,
  type StateBranchRules,
  statusRuleGaps,
} from "./github-status-rules.js";

export interface Reviewer {
  type: "User" | "Team";
  id: number;
}

/** One environment as the workflows need it. */
export interface EnvironmentRequirement {
  name: string;
  /** Required reviewers (a phase's environment); none for the acting and rollback environments. */
  reviewers: Reviewer[];
  /** Only the default branch may deploy (the environments that hold a role, and its variables). */
  mainOnly: boolean;
}

export interface RepositoryRequirements {
  defaultBranch: string;
  environments: EnvironmentRequirement[];
  /** The branch status is committed to (`stateBranch` of .github/cutover.json); "" or absent: the default branch. */
  stateBranch?: string;
  /** Role ARN to set per role environment (github-setup); doctor requires each to hold one. */
  roles?: Record<string, string>;
  /** Region to set on every role environment (github-setup). */
  region?: string;
}

/** Options of {@link requirementsFor} beyond the environments. */
export interface RequirementOptions {
  stateBranch?: string;
  roles?: Record<string, string>;
  region?: string;
}

/** What an environment is on GitHub, as read back. */
export interface EnvironmentState {
  reviewers: Reviewer[];
  preventSelfReview: boolean;
  policy: { protected_branches: boolean; custom_branch_policies: boolean } | null;
  branchPatterns: string[];
}

export interface RepositoryState {
  environments: Map<string, EnvironmentState | undefined>;
  oidcSubject: { use_default: boolean; include_claim_keys?: string[] };
  canCreatePullRequests: boolean;
  /** The rulesets active on the state branch (not checked when absent). */
  stateBranchRules?: StateBranchRules;
  /** The role variables of the role environments and the repository (not checked when absent). */
  roleVariables?: RoleVariables;
}

/** One setting that is not as the workflows need it. */
export interface SettingGap {
  setting: string;
  found: string;
  change: string;
}

/** The environments of the spec's phases (with reviewers), their acting twins and the rollback environment. */
export function requirementsFor(
  spec: MigrationsFile,
  reviewers: Reviewer[],
  defaultBranch = "main",
  options: RequirementOptions = {},
): RepositoryRequirements {
  const phases = [
    ...new Set(spec.migrations.flatMap((m) => m.phases.map((phase) => phase.environment))),
  ].sort();
  return {
    defaultBranch,
    environments: [
      ...phases.map((name) => ({ name, reviewers, mainOnly: false })),
      ...phases.map((name) => ({ name: actingEnvironment(name), reviewers: [], mainOnly: true })),
      { name: ROLLBACK_ENVIRONMENT, reviewers: [], mainOnly: true },
    ],
    ...(options.stateBranch ? { stateBranch: options.stateBranch } : {}),
    ...(options.roles ? { roles: options.roles } : {}),
    ...(options.region ? { region: options.region } : {}),
  };
}

/** The environments whose jobs assume a role: the acting ones and the rollback environment. */
export function roleEnvironments(required: RepositoryRequirements): string[] {
  return required.environments.filter((environment) => environment.mainOnly).map((e) => e.name);
}

/** The branch status commits go to. */
export function stateBranchOf(required: RepositoryRequirements): string {
  return required.stateBranch || required.defaultBranch;
}

/** Every gap between what is required and what GitHub reports; empty when all is set. */
export function findGaps(required: RepositoryRequirements, state: RepositoryState): SettingGap[] {
  const gaps: SettingGap[] = [];
  for (const environment of required.environments) {
    const found = state.environments.get(environment.name);
    const where = `environment ${environment.name}`;
    if (!found) {
      gaps.push({ setting: where, found: "missing", change: `create it (cutover github-setup)` });
      continue;
    }
    if (environment.reviewers.length > 0) {
      if (found.reviewers.length === 0)
        gaps.push({
          setting: `${where}: required reviewers`,
          found: "none",
          change: "add required reviewers: its reviewers approve each phase",
        });
      else if (!found.preventSelfReview)
        gaps.push({
          setting: `${where}: prevent self-review`,
          found: "off",
          change: "turn on “Prevent self-review” so whoever triggered a run cannot approve it",
        });
    } else if (found.reviewers.length > 0) {
      gaps.push({
        setting: `${where}: required reviewers`,
        found: `${found.reviewers.length}`,
        change:
          "remove them: its jobs act after the phase's approval and a rollback must never wait for a person",
      });
    }
    if (environment.mainOnly) {
      const onlyMain =
        found.policy?.custom_branch_policies === true &&
        found.branchPatterns.length === 1 &&
        found.branchPatterns[0] === required.defaultBranch;
      if (!onlyMain)
        gaps.push({
          setting: `${where}: deployment branches`,
          found:
            found.policy === null
              ? "all branches"
              : `${found.branchPatterns.join(", ") || "protected branches"}`,
          change: `allow only the branch ${required.defaultBranch} (selected branches: ${required.defaultBranch})`,
        });
    }
  }
  const keys = state.oidcSubject.use_default ? [] : (state.oidcSubject.include_claim_keys ?? []);
  if (keys.join(",") !== OIDC_SUBJECT_CLAIMS.join(","))
    gaps.push({
      setting: "OIDC subject claim template",
      found: state.oidcSubject.use_default ? "GitHub's default (no ref, no workflow)" : keys.join(", "),
      change: `use include_claim_keys ${OIDC_SUBJECT_CLAIMS.join(", ")}: the AWS roles trust only that subject`,
    });
  if (!state.canCreatePullRequests)
    gaps.push({
      setting: "Actions: allow GitHub Actions to create pull requests",
      found: "off",
      change:
        "turn it on (Settings → Actions → General → Workflow permissions) so rollbacks and passed bakes open their PRs",
    });
  if (state.stateBranchRules) gaps.push(...statusRuleGaps(state.stateBranchRules));
  if (state.roleVariables) gaps.push(...roleVariableGaps(roleEnvironments(required), state.roleVariables));
  return gaps;
}

type Octokit = ReturnType<typeof getOctokit>;

/** A REST client for the repository; `apiUrl` for GitHub Enterprise or the test GitHub. */
export function repositoryClient(token: string, apiUrl: string | undefined): Octokit {
  return getOctokit(token, apiUrl ? { baseUrl: apiUrl } : {});
}

function status(error: unknown): number | undefined {
  return (error as { status?: number }).status;
}

/** Reads the settings back from GitHub: those `required` names, the state branch's rulesets and the role variables. */
export async function readState(
  octokit: Octokit,
  owner: string,
  repo: string,
  required: RepositoryRequirements,
): Promise<RepositoryState> {
  const environments = new Map<string, EnvironmentState | undefined>();
  for (const name of required.environments.map((environment) => environment.name)) {
    try {
      const { data } = await octokit.request("GET /repos/{owner}/{repo}/environments/{environment_name}", {
        owner,
        repo,
        environment_name: name,
      });
      const rules = (data.protection_rules ?? []) as Array<{
        type: string;
        prevent_self_review?: boolean;
        reviewers?: Array<{ type?: string; reviewer?: { id?: number } }>;
      }>;
      const reviewerRule = rules.find((rule) => rule.type === "required_reviewers");
      const policy = data.deployment_branch_policy ?? null;
      let branchPatterns: string[] = [];
      if (policy?.custom_branch_policies) {
        const { data: listed } = await octokit.request(
          "GET /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
          { owner, repo, environment_name: name, per_page: 100 },
        );
        branchPatterns = listed.branch_policies
          .filter((p) => (p.type ?? "branch") === "branch")
          .map((p) => p.name ?? "");
      }
      environments.set(name, {
        reviewers: (reviewerRule?.reviewers ?? []).map((r) => ({
          type: r.type === "Team" ? "Team" : "User",
          id: r.reviewer?.id ?? 0,
        })),
        preventSelfReview: reviewerRule?.prevent_self_review === true,
        policy: policy
          ? {
              protected_branches: policy.protected_branches,
              custom_branch_policies: policy.custom_branch_policies,
            }
          : null,
        branchPatterns,
      });
    } catch (error) {
      if (status(error) !== 404) throw error;
      environments.set(name, undefined);
    }
  }
  const { data: oidc } = await octokit.request("GET /repos/{owner}/{repo}/actions/oidc/customization/sub", {
    owner,
    repo,
  });
  const { data: permissions } = await octokit.request(
    "GET /repos/{owner}/{repo}/actions/permissions/workflow",
    {
      owner,
      repo,
    },
  );
  return {
    environments,
    oidcSubject: oidc as RepositoryState["oidcSubject"],
    canCreatePullRequests: permissions.can_approve_pull_request_reviews === true,
    stateBranchRules: await readStateBranchRules(
      octokit,
      owner,
      repo,
      stateBranchOf(required),
      required.defaultBranch,
    ),
    roleVariables: await readRoleVariables(octokit, owner, repo, roleEnvironments(required)),
  };
}

/** Applies the requirements; idempotent (a second run changes nothing). Returns what it did, one line each. */
export async function applyRequirements(
  octokit: Octokit,
  owner: string,
  repo: string,
  required: RepositoryRequirements,
): Promise<string[]> {
  const done: string[] = [];
  for (const environment of required.environments) {
    await octokit.request("PUT /repos/{owner}/{repo}/environments/{environment_name}", {
      owner,
      repo,
      environment_name: environment.name,
      reviewers: environment.reviewers,
      ...(environment.reviewers.length > 0 ? { prevent_self_review: true } : {}),
      deployment_branch_policy: environment.mainOnly
        ? { protected_branches: false, custom_branch_policies: true }
        : null,
    });
    if (environment.mainOnly) {
      const { data } = await octokit.request(
        "GET /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
        { owner, repo, environment_name: environment.name, per_page: 100 },
      );
      if (!data.branch_policies.some((policy) => policy.name === required.defaultBranch))
        await octokit.request(
          "POST /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies",
          { owner, repo, environment_name: environment.name, name: required.defaultBranch, type: "branch" },
        );
    }
    done.push(
      `environment ${environment.name}: ${environment.reviewers.length > 0 ? `${environment.reviewers.length} required reviewer(s), no self-review` : "no reviewers"}${environment.mainOnly ? `, only ${required.defaultBranch} may deploy` : ""}`,
    );
  }
  await octokit.request("PUT /repos/{owner}/{repo}/actions/oidc/customization/sub", {
    owner,
    repo,
    use_default: false,
    include_claim_keys: [...OIDC_SUBJECT_CLAIMS],
  });
  done.push(`OIDC subject claims: ${OIDC_SUBJECT_CLAIMS.join(", ")}`);
  await octokit.request("PUT /repos/{owner}/{repo}/actions/permissions/workflow", {
    owner,
    repo,
    can_approve_pull_request_reviews: true,
  });
  done.push("Actions may create pull requests");
  // On the default branch the rulesets are the owner's: they are never weakened here (doctor reports what blocks).
  if (stateBranchOf(required) !== required.defaultBranch)
    done.push(await applyStatusRuleset(octokit, owner, repo, stateBranchOf(required)));
  done.push(
    ...(await applyRoleVariables(
      octokit,
      owner,
      repo,
      required.roles ?? {},
      required.region,
      roleEnvironments(required),
    )),
  );
  return done;
}
