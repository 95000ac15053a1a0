/**
 * Act two: a second migration whose new side starts failing once half the
 * traffic is on it. The gate sees the breach, the rollback action sends all
 * traffic back to the old side at once, the status records why, and the
 * background traffic shows the old side serving everything afterwards.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { MigrationsFile } from "../model/spec.js";
import type { HistoryEntry, MigrationStatus } from "../model/status.js";
import { readAppliedStatus, stagingPhase, trafficPhase } from "./act-one.js";
import type { BackgroundTraffic, FailureAccount, ObservedSplit } from "./background.js";
import { describeSplit } from "./background.js";
import { type DemoContext, DemoStepError, type PhaseOutcome, seconds, sleep } from "./context.js";
import { failureMessage } from "./runner.js";
import { bake, type GateLook, promote, reconcile, shift, syncCheckout } from "./steps.js";
import { type DemoMigrationNames, NEW_SET } from "./world.js";

const run = promisify(execFile);

/** The rollback as it went, with the figures that matter. */
export interface RollbackFigures {
  /** From the gate's rollback verdict to the rollback's change being submitted / INSYNC, ms. */
  detectToSubmittedMs?: number;
  detectToInsyncMs?: number;
  /** From the gate's verdict until the background traffic saw no answer from the new side, ms. */
  detectToOldSideOnlyMs?: number;
  /** The rollback action's own timings (since its process start). */
  changeSubmittedMs?: number;
  insyncMs?: number;
  actionElapsedMs: number;
  previousWeights: string;
  weights: string;
}

export interface ActTwoResult {
  rolledBack: boolean;
  error?: string;
  phases: PhaseOutcome[];
  breach?: { verdict: string; figures: string; reasons: string[]; evaluatedAt?: string };
  rollback?: RollbackFigures;
  /** Split of the background traffic once the rollback had taken effect. */
  afterRollback?: ObservedSplit;
  /** Events of the committed status history (read from the remote). */
  history: Array<Pick<HistoryEntry, "event" | "from" | "to" | "verdict" | "reason">>;
  finalState?: string;
  finalWeights?: { old: number; new: number };
  failures: FailureAccount;
}

async function setBackend(
  context: DemoContext,
  names: DemoMigrationNames,
  behaviour: Record<string, number> | undefined,
): Promise<void> {
  const url = `${context.sandbox.adminEndpoint}/_sandbox/backends/${encodeURIComponent(names.recordName)}/${NEW_SET}`;
  const response = await fetch(url, {
    method: behaviour ? "PUT" : "DELETE",
    headers: { "content-type": "application/json" },
    ...(behaviour ? { body: JSON.stringify(behaviour) } : {}),
  });
  if (!response.ok) {
    throw new DemoStepError(
      `the sandbox refused the backend change (${response.status}): ${await response.text()}`,
    );
  }
}

/** The status as committed on the remote's main branch (what a person would see on GitHub). */
async function committedStatus(
  context: DemoContext,
  migration: string,
): Promise<MigrationStatus | undefined> {
  try {
    const { stdout } = await run("git", [
      "--git-dir",
      context.workspace.remote,
      "show",
      `main:status/${migration}.json`,
    ]);
    return JSON.parse(stdout) as MigrationStatus;
  } catch {
    return undefined;
  }
}

/** First moment after `from` from which the background traffic saw no answer of the new side, epoch ms. */
function oldSideOnlySince(traffic: BackgroundTraffic, from: number): number | undefined {
  const report = traffic.report();
  const seconds = report.timeline.filter((second) => report.startedAt + second.second * 1000 >= from - 1000);
  let since: number | undefined;
  for (const second of seconds) {
    const onNew = second.byBackend[NEW_SET] ?? 0;
    if (onNew > 0) since = undefined;
    else if (since === undefined) since = report.startedAt + second.second * 1000;
  }
  return since;
}

