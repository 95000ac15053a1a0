/**
 * The two kinds of backend a weighted record points at: an ECS service
 * behind an Application Load Balancer, and a Lambda alias behind an API
 * Gateway HTTP API. Each decides, per request, whether and how slowly it
 * answers, and publishes what it served in the namespaces and dimensions AWS
 * uses.
 */
import type { CounterGroup, MetricRecorder, RawGroup } from "./dataplane-metrics.js";
import { normal, type Random } from "./random.js";
import type { BackendBehaviour, EcsView, LambdaView, SandboxSeed } from "./types.js";

type BackendSeeds = NonNullable<SandboxSeed["dataPlane"]>[number]["backends"];
/** One backend entry of a seed's data plane. */
export type BackendSeed = BackendSeeds[string];
export type EcsBackendSeed = Extract<BackendSeed, { kind: "ecs" }>;
export type LambdaBackendSeed = Extract<BackendSeed, { kind: "lambda" }>;

export const DEFAULT_ECS_BEHAVIOUR: BackendBehaviour = { latencyMs: 20, jitter: 0.3, errorRate: 0 };
export const DEFAULT_LAMBDA_BEHAVIOUR: BackendBehaviour = {
  latencyMs: 25,
  jitter: 0.3,
  errorRate: 0,
  coldStartMs: 250,
  idleTimeoutMs: 300_000,
};
/** Requests per second one ECS task serves before requests queue. */
export const DEFAULT_PER_TASK_RPS = 200;
/** AWS's default account concurrency, used when a Lambda backend declares no reserved concurrency. */
export const DEFAULT_LAMBDA_CONCURRENCY = 1000;
/** A request that would wait longer than this for an ECS task is refused with 503. */
const MAX_QUEUE_MS = 10_000;

/** The cold start metric: a count with the alias dimensions AWS/Lambda uses (see docs/sandbox-data-plane.md). */
export const COLD_START_NAMESPACE = "Cutover/Lambda";
export const COLD_START_METRIC = "ColdStart";

/** A behaviour change refused by validation; the message names the field and what is accepted. */
export class BehaviourError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BehaviourError";
  }
}

/** A validated admin change of behaviour. */
export interface BehaviourPatch {
  behaviour: Partial<BackendBehaviour>;
  /** The change reverts to the seed's behaviour after this long; permanent when absent. */
  durationMs?: number;
}

const BEHAVIOUR_FIELDS: Record<keyof BackendBehaviour, { min: number; max: number; lambdaOnly?: boolean }> = {
  latencyMs: { min: 0, max: 60_000 },
  jitter: { min: 0, max: 10 },
  errorRate: { min: 0, max: 1 },
  coldStartMs: { min: 0, max: 60_000, lambdaOnly: true },
  idleTimeoutMs: { min: 0, max: 24 * 3600_000, lambdaOnly: true },
};

/** Validates a (partial) behaviour from a seed or the admin API; `where` locates it in errors. */
export function readBehaviourPatch(value: unknown, where: string, kind: "ecs" | "lambda"): BehaviourPatch {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BehaviourError(
      `${where}: expected a JSON object such as {"latencyMs": 200, "errorRate": 0.05}`,
    );
  }
  const patch: BehaviourPatch = { behaviour: {} };
  for (const [name, field] of Object.entries(value)) {
    if (name === "durationMs") {
      if (typeof field !== "number" || !Number.isFinite(field) || field <= 0) {
        throw new BehaviourError(
          `${where}.durationMs: expected a positive number of milliseconds, got ${JSON.stringify(field)}`,
        );
      }
      patch.durationMs = field;
      continue;
    }
    const rule = BEHAVIOUR_FIELDS[name as keyof BackendBehaviour];
    if (!Object.hasOwn(BEHAVIOUR_FIELDS, name) || !rule) {
      throw new BehaviourError(
        `${where}.${name}: unknown field; accepted: ${[...Object.keys(BEHAVIOUR_FIELDS), "durationMs"].join(", ")}`,
      );
    }
    if (rule.lambdaOnly && kind !== "lambda") {
      throw new BehaviourError(
        `${where}.${name}: only Lambda backends have ${name}; this backend is ${kind}`,
      );
    }
    if (typeof field !== "number" || !Number.isFinite(field) || field < rule.min || field > rule.max) {
      throw new BehaviourError(
        `${where}.${name}: expected a number from ${rule.min} to ${rule.max}, got ${JSON.stringify(field)}`,
      );
    }
    patch.behaviour[name as keyof BackendBehaviour] = field;
  }
  return patch;
}

/** The seed's behaviour of a backend plus a runtime override that may expire. */
export class BehaviourSlot {
  private override: { behaviour: BackendBehaviour; expiresAt?: number } | undefined;

