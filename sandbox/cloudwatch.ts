/**
 * CloudWatch on the wire protocol the AWS SDK v3 client speaks: AWS JSON 1.0
 * (`X-Amz-Target: GraniteServiceVersion20100801.<Operation>`, content type
 * `application/x-amz-json-1.0`, timestamps as epoch seconds) in its
 * query-compatible flavour, where errors carry the legacy query error code in
 * `x-amzn-query-error` so the SDK raises its own exception classes; and on the
 * AWS Query protocol aws-cli 2 and botocore speak (form-encoded, XML answers),
 * for the same operations.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { gunzipSync } from "node:zlib";
import { CloudWatchError, cloudWatchErrors } from "./cloudwatch-errors.js";
import { readPutMetricData } from "./cloudwatch-input.js";
import { evaluateCloudWatchQueries, type MetricDataRequest, type QueryResult } from "./cloudwatch-queries.js";
import {
  CLOUDWATCH_API_VERSION,
  decodeQueryRequest,
  encodeQueryError,
  encodeQueryResponse,
  isCloudWatchQueryRequest,
  QueryDecodeError,
} from "./cloudwatch-query-protocol.js";
import { getMetricStatistics, listMetrics } from "./cloudwatch-statistics.js";
import type { MetricStore } from "./metric-store.js";
import { amzTarget, requestIdOf, sendJsonBody } from "./protocol.js";
import type { ServiceHandler } from "./types.js";

/** The X-Amz-Target prefix of every CloudWatch operation. */
export const CLOUDWATCH_TARGET_PREFIX = "GraniteServiceVersion20100801.";

export { CloudWatchError, cloudWatchErrors };

/** Options of the CloudWatch service. */
export interface CloudWatchServiceOptions {
  /** The clock PutMetricData checks timestamps against; Date.now by default. */
  now?: () => number;
  /** Further operations served on the same endpoint (the alarms of cloudwatch-alarms.ts). */
  extraOperations?: Record<string, Operation>;
}

type Operation = (input: Record<string, unknown>) => Record<string, unknown>;

/** The CloudWatch service handler, storing into and querying `store`. */
export function createCloudWatchService(
  store: MetricStore,
  options: CloudWatchServiceOptions = {},
): ServiceHandler {
  const now = options.now ?? Date.now;
  const operations: Record<string, Operation> = {
    PutMetricData: (input) => {
      for (const datum of readPutMetricData(input, now())) store.putDatum(datum);
      return {};
    },
    GetMetricData: (input) => getMetricData(store, input, now()),
    GetMetricStatistics: (input) => getMetricStatistics(store, input, now()),
    ListMetrics: (input) => listMetrics(store, input),
    ...options.extraOperations,
  };
  return {
    name: "cloudwatch",
    matches: (req) => amzTarget(req).startsWith(CLOUDWATCH_TARGET_PREFIX) || isCloudWatchQueryRequest(req),
    operationOf: (req) => {
      const operationName = amzTarget(req).slice(CLOUDWATCH_TARGET_PREFIX.length);
      return Object.hasOwn(operations, operationName) ? operationName : undefined;
    },
    async handle(req, body, res) {
      if (isCloudWatchQueryRequest(req)) {
        answerQuery(req, body, res, operations);
        return;
      }
      const operationName = amzTarget(req).slice(CLOUDWATCH_TARGET_PREFIX.length);
      const operation = Object.hasOwn(operations, operationName) ? operations[operationName] : undefined;
      if (!operation) {
        sendError(req, res, {
          type: "com.amazon.coral.service#UnknownOperationException",
          queryCode: "UnknownOperationException",
          status: 400,
          message: `The sandbox's CloudWatch does not know the operation ${JSON.stringify(operationName)}; it serves ${Object.keys(operations).join(", ")}.`,
        });
        return;
      }
      let input: unknown;
      try {
        // The SDK gzips PutMetricData bodies above its minimum compression size, as CloudWatch accepts.
        const text = (req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body).toString("utf8");
        input = text.length === 0 ? {} : JSON.parse(text);
      } catch (error) {
        sendError(req, res, {
          type: "com.amazon.coral.service#SerializationException",
          queryCode: "SerializationException",
          status: 400,
          message: `The request body is not valid (gzipped) JSON: ${(error as Error).message}`,
        });
        return;
      }
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        sendError(req, res, {
          type: "com.amazon.coral.service#SerializationException",
          queryCode: "SerializationException",
          status: 400,
          message: "The request body must be a JSON object.",
        });
        return;
      }
      try {
        sendJsonBody(req, res, "json-1.0-query", 200, operation(input as Record<string, unknown>));
      } catch (error) {
        if (error instanceof CloudWatchError) {
          sendError(req, res, {
            type: `com.amazonaws.cloudwatch#${error.shape}`,
            queryCode: error.queryCode,
            status: error.status,
            message: error.message,
          });
          return;
        }
        sendError(req, res, {
          type: "com.amazonaws.cloudwatch#InternalServiceFault",
          queryCode: "InternalServiceError",
          status: 500,
          message: `The sandbox's CloudWatch failed: ${(error as Error).message}`,
        });
      }
    },
  };
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: { type: string; queryCode: string; status: number; message: string },
): void {
  // The body holds no "code" key: the query-compatible SDK would read it before the header.
  sendJsonBody(
    req,
    res,
    "json-1.0-query",
    error.status,
    { __type: error.type, message: error.message },
    { "x-amzn-query-error": `${error.queryCode};${error.status >= 500 ? "Receiver" : "Sender"}` },
  );
}

