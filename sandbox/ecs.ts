/**
 * ECS on AWS JSON 1.1 (X-Amz-Target AmazonEC2ContainerServiceV20141113.*):
 * DescribeServices, UpdateService, DeleteService and the task definition
 * operations. Tasks start and stop over a configurable time. Every mutation
 * plans task transitions as timestamps, and reads derive the state at the
 * current time from them, so the state is a pure function of the calls and
 * the clock and `waitUntilServicesStable` sees what it would on AWS.
 */
import { randomBytes, randomInt } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { JsonInput } from "./json-input.js";
import { amzTarget, ServiceError, sendJsonBody, sendServiceError, unknownOperation } from "./protocol.js";
import type { EcsServiceView, EcsView, SandboxSeed, ServiceHandler } from "./types.js";

/** The X-Amz-Target prefix of every ECS operation. */
export const ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";

export interface EcsOptions {
  region: string;
  accountId: string;
  /** How long a task takes to start or stop, ms (default 2000). */
  taskTransitionMs?: number;
  /** Tasks started (or stopped) together per transition step (default 2). */
  tasksPerStep?: number;
  now?: () => number;
}

interface TaskDefinitionState {
  family: string;
  revision: number;
  arn: string;
  status: "ACTIVE" | "INACTIVE";
  registeredAt: number;
  deregisteredAt?: number;
  /** The registered fields as given (containerDefinitions, cpu, memory, ...). */
  definition: Record<string, unknown>;
}

interface Task {
  id: string;
  deploymentId: string;
  taskDefinitionArn: string;
  launchedAt: number;
  runningAt: number;
  stopRequestedAt?: number;
  stoppedAt?: number;
}

interface Deployment {
  id: string;
  taskDefinitionArn: string;
  desiredCount: number;
  createdAt: number;
  updatedAt: number;
}

interface ServiceEvent {
  id: string;
  createdAt: number;
  message: string;
}

interface ServiceState {
  name: string;
  arn: string;
  clusterArn: string;
  createdAt: number;
  deletedAt?: number;
  /** Deployments in creation order; the last one is PRIMARY. */
  deployments: Deployment[];
  tasks: Task[];
  events: ServiceEvent[];
  /** Plans made so far; a steady-state event is announced once per plan. */
  plan: number;
  steadyAnnouncedForPlan: number;
}

interface ClusterState {
  name: string;
  arn: string;
  services: Map<string, ServiceState>;
}

type Operation = (input: JsonInput) => Record<string, unknown>;

const MAX_EVENTS = 100;
const INPUT_CODES = { serialization: "SerializationException", invalid: "InvalidParameterException" };

/** The sandbox's ECS: clusters, services, task definitions and the simulated tasks. */
export class EcsService implements ServiceHandler, EcsView {
  readonly name = "ecs";
  private readonly clusters = new Map<string, ClusterState>();
  private readonly taskDefinitions = new Map<string, TaskDefinitionState[]>();
  private readonly transitionMs: number;
  private readonly tasksPerStep: number;
  private readonly now: () => number;
  private readonly operations: Record<string, Operation>;

  constructor(
    seed: SandboxSeed["ecs"],
    private readonly options: EcsOptions,
  ) {
    this.transitionMs = options.taskTransitionMs ?? seed?.taskTransitionMs ?? 2000;
    this.tasksPerStep = Math.max(1, options.tasksPerStep ?? 2);
    this.now = options.now ?? Date.now;
    this.operations = {
      DescribeServices: (input) => this.describeServices(input),
      UpdateService: (input) => this.updateService(input),
      DeleteService: (input) => this.deleteService(input),
      RegisterTaskDefinition: (input) => this.registerTaskDefinition(input),
      DescribeTaskDefinition: (input) => this.describeTaskDefinition(input),
      DeregisterTaskDefinition: (input) => this.deregisterTaskDefinition(input),
      ListTaskDefinitions: (input) => this.listTaskDefinitions(input),
    };
    for (const cluster of seed?.clusters ?? []) this.seedCluster(cluster);
  }

