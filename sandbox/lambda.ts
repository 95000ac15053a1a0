/**
 * Lambda on its REST-JSON wire protocol (/2015-03-31/functions/...):
 * GetFunction, GetFunctionConfiguration, UpdateFunctionCode, PublishVersion,
 * ListVersionsByFunction, GetAlias, CreateAlias, UpdateAlias, and the reserved
 * concurrency of a function (Put/Get/DeleteFunctionConcurrency). A code
 * update leaves LastUpdateStatus InProgress for a configurable time, derived
 * from timestamps, so `waitUntilFunctionUpdatedV2` behaves as on AWS.
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { JsonInput } from "./json-input.js";
import {
  AsyncInvocationQueue,
  DEFAULT_EVENT_INVOKE,
  type EventInvokeConfig,
  eventInvokeConfigShape,
  type InvocationRecord,
  type RunnableConfig,
  readCreateFunction,
  readEventInvokeConfig,
} from "./lambda-execution.js";
import { ExecutionEnvironment, type InvocationOutcome } from "./lambda-runtime.js";
import { ServiceError, sendJsonBody, sendServiceError, unknownOperation } from "./protocol.js";
import type {
  AsyncInvoker,
  DeadLetterSink,
  LambdaAliasView,
  LambdaView,
  SandboxSeed,
  ServiceHandler,
} from "./types.js";
import { readZip } from "./zip-reader.js";

export interface LambdaOptions {
  region: string;
  accountId: string;
  /** How long LastUpdateStatus stays InProgress after UpdateFunctionCode, ms (default 1000). */
  updateMs?: number;
  now?: () => number;
  /**
   * Delay before the first retry of a failed async invocation, ms; the second waits twice as long.
   * Lambda waits about a minute, then two (the default, 60000); tests scale it down.
   */
  asyncRetryDelayMs?: number;
  /** The account's concurrent executions limit in the region (Lambda's default quota, 1000). */
  accountConcurrencyLimit?: number;
}

/** Lambda keeps this much of the account's concurrency unreserved, whatever functions reserve. */
export const MINIMUM_UNRESERVED_CONCURRENCY = 100;

/** What a running function's SDK clients need to reach the sandbox. */
export interface FunctionRuntimeEnvironment {
  /** AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY. */
  env: Record<string, string>;
  /** Where async invocations that still failed are dead-lettered; absent: nowhere. */
  deadLetters?: DeadLetterSink;
}

/** The code and configuration of $LATEST or of a published version. */
interface FunctionCode {
  packageType: "Zip" | "Image";
  codeSha256: string;
  codeSize: number;
  imageUri?: string;
}

interface VersionState {
  version: string;
  code: FunctionCode;
  description: string;
  lastModified: number;
  revisionId: string;
}

interface AliasState {
  name: string;
  functionVersion: string;
  description: string;
  additionalVersionWeights: Record<string, number>;
  revisionId: string;
}

interface FunctionState {
  name: string;
  runtime: string;
  memorySize: number;
  latest: VersionState;
  /** When the last code update finishes; LastUpdateStatus is InProgress before it. */
  updateCompletesAt: number;
  versions: VersionState[];
  aliases: Map<string, AliasState>;
  /** A function created with CreateFunction: its handler really runs. Seeded functions have none. */
  runnable?: RunnableConfig;
  /** The warm execution environment of a runnable function, once invoked. */
  environment?: ExecutionEnvironment;
  eventInvokeConfig?: EventInvokeConfig;
  /** PutFunctionConcurrency's ReservedConcurrentExecutions; absent: the function draws on the unreserved pool. */
  reservedConcurrency?: number;
}

type Route = { operation: string; functionName: string; alias?: string };
type Operation = (
  fn: FunctionState,
  route: Route,
  input: JsonInput,
  query: URLSearchParams,
) => { status: number; body: unknown };

const INPUT_CODES = {
  serialization: "InvalidRequestContentException",
  invalid: "InvalidParameterValueException",
};
const ALIAS_NAME = /^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/;
const LATEST = "$LATEST";
/** An empty zip archive: the code seeded functions start with. */
const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]);

/** The sandbox's Lambda: functions, versions, aliases and the update status clock. */
export class LambdaService implements ServiceHandler, LambdaView, AsyncInvoker {
  readonly name = "lambda";
  private readonly functions = new Map<string, FunctionState>();
  private readonly invocations: InvocationRecord[] = [];
  private readonly asyncQueue: AsyncInvocationQueue;
  private runtimeEnvironment: FunctionRuntimeEnvironment = { env: {} };
  private readonly updateMs: number;
  private readonly now: () => number;
  private readonly operations: Record<string, Operation>;

