/**
 * The sandbox's admin API under /_sandbox/ on the control-plane port, and the
 * command line that drives it:
 *
 *   GET    /_sandbox/faults   faults with how often each fired and whether it is still active
 *   POST   /_sandbox/faults   add a fault: {service, operation?, error?, status?, message?, count?, durationMs?, untilMs?, latencyMs?}
 *   DELETE /_sandbox/faults   remove every fault
 *   GET    /_sandbox/state    the whole state as JSON
 *   GET    /_sandbox/lambda/invocations  real Lambda invocations: function, request id, start/end ms, cold, outcome, error, logs
 *
 * EventBridge answers GET /_sandbox/events and CloudWatch's alarms POST /_sandbox/alarms/evaluate themselves.
 */
import type { ServerResponse } from "node:http";
import { type FaultRegistry, FaultSpecError } from "./faults.js";
import type { ServiceHandler } from "./types.js";

const ADMIN_PREFIX = "/_sandbox/";

export interface AdminDeps {
  faults: FaultRegistry;
  /** The state dump served by GET /_sandbox/state. */
  state(): unknown;
  /** Real Lambda invocations, served by GET /_sandbox/lambda/invocations. */
  lambdaInvocations?(): unknown[];
}

/** The admin surface as a ServiceHandler; answers every path under /_sandbox/ other handlers left. */
export function createAdminHandler(deps: AdminDeps): ServiceHandler {
  return {
    name: "admin",
    matches: (req) => (req.url ?? "").startsWith(ADMIN_PREFIX),
    async handle(req, body, res) {
      const answer = adminAnswer(deps, req.method ?? "GET", (req.url ?? "").split("?")[0] ?? "", body);
      sendJson(res, answer.status, answer.body);
    },
  };
}

interface AdminAnswer {
  status: number;
  body: unknown;
}

function adminAnswer(deps: AdminDeps, method: string, path: string, body: Buffer): AdminAnswer {
  if (path === "/_sandbox/faults") return faultsAnswer(deps.faults, method, body);
  if (path === "/_sandbox/state" && method === "GET") return { status: 200, body: deps.state() };
  if (path === "/_sandbox/health" && method === "GET") return { status: 200, body: { ok: true } };
  if (path === "/_sandbox/lambda/invocations" && method === "GET")
    return { status: 200, body: { invocations: deps.lambdaInvocations?.() ?? [] } };
  return {
    status: 404,
    body: {
      error: `no admin endpoint ${method} ${path}; available: GET|POST|DELETE /_sandbox/faults, GET /_sandbox/state, GET /_sandbox/health, GET /_sandbox/lambda/invocations, GET /_sandbox/events, POST /_sandbox/alarms/evaluate`,
    },
  };
}

function faultsAnswer(faults: FaultRegistry, method: string, body: Buffer): AdminAnswer {
  if (method === "GET") return { status: 200, body: { faults: faults.list() } };
  if (method === "DELETE") return { status: 200, body: { cleared: faults.clear() } };
  if (method !== "POST") {
    return {
      status: 405,
      body: { error: `${method} is not allowed on /_sandbox/faults; use GET, POST or DELETE` },
    };
  }
  let input: unknown;
  try {
    input = JSON.parse(body.toString("utf8"));
  } catch (error) {
    return { status: 400, body: { error: `the body must be JSON: ${(error as Error).message}` } };
  }
  try {
    return { status: 201, body: { fault: faults.add(input) } };
  } catch (error) {
    if (error instanceof FaultSpecError) return { status: 400, body: { error: error.message } };
    throw error;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

// ---------------------------------------------------------------- command line

export const ADMIN_USAGE = `Usage:
  npm run sandbox -- fault add --service <route53|ecs|lambda|cloudwatch|eventbridge|sqs> [--operation <Name>] [--error <Code>]
                               [--status <http>] [--message <text>] [--count <n>] [--duration-ms <ms>] [--latency-ms <ms>]
  npm run sandbox -- fault list
  npm run sandbox -- fault clear
  npm run sandbox -- state
Options: --endpoint <url> (default: $AWS_ENDPOINT_URL)`;

const FAULT_OPTIONS: Record<string, { field: string; numeric: boolean }> = {
  "--service": { field: "service", numeric: false },
  "--operation": { field: "operation", numeric: false },
  "--error": { field: "error", numeric: false },
  "--message": { field: "message", numeric: false },
  "--status": { field: "status", numeric: true },
  "--count": { field: "count", numeric: true },
  "--duration-ms": { field: "durationMs", numeric: true },
  "--until-ms": { field: "untilMs", numeric: true },
  "--latency-ms": { field: "latencyMs", numeric: true },
};

/** Thrown for a command line the admin CLI cannot run. */
export class AdminUsageError extends Error {}

/** Runs an admin command (`fault add|list|clear`, `state`) against a running sandbox; returns what to print. */
export async function runAdminCommand(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<string> {
  const rest = [...args];
  let endpoint = env.AWS_ENDPOINT_URL;
  const endpointAt = rest.indexOf("--endpoint");
  if (endpointAt >= 0) {
    endpoint = rest[endpointAt + 1];
    rest.splice(endpointAt, 2);
  }
  if (!endpoint)
    throw new AdminUsageError(
      `no sandbox endpoint: pass --endpoint http://127.0.0.1:<port> or export AWS_ENDPOINT_URL\n${ADMIN_USAGE}`,
    );
  const base = endpoint.replace(/\/+$/, "");
  const [command, subcommand, ...options] = rest;
  if (command === "state" && subcommand === undefined) return request("GET", `${base}/_sandbox/state`);
  if (command !== "fault")
    throw new AdminUsageError(`unknown command ${JSON.stringify(rest.join(" "))}\n${ADMIN_USAGE}`);
  if (subcommand === "list" && options.length === 0) return request("GET", `${base}/_sandbox/faults`);
  if (subcommand === "clear" && options.length === 0) return request("DELETE", `${base}/_sandbox/faults`);
  if (subcommand === "add") return request("POST", `${base}/_sandbox/faults`, readFaultOptions(options));
  throw new AdminUsageError(
    `unknown fault command ${JSON.stringify([subcommand, ...options].join(" "))}\n${ADMIN_USAGE}`,
  );
}

function readFaultOptions(options: string[]): Record<string, unknown> {
  const fault: Record<string, unknown> = {};
  for (let index = 0; index < options.length; index += 2) {
    const flag = options[index] ?? "";
    const value = options[index + 1];
    const option = FAULT_OPTIONS[flag];
    if (!option)
      throw new AdminUsageError(`unknown option ${flag}; accepted: ${Object.keys(FAULT_OPTIONS).join(", ")}`);
    if (value === undefined) throw new AdminUsageError(`${flag} needs a value`);
    if (option.numeric && !/^\d+$/.test(value))
      throw new AdminUsageError(`${flag} must be a whole number; got ${JSON.stringify(value)}`);
    fault[option.field] = option.numeric ? Number(value) : value;
  }
  return fault;
}

async function request(method: string, url: string, body?: unknown): Promise<string> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new AdminUsageError(`${method} ${url} answered ${response.status}: ${text.trim()}`);
  return text;
}
