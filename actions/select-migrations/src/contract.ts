import { defineContract } from "../../../src/action/contract.js";
import type { InputReader } from "../../../src/action/inputs.js";
import type { Selection } from "../../../src/ops/select-migrations.js";

/** Inputs and outputs of select-migrations; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "select-migrations",
  description:
    "Lists the migrations a run works on as a job matrix: those whose phase changed since a commit, those baking (from the recorded status), or one named migration, each with its phase's environment, deploy flag, load-test scenarios, shift weight and gate.",
  inputs: {
    select: {
      description:
        "changed (phase differs from the base commit), baking (recorded state is baking, or decommissioning with the old side held scaled down) or named.",
      required: true,
    },
    spec: { description: "Path of the spec, relative to the workspace.", default: "migrations.json" },
    base: { description: "changed: the commit to compare with (the push's before)." },
    migration: {
      description: "named: the migration id (required). baking: only this migration, when given.",
    },
    "target-phase": {
      description: "named: a phase the migration must have (or all-old), checked before a rollback.",
    },
    "state-branch": {
      description: "Branch the status files are committed to; the repository's default branch when empty.",
    },
    token: { description: "Token to fetch the state branch with (baking); the workflow's github.token." },
  },
  outputs: {
    matrix: {
      description:
        "JSON list of {migration, phase, environment, deploy, scenarios, weight, gate}, for strategy.matrix.include.",
    },
    count: { description: "Number of migrations selected." },
    migrations: { description: "Comma-separated migration ids selected." },
  },
});

export interface SelectInputs {
  select: Selection;
  spec: string;
  base?: string;
  migration?: string;
  targetPhase?: string;
  stateBranch?: string;
  token?: string;
}

/** Parses the inputs into one typed object; every error names its input. */
export function readInputs(inputs: InputReader<keyof typeof contract.inputs>): SelectInputs {
  return {
    select: inputs.choice("select", ["changed", "baking", "named"] as const),
    spec: inputs.string("spec"),
    base: inputs.optional("base"),
    migration: inputs.optional("migration"),
    targetPhase: inputs.optional("target-phase"),
    stateBranch: inputs.optional("state-branch"),
    token: inputs.optional("token"),
  };
}
