/**
 * SNS on the wire protocol the AWS SDK v3 client speaks: the AWS Query
 * protocol, version 2010-03-31 (a form-encoded POST signed for "sns",
 * `Action=Publish&Version=2010-03-31&...`, maps as `Name.entry.N.key/value`
 * or, for message attributes, `.Name`/`.Value`), answered in XML
 * (`<PublishResponse><PublishResult>...`) with errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error>`.
 *
 * Topics: CreateTopic (idempotent by name, refused when the attributes
 * differ), Publish, ListTopics (100 per page), GetTopicAttributes and
 * DeleteTopic. What AWS refuses, this refuses: topic names outside
 * [A-Za-z0-9_-]{1,256} (with ".fifo" exactly for FIFO topics), malformed
 * ARNs, topics that do not exist (NotFound), messages over 256 KiB with their
 * attributes, a Subject that is not short printable ASCII, more than ten
 * message attributes, FIFO publishes without a message group or
 * deduplication id. FIFO topics drop a repeated deduplication id within five
 * minutes, answering with the first message's id. Nothing is delivered to
 * subscribers (there are none); published messages are kept for tests,
 * served by GET /_sandbox/sns/messages.
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { escapeXml, requestIdOf, ServiceError, signingServiceOf } from "./protocol.js";
import type { ServiceHandler } from "./types.js";

export const SNS_API_VERSION = "2010-03-31";
const NAMESPACE_URI = `http://sns.amazonaws.com/doc/${SNS_API_VERSION}/`;
/** Message and attributes together, in bytes. */
export const SNS_MAX_PUBLISH_BYTES = 262_144;
const MAX_MESSAGE_ATTRIBUTES = 10;
const LIST_PAGE = 100;
const FIFO_DEDUPLICATION_MS = 5 * 60 * 1000;
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]+)$/;
const TOPIC_ATTRIBUTES = new Set([
  "DeliveryPolicy",
  "DisplayName",
  "FifoTopic",
  "Policy",
  "SignatureVersion",
  "TracingConfig",
  "KmsMasterKeyId",
  "ContentBasedDeduplication",
  "ArchivePolicy",
  "FifoThroughputScope",
]);

const errors = {
  invalid: (message: string) => new ServiceError("InvalidParameter", `Invalid parameter: ${message}`, 400),
  validation: (message: string) => new ServiceError("ValidationError", message, 400),
  notFound: (message: string) => new ServiceError("NotFound", message, 404),
};

interface Topic {
  arn: string;
  name: string;
  attributes: Record<string, string>;
  createdAt: number;
}

/** One message as published, for tests. */
export interface PublishedMessage {
  topicArn: string;
  messageId: string;
  message: string;
  subject?: string;
  attributes: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  sequenceNumber?: string;
  publishedAt: number;
}

export interface SnsOptions {
  region: string;
  accountId: string;
  now?: () => number;
}

type Params = URLSearchParams;
type Operation = (params: Params) => [string, unknown][];

export class SnsService implements ServiceHandler {
  readonly name = "sns";
  private readonly topics = new Map<string, Topic>();
  private readonly messages: PublishedMessage[] = [];
  private readonly deduplication = new Map<
    string,
    { messageId: string; sequenceNumber: string; at: number }
  >();
  private sequence = 10_000_000_000_000_000n;
  private readonly now: () => number;
  private readonly operations: Record<string, Operation>;

