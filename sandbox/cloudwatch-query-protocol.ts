/**
 * CloudWatch on the AWS Query protocol, as aws-cli 2 and botocore speak it:
 * a form-encoded POST (`Action=GetMetricData&Version=2010-08-01&...`, lists as
 * `Name.member.N`, maps as `Name.entry.N.key/value`, timestamps in ISO 8601),
 * answered in XML (`<ActionResponse><ActionResult>...`) with errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error>`.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/making-api-requests.html
 *
 * The request is decoded into the same JSON-shaped input the AWS JSON 1.0
 * operations take (numbers, booleans, timestamps as epoch seconds) and their
 * output is encoded back, so both protocols run the same operation code.
 */
import type { IncomingMessage } from "node:http";
import { escapeXml, signingServiceOf } from "./protocol.js";

/** The API version every CloudWatch Query request carries. */
export const CLOUDWATCH_API_VERSION = "2010-08-01";
const NAMESPACE_URI = `http://monitoring.amazonaws.com/doc/${CLOUDWATCH_API_VERSION}/`;

/** Members whose Query values are numbers in the JSON shape. */
const NUMBER_MEMBERS = new Set([
  "Period",
  "Value",
  "Values",
  "Counts",
  "MaxDatapoints",
  "StorageResolution",
  "SampleCount",
  "Sum",
  "Minimum",
  "Maximum",
  "Threshold",
  "EvaluationPeriods",
  "DatapointsToAlarm",
  "MaxRecords",
]);
/** Members whose Query values are ISO 8601 timestamps, epoch seconds in the JSON shape. */
const TIMESTAMP_MEMBERS = new Set(["StartTime", "EndTime", "Timestamp", "Timestamps"]);
/** Members whose Query values are booleans. */
const BOOLEAN_MEMBERS = new Set([
  "ReturnData",
  "IncludeLinkedAccounts",
  "ActionsEnabled",
  "StrictEntityValidation",
]);

/** Whether a request is a CloudWatch Query-protocol call: form-encoded and signed for "monitoring". */
export function isCloudWatchQueryRequest(req: IncomingMessage): boolean {
  const contentType = req.headers["content-type"] ?? "";
  return (
    req.method === "POST" &&
    contentType.startsWith("application/x-www-form-urlencoded") &&
    signingServiceOf(req) === "monitoring"
  );
}

/** A decoded Query request: its Action, Version and the input in the JSON shape. */
export interface QueryRequest {
  action: string | undefined;
  version: string | undefined;
  input: Record<string, unknown>;
}

/** A Query value that does not decode (a number or timestamp that is not one), with the parameter it was given for. */
export class QueryDecodeError extends Error {}

/** Decodes a form-encoded Query body into the JSON-shaped input of its operation. */
export function decodeQueryRequest(body: string): QueryRequest {
  const params = new URLSearchParams(body);
  const root: Record<string, unknown> = {};
  let action: string | undefined;
  let version: string | undefined;
  for (const [key, value] of params) {
    if (key === "Action") action = value;
    else if (key === "Version") version = value;
    else assign(root, key.split("."), value, key);
  }
  return { action, version, input: normalise(root) as Record<string, unknown> };
}

// Lists arrive as Name.member.N and maps as Name.entry.N.key / Name.entry.N.value; both are first collected as
// index-keyed objects, then turned into arrays and maps in index order.
const LIST_MARK = "\u0000list";
const MAP_MARK = "\u0000map";

function assign(target: Record<string, unknown>, path: string[], value: string, key: string): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = coerce(head, value, key);
    return;
  }
  if (rest[0] === "member" || rest[0] === "entry") {
    const mark = rest[0] === "member" ? LIST_MARK : MAP_MARK;
    const index = rest[1];
    if (index === undefined || !/^\d+$/.test(index))
      throw new QueryDecodeError(`${key} is not a valid list or map entry.`);
    const collection = child(target, head, { [mark]: true });
    if (rest.length === 2) {
      collection[index] = coerce(head, value, key);
      return;
    }
    const entry = child(collection, index, {});
    assign(entry, rest.slice(2), value, key);
    if (mark === MAP_MARK && rest[2] === "value") entry["value"] = coerce(head, value, key);
    return;
  }
  assign(child(target, head, {}), rest, value, key);
}

