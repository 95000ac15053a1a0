/**
 * Metric presets for the reference case, resolved against the telemetry of
 * the side being judged, and custom metrics as the spec writes them. Each
 * resolves to a {@link MetricDefinition}: the statistics to fetch and, where a
 * ratio or a unit conversion is needed, the metric math over them.
 */
import type {
  CustomMetric,
  GateMetricSpec,
  LambdaTargetSpec,
  MetricPreset,
  TargetSpec,
} from "../../model/spec.js";
import { expressionReferences, isSupportedStat, type MetricStatSpec, QUERY_ID_PATTERN } from "./queries.js";

/** What a gate metric reads and how its value is computed. */
export interface MetricDefinition {
  /** Statistics by local id (ids are made unique per call later). */
  inputs: Record<string, MetricStatSpec>;
  /** Metric math over the local ids; absent when there is exactly one input, which is the value. */
  expression?: string;
  /** Unit of the value, for summaries: "fraction", "ms", "count", "connections used / allowed". */
  unit: string;
  /**
   * True when a missing datapoint means zero (CloudWatch publishes no 5xx or
   * throttle datapoint for a quiet minute). False when it means the metric
   * was not measured: a latency missing where requests were served is
   * missing evidence.
   */
  missingMeansZero: boolean;
  /** How the value is computed, in words, for the evidence. */
  description: string;
}

/**
 * The cold start metric. AWS/Lambda publishes none; cutover reads the
 * `ColdStart` count the function emits in Embedded Metric Format (as AWS
 * Lambda Powertools does), published with the function name and the alias as
 * `FunctionName` and `Resource`, like AWS/Lambda's own alias metrics.
 */
export const COLD_START_METRIC = {
  namespace: "Cutover/Lambda",
  metricName: "ColdStart",
} as const;

/** Where an error names a gate metric: `gates.<gate>.metrics[<i>]`. */
export interface MetricLocation {
  gate: string;
  index: number;
  /** Where the metric is when it is not in `gates.<gate>.metrics` (a compare check's metric). */
  path?: string;
}

/** A gate metric cannot be resolved against the side it judges; names the metric and what would work. */
export class MetricDefinitionError extends Error {
  constructor(location: MetricLocation, message: string) {
    super(`${location.path ?? `gates.${location.gate}.metrics[${location.index}]`}: ${message}`);
    this.name = "MetricDefinitionError";
  }
}

const statOf = (
  namespace: string,
  metricName: string,
  dimensions: Record<string, string>,
  stat: string,
): MetricStatSpec => ({ namespace, metricName, dimensions, stat });

const sum = (namespace: string, metricName: string, dimensions: Record<string, string>): MetricStatSpec =>
  statOf(namespace, metricName, dimensions, "Sum");

/** Ratio with missing numerator points filled with zero, and no datapoint where the denominator is zero. */
function ratio(numerator: string, denominator: string): string {
  return `IF(${denominator} > 0, FILL(${numerator}, 0) / ${denominator})`;
}

/** Request-facing metrics of a side: what its clients see. */
interface RequestMetrics {
  requests: MetricStatSpec;
  errors: MetricStatSpec;
  latency: (stat: string) => MetricStatSpec;
  /** Multiplier from the latency metric's unit to milliseconds. */
  latencyToMs: number;
  source: string;
}

