/**
 * Evaluates a migration's gate over its window: plans the queries, fetches
 * them in as few GetMetricData calls as the API allows, judges them, and
 * returns the verdict with its evidence and job summary.
 */

import type { ActionReport } from "../action/summary.js";
import { batchQueries } from "../core/gate/batch.js";
import { type BakeSchedule, type GateJudgement, judgeGate } from "../core/gate/evaluate.js";
import { type BakeProgress, type GateEvidence, gateEvidence, gateReport } from "../core/gate/evidence.js";
import { type GatePlan, planGate } from "../core/gate/plan.js";
import { requestCountStat } from "../core/gate/presets.js";
import { type MetricQuery, type MetricSeries, seriesSum } from "../core/gate/queries.js";
import { coveringPeriod, type GateMode, type GateWindow, resolveGateWindow } from "../core/gate/window.js";
import { formatDuration, parseDuration } from "../model/duration.js";
import type { BakeStep, Migration, TargetSpec } from "../model/spec.js";
import type { MigrationStatus } from "../model/status.js";
import type { AnnouncerFor } from "../notify/action.js";
import { gateVerdictEvent } from "../notify/event-builders.js";
import { withDeliveries } from "../notify/report.js";
import type { MetricsSource } from "../providers/metrics-source.js";
import { type OperationLog, OperationRefusal } from "./journal.js";
import { loadMigrationContext } from "./migration-context.js";

/** The longest a check waits for its window to pass before looking. */
export const MAX_CHECK_WAIT_SECONDS = 15 * 60;

export interface GateRequest {
  specPath: string;
  migrationId: string;
  /** Gate name; defaults to the gate of the bake step of the applied phase. */
  gate?: string;
  mode: GateMode;
  windowStart?: Date;
  windowEnd?: Date;
  windowSeconds?: number;
}

export interface GateDependencies {
  metrics: MetricsSource;
  log: OperationLog;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Announces the verdict to the migration's notification sinks; a failed delivery never fails the check. */
  announcerFor?: AnnouncerFor;
  runUrl?: string;
}

export interface GateOutcome {
  evidence: GateEvidence;
  judgement: GateJudgement;
  report: ActionReport;
  window: GateWindow;
}

/** One gate of one migration to judge over a window; many can share GetMetricData calls. */
export interface GateItem {
  migration: Migration;
  gate: string;
  window: GateWindow;
  newWeightPercent: number;
  /** The bake the look belongs to, for a compare check's early decisions. */
  bake?: BakeSchedule;
}

export interface GateItemResult {
  plan: GatePlan;
  judgement: GateJudgement;
}

export interface FetchStats {
  calls: number;
  datapoints: number;
  queries: number;
}

function windowKey(window: GateWindow): string {
  return `${window.start.toISOString()}/${window.end.toISOString()}`;
}

/** Fetches queries over one window, batched to the source's limit; results merged by id. */
export async function fetchQueries(
  source: MetricsSource,
  window: { start: Date; end: Date },
  queries: MetricQuery[],
  units: string[][],
  log?: OperationLog,
): Promise<{ series: Map<string, MetricSeries>; stats: FetchStats; incomplete: Set<string> }> {
  const series = new Map<string, MetricSeries>();
  const incomplete = new Set<string>();
  const stats: FetchStats = { calls: 0, datapoints: 0, queries: queries.length };
  for (const batch of batchQueries(queries, units, source.maxQueriesPerCall)) {
    const response = await source.fetch({ start: window.start, end: window.end, queries: batch });
    stats.calls += response.calls;
    stats.datapoints += response.datapoints;
    for (const message of response.messages) log?.warn("metrics source message", { detail: message });
    for (const [id, value] of response.series) series.set(id, value);
    for (const id of response.incomplete) incomplete.add(id);
  }
  return { series, stats, incomplete };
}

/**
 * A judgement made on incomplete data is insufficient data, whatever the part
 * that came back says: a window that breaches on all its datapoints can pass on
 * its older half.
 */
