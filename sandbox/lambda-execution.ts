/**
 * What Lambda needs to really run functions created with CreateFunction: the
 * validation of their configuration (AWS's limits and messages), the event
 * invoke configuration, the record of every invocation, and the async queue
 * that retries a failed event and then hands the AWS-shaped failure record
 * to the on-failure destination and the dead-letter queue.
 */
import { randomUUID } from "node:crypto";
import type { JsonInput } from "./json-input.js";
import type { InvocationOutcome } from "./lambda-runtime.js";
import { ServiceError } from "./protocol.js";
import type { DeadLetterSink } from "./types.js";

/** Runtimes whose handlers the sandbox runs (in its own Node, whatever the version named). */
export const RUNNABLE_RUNTIMES = ["nodejs20.x", "nodejs22.x", "nodejs24.x"] as const;

/** Runtimes Lambda has deprecated for creating functions. */
const DEPRECATED_RUNTIMES =
  /^(nodejs(4\.3|6\.10|8\.10|10\.x|12\.x|14\.x|16\.x)?|python2\.7|python3\.[678]|dotnetcore[123]\.\d|ruby2\.[57]|go1\.x|java8)$/;

/** Keys the runtime sets itself; Lambda refuses them in Environment.Variables. */
const RESERVED_KEYS = new Set([
  "_HANDLER",
  "_X_AMZN_TRACE_ID",
  "AWS_DEFAULT_REGION",
  "AWS_REGION",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  "AWS_LAMBDA_FUNCTION_VERSION",
  "AWS_LAMBDA_INITIALIZATION_TYPE",
  "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME",
  "AWS_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API",
  "LAMBDA_TASK_ROOT",
  "LAMBDA_RUNTIME_DIR",
]);

const ROLE_ARN = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
const QUEUE_OR_TOPIC_ARN = /^arn:aws[a-zA-Z-]*:(sqs|sns):[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:[\w.-]+$/;
const DESTINATION_ARN =
  /^arn:aws[a-zA-Z-]*:(sqs|sns|lambda|events|s3):[a-z0-9-]*:\d{0,12}:.+$|^arn:aws[a-zA-Z-]*:s3:::[a-z0-9.-]+$/;

/** A function's configuration as CreateFunction set it. */
export interface RunnableConfig {
  runtime: string;
  handler: string;
  role: string;
  timeout: number;
  memorySize: number;
  description: string;
  variables: Record<string, string>;
  deadLetterTargetArn?: string;
  zip: Buffer;
}

/** The async invocation settings of PutFunctionEventInvokeConfig. */
export interface EventInvokeConfig {
  maximumRetryAttempts: number;
  maximumEventAgeInSeconds: number;
  onSuccess?: string;
  onFailure?: string;
  lastModified: number;
}

/** Lambda's defaults for an async invocation without an event invoke config. */
export const DEFAULT_EVENT_INVOKE: Omit<EventInvokeConfig, "lastModified"> = {
  maximumRetryAttempts: 2,
  maximumEventAgeInSeconds: 21_600,
};

function validation(message: string): ServiceError {
  return new ServiceError("ValidationException", `1 validation error detected: ${message}`, 400);
}

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterValueException", message, 400);
}

/** Reads CreateFunction's configuration; refuses what Lambda refuses, with its messages. */
export function readCreateFunction(input: JsonInput, zip: Buffer): RunnableConfig {
  const runtime = input.optionalString("Runtime");
  if (runtime === undefined)
    throw invalid("The runtime parameter is required for functions with package type Zip.");
  if (DEPRECATED_RUNTIMES.test(runtime))
    throw invalid(
      `The runtime parameter of ${runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.`,
    );
  if (!(RUNNABLE_RUNTIMES as readonly string[]).includes(runtime))
    throw invalid(
      `The sandbox runs only Node.js handlers; runtime ${runtime} is not modelled. Use one of: ${RUNNABLE_RUNTIMES.join(", ")}.`,
    );
  const handler = input.optionalString("Handler");
  if (handler === undefined) throw invalid("Handler is required for functions with package type Zip.");
  if (!/^[^\s]+$/.test(handler) || handler.length > 128)
    throw validation(
      `Value '${handler}' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+`,
    );
  if (!/^.+\.[^./]+$/.test(handler))
    throw invalid(`The handler ${handler} is not of the form file.export (e.g. index.handler).`);
  const role = input.string("Role");
  if (!ROLE_ARN.test(role))
    throw validation(
      `Value '${role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+`,
    );
  const timeout = readIntegerBetween(input, "Timeout", "timeout", 1, 900) ?? 3;
  const memorySize = readIntegerBetween(input, "MemorySize", "memorySize", 128, 10_240) ?? 128;
  const variables = readVariables(input.optionalObject("Environment"));
  const deadLetter = input.optionalObject("DeadLetterConfig");
  const target = deadLetter?.TargetArn;
  if (target !== undefined && (typeof target !== "string" || !QUEUE_OR_TOPIC_ARN.test(target)))
    throw invalid(
      `The provided DeadLetterConfig TargetArn ${JSON.stringify(target)} is not an SQS queue or SNS topic ARN.`,
    );
  return {
    runtime,
    handler,
    role,
    timeout,
    memorySize,
    description: input.optionalString("Description") ?? "",
    variables,
    ...(typeof target === "string" ? { deadLetterTargetArn: target } : {}),
    zip,
  };
}

