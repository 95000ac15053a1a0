import { defineContract } from "../../../src/action/contract.js";
import { NOTIFICATION_CONTRACT } from "../../../src/notify/action.js";

/** The decommission action's inputs and outputs; action.yml declares exactly these. */
export const contract = defineContract({
  name: "decommission",
  description:
    "Retire the old side of a migration: scale-down (to zero, once it has no weight and no traffic; starts the hold) then delete (once the hold has elapsed with no rollback and still no traffic).",
  inputs: {
    migration: { description: "Id of the migration in the spec.", required: true },
    stage: { description: "scale-down or delete.", required: true },
    spec: { description: "Path of migrations.json, relative to the workspace.", default: "migrations.json" },
    "hold-started-at": {
      description:
        "delete: when the hold started (ISO-8601), for a run before the status recorded it; the later of this and the status counts.",
    },
    "deregister-task-definitions": {
      description:
        "delete: deregister the service's task definition revisions (true/false); defaults to the spec's decommission step.",
    },
    "stable-timeout": {
      description: "Longest wait for the service to reach zero tasks, or to become inactive.",
      default: "10m",
    },
    "notification-secrets": NOTIFICATION_CONTRACT.input,
  },
  outputs: {
    stage: { description: "The stage that ran." },
    "no-op": { description: "true when the stage had already been done and nothing changed." },
    checkpoint: {
      description:
        "scale-down: JSON checkpoint with ecsDesiredCount to restore on rollback; commit it to the status.",
    },
    "desired-count-before": {
      description: "scale-down: the old side's desired count before it was scaled to zero.",
    },
    "hold-started-at": { description: "When the hold started (ISO-8601)." },
    "hold-ends-at": { description: "scale-down: when the hold ends and delete becomes possible (ISO-8601)." },
    "deleted-at": { description: "delete: when the service was deleted (ISO-8601)." },
    "deregistered-task-definitions": {
      description: "delete: JSON list of the task definition ARNs deregistered.",
    },
    decommission: {
      description:
        "JSON for the status's decommission field (stage, holdStartedAt, desiredCountBefore, deletedAt).",
    },
    evidence: { description: "JSON evidence: every precondition with its figures, and the traffic query." },
    notifications: NOTIFICATION_CONTRACT.output,
  },
});
