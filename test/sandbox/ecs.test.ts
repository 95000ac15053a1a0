import {
  ClientException,
  ClusterNotFoundException,
  DeleteServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  InvalidParameterException,
  ListClustersCommand,
  ListTaskDefinitionsCommand,
  paginateListTaskDefinitions,
  RegisterTaskDefinitionCommand,
  type Service,
  ServiceNotActiveException,
  ServiceNotFoundException,
  UpdateServiceCommand,
  waitUntilServicesInactive,
  waitUntilServicesStable,
} from "@aws-sdk/client-ecs";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Sandbox } from "../../sandbox/index.js";
import type { SandboxSeed } from "../../sandbox/types.js";
import {
  clientConfig,
  ManualClock,
  referenceSeed,
  rejectionOf,
  startTestSandbox,
} from "../fixtures/sandbox/control-plane.js";

const CLUSTER = "prod";
const SERVICE = "orders-api";
const WAIT = { minDelay: 0.05, maxDelay: 0.1, maxWaitTime: 10 };

/** The reference world plus a second service to delete. */
function seed(): SandboxSeed {
  const world = referenceSeed({ taskTransitionMs: 100 });
  world.ecs?.clusters[0]?.services.push({
    name: "legacy-api",
    desiredCount: 2,
    taskDefinition: { family: "legacy-api", image: "legacy:1" },
  });
  return world;
}

let sandbox: Sandbox;
let ecs: ECSClient;
let clock: ManualClock | undefined;

async function start(manual: boolean): Promise<void> {
  clock = manual ? new ManualClock() : undefined;
  sandbox = await startTestSandbox(seed(), clock?.now);
  ecs = new ECSClient(clientConfig(sandbox));
}

afterEach(async () => {
  ecs.destroy();
  await sandbox.close();
});

async function describeService(name = SERVICE): Promise<Service> {
  const answer = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }));
  const service = answer.services?.[0];
  if (!service) throw new Error(`service ${name} missing: ${JSON.stringify(answer.failures)}`);
  return service;
}

function counts(service: Service) {
  return {
    status: service.status,
    desired: service.desiredCount,
    running: service.runningCount,
    pending: service.pendingCount,
    deployments: service.deployments?.length,
  };
}

