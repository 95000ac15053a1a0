/**
 * SQS on the wire protocol the AWS SDK v3 client speaks: AWS JSON 1.0
 * (`X-Amz-Target: AmazonSQS.<Operation>`) in its query-compatible flavour,
 * where an error carries its legacy query code in `x-amzn-query-error`
 * ("AWS.SimpleQueueService.NonExistentQueue;Sender") beside the modelled
 * `__type`. Standard queues only: visibility timeouts, delays, long polling,
 * redrive to a dead-letter queue and purge, all on the sandbox clock. It is
 * also the DeadLetterSink EventBridge dead-letters undeliverable events to.
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { amzTarget, ServiceError, sendJsonBody } from "./protocol.js";
import type { DeadLetterSink, ServiceHandler } from "./types.js";

/** The X-Amz-Target prefix of every SQS operation. */
export const SQS_TARGET_PREFIX = "AmazonSQS.";

/** An SQS error: the modelled shape (`__type`), its legacy query code and the HTTP status. */
export class SqsError extends ServiceError {
  constructor(
    readonly shape: string,
    readonly queryCode: string,
    message: string,
    status = 400,
  ) {
    super(shape, message, status);
  }
}

const errors = {
  invalidParameter: (message: string) =>
    new SqsError("InvalidParameterValue", "InvalidParameterValue", message),
  missing: (message: string) => new SqsError("MissingParameter", "MissingParameter", message),
  noQueue: (what: string) =>
    new SqsError(
      "QueueDoesNotExist",
      "AWS.SimpleQueueService.NonExistentQueue",
      `The specified queue does not exist: ${what}.`,
    ),
  queueExists: (name: string) =>
    new SqsError(
      "QueueNameExists",
      "QueueAlreadyExists",
      `A queue named ${name} already exists with different attributes; CreateQueue returns an existing queue only when every given attribute matches.`,
    ),
  attributeName: (message: string) => new SqsError("InvalidAttributeName", "InvalidAttributeName", message),
  attributeValue: (message: string) =>
    new SqsError("InvalidAttributeValue", "InvalidAttributeValue", message),
  receiptHandle: (message: string) =>
    new SqsError("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", message),
  purgeInProgress: (name: string) =>
    new SqsError(
      "PurgeQueueInProgress",
      "AWS.SimpleQueueService.PurgeQueueInProgress",
      `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`,
    ),
  invalidContents: (message: string) =>
    new SqsError("InvalidMessageContents", "InvalidMessageContents", message),
  unsupported: (message: string) =>
    new SqsError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", message),
};

/** Queue attributes a caller may set, with their documented integer ranges (seconds or bytes). */
const SETTABLE_RANGES: Record<string, [number, number, string]> = {
  DelaySeconds: [0, 900, "0"],
  MaximumMessageSize: [1024, 1_048_576, "262144"],
  MessageRetentionPeriod: [60, 1_209_600, "345600"],
  ReceiveMessageWaitTimeSeconds: [0, 20, "0"],
  VisibilityTimeout: [0, 43_200, "30"],
};
const SETTABLE_OTHERS = new Set([
  "Policy",
  "RedrivePolicy",
  "RedriveAllowPolicy",
  "KmsMasterKeyId",
  "KmsDataKeyReusePeriodSeconds",
  "SqsManagedSseEnabled",
  "FifoQueue",
  "ContentBasedDeduplication",
  "DeduplicationScope",
  "FifoThroughputLimit",
]);
const READ_ONLY = [
  "QueueArn",
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
  "CreatedTimestamp",
  "LastModifiedTimestamp",
];
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
/** W3C XML characters, the only ones a message may hold. */
const INVALID_MESSAGE_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, MessageAttributeValue>;
  md5OfAttributes?: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receiptHandle?: string;
}

interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

interface Queue {
  name: string;
  url: string;
  arn: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
  modifiedAt: number;
  messages: StoredMessage[];
  lastPurgeAt?: number;
}

