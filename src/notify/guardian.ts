/**
 * The guardian's sinks. The guardian runs inside AWS without the spec, so
 * its sinks come from its function's environment, which infra sets: an SNS
 * topic, and a signed webhook whose URL and key are environment variables
 * (filled from a secret store by the deployment, never written in code).
 */
import type { NotificationSinkSpec } from "../model/spec.js";
import { Announcer, type AnnouncerLog, type DeliveryRecord } from "./announcer.js";
import type { NotificationEvent } from "./events.js";
import type { RetryPolicy } from "./retry.js";
import type { SinkTransportFactory } from "./transport.js";

/** Environment variables of the guardian's notifications. */
export const GUARDIAN_NOTIFY_ENV = {
  snsTopicArn: "CUTOVER_NOTIFY_SNS_TOPIC_ARN",
  webhookUrl: "CUTOVER_NOTIFY_WEBHOOK_URL",
  webhookSecret: "CUTOVER_NOTIFY_WEBHOOK_SECRET",
} as const;

/**
 * Shorter than an action's: the guardian answers an alarm, and Lambda bills
 * and times out the whole invocation; three attempts within ten seconds.
 */
export const GUARDIAN_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 250,
  maxDelayMs: 2_000,
  totalBudgetMs: 10_000,
  attemptTimeoutMs: 4_000,
};

/** The sinks the environment configures (none when it configures none). */
export function guardianSinks(env: Readonly<Record<string, string | undefined>>): NotificationSinkSpec[] {
  const sinks: NotificationSinkSpec[] = [];
  const topicArn = env[GUARDIAN_NOTIFY_ENV.snsTopicArn];
  if (topicArn) sinks.push({ kind: "sns", name: "guardian-sns", topicArn });
  if (env[GUARDIAN_NOTIFY_ENV.webhookUrl]) {
    sinks.push({
      kind: "webhook",
      name: "guardian-webhook",
      url: { env: GUARDIAN_NOTIFY_ENV.webhookUrl },
      signingSecret: { env: GUARDIAN_NOTIFY_ENV.webhookSecret },
    });
  }
  return sinks;
}

/** The CloudEvents source of a guardian function. */
export function guardianSource(env: Readonly<Record<string, string | undefined>>): string {
  return `urn:cutover:guardian:${env.AWS_REGION ?? "unknown-region"}:${env.AWS_LAMBDA_FUNCTION_NAME ?? "guardian"}`;
}

/** The guardian's announce hook, or undefined when its environment configures no sink. */
export function guardianAnnouncer(
  env: Readonly<Record<string, string | undefined>>,
  transports: SinkTransportFactory,
  log: AnnouncerLog,
  policy: RetryPolicy = GUARDIAN_RETRY_POLICY,
):
  | ((migrationId: string, correlationId: string, event: NotificationEvent) => Promise<DeliveryRecord[]>)
  | undefined {
  const sinks = guardianSinks(env);
  if (sinks.length === 0) return undefined;
  return (migrationId, correlationId, event) =>
    new Announcer({
      migration: { id: migrationId, notifications: { sinks } },
      origin: { source: guardianSource(env), correlationId },
      lookup: { secrets: {}, env },
      transports,
      log,
      // The guardian's log never prints sink secrets; there is no runner log to mask them in.
      mask: () => {},
      policy,
    }).announce(event);
}