  constructor(
    seed: SandboxSeed["lambda"],
    private readonly options: LambdaOptions,
  ) {
    this.updateMs = options.updateMs ?? seed?.updateMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.operations = {
      GetFunction: (fn, _route, _input, query) => ({ status: 200, body: this.getFunction(fn, query) }),
      GetFunctionConfiguration: (fn, _route, _input, query) => ({
        status: 200,
        body: this.configurationOf(fn, this.resolveQualifier(fn, query.get("Qualifier"))),
      }),
      UpdateFunctionCode: (fn, _route, input) => ({ status: 200, body: this.updateFunctionCode(fn, input) }),
      PublishVersion: (fn, _route, input) => ({ status: 201, body: this.publishVersion(fn, input) }),
      ListVersionsByFunction: (fn, _route, _input, query) => ({
        status: 200,
        body: this.listVersions(fn, query),
      }),
      GetAlias: (fn, route) => ({
        status: 200,
        body: this.aliasShape(fn, this.aliasOf(fn, route.alias ?? "")),
      }),
      CreateAlias: (fn, _route, input) => ({ status: 201, body: this.createAlias(fn, input) }),
      UpdateAlias: (fn, route, input) => ({
        status: 200,
        body: this.updateAlias(fn, route.alias ?? "", input),
      }),
    };
    for (const fn of seed?.functions ?? []) this.seedFunction(fn);
    const retryDelayMs = options.asyncRetryDelayMs ?? 60_000;
    this.asyncQueue = new AsyncInvocationQueue({
      run: async (event) => {
        const fn = this.functions.get(event.functionName);
        return fn ? this.execute(fn, event.requestId, event.payload, "Event", event.attempt) : undefined;
      },
      settingsOf: (name) => {
        const fn = this.functions.get(name);
        if (!fn) return undefined;
        const config = fn.eventInvokeConfig ?? DEFAULT_EVENT_INVOKE;
        const target = fn.runnable?.deadLetterTargetArn;
        return target ? { config, deadLetterTargetArn: target } : { config };
      },
      sink: () => this.runtimeEnvironment.deadLetters,
      now: () => this.now(),
      retryDelayMs: (retry) => retryDelayMs * retry,
      onDeliveryError: (error, event) => {
        this.invocations.push({
          functionName: event.functionName,
          requestId: event.requestId,
          invocationType: "Event",
          attempt: 0,
          cold: false,
          startMs: Date.now(),
          endMs: Date.now(),
          outcome: "error",
          error: { errorType: "DeadLetterDeliveryFailed", errorMessage: error.message },
          logs: "",
        });
      },
    });
  }

  /**
   * Tells Lambda what a running function's SDK clients need (the sandbox endpoint and credentials) and
   * where to dead-letter; startSandbox calls it once the control plane listens.
   */
  connect(runtime: FunctionRuntimeEnvironment): void {
    this.runtimeEnvironment = runtime;
  }

  /** Every real invocation so far, oldest first (GET /_sandbox/lambda/invocations). */
  listInvocations(): InvocationRecord[] {
    return this.invocations.map((record) => ({ ...record }));
  }

  /** Resolves once every accepted async invocation has run to its end, retries and dead-lettering included. */
  drainAsync(): Promise<void> {
    return this.asyncQueue.drain();
  }

  /** Stops the async queue and every execution environment. */
  close(): void {
    this.asyncQueue.close();
    for (const fn of this.functions.values()) fn.environment?.close();
  }

  async invokeAsync(functionArn: string, payload: string): Promise<{ requestId: string }> {
    const { fn, qualifier } = this.functionOf(functionArn);
    this.refuseQualifier(qualifier);
    this.runnableOf(fn);
    return { requestId: this.asyncQueue.accept(fn.name, this.functionArn(fn.name), payload) };
  }

  matches(req: IncomingMessage): boolean {
    const path = pathOf(req);
    return /^\/20\d\d-\d\d-\d\d\//.test(path) && !path.startsWith("/2013-04-01/");
  }

