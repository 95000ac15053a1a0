import { defineContract } from "../../../src/action/contract.js";

/** Inputs and outputs of the load-test action; action.yml must say exactly the same. */
export const contract = defineContract({
  name: "load-test",
  description:
    "Runs an Artillery scenario from load-tests/ against a target URL and judges it from the JSON report (latency, errors, achieved rate) against the spec's load-test thresholds.",
  inputs: {
    target: {
      description:
        "Base URL to test, e.g. https://staging.example.com; defaults to the step's target in the spec.",
    },
    scenario: {
      description: "Artillery scenario file relative to the workspace, e.g. load-tests/smoke.yml.",
    },
    migration: { description: "Migration id whose load-test step gives the scenario and thresholds." },
    spec: { description: "Path of the spec, relative to the workspace.", default: "migrations.json" },
    phase: {
      description: "Phase holding the load-test step; defaults to the spec's phase of the migration.",
    },
    step: {
      description:
        "The load-test step: its 0-based index among the phase's load-test steps, or its scenario path.",
    },
    "p95-ms": { description: "Largest p95 latency in ms; overrides the step's thresholds.p95Ms." },
    "p99-ms": { description: "Largest p99 latency in ms; overrides the step's thresholds.p99Ms." },
    "max-error-rate": {
      description:
        "Largest fraction of failed requests (0.01 = 1 %); overrides the step's thresholds.maxErrorRate.",
    },
    "min-rate-ratio": {
      description:
        "Smallest achieved/requested arrival rate (0.95 = 95 %); overrides the step's thresholds.minRateRatio.",
    },
    "report-path": {
      description:
        "Where Artillery writes its JSON report, relative to the workspace; defaults to RUNNER_TEMP/artillery-<scenario>.json.",
    },
    "artillery-version": {
      description: "Artillery version installed with npm when neither node_modules/.bin nor PATH has one.",
      default: "2.0.34",
    },
    timeout: {
      description:
        "Stop Artillery after this long (e.g. 10m); defaults to the scenario's planned duration plus 2m.",
    },
  },
  outputs: {
    verdict: { description: "pass or fail." },
    reason: { description: "One line: the checks that failed, or the figures of a pass." },
    requests: { description: "Requests sent." },
    codes: { description: "HTTP status codes and their counts, as JSON." },
    "error-rate": {
      description: "Fraction of requests that failed (non-2xx/3xx responses and transport errors).",
    },
    p50: { description: "Median latency in ms (empty when nothing answered)." },
    p95: { description: "p95 latency in ms (empty when nothing answered)." },
    p99: { description: "p99 latency in ms (empty when nothing answered)." },
    "achieved-rate": { description: "Virtual-user arrivals per second achieved." },
    "requested-rate": { description: "Virtual-user arrivals per second the scenario's phases ask for." },
    "report-path": { description: "The Artillery JSON report, for upload as an artifact." },
    evidence: { description: "The evidence as JSON (figures, thresholds, verdict) for the status history." },
  },
});
