/**
 * The sandbox: a local AWS account on loopback for the operations cutover
 * uses. `startSandbox` builds the services from a seed, serves them on one
 * control-plane port that the unmodified AWS SDK clients reach through
 * AWS_ENDPOINT_URL, and returns the environment to export.
 */
import { writeFile } from "node:fs/promises";
import { createAdminHandler } from "./admin.js";
import { createCloudWatchService } from "./cloudwatch.js";
import { CloudWatchAlarms } from "./cloudwatch-alarms.js";
import { type DataPlane, startDataPlane } from "./dataplane.js";
import { EcsService } from "./ecs.js";
import { ElbV2Service } from "./elbv2.js";
import { EventBridgeService } from "./eventbridge.js";
import { FaultRegistry } from "./faults.js";
import { LambdaService } from "./lambda.js";
import { MetricStore } from "./metric-store.js";
import { Route53Service } from "./route53.js";
import { S3Service } from "./s3.js";
import { validateSeed } from "./seed.js";
import { LOOPBACK, startControlPlane } from "./server.js";
import { SnsService } from "./sns.js";
import { SqsService } from "./sqs.js";
import type { AsyncInvoker, DeadLetterSink, SandboxSeed, ServiceHandler } from "./types.js";

export { CloudWatchAlarms } from "./cloudwatch-alarms.js";
export { EcsService } from "./ecs.js";
export { ElbV2Service } from "./elbv2.js";
export { EventBridgeService } from "./eventbridge.js";
export { FaultRegistry } from "./faults.js";
export { LambdaService } from "./lambda.js";
export { Route53Service } from "./route53.js";
export { S3Service } from "./s3.js";
export { loadSeed, SeedError, validateSeed } from "./seed.js";
export { SnsService } from "./sns.js";
export { SqsService } from "./sqs.js";

/** Fake credentials: the sandbox does not check signatures, but the SDK must have something to sign with. */
export const SANDBOX_CREDENTIALS = {
  accessKeyId: "AKIASANDBOX000000000",
  secretAccessKey: "sandbox-secret-access-key-not-a-real-secret",
} as const;
export const DEFAULT_REGION = "us-east-1";
export const DEFAULT_ACCOUNT_ID = "123456789012";

export interface StartSandboxOptions {
  seed: SandboxSeed;
  /** 0 or absent: a free port. */
  port?: number;
  host?: "127.0.0.1";
  /** Writes the state as JSON to this file when the sandbox closes. */
  saveStateTo?: string;
  /** The clock every simulated delay is measured on; Date.now by default. Tests pass a manual clock. */
  now?: () => number;
  /**
   * Delay before the first retry of a failed async Lambda invocation, ms (the second waits twice as long).
   * Lambda waits about a minute and then two; 60000 by default, tests pass a few ms.
   */
  lambdaAsyncRetryDelayMs?: number;
  /** Where Lambda dead-letters async invocations that still failed (the SQS service); absent: nowhere. */
  deadLetters?: DeadLetterSink;
  /** How often alarms are evaluated, in real ms; 10000 by default, 0 turns the timer off (POST /_sandbox/alarms/evaluate still works). */
  alarmEvaluationIntervalMs?: number;
  /**
   * Multiplies EventBridge's retry backoff (about 1 s doubling per attempt); 1 by default. Tests pass e.g. 0.001 so
   * that retries then dead-lettering take milliseconds.
   */
  eventRetryBackoffScale?: number;
  /**
   * Delivers EventBridge's Lambda targets (an async "Event" invocation). By default the sandbox's Lambda when it
   * implements AsyncInvoker; without either, Lambda deliveries fail and are retried, then dead-lettered.
   */
  lambdaInvoker?: AsyncInvoker;
}

export interface Sandbox {
  /** The control-plane endpoint, e.g. http://127.0.0.1:4566. */
  endpoint: string;
  /** AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY for SDK clients and child processes. */
  env: Record<string, string>;
  region: string;
  accountId: string;
  route53: Route53Service;
  /** Application Load Balancers (ELBv2). */
  elbv2: ElbV2Service;
  ecs: EcsService;
  lambda: LambdaService;
  s3: S3Service;
  /** CloudWatch's metric storage, where the data plane's metrics land. */
  cloudwatch: MetricStore;
  /** CloudWatch's alarms and their evaluator. */
  alarms: CloudWatchAlarms;
  eventbridge: EventBridgeService;
  sqs: SqsService;
  sns: SnsService;
  faults: FaultRegistry;
  /** The data plane, when the seed declares one (`seed.dataPlane`). */
  dataPlane?: DataPlane;
  /** Base URL of each data-plane listener by record name; empty without a data plane. */
  dataPlaneUrls: Record<string, string>;
  /** Every handler served on the control-plane port, in dispatch order. */
  handlers: ServiceHandler[];
  /** The state as GET /_sandbox/state answers it. */
  state(): Record<string, unknown>;
  close(): Promise<void>;
}