function readIntegerBetween(
  input: JsonInput,
  field: string,
  member: string,
  min: number,
  max: number,
): number | undefined {
  const raw = input.raw[field];
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "number" || !Number.isInteger(raw))
    throw new ServiceError("InvalidRequestContentException", `${field} must be an integer.`, 400);
  if (raw < min)
    throw validation(
      `Value '${raw}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`,
    );
  if (raw > max)
    throw validation(
      `Value '${raw}' at '${member}' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
    );
  return raw;
}

function readVariables(environment: Record<string, unknown> | undefined): Record<string, string> {
  const raw = environment?.Variables;
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw new ServiceError("InvalidRequestContentException", "Environment.Variables must be a map.", 400);
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== "string")
      throw new ServiceError(
        "InvalidRequestContentException",
        `Environment.Variables.${key} must be a string.`,
        400,
      );
    if (!/^[a-zA-Z]([a-zA-Z0-9_])+$/.test(key))
      throw validation(
        `Value '${key}' at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]`,
      );
    variables[key] = value;
  }
  const reserved = Object.keys(variables).filter((key) => RESERVED_KEYS.has(key));
  if (reserved.length > 0)
    throw invalid(
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(", ")}`,
    );
  // Lambda measures the variables as the JSON map it stores: keys and values, 4 KB in all.
  const measured = JSON.stringify(variables);
  if (Buffer.byteLength(measured) > 4096)
    throw invalid(
      `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${measured}`,
    );
  return variables;
}

/** Reads PutFunctionEventInvokeConfig's body, keeping what an update leaves out from `previous`. */
export function readEventInvokeConfig(input: JsonInput, now: number): EventInvokeConfig {
  const retries = readIntegerBetween(input, "MaximumRetryAttempts", "maximumRetryAttempts", 0, 2);
  const age = readIntegerBetween(input, "MaximumEventAgeInSeconds", "maximumEventAgeInSeconds", 60, 21_600);
  const destinations = input.optionalObject("DestinationConfig");
  const destinationOf = (which: "OnSuccess" | "OnFailure"): string | undefined => {
    const entry = destinations?.[which] as { Destination?: unknown } | undefined;
    const arn = entry?.Destination;
    if (arn === undefined || arn === null) return undefined;
    if (typeof arn !== "string" || !DESTINATION_ARN.test(arn))
      throw invalid(
        `The destination ARN ${JSON.stringify(arn)} of DestinationConfig.${which} is invalid: use an SQS queue, SNS topic, Lambda function, EventBridge event bus or S3 bucket ARN.`,
      );
    return arn;
  };
  const onSuccess = destinationOf("OnSuccess");
  const onFailure = destinationOf("OnFailure");
  return {
    maximumRetryAttempts: retries ?? DEFAULT_EVENT_INVOKE.maximumRetryAttempts,
    maximumEventAgeInSeconds: age ?? DEFAULT_EVENT_INVOKE.maximumEventAgeInSeconds,
    ...(onSuccess ? { onSuccess } : {}),
    ...(onFailure ? { onFailure } : {}),
    lastModified: now,
  };
}

/** The wire shape of an event invoke config. */
export function eventInvokeConfigShape(
  functionArn: string,
  config: EventInvokeConfig,
): Record<string, unknown> {
  return {
    LastModified: config.lastModified / 1000,
    FunctionArn: functionArn,
    MaximumRetryAttempts: config.maximumRetryAttempts,
    MaximumEventAgeInSeconds: config.maximumEventAgeInSeconds,
    DestinationConfig: {
      OnSuccess: config.onSuccess ? { Destination: config.onSuccess } : {},
      OnFailure: config.onFailure ? { Destination: config.onFailure } : {},
    },
  };
}

/** One invocation as GET /_sandbox/lambda/invocations lists it. */
export interface InvocationRecord {
  functionName: string;
  requestId: string;
  invocationType: "RequestResponse" | "Event";
  /** 1 for the first attempt of an async event, 2 and 3 for its retries. */
  attempt: number;
  cold: boolean;
  startMs: number;
  endMs: number;
  outcome: InvocationOutcome["outcome"];
  error?: { errorType: string; errorMessage: string };
  logs: string;
}

