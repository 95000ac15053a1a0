/**
 * A minimal local GitHub REST API on loopback, for tests and the demo: the
 * endpoints cutover's notifier calls (issue comments, pull requests,
 * deployments and their statuses), reached by the real octokit through
 * GITHUB_API_URL. It is a test double that answers like GitHub: 401 without
 * the token, 403 for a read-only token, 400 for a body that is not JSON, 422
 * "Validation Failed" for a missing or invalid field, 404 for anything else.
 */
import { execFileSync } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  defaultRepositorySettings,
  type FakeRepositorySettings,
  isSettingsProblem,
  routeSettings,
} from "./github-settings.js";

export interface FakeComment {
  id: number;
  issueNumber: number;
  body: string;
  user: { login: string; type: string };
  created_at: string;
  updated_at: string;
}

export interface FakePullRequest {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: "open" | "closed";
  draft: boolean;
}

export interface FakeDeployment {
  id: number;
  ref: string;
  sha: string;
  environment: string;
  task: string;
  description: string | null;
  payload: unknown;
  production_environment: boolean;
  transient_environment: boolean;
  created_at: string;
  statuses: Array<{
    id: number;
    state: string;
    description: string;
    log_url?: string;
    environment: string;
    created_at: string;
  }>;
}

export interface FakeGitHubOptions {
  /** "owner/name" of the one repository served. */
  repository: string;
  /** The token requests must carry. */
  token: string;
  /** A token that may only read (a fork's pull request): writes answer 403. */
  readOnlyToken?: string;
  /** Bare git repository behind the API: pull request heads and deployment refs must exist in it. */
  gitDir?: string;
  /** Pull request numbers that already exist (their comments can be listed and created). */
  pullRequests?: Array<Pick<FakePullRequest, "number" | "title" | "head" | "base">>;
  port?: number;
}

export interface FakeGitHub {
  /** Base URL to put in GITHUB_API_URL. */
  url: string;
  comments: FakeComment[];
  pulls: FakePullRequest[];
  deployments: FakeDeployment[];
  /** Every request served, for assertions on what was called. */
  requests: Array<{ method: string; path: string; status: number }>;
  /** Environments, OIDC subject template, workflow permissions, rulesets and variables (see github-settings.ts). */
  settings: FakeRepositorySettings;
  close(): Promise<void>;
}

const DEPLOYMENT_STATES = ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"];
/** GitHub limits an issue comment or PR body to 65536 characters. */
const MAX_BODY = 65_536;

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

function validationFailed(resource: string, field: string, code: string, message?: string): HttpProblem {
  return new HttpProblem(422, {
    message: "Validation Failed",
    errors: [{ resource, field, code, ...(message ? { message } : {}) }],
    documentation_url: "https://docs.github.com/rest",
    status: "422",
  });
}

function requireString(body: Record<string, unknown>, field: string, resource: string): string {
  const value = body[field];
  if (value === undefined || value === null) throw validationFailed(resource, field, "missing_field");
  if (typeof value !== "string" || value.trim() === "") throw validationFailed(resource, field, "invalid");
  return value;
}

