/**
 * The phase state machine: a pure function of (status, event, now). Every
 * accepted event returns a new status with exactly one history entry
 * appended; a refused event returns the reason and changes nothing.
 *
 *   pending ─apply-started→ applying ─apply-succeeded→ baking ─gate pass, bake over→ passed
 *                              │                        │  ↺ pass early / fail / insufficient data
 *                              ├─apply-failed→ failed   └─gate rollback→ rolling-back ─rollback-completed→ rolled-back
 *                              └─decommission-scaled-down→ decommissioning ─decommission-deleted (hold over)→ done
 *
 * rollback-started is accepted from every state that has applied something, until done.
 */
import type { PromotionOverride } from "../model/spec.js";
import type {
  Checkpoint,
  Evidence,
  HistoryEntry,
  MigrationStatus,
  PhaseState,
  Verdict,
  Weights,
} from "../model/status.js";

/** Who and where, recorded with every event when known. */
export interface EventOrigin {
  runUrl?: string;
  actor?: string;
}

/** A phase starts being applied. `phaseOrder` is the migration's phase names in spec order (no skipping is checked against it). */
export interface ApplyStartedEvent extends EventOrigin {
  type: "apply-started";
  phase: string;
  phaseOrder: readonly string[];
  /** Lets a move the rules refuse through (not while a rollback or decommission is under way); recorded. */
  override?: PromotionOverride;
}

/** A weight change is INSYNC. The gate window starts at `insyncAt` + `ttlSeconds` (traffic that has not moved is no evidence). */
export interface ShiftAppliedEvent extends EventOrigin {
  type: "shift-applied";
  weights: Weights;
  /** The state before the change: what a rollback restores. */
  checkpoint: Checkpoint;
  insyncAt: Date;
  ttlSeconds: number;
  evidence?: Evidence;
}

/** Every step of the phase up to its bake succeeded. A phase with a bake starts baking; one without has passed. */
export interface ApplySucceededEvent extends EventOrigin {
  type: "apply-succeeded";
  /** The phase's bake duration; absent or 0 when the phase has no bake. */
  bakeSeconds?: number;
  evidence?: Evidence;
}

export interface ApplyFailedEvent extends EventOrigin {
  type: "apply-failed";
  reason: string;
  evidence?: Evidence;
}

/** A gate evaluation during a bake. */
export interface GateEvaluatedEvent extends EventOrigin {
  type: "gate-evaluated";
  gate: string;
  verdict: Verdict;
  evidence: Evidence;
  /** How far "insufficient data" pushes the end of the bake from now; one hour unless given. */
  extendSeconds?: number;
}

export interface RollbackStartedEvent extends EventOrigin {
  type: "rollback-started";
  reason: string;
  evidence?: Evidence;
}

/** What a completed rollback restored: the last checkpoint (default), the last checkpoint of a phase, or all traffic to the old side. */
export type RollbackTarget =
  | { kind: "last-checkpoint" }
  | { kind: "phase"; phase: string }
  /** A phase no checkpoint was taken in: the weights its shift steps leave, as the spec defines them. */
  | { kind: "phase-weights"; phase: string; weights: Weights }
  | { kind: "all-old" };

export interface RollbackCompletedEvent extends EventOrigin {
  type: "rollback-completed";
  target?: RollbackTarget;
  evidence?: Evidence;
}

/** The old side is scaled to zero; the hold starts now. */
export interface DecommissionScaledDownEvent extends EventOrigin {
  type: "decommission-scaled-down";
  desiredCountBefore: number;
  /**
   * When the old side reached zero, as the scale-down reported it (ISO-8601); the hold counts from there,
   * not from when the event is recorded. Absent or later than the recording: the recording's time.
   */
  holdStartedAt?: string;
  /** A Lambda old side held at reserved concurrency 0: the reservation it had, null for none. */
  reservedConcurrencyBefore?: number | null;
  evidence?: Evidence;
}

/** The old side is deleted: accepted only once the hold has elapsed with no traffic on the old side. */
export interface DecommissionDeletedEvent extends EventOrigin {
  type: "decommission-deleted";
  holdSeconds: number;
  oldSideRequestsDuringHold: number;
  evidence?: Evidence;
}