export function withoutIncompleteData(
  plan: GatePlan,
  judgement: GateJudgement,
  incomplete: ReadonlySet<string>,
): GateJudgement {
  const missing = plan.queries.filter((query) => incomplete.has(query.id)).map((query) => query.id);
  if (missing.length === 0) return judgement;
  return {
    ...judgement,
    verdict: "insufficient-data",
    reasons: [
      ...judgement.reasons,
      `the metrics source returned incomplete data (PartialData with nothing to continue) for ${missing.join(", ")}: incomplete data is never evidence`,
    ],
  };
}

/**
 * Judges many gates: items with the same window share calls (each call up to
 * the source's query limit), so a schedule evaluating every migration at once
 * makes as few calls as the API allows.
 */
export async function evaluateGates(
  items: GateItem[],
  source: MetricsSource,
  log?: OperationLog,
): Promise<{ results: GateItemResult[]; stats: FetchStats }> {
  const plans = items.map((item, index) => planGate(item.migration, item.gate, item.window, `m${index}`));
  const groups = new Map<string, number[]>();
  items.forEach((item, index) => {
    const key = windowKey(item.window);
    groups.set(key, [...(groups.get(key) ?? []), index]);
  });
  const stats: FetchStats = { calls: 0, datapoints: 0, queries: 0 };
  const series = new Map<string, MetricSeries>();
  const incomplete = new Set<string>();
  for (const indexes of groups.values()) {
    const window = items[indexes[0]!]!.window;
    // A window shorter than one period holds no evidence; judged below as insufficient data without asking.
    if (window.end.getTime() <= window.start.getTime()) continue;
    const fetched = await fetchQueries(
      source,
      window,
      indexes.flatMap((i) => plans[i]!.queries),
      indexes.flatMap((i) => plans[i]!.units),
      log,
    );
    stats.calls += fetched.stats.calls;
    stats.datapoints += fetched.stats.datapoints;
    stats.queries += fetched.stats.queries;
    for (const [id, value] of fetched.series) series.set(id, value);
    for (const id of fetched.incomplete) incomplete.add(id);
  }
  const results = items.map((item, index) => ({
    plan: plans[index]!,
    judgement: withoutIncompleteData(
      plans[index]!,
      judgeGate(plans[index]!, series, {
        window: item.window,
        newWeightPercent: item.newWeightPercent,
        ...(item.bake ? { bake: item.bake } : {}),
      }),
      incomplete,
    ),
  }));
  return { results, stats };
}

/** The bake step the gate belongs to in the applied phase (or the spec's phase before anything was applied). */
export function bakeStepOf(
  migration: Migration,
  status: MigrationStatus,
  gate?: string,
): { phase: string; step?: BakeStep } {
  const phaseName = status.phase ?? migration.phase;
  const phase = migration.phases.find((candidate) => candidate.name === phaseName);
  const bakes = (phase?.steps ?? []).filter((step): step is BakeStep => step.kind === "bake");
  const step = gate ? bakes.find((candidate) => candidate.gate === gate) : bakes[0];
  return { phase: phaseName, ...(step ? { step } : {}) };
}

export function parsePeriod(migration: Migration, gate: string): number {
  const text = migration.gates[gate]?.period;
  const seconds = typeof text === "string" ? parseDuration(text) : undefined;
  if (seconds === undefined) {
    throw new OperationRefusal(
      `gates.${gate}.period ${JSON.stringify(text)} of "${migration.id}" is not a duration such as "1m" or "5s"`,
    );
  }
  return seconds;
}

/**
 * True when every compare check of the gate allows an early pass, its
 * passAfter has elapsed by the end of the window, and it passed clearly at
 * this look's spent alpha. A gate without compare checks never ends early.
 */
export function clearPassAllowsEarlyEnd(
  judgement: GateJudgement,
  gateStart: Date,
  window: GateWindow,
): boolean {
  const checks = judgement.compare ?? [];
  if (checks.length === 0) return false;
  const judgedSeconds = (window.end.getTime() - gateStart.getTime()) / 1000;
  return checks.every(
    (check) =>
      check.early?.clearPass === true &&
      check.early.passAfterSeconds !== undefined &&
      judgedSeconds >= check.early.passAfterSeconds,
  );
}

