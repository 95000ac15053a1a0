/**
 * The repository settings endpoints of the local GitHub API, in GitHub's
 * documented shapes: deployment environments with their protection rules
 * and deployment branch policies, the OIDC subject claim template, and the
 * workflow permissions of GITHUB_TOKEN, repository rulesets
 * (github-rulesets.ts), and Actions variables of the repository and of each
 * environment (github-variables.ts). Refuses what GitHub refuses (422 for an
 * invalid field, 404 for an environment that does not exist).
 */
import { type FakeRuleset, RulesetProblem, routeRulesets } from "./github-rulesets.js";
import { routeVariables, VariableProblem, type VariableStore } from "./github-variables.js";

export { RulesetProblem } from "./github-rulesets.js";
export { VariableProblem } from "./github-variables.js";

export interface FakeEnvironment {
  id: number;
  name: string;
  waitTimer: number;
  preventSelfReview: boolean;
  reviewers: Array<{ type: "User" | "Team"; id: number }>;
  /** null: every branch may deploy. */
  deploymentBranchPolicy: { protected_branches: boolean; custom_branch_policies: boolean } | null;
  branchPolicies: Array<{ id: number; name: string; type: "branch" | "tag" }>;
  /** The environment's own Actions variables (deleted with it). */
  variables: VariableStore;
  createdAt: string;
}

/** What the settings endpoints hold; tests read and seed it directly. */
export interface FakeRepositorySettings {
  environments: Map<string, FakeEnvironment>;
  oidcSubject: { use_default: boolean; include_claim_keys?: string[] };
  workflowPermissions: {
    default_workflow_permissions: "read" | "write";
    can_approve_pull_request_reviews: boolean;
  };
  /** The branch `~DEFAULT_BRANCH` in a ruleset stands for. */
  defaultBranch: string;
  rulesets: FakeRuleset[];
  /** Repository-level Actions variables. */
  variables: VariableStore;
}

/** A repository as GitHub creates it: no environments, the default subject, read-only token, no PR creation. */
export function defaultRepositorySettings(): FakeRepositorySettings {
  return {
    environments: new Map(),
    oidcSubject: { use_default: true },
    workflowPermissions: { default_workflow_permissions: "read", can_approve_pull_request_reviews: false },
    defaultBranch: "main",
    rulesets: [],
    variables: new Map(),
  };
}

/** A refusal in GitHub's error shape. */
export class SettingsProblem extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

function invalid(message: string): SettingsProblem {
  return new SettingsProblem(422, {
    message,
    documentation_url: "https://docs.github.com/rest",
    status: "422",
  });
}

const notFound = () =>
  new SettingsProblem(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });

/** What a settings request is answered with, besides the settings themselves. */
export interface SettingsContext {
  /** Base URL of the repository's API (…/repos/{owner}/{repo}). */
  url: string;
  /** "owner/name". */
  repository: string;
  query: URLSearchParams;
  nextId: () => number;
  now: () => string;
  /** GitHub's page/per_page slicing with its Link header (per_page at most `max`, `default` when absent). */
  paginate: <T>(items: T[], perPage?: { max: number; default: number }) => T[];
}

/** Whether an error is one of the settings endpoints' refusals (answered with its status and body). */
export function isSettingsProblem(
  error: unknown,
): error is SettingsProblem | RulesetProblem | VariableProblem {
  return (
    error instanceof SettingsProblem || error instanceof RulesetProblem || error instanceof VariableProblem
  );
}

/** GitHub allows up to 6 required reviewers and a wait timer of at most 43,200 minutes (30 days). */
const MAX_REVIEWERS = 6;
const MAX_WAIT_TIMER = 43_200;

/**
 * Answers a settings request (path relative to /repos/{owner}/{repo});
 * undefined when the path is not one of these endpoints.
 */
