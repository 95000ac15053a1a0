/**
 * The role variables the AWS jobs read (`vars.CUTOVER_AWS_ROLE_ARN`,
 * `vars.CUTOVER_AWS_REGION`). GitHub resolves `vars.X` from the job's
 * environment first, then the repository, then the organization, so an
 * acting environment without its own role would silently take a
 * repository-level one: another environment's role. Each environment that
 * holds a role must therefore hold both variables itself, and the repository
 * must hold no role.
 */
import type { getOctokit } from "@actions/github";
import type { SettingGap } from "./github-settings.js";

type Octokit = ReturnType<typeof getOctokit>;

export const ROLE_VARIABLE = "CUTOVER_AWS_ROLE_ARN";
export const REGION_VARIABLE = "CUTOVER_AWS_REGION";

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** Why `arn` is not an IAM role ARN, or undefined. */
export function roleArnProblem(arn: string): string | undefined {
  return ROLE_ARN.test(arn)
    ? undefined
    : "expected an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)";
}

/** Why `region` is not an AWS region name, or undefined. */
export function regionProblem(region: string): string | undefined {
  return REGION.test(region) ? undefined : "expected an AWS region such as eu-west-1";
}

/** What GitHub holds: the repository's role variable and each environment's variables (undefined: no environment). */
export interface RoleVariables {
  repositoryRole: string | undefined;
  environments: Map<string, Map<string, string> | undefined>;
}

async function environmentVariables(
  octokit: Octokit,
  owner: string,
  repo: string,
  environment: string,
): Promise<Map<string, string> | undefined> {
  try {
    const variables = new Map<string, string>();
    for await (const page of octokit.paginate.iterator(
      "GET /repos/{owner}/{repo}/environments/{environment_name}/variables",
      { owner, repo, environment_name: environment, per_page: 30 },
    )) {
      // The paginator lays the page's `variables` array out as its data.
      for (const variable of page.data as Array<{ name: string; value: string }>)
        variables.set(variable.name.toUpperCase(), variable.value);
    }
    return variables;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw error;
  }
}

/** Reads the repository's role variable and the variables of each of `environments`. */
export async function readRoleVariables(
  octokit: Octokit,
  owner: string,
  repo: string,
  environments: string[],
): Promise<RoleVariables> {
  let repositoryRole: string | undefined;
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/actions/variables/{name}", {
      owner,
      repo,
      name: ROLE_VARIABLE,
    });
    repositoryRole = data.value;
  } catch (error) {
    if ((error as { status?: number }).status !== 404) throw error;
  }
  const found = new Map<string, Map<string, string> | undefined>();
  for (const environment of environments)
    found.set(environment, await environmentVariables(octokit, owner, repo, environment));
  return { repositoryRole, environments: found };
}

/** Each role-holding environment without its own role or region, and a repository-level role. */
export function roleVariableGaps(environments: string[], state: RoleVariables): SettingGap[] {
  const gaps: SettingGap[] = [];
  for (const environment of environments) {
    const variables = state.environments.get(environment);
    // A missing environment is reported as such; its variables come with it.
    if (!variables) continue;
    const role = variables.get(ROLE_VARIABLE);
    if (role === undefined)
      gaps.push({
        setting: `environment ${environment}: variable ${ROLE_VARIABLE}`,
        found:
          state.repositoryRole === undefined
            ? "not set"
            : "not set (the repository-level one stands in for it)",
        change: `set it on the environment to the role its jobs assume (cutover github-setup --role ${environment}=<arn>)`,
      });
    else if (roleArnProblem(role))
      gaps.push({
        setting: `environment ${environment}: variable ${ROLE_VARIABLE}`,
        found: JSON.stringify(role),
        change: roleArnProblem(role)!,
      });
    const region = variables.get(REGION_VARIABLE);
    if (region === undefined)
      gaps.push({
        setting: `environment ${environment}: variable ${REGION_VARIABLE}`,
        found: "not set",
        change: "set it on the environment (cutover github-setup --region <region>)",
      });
    else if (regionProblem(region))
      gaps.push({
        setting: `environment ${environment}: variable ${REGION_VARIABLE}`,
        found: JSON.stringify(region),
        change: regionProblem(region)!,
      });
  }
  if (state.repositoryRole !== undefined)
    gaps.push({
      setting: `repository variable ${ROLE_VARIABLE}`,
      found: "set",
      change:
        "remove it (Settings → Secrets and variables → Actions → Variables): an environment without its own role would silently assume this one",
    });
  return gaps;
}

/**
 * Sets each given role (environment → ARN) and the region on every role
 * environment; a variable already holding the value is left alone. Returns
 * what it did, one line each.
 */
export async function applyRoleVariables(
  octokit: Octokit,
  owner: string,
  repo: string,
  roles: Record<string, string>,
  region: string | undefined,
  environments: string[],
): Promise<string[]> {
  const done: string[] = [];
  for (const environment of environments) {
    const wanted = new Map<string, string>();
    if (roles[environment] !== undefined) wanted.set(ROLE_VARIABLE, roles[environment]);
    if (region !== undefined) wanted.set(REGION_VARIABLE, region);
    if (wanted.size === 0) continue;
    const held = (await environmentVariables(octokit, owner, repo, environment)) ?? new Map<string, string>();
    for (const [name, value] of wanted) {
      const current = held.get(name);
      if (current === value) continue;
      if (current === undefined)
        await octokit.request("POST /repos/{owner}/{repo}/environments/{environment_name}/variables", {
          owner,
          repo,
          environment_name: environment,
          name,
          value,
        });
      else
        await octokit.request(
          "PATCH /repos/{owner}/{repo}/environments/{environment_name}/variables/{name}",
          {
            owner,
            repo,
            environment_name: environment,
            name,
            value,
          },
        );
      done.push(
        `environment ${environment}: ${name} ${current === undefined ? "set" : "updated"} to ${value}`,
      );
    }
  }
  return done;
}