  constructor(readonly seeded: BackendBehaviour) {}

  current(now: number): BackendBehaviour {
    if (this.override?.expiresAt !== undefined && this.override.expiresAt <= now) this.override = undefined;
    return this.override?.behaviour ?? this.seeded;
  }

  /** Merges the patch onto the behaviour in force; with a duration, all overrides end together when it runs out. */
  apply(patch: BehaviourPatch, now: number): void {
    const expiresAt = patch.durationMs === undefined ? undefined : now + patch.durationMs;
    this.override = { behaviour: { ...this.current(now), ...patch.behaviour }, expiresAt };
  }

  reset(): void {
    this.override = undefined;
  }

  /** Epoch ms at which the override ends, if it is bounded. */
  overrideExpiresAt(now: number): number | undefined {
    this.current(now);
    return this.override?.expiresAt;
  }
}

/** What a backend does with one request. */
export interface ServeOutcome {
  status: number;
  /** Milliseconds the backend takes before answering. */
  delayMs: number;
  /** Lambda version that ran, when one did. */
  version?: string;
  /** Message of an error response. */
  error?: string;
  /** Publishes the request's metrics once the answer goes out, with the latency actually measured (ms). */
  complete(latencyMs: number, now: number): void;
}

/** A backend a weighted record points at. */
export interface Backend {
  readonly setIdentifier: string;
  readonly kind: "ecs" | "lambda";
  readonly behaviour: BehaviourSlot;
  serve(now: number): ServeOutcome;
  /** State worth showing in the admin API. */
  describe(now: number): Record<string, unknown>;
}

/** Draws a latency log-normally around the median: p95 ≈ median × (1 + 1.6 × jitter). */
export function drawLatency(behaviour: BackendBehaviour, random: Random): number {
  if (behaviour.latencyMs <= 0) return 0;
  if (behaviour.jitter <= 0) return behaviour.latencyMs;
  const sigma = Math.log(1 + 1.6 * behaviour.jitter) / 1.645;
  return behaviour.latencyMs * Math.exp(sigma * normal(random));
}

/** An ECS service behind an ALB target group: serves while tasks run, up to runningCount × perTaskRps. */
export class EcsBackend implements Backend {
  readonly kind = "ecs";
  readonly behaviour: BehaviourSlot;
  private backlogUntil = 0;
  private readonly requests: CounterGroup;
  private readonly target2xx: CounterGroup;
  private readonly target5xx: CounterGroup;
  private readonly elb5xx: CounterGroup;
  private readonly elb503: CounterGroup;
  private readonly responseTime: RawGroup;

  constructor(
    readonly setIdentifier: string,
    private readonly seed: EcsBackendSeed,
    private readonly ecs: EcsView,
    metrics: MetricRecorder,
    private readonly random: Random,
  ) {
    const where = `backends.${setIdentifier}.behaviour`;
    this.behaviour = new BehaviourSlot({
      ...DEFAULT_ECS_BEHAVIOUR,
      ...readBehaviourPatch(seed.behaviour ?? {}, where, "ecs").behaviour,
    });
    const lb = { LoadBalancer: seed.loadBalancer };
    const tg = { TargetGroup: seed.targetGroup, LoadBalancer: seed.loadBalancer };
    const ns = "AWS/ApplicationELB";
    this.requests = metrics.counter(ns, "RequestCount", [lb, tg]);
    this.target2xx = metrics.counter(ns, "HTTPCode_Target_2XX_Count", [lb, tg]);
    this.target5xx = metrics.counter(ns, "HTTPCode_Target_5XX_Count", [lb, tg]);
    this.elb5xx = metrics.counter(ns, "HTTPCode_ELB_5XX_Count", [lb]);
    this.elb503 = metrics.counter(ns, "HTTPCode_ELB_503_Count", [lb]);
    this.responseTime = metrics.raw(ns, "TargetResponseTime", [lb, tg], "Seconds");
  }

  serve(now: number): ServeOutcome {
    const service = this.ecs.service(this.seed.cluster, this.seed.service);
    const running = service && service.status === "ACTIVE" ? service.runningCount : 0;
    if (running <= 0) {
      // No healthy target: the load balancer answers itself, and RequestCount does not move (AWS counts only routed requests).
      return {
        status: 503,
        delayMs: 0,
        error: `no running task in ECS service ${this.seed.cluster}/${this.seed.service}`,
        complete: (_latency, at) => {
          this.elb5xx.add(at);
          this.elb503.add(at);
        },
      };
    }
    const queueMs = this.enqueue(now, running * (this.seed.perTaskRps ?? DEFAULT_PER_TASK_RPS));
    const behaviour = this.behaviour.current(now);
    const failed = queueMs === undefined || this.random() < behaviour.errorRate;
    const delayMs = (queueMs ?? 0) + drawLatency(behaviour, this.random);
    return {
      status: failed ? (queueMs === undefined ? 503 : 500) : 200,
      delayMs,
      error: failed
        ? queueMs === undefined
          ? "every task is saturated"
          : "the task failed the request"
        : undefined,
      complete: (latencyMs, at) => {
        this.requests.add(at);
        (failed ? this.target5xx : this.target2xx).add(at);
        this.responseTime.put(at, latencyMs / 1000);
      },
    };
  }