  /** GET /_sandbox/sns/messages[?topic=<arn>]: what was published, oldest first. */
  readonly admin: ServiceHandler = {
    name: "sns-admin",
    matches: (req) => (req.url ?? "").split("?")[0] === "/_sandbox/sns/messages",
    handle: async (req, _body, res) => {
      const url = new URL(req.url ?? "/", "http://sandbox");
      const status = req.method === "GET" ? 200 : 405;
      const body =
        status === 200
          ? { messages: this.published(url.searchParams.get("topic") ?? undefined) }
          : { error: `${req.method} is not allowed on /_sandbox/sns/messages; use GET` };
      const payload = `${JSON.stringify(body, null, 2)}\n`;
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(payload),
      });
      res.end(payload);
    },
  };

  constructor(private readonly options: SnsOptions) {
    this.now = options.now ?? Date.now;
    this.operations = {
      CreateTopic: (params) => this.createTopic(params),
      Publish: (params) => this.publish(params),
      ListTopics: (params) => this.listTopics(params),
      GetTopicAttributes: (params) => this.getTopicAttributes(params),
      DeleteTopic: (params) => {
        // Deleting a topic that does not exist is not an error.
        const arn = this.arnParam(params, "TopicArn");
        this.topics.delete(arn);
        return [];
      },
    };
  }

  matches(req: IncomingMessage): boolean {
    return req.method === "POST" && signingServiceOf(req) === "sns";
  }

  operationOf(_req: IncomingMessage, body?: Buffer): string | undefined {
    if (!body) return undefined;
    const action = new URLSearchParams(body.toString("utf8")).get("Action") ?? "";
    return Object.hasOwn(this.operations, action) ? action : undefined;
  }

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    try {
      const contentType = req.headers["content-type"] ?? "";
      if (!contentType.startsWith("application/x-www-form-urlencoded")) {
        throw new ServiceError("MalformedQueryString", "SNS takes form-encoded Query requests.", 400);
      }
      const params = new URLSearchParams(body.toString("utf8"));
      const action = params.get("Action");
      if (!action)
        throw new ServiceError("MissingAction", "The request must contain the parameter Action.", 400);
      if (params.get("Version") !== SNS_API_VERSION) {
        throw new ServiceError(
          "InvalidParameterValue",
          `Version ${JSON.stringify(params.get("Version"))} is not ${SNS_API_VERSION}, the SNS API version.`,
          400,
        );
      }
      const operation = Object.hasOwn(this.operations, action) ? this.operations[action] : undefined;
      if (!operation) {
        throw new ServiceError(
          "InvalidAction",
          `The action ${action} is not valid for this web service; the sandbox's SNS serves ${Object.keys(this.operations).join(", ")}.`,
          400,
        );
      }
      const result = operation(params);
      sendXml(res, 200, responseXml(action, result, requestIdOf(req)));
    } catch (error) {
      const serviceError =
        error instanceof ServiceError
          ? error
          : new ServiceError("InternalError", `The sandbox's SNS failed: ${(error as Error).message}`, 500);
      sendXml(res, serviceError.status, errorXml(serviceError, requestIdOf(req)));
    }
  }

  /** What was published (to one topic when given), oldest first. */
  published(topicArn?: string): PublishedMessage[] {
    return this.messages.filter((message) => topicArn === undefined || message.topicArn === topicArn);
  }

  snapshot(): Record<string, unknown> {
    return {
      topics: [...this.topics.values()].map((topic) => ({
        arn: topic.arn,
        fifo: topic.attributes.FifoTopic === "true",
        messages: this.messages.filter((message) => message.topicArn === topic.arn).length,
      })),
    };
  }

  // ------------------------------------------------------------ operations

  private createTopic(params: Params): [string, unknown][] {
    const name = params.get("Name");
    if (name === null || name === "") throw errors.invalid("Topic Name");
    const attributes = entries(params, "Attributes", "key", "value");
    for (const key of Object.keys(attributes)) {
      if (!TOPIC_ATTRIBUTES.has(key)) throw errors.invalid(`Attributes Reason: Unknown attribute ${key}`);
    }
    const fifo = attributes.FifoTopic === "true";
    if (
      attributes.FifoTopic !== undefined &&
      attributes.FifoTopic !== "true" &&
      attributes.FifoTopic !== "false"
    ) {
      throw errors.invalid("Attributes Reason: FifoTopic must be true or false");
    }
    const base = fifo ? name.replace(/\.fifo$/, "") : name;
    if (fifo !== name.endsWith(".fifo") || !TOPIC_NAME.test(base) || name.length > 256) {
      throw errors.invalid(
        fifo
          ? "Topic Name: a FIFO topic's name must end with .fifo and otherwise be 1 to 256 ASCII letters, digits, underscores and hyphens"
          : "Topic Name: must be 1 to 256 ASCII letters, digits, underscores and hyphens (only FIFO topics, created with FifoTopic=true, end with .fifo)",
      );
    }
    if (attributes.ContentBasedDeduplication !== undefined && !fifo) {
      throw errors.invalid("Attributes Reason: ContentBasedDeduplication is only for FIFO topics");
    }
    const arn = `arn:aws:sns:${this.options.region}:${this.options.accountId}:${name}`;
    const existing = this.topics.get(arn);
    if (existing) {
      const differs = Object.entries(attributes).some(
        ([key, value]) => (existing.attributes[key] ?? "") !== value,
      );
      if (differs) throw errors.invalid("Attributes Reason: Topic already exists with different attributes");
      return [["TopicArn", arn]];
    }
    this.topics.set(arn, { arn, name, attributes, createdAt: this.now() });
    return [["TopicArn", arn]];
  }

  private publish(params: Params): [string, unknown][] {
    const target = params.get("TopicArn") ?? params.get("TargetArn");
    if (params.get("PhoneNumber"))
      throw errors.invalid("PhoneNumber Reason: the sandbox publishes to topics only");
    if (!target) throw errors.invalid("TopicArn or TargetArn Reason: no value provided");
    const topic = this.topicOf(target, params.has("TopicArn") ? "TopicArn" : "TargetArn");
    const message = params.get("Message");
    if (message === null) {
      throw errors.validation(
        "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
      );
    }
    if (message === "") throw errors.invalid("Empty message");
    const subject = params.get("Subject") ?? undefined;
    if (subject !== undefined) {
      if (subject === "" || subject.length >= 100 || !/^[\x21-\x7e][\x20-\x7e]*$/.test(subject)) {
        throw errors.invalid(
          "Subject Reason: must be ASCII text that begins with a letter, number or punctuation mark, has no line breaks or control characters, and is under 100 characters",
        );
      }
    }
    const attributes = messageAttributes(params);
    const size =
      Buffer.byteLength(message, "utf8") +
      Object.entries(attributes).reduce(
        (sum, [name, value]) =>
          sum +
          Buffer.byteLength(name) +
          Buffer.byteLength(value.DataType) +
          Buffer.byteLength(value.StringValue ?? value.BinaryValue ?? ""),
        0,
      );
    if (size > SNS_MAX_PUBLISH_BYTES) {
      throw errors.invalid(`Message too long: ${size} bytes with attributes, over ${SNS_MAX_PUBLISH_BYTES}`);
    }
    const fifo = topic.attributes.FifoTopic === "true";
    const groupId = params.get("MessageGroupId") ?? undefined;
    let deduplicationId = params.get("MessageDeduplicationId") ?? undefined;
    if (fifo) {
      if (!groupId) throw errors.invalid("The MessageGroupId parameter is required for FIFO topics");
      if (!deduplicationId) {
        if (topic.attributes.ContentBasedDeduplication !== "true") {
          throw errors.invalid(
            "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
          );
        }
        deduplicationId = sha256(message);
      }
      if (deduplicationId.length > 128)
        throw errors.invalid("MessageDeduplicationId Reason: longer than 128 characters");
      const key = `${topic.arn}\n${deduplicationId}`;
      const seen = this.deduplication.get(key);
      if (seen && this.now() - seen.at < FIFO_DEDUPLICATION_MS) {
        return [
          ["MessageId", seen.messageId],
          ["SequenceNumber", seen.sequenceNumber],
        ];
      }
    } else if (deduplicationId !== undefined) {
      throw errors.invalid(
        "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
      );
    }
    const messageId = randomUUID();
    const sequenceNumber = fifo ? String(this.sequence++) : undefined;
    this.messages.push({
      topicArn: topic.arn,
      messageId,
      message,
      ...(subject !== undefined ? { subject } : {}),
      attributes,
      ...(groupId !== undefined ? { messageGroupId: groupId } : {}),
      ...(deduplicationId !== undefined ? { messageDeduplicationId: deduplicationId } : {}),
      ...(sequenceNumber !== undefined ? { sequenceNumber } : {}),
      publishedAt: this.now(),
    });
    if (fifo && deduplicationId && sequenceNumber) {
      this.deduplication.set(`${topic.arn}\n${deduplicationId}`, {
        messageId,
        sequenceNumber,
        at: this.now(),
      });
    }
    return [
      ["MessageId", messageId],
      ...(sequenceNumber ? ([["SequenceNumber", sequenceNumber]] as [string, unknown][]) : []),
    ];
  }

  private listTopics(params: Params): [string, unknown][] {
    const arns = [...this.topics.keys()].sort();
    const token = params.get("NextToken");
    let start = 0;
    if (token !== null) {
      const decoded = Number(Buffer.from(token, "base64url").toString("utf8"));
      if (!Number.isInteger(decoded) || decoded < 0 || decoded > arns.length)
        throw errors.invalid("NextToken");
      start = decoded;
    }
    const page = arns.slice(start, start + LIST_PAGE);
    const next =
      start + LIST_PAGE < arns.length
        ? Buffer.from(String(start + LIST_PAGE)).toString("base64url")
        : undefined;
    return [
      ["Topics", page.map((arn) => ["member", [["TopicArn", arn]]])],
      ...(next ? ([["NextToken", next]] as [string, unknown][]) : []),
    ];
  }

  private getTopicAttributes(params: Params): [string, unknown][] {
    const topic = this.topicOf(this.arnParam(params, "TopicArn"), "TopicArn");
    const attributes: Record<string, string> = {
      TopicArn: topic.arn,
      Owner: this.options.accountId,
      DisplayName: topic.attributes.DisplayName ?? "",
      SubscriptionsConfirmed: "0",
      SubscriptionsPending: "0",
      SubscriptionsDeleted: "0",
      EffectiveDeliveryPolicy:
        '{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false}}',
      ...topic.attributes,
    };
    return [
      [
        "Attributes",
        Object.entries(attributes).map(([key, value]) => [
          "entry",
          [
            ["key", key],
            ["value", value],
          ],
        ]),
      ],
    ];
  }

  private arnParam(params: Params, name: string): string {
    const value = params.get(name);
    if (!value) throw errors.invalid(`${name}`);
    return value;
  }

  /** The topic an ARN names: malformed or foreign (another region or account) is InvalidParameter, absent is NotFound. */
  private topicOf(arn: string, parameter: string): Topic {
    const match = TOPIC_ARN.exec(arn);
    if (!match || match[1] !== this.options.region || match[2] !== this.options.accountId) {
      throw errors.invalid(parameter);
    }
    const topic = this.topics.get(arn);
    if (!topic) throw errors.notFound("Topic does not exist");
    return topic;
  }
}

