/**
 * The planner: from the spec, the status, now and the promotion decision,
 * the ordered steps that applying the spec would take, each with why it is
 * needed and which environment's reviewers it waits for, plus whether the
 * current phase earned its promotion and on what evidence.
 */
import { durationSeconds, formatDuration } from "../model/duration.js";
import type {
  CompareCheckSpec,
  Comparison,
  GateMetricSpec,
  GateSpec,
  Migration,
  MigrationsFile,
  PhaseSpec,
  StepKind,
  StepSpec,
  Threshold,
} from "../model/spec.js";
import type {
  Evidence,
  HistoryEntry,
  MigrationStatus,
  PhaseState,
  Verdict,
  Weights,
} from "../model/status.js";
import { decidePromotion, type PromotionDecision } from "./promotion.js";

/** A gate as the plan shows it: its thresholds, ready for a table. */
export interface GatePlan {
  name: string;
  period: string;
  minSamples: number;
  checkCost: boolean;
  metrics: {
    name: string;
    /** Preset name, or "custom" for a custom query. */
    metric: string;
    side: "new" | "old";
    pass: Threshold;
    rollback?: Threshold;
    compareToOld?: Comparison;
  }[];
  /** The gate's compare checks, as the spec gives them; absent when it has none. */
  checks?: CompareCheckSpec[];
}

/** One step applying the spec would take. */
export interface PlannedStep {
  phase: string;
  kind: StepKind | "rollback" | "bake-continues" | "finish-decommission" | "finish-rollback" | "remove";
  /** What it does, in a sentence. */
  action: string;
  /** Why it is needed. */
  why: string;
  /** GitHub environment whose required reviewers must approve it; absent when it waits for nobody. */
  approval?: string;
  gate?: GatePlan;
  bake?: { duration: string; seconds: number; leftSeconds?: number; endsAt?: string };
}

/** The last gate verdict recorded for a phase, from the history. */
export interface VerdictEvidence {
  verdict: Verdict;
  at: string;
  gate?: string;
  reason?: string;
  runUrl?: string;
  evidence?: Evidence;
}

/** Where the applied phase stands and whether it earned promotion. */
export interface CurrentPhaseReport {
  phase: string | null;
  state: PhaseState;
  weights: Weights;
  /** True when the applied phase has passed (or the migration is done). */
  earnedPromotion: boolean;
  /** One sentence: why it has or has not earned promotion. */
  explanation: string;
  bakeEndsAt?: string;
  bakeLeftSeconds?: number;
  lastVerdict?: VerdictEvidence;
}

export interface MigrationPlan {
  migration: string;
  decision: PromotionDecision;
  current: CurrentPhaseReport;
  /** Ordered; empty when the change is refused or nothing needs doing. */
  steps: PlannedStep[];
}

export interface Plan {
  generatedAt: string;
  specFile: string;
  /** The git ref the spec was compared with, when any. */
  base?: string;
  /** False when any migration's change is refused. */
  ok: boolean;
  migrations: MigrationPlan[];
}

function gatePlan(name: string, gate: GateSpec): GatePlan {
  return {
    name,
    period: gate.period,
    minSamples: gate.minSamples,
    checkCost: gate.checkCost === true,
    metrics: gate.metrics.map((metric: GateMetricSpec) => ({
      name: metric.name,
      metric: typeof metric.metric === "string" ? metric.metric : "custom",
      side: metric.side ?? "new",
      pass: metric.pass,
      ...(metric.rollback ? { rollback: metric.rollback } : {}),
      ...(metric.compareToOld ? { compareToOld: metric.compareToOld } : {}),
    })),
    ...(gate.checks?.length ? { checks: gate.checks } : {}),
  };
}

/** The last gate evaluation recorded in the history for `phase`. */
export function lastGateVerdict(
  history: readonly HistoryEntry[],
  phase: string | null,
): VerdictEvidence | undefined {
  for (let index = history.length - 1; index >= 0; index--) {
    const entry = history[index]!;
    if (entry.event !== "gate-evaluated" || entry.phase !== phase || !entry.verdict) continue;
    return {
      verdict: entry.verdict,
      at: entry.at,
      ...(typeof entry.evidence?.gate === "string" ? { gate: entry.evidence.gate } : {}),
      ...(entry.reason ? { reason: entry.reason } : {}),
      ...(entry.runUrl ? { runUrl: entry.runUrl } : {}),
      ...(entry.evidence ? { evidence: entry.evidence } : {}),
    };
  }
  return undefined;
}

function bakeLeft(status: MigrationStatus, now: Date): number | undefined {
  const endsAt = status.timestamps.bakeEndsAt;
  if (!endsAt) return undefined;
  return Math.max(0, Math.ceil((new Date(endsAt).getTime() - now.getTime()) / 1000));
}

