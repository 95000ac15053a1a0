/**
 * What cutover announces, and its wire form: every decision becomes one
 * CloudEvents 1.0 JSON envelope (structured mode) whose `id` is the
 * idempotency key. The id is derived from what the event is about, never
 * drawn at random, so a retry (or a re-run of the same step in the same
 * workflow run) carries the same id and receivers can drop duplicates.
 */
import { createHash } from "node:crypto";
import type { NotificationEventName, RollbackOrigin } from "../model/spec.js";
import type { Verdict, Weights } from "../model/status.js";

/** Prefix of every CloudEvents `type` cutover sends: `dev.cutover.<event name>`. */
export const EVENT_TYPE_PREFIX = "dev.cutover.";

/** One metric's figures in a verdict, as the evidence records them. */
export interface VerdictFigure {
  metric: string;
  side?: "new" | "old";
  /** Measured value; null when there was no data. */
  value: number | null;
  /** The pass bound, e.g. "≤ 0.01". */
  pass?: string;
  /** The rollback bound, e.g. "≤ 0.02". */
  rollback?: string;
  verdict: Verdict | string;
  samples?: number;
}

/** A gate's or load test's verdict with its figures. */
export interface VerdictSummary {
  verdict: Verdict;
  gate?: string;
  window?: { start: string; end: string };
  samples?: number;
  figures: VerdictFigure[];
}

/** Something cutover decided or saw, before it becomes an envelope. */
export interface NotificationEvent {
  name: NotificationEventName;
  migration: string;
  phase: string | null;
  time: Date;
  /**
   * What tells this occurrence apart from others of the same name in the same
   * run (a change id, a verdict's window end, a rollback journal entry).
   * Part of the idempotency key.
   */
  occurrence: string;
  /** One sentence for people. */
  summary: string;
  weightsBefore?: Weights;
  weightsAfter?: Weights;
  verdict?: VerdictSummary;
  rollbackOrigin?: RollbackOrigin;
  reason?: string;
  /** The workflow run (or the guardian's log) that decided. */
  runUrl?: string;
  /** Further links people may follow: the pull request, the status file. */
  links?: { label: string; url: string }[];
  /** Small further facts (change id, drift observed, decommission stage), JSON-serialisable. */
  evidence?: Record<string, unknown>;
}

/** Where events come from: the CloudEvents `source` and the correlation id of the whole flow. */
export interface EventOrigin {
  /** A URI reference naming the producer, e.g. https://github.com/acme/platform or the guardian function's ARN. */
  source: string;
  /** Ties every event of one run (and its log lines) together, e.g. the workflow run id and attempt. */
  correlationId: string;
  /**
   * What event ids are scoped to; the correlation id when absent. A workflow
   * gives its run id without the attempt, so re-running a job repeats ids
   * and receivers drop what they already had.
   */
  idScope?: string;
}

/** The `data` of a cutover CloudEvent: the evidence summary. */
export interface NotificationData {
  event: NotificationEventName;
  migration: string;
  phase: string | null;
  summary: string;
  weights?: { before?: Weights; after?: Weights };
  verdict?: VerdictSummary;
  rollback?: { origin: RollbackOrigin; reason?: string };
  reason?: string;
  runUrl?: string;
  links?: { label: string; url: string }[];
  evidence?: Record<string, unknown>;
  /** Set when the envelope was shortened to fit a sink's size limit; the status file holds the full evidence. */
  truncated?: boolean;
}

/** A CloudEvents 1.0 envelope in its JSON format, with cutover's correlation extension. */
export interface CloudEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: string;
  time: string;
  /** The migration id. */
  subject: string;
  datacontenttype: "application/json";
  /** Extension attribute (lowercase letters and digits, as CloudEvents requires of names). */
  correlationid: string;
  data: NotificationData;
}

/** The idempotency key: a digest of what the event is about, the same on every retry. */
export function eventId(event: NotificationEvent, origin: EventOrigin): string {
  const digest = createHash("sha256")
    .update(
      [
        origin.source,
        origin.idScope ?? origin.correlationId,
        event.name,
        event.migration,
        event.occurrence,
      ].join("\n"),
    )
    .digest("hex");
  // Shaped as a UUID so receivers that store ids in UUID columns accept it.
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
}

/** Builds the envelope of an event. */
export function toCloudEvent(event: NotificationEvent, origin: EventOrigin): CloudEvent {
  const weights =
    event.weightsBefore || event.weightsAfter
      ? {
          ...(event.weightsBefore ? { before: event.weightsBefore } : {}),
          ...(event.weightsAfter ? { after: event.weightsAfter } : {}),
        }
      : undefined;
  const data: NotificationData = {
    event: event.name,
    migration: event.migration,
    phase: event.phase,
    summary: event.summary,
    ...(weights ? { weights } : {}),
    ...(event.verdict ? { verdict: event.verdict } : {}),
    ...(event.rollbackOrigin
      ? { rollback: { origin: event.rollbackOrigin, ...(event.reason ? { reason: event.reason } : {}) } }
      : {}),
    ...(event.reason && !event.rollbackOrigin ? { reason: event.reason } : {}),
    ...(event.runUrl ? { runUrl: event.runUrl } : {}),
    ...(event.links && event.links.length > 0 ? { links: event.links } : {}),
    ...(event.evidence ? { evidence: event.evidence } : {}),
  };
  return {
    specversion: "1.0",
    id: eventId(event, origin),
    source: origin.source,
    type: `${EVENT_TYPE_PREFIX}${event.name}`,
    time: event.time.toISOString(),
    subject: event.migration,
    datacontenttype: "application/json",
    correlationid: origin.correlationId,
    data,
  };
}

/** The event name an envelope carries. */
export function eventNameOf(envelope: CloudEvent): NotificationEventName {
  return envelope.data.event;
}

/** "old 90 % / new 10 %". */
export function formatWeights(weights: Weights): string {
  return `old ${weights.old} % / new ${weights.new} %`;
}

/** Human title of each event, for Slack and summaries. */
export const EVENT_TITLES: Record<NotificationEventName, string> = {
  "phase-started": "Phase started",
  "shift-applied": "Traffic shifted",
  "gate-verdict": "Gate verdict",
  "rollback-started": "Rollback started",
  "rollback-completed": "Rollback completed",
  "decommission-scaled-down": "Old side scaled down",
  "decommission-deleted": "Old side deleted",
  "drift-detected": "Drift detected",
  "waiting-for-approval": "Waiting for approval",
};
