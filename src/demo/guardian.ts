/**
 * Installs the guardian into an account through the AWS APIs, as infra's
 * Terraform does on AWS: the checkpoint bucket (versioned), the dead-letter
 * queue, the function built from guardian/dist with its async retry and
 * failure destination, one rollback alarm per gate metric and bound, and one
 * EventBridge rule per migration that sends the alarms' ALARM events to the
 * function. The demo, the benchmark and the end-to-end tests use it on the
 * sandbox.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type CloudWatchClient, PutMetricAlarmCommand } from "@aws-sdk/client-cloudwatch";
import { type EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateFunctionCommand,
  type LambdaClient,
  PutFunctionEventInvokeConfigCommand,
} from "@aws-sdk/client-lambda";
import { CreateBucketCommand, PutBucketVersioningCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { alarmMetricFor, type SideDimensions } from "../../infra/constructs/alarm-metrics.js";
import { GUARDIAN_ENV } from "../guardian/handler.js";
import type { Migration, MigrationsFile } from "../model/spec.js";
import { storedZip } from "./zip.js";

/** The bundled guardian, as `npm run build` writes it. */
export const GUARDIAN_BUNDLE = join(import.meta.dirname, "..", "..", "guardian", "dist", "index.mjs");

export interface GuardianClients {
  s3: S3Client;
  sqs: SQSClient;
  lambda: LambdaClient;
  cloudwatch: CloudWatchClient;
  events: EventBridgeClient;
}

export interface GuardianInstallOptions {
  /** Further environment of the function: its notification sinks (CUTOVER_NOTIFY_*). */
  extraEnvironment?: Record<string, string>;
  /** Name part of every resource, e.g. "demo" or "production". */
  environment: string;
  account: string;
  region: string;
  spec: MigrationsFile;
  /** Alarm period in seconds: 10 where the metrics are high resolution. */
  alarmPeriodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  /** What the guardian restores: the last checkpoint (default) or all traffic to the old side. */
  target?: "checkpoint" | "all-old";
  /** Seconds the guardian waits for INSYNC and for a scaled-up ECS service. */
  insyncTimeoutSeconds?: number;
  stableTimeoutSeconds?: number;
}

export interface GuardianInstall {
  bucket: string;
  /** The value of every checkpoint-store input: s3://<bucket>/. */
  store: string;
  functionName: string;
  functionArn: string;
  dlqUrl: string;
  dlqArn: string;
  rules: string[];
  alarms: { name: string; migration: string; gate: string; metric: string; threshold: number }[];
}

function dimensionsOf(migration: Migration): SideDimensions | undefined {
  const fresh = migration.newSide;
  const old = migration.oldSide;
  if (fresh.kind !== "lambda" || old.kind !== "ecs") return undefined;
  if (fresh.telemetry.kind !== "apigateway-http") return undefined;
  return {
    apiGateway: { apiId: fresh.telemetry.apiId, stage: fresh.telemetry.stage },
    lambda: { functionName: fresh.functionName, alias: fresh.alias },
    alb: old.telemetry,
  };
}

/** The gates a migration's phases bake on, by name. */
function gatesOf(migration: Migration) {
  const names = new Set(
    migration.phases.flatMap((phase) =>
      phase.steps.flatMap((step) => (step.kind === "bake" ? [step.gate] : [])),
    ),
  );
  return [...names].flatMap((name) =>
    migration.gates[name] ? [{ name, gate: migration.gates[name]! }] : [],
  );
}

