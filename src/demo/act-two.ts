/**
 * Act two: a second migration whose new side starts failing once half the
 * traffic is on it. Nothing of GitHub takes part in saving it: the rollback
 * alarm in the sandbox's CloudWatch trips on three breaching 10 s datapoints,
 * EventBridge wakes the guardian function, which restores the old side inside
 * AWS. Then the workflow side catches up: reconcile records the rollback
 * with its evidence, and the background traffic shows the old side serving
 * everything.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { AwsJournalEntry } from "../model/aws-checkpoint.js";
import type { MigrationsFile } from "../model/spec.js";
import type { HistoryEntry, MigrationStatus } from "../model/status.js";
import { readAppliedStatus, stagingPhase, trafficPhase } from "./act-one.js";
import type { BackgroundTraffic, FailureAccount, ObservedSplit } from "./background.js";
import { describeSplit } from "./background.js";
import { type DemoContext, DemoStepError, type PhaseOutcome, seconds, sleep } from "./context.js";
import { promote, reconcile, shift, syncCheckout } from "./steps.js";
import { type DemoMigrationNames, NEW_SET, RECORD_TTL_SECONDS } from "./world.js";

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
  /** The guardian's path: first failing request, ALARM, change submitted, INSYNC, last request on the new side. */
  timeline?: {
    firstFailingRequestAt?: string;
    alarmAt?: string;
    changeSubmittedAt?: string;
    insyncAt?: string;
    lastNewSideRequestAt?: string;
  };
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
  const { progress, profile } = context;
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
    const guardian = context.guardian;
    if (!guardian) throw new DemoStepError("the guardian is not installed in the sandbox");
    await promote(context, names.id, "canary-50");
    await reconcile(context, names.id);
    await shift(context, names.id, "canary-50", 50);
    // A few seconds of healthy traffic at 50 %, then the new side starts failing.
    await sleep(profile.quietWindowSeconds * 1000);
    const injectedAt = Date.now();
    traffic.beginFault(502, injectedAt);
    await setBackend(context, names, { errorRate: profile.injectedErrorRate });
    progress.warn(
      `the new side starts failing: sandbox error rate ${(profile.injectedErrorRate * 100).toFixed(0)} % on ${names.functionName}; ` +
        `GitHub plays no part from here: the rollback alarms (3 of 3 × ${guardian.alarmPeriodSeconds} s) and the guardian in the sandbox's AWS watch`,
    );
    const entry = await waitForGuardian(context, names.id, injectedAt, traffic);
    const alarmAt = Date.parse(entry.trigger.alarm?.timestamp ?? "");
    const submittedAt = Date.parse(entry.submittedAt ?? "");
    const insyncAt = Date.parse(entry.insyncAt ?? "");
    result.breach = {
      verdict: "rollback",
      figures: entry.trigger.alarm?.reason ?? entry.trigger.reason,
      reasons: [entry.trigger.reason],
      ...(entry.trigger.alarm ? { evaluatedAt: new Date(alarmAt).toISOString() } : {}),
    };
    const firstFailing = firstFailureAfter(traffic, injectedAt);
    const figures: RollbackFigures = {
      actionElapsedMs: insyncAt - alarmAt,
      previousWeights: JSON.stringify(entry.before ?? {}),
      weights: JSON.stringify(entry.after ?? {}),
      detectToSubmittedMs: submittedAt - alarmAt,
      detectToInsyncMs: insyncAt - alarmAt,
      timeline: {
        ...(firstFailing !== undefined
          ? { firstFailingRequestAt: new Date(firstFailing).toISOString() }
          : {}),
        alarmAt: new Date(alarmAt).toISOString(),
        changeSubmittedAt: new Date(submittedAt).toISOString(),
        insyncAt: new Date(insyncAt).toISOString(),
      },
    };
    const detectedAt = alarmAt;
    progress.ok(
      `guardian: ${formatPair(entry.before)} → ${formatPair(entry.after)} in change ${entry.changeId}; ` +
        `ALARM +${seconds(alarmAt - injectedAt)} after the first errors, change submitted +${seconds(submittedAt - alarmAt)} after ALARM, INSYNC +${seconds(insyncAt - submittedAt)} later`,
    );

    // Watch the old side take everything once resolvers' cached answers (TTL) have expired.
    // Resolvers may answer with the old weights for one TTL after INSYNC.
    const settleFrom = insyncAt + RECORD_TTL_SECONDS * 1000;
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
    const lastOnNew = lastNewSideAnswer(traffic, injectedAt);
    if (lastOnNew !== undefined && figures.timeline)
      figures.timeline.lastNewSideRequestAt = new Date(lastOnNew).toISOString();
    progress.step("timeline (GitHub down or not, it is the same):");
    for (const [label, at] of timelineRows(figures.timeline ?? {})) progress.step(`  ${at}  ${label}`);

    // Git catches up: the next workflow run's reconcile records the guardian's rollback.
    progress.step("the workflow side: reconcile records what the guardian did");
    await reconcile(context, names.id);
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
      (entry) => entry.event === "rollback-started" && entry.evidence?.by === "guardian",
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
      detail: `${result.breach.figures}; the guardian rolled back to old 100 % in ${seconds(figures.detectToInsyncMs ?? 0)} from ALARM`,
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