function requestMetrics(side: TargetSpec): RequestMetrics {
  const telemetry = side.telemetry;
  switch (telemetry.kind) {
    case "apigateway-http": {
      const dims = { ApiId: telemetry.apiId, Stage: telemetry.stage };
      return {
        requests: sum("AWS/ApiGateway", "Count", dims),
        errors: sum("AWS/ApiGateway", "5xx", dims),
        latency: (stat) => statOf("AWS/ApiGateway", "Latency", dims, stat),
        latencyToMs: 1,
        source: `API Gateway HTTP API ${telemetry.apiId} stage ${telemetry.stage}`,
      };
    }
    case "apigateway-rest": {
      const dims = { ApiName: telemetry.apiName, Stage: telemetry.stage };
      return {
        requests: sum("AWS/ApiGateway", "Count", dims),
        errors: sum("AWS/ApiGateway", "5XXError", dims),
        latency: (stat) => statOf("AWS/ApiGateway", "Latency", dims, stat),
        latencyToMs: 1,
        source: `API Gateway REST API ${telemetry.apiName} stage ${telemetry.stage}`,
      };
    }
    case "alb": {
      const dims = { LoadBalancer: telemetry.loadBalancer, TargetGroup: telemetry.targetGroup };
      return {
        requests: sum("AWS/ApplicationELB", "RequestCount", dims),
        errors: sum("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims),
        // TargetResponseTime is published in seconds.
        latency: (stat) => ({
          namespace: "AWS/ApplicationELB",
          metricName: "TargetResponseTime",
          dimensions: dims,
          stat,
        }),
        latencyToMs: 1000,
        source: `ALB ${telemetry.loadBalancer} target group ${telemetry.targetGroup}`,
      };
    }
    default:
      throw new Error(
        `telemetry.kind ${JSON.stringify((telemetry as { kind?: unknown }).kind)} is not known`,
      );
  }
}

/** The statistic that counts the requests a side served, for sample counts and `countRequests`. */
export function requestCountStat(side: TargetSpec): MetricStatSpec {
  return requestMetrics(side).requests;
}

function lambdaDimensions(side: LambdaTargetSpec): Record<string, string> {
  return { FunctionName: side.functionName, Resource: `${side.functionName}:${side.alias}` };
}

function latencyDefinition(side: TargetSpec, stat: string): MetricDefinition {
  const metrics = requestMetrics(side);
  if (metrics.latencyToMs === 1) {
    return {
      inputs: { latency: metrics.latency(stat) },
      unit: "ms",
      missingMeansZero: false,
      description: `${stat} of ${metrics.latency(stat).metricName} of ${metrics.source}`,
    };
  }
  return {
    inputs: { latency: metrics.latency(stat) },
    expression: `latency * ${metrics.latencyToMs}`,
    unit: "ms",
    missingMeansZero: false,
    description: `${stat} of ${metrics.latency(stat).metricName} of ${metrics.source}, seconds × ${metrics.latencyToMs}`,
  };
}

function requireLambda(side: TargetSpec, preset: MetricPreset, location: MetricLocation, sideName: string) {
  if (side.kind !== "lambda") {
    throw new MetricDefinitionError(
      location,
      `preset "${preset}" reads AWS/Lambda metrics, but the ${sideName} side is ${side.kind}; judge a lambda side or write a custom metric`,
    );
  }
  return side;
}

/** Resolves a preset against the side it judges. */
export function presetDefinition(
  preset: MetricPreset,
  side: TargetSpec,
  sideName: "new" | "old",
  location: MetricLocation,
): MetricDefinition {
  switch (preset) {
    case "error-rate": {
      const metrics = requestMetrics(side);
      return {
        inputs: { errors: metrics.errors, requests: metrics.requests },
        expression: ratio("errors", "requests"),
        unit: "fraction",
        missingMeansZero: true,
        description: `${metrics.errors.metricName} / ${metrics.requests.metricName} of ${metrics.source}`,
      };
    }
    case "latency-p50":
      return latencyDefinition(side, "p50");
    case "latency-p95":
      return latencyDefinition(side, "p95");
    case "latency-p99":
      return latencyDefinition(side, "p99");
    case "request-count": {
      const metrics = requestMetrics(side);
      return {
        inputs: { requests: metrics.requests },
        unit: "count",
        missingMeansZero: true,
        description: `${metrics.requests.metricName} of ${metrics.source}`,
      };
    }
    case "throttles": {
      const lambda = requireLambda(side, preset, location, sideName);
      return {
        inputs: { throttles: sum("AWS/Lambda", "Throttles", lambdaDimensions(lambda)) },
        unit: "count",
        missingMeansZero: true,
        description: `Throttles of ${lambda.functionName}:${lambda.alias}`,
      };
    }
    case "concurrency": {
      const lambda = requireLambda(side, preset, location, sideName);
      return {
        inputs: {
          concurrency: statOf("AWS/Lambda", "ConcurrentExecutions", lambdaDimensions(lambda), "Maximum"),
        },
        unit: "executions",
        missingMeansZero: false,
        description: `Maximum ConcurrentExecutions of ${lambda.functionName}:${lambda.alias}`,
      };
    }
    case "cold-starts": {
      const lambda = requireLambda(side, preset, location, sideName);
      const dims = lambdaDimensions(lambda);
      return {
        inputs: {
          cold: sum(COLD_START_METRIC.namespace, COLD_START_METRIC.metricName, dims),
          invocations: sum("AWS/Lambda", "Invocations", dims),
        },
        expression: ratio("cold", "invocations"),
        unit: "fraction",
        missingMeansZero: true,
        description: `${COLD_START_METRIC.namespace} ${COLD_START_METRIC.metricName} / AWS/Lambda Invocations of ${lambda.functionName}:${lambda.alias}`,
      };
    }
    case "lambda-error-rate": {
      // The function's own errors, whatever the API in front of it answered.
      const lambda = requireLambda(side, preset, location, sideName);
      const dims = lambdaDimensions(lambda);
      return {
        inputs: {
          errors: sum("AWS/Lambda", "Errors", dims),
          invocations: sum("AWS/Lambda", "Invocations", dims),
        },
        expression: ratio("errors", "invocations"),
        unit: "fraction",
        missingMeansZero: true,
        description: `AWS/Lambda Errors / Invocations of ${lambda.functionName}:${lambda.alias}`,
      };
    }
    case "lambda-duration-p95": {
      const lambda = requireLambda(side, preset, location, sideName);
      return {
        inputs: {
          duration: statOf("AWS/Lambda", "Duration", lambdaDimensions(lambda), "p95"),
        },
        unit: "ms",
        missingMeansZero: false,
        description: `p95 of AWS/Lambda Duration of ${lambda.functionName}:${lambda.alias}`,
      };
    }
    case "db-connection-pool": {
      const lambda = requireLambda(side, preset, location, sideName);
      if (!lambda.rdsProxy) {
        throw new MetricDefinitionError(
          location,
          `preset "db-connection-pool" needs ${sideName}Side.rdsProxy (the RDS Proxy name); it is not set`,
        );
      }
      const dims = { ProxyName: lambda.rdsProxy };
      return {
        inputs: {
          connections: statOf("AWS/RDS", "DatabaseConnections", dims, "Maximum"),
          allowed: statOf("AWS/RDS", "MaxDatabaseConnectionsAllowed", dims, "Maximum"),
        },
        expression: "IF(allowed > 0, connections / allowed)",
        unit: "fraction of pool",
        missingMeansZero: false,
        description: `Maximum DatabaseConnections / MaxDatabaseConnectionsAllowed of RDS Proxy ${lambda.rdsProxy}`,
      };
    }
    default:
      throw new MetricDefinitionError(location, `metric ${JSON.stringify(preset)} is not a known preset`);
  }
}

/** Checks a custom metric and turns it into a definition. */
export function customDefinition(custom: CustomMetric, location: MetricLocation): MetricDefinition {
  const ids = Object.keys(custom.queries ?? {});
  if (ids.length === 0)
    throw new MetricDefinitionError(location, "metric.queries is empty; give at least one query");
  for (const id of ids) {
    if (!QUERY_ID_PATTERN.test(id)) {
      throw new MetricDefinitionError(
        location,
        `metric.queries.${id}: ids start with a lowercase letter and hold only letters, digits and underscores`,
      );
    }
    const query = custom.queries[id]!;
    if (!isSupportedStat(query.stat)) {
      throw new MetricDefinitionError(
        location,
        `metric.queries.${id}.stat "${query.stat}" is not one of Sum, Average, SampleCount, Minimum, Maximum, pNN`,
      );
    }
  }
  if (custom.expression === undefined && ids.length !== 1) {
    throw new MetricDefinitionError(
      location,
      `metric has ${ids.length} queries and no expression; add metric.expression`,
    );
  }
  if (custom.expression !== undefined) {
    const unknown = expressionReferences(custom.expression).filter((id) => !ids.includes(id));
    if (unknown.length > 0) {
      throw new MetricDefinitionError(
        location,
        `metric.expression refers to ${unknown.map((id) => `"${id}"`).join(", ")}, which metric.queries does not define (it defines ${ids.join(", ")})`,
      );
    }
  }
  const countLike = ids.every((id) => ["Sum", "SampleCount"].includes(custom.queries[id]!.stat));
  return {
    inputs: Object.fromEntries(
      ids.map((id) => {
        const query = custom.queries[id]!;
        return [
          id,
          {
            namespace: query.namespace,
            metricName: query.metricName,
            dimensions: { ...query.dimensions },
            stat: query.stat,
          },
        ];
      }),
    ),
    ...(custom.expression !== undefined ? { expression: custom.expression } : {}),
    unit: "as queried",
    missingMeansZero: custom.expression === undefined && countLike,
    description:
      custom.expression ?? `${custom.queries[ids[0]!]!.stat} of ${custom.queries[ids[0]!]!.metricName}`,
  };
}

/** Resolves one gate metric against the side it judges. */
export function metricDefinition(
  metric: GateMetricSpec,
  side: TargetSpec,
  location: MetricLocation,
): MetricDefinition {
  const sideName = metric.side ?? "new";
  return typeof metric.metric === "string"
    ? presetDefinition(metric.metric, side, sideName, location)
    : customDefinition(metric.metric, location);
}
