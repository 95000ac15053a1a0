import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import type { EcsTargetSpec } from "../../src/model/spec.js";
import {
  checkServiceDeployable,
  deployEcs,
  type EcsDeployRequest,
  nextRevision,
  selectContainer,
} from "../../src/ops/deploy-ecs.js";
import { journal, referenceMigration, rejectionOf } from "../fixtures/deploy/migration.js";
import { DeployWorld, OLD_IMAGE, taskDefinitionArn } from "../fixtures/deploy/world.js";

const spec = referenceMigration().oldSide as EcsTargetSpec;
const NEW_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-api:v2";

function request(extra: Partial<EcsDeployRequest> = {}): EcsDeployRequest {
  return {
    spec,
    image: NEW_IMAGE,
    stableTimeoutSeconds: 2,
    targetOptions: { stablePollSeconds: { min: 0.01, max: 0.05 } },
    ...extra,
  };
}

describe("selectContainer", () => {
  const sidecar: ContainerDefinition = { name: "log-router", essential: false };
  const api: ContainerDefinition = { name: "api", essential: true };

  it("takes the only container, essential or not", () => {
    expect(selectContainer([sidecar], undefined)).toBe(sidecar);
  });

  it("takes the first essential container (essential is the default)", () => {
    expect(selectContainer([sidecar, api], undefined)).toBe(api);
    expect(selectContainer([sidecar, { name: "web" }], undefined).name).toBe("web");
  });

  it("takes the named container, and names the others when it does not exist", () => {
    expect(selectContainer([sidecar, api], "log-router")).toBe(sidecar);
    expect(() => selectContainer([sidecar, api], "worker")).toThrow(
      'input "container": "worker" is not a container of the task definition; its containers are log-router, api',
    );
  });
});

describe("nextRevision", () => {
  it("carries every field over, swaps the image in one container and drops what ECS sets", () => {
    const world = new DeployWorld();
    const current = world.taskDefinitions.get(taskDefinitionArn(7))!;
    const input = nextRevision(current, world.tags, "api", NEW_IMAGE);
    for (const field of [
      "taskDefinitionArn",
      "revision",
      "status",
      "requiresAttributes",
      "compatibilities",
      "registeredAt",
      "registeredBy",
    ]) {
      expect(input, field).not.toHaveProperty(field);
    }
    expect(input).toMatchObject({
      family: "orders-api",
      cpu: "256",
      memory: "512",
      networkMode: "awsvpc",
      executionRoleArn: "arn:aws:iam::123456789012:role/orders-exec",
      requiresCompatibilities: ["FARGATE"],
      tags: [{ key: "team", value: "orders" }],
    });
    expect(input.containerDefinitions).toEqual([
      current.containerDefinitions![0],
      { ...current.containerDefinitions![1], image: NEW_IMAGE },
    ]);
    // The described definition is left as it was.
    expect(current.containerDefinitions![1]!.image).toBe(OLD_IMAGE);
  });
});

describe("checkServiceDeployable", () => {
  const label = "ECS service prod/orders-api";
  const deployment = {
    status: "PRIMARY",
    taskDefinition: taskDefinitionArn(7),
    desiredCount: 3,
    runningCount: 3,
  };
  const state = {
    status: "ACTIVE",
    desiredCount: 3,
    runningCount: 3,
    pendingCount: 0,
    taskDefinition: taskDefinitionArn(7),
  };

  it("refuses a missing or inactive service", () => {
    expect(() => checkServiceDeployable(label, undefined)).toThrow(
      "ECS service prod/orders-api does not exist",
    );
    expect(() =>
      checkServiceDeployable(label, { ...state, status: "DRAINING", deployments: [deployment] }),
    ).toThrow("is DRAINING, not ACTIVE");
  });

  it("refuses a service with a deployment already in progress, listing the deployments", () => {
    const two = [
      {
        status: "PRIMARY",
        taskDefinition: taskDefinitionArn(8),
        desiredCount: 3,
        runningCount: 1,
        rolloutState: "IN_PROGRESS",
      },
      { ...deployment, status: "ACTIVE" },
    ];
    expect(() => checkServiceDeployable(label, { ...state, deployments: two })).toThrow(
      "an update is already in progress (2 deployments: PRIMARY orders-api:8 1/3 IN_PROGRESS; ACTIVE orders-api:7 3/3)",
    );
    expect(() =>
      checkServiceDeployable(label, {
        ...state,
        deployments: [{ ...deployment, rolloutState: "IN_PROGRESS" }],
      }),
    ).toThrow("an update is already in progress (1 deployment");
  });
});