describe("with the real clock", () => {
  beforeEach(() => start(false));

  it("describes the seeded service as steady, and a missing one as a MISSING failure", async () => {
    const answer = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE, "nope"] }),
    );
    const service = answer.services?.[0] as Service;
    expect(counts(service)).toEqual({ status: "ACTIVE", desired: 3, running: 3, pending: 0, deployments: 1 });
    expect(service.serviceArn).toBe("arn:aws:ecs:us-east-1:123456789012:service/prod/orders-api");
    expect(service.deployments?.[0]).toMatchObject({
      status: "PRIMARY",
      rolloutState: "COMPLETED",
      desiredCount: 3,
      runningCount: 3,
    });
    expect(service.taskDefinition).toBe("arn:aws:ecs:us-east-1:123456789012:task-definition/orders-api:1");
    expect(service.createdAt).toBeInstanceOf(Date);
    expect(answer.failures).toEqual([
      { arn: "arn:aws:ecs:us-east-1:123456789012:service/prod/nope", reason: "MISSING" },
    ]);
  });

  it("answers ClusterNotFoundException for an unknown cluster", async () => {
    const error = await rejectionOf(
      ecs.send(new DescribeServicesCommand({ cluster: "staging", services: [SERVICE] })),
    );
    expect(error).toBeInstanceOf(ClusterNotFoundException);
    expect(error.message).toBe("Cluster not found.");
  });

  it("scales up and waitUntilServicesStable returns once runningCount reaches desiredCount", async () => {
    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, desiredCount: 6 }),
    );
    expect(counts(updated.service as Service)).toEqual({
      status: "ACTIVE",
      desired: 6,
      running: 3,
      pending: 3,
      deployments: 1,
    });
    const result = await waitUntilServicesStable(
      { client: ecs, ...WAIT },
      { cluster: CLUSTER, services: [SERVICE] },
    );
    expect(result.state).toBe("SUCCESS");
    const service = await describeService();
    expect(counts(service)).toEqual({ status: "ACTIVE", desired: 6, running: 6, pending: 0, deployments: 1 });
    expect(service.events?.[0]?.message).toBe("(service orders-api) has reached a steady state.");
    expect(service.events?.[1]?.message).toMatch(
      /^\(service orders-api\) has started 3 tasks: \(task [0-9a-f]{32}\)/,
    );
  });

  it("rolls out a new task definition: two deployments, then one on the new revision", async () => {
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "orders-api",
        containerDefinitions: [{ name: "orders-api", image: "orders-api:2.0.0" }],
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "512",
        memory: "1024",
      }),
    );
    expect(registered.taskDefinition?.revision).toBe(2);
    const arn = registered.taskDefinition?.taskDefinitionArn;
    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, taskDefinition: "orders-api:2" }),
    );
    const during = updated.service as Service;
    expect(
      during.deployments?.map((deployment) => [
        deployment.status,
        deployment.taskDefinition,
        deployment.rolloutState,
      ]),
    ).toEqual([
      ["PRIMARY", arn, "IN_PROGRESS"],
      ["ACTIVE", "arn:aws:ecs:us-east-1:123456789012:task-definition/orders-api:1", "IN_PROGRESS"],
    ]);
    expect(during.runningCount).toBe(3);
    await waitUntilServicesStable({ client: ecs, ...WAIT }, { cluster: CLUSTER, services: [SERVICE] });
    const after = await describeService();
    expect(counts(after)).toEqual({ status: "ACTIVE", desired: 3, running: 3, pending: 0, deployments: 1 });
    expect(after.deployments?.[0]).toMatchObject({
      status: "PRIMARY",
      taskDefinition: arn,
      rolloutState: "COMPLETED",
      runningCount: 3,
    });
  });

  it("refuses DeleteService without force while the service has tasks, and drains it to INACTIVE with force", async () => {
    const refused = await rejectionOf(
      ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "legacy-api" })),
    );
    expect(refused).toBeInstanceOf(InvalidParameterException);
    expect(refused.message).toBe("The service cannot be stopped while it is scaled above 0.");
    expect((await describeService("legacy-api")).status).toBe("ACTIVE");
    const deleted = await ecs.send(
      new DeleteServiceCommand({ cluster: CLUSTER, service: "legacy-api", force: true }),
    );
    expect(deleted.service?.status).toBe("DRAINING");
    const stable = await waitUntilServicesStable(
      { client: ecs, ...WAIT },
      { cluster: CLUSTER, services: ["legacy-api"] },
    ).catch((error: Error) => error);
    expect(stable).toBeInstanceOf(Error);
    expect((stable as Error).message).toContain('"state":"FAILURE"');
    await waitUntilServicesInactive({ client: ecs, ...WAIT }, { cluster: CLUSTER, services: ["legacy-api"] });
    expect(counts(await describeService("legacy-api"))).toMatchObject({
      status: "INACTIVE",
      running: 0,
      pending: 0,
    });
    const again = await rejectionOf(
      ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "legacy-api", desiredCount: 1 })),
    );
    expect(again).toBeInstanceOf(ServiceNotActiveException);
  });

  it("deletes without force once scaled to zero: DRAINING while tasks stop, then INACTIVE", async () => {
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "legacy-api", desiredCount: 0 }));
    const deleted = await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "legacy-api" }));
    expect(deleted.service?.status).toBe("DRAINING");
    await waitUntilServicesInactive({ client: ecs, ...WAIT }, { cluster: CLUSTER, services: ["legacy-api"] });
    expect(counts(await describeService("legacy-api"))).toMatchObject({ status: "INACTIVE", running: 0 });
  });

  it("deletes a drained service at zero straight to INACTIVE", async () => {
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "legacy-api", desiredCount: 0 }));
    await waitUntilServicesStable({ client: ecs, ...WAIT }, { cluster: CLUSTER, services: ["legacy-api"] });
    const deleted = await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "legacy-api" }));
    expect(deleted.service?.status).toBe("INACTIVE");
  });

  it("refuses bad UpdateService input in ECS's words", async () => {
    const negative = await rejectionOf(
      ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, desiredCount: -1 })),
    );
    expect(negative).toBeInstanceOf(InvalidParameterException);
    const missing = await rejectionOf(
      ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "nope", desiredCount: 1 })),
    );
    expect(missing).toBeInstanceOf(ServiceNotFoundException);
    const noDefinition = await rejectionOf(
      ecs.send(
        new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, taskDefinition: "orders-api:9" }),
      ),
    );
    expect(noDefinition).toBeInstanceOf(ClientException);
    expect(noDefinition.message).toBe("TaskDefinition not found.");
  });

  it("registers, describes and deregisters task definitions", async () => {
    const fargateWithoutCpu = await rejectionOf(
      ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "api",
          containerDefinitions: [{ name: "api", image: "api:1" }],
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          memory: "512",
        }),
      ),
    );
    expect(fargateWithoutCpu).toBeInstanceOf(ClientException);
    expect(fargateWithoutCpu.message).toBe("Fargate requires that 'cpu' be defined at the task level.");
    const empty = await rejectionOf(
      ecs.send(new RegisterTaskDefinitionCommand({ family: "api", containerDefinitions: [] })),
    );
    expect(empty).toBeInstanceOf(ClientException);

    const first = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "api",
        containerDefinitions: [{ name: "api", image: "api:1", memory: 256 }],
      }),
    );
    const second = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "api",
        containerDefinitions: [{ name: "api", image: "api:2", memory: 256 }],
      }),
    );
    expect([first.taskDefinition?.revision, second.taskDefinition?.revision]).toEqual([1, 2]);
    const latest = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "api" }));
    expect(latest.taskDefinition?.containerDefinitions?.[0]?.image).toBe("api:2");
    const byArn = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: first.taskDefinition?.taskDefinitionArn }),
    );
    expect(byArn.taskDefinition?.revision).toBe(1);

    const deregistered = await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "api:2" }));
    expect(deregistered.taskDefinition?.status).toBe("INACTIVE");
    expect(deregistered.taskDefinition?.deregisteredAt).toBeInstanceOf(Date);
    expect(
      (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "api" }))).taskDefinition?.revision,
    ).toBe(1);
    expect(
      (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "api:2" }))).taskDefinition?.status,
    ).toBe("INACTIVE");
    const withoutRevision = await rejectionOf(
      ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "api" })),
    );
    expect(withoutRevision).toBeInstanceOf(ClientException);
    const unknown = await rejectionOf(
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "nothing" })),
    );
    expect(unknown).toBeInstanceOf(ClientException);
    expect(unknown.message).toBe("Unable to describe task definition.");
  });

  it("lists task definitions by status and family prefix, in pages the paginator follows", async () => {
    for (const image of ["1", "2", "3"]) {
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "listed",
          containerDefinitions: [{ name: "api", image: `listed:${image}`, memory: 256 }],
        }),
      );
    }
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "listed-worker",
        containerDefinitions: [{ name: "worker", image: "worker:1", memory: 256 }],
      }),
    );
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "listed:1" }));

    const arns: string[] = [];
    let pages = 0;
    for await (const page of paginateListTaskDefinitions(
      { client: ecs, pageSize: 1 },
      { familyPrefix: "listed" },
    )) {
      pages++;
      arns.push(...(page.taskDefinitionArns ?? []));
    }
    // familyPrefix is the full family name: "listed-worker" is another family.
    expect(arns.map((arn) => arn.split("/")[1])).toEqual(["listed:2", "listed:3"]);
    expect(pages).toBe(2);

    const inactive = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: "listed", status: "INACTIVE" }),
    );
    expect(inactive.taskDefinitionArns?.map((arn) => arn.split("/")[1])).toEqual(["listed:1"]);
    const noneMatching = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: "listed:", sort: "DESC" }),
    );
    expect(noneMatching.taskDefinitionArns).toEqual([]);
    const descending = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: "listed", sort: "DESC" }),
    );
    expect(descending.taskDefinitionArns?.map((arn) => arn.split("/")[1])).toEqual(["listed:3", "listed:2"]);
    const badToken = await rejectionOf(
      ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "listed", nextToken: "not-a-token" })),
    );
    expect(badToken).toBeInstanceOf(InvalidParameterException);
  });

  it("answers UnknownOperationException for an ECS operation it does not serve", async () => {
    const error = await rejectionOf(ecs.send(new ListClustersCommand({})));
    expect(error.name).toBe("UnknownOperationException");
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });
});

