/**
 * record-state: turns what a workflow step did (its event name, outcome and
 * outputs) into events of the phase state machine, and commits the resulting
 * status through the state store. The change is a pure function of the
 * latest recorded status, so the store can re-run it after another writer
 * got there first, and re-running the step after a crash records nothing twice.
 */
import { resolve } from "node:path";
import type { RunContext } from "../action/run-context.js";
import type { ActionReport } from "../action/summary.js";
import {
  type EventOrigin,
  type MigrationEvent,
  type RollbackTarget,
  transition,
} from "../core/transitions.js";
import { durationSeconds } from "../model/duration.js";
import type { Migration, PhaseSpec, StepSpec } from "../model/spec.js";
import {
  type Checkpoint,
  type Evidence,
  type HistoryEntry,
  type MigrationStatus,
  sameWeights,
  type Verdict,
  type Weights,
} from "../model/status.js";
import type { AnnouncerFor } from "../notify/action.js";
import { phaseStartedEvent } from "../notify/event-builders.js";
import { notificationFailureNote, readNotificationsOutput, withDeliveries } from "../notify/report.js";
import type { DeploymentState, Notifier } from "../providers/notifier.js";
import {
  type StateStore,
  type StatusChangeFacts,
  type StatusUpdate,
  StatusWriteRefusedError,
  serialiseStatus,
} from "../providers/state-store.js";
import { findMigration, loadSpec } from "../spec/files.js";
import { OperationRefusal } from "./journal.js";

/** The step events workflows record, one per kind of step. */
export const STEP_EVENTS = [
  "deployed",
  "load-tested",
  "shifted",
  "gate-checked",
  "passed",
  "extended",
  "rolled-back",
  "decommission-started",
  "decommissioned",
] as const;

export type StepEvent = (typeof STEP_EVENTS)[number];

/** How the recorded step ended, as `steps.<id>.outcome` says. */
export type StepOutcome = "success" | "failure" | "cancelled";

export const STEP_OUTCOMES: readonly StepOutcome[] = ["success", "failure", "cancelled"];

/** What one record-state step is asked to record. */
export interface RecordRequest {
  event: StepEvent;
  /** Phase the step worked on; the applied (or desired) phase when absent. */
  phase?: string;
  outcome: StepOutcome;
  /** Why (rollbacks, failures), in people's words. */
  reason?: string;
  /** Load-test step (scenario path) for `load-tested`. */
  step?: string;
  /** What a rollback restored: empty for the last checkpoint, a phase name, or all-old. */
  targetPhase?: string;
  /** The recorded step's outputs (`toJSON(steps.<id>.outputs)`): strings, some holding JSON. */
  outputs: Record<string, string>;
  /** Gate evidence that led to the step (a monitor rollback), recorded before it. */
  gateEvidence?: Evidence;
  origin: EventOrigin;
}

/** One change to the status: a state-machine event, or a note when the machine has no event for it. */
type StatusStep =
  | { kind: "event"; event: MigrationEvent }
  | {
      kind: "note";
      entry: Omit<HistoryEntry, "at" | "from" | "to" | "phase">;
      /** What the step replaced, for a rollback to restore (a deploy's previous version). */
      checkpoint?: Checkpoint;
    };

/** The outcome of applying a request to a status. */
export interface RecordedChange {
  status: MigrationStatus;
  /** Events and notes appended, in order; empty when there was nothing to record. */
  recorded: string[];
  /** One line for people and the commit message. */
  summary: string;
}

/** A step output holding JSON, parsed; errors name the output. */
export function outputJson<T>(outputs: Record<string, string>, name: string): T | undefined {
  const text = outputs[name];
  if (text === undefined || text === "") return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new OperationRefusal(
      `input "step-outputs": output "${name}" is not valid JSON (${(error as Error).message}): ${text.slice(0, 120)}`,
    );
  }
}

function outputWeights(outputs: Record<string, string>, name: string): Weights | undefined {
  const value = outputJson<Weights>(outputs, name);
  if (value === undefined) return undefined;
  if (typeof value?.old !== "number" || typeof value?.new !== "number") {
    throw new OperationRefusal(
      `input "step-outputs": output "${name}" is not weights like {"old":90,"new":10}: ${JSON.stringify(value)}`,
    );
  }
  return { old: value.old, new: value.new };
}

function outputDate(outputs: Record<string, string>, name: string): Date | undefined {
  const text = outputs[name];
  if (!text) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw new OperationRefusal(`input "step-outputs": output "${name}" is not an ISO-8601 time: ${text}`);
  }
  return date;
}