/** A mutation was applied to AWS but its status commit was lost (the runner died between them); this records it. */
export interface ReconciledEvent extends EventOrigin {
  type: "reconciled";
  reason: string;
  weights: Weights;
  checkpoint?: Checkpoint;
  insyncAt?: Date;
  ttlSeconds?: number;
  evidence?: Evidence;
}

/** Weights found in AWS differ from the status and from anything cutover applied; reported, not adopted. */
export interface DriftDetectedEvent extends EventOrigin {
  type: "drift-detected";
  observed: Weights;
  detail?: string;
}

export type MigrationEvent =
  | ApplyStartedEvent
  | ShiftAppliedEvent
  | ApplySucceededEvent
  | ApplyFailedEvent
  | GateEvaluatedEvent
  | RollbackStartedEvent
  | RollbackCompletedEvent
  | DecommissionScaledDownEvent
  | DecommissionDeletedEvent
  | ReconciledEvent
  | DriftDetectedEvent;

export type MigrationEventType = MigrationEvent["type"];

/** The new status and the entry appended, or why the event was refused. */
export type TransitionResult =
  | { ok: true; status: MigrationStatus; entry: HistoryEntry }
  | { ok: false; refusal: string };

/** Thrown by {@link transitionOrThrow}; the message says why. */
export class TransitionRefusedError extends Error {
  constructor(
    readonly event: MigrationEventType,
    readonly refusal: string,
  ) {
    super(`${event} refused: ${refusal}`);
    this.name = "TransitionRefusedError";
  }
}

/** Default extension of a bake by an "insufficient data" verdict. */
export const INSUFFICIENT_DATA_EXTENSION_SECONDS = 3600;

/** What a handler decided: the next state, changes to the status, and what the history entry says. */
interface Change {
  to: PhaseState;
  apply?: (next: MigrationStatus) => void;
  verdict?: Verdict;
  reason?: string;
  evidence?: Evidence;
}

type Outcome = Change | string;

type Handler<E extends MigrationEvent> = (status: MigrationStatus, event: E, now: Date) => Outcome;

/** Why weights are unacceptable, or undefined when they are integers 0–100 summing to 100. */
export function weightsProblem(weights: Weights): string | undefined {
  for (const side of ["old", "new"] as const) {
    const value = weights?.[side];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 100) {
      return `weight of the ${side} side ${String(value)} is not an integer percentage 0–100`;
    }
  }
  if (weights.old + weights.new !== 100)
    return `weights old ${weights.old} + new ${weights.new} do not sum to 100`;
  return undefined;
}

function describe(status: MigrationStatus): string {
  return status.phase === null
    ? `nothing applied (${status.state})`
    : `phase "${status.phase}" is ${status.state}`;
}

function isoPlus(start: Date | string, seconds: number): string {
  return new Date(new Date(start).getTime() + seconds * 1000).toISOString();
}

function phaseMoveProblem(
  status: MigrationStatus,
  target: number,
  order: readonly string[],
  phase: string,
): string | undefined {
  const current = status.phase === null ? -1 : order.indexOf(status.phase);
  if (status.phase !== null && current === -1) {
    return `the applied phase "${status.phase}" is not one of the phases (${order.join(", ")})`;
  }
  const skipped = order.slice(current + 1, target);
  switch (status.state) {
    case "pending":
    case "passed": {
      if (target === current + 1) return undefined;
      if (target > current + 1) {
        return `"${phase}" would skip ${skipped.map((name) => `"${name}"`).join(", ")}; phases are applied one at a time`;
      }
      return status.state === "passed"
        ? `"${phase}" is not the next phase after "${status.phase}" (passed); moving back is a rollback`
        : `"${phase}" is not the first phase ("${order[0]}")`;
    }
    case "applying":
      return target === current
        ? undefined
        : `phase "${status.phase}" is still applying; finish or roll it back first`;
    case "failed":
    case "rolled-back":
      return target <= current
        ? undefined
        : `phase "${status.phase}" is ${status.state}; re-apply it (or an earlier phase) before "${phase}"`;
    case "baking":
      return `phase "${status.phase}" is baking; it must pass (or be rolled back) before "${phase}" is applied`;
    default:
      return `${describe(status)}; no phase can start now`;
  }
}

