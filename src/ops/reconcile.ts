/**
 * reconcile: at the start of every job that may touch AWS, compare the
 * recorded status with what AWS reports (weights, the old side's desired
 * count, the new side's alias version). A change cutover applied but never
 * recorded (the runner died between the change and the status commit) is
 * recorded now; anything else is drift made outside cutover: it is recorded
 * as such, reported loudly, and blocks promotion until a person decides
 * (puts AWS back, rolls back, or adopts what AWS holds).
 */
import { resolve } from "node:path";
import type { RunContext } from "../action/run-context.js";
import type { ActionReport } from "../action/summary.js";
import {
  type EventOrigin,
  type MigrationEvent,
  overrideAlreadyUsed,
  type RollbackTarget,
  transition,
  unresolvedDrift,
} from "../core/transitions.js";
import type { AwsCheckpointDocument, AwsJournalEntry } from "../model/aws-checkpoint.js";
import type { Migration } from "../model/spec.js";
import {
  type Checkpoint,
  type Evidence,
  type MigrationStatus,
  sameWeights,
  type Weights,
} from "../model/status.js";
import type { AnnouncerFor } from "../notify/action.js";
import { driftDetectedEvent } from "../notify/event-builders.js";
import { withDeliveries } from "../notify/report.js";
import type { CheckpointStore } from "../providers/checkpoint-store.js";
import type { TargetCheckpointFields } from "../providers/compute-target.js";
import type { StateStore, StatusUpdate } from "../providers/state-store.js";
import { readingWeights } from "../providers/traffic-router.js";
import { findMigration, loadSpec } from "../spec/files.js";
import { JOURNAL_ENTRY_FIELD, recordsJournalEntry } from "./checkpoint-sync.js";
import { bakeSecondsOf, describeWeights } from "./record-state.js";
import { phaseWeightsBySpec } from "./rollback.js";
import type { TrafficProviders } from "./traffic.js";

/** What to do about drift made outside cutover. */
export type DriftPolicy = "fail" | "warn" | "adopt";

export const DRIFT_POLICIES: readonly DriftPolicy[] = ["fail", "warn", "adopt"];

/** AWS as observed just now. */
export interface ObservedAws {
  /** Share of traffic each side receives, in percent. */
  weights: Weights;
  /** The router's settle time: the gate window of a reconciled shift starts this long after now. */
  cacheSeconds: number;
  /** What the compute targets report (old side ECS desired count and task definition, new side alias version). */
  old: TargetCheckpointFields;
  new: TargetCheckpointFields;
  /** The router's label, for messages. */
  routerLabel: string;
  /** Rollbacks made outside the workflows (guardian, break-glass), from the AWS-side journal. */
  journal?: AwsJournalEntry[];
  /** The change a workflow run announced on the AWS-side checkpoint and did not clear (it died after the change). */
  inFlight?: NonNullable<AwsCheckpointDocument["inFlight"]>;
}

export type ReconcileOutcome = "in-sync" | "recorded" | "drift";

/** What reconciling one status against AWS decided. */
export interface ReconcilePlan {
  outcome: ReconcileOutcome;
  /** Sentences for people: what was compared and what it showed. */
  findings: string[];
  /** State-machine events to record, in order (empty when nothing is to be recorded). */
  events: MigrationEvent[];
  /** Drift made outside cutover, in one sentence; undefined when there is none. */
  drift?: string;
}

export { unresolvedDrift } from "../core/transitions.js";

/** Applies events in order; the status after them, or the first refusal. */
export function simulate(
  status: MigrationStatus,
  events: readonly MigrationEvent[],
  now: Date,
): { ok: true; status: MigrationStatus } | { ok: false; refusal: string } {
  let current = status;
  for (const event of events) {
    const result = transition(current, event, now);
    if (!result.ok) return { ok: false, refusal: `${event.type}: ${result.refusal}` };
    current = result.status;
  }
  return { ok: true, status: current };
}

function shiftWeightOf(migration: Migration, phaseName: string): number | undefined {
  const phase = migration.phases.find((candidate) => candidate.name === phaseName);
  const shift = phase?.steps.filter((step) => step.kind === "shift").at(-1);
  return shift?.kind === "shift" ? shift.weight : undefined;
}

