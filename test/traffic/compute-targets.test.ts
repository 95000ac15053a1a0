import { describe, expect, it } from "vitest";
import type { EcsTargetSpec, LambdaTargetSpec, TargetSpec } from "../../src/model/spec.js";
import { ComputeTargetRefusal } from "../../src/providers/compute-target.js";
import { createComputeTarget } from "../../src/providers/compute-targets.js";
import { EcsTarget } from "../../src/providers/ecs-target.js";
import { LambdaTarget } from "../../src/providers/lambda-target.js";
import { awsError, TrafficWorld } from "../fixtures/traffic/world.js";

const ecsSpec: EcsTargetSpec = {
  kind: "ecs",
  cluster: "prod",
  service: "orders-api",
  telemetry: { kind: "alb", loadBalancer: "app/orders-api/1", targetGroup: "targetgroup/orders-api/1" },
};

const lambdaSpec: LambdaTargetSpec = {
  kind: "lambda",
  functionName: "orders-api",
  alias: "live",
  telemetry: { kind: "apigateway-http", apiId: "a1b2c3d4e5", stage: "$default" },
};

const fastRetry = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2, budgetMs: 2000 };
const ecsIn = (world: TrafficWorld) =>
  new EcsTarget(ecsSpec, world.clients.ecs, {
    stablePollSeconds: { min: 0.01, max: 0.02 },
    retry: fastRetry,
  });
const lambdaIn = (world: TrafficWorld) => new LambdaTarget(lambdaSpec, world.clients.lambda, fastRetry);

describe("EcsTarget.readiness", () => {
  it("is ready when runningCount equals a desiredCount above zero with one deployment", async () => {
    const readiness = await ecsIn(new TrafficWorld()).readiness();
    expect(readiness.ready).toBe(true);
    expect(readiness.summary).toBe(
      "ECS service prod/orders-api: runningCount 2 = desiredCount 2, one deployment (orders-api:7)",
    );
  });

  it("is not ready scaled to zero", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, desiredCount: 0, runningCount: 0 };
    const readiness = await ecsIn(world).readiness();
    expect(readiness).toMatchObject({
      ready: false,
      summary: expect.stringContaining("scaled to zero (desiredCount 0)"),
    });
  });

  it("is not ready with fewer tasks running than desired, giving the figures", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, desiredCount: 3, runningCount: 1 };
    const readiness = await ecsIn(world).readiness();
    expect(readiness.ready).toBe(false);
    expect(readiness.summary).toContain("runningCount 1 of desiredCount 3 (pendingCount 2)");
  });

  it("is not ready mid-deployment, listing the deployments", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, deployments: 2 };
    const readiness = await ecsIn(world).readiness();
    expect(readiness.ready).toBe(false);
    expect(readiness.summary).toContain(
      "mid-deployment, 2 deployments (PRIMARY orders-api:7 running 2/2 IN_PROGRESS; ACTIVE orders-api:6",
    );
  });

  it("is not ready when missing or draining", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, status: "MISSING" };
    expect((await ecsIn(world).readiness()).summary).toContain("does not exist (DescribeServices: MISSING)");
    world.ecs = { ...world.ecs, status: "DRAINING" };
    expect((await ecsIn(world).readiness()).summary).toContain("status DRAINING, not ACTIVE");
  });
});

describe("EcsTarget scaling", () => {
  it("scales a service back up from zero to the recorded count and waits until stable", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, desiredCount: 0, runningCount: 0, pollsToConverge: 2 };
    const steps = await ecsIn(world).restore(
      { ecsDesiredCount: 3 },
      { willServe: true, stableTimeoutSeconds: 5 },
    );
    expect(steps.map((step) => step.step)).toEqual(["scale up", "wait stable"]);
    expect(steps[0]!.detail).toBe("ECS service prod/orders-api desiredCount 0 → 3");
    expect(world.ecs).toMatchObject({ desiredCount: 3, runningCount: 3 });
    expect(world.calls.indexOf("ecs:UpdateService")).toBeGreaterThan(-1);
    expect(world.count("ecs:DescribeServices")).toBeGreaterThanOrEqual(3);
  });

  it("uses the fallback count only when nothing was recorded, and refuses with neither", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, desiredCount: 0, runningCount: 0 };
    await expect(ecsIn(world).restore({}, { willServe: true, stableTimeoutSeconds: 5 })).rejects.toThrow(
      /scaled to zero and no desired count was recorded/,
    );
    expect(world.count("ecs:UpdateService")).toBe(0);
    await ecsIn(world).restore({}, { willServe: true, stableTimeoutSeconds: 5, fallbackDesiredCount: 2 });
    expect(world.ecs.desiredCount).toBe(2);
  });

  it("leaves a side that will not serve alone, and a ready side as it is", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, desiredCount: 0, runningCount: 0 };
    expect(
      await ecsIn(world).restore({ ecsDesiredCount: 3 }, { willServe: false, stableTimeoutSeconds: 5 }),
    ).toEqual([]);
    world.ecs = { ...world.ecs, desiredCount: 2, runningCount: 2 };
    expect(
      await ecsIn(world).restore({ ecsDesiredCount: 3 }, { willServe: true, stableTimeoutSeconds: 5 }),
    ).toEqual([]);
    expect(world.count("ecs:UpdateService")).toBe(0);
  });

  it("fails within its bound when the service never becomes stable, with the last figures", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, deployments: 2 };
    const error = await ecsIn(world)
      .waitStable(1)
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ComputeTargetRefusal);
    expect((error as Error).message).toContain("did not become stable within 1 s");
    expect((error as Error).message).toContain("mid-deployment, 2 deployments");
  });

  it("refuses to scale a deleted service", async () => {
    const world = new TrafficWorld();
    world.ecs = { ...world.ecs, status: "MISSING" };
    await expect(
      ecsIn(world).restore({ ecsDesiredCount: 2 }, { willServe: true, stableTimeoutSeconds: 5 }),
    ).rejects.toThrow("ECS service prod/orders-api is MISSING; it cannot be scaled back up");
  });

  it("captures the desired count and task definition, a count of zero included", async () => {
    const world = new TrafficWorld();
    expect(await ecsIn(world).capture()).toEqual({
      ecsDesiredCount: 2,
      ecsTaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/orders-api:7",
    });
    world.ecs = { ...world.ecs, desiredCount: 0, runningCount: 0 };
    expect(await ecsIn(world).capture()).toMatchObject({ ecsDesiredCount: 0 });
  });
});