describe("deployEcs", () => {
  it("registers a revision with the new image, updates the service and waits until it is stable on it", async () => {
    const world = new DeployWorld();
    const outcome = await deployEcs(request(), world.ecs, journal());
    expect(world.mutations()).toEqual(["RegisterTaskDefinition", "UpdateService"]);
    expect(world.calls[1]?.input).toEqual({
      cluster: "prod",
      service: "orders-api",
      taskDefinition: taskDefinitionArn(8),
    });
    expect(world.taskDefinitions.get(taskDefinitionArn(8))?.containerDefinitions?.[1]?.image).toBe(NEW_IMAGE);
    expect(outcome).toMatchObject({
      kind: "ecs",
      previous: taskDefinitionArn(7),
      deployed: taskDefinitionArn(8),
      noOp: false,
      checkpointFields: { ecsTaskDefinition: taskDefinitionArn(7) },
    });
  });

  it("deploys to the named container", async () => {
    const world = new DeployWorld();
    await deployEcs(
      request({ container: "log-router", image: "public.ecr.aws/fluent-bit:3" }),
      world.ecs,
      journal(),
    );
    const containers = world.taskDefinitions.get(taskDefinitionArn(8))?.containerDefinitions;
    expect(containers?.map((container) => container.image)).toEqual([
      "public.ecr.aws/fluent-bit:3",
      OLD_IMAGE,
    ]);
  });

  it("is a no-op when the service already runs the image", async () => {
    const world = new DeployWorld();
    const outcome = await deployEcs(request({ image: OLD_IMAGE }), world.ecs, journal());
    expect(outcome).toMatchObject({
      noOp: true,
      previous: taskDefinitionArn(7),
      deployed: taskDefinitionArn(7),
    });
    expect(world.mutations()).toEqual([]);
  });

  it("refuses a service that does not exist, changing nothing", async () => {
    const world = new DeployWorld();
    world.service = undefined;
    await expect(deployEcs(request(), world.ecs, journal())).rejects.toThrow(
      "ECS service prod/orders-api does not exist",
    );
    expect(world.mutations()).toEqual([]);
  });

  it("refuses while another deployment is in progress", async () => {
    const world = new DeployWorld();
    world.service!.deployments.push({
      status: "ACTIVE",
      taskDefinition: taskDefinitionArn(6),
      desiredCount: 3,
      runningCount: 1,
    });
    await expect(deployEcs(request(), world.ecs, journal())).rejects.toThrow(
      "an update is already in progress (2 deployments",
    );
    expect(world.mutations()).toEqual([]);
  });

  it("points the service back at the previous revision when it does not stabilise, and says so", async () => {
    const world = new DeployWorld();
    world.newRevisionsStart = false;
    const error = await rejectionOf(deployEcs(request({ stableTimeoutSeconds: 1 }), world.ecs, journal()));
    expect(error.message).toContain("ECS service prod/orders-api did not become stable within 1 s");
    expect(error.message).toContain(
      "the service was pointed back at orders-api:7 and is stable again (runningCount 3)",
    );
    const updates = world.calls.filter((call) => call.command === "UpdateService").map((call) => call.input);
    expect(updates).toEqual([
      expect.objectContaining({ taskDefinition: taskDefinitionArn(8) }),
      expect.objectContaining({ taskDefinition: taskDefinitionArn(7) }),
    ]);
    expect(world.service?.taskDefinition).toBe(taskDefinitionArn(7));
  });

  it("refuses when ECS rolled the deployment back on its own", async () => {
    const world = new DeployWorld();
    world.circuitBreaker = true;
    await expect(deployEcs(request(), world.ecs, journal())).rejects.toThrow(
      "ECS service prod/orders-api became stable on orders-api:7, not orders-api:8: ECS rolled the deployment back",
    );
  });
});