export function routeSettings(
  settings: FakeRepositorySettings,
  method: string,
  path: string,
  body: Record<string, unknown>,
  context: SettingsContext,
): [number, unknown] | undefined {
  const rulesets = routeRulesets(settings.rulesets, method, path, context.query, body, {
    url: context.url,
    repository: context.repository,
    defaultBranch: settings.defaultBranch,
    nextId: context.nextId,
    now: context.now,
    paginate: (items) => context.paginate(items),
  });
  if (rulesets) return rulesets;
  // Variables pages hold at most 30 (default 10), unlike most lists.
  const variablesPage = <T>(items: T[]) => context.paginate(items, { max: 30, default: 10 });
  const repositoryVariables = /^\/actions\/variables(\/[^/]+)?$/.exec(path);
  if (repositoryVariables)
    return routeVariables(settings.variables, "repository", method, repositoryVariables[1] ?? "", body, {
      now: context.now,
      paginate: variablesPage,
    });
  const environmentVariables = /^\/environments\/([^/]+)\/variables(\/[^/]+)?$/.exec(path);
  if (environmentVariables) {
    const found = settings.environments.get(decodeURIComponent(environmentVariables[1]!));
    if (!found) throw notFound();
    return routeVariables(found.variables, "environment", method, environmentVariables[2] ?? "", body, {
      now: context.now,
      paginate: variablesPage,
    });
  }
  const environment = /^\/environments\/([^/]+)$/.exec(path);
  const branchPolicies = /^\/environments\/([^/]+)\/deployment-branch-policies$/.exec(path);
  if (environment) {
    const name = decodeURIComponent(environment[1]!);
    if (method === "GET") {
      const found = settings.environments.get(name);
      if (!found) throw notFound();
      return [200, environmentView(found, context.url)];
    }
    if (method === "PUT")
      return [200, environmentView(putEnvironment(settings, name, body, context), context.url)];
    if (method === "DELETE") {
      if (!settings.environments.delete(name)) throw notFound();
      return [204, null];
    }
  }
  if (branchPolicies) {
    const found = settings.environments.get(decodeURIComponent(branchPolicies[1]!));
    if (!found) throw notFound();
    if (method === "GET") {
      return [200, { total_count: found.branchPolicies.length, branch_policies: found.branchPolicies }];
    }
    if (method === "POST") {
      // Branch name patterns exist only under a custom deployment branch policy.
      if (!found.deploymentBranchPolicy?.custom_branch_policies) throw notFound();
      if (typeof body.name !== "string" || body.name === "") throw invalid("name is required");
      const type = body.type ?? "branch";
      if (type !== "branch" && type !== "tag")
        throw invalid(`type must be "branch" or "tag", not ${JSON.stringify(type)}`);
      if (found.branchPolicies.some((policy) => policy.name === body.name && policy.type === type))
        throw invalid(`a ${type} policy for ${body.name} already exists`);
      const policy = { id: context.nextId(), name: body.name, type: type as "branch" | "tag" };
      found.branchPolicies.push(policy);
      return [200, policy];
    }
  }
  if (path === "/actions/oidc/customization/sub") {
    if (method === "GET") return [200, settings.oidcSubject];
    if (method === "PUT") {
      if (typeof body.use_default !== "boolean")
        throw invalid("use_default is required and must be a boolean");
      const keys = body.include_claim_keys;
      if (keys !== undefined) {
        if (!Array.isArray(keys) || keys.some((key) => typeof key !== "string" || !/^\w+$/.test(key)))
          throw invalid("include_claim_keys must be an array of claim keys (letters, digits, underscores)");
        if (new Set(keys).size !== keys.length) throw invalid("include_claim_keys must be unique");
      }
      if (!body.use_default && (keys === undefined || keys.length === 0))
        throw invalid("include_claim_keys is required when use_default is false");
      settings.oidcSubject = body.use_default
        ? { use_default: true }
        : { use_default: false, include_claim_keys: keys as string[] };
      return [201, {}];
    }
  }
  if (path === "/actions/permissions/workflow") {
    if (method === "GET") return [200, settings.workflowPermissions];
    if (method === "PUT") {
      const level = body.default_workflow_permissions;
      if (level !== undefined && level !== "read" && level !== "write")
        throw invalid('default_workflow_permissions must be "read" or "write"');
      const approve = body.can_approve_pull_request_reviews;
      if (approve !== undefined && typeof approve !== "boolean")
        throw invalid("can_approve_pull_request_reviews must be a boolean");
      settings.workflowPermissions = {
        default_workflow_permissions:
          (level as "read" | "write" | undefined) ??
          settings.workflowPermissions.default_workflow_permissions,
        can_approve_pull_request_reviews:
          approve ?? settings.workflowPermissions.can_approve_pull_request_reviews,
      };
      return [204, null];
    }
  }
  return undefined;
}