  /** Queueing delay for a request at `capacityRps`; a second's worth of burst is absorbed. Undefined when saturated. */
  private enqueue(now: number, capacityRps: number): number | undefined {
    const slotMs = 1000 / capacityRps;
    const backlogUntil = Math.max(this.backlogUntil, now) + slotMs;
    const queueMs = Math.max(0, backlogUntil - now - 1000);
    if (queueMs > MAX_QUEUE_MS) return undefined;
    this.backlogUntil = backlogUntil;
    return queueMs;
  }

  describe(): Record<string, unknown> {
    const service = this.ecs.service(this.seed.cluster, this.seed.service);
    return {
      cluster: this.seed.cluster,
      service: this.seed.service,
      status: service?.status ?? "MISSING",
      runningCount: service?.runningCount ?? 0,
      perTaskRps: this.seed.perTaskRps ?? DEFAULT_PER_TASK_RPS,
    };
  }
}

/** Warm execution environments of one Lambda version, most recently used on top. */
class EnvironmentPool {
  private readonly idle: number[] = [];
  busy = 0;

  /** Takes a warm environment if one has been idle less than `idleTimeoutMs`; false means a cold start. */
  acquire(now: number, idleTimeoutMs: number): boolean {
    this.busy++;
    const lastUsed = this.idle.pop();
    if (lastUsed === undefined) return false;
    if (now - lastUsed > idleTimeoutMs) {
      // The stack is ordered by last use, so everything below is older still and has gone cold too.
      this.idle.length = 0;
      return false;
    }
    return true;
  }

  release(now: number): void {
    this.busy--;
    this.idle.push(now);
  }

  get warm(): number {
    return this.idle.length;
  }
}

interface VersionMetrics {
  invocations: CounterGroup;
  errors: CounterGroup;
  duration: RawGroup;
  coldStarts: CounterGroup;
  initDuration: RawGroup;
}

/** A Lambda alias behind an API Gateway HTTP API stage, splitting invocations across versions by the alias weights. */
export class LambdaBackend implements Backend {
  readonly kind = "lambda";
  readonly behaviour: BehaviourSlot;
  private readonly pools = new Map<string, EnvironmentPool>();
  private readonly versionMetrics = new Map<string, VersionMetrics>();
  private concurrency = 0;
  private readonly api: { count: CounterGroup; e4xx: CounterGroup; e5xx: CounterGroup; latency: RawGroup };
  private readonly throttles: CounterGroup;
  private readonly concurrent: CounterGroup;
  private readonly resource: string;

  constructor(
    readonly setIdentifier: string,
    private readonly seed: LambdaBackendSeed,
    private readonly lambda: LambdaView,
    private readonly metrics: MetricRecorder,
    private readonly random: Random,
  ) {
    const where = `backends.${setIdentifier}.behaviour`;
    this.behaviour = new BehaviourSlot({
      ...DEFAULT_LAMBDA_BEHAVIOUR,
      ...readBehaviourPatch(seed.behaviour ?? {}, where, "lambda").behaviour,
    });
    this.resource = `${seed.functionName}:${seed.alias}`;
    const apiDims: Array<Record<string, string>> = [
      { ApiId: seed.apiId },
      { ApiId: seed.apiId, Stage: seed.stage },
    ];
    this.api = {
      count: metrics.counter("AWS/ApiGateway", "Count", apiDims),
      e4xx: metrics.counter("AWS/ApiGateway", "4xx", apiDims),
      e5xx: metrics.counter("AWS/ApiGateway", "5xx", apiDims),
      latency: metrics.raw("AWS/ApiGateway", "Latency", apiDims, "Milliseconds"),
    };
    const fnDims: Array<Record<string, string>> = [
      { FunctionName: seed.functionName },
      { FunctionName: seed.functionName, Resource: this.resource },
    ];
    this.throttles = metrics.counter("AWS/Lambda", "Throttles", fnDims);
    this.concurrent = metrics.counter("AWS/Lambda", "ConcurrentExecutions", fnDims, "Count", "max");
  }

