/**
 * Replays a gate over past metrics: looks at it as the scheduled monitor
 * would have, every `step` from the gate start, each look judging the window
 * from the gate start to that moment with the same planning, fetching and
 * judging as `metric-gate`, and the monitor's own decision on the verdict.
 * It stops where the monitor would have stopped looking: at a rollback or a
 * completed bake.
 */
import type { GateJudgement } from "../core/gate/evaluate.js";
import type { ChartMetricPoint } from "../core/gate/replay-chart.js";
import { type GateWindow, resolveGateWindow } from "../core/gate/window.js";
import { transition } from "../core/transitions.js";
import { parseDuration } from "../model/duration.js";
import type { Migration } from "../model/spec.js";
import type { MigrationStatus, Verdict } from "../model/status.js";
import type { MetricsSource } from "../providers/metrics-source.js";
import { bakeCompletion, bakeStepOf, evaluateGates, type FetchStats, parsePeriod } from "./gate.js";
import { OperationRefusal } from "./journal.js";
import { decide, type MonitorDecision } from "./monitor.js";

/** CloudWatch keeps sub-minute datapoints for 3 hours; older history is read in whole minutes. */
const HIGH_RESOLUTION_RETENTION_MS = 3 * 3600 * 1000;

export interface ReplayRequest {
  migration: Migration;
  /** The status, for the applied phase and weights; the bake itself is replayed from `from`. */
  status: MigrationStatus;
  gate: string;
  /** The gate start of the replayed bake (where traffic had moved). */
  from: Date;
  /** The last look is at or before this. */
  to: Date;
  /** Between looks; the monitor's schedule is 15 minutes. */
  stepSeconds: number;
  /** The bake's length; the bake step using the gate when unset. */
  bakeSeconds?: number;
  /** The real now: history older than CloudWatch's high-resolution retention is read in minutes. */
  now: Date;
}

export type ReplayMetricPoint = ChartMetricPoint;

export interface ReplayLook {
  look: number;
  at: string;
  window: { start: string; end: string; periodSeconds: number };
  verdict: Verdict;
  /** What the monitor would have decided on this verdict. */
  decision: MonitorDecision;
  bakeComplete: boolean;
  reasons: string[];
  samples: Partial<Record<"new" | "old", number>>;
  metrics: ReplayMetricPoint[];
  compare: Array<{ name: string; classification: string; score?: number; earlyLevel?: number }>;
}

export interface ReplayEvent {
  kind: "rollback" | "passed" | "first-fail" | "first-pass";
  at: string;
  look: number;
  /** The metrics (or checks) that decided it. */
  metrics: string[];
  reason: string;
}

export interface ReplayOutcome {
  migration: string;
  gate: string;
  from: string;
  to: string;
  stepSeconds: number;
  bakeSeconds?: number;
  looks: ReplayLook[];
  events: ReplayEvent[];
  /** How the replay ended. */
  ended: "rolled-back" | "passed" | "still-baking";
  stats: FetchStats;
}

function lookMetrics(judgement: GateJudgement): ReplayMetricPoint[] {
  const points: ReplayMetricPoint[] = judgement.metrics.map((m) => ({
    name: m.name,
    check: "threshold",
    ...(m.value !== undefined ? { value: m.value } : {}),
    ...((m.pass.max ?? m.pass.min) !== undefined ? { bound: (m.pass.max ?? m.pass.min) as number } : {}),
    outcome: m.verdict,
  }));
  for (const check of judgement.compare ?? []) {
    for (const m of check.metrics) {
      points.push({
        name: m.name,
        check: check.name,
        ...(m.worseBy !== undefined && Number.isFinite(m.worseBy) ? { value: m.worseBy } : {}),
        bound: m.allowedChange,
        outcome: m.classification,
        ...(m.pValue !== undefined ? { pValue: m.pValue } : {}),
      });
    }
  }
  return points;
}