/** Where the applied phase stands and whether it has earned promotion. */
export function currentPhaseReport(status: MigrationStatus, now: Date): CurrentPhaseReport {
  const verdict = lastGateVerdict(status.history, status.phase);
  const left = status.state === "baking" ? bakeLeft(status, now) : undefined;
  const earned = status.state === "passed" || status.state === "done";
  const verdictText = verdict
    ? `last gate verdict ${verdict.verdict} at ${verdict.at}`
    : "no gate verdict recorded";
  let explanation: string;
  if (status.phase === null) explanation = "nothing is applied yet";
  else if (earned)
    explanation = `"${status.phase}" has ${status.state === "done" ? "completed" : "passed"}; ${verdictText}`;
  else if (status.state === "baking") {
    explanation = `"${status.phase}" is baking${left === undefined ? "" : `, ${formatDuration(left)} left`}; ${verdictText}`;
  } else explanation = `"${status.phase}" is ${status.state}; it has not passed`;
  return {
    phase: status.phase,
    state: status.state,
    weights: status.weights,
    earnedPromotion: earned,
    explanation,
    ...(status.timestamps.bakeEndsAt ? { bakeEndsAt: status.timestamps.bakeEndsAt } : {}),
    ...(left === undefined ? {} : { bakeLeftSeconds: left }),
    ...(verdict ? { lastVerdict: verdict } : {}),
  };
}

function describeSide(migration: Migration, side: "new" | "old"): string {
  const target = side === "new" ? migration.newSide : migration.oldSide;
  return target.kind === "ecs"
    ? `ECS service ${target.cluster}/${target.service}`
    : `Lambda ${target.functionName}:${target.alias}`;
}

function describeLoadThresholds(step: Extract<StepSpec, { kind: "load-test" }>): string {
  const { p95Ms, p99Ms, maxErrorRate, minRateRatio } = step.thresholds;
  const parts = [
    p95Ms === undefined ? undefined : `p95 ≤ ${p95Ms} ms`,
    p99Ms === undefined ? undefined : `p99 ≤ ${p99Ms} ms`,
    maxErrorRate === undefined ? undefined : `errors ≤ ${maxErrorRate * 100} %`,
    minRateRatio === undefined ? undefined : `rate ≥ ${minRateRatio * 100} % of requested`,
  ].filter((part): part is string => part !== undefined);
  return parts.length > 0 ? parts.join(", ") : "no thresholds";
}

/** Plans the steps of one phase, starting from the new side's weight `fromWeight`. */
function phaseSteps(migration: Migration, phase: PhaseSpec, fromWeight: number, why: string): PlannedStep[] {
  let weight = fromWeight;
  const approval = phase.environment;
  return phase.steps.map((step): PlannedStep => {
    const base = { phase: phase.name, approval };
    switch (step.kind) {
      case "deploy":
        return {
          ...base,
          kind: "deploy",
          action: `Deploy the release to the ${step.side} side (${describeSide(migration, step.side)})`,
          why:
            step.side === "new"
              ? `${why}: the new side must run the release before it is tested or takes traffic`
              : `${why}: the old side must run the release it may take traffic back for`,
        };
      case "load-test":
        return {
          ...base,
          kind: "load-test",
          action: `Load test with ${step.scenario} (${describeLoadThresholds(step)})`,
          why: `${why}: the new side must hold this load before real users reach it`,
        };
      case "shift": {
        const from = weight;
        weight = step.weight;
        return {
          ...base,
          kind: "shift",
          action:
            from === step.weight
              ? `Confirm traffic is at new ${step.weight} % / old ${100 - step.weight} % (already there: no change)`
              : `Shift traffic: new ${from} % → ${step.weight} %, old ${100 - from} % → ${100 - step.weight} %, in one atomic change`,
          why: `${why}: phase "${phase.name}" sends ${step.weight} % of traffic to the new side`,
        };
      }
      case "bake": {
        const gate = migration.gates[step.gate];
        const seconds = durationSeconds(step.duration);
        return {
          ...base,
          kind: "bake",
          action: `Bake ${step.duration} under gate "${step.gate}", re-evaluated on a schedule`,
          why: `${why}: the phase passes only when the gate holds for the whole bake; a rollback threshold breach rolls back at once`,
          ...(gate ? { gate: gatePlan(step.gate, gate) } : {}),
          bake: { duration: step.duration, seconds },
        };
      }
      case "decommission":
        return {
          ...base,
          kind: "decommission",
          action:
            `Scale ${describeSide(migration, "old")} to zero, hold ${step.hold} while rollback stays possible, then delete it` +
            (step.quietWindow ? ` (only after ${step.quietWindow} with no requests on it)` : ""),
          why: `${why}: the new side carries all traffic, so the old side is retired`,
        };
      default:
        // Validated specs hold only the kinds above; a new kind must be planned here.
        throw new Error(
          `phase "${phase.name}" has a step of unknown kind ${JSON.stringify((step as { kind: unknown }).kind)}`,
        );
    }
  });
}

/** The new side's weight at the end of `phaseName` (the last shift at or before it), 0 when none. */
export function weightAfterPhase(migration: Migration, phaseName: string): number {
  let weight = 0;
  for (const phase of migration.phases) {
    for (const step of phase.steps) if (step.kind === "shift") weight = step.weight;
    if (phase.name === phaseName) break;
  }
  return weight;
}

