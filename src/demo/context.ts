/**
 * What every step of the demo works with: the progress display, the action
 * runner, the state recorder, the workspace, the sandbox, and the record of
 * phases run so far (for the summary table and the result file).
 */
import type { Verdict } from "../model/status.js";
import type { CheckpointStore } from "../providers/checkpoint-store.js";
import type { GuardianInstall } from "./guardian.js";
import type { DemoProfile } from "./options.js";
import type { Progress } from "./progress.js";
import type { StateRecorder } from "./recorder.js";
import type { ActionRunner } from "./runner.js";
import type { DemoWorkspace } from "./workspace.js";

/** The sandbox as the demo uses it. */
export interface DemoSandbox {
  /** Control-plane endpoint. */
  endpoint: string;
  /** Where /_sandbox/backends is served (the control plane, unless the demo started the data plane itself). */
  adminEndpoint: string;
  /** AWS_ENDPOINT_URL, AWS_REGION and fake credentials for the actions. */
  env: Record<string, string>;
  /** Data-plane URL per record name. */
  dataPlaneUrls: Record<string, string>;
  close(): Promise<void>;
}

/** One phase as it went, for the summary. */
export interface PhaseOutcome {
  act: 1 | 2;
  migration: string;
  phase: string;
  /** pass, fail, rollback, insufficient-data, or "error" when a step could not run. */
  verdict: Verdict | "error";
  /** State recorded in the status after the phase. */
  state: string;
  startedAt: number;
  elapsedMs: number;
  /** One line: the figures that decided. */
  detail: string;
}

export interface DemoContext {
  profile: DemoProfile;
  progress: Progress;
  runner: ActionRunner;
  recorder: StateRecorder;
  workspace: DemoWorkspace;
  sandbox: DemoSandbox;
  projectRoot: string;
  phases: PhaseOutcome[];
  /** Notes about pieces the demo had to work around; shown at the end and kept in the result. */
  notes: string[];
  /** The guardian installed in the sandbox, and its checkpoint store. */
  guardian?: { install: GuardianInstall; store: CheckpointStore; alarmPeriodSeconds: number };
}

/** A step of the demo failed; the phase is recorded as failed and the act stops. */
export class DemoStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoStepError";
  }
}

/** Seconds with one decimal: "3.4 s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