/** Phases whose shift may have been applied without being recorded: the one the spec asks for, and the one after the applied phase. */
function candidatePhases(migration: Migration, status: MigrationStatus): string[] {
  const names = migration.phases.map((phase) => phase.name);
  const next = names[status.phase === null ? 0 : names.indexOf(status.phase) + 1];
  return [...new Set([migration.phase, ...(next ? [next] : []), ...(status.phase ? [status.phase] : [])])];
}

/** The events that record a shift to `phase` that AWS shows but the status lacks. */
function unrecordedShift(
  migration: Migration,
  status: MigrationStatus,
  observed: ObservedAws,
  phaseName: string,
  now: Date,
  origin: EventOrigin,
): MigrationEvent[] {
  const phase = migration.phases.find((candidate) => candidate.name === phaseName)!;
  const checkpoint: Checkpoint = {
    phase: status.phase,
    takenAt: now.toISOString(),
    weights: { ...status.weights },
    ...observed.old,
    ...observed.new,
  };
  const events: MigrationEvent[] = [];
  if (!(status.state === "applying" && status.phase === phaseName)) {
    events.push({
      type: "apply-started",
      phase: phaseName,
      phaseOrder: migration.phases.map((candidate) => candidate.name),
      ...(migration.phase === phaseName && migration.override ? { override: migration.override } : {}),
      ...origin,
    });
  }
  events.push({
    type: "reconciled",
    reason:
      `${observed.routerLabel} sends ${describeWeights(observed.weights)}: the shift of phase "${phaseName}" was applied ` +
      `but never recorded (the status said ${describeWeights(status.weights)}); recorded now, the gate window starting a cache time from now`,
    weights: { ...observed.weights },
    checkpoint,
    insyncAt: now,
    ttlSeconds: observed.cacheSeconds,
    evidence: {
      kind: "reconcile",
      unrecorded: "shift",
      phase: phaseName,
      recorded: status.weights,
      observed: observed.weights,
    },
    ...origin,
  });
  const shiftIndex = phase.steps.findLastIndex((step) => step.kind === "shift");
  if (phase.steps.slice(shiftIndex + 1).every((step) => step.kind === "bake")) {
    events.push({ type: "apply-succeeded", bakeSeconds: bakeSecondsOf(phase), ...origin });
  }
  return events;
}

/**
 * Every rollback the rollback action could have applied, as the weights it leaves:
 * the last checkpoint (the default), the last checkpoint of each phase
 * (`target-phase: <phase>`, newest first) and all traffic on the old side
 * (`target-phase: all-old`). Recognised by the weights AWS shows.
 */
function rollbackTargets(
  migration: Migration,
  status: MigrationStatus,
): Array<{ target: RollbackTarget; weights: Weights; label: string }> {
  const targets: Array<{ target: RollbackTarget; weights: Weights; label: string }> = [];
  const last = status.checkpoints.at(-1);
  if (last)
    targets.push({
      target: { kind: "last-checkpoint" },
      weights: last.weights,
      label: `the last checkpoint (taken ${last.takenAt})`,
    });
  const phases = [
    ...new Set(status.checkpoints.flatMap((checkpoint) => (checkpoint.phase ? [checkpoint.phase] : []))),
  ];
  for (const phase of phases.reverse()) {
    const checkpoint = status.checkpoints.filter((candidate) => candidate.phase === phase).at(-1)!;
    targets.push({
      target: { kind: "phase", phase },
      weights: checkpoint.weights,
      label: `the checkpoint of phase "${phase}" (taken ${checkpoint.takenAt})`,
    });
  }
  // A phase up to the applied one that no checkpoint was taken in: the weights its shift steps leave.
  const names = migration.phases.map((phase) => phase.name);
  const applied = status.phase === null ? -1 : names.indexOf(status.phase);
  for (const phase of names.slice(0, applied).reverse()) {
    if (phases.includes(phase)) continue;
    const weights = phaseWeightsBySpec(migration, phase);
    // Weights another target already explains (all old before the first shift) keep that explanation.
    if (weights.new === 0 || targets.some((candidate) => sameWeights(candidate.weights, weights))) continue;
    targets.push({
      target: { kind: "phase-weights", phase, weights },
      weights,
      label: `phase "${phase}" as the spec defines it (no checkpoint was taken in it)`,
    });
  }
  targets.push({
    target: { kind: "all-old" },
    weights: { old: 100, new: 0 },
    label: "all traffic on the old side",
  });
  return targets;
}