/** The names of what did not pass at a look, for "on which metric". */
function culprits(judgement: GateJudgement, verdict: Verdict): string[] {
  const names = judgement.metrics.filter((m) => m.verdict === verdict).map((m) => m.name);
  for (const check of judgement.compare ?? []) {
    if (check.verdict !== verdict) continue;
    const failing = check.metrics.filter((m) =>
      verdict === "rollback" ? m.clearFailure : m.classification !== "pass",
    );
    names.push(...failing.map((m) => `${m.name} (${check.name})`));
    if (failing.length === 0) names.push(check.name);
  }
  if (judgement.cost?.verdict === verdict) names.push("cost");
  return names;
}

/** Bad replay arguments; the CLI names the flag. */
export class ReplayInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplayInputError";
  }
}

function bakeSecondsOf(request: ReplayRequest): number | undefined {
  if (request.bakeSeconds !== undefined) return request.bakeSeconds;
  const { step } = bakeStepOf(request.migration, request.status, request.gate);
  if (step) return parseDuration(step.duration);
  // Any phase's bake on this gate, when the applied phase has none.
  for (const phase of request.migration.phases) {
    for (const candidate of phase.steps) {
      if (candidate.kind === "bake" && candidate.gate === request.gate)
        return parseDuration(candidate.duration);
    }
  }
  return undefined;
}

