// Events and sinks shared by the notification tests.
import type { Migration } from "../../src/model/spec.js";
import type { EventOrigin, NotificationEvent } from "../../src/notify/events.js";

export const ORIGIN: EventOrigin = {
  source: "https://github.com/acme/platform",
  correlationId: "4242-1",
  idScope: "run-4242",
};

export function gateVerdict(overrides: Partial<NotificationEvent> = {}): NotificationEvent {
  return {
    name: "gate-verdict",
    migration: "orders-api",
    phase: "canary-10",
    time: new Date("2026-03-01T12:00:00Z"),
    occurrence: "window-end 2026-03-01T12:00:00.000Z",
    summary: "Gate standard: rollback (error-rate 0.031 over 0.02)",
    weightsBefore: { old: 90, new: 10 },
    weightsAfter: { old: 90, new: 10 },
    verdict: {
      verdict: "rollback",
      gate: "standard",
      samples: 5400,
      figures: [
        {
          metric: "error-rate",
          value: 0.031,
          pass: "≤ 0.01",
          rollback: "≤ 0.02",
          verdict: "rollback",
          samples: 5400,
        },
        { metric: "latency-p95", value: 212, pass: "≤ 500", rollback: "≤ 1000", verdict: "pass" },
      ],
    },
    runUrl: "https://github.com/acme/platform/actions/runs/4242",
    ...overrides,
  };
}

export function migrationWith(
  notifications: Migration["notifications"],
): Pick<Migration, "id" | "notifications"> {
  return { id: "orders-api", notifications };
}