/**
 * The event that records a shift-traffic run's change it announced on the
 * AWS-side checkpoint just before making it, when the run died before its
 * status commit (a `weight` input the phases do not name, say): AWS holds
 * exactly the announced weights, so the change is cutover's, not drift.
 */
function unrecordedAnnouncedShift(
  status: MigrationStatus,
  observed: ObservedAws,
  now: Date,
  origin: EventOrigin,
): MigrationEvent[] {
  const announced = observed.inFlight;
  if (announced?.action !== "shift-traffic" || !sameWeights(announced.target, observed.weights)) return [];
  return [
    {
      type: "reconciled",
      reason:
        `${observed.routerLabel} sends ${describeWeights(observed.weights)}: the change ${announced.detail} that ${announced.writer} ` +
        `announced at ${announced.startedAt} was applied but never recorded (the run stopped before its status commit); recorded now, ` +
        "the gate window starting a cache time from now",
      weights: { ...observed.weights },
      checkpoint: {
        phase: status.phase,
        takenAt: now.toISOString(),
        weights: { ...status.weights },
        ...observed.old,
        ...observed.new,
      },
      insyncAt: now,
      ttlSeconds: observed.cacheSeconds,
      evidence: {
        kind: "reconcile",
        unrecorded: "shift",
        writer: announced.writer,
        announced: announced.detail,
        announcedAt: announced.startedAt,
        recorded: status.weights,
        observed: observed.weights,
      },
      ...origin,
    },
  ];
}

/** Candidate explanations: each rollback target whose weights AWS shows, as the events that record it. */
function unrecordedRollbacks(
  migration: Migration,
  status: MigrationStatus,
  observed: ObservedAws,
  origin: EventOrigin,
): Array<{ label: string; events: MigrationEvent[] }> {
  if (status.state === "rolled-back" || status.state === "done") return [];
  return rollbackTargets(migration, status)
    .filter((candidate) => sameWeights(candidate.weights, observed.weights))
    .map((candidate) => ({
      label: candidate.target.kind === "last-checkpoint" ? "rollback" : `rollback to ${candidate.label}`,
      events: unrecordedRollback(status, observed, origin, candidate.target, candidate.label),
    }));
}

/** The events that record a rollback to `target` that AWS shows but the status lacks. */
function unrecordedRollback(
  status: MigrationStatus,
  observed: ObservedAws,
  origin: EventOrigin,
  target: RollbackTarget,
  label: string,
): MigrationEvent[] {
  const reason =
    `${observed.routerLabel} sends ${describeWeights(observed.weights)}, ${label}: ` +
    "a rollback was applied but never recorded; recorded now";
  return [
    ...(status.state === "rolling-back" ? [] : [{ type: "rollback-started" as const, reason, ...origin }]),
    {
      type: "rollback-completed",
      target,
      evidence: {
        kind: "reconcile",
        unrecorded: "rollback",
        recorded: status.weights,
        observed: observed.weights,
      },
      ...origin,
    },
  ];
}

/**
 * The version the new side's alias should serve by the record: the last
 * recorded deploy's, unless a later rollback pointed the alias back.
 */
function recordedVersion(migration: Migration, status: MigrationStatus): string | undefined {
  // Each GitHub environment is its own AWS account: only what was recorded in
  // the environment of the phase being worked on describes the alias seen here.
  const environmentOf = (phase: string | null) =>
    migration.phases.find((candidate) => candidate.name === phase)?.environment;
  const here = environmentOf(migration.phase) ?? environmentOf(status.phase);
  const entry = status.history.findLast(
    (candidate) =>
      environmentOf(candidate.phase) === here &&
      ((candidate.event === "deployed" && candidate.evidence?.kind === "deploy") ||
        (candidate.evidence?.kind === "rollback" && typeof candidate.evidence.lambdaVersion === "string")),
  );
  const version =
    entry?.evidence?.kind === "rollback" ? entry.evidence.lambdaVersion : entry?.evidence?.version;
  return typeof version === "string" && version !== "" ? version : undefined;
}

