import { defineContract } from "../../../src/action/contract.js";
import { NOTIFICATION_CONTRACT } from "../../../src/notify/action.js";

/** Inputs and outputs of the metric-gate action; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "metric-gate",
  description:
    "Judges a migration's gate on CloudWatch metrics over its window (from INSYNC + TTL of the last shift to now): pass, fail, rollback or insufficient-data, with the evidence.",
  inputs: {
    migration: { description: "Migration id in the spec.", required: true },
    spec: { description: "Path of the spec, relative to the workspace.", default: "migrations.json" },
    gate: {
      description:
        "Gate name in the migration's gates; defaults to the gate of the bake step of the applied phase.",
    },
    mode: {
      description:
        "bake: judge the phase so far and say whether the bake is complete. check: one short look after a shift (with window, the first <window> after the gate start, waiting for it to pass).",
      default: "bake",
    },
    "window-start": { description: "ISO-8601 start of the window; overrides the status's gate start." },
    "window-end": { description: "ISO-8601 end of the window; defaults to now." },
    window: {
      description:
        "Window length such as 10m: in bake mode the last <window>, in check mode the first <window> after the gate start.",
    },
    "fail-on": {
      description:
        "Comma-separated verdicts that fail the step (e.g. rollback,fail). Empty: the step reports the verdict as an output and fails only on errors.",
    },
    region: { description: "AWS region of the metrics; defaults to AWS_REGION." },
    "notification-secrets": NOTIFICATION_CONTRACT.input,
  },
  outputs: {
    verdict: { description: "pass, fail, rollback or insufficient-data." },
    reason: { description: "One line: why the verdict is what it is." },
    gate: { description: "The gate that was evaluated." },
    evidence: {
      description:
        "The evidence as JSON (queries, window, sample counts, values, thresholds, verdicts) for the status history.",
    },
    "evidence-path": { description: "File holding the evidence JSON, for upload as an artifact." },
    samples: { description: "Requests the new side served over the window." },
    "window-start": { description: "Start of the judged window (ISO-8601)." },
    "window-end": { description: "End of the judged window (ISO-8601)." },
    "bake-complete": {
      description:
        "true when the bake duration has elapsed and the gate passed over the whole phase (bake mode).",
    },
    "bake-elapsed": { description: "true when the bake duration has elapsed (bake mode)." },
    "bake-ends-at": {
      description: "When the bake completes if the gate keeps passing (ISO-8601), empty when unknown.",
    },
    notifications: NOTIFICATION_CONTRACT.output,
  },
});