/** Starts the fake API on 127.0.0.1. */
export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const [owner, repo] = options.repository.split("/");
  const prefix = `/repos/${owner}/${repo}`;
  let nextId = 1000;
  const now = () => new Date().toISOString();
  let url = "";
  const state = {
    comments: [] as FakeComment[],
    pulls: (options.pullRequests ?? []).map(
      (pr): FakePullRequest => ({ ...pr, body: "", state: "open", draft: false }),
    ),
    deployments: [] as FakeDeployment[],
    requests: [] as Array<{ method: string; path: string; status: number }>,
    settings: defaultRepositorySettings(),
  };

  const refExists = (ref: string): string | undefined => {
    if (!options.gitDir) return "0".repeat(40);
    try {
      return execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
        cwd: options.gitDir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      return undefined;
    }
  };

  const issueExists = (number: number) => state.pulls.some((pr) => pr.number === number);

  let nextPageLink: string | undefined;

  /** GitHub's page/per_page pagination (per_page at most 100, default 30), with a Link header to the next page. */
  function paginate<T>(
    items: T[],
    query: URLSearchParams,
    path: string,
    limits = { max: 100, default: 30 },
  ): T[] {
    const perPage = Math.min(limits.max, Math.max(1, Number(query.get("per_page") ?? limits.default)));
    const page = Math.max(1, Number(query.get("page") ?? 1));
    if (page * perPage < items.length) {
      const next = new URLSearchParams(query);
      next.set("page", String(page + 1));
      next.set("per_page", String(perPage));
      nextPageLink = `<${url}${prefix}${path}?${next}>; rel="next"`;
    }
    return items.slice((page - 1) * perPage, page * perPage);
  }

  function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): [number, unknown] {
    const issueComments = /^\/issues\/(\d+)\/comments$/.exec(path);
    const oneComment = /^\/issues\/comments\/(\d+)$/.exec(path);
    const onePull = /^\/pulls\/(\d+)$/.exec(path);
    const deploymentStatuses = /^\/deployments\/(\d+)\/statuses$/.exec(path);
    if (issueComments) {
      const match = issueComments;
      const issueNumber = Number(match[1]);
      if (!issueExists(issueNumber)) throw new HttpProblem(404, { message: "Not Found" });
      if (method === "GET") {
        const all = state.comments.filter((c) => c.issueNumber === issueNumber);
        return [200, paginate(all, query, path)];
      }
      if (method === "POST") {
        const text = requireString(body, "body", "IssueComment");
        if (text.length > MAX_BODY)
          throw validationFailed(
            "IssueComment",
            "body",
            "custom",
            "body is too long (maximum is 65536 characters)",
          );
        const comment: FakeComment = {
          id: nextId++,
          issueNumber,
          body: text,
          user: { login: "github-actions[bot]", type: "Bot" },
          created_at: now(),
          updated_at: now(),
        };
        state.comments.push(comment);
        return [201, comment];
      }
    }
    if (oneComment && method === "PATCH") {
      const comment = state.comments.find((c) => c.id === Number(oneComment[1]));
      if (!comment) throw new HttpProblem(404, { message: "Not Found" });
      const text = requireString(body, "body", "IssueComment");
      if (text.length > MAX_BODY)
        throw validationFailed(
          "IssueComment",
          "body",
          "custom",
          "body is too long (maximum is 65536 characters)",
        );
      comment.body = text;
      comment.updated_at = now();
      return [200, comment];
    }
    if (path === "/pulls" && method === "GET") {
      const wanted = query.get("state") ?? "open";
      const head = query.get("head");
      const base = query.get("base");
      const found = state.pulls.filter(
        (pr) =>
          (wanted === "all" || pr.state === wanted) &&
          (!head || `${owner}:${pr.head}` === head || pr.head === head) &&
          (!base || pr.base === base),
      );
      return [200, paginate(found.map(pullView), query, path)];
    }
    if (path === "/pulls" && method === "POST") {
      const title = requireString(body, "title", "PullRequest");
      const head = requireString(body, "head", "PullRequest");
      const base = requireString(body, "base", "PullRequest");
      const headBranch = head.includes(":") ? head.split(":")[1]! : head;
      if (headBranch === base)
        throw validationFailed(
          "PullRequest",
          "head",
          "invalid",
          `No commits between ${base} and ${headBranch}`,
        );
      if (!refExists(`refs/heads/${headBranch}`)) throw validationFailed("PullRequest", "head", "invalid");
      if (!refExists(`refs/heads/${base}`)) throw validationFailed("PullRequest", "base", "invalid");
      if (state.pulls.some((pr) => pr.head === headBranch && pr.base === base && pr.state === "open")) {
        throw validationFailed(
          "PullRequest",
          "head",
          "custom",
          `A pull request already exists for ${owner}:${headBranch}.`,
        );
      }
      const number = Math.max(0, ...state.pulls.map((pr) => pr.number)) + 1;
      const pr: FakePullRequest = {
        number,
        title,
        body: typeof body.body === "string" ? body.body : "",
        head: headBranch,
        base,
        state: "open",
        draft: body.draft === true,
      };
      state.pulls.push(pr);
      return [201, pullView(pr)];
    }
    if (onePull && method === "PATCH") {
      const pr = state.pulls.find((candidate) => candidate.number === Number(onePull[1]));
      if (!pr) throw new HttpProblem(404, { message: "Not Found" });
      if (body.title !== undefined) pr.title = requireString(body, "title", "PullRequest");
      if (body.body !== undefined) pr.body = String(body.body);
      return [200, pullView(pr)];
    }
    if (path === "/deployments" && method === "POST") {
      const ref = requireString(body, "ref", "Deployment");
      const sha = refExists(ref) ?? refExists(`refs/heads/${ref}`);
      if (!sha) throw new HttpProblem(422, { message: `No ref found for: ${ref}`, status: "422" });
      const environment = typeof body.environment === "string" ? body.environment : "production";
      const deployment: FakeDeployment = {
        id: nextId++,
        ref,
        sha,
        environment,
        task: typeof body.task === "string" ? body.task : "deploy",
        description: typeof body.description === "string" ? body.description : null,
        payload: body.payload ?? {},
        production_environment: body.production_environment === true,
        transient_environment: body.transient_environment === true,
        created_at: now(),
        statuses: [],
      };
      state.deployments.push(deployment);
      return [201, deploymentView(deployment)];
    }
    if (path === "/deployments" && method === "GET") {
      const found = state.deployments
        .filter(
          (d) =>
            (!query.get("environment") || d.environment === query.get("environment")) &&
            (!query.get("task") || d.task === query.get("task")) &&
            (!query.get("ref") || d.ref === query.get("ref")),
        )
        .sort((a, b) => b.id - a.id);
      return [200, paginate(found.map(deploymentView), query, path)];
    }
    if (deploymentStatuses) {
      const deployment = state.deployments.find((d) => d.id === Number(deploymentStatuses[1]));
      if (!deployment) throw new HttpProblem(404, { message: "Not Found" });
      if (method === "GET") return [200, paginate([...deployment.statuses].reverse(), query, path)];
      if (method === "POST") {
        const stateName = requireString(body, "state", "DeploymentStatus");
        if (!DEPLOYMENT_STATES.includes(stateName))
          throw validationFailed("DeploymentStatus", "state", "invalid");
        const status = {
          id: nextId++,
          state: stateName,
          description: typeof body.description === "string" ? body.description.slice(0, 140) : "",
          ...(typeof body.log_url === "string" ? { log_url: body.log_url } : {}),
          environment: typeof body.environment === "string" ? body.environment : deployment.environment,
          created_at: now(),
        };
        deployment.statuses.push(status);
        // auto_inactive (default true): a successful deployment makes earlier ones in the environment inactive.
        if (stateName === "success" && body.auto_inactive !== false) {
          for (const other of state.deployments) {
            if (
              other.id !== deployment.id &&
              other.environment === deployment.environment &&
              other.task === deployment.task
            ) {
              const last = other.statuses.at(-1);
              if (last?.state === "success") {
                other.statuses.push({ ...last, id: nextId++, state: "inactive", created_at: now() });
              }
            }
          }
        }
        return [201, status];
      }
    }
    const answered = routeSettings(state.settings, method, path, body, {
      url: `${url}${prefix}`,
      repository: options.repository,
      query,
      nextId: () => nextId++,
      now,
      paginate: (items, limits) => paginate(items, query, path, limits),
    });
    if (answered) return answered;
    throw new HttpProblem(404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
  }

  function pullView(pr: FakePullRequest) {
    return {
      number: pr.number,
      title: pr.title,
      body: pr.body,
      state: pr.state,
      draft: pr.draft,
      html_url: `https://github.com/${options.repository}/pull/${pr.number}`,
      head: { ref: pr.head, label: `${owner}:${pr.head}` },
      base: { ref: pr.base, label: `${owner}:${pr.base}` },
    };
  }

  function deploymentView(d: FakeDeployment) {
    const { statuses: _statuses, ...rest } = d;
    return { ...rest, url: `${url}${prefix}/deployments/${d.id}` };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = req.method ?? "GET";
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let status = 500;
    let payload: unknown;
    nextPageLink = undefined;
    try {
      const auth = req.headers.authorization ?? "";
      const token = /^(?:token|bearer)\s+(.+)$/i.exec(auth)?.[1];
      if (token !== options.token && token !== options.readOnlyToken) {
        throw new HttpProblem(401, { message: "Bad credentials", status: "401" });
      }
      if (token === options.readOnlyToken && method !== "GET") {
        throw new HttpProblem(403, { message: "Resource not accessible by integration", status: "403" });
      }
      if (!parsed.pathname.startsWith(`${prefix}/`)) throw new HttpProblem(404, { message: "Not Found" });
      let body: Record<string, unknown> = {};
      if (chunks.length > 0 && method !== "GET") {
        try {
          const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          if (typeof value !== "object" || value === null || Array.isArray(value))
            throw new Error("not an object");
          body = value as Record<string, unknown>;
        } catch {
          throw new HttpProblem(400, { message: "Problems parsing JSON", status: "400" });
        }
      }
      [status, payload] = route(method, parsed.pathname.slice(prefix.length), parsed.searchParams, body);
    } catch (error) {
      if (error instanceof HttpProblem || isSettingsProblem(error)) {
        status = error.status;
        payload = error.body;
      } else {
        status = 500;
        payload = { message: (error as Error).message };
      }
    }
    state.requests.push({ method, path: parsed.pathname, status });
    const text = status === 204 ? "" : JSON.stringify(payload);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      ...(nextPageLink ? { link: nextPageLink } : {}),
    });
    res.end(text);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    ...state,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