/** Where the compute targets differ from what the status implies; each a sentence. */
export function targetDrift(migration: Migration, status: MigrationStatus, observed: ObservedAws): string[] {
  const problems: string[] = [];
  const count = observed.old.ecsDesiredCount;
  if (migration.oldSide.kind === "ecs" && count !== undefined && status.decommission?.stage !== "deleted") {
    if (status.decommission?.stage === "scaled-down" && count > 0) {
      problems.push(
        `the old side (ECS ${migration.oldSide.cluster}/${migration.oldSide.service}) has desired count ${count}, but the status holds it scaled down since ${status.decommission.holdStartedAt}`,
      );
    }
    if (!status.decommission && status.weights.old > 0 && count === 0) {
      problems.push(
        `the old side (ECS ${migration.oldSide.cluster}/${migration.oldSide.service}) is scaled to zero while the status sends it ${status.weights.old} % of traffic`,
      );
    }
  }
  const version = recordedVersion(migration, status);
  const aliasVersion = observed.new.lambdaVersion;
  if (migration.newSide.kind === "lambda" && version && aliasVersion && version !== aliasVersion) {
    problems.push(
      `the alias ${migration.newSide.functionName}:${migration.newSide.alias} points at version ${aliasVersion}, but the last recorded deploy or rollback left version ${version}`,
    );
  }
  return problems;
}

/** A scale-down of the old side that AWS shows but the status lacks (the decommission phase, old side at 0 % and 0 tasks). */
function unrecordedScaleDown(
  migration: Migration,
  status: MigrationStatus,
  observed: ObservedAws,
  origin: EventOrigin,
): MigrationEvent[] {
  const phase = migration.phases.find((candidate) => candidate.name === migration.phase);
  if (!phase?.steps.some((step) => step.kind === "decommission")) return [];
  if (status.decommission || status.weights.old !== 0 || observed.old.ecsDesiredCount !== 0) return [];
  const before = status.checkpoints.findLast(
    (checkpoint) => (checkpoint.ecsDesiredCount ?? 0) > 0,
  )?.ecsDesiredCount;
  if (before === undefined) return [];
  return [
    ...(status.state === "applying" && status.phase === phase.name
      ? []
      : [
          {
            type: "apply-started" as const,
            phase: phase.name,
            phaseOrder: migration.phases.map((candidate) => candidate.name),
            ...origin,
          },
        ]),
    {
      type: "decommission-scaled-down",
      desiredCountBefore: before,
      evidence: {
        kind: "reconcile",
        unrecorded: "scale-down",
        desiredCountBefore: before,
        observedDesiredCount: 0,
      },
      ...origin,
    },
  ];
}

/**
 * A rollback that scaled the held-down old side back to its count before the
 * scale-down and died before moving weight or committing: AWS shows that count
 * while the status still holds the side scaled down. Recorded as the rollback
 * in progress, which the next rollback run completes (the scale-up is idempotent).
 */
function unrecordedRollbackScaleUp(
  status: MigrationStatus,
  observed: ObservedAws,
  origin: EventOrigin,
): MigrationEvent[] {
  const count = observed.old.ecsDesiredCount;
  if (status.decommission?.stage !== "scaled-down" || status.state === "rolling-back") return [];
  if (count === undefined || count === 0 || count !== status.decommission.desiredCountBefore) return [];
  return [
    {
      type: "rollback-started",
      reason:
        `the old side is back at desired count ${count}, its count before the scale-down, while the status holds it scaled down: ` +
        "a rollback scaled it up but was not recorded; recorded as in progress, the next rollback run completes it",
      evidence: {
        kind: "reconcile",
        unrecorded: "rollback-scale-up",
        desiredCountBefore: status.decommission.desiredCountBefore,
        observedDesiredCount: count,
      },
      ...origin,
    },
  ];
}