  matches(req: IncomingMessage): boolean {
    return amzTarget(req).startsWith(ECS_TARGET_PREFIX);
  }

  operationOf(req: IncomingMessage): string | undefined {
    const operation = amzTarget(req).slice(ECS_TARGET_PREFIX.length);
    return Object.hasOwn(this.operations, operation) ? operation : undefined;
  }

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const name = amzTarget(req).slice(ECS_TARGET_PREFIX.length);
    try {
      const operation = Object.hasOwn(this.operations, name) ? this.operations[name] : undefined;
      if (!operation) throw unknownOperation(`the ECS operation ${JSON.stringify(name)}`);
      sendJsonBody(req, res, "json-1.1", 200, operation(JsonInput.parse(body, INPUT_CODES)));
    } catch (error) {
      const serviceError =
        error instanceof ServiceError
          ? error
          : new ServiceError("ServerException", `The sandbox's ECS failed: ${(error as Error).message}`, 500);
      sendServiceError(req, res, "json-1.1", serviceError);
    }
  }

  // ------------------------------------------------------------ views

  /** The service as the data plane sees it now; undefined when it does not exist. */
  service(cluster: string, service: string): EcsServiceView | undefined {
    const state = this.clusters.get(cluster)?.services.get(service);
    if (!state) return undefined;
    const now = this.now();
    return {
      status: this.statusOf(state, now),
      desiredCount: this.primary(state).desiredCount,
      runningCount: countRunning(state.tasks, now),
    };
  }

  /** State for GET /_sandbox/state and --save-state. */
  snapshot(): Record<string, unknown> {
    const now = this.now();
    return {
      clusters: [...this.clusters.values()].map((cluster) => ({
        name: cluster.name,
        services: [...cluster.services.values()].map((service) => this.serviceShape(service, cluster, now)),
      })),
      taskDefinitions: [...this.taskDefinitions.values()]
        .flat()
        .map((definition) => this.taskDefinitionShape(definition)),
    };
  }

  // ------------------------------------------------------------ operations

  private describeServices(input: JsonInput): Record<string, unknown> {
    const cluster = this.cluster(input.optionalString("cluster"));
    const names = input.optionalStringList("services");
    if (!names || names.length === 0) throw input.invalid("services can not be empty.");
    if (names.length > 10)
      throw input.invalid("The services parameter accepts at most 10 services per call.");
    const now = this.now();
    const services: unknown[] = [];
    const failures: unknown[] = [];
    for (const reference of names) {
      const state = cluster.services.get(serviceNameOf(reference));
      if (state) services.push(this.serviceShape(state, cluster, now));
      else
        failures.push({
          arn: reference.startsWith("arn:") ? reference : this.serviceArn(cluster.name, reference),
          reason: "MISSING",
        });
    }
    return { services, failures };
  }

  private updateService(input: JsonInput): Record<string, unknown> {
    const cluster = this.cluster(input.optionalString("cluster"));
    const service = this.activeService(cluster, input.string("service"));
    const desiredCount = input.optionalInteger("desiredCount");
    if (desiredCount !== undefined && desiredCount < 0)
      throw input.invalid("desiredCount must be greater than or equal to 0.");
    const taskDefinitionReference = input.optionalString("taskDefinition");
    const forceNewDeployment = input.optionalBoolean("forceNewDeployment") ?? false;
    const now = this.now();
    const primary = this.primary(service);
    const taskDefinition =
      taskDefinitionReference === undefined
        ? undefined
        : this.findTaskDefinition(taskDefinitionReference, "TaskDefinition not found.");
    if (taskDefinition?.status === "INACTIVE")
      throw new ServiceError("ClientException", `TaskDefinition is inactive: ${taskDefinition.arn}`);
    const newDesired = desiredCount ?? primary.desiredCount;
    if (forceNewDeployment || (taskDefinition && taskDefinition.arn !== primary.taskDefinitionArn)) {
      service.deployments.push({
        id: newDeploymentId(),
        taskDefinitionArn: taskDefinition?.arn ?? primary.taskDefinitionArn,
        desiredCount: newDesired,
        createdAt: now,
        updatedAt: now,
      });
    } else if (newDesired !== primary.desiredCount) {
      primary.desiredCount = newDesired;
      primary.updatedAt = now;
    }
    this.planTasks(service, now);
    return { service: this.serviceShape(service, cluster, now) };
  }

  private deleteService(input: JsonInput): Record<string, unknown> {
    const cluster = this.cluster(input.optionalString("cluster"));
    const service = this.activeService(cluster, input.string("service"));
    const force = input.optionalBoolean("force") ?? false;
    const now = this.now();
    const primary = this.primary(service);
    if (!force && primary.desiredCount > 0) {
      throw new ServiceError(
        "InvalidParameterException",
        "The service cannot be stopped while it is scaled above 0.",
      );
    }
    // As on AWS, a service at desiredCount 0 may be deleted while its tasks
    // still stop: it is DRAINING until the last one has stopped, then INACTIVE.
    for (const deployment of service.deployments) deployment.desiredCount = 0;
    service.deletedAt = now;
    this.planTasks(service, now);
    return { service: this.serviceShape(service, cluster, now) };
  }

  private registerTaskDefinition(input: JsonInput): Record<string, unknown> {
    const family = input.string("family");
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
      throw new ServiceError(
        "ClientException",
        "Family contains invalid characters: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.",
      );
    }
    const containers = input.optionalObjectList("containerDefinitions");
    if (!containers || containers.length === 0)
      throw new ServiceError("ClientException", "Container list cannot be empty.");
    containers.forEach((container, index) => {
      if (typeof container.name !== "string" || container.name.length === 0)
        throw new ServiceError(
          "ClientException",
          `Container.name should not be null or empty (containerDefinitions[${index}]).`,
        );
      if (typeof container.image !== "string" || container.image.length === 0)
        throw new ServiceError(
          "ClientException",
          `Container.image should not be null or empty (containerDefinitions[${index}]).`,
        );
    });
    const compatibilities = input.optionalStringList("requiresCompatibilities") ?? [];
    if (compatibilities.includes("FARGATE")) {
      if (!input.has("cpu"))
        throw new ServiceError(
          "ClientException",
          "Fargate requires that 'cpu' be defined at the task level.",
        );
      if (!input.has("memory"))
        throw new ServiceError(
          "ClientException",
          "Fargate requires that 'memory' be defined at the task level.",
        );
      if (input.optionalString("networkMode") !== "awsvpc")
        throw new ServiceError("ClientException", "Fargate only supports network mode 'awsvpc'.");
      checkFargateSize(String(input.raw.cpu), String(input.raw.memory));
      checkFargateExecutionRole(containers, input.optionalString("executionRoleArn"));
    }
    const definition = this.addTaskDefinition(family, { ...input.raw });
    return { taskDefinition: this.taskDefinitionShape(definition), tags: input.raw.tags ?? [] };
  }

  private describeTaskDefinition(input: JsonInput): Record<string, unknown> {
    const definition = this.findTaskDefinition(
      input.string("taskDefinition"),
      "Unable to describe task definition.",
    );
    return { taskDefinition: this.taskDefinitionShape(definition), tags: [] };
  }

  private deregisterTaskDefinition(input: JsonInput): Record<string, unknown> {
    const reference = input.string("taskDefinition");
    if (!/:\d+$/.test(reference)) {
      throw new ServiceError(
        "ClientException",
        "The specified task definition identifier is invalid. Specify a valid name or ARN and revision (family:revision).",
      );
    }
    const definition = this.findTaskDefinition(
      reference,
      "The specified task definition does not exist. Specify a valid account, family, revision and try again.",
    );
    if (definition.status === "ACTIVE") {
      definition.status = "INACTIVE";
      definition.deregisteredAt = this.now();
    }
    return { taskDefinition: this.taskDefinitionShape(definition) };
  }

  /**
   * Revisions with the given status (ACTIVE unless asked), of the family
   * `familyPrefix` names (despite its name, AWS matches the full family), ordered by family then revision (newest first with sort DESC), in
   * pages of maxResults (1–100, default 100) joined by an opaque nextToken.
   */
  private listTaskDefinitions(input: JsonInput): Record<string, unknown> {
    const prefix = input.optionalString("familyPrefix") ?? "";
    const status = input.optionalString("status") ?? "ACTIVE";
    if (!["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"].includes(status)) {
      throw input.invalid(
        `1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [ACTIVE, INACTIVE, DELETE_IN_PROGRESS]`,
      );
    }
    const sort = input.optionalString("sort") ?? "ASC";
    if (sort !== "ASC" && sort !== "DESC") {
      throw input.invalid(
        `1 validation error detected: Value '${sort}' at 'sort' failed to satisfy constraint: Member must satisfy enum value set: [ASC, DESC]`,
      );
    }
    const maxResults = input.optionalInteger("maxResults") ?? 100;
    if (maxResults < 1 || maxResults > 100) {
      throw new ServiceError("InvalidParameterException", "maxResults must be between 1 and 100.");
    }
    const arns = [...this.taskDefinitions.keys()]
      .filter((family) => prefix === "" || family === prefix)
      .sort()
      .flatMap((family) => this.taskDefinitions.get(family) ?? [])
      .filter((definition) => definition.status === status)
      .map((definition) => definition.arn);
    if (sort === "DESC") arns.reverse();
    const token = input.optionalString("nextToken");
    let from = 0;
    if (token !== undefined) {
      from = Number.parseInt(
        Buffer.from(token, "base64url")
          .toString("utf8")
          .replace(/^list:/, ""),
        10,
      );
      if (!Number.isInteger(from) || from < 0 || from > arns.length) {
        throw new ServiceError("InvalidParameterException", "The specified nextToken is not valid.");
      }
    }
    const page = arns.slice(from, from + maxResults);
    const next = from + maxResults < arns.length ? from + maxResults : undefined;
    return {
      taskDefinitionArns: page,
      ...(next === undefined ? {} : { nextToken: Buffer.from(`list:${next}`).toString("base64url") }),
    };
  }

  // ------------------------------------------------------------ the task simulation

  /**
   * Plans task transitions from `now`: plans not yet started are dropped and
   * made again, the primary deployment gets exactly its desired count, and
   * older deployments' tasks stop as the replacements become RUNNING
   * (minimumHealthyPercent 100, maximumPercent 200).
   */
  private planTasks(service: ServiceState, now: number): void {
    service.plan++;
    service.tasks = service.tasks.filter((task) => task.stoppedAt === undefined || task.stoppedAt > now);
    for (const task of service.tasks) {
      if (task.stopRequestedAt !== undefined && task.stopRequestedAt > now) {
        delete task.stopRequestedAt;
        delete task.stoppedAt;
      }
    }
    const primary = this.primary(service);
    const desired = service.deletedAt === undefined ? primary.desiredCount : 0;
    const keep = service.tasks.filter(
      (task) => task.deploymentId === primary.id && task.stopRequestedAt === undefined,
    );
    const stopped: Task[] = [];
    if (keep.length > desired) {
      // Pending tasks go first: stopping what is not serving yet costs nothing.
      const victims = [...keep].sort((a, b) => b.runningAt - a.runningAt).slice(0, keep.length - desired);
      this.stopTasks(victims, now, now);
      stopped.push(...victims);
    }
    const started: Task[] = [];
    for (let index = 0; index < desired - keep.length; index++) {
      started.push({
        id: newTaskId(),
        deploymentId: primary.id,
        taskDefinitionArn: primary.taskDefinitionArn,
        launchedAt: now,
        runningAt: now + this.stepDelay(index),
      });
    }
    service.tasks.push(...started);
    const replacements = service.tasks
      .filter((task) => task.deploymentId === primary.id && task.stopRequestedAt === undefined)
      .map((task) => task.runningAt)
      .sort((a, b) => a - b);
    const old = service.tasks
      .filter((task) => task.deploymentId !== primary.id && task.stopRequestedAt === undefined)
      .sort((a, b) => b.runningAt - a.runningAt);
    old.forEach((task, index) => {
      // An old task keeps serving until its replacement runs; one without a replacement stops now.
      const replacementReady = task.runningAt > now ? undefined : replacements[index];
      this.stopTasks([task], replacementReady === undefined ? now : Math.max(now, replacementReady), now);
    });
    stopped.push(...old);
    if (started.length > 0)
      this.addEvent(
        service,
        now,
        `(service ${service.name}) has started ${started.length} tasks: ${started.map((task) => `(task ${task.id})`).join(" ")}.`,
      );
    if (stopped.length > 0)
      this.addEvent(
        service,
        now,
        `(service ${service.name}) has stopped ${stopped.length} running tasks: ${stopped.map((task) => `(task ${task.id})`).join(" ")}.`,
      );
  }

  private stopTasks(tasks: Task[], at: number, now: number): void {
    tasks.forEach((task, index) => {
      task.stopRequestedAt = at;
      // A task that never reached RUNNING is gone at once; a running one drains for the transition time.
      task.stoppedAt =
        task.runningAt > at ? at : at + (at === now ? this.stepDelay(index) : this.transitionMs);
    });
  }

  private stepDelay(index: number): number {
    return this.transitionMs * (Math.floor(index / this.tasksPerStep) + 1);
  }

  private statusOf(service: ServiceState, now: number): "ACTIVE" | "DRAINING" | "INACTIVE" {
    if (service.deletedAt === undefined) return "ACTIVE";
    return service.tasks.some((task) => isLive(task, now)) ? "DRAINING" : "INACTIVE";
  }

  private primary(service: ServiceState): Deployment {
    const primary = service.deployments[service.deployments.length - 1];
    if (!primary) throw new Error(`service ${service.name} has no deployment`);
    return primary;
  }

  /** The moment the service last changed (a task started or stopped), at or before `now`. */
  private lastTransition(service: ServiceState, now: number): number {
    let last = 0;
    for (const task of service.tasks) {
      if (task.runningAt <= now) last = Math.max(last, task.runningAt);
      if (task.stoppedAt !== undefined && task.stoppedAt <= now) last = Math.max(last, task.stoppedAt);
    }
    return last;
  }

  private addEvent(service: ServiceState, at: number, message: string): void {
    service.events.unshift({ id: randomUuid(), createdAt: at, message });
    service.events.length = Math.min(service.events.length, MAX_EVENTS);
  }

  // ------------------------------------------------------------ wire shapes

  private serviceShape(service: ServiceState, cluster: ClusterState, now: number): Record<string, unknown> {
    const status = this.statusOf(service, now);
    const primary = this.primary(service);
    const visible = service.deployments.filter(
      (deployment) =>
        deployment === primary ||
        service.tasks.some((task) => task.deploymentId === deployment.id && isLive(task, now)),
    );
    const deployments = visible
      .reverse()
      .map((deployment) => this.deploymentShape(service, deployment, primary, visible.length, now));
    const running = countRunning(service.tasks, now);
    const desired = status === "ACTIVE" ? primary.desiredCount : 0;
    if (
      status === "ACTIVE" &&
      visible.length === 1 &&
      running === desired &&
      service.steadyAnnouncedForPlan < service.plan
    ) {
      service.steadyAnnouncedForPlan = service.plan;
      this.addEvent(
        service,
        Math.max(this.lastTransition(service, now), primary.updatedAt),
        `(service ${service.name}) has reached a steady state.`,
      );
    }
    return {
      serviceArn: service.arn,
      serviceName: service.name,
      clusterArn: cluster.arn,
      loadBalancers: [],
      serviceRegistries: [],
      status,
      desiredCount: desired,
      runningCount: running,
      pendingCount: countPending(service.tasks, now),
      launchType: "FARGATE",
      platformVersion: "LATEST",
      platformFamily: "Linux",
      taskDefinition: primary.taskDefinitionArn,
      deploymentConfiguration: {
        deploymentCircuitBreaker: { enable: false, rollback: false },
        maximumPercent: 200,
        minimumHealthyPercent: 100,
      },
      deployments,
      events: service.events.map((event) => ({
        id: event.id,
        createdAt: seconds(event.createdAt),
        message: event.message,
      })),
      createdAt: seconds(service.createdAt),
      placementConstraints: [],
      placementStrategy: [],
      schedulingStrategy: "REPLICA",
      deploymentController: { type: "ECS" },
      createdBy: `arn:aws:iam::${this.options.accountId}:role/sandbox`,
      enableECSManagedTags: false,
      propagateTags: "NONE",
      enableExecuteCommand: false,
    };
  }

  private deploymentShape(
    service: ServiceState,
    deployment: Deployment,
    primary: Deployment,
    visibleCount: number,
    now: number,
  ): Record<string, unknown> {
    const tasks = service.tasks.filter((task) => task.deploymentId === deployment.id);
    const isPrimary = deployment === primary;
    const running = countRunning(tasks, now);
    const completed = isPrimary && visibleCount === 1 && running === deployment.desiredCount;
    return {
      id: deployment.id,
      status: isPrimary ? "PRIMARY" : "ACTIVE",
      taskDefinition: deployment.taskDefinitionArn,
      desiredCount: isPrimary && service.deletedAt === undefined ? deployment.desiredCount : 0,
      pendingCount: countPending(tasks, now),
      runningCount: running,
      failedTasks: 0,
      createdAt: seconds(deployment.createdAt),
      updatedAt: seconds(deployment.updatedAt),
      launchType: "FARGATE",
      platformVersion: "1.4.0",
      platformFamily: "Linux",
      rolloutState: completed ? "COMPLETED" : "IN_PROGRESS",
      rolloutStateReason: completed ? "ECS deployment completed." : "ECS deployment in progress.",
    };
  }

  private taskDefinitionShape(definition: TaskDefinitionState): Record<string, unknown> {
    const { tags: _tags, ...registered } = definition.definition;
    return {
      ...registered,
      taskDefinitionArn: definition.arn,
      family: definition.family,
      revision: definition.revision,
      status: definition.status,
      compatibilities: ["EC2", "FARGATE"],
      requiresAttributes: [],
      registeredAt: seconds(definition.registeredAt),
      registeredBy: `arn:aws:iam::${this.options.accountId}:role/sandbox`,
      ...(definition.deregisteredAt === undefined
        ? {}
        : { deregisteredAt: seconds(definition.deregisteredAt) }),
    };
  }

  // ------------------------------------------------------------ lookups

  private cluster(reference: string | undefined): ClusterState {
    const name = clusterNameOf(reference ?? "default");
    const cluster = this.clusters.get(name);
    if (!cluster) throw new ServiceError("ClusterNotFoundException", "Cluster not found.");
    return cluster;
  }

  private activeService(cluster: ClusterState, reference: string): ServiceState {
    const service = cluster.services.get(serviceNameOf(reference));
    if (!service) throw new ServiceError("ServiceNotFoundException", "Service not found.");
    if (service.deletedAt !== undefined)
      throw new ServiceError("ServiceNotActiveException", "Service was not ACTIVE.");
    return service;
  }

  private findTaskDefinition(reference: string, notFound: string): TaskDefinitionState {
    const match = /^(?:arn:aws[\w-]*:ecs:[^:]+:\d+:task-definition\/)?([A-Za-z0-9_-]+)(?::(\d+))?$/.exec(
      reference,
    );
    if (!match) throw new ServiceError("ClientException", `Invalid revision number. Number: ${reference}`);
    const revisions = this.taskDefinitions.get(match[1] ?? "") ?? [];
    const definition =
      match[2] === undefined
        ? [...revisions].reverse().find((candidate) => candidate.status === "ACTIVE")
        : revisions.find((candidate) => candidate.revision === Number(match[2]));
    if (!definition) throw new ServiceError("ClientException", notFound);
    return definition;
  }

  private addTaskDefinition(family: string, definition: Record<string, unknown>): TaskDefinitionState {
    const revisions = this.taskDefinitions.get(family) ?? [];
    const revision = revisions.length + 1;
    const state: TaskDefinitionState = {
      family,
      revision,
      arn: `arn:aws:ecs:${this.options.region}:${this.options.accountId}:task-definition/${family}:${revision}`,
      status: "ACTIVE",
      registeredAt: this.now(),
      definition,
    };
    revisions.push(state);
    this.taskDefinitions.set(family, revisions);
    return state;
  }

  private serviceArn(cluster: string, service: string): string {
    return `arn:aws:ecs:${this.options.region}:${this.options.accountId}:service/${cluster}/${service}`;
  }

  private seedCluster(seed: NonNullable<SandboxSeed["ecs"]>["clusters"][number]): void {
    const cluster: ClusterState = {
      name: seed.name,
      arn: `arn:aws:ecs:${this.options.region}:${this.options.accountId}:cluster/${seed.name}`,
      services: new Map(),
    };
    const now = this.now();
    for (const service of seed.services) {
      const { family, image, cpu, memory, executionRoleArn } = service.taskDefinition;
      const container: Record<string, unknown> = {
        name: service.name,
        image,
        essential: true,
        portMappings: [{ containerPort: 8080, protocol: "tcp" }],
      };
      // A seeded service with an execution role logs as a real Fargate service does; without one it cannot use awslogs.
      if (executionRoleArn !== undefined) {
        container.logConfiguration = {
          logDriver: "awslogs",
          options: {
            "awslogs-group": `/ecs/${family}`,
            "awslogs-region": this.options.region,
            "awslogs-stream-prefix": "ecs",
          },
        };
      }
      const definition = this.addTaskDefinition(family, {
        family,
        containerDefinitions: [container],
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: cpu ?? "256",
        memory: memory ?? "512",
        ...(executionRoleArn === undefined ? {} : { executionRoleArn }),
      });
      const deployment: Deployment = {
        id: newDeploymentId(),
        taskDefinitionArn: definition.arn,
        desiredCount: service.desiredCount,
        createdAt: now,
        updatedAt: now,
      };
      // Seeded tasks are already running: the world starts steady.
      const tasks: Task[] = Array.from({ length: service.desiredCount }, () => ({
        id: newTaskId(),
        deploymentId: deployment.id,
        taskDefinitionArn: definition.arn,
        launchedAt: now,
        runningAt: now,
      }));
      cluster.services.set(service.name, {
        name: service.name,
        arn: this.serviceArn(seed.name, service.name),
        clusterArn: cluster.arn,
        createdAt: now,
        deployments: [deployment],
        tasks,
        events: [],
        plan: 1,
        steadyAnnouncedForPlan: 0,
      });
    }
    this.clusters.set(seed.name, cluster);
  }
}

