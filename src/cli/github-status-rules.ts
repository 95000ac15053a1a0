/**
 * The rulesets on the state branch, as they bear on the status commits: the
 * workflows push status/<id>.json with GITHUB_TOKEN, which acts as the GitHub
 * Actions app. A rule that refuses that push, in a ruleset the app cannot
 * bypass, makes every status commit fail, and with it the record of a
 * rollback. `cutover doctor` reports such rules; `cutover github-setup`
 * protects a dedicated state branch with a ruleset of its own.
 */
import type { getOctokit } from "@actions/github";
import type { SettingGap } from "./github-settings.js";

type Octokit = ReturnType<typeof getOctokit>;

/** GitHub Actions' app id: the `Integration` actor a workflow's GITHUB_TOKEN pushes as. */
export const GITHUB_ACTIONS_APP_ID = 15368;

/** The ruleset `cutover github-setup` keeps on a dedicated state branch. */
export const STATUS_RULESET_NAME = "cutover status";

/**
 * Rule types that refuse a status commit pushed by GitHub Actions, and why.
 * Not in the list, because a status commit passes them: `non_fast_forward`
 * (each status commit is built on the tip just fetched, so the push is a
 * fast-forward), `deletion`, `required_linear_history` (a status commit has
 * one parent), `creation` (the state branch exists after its first commit;
 * where a ruleset restricts creation, create the branch once by hand), the
 * branch and tag name patterns, and Copilot review. `.github/scripts/check-settings.sh`
 * holds the same list (a test keeps the two equal).
 */
export const BLOCKING_RULES: Readonly<Record<string, string>> = {
  pull_request: "changes must come through a pull request",
  required_status_checks: "a commit must pass status checks on another ref first",
  update: "only the ruleset's bypass actors may push",
  required_signatures: "status commits are not signed",
  required_deployments: "a commit must be deployed to an environment first",
  merge_queue: "changes must come through the merge queue",
  commit_message_pattern: "status commit messages may not match the pattern",
  commit_author_email_pattern: "the bot's author email may not match the pattern",
  committer_email_pattern: "the bot's committer email may not match the pattern",
  workflows: "a commit must pass required workflows first",
  code_scanning: "a commit must have code scanning results first",
};

/** The rules a dedicated state branch needs; `update` leaves pushing to GitHub Actions alone. */
export const STATUS_RULES = ["deletion", "non_fast_forward", "update"] as const;

interface RulesetRead {
  id: number;
  name: string;
  /** The rule types of this ruleset active on the branch. */
  types: string[];
  /** GitHub Actions is in the bypass list with mode always or exempt. */
  actionsBypass: boolean;
}

/** The rulesets active on the state branch, as read with an administrator's token. */
export interface StateBranchRules {
  branch: string;
  /** The default branch is the state branch (stateBranch "" in .github/cutover.json). */
  isDefaultBranch: boolean;
  rulesets: RulesetRead[];
}

interface BypassActor {
  actor_id?: number | null;
  actor_type?: string;
  bypass_mode?: string;
}

function actionsBypasses(actors: BypassActor[] | undefined): boolean {
  return (actors ?? []).some(
    (actor) =>
      actor.actor_type === "Integration" &&
      actor.actor_id === GITHUB_ACTIONS_APP_ID &&
      (actor.bypass_mode === undefined || actor.bypass_mode === "always" || actor.bypass_mode === "exempt"),
  );
}

/** Reads the rules active on `branch` and the bypass list of each ruleset they come from. */
export async function readStateBranchRules(
  octokit: Octokit,
  owner: string,
  repo: string,
  branch: string,
  defaultBranch: string,
): Promise<StateBranchRules> {
  const rules = (await octokit.paginate("GET /repos/{owner}/{repo}/rules/branches/{branch}", {
    owner,
    repo,
    branch,
    per_page: 100,
  })) as Array<{ type: string; ruleset_id?: number }>;
  const byRuleset = new Map<number, string[]>();
  for (const rule of rules) {
    if (rule.ruleset_id === undefined) continue;
    byRuleset.set(rule.ruleset_id, [...(byRuleset.get(rule.ruleset_id) ?? []), rule.type]);
  }
  const rulesets: RulesetRead[] = [];
  for (const [id, types] of byRuleset) {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/rulesets/{ruleset_id}", {
      owner,
      repo,
      ruleset_id: id,
      includes_parents: true,
    });
    rulesets.push({ id, name: data.name, types, actionsBypass: actionsBypasses(data.bypass_actors) });
  }
  return { branch, isDefaultBranch: branch === defaultBranch, rulesets };
}

