/**
 * The events of each decision, built from what the operations already know
 * (weights, change ids, gate evidence). Pure: the operations call these at
 * their call sites and hand the result to the announcer.
 */
import type { RollbackOrigin } from "../model/spec.js";
import type { Verdict, Weights } from "../model/status.js";
import { formatWeights, type NotificationEvent, type VerdictFigure, type VerdictSummary } from "./events.js";

/** What every event says about where it happened. */
export interface EventContext {
  migration: string;
  phase: string | null;
  time: Date;
  runUrl?: string;
}

function base(context: EventContext): Pick<NotificationEvent, "migration" | "phase" | "time" | "runUrl"> {
  return {
    migration: context.migration,
    phase: context.phase,
    time: context.time,
    ...(context.runUrl ? { runUrl: context.runUrl } : {}),
  };
}

function bound(threshold: { max?: number; min?: number } | undefined): string | undefined {
  if (!threshold) return undefined;
  const parts = [
    ...(threshold.max !== undefined ? [`≤ ${threshold.max}`] : []),
    ...(threshold.min !== undefined ? [`≥ ${threshold.min}`] : []),
  ];
  return parts.length > 0 ? parts.join(", ") : undefined;
}

/** The gate evidence fields an event needs (GateEvidence has them all). */
export interface GateEvidenceSummary {
  gate: string;
  verdict: Verdict;
  reasons: string[];
  evaluatedAt: string;
  window: { start: string; end: string };
  samples: Partial<Record<"new" | "old", number>>;
  metrics: {
    name: string;
    side: "new" | "old";
    value?: number;
    samples: number;
    pass: { max?: number; min?: number };
    rollback?: { max?: number; min?: number };
    verdict: Verdict;
  }[];
  mode?: string;
  bake?: { endsAt: string; complete: boolean };
}

/** A gate's verdict with its figures. */
export function gateVerdictEvent(
  context: EventContext,
  evidence: GateEvidenceSummary,
  weights?: Weights,
): NotificationEvent {
  const figures: VerdictFigure[] = evidence.metrics.map((metric) => ({
    metric: metric.name,
    side: metric.side,
    value: metric.value ?? null,
    ...(bound(metric.pass) ? { pass: bound(metric.pass)! } : {}),
    ...(bound(metric.rollback) ? { rollback: bound(metric.rollback)! } : {}),
    verdict: metric.verdict,
    samples: metric.samples,
  }));
  const verdict: VerdictSummary = {
    verdict: evidence.verdict,
    gate: evidence.gate,
    window: { start: evidence.window.start, end: evidence.window.end },
    ...(evidence.samples.new !== undefined ? { samples: evidence.samples.new } : {}),
    figures,
  };
  const why = evidence.reasons.length > 0 ? `: ${evidence.reasons.join("; ")}` : "";
  return {
    name: "gate-verdict",
    ...base(context),
    occurrence: `${evidence.gate} ${evidence.mode ?? ""} ${evidence.window.start}/${evidence.window.end}`,
    summary: `Gate ${evidence.gate} on ${context.migration}: ${evidence.verdict}${why}.`,
    ...(weights ? { weightsBefore: weights, weightsAfter: weights } : {}),
    verdict,
    ...(evidence.bake
      ? { evidence: { bakeEndsAt: evidence.bake.endsAt, bakeComplete: evidence.bake.complete } }
      : {}),
  };
}

/** Weights moved (or were confirmed) by a shift. */
export function shiftAppliedEvent(
  context: EventContext,
  move: { previousWeights: Weights; weights: Weights; changeId?: string; gateWindowStart?: Date },
): NotificationEvent {
  return {
    name: "shift-applied",
    ...base(context),
    occurrence: `${move.changeId ?? "no-change"} ${formatWeights(move.weights)}`,
    summary: `Traffic of ${context.migration} moved from ${formatWeights(move.previousWeights)} to ${formatWeights(move.weights)}.`,
    weightsBefore: move.previousWeights,
    weightsAfter: move.weights,
    evidence: {
      ...(move.changeId ? { changeId: move.changeId } : {}),
      ...(move.gateWindowStart ? { gateWindowStartsAt: move.gateWindowStart.toISOString() } : {}),
    },
  };
}

