/**
 * Job summaries and outputs of the traffic actions, shared by shift-traffic
 * and rollback so both read the same way.
 */
import { ActionRefusal } from "../action/run.js";
import type { ActionReport } from "../action/summary.js";
import type { Checkpoint } from "../model/status.js";
import type { SubmittedChange } from "../providers/traffic-router.js";
import { type OperationJournal, sinceProcessStart } from "./journal.js";
import { formatWeights, routerRows, type WeightMove } from "./traffic.js";

/** Outputs both traffic actions declare. */
export type WeightMoveOutput =
  | "previous-weights"
  | "weights"
  | "change-id"
  | "insync-at"
  | "gate-window-start"
  | "checkpoint"
  | "no-op";

export type OutputSetter<O extends string> = (name: O, value: string | number | boolean | object) => void;

/** Publishes the change id and checkpoint the moment the change is accepted, so they survive a failed wait. */
export function publishSubmitted<O extends string>(setOutput: OutputSetter<O | WeightMoveOutput>) {
  return (change: SubmittedChange, checkpoint: Checkpoint) => {
    setOutput("change-id", change.id);
    setOutput("checkpoint", checkpoint);
  };
}

/** Every weight-move output; a no-op still sets all of them (change id and INSYNC time empty). */
export function publishMove<O extends string>(
  move: WeightMove,
  setOutput: OutputSetter<O | WeightMoveOutput>,
): void {
  setOutput("previous-weights", move.previousWeights);
  setOutput("weights", move.weights);
  setOutput("change-id", move.change?.id ?? "");
  setOutput("insync-at", move.insyncAt?.toISOString() ?? "");
  setOutput("gate-window-start", move.gateWindowStart.toISOString());
  setOutput("checkpoint", move.checkpoint);
  setOutput("no-op", move.noOp);
}

/** The one-line outcome of a move. */
export function moveHeadline(move: WeightMove): string {
  if (move.noOp) return `No change: the router already sends ${formatWeights(move.weights)}.`;
  return (
    `${formatWeights(move.previousWeights)} → ${formatWeights(move.weights)}; change ${move.change?.id} INSYNC ` +
    `${(move.insyncAtMs ?? 0) - (move.submittedAtMs ?? 0)} ms after submission; gate window starts ${move.gateWindowStart.toISOString()}.`
  );
}

export interface MoveReportParts {
  title: string;
  move: WeightMove;
  journal: OperationJournal;
  next: string[];
  headline?: string;
}

/** The job summary of a completed move: what was found, done, records before and after, step timings, next steps. */
export function moveReport(parts: MoveReportParts): ActionReport {
  const { move, journal } = parts;
  const timing =
    move.submittedAtMs !== undefined
      ? [
          `Change submitted ${move.submittedAtMs} ms after process start; INSYNC ${move.insyncAtMs} ms after process start.`,
        ]
      : [];
  return {
    title: parts.title,
    headline: parts.headline ?? moveHeadline(move),
    found: journal.found,
    done: [...journal.done, ...timing],
    tables: [
      { caption: "Router", rows: routerRows(move) },
      { caption: "Steps", rows: journal.timingRows() },
    ],
    next: parts.next,
  };
}

/**
 * Turns anything thrown into a refusal with a job summary that still lists
 * what was found and done before it, and what to do about it.
 */
export function refusalOf(
  title: string,
  error: unknown,
  journal: OperationJournal,
  next: string[],
): ActionRefusal {
  const message = error instanceof Error ? error.message : String(error);
  return new ActionRefusal(message, {
    title,
    headline: message,
    found: journal.found,
    done: [...journal.done, `Stopped ${sinceProcessStart()} ms after process start.`],
    tables: journal.steps.length > 0 ? [{ caption: "Steps", rows: journal.timingRows() }] : [],
    next,
  });
}

/**
 * What to do after a failure, by how far it got: before the change nothing
 * moved; a failed submission left the router fully old or fully new (every
 * router writes both weights in one change); after submission it holds the new weights.
 */
export function nextStepAfterFailure(journal: OperationJournal, action: string): string {
  const submission = journal.steps.find((timing) => timing.step === "submit change");
  if (!submission) return `Nothing was changed. Fix what the message names, then re-run ${action}.`;
  if (submission.outcome === "failed") {
    return (
      "The change request failed; the router applies both weights in one change or not at all, so they are either as they " +
      `were or fully at the target. Re-run ${action}: it reads them again and converges.`
    );
  }
  return (
    "The change was submitted (the router applies it as one change): commit the status with the `checkpoint` output, " +
    `then re-run ${action} to confirm.`
  );
}