/** "old 90 % / new 10 %". */
export function describeWeights(weights: Weights): string {
  return `old ${weights.old} % / new ${weights.new} %`;
}

function phaseOf(migration: Migration, name: string): PhaseSpec {
  const phase = migration.phases.find((candidate) => candidate.name === name);
  if (!phase) {
    throw new OperationRefusal(
      `input "phase": "${name}" is not a phase of "${migration.id}"; its phases: ${migration.phases.map((p) => p.name).join(", ")}`,
    );
  }
  return phase;
}

/** Seconds of the phase's bake steps (0 when it has none). */
export function bakeSecondsOf(phase: PhaseSpec): number {
  return phase.steps.reduce(
    (sum, step) => sum + (step.kind === "bake" ? durationSeconds(step.duration) : 0),
    0,
  );
}

/** True when every step after `index` is a bake: the phase's mutations are over once step `index` is done. */
function onlyBakesAfter(steps: readonly StepSpec[], index: number): boolean {
  return index >= 0 && steps.slice(index + 1).every((step) => step.kind === "bake");
}

/** The phase a rollback leaves traffic in: the latest phase up to `upTo` whose shifts leave the new side at `percent`. */
export function phaseForWeights(migration: Migration, percent: number, upTo: string | null): string {
  const names = migration.phases.map((phase) => phase.name);
  const limit = upTo === null ? names.length - 1 : Math.max(0, names.indexOf(upTo));
  let weight = 0;
  let match: string | undefined;
  for (const [index, phase] of migration.phases.entries()) {
    if (index > limit) break;
    for (const step of phase.steps) if (step.kind === "shift") weight = step.weight;
    if (weight === percent) match = phase.name;
  }
  return match ?? names[0]!;
}

/** History entries since the phase last started being applied. */
function entriesOfThisApplication(status: MigrationStatus): HistoryEntry[] {
  const start = status.history.findLastIndex((entry) => entry.event === "apply-started");
  return start === -1 ? [] : status.history.slice(start);
}

function startIfNeeded(
  migration: Migration,
  status: MigrationStatus,
  phase: string,
  origin: EventOrigin,
): StatusStep[] {
  if (status.state === "applying" && status.phase === phase) return [];
  return [
    {
      kind: "event",
      event: {
        type: "apply-started",
        phase,
        phaseOrder: migration.phases.map((candidate) => candidate.name),
        ...(migration.phase === phase && migration.override ? { override: migration.override } : {}),
        ...origin,
      },
    },
  ];
}

function completeIfLast(phase: PhaseSpec, stepIndex: number, origin: EventOrigin): StatusStep[] {
  if (!onlyBakesAfter(phase.steps, stepIndex)) return [];
  return [
    { kind: "event", event: { type: "apply-succeeded", bakeSeconds: bakeSecondsOf(phase), ...origin } },
  ];
}

function failed(reason: string, origin: EventOrigin, evidence?: Evidence): StatusStep {
  return {
    kind: "event",
    event: { type: "apply-failed", reason, ...(evidence ? { evidence } : {}), ...origin },
  };
}

function deployedSteps(
  migration: Migration,
  status: MigrationStatus,
  phase: PhaseSpec,
  request: RecordRequest,
): StatusStep[] {
  const { outputs, origin } = request;
  const evidence: Evidence = {
    kind: "deploy",
    environment: phase.environment,
    target: outputs.target ?? "",
    version: outputs.version ?? "",
    previousVersion: outputs["previous-version"] ?? "",
    noOp: outputs["no-op"] === "true",
    ...(outputJson<Checkpoint>(outputs, "checkpoint")
      ? { checkpoint: outputJson<Checkpoint>(outputs, "checkpoint") }
      : {}),
  };
  if (request.outcome !== "success") {
    if (status.state === "failed" && status.phase === phase.name) return [];
    return [
      ...startIfNeeded(migration, status, phase.name, origin),
      failed(request.reason ?? `deploy of ${evidence.target || "the new side"} failed`, origin, evidence),
    ];
  }
  const already = entriesOfThisApplication(status).some(
    (entry) =>
      entry.event === "deployed" &&
      entry.evidence?.version === evidence.version &&
      status.phase === phase.name,
  );
  if (already && status.state === "applying") return [];
  const index = phase.steps.findIndex((step) => step.kind === "deploy");
  const deployed = evidence.noOp ? undefined : outputJson<Checkpoint>(outputs, "checkpoint");
  // Each environment is its own account: a version number means something only where it was deployed.
  const checkpoint = deployed ? { ...deployed, environment: phase.environment } : undefined;
  return [
    ...startIfNeeded(migration, status, phase.name, origin),
    {
      kind: "note",
      ...(checkpoint ? { checkpoint } : {}),
      entry: {
        event: "deployed",
        reason: `deployed ${evidence.version || "the artifact"} to ${evidence.target || "the new side"}${evidence.previousVersion ? ` (was ${evidence.previousVersion})` : ""}`,
        evidence,
        ...origin,
      },
    },
    ...completeIfLast(phase, index, origin),
  ];
}