/** The schedule a look at this gate belongs to: the bake step's duration from the gate start. */
export function bakeScheduleOf(
  status: MigrationStatus,
  step: BakeStep | undefined,
): BakeSchedule | undefined {
  const gateStart = status.timestamps.gateWindowStartsAt;
  const seconds = step ? parseDuration(step.duration) : undefined;
  if (!gateStart || seconds === undefined || seconds <= 0) return undefined;
  return { startsAt: new Date(gateStart), seconds };
}

/**
 * Whether a look completes its bake: the bake has ended and the gate passed
 * over a window from the gate start to (about) the end, or every compare
 * check passed clearly after its passAfter. Pure, so a replay of history
 * decides exactly as the monitor does.
 */
export function bakeCompletion(
  endsAt: Date,
  gateStart: Date | undefined,
  window: GateWindow,
  judgement: GateJudgement,
  now: Date,
): BakeProgress {
  const passed = judgement.verdict === "pass";
  const elapsed = now.getTime() >= endsAt.getTime();
  const covered =
    window.fromGateStart && window.end.getTime() >= endsAt.getTime() - window.periodSeconds * 1000;
  const early =
    !elapsed &&
    passed &&
    window.fromGateStart &&
    gateStart !== undefined &&
    clearPassAllowsEarlyEnd(judgement, gateStart, window);
  return {
    endsAt: endsAt.toISOString(),
    elapsed,
    complete: (elapsed && passed && covered) || early,
    ...(early ? { completedEarly: true } : {}),
  };
}

function bakeProgress(
  status: MigrationStatus,
  step: BakeStep | undefined,
  window: GateWindow,
  judgement: GateJudgement,
  now: Date,
): BakeProgress | undefined {
  const gateStart = status.timestamps.gateWindowStartsAt;
  const durationSeconds = step ? parseDuration(step.duration) : undefined;
  const endsAtText =
    status.timestamps.bakeEndsAt ??
    (gateStart && durationSeconds !== undefined
      ? new Date(new Date(gateStart).getTime() + durationSeconds * 1000).toISOString()
      : undefined);
  if (!endsAtText) return undefined;
  return bakeCompletion(
    new Date(endsAtText),
    gateStart ? new Date(gateStart) : undefined,
    window,
    judgement,
    now,
  );
}

/**
 * Evaluates one migration's gate. In `check` mode with a window length, it
 * waits (at most {@link MAX_CHECK_WAIT_SECONDS}) until that much time has
 * passed since the gate start, then looks once.
 */
