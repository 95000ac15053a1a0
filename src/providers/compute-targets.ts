/**
 * The registry of compute targets: the one place that knows the
 * implementations, so callers depend only on the contract in compute-target.ts.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { TargetSpec } from "../model/spec.js";
import type { ComputeTarget } from "./compute-target.js";
import { EcsTarget, type EcsTargetOptions } from "./ecs-target.js";
import { LambdaTarget } from "./lambda-target.js";

export interface TargetClients {
  ecs: ECSClient;
  lambda: LambdaClient;
}

export interface TargetOptions {
  ecs?: EcsTargetOptions;
}

type TargetFactory = (spec: TargetSpec, clients: TargetClients, options: TargetOptions) => ComputeTarget;

const TARGET_FACTORIES: Record<TargetSpec["kind"], TargetFactory> = {
  ecs: (spec, clients, options) =>
    new EcsTarget(spec as Extract<TargetSpec, { kind: "ecs" }>, clients.ecs, options.ecs),
  lambda: (spec, clients) =>
    new LambdaTarget(spec as Extract<TargetSpec, { kind: "lambda" }>, clients.lambda),
};

/**
 * Creates the target the spec names; `where` ("oldSide", "newSide") makes the
 * error point at the spec field. An unknown kind fails loudly rather than
 * guessing a platform.
 */
export function createComputeTarget(
  spec: TargetSpec,
  clients: TargetClients,
  where = "side",
  options: TargetOptions = {},
): ComputeTarget {
  const kind = (spec as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !Object.hasOwn(TARGET_FACTORIES, kind)) {
    throw new Error(
      `${where}.kind ${JSON.stringify(kind)} is not a known compute target; known kinds: ${Object.keys(TARGET_FACTORIES).join(", ")}`,
    );
  }
  return TARGET_FACTORIES[kind as TargetSpec["kind"]](spec, clients, options);
}
