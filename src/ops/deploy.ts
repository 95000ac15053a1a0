/**
 * deploy: puts a new artifact on one side of a migration, dispatching by the
 * side's kind (a Lambda alias, an ECS service), and records what it replaced
 * as a checkpoint so a rollback can restore it.
 */
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import type { RunContext } from "../action/run-context.js";
import type { ActionReport } from "../action/summary.js";
import type { EcsTargetSpec, LambdaTargetSpec, Migration, TargetSpec } from "../model/spec.js";
import type { Checkpoint, MigrationStatus } from "../model/status.js";
import type { TargetCheckpointFields } from "../providers/compute-target.js";
import { createComputeTarget } from "../providers/compute-targets.js";
import { shortTaskDefinition } from "../providers/ecs-target.js";
import { readingWeights } from "../providers/traffic-router.js";
import { createTrafficRouter } from "../providers/traffic-routers.js";
import { deployEcs } from "./deploy-ecs.js";
import { deployLambda, type LambdaArtifact } from "./deploy-lambda.js";
import { OperationJournal, type OperationLog, OperationRefusal } from "./journal.js";
import { loadMigrationContext } from "./migration-context.js";
import type { TrafficClients } from "./traffic.js";
import { type OutputSetter, refusalOf } from "./traffic-report.js";

/** Lambda takes at most 50 MB of zipped code inline; larger packages go through S3. */
export const MAX_INLINE_ZIP_BYTES = 50 * 1024 * 1024;

/** What a deploy did to one side. */
export interface DeployOutcome {
  kind: TargetSpec["kind"];
  /** "Lambda orders-api:live", "ECS service prod/orders-api". */
  target: string;
  /** What was deployed, for the summary. */
  artifact: string;
  /** Lambda version or ECS task definition ARN before. */
  previous: string;
  /** Lambda version or ECS task definition ARN after (equal to `previous` for a no-op). */
  deployed: string;
  noOp: boolean;
  /** What a rollback restores on this side. */
  checkpointFields: TargetCheckpointFields;
}

/** Artifact inputs as given; which ones apply depends on the side's kind. */
export interface ArtifactInputs {
  zipFile?: string;
  s3Bucket?: string;
  s3Key?: string;
  s3ObjectVersion?: string;
  imageUri?: string;
  container?: string;
}

/** The deploy action's inputs, parsed. */
export interface DeployInputs {
  migration: string;
  spec: string;
  side: "new" | "old";
  artifact: ArtifactInputs;
  aliasSteps: number[];
  aliasStepIntervalSeconds: number;
  updateTimeoutSeconds: number;
  stableTimeoutSeconds: number;
  description?: string;
}

/** What the action needs from the runner, injected so the operation can run anywhere. */
export interface DeployEnvironment {
  run: RunContext;
  log: OperationLog;
  setOutput: OutputSetter<DeployOutput>;
  clients: TrafficClients;
  now: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Polling while waiting for an ECS service to become stable, in seconds. */
  stablePollSeconds?: { min: number; max: number };
}

export type DeployOutput = "target" | "previous-version" | "version" | "checkpoint" | "no-op";

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

async function readZip(path: string, workspace: string): Promise<LambdaArtifact> {
  const absolute = isAbsolute(path) ? path : resolve(workspace, path);
  const shown = relative(workspace, absolute).startsWith("..") ? absolute : relative(workspace, absolute);
  const info = await stat(absolute).catch(() => undefined);
  if (!info)
    throw new OperationRefusal(`input "zip-file": ${shown} does not exist in the workspace ${workspace}`);
  if (!info.isFile()) throw new OperationRefusal(`input "zip-file": ${shown} is not a file`);
  if (info.size === 0)
    throw new OperationRefusal(
      `input "zip-file": ${shown} is empty (0 bytes); did the build step produce it?`,
    );
  if (info.size > MAX_INLINE_ZIP_BYTES) {
    throw new OperationRefusal(
      `input "zip-file": ${shown} is ${info.size} bytes, over Lambda's ${MAX_INLINE_ZIP_BYTES} byte limit for inline code; upload it to S3 and give s3-bucket and s3-key`,
    );
  }
  const bytes = new Uint8Array(await readFile(absolute));
  if (!ZIP_MAGIC.every((byte, index) => bytes[index] === byte)) {
    throw new OperationRefusal(
      `input "zip-file": ${shown} is not a zip archive (it does not start with PK\\x03\\x04)`,
    );
  }
  return { kind: "zip", path: shown, bytes };
}

