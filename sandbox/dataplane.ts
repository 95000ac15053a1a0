/**
 * The data plane: one loopback HTTP listener per public record name. Each
 * request is resolved through the record's current weights by a pool of
 * caching resolvers, served by the backend the answer points at, and
 * published as CloudWatch samples. An admin handler changes backend
 * behaviour at runtime.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { type Backend, BehaviourError, EcsBackend, LambdaBackend, readBehaviourPatch } from "./backends.js";
import { MetricRecorder } from "./dataplane-metrics.js";
import { createRandom, seedFrom } from "./random.js";
import { ResolverPool } from "./resolver.js";
import type {
  EcsView,
  LambdaView,
  ListenerView,
  MetricSink,
  RecordView,
  SandboxSeed,
  ServiceHandler,
} from "./types.js";

/** Response headers the data plane sets on every answer. */
export const BACKEND_HEADER = "x-cutover-backend";
export const VERSION_HEADER = "x-cutover-version";
/** Server-side latency of the request in ms, exactly as published to CloudWatch. */
export const LATENCY_HEADER = "x-cutover-latency-ms";

/** Resolvers per record when the seed does not say. */
export const DEFAULT_RESOLVERS = 64;
/** Path prefix of the admin API for backend behaviour. */
export const BACKENDS_ADMIN_PATH = "/_sandbox/backends";

/** What the data plane needs from the rest of the sandbox. */
export interface DataPlaneDeps {
  seed: SandboxSeed;
  records: RecordView;
  /** The load balancers, for entries routed by an ALB listener. */
  listeners?: ListenerView;
  ecs: EcsView;
  lambda: LambdaView;
  metrics: MetricSink;
}

/** A running data plane. */
export interface DataPlane {
  /** Base URL of each record's listener, by record name as the seed spells it. */
  urls: Record<string, string>;
  /** Admin API for backend behaviour, mounted on the control-plane server. */
  admin: ServiceHandler;
  /** Publishes the per-second counts of the current second now rather than when it ends. */
  flush(): void;
  close(): Promise<void>;
}

type DataPlaneSeed = NonNullable<SandboxSeed["dataPlane"]>[number];

/** One record's listener state. */
interface RecordPlane {
  recordName: string;
  resolvers: ResolverPool;
  /** The backend a request goes to: by the listener's weights for an ALB entry, else through the resolvers. */
  pick(req: IncomingMessage): string | undefined;
  backends: Map<string, Backend>;
  server: Server;
}

