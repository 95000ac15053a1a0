/**
 * How EventBridge delivers a matched event to one target: Lambda functions
 * through the AsyncInvoker (an async "Event" invocation), SQS queues through
 * the DeadLetterSink (the event as the message body), and API
 * destinations by a real HTTP request to their endpoint with the
 * connection's authorization header. A retriable failure is retried with
 * exponential backoff and jitter until the target's RetryPolicy
 * (MaximumRetryAttempts, MaximumEventAgeInSeconds) is exhausted; a
 * non-retriable one (the function does not exist, a 4xx other than 401, 407,
 * 409, 429) is not retried. What still failed goes to the target's
 * DeadLetterConfig queue with ERROR_CODE, ERROR_MESSAGE,
 * EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS, RULE_ARN and TARGET_ARN.
 */
import { ServiceError } from "./protocol.js";
import type { AsyncInvoker, DeadLetterSink } from "./types.js";

/** A target as PutTargets stored it. */
export interface StoredTarget {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
  [other: string]: unknown;
}

/** An API destination with the connection whose authorization it sends. */
export interface ResolvedApiDestination {
  endpoint: string;
  httpMethod: string;
  /** Header name and value the connection adds, e.g. ["authorization", "Basic ..."]. */
  authorization?: [string, string];
}

/** One delivery of one event to one target, as GET /_sandbox/events reports it. */
export interface DeliveryRecord {
  ruleArn: string;
  targetId: string;
  targetArn: string;
  attempts: number;
  outcome: "pending" | "delivered" | "failed";
  /** The last failure's code and message. */
  errorCode?: string;
  errorMessage?: string;
  deadLettered: boolean;
  /** Why dead-lettering itself failed (no such queue), when it did. */
  deadLetterError?: string;
  /** Lambda's request id, or the API destination's HTTP status. */
  response?: string;
}

export interface DeliveryOptions {
  invoker?: AsyncInvoker;
  deadLetters?: DeadLetterSink;
  resolveApiDestination(arn: string): ResolvedApiDestination | undefined;
  now: () => number;
  /**
   * Multiplies every backoff delay; 1 waits as EventBridge does (from about a second, doubling), tests pass a small
   * value so retries take milliseconds.
   */
  retryBackoffScale: number;
}

const DEFAULT_MAX_RETRIES = 185;
const DEFAULT_MAX_AGE_SECONDS = 86_400;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5 * 60_000;
const HTTP_TIMEOUT_MS = 5000;
const RETRIED_STATUSES = new Set([401, 407, 409, 429]);

class DeliveryFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** Runs deliveries in the background; `settled()` waits for those under way. */
export class EventDelivery {
  private readonly running = new Set<Promise<void>>();
  /** Backoffs under way: each timer with the resolver that ends its wait. */
  private readonly waits = new Map<NodeJS.Timeout, (proceed: boolean) => void>();
  private closed = false;

  constructor(private readonly options: DeliveryOptions) {}

  /** Starts delivering `event` to `target`; the record is updated in place as attempts are made. */
  deliver(
    event: Record<string, unknown>,
    ruleArn: string,
    target: StoredTarget,
    record: DeliveryRecord,
  ): void {
    const run = this.run(event, ruleArn, target, record).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** Resolves once every delivery under way has finished (delivered, dropped or dead-lettered). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Ends waiting retries at once; their records stay pending with the last attempt's error. */
  close(): void {
    this.closed = true;
    for (const [timer, resolve] of this.waits) {
      clearTimeout(timer);
      resolve(false);
    }
    this.waits.clear();
  }

  private async run(
    event: Record<string, unknown>,
    ruleArn: string,
    target: StoredTarget,
    record: DeliveryRecord,
  ): Promise<void> {
    const maxRetries = target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_MAX_RETRIES;
    const maxAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? DEFAULT_MAX_AGE_SECONDS) * 1000;
    const receivedAt = this.options.now();
    let exhausted = "MaximumRetryAttempts";
    for (;;) {
      record.attempts++;
      try {
        record.response = await this.attempt(event, target);
        record.outcome = "delivered";
        delete record.errorCode;
        delete record.errorMessage;
        return;
      } catch (error) {
        const failure =
          error instanceof DeliveryFailure
            ? error
            : new DeliveryFailure("InternalFailure", String(error), true);
        record.errorCode = failure.code;
        record.errorMessage = failure.message;
        if (!failure.retriable) {
          exhausted = "NotRetriable";
          break;
        }
        if (record.attempts > maxRetries) break;
        if (this.options.now() - receivedAt >= maxAgeMs) {
          exhausted = "MaximumEventAgeInSeconds";
          break;
        }
        if (!(await this.backoff(record.attempts))) return;
      }
    }
    record.outcome = "failed";
    this.deadLetter(event, ruleArn, target, record, exhausted);
  }

