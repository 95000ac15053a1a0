/**
 * Repository rulesets of the local GitHub API, in GitHub's documented shapes
 * (REST API endpoints for rules): list, create, get, update and delete a
 * repository ruleset, and the rules active on a branch. Refuses what GitHub
 * refuses: a missing or duplicate name, an enforcement, target, actor type
 * or bypass mode outside GitHub's lists, a ref pattern a branch or tag
 * ruleset cannot hold, a rule type GitHub does not know (or one that does not
 * apply to the ruleset's target), a rule given twice; 404 for an unknown id.
 *
 * The token of the test GitHub acts as the GitHub Actions app (an
 * `Integration` actor with id 15368), so `current_user_can_bypass` says what a
 * workflow's GITHUB_TOKEN would be told.
 */

/** GitHub Actions' app id: the actor a workflow's GITHUB_TOKEN pushes as. */
export const GITHUB_ACTIONS_APP_ID = 15368;

export type RulesetEnforcement = "disabled" | "active" | "evaluate";
export type RulesetTarget = "branch" | "tag" | "push";

export interface BypassActor {
  actor_id: number | null;
  actor_type: "Integration" | "OrganizationAdmin" | "RepositoryRole" | "Team" | "DeployKey" | "User";
  bypass_mode: "always" | "pull_request" | "exempt";
}

export interface RulesetRule {
  type: string;
  parameters?: Record<string, unknown>;
}

export interface FakeRuleset {
  id: number;
  name: string;
  target: RulesetTarget;
  enforcement: RulesetEnforcement;
  bypassActors: BypassActor[];
  conditions: { ref_name: { include: string[]; exclude: string[] } } | null;
  rules: RulesetRule[];
  createdAt: string;
  updatedAt: string;
}

const ENFORCEMENTS = ["disabled", "active", "evaluate"];
const TARGETS = ["branch", "tag", "push"];
const ACTOR_TYPES = ["Integration", "OrganizationAdmin", "RepositoryRole", "Team", "DeployKey", "User"];
const BYPASS_MODES = ["always", "pull_request", "exempt"];
/** Actor types whose actor_id GitHub requires. */
const ACTORS_WITH_ID = ["Integration", "RepositoryRole", "Team", "User"];

/** GitHub's rule types for branch and tag rulesets, and which target each applies to. */
const REF_RULES: Record<string, RulesetTarget[]> = {
  creation: ["branch", "tag"],
  update: ["branch", "tag"],
  deletion: ["branch", "tag"],
  required_linear_history: ["branch", "tag"],
  merge_queue: ["branch"],
  required_deployments: ["branch", "tag"],
  required_signatures: ["branch", "tag"],
  pull_request: ["branch"],
  required_status_checks: ["branch", "tag"],
  non_fast_forward: ["branch", "tag"],
  commit_message_pattern: ["branch", "tag"],
  commit_author_email_pattern: ["branch", "tag"],
  committer_email_pattern: ["branch", "tag"],
  branch_name_pattern: ["branch"],
  tag_name_pattern: ["tag"],
  workflows: ["branch", "tag"],
  code_scanning: ["branch", "tag"],
  copilot_code_review: ["branch"],
  file_path_restriction: ["push"],
  max_file_path_length: ["push"],
  file_extension_restriction: ["push"],
  max_file_size: ["push"],
};
const PATTERN_OPERATORS = ["starts_with", "ends_with", "contains", "regex"];

/** A refusal as GitHub words a ruleset's: 422 "Validation Failed" with the reasons as strings. */
export class RulesetProblem extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

function invalid(...reasons: string[]): RulesetProblem {
  return new RulesetProblem(422, {
    message: "Validation Failed",
    errors: reasons,
    documentation_url: "https://docs.github.com/rest/repos/rules",
    status: "422",
  });
}

const notFound = () =>
  new RulesetProblem(404, {
    message: "Not Found",
    documentation_url: "https://docs.github.com/rest/repos/rules",
    status: "404",
  });

/**
 * fnmatch with File::FNM_PATHNAME, as GitHub matches ruleset ref patterns:
 * `*` and `?` stop at `/`, `**` crosses it, `[...]` is a character class.
 */
