/**
 * A compute target: the platform one side of a migration runs on. Traffic is
 * only ever moved onto a side whose target says it can serve; a rollback asks
 * the target to bring itself back to what a checkpoint recorded first.
 *
 * This file is the contract only; one implementation per file, and
 * compute-targets.ts is the registry that picks one by the spec's `kind`.
 */
import type { TargetSpec } from "../model/spec.js";
import type { Checkpoint } from "../model/status.js";

/** Whether a side can take traffic now, with the figures that decided it. */
export interface Readiness {
  ready: boolean;
  /** One line with figures: "runningCount 2 of desiredCount 2, 1 deployment". */
  summary: string;
  /** The same figures as fields, for logs. */
  figures: Record<string, string | number>;
}

/** The fields of a checkpoint that describe a compute target rather than the router. */
export type TargetCheckpointFields = Pick<
  Checkpoint,
  "lambdaVersion" | "ecsTaskDefinition" | "ecsDesiredCount" | "lambdaReservedConcurrency"
>;

/** One thing a target did to bring itself back, with how long it took. */
export interface TargetStep {
  step: string;
  detail: string;
  elapsedMs: number;
}

export interface RestoreOptions {
  /**
   * True when the side will carry traffic after the change; capacity (an ECS
   * service's tasks, a Lambda function's concurrency held at 0) is restored only then.
   */
  willServe: boolean;
  /** Bound on waiting for the side to become stable, in seconds. */
  stableTimeoutSeconds: number;
  /** Desired count to use when nothing was recorded and the side was scaled to zero. */
  fallbackDesiredCount?: number;
}

/** The platform one side of a migration runs on. */
export interface ComputeTarget {
  readonly kind: TargetSpec["kind"];
  /** "ECS service prod/orders-api", "Lambda orders-api:live". */
  readonly label: string;
  /** Whether the side can serve now; never throws for a side that merely is not ready. */
  readiness(): Promise<Readiness>;
  /** What a checkpoint records about this side, so a rollback can bring it back. */
  capture(): Promise<TargetCheckpointFields>;
  /**
   * Brings the side back to what was recorded (capacity, version) and waits,
   * bounded, until it can serve; returns what was done. Does nothing when
   * the side already matches.
   */
  restore(recorded: TargetCheckpointFields, options: RestoreOptions): Promise<TargetStep[]>;
}

/** A side cannot be brought back to serve; nothing was shifted. */
export class ComputeTargetRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComputeTargetRefusal";
  }
}
