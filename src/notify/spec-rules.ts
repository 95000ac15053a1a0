/**
 * What a reviewer checks in a migration's notifications beyond the schema:
 * sink names unique, and filters whose parts can apply (verdicts only with
 * gate-verdict, rollback origins only with rollback events). Whether the
 * named secrets exist is only known at run time; the action warns then.
 */
import type { JsonPath } from "../core/spec-error.js";
import type { RuleFinding } from "../core/spec-rules.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Findings for `migration.notifications`, with paths under `base` (the migration's path). */
export function notificationRuleFindings(migration: Json, base: JsonPath): RuleFinding[] {
  const findings: RuleFinding[] = [];
  const notifications = migration.notifications;
  if (!isObject(notifications) || !Array.isArray(notifications.sinks)) return findings;
  const firstAt = new Map<string, number>();
  notifications.sinks.forEach((sink, index) => {
    if (!isObject(sink)) return;
    const path: JsonPath = [...base, "notifications", "sinks", index];
    if (typeof sink.name === "string") {
      const first = firstAt.get(sink.name);
      if (first === undefined) firstAt.set(sink.name, index);
      else
        findings.push({
          path: [...path, "name"],
          message: `"${sink.name}" is also the name of notifications.sinks[${first}]`,
          expected:
            "a sink name unique within the migration (it names the sink in logs and the status history)",
        });
    }
    const filter = sink.filter;
    if (!isObject(filter) || !Array.isArray(filter.events)) return;
    const events = filter.events as unknown[];
    if (filter.verdicts !== undefined && !events.includes("gate-verdict")) {
      findings.push({
        path: [...path, "filter", "verdicts"],
        message: "verdicts filter gate-verdict events, which this sink's events leave out",
        expected: 'events that include "gate-verdict", or no verdicts',
      });
    }
    if (
      filter.rollbackOrigins !== undefined &&
      !events.includes("rollback-started") &&
      !events.includes("rollback-completed")
    ) {
      findings.push({
        path: [...path, "filter", "rollbackOrigins"],
        message: "rollbackOrigins filter rollback events, which this sink's events leave out",
        expected: 'events that include "rollback-started" or "rollback-completed", or no rollbackOrigins',
      });
    }
  });
  return findings;
}