/** A message as the admin state and tests see it. */
export interface QueueMessageView {
  messageId: string;
  body: string;
  attributes: Record<string, string>;
  receiveCount: number;
}

export interface SqsServiceOptions {
  region: string;
  accountId: string;
  now?: () => number;
}

type Operation = (input: Record<string, unknown>, req: IncomingMessage) => Promise<Record<string, unknown>>;

/** The sandbox's SQS: a ServiceHandler for the SDK, and the DeadLetterSink other services send to. */
export class SqsService implements ServiceHandler, DeadLetterSink {
  readonly name = "sqs";
  private readonly queues = new Map<string, Queue>();
  private readonly now: () => number;
  private readonly operations: Record<string, Operation>;

  constructor(private readonly options: SqsServiceOptions) {
    this.now = options.now ?? Date.now;
    this.operations = {
      CreateQueue: async (input, req) => this.createQueue(input, req),
      GetQueueUrl: async (input) => ({ QueueUrl: this.queueByName(requiredString(input, "QueueName")).url }),
      GetQueueAttributes: async (input) => this.getQueueAttributes(input),
      SendMessage: async (input) => this.sendMessage(input),
      ReceiveMessage: (input) => this.receiveMessage(input),
      DeleteMessage: async (input) => this.deleteMessage(input),
      PurgeQueue: async (input) => this.purgeQueue(input),
      ListQueues: async (input) => this.listQueues(input),
      SetQueueAttributes: async (input) => this.setQueueAttributes(input),
      ChangeMessageVisibility: async (input) => this.changeMessageVisibility(input),
      DeleteQueue: async (input) => {
        this.queues.delete(this.queueOf(input).name);
        return {};
      },
    };
  }

  matches(req: IncomingMessage): boolean {
    return amzTarget(req).startsWith(SQS_TARGET_PREFIX);
  }