/** Normalised record name: lower case, no trailing dot (Route 53 names are case-insensitive and absolute). */
function recordKey(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** Starts one listener per `seed.dataPlane` entry on 127.0.0.1 (random ports). */
export async function startDataPlane(deps: DataPlaneDeps): Promise<DataPlane> {
  const recorder = new MetricRecorder(deps.metrics);
  const pending = new Set<NodeJS.Timeout>();
  const planes: RecordPlane[] = [];
  const urls: Record<string, string> = {};
  try {
    for (const [index, entry] of (deps.seed.dataPlane ?? []).entries()) {
      const plane = createRecordPlane(entry, index, deps, recorder, pending);
      planes.push(plane);
      urls[entry.recordName] = await listen(plane.server);
    }
  } catch (error) {
    await Promise.all(planes.map((plane) => closeServer(plane.server)));
    throw error;
  }
  // Counts are written once their second is over; an unref'd timer keeps that going when traffic pauses.
  const flusher = setInterval(() => recorder.flush(Date.now()), 250);
  flusher.unref();
  return {
    urls,
    admin: createBackendsAdmin(planes),
    flush: () => recorder.flush(),
    async close() {
      clearInterval(flusher);
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      await Promise.all(planes.map((plane) => closeServer(plane.server)));
      recorder.flush();
    },
  };
}

function createRecordPlane(
  entry: DataPlaneSeed,
  index: number,
  deps: DataPlaneDeps,
  recorder: MetricRecorder,
  pending: Set<NodeJS.Timeout>,
): RecordPlane {
  const where = `dataPlane[${index}] (${entry.recordName})`;
  const seed = entry.randomSeed ?? 1;
  const backends = new Map<string, Backend>();
  for (const [setIdentifier, backendSeed] of Object.entries(entry.backends ?? {})) {
    const random = createRandom(seedFrom(setIdentifier, seed));
    try {
      const backend =
        backendSeed.kind === "ecs"
          ? new EcsBackend(setIdentifier, backendSeed, deps.ecs, recorder, random)
          : backendSeed.kind === "lambda"
            ? new LambdaBackend(setIdentifier, backendSeed, deps.lambda, recorder, random)
            : undefined;
      if (!backend) {
        throw new Error(
          `${where}.backends.${setIdentifier}.kind: ${JSON.stringify((backendSeed as { kind?: unknown }).kind)} is not a backend kind; use "ecs" or "lambda"`,
        );
      }
      backends.set(setIdentifier, backend);
    } catch (error) {
      if (error instanceof BehaviourError) throw new Error(`${where}: ${error.message}`);
      throw error;
    }
  }
  const resolvers = new ResolverPool({
    recordName: entry.recordName,
    records: deps.records,
    resolvers: entry.resolvers ?? DEFAULT_RESOLVERS,
    random: createRandom(seedFrom(`resolvers:${entry.recordName}`, seed)),
  });
  const balancer = entry.loadBalancer;
  const listeners = deps.listeners;
  const pickRandom = createRandom(seedFrom(`listener:${entry.recordName}`, seed));
  const pick =
    balancer && listeners
      ? (req: IncomingMessage) =>
          listeners.route(balancer.name, balancer.port, (req.url ?? "/").split("?")[0]!, pickRandom())
      : () => resolvers.resolve();
  const plane: RecordPlane = {
    recordName: entry.recordName,
    resolvers,
    pick,
    backends,
    server: createServer(),
  };
  plane.server.keepAliveTimeout = 30_000;
  plane.server.on("request", (req: IncomingMessage, res: ServerResponse) =>
    handleRequest(plane, req, res, pending),
  );
  return plane;
}

function handleRequest(
  plane: RecordPlane,
  req: IncomingMessage,
  res: ServerResponse,
  pending: Set<NodeJS.Timeout>,
) {
  const startedAt = performance.now();
  const now = Date.now();
  // The body is not used; reading it keeps the connection reusable.
  req.resume();
  const setIdentifier = plane.pick(req);
  const backend = setIdentifier === undefined ? undefined : plane.backends.get(setIdentifier);
  if (!backend) {
    const message =
      setIdentifier === undefined
        ? `no weighted record named ${plane.recordName} to resolve`
        : `the record ${plane.recordName} points at ${setIdentifier}, which the data plane has no backend for`;
    respond(res, 502, { [BACKEND_HEADER]: setIdentifier ?? "none" }, { message }, startedAt);
    return;
  }
  const outcome = backend.serve(now);
  const answer = () => {
    const latencyMs = Math.round((performance.now() - startedAt) * 1000) / 1000;
    outcome.complete(latencyMs, now);
    const headers: Record<string, string> = {
      [BACKEND_HEADER]: backend.setIdentifier,
      [LATENCY_HEADER]: String(latencyMs),
    };
    if (outcome.version !== undefined) headers[VERSION_HEADER] = outcome.version;
    const body =
      outcome.status >= 400
        ? { message: outcome.error ?? "request failed" }
        : routeResponse(req, backend.setIdentifier, outcome.version);
    res.writeHead(outcome.status === 200 && req.method === "POST" ? 201 : outcome.status, {
      ...headers,
      "content-type": "application/json",
    });
    res.end(JSON.stringify(body));
  };
  if (outcome.delayMs < 0.5) {
    answer();
    return;
  }
  const timer = setTimeout(() => {
    pending.delete(timer);
    answer();
  }, outcome.delayMs);
  pending.add(timer);
}

function respond(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: unknown,
  startedAt: number,
): void {
  const latencyMs = Math.round((performance.now() - startedAt) * 1000) / 1000;
  res.writeHead(status, {
    ...headers,
    [LATENCY_HEADER]: String(latencyMs),
    "content-type": "application/json",
  });
  res.end(JSON.stringify(body));
}

/** The small API every backend serves: /health, /orders, /orders/:id; anything else echoes the request. */
function routeResponse(req: IncomingMessage, backend: string, version: string | undefined): unknown {
  const path = (req.url ?? "/").split("?")[0]!;
  const servedBy = version === undefined ? { backend } : { backend, version };
  if (path === "/health") return { status: "ok", ...servedBy };
  if (path === "/orders" && req.method === "POST")
    return { id: `ord-${Date.now().toString(36)}`, status: "created", ...servedBy };
  if (path === "/orders") {
    return {
      orders: [1, 2, 3].map((id) => ({ id: `ord-${id}`, status: "shipped", totalCents: 1000 * id })),
      ...servedBy,
    };
  }
  const order = /^\/orders\/([^/]+)$/.exec(path);
  if (order) return { id: decodeURIComponent(order[1]!), status: "shipped", totalCents: 4200, ...servedBy };
  return { method: req.method, path, ...servedBy };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * Admin API: GET /_sandbox/backends lists every backend and its behaviour;
 * PUT /_sandbox/backends/<record>/<setIdentifier> merges a partial behaviour
 * (optionally bounded by `durationMs`); DELETE of the same path restores the
 * seed's behaviour.
 */
function createBackendsAdmin(planes: RecordPlane[]): ServiceHandler {
  const byRecord = new Map(planes.map((plane) => [recordKey(plane.recordName), plane]));
  const describe = (plane: RecordPlane, backend: Backend, now: number) => ({
    recordName: plane.recordName,
    setIdentifier: backend.setIdentifier,
    kind: backend.kind,
    behaviour: backend.behaviour.current(now),
    seedBehaviour: backend.behaviour.seeded,
    overrideExpiresAt: isoOrNull(backend.behaviour.overrideExpiresAt(now)),
    state: backend.describe(now),
  });
  return {
    name: "sandbox-backends",
    matches: (req) => {
      const path = (req.url ?? "").split("?")[0]!;
      return path === BACKENDS_ADMIN_PATH || path.startsWith(`${BACKENDS_ADMIN_PATH}/`);
    },
    async handle(req, body, res) {
      const now = Date.now();
      const path = (req.url ?? "").split("?")[0]!;
      const parts = path.slice(BACKENDS_ADMIN_PATH.length).split("/").filter(Boolean).map(decodeURIComponent);
      if (parts.length === 0) {
        if (req.method !== "GET")
          return sendAdmin(res, 405, { message: `use GET on ${BACKENDS_ADMIN_PATH}` });
        const backends = planes.flatMap((plane) =>
          [...plane.backends.values()].map((backend) => describe(plane, backend, now)),
        );
        return sendAdmin(res, 200, { backends });
      }
      if (parts.length !== 2) {
        return sendAdmin(res, 404, {
          message: `expected ${BACKENDS_ADMIN_PATH}/<recordName>/<setIdentifier>, got ${path}`,
        });
      }
      const [recordName, setIdentifier] = parts as [string, string];
      const plane = byRecord.get(recordKey(recordName));
      if (!plane) {
        return sendAdmin(res, 404, {
          message: `no data plane for record ${recordName}; known: ${planes.map((known) => known.recordName).join(", ") || "none"}`,
        });
      }
      const backend = plane.backends.get(setIdentifier);
      if (!backend) {
        return sendAdmin(res, 404, {
          message: `record ${plane.recordName} has no backend ${setIdentifier}; known: ${[...plane.backends.keys()].join(", ")}`,
        });
      }
      if (req.method === "GET") return sendAdmin(res, 200, describe(plane, backend, now));
      if (req.method === "DELETE") {
        backend.behaviour.reset();
        return sendAdmin(res, 200, describe(plane, backend, now));
      }
      if (req.method !== "PUT")
        return sendAdmin(res, 405, { message: "use GET, PUT or DELETE on a backend" });
      try {
        const patch = readBehaviourPatch(parseJson(body), "body", backend.kind);
        backend.behaviour.apply(patch, now);
      } catch (error) {
        if (error instanceof BehaviourError) return sendAdmin(res, 400, { message: error.message });
        throw error;
      }
      return sendAdmin(res, 200, describe(plane, backend, now));
    },
  };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new BehaviourError(`body: not valid JSON (${(error as Error).message})`);
  }
}

function isoOrNull(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

function sendAdmin(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}
