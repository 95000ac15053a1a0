/**
 * The spec: what people want. `migrations.json` is edited by humans through
 * pull requests and read by every part of cutover; the pipeline never rewrites it.
 *
 * `migrations.schema.json` describes the same shape for editors; a test keeps the
 * two in agreement.
 */

/** Version of the spec format this code reads. */
export const SPEC_VERSION = 1 as const;

/** The whole `migrations.json` file. */
export interface MigrationsFile {
  $schema?: string;
  version: typeof SPEC_VERSION;
  migrations: Migration[];
}

/** One platform migration, moved through its phases in order. */
export interface Migration {
  /** Stable identifier: lowercase letters, digits and dashes; names the status file. */
  id: string;
  description: string;
  /** The phase people want applied: the name of one of `phases`. */
  phase: string;
  /**
   * An explicit, recorded exception to the promotion rules (promote a phase
   * that has not passed, or skip one). Removed by the next ordinary change.
   */
  override?: PromotionOverride;
  router: TrafficRouterSpec;
  /** The platform traffic moves away from. */
  oldSide: TargetSpec;
  /** The platform traffic moves to. */
  newSide: TargetSpec;
  /** Named gates that bake steps refer to. */
  gates: Record<string, GateSpec>;
  /** Ordered phases; each one must pass before the next is applied. */
  phases: PhaseSpec[];
  /** Expected cost of the new side, checked by gates that include a cost check. */
  cost?: CostSpec;
  /** Where decisions about this migration are announced, besides GitHub. */
  notifications?: NotificationsSpec;
}

export interface PromotionOverride {
  /** Why the rules are bypassed; recorded in the status history. Required. */
  reason: string;
  /** Who asked for it (a GitHub login or team). */
  requestedBy?: string;
}

// ---------------------------------------------------------------------------
// Traffic routers

/** How traffic is split between the two sides; each kind is one router (src/providers/traffic-routers.ts). */
export type TrafficRouterSpec = Route53RouterSpec | AlbRouterSpec;

export interface Route53RouterSpec {
  kind: "route53";
  hostedZoneId: string;
  /** Fully qualified record name, e.g. "api.example.com". */
  recordName: string;
  recordType: "A" | "AAAA" | "CNAME";
  /** SetIdentifier of the weighted record pointing at the old side. */
  oldSetIdentifier: string;
  /** SetIdentifier of the weighted record pointing at the new side. */
  newSetIdentifier: string;
}

/** An Application Load Balancer listener (its default action, or one rule) forwarding to two weighted target groups. */
export interface AlbRouterSpec {
  kind: "alb";
  /** ARN of the listener. */
  listenerArn: string;
  /** ARN of the listener rule whose forward action splits the traffic; absent: the listener's default action. */
  ruleArn?: string;
  /** ARN of the target group of the old side. */
  oldTargetGroupArn: string;
  /** ARN of the target group of the new side. */
  newTargetGroupArn: string;
}

// ---------------------------------------------------------------------------
// Compute targets and where their metrics live

export type TargetSpec = EcsTargetSpec | LambdaTargetSpec;

export interface EcsTargetSpec {
  kind: "ecs";
  cluster: string;
  service: string;
  /** Where the service's request metrics are published. */
  telemetry: AlbTelemetry;
}

export interface LambdaTargetSpec {
  kind: "lambda";
  functionName: string;
  /** The alias the router points at (through API Gateway). */
  alias: string;
  /** Where the function's request metrics are published. */
  telemetry: ApiGatewayHttpTelemetry | ApiGatewayRestTelemetry;
  /** RDS Proxy the function connects through, for connection pool metrics. */
  rdsProxy?: string;
}

/** Application Load Balancer in front of an ECS service (AWS/ApplicationELB). */
export interface AlbTelemetry {
  kind: "alb";
  /** Dimension value, e.g. "app/orders-api/50dc6c495c0c9188". */
  loadBalancer: string;
  /** Dimension value, e.g. "targetgroup/orders-api/73e2d6bc24d8a067". */
  targetGroup: string;
}

/** API Gateway HTTP API (AWS/ApiGateway with ApiId and Stage). */
export interface ApiGatewayHttpTelemetry {
  kind: "apigateway-http";
  apiId: string;
  stage: string;
}

/** API Gateway REST API (AWS/ApiGateway with ApiName and Stage). */
export interface ApiGatewayRestTelemetry {
  kind: "apigateway-rest";
  apiName: string;
  stage: string;
}

// ---------------------------------------------------------------------------
// Gates

/** A named set of metric checks evaluated over a window. */
export interface GateSpec {
  /** Aggregation period of each datapoint, e.g. "1m" (or "1s", "5s", "10s", "30s" for high resolution). */
  period: string;
  /** Fewer requests than this on the judged side over the window is "insufficient data", never a pass. */
  minSamples: number;
  metrics: GateMetricSpec[];
  /** Also check the new side's cost against `cost.projection`. */
  checkCost?: boolean;
  /** Statistical checks of the new side against the old side over the same window, beside the thresholds. */
  checks?: GateCheckSpec[];
}