/** Events that settle a recorded drift: the status was brought in line with AWS, or AWS with the status. */
const DRIFT_SETTLING_EVENTS = new Set(["reconciled", "rollback-completed"]);

/**
 * The drift entry that still blocks promotion, if any: a `drift-detected`
 * entry with nothing after it that settled it (AWS back to the recorded
 * weights, a rollback, an adoption, or an apply started with a recorded override).
 */
export function unresolvedDrift(status: MigrationStatus): HistoryEntry | undefined {
  for (let index = status.history.length - 1; index >= 0; index--) {
    const entry = status.history[index]!;
    if (entry.event === "drift-detected") return entry;
    if (DRIFT_SETTLING_EVENTS.has(entry.event)) return undefined;
    if (entry.event === "apply-started" && entry.evidence?.kind === "override") return undefined;
  }
  return undefined;
}

/**
 * True when an override with this reason has already been recorded: it
 * vouched for an earlier change, and one left in the spec does not carry over.
 */
export function overrideAlreadyUsed(status: MigrationStatus, reason: string): boolean {
  return status.history.some(
    (entry) => entry.evidence?.kind === "override" && entry.evidence.reason === reason,
  );
}

const applyStarted: Handler<ApplyStartedEvent> = (status, event, now) => {
  const target = event.phaseOrder.indexOf(event.phase);
  if (target === -1) return `"${event.phase}" is not one of the phases (${event.phaseOrder.join(", ")})`;
  const problem = phaseMoveProblem(status, target, event.phaseOrder, event.phase);
  const overridable = !["rolling-back", "decommissioning", "done"].includes(status.state);
  const overrideReason = event.override?.reason?.trim();
  if (problem && !(overridable && overrideReason)) return problem;
  // An unused override applied over unsettled drift is recorded too: that settles the drift.
  const drift = unresolvedDrift(status);
  const bypassed =
    problem ??
    (drift && overrideReason && !overrideAlreadyUsed(status, overrideReason)
      ? `unsettled drift recorded ${drift.at}: ${drift.reason ?? "AWS differs from the status"}`
      : undefined);
  return {
    to: "applying",
    ...(bypassed
      ? {
          reason: `override: ${overrideReason}`,
          evidence: {
            kind: "override",
            reason: overrideReason,
            ...(event.override?.requestedBy ? { requestedBy: event.override.requestedBy } : {}),
            bypassed,
          },
        }
      : {}),
    apply: (next) => {
      next.phase = event.phase;
      next.timestamps.phaseStartedAt = now.toISOString();
      delete next.timestamps.bakeEndsAt;
      delete next.lastVerdict;
    },
  };
};

const shiftApplied: Handler<ShiftAppliedEvent> = (status, event) => {
  if (status.state !== "applying")
    return `a shift is recorded only while a phase is applying; ${describe(status)}`;
  const problem = weightsProblem(event.weights) ?? weightsProblem(event.checkpoint?.weights);
  if (problem) return problem;
  if (!Number.isFinite(event.ttlSeconds) || event.ttlSeconds < 0)
    return `ttlSeconds ${event.ttlSeconds} is not a duration`;
  return {
    to: "applying",
    evidence: event.evidence ?? { kind: "shift", weights: event.weights, previous: event.checkpoint.weights },
    apply: (next) => {
      next.weights = { ...event.weights };
      next.checkpoints.push(structuredClone(event.checkpoint));
      next.timestamps.gateWindowStartsAt = isoPlus(event.insyncAt, event.ttlSeconds);
    },
  };
};

/** A bake starts at the gate window of a shift made in this phase, else now. */
function bakeStart(status: MigrationStatus, now: Date): Date {
  const { gateWindowStartsAt, phaseStartedAt } = status.timestamps;
  if (gateWindowStartsAt && (!phaseStartedAt || gateWindowStartsAt >= phaseStartedAt)) {
    return new Date(gateWindowStartsAt);
  }
  return now;
}