function isLive(task: Task, now: number): boolean {
  return task.stoppedAt === undefined || task.stoppedAt > now;
}

function countRunning(tasks: Task[], now: number): number {
  return tasks.filter((task) => task.runningAt <= now && isLive(task, now)).length;
}

function countPending(tasks: Task[], now: number): number {
  return tasks.filter((task) => task.runningAt > now && isLive(task, now)).length;
}

function clusterNameOf(reference: string): string {
  const arn = /^arn:aws[\w-]*:ecs:[^:]+:\d+:cluster\/(.+)$/.exec(reference);
  return arn?.[1] ?? reference;
}

function serviceNameOf(reference: string): string {
  const arn = /^arn:aws[\w-]*:ecs:[^:]+:\d+:service\/(?:[^/]+\/)?([^/]+)$/.exec(reference);
  return arn?.[1] ?? reference;
}

function seconds(epochMs: number): number {
  return epochMs / 1000;
}

function newTaskId(): string {
  return randomBytes(16).toString("hex");
}

function newDeploymentId(): string {
  let digits = String(randomInt(1, 10));
  for (let index = 0; index < 18; index++) digits += String(randomInt(0, 10));
  return `ecs-svc/${digits}`;
}

function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}

// ---------------------------------------------------------------- Fargate task sizes

