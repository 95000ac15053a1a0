/**
 * Deploying a Lambda function behind an alias: update the code, wait until
 * the update succeeded, publish a version, then move the alias to it (at
 * once, or in steps through the alias's weighted routing). The alias moves
 * only once the new version is in place, so a failed update leaves it where
 * it was.
 */
import { createHash } from "node:crypto";
import {
  type FunctionConfiguration,
  GetAliasCommand,
  type GetAliasCommandOutput,
  GetFunctionConfigurationCommand,
  type LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  type UpdateFunctionCodeCommandInput,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import type { LambdaTargetSpec } from "../model/spec.js";
import { LambdaTarget } from "../providers/lambda-target.js";
import { retryThrottled } from "../providers/throttling.js";
import type { DeployOutcome } from "./deploy.js";
import { type OperationJournal, OperationRefusal } from "./journal.js";

/** Where the new code comes from. */
export type LambdaArtifact =
  | { kind: "zip"; path: string; bytes: Uint8Array }
  | { kind: "s3"; bucket: string; key: string; objectVersion?: string }
  | { kind: "image"; uri: string };

export interface LambdaDeployRequest {
  spec: LambdaTargetSpec;
  artifact: LambdaArtifact;
  /**
   * Percent of the alias's traffic on the new version at each step, rising,
   * ending at 100; empty or [100] moves the alias at once.
   */
  aliasSteps: number[];
  /** Pause after each partial step, in seconds. */
  aliasStepIntervalSeconds: number;
  /** Bound on waiting for the code update to succeed, in seconds. */
  updateTimeoutSeconds: number;
  /** Version description, e.g. the commit and run. */
  description: string;
  /** Waits between alias steps; injected so tests do not sleep. */
  sleep?: (ms: number) => Promise<void>;
}

/** "zip dist/orders.zip (1.2 MB)", "s3://bucket/key", "image 1234….dkr.ecr…/orders:v2". */
export function describeLambdaArtifact(artifact: LambdaArtifact): string {
  switch (artifact.kind) {
    case "zip":
      return `zip ${artifact.path} (${artifact.bytes.byteLength} bytes)`;
    case "s3":
      return `s3://${artifact.bucket}/${artifact.key}${artifact.objectVersion ? ` (version ${artifact.objectVersion})` : ""}`;
    case "image":
      return `image ${artifact.uri}`;
  }
}

/** The base64 SHA-256 Lambda reports as CodeSha256 for a zip package. */
export function codeSha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64");
}

/** The alias steps as percents: rising whole numbers from 1 to 100, the last one 100. */
export function checkAliasSteps(steps: number[]): number[] {
  if (steps.length === 0) return [100];
  let previous = 0;
  for (const step of steps) {
    if (!Number.isInteger(step) || step < 1 || step > 100 || step <= previous) {
      throw new OperationRefusal(
        `input "alias-steps": ${steps.join(",")} is not a rising list of whole percents from 1 to 100 (e.g. "10,50,100")`,
      );
    }
    previous = step;
  }
  if (previous !== 100) {
    throw new OperationRefusal(
      `input "alias-steps": ${steps.join(",")} must end at 100, so the new version ends up serving everything`,
    );
  }
  return steps;
}

function isNotFound(error: unknown): boolean {
  return (error as { name?: string })?.name === "ResourceNotFoundException";
}

/** What a function and its alias look like before the deploy. */
export interface LambdaBefore {
  configuration: FunctionConfiguration;
  alias: GetAliasCommandOutput;
  /** CodeSha256 of the version the alias serves. */
  aliasCodeSha256?: string;
}

/**
 * Refuses a deploy that cannot start cleanly: an update already in progress,
 * a function that is not ready for one, an alias already mid-shift, or an
 * artifact of the wrong package type.
 */
export function checkLambdaDeployable(label: string, before: LambdaBefore, artifact: LambdaArtifact): void {
  const { configuration, alias } = before;
  if (configuration.LastUpdateStatus === "InProgress") {
    throw new OperationRefusal(
      `${label}: an update is already in progress (LastUpdateStatus InProgress${
        configuration.LastUpdateStatusReason ? `: ${configuration.LastUpdateStatusReason}` : ""
      }); wait for it to finish, then re-run`,
    );
  }
  if (configuration.State === "Pending" || configuration.State === "Failed") {
    throw new OperationRefusal(
      `${label}: function State ${configuration.State}${configuration.StateReason ? ` (${configuration.StateReason})` : ""}; it cannot take a code update now`,
    );
  }
  const routing = alias.RoutingConfig?.AdditionalVersionWeights ?? {};
  const shifting = Object.entries(routing).filter(([, weight]) => weight > 0);
  if (shifting.length > 0) {
    const shares = shifting
      .map(([version, weight]) => `version ${version} ${Math.round(weight * 100)} %`)
      .join(", ");
    throw new OperationRefusal(
      `${label}: the alias is in the middle of a gradual shift (version ${alias.FunctionVersion} with ${shares}); ` +
        "finish or undo that release first",
    );
  }
  const packageType = configuration.PackageType ?? "Zip";
  if (artifact.kind === "image" && packageType !== "Image") {
    throw new OperationRefusal(
      `input "image-uri": ${label} is a ${packageType} package function; give zip-file, or s3-bucket and s3-key`,
    );
  }
  if (artifact.kind !== "image" && packageType === "Image") {
    throw new OperationRefusal(
      `${label} is an Image package function; give image-uri instead of a zip package`,
    );
  }
}