/** Serves a Query-protocol call with the same operations, in XML. */
function answerQuery(
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  operations: Record<string, Operation>,
): void {
  const requestId = requestIdOf(req);
  const { status, xml } = queryAnswer(
    body,
    req.headers["content-encoding"] === "gzip",
    operations,
    requestId,
  );
  res.writeHead(status, {
    "content-type": "text/xml",
    "content-length": Buffer.byteLength(xml),
    "x-amzn-requestid": requestId,
  });
  res.end(xml);
}

function queryAnswer(
  body: Buffer,
  gzipped: boolean,
  operations: Record<string, Operation>,
  requestId: string,
): { status: number; xml: string } {
  const fail = (code: string, message: string, status = 400) => ({
    status,
    xml: encodeQueryError(code, message, status, requestId),
  });
  let decoded: ReturnType<typeof decodeQueryRequest>;
  try {
    decoded = decodeQueryRequest((gzipped ? gunzipSync(body) : body).toString("utf8"));
  } catch (error) {
    if (error instanceof QueryDecodeError) return fail("InvalidParameterValue", error.message);
    return fail(
      "MalformedQueryString",
      `The request body is not a form-encoded query: ${(error as Error).message}`,
    );
  }
  const { action, version, input } = decoded;
  if (action === undefined) return fail("MissingAction", "The request must contain the parameter Action.");
  if (version !== CLOUDWATCH_API_VERSION) {
    return fail(
      "InvalidParameterValue",
      `The parameter Version must be ${CLOUDWATCH_API_VERSION}; got ${JSON.stringify(version ?? null)}.`,
    );
  }
  const operation = Object.hasOwn(operations, action) ? operations[action] : undefined;
  if (!operation) {
    return fail(
      "InvalidAction",
      `The action ${action} is not valid for this web service; the sandbox's CloudWatch serves ${Object.keys(operations).join(", ")}.`,
    );
  }
  try {
    return { status: 200, xml: encodeQueryResponse(action, operation(input), requestId) };
  } catch (error) {
    if (error instanceof CloudWatchError) return fail(error.queryCode, error.message, error.status);
    return fail("InternalServiceError", `The sandbox's CloudWatch failed: ${(error as Error).message}`, 500);
  }
}

/**
 * GetMetricData with AWS's paging: MaxDatapoints per call across all queries, continued by
 * NextToken, except for a request with metric math, whose overflow is PartialData with no NextToken.
 */
function getMetricData(
  store: MetricStore,
  input: Record<string, unknown>,
  now: number,
): Record<string, unknown> {
  const request = readMetricDataRequest(input, now);
  const results = evaluateCloudWatchQueries(store, request);
  const fingerprint = requestFingerprint(input);
  const offset = request.nextToken === undefined ? 0 : readNextToken(request.nextToken, fingerprint);
  return pageOf(results, request, offset, fingerprint);
}