/**
 * The task sizes Fargate offers (Linux), as CPU units to the memory values in
 * MiB allowed with them:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
 */
const FARGATE_SIZES: ReadonlyArray<{ cpu: number; memory: readonly number[] }> = [
  { cpu: 256, memory: [512, 1024, 2048] },
  { cpu: 512, memory: steps(1024, 4096, 1024) },
  { cpu: 1024, memory: steps(2048, 8192, 1024) },
  { cpu: 2048, memory: steps(4096, 16384, 1024) },
  { cpu: 4096, memory: steps(8192, 30720, 1024) },
  { cpu: 8192, memory: steps(16384, 61440, 4096) },
  { cpu: 16384, memory: steps(32768, 122880, 8192) },
];

function steps(from: number, to: number, by: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += by) values.push(value);
  return values;
}

/** CPU units from "256", "0.25 vCPU" or "1 vcpu", as task definitions accept; NaN otherwise. */
export function fargateCpuUnits(raw: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$/i.exec(raw);
  if (!match) return Number.NaN;
  const amount = Number(match[1]);
  return match[2] === undefined ? amount : Math.round(amount * 1024);
}

/** Memory in MiB from "512", "1GB" or "1 gb", as task definitions accept; NaN otherwise. */
export function fargateMemoryMiB(raw: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(gb)?\s*$/i.exec(raw);
  if (!match) return Number.NaN;
  const amount = Number(match[1]);
  return match[2] === undefined ? amount : Math.round(amount * 1024);
}