/** A statistical check of a gate; one kind today. */
export type GateCheckSpec = CompareCheckSpec;

/**
 * The new side's per-period values against the old side's over the same
 * window, metric by metric (Mann-Whitney U), scored as a whole: each metric
 * is pass, marginal or fail, and the weighted share of passes must reach
 * `score.pass` (at or above `score.marginal` is marginal, below is a failure).
 */
export interface CompareCheckSpec {
  kind: "compare";
  method: "mann-whitney";
  /** Shown in the evidence and summaries, unique within the gate. */
  name: string;
  /** Confidence of each metric's test, inside (0, 1): 0.95 tests at alpha 0.05. */
  confidence: number;
  /** Fewest periods with a datapoint on each side; fewer is insufficient data. 10 when unset. */
  minPeriods?: number;
  /** Score thresholds, 0–100, pass ≥ marginal. */
  score: { pass: number; marginal: number };
  metrics: CompareMetricSpec[];
  /** Decisions before the bake ends; none unless asked. */
  early?: EarlyDecisionSpec;
}

export interface CompareMetricSpec {
  /** Unique within the check. */
  name: string;
  metric: MetricPreset | CustomMetric;
  /** Which way is worse for the new side. */
  direction: "higher-is-worse" | "higher-is-better";
  /**
   * How much worse the new side's median may be than the old side's, as a
   * fraction of the old (0.1: 10 % worse) before a significant difference fails.
   */
  allowedChange: number;
  /** Weight in the score; 1 when unset. */
  weight?: number;
  /** A failure of a critical metric fails the check whatever the score. */
  critical?: boolean;
}

/**
 * Decisions before the bake ends, at an error rate that stays the check's
 * alpha over all the monitor's looks (alpha spending, see docs/judge.md).
 */
export interface EarlyDecisionSpec {
  /** Roll back at once on a clear failure. */
  rollback?: boolean;
  /** Let a clear pass complete the bake, but never before this much of it has elapsed (e.g. "24h"). */
  passAfter?: string;
  /** How alpha is spent over the looks; "obrien-fleming" when unset. */
  spending?: "obrien-fleming" | "pocock";
}

/**
 * One metric of a gate. `metric` is either a preset name resolved against the
 * judged side's telemetry, or a custom query.
 */
export interface GateMetricSpec {
  /** Name shown in the evidence and summaries, unique within the gate. */
  name: string;
  metric: MetricPreset | CustomMetric;
  /** Which side is judged; the new side unless stated. */
  side?: "new" | "old";
  /** Inside this the metric passes. */
  pass: Threshold;
  /** Outside this the migration is rolled back at once. On the far side of `pass`. */
  rollback?: Threshold;
  /** Optional comparison of the new side against the old side over the same window. */
  compareToOld?: Comparison;
}

/**
 * Presets for the reference case. Rates are fractions (0.01 = 1 %), latencies
 * milliseconds, whatever unit the underlying metric uses.
 */
export type MetricPreset =
  | "error-rate"
  | "latency-p50"
  | "latency-p95"
  | "latency-p99"
  | "request-count"
  | "throttles"
  | "concurrency"
  | "cold-starts"
  | "db-connection-pool"
  | "lambda-error-rate"
  | "lambda-duration-p95";

export const METRIC_PRESETS: readonly MetricPreset[] = [
  "error-rate",
  "latency-p50",
  "latency-p95",
  "latency-p99",
  "request-count",
  "throttles",
  "concurrency",
  "cold-starts",
  "db-connection-pool",
  "lambda-error-rate",
  "lambda-duration-p95",
];

/** A metric the presets do not cover: CloudWatch queries and an optional expression over them. */
export interface CustomMetric {
  /** Queries by id (lowercase start, as CloudWatch requires). */
  queries: Record<string, CustomMetricQuery>;
  /** Metric math over the query ids; when absent there must be exactly one query. */
  expression?: string;
}

export interface CustomMetricQuery {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  /** Sum, Average, SampleCount, Minimum, Maximum or pNN(.N). */
  stat: string;
}

/** A bound on a value: at most `max`, or at least `min` (or both). */
export interface Threshold {
  max?: number;
  min?: number;
}

/** How far the new side may be from the old side over the same window. */
export interface Comparison {
  /** new ≤ old + maxIncrease (in the metric's unit, e.g. 0.005 for half a point of error rate). */
  maxIncrease?: number;
  /** new ≤ old × maxRatio (e.g. 1.2 for p95 at most 20 % slower). */
  maxRatio?: number;
}

// ---------------------------------------------------------------------------
// Phases and steps

export interface PhaseSpec {
  /** Unique within the migration, e.g. "staging", "canary-10". */
  name: string;
  /** GitHub environment whose required reviewers approve this phase. */
  environment: string;
  steps: StepSpec[];
}

/** Exactly one kind per step; the compiler enforces it. */
export type StepSpec = DeployStep | LoadTestStep | ShiftStep | BakeStep | DecommissionStep;

