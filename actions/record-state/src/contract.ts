import { defineContract } from "../../../src/action/contract.js";
import type { InputReader } from "../../../src/action/inputs.js";
import type { Evidence } from "../../../src/model/status.js";
import { NOTIFICATION_CONTRACT } from "../../../src/notify/action.js";
import { type RecordStateActionInputs, STEP_EVENTS, STEP_OUTCOMES } from "../../../src/ops/record-state.js";

/** Inputs and outputs of record-state; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "record-state",
  description:
    "Records what a step did (deploy, load test, shift, gate verdict, rollback, decommission) as state-machine events in the migration's status file and commits it to the state branch, re-applying the change when another run committed first; creates a GitHub deployment for shifts and rollbacks when an environment is given.",
  inputs: {
    migration: { description: "Id of the migration in the spec.", required: true },
    event: {
      description:
        "What happened: deployed, load-tested, shifted, gate-checked, passed, extended, rolled-back, decommission-started or decommissioned.",
      required: true,
    },
    phase: { description: "Phase the step worked on; the applied phase when empty." },
    outcome: { description: "The step's outcome: success, failure or cancelled.", default: "success" },
    reason: { description: "Why, in people's words; recorded in the history (rollbacks and failures)." },
    step: { description: "load-tested: the load-test step (scenario path or 0-based index)." },
    "target-phase": {
      description:
        "rolled-back: what the rollback restored (empty for the last checkpoint, a phase name, or all-old).",
    },
    "step-outputs": {
      description: "The recorded step's outputs as JSON (toJSON(steps.<id>.outputs)).",
      default: "{}",
    },
    "gate-evidence": {
      description: "rolled-back: the gate evidence (JSON) that asked for the rollback, recorded before it.",
    },
    environment: {
      description:
        "GitHub environment of the phase; when given, shifts and rollbacks create a deployment and its status there.",
    },
    spec: { description: "Path of the spec, relative to the workspace.", default: "migrations.json" },
    "state-branch": {
      description: "Branch the status files are committed to; the repository's default branch when empty.",
    },
    token: {
      description:
        "Token to push the status commit and create deployments with; the workflow's github.token.",
    },
    "notification-secrets": NOTIFICATION_CONTRACT.input,
  },
  outputs: {
    phase: {
      description:
        "Phase migrations.json should name to match what is applied (after a rollback, the phase whose weights were restored).",
    },
    "applied-phase": { description: "Applied phase in the status after recording." },
    state: { description: "Phase state after recording." },
    weights: { description: 'Weights in the status after recording, as JSON: {"old":90,"new":10}.' },
    committed: {
      description: "true when a status commit was pushed; false when there was nothing new to record.",
    },
    revision: { description: "Commit of the state branch holding the status." },
    recorded: { description: "Comma-separated state-machine events and notes recorded." },
    "deployment-id": { description: "Id of the GitHub deployment created, empty when none." },
    refused: {
      description:
        "The rules that refused the status commit of a successful rollback (the rollback stands; the step succeeds with a warning and the status to commit in its summary); empty otherwise.",
    },
    notifications: NOTIFICATION_CONTRACT.output,
  },
});

/** What the operation needs, and where the status is committed. */
export interface RecordStateInputs extends RecordStateActionInputs {
  stateBranch?: string;
  token?: string;
}

function stringRecord(value: unknown, input: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new Error(
      `input "${input}": expected a JSON object of step outputs, got ${JSON.stringify(value).slice(0, 80)}`,
    );
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [
      key,
      typeof item === "string" ? item : JSON.stringify(item),
    ]),
  );
}

/** Parses the inputs into one typed object; every error names its input. */
export function readInputs(inputs: InputReader<keyof typeof contract.inputs>): RecordStateInputs {
  const gateEvidence = inputs.json("gate-evidence");
  if (gateEvidence !== undefined && (typeof gateEvidence !== "object" || gateEvidence === null)) {
    throw new Error('input "gate-evidence": expected the gate evidence as a JSON object');
  }
  return {
    migration: inputs.string("migration"),
    event: inputs.choice("event", STEP_EVENTS),
    phase: inputs.optional("phase"),
    outcome: inputs.choice("outcome", STEP_OUTCOMES),
    reason: inputs.optional("reason"),
    step: inputs.optional("step"),
    targetPhase: inputs.optional("target-phase"),
    stepOutputs: stringRecord(inputs.json("step-outputs"), "step-outputs"),
    gateEvidence: gateEvidence as Evidence | undefined,
    environment: inputs.optional("environment"),
    spec: inputs.string("spec"),
    stateBranch: inputs.optional("state-branch"),
    token: inputs.optional("token"),
  };
}