/** Replays the gate look by look. */
export async function replayGate(request: ReplayRequest, source: MetricsSource): Promise<ReplayOutcome> {
  const { migration, gate } = request;
  if (!migration.gates?.[gate]) {
    throw new ReplayInputError(
      `--gate: "${migration.id}" has no gate "${gate}"; it defines ${
        Object.keys(migration.gates ?? {})
          .map((n) => `"${n}"`)
          .join(", ") || "none"
      }`,
    );
  }
  if ((migration.gates[gate]!.checks ?? []).length === 0) {
    throw new ReplayInputError(
      `--gate: gate "${gate}" of "${migration.id}" has no compare check (gates.${gate}.checks); replay judges a gate's compare checks against history — add one before replaying it`,
    );
  }
  if (request.from.getTime() >= request.to.getTime()) {
    throw new ReplayInputError(
      `--from ${request.from.toISOString()} is not before --to ${request.to.toISOString()}`,
    );
  }
  if (request.to.getTime() > request.now.getTime()) {
    throw new ReplayInputError(`--to ${request.to.toISOString()} is in the future; replay reads history`);
  }
  let periodSeconds: number;
  try {
    periodSeconds = parsePeriod(migration, gate);
  } catch (error) {
    throw new OperationRefusal((error as Error).message);
  }
  if (periodSeconds < 60 && request.now.getTime() - request.from.getTime() > HIGH_RESOLUTION_RETENTION_MS)
    periodSeconds = 60;
  if (request.stepSeconds < periodSeconds) {
    throw new ReplayInputError(
      `--step ${request.stepSeconds}s is shorter than the gate's period (${periodSeconds}s): a look would see no new datapoint`,
    );
  }
  const bakeSeconds = bakeSecondsOf(request);
  const endsAt =
    bakeSeconds !== undefined ? new Date(request.from.getTime() + bakeSeconds * 1000) : undefined;
  // The monitor's view of the replayed bake: baking since `from`, until the bake's end.
  const { bakeEndsAt: _recorded, ...timestamps } = request.status.timestamps;
  let baking: MigrationStatus = {
    ...request.status,
    state: "baking",
    timestamps: {
      ...timestamps,
      gateWindowStartsAt: request.from.toISOString(),
      ...(endsAt ? { bakeEndsAt: endsAt.toISOString() } : {}),
    },
    history: [],
  };
  const stats: FetchStats = { calls: 0, datapoints: 0, queries: 0 };
  const looks: ReplayLook[] = [];
  const events: ReplayEvent[] = [];
  let ended: ReplayOutcome["ended"] = "still-baking";
  for (let k = 1; ; k++) {
    const at = new Date(request.from.getTime() + k * request.stepSeconds * 1000);
    if (at.getTime() > request.to.getTime()) break;
    const window: GateWindow = resolveGateWindow({
      mode: "bake",
      now: at,
      periodSeconds,
      gateStartsAt: request.from,
    });
    const { results, stats: fetched } = await evaluateGates(
      [
        {
          migration,
          gate,
          window,
          newWeightPercent: baking.weights.new,
          ...(bakeSeconds !== undefined ? { bake: { startsAt: request.from, seconds: bakeSeconds } } : {}),
        },
      ],
      source,
    );
    stats.calls += fetched.calls;
    stats.datapoints += fetched.datapoints;
    stats.queries += fetched.queries;
    const { judgement } = results[0]!;
    // The bake's end as recorded so far: insufficient data past the end extends it, as it does live.
    const recordedEnd = baking.timestamps.bakeEndsAt;
    const progress = recordedEnd
      ? bakeCompletion(new Date(recordedEnd), request.from, window, judgement, at)
      : undefined;
    const monitor = decide(
      migration,
      baking,
      {
        verdict: judgement.verdict,
        bakeComplete: progress?.complete ?? false,
        ...(judgement.reasons.length ? { reason: judgement.reasons.join("; ") } : {}),
      },
      at,
    );
    looks.push({
      look: k,
      at: at.toISOString(),
      window: {
        start: window.start.toISOString(),
        end: window.end.toISOString(),
        periodSeconds: window.periodSeconds,
      },
      verdict: judgement.verdict,
      decision: monitor.decision,
      bakeComplete: progress?.complete ?? false,
      reasons: judgement.reasons,
      samples: judgement.samples,
      metrics: lookMetrics(judgement),
      compare: (judgement.compare ?? []).map((c) => ({
        name: c.name,
        classification: c.classification,
        ...(c.score !== undefined ? { score: c.score } : {}),
        ...(c.early ? { earlyLevel: c.early.levelPerMetric } : {}),
      })),
    });
    const event = (kind: ReplayEvent["kind"], verdict: Verdict) =>
      events.push({
        kind,
        at: at.toISOString(),
        look: k,
        metrics: culprits(judgement, verdict),
        reason: kind === "passed" || kind === "first-pass" ? monitor.reason : judgement.reasons.join("; "),
      });
    if (judgement.verdict === "fail" && !events.some((e) => e.kind === "first-fail"))
      event("first-fail", "fail");
    if (judgement.verdict === "pass" && !events.some((e) => e.kind === "first-pass"))
      event("first-pass", "pass");
    // What the monitor's run records for this look, through the same transition as record-state.
    const recorded = transition(
      baking,
      {
        type: "gate-evaluated",
        gate,
        verdict: judgement.verdict,
        evidence: { kind: "gate", ...(progress ? { bake: progress } : {}) },
      },
      at,
    );
    if (recorded.ok) baking = recorded.status;
    if (monitor.decision === "rollback") {
      event("rollback", "rollback");
      ended = "rolled-back";
      break;
    }
    if (monitor.decision === "passed") {
      event("passed", "pass");
      ended = "passed";
      break;
    }
    // Recording the verdict can end the bake even where the monitor only kept baking (a pass after the
    // bake's end over a window that did not reach it): the monitor stops looking there too.
    if (baking.state !== "baking") {
      if (baking.state === "passed") {
        event("passed", "pass");
        ended = "passed";
      }
      break;
    }
  }
  return {
    migration: migration.id,
    gate,
    from: request.from.toISOString(),
    to: request.to.toISOString(),
    stepSeconds: request.stepSeconds,
    ...(bakeSeconds !== undefined ? { bakeSeconds } : {}),
    looks,
    events,
    ended,
    stats,
  };
}