function loadTestedSteps(
  migration: Migration,
  status: MigrationStatus,
  phase: PhaseSpec,
  request: RecordRequest,
): StatusStep[] {
  const { outputs, origin } = request;
  const scenario = request.step;
  const index = phase.steps.findIndex(
    (step, position) =>
      step.kind === "load-test" &&
      (scenario === undefined ||
        step.scenario === scenario ||
        String(phase.steps.slice(0, position).filter((s) => s.kind === "load-test").length) === scenario),
  );
  if (index === -1) {
    throw new OperationRefusal(
      `input "step": phase "${phase.name}" of "${migration.id}" has no load-test step ${scenario ?? ""}`.trim(),
    );
  }
  const step = phase.steps[index] as Extract<StepSpec, { kind: "load-test" }>;
  const verdict =
    (outputs.verdict as Verdict | undefined) ?? (request.outcome === "success" ? "pass" : "fail");
  const evidence: Evidence = outputJson<Evidence>(outputs, "evidence") ?? {
    kind: "load-test",
    scenario: step.scenario,
    verdict,
    reason: outputs.reason ?? "",
  };
  const already = entriesOfThisApplication(status).some(
    (entry) => entry.event === "load-tested" && entry.evidence?.scenario === step.scenario,
  );
  if (already && status.phase === phase.name && (status.state === "applying" || status.state === "failed"))
    return [];
  const note: StatusStep = {
    kind: "note",
    entry: {
      event: "load-tested",
      verdict,
      reason: `${step.scenario}: ${outputs.reason ?? verdict}`,
      evidence: { ...evidence, kind: "load-test", scenario: step.scenario },
      ...origin,
    },
  };
  const start = startIfNeeded(migration, status, phase.name, origin);
  if (request.outcome !== "success" || verdict !== "pass") {
    return [
      ...start,
      note,
      failed(`load test ${step.scenario} failed: ${outputs.reason ?? "see the step"}`, origin),
    ];
  }
  return [...start, note, ...completeIfLast(phase, index, origin)];
}

function shiftedSteps(
  migration: Migration,
  status: MigrationStatus,
  phase: PhaseSpec,
  request: RecordRequest,
): StatusStep[] {
  const { outputs, origin } = request;
  const weights = outputWeights(outputs, "weights");
  if (request.outcome !== "success" || !weights) {
    // The shift may have half-happened; the next reconcile sees what AWS holds.
    return [
      ...startIfNeeded(migration, status, phase.name, origin),
      failed(request.reason ?? "the shift did not complete", origin),
    ];
  }
  const index = phase.steps.findLastIndex((step) => step.kind === "shift");
  if (status.phase === phase.name && sameWeights(status.weights, weights) && status.state !== "applying") {
    return []; // recorded already (a re-run, or reconciled)
  }
  const steps = startIfNeeded(migration, status, phase.name, origin);
  if (!sameWeights(status.weights, weights)) {
    const checkpoint = outputJson<Checkpoint>(outputs, "checkpoint");
    if (!checkpoint)
      throw new OperationRefusal('input "step-outputs": the shift step has no "checkpoint" output');
    const gateStart = outputDate(outputs, "gate-window-start");
    const insyncAt = outputDate(outputs, "insync-at") ?? gateStart;
    if (!insyncAt)
      throw new OperationRefusal(
        'input "step-outputs": the shift step has no "insync-at" or "gate-window-start"',
      );
    const ttlSeconds = gateStart
      ? Math.max(0, Math.round((gateStart.getTime() - insyncAt.getTime()) / 1000))
      : 0;
    steps.push({
      kind: "event",
      event: {
        type: "shift-applied",
        weights,
        checkpoint,
        insyncAt,
        ttlSeconds,
        evidence: {
          kind: "shift",
          weights,
          previous: checkpoint.weights,
          changeId: outputs["change-id"] ?? "",
          insyncAt: insyncAt.toISOString(),
          gateWindowStartsAt: (gateStart ?? insyncAt).toISOString(),
        },
        ...origin,
      },
    });
  }
  return [...steps, ...completeIfLast(phase, index, origin)];
}