export async function evaluateGate(request: GateRequest, deps: GateDependencies): Promise<GateOutcome> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const context = await loadMigrationContext(request.specPath, request.migrationId, now());
  const { migration, status } = context;
  const located = bakeStepOf(migration, status, request.gate);
  const gate = request.gate ?? located.step?.gate;
  if (!gate) {
    throw new OperationRefusal(
      `input "gate": not given, and phase "${located.phase}" of "${migration.id}" has no bake step to take it from; gates: ${Object.keys(migration.gates ?? {}).join(", ")}`,
    );
  }
  if (!migration.gates?.[gate]) {
    throw new OperationRefusal(
      `input "gate": "${migration.id}" has no gate "${gate}"; it defines ${
        Object.keys(migration.gates ?? {})
          .map((n) => `"${n}"`)
          .join(", ") || "none"
      }`,
    );
  }
  const periodSeconds = parsePeriod(migration, gate);
  const gateStartsAt = status.timestamps.gateWindowStartsAt
    ? new Date(status.timestamps.gateWindowStartsAt)
    : undefined;
  let window: GateWindow;
  try {
    window = resolveGateWindow({
      mode: request.mode,
      now: now(),
      periodSeconds,
      ...(gateStartsAt ? { gateStartsAt } : {}),
      ...(request.windowStart ? { start: request.windowStart } : {}),
      ...(request.windowEnd ? { end: request.windowEnd } : {}),
      ...(request.windowSeconds !== undefined ? { durationSeconds: request.windowSeconds } : {}),
    });
  } catch (error) {
    throw new OperationRefusal(`${context.statusPath}: ${(error as Error).message}`);
  }
  if (window.waitUntil) {
    const waitMs = window.waitUntil.getTime() - now().getTime();
    if (waitMs > MAX_CHECK_WAIT_SECONDS * 1000) {
      throw new OperationRefusal(
        `input "window": the check would wait ${formatDuration(Math.ceil(waitMs / 1000))} for its window to pass; at most ${formatDuration(MAX_CHECK_WAIT_SECONDS)}`,
      );
    }
    if (waitMs > 0) {
      deps.log.info("waiting for the check window to pass", {
        until: window.waitUntil.toISOString(),
        wait_ms: waitMs,
      });
      await sleep(waitMs);
    }
  }
  deps.log.info("evaluating gate", {
    gate,
    mode: request.mode,
    window_start: window.start.toISOString(),
    window_end: window.end.toISOString(),
    period_s: window.periodSeconds,
  });
  const bakeStep = located.step?.gate === gate ? located.step : undefined;
  const schedule = request.mode === "bake" ? bakeScheduleOf(status, bakeStep) : undefined;
  const { results, stats } = await evaluateGates(
    [
      {
        migration,
        gate,
        window,
        newWeightPercent: status.weights?.new ?? 0,
        ...(schedule ? { bake: schedule } : {}),
      },
    ],
    deps.metrics,
    deps.log,
  );
  const { plan, judgement } = results[0]!;
  const evaluatedAt = now();
  const bake =
    request.mode === "bake" ? bakeProgress(status, bakeStep, window, judgement, evaluatedAt) : undefined;
  const evidence = gateEvidence({
    migration: migration.id,
    gate,
    mode: request.mode,
    evaluatedAt,
    window,
    minSamples: plan.minSamples,
    judgement,
    queries: plan.queries,
    calls: stats.calls,
    ...(bake ? { bake } : {}),
  });
  deps.log.info("gate evaluated", {
    gate,
    verdict: judgement.verdict,
    samples_new: judgement.samples.new,
    calls: stats.calls,
    queries: stats.queries,
  });
  const deliveries =
    (await deps.announcerFor?.(migration).announce(
      gateVerdictEvent(
        {
          migration: migration.id,
          phase: status.phase,
          time: evaluatedAt,
          ...(deps.runUrl ? { runUrl: deps.runUrl } : {}),
        },
        evidence,
        status.weights,
      ),
    )) ?? [];
  return { evidence, judgement, report: withDeliveries(gateReport(evidence, judgement), deliveries), window };
}

export interface RequestCount {
  requests: number;
  /** The statistic that was summed, for evidence. */
  query: MetricQuery;
  calls: number;
}

/**
 * Requests a side served over a window, from the same statistic the gate's
 * sample counts use; the decommission step uses it to prove the old side
 * served nothing before it is scaled down or deleted.
 */
export async function countRequests(
  source: MetricsSource,
  side: TargetSpec,
  window: { start: Date; end: Date },
  periodSeconds = 60,
): Promise<RequestCount> {
  const seconds = Math.max(1, Math.ceil((window.end.getTime() - window.start.getTime()) / 1000));
  const query: MetricQuery = {
    kind: "stat",
    id: "requests",
    ...requestCountStat(side),
    period: coveringPeriod(seconds, periodSeconds, window.start.getTime()),
    returnData: true,
    label: "requests served",
  };
  const response = await source.fetch({ start: window.start, end: window.end, queries: [query] });
  // A partial count could read as a quiet side; it is refused rather than taken as zero.
  if (response.incomplete.includes(query.id)) {
    throw new OperationRefusal(
      `the request count of ${side.kind} over ${window.start.toISOString()}–${window.end.toISOString()} came back incomplete (PartialData); it cannot show the side is quiet`,
    );
  }
  return { requests: seriesSum(response.series.get(query.id)), query, calls: response.calls };
}
