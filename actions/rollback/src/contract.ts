import { defineContract } from "../../../src/action/contract.js";
import { InputError, type InputReader, optionalCheckpointStore } from "../../../src/action/inputs.js";
import { NOTIFICATION_CONTRACT } from "../../../src/notify/action.js";
import type { RollbackInputs } from "../../../src/ops/rollback.js";

/** Inputs and outputs of rollback; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "rollback",
  description:
    "Rolls a migration back to its last checkpoint, a phase, or all-old: scales a scaled-down old side back up and points a moved Lambda alias back before moving any weight, then writes both weighted records in one change and waits for INSYNC, reporting every step with timings.",
  inputs: {
    migration: { description: "Id of the migration in the spec.", required: true },
    reason: {
      description: "Why traffic is rolled back; recorded in the change comment, the summary and the history.",
      required: true,
    },
    "target-phase": {
      description:
        "What to restore: empty for the last checkpoint in the status, a phase name (its checkpoint, else its shift weight), or all-old for 100 % old.",
    },
    spec: {
      description: "Path of the spec, relative to the workspace; status files live in status/ beside it.",
      default: "migrations.json",
    },
    "insync-timeout": {
      description: "How long to wait for the change to be INSYNC, as a duration (e.g. 300s, 5m).",
      default: "300s",
    },
    "stable-timeout": {
      description: "How long to wait for a scaled-up ECS service to become stable, as a duration.",
      default: "600s",
    },
    "desired-count": {
      description:
        "Desired count for an ECS side scaled to zero when neither the checkpoint nor the status recorded one.",
    },
    "checkpoint-store": {
      description:
        "Where the AWS-side checkpoint lives, as s3://<bucket>/<prefix>: updated after the rollback, and read for an all-old rollback when the status cannot be.",
    },
    "notification-secrets": NOTIFICATION_CONTRACT.input,
  },
  outputs: {
    "previous-weights": { description: 'Share of traffic before, as JSON: {"old":50,"new":50}.' },
    weights: { description: 'Share of traffic after, as JSON: {"old":90,"new":10}.' },
    "change-id": {
      description:
        "The router's change id (a Route 53 change, an ALB listener or rule change); empty when the weights already matched.",
    },
    "insync-at": { description: "When the change was seen INSYNC (ISO 8601); empty when nothing changed." },
    "gate-window-start": {
      description:
        "When metrics reflect the restored weights (ISO 8601): INSYNC plus the records' TTL (60 s for alias records).",
    },
    checkpoint: { description: "JSON checkpoint of the state before the rollback, for the status commit." },
    "no-op": { description: "true when the records already held the restored weights." },
    "lambda-version": {
      description:
        "The Lambda version the new side's alias serves after the rollback (the restored checkpoint's, in this environment); empty when the checkpoint records none.",
    },
    timings: {
      description:
        "JSON: changeSubmittedMs and insyncMs since process start, and every step with its start and duration.",
    },
    notifications: NOTIFICATION_CONTRACT.output,
  },
});

type RollbackInput = keyof typeof contract.inputs;

/** Parses the inputs into one typed object; every error names its input. */
export function readInputs(inputs: InputReader<RollbackInput>): RollbackInputs {
  return {
    migration: inputs.string("migration"),
    reason: inputs.string("reason"),
    targetPhase: inputs.optional("target-phase"),
    spec: inputs.string("spec"),
    insyncTimeoutSeconds: positiveDuration(inputs, "insync-timeout"),
    stableTimeoutSeconds: positiveDuration(inputs, "stable-timeout"),
    fallbackDesiredCount: inputs.integer("desired-count", { min: 1, max: 5000 }, true),
    ...optionalCheckpointStore(inputs, "checkpoint-store"),
  };
}

function positiveDuration(
  inputs: InputReader<RollbackInput>,
  name: "insync-timeout" | "stable-timeout",
): number {
  const seconds = inputs.duration(name);
  if (!seconds || seconds < 1) throw new InputError(name, "must be a duration of at least 1s, e.g. 300s");
  return seconds;
}