function gateSteps(status: MigrationStatus, request: RecordRequest): StatusStep[] {
  const { outputs, origin } = request;
  const verdict = outputs.verdict as Verdict | undefined;
  const evidence = outputJson<Evidence & { evaluatedAt?: string; gate?: string }>(outputs, "evidence");
  if (!verdict || !evidence) {
    if (request.outcome === "success") {
      throw new OperationRefusal(
        'input "step-outputs": the gate step has no "verdict" and "evidence" outputs',
      );
    }
    return []; // the gate errored before judging; nothing is known to record
  }
  if (
    status.history.some(
      (entry) => entry.evidence?.evaluatedAt === evidence.evaluatedAt && entry.verdict === verdict,
    )
  ) {
    return [];
  }
  if (status.state !== "baking") {
    throw new OperationRefusal(
      `cannot record a gate verdict for "${status.migration}": no bake is in progress (phase ${status.phase ?? "none"} is ${status.state})`,
    );
  }
  return [
    {
      kind: "event",
      event: {
        type: "gate-evaluated",
        gate: outputs.gate || String(evidence.gate ?? ""),
        verdict,
        evidence: { ...evidence, kind: "gate" },
        ...origin,
      },
    },
  ];
}

/**
 * The target a rollback named; none means the state machine's default, as the
 * rollback action resolved it. A phase no checkpoint was taken in was restored
 * to the weights its shift steps leave: those the rollback reported.
 */
function rollbackTarget(
  targetPhase: string | undefined,
  status: MigrationStatus,
  restored: Weights,
): RollbackTarget | undefined {
  if (!targetPhase) return undefined;
  if (targetPhase === "all-old") return { kind: "all-old" };
  if (!status.checkpoints.some((checkpoint) => checkpoint.phase === targetPhase))
    return { kind: "phase-weights", phase: targetPhase, weights: { ...restored } };
  return { kind: "phase", phase: targetPhase };
}

function rolledBackSteps(status: MigrationStatus, request: RecordRequest): StatusStep[] {
  const { outputs, origin } = request;
  const weights = outputWeights(outputs, "weights");
  const reason = request.reason ?? "rolled back";
  if (
    request.outcome === "success" &&
    status.state === "rolled-back" &&
    sameWeights(status.weights, weights)
  ) {
    return [];
  }
  const steps: StatusStep[] = [];
  const gate = request.gateEvidence as (Evidence & { verdict?: Verdict; gate?: string }) | undefined;
  if (status.state === "baking" && gate?.verdict === "rollback") {
    steps.push({
      kind: "event",
      event: {
        type: "gate-evaluated",
        gate: String(gate.gate ?? ""),
        verdict: "rollback",
        evidence: { ...gate, kind: "gate" },
        ...origin,
      },
    });
  } else if (status.state !== "rolling-back") {
    steps.push({ kind: "event", event: { type: "rollback-started", reason, ...origin } });
  }
  if (request.outcome !== "success" || !weights) {
    // The rollback did not complete: the status says so (rolling-back) until a re-run finishes it.
    return steps;
  }
  const evidence: Evidence = {
    kind: "rollback",
    reason,
    weights,
    ...(outputWeights(outputs, "previous-weights")
      ? { previous: outputWeights(outputs, "previous-weights") }
      : {}),
    changeId: outputs["change-id"] ?? "",
    insyncAt: outputs["insync-at"] ?? "",
    noOp: outputs["no-op"] === "true",
    ...(outputs["lambda-version"] ? { lambdaVersion: outputs["lambda-version"] } : {}),
    ...(outputJson<unknown>(outputs, "timings") ? { timings: outputJson<unknown>(outputs, "timings") } : {}),
  };
  const target = rollbackTarget(request.targetPhase, status, weights);
  steps.push({
    kind: "event",
    event: { type: "rollback-completed", ...(target ? { target } : {}), evidence, ...origin },
  });
  return steps;
}

/** What a hold of a Lambda old side replaced, from the `decommission` output; nothing for an ECS side. */
function heldReservation(outputs: Record<string, string>): { reservedConcurrencyBefore?: number | null } {
  const recorded = outputJson<{ reservedConcurrencyBefore?: unknown }>(outputs, "decommission");
  const held = recorded?.reservedConcurrencyBefore;
  if (held === undefined) return {};
  if (held !== null && (typeof held !== "number" || !Number.isInteger(held) || held < 0)) {
    throw new OperationRefusal(
      `input "step-outputs": output "decommission" has reservedConcurrencyBefore ${JSON.stringify(held)}; an integer ≥ 0 or null is accepted`,
    );
  }
  return { reservedConcurrencyBefore: held };
}