function putEnvironment(
  settings: FakeRepositorySettings,
  name: string,
  body: Record<string, unknown>,
  context: { nextId: () => number; now: () => string },
): FakeEnvironment {
  const existing = settings.environments.get(name);
  const environment: FakeEnvironment = existing ?? {
    id: context.nextId(),
    name,
    waitTimer: 0,
    preventSelfReview: false,
    reviewers: [],
    deploymentBranchPolicy: null,
    branchPolicies: [],
    variables: new Map(),
    createdAt: context.now(),
  };
  if (body.wait_timer !== undefined) {
    const timer = body.wait_timer;
    if (typeof timer !== "number" || !Number.isInteger(timer) || timer < 0 || timer > MAX_WAIT_TIMER)
      throw invalid(`wait_timer must be an integer from 0 to ${MAX_WAIT_TIMER}`);
    environment.waitTimer = timer;
  }
  if (body.prevent_self_review !== undefined) {
    if (typeof body.prevent_self_review !== "boolean") throw invalid("prevent_self_review must be a boolean");
    environment.preventSelfReview = body.prevent_self_review;
  }
  if (body.reviewers !== undefined && body.reviewers !== null) {
    const reviewers = body.reviewers;
    if (!Array.isArray(reviewers)) throw invalid("reviewers must be an array");
    if (reviewers.length > MAX_REVIEWERS)
      throw invalid(`an environment can have at most ${MAX_REVIEWERS} reviewers`);
    environment.reviewers = reviewers.map((reviewer: unknown) => {
      const { type, id } = (reviewer ?? {}) as { type?: unknown; id?: unknown };
      if ((type !== "User" && type !== "Team") || typeof id !== "number" || !Number.isInteger(id))
        throw invalid('each reviewer needs type "User" or "Team" and an integer id');
      return { type, id };
    });
  }
  if (body.deployment_branch_policy !== undefined) {
    const policy = body.deployment_branch_policy as Record<string, unknown> | null;
    if (policy === null) environment.deploymentBranchPolicy = null;
    else {
      if (
        typeof policy.protected_branches !== "boolean" ||
        typeof policy.custom_branch_policies !== "boolean"
      )
        throw invalid(
          "deployment_branch_policy needs protected_branches and custom_branch_policies (booleans)",
        );
      if (policy.protected_branches === policy.custom_branch_policies)
        throw invalid(
          "Only one of protected_branches or custom_branch_policies can be true when deployment_branch_policy is set",
        );
      environment.deploymentBranchPolicy = {
        protected_branches: policy.protected_branches,
        custom_branch_policies: policy.custom_branch_policies,
      };
      if (!policy.custom_branch_policies) environment.branchPolicies = [];
    }
  }
  settings.environments.set(name, environment);
  return environment;
}

function environmentView(environment: FakeEnvironment, url: string) {
  const rules: unknown[] = [];
  if (environment.waitTimer > 0)
    rules.push({ id: environment.id * 10 + 1, type: "wait_timer", wait_timer: environment.waitTimer });
  if (environment.reviewers.length > 0)
    rules.push({
      id: environment.id * 10 + 2,
      type: "required_reviewers",
      prevent_self_review: environment.preventSelfReview,
      reviewers: environment.reviewers.map((reviewer) => ({
        type: reviewer.type,
        reviewer:
          reviewer.type === "User"
            ? { id: reviewer.id, login: `user-${reviewer.id}`, type: "User" }
            : { id: reviewer.id, slug: `team-${reviewer.id}`, name: `team-${reviewer.id}` },
      })),
    });
  if (environment.deploymentBranchPolicy) rules.push({ id: environment.id * 10 + 3, type: "branch_policy" });
  return {
    id: environment.id,
    name: environment.name,
    url: `${url}/environments/${encodeURIComponent(environment.name)}`,
    created_at: environment.createdAt,
    updated_at: environment.createdAt,
    protection_rules: rules,
    deployment_branch_policy: environment.deploymentBranchPolicy,
  };
}