export type StepKind = StepSpec["kind"];

/** Deploys an artifact to one side. The artifact itself comes from the workflow (input). */
export interface DeployStep {
  kind: "deploy";
  side: "new" | "old";
}

export interface LoadTestStep {
  kind: "load-test";
  /** Artillery scenario file, relative to the repository root (under `load-tests/`). */
  scenario: string;
  /** Base URL to test; defaults to the workflow's target URL input. */
  target?: string;
  thresholds: LoadTestThresholds;
}

export interface LoadTestThresholds {
  /** Milliseconds. */
  p95Ms?: number;
  p99Ms?: number;
  /** Fraction of requests that may fail (non-2xx/3xx or transport error); 0.01 when unset. */
  maxErrorRate?: number;
  /** Achieved arrival rate as a fraction of the requested rate (a saturated generator fails). */
  minRateRatio?: number;
}

/** Moves the new side's weight to `weight` percent (the old side gets the rest). */
export interface ShiftStep {
  kind: "shift";
  weight: number;
}

/** Holds the phase for `duration` while `gate` is evaluated. */
export interface BakeStep {
  kind: "bake";
  duration: string;
  gate: string;
}

/** Retires the old side: scale to zero, hold, then delete. Only in the last phase. */
export interface DecommissionStep {
  kind: "decommission";
  /** How long the old side stays scaled to zero (recoverable) before deletion. */
  hold: string;
  /** Window before scale-down (and delete) over which the old side must have served no requests. */
  quietWindow?: string;
  /** Deregister the service's task definitions after deletion. */
  deregisterTaskDefinitions?: boolean;
}

// ---------------------------------------------------------------------------
// Cost

export interface CostSpec {
  /** Expected cost of the new side per 30-day month at full traffic, in USD. */
  monthlyProjectionUsd: number;
  /** A breach when the estimate exceeds the projection (scaled to the window and weight) by more than this fraction. */
  tolerance: number;
  prices: {
    lambdaPerMillionRequests?: number;
    lambdaPerGbSecond?: number;
    ecsPerTaskHour?: number;
  };
  /** Lambda memory in MB, for GB-seconds. */
  lambdaMemoryMb?: number;
}

// ---------------------------------------------------------------------------
// Notifications

/** Events a notification sink can be sent. */
export type NotificationEventName =
  | "phase-started"
  | "shift-applied"
  | "gate-verdict"
  | "rollback-started"
  | "rollback-completed"
  | "decommission-scaled-down"
  | "decommission-deleted"
  | "drift-detected"
  | "waiting-for-approval";

export const NOTIFICATION_EVENT_NAMES: readonly NotificationEventName[] = [
  "phase-started",
  "shift-applied",
  "gate-verdict",
  "rollback-started",
  "rollback-completed",
  "decommission-scaled-down",
  "decommission-deleted",
  "drift-detected",
  "waiting-for-approval",
];

/** Who rolled back: a workflow, the guardian Lambda, or someone with the CLI. */
export type RollbackOrigin = "workflow" | "guardian" | "cli";

/** The sinks decisions are sent to; each one filters the events it receives. */
export interface NotificationsSpec {
  sinks: NotificationSinkSpec[];
}

export type NotificationSinkSpec = SlackSinkSpec | WebhookSinkSpec | SnsSinkSpec;

/**
 * Names a value kept outside the spec, never the value itself: exactly one of
 * a secret handed to the action in its notification-secrets input, or an
 * environment variable of the runner (or of the guardian Lambda).
 */
export interface SecretReference {
  secret?: string;
  env?: string;
}

/** Which events a sink receives; all of them when `events` is absent. */
export interface NotificationFilter {
  events?: NotificationEventName[];
  /** gate-verdict: only these verdicts (all when absent). */
  verdicts?: ("pass" | "fail" | "rollback" | "insufficient-data")[];
  /** rollback-started and rollback-completed: only rollbacks from these origins (all when absent). */
  rollbackOrigins?: RollbackOrigin[];
}

/** Unique within the migration: lowercase letters, digits and dashes; names the sink in logs and the status history. */
export type SinkName = string;

/** A Slack incoming webhook; its URL is a secret. */
export interface SlackSinkSpec {
  kind: "slack";
  name: SinkName;
  webhookUrl: SecretReference;
  filter?: NotificationFilter;
}

/** An HTTPS endpoint receiving CloudEvents, signed with HMAC-SHA256. */
export interface WebhookSinkSpec {
  kind: "webhook";
  name: SinkName;
  url: SecretReference;
  /** Key of the HMAC-SHA256 signature the receiver checks. */
  signingSecret: SecretReference;
  filter?: NotificationFilter;
}

/** An SNS topic receiving CloudEvents. */
export interface SnsSinkSpec {
  kind: "sns";
  name: SinkName;
  /** arn:aws:sns:<region>:<account>:<topic>; the region comes from the ARN. */
  topicArn: string;
  filter?: NotificationFilter;
}