/** The Lambda artifact the inputs name: exactly one of a zip file, an S3 object, or an image. */
export async function resolveLambdaArtifact(
  inputs: ArtifactInputs,
  workspace: string,
): Promise<LambdaArtifact> {
  const given = [
    inputs.zipFile !== undefined ? "zip-file" : undefined,
    inputs.s3Bucket !== undefined || inputs.s3Key !== undefined ? "s3-bucket/s3-key" : undefined,
    inputs.imageUri !== undefined ? "image-uri" : undefined,
  ].filter((name): name is string => name !== undefined);
  if (given.length === 0) {
    throw new OperationRefusal(
      'no artifact to deploy: give input "zip-file" (a zip in the workspace), "s3-bucket" and "s3-key", or "image-uri"',
    );
  }
  if (given.length > 1) throw new OperationRefusal(`give one artifact, not ${given.join(" and ")}`);
  if (inputs.container !== undefined)
    throw new OperationRefusal('input "container" applies to ECS services, not to Lambda');
  if (inputs.zipFile !== undefined) return readZip(inputs.zipFile, workspace);
  if (inputs.imageUri !== undefined) return { kind: "image", uri: inputs.imageUri };
  if (!inputs.s3Bucket || !inputs.s3Key) {
    throw new OperationRefusal(
      `input "${inputs.s3Bucket ? "s3-key" : "s3-bucket"}" is empty; an S3 artifact needs both s3-bucket and s3-key`,
    );
  }
  return {
    kind: "s3",
    bucket: inputs.s3Bucket,
    key: inputs.s3Key,
    ...(inputs.s3ObjectVersion ? { objectVersion: inputs.s3ObjectVersion } : {}),
  };
}

/** The image an ECS deploy takes; zip and S3 artifacts are for Lambda. */
export function resolveEcsImage(inputs: ArtifactInputs): string {
  if (inputs.zipFile !== undefined || inputs.s3Bucket !== undefined || inputs.s3Key !== undefined) {
    throw new OperationRefusal(
      'an ECS service deploys an image: give input "image-uri"; zip-file, s3-bucket and s3-key are for Lambda',
    );
  }
  if (!inputs.imageUri)
    throw new OperationRefusal('no artifact to deploy: give input "image-uri" (the new container image)');
  return inputs.imageUri;
}

interface DeployContext {
  spec: TargetSpec;
  inputs: DeployInputs;
  env: DeployEnvironment;
  journal: OperationJournal;
}

type Deployer = (context: DeployContext) => Promise<DeployOutcome>;

const DEPLOYERS: Record<TargetSpec["kind"], Deployer> = {
  lambda: async ({ spec, inputs, env, journal }) =>
    deployLambda(
      {
        spec: spec as LambdaTargetSpec,
        artifact: await resolveLambdaArtifact(inputs.artifact, env.run.workspace),
        aliasSteps: inputs.aliasSteps,
        aliasStepIntervalSeconds: inputs.aliasStepIntervalSeconds,
        updateTimeoutSeconds: inputs.updateTimeoutSeconds,
        description: inputs.description ?? `cutover deploy run ${env.run.correlationId}`,
        ...(env.sleep ? { sleep: env.sleep } : {}),
      },
      env.clients.lambda,
      journal,
    ),
  ecs: async ({ spec, inputs, env, journal }) => {
    if (inputs.aliasSteps.length > 0) {
      throw new OperationRefusal('input "alias-steps" applies to Lambda aliases, not to ECS services');
    }
    return deployEcs(
      {
        spec: spec as EcsTargetSpec,
        image: resolveEcsImage(inputs.artifact),
        container: inputs.artifact.container,
        stableTimeoutSeconds: inputs.stableTimeoutSeconds,
        ...(env.stablePollSeconds ? { targetOptions: { stablePollSeconds: env.stablePollSeconds } } : {}),
      },
      env.clients.ecs,
      journal,
    );
  },
};

/** The deployer for a side's kind; an unknown kind is an error naming the kinds that exist. */
export function deployerFor(spec: TargetSpec, where: string): Deployer {
  const kind = (spec as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !Object.hasOwn(DEPLOYERS, kind)) {
    throw new OperationRefusal(
      `${where}.kind ${JSON.stringify(kind)} cannot be deployed to; known kinds: ${Object.keys(DEPLOYERS).join(", ")}`,
    );
  }
  return DEPLOYERS[kind as TargetSpec["kind"]];
}

