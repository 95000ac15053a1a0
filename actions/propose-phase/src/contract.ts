import { defineContract } from "../../../src/action/contract.js";
import type { InputReader } from "../../../src/action/inputs.js";
import { NOTIFICATION_CONTRACT } from "../../../src/notify/action.js";

/** Inputs and outputs of propose-phase; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "propose-phase",
  description:
    "Proposes a change of a migration's phase in migrations.json as a pull request (the next phase after a passed bake, or the phase that matches what is applied after a rollback): pushes a bot branch whose only change is that phase and opens or updates the pull request, with the evidence in its body.",
  inputs: {
    migration: { description: "Id of the migration in the spec.", required: true },
    phase: { description: "Phase the spec should name.", required: true },
    reason: { description: "Why, in one line; the start of the pull request body.", required: true },
    evidence: { description: "Gate evidence (JSON) shown in the pull request body." },
    spec: { description: "Path of the spec, relative to the repository root.", default: "migrations.json" },
    base: { description: "Branch the pull request targets; the repository's default branch when empty." },
    token: {
      description: "Token to push the branch and open the pull request with; the workflow's github.token.",
      required: true,
    },
    "notification-secrets": NOTIFICATION_CONTRACT.input,
  },
  outputs: {
    "pull-request": {
      description:
        "Number of the pull request opened or updated; empty when the spec already named the phase.",
    },
    url: { description: "Link to the pull request." },
    branch: { description: "The branch pushed." },
    from: { description: "Phase the spec named on the base branch." },
    notifications: NOTIFICATION_CONTRACT.output,
  },
});

export interface ProposeInputs {
  migration: string;
  phase: string;
  reason: string;
  evidence?: unknown;
  spec: string;
  base?: string;
  token: string;
}

/** Parses the inputs into one typed object; every error names its input. */
export function readInputs(inputs: InputReader<keyof typeof contract.inputs>): ProposeInputs {
  return {
    migration: inputs.string("migration"),
    phase: inputs.string("phase"),
    reason: inputs.string("reason"),
    evidence: inputs.json("evidence"),
    spec: inputs.string("spec"),
    base: inputs.optional("base"),
    token: inputs.string("token"),
  };
}
