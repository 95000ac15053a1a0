import { basename, join } from "node:path";
import { InputError } from "../../../src/action/inputs.js";
import { ActionRefusal, runAction } from "../../../src/action/run.js";
import type { LoadTestThresholds } from "../../../src/model/spec.js";
import { runLoadTest } from "../../../src/ops/load-test.js";
import { contract } from "./contract.js";

type ThresholdInput = "p95-ms" | "p99-ms" | "max-error-rate" | "min-rate-ratio";

await runAction(contract, async (ctx) => {
  const number = (name: ThresholdInput, max: number): number | undefined => {
    const text = ctx.inputs.optional(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || value > max) {
      throw new InputError(name, `"${text}" is not a number between 0 and ${max}`);
    }
    return value;
  };
  const thresholds: LoadTestThresholds = {};
  const p95 = number("p95-ms", 600_000);
  const p99 = number("p99-ms", 600_000);
  const errorRate = number("max-error-rate", 1);
  const rateRatio = number("min-rate-ratio", 1);
  if (p95 !== undefined) thresholds.p95Ms = p95;
  if (p99 !== undefined) thresholds.p99Ms = p99;
  if (errorRate !== undefined) thresholds.maxErrorRate = errorRate;
  if (rateRatio !== undefined) thresholds.minRateRatio = rateRatio;
  const scenario = ctx.inputs.optional("scenario");
  const step = ctx.inputs.optional("step");
  const runnerTemp = process.env.RUNNER_TEMP ?? ctx.run.workspace;
  const reportName = `artillery-${basename(scenario ?? step ?? "scenario")
    .replace(/\.ya?ml$/, "")
    .replace(/[^\w.-]/g, "_")}.json`;
  const timeoutSeconds = ctx.inputs.duration("timeout");
  const outcome = await runLoadTest(
    {
      workspace: ctx.run.workspace,
      ...(scenario ? { scenario } : {}),
      ...(ctx.inputs.optional("target") ? { target: ctx.inputs.optional("target")! } : {}),
      ...(ctx.inputs.optional("migration") ? { migrationId: ctx.inputs.optional("migration")! } : {}),
      specPath: ctx.inputs.string("spec"),
      ...(ctx.inputs.optional("phase") ? { phase: ctx.inputs.optional("phase")! } : {}),
      ...(step ? { step } : {}),
      thresholds,
      reportPath: ctx.inputs.optional("report-path") ?? join(runnerTemp, reportName),
      installDir: runnerTemp,
      artilleryVersion: ctx.inputs.string("artillery-version"),
      ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
    },
    { log: ctx.log },
  );
  const { figures, judgement, evidence } = outcome;
  ctx.setOutput("verdict", judgement.verdict);
  ctx.setOutput(
    "reason",
    judgement.reasons.join("; ") || judgement.checks.map((check) => check.reason).join("; "),
  );
  ctx.setOutput("requests", figures.requests);
  ctx.setOutput("codes", figures.codes);
  ctx.setOutput("error-rate", figures.errorRate);
  ctx.setOutput("p50", figures.latency?.p50 ?? "");
  ctx.setOutput("p95", figures.latency?.p95 ?? "");
  ctx.setOutput("p99", figures.latency?.p99 ?? "");
  ctx.setOutput("achieved-rate", Number(judgement.rate.achieved.toFixed(3)));
  ctx.setOutput("requested-rate", Number(judgement.rate.requested.toFixed(3)));
  ctx.setOutput("report-path", evidence.report);
  ctx.setOutput("evidence", evidence);
  if (judgement.verdict !== "pass") {
    throw new ActionRefusal(
      `load test ${evidence.scenario} failed: ${judgement.reasons.join("; ")}`,
      outcome.report,
    );
  }
  return outcome.report;
});