/** Whether Fargate offers a task of this CPU and memory. */
export function isFargateSize(cpu: string, memory: string): boolean {
  const cpuUnits = fargateCpuUnits(cpu);
  const memoryMiB = fargateMemoryMiB(memory);
  const size = FARGATE_SIZES.find((entry) => entry.cpu === cpuUnits);
  return size?.memory.includes(memoryMiB) ?? false;
}

function checkFargateSize(cpu: string, memory: string): void {
  if (!isFargateSize(cpu, memory)) {
    throw new ServiceError(
      "ClientException",
      `No Fargate configuration exists for given values: ${cpu} CPU, ${memory} memory. See the Amazon ECS documentation for the valid values.`,
    );
  }
}

/** Fargate pulls logs through the execution role: the awslogs driver without one is refused at registration. */
function checkFargateExecutionRole(
  containers: ReadonlyArray<Record<string, unknown>>,
  executionRoleArn: string | undefined,
): void {
  if (executionRoleArn !== undefined && executionRoleArn.length > 0) return;
  const usesAwsLogs = containers.some((container) => {
    const logConfiguration = container.logConfiguration as { logDriver?: unknown } | undefined;
    return logConfiguration?.logDriver === "awslogs";
  });
  if (usesAwsLogs) {
    throw new ServiceError(
      "ClientException",
      "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
    );
  }
}
