/** Which sinks an event goes to: each sink's filter, applied to the envelope. */
import type { NotificationFilter } from "../model/spec.js";
import type { CloudEvent } from "./events.js";

/** True when a sink with this filter receives the event. No filter lets everything through. */
export function filterAccepts(filter: NotificationFilter | undefined, event: CloudEvent): boolean {
  if (!filter) return true;
  const name = event.data.event;
  if (filter.events && !filter.events.includes(name)) return false;
  if (name === "gate-verdict" && filter.verdicts && event.data.verdict) {
    if (!filter.verdicts.includes(event.data.verdict.verdict)) return false;
  }
  if ((name === "rollback-started" || name === "rollback-completed") && filter.rollbackOrigins) {
    const origin = event.data.rollback?.origin;
    if (origin && !filter.rollbackOrigins.includes(origin)) return false;
  }
  return true;
}
