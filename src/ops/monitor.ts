/**
 * monitor: what a scheduled look at a migration decides, from the gate's
 * verdict (metric-gate outputs) and the recorded status: roll back at once,
 * record that the bake passed (and propose the next phase), extend the bake
 * on thin data, keep baking, or, for a decommission holding the old side
 * scaled down, delete it once the hold is over.
 */
import { dirname, resolve } from "node:path";
import type { RunContext } from "../action/run-context.js";
import type { ActionReport } from "../action/summary.js";
import { watched } from "../core/watch.js";
import { durationSeconds, formatDuration } from "../model/duration.js";
import type { Migration } from "../model/spec.js";
import type { MigrationStatus, Verdict } from "../model/status.js";
import { findMigration, loadSpec, readStatus } from "../spec/files.js";
import { OperationRefusal } from "./journal.js";
import { unresolvedDrift } from "./reconcile.js";
import { describeWeights, type StepEvent } from "./record-state.js";

/** What the monitor decided. */
export type MonitorDecision = "rollback" | "passed" | "extend" | "bake" | "delete" | "hold" | "none";

/** The gate's outputs the monitor reads (metric-gate in bake mode). */
export interface GateOutcome {
  verdict?: Verdict;
  /** The bake duration has elapsed and the gate passed over the whole phase. */
  bakeComplete: boolean;
  reason?: string;
}

export interface MonitorVerdict {
  decision: MonitorDecision;
  /** The record-state event to record, "" when nothing is recorded. */
  event: StepEvent | "";
  reason: string;
  /** After `passed`: the phase to propose; "" when there is none. */
  nextPhase: string;
}

/** The phase after `phase` in spec order, or undefined after the last one. */
export function nextPhaseOf(migration: Migration, phase: string | null): string | undefined {
  const names = migration.phases.map((candidate) => candidate.name);
  return names[phase === null ? 0 : names.indexOf(phase) + 1];
}

function holdDecision(migration: Migration, status: MigrationStatus, now: Date): MonitorVerdict {
  const step = migration.phases
    .flatMap((phase) => phase.steps)
    .find((candidate) => candidate.kind === "decommission");
  if (step?.kind !== "decommission" || !status.decommission) {
    return {
      decision: "none",
      event: "",
      reason: `${status.phase ?? "nothing"} is decommissioning without a hold recorded`,
      nextPhase: "",
    };
  }
  const endsAt = new Date(status.decommission.holdStartedAt).getTime() + durationSeconds(step.hold) * 1000;
  if (now.getTime() < endsAt) {
    return {
      decision: "hold",
      event: "",
      reason: `the old side stays scaled down (recoverable) until ${new Date(endsAt).toISOString()}, ${formatDuration(Math.ceil((endsAt - now.getTime()) / 1000))} from now`,
      nextPhase: "",
    };
  }
  return {
    decision: "delete",
    event: "decommissioned",
    reason: `the ${step.hold} hold ended ${new Date(endsAt).toISOString()}: delete the old side if it still serves nothing`,
    nextPhase: "",
  };
}