function decommissionStartedSteps(
  migration: Migration,
  status: MigrationStatus,
  phase: PhaseSpec,
  request: RecordRequest,
): StatusStep[] {
  const { outputs, origin } = request;
  const evidence = outputJson<Evidence>(outputs, "evidence");
  if (request.outcome !== "success") {
    if (status.state === "failed" && status.phase === phase.name) return [];
    return [
      ...startIfNeeded(migration, status, phase.name, origin),
      failed(request.reason ?? "scale-down of the old side failed", origin, evidence),
    ];
  }
  if (status.state === "decommissioning" && status.decommission) return [];
  const before = Number(outputs["desired-count-before"]);
  if (!Number.isInteger(before)) {
    throw new OperationRefusal(
      `input "step-outputs": output "desired-count-before" is not a task count: ${JSON.stringify(outputs["desired-count-before"])}`,
    );
  }
  return [
    ...startIfNeeded(migration, status, phase.name, origin),
    {
      kind: "event",
      event: {
        type: "decommission-scaled-down",
        desiredCountBefore: before,
        ...(outputs["hold-started-at"] ? { holdStartedAt: outputs["hold-started-at"] } : {}),
        ...heldReservation(outputs),
        ...(evidence ? { evidence } : {}),
        ...origin,
      },
    },
  ];
}

function decommissionedSteps(
  migration: Migration,
  status: MigrationStatus,
  request: RecordRequest,
): StatusStep[] {
  const { outputs, origin } = request;
  if (status.state === "done") return [];
  if (request.outcome !== "success") {
    throw new OperationRefusal(
      "the delete step failed; the old side stays scaled down and the hold goes on (nothing recorded)",
    );
  }
  const evidence = outputJson<Evidence & { traffic?: { requests?: number } }>(outputs, "evidence");
  const step = migration.phases
    .flatMap((phase) => phase.steps)
    .find((candidate) => candidate.kind === "decommission");
  if (step?.kind !== "decommission") throw new OperationRefusal(`"${migration.id}" has no decommission step`);
  return [
    {
      kind: "event",
      event: {
        type: "decommission-deleted",
        holdSeconds: durationSeconds(step.hold),
        oldSideRequestsDuringHold: Number(evidence?.traffic?.requests ?? 0),
        ...(evidence ? { evidence } : {}),
        ...origin,
      },
    },
  ];
}

/** The status steps a request stands for, given the latest status. */
function stepsFor(migration: Migration, status: MigrationStatus, request: RecordRequest): StatusStep[] {
  const phaseName = request.phase ?? status.phase ?? migration.phase;
  switch (request.event) {
    case "deployed":
      return deployedSteps(migration, status, phaseOf(migration, phaseName), request);
    case "load-tested":
      return loadTestedSteps(migration, status, phaseOf(migration, phaseName), request);
    case "shifted":
      return shiftedSteps(migration, status, phaseOf(migration, phaseName), request);
    case "gate-checked":
    case "passed":
    case "extended":
      return gateSteps(status, request);
    case "rolled-back":
      return rolledBackSteps(status, request);
    case "decommission-started":
      return decommissionStartedSteps(migration, status, phaseOf(migration, phaseName), request);
    case "decommissioned":
      return decommissionedSteps(migration, status, request);
  }
}

/** Appends a note: a history entry that changes no state, for facts the state machine has no event for. */
function appendNote(
  status: MigrationStatus,
  note: Extract<StatusStep, { kind: "note" }>["entry"],
  now: Date,
  checkpoint?: Checkpoint,
): MigrationStatus {
  const next = structuredClone(status);
  if (checkpoint) next.checkpoints.push(structuredClone(checkpoint));
  next.timestamps.updatedAt = now.toISOString();
  next.history.push({
    at: now.toISOString(),
    phase: next.phase,
    from: status.state,
    to: status.state,
    ...note,
  });
  return next;
}

/**
 * Applies a request to a status: the events it stands for, in order, each
 * through the state machine. A refused event stops everything with the
 * machine's reason (nothing is recorded).
 */
export function applyRecord(
  migration: Migration,
  current: MigrationStatus,
  request: RecordRequest,
  now: Date,
): RecordedChange {
  let status = current;
  const recorded: string[] = [];
  for (const step of stepsFor(migration, current, request)) {
    if (step.kind === "note") {
      status = appendNote(status, step.entry, now, step.checkpoint);
      recorded.push(step.entry.event);
      continue;
    }
    const result = transition(status, step.event, now);
    if (!result.ok) {
      throw new OperationRefusal(
        `cannot record ${request.event} for "${migration.id}": ${step.event.type} was refused by the state machine: ${result.refusal}`,
      );
    }
    status = result.status;
    recorded.push(step.event.type);
  }
  status = alignWeights(status, request, now, recorded);
  // Notifications the step could not deliver are kept in the history; a repeat of the same step adds nothing.
  const undelivered = notificationFailureNote(
    readNotificationsOutput(request.outputs.notifications),
    status.history,
  );
  if (undelivered) {
    status = appendNote(status, { ...undelivered, ...request.origin }, now);
    recorded.push(undelivered.event);
  }
  return { status, recorded, summary: summaryOf(status, request, recorded) };
}