/** An accepted async event. */
interface QueuedEvent {
  requestId: string;
  functionName: string;
  functionArn: string;
  payload: string;
  acceptedAt: number;
  attempts: number;
}

export interface AsyncQueueDeps {
  /** Runs one attempt; undefined when the function no longer exists. */
  run(event: {
    functionName: string;
    requestId: string;
    payload: string;
    attempt: number;
  }): Promise<InvocationOutcome | undefined>;
  /** The function's event invoke config and dead-letter target at the time of a failure. */
  settingsOf(
    functionName: string,
  ): { config: Omit<EventInvokeConfig, "lastModified">; deadLetterTargetArn?: string } | undefined;
  sink(): DeadLetterSink | undefined;
  now(): number;
  /** Delay before retry n (1-based): Lambda waits about a minute, then two; the sandbox scales this down for tests. */
  retryDelayMs(retry: number): number;
  /** Where a failure record that could not be delivered is reported. */
  onDeliveryError(error: Error, event: { functionName: string; requestId: string }): void;
}

/** The async invocation queue: each event runs, is retried per its function's config, then dead-lettered. */
export class AsyncInvocationQueue {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: AsyncQueueDeps) {}

  /** Accepts an event; it runs soon after, never before this returns. */
  accept(functionName: string, functionArn: string, payload: string): string {
    const requestId = randomUUID();
    const event: QueuedEvent = {
      requestId,
      functionName,
      functionArn,
      payload,
      acceptedAt: this.deps.now(),
      attempts: 0,
    };
    this.schedule(event, 0);
    return requestId;
  }

  /** Resolves once every queued event has run to its end (for tests and shutdown). */
  async drain(): Promise<void> {
    while (this.timers.size > 0 || this.running.size > 0) {
      await Promise.all([...this.running]);
      if (this.timers.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(event: QueuedEvent, delayMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // An attempt cut short by shutdown (its environment closed) ends the event; nothing is left to retry it.
      const attempt = this.attempt(event)
        .catch(() => undefined)
        .finally(() => this.running.delete(attempt));
      this.running.add(attempt);
    }, delayMs);
    this.timers.add(timer);
  }

  private async attempt(event: QueuedEvent): Promise<void> {
    const settings = this.deps.settingsOf(event.functionName);
    if (!settings) return;
    const ageSeconds = (this.deps.now() - event.acceptedAt) / 1000;
    if (event.attempts > 0 && ageSeconds > settings.config.maximumEventAgeInSeconds) {
      this.deadLetter(event, "EventAgeExceeded", undefined);
      return;
    }
    event.attempts++;
    const outcome = await this.deps.run({
      functionName: event.functionName,
      requestId: event.requestId,
      payload: event.payload,
      attempt: event.attempts,
    });
    if (!outcome || outcome.outcome === "success") return;
    if (event.attempts <= settings.config.maximumRetryAttempts) {
      this.schedule(event, this.deps.retryDelayMs(event.attempts));
      return;
    }
    this.deadLetter(event, "RetriesExhausted", outcome);
  }

  private deadLetter(event: QueuedEvent, condition: string, outcome: InvocationOutcome | undefined): void {
    const settings = this.deps.settingsOf(event.functionName);
    const sink = this.deps.sink();
    if (!settings || !sink) return;
    try {
      if (settings.config.onFailure?.includes(":sqs:")) {
        sink.sendToQueue(
          settings.config.onFailure,
          JSON.stringify(failureRecord(event, condition, outcome, this.deps.now())),
        );
      }
      if (settings.deadLetterTargetArn?.includes(":sqs:")) {
        // The dead-letter queue receives the event itself, with why it failed as message attributes.
        sink.sendToQueue(settings.deadLetterTargetArn, event.payload, {
          RequestID: event.requestId,
          ErrorCode: "200",
          ErrorMessage: outcome?.error?.errorMessage ?? condition,
        });
      }
    } catch (error) {
      this.deps.onDeliveryError(error as Error, event);
    }
  }
}

/** The record Lambda sends an on-failure destination for an async invocation that still failed. */
export function failureRecord(
  event: { requestId: string; functionArn: string; payload: string; attempts: number },
  condition: string,
  outcome: InvocationOutcome | undefined,
  now: number,
): Record<string, unknown> {
  return {
    version: "1.0",
    timestamp: new Date(now).toISOString(),
    requestContext: {
      requestId: event.requestId,
      functionArn: `${event.functionArn}:$LATEST`,
      condition,
      approximateInvokeCount: event.attempts,
    },
    requestPayload: parseOrText(event.payload),
    ...(outcome
      ? {
          responseContext: {
            statusCode: 200,
            executedVersion: "$LATEST",
            ...(outcome.functionError ? { functionError: outcome.functionError } : {}),
          },
          responsePayload: parseOrText(outcome.payload),
        }
      : {}),
  };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
