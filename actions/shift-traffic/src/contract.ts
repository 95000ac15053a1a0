import { defineContract } from "../../../src/action/contract.js";
import type { InputReader } from "../../../src/action/inputs.js";
import { InputError, optionalCheckpointStore } from "../../../src/action/inputs.js";
import { NOTIFICATION_CONTRACT } from "../../../src/notify/action.js";
import type { ShiftTrafficInputs } from "../../../src/ops/shift-traffic.js";

/** Inputs and outputs of shift-traffic; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "shift-traffic",
  description:
    "Moves a migration's traffic to a weight (percent of the new side, or a phase's shift step) by writing both weights in one change of the migration's router (Route 53 weighted records, ALB weighted target groups), after checking the receiving side can serve; waits until the change is in effect and reports when the gate window starts.",
  inputs: {
    migration: { description: "Id of the migration in the spec.", required: true },
    weight: {
      description: "Target share of the new side in percent, 0 to 100. Give this or phase, not both.",
    },
    phase: {
      description: "Name of a phase whose shift step gives the target weight. Give this or weight, not both.",
    },
    spec: {
      description: "Path of the spec, relative to the workspace; status files live in status/ beside it.",
      default: "migrations.json",
    },
    "insync-timeout": {
      description: "How long to wait for the change to be INSYNC, as a duration (e.g. 300s, 5m).",
      default: "300s",
    },
    "checkpoint-store": {
      description:
        "Where the AWS-side checkpoint the guardian restores lives, as s3://<bucket>/<prefix>. Written after every change; empty: no guardian for this migration.",
    },
    "notification-secrets": NOTIFICATION_CONTRACT.input,
  },
  outputs: {
    "previous-weights": { description: 'Share of traffic before, as JSON: {"old":100,"new":0}.' },
    weights: { description: 'Share of traffic after, as JSON: {"old":90,"new":10}.' },
    "change-id": {
      description:
        "The router's change id (a Route 53 change, an ALB listener or rule change); empty when nothing changed.",
    },
    "insync-at": { description: "When the change was seen INSYNC (ISO 8601); empty when nothing changed." },
    "gate-window-start": {
      description:
        "When the gate window may start (ISO 8601): INSYNC plus the records' TTL (60 s for alias records).",
    },
    checkpoint: {
      description:
        "JSON checkpoint of the state before the change (phase, weights, record snapshots, target versions and counts), for the status commit.",
    },
    "no-op": {
      description: "true when the records already held the target weights and nothing was changed.",
    },
    notifications: NOTIFICATION_CONTRACT.output,
  },
});

/** Parses the inputs into one typed object; every error names its input. */
export function readInputs(inputs: InputReader<keyof typeof contract.inputs>): ShiftTrafficInputs {
  const weight = inputs.integer("weight", { min: 0, max: 100 }, true);
  const phase = inputs.optional("phase");
  if (weight !== undefined && phase !== undefined) {
    throw new InputError("phase", `give either weight (${weight}) or phase ("${phase}"), not both`);
  }
  if (weight === undefined && phase === undefined) {
    throw new InputError(
      "weight",
      "give the target weight in percent (0 to 100), or a phase name in input phase",
    );
  }
  return {
    migration: inputs.string("migration"),
    target: weight !== undefined ? { kind: "weight", percent: weight } : { kind: "phase", phase: phase! },
    spec: inputs.string("spec"),
    insyncTimeoutSeconds: positiveDuration(inputs, "insync-timeout"),
    ...optionalCheckpointStore(inputs, "checkpoint-store"),
  };
}

function positiveDuration(inputs: InputReader<keyof typeof contract.inputs>, name: "insync-timeout"): number {
  const seconds = inputs.duration(name);
  if (!seconds || seconds < 1) throw new InputError(name, "must be a duration of at least 1s, e.g. 300s");
  return seconds;
}
