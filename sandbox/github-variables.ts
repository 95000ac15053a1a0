/**
 * GitHub Actions configuration variables of the local GitHub API, at
 * repository and environment level, in GitHub's documented shapes (REST API
 * endpoints for GitHub Actions variables). Names follow GitHub's rules
 * (letters, digits and underscores; not starting with a digit or GITHUB_;
 * case-insensitive, kept upper-case); a name that exists answers 409 on
 * create, an unknown one 404; at most 500 variables per repository and 100
 * per environment, 48 KB per value.
 */

export interface FakeVariable {
  name: string;
  value: string;
  createdAt: string;
  updatedAt: string;
}

/** Variables by upper-case name. */
export type VariableStore = Map<string, FakeVariable>;

const MAX_VALUE = 48 * 1024;
const MAX_REPOSITORY_VARIABLES = 500;
const MAX_ENVIRONMENT_VARIABLES = 100;

/** A refusal in GitHub's error shape. */
export class VariableProblem extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

const DOCS = "https://docs.github.com/rest/actions/variables";
const problem = (status: number, message: string) =>
  new VariableProblem(status, { message, documentation_url: DOCS, status: String(status) });

/** Why GitHub refuses a variable name, or undefined when it is valid. */
export function variableNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9_]+$/.test(name)) return "can only contain letters, digits and underscores";
  if (/^[0-9]/.test(name)) return "must not start with a number";
  if (/^GITHUB_/i.test(name)) return "must not start with the GITHUB_ prefix";
  return undefined;
}

function validName(value: unknown): string {
  if (value === undefined || value === null) throw problem(422, 'Invalid request: "name" wasn\'t supplied.');
  if (typeof value !== "string" || value === "") throw problem(422, "Invalid request: name must be a string");
  const why = variableNameProblem(value);
  if (why) throw problem(422, `Failed to create variable. Variable name ${why}.`);
  return value.toUpperCase();
}

function validValue(value: unknown): string {
  if (value === undefined || value === null) throw problem(422, 'Invalid request: "value" wasn\'t supplied.');
  if (typeof value !== "string") throw problem(422, "Invalid request: value must be a string");
  if (Buffer.byteLength(value) > MAX_VALUE)
    throw problem(422, "Variable value is too large (maximum is 48 KB).");
  return value;
}

function view(variable: FakeVariable) {
  return {
    name: variable.name,
    value: variable.value,
    created_at: variable.createdAt,
    updated_at: variable.updatedAt,
  };
}

/**
 * Answers a request on one store of variables: `path` is what follows
 * …/variables ("" for the collection, "/NAME" for one).
 */
export function routeVariables(
  store: VariableStore,
  level: "repository" | "environment",
  method: string,
  path: string,
  body: Record<string, unknown>,
  context: { now: () => string; paginate: <T>(items: T[]) => T[] },
): [number, unknown] | undefined {
  if (path === "") {
    if (method === "GET") {
      const all = [...store.values()].sort((a, b) => a.name.localeCompare(b.name));
      return [200, { total_count: all.length, variables: context.paginate(all).map(view) }];
    }
    if (method === "POST") {
      const name = validName(body.name);
      const value = validValue(body.value);
      if (store.has(name)) throw problem(409, "Already exists - Variable already exists");
      const limit = level === "repository" ? MAX_REPOSITORY_VARIABLES : MAX_ENVIRONMENT_VARIABLES;
      if (store.size >= limit)
        throw problem(422, `Failed to create variable. A ${level} can have at most ${limit}.`);
      const now = context.now();
      store.set(name, { name, value, createdAt: now, updatedAt: now });
      return [201, {}];
    }
    return undefined;
  }
  const match = /^\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  const key = decodeURIComponent(match[1]!).toUpperCase();
  const found = store.get(key);
  if (method === "GET" || method === "PATCH" || method === "DELETE") {
    if (!found) throw problem(404, "Not Found");
  }
  if (method === "GET") return [200, view(found!)];
  if (method === "DELETE") {
    store.delete(key);
    return [204, null];
  }
  if (method === "PATCH") {
    const next = { ...found! };
    if (body.name !== undefined) {
      const renamed = validName(body.name);
      if (renamed !== key && store.has(renamed))
        throw problem(409, "Already exists - Variable already exists");
      next.name = renamed;
    }
    if (body.value !== undefined) next.value = validValue(body.value);
    next.updatedAt = context.now();
    store.delete(key);
    store.set(next.name, next);
    return [204, null];
  }
  return undefined;
}