  operationOf(req: IncomingMessage): string | undefined {
    const name = amzTarget(req).slice(SQS_TARGET_PREFIX.length);
    return Object.hasOwn(this.operations, name) ? name : undefined;
  }

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const operationName = amzTarget(req).slice(SQS_TARGET_PREFIX.length);
    try {
      const operation = Object.hasOwn(this.operations, operationName)
        ? this.operations[operationName]
        : undefined;
      if (!operation) {
        throw new SqsError(
          "UnknownOperationException",
          "UnknownOperationException",
          `The sandbox's SQS does not serve ${JSON.stringify(operationName)}; it serves ${Object.keys(this.operations).join(", ")}.`,
        );
      }
      let input: unknown;
      try {
        const text = body.toString("utf8");
        input = text.trim().length === 0 ? {} : JSON.parse(text);
      } catch (error) {
        throw new SqsError(
          "SerializationException",
          "SerializationException",
          `The request body is not valid JSON: ${(error as Error).message}`,
        );
      }
      if (typeof input !== "object" || input === null || Array.isArray(input))
        throw new SqsError(
          "SerializationException",
          "SerializationException",
          "The body must be a JSON object.",
        );
      sendJsonBody(
        req,
        res,
        "sqs-json-1.0-query",
        200,
        await operation(input as Record<string, unknown>, req),
      );
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      sendJsonBody(
        req,
        res,
        "sqs-json-1.0-query",
        error.status,
        { __type: `com.amazonaws.sqs#${error.shape}`, message: error.message },
        { "x-amzn-query-error": `${error.queryCode};${error.status >= 500 ? "Receiver" : "Sender"}` },
      );
    }
  }

  /** DeadLetterSink: sends one message to the queue with this ARN, as SendMessage would. */
  sendToQueue(queueArn: string, body: string, attributes: Record<string, string> = {}): void {
    const queue = [...this.queues.values()].find((candidate) => candidate.arn === queueArn);
    if (!queue) throw errors.noQueue(queueArn);
    const messageAttributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(attributes))
      messageAttributes[name] = { DataType: "String", StringValue: value };
    this.enqueue(queue, body, messageAttributes, 0);
  }

  /** The messages a queue holds (visible or not), for tests and the state dump. */
  messagesOf(queueName: string): QueueMessageView[] {
    const queue = this.queues.get(queueName);
    if (!queue) return [];
    this.expire(queue);
    return queue.messages.map((message) => ({
      messageId: message.messageId,
      body: message.body,
      attributes: Object.fromEntries(
        Object.entries(message.attributes).map(([name, value]) => [name, value.StringValue ?? ""]),
      ),
      receiveCount: message.receiveCount,
    }));
  }

  /** The queues and their depth, for GET /_sandbox/state. */
  snapshot(): Record<string, unknown> {
    return {
      queues: [...this.queues.values()].map((queue) => ({
        name: queue.name,
        arn: queue.arn,
        url: queue.url,
        messages: queue.messages.length,
      })),
    };
  }

  // ------------------------------------------------------------ operations

  private createQueue(input: Record<string, unknown>, req: IncomingMessage): Record<string, unknown> {
    const name = requiredString(input, "QueueName");
    const fifo = name.endsWith(".fifo");
    const base = fifo ? name.slice(0, -5) : name;
    if (!QUEUE_NAME.test(base) || name.length > 80) {
      throw errors.invalidParameter(
        `Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length: QueueName ${JSON.stringify(name)} is not a valid queue name.`,
      );
    }
    const given = stringMap(input, "Attributes");
    const attributes = this.validateAttributes(given, fifo);
    if (fifo || attributes["FifoQueue"] === "true") {
      throw errors.unsupported(
        `The sandbox's SQS serves standard queues only; ${name} asks for a FIFO queue (see docs/sandbox.md).`,
      );
    }
    const existing = this.queues.get(name);
    if (existing) {
      const differs = Object.entries(given).some(([key, value]) => existing.attributes[key] !== value);
      if (differs) throw errors.queueExists(name);
      return { QueueUrl: existing.url };
    }
    const now = this.now();
    const host = typeof req.headers.host === "string" ? req.headers.host : "127.0.0.1";
    const queue: Queue = {
      name,
      url: `http://${host}/${this.options.accountId}/${name}`,
      arn: `arn:aws:sqs:${this.options.region}:${this.options.accountId}:${name}`,
      attributes,
      tags: stringMap(input, "tags"),
      createdAt: now,
      modifiedAt: now,
      messages: [],
    };
    this.queues.set(name, queue);
    return { QueueUrl: queue.url };
  }

  private validateAttributes(given: Record<string, string>, fifo: boolean): Record<string, string> {
    const attributes: Record<string, string> = {};
    for (const [key, [, , fallback]] of Object.entries(SETTABLE_RANGES)) attributes[key] = fallback;
    for (const [key, value] of Object.entries(given)) {
      const range = SETTABLE_RANGES[key];
      if (range) {
        const number = Number(value);
        if (!/^\d+$/.test(value) || number < range[0] || number > range[1]) {
          throw errors.attributeValue(
            `Invalid value for the parameter ${key}: ${JSON.stringify(value)}; it must be an integer from ${range[0]} to ${range[1]}.`,
          );
        }
      } else if (!SETTABLE_OTHERS.has(key)) {
        throw errors.attributeName(
          `Unknown Attribute ${key}; a queue accepts ${[...Object.keys(SETTABLE_RANGES), ...SETTABLE_OTHERS].join(", ")}.`,
        );
      }
      if (key === "RedrivePolicy") this.validateRedrivePolicy(value);
      attributes[key] = value;
    }
    if (fifo) attributes["FifoQueue"] = "true";
    return attributes;
  }

  private validateRedrivePolicy(value: string): void {
    let policy: unknown;
    try {
      policy = JSON.parse(value);
    } catch {
      throw errors.attributeValue(
        `Invalid value for the parameter RedrivePolicy: it must be JSON, got ${value}.`,
      );
    }
    const { deadLetterTargetArn, maxReceiveCount } = (policy ?? {}) as Record<string, unknown>;
    const count = Number(maxReceiveCount);
    if (typeof deadLetterTargetArn !== "string" || !Number.isInteger(count) || count < 1 || count > 1000) {
      throw errors.attributeValue(
        "Invalid value for the parameter RedrivePolicy: it needs deadLetterTargetArn (a queue ARN) and maxReceiveCount (1 to 1000).",
      );
    }
    if (![...this.queues.values()].some((queue) => queue.arn === deadLetterTargetArn)) {
      throw errors.attributeValue(
        `Value ${value} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`,
      );
    }
  }

  private getQueueAttributes(input: Record<string, unknown>): Record<string, unknown> {
    const queue = this.queueOf(input);
    const names = optionalStringList(input, "AttributeNames") ?? [];
    const all = this.attributesOf(queue);
    const wanted = names.includes("All") ? Object.keys(all) : names;
    const Attributes: Record<string, string> = {};
    for (const name of wanted) {
      if (!Object.hasOwn(all, name) && !SETTABLE_OTHERS.has(name))
        throw errors.attributeName(`Unknown Attribute ${name}.`);
      const value = all[name];
      if (value !== undefined) Attributes[name] = value;
    }
    return Object.keys(Attributes).length === 0 ? {} : { Attributes };
  }

  private attributesOf(queue: Queue): Record<string, string> {
    this.expire(queue);
    const now = this.now();
    const delayed = queue.messages.filter((message) => message.receiveCount === 0 && message.visibleAt > now);
    const inFlight = queue.messages.filter((message) => message.receiveCount > 0 && message.visibleAt > now);
    const all: Record<string, string> = {
      ...queue.attributes,
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(queue.messages.length - delayed.length - inFlight.length),
      ApproximateNumberOfMessagesNotVisible: String(inFlight.length),
      ApproximateNumberOfMessagesDelayed: String(delayed.length),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.modifiedAt / 1000)),
    };
    for (const name of READ_ONLY) all[name] ??= "";
    return all;
  }

  private sendMessage(input: Record<string, unknown>): Record<string, unknown> {
    const queue = this.queueOf(input);
    const body = input["MessageBody"];
    if (typeof body !== "string" || body.length === 0)
      throw errors.missing("The request must contain the parameter MessageBody, of at least one character.");
    if (INVALID_MESSAGE_CHARS.test(body)) {
      throw errors.invalidContents(
        "Invalid characters found in MessageBody; only #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF are allowed.",
      );
    }
    const attributes = readMessageAttributes(input["MessageAttributes"]);
    const maximum = Number(queue.attributes["MaximumMessageSize"]);
    const size = Buffer.byteLength(body) + attributesSize(attributes);
    if (size > maximum) {
      throw errors.invalidParameter(
        `One or more parameters are invalid. Reason: Message must be shorter than ${maximum} bytes (got ${size} bytes with its attributes).`,
      );
    }
    const delay = input["DelaySeconds"] ?? Number(queue.attributes["DelaySeconds"]);
    if (typeof delay !== "number" || !Number.isInteger(delay) || delay < 0 || delay > 900) {
      throw errors.invalidParameter(
        `Value ${JSON.stringify(delay)} for parameter DelaySeconds is invalid. Reason: it must be an integer from 0 to 900.`,
      );
    }
    const message = this.enqueue(queue, body, attributes, delay);
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfAttributes ? { MD5OfMessageAttributes: message.md5OfAttributes } : {}),
    };
  }

  private enqueue(
    queue: Queue,
    body: string,
    attributes: Record<string, MessageAttributeValue>,
    delaySeconds: number,
  ): StoredMessage {
    const now = this.now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: createHash("md5").update(body, "utf8").digest("hex"),
      attributes,
      ...(Object.keys(attributes).length > 0 ? { md5OfAttributes: md5OfMessageAttributes(attributes) } : {}),
      sentAt: now,
      visibleAt: now + delaySeconds * 1000,
      receiveCount: 0,
    };
    queue.messages.push(message);
    return message;
  }

  private async receiveMessage(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const queue = this.queueOf(input);
    const max = boundedInteger(input, "MaxNumberOfMessages", 1, 10, 1);
    const wait = boundedInteger(
      input,
      "WaitTimeSeconds",
      0,
      20,
      Number(queue.attributes["ReceiveMessageWaitTimeSeconds"]),
    );
    const visibility = boundedInteger(
      input,
      "VisibilityTimeout",
      0,
      43_200,
      Number(queue.attributes["VisibilityTimeout"]),
    );
    const systemNames = [
      ...(optionalStringList(input, "AttributeNames") ?? []),
      ...(optionalStringList(input, "MessageSystemAttributeNames") ?? []),
    ];
    const attributeNames = optionalStringList(input, "MessageAttributeNames") ?? [];
    // Long polling waits in real time, bounded by WaitTimeSeconds (at most 20 s), checking the sandbox clock.
    const deadline = Date.now() + wait * 1000;
    let taken = this.take(queue, max, visibility);
    while (taken.length === 0 && Date.now() < deadline && this.queues.get(queue.name) === queue) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      taken = this.take(queue, max, visibility);
    }
    if (taken.length === 0) return {};
    return {
      Messages: taken.map((message) => messageOutput(message, systemNames, attributeNames)),
    };
  }

  /** Takes up to `max` visible messages, hiding each for `visibility` seconds; redrives those received too often. */
  private take(queue: Queue, max: number, visibility: number): StoredMessage[] {
    this.expire(queue);
    const now = this.now();
    const redrive = this.redriveOf(queue);
    const taken: StoredMessage[] = [];
    for (const message of [...queue.messages]) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        queue.messages.splice(queue.messages.indexOf(message), 1);
        message.visibleAt = now;
        redrive.target.messages.push(message);
        continue;
      }
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibility * 1000;
      message.receiptHandle = Buffer.from(
        JSON.stringify({ q: queue.arn, m: message.messageId, r: randomUUID() }),
      ).toString("base64url");
      taken.push(message);
    }
    return taken;
  }

  private redriveOf(queue: Queue): { target: Queue; maxReceiveCount: number } | undefined {
    const policy = queue.attributes["RedrivePolicy"];
    if (!policy) return undefined;
    const parsed = JSON.parse(policy) as { deadLetterTargetArn: string; maxReceiveCount: number | string };
    const target = [...this.queues.values()].find(
      (candidate) => candidate.arn === parsed.deadLetterTargetArn,
    );
    return target ? { target, maxReceiveCount: Number(parsed.maxReceiveCount) } : undefined;
  }

  private deleteMessage(input: Record<string, unknown>): Record<string, unknown> {
    const queue = this.queueOf(input);
    const messageId = receiptMessageId(queue, requiredString(input, "ReceiptHandle"));
    // Deleting a message that is already gone succeeds, as SQS answers a stale but well-formed handle.
    queue.messages = queue.messages.filter((message) => message.messageId !== messageId);
    return {};
  }

  private changeMessageVisibility(input: Record<string, unknown>): Record<string, unknown> {
    const queue = this.queueOf(input);
    const handle = requiredString(input, "ReceiptHandle");
    const messageId = receiptMessageId(queue, handle);
    if (input["VisibilityTimeout"] === undefined)
      throw errors.missing("The request must contain the parameter VisibilityTimeout.");
    const visibility = boundedInteger(input, "VisibilityTimeout", 0, 43_200, 0);
    const now = this.now();
    const message = queue.messages.find((candidate) => candidate.messageId === messageId);
    if (!message || message.receiptHandle !== handle || message.visibleAt <= now) {
      throw new SqsError(
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
        "The message referred to is not in flight: it was not received with this receipt handle, or its visibility timeout has expired.",
      );
    }
    message.visibleAt = now + visibility * 1000;
    return {};
  }

  private setQueueAttributes(input: Record<string, unknown>): Record<string, unknown> {
    const queue = this.queueOf(input);
    const given = stringMap(input, "Attributes");
    if (Object.keys(given).length === 0)
      throw errors.missing("The request must contain the parameter Attributes.");
    for (const fixed of ["FifoQueue"]) {
      if (given[fixed] !== undefined)
        throw errors.attributeName(`${fixed} can only be set when the queue is created.`);
    }
    const validated = this.validateAttributes(given, false);
    for (const key of Object.keys(given)) queue.attributes[key] = validated[key] as string;
    queue.modifiedAt = this.now();
    return {};
  }

  private purgeQueue(input: Record<string, unknown>): Record<string, unknown> {
    const queue = this.queueOf(input);
    const now = this.now();
    if (queue.lastPurgeAt !== undefined && now - queue.lastPurgeAt < 60_000)
      throw errors.purgeInProgress(queue.name);
    queue.lastPurgeAt = now;
    queue.messages = [];
    return {};
  }

  private listQueues(input: Record<string, unknown>): Record<string, unknown> {
    const prefix = typeof input["QueueNamePrefix"] === "string" ? input["QueueNamePrefix"] : "";
    const maxResults =
      input["MaxResults"] === undefined ? undefined : boundedInteger(input, "MaxResults", 1, 1000, 1000);
    const names = [...this.queues.keys()].filter((name) => name.startsWith(prefix)).sort();
    const token = input["NextToken"];
    let offset = 0;
    if (token !== undefined) {
      offset = typeof token === "string" && /^\d+$/.test(token) ? Number(token) : Number.NaN;
      if (!Number.isInteger(offset)) throw errors.invalidParameter("Invalid NextToken value.");
    }
    const limit = maxResults ?? 1000;
    const page = names.slice(offset, offset + limit);
    const output: Record<string, unknown> = {};
    if (page.length > 0) output["QueueUrls"] = page.map((name) => this.queues.get(name)?.url);
    if (maxResults !== undefined && offset + limit < names.length)
      output["NextToken"] = String(offset + limit);
    return output;
  }

  // ------------------------------------------------------------ helpers

  private queueByName(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw errors.noQueue(name);
    return queue;
  }

  /** The queue a QueueUrl names: its last path segment, under this account. */
  private queueOf(input: Record<string, unknown>): Queue {
    const url = requiredString(input, "QueueUrl");
    const match = /\/(\d{12})\/([^/?#]+)\/?$/.exec(url);
    if (!match || match[1] !== this.options.accountId) throw errors.noQueue(url);
    return this.queueByName(decodeURIComponent(match[2] ?? ""));
  }

  /** Drops messages older than the queue's retention period. */
  private expire(queue: Queue): void {
    const retentionMs = Number(queue.attributes["MessageRetentionPeriod"]) * 1000;
    const now = this.now();
    queue.messages = queue.messages.filter((message) => now - message.sentAt < retentionMs);
  }
}

/** The message id a receipt handle of `queue` names; ReceiptHandleIsInvalid for anything else. */
function receiptMessageId(queue: Queue, handle: string): string {
  let decoded: { q?: unknown; m?: unknown } = {};
  try {
    decoded = JSON.parse(Buffer.from(handle, "base64url").toString("utf8")) as typeof decoded;
  } catch {
    // Falls through: a handle that does not decode is as invalid as one of another queue.
  }
  if (decoded.q !== queue.arn || typeof decoded.m !== "string")
    throw errors.receiptHandle(
      `The input receipt handle "${handle}" is not a valid receipt handle for ${queue.name}.`,
    );
  return decoded.m;
}

function messageOutput(
  message: StoredMessage,
  systemNames: string[],
  attributeNames: string[],
): Record<string, unknown> {
  const system: Record<string, string> = {
    SenderId: "AIDASANDBOX",
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
  };
  const all = systemNames.includes("All");
  const attributes = Object.fromEntries(
    Object.entries(system).filter(([name]) => all || systemNames.includes(name)),
  );
  const wantAll = attributeNames.includes("All") || attributeNames.includes(".*");
  const messageAttributes = Object.fromEntries(
    Object.entries(message.attributes).filter(
      ([name]) =>
        wantAll ||
        attributeNames.some((wanted) =>
          wanted.endsWith(".*") ? name.startsWith(wanted.slice(0, -1)) : wanted === name,
        ),
    ),
  );
  const output: Record<string, unknown> = {
    MessageId: message.messageId,
    ReceiptHandle: message.receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
  };
  if (Object.keys(attributes).length > 0) output["Attributes"] = attributes;
  if (Object.keys(messageAttributes).length > 0) {
    output["MessageAttributes"] = messageAttributes;
    output["MD5OfMessageAttributes"] = md5OfMessageAttributes(messageAttributes);
  }
  return output;
}

function readMessageAttributes(value: unknown): Record<string, MessageAttributeValue> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw errors.invalidParameter("MessageAttributes must be a map of name to MessageAttributeValue.");
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 10)
    throw errors.invalidParameter(
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`,
    );
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, raw] of entries) {
    const attribute = (raw ?? {}) as Record<string, unknown>;
    const dataType = attribute["DataType"];
    if (typeof dataType !== "string" || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw errors.invalidParameter(
        `The message attribute '${name}' has an invalid message attribute type; use String, Number or Binary, optionally with a .suffix.`,
      );
    }
    const isBinary = dataType.startsWith("Binary");
    const stringValue = attribute["StringValue"];
    const binaryValue = attribute["BinaryValue"];
    if (
      isBinary ? typeof binaryValue !== "string" : typeof stringValue !== "string" || stringValue.length === 0
    ) {
      throw errors.invalidParameter(
        `The message attribute '${name}' must contain a non-empty ${isBinary ? "BinaryValue" : "StringValue"}.`,
      );
    }
    if (dataType.startsWith("Number") && !Number.isFinite(Number(stringValue)))
      throw errors.invalidParameter(`The message attribute '${name}' with type 'Number' must hold a number.`);
    attributes[name] = isBinary
      ? { DataType: dataType, BinaryValue: binaryValue as string }
      : { DataType: dataType, StringValue: stringValue as string };
  }
  return attributes;
}

function attributesSize(attributes: Record<string, MessageAttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size +=
      value.BinaryValue !== undefined
        ? Buffer.from(value.BinaryValue, "base64").length
        : Buffer.byteLength(value.StringValue ?? "");
  }
  return size;
}

/**
 * SQS's MD5 of message attributes: for each attribute in name order, the
 * length-prefixed name and data type, a transport byte (1 string, 2 binary)
 * and the length-prefixed value. The SDK checks it against what it sent.
 */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string {
  const hash = createHash("md5");
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name] as MessageAttributeValue;
    lengthPrefixed(Buffer.from(name, "utf8"));
    lengthPrefixed(Buffer.from(value.DataType, "utf8"));
    if (value.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      lengthPrefixed(Buffer.from(value.BinaryValue, "base64"));
    } else {
      hash.update(Buffer.from([1]));
      lengthPrefixed(Buffer.from(value.StringValue ?? "", "utf8"));
    }
  }
  return hash.digest("hex");
}

function requiredString(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (value === undefined || value === null || value === "")
    throw errors.missing(`The request must contain the parameter ${name}.`);
  if (typeof value !== "string")
    throw errors.invalidParameter(`${name} must be a string; got ${JSON.stringify(value)}.`);
  return value;
}

function optionalStringList(input: Record<string, unknown>, name: string): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string"))
    throw errors.invalidParameter(`${name} must be a list of strings.`);
  return value as string[];
}

function stringMap(input: Record<string, unknown>, name: string): Record<string, string> {
  const value = input[name];
  if (value === undefined || value === null) return {};
  if (
    typeof value !== "object" ||
    Array.isArray(value) ||
    Object.values(value).some((item) => typeof item !== "string")
  )
    throw errors.invalidParameter(`${name} must be a map of strings.`);
  return value as Record<string, string>;
}

function boundedInteger(
  input: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const value = input[name] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw errors.invalidParameter(
      `Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
  return value;
}
