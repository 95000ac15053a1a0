import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createAwsClients } from "../../../src/action/aws.js";
import { InputError } from "../../../src/action/inputs.js";
import { type ActionContext, ActionRefusal, runAction } from "../../../src/action/run.js";
import type { GateMode } from "../../../src/core/gate/window.js";
import type { Verdict } from "../../../src/model/status.js";
import { type AnnouncerFor, withActionNotifications } from "../../../src/notify/action.js";
import { evaluateGate } from "../../../src/ops/gate.js";
import { createMetricsSource } from "../../../src/providers/metrics-source.js";
import { createSinkTransport } from "../../../src/providers/notification-transports.js";
import { contract } from "./contract.js";

const VERDICTS: readonly Verdict[] = ["pass", "fail", "rollback", "insufficient-data"];

function failOn(text: string | undefined): Verdict[] {
  const names = (text ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(VERDICTS as readonly string[]).includes(name)) {
      throw new InputError("fail-on", `"${name}" is not a verdict; use any of ${VERDICTS.join(", ")}`);
    }
  }
  return names as Verdict[];
}

await runAction(contract, (ctx) =>
  withActionNotifications(ctx, createSinkTransport, (announcerFor) => checkGate(ctx, announcerFor)),
);

async function checkGate(
  ctx: ActionContext<keyof typeof contract.inputs, keyof typeof contract.outputs>,
  announcerFor: AnnouncerFor,
) {
  const migrationId = ctx.inputs.string("migration");
  const mode = ctx.inputs.choice("mode", ["bake", "check"] as const satisfies readonly GateMode[]);
  const failVerdicts = failOn(ctx.inputs.optional("fail-on"));
  const windowStart = ctx.inputs.timestamp("window-start");
  const windowEnd = ctx.inputs.timestamp("window-end");
  const windowSeconds = ctx.inputs.duration("window");
  const region = ctx.inputs.optional("region");
  const clients = createAwsClients(region ? { region } : {});
  const outcome = await evaluateGate(
    {
      specPath: resolve(ctx.run.workspace, ctx.inputs.string("spec")),
      migrationId,
      ...(ctx.inputs.optional("gate") ? { gate: ctx.inputs.optional("gate")! } : {}),
      mode,
      ...(windowStart ? { windowStart } : {}),
      ...(windowEnd ? { windowEnd } : {}),
      ...(windowSeconds !== undefined ? { windowSeconds } : {}),
    },
    {
      metrics: createMetricsSource("cloudwatch", clients),
      log: ctx.log,
      announcerFor,
      ...(ctx.run.runUrl ? { runUrl: ctx.run.runUrl } : {}),
    },
  );
  const { evidence } = outcome;
  const evidencePath = join(
    process.env.RUNNER_TEMP ?? ctx.run.workspace,
    `gate-${migrationId}-${evidence.gate}.json`,
  );
  await writeFile(evidencePath, `${JSON.stringify(evidence, null, 2)}\n`);
  ctx.setOutput("verdict", evidence.verdict);
  ctx.setOutput(
    "reason",
    evidence.reasons.join("; ") || `all ${evidence.metrics.length} metrics inside their pass thresholds`,
  );
  ctx.setOutput("gate", evidence.gate);
  ctx.setOutput("evidence", evidence);
  ctx.setOutput("evidence-path", evidencePath);
  ctx.setOutput("samples", evidence.samples.new ?? 0);
  ctx.setOutput("window-start", evidence.window.start);
  ctx.setOutput("window-end", evidence.window.end);
  ctx.setOutput("bake-complete", evidence.bake?.complete ?? false);
  ctx.setOutput("bake-elapsed", evidence.bake?.elapsed ?? false);
  ctx.setOutput("bake-ends-at", evidence.bake?.endsAt ?? "");
  if (failVerdicts.includes(evidence.verdict)) {
    throw new ActionRefusal(
      `gate "${evidence.gate}" verdict ${evidence.verdict} (fail-on: ${failVerdicts.join(",")})`,
      outcome.report,
    );
  }
  return outcome.report;
}