/** Decides from the gate outcome and the status; pure. */
export function decide(
  migration: Migration,
  status: MigrationStatus,
  gate: GateOutcome,
  now: Date,
): MonitorVerdict {
  const why = gate.reason ? `: ${gate.reason}` : "";
  // Live traffic on the new side is judged in every state, not only while baking:
  // after a phase passes, up to 100 % of requests still depend on the new side.
  if (gate.verdict === "rollback" && watched(status)) {
    return {
      decision: "rollback",
      event: "rolled-back",
      reason: `gate breached a rollback threshold in phase ${status.phase} (${status.state}, ${describeWeights(status.weights)})${why}`,
      nextPhase: "",
    };
  }
  if (status.state === "decommissioning") return holdDecision(migration, status, now);
  if (status.state !== "baking") {
    return {
      decision: "none",
      event: "",
      reason: `phase ${status.phase ?? "(none)"} is ${status.state}, not baking${gate.verdict ? `; gate verdict ${gate.verdict} needs no action` : ""}`,
      nextPhase: "",
    };
  }
  switch (gate.verdict) {
    case undefined:
      throw new OperationRefusal(`input "verdict": ${migration.id} is baking but the gate gave no verdict`);
    case "rollback":
      // A bake at weight 0 (nothing on the new side yet) still ends on a breach.
      return {
        decision: "rollback",
        event: "rolled-back",
        reason: `gate breached a rollback threshold in phase ${status.phase}${why}`,
        nextPhase: "",
      };
    case "insufficient-data":
      return {
        decision: "extend",
        event: "extended",
        reason: `insufficient data in phase ${status.phase}: the bake is extended${why}`,
        nextPhase: "",
      };
    case "fail":
      return {
        decision: "bake",
        event: "gate-checked",
        reason: `gate failed (inside the rollback thresholds); the bake cannot complete on this evidence${why}`,
        nextPhase: "",
      };
    case "pass": {
      if (!gate.bakeComplete) {
        return {
          decision: "bake",
          event: "gate-checked",
          reason: `gate passed; the bake goes on until ${status.timestamps.bakeEndsAt ?? "its end"}`,
          nextPhase: "",
        };
      }
      const drift = unresolvedDrift(status);
      if (drift) {
        // Nothing is recorded: a pass recorded after the bake's end would complete the phase.
        return {
          decision: "bake",
          event: "",
          reason: `gate passed over the whole bake, but drift recorded ${drift.at} (${drift.reason}) blocks promotion until a person decides`,
          nextPhase: "",
        };
      }
      const next = nextPhaseOf(migration, status.phase) ?? "";
      return {
        decision: "passed",
        event: "passed",
        reason: `phase ${status.phase} passed its bake with gate verdict pass${next ? `; next: ${next}` : "; it was the last phase"}`,
        nextPhase: next,
      };
    }
  }
}

export interface MonitorInputs {
  migration: string;
  spec: string;
  gate: GateOutcome;
}

export type MonitorOutput = "decision" | "event" | "reason" | "next-phase";

export interface MonitorEnvironment {
  run: RunContext;
  setOutput: (name: MonitorOutput, value: string | number | boolean | object) => void;
  now: () => Date;
}

/** The monitor action: read the spec and the status the reconcile step left in the workspace, decide, publish. */
export async function runMonitor(inputs: MonitorInputs, env: MonitorEnvironment): Promise<ActionReport> {
  const specPath = resolve(env.run.workspace, inputs.spec);
  const migration = findMigration(await loadSpec(specPath), inputs.migration);
  const status = await readStatus(dirname(specPath), migration.id, env.now());
  const verdict = decide(migration, status, inputs.gate, env.now());
  env.setOutput("decision", verdict.decision);
  env.setOutput("event", verdict.event);
  env.setOutput("reason", verdict.reason);
  env.setOutput("next-phase", verdict.nextPhase);
  return {
    title: `monitor: ${migration.id} → ${verdict.decision}`,
    headline: verdict.reason,
    found: [
      `Status: phase ${status.phase ?? "(none)"} ${status.state}, ${describeWeights(status.weights)}${status.timestamps.bakeEndsAt ? `, bake ends ${status.timestamps.bakeEndsAt}` : ""}.`,
      ...(inputs.gate.verdict
        ? [`Gate verdict: ${inputs.gate.verdict}${inputs.gate.bakeComplete ? " (bake complete)" : ""}.`]
        : []),
    ],
    next: nextSteps(verdict),
  };
}

function nextSteps(verdict: MonitorVerdict): string[] {
  switch (verdict.decision) {
    case "rollback":
      return ["Roll back now, record it, and propose bringing migrations.json back in line."];
    case "passed":
      return [verdict.nextPhase ? `Record passed and propose phase ${verdict.nextPhase}.` : "Record passed."];
    case "extend":
      return ["Record the extension; the next scheduled run judges again."];
    case "delete":
      return ["Delete the old side (decommission stage delete) and record it."];
    default:
      return [];
  }
}
