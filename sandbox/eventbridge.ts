/**
 * EventBridge on the wire protocol the AWS SDK v3 client speaks: AWS JSON 1.1
 * (`X-Amz-Target: AWSEvents.<Operation>`, errors as `{__type, message}`).
 * One bus, "default": rules with event patterns, targets with retry policies
 * and dead-letter queues, PutEvents, connections and API destinations. Other
 * sandbox services (CloudWatch alarms) put their events on the bus with
 * `putServiceEvent`. What was received and delivered is served on
 * GET /_sandbox/events.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type EventPattern,
  EventPatternError,
  matchesEventPattern,
  parseEventPattern,
} from "./event-pattern.js";
import {
  type DeliveryRecord,
  EventDelivery,
  type ResolvedApiDestination,
  type StoredTarget,
} from "./eventbridge-delivery.js";
import { JsonInput } from "./json-input.js";
import { amzTarget, ServiceError, sendJsonBody, sendServiceError } from "./protocol.js";
import type { AsyncInvoker, DeadLetterSink, ServiceHandler } from "./types.js";

/** The X-Amz-Target prefix of every EventBridge operation. */
export const EVENTBRIDGE_TARGET_PREFIX = "AWSEvents.";

const DEFAULT_BUS = "default";
const NAME_PATTERN = /^[.\-_A-Za-z0-9]{1,64}$/;
const MAX_TARGETS_PER_RULE = 5;
const MAX_EVENT_PATTERN_LENGTH = 4096;
const MAX_DESCRIPTION_LENGTH = 512;
const MAX_PUT_EVENTS_BYTES = 256 * 1024;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const HTTP_METHODS = new Set(["POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]);

const codes = { serialization: "SerializationException", invalid: "ValidationException" } as const;
const notFound = (message: string) => new ServiceError("ResourceNotFoundException", message, 400);
const validation = (message: string) => new ServiceError("ValidationException", message, 400);

interface Rule {
  name: string;
  arn: string;
  eventPattern?: string;
  pattern?: EventPattern;
  scheduleExpression?: string;
  state: string;
  description?: string;
  roleArn?: string;
  targets: StoredTarget[];
}

interface Connection {
  name: string;
  arn: string;
  authorizationType: string;
  authParameters: Record<string, Record<string, string>>;
  description?: string;
  createdAt: number;
}

interface ApiDestination {
  name: string;
  arn: string;
  connectionArn: string;
  invocationEndpoint: string;
  httpMethod: string;
  rateLimit: number;
  description?: string;
  createdAt: number;
}

/** One event the bus received, with where it went. */
export interface ReceivedEvent {
  event: Record<string, unknown>;
  matchedRules: string[];
  deliveries: DeliveryRecord[];
}

export interface EventBridgeServiceOptions {
  region: string;
  accountId: string;
  now?: () => number;
  /** Delivers Lambda targets; without it a Lambda delivery fails (and is retried) as an internal failure. */
  invoker?: AsyncInvoker;
  /** Where DeadLetterConfig queues live (the sandbox's SQS). */
  deadLetters?: DeadLetterSink;
  /** Scales retry backoff delays (1 = EventBridge's own timing); see docs/sandbox.md. */
  retryBackoffScale?: number;
}

/** What another sandbox service puts on the default bus. */
export interface ServiceEvent {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  resources: string[];
  /** Epoch ms; the sandbox clock's now when absent. */
  time?: number;
}

type Operation = (input: JsonInput) => Record<string, unknown>;

/** The sandbox's EventBridge: a ServiceHandler for the SDK, an admin handler for GET /_sandbox/events. */
export class EventBridgeService implements ServiceHandler {
  readonly name = "eventbridge";
  private readonly rules = new Map<string, Rule>();
  private readonly connections = new Map<string, Connection>();
  private readonly destinations = new Map<string, ApiDestination>();
  private readonly received: ReceivedEvent[] = [];
  private readonly now: () => number;
  private readonly delivery: EventDelivery;
  private readonly operations: Record<string, Operation>;

  constructor(private readonly options: EventBridgeServiceOptions) {
    this.now = options.now ?? Date.now;
    this.delivery = new EventDelivery({
      ...(options.invoker ? { invoker: options.invoker } : {}),
      ...(options.deadLetters ? { deadLetters: options.deadLetters } : {}),
      resolveApiDestination: (arn) => this.resolveApiDestination(arn),
      now: this.now,
      retryBackoffScale: options.retryBackoffScale ?? 1,
    });
    this.operations = {
      PutRule: (input) => this.putRule(input),
      DescribeRule: (input) => this.describeRule(input),
      ListRules: (input) => this.listRules(input),
      DeleteRule: (input) => this.deleteRule(input),
      EnableRule: (input) => this.setRuleState(input, "ENABLED"),
      DisableRule: (input) => this.setRuleState(input, "DISABLED"),
      PutTargets: (input) => this.putTargets(input),
      RemoveTargets: (input) => this.removeTargets(input),
      ListTargetsByRule: (input) => this.listTargetsByRule(input),
      PutEvents: (input) => this.putEvents(input),
      CreateConnection: (input) => this.createConnection(input),
      DescribeConnection: (input) => this.describeConnection(input),
      CreateApiDestination: (input) => this.createApiDestination(input),
      DescribeApiDestination: (input) => this.describeApiDestination(input),
    };
  }

  matches(req: IncomingMessage): boolean {
    return amzTarget(req).startsWith(EVENTBRIDGE_TARGET_PREFIX);
  }

  operationOf(req: IncomingMessage): string | undefined {
    const name = amzTarget(req).slice(EVENTBRIDGE_TARGET_PREFIX.length);
    return Object.hasOwn(this.operations, name) ? name : undefined;
  }

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const name = amzTarget(req).slice(EVENTBRIDGE_TARGET_PREFIX.length);
    try {
      const operation = Object.hasOwn(this.operations, name) ? this.operations[name] : undefined;
      if (!operation) {
        throw new ServiceError(
          "UnknownOperationException",
          `The sandbox's EventBridge does not serve ${JSON.stringify(name)}; it serves ${Object.keys(this.operations).join(", ")}.`,
        );
      }
      sendJsonBody(req, res, "json-1.1", 200, operation(JsonInput.parse(body, codes)));
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      sendServiceError(req, res, "json-1.1", error);
    }
  }

  /** The admin surface: GET /_sandbox/events. */
  readonly admin: ServiceHandler = {
    name: "eventbridge-admin",
    matches: (req) => (req.url ?? "").split("?")[0] === "/_sandbox/events",
    handle: async (req, _body, res) => {
      const status = req.method === "GET" ? 200 : 405;
      const payload = `${JSON.stringify(status === 200 ? { events: this.events() } : { error: "use GET /_sandbox/events" }, null, 2)}\n`;
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(payload),
      });
      res.end(payload);
    },
  };

  /** Every event the bus received, oldest first, with the deliveries it caused. */
  events(): ReceivedEvent[] {
    return this.received.map((entry) => ({
      event: entry.event,
      matchedRules: [...entry.matchedRules],
      deliveries: entry.deliveries.map((delivery) => ({ ...delivery })),
    }));
  }

  /** Puts an AWS service's event (e.g. aws.cloudwatch) on the default bus. */
  putServiceEvent(serviceEvent: ServiceEvent): string {
    return this.ingest({
      version: "0",
      id: randomUUID(),
      "detail-type": serviceEvent.detailType,
      source: serviceEvent.source,
      account: this.options.accountId,
      time: isoSeconds(serviceEvent.time ?? this.now()),
      region: this.options.region,
      resources: serviceEvent.resources,
      detail: serviceEvent.detail,
    });
  }

  /** Resolves when every delivery under way has finished. */
  settled(): Promise<void> {
    return this.delivery.settled();
  }

  close(): void {
    this.delivery.close();
  }

  snapshot(): Record<string, unknown> {
    return {
      rules: [...this.rules.values()].map((rule) => ({
        name: rule.name,
        state: rule.state,
        eventPattern: rule.eventPattern,
        targets: rule.targets.map((target) => target.Id),
      })),
      connections: [...this.connections.keys()],
      apiDestinations: [...this.destinations.keys()],
      receivedEvents: this.received.length,
    };
  }

  // ------------------------------------------------------------ rules

  private putRule(input: JsonInput): Record<string, unknown> {
    const name = this.ruleName(input, "Name");
    this.bus(input);
    const eventPattern = input.optionalString("EventPattern");
    const scheduleExpression = input.optionalString("ScheduleExpression");
    if (eventPattern === undefined && scheduleExpression === undefined)
      throw validation("Parameter(s) EventPattern or ScheduleExpression must be specified.");
    let pattern: EventPattern | undefined;
    if (eventPattern !== undefined && eventPattern.length > MAX_EVENT_PATTERN_LENGTH) {
      throw validation(
        `EventPattern is ${eventPattern.length} characters long; EventBridge accepts at most ${MAX_EVENT_PATTERN_LENGTH}.`,
      );
    }
    if (eventPattern !== undefined) {
      try {
        pattern = parseEventPattern(eventPattern);
      } catch (error) {
        if (error instanceof EventPatternError)
          throw new ServiceError("InvalidEventPatternException", error.message);
        throw error;
      }
    }
    if (
      scheduleExpression !== undefined &&
      !/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$/.test(scheduleExpression)
    )
      throw validation(
        `Parameter ScheduleExpression is not valid: ${JSON.stringify(scheduleExpression)}; use rate(...) or cron(...).`,
      );
    const state = input.optionalString("State") ?? "ENABLED";
    if (!["ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"].includes(state))
      throw validation(
        `1 validation error detected: Value '${state}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]`,
      );
    const existing = this.rules.get(name);
    const description = input.optionalString("Description");
    if (description !== undefined && description.length > MAX_DESCRIPTION_LENGTH)
      throw validation(
        `Description is ${description.length} characters long; at most ${MAX_DESCRIPTION_LENGTH}.`,
      );
    const roleArn = input.optionalString("RoleArn");
    const rule: Rule = {
      name,
      arn: `arn:aws:events:${this.options.region}:${this.options.accountId}:rule/${name}`,
      state,
      targets: existing?.targets ?? [],
      ...(eventPattern !== undefined ? { eventPattern } : {}),
      ...(pattern ? { pattern } : {}),
      ...(scheduleExpression !== undefined ? { scheduleExpression } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(roleArn !== undefined ? { roleArn } : {}),
    };
    this.rules.set(name, rule);
    return { RuleArn: rule.arn };
  }

  private describeRule(input: JsonInput): Record<string, unknown> {
    const rule = this.rule(input, "Name");
    return this.ruleOutput(rule);
  }

  private ruleOutput(rule: Rule): Record<string, unknown> {
    return {
      Name: rule.name,
      Arn: rule.arn,
      ...(rule.eventPattern !== undefined ? { EventPattern: rule.eventPattern } : {}),
      ...(rule.scheduleExpression !== undefined ? { ScheduleExpression: rule.scheduleExpression } : {}),
      State: rule.state,
      ...(rule.description !== undefined ? { Description: rule.description } : {}),
      ...(rule.roleArn !== undefined ? { RoleArn: rule.roleArn } : {}),
      EventBusName: DEFAULT_BUS,
      CreatedBy: this.options.accountId,
    };
  }

  private listRules(input: JsonInput): Record<string, unknown> {
    this.bus(input);
    const prefix = input.optionalString("NamePrefix") ?? "";
    const names = [...this.rules.keys()].filter((name) => name.startsWith(prefix)).sort();
    const { page, nextToken } = paginate(input, names);
    return {
      Rules: page.map((name) => this.ruleOutput(this.rules.get(name) as Rule)),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  private deleteRule(input: JsonInput): Record<string, unknown> {
    this.bus(input);
    const name = this.ruleName(input, "Name");
    const rule = this.rules.get(name);
    // Deleting a rule that does not exist succeeds, as EventBridge answers.
    if (!rule) return {};
    // Force only concerns rules managed by another AWS service, which the sandbox has none of.
    input.optionalBoolean("Force");
    if (rule.targets.length > 0) throw validation("Rule can't be deleted since it has targets.");
    this.rules.delete(name);
    return {};
  }

  private setRuleState(input: JsonInput, state: "ENABLED" | "DISABLED"): Record<string, unknown> {
    this.rule(input, "Name").state = state;
    return {};
  }

  // ------------------------------------------------------------ targets

  private putTargets(input: JsonInput): Record<string, unknown> {
    const rule = this.rule(input, "Rule");
    const targets = input.optionalObjectList("Targets");
    if (!targets || targets.length === 0)
      throw validation(
        "1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null",
      );
    if (targets.length > 10)
      throw validation(
        `1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10 (got ${targets.length})`,
      );
    const validated = targets.map((target, index) => validateTarget(target, index));
    const ids = new Set(rule.targets.map((target) => target.Id));
    for (const target of validated) ids.add(target.Id);
    if (ids.size > MAX_TARGETS_PER_RULE) {
      throw new ServiceError(
        "LimitExceededException",
        `The requested resource exceeds the maximum number allowed: rule ${rule.name} would have ${ids.size} targets; a rule has at most ${MAX_TARGETS_PER_RULE}.`,
      );
    }
    const failed: Array<Record<string, string>> = [];
    for (const target of validated) {
      const problem = this.targetProblem(target);
      if (problem) {
        failed.push({ TargetId: target.Id, ErrorCode: "ValidationException", ErrorMessage: problem });
        continue;
      }
      const index = rule.targets.findIndex((existing) => existing.Id === target.Id);
      if (index >= 0) rule.targets[index] = target;
      else rule.targets.push(target);
    }
    return { FailedEntryCount: failed.length, FailedEntries: failed };
  }

  /** Why one target cannot be added although the request is well formed: an API destination that does not exist. */
  private targetProblem(target: StoredTarget): string | undefined {
    if (
      /^arn:aws[a-z-]*:events:[^:]*:\d{12}:api-destination\//.test(target.Arn) &&
      !this.apiDestinationByArn(target.Arn)
    )
      return `API destination ${target.Arn} does not exist.`;
    return undefined;
  }

  private removeTargets(input: JsonInput): Record<string, unknown> {
    const rule = this.rule(input, "Rule");
    const ids = input.optionalStringList("Ids");
    if (!ids || ids.length === 0)
      throw validation(
        "1 validation error detected: Value null at 'ids' failed to satisfy constraint: Member must not be null",
      );
    if (ids.length > 100) throw validation("Ids must have at most 100 members.");
    rule.targets = rule.targets.filter((target) => !ids.includes(target.Id));
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  private listTargetsByRule(input: JsonInput): Record<string, unknown> {
    const rule = this.rule(input, "Rule");
    const { page, nextToken } = paginate(input, rule.targets);
    return { Targets: page, ...(nextToken ? { NextToken: nextToken } : {}) };
  }

  // ------------------------------------------------------------ events

  private putEvents(input: JsonInput): Record<string, unknown> {
    const entries = input.optionalObjectList("Entries");
    if (!entries || entries.length === 0 || entries.length > 10)
      throw validation(
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10 (got ${entries?.length ?? 0}).`,
      );
    const size = entries.reduce((total, entry) => total + entrySize(entry), 0);
    if (size > MAX_PUT_EVENTS_BYTES)
      throw validation(
        `Total size of the entries in the request is over the limit: ${size} bytes, at most ${MAX_PUT_EVENTS_BYTES}.`,
      );
    let failed = 0;
    const results = entries.map((entry) => {
      const problem = entryProblem(entry);
      if (problem) {
        failed++;
        return problem;
      }
      const time = typeof entry["Time"] === "number" ? (entry["Time"] as number) * 1000 : this.now();
      const id = this.ingest({
        version: "0",
        id: randomUUID(),
        "detail-type": entry["DetailType"],
        source: entry["Source"],
        account: this.options.accountId,
        time: isoSeconds(time),
        region: this.options.region,
        resources: (entry["Resources"] as string[] | undefined) ?? [],
        detail: JSON.parse(entry["Detail"] as string),
      });
      return { EventId: id };
    });
    return { FailedEntryCount: failed, Entries: results };
  }

  /** Matches an event against every enabled rule and starts its deliveries. */
  private ingest(event: Record<string, unknown>): string {
    const received: ReceivedEvent = { event, matchedRules: [], deliveries: [] };
    this.received.push(received);
    for (const rule of this.rules.values()) {
      if (rule.state === "DISABLED" || !rule.pattern || !matchesEventPattern(rule.pattern, event)) continue;
      received.matchedRules.push(rule.arn);
      for (const target of rule.targets) {
        const record: DeliveryRecord = {
          ruleArn: rule.arn,
          targetId: target.Id,
          targetArn: target.Arn,
          attempts: 0,
          outcome: "pending",
          deadLettered: false,
        };
        received.deliveries.push(record);
        this.delivery.deliver(event, rule.arn, target, record);
      }
    }
    return event["id"] as string;
  }

  // ------------------------------------------------------------ connections and API destinations

  private createConnection(input: JsonInput): Record<string, unknown> {
    const name = this.resourceName(input, "Name");
    if (this.connections.has(name))
      throw new ServiceError("ResourceAlreadyExistsException", `Connection ${name} already exists.`);
    const authorizationType = input.string("AuthorizationType");
    const parameters = input.optionalObject("AuthParameters");
    if (!parameters) throw validation("AuthParameters is required.");
    const authParameters = readAuthParameters(authorizationType, parameters);
    const now = this.now();
    const description = input.optionalString("Description");
    const connection: Connection = {
      name,
      arn: `arn:aws:events:${this.options.region}:${this.options.accountId}:connection/${name}/${randomUUID()}`,
      authorizationType,
      authParameters,
      createdAt: now,
      ...(description !== undefined ? { description } : {}),
    };
    this.connections.set(name, connection);
    return {
      ConnectionArn: connection.arn,
      ConnectionState: "AUTHORIZED",
      CreationTime: now / 1000,
      LastModifiedTime: now / 1000,
    };
  }

  private describeConnection(input: JsonInput): Record<string, unknown> {
    const name = input.string("Name");
    const connection = this.connections.get(name);
    if (!connection)
      throw notFound(`Failed to describe the connection(s). Connection '${name}' does not exist.`);
    // Secrets (passwords, API key values) are never returned, as EventBridge keeps them in Secrets Manager.
    const visible: Record<string, Record<string, string>> = {};
    for (const [block, fields] of Object.entries(connection.authParameters)) {
      visible[block] = Object.fromEntries(
        Object.entries(fields).filter(([field]) => field === "Username" || field === "ApiKeyName"),
      );
    }
    return {
      ConnectionArn: connection.arn,
      Name: connection.name,
      ...(connection.description !== undefined ? { Description: connection.description } : {}),
      ConnectionState: "AUTHORIZED",
      AuthorizationType: connection.authorizationType,
      SecretArn: `arn:aws:secretsmanager:${this.options.region}:${this.options.accountId}:secret:events!connection/${connection.name}`,
      AuthParameters: visible,
      CreationTime: connection.createdAt / 1000,
      LastModifiedTime: connection.createdAt / 1000,
      LastAuthorizedTime: connection.createdAt / 1000,
    };
  }

  private createApiDestination(input: JsonInput): Record<string, unknown> {
    const name = this.resourceName(input, "Name");
    if (this.destinations.has(name))
      throw new ServiceError(
        "ResourceAlreadyExistsException",
        `An api-destination '${name}' already exists.`,
      );
    const connectionArn = input.string("ConnectionArn");
    if (![...this.connections.values()].some((connection) => connection.arn === connectionArn))
      throw notFound(`Connection '${connectionArn}' does not exist.`);
    const invocationEndpoint = input.string("InvocationEndpoint");
    let url: URL;
    try {
      url = new URL(invocationEndpoint);
    } catch {
      throw validation(`InvocationEndpoint ${JSON.stringify(invocationEndpoint)} is not a URL.`);
    }
    if (!["http:", "https:"].includes(url.protocol) || !LOOPBACK_HOSTS.has(url.hostname)) {
      throw validation(
        `InvocationEndpoint ${invocationEndpoint} is not reachable from the sandbox: it sends API destination traffic to loopback (127.0.0.1, localhost) only.`,
      );
    }
    const httpMethod = input.string("HttpMethod");
    if (!HTTP_METHODS.has(httpMethod))
      throw validation(`HttpMethod ${httpMethod} is not valid; use one of ${[...HTTP_METHODS].join(", ")}.`);
    const rateLimit = input.optionalInteger("InvocationRateLimitPerSecond") ?? 300;
    if (rateLimit < 1 || rateLimit > 300)
      throw validation("InvocationRateLimitPerSecond must be between 1 and 300.");
    const now = this.now();
    const description = input.optionalString("Description");
    const destination: ApiDestination = {
      name,
      arn: `arn:aws:events:${this.options.region}:${this.options.accountId}:api-destination/${name}/${randomUUID()}`,
      connectionArn,
      invocationEndpoint,
      httpMethod,
      rateLimit,
      createdAt: now,
      ...(description !== undefined ? { description } : {}),
    };
    this.destinations.set(name, destination);
    return {
      ApiDestinationArn: destination.arn,
      ApiDestinationState: "ACTIVE",
      CreationTime: now / 1000,
      LastModifiedTime: now / 1000,
    };
  }

  private describeApiDestination(input: JsonInput): Record<string, unknown> {
    const name = input.string("Name");
    const destination = this.destinations.get(name);
    if (!destination)
      throw notFound(
        `Failed to describe the api-destination(s). An api-destination '${name}' does not exist.`,
      );
    return {
      ApiDestinationArn: destination.arn,
      Name: destination.name,
      ...(destination.description !== undefined ? { Description: destination.description } : {}),
      ApiDestinationState: "ACTIVE",
      ConnectionArn: destination.connectionArn,
      InvocationEndpoint: destination.invocationEndpoint,
      HttpMethod: destination.httpMethod,
      InvocationRateLimitPerSecond: destination.rateLimit,
      CreationTime: destination.createdAt / 1000,
      LastModifiedTime: destination.createdAt / 1000,
    };
  }

  private apiDestinationByArn(arn: string): ApiDestination | undefined {
    // A target may name the destination's ARN with or without its trailing "/*".
    const bare = arn.replace(/\/\*$/, "");
    return [...this.destinations.values()].find((destination) => destination.arn === bare);
  }

  private resolveApiDestination(arn: string): ResolvedApiDestination | undefined {
    const destination = this.apiDestinationByArn(arn);
    if (!destination) return undefined;
    const connection = [...this.connections.values()].find(
      (candidate) => candidate.arn === destination.connectionArn,
    );
    const resolved: ResolvedApiDestination = {
      endpoint: destination.invocationEndpoint,
      httpMethod: destination.httpMethod,
    };
    const basic = connection?.authParameters["BasicAuthParameters"];
    const apiKey = connection?.authParameters["ApiKeyAuthParameters"];
    if (basic)
      resolved.authorization = [
        "authorization",
        `Basic ${Buffer.from(`${basic["Username"]}:${basic["Password"]}`).toString("base64")}`,
      ];
    else if (apiKey)
      resolved.authorization = [
        (apiKey["ApiKeyName"] as string).toLowerCase(),
        apiKey["ApiKeyValue"] as string,
      ];
    return resolved;
  }

  // ------------------------------------------------------------ helpers

  private bus(input: JsonInput): void {
    const bus = input.optionalString("EventBusName");
    if (
      bus === undefined ||
      bus === DEFAULT_BUS ||
      bus === `arn:aws:events:${this.options.region}:${this.options.accountId}:event-bus/default`
    )
      return;
    throw notFound(`Event bus ${bus} does not exist; the sandbox has the default bus only.`);
  }

  private ruleName(input: JsonInput, field: string): string {
    return this.resourceName(input, field);
  }

  private resourceName(input: JsonInput, field: string): string {
    const name = input.string(field);
    if (!NAME_PATTERN.test(name)) {
      throw validation(
        `1 validation error detected: Value '${name}' at '${field.toLowerCase()}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ (1 to 64 characters)`,
      );
    }
    return name;
  }

  private rule(input: JsonInput, field: string): Rule {
    this.bus(input);
    const name = this.ruleName(input, field);
    const rule = this.rules.get(name);
    if (!rule) throw notFound(`Rule ${name} does not exist on EventBus ${DEFAULT_BUS}.`);
    return rule;
  }
}

function validateTarget(target: Record<string, unknown>, index: number): StoredTarget {
  const where = `Targets[${index}]`;
  const id = target["Id"];
  if (typeof id !== "string" || !NAME_PATTERN.test(id))
    throw validation(`${where}.Id must be 1 to 64 characters of [.-_A-Za-z0-9]; got ${JSON.stringify(id)}.`);
  const arn = target["Arn"];
  if (typeof arn !== "string" || arn.length === 0 || arn.length > 1600 || !arn.startsWith("arn:"))
    throw validation(`${where}.Arn must be an ARN of 1 to 1600 characters; got ${JSON.stringify(arn)}.`);
  const inputs = ["Input", "InputPath", "InputTransformer"].filter((key) => target[key] !== undefined);
  if (inputs.length > 1)
    throw validation(
      `${where}: only one of Input, InputPath, or InputTransformer may be provided (got ${inputs.join(", ")}).`,
    );
  if (target["InputTransformer"] !== undefined)
    throw validation(
      `${where}.InputTransformer is not modelled by the sandbox; use Input or InputPath (see docs/sandbox.md).`,
    );
  if (typeof target["Input"] === "string") {
    try {
      JSON.parse(target["Input"]);
    } catch {
      throw validation(`${where}.Input must be valid JSON text.`);
    }
  }
  const retry = target["RetryPolicy"] as Record<string, unknown> | undefined;
  if (retry !== undefined) {
    const attempts = retry["MaximumRetryAttempts"];
    if (
      attempts !== undefined &&
      (!Number.isInteger(attempts) || (attempts as number) < 0 || (attempts as number) > 185)
    )
      throw validation(
        `${where}.RetryPolicy.MaximumRetryAttempts must be an integer from 0 to 185; got ${JSON.stringify(attempts)}.`,
      );
    const age = retry["MaximumEventAgeInSeconds"];
    if (age !== undefined && (!Number.isInteger(age) || (age as number) < 60 || (age as number) > 86_400))
      throw validation(
        `${where}.RetryPolicy.MaximumEventAgeInSeconds must be an integer from 60 to 86400; got ${JSON.stringify(age)}.`,
      );
  }
  const deadLetter = target["DeadLetterConfig"] as Record<string, unknown> | undefined;
  if (
    deadLetter?.["Arn"] !== undefined &&
    !/^arn:aws[a-z-]*:sqs:[^:]+:\d{12}:[^:]+$/.test(String(deadLetter["Arn"]))
  )
    throw validation(
      `${where}.DeadLetterConfig.Arn must be an SQS queue ARN; got ${JSON.stringify(deadLetter["Arn"])}.`,
    );
  return target as StoredTarget;
}

function readAuthParameters(
  type: string,
  parameters: Record<string, unknown>,
): Record<string, Record<string, string>> {
  const block = (name: string, fields: string[]): Record<string, Record<string, string>> => {
    const value = parameters[name] as Record<string, unknown> | undefined;
    if (
      !value ||
      fields.some((field) => typeof value[field] !== "string" || (value[field] as string).length === 0)
    )
      throw validation(
        `AuthorizationType ${type} needs AuthParameters.${name} with ${fields.join(" and ")}.`,
      );
    return { [name]: Object.fromEntries(fields.map((field) => [field, value[field] as string])) };
  };
  switch (type) {
    case "BASIC":
      return block("BasicAuthParameters", ["Username", "Password"]);
    case "API_KEY":
      return block("ApiKeyAuthParameters", ["ApiKeyName", "ApiKeyValue"]);
    case "OAUTH_CLIENT_CREDENTIALS":
      throw validation(
        "The sandbox does not model OAUTH_CLIENT_CREDENTIALS connections; use BASIC or API_KEY (see docs/sandbox.md).",
      );
    default:
      throw validation(
        `AuthorizationType ${JSON.stringify(type)} is not valid; use BASIC, API_KEY or OAUTH_CLIENT_CREDENTIALS.`,
      );
  }
}

function entryProblem(entry: Record<string, unknown>): Record<string, string> | undefined {
  const invalidArgument = (message: string) => ({ ErrorCode: "InvalidArgument", ErrorMessage: message });
  for (const field of ["Source", "DetailType", "Detail"]) {
    if (typeof entry[field] !== "string" || (entry[field] as string).length === 0)
      return invalidArgument(`Parameter ${field} is not valid. Reason: ${field} is a required argument.`);
  }
  if ((entry["Source"] as string).startsWith("aws."))
    return { ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source." };
  const bus = entry["EventBusName"];
  if (bus !== undefined && bus !== DEFAULT_BUS && !String(bus).endsWith(":event-bus/default"))
    return invalidArgument(`Event bus ${String(bus)} does not exist; the sandbox has the default bus only.`);
  let detail: unknown;
  try {
    detail = JSON.parse(entry["Detail"] as string);
  } catch {
    return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed: it must be a JSON object." };
  }
  if (typeof detail !== "object" || detail === null || Array.isArray(detail))
    return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed: it must be a JSON object." };
  const resources = entry["Resources"];
  if (
    resources !== undefined &&
    (!Array.isArray(resources) || resources.some((item) => typeof item !== "string"))
  )
    return invalidArgument("Parameter Resources is not valid: it must be a list of ARNs.");
  return undefined;
}

/** PutEvents' documented entry size: Time, Source, DetailType, Detail and Resources in UTF-8 bytes. */
function entrySize(entry: Record<string, unknown>): number {
  let size = entry["Time"] !== undefined ? 14 : 0;
  for (const field of ["Source", "DetailType", "Detail"])
    if (typeof entry[field] === "string") size += Buffer.byteLength(entry[field] as string);
  if (Array.isArray(entry["Resources"]))
    for (const resource of entry["Resources"]) size += Buffer.byteLength(String(resource));
  return size;
}

function paginate<T>(input: JsonInput, items: T[]): { page: T[]; nextToken?: string } {
  const limit = input.optionalInteger("Limit") ?? 100;
  if (limit < 1 || limit > 100) throw validation("Limit must be between 1 and 100.");
  const token = input.optionalString("NextToken");
  const offset = token === undefined ? 0 : Number(Buffer.from(token, "base64url").toString("utf8"));
  if (!Number.isInteger(offset) || offset < 0) throw validation("The NextToken is not valid.");
  const page = items.slice(offset, offset + limit);
  return offset + limit < items.length
    ? { page, nextToken: Buffer.from(String(offset + limit)).toString("base64url") }
    : { page };
}

/** EventBridge's event time: ISO 8601 to the second. */
function isoSeconds(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}
