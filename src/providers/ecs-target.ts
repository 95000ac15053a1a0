/**
 * An ECS service as a compute target. The surface other operations build on:
 * {@link EcsTarget.describeService}, {@link EcsTarget.readiness},
 * {@link EcsTarget.setDesiredCount} and {@link EcsTarget.waitStable}.
 * Deploying task definitions is not done here.
 */
import {
  DescribeServicesCommand,
  type ECSClient,
  type Service,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from "@aws-sdk/client-ecs";
import type { EcsTargetSpec } from "../model/spec.js";
import type {
  ComputeTarget,
  Readiness,
  RestoreOptions,
  TargetCheckpointFields,
  TargetStep,
} from "./compute-target.js";
import { ComputeTargetRefusal } from "./compute-target.js";
import { DEFAULT_THROTTLING_RETRY, retryThrottled, type ThrottlingRetryOptions } from "./throttling.js";

/** One deployment of a service, as DescribeServices reports it. */
export interface EcsDeploymentState {
  status: string;
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  rolloutState?: string;
}

/** What a service looks like now; the fields readiness and scaling decisions use. */
export interface EcsServiceState {
  status: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  taskDefinition?: string;
  deployments: EcsDeploymentState[];
}

export interface EcsTargetOptions {
  /** Polling of DescribeServices while waiting for stable, in seconds (the SDK waiter's default starts at 15 s). */
  stablePollSeconds?: { min: number; max: number };
  retry?: ThrottlingRetryOptions;
}

/** Short task definition name for messages: "orders-api:7" from its ARN. */
export function shortTaskDefinition(arn: string | undefined): string {
  return arn ? arn.replace(/^.*task-definition\//, "") : "unknown";
}

/**
 * Whether a service can take traffic: ACTIVE, runningCount == desiredCount > 0,
 * and stable (exactly one deployment, so no rollout is replacing tasks).
 */
export function ecsReadiness(label: string, state: EcsServiceState | undefined): Readiness {
  if (!state) {
    return {
      ready: false,
      summary: `${label} does not exist (DescribeServices: MISSING)`,
      figures: { status: "MISSING" },
    };
  }
  const figures = {
    status: state.status,
    desiredCount: state.desiredCount,
    runningCount: state.runningCount,
    pendingCount: state.pendingCount,
    deployments: state.deployments.length,
  };
  const not = (summary: string): Readiness => ({
    ready: false,
    summary: `${label} cannot serve: ${summary}`,
    figures,
  });
  if (state.status !== "ACTIVE") return not(`status ${state.status}, not ACTIVE`);
  if (state.desiredCount === 0) return not("scaled to zero (desiredCount 0)");
  if (state.runningCount !== state.desiredCount) {
    return not(
      `runningCount ${state.runningCount} of desiredCount ${state.desiredCount} (pendingCount ${state.pendingCount})`,
    );
  }
  if (state.deployments.length !== 1) {
    const each = state.deployments
      .map(
        (deployment) =>
          `${deployment.status} ${shortTaskDefinition(deployment.taskDefinition)} ` +
          `running ${deployment.runningCount}/${deployment.desiredCount}` +
          (deployment.rolloutState ? ` ${deployment.rolloutState}` : ""),
      )
      .join("; ");
    return not(`mid-deployment, ${state.deployments.length} deployments (${each})`);
  }
  return {
    ready: true,
    summary:
      `${label}: runningCount ${state.runningCount} = desiredCount ${state.desiredCount}, ` +
      `one deployment (${shortTaskDefinition(state.taskDefinition)})`,
    figures,
  };
}

function toState(service: Service): EcsServiceState {
  return {
    status: service.status ?? "UNKNOWN",
    desiredCount: service.desiredCount ?? 0,
    runningCount: service.runningCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    taskDefinition: service.taskDefinition,
    deployments: (service.deployments ?? []).map((deployment) => ({
      status: deployment.status ?? "UNKNOWN",
      taskDefinition: deployment.taskDefinition ?? "",
      desiredCount: deployment.desiredCount ?? 0,
      runningCount: deployment.runningCount ?? 0,
      rolloutState: deployment.rolloutState,
    })),
  };
}

/** One ECS service (cluster + service name). */
export class EcsTarget implements ComputeTarget {
  readonly kind = "ecs" as const;
  readonly label: string;
  private readonly poll: { min: number; max: number };
  private readonly retry: ThrottlingRetryOptions;

  constructor(
    readonly spec: EcsTargetSpec,
    private readonly client: ECSClient,
    options: EcsTargetOptions = {},
  ) {
    this.label = `ECS service ${spec.cluster}/${spec.service}`;
    this.poll = options.stablePollSeconds ?? { min: 0.5, max: 10 };
    this.retry = options.retry ?? DEFAULT_THROTTLING_RETRY;
  }

  /** The service now, or undefined when ECS reports it MISSING. */
  async describeService(): Promise<EcsServiceState | undefined> {
    const output = await retryThrottled(
      (abortSignal) =>
        this.client.send(
          new DescribeServicesCommand({ cluster: this.spec.cluster, services: [this.spec.service] }),
          { abortSignal },
        ),
      this.retry,
    );
    const service = output.services?.find(
      (candidate) =>
        candidate.serviceName === this.spec.service ||
        candidate.serviceArn?.endsWith(`/${this.spec.service}`),
    );
    return service ? toState(service) : undefined;
  }

  async readiness(): Promise<Readiness> {
    return ecsReadiness(this.label, await this.describeService());
  }

  /** Sets the service's desired count; ECS starts or stops tasks on its own afterwards. */
  async setDesiredCount(desiredCount: number): Promise<void> {
    if (!Number.isInteger(desiredCount) || desiredCount < 0) {
      throw new Error(`desired count ${desiredCount} for ${this.label} is not a whole number ≥ 0`);
    }
    await retryThrottled(
      (abortSignal) =>
        this.client.send(
          new UpdateServiceCommand({ cluster: this.spec.cluster, service: this.spec.service, desiredCount }),
          { abortSignal },
        ),
      this.retry,
    );
  }

  /**
   * Waits until the service is stable (one deployment, runningCount ==
   * desiredCount) with the SDK's waiter, at most `timeoutSeconds`. Throws
   * {@link ComputeTargetRefusal} with the last figures when it is not.
   */
  async waitStable(timeoutSeconds: number): Promise<EcsServiceState> {
    try {
      await waitUntilServicesStable(
        {
          client: this.client,
          maxWaitTime: timeoutSeconds,
          minDelay: Math.min(this.poll.min, timeoutSeconds / 2),
          maxDelay: this.poll.max,
        },
        { cluster: this.spec.cluster, services: [this.spec.service] },
      );
    } catch (error) {
      const last = ecsReadiness(this.label, await this.describeService().catch(() => undefined));
      throw new ComputeTargetRefusal(
        `${this.label} did not become stable within ${timeoutSeconds} s: ${last.summary} ` +
          `(${(error as Error).message ?? String(error)})`,
      );
    }
    const state = await this.describeService();
    if (!state)
      throw new ComputeTargetRefusal(`${this.label} disappeared while waiting for it to become stable`);
    return state;
  }

  async capture(): Promise<TargetCheckpointFields> {
    const state = await this.describeService();
    if (!state) return {};
    // Zero is recorded as observed (reconcile must see an old side scaled to zero);
    // restore treats it as nothing to scale back to and falls back to a recorded count.
    return {
      ecsDesiredCount: state.desiredCount,
      ...(state.taskDefinition ? { ecsTaskDefinition: state.taskDefinition } : {}),
    };
  }

  /**
   * When the side will serve: a service scaled to zero is scaled back to the
   * recorded count, and a service that is scaling or deploying is waited for,
   * until stable. Task definitions are left as they are.
   */
  async restore(recorded: TargetCheckpointFields, options: RestoreOptions): Promise<TargetStep[]> {
    if (!options.willServe) return [];
    const steps: TargetStep[] = [];
    const state = await this.describeService();
    if (state?.status !== "ACTIVE") {
      throw new ComputeTargetRefusal(
        `${this.label} is ${state ? state.status : "MISSING"}; it cannot be scaled back up, so no traffic can return to it`,
      );
    }
    if (ecsReadiness(this.label, state).ready) return steps;
    if (state.desiredCount === 0) {
      const count = recorded.ecsDesiredCount || options.fallbackDesiredCount;
      if (!count || count < 1) {
        throw new ComputeTargetRefusal(
          `${this.label} is scaled to zero and no desired count was recorded (checkpoint ecsDesiredCount, ` +
            "status decommission.desiredCountBefore); give the count to scale back to explicitly",
        );
      }
      const started = Date.now();
      await this.setDesiredCount(count);
      steps.push({
        step: "scale up",
        detail: `${this.label} desiredCount 0 → ${count}`,
        elapsedMs: Date.now() - started,
      });
    }
    const started = Date.now();
    const stable = await this.waitStable(options.stableTimeoutSeconds);
    steps.push({
      step: "wait stable",
      detail: `${this.label} runningCount ${stable.runningCount} = desiredCount ${stable.desiredCount}, one deployment`,
      elapsedMs: Date.now() - started,
    });
    return steps;
  }
}
