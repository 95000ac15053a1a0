import { defineContract } from "../../../src/action/contract.js";
import type { InputReader } from "../../../src/action/inputs.js";
import type { PlanActionInputs } from "../../../src/ops/plan.js";

/** Inputs and outputs of plan; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "plan",
  description:
    "Validates migrations.json, applies the promotion rules to the change against the recorded status, and posts or updates one sticky pull request comment with the plan (what will change, gates, approvals, whether the current phase earned promotion and on which evidence); fails when the spec is invalid or a change is refused.",
  inputs: {
    spec: { description: "Path of the spec, relative to the workspace.", default: "migrations.json" },
    base: {
      description: "Commit of the base branch to compare the spec with (the pull request's base SHA).",
    },
    "pull-request": { description: "Number of the pull request to comment on; no comment when empty." },
    "state-branch": {
      description: "Branch the status files are committed to; the repository's default branch when empty.",
    },
    token: { description: "Token to read the state branch and comment with; the workflow's github.token." },
  },
  outputs: {
    ok: { description: "true when every change follows the promotion rules." },
    plan: { description: "The plan as JSON." },
    "comment-id": { description: "Id of the sticky comment; empty when none could be posted." },
    "comment-url": { description: "Link to the sticky comment." },
  },
});

export interface PlanInputs extends PlanActionInputs {
  stateBranch?: string;
  token?: string;
}

/** Parses the inputs into one typed object; every error names its input. */
export function readInputs(inputs: InputReader<keyof typeof contract.inputs>): PlanInputs {
  const pullRequest = inputs.integer("pull-request", { min: 1, max: 1_000_000_000 }, true);
  return {
    spec: inputs.string("spec"),
    base: inputs.optional("base"),
    ...(pullRequest !== undefined ? { pullRequest } : {}),
    stateBranch: inputs.optional("state-branch"),
    token: inputs.optional("token"),
  };
}