const applySucceeded: Handler<ApplySucceededEvent> = (status, event, now) => {
  if (status.state !== "applying") return `only an applying phase can succeed; ${describe(status)}`;
  const bake = event.bakeSeconds ?? 0;
  if (!Number.isFinite(bake) || bake < 0) return `bakeSeconds ${bake} is not a duration`;
  if (bake === 0) {
    return {
      to: "passed",
      reason: "all steps succeeded; the phase has no bake",
      ...withEvidence(event.evidence),
    };
  }
  return {
    to: "baking",
    ...withEvidence(event.evidence),
    apply: (next) => {
      next.timestamps.bakeEndsAt = isoPlus(bakeStart(status, now), bake);
    },
  };
};

function withEvidence(evidence: Evidence | undefined): { evidence?: Evidence } {
  return evidence ? { evidence } : {};
}

const applyFailed: Handler<ApplyFailedEvent> = (status, event) => {
  if (status.state !== "applying" && status.state !== "decommissioning") {
    return `only an applying or decommissioning phase can fail; ${describe(status)}`;
  }
  return { to: "failed", reason: event.reason, ...withEvidence(event.evidence) };
};

const gateEvaluated: Handler<GateEvaluatedEvent> = (status, event, now) => {
  if (status.state !== "baking") return `no bake is in progress; ${describe(status)}`;
  const recordVerdict = (next: MigrationStatus) => {
    next.lastVerdict = { verdict: event.verdict, at: now.toISOString(), gate: event.gate };
  };
  const base = { verdict: event.verdict, evidence: event.evidence };
  const endsAt = status.timestamps.bakeEndsAt;
  switch (event.verdict) {
    case "pass": {
      const elapsed = endsAt !== undefined && now.getTime() >= new Date(endsAt).getTime();
      // A compare check's clear pass ends the bake early only where the spec allows it (early.passAfter); the gate's evidence says so.
      const early =
        !elapsed &&
        (event.evidence.bake as { completedEarly?: unknown } | undefined)?.completedEarly === true;
      return elapsed || early
        ? {
            ...base,
            to: "passed",
            reason: early
              ? `gate "${event.gate}" passed clearly before the bake's end, as its compare checks allow`
              : `gate "${event.gate}" passed and the bake is over`,
            apply: recordVerdict,
          }
        : {
            ...base,
            to: "baking",
            reason: `gate "${event.gate}" passed; the bake continues`,
            apply: recordVerdict,
          };
    }
    case "fail":
      return {
        ...base,
        to: "baking",
        reason: `gate "${event.gate}" failed (inside the rollback thresholds): the bake cannot complete on this evidence`,
        apply: recordVerdict,
      };
    case "insufficient-data": {
      // Only a bake that would otherwise be over is extended: a look early in
      // the bake has seen little traffic, and the look at the end judges the
      // whole window anyway.
      const over = endsAt === undefined || now.getTime() >= new Date(endsAt).getTime();
      const extended = isoPlus(now, event.extendSeconds ?? INSUFFICIENT_DATA_EXTENSION_SECONDS);
      return {
        ...base,
        to: "baking",
        reason: over
          ? `gate "${event.gate}" had insufficient data: the bake is extended to ${extended}`
          : `gate "${event.gate}" had insufficient data so far; the bake goes on until ${endsAt}`,
        apply: (next) => {
          recordVerdict(next);
          if (over) next.timestamps.bakeEndsAt = extended;
        },
      };
    }
    case "rollback":
      return {
        ...base,
        to: "rolling-back",
        reason: `gate "${event.gate}" breached a rollback threshold`,
        apply: recordVerdict,
      };
  }
  return `unknown verdict ${JSON.stringify(event.verdict)}`;
};

const rollbackStarted: Handler<RollbackStartedEvent> = (status, event) => {
  if (!event.reason?.trim()) return "a rollback needs a reason";
  if (status.state === "done") return "the old side is deleted (done); there is nothing to roll back to";
  if (status.phase === null && status.checkpoints.length === 0)
    return "nothing has been applied; there is nothing to roll back";
  return { to: "rolling-back", reason: event.reason, ...withEvidence(event.evidence) };
};

/**
 * What a rollback restores when no target is named: the last checkpoint; all
 * traffic to the old side while it is scaled down for decommissioning (the
 * scale-down's checkpoint, with everything on the new side, would move nothing).
 */