/** Finds the first explanation whose events the state machine accepts. */
function firstAccepted(
  status: MigrationStatus,
  candidates: Array<{ label: string; events: MigrationEvent[] }>,
  now: Date,
): { label: string; events: MigrationEvent[] } | undefined {
  return candidates.find(
    (candidate) => candidate.events.length > 0 && simulate(status, candidate.events, now).ok,
  );
}

/**
 * The events that record a rollback the guardian or a person made from the
 * AWS-side checkpoint, journaled but not yet in the status: the latest such
 * entry whose weights AWS still holds, with its evidence (alarm, datapoints,
 * before and after, change id). Earlier unrecorded entries are named in it.
 */
function rollbackOutsideWorkflows(
  status: MigrationStatus,
  observed: ObservedAws,
  origin: EventOrigin,
  now: Date,
): { finding: string; events: MigrationEvent[] } | undefined {
  const pending = (observed.journal ?? []).filter(
    (entry) => entry.outcome === "rolled-back" && !recordsJournalEntry(status, entry.id),
  );
  const entry = pending.findLast(
    (candidate) => candidate.after && sameWeights(candidate.after, observed.weights),
  );
  if (!entry?.after) return undefined;
  const last = status.checkpoints.at(-1);
  // The state machine restores a target's weights: the last checkpoint's, or all-old.
  let target: RollbackTarget | undefined;
  const phase = entry.target?.startsWith("phase:") ? entry.target.slice("phase:".length) : undefined;
  if (entry.after.new === 0 && entry.after.old === 100) target = { kind: "all-old" };
  else if (phase !== undefined) target = { kind: "phase", phase };
  else if (last && sameWeights(last.weights, entry.after)) target = { kind: "last-checkpoint" };
  if (!target) return undefined;
  const who =
    entry.by === "guardian"
      ? "the guardian"
      : `a break-glass rollback${entry.trigger.operator ? ` by ${entry.trigger.operator}` : ""}`;
  const evidence: Evidence = {
    kind: "rollback",
    by: entry.by,
    [JOURNAL_ENTRY_FIELD]: entry.id,
    trigger: entry.trigger,
    before: entry.before,
    after: entry.after,
    target: entry.target,
    ...(entry.changeId ? { changeId: entry.changeId } : {}),
    ...(entry.submittedAt ? { submittedAt: entry.submittedAt } : {}),
    ...(entry.insyncAt ? { insyncAt: entry.insyncAt } : {}),
    ...(entry.restored && typeof entry.restored.lambdaVersion === "string"
      ? { lambdaVersion: entry.restored.lambdaVersion }
      : {}),
    ...(pending.length > 1
      ? { alsoRecorded: pending.filter((other) => other !== entry).map((other) => other.id) }
      : {}),
  };
  const reason = `rolled back by ${who} at ${entry.at}: ${entry.trigger.reason}`;
  const events: MigrationEvent[] = [
    ...(status.state === "rolling-back"
      ? []
      : [{ type: "rollback-started" as const, reason, evidence, ...origin }]),
    { type: "rollback-completed", target, evidence, ...origin },
  ];
  // Recorded only when the status it leaves says what AWS holds.
  const result = simulate(status, events, now);
  if (!result.ok || !sameWeights(result.status.weights, observed.weights)) return undefined;
  return {
    finding: `Recorded the rollback ${who} made at ${entry.at} (journal entry ${entry.id}): ${describeWeights(entry.before ?? status.weights)} → ${describeWeights(entry.after)}, change ${entry.changeId ?? "none"}.`,
    events,
  };
}

/**
 * Decides what reconciling `status` against `observed` records. Pure: the
 * same inputs give the same plan, so the store can re-run it on a newer status.
 */