/** After a rollback, the status must hold the weights AWS reported, whatever the checkpoint said. */
function alignWeights(
  status: MigrationStatus,
  request: RecordRequest,
  now: Date,
  recorded: string[],
): MigrationStatus {
  if (request.event !== "rolled-back" || request.outcome !== "success") return status;
  const reported = outputWeights(request.outputs, "weights");
  if (!reported || sameWeights(status.weights, reported)) return status;
  const result = transition(
    status,
    {
      type: "reconciled",
      reason: `the rollback left ${describeWeights(reported)} where the status said ${describeWeights(status.weights)}`,
      weights: reported,
      ...request.origin,
    },
    now,
  );
  if (!result.ok)
    throw new OperationRefusal(`cannot record the weights the rollback left: ${result.refusal}`);
  recorded.push("reconciled");
  return result.status;
}

function summaryOf(status: MigrationStatus, request: RecordRequest, recorded: string[]): string {
  if (recorded.length === 0) return `nothing new to record for ${request.event}`;
  const bake =
    status.state === "baking" && status.timestamps.bakeEndsAt
      ? `, baking until ${status.timestamps.bakeEndsAt}`
      : "";
  return `${request.event}: ${status.phase ?? "no phase"} ${status.state}, ${describeWeights(status.weights)}${bake}`;
}

/** The phase migrations.json should name so that it matches what is applied now. */
export function phaseInLine(migration: Migration, status: MigrationStatus): string | null {
  if (status.state === "rolled-back" || status.state === "rolling-back") {
    return phaseForWeights(migration, status.weights.new, status.phase);
  }
  return status.phase;
}

export interface RecordStateResult {
  update: StatusUpdate;
  recorded: string[];
  summary: string;
  /**
   * A rollback whose status commit the store refused by a rule: the rollback
   * stands (traffic is back), the status it would have recorded is here, and
   * `update` holds the status as it still is on the store.
   */
  refused?: { error: StatusWriteRefusedError; wouldRecord: MigrationStatus };
  deployment?: { deploymentId: number; environment: string; state: DeploymentState };
}

export interface RecordDependencies {
  store: StateStore;
  notifier?: Notifier;
  now: () => Date;
}

/** Records the request through the store (re-applied to a newer status on a conflict), then the GitHub deployment. */
export async function recordState(
  migration: Migration,
  request: RecordRequest,
  deps: RecordDependencies,
  deployment?: { environment: string; ref: string },
): Promise<RecordStateResult> {
  let last: RecordedChange | undefined;
  let before: MigrationStatus | undefined;
  let update: StatusUpdate;
  try {
    update = await deps.store.update(migration.id, (current) => {
      before = current.status;
      last = applyRecord(migration, current.status, request, deps.now());
      if (last.recorded.length === 0) return undefined;
      const facts: StatusChangeFacts = {
        event: last.recorded.join(", "),
        summary: last.summary,
        ...(request.origin.runUrl ? { runUrl: request.origin.runUrl } : {}),
      };
      return { status: last.status, facts };
    });
  } catch (error) {
    if (!(error instanceof StatusWriteRefusedError) || !last || !before) throw error;
    // A rollback is never undone or failed by bookkeeping: traffic is back whatever the state branch allows.
    if (request.event === "rolled-back" && request.outcome === "success")
      return {
        update: { status: before, committed: false, attempts: 1 },
        recorded: [],
        summary: `the status commit was refused: ${error.rules.join(" ")}`,
        refused: { error, wouldRecord: last.status },
      };
    throw new OperationRefusal(
      `${error.message.replace(/\.$/, "")}. Nothing was recorded; whatever the step changed in AWS stays as it is. ` +
        `Keep the status on a branch GitHub Actions may push to ("stateBranch" in .github/cutover.json, protected by cutover github-setup), ` +
        "or let GitHub Actions bypass that rule; cutover doctor lists the rules in the way.",
    );
  }
  const result: RecordStateResult = {
    update,
    recorded: update.committed ? (last?.recorded ?? []) : [],
    summary: update.committed ? (last?.summary ?? "") : `nothing new to record for ${request.event}`,
  };
  if (deployment && deps.notifier && update.committed) {
    const state = deploymentStateOf(request);
    if (state) {
      const recordedDeployment = await deps.notifier.recordDeployment({
        environment: deployment.environment,
        ref: update.revision ?? deployment.ref,
        migration: migration.id,
        phase: update.status.phase,
        state,
        description: `${update.status.phase ?? "none"} ${update.status.state}: ${describeWeights(update.status.weights)}`,
        ...(request.origin.runUrl ? { logUrl: request.origin.runUrl } : {}),
        payload: { weights: update.status.weights, state: update.status.state, event: request.event },
      });
      result.deployment = {
        deploymentId: recordedDeployment.deploymentId,
        environment: deployment.environment,
        state,
      };
    }
  }
  return result;
}