  private async attempt(event: Record<string, unknown>, target: StoredTarget): Promise<string> {
    const payload = inputOf(event, target);
    if (/^arn:aws[a-z-]*:lambda:/.test(target.Arn)) {
      const invoker = this.options.invoker;
      if (!invoker)
        throw new DeliveryFailure("InternalFailure", "no Lambda invoker is wired into the sandbox", true);
      try {
        return (await invoker.invokeAsync(target.Arn, payload)).requestId;
      } catch (error) {
        if (error instanceof ServiceError) {
          const retriable =
            error.code !== "ResourceNotFoundException" && error.code !== "AccessDeniedException";
          throw new DeliveryFailure(error.code, error.message, retriable);
        }
        throw new DeliveryFailure("SDK_CLIENT_ERROR", (error as Error).message, true);
      }
    }
    if (/^arn:aws[a-z-]*:events:[^:]*:\d{12}:api-destination\//.test(target.Arn)) {
      const destination = this.options.resolveApiDestination(target.Arn);
      if (!destination)
        throw new DeliveryFailure(
          "ResourceNotFoundException",
          `API destination ${target.Arn} does not exist`,
          false,
        );
      return this.post(destination, payload);
    }
    if (/^arn:aws[a-z-]*:sqs:/.test(target.Arn)) {
      // An SQS target gets the event as a message body, through the same queue service dead letters go to.
      const queues = this.options.deadLetters;
      if (!queues) throw new DeliveryFailure("InternalFailure", "no SQS is wired into the sandbox", true);
      try {
        queues.sendToQueue(target.Arn, payload);
        return "sent";
      } catch (error) {
        const code = error instanceof ServiceError ? error.code : "InternalFailure";
        throw new DeliveryFailure(code, (error as Error).message, code !== "QueueDoesNotExist");
      }
    }
    throw new DeliveryFailure(
      "UnsupportedTarget",
      `the sandbox delivers to Lambda functions, SQS queues and API destinations only, not ${target.Arn} (see docs/sandbox.md)`,
      false,
    );
  }

  private async post(destination: ResolvedApiDestination, payload: string): Promise<string> {
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    if (destination.authorization) headers[destination.authorization[0]] = destination.authorization[1];
    let response: Response;
    try {
      response = await fetch(destination.endpoint, {
        method: destination.httpMethod,
        headers,
        ...(["GET", "HEAD"].includes(destination.httpMethod) ? {} : { body: payload }),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      await response.arrayBuffer();
    } catch (error) {
      throw new DeliveryFailure(
        "SDK_CLIENT_ERROR",
        `request to ${destination.endpoint} failed: ${(error as Error).message}`,
        true,
      );
    }
    if (response.status >= 200 && response.status < 300) return String(response.status);
    const retriable = response.status >= 500 || RETRIED_STATUSES.has(response.status);
    throw new DeliveryFailure(
      String(response.status),
      `${destination.endpoint} answered HTTP ${response.status}`,
      retriable,
    );
  }

  /** Waits the exponential, jittered backoff before retry `attempt`; false when the delivery was closed. */
  private backoff(attempt: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const ceiling = Math.min(FIRST_BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    const delay = (ceiling / 2 + Math.random() * (ceiling / 2)) * this.options.retryBackoffScale;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waits.delete(timer);
        resolve(!this.closed);
      }, delay);
      this.waits.set(timer, resolve);
    });
  }

  private deadLetter(
    event: Record<string, unknown>,
    ruleArn: string,
    target: StoredTarget,
    record: DeliveryRecord,
    exhausted: string,
  ): void {
    const queueArn = target.DeadLetterConfig?.Arn;
    if (!queueArn) return;
    if (!this.options.deadLetters) {
      record.deadLetterError = "no dead-letter sink is wired into the sandbox";
      return;
    }
    try {
      this.options.deadLetters.sendToQueue(queueArn, JSON.stringify(event), {
        ERROR_CODE: record.errorCode ?? "InternalFailure",
        ERROR_MESSAGE: record.errorMessage ?? "",
        EXHAUSTED_RETRY_CONDITION: exhausted,
        RETRY_ATTEMPTS: String(record.attempts - 1),
        RULE_ARN: ruleArn,
        TARGET_ARN: target.Arn,
      });
      record.deadLettered = true;
    } catch (error) {
      record.deadLetterError = (error as Error).message;
    }
  }
}

/** The payload a target receives: the event, its constant Input, or the part InputPath selects. */
function inputOf(event: Record<string, unknown>, target: StoredTarget): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined) {
    let value: unknown = event;
    for (const key of target.InputPath.replace(/^\$\.?/, "")
      .split(".")
      .filter(Boolean)) {
      value =
        typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
    return JSON.stringify(value ?? null);
  }
  return JSON.stringify(event);
}
