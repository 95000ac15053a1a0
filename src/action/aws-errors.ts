/**
 * AWS failures as people need to read them: which service and operation failed
 * after the SDK's retries, and whether the failed call can have changed anything.
 * Added once to every client, outside the retry middleware, so it sees only the
 * final error; the error keeps its name and metadata (callers still recognise
 * throttling or a 412 by name), only its message says more.
 */
import type { InitializeHandlerOptions, InitializeMiddleware, MetadataBearer } from "@smithy/types";

/** Service names as AWS writes them, by SDK client name. */
const SERVICES: Record<string, string> = {
  Route53Client: "Route 53",
  CloudWatchClient: "CloudWatch",
  ECSClient: "ECS",
  LambdaClient: "Lambda",
  EventBridgeClient: "EventBridge",
  S3Client: "S3",
  SQSClient: "SQS",
  ElasticLoadBalancingV2Client: "Elastic Load Balancing",
};

/** Operations that only read: their failure changed nothing, whatever the error. */
const READ_ONLY = /^(Get|List|Describe|Head)/;

const MARK = Symbol.for("cutover.aws-error-described");

/** What a failed call can have changed, from its operation and the error's fault. */
export function changeStatement(
  operation: string,
  error: { $fault?: string; $metadata?: { httpStatusCode?: number } },
): string {
  if (READ_ONLY.test(operation)) return "it only reads, so nothing was changed by it";
  const status = error.$metadata?.httpStatusCode;
  if (error.$fault === "client" && status !== undefined && status !== 429)
    return "AWS refused it, so nothing was changed by it";
  return "AWS may or may not have applied it (no answer, a server error or throttling): re-run to converge, the actions are idempotent";
}

/** The message of a failed AWS call: service, operation, attempts, AWS's own words, what it changed. */
export function describeAwsError(clientName: string, commandName: string, error: unknown): string {
  const operation = commandName.replace(/Command$/, "");
  const service = SERVICES[clientName] ?? clientName.replace(/Client$/, "");
  const named = (error ?? {}) as {
    name?: string;
    message?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number; attempts?: number };
  };
  const attempts = named.$metadata?.attempts;
  return (
    `${service} ${operation} failed${attempts ? ` after ${attempts} attempt${attempts === 1 ? "" : "s"}` : ""}: ` +
    `${named.name ?? "Error"}: ${named.message ?? String(error)}; ${changeStatement(operation, named)}`
  );
}

const OPTIONS: InitializeHandlerOptions & { name: string } = {
  step: "initialize",
  name: "cutoverDescribeAwsErrors",
};

/** Adds the description to every error `client` throws (once; idempotent). */
export function describeAwsErrors<C extends { middlewareStack: unknown }>(client: C): C {
  const stack = client.middlewareStack as {
    add(middleware: InitializeMiddleware<object, MetadataBearer>, options: typeof OPTIONS): void;
  };
  stack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof Error && !(error as unknown as Record<symbol, boolean>)[MARK]) {
          error.message = describeAwsError(
            String(context.clientName ?? ""),
            String(context.commandName ?? ""),
            error,
          );
          (error as unknown as Record<symbol, boolean>)[MARK] = true;
        }
        throw error;
      }
    },
    OPTIONS,
  );
  return client;
}