  operationOf(req: IncomingMessage): string | undefined {
    return (
      concurrencyRouteOf(req.method ?? "GET", pathOf(req))?.operation ??
      executionRouteOf(req.method ?? "GET", pathOf(req))?.operation ??
      routeOf(req.method ?? "GET", pathOf(req))?.operation
    );
  }

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    try {
      const concurrency = concurrencyRouteOf(req.method ?? "GET", pathOf(req));
      if (concurrency) {
        this.handleConcurrency(concurrency, body, req, res);
        return;
      }
      const execution = executionRouteOf(req.method ?? "GET", pathOf(req));
      if (execution) {
        await this.handleExecution(execution, req, body, res);
        return;
      }
      const route = routeOf(req.method ?? "GET", pathOf(req));
      const operation = route ? this.operations[route.operation] : undefined;
      if (!route || !operation) throw unknownOperation(`the Lambda operation ${req.method} ${pathOf(req)}`);
      const query = new URL(req.url ?? "/", "http://localhost").searchParams;
      const { fn, qualifier } = this.functionOf(route.functionName);
      if (qualifier !== undefined) {
        const given = query.get("Qualifier");
        if (given !== null && given !== qualifier) {
          throw new ServiceError(
            "InvalidParameterValueException",
            "The derived qualifier from the function name does not match the specified qualifier.",
          );
        }
        query.set("Qualifier", qualifier);
      }
      const answer = operation(fn, route, JsonInput.parse(body, INPUT_CODES), query);
      sendJsonBody(req, res, "rest-json", answer.status, answer.body);
    } catch (error) {
      const serviceError =
        error instanceof ServiceError
          ? error
          : new ServiceError(
              "ServiceException",
              `The sandbox's Lambda failed: ${(error as Error).message}`,
              500,
            );
      sendServiceError(req, res, "rest-json", serviceError);
    }
  }

  // ------------------------------------------------------------ reserved concurrency

  private handleConcurrency(
    route: ConcurrencyRoute,
    body: Buffer,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const { fn, qualifier } = this.functionOf(route.functionName);
    // These operations name a function, never a version or alias.
    if (qualifier !== undefined)
      throw validation(
        `Value '${route.functionName}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)`,
      );
    switch (route.operation) {
      case "PutFunctionConcurrency": {
        const input = JsonInput.parse(body, INPUT_CODES);
        if (!input.has("ReservedConcurrentExecutions"))
          throw validation(
            "Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null",
          );
        const reserved = input.optionalInteger("ReservedConcurrentExecutions")!;
        if (reserved < 0)
          throw validation(
            `Value '${reserved}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0`,
          );
        const limit = this.options.accountConcurrencyLimit ?? 1000;
        const reservedByOthers = [...this.functions.values()]
          .filter((other) => other !== fn)
          .reduce((sum, other) => sum + (other.reservedConcurrency ?? 0), 0);
        // Lowering a reservation always frees concurrency, so it is never refused.
        const lowering = fn.reservedConcurrency !== undefined && reserved <= fn.reservedConcurrency;
        if (!lowering && limit - reservedByOthers - reserved < MINIMUM_UNRESERVED_CONCURRENCY)
          throw new ServiceError(
            "InvalidParameterValueException",
            `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${MINIMUM_UNRESERVED_CONCURRENCY}].`,
          );
        fn.reservedConcurrency = reserved;
        sendJsonBody(req, res, "rest-json", 200, { ReservedConcurrentExecutions: reserved });
        return;
      }
      case "GetFunctionConcurrency":
        // A function without a reservation answers an empty object, not an error.
        sendJsonBody(
          req,
          res,
          "rest-json",
          200,
          fn.reservedConcurrency === undefined
            ? {}
            : { ReservedConcurrentExecutions: fn.reservedConcurrency },
        );
        return;
      case "DeleteFunctionConcurrency":
        delete fn.reservedConcurrency;
        sendJsonBody(req, res, "rest-json", 204, undefined);
        return;
    }
  }

  // ------------------------------------------------------------ running functions

  private async handleExecution(
    route: ExecutionRoute,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const query = new URL(req.url ?? "/", "http://localhost").searchParams;
    if (route.operation === "CreateFunction") {
      sendJsonBody(req, res, "rest-json", 201, this.createFunction(JsonInput.parse(body, INPUT_CODES)));
      return;
    }
    const { fn, qualifier } = this.functionOf(route.functionName);
    const given = query.get("Qualifier") ?? qualifier;
    switch (route.operation) {
      case "DeleteFunction":
        if (given !== null && given !== undefined)
          throw new ServiceError(
            "InvalidParameterValueException",
            "The sandbox deletes whole functions only; deleting one version is not modelled.",
          );
        fn.environment?.close();
        this.functions.delete(fn.name);
        sendJsonBody(req, res, "rest-json", 204, undefined);
        return;
      case "PutFunctionEventInvokeConfig":
        this.refuseQualifier(given);
        fn.eventInvokeConfig = readEventInvokeConfig(JsonInput.parse(body, INPUT_CODES), this.now());
        sendJsonBody(
          req,
          res,
          "rest-json",
          200,
          eventInvokeConfigShape(this.functionArn(fn.name), fn.eventInvokeConfig),
        );
        return;
      case "GetFunctionEventInvokeConfig":
        this.refuseQualifier(given);
        if (!fn.eventInvokeConfig)
          throw new ServiceError(
            "ResourceNotFoundException",
            `The function ${this.functionArn(fn.name)} doesn't have an EventInvokeConfig`,
            404,
          );
        sendJsonBody(
          req,
          res,
          "rest-json",
          200,
          eventInvokeConfigShape(this.functionArn(fn.name), fn.eventInvokeConfig),
        );
        return;
      case "Invoke":
        this.refuseQualifier(given);
        await this.invoke(fn, req, body, res);
        return;
    }
  }

  private refuseQualifier(qualifier: string | null | undefined): void {
    if (qualifier !== null && qualifier !== undefined && qualifier !== LATEST)
      throw new ServiceError(
        "InvalidParameterValueException",
        `The sandbox runs and configures $LATEST only; qualifier ${qualifier} is not modelled for this operation.`,
      );
  }

  private createFunction(input: JsonInput): Record<string, unknown> {
    const name = input.string("FunctionName");
    const parsed = parseFunctionReference(name);
    if (!parsed || parsed.qualifier !== undefined || parsed.name.length > 64)
      throw validation(
        `Value '${name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`,
      );
    const packageType = input.optionalString("PackageType") ?? "Zip";
    if (packageType !== "Zip")
      throw input.invalid("The sandbox runs Zip packages only; PackageType Image is not modelled.");
    const code = input.optionalObject("Code");
    const zipText = code?.ZipFile;
    if (typeof zipText !== "string")
      throw input.invalid(
        "Please provide a source for function code: Code.ZipFile (the sandbox does not read S3Bucket/S3Key or ImageUri).",
      );
    const zip = Buffer.from(zipText, "base64");
    if (!isZipArchive(zip))
      throw input.invalid("Could not unzip uploaded file. Please check your file, then try to upload again.");
    const config = readCreateFunction(input, zip);
    try {
      readZip(zip);
    } catch {
      throw input.invalid("Could not unzip uploaded file. Please check your file, then try to upload again.");
    }
    if (this.functions.has(parsed.name))
      throw new ServiceError("ResourceConflictException", `Function already exist: ${parsed.name}`, 409);
    const now = this.now();
    const fn: FunctionState = {
      name: parsed.name,
      runtime: config.runtime,
      memorySize: config.memorySize,
      latest: {
        version: LATEST,
        code: { packageType: "Zip", codeSha256: sha256Base64(zip), codeSize: zip.length },
        description: config.description,
        lastModified: now,
        revisionId: randomUUID(),
      },
      updateCompletesAt: 0,
      versions: [],
      aliases: new Map(),
      runnable: config,
    };
    // Like Lambda, a package without the handler's file is accepted; the invoke fails with Runtime.ImportModuleError.
    this.functions.set(fn.name, fn);
    if (input.optionalBoolean("Publish") === true) this.publish(fn, config.description);
    return this.configurationOf(fn, fn.latest);
  }

  private runnableOf(fn: FunctionState): RunnableConfig {
    if (!fn.runnable)
      throw new ServiceError(
        "InvalidParameterValueException",
        `The sandbox simulates ${fn.name} for the data plane only and has no handler to run; functions created with CreateFunction are invoked.`,
      );
    return fn.runnable;
  }

  private async invoke(
    fn: FunctionState,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const typeHeader = req.headers["x-amz-invocation-type"];
    const type = typeof typeHeader === "string" ? typeHeader : "RequestResponse";
    // Reserved concurrency 0 throttles every synchronous invocation (async ones wait in the queue on AWS).
    if (fn.reservedConcurrency === 0 && type === "RequestResponse")
      throw new ServiceError("TooManyRequestsException", "Rate Exceeded.", 429, {
        Type: "User",
        Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
      });
    if (type !== "RequestResponse" && type !== "Event" && type !== "DryRun")
      throw validation(
        `Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      );
    const limit = type === "Event" ? 1_048_576 : 6_291_456;
    if (body.length > limit)
      throw new ServiceError(
        "RequestTooLargeException",
        `Request must be smaller than ${limit} bytes for the Invoke operation`,
        413,
      );
    const payload = body.length === 0 ? "{}" : body.toString("utf8");
    try {
      JSON.parse(payload);
    } catch (error) {
      throw new ServiceError(
        "InvalidRequestContentException",
        `Could not parse request body into json: ${(error as Error).message}`,
        400,
      );
    }
    this.runnableOf(fn);
    if (type === "DryRun") {
      sendJsonBody(req, res, "rest-json", 204, undefined);
      return;
    }
    if (type === "Event") {
      const requestId = this.asyncQueue.accept(fn.name, this.functionArn(fn.name), payload);
      res.writeHead(202, { "x-amzn-requestid": requestId, "content-length": 0 });
      res.end();
      return;
    }
    const requestId = randomUUID();
    const outcome = await this.execute(fn, requestId, payload, "RequestResponse", 1);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-amzn-requestid": requestId,
      "x-amz-executed-version": LATEST,
    };
    if (outcome.functionError) headers["x-amz-function-error"] = outcome.functionError;
    if (req.headers["x-amz-log-type"] === "Tail")
      headers["x-amz-log-result"] = Buffer.from(outcome.logs).subarray(-4096).toString("base64");
    res.writeHead(200, { ...headers, "content-length": Buffer.byteLength(outcome.payload) });
    res.end(outcome.payload);
  }

  /** Runs one invocation in the function's warm environment (starting it when cold) and records it. */
  private async execute(
    fn: FunctionState,
    requestId: string,
    payload: string,
    invocationType: "RequestResponse" | "Event",
    attempt: number,
  ): Promise<InvocationOutcome> {
    const config = this.runnableOf(fn);
    fn.environment ??= new ExecutionEnvironment({
      name: fn.name,
      arn: this.functionArn(fn.name),
      runtime: config.runtime,
      handler: config.handler,
      timeoutSeconds: config.timeout,
      memorySize: config.memorySize,
      zip: config.zip,
      environment: this.environmentOf(fn, config),
    });
    const outcome = await fn.environment.invoke(requestId, payload);
    this.invocations.push({
      functionName: fn.name,
      requestId,
      invocationType,
      attempt,
      cold: outcome.cold,
      startMs: outcome.startMs,
      endMs: outcome.endMs,
      outcome: outcome.outcome,
      ...(outcome.error ? { error: outcome.error } : {}),
      logs: outcome.logs,
    });
    return outcome;
  }

  private environmentOf(fn: FunctionState, config: RunnableConfig): Record<string, string> {
    const region = this.options.region;
    return {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      TZ: ":UTC",
      LANG: "en_US.UTF-8",
      ...config.variables,
      ...this.runtimeEnvironment.env,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${config.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: LATEST,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memorySize),
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `${new Date(this.now()).toISOString().slice(0, 10).replace(/-/g, "/")}/[$LATEST]${randomUUID().replace(/-/g, "")}`,
      _HANDLER: config.handler,
    };
  }

  // ------------------------------------------------------------ views

  /** The alias as the data plane sees it; undefined when the function or alias does not exist. */
  alias(functionName: string, alias: string): LambdaAliasView | undefined {
    const state = this.functions.get(functionName)?.aliases.get(alias);
    return (
      state && {
        functionVersion: state.functionVersion,
        additionalVersionWeights: { ...state.additionalVersionWeights },
      }
    );
  }

  /** The function's reserved concurrency; undefined when it has none (or does not exist). */
  reservedConcurrency(functionName: string): number | undefined {
    return this.functions.get(functionName)?.reservedConcurrency;
  }

  functionState(functionName: string): "Pending" | "Active" | "Inactive" | "Failed" | undefined {
    return this.functions.has(functionName) ? "Active" : undefined;
  }

  /** State for GET /_sandbox/state and --save-state. */
  snapshot(): Record<string, unknown> {
    return {
      functions: [...this.functions.values()].map((fn) => ({
        configuration: this.configurationOf(fn, fn.latest),
        versions: fn.versions.map((version) => this.configurationOf(fn, version)),
        aliases: [...fn.aliases.values()].map((alias) => this.aliasShape(fn, alias)),
        ...(fn.reservedConcurrency === undefined ? {} : { reservedConcurrency: fn.reservedConcurrency }),
      })),
    };
  }

  // ------------------------------------------------------------ operations

  private getFunction(fn: FunctionState, query: URLSearchParams): Record<string, unknown> {
    const version = this.resolveQualifier(fn, query.get("Qualifier"));
    const code =
      version.code.packageType === "Image"
        ? { RepositoryType: "ECR", ImageUri: version.code.imageUri, ResolvedImageUri: version.code.imageUri }
        : {
            RepositoryType: "S3",
            Location: `https://awslambda-${this.options.region}-tasks.s3.${this.options.region}.amazonaws.com/snapshots/${this.options.accountId}/${fn.name}-${version.revisionId}`,
          };
    return {
      Configuration: this.configurationOf(fn, version),
      Code: code,
      Tags: {},
      ...(fn.reservedConcurrency === undefined
        ? {}
        : { Concurrency: { ReservedConcurrentExecutions: fn.reservedConcurrency } }),
    };
  }

  private updateFunctionCode(fn: FunctionState, input: JsonInput): Record<string, unknown> {
    const code = this.readCodeSource(fn, input);
    this.checkRevision(input.optionalString("RevisionId"), fn.latest.revisionId);
    if (input.optionalBoolean("DryRun") === true) return this.configurationOf(fn, fn.latest);
    this.refuseWhileUpdating(fn);
    const now = this.now();
    fn.latest = { ...fn.latest, code, lastModified: now, revisionId: randomUUID() };
    fn.updateCompletesAt = now + this.updateMs;
    const zip = input.optionalString("ZipFile");
    if (fn.runnable && zip !== undefined) {
      // New code runs in a new environment: the warm one holds the old module.
      fn.runnable = { ...fn.runnable, zip: Buffer.from(zip, "base64") };
      fn.environment?.close();
      fn.environment = undefined;
    }
    if (input.optionalBoolean("Publish") === true) return this.configurationOf(fn, this.publish(fn, ""));
    return this.configurationOf(fn, fn.latest);
  }

  private readCodeSource(fn: FunctionState, input: JsonInput): FunctionCode {
    const zip = input.optionalString("ZipFile");
    const bucket = input.optionalString("S3Bucket");
    const key = input.optionalString("S3Key");
    const objectVersion = input.optionalString("S3ObjectVersion");
    const imageUri = input.optionalString("ImageUri");
    const sources = [
      zip !== undefined,
      bucket !== undefined || key !== undefined,
      imageUri !== undefined,
    ].filter(Boolean).length;
    if (sources === 0) throw input.invalid("Please provide a source for function code.");
    if (sources > 1)
      throw input.invalid(
        "Please provide exactly one source for function code: ZipFile, S3Bucket and S3Key, or ImageUri.",
      );
    const packageType = fn.latest.code.packageType;
    if (imageUri !== undefined) {
      if (packageType !== "Image")
        throw input.invalid("Please don't provide ImageUri when updating a function with packageType Zip.");
      if (
        !/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(
          imageUri,
        )
      ) {
        throw input.invalid(`Source image ${imageUri} is not valid. Provide a valid source image.`);
      }
      return { packageType, imageUri, codeSha256: sha256Base64(Buffer.from(imageUri)), codeSize: 0 };
    }
    if (packageType === "Image")
      throw input.invalid("Please provide ImageUri when updating a function with packageType Image.");
    if (zip !== undefined) {
      const bytes = Buffer.from(zip, "base64");
      if (!isZipArchive(bytes))
        throw input.invalid(
          "Could not unzip uploaded file. Please check your file, then try to upload again.",
        );
      return { packageType, codeSha256: sha256Base64(bytes), codeSize: bytes.length };
    }
    if (!bucket || !key)
      throw input.invalid("Please provide both S3Bucket and S3Key for function code stored in S3.");
    const location = `s3://${bucket}/${key}${objectVersion === undefined ? "" : `?versionId=${objectVersion}`}`;
    return { packageType, codeSha256: sha256Base64(Buffer.from(location)), codeSize: location.length };
  }

  private publishVersion(fn: FunctionState, input: JsonInput): Record<string, unknown> {
    const codeSha256 = input.optionalString("CodeSha256");
    this.checkRevision(input.optionalString("RevisionId"), fn.latest.revisionId);
    this.refuseWhileUpdating(fn);
    if (codeSha256 !== undefined && codeSha256 !== fn.latest.code.codeSha256) {
      throw input.invalid(
        `CodeSHA256 (${codeSha256}) is different from current CodeSHA256 in $LATEST (${fn.latest.code.codeSha256}). Please try again`,
      );
    }
    return this.configurationOf(fn, this.publish(fn, input.optionalString("Description") ?? ""));
  }

  /**
   * Publishes $LATEST; like Lambda, returns the newest version instead when its code and
   * configuration are unchanged since it. Lambda compares the code's hash (CodeSha256), not
   * when it was uploaded: the same package uploaded again publishes nothing new. The
   * configuration (runtime, memory) cannot change in the sandbox, so the code is all there is to compare.
   */
  private publish(fn: FunctionState, description: string): VersionState {
    const newest = fn.versions[fn.versions.length - 1];
    if (
      newest &&
      newest.code.packageType === fn.latest.code.packageType &&
      newest.code.codeSha256 === fn.latest.code.codeSha256
    )
      return newest;
    const version: VersionState = {
      version: String(Number(newest?.version ?? 0) + 1),
      code: { ...fn.latest.code },
      description,
      lastModified: Math.max(this.now(), fn.latest.lastModified),
      revisionId: randomUUID(),
    };
    fn.versions.push(version);
    return version;
  }

  private listVersions(fn: FunctionState, query: URLSearchParams): Record<string, unknown> {
    const maxItems = readMaxItems(query.get("MaxItems"));
    const all = [fn.latest, ...fn.versions];
    const marker = query.get("Marker");
    const from = marker === null ? 0 : readMarker(marker, all.length);
    const page = all.slice(from, from + maxItems);
    const next = from + maxItems < all.length ? encodeMarker(from + maxItems) : undefined;
    return {
      Versions: page.map((version) => this.configurationOf(fn, version)),
      ...(next === undefined ? {} : { NextMarker: next }),
    };
  }

  private createAlias(fn: FunctionState, input: JsonInput): Record<string, unknown> {
    const name = input.string("Name");
    if (!ALIAS_NAME.test(name))
      throw validation(
        `Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)`,
      );
    if (fn.aliases.has(name))
      throw new ServiceError(
        "ResourceConflictException",
        `Alias already exists: ${this.functionArn(fn.name)}:${name}`,
        409,
      );
    const functionVersion = input.string("FunctionVersion");
    this.version(fn, functionVersion);
    const weights = this.readRouting(fn, functionVersion, input.optionalObject("RoutingConfig")) ?? {};
    const alias: AliasState = {
      name,
      functionVersion,
      description: input.optionalString("Description") ?? "",
      additionalVersionWeights: weights,
      revisionId: randomUUID(),
    };
    fn.aliases.set(name, alias);
    return this.aliasShape(fn, alias);
  }

  private updateAlias(fn: FunctionState, name: string, input: JsonInput): Record<string, unknown> {
    const alias = this.aliasOf(fn, name);
    this.checkRevision(input.optionalString("RevisionId"), alias.revisionId);
    const functionVersion = input.optionalString("FunctionVersion") ?? alias.functionVersion;
    this.version(fn, functionVersion);
    const routing = input.optionalObject("RoutingConfig");
    // Without RoutingConfig the alias keeps its routing, which must still fit the (possibly new) primary version.
    const weights =
      routing === undefined
        ? this.readRouting(fn, functionVersion, { AdditionalVersionWeights: alias.additionalVersionWeights })
        : this.readRouting(fn, functionVersion, routing);
    alias.functionVersion = functionVersion;
    alias.additionalVersionWeights = weights ?? {};
    const description = input.optionalString("Description");
    if (description !== undefined) alias.description = description;
    alias.revisionId = randomUUID();
    return this.aliasShape(fn, alias);
  }

  private readRouting(
    fn: FunctionState,
    functionVersion: string,
    routing: Record<string, unknown> | undefined,
  ): Record<string, number> | undefined {
    if (routing === undefined) return undefined;
    const raw = routing.AdditionalVersionWeights;
    if (raw === undefined || raw === null) return {};
    if (typeof raw !== "object" || Array.isArray(raw))
      throw new ServiceError(
        "InvalidRequestContentException",
        "RoutingConfig.AdditionalVersionWeights must be a map from version to weight.",
      );
    const entries = Object.entries(raw as Record<string, unknown>);
    // Lambda checks the count before the entries, and refuses it as a parameter value, not a validation error.
    if (entries.length > 1) {
      throw new ServiceError(
        "InvalidParameterValueException",
        "Number of items in AdditionalVersionWeights cannot be greater than 1",
      );
    }
    const weights: Record<string, number> = {};
    for (const [version, weight] of entries) {
      if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0 || weight > 1) {
        throw validation(
          `Value '{${version}=${JSON.stringify(weight)}}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]`,
        );
      }
      if (version === functionVersion) {
        throw new ServiceError(
          "InvalidParameterValueException",
          `Invalid function version ${functionVersion}. Function version ${functionVersion} is already included in routing configuration.`,
        );
      }
      if (functionVersion === LATEST) {
        throw new ServiceError(
          "InvalidParameterValueException",
          "$LATEST is not supported for an alias pointing to more than 1 version",
        );
      }
      // A routing key must be a published version number: "$LATEST" fails the map key's pattern.
      if (!/^[0-9]+$/.test(version)) {
        throw validation(
          `Value '{${version}=${weight}}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]`,
        );
      }
      this.version(fn, version);
      weights[version] = weight;
    }
    return weights;
  }

  // ------------------------------------------------------------ state helpers

  private aliasOf(fn: FunctionState, alias: string): AliasState {
    const state = fn.aliases.get(alias);
    if (!state)
      throw new ServiceError(
        "ResourceNotFoundException",
        `Cannot find alias arn: ${this.functionArn(fn.name)}:${alias}`,
        404,
      );
    return state;
  }

  private refuseWhileUpdating(fn: FunctionState): void {
    if (this.now() < fn.updateCompletesAt) {
      throw new ServiceError(
        "ResourceConflictException",
        `The operation cannot be performed at this time. An update is in progress for resource: ${this.functionArn(fn.name)}`,
        409,
      );
    }
  }

  private checkRevision(given: string | undefined, current: string): void {
    if (given !== undefined && given !== current) {
      throw new ServiceError(
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
        412,
      );
    }
  }

  private functionOf(reference: string): { fn: FunctionState; qualifier?: string } {
    const parsed = parseFunctionReference(reference);
    if (!parsed)
      throw validation(
        `Value '${reference}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`,
      );
    const fn = this.functions.get(parsed.name);
    if (!fn)
      throw new ServiceError(
        "ResourceNotFoundException",
        `Function not found: ${this.functionArn(parsed.name)}`,
        404,
      );
    return parsed.qualifier === undefined ? { fn } : { fn, qualifier: parsed.qualifier };
  }

  private resolveQualifier(fn: FunctionState, qualifier: string | null): VersionState {
    if (qualifier === null || qualifier === LATEST) return fn.latest;
    if (/^\d+$/.test(qualifier)) return this.version(fn, qualifier);
    const alias = fn.aliases.get(qualifier);
    if (!alias)
      throw new ServiceError(
        "ResourceNotFoundException",
        `Function not found: ${this.functionArn(fn.name)}:${qualifier}`,
        404,
      );
    return this.version(fn, alias.functionVersion);
  }

  private version(fn: FunctionState, version: string): VersionState {
    if (version === LATEST) return fn.latest;
    const found = fn.versions.find((candidate) => candidate.version === version);
    if (!found)
      throw new ServiceError(
        "ResourceNotFoundException",
        `Function not found: ${this.functionArn(fn.name)}:${version}`,
        404,
      );
    return found;
  }

  private functionArn(name: string): string {
    return `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${name}`;
  }

  // ------------------------------------------------------------ wire shapes

  private configurationOf(fn: FunctionState, version: VersionState): Record<string, unknown> {
    const isLatest = version === fn.latest;
    const updating = isLatest && this.now() < fn.updateCompletesAt;
    return {
      FunctionName: fn.name,
      FunctionArn: isLatest ? this.functionArn(fn.name) : `${this.functionArn(fn.name)}:${version.version}`,
      ...(version.code.packageType === "Zip"
        ? { Runtime: fn.runtime, Handler: fn.runnable?.handler ?? "index.handler" }
        : {}),
      Role: fn.runnable?.role ?? `arn:aws:iam::${this.options.accountId}:role/${fn.name}-execution`,
      CodeSize: version.code.codeSize,
      Description: version.description,
      Timeout: fn.runnable?.timeout ?? 30,
      ...(fn.runnable && Object.keys(fn.runnable.variables).length > 0
        ? { Environment: { Variables: { ...fn.runnable.variables } } }
        : {}),
      ...(fn.runnable?.deadLetterTargetArn
        ? { DeadLetterConfig: { TargetArn: fn.runnable.deadLetterTargetArn } }
        : {}),
      MemorySize: fn.memorySize,
      LastModified: lambdaTimestamp(version.lastModified),
      CodeSha256: version.code.codeSha256,
      Version: version.version,
      TracingConfig: { Mode: "PassThrough" },
      RevisionId: version.revisionId,
      State: "Active",
      LastUpdateStatus: updating ? "InProgress" : "Successful",
      ...(updating
        ? { LastUpdateStatusReason: "The function is being updated.", LastUpdateStatusReasonCode: "Updating" }
        : {}),
      PackageType: version.code.packageType,
      Architectures: ["x86_64"],
      EphemeralStorage: { Size: 512 },
      SnapStart: { ApplyOn: "None", OptimizationStatus: "Off" },
      LoggingConfig: { LogFormat: "Text", LogGroup: `/aws/lambda/${fn.name}` },
    };
  }

  private aliasShape(fn: FunctionState, alias: AliasState): Record<string, unknown> {
    return {
      AliasArn: `${this.functionArn(fn.name)}:${alias.name}`,
      Name: alias.name,
      FunctionVersion: alias.functionVersion,
      Description: alias.description,
      ...(Object.keys(alias.additionalVersionWeights).length === 0
        ? {}
        : { RoutingConfig: { AdditionalVersionWeights: { ...alias.additionalVersionWeights } } }),
      RevisionId: alias.revisionId,
    };
  }

  private seedFunction(seed: NonNullable<SandboxSeed["lambda"]>["functions"][number]): void {
    const now = this.now();
    const code: FunctionCode = {
      packageType: "Zip",
      codeSha256: sha256Base64(EMPTY_ZIP),
      codeSize: EMPTY_ZIP.length,
    };
    const fn: FunctionState = {
      name: seed.name,
      runtime: seed.runtime ?? "nodejs22.x",
      memorySize: seed.memorySize ?? 512,
      latest: { version: LATEST, code, description: "", lastModified: now, revisionId: randomUUID() },
      updateCompletesAt: 0,
      versions: [],
      aliases: new Map(),
    };
    // Versions up to the highest one an alias names are published, each as its own code revision.
    const highest = Math.max(
      1,
      ...seed.aliases.map((alias) =>
        alias.version && /^\d+$/.test(alias.version) ? Number(alias.version) : 1,
      ),
    );
    for (let index = 1; index <= highest; index++) {
      const bytes = Buffer.concat([EMPTY_ZIP, Buffer.from(`seed ${index}`)]);
      fn.versions.push({
        version: String(index),
        code: { ...code, codeSha256: sha256Base64(bytes) },
        description: `seed version ${index}`,
        lastModified: now,
        revisionId: randomUUID(),
      });
    }
    const newest = fn.versions[fn.versions.length - 1];
    if (newest) fn.latest.code = { ...newest.code };
    for (const alias of seed.aliases) {
      fn.aliases.set(alias.name, {
        name: alias.name,
        functionVersion: alias.version ?? "1",
        description: "",
        additionalVersionWeights: {},
        revisionId: randomUUID(),
      });
    }
    this.functions.set(seed.name, fn);
  }
}