function formatPair(weights: { old: number; new: number } | undefined): string {
  return weights ? `old ${weights.old} / new ${weights.new}` : "?";
}

/** Waits, bounded, for the guardian's journal entry of this migration; shows the alarm's progress meanwhile. */
async function waitForGuardian(
  context: DemoContext,
  migration: string,
  since: number,
  traffic: BackgroundTraffic,
): Promise<AwsJournalEntry> {
  const store = context.guardian!.store;
  const deadline = since + GUARDIAN_WAIT_MS;
  for (;;) {
    const { entries } = await store.listJournal(migration);
    const entry = entries.find(
      (candidate: AwsJournalEntry) =>
        candidate.outcome === "rolled-back" && Date.parse(candidate.at) >= since,
    );
    if (entry) {
      context.progress.endBar();
      return entry;
    }
    if (Date.now() > deadline) {
      context.progress.endBar();
      throw new DemoStepError(
        `the guardian did not roll ${migration} back within ${seconds(GUARDIAN_WAIT_MS)} of the first errors`,
      );
    }
    context.progress.bar(
      "waiting for the alarm",
      (Date.now() - since) / GUARDIAN_WAIT_MS,
      `split ${describeSplit(traffic.recentSplit(2), 50)}`,
    );
    await sleep(250);
  }
}

/** The guardian must act within this long of the first errors (the alarm needs three 10 s datapoints). */
const GUARDIAN_WAIT_MS = 120_000;

/** Start of the first second after `from` in which a request failed. */
function firstFailureAfter(traffic: BackgroundTraffic, from: number): number | undefined {
  const report = traffic.report();
  for (const second of report.timeline) {
    const at = report.startedAt + second.second * 1000;
    if (at + 1000 < from) continue;
    const failed = Object.entries(second.byStatus).some(
      ([status, count]) => Number(status) >= 500 && count > 0,
    );
    if (failed) return Math.max(at, from);
  }
  return undefined;
}

/** End of the last second after `from` in which the new side answered. */
function lastNewSideAnswer(traffic: BackgroundTraffic, from: number): number | undefined {
  const report = traffic.report();
  let last: number | undefined;
  for (const second of report.timeline) {
    const at = report.startedAt + second.second * 1000;
    if (at + 1000 >= from && (second.byBackend[NEW_SET] ?? 0) > 0) last = at + 1000;
  }
  return last;
}

function timelineRows(timeline: NonNullable<RollbackFigures["timeline"]>): Array<[string, string]> {
  const rows: Array<[string, string | undefined]> = [
    ["first failing request", timeline.firstFailingRequestAt],
    ["alarm ALARM (CloudWatch, in AWS)", timeline.alarmAt],
    ["change submitted by the guardian (Route 53)", timeline.changeSubmittedAt],
    ["change INSYNC", timeline.insyncAt],
    ["last request answered by the new side", timeline.lastNewSideRequestAt],
  ];
  return rows.flatMap(([label, at]) => (at ? [[label, at.slice(11, 23)] as [string, string]] : []));
}