export async function actTwo(
  context: DemoContext,
  spec: MigrationsFile,
  names: DemoMigrationNames,
  traffic: BackgroundTraffic,
): Promise<ActTwoResult> {
  const { progress, profile, runner, recorder } = context;
  const outcomes: PhaseOutcome[] = [];
  const result: ActTwoResult = {
    rolledBack: false,
    phases: outcomes,
    history: [],
    failures: traffic.failures(),
  };
  let failingPhaseStartedAt: number | undefined;
  try {
    outcomes.push(await stagingPhase(context, spec, names, 2));
    if (outcomes.at(-1)!.verdict !== "pass") throw new DemoStepError(`staging: ${outcomes.at(-1)!.detail}`);
    outcomes.push(
      await trafficPhase(context, names, traffic, {
        phase: "canary-10",
        weight: 10,
        bakeSeconds: profile.bakeSeconds,
        act: 2,
      }),
    );
    if (outcomes.at(-1)!.verdict !== "pass") throw new DemoStepError(`canary-10: ${outcomes.at(-1)!.detail}`);

    progress.heading(`${names.id} · phase canary-50 (new side 50 %; the new side will start failing)`);
    failingPhaseStartedAt = Date.now();
    const startedAt = failingPhaseStartedAt;
    await promote(context, names.id, "canary-50");
    await reconcile(context, names.id);
    const moved = await shift(context, names.id, "canary-50", 50);
    let injectedAt: number | undefined;
    const outcome = await bake(context, {
      migration: names.id,
      phase: "canary-50",
      weight: 50,
      bakeSeconds: profile.failingBakeSeconds,
      gateWindowStart: moved.gateWindowStart,
      traffic,
      onLook: async (look: GateLook, index: number) => {
        if (index !== 1 || injectedAt !== undefined) return;
        injectedAt = Date.now();
        traffic.beginFault(502, injectedAt);
        await setBackend(context, names, { errorRate: profile.injectedErrorRate });
        progress.endBar();
        progress.warn(
          `first look ${look.verdict} (${look.figures}); now the new side starts failing: sandbox error rate ${(profile.injectedErrorRate * 100).toFixed(0)} % on ${names.functionName}`,
        );
      },
    });
    if (!outcome.breach) {
      throw new DemoStepError(
        `the gate did not catch the failing new side: last verdict ${outcome.verdict} (${outcome.last.figures})`,
      );
    }
    const evidence = outcome.last.evidence ?? {};
    result.breach = {
      verdict: outcome.verdict,
      figures: outcome.last.figures,
      reasons: (evidence.reasons as string[] | undefined) ?? [],
      ...(typeof evidence.evaluatedAt === "string" ? { evaluatedAt: evidence.evaluatedAt } : {}),
    };
    const detectedAt = outcome.last.at;

    progress.step(`rollback: all traffic back to the old side (target all-old)`);
    runner.nextRun();
    const reason = `gate standard breached in canary-50: ${outcome.last.figures}`;
    const rollback = await runner.run(
      "rollback",
      { migration: names.id, reason, "target-phase": "all-old", "insync-timeout": "60s" },
      { label: names.id },
    );
    await recorder.record({
      migration: names.id,
      event: "rolled-back",
      phase: "canary-50",
      outcome: rollback.exitCode === 0 ? "success" : "failure",
      reason,
      targetPhase: "all-old",
      stepOutputs: rollback.outputs,
      gateEvidence: evidence,
    });
    if (rollback.exitCode !== 0) throw new DemoStepError(`rollback failed: ${failureMessage(rollback)}`);
    let timings: { changeSubmittedMs?: number; insyncMs?: number } = {};
    try {
      timings = JSON.parse(rollback.outputs.timings ?? "{}");
    } catch {
      timings = {};
    }
    const figures: RollbackFigures = {
      actionElapsedMs: rollback.elapsedMs,
      previousWeights: rollback.outputs["previous-weights"] ?? "",
      weights: rollback.outputs.weights ?? "",
      ...(timings.changeSubmittedMs !== undefined
        ? {
            changeSubmittedMs: timings.changeSubmittedMs,
            detectToSubmittedMs: rollback.startedAt + timings.changeSubmittedMs - detectedAt,
          }
        : {}),
      ...(timings.insyncMs !== undefined
        ? { insyncMs: timings.insyncMs, detectToInsyncMs: rollback.startedAt + timings.insyncMs - detectedAt }
        : {}),
    };
    progress.ok(
      `rollback: ${figures.previousWeights} → ${figures.weights}; change submitted ${figures.changeSubmittedMs ?? "?"} ms and INSYNC ${figures.insyncMs ?? "?"} ms after the action started (${seconds(rollback.elapsedMs)} in all)`,
    );

    // Watch the old side take everything once resolvers' cached answers (TTL) have expired.
    const settleFrom = new Date(rollback.outputs["gate-window-start"] ?? Date.now()).getTime();
    const watchUntil = Math.max(settleFrom, Date.now()) + profile.watchAfterRollbackSeconds * 1000;
    while (Date.now() < watchUntil + 1100) {
      const split = traffic.recentSplit(2);
      progress.bar(
        "after rollback",
        1 - Math.max(0, watchUntil - Date.now()) / (watchUntil - settleFrom),
        `split ${describeSplit(split, 0)}`,
      );
      await sleep(250);
    }
    progress.endBar();
    const after = traffic.split(settleFrom, watchUntil);
    result.afterRollback = after;
    const oldOnly = oldSideOnlySince(traffic, detectedAt);
    if (oldOnly !== undefined) figures.detectToOldSideOnlyMs = Math.max(0, oldOnly - detectedAt);
    result.rollback = figures;
    const line = `after the rollback the old side answered ${after.old} of ${after.total} requests (new side ${after.new})`;
    if (after.new === 0 && after.old > 0) progress.ok(line);
    else progress.fail(line);
    await setBackend(context, names, undefined);
    traffic.endFault();

    await syncCheckout(context);
    const status = await committedStatus(context, names.id);
    result.history = (status?.history ?? []).map(({ event, from, to, verdict, reason: why }) => ({
      event,
      from,
      to,
      ...(verdict ? { verdict } : {}),
      ...(why ? { reason: why } : {}),
    }));
    if (status) {
      result.finalState = status.state;
      result.finalWeights = status.weights;
    }
    const breachEntry = status?.history.find(
      (entry) => entry.event === "gate-evaluated" && entry.verdict === "rollback",
    );
    const completed = status?.history.find((entry) => entry.event === "rollback-completed");
    if (breachEntry && completed) {
      progress.ok(
        `status committed: ${breachEntry.from} → ${breachEntry.to} (${breachEntry.reason}), then ${completed.from} → ${completed.to} (${completed.reason})`,
      );
    } else {
      progress.fail("the committed status does not show the breach and the completed rollback");
    }
    result.rolledBack =
      status?.state === "rolled-back" &&
      status.weights.old === 100 &&
      breachEntry !== undefined &&
      completed !== undefined &&
      after.new === 0 &&
      after.old > 0;
    const phaseState = (await readAppliedStatus(context, names.id))?.state ?? "unknown";
    outcomes.push({
      act: 2,
      migration: names.id,
      phase: "canary-50",
      verdict: "rollback",
      state: phaseState,
      startedAt,
      elapsedMs: Date.now() - startedAt,
      detail: `${outcome.last.figures}; rolled back to old 100 % in ${seconds(figures.detectToInsyncMs ?? rollback.elapsedMs)}`,
    });
    context.phases.push(outcomes.at(-1)!);
  } catch (error) {
    if (!(error instanceof DemoStepError)) throw error;
    progress.fail(error.message);
    result.error = error.message;
    if (failingPhaseStartedAt !== undefined && !outcomes.some((outcome) => outcome.phase === "canary-50")) {
      const failed: PhaseOutcome = {
        act: 2,
        migration: names.id,
        phase: "canary-50",
        verdict: "error",
        state: (await readAppliedStatus(context, names.id))?.state ?? "unknown",
        startedAt: failingPhaseStartedAt,
        elapsedMs: Date.now() - failingPhaseStartedAt,
        detail: error.message,
      };
      outcomes.push(failed);
      context.phases.push(failed);
    }
  }
  result.failures = traffic.failures();
  return result;
}