  serve(now: number): ServeOutcome {
    const alias = this.lambda.alias(this.seed.functionName, this.seed.alias);
    const state = this.lambda.functionState(this.seed.functionName);
    if (!alias || state !== "Active") {
      const reason = alias
        ? `function ${this.seed.functionName} is ${state ?? "missing"}`
        : `alias ${this.resource} does not exist`;
      return this.gatewayFailure(500, reason);
    }
    // What PutFunctionConcurrency reserved wins over the seed's figure; 0 throttles every request.
    const limit =
      this.lambda.reservedConcurrency?.(this.seed.functionName) ??
      this.seed.reservedConcurrency ??
      DEFAULT_LAMBDA_CONCURRENCY;
    if (this.concurrency >= limit) {
      return this.gatewayFailure(500, `function ${this.resource} is throttled`, (at) =>
        this.throttles.add(at),
      );
    }
    const version = this.pickVersion(alias.functionVersion, alias.additionalVersionWeights);
    const behaviour = this.behaviour.current(now);
    const pool = this.pool(version);
    const warm = pool.acquire(now, behaviour.idleTimeoutMs ?? DEFAULT_LAMBDA_BEHAVIOUR.idleTimeoutMs!);
    this.concurrency++;
    this.concurrent.add(now, this.concurrency);
    const initMs = warm ? 0 : (behaviour.coldStartMs ?? 0);
    const durationMs = drawLatency(behaviour, this.random);
    const failed = this.random() < behaviour.errorRate;
    const metrics = this.metricsOf(version);
    return {
      // A function error reaches the client through API Gateway's Lambda proxy integration as 502.
      status: failed ? 502 : 200,
      delayMs: initMs + durationMs,
      version,
      error: failed ? `function ${this.resource} (version ${version}) failed` : undefined,
      complete: (latencyMs, at) => {
        pool.release(at);
        this.concurrency--;
        this.api.count.add(at);
        this.api.e4xx.add(at, 0);
        this.api.e5xx.add(at, failed ? 1 : 0);
        this.api.latency.put(at, latencyMs);
        metrics.invocations.add(at);
        metrics.errors.add(at, failed ? 1 : 0);
        metrics.duration.put(at, durationMs);
        if (!warm) {
          metrics.coldStarts.add(at);
          metrics.initDuration.put(at, initMs);
        }
      },
    };
  }

  describe(now: number): Record<string, unknown> {
    const alias = this.lambda.alias(this.seed.functionName, this.seed.alias);
    return {
      functionName: this.seed.functionName,
      alias: this.seed.alias,
      state: this.lambda.functionState(this.seed.functionName) ?? "MISSING",
      functionVersion: alias?.functionVersion,
      additionalVersionWeights: alias?.additionalVersionWeights ?? {},
      concurrency: this.concurrency,
      warmEnvironments: Object.fromEntries([...this.pools].map(([version, pool]) => [version, pool.warm])),
      checkedAt: new Date(now).toISOString(),
    };
  }

  private gatewayFailure(status: number, reason: string, extra?: (at: number) => void): ServeOutcome {
    return {
      status,
      delayMs: 0,
      error: reason,
      complete: (latencyMs, at) => {
        this.api.count.add(at);
        this.api.e4xx.add(at, 0);
        this.api.e5xx.add(at, 1);
        this.api.latency.put(at, latencyMs);
        extra?.(at);
      },
    };
  }

  private pickVersion(primary: string, additional: Record<string, number>): string {
    let point = this.random();
    for (const [version, weight] of Object.entries(additional)) {
      point -= weight;
      if (point < 0) return version;
    }
    return primary;
  }

  private pool(version: string): EnvironmentPool {
    let pool = this.pools.get(version);
    if (!pool) {
      pool = new EnvironmentPool();
      this.pools.set(version, pool);
    }
    return pool;
  }

  private metricsOf(version: string): VersionMetrics {
    let metrics = this.versionMetrics.get(version);
    if (!metrics) {
      const fn = this.seed.functionName;
      const dims: Array<Record<string, string>> = [
        { FunctionName: fn },
        { FunctionName: fn, Resource: this.resource },
        { FunctionName: fn, Resource: this.resource, ExecutedVersion: version },
      ];
      metrics = {
        invocations: this.metrics.counter("AWS/Lambda", "Invocations", dims),
        errors: this.metrics.counter("AWS/Lambda", "Errors", dims),
        duration: this.metrics.raw("AWS/Lambda", "Duration", dims, "Milliseconds"),
        coldStarts: this.metrics.counter(COLD_START_NAMESPACE, COLD_START_METRIC, [
          { FunctionName: fn, Resource: this.resource },
          { FunctionName: fn, Resource: this.resource, ExecutedVersion: version },
        ]),
        initDuration: this.metrics.raw(
          "LambdaInsights",
          "init_duration",
          [{ function_name: fn }, { function_name: fn, version }],
          "Milliseconds",
        ),
      };
      this.versionMetrics.set(version, metrics);
    }
    return metrics;
  }
}
