/**
 * A Lambda function alias as a compute target. The surface other operations
 * build on: {@link LambdaTarget.aliasVersion}, {@link LambdaTarget.pointAlias},
 * {@link LambdaTarget.readiness}, and the function's reserved concurrency
 * (held at 0 while decommissioning). Publishing code is not done here.
 */
import {
  DeleteFunctionConcurrencyCommand,
  GetAliasCommand,
  type GetAliasCommandOutput,
  GetFunctionConcurrencyCommand,
  type GetFunctionConcurrencyCommandOutput,
  GetFunctionConfigurationCommand,
  type GetFunctionConfigurationCommandOutput,
  type LambdaClient,
  PutFunctionConcurrencyCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-lambda";
import type { LambdaTargetSpec } from "../model/spec.js";
import type {
  ComputeTarget,
  Readiness,
  RestoreOptions,
  TargetCheckpointFields,
  TargetStep,
} from "./compute-target.js";
import { ComputeTargetRefusal } from "./compute-target.js";
import { DEFAULT_THROTTLING_RETRY, retryThrottled, type ThrottlingRetryOptions } from "./throttling.js";

/** The alias and the configuration of the version it serves, as read together. */
export interface LambdaAliasState {
  /** Undefined when the alias (or the function) does not exist. */
  aliasVersion?: string;
  /** Versions the alias also routes a share to (its own weighted routing), with their weights 0..1. */
  additionalVersions: Record<string, number>;
  state?: string;
  stateReason?: string;
  lastUpdateStatus?: string;
  lastUpdateStatusReason?: string;
  /** The function's reserved concurrency; undefined when it reserves none (it draws on the unreserved pool). */
  reservedConcurrency?: number;
}

function isNotFound(error: unknown): boolean {
  return (error as { name?: string })?.name === "ResourceNotFoundException";
}

/**
 * Whether an alias can take traffic: it exists, and the function version it
 * serves is Active and not in the middle of an update.
 */
export function lambdaReadiness(label: string, state: LambdaAliasState): Readiness {
  const figures: Record<string, string | number> = {
    aliasVersion: state.aliasVersion ?? "MISSING",
    state: state.state ?? "unknown",
    lastUpdateStatus: state.lastUpdateStatus ?? "unknown",
  };
  const not = (summary: string): Readiness => ({
    ready: false,
    summary: `${label} cannot serve: ${summary}`,
    figures,
  });
  if (state.aliasVersion === undefined) return not("the alias does not exist");
  if (state.state !== "Active") {
    return not(
      `function State ${state.state ?? "unknown"}${state.stateReason ? ` (${state.stateReason})` : ""}, not Active`,
    );
  }
  if (state.reservedConcurrency === 0) {
    figures.reservedConcurrency = 0;
    return not("reserved concurrency is 0 (held by decommissioning): every invocation is throttled");
  }
  if (state.lastUpdateStatus === "InProgress") {
    return not(
      `LastUpdateStatus InProgress${state.lastUpdateStatusReason ? ` (${state.lastUpdateStatusReason})` : ""}: an update is being applied`,
    );
  }
  return {
    ready: true,
    summary: `${label}: version ${state.aliasVersion}, State Active, LastUpdateStatus ${state.lastUpdateStatus ?? "unknown"}`,
    figures,
  };
}

/** One function alias (function name + alias name). */
export class LambdaTarget implements ComputeTarget {
  readonly kind = "lambda" as const;
  readonly label: string;

  constructor(
    readonly spec: LambdaTargetSpec,
    private readonly client: LambdaClient,
    private readonly retry: ThrottlingRetryOptions = DEFAULT_THROTTLING_RETRY,
  ) {
    this.label = `Lambda ${spec.functionName}:${spec.alias}`;
  }

  /** The alias and the version it serves; reads both at once. */
  async describeAlias(): Promise<LambdaAliasState> {
    const [alias, configuration, concurrency] = await Promise.all([
      this.send(() =>
        this.client.send(
          new GetAliasCommand({ FunctionName: this.spec.functionName, Name: this.spec.alias }),
        ),
      ),
      this.send(() =>
        this.client.send(
          new GetFunctionConfigurationCommand({
            FunctionName: this.spec.functionName,
            Qualifier: this.spec.alias,
          }),
        ),
      ),
      this.send(() =>
        this.client.send(new GetFunctionConcurrencyCommand({ FunctionName: this.spec.functionName })),
      ),
    ]);
    return {
      aliasVersion: alias?.FunctionVersion,
      additionalVersions: alias?.RoutingConfig?.AdditionalVersionWeights ?? {},
      state: configuration?.State,
      stateReason: configuration?.StateReason,
      lastUpdateStatus: configuration?.LastUpdateStatus,
      lastUpdateStatusReason: configuration?.LastUpdateStatusReason,
      ...(concurrency?.ReservedConcurrentExecutions !== undefined
        ? { reservedConcurrency: concurrency.ReservedConcurrentExecutions }
        : {}),
    };
  }

  /** The function's reserved concurrency: a number, "none" when it reserves none, undefined when the function does not exist. */
  async reservedConcurrency(): Promise<number | "none" | undefined> {
    const output = await this.send(() =>
      this.client.send(new GetFunctionConcurrencyCommand({ FunctionName: this.spec.functionName })),
    );
    if (output === undefined) return undefined;
    return output.ReservedConcurrentExecutions ?? "none";
  }

  /**
   * Sets the function's reserved concurrency; `"none"` removes the
   * reservation, so the function draws on the account's unreserved pool
   * again. A reservation of 0 throttles every invocation while the function,
   * its versions and its alias stay as they are.
   */
  async setReservedConcurrency(value: number | "none"): Promise<void> {
    await retryThrottled(
      () =>
        value === "none"
          ? this.client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: this.spec.functionName }))
          : this.client.send(
              new PutFunctionConcurrencyCommand({
                FunctionName: this.spec.functionName,
                ReservedConcurrentExecutions: value,
              }),
            ),
      this.retry,
    );
  }

  /** The version the alias points at, or undefined when the alias does not exist. */
  async aliasVersion(): Promise<string | undefined> {
    const alias = await this.send(() =>
      this.client.send(new GetAliasCommand({ FunctionName: this.spec.functionName, Name: this.spec.alias })),
    );
    return alias?.FunctionVersion;
  }

  /**
   * Points the alias at `version` alone, clearing any weighted routing of the
   * alias to another version, so the alias serves exactly that version.
   */
  async pointAlias(version: string, description?: string): Promise<void> {
    await retryThrottled(
      (abortSignal) =>
        this.client.send(
          new UpdateAliasCommand({
            FunctionName: this.spec.functionName,
            Name: this.spec.alias,
            FunctionVersion: version,
            RoutingConfig: { AdditionalVersionWeights: {} },
            ...(description ? { Description: description } : {}),
          }),
          { abortSignal },
        ),
      this.retry,
    );
  }

  async readiness(): Promise<Readiness> {
    return lambdaReadiness(this.label, await this.describeAlias());
  }

  async capture(): Promise<TargetCheckpointFields> {
    const version = await this.aliasVersion();
    return version ? { lambdaVersion: version } : {};
  }

  /**
   * Points the alias back to the recorded version alone when a deploy has
   * moved it since, or left a share of its traffic on another version (a
   * weighted alias rollout that did not finish).
   */
  async restore(recorded: TargetCheckpointFields, options: RestoreOptions): Promise<TargetStep[]> {
    // Capacity first, as for any side that will serve: a function held at 0 serves nothing.
    const lifted = options.willServe ? await this.liftHold(recorded) : [];
    return [...lifted, ...(await this.restoreVersion(recorded))];
  }

  /** Brings back the reservation a hold at 0 replaced (the recorded one, else none); nothing when not held. */
  private async liftHold(recorded: TargetCheckpointFields): Promise<TargetStep[]> {
    const started = Date.now();
    const current = await this.reservedConcurrency();
    if (current !== 0) return [];
    const restored =
      recorded.lambdaReservedConcurrency !== undefined && recorded.lambdaReservedConcurrency > 0
        ? recorded.lambdaReservedConcurrency
        : "none";
    await this.setReservedConcurrency(restored);
    return [
      {
        step: "restore concurrency",
        detail: `Lambda ${this.spec.functionName} reserved concurrency 0 → ${restored === "none" ? "none (unreserved pool)" : restored}`,
        elapsedMs: Date.now() - started,
      },
    ];
  }

  private async restoreVersion(recorded: TargetCheckpointFields): Promise<TargetStep[]> {
    if (!recorded.lambdaVersion) return [];
    const started = Date.now();
    const alias = await this.send(() =>
      this.client.send(new GetAliasCommand({ FunctionName: this.spec.functionName, Name: this.spec.alias })),
    );
    const current = alias?.FunctionVersion;
    if (current === undefined) {
      throw new ComputeTargetRefusal(
        `${this.label} does not exist; cannot point it back to version ${recorded.lambdaVersion}`,
      );
    }
    const extra = Object.entries(alias?.RoutingConfig?.AdditionalVersionWeights ?? {}).filter(
      ([, weight]) => weight > 0,
    );
    if (current === recorded.lambdaVersion && extra.length === 0) return [];
    const routed = extra.map(([version, weight]) => `${Math.round(weight * 100)} % to version ${version}`);
    await this.pointAlias(
      recorded.lambdaVersion,
      `restored by rollback from version ${current}${routed.length > 0 ? ` (${routed.join(", ")})` : ""}`,
    );
    return [
      {
        step: "point alias",
        detail:
          `${this.label} version ${current}${routed.length > 0 ? ` with ${routed.join(", ")}` : ""} → ` +
          `${recorded.lambdaVersion} alone`,
        elapsedMs: Date.now() - started,
      },
    ];
  }

  /** Sends with the throttling bound; a missing function or alias is undefined, not an error. */
  private async send<
    T extends
      | GetAliasCommandOutput
      | GetFunctionConfigurationCommandOutput
      | GetFunctionConcurrencyCommandOutput,
  >(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await retryThrottled(call, this.retry);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
