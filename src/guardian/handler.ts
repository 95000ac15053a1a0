/**
 * The guardian: a Lambda function subscribed by EventBridge to a
 * migration's rollback alarms. On ALARM it restores the migration's last
 * AWS-side checkpoint with the rollback action's invariants, journals what it
 * did, and sets a hold until git records it. It only ever rolls back.
 *
 * A refusal (unknown migration, missing or malformed checkpoint, a side that
 * cannot serve) throws after logging why: Lambda retries the event and then
 * sends it to the dead-letter queue, where people see it. Duplicate, late and
 * out-of-order events return without changing anything.
 */
import type { DeliveryRecord } from "../notify/announcer.js";
import { rollbackCompletedEvent } from "../notify/event-builders.js";
import { type AwsRollbackResult, rollbackFromCheckpoint } from "../ops/aws-rollback.js";
import { OperationJournal, type OperationLog } from "../ops/journal.js";
import type { TrafficClients } from "../ops/traffic.js";
import type { CheckpointStore } from "../providers/checkpoint-store.js";
import { alarmEntryId, GuardianRefusal, migrationOfAlarm, readAlarmEvent } from "./alarm-event.js";

/** The guardian's settings, from its function's environment variables. */
export interface GuardianConfig {
  store: string;
  environment: string;
  migrations: string[];
  target: "checkpoint" | "all-old";
  insyncTimeoutSeconds: number;
  stableTimeoutSeconds: number;
}

/** Environment variables the guardian reads; infra sets them. */
export const GUARDIAN_ENV = {
  store: "CUTOVER_CHECKPOINT_STORE",
  environment: "CUTOVER_ENVIRONMENT",
  migrations: "CUTOVER_MIGRATIONS",
  target: "CUTOVER_GUARDIAN_TARGET",
  insyncTimeout: "CUTOVER_INSYNC_TIMEOUT_SECONDS",
  stableTimeout: "CUTOVER_STABLE_TIMEOUT_SECONDS",
} as const;

function seconds(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 900) {
    throw new Error(
      `environment variable ${name}: ${JSON.stringify(raw)} is not a whole number of seconds from 1 to 900`,
    );
  }
  return value;
}

/** Reads the configuration; an error names the variable and what it accepts. */
export function readGuardianConfig(env: Record<string, string | undefined>): GuardianConfig {
  const store = env[GUARDIAN_ENV.store] ?? "";
  if (store === "")
    throw new Error(`environment variable ${GUARDIAN_ENV.store} is not set; give s3://<bucket>/<prefix>`);
  const migrations = (env[GUARDIAN_ENV.migrations] ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  if (migrations.length === 0) {
    throw new Error(
      `environment variable ${GUARDIAN_ENV.migrations} is empty; give the migration ids this guardian guards, comma-separated`,
    );
  }
  const target = env[GUARDIAN_ENV.target] ?? "checkpoint";
  if (target !== "checkpoint" && target !== "all-old") {
    throw new Error(
      `environment variable ${GUARDIAN_ENV.target}: ${JSON.stringify(target)}; give "checkpoint" or "all-old"`,
    );
  }
  return {
    store,
    environment: env[GUARDIAN_ENV.environment] ?? "",
    migrations,
    target,
    insyncTimeoutSeconds: seconds(env, GUARDIAN_ENV.insyncTimeout, 90),
    stableTimeoutSeconds: seconds(env, GUARDIAN_ENV.stableTimeout, 180),
  };
}

export interface GuardianDependencies {
  config: GuardianConfig;
  store: CheckpointStore;
  clients: TrafficClients;
  log: OperationLog;
  now: () => Date;
  /**
   * Announces a rollback the guardian made (SNS, or a webhook from the
   * Lambda), with the alarm's entry id as correlation id; never throws.
   */
  announce?: (
    migrationId: string,
    correlationId: string,
    event: ReturnType<typeof rollbackCompletedEvent>,
  ) => Promise<DeliveryRecord[]>;
}

/** What one event led to. */
export interface GuardianOutcome {
  outcome: AwsRollbackResult["outcome"] | "ignored";
  migration?: string;
  entry?: string;
  detail: string;
  /** Milliseconds from the handler's start to the change submitted and to INSYNC, when a change was made. */
  changeSubmittedMs?: number;
  insyncMs?: number;
  /** What became of the notifications of the rollback. */
  notifications?: DeliveryRecord[];
}

/** Handles one EventBridge event. */
export async function handleAlarmEvent(event: unknown, deps: GuardianDependencies): Promise<GuardianOutcome> {
  const started = performance.now();
  const change = readAlarmEvent(event);
  if (change.state !== "ALARM") {
    const detail = `alarm ${change.alarmName} entered ${change.state}; the guardian acts only on ALARM`;
    deps.log.info(detail);
    return { outcome: "ignored", detail };
  }
  const migration = migrationOfAlarm(change.alarmName, deps.config.migrations);
  const entryId = alarmEntryId(change);
  const log = deps.log;
  log.info("rollback alarm", { migration, alarm: change.alarmName, entry: entryId, at: change.timestamp });
  const journal = new OperationJournal(log);
  const result = await rollbackFromCheckpoint(
    {
      store: deps.store,
      migrationId: migration,
      entryId,
      by: "guardian",
      trigger: {
        kind: "alarm",
        alarm: {
          name: change.alarmName,
          state: change.state,
          reason: change.reason,
          timestamp: change.timestamp,
          ...(change.reasonData !== undefined ? { reasonData: change.reasonData } : {}),
        },
        reason: `rollback alarm ${change.alarmName}: ${change.reason}`,
      },
      target: deps.config.target,
      clients: deps.clients,
      insyncTimeoutSeconds: deps.config.insyncTimeoutSeconds,
      stableTimeoutSeconds: deps.config.stableTimeoutSeconds,
      now: deps.now,
      triggeredAt: change.timestamp,
    },
    journal,
  );
  const submitted = journal.steps.find((step) => step.step === "submit change");
  const insync = journal.steps.find((step) => step.step === "wait INSYNC");
  const outcome: GuardianOutcome = {
    outcome: result.outcome,
    migration,
    entry: entryId,
    detail: result.detail,
    ...(submitted
      ? { changeSubmittedMs: Math.round(submitted.startMs + submitted.elapsedMs - started) }
      : {}),
    ...(insync ? { insyncMs: Math.round(insync.startMs + insync.elapsedMs - started) } : {}),
  };
  // Announced once traffic is back: a slow sink never delays the restore.
  if (deps.announce && result.move && (result.outcome === "rolled-back" || result.outcome === "no-op")) {
    outcome.notifications = await deps.announce(
      migration,
      entryId,
      rollbackCompletedEvent(
        { migration, phase: null, time: deps.now() },
        {
          origin: "guardian",
          reason: `rollback alarm ${change.alarmName}: ${change.reason}`,
          previousWeights: result.move.previousWeights,
          weights: result.move.weights,
          key: entryId,
          ...(result.move.change ? { changeId: result.move.change.id } : {}),
          outcome: result.outcome,
        },
      ),
    );
  }
  log.info(`guardian ${result.outcome}: ${result.detail}`, {
    migration,
    entry: entryId,
    change_submitted_ms: outcome.changeSubmittedMs,
    insync_ms: outcome.insyncMs,
  });
  return outcome;
}

export { GuardianRefusal };
