/**
 * Deploying a new image to an ECS service: register a revision of the
 * service's task definition with the image swapped in one container and
 * everything else carried over, point the service at it, and wait until it is
 * stable. A service that does not stabilise is pointed back at the previous
 * revision, so a failed deploy leaves it where it was.
 */
import {
  type ContainerDefinition,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Tag,
  type TaskDefinition,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import type { EcsTargetSpec } from "../model/spec.js";
import { ComputeTargetRefusal } from "../providers/compute-target.js";
import {
  type EcsServiceState,
  EcsTarget,
  type EcsTargetOptions,
  shortTaskDefinition,
} from "../providers/ecs-target.js";
import { retryThrottled } from "../providers/throttling.js";
import type { DeployOutcome } from "./deploy.js";
import { type OperationJournal, OperationRefusal } from "./journal.js";

export interface EcsDeployRequest {
  spec: EcsTargetSpec;
  image: string;
  /** Container whose image changes; the only (or first essential) container when absent. */
  container?: string;
  /** Bound on waiting for the service to become stable, in seconds (each way, should it roll back). */
  stableTimeoutSeconds: number;
  targetOptions?: EcsTargetOptions;
}

/**
 * Refuses a service that is missing, not ACTIVE, or already in the middle of
 * a deployment (more than one deployment, or its one deployment still rolling
 * out): a second change on top would be impossible to roll back cleanly.
 */
export function checkServiceDeployable(
  label: string,
  state: EcsServiceState | undefined,
): asserts state is EcsServiceState {
  if (!state) {
    throw new OperationRefusal(
      `${label} does not exist (DescribeServices: MISSING); check oldSide/newSide cluster and service`,
    );
  }
  if (state.status !== "ACTIVE")
    throw new OperationRefusal(`${label} is ${state.status}, not ACTIVE; it cannot be deployed to`);
  if (!state.taskDefinition) throw new OperationRefusal(`${label} reports no task definition`);
  const rolling = state.deployments.filter((deployment) => deployment.rolloutState === "IN_PROGRESS");
  if (state.deployments.length > 1 || rolling.length > 0) {
    const each = state.deployments
      .map(
        (deployment) =>
          `${deployment.status} ${shortTaskDefinition(deployment.taskDefinition)} ${deployment.runningCount}/${deployment.desiredCount}` +
          (deployment.rolloutState ? ` ${deployment.rolloutState}` : ""),
      )
      .join("; ");
    throw new OperationRefusal(
      `${label}: an update is already in progress (${state.deployments.length} deployment${state.deployments.length === 1 ? "" : "s"}: ${each}); ` +
        "wait until it is stable, then re-run",
    );
  }
}

/** The container to deploy to: the named one, else the only one, else the first essential one. */
export function selectContainer(
  containers: readonly ContainerDefinition[],
  name: string | undefined,
): ContainerDefinition {
  const names = containers.map((container) => container.name ?? "(unnamed)");
  if (name !== undefined) {
    const found = containers.find((container) => container.name === name);
    if (!found) {
      throw new OperationRefusal(
        `input "container": "${name}" is not a container of the task definition; its containers are ${names.join(", ")}`,
      );
    }
    return found;
  }
  const chosen =
    containers.length === 1 ? containers[0] : containers.find((container) => container.essential !== false);
  if (!chosen)
    throw new OperationRefusal(
      `the task definition has no essential container; give input "container" (one of ${names.join(", ") || "none"})`,
    );
  return chosen;
}

/** Fields DescribeTaskDefinition returns that RegisterTaskDefinition does not accept (set by ECS). */
const READ_ONLY_FIELDS = [
  "taskDefinitionArn",
  "revision",
  "status",
  "requiresAttributes",
  "compatibilities",
  "registeredAt",
  "registeredBy",
  "deregisteredAt",
] as const;

/**
 * The next revision: the current task definition with `image` in the chosen
 * container, every other field carried over (tags included), the fields ECS
 * sets itself left out.
 */
export function nextRevision(
  current: TaskDefinition,
  tags: readonly Tag[],
  containerName: string,
  image: string,
): RegisterTaskDefinitionCommandInput {
  const carried: Record<string, unknown> = { ...current };
  for (const field of READ_ONLY_FIELDS) delete carried[field];
  const containerDefinitions = (current.containerDefinitions ?? []).map((container) =>
    container.name === containerName ? { ...container, image } : container,
  );
  return {
    ...(carried as Omit<RegisterTaskDefinitionCommandInput, "containerDefinitions">),
    family: current.family,
    containerDefinitions,
    ...(tags.length > 0 ? { tags: [...tags] } : {}),
  };
}

async function rollBackService(
  client: ECSClient,
  target: EcsTarget,
  previous: string,
  timeoutSeconds: number,
  journal: OperationJournal,
): Promise<string> {
  try {
    await journal.step("roll back service", () =>
      retryThrottled(() =>
        client.send(
          new UpdateServiceCommand({
            cluster: target.spec.cluster,
            service: target.spec.service,
            taskDefinition: previous,
          }),
        ),
      ),
    );
    const stable = await journal.step("wait stable after roll back", () => target.waitStable(timeoutSeconds));
    return `the service was pointed back at ${shortTaskDefinition(previous)} and is stable again (runningCount ${stable.runningCount})`;
  } catch (error) {
    return `pointing the service back at ${shortTaskDefinition(previous)} did not complete either (${(error as Error).message}); check the service`;
  }
}

/**
 * Deploys `image` to the service. Idempotent: a service whose current task
 * definition already runs the image in that container is a no-op that says so.
 */
export async function deployEcs(
  request: EcsDeployRequest,
  client: ECSClient,
  journal: OperationJournal,
): Promise<DeployOutcome> {
  const target = new EcsTarget(request.spec, client, request.targetOptions);
  const state = await journal.step("read service", () => target.describeService());
  checkServiceDeployable(target.label, state);
  const previous = state.taskDefinition!;
  const described = await journal.step("read task definition", () =>
    retryThrottled(() =>
      client.send(new DescribeTaskDefinitionCommand({ taskDefinition: previous, include: ["TAGS"] })),
    ),
  );
  const current = described.taskDefinition;
  if (!current) throw new OperationRefusal(`${target.label}: task definition ${previous} could not be read`);
  const container = selectContainer(current.containerDefinitions ?? [], request.container);
  const containerName = container.name ?? "";
  journal.found.push(
    `${target.label} runs ${shortTaskDefinition(previous)} (desiredCount ${state.desiredCount}, runningCount ${state.runningCount}); ` +
      `container ${containerName} has image ${container.image}.`,
  );
  const base = {
    kind: "ecs" as const,
    target: target.label,
    artifact: `image ${request.image} in container ${containerName}`,
    previous,
  };
  if (container.image === request.image) {
    journal.done.push(
      `Nothing to deploy: ${shortTaskDefinition(previous)} already runs ${request.image} in ${containerName}.`,
    );
    return { ...base, deployed: previous, noOp: true, checkpointFields: { ecsTaskDefinition: previous } };
  }
  const registered = await journal.step(
    "register task definition",
    () =>
      retryThrottled(() =>
        client.send(
          new RegisterTaskDefinitionCommand(
            nextRevision(current, described.tags ?? [], containerName, request.image),
          ),
        ),
      ),
    (output) => `registered ${shortTaskDefinition(output.taskDefinition?.taskDefinitionArn)}`,
  );
  const deployed = registered.taskDefinition?.taskDefinitionArn;
  if (!deployed) throw new Error(`${target.label}: RegisterTaskDefinition returned no ARN`);
  await journal.step(
    "update service",
    () =>
      retryThrottled(() =>
        client.send(
          new UpdateServiceCommand({
            cluster: request.spec.cluster,
            service: request.spec.service,
            taskDefinition: deployed,
          }),
        ),
      ),
    () => `${target.label} → ${shortTaskDefinition(deployed)}`,
  );
  journal.done.push(
    `Registered ${shortTaskDefinition(deployed)} (${container.image} → ${request.image}) and pointed ${target.label} at it.`,
  );
  let stable: EcsServiceState;
  try {
    stable = await journal.step("wait stable", () => target.waitStable(request.stableTimeoutSeconds));
  } catch (error) {
    if (!(error instanceof ComputeTargetRefusal)) throw error;
    const rolledBack = await rollBackService(client, target, previous, request.stableTimeoutSeconds, journal);
    throw new OperationRefusal(`${error.message}. ${rolledBack}`);
  }
  if (stable.taskDefinition !== deployed) {
    // The deployment circuit breaker rolled the service back on its own.
    throw new OperationRefusal(
      `${target.label} became stable on ${shortTaskDefinition(stable.taskDefinition)}, not ${shortTaskDefinition(deployed)}: ` +
        "ECS rolled the deployment back (deployment circuit breaker); see the service's events",
    );
  }
  journal.done.push(
    `${target.label} is stable on ${shortTaskDefinition(deployed)} with runningCount ${stable.runningCount}.`,
  );
  return { ...base, deployed, noOp: false, checkpointFields: { ecsTaskDefinition: previous } };
}