export function defaultRollbackTarget(status: MigrationStatus): RollbackTarget {
  return status.decommission?.stage === "scaled-down" ? { kind: "all-old" } : { kind: "last-checkpoint" };
}

function rollbackCheckpoint(
  status: MigrationStatus,
  target: RollbackTarget,
): Checkpoint | string | undefined {
  if (target.kind === "all-old" || target.kind === "phase-weights") return undefined;
  if (target.kind === "last-checkpoint") return status.checkpoints.at(-1);
  const found = status.checkpoints.filter((checkpoint) => checkpoint.phase === target.phase).at(-1);
  return found ?? `no checkpoint was taken in phase "${target.phase}"`;
}

const rollbackCompleted: Handler<RollbackCompletedEvent> = (status, event) => {
  if (status.state !== "rolling-back") return `no rollback is in progress; ${describe(status)}`;
  const target = event.target ?? defaultRollbackTarget(status);
  const checkpoint = rollbackCheckpoint(status, target);
  if (typeof checkpoint === "string") return checkpoint;
  const problem = target.kind === "phase-weights" ? weightsProblem(target.weights) : undefined;
  if (problem && target.kind === "phase-weights") return `rollback to phase "${target.phase}": ${problem}`;
  const weights: Weights = checkpoint
    ? { ...checkpoint.weights }
    : target.kind === "phase-weights"
      ? { ...target.weights }
      : { old: 100, new: 0 };
  const restored = checkpoint
    ? `restored the checkpoint taken ${checkpoint.takenAt} (old ${weights.old} %, new ${weights.new} %)`
    : target.kind === "phase-weights"
      ? `restored phase ${target.phase} as the spec defines it (old ${weights.old} %, new ${weights.new} %; no checkpoint was taken in it)`
      : "sent all traffic to the old side";
  return {
    to: "rolled-back",
    reason: restored,
    evidence: event.evidence ?? { kind: "rollback", target, weights },
    apply: (next) => {
      next.weights = weights;
      delete next.timestamps.gateWindowStartsAt;
      delete next.timestamps.bakeEndsAt;
      // The rollback brought the old side back up: the hold no longer runs.
      delete next.decommission;
    },
  };
};

/** The hold's start: the scale-down's own time when it gave a valid one no later than now, else now. */
function holdStartOf(event: DecommissionScaledDownEvent, now: Date): string {
  const reported = event.holdStartedAt ? new Date(event.holdStartedAt) : undefined;
  return reported && !Number.isNaN(reported.getTime()) && reported.getTime() <= now.getTime()
    ? reported.toISOString()
    : now.toISOString();
}

const decommissionScaledDown: Handler<DecommissionScaledDownEvent> = (status, event, now) => {
  if (status.state !== "applying")
    return `the old side is scaled down only while the last phase is applying; ${describe(status)}`;
  if (status.weights.old !== 0) return `the old side still receives ${status.weights.old} % of traffic`;
  if (!Number.isInteger(event.desiredCountBefore) || event.desiredCountBefore < 0) {
    return `desiredCountBefore ${event.desiredCountBefore} is not a task count`;
  }
  const held = event.reservedConcurrencyBefore;
  if (held !== undefined && held !== null && (!Number.isInteger(held) || held < 0)) {
    return `reservedConcurrencyBefore ${held} is not a reserved concurrency (an integer ≥ 0, or null for none)`;
  }
  return {
    to: "decommissioning",
    reason: "old side scaled to zero; the hold starts",
    ...withEvidence(event.evidence),
    apply: (next) => {
      next.checkpoints.push({
        phase: status.phase,
        takenAt: now.toISOString(),
        weights: { ...status.weights },
        ecsDesiredCount: event.desiredCountBefore,
        ...(held ? { lambdaReservedConcurrency: held } : {}),
      });
      next.decommission = {
        stage: "scaled-down",
        holdStartedAt: holdStartOf(event, now),
        desiredCountBefore: event.desiredCountBefore,
        ...(held !== undefined ? { reservedConcurrencyBefore: held } : {}),
      };
    },
  };
};

