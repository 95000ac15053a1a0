/**
 * Turns a gate metric of the spec into the CloudWatch metric queries of an
 * alarm, for the side it judges. The queries mirror what the gate reads, so an
 * alarm fires on the same number the scheduled gate would judge; it only fires
 * sooner.
 */
import type { AlbTelemetry, GateMetricSpec, MetricPreset } from "../../src/model/spec.js";

/** One query of an alarm's metric math, in the shape of the alarm resource's `metric_query`. */
export interface AlarmQuery {
  id: string;
  expression?: string;
  label?: string;
  returnData: boolean;
  metric?: {
    namespace: string;
    metricName: string;
    dimensions: Record<string, string>;
    stat: string;
    period: number;
  };
}

/** Where each side publishes its metrics (resource ids may be Terraform references). */
export interface SideDimensions {
  /** The HTTP API in front of the new side. */
  apiGateway: { apiId: string; stage: string };
  /** The function and alias of the new side. */
  lambda: { functionName: string; alias: string };
  /** The load balancer in front of the old side. */
  alb: AlbTelemetry;
}

/** Either the alarm's queries, or why no alarm can express this metric. */
export type AlarmMetric = { queries: AlarmQuery[] } | { unsupported: string };

const LATENCY_PERCENTILES: Partial<Record<MetricPreset, string>> = {
  "latency-p50": "p50",
  "latency-p95": "p95",
  "latency-p99": "p99",
};

/** Builds the queries for one gate metric; the last query is the one the threshold applies to. */
export function alarmMetricFor(metric: GateMetricSpec, dims: SideDimensions, period: number): AlarmMetric {
  if (typeof metric.metric !== "string") return customQueries(metric.metric, period);
  const side = metric.side ?? "new";
  const preset = metric.metric;
  const percentile = LATENCY_PERCENTILES[preset];
  if (percentile)
    return side === "new" ? apiLatency(dims, percentile, period) : albLatency(dims, percentile, period);
  switch (preset) {
    case "error-rate":
      return side === "new" ? apiErrorRate(dims, period) : albErrorRate(dims, period);
    case "request-count":
      return side === "new"
        ? single("AWS/ApiGateway", "Count", apiDimensions(dims), "Sum", period)
        : single("AWS/ApplicationELB", "RequestCount", albDimensions(dims), "Sum", period);
    case "throttles":
      return side === "new"
        ? single("AWS/Lambda", "Throttles", lambdaAliasDimensions(dims), "Sum", period)
        : { unsupported: "throttles is a Lambda metric; the old side is an ECS service" };
    case "concurrency":
      return side === "new"
        ? single(
            "AWS/Lambda",
            "ConcurrentExecutions",
            { FunctionName: dims.lambda.functionName },
            "Maximum",
            period,
          )
        : { unsupported: "concurrency is a Lambda metric; the old side is an ECS service" };
    case "cold-starts":
      return {
        unsupported:
          "cold starts are counted from the function's init reports, not a CloudWatch metric an alarm can watch; the scheduled gate judges them",
      };
    case "lambda-error-rate":
      return side === "new"
        ? lambdaErrorRate(dims, period)
        : { unsupported: "lambda-error-rate is a Lambda metric; the old side is an ECS service" };
    case "lambda-duration-p95":
      return side === "new"
        ? single("AWS/Lambda", "Duration", lambdaAliasDimensions(dims), "p95", period)
        : { unsupported: "lambda-duration-p95 is a Lambda metric; the old side is an ECS service" };
    case "db-connection-pool":
      return {
        unsupported:
          "connection pool use is a ratio over RDS Proxy target-group metrics that the gate computes; the scheduled gate judges it",
      };
  }
  return { unsupported: `no alarm form for preset "${preset as string}"` };
}

function apiDimensions(dims: SideDimensions): Record<string, string> {
  return { ApiId: dims.apiGateway.apiId, Stage: dims.apiGateway.stage };
}

function albDimensions(dims: SideDimensions): Record<string, string> {
  return { LoadBalancer: dims.alb.loadBalancer, TargetGroup: dims.alb.targetGroup };
}

function lambdaAliasDimensions(dims: SideDimensions): Record<string, string> {
  return {
    FunctionName: dims.lambda.functionName,
    Resource: `${dims.lambda.functionName}:${dims.lambda.alias}`,
  };
}

function query(
  id: string,
  namespace: string,
  metricName: string,
  dimensions: Record<string, string>,
  stat: string,
  period: number,
): AlarmQuery {
  return { id, returnData: false, metric: { namespace, metricName, dimensions, stat, period } };
}

function single(
  namespace: string,
  metricName: string,
  dimensions: Record<string, string>,
  stat: string,
  period: number,
): AlarmMetric {
  return { queries: [{ ...query("m1", namespace, metricName, dimensions, stat, period), returnData: true }] };
}

/** Errors over requests; FILL turns a minute without errors into 0 instead of a gap. */
function errorRate(
  namespace: string,
  errors: string,
  requests: string,
  dimensions: Record<string, string>,
  period: number,
  label: string,
): AlarmMetric {
  return {
    queries: [
      query("errors", namespace, errors, dimensions, "Sum", period),
      query("requests", namespace, requests, dimensions, "Sum", period),
      { id: "error_rate", expression: "FILL(errors, 0) / requests", label, returnData: true },
    ],
  };
}

function apiErrorRate(dims: SideDimensions, period: number): AlarmMetric {
  return errorRate("AWS/ApiGateway", "5xx", "Count", apiDimensions(dims), period, "5xx / requests");
}

/** The function's own errors over its invocations. */
function lambdaErrorRate(dims: SideDimensions, period: number): AlarmMetric {
  const dimensions = lambdaAliasDimensions(dims);
  return errorRate("AWS/Lambda", "Errors", "Invocations", dimensions, period, "Lambda errors / invocations");
}

function albErrorRate(dims: SideDimensions, period: number): AlarmMetric {
  const dimensions = albDimensions(dims);
  return errorRate(
    "AWS/ApplicationELB",
    "HTTPCode_Target_5XX_Count",
    "RequestCount",
    dimensions,
    period,
    "target 5xx / requests",
  );
}

function apiLatency(dims: SideDimensions, percentile: string, period: number): AlarmMetric {
  return single("AWS/ApiGateway", "Latency", apiDimensions(dims), percentile, period);
}

/** TargetResponseTime is in seconds; the spec's thresholds are milliseconds, so convert the metric, not the threshold. */
function albLatency(dims: SideDimensions, percentile: string, period: number): AlarmMetric {
  return {
    queries: [
      query("seconds", "AWS/ApplicationELB", "TargetResponseTime", albDimensions(dims), percentile, period),
      { id: "latency_ms", expression: "seconds * 1000", label: `${percentile} ms`, returnData: true },
    ],
  };
}

function customQueries(metric: Exclude<GateMetricSpec["metric"], string>, period: number): AlarmMetric {
  const entries = Object.entries(metric.queries);
  if (metric.expression === undefined && entries.length !== 1) {
    return { unsupported: "a custom metric without an expression must have exactly one query" };
  }
  const queries = entries.map(([id, spec]) =>
    query(id, spec.namespace, spec.metricName, spec.dimensions, spec.stat, period),
  );
  if (metric.expression === undefined) return { queries: [{ ...queries[0]!, returnData: true }] };
  return { queries: [...queries, { id: "alarm_value", expression: metric.expression, returnData: true }] };
}