// ---------------------------------------------------------------- routing and formats

type ExecutionRoute =
  | { operation: "CreateFunction" }
  | {
      operation:
        | "DeleteFunction"
        | "Invoke"
        | "PutFunctionEventInvokeConfig"
        | "GetFunctionEventInvokeConfig";
      functionName: string;
    };

type ConcurrencyRoute = {
  operation: "PutFunctionConcurrency" | "GetFunctionConcurrency" | "DeleteFunctionConcurrency";
  functionName: string;
};

/** The reserved concurrency operations; Get lives under a later API version than Put and Delete. */
function concurrencyRouteOf(method: string, path: string): ConcurrencyRoute | undefined {
  const match = /^\/(2017-10-31|2019-09-30)\/functions\/([^/]+)\/concurrency\/?$/.exec(path);
  if (!match) return undefined;
  const functionName = decodeURIComponent(match[2] ?? "");
  if (match[1] === "2019-09-30")
    return method === "GET" ? { operation: "GetFunctionConcurrency", functionName } : undefined;
  if (method === "PUT") return { operation: "PutFunctionConcurrency", functionName };
  if (method === "DELETE") return { operation: "DeleteFunctionConcurrency", functionName };
  return undefined;
}

/** The operations that create, delete, run and configure the running of functions. */
function executionRouteOf(method: string, path: string): ExecutionRoute | undefined {
  if (method === "POST" && /^\/2015-03-31\/functions\/?$/.test(path)) return { operation: "CreateFunction" };
  const invocation = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/.exec(path);
  if (invocation && method === "POST")
    return { operation: "Invoke", functionName: decodeURIComponent(invocation[1] ?? "") };
  const config = /^\/2019-09-25\/functions\/([^/]+)\/event-invoke-config\/?$/.exec(path);
  if (config && (method === "PUT" || method === "GET"))
    return {
      operation: method === "PUT" ? "PutFunctionEventInvokeConfig" : "GetFunctionEventInvokeConfig",
      functionName: decodeURIComponent(config[1] ?? ""),
    };
  const fn = /^\/2015-03-31\/functions\/([^/]+)\/?$/.exec(path);
  if (fn && method === "DELETE")
    return { operation: "DeleteFunction", functionName: decodeURIComponent(fn[1] ?? "") };
  return undefined;
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

function routeOf(method: string, path: string): Route | undefined {
  const match = /^\/2015-03-31\/functions\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/.exec(path);
  if (!match) return undefined;
  const functionName = decodeURIComponent(match[1] ?? "");
  const [sub, item] = [match[2], match[3] === undefined ? undefined : decodeURIComponent(match[3])];
  const key = `${method} ${sub ?? ""}${item === undefined ? "" : "/*"}`;
  const operation = ROUTES[key];
  if (!operation) return undefined;
  return item === undefined ? { operation, functionName } : { operation, functionName, alias: item };
}

const ROUTES: Record<string, string> = {
  "GET ": "GetFunction",
  "GET configuration": "GetFunctionConfiguration",
  "PUT code": "UpdateFunctionCode",
  "POST versions": "PublishVersion",
  "GET versions": "ListVersionsByFunction",
  "GET aliases/*": "GetAlias",
  "POST aliases": "CreateAlias",
  "PUT aliases/*": "UpdateAlias",
};

/** Name, partial ARN or ARN, with an optional ":qualifier". */
function parseFunctionReference(reference: string): { name: string; qualifier?: string } | undefined {
  const match =
    /^(?:arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d:\d{12}:function:|\d{12}:function:)?([a-zA-Z0-9-_.]{1,140})(?::(\$LATEST|[a-zA-Z0-9-_]+))?$/.exec(
      reference,
    );
  if (!match?.[1]) return undefined;
  return match[2] === undefined ? { name: match[1] } : { name: match[1], qualifier: match[2] };
}

function validation(message: string): ServiceError {
  return new ServiceError("ValidationException", `1 validation error detected: ${message}`, 400);
}

function readMaxItems(raw: string | null): number {
  if (raw === null) return 50;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 10_000) {
    throw validation(
      `Value '${raw}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000`,
    );
  }
  return value;
}

function encodeMarker(index: number): string {
  return Buffer.from(JSON.stringify({ v: index })).toString("base64url");
}

function readMarker(marker: string, size: number): number {
  try {
    const parsed = JSON.parse(Buffer.from(marker, "base64url").toString("utf8")) as { v?: unknown };
    if (typeof parsed.v === "number" && Number.isInteger(parsed.v) && parsed.v >= 0 && parsed.v <= size)
      return parsed.v;
  } catch {
    // Falls through to the error below.
  }
  throw new ServiceError(
    "InvalidParameterValueException",
    `Marker ${JSON.stringify(marker)} is not a marker this function's version listing returned.`,
  );
}

function isZipArchive(bytes: Buffer): boolean {
  if (bytes.length < 22 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) return false;
  return (bytes[2] === 0x03 && bytes[3] === 0x04) || (bytes[2] === 0x05 && bytes[3] === 0x06);
}

function sha256Base64(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("base64");
}

/** Lambda's LastModified format, e.g. 2024-05-01T12:00:00.000+0000. */
function lambdaTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace("Z", "+0000");
}
