/**
 * The "CloudWatch Alarm State Change" event EventBridge delivers, read into
 * what the guardian decides on. Anything else is refused with what was wrong.
 */
import { createHash } from "node:crypto";

/** The fields of an alarm state change the guardian uses. */
export interface AlarmStateChange {
  eventId: string;
  alarmName: string;
  alarmArn: string;
  state: string;
  previousState?: string;
  reason: string;
  reasonData?: unknown;
  /** When the alarm entered the state, as CloudWatch reports it. */
  timestamp: string;
}

/** The event is not one the guardian acts on, or names nothing it guards; nothing was changed. */
export class GuardianRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GuardianRefusal";
  }
}

type Shape = Record<string, unknown>;
const isObject = (value: unknown): value is Shape => typeof value === "object" && value !== null;

/** Reads an EventBridge event as an alarm state change; throws GuardianRefusal naming the field that is wrong. */
export function readAlarmEvent(event: unknown): AlarmStateChange {
  if (!isObject(event)) throw new GuardianRefusal("the event is not a JSON object");
  if (event.source !== "aws.cloudwatch" || event["detail-type"] !== "CloudWatch Alarm State Change") {
    throw new GuardianRefusal(
      `the event is ${JSON.stringify(event.source)} / ${JSON.stringify(event["detail-type"])}; the guardian acts only on aws.cloudwatch "CloudWatch Alarm State Change"`,
    );
  }
  const detail = event.detail;
  if (!isObject(detail) || typeof detail.alarmName !== "string" || !isObject(detail.state)) {
    throw new GuardianRefusal("the event's detail lacks alarmName or state");
  }
  const state = detail.state;
  if (typeof state.value !== "string" || typeof state.timestamp !== "string") {
    throw new GuardianRefusal("the event's detail.state lacks value or timestamp");
  }
  const resources = Array.isArray(event.resources) ? event.resources : [];
  const previous = isObject(detail.previousState) ? detail.previousState.value : undefined;
  return {
    eventId: typeof event.id === "string" ? event.id : "",
    alarmName: detail.alarmName,
    alarmArn: typeof resources[0] === "string" ? resources[0] : "",
    state: state.value,
    ...(typeof previous === "string" ? { previousState: previous } : {}),
    reason: typeof state.reason === "string" ? state.reason : "",
    ...(typeof state.reasonData === "string" ? { reasonData: parseReasonData(state.reasonData) } : {}),
    timestamp: state.timestamp,
  };
}

function parseReasonData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The migration an alarm belongs to, among the ones this guardian guards:
 * alarm names carry the migration id between dashes
 * (`cutover-<environment>-<migration>-<gate>-<metric>-rollback-max`); the
 * longest id that matches wins, so `orders` never claims `orders-api`'s alarm.
 */
export function migrationOfAlarm(alarmName: string, guarded: readonly string[]): string {
  const matches = guarded.filter((id) => alarmName.includes(`-${id}-`)).sort((a, b) => b.length - a.length);
  if (matches.length === 0) {
    throw new GuardianRefusal(
      `alarm ${JSON.stringify(alarmName)} belongs to none of the migrations this guardian guards (${guarded.join(", ") || "none configured"})`,
    );
  }
  return matches[0]!;
}

/**
 * The journal entry id of one alarm state change: the same for every
 * delivery of it (EventBridge retries, a duplicate event, a second rule), so
 * only the first can be journaled.
 */
export function alarmEntryId(change: AlarmStateChange): string {
  const digest = createHash("sha256")
    .update(`${change.alarmName}\n${change.timestamp}`)
    .digest("hex")
    .slice(0, 20);
  return `alarm-${change.timestamp.replace(/[^0-9A-Za-z]/g, "").slice(0, 20)}-${digest}`;
}
