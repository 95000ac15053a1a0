/**
 * The demo's world: the spec it migrates (a copy of the example
 * `migrations.json` with bakes of seconds instead of days) and the sandbox
 * seed that declares the matching AWS account, both derived from one list of
 * names so they cannot disagree.
 */
import { readFile } from "node:fs/promises";
import type { BackendBehaviour, SandboxSeed } from "../../sandbox/types.js";
import type { GateSpec, Migration, MigrationsFile, PhaseSpec } from "../model/spec.js";
import type { DemoProfile } from "./options.js";

/** The names one migration uses across the spec and the sandbox. */
export interface DemoMigrationNames {
  id: string;
  description: string;
  recordName: string;
  /** Where the staging load tests go: the new side alone, behind its staging stage. */
  stagingRecordName: string;
  cluster: string;
  service: string;
  functionName: string;
  alias: string;
  loadBalancer: string;
  targetGroup: string;
  apiId: string;
}

export const HOSTED_ZONE_ID = "Z0EXAMPLE00001";
export const HOSTED_ZONE_NAME = "example.com.";
export const OLD_SET = "ecs-fargate";
export const NEW_SET = "lambda";
/** Record TTL in the sandbox: short, so a shift reaches every simulated resolver within a second. */
export const RECORD_TTL_SECONDS = 1;

/** Act one: the example migration of `migrations.json`. */
export const ORDERS: DemoMigrationNames = {
  id: "orders-api",
  description: "Orders HTTP API: ECS Fargate behind an ALB to Lambda behind an API Gateway HTTP API",
  recordName: "api.example.com",
  stagingRecordName: "staging-api.example.com",
  cluster: "prod",
  service: "orders-api",
  functionName: "orders-api",
  alias: "live",
  loadBalancer: "app/orders-api/50dc6c495c0c9188",
  targetGroup: "targetgroup/orders-api/73e2d6bc24d8a067",
  apiId: "a1b2c3d4e5",
};

/** Act two: a second migration of the same shape, whose new side starts failing at 50 %. */
export const PAYMENTS: DemoMigrationNames = {
  id: "payments-api",
  description: "Payments HTTP API: ECS Fargate behind an ALB to Lambda behind an API Gateway HTTP API",
  recordName: "payments.example.com",
  stagingRecordName: "staging-payments.example.com",
  cluster: "prod",
  service: "payments-api",
  functionName: "payments-api",
  alias: "live",
  loadBalancer: "app/payments-api/7a1c0e2b9d4f6a31",
  targetGroup: "targetgroup/payments-api/0c4e9a7b2d1f8e56",
  apiId: "f6e5d4c3b2",
};

type DataPlaneEntry = NonNullable<SandboxSeed["dataPlane"]>[number];

/** Backends as the demo declares them: the old side a little slower than the new, no errors. */
const OLD_BEHAVIOUR: Partial<BackendBehaviour> = { latencyMs: 40, jitter: 0.3, errorRate: 0 };
const NEW_BEHAVIOUR: Partial<BackendBehaviour> = {
  latencyMs: 25,
  jitter: 0.3,
  errorRate: 0,
  coldStartMs: 120,
};

/** Desired count of each old ECS service at the start. */
export const OLD_DESIRED_COUNT = 2;

/** The gate of the demo: the reference gate on 1 s data, with minimums sized for a bake of seconds. */
function demoGate(template: GateSpec | undefined, profile: DemoProfile): GateSpec {
  const byName = new Map((template?.metrics ?? []).map((metric) => [metric.name, metric]));
  const errorRate = byName.get("error-rate") ?? {
    name: "error-rate",
    metric: "error-rate" as const,
    pass: { max: 0.01 },
    rollback: { max: 0.02 },
    compareToOld: { maxIncrease: 0.005 },
  };
  const latency = byName.get("latency-p95") ?? {
    name: "latency-p95",
    metric: "latency-p95" as const,
    pass: { max: 500 },
    rollback: { max: 1000 },
  };
  return {
    period: profile.gatePeriod,
    minSamples: profile.minSamples,
    checkCost: template?.checkCost ?? true,
    metrics: [
      errorRate,
      // A bake of seconds holds a few cold starts of a freshly deployed version in its whole window:
      // the absolute thresholds stay, the comparison with the warm old side does not.
      {
        name: latency.name,
        metric: latency.metric,
        pass: latency.pass,
        ...(latency.rollback ? { rollback: latency.rollback } : {}),
      },
      // Same reason: the first requests of a new version start cold, and a bake of seconds has few requests.
      { name: "cold-starts", metric: "cold-starts", pass: { max: 0.15 } },
      // The sandbox has no RDS Proxy, so db-connection-pool would only ever say "insufficient data".
    ],
  };
}

function trafficPhase(name: string, weight: number, bakeSeconds: number): PhaseSpec {
  return {
    name,
    environment: "production",
    steps: [
      { kind: "shift", weight },
      { kind: "bake", duration: `${bakeSeconds}s`, gate: "standard" },
    ],
  };
}