/** A shift that took effect is a successful deployment; a rollback marks the phase's deployment failed. */
function deploymentStateOf(request: RecordRequest): DeploymentState | undefined {
  if (request.event === "shifted") return request.outcome === "success" ? "success" : "failure";
  if (request.event === "rolled-back") return request.outcome === "success" ? "failure" : "error";
  if (request.event === "decommission-started" || request.event === "decommissioned") {
    return request.outcome === "success" ? "success" : "failure";
  }
  return undefined;
}

/** The record-state action's inputs, parsed. */
export interface RecordStateActionInputs {
  migration: string;
  event: StepEvent;
  phase?: string;
  outcome: StepOutcome;
  reason?: string;
  step?: string;
  targetPhase?: string;
  stepOutputs: Record<string, string>;
  gateEvidence?: Evidence;
  environment?: string;
  spec: string;
}

export type RecordStateOutput =
  | "phase"
  | "applied-phase"
  | "state"
  | "weights"
  | "committed"
  | "revision"
  | "recorded"
  | "deployment-id"
  | "refused";

/** What the action needs from the runner, injected. */
export interface RecordStateEnvironment {
  run: RunContext;
  setOutput: (name: RecordStateOutput, value: string | number | boolean | object) => void;
  store: StateStore;
  notifier?: Notifier;
  /** Commit a deployment refers to when no status commit was made (GITHUB_SHA). */
  deploymentRef?: string;
  /** A warning annotation on the run. */
  warn?: (message: string) => void;
  now: () => Date;
  /** Announces a phase that started to the migration's notification sinks. */
  announcerFor?: AnnouncerFor;
}

/** The record-state action: load the migration, record, publish outputs, return the job summary. */
export async function runRecordState(
  inputs: RecordStateActionInputs,
  env: RecordStateEnvironment,
): Promise<ActionReport> {
  const spec = await loadSpec(resolve(env.run.workspace, inputs.spec));
  const migration = findMigration(spec, inputs.migration);
  const request: RecordRequest = {
    event: inputs.event,
    outcome: inputs.outcome,
    outputs: inputs.stepOutputs,
    origin: {
      ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
      ...(env.run.actor ? { actor: env.run.actor } : {}),
    },
    ...(inputs.phase ? { phase: inputs.phase } : {}),
    ...(inputs.reason ? { reason: inputs.reason } : {}),
    ...(inputs.step ? { step: inputs.step } : {}),
    ...(inputs.targetPhase ? { targetPhase: inputs.targetPhase } : {}),
    ...(inputs.gateEvidence ? { gateEvidence: inputs.gateEvidence } : {}),
  };
  const result = await recordState(
    migration,
    request,
    { store: env.store, ...(env.notifier ? { notifier: env.notifier } : {}), now: env.now },
    inputs.environment ? { environment: inputs.environment, ref: env.deploymentRef ?? "HEAD" } : undefined,
  );
  if (result.refused) return refusedRollbackReport(migration, inputs, env, result.refused);
  const { status } = result.update;
  publishStatusOutputs(env, migration, status, {
    refused: "",
    committed: result.update.committed,
    revision: result.update.revision ?? "",
    recorded: result.recorded.join(","),
    deploymentId: result.deployment ? String(result.deployment.deploymentId) : "",
  });
  const last = status.history.at(-1);
  const deliveries =
    result.recorded.includes("apply-started") && status.phase !== null
      ? ((await env.announcerFor?.(migration).announce(
          phaseStartedEvent(
            {
              migration: migration.id,
              phase: status.phase,
              time: new Date(status.timestamps.phaseStartedAt ?? env.now().toISOString()),
              ...(env.run.runUrl ? { runUrl: env.run.runUrl } : {}),
            },
            status.weights,
          ),
        )) ?? [])
      : [];
  return withDeliveries<ActionReport>(
    {
      title: `record-state: ${migration.id} ${inputs.event}`,
      headline: result.update.committed
        ? `Recorded ${result.recorded.join(", ")}: phase ${status.phase ?? "none"} ${status.state}, ${describeWeights(status.weights)}.`
        : `Nothing new to record: phase ${status.phase ?? "none"} is ${status.state}, ${describeWeights(status.weights)}.`,
      found: [
        `Step ${inputs.event} ended ${inputs.outcome}.`,
        `Status read from ${env.store.location} after ${result.update.attempts} attempt${result.update.attempts === 1 ? "" : "s"}.`,
      ],
      done: [
        ...(result.update.committed
          ? [`Committed ${result.update.revision?.slice(0, 12)} to ${env.store.location}: ${result.summary}.`]
          : []),
        ...(last && result.update.committed
          ? [
              `Last history entry: ${last.event} (${last.from} → ${last.to})${last.reason ? `: ${last.reason}` : ""}.`,
            ]
          : []),
        ...(result.deployment
          ? [
              `GitHub deployment ${result.deployment.deploymentId} in ${result.deployment.environment}: ${result.deployment.state}.`,
            ]
          : []),
      ],
      next: nextAfter(status),
    },
    deliveries,
  );
}

