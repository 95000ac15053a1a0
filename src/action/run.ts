import * as core from "@actions/core";
import type { ActionContract } from "./contract.js";
import { environmentInputs, errorMessage, InputReader, type InputSource } from "./inputs.js";
import { ActionLogger } from "./log.js";
import { type RunContext, readRunContext } from "./run-context.js";
import { type ActionReport, writeJobSummary } from "./summary.js";
import { checkWorkspacePaths } from "./workspace-paths.js";

/** Everything an action's body receives; nothing else reaches into the runner. */
export interface ActionContext<I extends string, O extends string> {
  inputs: InputReader<I>;
  run: RunContext;
  log: ActionLogger;
  /** Sets a declared output; objects are written as JSON. */
  setOutput(name: O, value: string | number | boolean | object): void;
  /** Masks a value in every later log line. */
  secret(value: string): void;
  startedAt: Date;
}

/** What an action body returns: its job summary. */
export type ActionBody<I extends string, O extends string> = (
  context: ActionContext<I, O>,
) => Promise<ActionReport>;

/** Raised by an action body to fail with a report (refusals still get a job summary). */
export class ActionRefusal extends Error {
  constructor(
    message: string,
    readonly report?: ActionReport,
  ) {
    super(message);
    this.name = "ActionRefusal";
  }
}

/**
 * Runs an action body with the single error path: whatever is thrown (an
 * Error, a string, anything) fails the step through `core.setFailed` with a
 * readable message, and a job summary is written either way.
 */
export async function runAction<I extends string, O extends string>(
  contract: ActionContract<I, O>,
  body: ActionBody<I, O>,
  source: InputSource = environmentInputs(),
): Promise<void> {
  const startedAt = new Date();
  const run = readRunContext();
  const migration = source("migration") || undefined;
  const log = new ActionLogger({ action: contract.name, migration, correlation: run.correlationId });
  const context: ActionContext<I, O> = {
    inputs: new InputReader(contract, source),
    run,
    log,
    startedAt,
    secret: (value) => core.setSecret(value),
    setOutput(name, value) {
      if (!(name in contract.outputs)) {
        throw new Error(`output "${name}" is not declared in the ${contract.name} contract`);
      }
      core.setOutput(name, typeof value === "object" ? JSON.stringify(value) : String(value));
    },
  };
  try {
    checkWorkspacePaths(contract, source, run.workspace);
    const report = await body(context);
    await writeJobSummary(report, Date.now() - startedAt.getTime());
    log.info("finished", { elapsed_ms: Date.now() - startedAt.getTime() });
  } catch (error) {
    const message = errorMessage(error);
    log.info("failed", { error: message, elapsed_ms: Date.now() - startedAt.getTime() });
    const report: ActionReport =
      error instanceof ActionRefusal && error.report
        ? error.report
        : { title: `${contract.name} failed`, headline: message };
    try {
      await writeJobSummary(report, Date.now() - startedAt.getTime());
    } catch (summaryError) {
      core.warning(`could not write the job summary: ${errorMessage(summaryError)}`);
    }
    core.setFailed(message);
  }
}