/** One migration of the demo spec, shaped like `template` (the example's first migration). */
function demoMigration(
  template: Migration,
  names: DemoMigrationNames,
  profile: DemoProfile,
  options: { fullStaging: boolean; failingPhase?: string },
): Migration {
  const staging = template.phases.find((phase) => phase.name === "staging");
  const loadTests = (staging?.steps ?? []).filter((step) => step.kind === "load-test");
  const bake = (phase: string) =>
    phase === options.failingPhase ? profile.failingBakeSeconds : profile.bakeSeconds;
  return {
    id: names.id,
    description: names.description,
    phase: "staging",
    router: {
      kind: "route53",
      hostedZoneId: HOSTED_ZONE_ID,
      recordName: names.recordName,
      recordType: "A",
      oldSetIdentifier: OLD_SET,
      newSetIdentifier: NEW_SET,
    },
    oldSide: {
      kind: "ecs",
      cluster: names.cluster,
      service: names.service,
      telemetry: { kind: "alb", loadBalancer: names.loadBalancer, targetGroup: names.targetGroup },
    },
    newSide: {
      kind: "lambda",
      functionName: names.functionName,
      alias: names.alias,
      telemetry: { kind: "apigateway-http", apiId: names.apiId, stage: "$default" },
    },
    gates: { standard: demoGate(template.gates?.standard, profile) },
    phases: [
      {
        name: "staging",
        environment: "staging",
        steps: [
          { kind: "deploy", side: "new" },
          ...(options.fullStaging ? loadTests : loadTests.slice(0, 1)),
        ],
      },
      trafficPhase("canary-10", 10, bake("canary-10")),
      trafficPhase("canary-50", 50, bake("canary-50")),
      trafficPhase("full", 100, bake("full")),
      {
        name: "decommission",
        environment: "production-decommission",
        steps: [
          {
            kind: "decommission",
            hold: `${profile.holdSeconds}s`,
            quietWindow: `${profile.quietWindowSeconds}s`,
            deregisterTaskDefinitions: true,
          },
        ],
      },
    ],
    ...(template.cost ? { cost: template.cost } : {}),
    // Every decision goes to the demo's local receiver, which prints it.
    notifications: {
      sinks: [
        {
          kind: "webhook",
          name: "demo-receiver",
          url: { secret: DEMO_WEBHOOK_URL_SECRET },
          signingSecret: { secret: DEMO_WEBHOOK_KEY_SECRET },
        },
      ],
    },
  };
}

/** Names of the demo receiver's secrets, as the spec references them. */
export const DEMO_WEBHOOK_URL_SECRET = "DEMO_WEBHOOK_URL";
export const DEMO_WEBHOOK_KEY_SECRET = "DEMO_WEBHOOK_KEY";

/** Reads the example spec and derives the demo spec from it: act one's migration and act two's. */
export async function buildDemoSpec(exampleSpecPath: string, profile: DemoProfile): Promise<MigrationsFile> {
  const example = JSON.parse(await readFile(exampleSpecPath, "utf8")) as MigrationsFile;
  const template = example.migrations?.[0];
  if (!template)
    throw new Error(`${exampleSpecPath} $.migrations is empty; the demo copies its first migration`);
  return {
    $schema: "./migrations.schema.json",
    version: 1,
    migrations: [
      demoMigration(template, ORDERS, profile, { fullStaging: true }),
      demoMigration(template, PAYMENTS, profile, { fullStaging: false, failingPhase: "canary-50" }),
    ],
  };
}

function weightedPair(recordName: string, octet: number) {
  return [
    {
      name: recordName,
      type: "A",
      ttl: RECORD_TTL_SECONDS,
      setIdentifier: OLD_SET,
      weight: 100,
      values: [`10.0.${octet}.10`],
    },
    {
      name: recordName,
      type: "A",
      ttl: RECORD_TTL_SECONDS,
      setIdentifier: NEW_SET,
      weight: 0,
      values: [`10.0.${octet}.20`],
    },
  ];
}

/** The sandbox seed: both migrations at 100/0, each with a staging endpoint that reaches only its new side. */
export function buildDemoSeed(migrations: readonly DemoMigrationNames[]): SandboxSeed {
  return {
    region: "us-east-1",
    accountId: "123456789012",
    route53: {
      hostedZones: [
        {
          id: HOSTED_ZONE_ID,
          name: HOSTED_ZONE_NAME,
          records: migrations.flatMap((names, index) => [
            ...weightedPair(names.recordName, index + 1),
            {
              name: names.stagingRecordName,
              type: "A",
              ttl: RECORD_TTL_SECONDS,
              setIdentifier: NEW_SET,
              weight: 100,
              values: [`10.1.${index + 1}.20`],
            },
          ]),
        },
      ],
      propagationMs: 400,
    },
    ecs: {
      clusters: [
        {
          name: "prod",
          services: migrations.map((names) => ({
            name: names.service,
            desiredCount: OLD_DESIRED_COUNT,
            taskDefinition: {
              family: names.service,
              image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${names.service}:v41`,
            },
          })),
        },
      ],
      taskTransitionMs: 600,
    },
    lambda: {
      functions: migrations.map((names) => ({
        name: names.functionName,
        runtime: "nodejs20.x",
        memorySize: 1024,
        aliases: [{ name: names.alias }],
      })),
      updateMs: 300,
    },
    dataPlane: migrations.flatMap((names): DataPlaneEntry[] => [
      {
        recordName: names.recordName,
        backends: {
          [OLD_SET]: {
            kind: "ecs" as const,
            cluster: names.cluster,
            service: names.service,
            loadBalancer: names.loadBalancer,
            targetGroup: names.targetGroup,
            behaviour: OLD_BEHAVIOUR,
          },
          [NEW_SET]: {
            kind: "lambda" as const,
            functionName: names.functionName,
            alias: names.alias,
            apiId: names.apiId,
            stage: "$default",
            behaviour: NEW_BEHAVIOUR,
          },
        },
      },
      {
        recordName: names.stagingRecordName,
        backends: {
          [NEW_SET]: {
            kind: "lambda" as const,
            functionName: names.functionName,
            alias: names.alias,
            apiId: names.apiId,
            stage: "staging",
            behaviour: NEW_BEHAVIOUR,
          },
        },
      },
    ]),
  };
}