/** The action's outputs: what the status says, and what this run committed. */
function publishStatusOutputs(
  env: RecordStateEnvironment,
  migration: Migration,
  status: MigrationStatus,
  run: { refused: string; committed: boolean; revision: string; recorded: string; deploymentId: string },
): void {
  env.setOutput("refused", run.refused);
  env.setOutput("phase", phaseInLine(migration, status) ?? "");
  env.setOutput("applied-phase", status.phase ?? "");
  env.setOutput("state", status.state);
  env.setOutput("weights", status.weights);
  env.setOutput("committed", run.committed);
  env.setOutput("revision", run.revision);
  env.setOutput("recorded", run.recorded);
  env.setOutput("deployment-id", run.deploymentId);
}

/**
 * The rollback stands but its status commit was refused: say so loudly, put
 * the status it would have recorded in the summary for a person to commit,
 * and leave the outputs describing what is applied in AWS.
 */
function refusedRollbackReport(
  migration: Migration,
  inputs: RecordStateActionInputs,
  env: RecordStateEnvironment,
  refused: NonNullable<RecordStateResult["refused"]>,
): ActionReport {
  const status = refused.wouldRecord;
  const reason = refused.error.rules.join(" ");
  publishStatusOutputs(env, migration, status, {
    refused: reason,
    committed: false,
    revision: "",
    recorded: "",
    deploymentId: "",
  });
  const path = `status/${migration.id}.json`;
  env.warn?.(
    `the rollback of ${migration.id} is done (${describeWeights(status.weights)}), but ${refused.error.message.replace(/\.$/, "")}. ` +
      `Commit ${path} as the job summary shows it, then release the rollback lock (git push origin :refs/cutover/rollback/${migration.id}); ` +
      "until then the monitor and applies step aside.",
  );
  return {
    title: `record-state: ${migration.id} ${inputs.event}`,
    headline: `The rollback stands (${describeWeights(status.weights)}); its status commit was refused by the repository's rules.`,
    found: [`Step ${inputs.event} ended ${inputs.outcome}.`, `Refused: ${reason}`],
    done: ["Nothing was committed; the rollback lock stays held so nothing acts on the stale status."],
    markdown: [
      `The status to commit as \`${path}\`:`,
      `\`\`\`json\n${serialiseStatus(status).trimEnd()}\n\`\`\``,
    ],
    next: [
      `Commit ${path} as above (or let the next reconcile record it from the AWS checkpoint), then delete refs/cutover/rollback/${migration.id}.`,
      `Keep the status on a branch GitHub Actions may push to ("stateBranch" in .github/cutover.json); cutover doctor lists the rule in the way.`,
    ],
  };
}

function nextAfter(status: MigrationStatus): string[] {
  switch (status.state) {
    case "baking":
      return [
        `The monitor workflow judges the gate until ${status.timestamps.bakeEndsAt ?? "the bake ends"}.`,
      ];
    case "passed":
      return ["The phase has passed: a pull request may move migrations.json to the next phase."];
    case "failed":
      return ["Fix the cause and re-run the apply workflow, or roll back with the rollback workflow."];
    case "rolling-back":
      return ["The rollback did not complete: re-run the rollback workflow."];
    case "rolled-back":
      return ["Merge the pull request that brings migrations.json back in line with what is applied."];
    case "decommissioning":
      return [`The old side is held scaled down; the monitor deletes it once the hold is over.`];
    default:
      return [];
  }
}
