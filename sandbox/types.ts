/**
 * Contracts between the parts of the sandbox: the control-plane services
 * (Route 53, ECS, Lambda, CloudWatch, EventBridge, SQS), the data plane that carries real HTTP
 * traffic, and the HTTP server that hosts them all on loopback.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ElbV2Seed } from "./elbv2.js";

/** One service (or admin surface) mounted on the sandbox's control-plane server. */
export interface ServiceHandler {
  /** Short name used in logs and fault targeting, e.g. "route53". */
  readonly name: string;
  /** True when this handler owns the request (by path or X-Amz-Target). */
  matches(req: IncomingMessage): boolean;
  /** Answers the request; `body` is the complete request body. */
  handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void>;
  /**
   * The AWS operation a request calls, for fault targeting and request counts;
   * undefined when the service does not serve it. Optional: without it the
   * server takes the operation from X-Amz-Target (the JSON protocols).
   */
  operationOf?(req: IncomingMessage, body?: Buffer): string | undefined;
  /**
   * Optional: called when a request's headers arrive, before its body is read, for a service whose
   * answer depends on what happened while the request was in flight.
   */
  requestStarted?(req: IncomingMessage, res: ServerResponse): void;
}

/** A weighted record as the data plane's simulated resolvers see it. */
export interface WeightedAnswer {
  setIdentifier: string;
  weight: number;
  ttl: number;
}

/** Read-only view of Route 53 state the data plane resolves through. */
export interface RecordView {
  /** Weighted records of `recordName` (any of A/AAAA/CNAME), empty when none. */
  weightedAnswers(recordName: string): WeightedAnswer[];
}

/** What the data plane asks an ALB: the target group a request goes to now. */
export interface ListenerView {
  /** The target group name, or undefined when the listener forwards nowhere for this path. */
  route(loadBalancerName: string, port: number, path: string, random: number): string | undefined;
}

/** Read-only view of an ECS service the data plane serves from. */
export interface EcsServiceView {
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  desiredCount: number;
  runningCount: number;
}

export interface EcsView {
  service(cluster: string, service: string): EcsServiceView | undefined;
}

/** Read-only view of a Lambda alias the data plane invokes. */
export interface LambdaAliasView {
  functionVersion: string;
  /** Additional version and its weight (0..1), as in the alias RoutingConfig. */
  additionalVersionWeights: Record<string, number>;
}

export interface LambdaView {
  /** Undefined when the function or alias does not exist. */
  alias(functionName: string, alias: string): LambdaAliasView | undefined;
  /** The function's reserved concurrency (PutFunctionConcurrency); undefined when it has none. */
  reservedConcurrency?(functionName: string): number | undefined;
  /** Function state, "Active" when it can be invoked. */
  functionState(functionName: string): "Pending" | "Active" | "Inactive" | "Failed" | undefined;
}

/** One metric sample as the data plane records it into the CloudWatch store. */
export interface MetricSample {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  /** Epoch milliseconds. */
  timestamp: number;
  value: number;
  unit?: string;
}

export interface MetricSink {
  put(sample: MetricSample): void;
}

/** Behaviour of a backend, changeable at runtime through the admin API. */
export interface BackendBehaviour {
  /** Median latency in ms. */
  latencyMs: number;
  /** Extra spread: latency is drawn log-normally around the median; p95 ≈ latencyMs * (1 + jitter * 1.6). */
  jitter: number;
  /** Fraction of requests answered 5xx, 0..1. */
  errorRate: number;
  /** Lambda only: added latency of a cold start, ms. */
  coldStartMs?: number;
  /** Lambda only: an execution environment idle this long (ms) goes cold. */
  idleTimeoutMs?: number;
}

/** The declared world, read from a seed file (JSON). */
export interface SandboxSeed {
  region?: string;
  accountId?: string;
  route53?: {
    hostedZones: Array<{
      id: string;
      name: string;
      records: Array<{
        name: string;
        type: string;
        ttl?: number;
        setIdentifier?: string;
        weight?: number;
        aliasTarget?: { hostedZoneId: string; dnsName: string; evaluateTargetHealth: boolean };
        healthCheckId?: string;
        values?: string[];
      }>;
    }>;
    /** How long a change stays PENDING before INSYNC, ms. */
    propagationMs?: number;
  };
  ecs?: {
    clusters: Array<{
      name: string;
      services: Array<{
        name: string;
        desiredCount: number;
        taskDefinition: {
          family: string;
          image: string;
          cpu?: string;
          memory?: string;
          /** The role Fargate pulls the image and ships awslogs logs with; seeded containers log through awslogs when given. */
          executionRoleArn?: string;
        };
      }>;
    }>;
    /** How long a task takes to start or stop, ms. */
    taskTransitionMs?: number;
  };
  lambda?: {
    functions: Array<{
      name: string;
      runtime?: string;
      memorySize?: number;
      aliases: Array<{ name: string; version?: string }>;
    }>;
    /** How long LastUpdateStatus stays InProgress, ms. */
    updateMs?: number;
  };
  /** Application Load Balancers, their listeners and target groups (ELBv2). */
  elbv2?: ElbV2Seed;
  /** Data plane: one HTTP endpoint per public record name. */
  dataPlane?: Array<{
    recordName: string;
    /**
     * Route each request by this ALB listener's weights instead of the
     * record's: at once, with no resolver caching, and `backends` keyed by
     * target group name.
     */
    loadBalancer?: { name: string; port: number };
    /** Simulated resolvers; each caches an answer for the record's TTL. */
    resolvers?: number;
    /** Seed of the data plane's pseudo-random choices (resolver answers, latencies, errors); same seed, same run. */
    randomSeed?: number;
    /** Map from weighted record SetIdentifier to the backend it points at. */
    backends: Record<
      string,
      | {
          kind: "ecs";
          cluster: string;
          service: string;
          /** ALB dimensions for AWS/ApplicationELB metrics. */
          loadBalancer: string;
          targetGroup: string;
          /** Requests per second one running task can serve before queueing. */
          perTaskRps?: number;
          behaviour?: Partial<BackendBehaviour>;
        }
      | {
          kind: "lambda";
          functionName: string;
          alias: string;
          /** API Gateway HTTP API dimensions for AWS/ApiGateway metrics. */
          apiId: string;
          stage: string;
          /** Concurrent executions beyond this are throttled; AWS's default account limit (1000) when absent. */
          reservedConcurrency?: number;
          behaviour?: Partial<BackendBehaviour>;
        }
    >;
  }>;
}

/** What EventBridge needs from Lambda to deliver a target (an async "Event" invocation, as EventBridge makes). */
export interface AsyncInvoker {
  /**
   * Queues an async invocation; throws ServiceError ResourceNotFoundException (404) for an unknown function ARN,
   * TooManyRequestsException when throttled. Resolves once Lambda has accepted the event (not when it ran).
   */
  invokeAsync(functionArn: string, payload: string): Promise<{ requestId: string }>;
}

/** What Lambda and EventBridge need from SQS to dead-letter what still failed. */
export interface DeadLetterSink {
  /** Sends one message to the queue with this ARN; throws ServiceError for an unknown queue. */
  sendToQueue(queueArn: string, body: string, attributes?: Record<string, string>): void;
}