describe("with a manual clock", () => {
  beforeEach(() => start(true));
  afterAll(() => {
    clock = undefined;
  });

  function tick(ms: number): void {
    clock?.advance(ms);
  }

  it("starts tasks two per 100 ms step, with pendingCount falling as runningCount rises", async () => {
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, desiredCount: 8 }));
    const seen = [];
    for (let step = 0; step < 4; step++) {
      seen.push(counts(await describeService()));
      tick(100);
    }
    expect(seen.map((state) => [state.running, state.pending])).toEqual([
      [3, 5],
      [5, 3],
      [7, 1],
      [8, 0],
    ]);
    expect(sandbox.ecs.service(CLUSTER, SERVICE)).toEqual({
      status: "ACTIVE",
      desiredCount: 8,
      runningCount: 8,
    });
  });

  it("stops old tasks only as their replacements run, and drops the old deployment when it has none", async () => {
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "orders-api",
        containerDefinitions: [{ name: "orders-api", image: "orders-api:2" }],
      }),
    );
    await ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: SERVICE, taskDefinition: "orders-api" }),
    );
    const seen = [];
    for (let step = 0; step < 4; step++) {
      const service = await describeService();
      seen.push([
        service.runningCount,
        service.pendingCount,
        service.deployments?.length,
        service.deployments?.[0]?.runningCount,
      ]);
      tick(100);
    }
    // Old tasks keep serving until replaced: the service never drops below its desired count of 3.
    expect(seen).toEqual([
      [3, 3, 2, 0],
      [5, 1, 2, 2],
      [4, 0, 2, 3],
      [3, 0, 1, 3],
    ]);
  });

  it("scales in over the transition time and reports DRAINING until the last task stops", async () => {
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "legacy-api", force: true }));
    expect(counts(await describeService("legacy-api"))).toMatchObject({ status: "DRAINING", running: 2 });
    expect(sandbox.ecs.service(CLUSTER, "legacy-api")?.status).toBe("DRAINING");
    tick(100);
    expect(counts(await describeService("legacy-api"))).toMatchObject({
      status: "INACTIVE",
      running: 0,
      desired: 0,
    });
  });
});
