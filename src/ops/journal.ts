/**
 * What an operation found and did, step by step with timings, kept as it
 * goes so that a refusal halfway still reports everything that happened
 * before it.
 */
import type { LogFields } from "../action/log.js";

/** The logging an operation needs; the action logger satisfies it. */
export interface OperationLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
}

/** One timed step. Times are milliseconds since the process started, so they line up with the runner's view. */
export interface StepTiming {
  step: string;
  startMs: number;
  elapsedMs: number;
  outcome: "ok" | "failed";
  detail?: string;
}

/** The operation refused to act (or stopped) for a reason people must fix; nothing further was changed. */
export class OperationRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OperationRefusal";
  }
}

/** Milliseconds since the process started (Node's performance time origin). */
export function sinceProcessStart(): number {
  return Math.round(performance.now());
}

export class OperationJournal {
  readonly found: string[] = [];
  readonly done: string[] = [];
  readonly steps: StepTiming[] = [];

  constructor(readonly log: OperationLog) {}

  /** Runs one step, timing it and logging its outcome; `describe` turns its result into the step's detail. */
  async step<T>(
    step: string,
    run: () => Promise<T>,
    describe?: (result: T) => string | undefined,
  ): Promise<T> {
    const startMs = sinceProcessStart();
    try {
      const result = await run();
      const detail = describe?.(result);
      this.record({ step, startMs, elapsedMs: sinceProcessStart() - startMs, outcome: "ok", detail });
      return result;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      this.record({ step, startMs, elapsedMs: sinceProcessStart() - startMs, outcome: "failed", detail });
      throw error;
    }
  }

  /** Adds an already measured step (for work timed elsewhere, such as a target's own steps). */
  record(timing: StepTiming): void {
    this.steps.push(timing);
    const fields = {
      step: timing.step,
      start_ms: timing.startMs,
      elapsed_ms: timing.elapsedMs,
      outcome: timing.outcome,
    };
    if (timing.outcome === "ok") this.log.info(timing.detail ?? timing.step, fields);
    else this.log.warn(timing.detail ?? timing.step, fields);
  }

  /** Rows of the timings table: header first. */
  timingRows(): string[][] {
    return [
      ["Step", "Started (ms since process start)", "Took (ms)", "Outcome", "Detail"],
      ...this.steps.map((timing) => [
        timing.step,
        String(timing.startMs),
        String(timing.elapsedMs),
        timing.outcome,
        timing.detail ?? "",
      ]),
    ];
  }
}
