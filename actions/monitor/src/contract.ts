import { defineContract } from "../../../src/action/contract.js";
import type { InputReader } from "../../../src/action/inputs.js";
import type { Verdict } from "../../../src/model/status.js";
import type { MonitorInputs } from "../../../src/ops/monitor.js";

const VERDICTS: readonly Verdict[] = ["pass", "fail", "rollback", "insufficient-data"];

/** Inputs and outputs of monitor; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "monitor",
  description:
    "Decides what a scheduled look at a migration does, from the gate's verdict and the recorded status: rollback, passed (with the next phase to propose), extend (insufficient data), bake (keep baking), delete (a decommission hold is over) or hold.",
  inputs: {
    migration: { description: "Id of the migration in the spec.", required: true },
    verdict: {
      description:
        "The gate's verdict (metric-gate output verdict): pass, fail, rollback or insufficient-data; empty when no gate ran.",
    },
    "bake-complete": {
      description:
        "metric-gate output bake-complete: true when the bake has elapsed and the gate passed over the whole phase.",
      default: "false",
    },
    reason: { description: "metric-gate output reason, quoted in the decision." },
    spec: {
      description: "Path of the spec, relative to the workspace; the status is read from status/ beside it.",
      default: "migrations.json",
    },
  },
  outputs: {
    decision: { description: "rollback, passed, extend, bake, delete, hold or none." },
    event: {
      description:
        "The record-state event to record (rolled-back, passed, extended, gate-checked, decommissioned); empty when none.",
    },
    reason: { description: "Why, in one line." },
    "next-phase": { description: "After passed: the phase to propose; empty when there is none." },
  },
});

/** Parses the inputs into one typed object; every error names its input. */
export function readInputs(inputs: InputReader<keyof typeof contract.inputs>): MonitorInputs {
  const verdict = inputs.choice("verdict", VERDICTS, true);
  const reason = inputs.optional("reason");
  return {
    migration: inputs.string("migration"),
    spec: inputs.string("spec"),
    gate: {
      ...(verdict ? { verdict } : {}),
      bakeComplete: inputs.boolean("bake-complete") ?? false,
      ...(reason ? { reason } : {}),
    },
  };
}