describe("LambdaTarget", () => {
  it("is ready when the alias exists and its version is Active and not updating", async () => {
    const readiness = await lambdaIn(new TrafficWorld()).readiness();
    expect(readiness).toEqual({
      ready: true,
      summary: "Lambda orders-api:live: version 5, State Active, LastUpdateStatus Successful",
      figures: { aliasVersion: "5", state: "Active", lastUpdateStatus: "Successful" },
    });
  });

  it("is not ready when the alias does not exist", async () => {
    const world = new TrafficWorld();
    world.lambda = { ...world.lambda, aliasVersion: undefined };
    expect((await lambdaIn(world).readiness()).summary).toBe(
      "Lambda orders-api:live cannot serve: the alias does not exist",
    );
  });

  it("is not ready while an update is in progress or the function is not Active", async () => {
    const world = new TrafficWorld();
    world.lambda = { ...world.lambda, lastUpdateStatus: "InProgress" };
    expect((await lambdaIn(world).readiness()).summary).toContain("LastUpdateStatus InProgress");
    world.lambda = { ...world.lambda, state: "Pending", lastUpdateStatus: "Successful" };
    expect((await lambdaIn(world).readiness()).summary).toContain("function State Pending, not Active");
  });

  it("points the alias back to the recorded version, and does nothing when it already is", async () => {
    const world = new TrafficWorld();
    world.lambda.aliasVersion = "7";
    const steps = await lambdaIn(world).restore(
      { lambdaVersion: "5" },
      { willServe: true, stableTimeoutSeconds: 5 },
    );
    expect(steps.map((step) => step.detail)).toEqual(["Lambda orders-api:live version 7 → 5 alone"]);
    expect(world.lambda.aliasVersion).toBe("5");
    expect(
      await lambdaIn(world).restore({ lambdaVersion: "5" }, { willServe: true, stableTimeoutSeconds: 5 }),
    ).toEqual([]);
    expect(world.count("lambda:UpdateAlias")).toBe(1);
  });

  it("clears a weighted alias rollout left half-way, even when the main version is the recorded one", async () => {
    const world = new TrafficWorld();
    world.lambda.additionalVersions = { "6": 0.1 };
    const steps = await lambdaIn(world).restore(
      { lambdaVersion: "5" },
      { willServe: true, stableTimeoutSeconds: 5 },
    );
    expect(steps.map((step) => step.detail)).toEqual([
      "Lambda orders-api:live version 5 with 10 % to version 6 → 5 alone",
    ]);
    expect(world.lambda).toMatchObject({ aliasVersion: "5", additionalVersions: {} });
    expect(world.count("lambda:UpdateAlias")).toBe(1);
  });

  it("retries a throttled readiness check", async () => {
    const world = new TrafficWorld();
    world.fail("lambda:GetAlias", awsError("TooManyRequestsException", "Rate exceeded", 429), 2);
    expect((await lambdaIn(world).readiness()).ready).toBe(true);
    expect(world.count("lambda:GetAlias")).toBe(3);
  });
});

describe("createComputeTarget", () => {
  const clients = new TrafficWorld().clients;

  it("creates one target per kind", () => {
    expect(createComputeTarget(ecsSpec, clients).label).toBe("ECS service prod/orders-api");
    expect(createComputeTarget(lambdaSpec, clients).label).toBe("Lambda orders-api:live");
  });

  it("fails loudly on an unknown kind, naming where and the known kinds", () => {
    const vm = { kind: "ec2", instance: "i-1" } as unknown as TargetSpec;
    expect(() => createComputeTarget(vm, clients, "newSide")).toThrow(
      'newSide.kind "ec2" is not a known compute target; known kinds: ecs, lambda',
    );
  });
});
