/**
 * Records each step's outcome in the migration's status and commits it to the
 * demo's git remote, as the workflows' `record-state` steps do. The bundled
 * record-state action is run as a process when it has been built; otherwise
 * the same operation (src/ops/record-state.ts over the git state store) runs
 * in this process, so the status history is the same either way.
 */
import { resolve } from "node:path";
import type { Evidence } from "../model/status.js";
import type { StepEvent, StepOutcome } from "../ops/record-state.js";
import { recordState } from "../ops/record-state.js";
import { createStateStore } from "../providers/state-store.js";
import { findMigration, loadSpec } from "../spec/files.js";
import { DemoStepError } from "./context.js";
import { type ActionRunner, failureMessage, type StepRun } from "./runner.js";

/** One record-state step. */
export interface RecordStep {
  migration: string;
  event: StepEvent;
  phase?: string;
  outcome?: StepOutcome;
  reason?: string;
  step?: string;
  targetPhase?: string;
  /** The recorded step's outputs. */
  stepOutputs?: Record<string, string>;
  gateEvidence?: unknown;
  environment?: string;
}

/** What was recorded. */
export interface Recorded {
  state: string;
  appliedPhase: string;
  weights: string;
  committed: boolean;
  revision: string;
  recorded: string;
  elapsedMs: number;
}

/** A recording that failed; the message says why, as the step did. */
export class RecordError extends DemoStepError {
  constructor(message: string) {
    super(message);
    this.name = "RecordError";
  }
}

export class StateRecorder {
  /** "record-state action" or "record-state operation (in process)". */
  readonly mode: string;

  constructor(
    private readonly runner: ActionRunner,
    private readonly workspace: string,
    useAction = runner.has("record-state"),
  ) {
    this.mode = useAction ? "record-state action" : "record-state operation (in process)";
  }

  private get useAction(): boolean {
    return this.mode === "record-state action";
  }

  async record(step: RecordStep): Promise<Recorded> {
    return this.useAction ? this.recordWithAction(step) : this.recordInProcess(step);
  }

  private async recordWithAction(step: RecordStep): Promise<Recorded> {
    const run: StepRun = await this.runner.run(
      "record-state",
      {
        migration: step.migration,
        event: step.event,
        phase: step.phase,
        outcome: step.outcome ?? "success",
        reason: step.reason,
        step: step.step,
        "target-phase": step.targetPhase,
        "step-outputs": JSON.stringify(step.stepOutputs ?? {}),
        "gate-evidence": step.gateEvidence === undefined ? undefined : JSON.stringify(step.gateEvidence),
        environment: step.environment,
      },
      { label: `${step.migration}-${step.event}` },
    );
    if (run.exitCode !== 0)
      throw new RecordError(`record-state ${step.event} failed: ${failureMessage(run)}`);
    return {
      state: run.outputs.state ?? "",
      appliedPhase: run.outputs["applied-phase"] ?? "",
      weights: run.outputs.weights ?? "",
      committed: run.outputs.committed === "true",
      revision: run.outputs.revision ?? "",
      recorded: run.outputs.recorded ?? "",
      elapsedMs: run.elapsedMs,
    };
  }

  private async recordInProcess(step: RecordStep): Promise<Recorded> {
    const started = Date.now();
    try {
      const spec = await loadSpec(resolve(this.workspace, "migrations.json"));
      const migration = findMigration(spec, step.migration);
      const store = createStateStore("git", {
        git: { workspace: this.workspace, branch: "main", specPath: "migrations.json", syncWorkspace: true },
      });
      const result = await recordState(
        migration,
        {
          event: step.event,
          outcome: step.outcome ?? "success",
          outputs: step.stepOutputs ?? {},
          origin: { actor: "cutover-demo" },
          ...(step.phase ? { phase: step.phase } : {}),
          ...(step.reason ? { reason: step.reason } : {}),
          ...(step.step ? { step: step.step } : {}),
          ...(step.targetPhase ? { targetPhase: step.targetPhase } : {}),
          ...(step.gateEvidence ? { gateEvidence: step.gateEvidence as Evidence } : {}),
        },
        { store, now: () => new Date() },
      );
      const { status } = result.update;
      return {
        state: status.state,
        appliedPhase: status.phase ?? "",
        weights: JSON.stringify(status.weights),
        committed: result.update.committed,
        revision: result.update.revision ?? "",
        recorded: result.recorded.join(","),
        elapsedMs: Date.now() - started,
      };
    } catch (error) {
      throw new RecordError(`record-state ${step.event} failed: ${(error as Error).message}`);
    }
  }
}