const decommissionDeleted: Handler<DecommissionDeletedEvent> = (status, event, now) => {
  if (status.state !== "decommissioning" || !status.decommission) {
    return `the old side is deleted only after it was scaled down; ${describe(status)}`;
  }
  const holdEndsAt = isoPlus(status.decommission.holdStartedAt, event.holdSeconds);
  if (now.toISOString() < holdEndsAt)
    return `the hold lasts until ${holdEndsAt}; the old side stays recoverable until then`;
  if (event.oldSideRequestsDuringHold !== 0) {
    return `the old side served ${event.oldSideRequestsDuringHold} requests during the hold; it must serve none before deletion`;
  }
  return {
    to: "done",
    reason: "hold elapsed with no traffic on the old side; old side deleted",
    ...withEvidence(event.evidence),
    apply: (next) => {
      next.decommission = { ...status.decommission!, stage: "deleted", deletedAt: now.toISOString() };
    },
  };
};

const reconciled: Handler<ReconciledEvent> = (status, event) => {
  if (!event.reason?.trim()) return "a reconciliation needs a reason (what was found applied but unrecorded)";
  const problem =
    weightsProblem(event.weights) ??
    (event.checkpoint ? weightsProblem(event.checkpoint.weights) : undefined);
  if (problem) return problem;
  return {
    to: status.state,
    reason: event.reason,
    evidence: event.evidence ?? { kind: "reconcile", recorded: status.weights, applied: event.weights },
    apply: (next) => {
      next.weights = { ...event.weights };
      if (event.checkpoint) next.checkpoints.push(structuredClone(event.checkpoint));
      if (event.insyncAt) next.timestamps.gateWindowStartsAt = isoPlus(event.insyncAt, event.ttlSeconds ?? 0);
    },
  };
};

const driftDetected: Handler<DriftDetectedEvent> = (status, event) => ({
  to: status.state,
  reason: event.detail ?? "weights in AWS differ from the status",
  evidence: { kind: "reconcile", drift: true, recorded: status.weights, observed: event.observed },
});

const HANDLERS: { [K in MigrationEventType]: Handler<Extract<MigrationEvent, { type: K }>> } = {
  "apply-started": applyStarted,
  "shift-applied": shiftApplied,
  "apply-succeeded": applySucceeded,
  "apply-failed": applyFailed,
  "gate-evaluated": gateEvaluated,
  "rollback-started": rollbackStarted,
  "rollback-completed": rollbackCompleted,
  "decommission-scaled-down": decommissionScaledDown,
  "decommission-deleted": decommissionDeleted,
  reconciled,
  "drift-detected": driftDetected,
};

/**
 * Applies one event to a status. Returns the new status (the input is not
 * modified) with one history entry appended, or the reason for refusing.
 * After `done` every event is refused.
 */
export function transition(status: MigrationStatus, event: MigrationEvent, now: Date): TransitionResult {
  if (status.state === "done") {
    return {
      ok: false,
      refusal: `migration "${status.migration}" is done (old side deleted); nothing changes any more`,
    };
  }
  const handler = HANDLERS[event.type] as Handler<MigrationEvent> | undefined;
  if (!handler) return { ok: false, refusal: `unknown event ${JSON.stringify(event.type)}` };
  const outcome = handler(status, event, now);
  if (typeof outcome === "string") return { ok: false, refusal: outcome };
  const next = structuredClone(status);
  next.timestamps.updatedAt = now.toISOString();
  outcome.apply?.(next);
  next.state = outcome.to;
  const entry: HistoryEntry = {
    at: now.toISOString(),
    event: event.type,
    phase: next.phase,
    from: status.state,
    to: outcome.to,
    ...(outcome.verdict ? { verdict: outcome.verdict } : {}),
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.evidence ? { evidence: outcome.evidence } : {}),
    ...(event.runUrl ? { runUrl: event.runUrl } : {}),
    ...(event.actor ? { actor: event.actor } : {}),
  };
  next.history.push(entry);
  return { ok: true, status: next, entry };
}

/** Like {@link transition}, but throws {@link TransitionRefusedError} on a refusal; for callers that cannot continue. */
export function transitionOrThrow(
  status: MigrationStatus,
  event: MigrationEvent,
  now: Date,
): MigrationStatus {
  const result = transition(status, event, now);
  if (!result.ok) throw new TransitionRefusedError(event.type, result.refusal);
  return result.status;
}