/** The object at `target[name]`, created as `initial` when absent. */
function child(
  target: Record<string, unknown>,
  name: string,
  initial: Record<string, unknown>,
): Record<string, unknown> {
  if (typeof target[name] !== "object" || target[name] === null) target[name] = initial;
  return target[name] as Record<string, unknown>;
}

function normalise(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const object = value as Record<string, unknown>;
  if (object[LIST_MARK]) {
    return Object.keys(object)
      .filter((key) => key !== LIST_MARK)
      .sort((a, b) => Number(a) - Number(b))
      .map((key) => normalise(object[key]));
  }
  if (object[MAP_MARK]) {
    const map: Record<string, unknown> = {};
    for (const key of Object.keys(object)
      .filter((entry) => entry !== MAP_MARK)
      .sort((a, b) => Number(a) - Number(b))) {
      const entry = object[key] as { key?: unknown; value?: unknown };
      if (typeof entry.key === "string") map[entry.key] = normalise(entry.value);
    }
    return map;
  }
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(object)) result[key] = normalise(child);
  return result;
}

/** A dimension's Value is a string; a datum's Value is a number. */
function isDimensionMember(key: string): boolean {
  return /(^|\.)Dimensions\.member\.\d+\.[^.]+$/.test(key);
}

function coerce(member: string, value: string, key: string): unknown {
  if (NUMBER_MEMBERS.has(member) && !isDimensionMember(key)) {
    const number = Number(value);
    if (value.trim() === "" || !Number.isFinite(number)) {
      throw new QueryDecodeError(`The value ${JSON.stringify(value)} for parameter ${key} is not a number.`);
    }
    return number;
  }
  if (TIMESTAMP_MEMBERS.has(member)) {
    const iso = Date.parse(value);
    const epoch = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : iso;
    if (!Number.isFinite(epoch)) {
      throw new QueryDecodeError(
        `The value ${JSON.stringify(value)} for parameter ${key} is not an ISO 8601 timestamp such as 2030-01-01T00:00:00Z.`,
      );
    }
    return epoch / 1000;
  }
  if (BOOLEAN_MEMBERS.has(member)) {
    if (value !== "true" && value !== "false") {
      throw new QueryDecodeError(
        `The value ${JSON.stringify(value)} for parameter ${key} must be true or false.`,
      );
    }
    return value === "true";
  }
  return value;
}

/** The XML response of an operation's JSON-shaped output. */
export function encodeQueryResponse(
  action: string,
  output: Record<string, unknown>,
  requestId: string,
): string {
  const result = Object.entries(output)
    .map(([name, value]) => element(name, value))
    .join("");
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NAMESPACE_URI}">` +
    `<${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** The XML error document of the Query protocol. */
export function encodeQueryError(code: string, message: string, status: number, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${NAMESPACE_URI}"><Error>` +
    `<Type>${status >= 500 ? "Receiver" : "Sender"}</Type><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`
  );
}

/** Members whose JSON-shaped value is a map: written as entry/key/value, not as nested elements. */
const MAP_MEMBERS = new Set(["ExtendedStatistics"]);

function element(name: string, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) {
    return `<${name}>${value.map((item) => element("member", scalarFor(name, item))).join("")}</${name}>`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (MAP_MEMBERS.has(name)) {
      return `<${name}>${entries
        .map(([key, item]) => `<entry><key>${escapeXml(key)}</key><value>${text(item)}</value></entry>`)
        .join("")}</${name}>`;
    }
    return `<${name}>${entries.map(([key, item]) => element(key, item)).join("")}</${name}>`;
  }
  return `<${name}>${text(scalarFor(name, value))}</${name}>`;
}

/** Timestamps travel as epoch seconds in the JSON shape and as ISO 8601 in XML. */
function scalarFor(name: string, value: unknown): unknown {
  if (TIMESTAMP_MEMBERS.has(name) && typeof value === "number") return new Date(value * 1000).toISOString();
  return value;
}

function text(value: unknown): string {
  if (typeof value === "number") return String(value);
  return escapeXml(String(value));
}
