/**
 * Act one: the example migration through every phase. Staging load tests
 * against the new side alone, then 10 %, 50 % and 100 % with bakes gated on
 * live metrics, then decommissioning (scale to zero, hold, delete), while
 * background traffic flows through the public endpoint the whole time.
 */

import { readFile } from "node:fs/promises";
import { DescribeServicesCommand, ECSClient } from "@aws-sdk/client-ecs";
import type { MigrationsFile } from "../model/spec.js";
import type { BackgroundTraffic, FailureAccount, ObservedSplit } from "./background.js";
import { type DemoContext, DemoStepError, type PhaseOutcome, seconds, sleep } from "./context.js";
import {
  bake,
  decommissionStage,
  deployNewSide,
  loadTest,
  promote,
  reconcile,
  shift,
  syncCheckout,
} from "./steps.js";
import type { DemoMigrationNames } from "./world.js";

export interface ActOneResult {
  passed: boolean;
  /** Why the act stopped early, when it did. */
  error?: string;
  phases: PhaseOutcome[];
  /** Status of the old ECS service at the end, as the sandbox's ECS API reports it. */
  oldServiceStatus: string;
  /** Split of the background traffic over the whole act. */
  split: ObservedSplit;
  failures: FailureAccount;
}

/** Runs one phase, timing it and noting its outcome; a failed step ends the phase as "error". */
async function phase(
  context: DemoContext,
  migration: string,
  name: string,
  body: () => Promise<{ verdict: PhaseOutcome["verdict"]; detail: string }>,
  act: 1 | 2 = 1,
): Promise<PhaseOutcome> {
  const startedAt = Date.now();
  let outcome: { verdict: PhaseOutcome["verdict"]; detail: string };
  try {
    outcome = await body();
  } catch (error) {
    if (!(error instanceof DemoStepError)) throw error;
    context.progress.fail(error.message);
    outcome = { verdict: "error", detail: error.message };
  }
  const status = await readAppliedStatus(context, migration);
  const result: PhaseOutcome = {
    act,
    migration,
    phase: name,
    verdict: outcome.verdict,
    state: status?.phase === name ? status.state : (status?.state ?? "unknown"),
    startedAt,
    elapsedMs: Date.now() - startedAt,
    detail: outcome.detail,
  };
  context.phases.push(result);
  return result;
}

/** The status as the checkout holds it after the last record (the state store keeps it in sync). */
export async function readAppliedStatus(
  context: DemoContext,
  migration: string,
): Promise<{ phase: string | null; state: string } | undefined> {
  try {
    return JSON.parse(await readFile(`${context.workspace.repo}/status/${migration}.json`, "utf8"));
  } catch {
    return undefined;
  }
}

/** The staging phase: deploy the new side, then the load tests the spec lists, against the new side alone. */
export async function stagingPhase(
  context: DemoContext,
  spec: MigrationsFile,
  names: DemoMigrationNames,
  act: 1 | 2,
): Promise<PhaseOutcome> {
  const migration = spec.migrations.find((candidate) => candidate.id === names.id)!;
  const staging = migration.phases.find((candidate) => candidate.name === "staging")!;
  const target = context.sandbox.dataPlaneUrls[names.stagingRecordName];
  context.progress.heading(
    `${names.id} · phase staging (deploy and load tests against ${names.stagingRecordName})`,
  );
  return phase(
    context,
    names.id,
    "staging",
    async () => {
      if (!target) throw new DemoStepError(`the sandbox has no data plane for ${names.stagingRecordName}`);
      await promote(context, names.id, "staging");
      await deployNewSide(context, names.id, "staging");
      const lines: string[] = [];
      for (const step of staging.steps) {
        if (step.kind !== "load-test") continue;
        const result = await loadTest(context, names.id, "staging", step.scenario, target);
        lines.push(result.line.split(" — ")[0]!);
      }
      return { verdict: "pass", detail: `deployed; load tests ${lines.join(", ")}` };
    },
    act,
  );
}