/**
 * The checkpoint taken before the deploy: the weights and records as they are
 * (the status's weights when the records cannot be read) and what both sides
 * run, so a rollback to it restores the previous version or revision.
 */
export async function takeDeployCheckpoint(
  migration: Migration,
  status: MigrationStatus,
  env: Pick<DeployEnvironment, "clients" | "now" | "log">,
  journal: OperationJournal,
): Promise<Checkpoint> {
  const sides = [
    createComputeTarget(migration.oldSide, env.clients, "oldSide"),
    createComputeTarget(migration.newSide, env.clients, "newSide"),
  ];
  const router = createTrafficRouter(migration.router, env.clients);
  const [reading, ...captured] = await Promise.all([
    router.read().catch((error: unknown) => {
      journal.found.push(
        `${router.label} could not be read (${(error as Error).message}); the checkpoint takes the weights from the status.`,
      );
      return undefined;
    }),
    ...sides.map((side) =>
      side.capture().catch((error: unknown) => {
        env.log.warn(`could not record ${side.label} in the checkpoint`, { error: (error as Error).message });
        return {} as TargetCheckpointFields;
      }),
    ),
  ]);
  const weights = reading ? router.effectiveWeights(readingWeights(reading)) : status.weights;
  return {
    phase: status.phase,
    takenAt: env.now().toISOString(),
    weights,
    ...(reading ? { router: reading.snapshot } : {}),
    ...Object.assign({}, ...captured),
  };
}

function shortVersion(outcome: DeployOutcome, value: string): string {
  return outcome.kind === "ecs" ? shortTaskDefinition(value) : `version ${value}`;
}

function deployReport(
  title: string,
  outcome: DeployOutcome,
  journal: OperationJournal,
  statusPath: string,
  migrationId: string,
): ActionReport {
  const before = shortVersion(outcome, outcome.previous);
  const after = shortVersion(outcome, outcome.deployed);
  const took = journal.steps.reduce((total, step) => total + step.elapsedMs, 0);
  return {
    title,
    headline: outcome.noOp
      ? `No change: ${outcome.target} already runs ${after}.`
      : `${outcome.target}: ${before} → ${after}.`,
    found: journal.found,
    done: journal.done,
    tables: [
      {
        caption: "Deployed",
        rows: [
          ["Target", "Artifact", "Before", "After", "Took (ms)"],
          [outcome.target, outcome.artifact, outcome.previous, outcome.deployed, String(took)],
        ],
      },
      { caption: "Steps", rows: journal.timingRows() },
    ],
    next: outcome.noOp
      ? [`Nothing to commit for ${migrationId}.`]
      : [
          `Commit ${statusPath}: the \`checkpoint\` output pushed onto checkpoints (it records ${before} to restore).`,
          `To undo, run rollback for ${migrationId}: it ${outcome.kind === "lambda" ? `points ${outcome.target} back to ${before}` : `restores the checkpoint's weights and capacity; to run ${before} again, deploy its image`}.`,
        ],
  };
}

/** The deploy action: load the migration, take the checkpoint, deploy to the side, publish outputs and the summary. */
export async function runDeploy(inputs: DeployInputs, env: DeployEnvironment): Promise<ActionReport> {
  const journal = new OperationJournal(env.log);
  const title = `deploy: ${inputs.migration} (${inputs.side} side)`;
  try {
    const specPath = resolve(env.run.workspace, inputs.spec);
    const context = await journal.step("load spec and status", () =>
      loadMigrationContext(specPath, inputs.migration, env.now()),
    );
    const where = inputs.side === "new" ? "newSide" : "oldSide";
    const side = context.migration[where];
    const deployer = deployerFor(side, where);
    const checkpoint = await journal.step("take checkpoint", () =>
      takeDeployCheckpoint(context.migration, context.status, env, journal),
    );
    // Published before anything changes, so it survives a deploy that fails halfway.
    env.setOutput("checkpoint", checkpoint);
    const outcome = await deployer({ spec: side, inputs, env, journal });
    const final: Checkpoint = { ...checkpoint, ...outcome.checkpointFields };
    env.setOutput("target", outcome.target);
    env.setOutput("previous-version", outcome.previous);
    env.setOutput("version", outcome.deployed);
    env.setOutput("checkpoint", final);
    env.setOutput("no-op", outcome.noOp);
    return deployReport(title, outcome, journal, context.statusPath, inputs.migration);
  } catch (error) {
    throw refusalOf(`${title} refused`, error, journal, [
      "The alias or service was left on (or put back to) its previous version. Fix what the message names, then re-run.",
    ]);
  }
}