function readMetricDataRequest(input: Record<string, unknown>, now: number): MetricDataRequest {
  const queries = input["MetricDataQueries"];
  if (queries === undefined) throw cloudWatchErrors.missing("The parameter MetricDataQueries is required.");
  if (!Array.isArray(queries)) throw cloudWatchErrors.invalidValue("MetricDataQueries must be a list.");
  if (queries.length === 0) {
    throw cloudWatchErrors.validation("The collection MetricDataQueries must contain at least 1 query.");
  }
  if (queries.length > 500) {
    throw cloudWatchErrors.validation(
      `The collection MetricDataQueries must not have a size greater than 500 (got ${queries.length}); split the queries over several GetMetricData calls.`,
    );
  }
  const startTime = readTimestamp(input, "StartTime");
  const endTime = readTimestamp(input, "EndTime");
  if (startTime >= endTime) {
    throw cloudWatchErrors.validation(
      `The parameter StartTime (${new Date(startTime).toISOString()}) must be less than the parameter EndTime (${new Date(endTime).toISOString()}).`,
    );
  }
  const scanBy = input["ScanBy"] ?? "TimestampDescending";
  if (scanBy !== "TimestampDescending" && scanBy !== "TimestampAscending") {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(scanBy)} for parameter ScanBy is invalid; use TimestampDescending or TimestampAscending.`,
    );
  }
  const maxDatapoints = input["MaxDatapoints"] ?? 100_800;
  if (typeof maxDatapoints !== "number" || !Number.isInteger(maxDatapoints) || maxDatapoints < 1) {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(maxDatapoints)} for parameter MaxDatapoints is invalid; it must be a positive integer.`,
    );
  }
  const nextToken = input["NextToken"];
  if (nextToken !== undefined && typeof nextToken !== "string") {
    throw cloudWatchErrors.invalidNextToken(
      "NextToken must be a string returned by a previous GetMetricData call.",
    );
  }
  return { queries, startTime, endTime, scanBy, maxDatapoints, nextToken, now };
}

function readTimestamp(input: Record<string, unknown>, name: string): number {
  const value = input[name];
  if (value === undefined) throw cloudWatchErrors.missing(`The parameter ${name} is required.`);
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw cloudWatchErrors.invalidValue(
      `The parameter ${name} must be a timestamp (epoch seconds), got ${JSON.stringify(value)}.`,
    );
  }
  return Math.round(value * 1000);
}

function requestFingerprint(input: Record<string, unknown>): string {
  const { NextToken: _ignored, ...rest } = input;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 16);
}

function readNextToken(token: string, fingerprint: string): number {
  try {
    const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
      o?: unknown;
      f?: unknown;
    };
    if (
      decoded.f === fingerprint &&
      typeof decoded.o === "number" &&
      Number.isInteger(decoded.o) &&
      decoded.o >= 0
    ) {
      return decoded.o;
    }
  } catch {
    // Falls through to the error below: a token that does not decode is as invalid as a mismatched one.
  }
  throw cloudWatchErrors.invalidNextToken(
    "The NextToken does not belong to this request: repeat the call with the same queries, time range and MaxDatapoints.",
  );
}

/** Slices the datapoints of all returned queries, in query order, into one page. */
function pageOf(
  results: QueryResult[],
  request: MetricDataRequest,
  offset: number,
  fingerprint: string,
): Record<string, unknown> {
  const pageEnd = offset + request.maxDatapoints;
  let position = 0;
  const page = results.map((result) => {
    const from = Math.min(Math.max(offset - position, 0), result.timestamps.length);
    const to = Math.min(Math.max(pageEnd - position, 0), result.timestamps.length);
    position += result.timestamps.length;
    const order = request.scanBy === "TimestampDescending" ? -1 : 1;
    const timestamps = order === 1 ? result.timestamps : [...result.timestamps].reverse();
    const values = order === 1 ? result.values : [...result.values].reverse();
    return {
      Id: result.id,
      Label: result.label,
      Timestamps: timestamps.slice(from, to).map((ms) => ms / 1000),
      Values: values.slice(from, to),
      StatusCode: to < result.timestamps.length ? "PartialData" : "Complete",
      Messages: result.messages,
    };
  });
  const output: Record<string, unknown> = { MetricDataResults: page, Messages: [] };
  // As CloudWatch documents: "NextToken is not returned if you are performing a math
  // expression". What does not fit is cut off, marked PartialData, with no way to continue.
  const math = request.queries.some(
    (query) => typeof query === "object" && query !== null && "Expression" in query,
  );
  if (pageEnd < position && !math) {
    output["NextToken"] = Buffer.from(JSON.stringify({ o: pageEnd, f: fingerprint })).toString("base64url");
  }
  return output;
}