export function planReconcile(
  migration: Migration,
  status: MigrationStatus,
  observed: ObservedAws,
  policy: DriftPolicy,
  now: Date,
  origin: EventOrigin,
): ReconcilePlan {
  const findings = [
    `Status: phase ${status.phase ?? "(none applied)"} ${status.state}, ${describeWeights(status.weights)}.`,
    `AWS: ${observed.routerLabel} sends ${describeWeights(observed.weights)}` +
      `${observed.old.ecsDesiredCount !== undefined ? `; old side desired count ${observed.old.ecsDesiredCount}` : ""}` +
      `${observed.new.lambdaVersion !== undefined ? `; new side alias at version ${observed.new.lambdaVersion}` : ""}.`,
  ];
  const pending = unresolvedDrift(status);
  if (status.state === "done") {
    findings.push("The migration is done (old side deleted): nothing to reconcile.");
    return { outcome: "in-sync", findings, events: [] };
  }
  const outside = rollbackOutsideWorkflows(status, observed, origin, now);
  if (outside) {
    findings.push(outside.finding);
    return { outcome: "recorded", findings, events: outside.events };
  }
  const weightsAgree = sameWeights(status.weights, observed.weights);
  const explained = weightsAgree
    ? firstAccepted(
        status,
        [
          { label: "scale-down", events: unrecordedScaleDown(migration, status, observed, origin) },
          { label: "rollback's scale-up", events: unrecordedRollbackScaleUp(status, observed, origin) },
        ],
        now,
      )
    : firstAccepted(
        status,
        [
          ...unrecordedRollbacks(migration, status, observed, origin),
          ...candidatePhases(migration, status)
            .filter((phase) => shiftWeightOf(migration, phase) === observed.weights.new)
            .map((phase) => ({
              label: `shift of ${phase}`,
              events: unrecordedShift(migration, status, observed, phase, now, origin),
            })),
          { label: "announced change", events: unrecordedAnnouncedShift(status, observed, now, origin) },
        ],
        now,
      );
  if (explained) {
    findings.push(`Applied but unrecorded: the ${explained.label}. Recorded now.`);
    return { outcome: "recorded", findings, events: explained.events };
  }
  const problems = [
    ...(weightsAgree
      ? []
      : [
          `${observed.routerLabel} sends ${describeWeights(observed.weights)} but the status records ${describeWeights(status.weights)}, and no change cutover made explains it`,
        ]),
    ...targetDrift(migration, status, observed),
  ];
  if (problems.length === 0) {
    if (pending) {
      findings.push(`AWS agrees with the status again: the drift recorded ${pending.at} is settled.`);
      return {
        outcome: "recorded",
        findings,
        events: [
          {
            type: "reconciled",
            reason: `AWS agrees with the status again; the drift recorded ${pending.at} is settled`,
            weights: { ...status.weights },
            evidence: { kind: "reconcile", settles: pending.at, observed: observed.weights },
            ...origin,
          },
        ],
      };
    }
    findings.push("AWS agrees with the status.");
    return { outcome: "in-sync", findings, events: [] };
  }
  const drift = `Drift made outside cutover: ${problems.join("; ")}.`;
  findings.push(drift);
  if (policy === "adopt") {
    return {
      outcome: "recorded",
      findings: [
        ...findings,
        `Adopted by ${origin.actor ?? "the person who ran this"}: the status now records what AWS holds.`,
      ],
      events: [
        {
          type: "reconciled",
          reason: `drift adopted by ${origin.actor ?? "a person"}: ${problems.join("; ")}`,
          weights: { ...observed.weights },
          evidence: {
            kind: "reconcile",
            adopted: true,
            recorded: status.weights,
            observed: observed.weights,
          },
          ...origin,
        },
      ],
      drift,
    };
  }
  const alreadyRecorded =
    pending !== undefined &&
    sameWeights(pending.evidence?.observed as Weights | undefined, observed.weights) &&
    pending.reason === problems.join("; ");
  return {
    outcome: "drift",
    findings,
    drift,
    events: alreadyRecorded
      ? []
      : [
          {
            type: "drift-detected",
            observed: { ...observed.weights },
            detail: problems.join("; "),
            ...origin,
          },
        ],
  };
}