async function readBefore(
  client: LambdaClient,
  spec: LambdaTargetSpec,
  label: string,
): Promise<LambdaBefore> {
  const read = async <T>(call: () => Promise<T>, missing: string): Promise<T> => {
    try {
      return await retryThrottled(call);
    } catch (error) {
      if (isNotFound(error)) throw new OperationRefusal(missing);
      throw error;
    }
  };
  const configuration = await read(
    () => client.send(new GetFunctionConfigurationCommand({ FunctionName: spec.functionName })),
    `${label}: function ${spec.functionName} does not exist (newSide.functionName); create it with the infrastructure code first`,
  );
  const alias = await read(
    () => client.send(new GetAliasCommand({ FunctionName: spec.functionName, Name: spec.alias })),
    `${label}: alias ${spec.alias} of function ${spec.functionName} does not exist; create it with the infrastructure code first`,
  );
  const served = await read(
    () =>
      client.send(
        new GetFunctionConfigurationCommand({ FunctionName: spec.functionName, Qualifier: spec.alias }),
      ),
    `${label}: the version alias ${spec.alias} points at does not exist`,
  );
  return { configuration, alias, aliasCodeSha256: served.CodeSha256 };
}

function codeInput(
  functionName: string,
  artifact: LambdaArtifact,
  revisionId?: string,
): UpdateFunctionCodeCommandInput {
  const base = {
    FunctionName: functionName,
    Publish: false,
    ...(revisionId ? { RevisionId: revisionId } : {}),
  };
  switch (artifact.kind) {
    case "zip":
      return { ...base, ZipFile: artifact.bytes };
    case "s3":
      return {
        ...base,
        S3Bucket: artifact.bucket,
        S3Key: artifact.key,
        ...(artifact.objectVersion ? { S3ObjectVersion: artifact.objectVersion } : {}),
      };
    case "image":
      return { ...base, ImageUri: artifact.uri };
  }
}

/**
 * UpdateFunctionCode guarded by the RevisionId read before. When its response
 * is lost, the SDK retries the same call, which the first attempt's own change
 * makes stale: a 412 PreconditionFailed then means "already done" if $LATEST
 * holds exactly this package (same CodeSha256), and someone else's change only otherwise.
 */
async function updateCode(
  client: LambdaClient,
  request: LambdaDeployRequest,
  revisionId: string | undefined,
): Promise<FunctionConfiguration> {
  const { functionName } = request.spec;
  try {
    return await retryThrottled(() =>
      client.send(new UpdateFunctionCodeCommand(codeInput(functionName, request.artifact, revisionId))),
    );
  } catch (error) {
    if ((error as { name?: string })?.name !== "PreconditionFailedException") throw error;
    const latest = await client.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    if (request.artifact.kind === "zip" && latest.CodeSha256 === codeSha256(request.artifact.bytes))
      return latest;
    throw new OperationRefusal(
      `Lambda UpdateFunctionCode on ${functionName}: the function changed since it was read (RevisionId ${revisionId ?? "(none)"} is no longer the latest, now ${latest.RevisionId ?? "unknown"}) ` +
        `and $LATEST does not hold this package (CodeSha256 ${latest.CodeSha256 ?? "unknown"}), so another change was made meanwhile; nothing was published and the alias was not moved. Re-run the deploy once that change is understood.`,
    );
  }
}

/** Waits for the update with the SDK's waiter; a failed or timed-out update is a refusal that names the reason. */
async function waitUpdated(
  client: LambdaClient,
  request: LambdaDeployRequest,
  label: string,
  previous: string,
): Promise<void> {
  try {
    await waitUntilFunctionUpdatedV2(
      { client, maxWaitTime: request.updateTimeoutSeconds, minDelay: 1, maxDelay: 5 },
      { FunctionName: request.spec.functionName },
    );
  } catch (error) {
    const now = await client
      .send(new GetFunctionConfigurationCommand({ FunctionName: request.spec.functionName }))
      .catch(() => undefined);
    const reason = now
      ? `LastUpdateStatus ${now.LastUpdateStatus}${now.LastUpdateStatusReason ? ` (${now.LastUpdateStatusReason})` : ""}`
      : (error as Error).message;
    throw new OperationRefusal(
      `${label}: the code update did not succeed within ${request.updateTimeoutSeconds} s: ${reason}. ` +
        `The alias was not moved; it still serves version ${previous}`,
    );
  }
}