/** A Query map: `Name.entry.N.<keyName>` / `Name.entry.N.<valueName>`, in index order. */
function entries(params: Params, name: string, keyName: string, valueName: string): Record<string, string> {
  const byIndex = new Map<number, { key?: string; value?: string }>();
  const pattern = new RegExp(`^${name}\\.entry\\.(\\d+)\\.(${keyName}|${valueName})$`);
  for (const [param, value] of params) {
    const match = pattern.exec(param);
    if (!match) continue;
    const entry = byIndex.get(Number(match[1])) ?? {};
    if (match[2] === keyName) entry.key = value;
    else entry.value = value;
    byIndex.set(Number(match[1]), entry);
  }
  const result: Record<string, string> = {};
  for (const index of [...byIndex.keys()].sort((a, b) => a - b)) {
    const entry = byIndex.get(index)!;
    if (entry.key !== undefined) result[entry.key] = entry.value ?? "";
  }
  return result;
}

/** Publish's MessageAttributes: `MessageAttributes.entry.N.Name` and `.Value.DataType|StringValue|BinaryValue`. */
function messageAttributes(params: Params): PublishedMessage["attributes"] {
  const byIndex = new Map<
    number,
    { name?: string; DataType?: string; StringValue?: string; BinaryValue?: string }
  >();
  for (const [param, value] of params) {
    const match =
      /^MessageAttributes\.entry\.(\d+)\.(Name|Value\.DataType|Value\.StringValue|Value\.BinaryValue)$/.exec(
        param,
      );
    if (!match) continue;
    const entry = byIndex.get(Number(match[1])) ?? {};
    const field = match[2]!;
    if (field === "Name") entry.name = value;
    else entry[field.slice("Value.".length) as "DataType" | "StringValue" | "BinaryValue"] = value;
    byIndex.set(Number(match[1]), entry);
  }
  if (byIndex.size > MAX_MESSAGE_ATTRIBUTES) {
    throw errors.invalid(
      `MessageAttributes Reason: ${byIndex.size} message attributes, more than ${MAX_MESSAGE_ATTRIBUTES}`,
    );
  }
  const result: PublishedMessage["attributes"] = {};
  for (const entry of byIndex.values()) {
    const name = entry.name ?? "";
    if (
      !/^[A-Za-z0-9_.-]{1,256}$/.test(name) ||
      name.startsWith(".") ||
      name.endsWith(".") ||
      name.includes("..") ||
      /^(aws|amazon)\./i.test(name)
    ) {
      throw errors.invalid(`MessageAttributes Reason: the message attribute name '${name}' is not valid`);
    }
    if (
      !entry.DataType ||
      (!/^(String|Number|Binary)(\..+)?$/.test(entry.DataType) && entry.DataType !== "String.Array")
    ) {
      throw errors.invalid(
        `MessageAttributes Reason: the message attribute '${name}' has an invalid message attribute type`,
      );
    }
    const value = entry.DataType.startsWith("Binary") ? entry.BinaryValue : entry.StringValue;
    if (value === undefined || value === "") {
      throw errors.invalid(
        `MessageAttributes Reason: the message attribute '${name}' must contain non-empty message attribute value`,
      );
    }
    if (entry.DataType.startsWith("Number") && !Number.isFinite(Number(value))) {
      throw errors.invalid(
        `MessageAttributes Reason: the message attribute '${name}' with type 'Number' must have a numeric value`,
      );
    }
    result[name] = {
      DataType: entry.DataType,
      ...(entry.DataType.startsWith("Binary") ? { BinaryValue: value } : { StringValue: value }),
    };
  }
  return result;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

type Xml = [string, unknown];

function toXml(children: readonly Xml[]): string {
  return children
    .map(([name, value]) =>
      Array.isArray(value)
        ? `<${name}>${toXml(value as Xml[])}</${name}>`
        : `<${name}>${escapeXml(String(value))}</${name}>`,
    )
    .join("");
}

function responseXml(action: string, result: readonly Xml[], requestId: string): string {
  const body = action === "DeleteTopic" ? "" : `<${action}Result>${toXml(result)}</${action}Result>`;
  return (
    `<?xml version="1.0"?>\n<${action}Response xmlns="${NAMESPACE_URI}">${body}` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function errorXml(error: ServiceError, requestId: string): string {
  return (
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NAMESPACE_URI}"><Error><Type>${error.status >= 500 ? "Receiver" : "Sender"}</Type>` +
    `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`
  );
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { "content-type": "text/xml", "content-length": Buffer.byteLength(xml) });
  res.end(xml);
}