/** Reads what AWS holds for a migration through its providers. */
export async function observeAws(
  providers: TrafficProviders,
  outsideOf?: () => Promise<Pick<ObservedAws, "journal" | "inFlight">>,
): Promise<ObservedAws> {
  const capture = async (side: "old" | "new"): Promise<TargetCheckpointFields> => {
    try {
      return await providers.sides[side].capture();
    } catch {
      // A deleted old side (after decommission) has nothing to capture.
      return {};
    }
  };
  const [reading, old, fresh, outside] = await Promise.all([
    providers.router.read(),
    capture("old"),
    capture("new"),
    outsideOf ? outsideOf() : Promise.resolve({}),
  ]);
  const weights = providers.router.effectiveWeights(readingWeights(reading));
  const pick = (fields: TargetCheckpointFields, keys: Array<keyof TargetCheckpointFields>) =>
    Object.fromEntries(keys.filter((key) => fields[key] !== undefined).map((key) => [key, fields[key]]));
  return {
    weights,
    cacheSeconds: reading.settleSeconds,
    old: pick(old, ["ecsDesiredCount", "ecsTaskDefinition", "lambdaVersion"]),
    new: pick(fresh, ["lambdaVersion", "ecsDesiredCount", "ecsTaskDefinition"]),
    routerLabel: providers.router.label,
    ...outside,
  };
}

export interface ReconcileResult {
  plan: ReconcilePlan;
  update: StatusUpdate;
  observed: ObservedAws;
}

/** Observes AWS once, then records what the plan says on the latest status (re-planned if another run committed first). */
export async function reconcile(
  migration: Migration,
  providers: TrafficProviders,
  store: StateStore,
  policy: DriftPolicy,
  now: () => Date,
  origin: EventOrigin,
  outside?: { store: CheckpointStore; warn: (message: string) => void },
): Promise<ReconcileResult> {
  const observed = await observeAws(
    providers,
    outside
      ? async () => {
          const { entries, problems } = await outside.store.listJournal(migration.id);
          for (const problem of problems) outside.warn(`AWS-side journal entry skipped: ${problem}`);
          const stored = await outside.store.read(migration.id).catch((error: unknown) => {
            outside.warn(`the AWS-side checkpoint cannot be read: ${(error as Error).message}`);
            return undefined;
          });
          const inFlight = stored?.document.inFlight;
          return { journal: entries, ...(inFlight ? { inFlight } : {}) };
        }
      : undefined,
  );
  let plan: ReconcilePlan | undefined;
  const update = await store.update(migration.id, (current) => {
    plan = planReconcile(migration, current.status, observed, policy, now(), origin);
    if (plan.events.length === 0) return undefined;
    const result = simulate(current.status, plan.events, now());
    if (!result.ok)
      throw new Error(`reconciling "${migration.id}" was refused by the state machine: ${result.refusal}`);
    return {
      status: result.status,
      facts: {
        event: plan.events.map((event) => event.type).join(", "),
        summary: plan.findings.at(-1) ?? "reconciled",
        ...(origin.runUrl ? { runUrl: origin.runUrl } : {}),
      },
    };
  });
  return { plan: plan!, update, observed };
}

/** The reconcile action's inputs, parsed. */
export interface ReconcileInputs {
  migration: string;
  spec: string;
  onDrift: DriftPolicy;
  /** Where the AWS-side checkpoint and journal live; rollbacks journaled there are recorded. */
  checkpointStore?: string;
}

export type ReconcileOutput =
  | "outcome"
  | "drift"
  | "phase"
  | "state"
  | "weights"
  | "observed-weights"
  | "committed"
  | "rolled-back-outside";

export interface ReconcileEnvironment {
  run: RunContext;
  setOutput: (name: ReconcileOutput, value: string | number | boolean | object) => void;
  store: StateStore;
  /** Builds the providers the spec names (from the AWS clients). */
  providers: (migration: Migration) => TrafficProviders;
  warn: (message: string) => void;
  now: () => Date;
  checkpointStore?: CheckpointStore;
  /** Announces drift (once, when first recorded) to the migration's notification sinks. */
  announcerFor?: AnnouncerFor;
}

/** Thrown when drift fails the step; carries the job summary. */
export class DriftRefusal extends Error {
  constructor(
    message: string,
    readonly report: ActionReport,
  ) {
    super(message);
    this.name = "DriftRefusal";
  }
}

