/**
 * The guardian Lambda function's entry: configuration from the function's
 * environment, clients from the SDK's standard chain, JSON log lines for
 * CloudWatch Logs. A refusal is logged and rethrown so that Lambda retries
 * the event and then dead-letters it.
 */
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { Route53Client } from "@aws-sdk/client-route-53";
import {
  GUARDIAN_ENV,
  type GuardianOutcome,
  handleAlarmEvent,
  readGuardianConfig,
} from "../../src/guardian/handler.js";
import { guardianAnnouncer } from "../../src/notify/guardian.js";
import type { OperationLog } from "../../src/ops/journal.js";
import { createCheckpointStore } from "../../src/providers/checkpoint-stores.js";
import { createSinkTransport } from "../../src/providers/notification-transports.js";

const log: OperationLog = {
  info: (message, fields) => console.log(JSON.stringify({ level: "info", message, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ level: "warn", message, ...fields })),
};

// Created once per execution environment, so warm invocations reuse connections.
const common = { retryMode: "adaptive" as const, maxAttempts: 4 };
const clients = {
  route53: new Route53Client({ ...common, region: "us-east-1" }),
  ecs: new ECSClient(common),
  lambda: new LambdaClient(common),
  // Whichever router the migration's checkpoint names: its client is here.
  elbv2: new ElasticLoadBalancingV2Client(common),
};

export async function handler(event: unknown): Promise<GuardianOutcome> {
  try {
    const config = readGuardianConfig(process.env);
    const store = createCheckpointStore(config.store, `environment variable ${GUARDIAN_ENV.store}`);
    const announce = guardianAnnouncer(process.env, createSinkTransport, log);
    return await handleAlarmEvent(event, {
      config,
      store,
      clients,
      log,
      now: () => new Date(),
      ...(announce ? { announce } : {}),
    });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log.warn(`guardian stopped: ${message}`, { event: JSON.stringify(event).slice(0, 2000) });
    throw error instanceof Error ? error : new Error(message);
  }
}