/** Installs everything; idempotent only on a fresh account (it creates, it does not update). */
export async function installGuardian(
  clients: GuardianClients,
  options: GuardianInstallOptions,
): Promise<GuardianInstall> {
  const prefix = `cutover-${options.environment}`;
  const bucket = `${prefix}-checkpoints-${options.account}`;
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await clients.s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
  );
  const queue = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-guardian-dlq`,
      Attributes: { MessageRetentionPeriod: "1209600" },
    }),
  );
  const dlqUrl = queue.QueueUrl!;
  const attributes = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const dlqArn = attributes.Attributes?.QueueArn ?? "";
  const store = `s3://${bucket}/`;
  const functionName = `${prefix}-guardian`;
  const created = await clients.lambda.send(
    new CreateFunctionCommand({
      FunctionName: functionName,
      Runtime: "nodejs24.x",
      Handler: "index.handler",
      Role: `arn:aws:iam::${options.account}:role/${prefix}-guardian`,
      Code: { ZipFile: storedZip({ "index.mjs": await readFile(GUARDIAN_BUNDLE, "utf8") }) },
      Timeout: 300,
      MemorySize: 256,
      Environment: {
        Variables: {
          [GUARDIAN_ENV.store]: store,
          [GUARDIAN_ENV.environment]: options.environment,
          [GUARDIAN_ENV.migrations]: options.spec.migrations.map((migration) => migration.id).join(","),
          ...(options.target ? { [GUARDIAN_ENV.target]: options.target } : {}),
          ...(options.insyncTimeoutSeconds
            ? { [GUARDIAN_ENV.insyncTimeout]: String(options.insyncTimeoutSeconds) }
            : {}),
          ...(options.stableTimeoutSeconds
            ? { [GUARDIAN_ENV.stableTimeout]: String(options.stableTimeoutSeconds) }
            : {}),
          ...options.extraEnvironment,
        },
      },
    }),
  );
  const functionArn = created.FunctionArn!;
  await clients.lambda.send(
    new PutFunctionEventInvokeConfigCommand({
      FunctionName: functionName,
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: dlqArn } },
    }),
  );
  const alarms: GuardianInstall["alarms"] = [];
  const rules: string[] = [];
  for (const migration of options.spec.migrations) {
    const dims = dimensionsOf(migration);
    if (!dims) continue;
    for (const { name: gate, gate: spec } of gatesOf(migration)) {
      for (const metric of spec.metrics) {
        if (!metric.rollback) continue;
        const expressed = alarmMetricFor(metric, dims, options.alarmPeriodSeconds);
        if ("unsupported" in expressed) continue;
        for (const bound of ["max", "min"] as const) {
          const threshold = metric.rollback[bound];
          if (threshold === undefined) continue;
          const name = `${prefix}-${migration.id}-${gate}-${metric.name}-rollback-${bound}`;
          await clients.cloudwatch.send(
            new PutMetricAlarmCommand({
              AlarmName: name,
              AlarmDescription: `cutover rollback threshold of ${migration.id}, gate ${gate}, metric ${metric.name}: ${bound} ${threshold}`,
              ComparisonOperator: bound === "max" ? "GreaterThanThreshold" : "LessThanThreshold",
              Threshold: threshold,
              EvaluationPeriods: options.evaluationPeriods,
              DatapointsToAlarm: options.datapointsToAlarm,
              TreatMissingData: "notBreaching",
              Metrics: expressed.queries.map((query) => ({
                Id: query.id,
                ReturnData: query.returnData,
                ...(query.expression ? { Expression: query.expression } : {}),
                ...(query.label ? { Label: query.label } : {}),
                ...(query.expression ? { Period: options.alarmPeriodSeconds } : {}),
                ...(query.metric
                  ? {
                      MetricStat: {
                        Metric: {
                          Namespace: query.metric.namespace,
                          MetricName: query.metric.metricName,
                          Dimensions: Object.entries(query.metric.dimensions).map(([Name, Value]) => ({
                            Name,
                            Value,
                          })),
                        },
                        Period: query.metric.period,
                        Stat: query.metric.stat,
                      },
                    }
                  : {}),
              })),
              Tags: [{ Key: "cutover:migration", Value: migration.id }],
            }),
          );
          alarms.push({ name, migration: migration.id, gate, metric: metric.name, threshold });
        }
      }
    }
    const rule = `${prefix}-${migration.id}-guardian`.slice(0, 64);
    await clients.events.send(
      new PutRuleCommand({
        Name: rule,
        Description: `Rollback alarms of ${migration.id} entering ALARM go to the guardian`,
        EventPattern: JSON.stringify({
          source: ["aws.cloudwatch"],
          "detail-type": ["CloudWatch Alarm State Change"],
          detail: { alarmName: [{ prefix: `${prefix}-${migration.id}-` }], state: { value: ["ALARM"] } },
        }),
        State: "ENABLED",
      }),
    );
    await clients.events.send(
      new PutTargetsCommand({
        Rule: rule,
        Targets: [
          {
            Id: "guardian",
            Arn: functionArn,
            RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
            DeadLetterConfig: { Arn: dlqArn },
          },
        ],
      }),
    );
    rules.push(rule);
  }
  return { bucket, store, functionName, functionArn, dlqUrl, dlqArn, rules, alarms };
}