function continuingSteps(
  migration: Migration,
  phase: PhaseSpec,
  status: MigrationStatus,
  now: Date,
): PlannedStep[] {
  const bake = phase.steps.find((step) => step.kind === "bake");
  switch (status.state) {
    case "baking": {
      const left = bakeLeft(status, now);
      const gate = bake ? migration.gates[bake.gate] : undefined;
      return [
        {
          phase: phase.name,
          kind: "bake-continues",
          action: `Keep baking "${phase.name}"${left === undefined ? "" : ` (${formatDuration(left)} left)`}; the scheduled check re-evaluates the gate`,
          why: "the bake is not over; the phase passes only when the gate holds to its end",
          ...(bake && gate ? { gate: gatePlan(bake.gate, gate) } : {}),
          ...(bake
            ? {
                bake: {
                  duration: bake.duration,
                  seconds: durationSeconds(bake.duration),
                  ...(left === undefined ? {} : { leftSeconds: left }),
                  ...(status.timestamps.bakeEndsAt ? { endsAt: status.timestamps.bakeEndsAt } : {}),
                },
              }
            : {}),
        },
      ];
    }
    case "rolling-back":
      return [
        {
          phase: phase.name,
          kind: "finish-rollback",
          action: "Finish the rollback in progress (re-run the rollback workflow)",
          why: "a rollback started but its completion is not recorded",
        },
      ];
    case "decommissioning":
      return [
        {
          phase: phase.name,
          kind: "finish-decommission",
          action: "Delete the old side once the hold has elapsed with no traffic on it",
          why: "the old side is scaled to zero and held while rollback stays possible",
          approval: phase.environment,
        },
      ];
    case "applying":
    case "failed":
    case "rolled-back":
    case "pending":
      return phaseSteps(
        migration,
        phase,
        status.weights.new,
        `"${phase.name}" is ${status.state}; it is applied again`,
      );
    default:
      return [];
  }
}

/** What one migration's decision means in steps. */
function stepsFor(
  head: Migration | undefined,
  status: MigrationStatus,
  decision: PromotionDecision,
  now: Date,
): PlannedStep[] {
  if (!decision.allowed) return [];
  if (!head) {
    return [
      {
        phase: decision.from ?? "",
        kind: "remove",
        action: `Stop managing "${decision.migration}"; its status file stays as the record`,
        why: decision.reason,
      },
    ];
  }
  const phase = head.phases.find((candidate) => candidate.name === head.phase);
  if (!phase) return [];
  if (decision.kind === "rollback") {
    const weight = weightAfterPhase(head, head.phase);
    return [
      {
        phase: head.phase,
        kind: "rollback",
        action: `Roll traffic back to the weights of "${head.phase}": new ${status.weights.new} % → ${weight} %, old ${status.weights.old} % → ${100 - weight} %`,
        why: `${decision.reason}; a rollback waits for nobody so that it completes within minutes`,
      },
    ];
  }
  if (status.phase === head.phase && status.state !== "pending")
    return continuingSteps(head, phase, status, now);
  const why = decision.override
    ? `override (${decision.override.reason})`
    : `"${head.phase}" is the phase the spec asks for`;
  return phaseSteps(head, phase, status.weights.new, why);
}

/** Plans one migration from its decision (see {@link decidePromotion}). */
export function planMigration(
  head: Migration | undefined,
  status: MigrationStatus,
  decision: PromotionDecision,
  now: Date,
): MigrationPlan {
  return {
    migration: decision.migration,
    decision,
    current: currentPhaseReport(status, now),
    steps: stepsFor(head, status, decision, now),
  };
}

/** Everything the planner reads for a whole spec. */
export interface PlanInput {
  head: MigrationsFile;
  /** The spec at the base ref; undefined when the file did not exist there (every migration is new). */
  base: MigrationsFile | undefined;
  /** Status by migration id; a missing one means nothing was applied. */
  statuses: ReadonlyMap<string, MigrationStatus>;
  now: Date;
  specFile: string;
  baseRef?: string;
  /** Builds the status of a migration that has none (nothing applied). */
  initial: (id: string) => MigrationStatus;
}

/** Plans every migration of the head spec, and the ones the head removed. */
export function buildPlan(input: PlanInput): Plan {
  const headIds = input.head.migrations.map((migration) => migration.id);
  const removedIds = (input.base?.migrations ?? [])
    .map((migration) => migration.id)
    .filter((id) => !headIds.includes(id));
  const migrations = [...headIds, ...removedIds].map((id) => {
    const head = input.head.migrations.find((migration) => migration.id === id);
    const base = input.base?.migrations.find((migration) => migration.id === id);
    const status = input.statuses.get(id) ?? input.initial(id);
    return planMigration(head, status, decidePromotion({ base, head, status }), input.now);
  });
  return {
    generatedAt: input.now.toISOString(),
    specFile: input.specFile,
    ...(input.baseRef ? { base: input.baseRef } : {}),
    ok: migrations.every((plan) => plan.decision.allowed),
    migrations,
  };
}