async function sleepFor(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Moves the alias through the steps; on any failure puts it back on the previous version alone. */
async function moveAlias(
  client: LambdaClient,
  target: LambdaTarget,
  request: LambdaDeployRequest,
  previous: string,
  version: string,
  journal: OperationJournal,
): Promise<void> {
  const steps = checkAliasSteps(request.aliasSteps);
  const sleep = request.sleep ?? sleepFor;
  try {
    for (const percent of steps) {
      if (percent === 100) {
        await journal.step(
          "point alias",
          () => target.pointAlias(version, request.description),
          () => `${target.label} → version ${version}`,
        );
        journal.done.push(`Pointed ${target.label} at version ${version} (was ${previous}).`);
        continue;
      }
      await journal.step(
        `alias ${percent} %`,
        () =>
          retryThrottled(() =>
            client.send(
              new UpdateAliasCommand({
                FunctionName: request.spec.functionName,
                Name: request.spec.alias,
                FunctionVersion: previous,
                RoutingConfig: { AdditionalVersionWeights: { [version]: percent / 100 } },
              }),
            ),
          ),
        () => `${target.label}: version ${previous} ${100 - percent} %, version ${version} ${percent} %`,
      );
      journal.done.push(
        `${target.label}: ${percent} % to version ${version}, ${100 - percent} % to ${previous}.`,
      );
      await sleep(request.aliasStepIntervalSeconds * 1000);
    }
  } catch (error) {
    await target.pointAlias(previous, "restored after a failed release").catch((restoreError: unknown) => {
      throw new OperationRefusal(
        `${target.label}: moving the alias failed (${(error as Error).message}) and putting it back on version ${previous} ` +
          `failed too (${(restoreError as Error).message}); point it back by hand`,
      );
    });
    throw new OperationRefusal(
      `${target.label}: moving the alias to version ${version} failed (${(error as Error).message}); it was put back on version ${previous} alone`,
    );
  }
}

/**
 * Deploys new code to the function and moves the alias to it. Idempotent: a
 * zip whose hash the alias's version already has is a no-op that says so.
 */
export async function deployLambda(
  request: LambdaDeployRequest,
  client: LambdaClient,
  journal: OperationJournal,
): Promise<DeployOutcome> {
  // Every input is checked before the first write: a refusal after UpdateFunctionCode would leave new code behind.
  checkAliasSteps(request.aliasSteps);
  const target = new LambdaTarget(request.spec, client);
  const label = target.label;
  const before = await journal.step("read function and alias", () => readBefore(client, request.spec, label));
  const previous = before.alias.FunctionVersion ?? "$LATEST";
  journal.found.push(
    `${label} serves version ${previous}; function State ${before.configuration.State ?? "unknown"}, ` +
      `LastUpdateStatus ${before.configuration.LastUpdateStatus ?? "unknown"}, package ${before.configuration.PackageType ?? "Zip"}.`,
  );
  checkLambdaDeployable(label, before, request.artifact);
  const base = {
    kind: "lambda" as const,
    target: label,
    artifact: describeLambdaArtifact(request.artifact),
    previous,
  };
  if (request.artifact.kind === "zip" && before.aliasCodeSha256 === codeSha256(request.artifact.bytes)) {
    journal.done.push(
      `Nothing to deploy: version ${previous} behind ${label} already has this code (CodeSha256 ${before.aliasCodeSha256}).`,
    );
    return { ...base, deployed: previous, noOp: true, checkpointFields: { lambdaVersion: previous } };
  }
  const updated = await journal.step(
    "update code",
    () => updateCode(client, request, before.configuration.RevisionId),
    (output) => `${request.spec.functionName} $LATEST CodeSha256 ${output.CodeSha256}`,
  );
  await journal.step(
    "wait update",
    () => waitUpdated(client, request, label, previous),
    () => "LastUpdateStatus Successful",
  );
  const published = await journal.step(
    "publish version",
    () =>
      retryThrottled(() =>
        client.send(
          new PublishVersionCommand({
            FunctionName: request.spec.functionName,
            // Publishes exactly the code uploaded above, not whatever $LATEST became since.
            ...(updated.CodeSha256 ? { CodeSha256: updated.CodeSha256 } : {}),
            Description: request.description,
          }),
        ),
      ),
    (output) => `version ${output.Version}`,
  );
  const version = published.Version;
  if (!version) throw new Error(`${label}: PublishVersion returned no version number`);
  journal.done.push(
    `Updated ${request.spec.functionName} with ${base.artifact} and published version ${version}.`,
  );
  if (version === previous) {
    journal.done.push(`${label} already serves version ${version}; the alias was left as it is.`);
    return { ...base, deployed: version, noOp: true, checkpointFields: { lambdaVersion: previous } };
  }
  await moveAlias(client, target, request, previous, version, journal);
  return { ...base, deployed: version, noOp: false, checkpointFields: { lambdaVersion: previous } };
}