export function refPatternMatches(pattern: string, ref: string): boolean {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === "*") {
      if (pattern[i + 1] === "*") {
        // "**/" also matches no directory at all.
        if (pattern[i + 2] === "/") {
          source += "(?:.*/)?";
          i += 2;
        } else {
          source += ".*";
          i += 1;
        }
      } else source += "[^/]*";
    } else if (char === "?") source += "[^/]";
    else if (char === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) source += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        source += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else source += char.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`).test(ref);
}

/** Whether a ruleset's ref_name condition takes in `ref` (refs/heads/… or refs/tags/…). */
export function conditionsInclude(ruleset: FakeRuleset, ref: string, defaultBranch: string): boolean {
  const refName = ruleset.conditions?.ref_name;
  if (!refName) return false;
  const matches = (pattern: string) =>
    pattern === "~ALL"
      ? ref.startsWith(ruleset.target === "tag" ? "refs/tags/" : "refs/heads/")
      : pattern === "~DEFAULT_BRANCH"
        ? ref === `refs/heads/${defaultBranch}`
        : refPatternMatches(pattern, ref);
  return refName.include.some(matches) && !refName.exclude.some(matches);
}

function oneOf(value: unknown, allowed: string[], where: string): string {
  if (typeof value !== "string" || !allowed.includes(value))
    throw invalid(
      `Invalid property ${where}: ${JSON.stringify(value)} is not a possible value. Must be one of the following: ${allowed.join(", ")}`,
    );
  return value;
}

function bypassActors(value: unknown): BypassActor[] {
  if (!Array.isArray(value)) throw invalid("Invalid property /bypass_actors: must be an array");
  return value.map((entry: unknown, index) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry))
      throw invalid(`Invalid property /bypass_actors/${index}: must be an object`);
    const actor = entry as Record<string, unknown>;
    const type = oneOf(actor.actor_type, ACTOR_TYPES, `/bypass_actors/${index}/actor_type`);
    const mode = oneOf(actor.bypass_mode ?? "always", BYPASS_MODES, `/bypass_actors/${index}/bypass_mode`);
    let id: number | null = null;
    if (ACTORS_WITH_ID.includes(type)) {
      if (typeof actor.actor_id !== "number" || !Number.isInteger(actor.actor_id))
        throw invalid(
          `Invalid property /bypass_actors/${index}/actor_id: an integer is required for ${type}`,
        );
      id = actor.actor_id;
    }
    if (type === "DeployKey" && mode === "pull_request")
      throw invalid(
        `Invalid property /bypass_actors/${index}/bypass_mode: pull_request does not apply to DeployKey`,
      );
    return { actor_id: id, actor_type: type, bypass_mode: mode } as BypassActor;
  });
}

function refPatterns(value: unknown, where: string, target: RulesetTarget): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`Invalid property ${where}: must be an array of strings`);
  const prefix = target === "tag" ? "refs/tags/" : "refs/heads/";
  return value.map((pattern: unknown, index) => {
    if (typeof pattern !== "string" || pattern === "")
      throw invalid(`Invalid property ${where}/${index}: must be a non-empty string`);
    const special = pattern === "~ALL" || (pattern === "~DEFAULT_BRANCH" && target === "branch");
    if (!special && !pattern.startsWith(prefix))
      throw invalid(
        `Invalid target patterns: ${JSON.stringify(pattern)} (a ${target} ruleset takes ${prefix}<pattern>, ~ALL${target === "branch" ? " or ~DEFAULT_BRANCH" : ""})`,
      );
    return pattern;
  });
}

function conditions(value: unknown, target: RulesetTarget): FakeRuleset["conditions"] {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object" || Array.isArray(value))
    throw invalid("Invalid property /conditions: must be an object");
  const refName = (value as Record<string, unknown>).ref_name;
  if (refName === undefined) return null;
  if (target === "push")
    throw invalid("Invalid property /conditions/ref_name: push rulesets take no ref_name");
  if (typeof refName !== "object" || refName === null || Array.isArray(refName))
    throw invalid("Invalid property /conditions/ref_name: must be an object");
  const { include, exclude } = refName as Record<string, unknown>;
  return {
    ref_name: {
      include: refPatterns(include, "/conditions/ref_name/include", target),
      exclude: refPatterns(exclude, "/conditions/ref_name/exclude", target),
    },
  };
}

function ruleParameters(rule: RulesetRule, index: number): void {
  const where = `/rules/${index}/parameters`;
  const params = rule.parameters;
  const need = (ok: boolean, what: string) => {
    if (!ok) throw invalid(`Invalid rule '${rule.type}': ${where} ${what}`);
  };
  switch (rule.type) {
    case "update":
      if (params)
        need(
          typeof params.update_allows_fetch_and_merge === "boolean",
          "update_allows_fetch_and_merge: boolean",
        );
      break;
    case "required_deployments":
      need(
        Array.isArray(params?.required_deployment_environments) &&
          (params.required_deployment_environments as unknown[]).every((e) => typeof e === "string"),
        "required_deployment_environments: array of environment names",
      );
      break;
    case "required_status_checks":
      need(
        Array.isArray(params?.required_status_checks) &&
          (params.required_status_checks as unknown[]).every(
            (check) => typeof (check as { context?: unknown })?.context === "string",
          ) &&
          typeof params.strict_required_status_checks_policy === "boolean",
        "required_status_checks: [{context}] and strict_required_status_checks_policy: boolean",
      );
      break;
    case "pull_request": {
      const count = params?.required_approving_review_count;
      need(
        typeof count === "number" && Number.isInteger(count) && count >= 0 && count <= 10,
        "required_approving_review_count: an integer from 0 to 10",
      );
      for (const flag of [
        "dismiss_stale_reviews_on_push",
        "require_code_owner_review",
        "require_last_push_approval",
        "required_review_thread_resolution",
      ])
        need(typeof params?.[flag] === "boolean", `${flag}: boolean`);
      break;
    }
    case "commit_message_pattern":
    case "commit_author_email_pattern":
    case "committer_email_pattern":
    case "branch_name_pattern":
    case "tag_name_pattern":
      need(
        typeof params?.pattern === "string" &&
          typeof params.operator === "string" &&
          PATTERN_OPERATORS.includes(params.operator),
        `pattern: string and operator: one of ${PATTERN_OPERATORS.join(", ")}`,
      );
      break;
    default:
      break;
  }
}

function rules(value: unknown, target: RulesetTarget): RulesetRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid("Invalid property /rules: must be an array");
  const seen = new Set<string>();
  return value.map((entry: unknown, index) => {
    const rule = (entry ?? {}) as { type?: unknown; parameters?: unknown };
    const type = oneOf(rule.type, Object.keys(REF_RULES), `/rules/${index}/type`);
    if (!REF_RULES[type]!.includes(target))
      throw invalid(`Invalid rule '${type}': not allowed for a ${target} ruleset`);
    if (seen.has(type)) throw invalid(`Invalid rules: '${type}' is given more than once`);
    seen.add(type);
    if (
      rule.parameters !== undefined &&
      (typeof rule.parameters !== "object" || rule.parameters === null || Array.isArray(rule.parameters))
    )
      throw invalid(`Invalid rule '${type}': /rules/${index}/parameters must be an object`);
    const parsed: RulesetRule = {
      type,
      ...(rule.parameters ? { parameters: rule.parameters as Record<string, unknown> } : {}),
    };
    ruleParameters(parsed, index);
    return parsed;
  });
}

export interface RulesetContext {
  /** Base URL of the repository's API (…/repos/{owner}/{repo}). */
  url: string;
  /** "owner/name": the source of every repository ruleset. */
  repository: string;
  defaultBranch: string;
  nextId: () => number;
  now: () => string;
  /** GitHub's page/per_page slicing with its Link header. */
  paginate: <T>(items: T[]) => T[];
}

/**
 * Answers a rulesets request (path relative to /repos/{owner}/{repo});
 * undefined when the path is not one of these endpoints.
 */
export function routeRulesets(
  rulesets: FakeRuleset[],
  method: string,
  path: string,
  query: URLSearchParams,
  body: Record<string, unknown>,
  context: RulesetContext,
): [number, unknown] | undefined {
  const one = /^\/rulesets\/([^/]+)$/.exec(path);
  const branchRules = /^\/rules\/branches\/(.+)$/.exec(path);
  if (path === "/rulesets") {
    if (method === "GET") {
      const targets = query.get("targets")?.split(",");
      const listed = rulesets.filter((ruleset) => !targets || targets.includes(ruleset.target));
      return [200, context.paginate(listed.map((ruleset) => summaryView(ruleset, context)))];
    }
    if (method === "POST") {
      if (body.name === undefined) throw invalid('Invalid request: "name" wasn\'t supplied.');
      if (body.enforcement === undefined) throw invalid('Invalid request: "enforcement" wasn\'t supplied.');
      const ruleset = parseRuleset(undefined, body, rulesets, context);
      rulesets.push(ruleset);
      return [201, fullView(ruleset, context)];
    }
  }
  if (one) {
    const id = Number(one[1]);
    const index = rulesets.findIndex((ruleset) => ruleset.id === id);
    if (!/^\d+$/.test(one[1]!) || index === -1) throw notFound();
    if (method === "GET") return [200, fullView(rulesets[index]!, context)];
    if (method === "PUT") {
      const updated = parseRuleset(rulesets[index], body, rulesets, context);
      rulesets[index] = updated;
      return [200, fullView(updated, context)];
    }
    if (method === "DELETE") {
      rulesets.splice(index, 1);
      return [204, null];
    }
  }
  if (branchRules && method === "GET") {
    const branch = decodeURIComponent(branchRules[1]!);
    const ref = `refs/heads/${branch}`;
    const active = rulesets.filter(
      (ruleset) =>
        ruleset.enforcement === "active" &&
        ruleset.target === "branch" &&
        conditionsInclude(ruleset, ref, context.defaultBranch),
    );
    const detailed = active.flatMap((ruleset) =>
      ruleset.rules.map((rule) => ({
        ...rule,
        ruleset_source_type: "Repository",
        ruleset_source: context.repository,
        ruleset_id: ruleset.id,
      })),
    );
    return [200, context.paginate(detailed)];
  }
  return undefined;
}

/** A new ruleset from a POST body, or `existing` with a PUT body's fields laid over it. */
function parseRuleset(
  existing: FakeRuleset | undefined,
  body: Record<string, unknown>,
  rulesets: FakeRuleset[],
  context: RulesetContext,
): FakeRuleset {
  let name = existing?.name ?? "";
  if (body.name !== undefined || !existing) {
    if (typeof body.name !== "string" || body.name.trim() === "")
      throw invalid("Invalid property /name: must be a non-empty string");
    name = body.name;
  }
  if (rulesets.some((other) => other.id !== existing?.id && other.name.toLowerCase() === name.toLowerCase()))
    throw invalid("Name must be unique");
  const target =
    body.target !== undefined
      ? (oneOf(body.target, TARGETS, "/target") as RulesetTarget)
      : (existing?.target ?? "branch");
  const enforcement =
    body.enforcement !== undefined
      ? (oneOf(body.enforcement, ENFORCEMENTS, "/enforcement") as RulesetEnforcement)
      : existing!.enforcement;
  return {
    id: existing?.id ?? context.nextId(),
    name,
    target,
    enforcement,
    bypassActors:
      body.bypass_actors !== undefined ? bypassActors(body.bypass_actors) : (existing?.bypassActors ?? []),
    // What is kept from the ruleset must still fit a changed target.
    conditions: conditions(body.conditions !== undefined ? body.conditions : existing?.conditions, target),
    rules: body.rules !== undefined ? rules(body.rules, target) : rules(existing?.rules ?? [], target),
    createdAt: existing?.createdAt ?? context.now(),
    updatedAt: context.now(),
  };
}

/** What GitHub tells the caller about its own bypass: this API's token is the GitHub Actions app. */
function currentUserCanBypass(ruleset: FakeRuleset): "always" | "pull_requests_only" | "exempt" | "never" {
  const actions = ruleset.bypassActors.find(
    (actor) => actor.actor_type === "Integration" && actor.actor_id === GITHUB_ACTIONS_APP_ID,
  );
  if (!actions) return "never";
  return actions.bypass_mode === "pull_request" ? "pull_requests_only" : actions.bypass_mode;
}

function summaryView(ruleset: FakeRuleset, context: RulesetContext) {
  return {
    id: ruleset.id,
    name: ruleset.name,
    target: ruleset.target,
    source_type: "Repository",
    source: context.repository,
    enforcement: ruleset.enforcement,
    node_id: `RRS_${Buffer.from(String(ruleset.id)).toString("base64")}`,
    _links: {
      self: { href: `${context.url}/rulesets/${ruleset.id}` },
      html: { href: `https://github.com/${context.repository}/rules/${ruleset.id}` },
    },
    created_at: ruleset.createdAt,
    updated_at: ruleset.updatedAt,
  };
}

function fullView(ruleset: FakeRuleset, context: RulesetContext) {
  return {
    ...summaryView(ruleset, context),
    bypass_actors: ruleset.bypassActors,
    current_user_can_bypass: currentUserCanBypass(ruleset),
    conditions: ruleset.conditions,
    rules: ruleset.rules,
  };
}