/** Starts a sandbox from a seed; `extra.handlers` are served before the built-in services. */
export async function startSandbox(
  options: StartSandboxOptions,
  extra: { handlers?: ServiceHandler[] } = {},
): Promise<Sandbox> {
  const seed = validateSeed(options.seed);
  const region = seed.region ?? DEFAULT_REGION;
  const accountId = seed.accountId ?? DEFAULT_ACCOUNT_ID;
  const now = options.now ?? Date.now;
  const route53 = new Route53Service(seed.route53, { now });
  const ecs = new EcsService(seed.ecs, { region, accountId, now });
  const lambda = new LambdaService(seed.lambda, {
    region,
    accountId,
    now,
    ...(options.lambdaAsyncRetryDelayMs === undefined
      ? {}
      : { asyncRetryDelayMs: options.lambdaAsyncRetryDelayMs }),
  });
  const s3 = new S3Service({ region, now });
  const elbv2 = new ElbV2Service(seed.elbv2, { region, accountId, now, ecs, lambda });
  const metrics = new MetricStore();
  const faults = new FaultRegistry(now);
  const sqs = new SqsService({ region, accountId, now });
  const sns = new SnsService({ region, accountId, now });
  // The sandbox's Lambda delivers EventBridge's targets once it can invoke asynchronously; a given invoker wins.
  const lambdaInvoker: AsyncInvoker = options.lambdaInvoker ?? lambda;
  const eventbridge = new EventBridgeService({
    region,
    accountId,
    now,
    deadLetters: sqs,
    retryBackoffScale: options.eventRetryBackoffScale ?? 1,
    invoker: lambdaInvoker,
  });
  const alarms = new CloudWatchAlarms(metrics, { region, accountId, now, events: eventbridge });
  const services: ServiceHandler[] = [
    ...(extra.handlers ?? []),
    // S3 is asked first: it claims by signing name, and a bucket may be named like another service's path prefix.
    s3,
    route53,
    elbv2,
    ecs,
    lambda,
    createCloudWatchService(metrics, { now, extraOperations: alarms.operations() }),
    eventbridge,
    sqs,
    sns,
  ];
  let calls: Record<string, number> = {};
  const state = (): Record<string, unknown> => ({
    region,
    accountId,
    route53: route53.snapshot(),
    elbv2: elbv2.snapshot(),
    ecs: ecs.snapshot(),
    lambda: lambda.snapshot(),
    s3: s3.snapshot(),
    cloudwatch: { storedSamples: metrics.sampleCount, metrics: metrics.listMetrics(), ...alarms.snapshot() },
    eventbridge: eventbridge.snapshot(),
    sqs: sqs.snapshot(),
    sns: sns.snapshot(),
    faults: faults.list(),
    calls: { ...calls },
  });
  const admin = createAdminHandler({ faults, state, lambdaInvocations: () => lambda.listInvocations() });
  const dataPlane = seed.dataPlane?.length
    ? await startDataPlane({ seed, records: route53, listeners: elbv2, ecs, lambda, metrics })
    : undefined;
  // The data plane's admin (/_sandbox/backends) is asked before the general admin surface, which answers the rest of /_sandbox/.
  const adminHandlers = [
    ...(dataPlane ? [dataPlane.admin] : []),
    alarms.admin,
    eventbridge.admin,
    sns.admin,
    admin,
  ];
  let server: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    server = await startControlPlane({
      services,
      admin: adminHandlers,
      faults,
      port: options.port ?? 0,
      host: options.host ?? LOOPBACK,
    });
  } catch (error) {
    await dataPlane?.close();
    throw error;
  }
  calls = server.calls;
  alarms.start(options.alarmEvaluationIntervalMs ?? 10_000);
  const endpoint = server.endpoint;
  // Functions' own SDK clients reach this sandbox, signed with its credentials, as on AWS they reach AWS.
  lambda.connect({
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
    },
    // What async invocations still failed goes to the sandbox's SQS unless the caller gives another sink.
    deadLetters: options.deadLetters ?? sqs,
  });
  let closed: Promise<void> | undefined;
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
    },
    region,
    accountId,
    route53,
    elbv2,
    ecs,
    lambda,
    s3,
    cloudwatch: metrics,
    alarms,
    eventbridge,
    sqs,
    sns,
    faults,
    ...(dataPlane ? { dataPlane } : {}),
    dataPlaneUrls: dataPlane ? { ...dataPlane.urls } : {},
    handlers: [...adminHandlers, ...services],
    state,
    close() {
      closed ??= (async () => {
        lambda.close();
        alarms.stop();
        eventbridge.close();
        await dataPlane?.close();
        if (options.saveStateTo)
          await writeFile(options.saveStateTo, `${JSON.stringify(state(), null, 2)}\n`);
        await server.close();
      })();
      return closed;
    },
  };
}