/** Each rule that would refuse the status commits, and a dedicated state branch left unprotected. */
export function statusRuleGaps(state: StateBranchRules): SettingGap[] {
  const gaps: SettingGap[] = [];
  for (const ruleset of state.rulesets) {
    const blocking = ruleset.types.filter((type) => type in BLOCKING_RULES);
    if (blocking.length === 0 || ruleset.actionsBypass) continue;
    const why = blocking.map((type) => `${type} (${BLOCKING_RULES[type]})`).join(", ");
    gaps.push({
      setting: `ruleset "${ruleset.name}" (id ${ruleset.id}) on the state branch ${state.branch}`,
      found: `${why}; GitHub Actions cannot bypass it, so every status commit would be refused, and with it the record of each rollback`,
      change: state.isDefaultBranch
        ? `commit status to a dedicated branch: set "stateBranch" (e.g. "cutover-state") in .github/cutover.json and run cutover github-setup. Adding GitHub Actions to this ruleset's bypass list instead would let any workflow with contents: write push to ${state.branch}`
        : `remove ${blocking.join(", ")} from this ruleset for ${state.branch}, or add GitHub Actions (Integration ${GITHUB_ACTIONS_APP_ID}, always) to its bypass list; on a dedicated state branch that lets workflows push only there`,
    });
  }
  if (!state.isDefaultBranch) {
    const held = new Set(state.rulesets.flatMap((ruleset) => ruleset.types));
    const bypassedUpdate = state.rulesets.some(
      (ruleset) => ruleset.actionsBypass && ruleset.types.includes("update"),
    );
    const missing = STATUS_RULES.filter((type) => !held.has(type) || (type === "update" && !bypassedUpdate));
    if (missing.length > 0)
      gaps.push({
        setting: `state branch ${state.branch}: protection`,
        found: `no active rule ${missing.join(", ")}`,
        change: `run cutover github-setup: it adds the ruleset "${STATUS_RULESET_NAME}" (deletion, non_fast_forward, update; GitHub Actions may bypass) so only the workflows write the status and nobody rewrites or deletes it`,
      });
  }
  return gaps;
}

interface Actor {
  actor_id?: number | null;
  actor_type: "Integration" | "OrganizationAdmin" | "RepositoryRole" | "Team" | "DeployKey" | "User";
  bypass_mode?: "always" | "pull_request" | "exempt";
}
/** The parameter-less rules cutover adds. */
type StatusRule = { type: (typeof STATUS_RULES)[number] };

/**
 * Ensures the ruleset "cutover status" on a dedicated state branch. Adds
 * what is missing and keeps whatever else it holds (other rules, bypass
 * actors, branches), so it never weakens it; changes nothing when all is in
 * place. Returns what it did.
 */
export async function applyStatusRuleset(
  octokit: Octokit,
  owner: string,
  repo: string,
  stateBranch: string,
): Promise<string> {
  const ref = `refs/heads/${stateBranch}`;
  const listed = (await octokit.paginate("GET /repos/{owner}/{repo}/rulesets", {
    owner,
    repo,
    per_page: 100,
    includes_parents: false,
  })) as Array<{ id: number; name: string }>;
  const summary = listed.find((ruleset) => ruleset.name === STATUS_RULESET_NAME);
  const actions: Actor = {
    actor_id: GITHUB_ACTIONS_APP_ID,
    actor_type: "Integration",
    bypass_mode: "always",
  };
  if (!summary) {
    await octokit.request("POST /repos/{owner}/{repo}/rulesets", {
      owner,
      repo,
      name: STATUS_RULESET_NAME,
      target: "branch",
      enforcement: "active",
      bypass_actors: [actions],
      conditions: { ref_name: { include: [ref], exclude: [] } },
      rules: STATUS_RULES.map((type): StatusRule => ({ type })),
    });
    return `ruleset "${STATUS_RULESET_NAME}" created on ${stateBranch}: ${STATUS_RULES.join(", ")}; GitHub Actions may bypass`;
  }
  const { data } = await octokit.request("GET /repos/{owner}/{repo}/rulesets/{ruleset_id}", {
    owner,
    repo,
    ruleset_id: summary.id,
  });
  const include = data.conditions?.ref_name?.include ?? [];
  const exclude = (data.conditions?.ref_name?.exclude ?? []).filter((pattern) => pattern !== ref);
  const rules = data.rules ?? [];
  const actors: Actor[] = data.bypass_actors ?? [];
  const missingRules = STATUS_RULES.filter((type) => !rules.some((rule) => rule.type === type));
  const actionsActor = actors.find(
    (actor) => actor.actor_type === "Integration" && actor.actor_id === GITHUB_ACTIONS_APP_ID,
  );
  const inPlace =
    data.target === "branch" &&
    data.enforcement === "active" &&
    include.includes(ref) &&
    exclude.length === (data.conditions?.ref_name?.exclude ?? []).length &&
    missingRules.length === 0 &&
    actionsActor?.bypass_mode === "always";
  if (inPlace) return `ruleset "${STATUS_RULESET_NAME}" on ${stateBranch}: in place`;
  await octokit.request("PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}", {
    owner,
    repo,
    ruleset_id: summary.id,
    target: "branch",
    enforcement: "active",
    conditions: { ref_name: { include: include.includes(ref) ? include : [...include, ref], exclude } },
    rules: [...rules, ...missingRules.map((type): StatusRule => ({ type }))],
    bypass_actors: [...actors.filter((actor) => actor !== actionsActor), actions],
  });
  return `ruleset "${STATUS_RULESET_NAME}" on ${stateBranch}: completed (${STATUS_RULES.join(", ")}; GitHub Actions may bypass)`;
}