/** The reconcile action: observe, record, publish, and fail on drift when asked to. */
export async function runReconcile(
  inputs: ReconcileInputs,
  env: ReconcileEnvironment,
): Promise<ActionReport> {
  const spec = await loadSpec(resolve(env.run.workspace, inputs.spec));
  const migration = findMigration(spec, inputs.migration);
  const origin: EventOrigin = {
    ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
    ...(env.run.actor ? { actor: env.run.actor } : {}),
  };
  const { plan, update, observed } = await reconcile(
    migration,
    env.providers(migration),
    env.store,
    inputs.onDrift,
    env.now,
    origin,
    env.checkpointStore ? { store: env.checkpointStore, warn: env.warn } : undefined,
  );
  const { status } = update;
  const outsideBy = plan.events
    .map((event) =>
      event.type === "rollback-completed"
        ? event.evidence?.[JOURNAL_ENTRY_FIELD] && event.evidence.by
        : undefined,
    )
    .find((by) => typeof by === "string");
  env.setOutput("rolled-back-outside", typeof outsideBy === "string" ? outsideBy : "");
  env.setOutput("outcome", plan.outcome);
  env.setOutput("drift", plan.drift ?? "");
  env.setOutput("phase", status.phase ?? "");
  env.setOutput("state", status.state);
  env.setOutput("weights", status.weights);
  env.setOutput("observed-weights", observed.weights);
  env.setOutput("committed", update.committed);
  // Every job of every run reconciles: drift is announced only by the run that records it.
  const newDrift = update.committed && plan.events.some((event) => event.type === "drift-detected");
  const deliveries = newDrift
    ? ((await env.announcerFor?.(migration).announce(
        driftDetectedEvent(
          {
            migration: migration.id,
            phase: status.phase,
            time: env.now(),
            ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
          },
          { recorded: status.weights, observed: observed.weights, explanation: plan.drift ?? "" },
        ),
      )) ?? [])
    : [];
  const report: ActionReport = withDeliveries<ActionReport>(
    {
      title: `reconcile: ${migration.id}`,
      headline:
        plan.outcome === "in-sync"
          ? `In sync: ${describeWeights(status.weights)}, phase ${status.phase ?? "none"} ${status.state}.`
          : plan.outcome === "recorded"
            ? `Recorded what AWS holds: ${describeWeights(status.weights)}, phase ${status.phase ?? "none"} ${status.state}.`
            : (plan.drift ?? "Drift"),
      found: plan.findings,
      done: [
        update.committed
          ? `Committed ${update.revision?.slice(0, 12)} to ${env.store.location}: ${plan.events.map((event) => event.type).join(", ")}.`
          : `Nothing new to record on ${env.store.location}.`,
        "Copied the recorded status into the workspace for the steps that follow.",
      ],
      next:
        plan.outcome === "drift"
          ? [
              "Promotion is blocked until a person decides: put AWS back to the recorded weights, run the rollback workflow, " +
                "or re-run with on-drift: adopt to record what AWS holds.",
            ]
          : [],
    },
    deliveries,
  );
  if (plan.outcome === "drift") {
    const handling = driftHandling(migration, status, inputs.onDrift, plan.drift ?? "drift");
    if (handling.fail) throw new DriftRefusal(handling.message, report);
    env.warn(handling.message);
  }
  return report;
}

/**
 * Whether drift fails the step. An override with a reason in the spec is how
 * a person lets a phase go on despite drift (the plan showed it on the pull
 * request, and the apply records it, which settles the drift).
 */
export function driftHandling(
  migration: Migration,
  status: MigrationStatus,
  onDrift: DriftPolicy,
  drift: string,
): { fail: boolean; message: string } {
  if (onDrift !== "fail") return { fail: false, message: drift };
  const override = migration.override?.reason?.trim();
  if (!override) return { fail: true, message: drift };
  if (overrideAlreadyUsed(status, override)) {
    return {
      fail: true,
      message: `${drift}; the override in migrations.json ("${override}") was already used for an earlier change: write a new one for this drift`,
    };
  }
  return { fail: false, message: `${drift}; going on because migrations.json overrides it: ${override}` };
}
