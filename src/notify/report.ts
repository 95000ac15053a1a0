/**
 * Deliveries in the places people and record-state look: a table in the job
 * summary, and the step's `notifications` output (JSON) that record-state
 * reads from the step's outputs and records in the status history.
 */
import type { HistoryEntry } from "../model/status.js";
import type { DeliveryRecord } from "./announcer.js";

/** Name of the output every notifying action sets. */
export const NOTIFICATIONS_OUTPUT = "notifications";

/** The output's value: every delivery of the step. */
export function notificationsOutput(deliveries: readonly DeliveryRecord[]): string {
  return JSON.stringify(deliveries);
}

/** The job summary table of the deliveries, or nothing when there were none. */
export function deliveriesTable(
  deliveries: readonly DeliveryRecord[],
): { caption: string; rows: string[][] } | undefined {
  if (deliveries.length === 0) return undefined;
  return {
    caption: "Notifications",
    rows: [
      ["Sink", "Event", "Result", "Attempts", "Event id"],
      ...deliveries.map((delivery) => [
        `${delivery.sink} (${delivery.kind})`,
        delivery.event,
        delivery.delivered ? "delivered" : `not delivered: ${delivery.error ?? "unknown"}`,
        String(delivery.attempts),
        delivery.id,
      ]),
    ],
  };
}

/** Appends the deliveries to a report (tables and, for failures, a line of what was found). */
export function withDeliveries<
  R extends { tables?: { caption?: string; rows: string[][] }[]; found?: string[] },
>(report: R, deliveries: readonly DeliveryRecord[]): R {
  const table = deliveriesTable(deliveries);
  if (!table) return report;
  const failed = deliveries.filter((delivery) => !delivery.delivered);
  return {
    ...report,
    tables: [...(report.tables ?? []), table],
    ...(failed.length > 0
      ? {
          found: [
            ...(report.found ?? []),
            `${failed.length} notification${failed.length === 1 ? "" : "s"} could not be delivered (${failed.map((delivery) => delivery.sink).join(", ")}); the step went on.`,
          ],
        }
      : {}),
  };
}

/** The deliveries a step's `notifications` output holds; anything unreadable yields none (bookkeeping never blocks). */
export function readNotificationsOutput(text: string | undefined): DeliveryRecord[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (item): item is DeliveryRecord =>
        typeof item === "object" &&
        item !== null &&
        typeof (item as DeliveryRecord).sink === "string" &&
        typeof (item as DeliveryRecord).id === "string" &&
        typeof (item as DeliveryRecord).delivered === "boolean",
    );
  } catch {
    return [];
  }
}

/** The history note for the failed deliveries of a step not yet recorded; undefined when there are none. */
export function notificationFailureNote(
  deliveries: readonly DeliveryRecord[],
  history: readonly HistoryEntry[],
): Omit<HistoryEntry, "at" | "from" | "to" | "phase"> | undefined {
  const recorded = new Set(
    history
      .filter((entry) => entry.event === "notification-failed")
      .flatMap((entry) => {
        const failures = (entry.evidence as { failures?: { id?: unknown; sink?: unknown }[] } | undefined)
          ?.failures;
        return Array.isArray(failures) ? failures.map((failure) => `${failure.sink}/${failure.id}`) : [];
      }),
  );
  const failed = deliveries.filter(
    (delivery) => !delivery.delivered && !recorded.has(`${delivery.sink}/${delivery.id}`),
  );
  if (failed.length === 0) return undefined;
  return {
    event: "notification-failed",
    reason: failed
      .map((delivery) => `${delivery.event} to ${delivery.sink}: ${delivery.error ?? "not delivered"}`)
      .join("; "),
    evidence: {
      kind: "notification",
      failures: failed.map((delivery) => ({
        sink: delivery.sink,
        sinkKind: delivery.kind,
        event: delivery.event,
        id: delivery.id,
        attempts: delivery.attempts,
        error: delivery.error ?? "",
      })),
    },
  };
}