/** A rollback is about to restore traffic. */
export function rollbackStartedEvent(
  context: EventContext,
  rollback: { origin: RollbackOrigin; reason: string; weights?: Weights; key: string },
): NotificationEvent {
  return {
    name: "rollback-started",
    ...base(context),
    occurrence: rollback.key,
    summary: `Rolling back ${context.migration} (${rollback.origin}): ${rollback.reason}.`,
    rollbackOrigin: rollback.origin,
    reason: rollback.reason,
    ...(rollback.weights ? { weightsBefore: rollback.weights } : {}),
  };
}

/** A rollback finished: traffic is where it restored it. */
export function rollbackCompletedEvent(
  context: EventContext,
  rollback: {
    origin: RollbackOrigin;
    reason: string;
    previousWeights?: Weights;
    weights: Weights;
    key: string;
    changeId?: string;
    outcome?: string;
  },
): NotificationEvent {
  const from = rollback.previousWeights ? ` from ${formatWeights(rollback.previousWeights)}` : "";
  return {
    name: "rollback-completed",
    ...base(context),
    occurrence: rollback.key,
    summary: `Rolled back ${context.migration}${from} to ${formatWeights(rollback.weights)} (${rollback.origin}).`,
    rollbackOrigin: rollback.origin,
    reason: rollback.reason,
    ...(rollback.previousWeights ? { weightsBefore: rollback.previousWeights } : {}),
    weightsAfter: rollback.weights,
    evidence: {
      ...(rollback.changeId ? { changeId: rollback.changeId } : {}),
      ...(rollback.outcome ? { outcome: rollback.outcome } : {}),
    },
  };
}

/** A decommission step: the old side scaled to zero (hold started), or deleted. */
export function decommissionEvent(
  context: EventContext,
  step: { stage: "scaled-down" | "deleted"; target: string; detail: string; holdEndsAt?: string },
): NotificationEvent {
  return {
    name: step.stage === "scaled-down" ? "decommission-scaled-down" : "decommission-deleted",
    ...base(context),
    occurrence: `${step.stage} ${step.target}`,
    summary:
      step.stage === "scaled-down"
        ? `The old side of ${context.migration} (${step.target}) is scaled to zero${step.holdEndsAt ? `, held until ${step.holdEndsAt}` : ""}: ${step.detail}.`
        : `The old side of ${context.migration} (${step.target}) is deleted: ${step.detail}.`,
    evidence: { target: step.target, ...(step.holdEndsAt ? { holdEndsAt: step.holdEndsAt } : {}) },
  };
}

/** What AWS holds differs from what git says. */
export function driftDetectedEvent(
  context: EventContext,
  drift: { recorded: Weights; observed: Weights; explanation: string },
): NotificationEvent {
  return {
    name: "drift-detected",
    ...base(context),
    occurrence: `${formatWeights(drift.recorded)} → ${formatWeights(drift.observed)}`,
    summary: `Drift on ${context.migration}: the status says ${formatWeights(drift.recorded)}, the router holds ${formatWeights(drift.observed)}. ${drift.explanation}`,
    weightsBefore: drift.recorded,
    weightsAfter: drift.observed,
    reason: drift.explanation,
  };
}

/** A phase started being applied. */
export function phaseStartedEvent(
  context: EventContext & { phase: string },
  weights: Weights,
): NotificationEvent {
  return {
    name: "phase-started",
    ...base(context),
    occurrence: `phase ${context.phase} ${context.time.toISOString()}`,
    summary: `Phase ${context.phase} of ${context.migration} started (traffic ${formatWeights(weights)}).`,
    weightsBefore: weights,
  };
}

/** A change waits for people: a pull request to review, an environment's reviewers. */
export function waitingForApprovalEvent(
  context: EventContext,
  waiting: { what: string; url?: string; key: string },
): NotificationEvent {
  return {
    name: "waiting-for-approval",
    ...base(context),
    occurrence: waiting.key,
    summary: `${context.migration} waits for approval: ${waiting.what}.`,
    ...(waiting.url ? { links: [{ label: "Review", url: waiting.url }] } : {}),
  };
}