/** A traffic phase: promote, shift, bake on the gate until it passes (or asks for a rollback). */
export async function trafficPhase(
  context: DemoContext,
  names: DemoMigrationNames,
  traffic: BackgroundTraffic,
  options: { phase: string; weight: number; bakeSeconds: number; act: 1 | 2 },
): Promise<PhaseOutcome> {
  context.progress.heading(
    `${names.id} · phase ${options.phase} (new side ${options.weight} %, bake ${options.bakeSeconds} s)`,
  );
  return phase(
    context,
    names.id,
    options.phase,
    async () => {
      await promote(context, names.id, options.phase);
      await reconcile(context, names.id);
      const moved = await shift(context, names.id, options.phase, options.weight);
      const outcome = await bake(context, {
        migration: names.id,
        phase: options.phase,
        weight: options.weight,
        bakeSeconds: options.bakeSeconds,
        gateWindowStart: moved.gateWindowStart,
        traffic,
      });
      const split = traffic.split(moved.gateWindowStart.getTime());
      const observed = `observed new ${split.newPercent.toFixed(1)} % of ${split.total}`;
      return { verdict: outcome.verdict, detail: `${outcome.last.figures}; ${observed}` };
    },
    options.act,
  );
}

async function describeOldService(context: DemoContext, names: DemoMigrationNames): Promise<string> {
  const env = context.sandbox.env;
  const client = new ECSClient({
    endpoint: context.sandbox.endpoint,
    region: env.AWS_REGION ?? "us-east-1",
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? "sandbox",
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "sandbox",
    },
  });
  try {
    const answer = await client.send(
      new DescribeServicesCommand({ cluster: names.cluster, services: [names.service] }),
    );
    const service = answer.services?.[0];
    if (service)
      return `${service.status ?? "?"} (desired ${service.desiredCount ?? "?"}, running ${service.runningCount ?? "?"})`;
    return `missing (${answer.failures?.[0]?.reason ?? "no answer"})`;
  } finally {
    client.destroy();
  }
}

/** The decommission phase: scale-down, the hold (rollback stays possible), delete. */
export async function decommissionPhase(
  context: DemoContext,
  names: DemoMigrationNames,
): Promise<PhaseOutcome> {
  const { progress, profile } = context;
  progress.heading(`${names.id} · phase decommission (scale to zero, hold ${profile.holdSeconds} s, delete)`);
  return phase(context, names.id, "decommission", async () => {
    await promote(context, names.id, "decommission");
    await reconcile(context, names.id);
    // The quiet window must have passed since the old side's last request.
    await sleep(profile.quietWindowSeconds * 1000);
    const down = await decommissionStage(context, names.id, "scale-down");
    const holdEnds = new Date(down.outputs["hold-ends-at"] ?? Date.now()).getTime() + 1200;
    const holdMs = Math.max(1, holdEnds - Date.now());
    while (Date.now() < holdEnds) {
      progress.bar(
        "hold",
        1 - (holdEnds - Date.now()) / holdMs,
        `rollback possible until ${seconds(Math.max(0, holdEnds - Date.now()))} from now`,
      );
      await sleep(250);
    }
    progress.bar("hold", 1, "over");
    progress.endBar();
    await decommissionStage(context, names.id, "delete");
    const service = await describeOldService(context, names);
    progress.ok(`ECS service ${names.cluster}/${names.service}: ${service}`);
    return {
      verdict: "pass",
      detail: `scaled down, held ${profile.holdSeconds} s, deleted; service ${service}`,
    };
  });
}

/** Runs act one; stops at the first phase that does not pass. */
export async function actOne(
  context: DemoContext,
  spec: MigrationsFile,
  names: DemoMigrationNames,
  traffic: BackgroundTraffic,
): Promise<ActOneResult> {
  const startedAt = Date.now();
  const { profile } = context;
  const outcomes: PhaseOutcome[] = [];
  const run = async () => {
    outcomes.push(await stagingPhase(context, spec, names, 1));
    if (outcomes.at(-1)!.verdict !== "pass") return;
    for (const [name, weight] of [
      ["canary-10", 10],
      ["canary-50", 50],
      ["full", 100],
    ] as const) {
      outcomes.push(
        await trafficPhase(context, names, traffic, {
          phase: name,
          weight,
          bakeSeconds: profile.bakeSeconds,
          act: 1,
        }),
      );
      if (outcomes.at(-1)!.verdict !== "pass") return;
    }
    outcomes.push(await decommissionPhase(context, names));
  };
  await run();
  await syncCheckout(context);
  const oldServiceStatus = await describeOldService(context, names).catch(
    (error: Error) => `unknown (${error.message})`,
  );
  const passed = outcomes.length === 5 && outcomes.every((outcome) => outcome.verdict === "pass");
  const failedPhase = outcomes.find((outcome) => outcome.verdict !== "pass");
  return {
    passed,
    ...(failedPhase ? { error: `${failedPhase.phase}: ${failedPhase.detail}` } : {}),
    phases: outcomes,
    oldServiceStatus,
    split: traffic.split(startedAt),
    failures: traffic.failures(),
  };
}
