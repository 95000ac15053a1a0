import { defineContract } from "../../../src/action/contract.js";
import { type InputReader, optionalCheckpointStore } from "../../../src/action/inputs.js";
import { NOTIFICATION_CONTRACT } from "../../../src/notify/action.js";
import { DRIFT_POLICIES, type ReconcileInputs } from "../../../src/ops/reconcile.js";

/** Inputs and outputs of reconcile; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "reconcile",
  description:
    "Compares a migration's recorded status with what AWS reports (weights, the old side's desired count, the new side's alias version): records a change that was applied but never recorded, records and reports drift made outside cutover (failing or warning), and copies the recorded status into the workspace for the steps that follow.",
  inputs: {
    migration: { description: "Id of the migration in the spec.", required: true },
    "on-drift": {
      description:
        "What drift made outside cutover does: fail (record it and fail the step), warn (record it and go on, for rollbacks) or adopt (a person decided: record what AWS holds as the status).",
      default: "fail",
    },
    spec: { description: "Path of the spec, relative to the workspace.", default: "migrations.json" },
    "state-branch": {
      description: "Branch the status files are committed to; the repository's default branch when empty.",
    },
    token: { description: "Token to fetch and push the state branch with; the workflow's github.token." },
    "checkpoint-store": {
      description:
        "Where the AWS-side checkpoint and journal live, as s3://<bucket>/<prefix>: rollbacks the guardian or a break-glass run made are recorded from it.",
    },
    "notification-secrets": NOTIFICATION_CONTRACT.input,
  },
  outputs: {
    outcome: {
      description: "in-sync, recorded (an unrecorded change or a settled drift was recorded) or drift.",
    },
    drift: { description: "The drift made outside cutover, in one sentence; empty when there is none." },
    phase: { description: "Applied phase in the status after reconciling." },
    state: { description: "Phase state in the status after reconciling." },
    weights: { description: 'Weights the status records, as JSON: {"old":90,"new":10}.' },
    "observed-weights": { description: "Weights AWS reports, as JSON." },
    committed: { description: "true when a status commit was pushed." },
    "rolled-back-outside": {
      description:
        "guardian or break-glass when this run recorded a rollback made outside the workflows (the spec then needs realigning); empty otherwise.",
    },
    notifications: NOTIFICATION_CONTRACT.output,
  },
});

export interface ReconcileActionInputs extends ReconcileInputs {
  stateBranch?: string;
  token?: string;
}

/** Parses the inputs into one typed object; every error names its input. */
export function readInputs(inputs: InputReader<keyof typeof contract.inputs>): ReconcileActionInputs {
  return {
    migration: inputs.string("migration"),
    onDrift: inputs.choice("on-drift", DRIFT_POLICIES),
    spec: inputs.string("spec"),
    stateBranch: inputs.optional("state-branch"),
    token: inputs.optional("token"),
    ...optionalCheckpointStore(inputs, "checkpoint-store"),
  };
}
