import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  DeleteRuleCommand,
  DescribeApiDestinationCommand,
  DescribeConnectionCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  InvalidEventPatternException,
  LimitExceededException,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { ServiceError } from "../../sandbox/protocol.js";
import type { AsyncInvoker } from "../../sandbox/types.js";
import { clientConfig, referenceSeed, rejectionOf } from "../fixtures/sandbox/control-plane.js";

/** A Lambda that accepts events for known functions, fails the next `failures` calls, and remembers what it got. */
class FakeInvoker implements AsyncInvoker {
  readonly received: Array<{ functionArn: string; payload: string }> = [];
  failures = 0;
  constructor(private readonly functions: Set<string>) {}
  async invokeAsync(functionArn: string, payload: string): Promise<{ requestId: string }> {
    if (!this.functions.has(functionArn))
      throw new ServiceError("ResourceNotFoundException", `Function not found: ${functionArn}`, 404);
    if (this.failures > 0) {
      this.failures--;
      throw new ServiceError("TooManyRequestsException", "Rate exceeded", 429);
    }
    this.received.push({ functionArn, payload });
    return { requestId: `req-${this.received.length}` };
  }
}

const GUARDIAN = "arn:aws:lambda:us-east-1:123456789012:function:cutover-shop-guardian";
const DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:cutover-shop-guardian-dlq";
const PATTERN = JSON.stringify({ source: ["cutover.test"], detail: { level: [{ numeric: [">=", 2] }] } });

let sandbox: Sandbox;
let events: EventBridgeClient;
let sqs: SQSClient;
let dlqUrl: string;
const invoker = new FakeInvoker(new Set([GUARDIAN]));

beforeAll(async () => {
  sandbox = await startSandbox({
    seed: referenceSeed(),
    port: 0,
    alarmEvaluationIntervalMs: 0,
    eventRetryBackoffScale: 0.001,
    lambdaInvoker: invoker,
  });
  events = new EventBridgeClient(clientConfig(sandbox));
  sqs = new SQSClient(clientConfig(sandbox));
  dlqUrl =
    (await sqs.send(new CreateQueueCommand({ QueueName: "cutover-shop-guardian-dlq" }))).QueueUrl ?? "";
});

afterAll(async () => {
  events.destroy();
  sqs.destroy();
  await sandbox.close();
});

afterEach(async () => {
  await sandbox.eventbridge.settled();
});

const put = (detail: Record<string, unknown>) =>
  events.send(
    new PutEventsCommand({
      Entries: [{ Source: "cutover.test", DetailType: "Test", Detail: JSON.stringify(detail) }],
    }),
  );

describe("EventBridge rules", () => {
  it("creates, describes, lists by prefix, disables, enables and deletes a rule", async () => {
    const { RuleArn } = await events.send(
      new PutRuleCommand({ Name: "shop-a", EventPattern: PATTERN, Description: "d" }),
    );
    expect(RuleArn).toBe("arn:aws:events:us-east-1:123456789012:rule/shop-a");
    await events.send(new PutRuleCommand({ Name: "shop-b", EventPattern: PATTERN }));
    await events.send(new PutRuleCommand({ Name: "other", EventPattern: PATTERN }));
    const described = await events.send(new DescribeRuleCommand({ Name: "shop-a" }));
    expect(described).toMatchObject({
      Name: "shop-a",
      State: "ENABLED",
      EventPattern: PATTERN,
      EventBusName: "default",
    });
    const listed = await events.send(new ListRulesCommand({ NamePrefix: "shop-", Limit: 1 }));
    expect(listed.Rules?.map((rule) => rule.Name)).toEqual(["shop-a"]);
    const next = await events.send(
      new ListRulesCommand({ NamePrefix: "shop-", Limit: 1, NextToken: listed.NextToken }),
    );
    expect(next.Rules?.map((rule) => rule.Name)).toEqual(["shop-b"]);
    expect(next.NextToken).toBeUndefined();
    await events.send(new DisableRuleCommand({ Name: "shop-a" }));
    expect((await events.send(new DescribeRuleCommand({ Name: "shop-a" }))).State).toBe("DISABLED");
    await events.send(new EnableRuleCommand({ Name: "shop-a" }));
    for (const name of ["shop-a", "shop-b", "other"])
      await events.send(new DeleteRuleCommand({ Name: name }));
    await expect(events.send(new DescribeRuleCommand({ Name: "shop-a" }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it("refuses invalid patterns, a rule without pattern or schedule, bad names and unknown buses", async () => {
    const invalid = await rejectionOf(
      events.send(new PutRuleCommand({ Name: "bad", EventPattern: '{"source":"x"}' })),
    );
    expect(invalid).toBeInstanceOf(InvalidEventPatternException);
    expect(invalid.message).toMatch(/at source/);
    const neither = await rejectionOf(events.send(new PutRuleCommand({ Name: "bad" })));
    expect(neither.name).toBe("ValidationException");
    const badName = await rejectionOf(
      events.send(new PutRuleCommand({ Name: "bad name", EventPattern: PATTERN })),
    );
    expect(badName.name).toBe("ValidationException");
    const bus = await rejectionOf(
      events.send(new PutRuleCommand({ Name: "x", EventPattern: PATTERN, EventBusName: "custom" })),
    );
    expect(bus).toBeInstanceOf(ResourceNotFoundException);
    const long = JSON.stringify({ source: ["x".repeat(4100)] });
    const tooLong = await rejectionOf(events.send(new PutRuleCommand({ Name: "long", EventPattern: long })));
    expect(tooLong.message).toMatch(/at most 4096/);
  });

  it("keeps at most five targets, refuses deleting a rule with targets, and removes targets", async () => {
    await events.send(new PutRuleCommand({ Name: "limits", EventPattern: PATTERN }));
    const targets = Array.from({ length: 5 }, (_, index) => ({ Id: `t${index}`, Arn: GUARDIAN }));
    const added = await events.send(new PutTargetsCommand({ Rule: "limits", Targets: targets }));
    expect(added.FailedEntryCount).toBe(0);
    await expect(
      events.send(new PutTargetsCommand({ Rule: "limits", Targets: [{ Id: "t5", Arn: GUARDIAN }] })),
    ).rejects.toBeInstanceOf(LimitExceededException);
    // Updating an existing target is not a sixth one.
    await events.send(
      new PutTargetsCommand({ Rule: "limits", Targets: [{ Id: "t0", Arn: GUARDIAN, Input: '{"a":1}' }] }),
    );
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: "limits" }));
    expect(listed.Targets?.find((target) => target.Id === "t0")?.Input).toBe('{"a":1}');
    const refused = await rejectionOf(events.send(new DeleteRuleCommand({ Name: "limits" })));
    expect(refused.name).toBe("ValidationException");
    expect(refused.message).toMatch(/has targets/);
    const retry = await rejectionOf(
      events.send(
        new PutTargetsCommand({
          Rule: "limits",
          Targets: [{ Id: "r", Arn: GUARDIAN, RetryPolicy: { MaximumRetryAttempts: 186 } }],
        }),
      ),
    );
    expect(retry.message).toMatch(/MaximumRetryAttempts must be an integer from 0 to 185/);
    const age = await rejectionOf(
      events.send(
        new PutTargetsCommand({
          Rule: "limits",
          Targets: [{ Id: "r", Arn: GUARDIAN, RetryPolicy: { MaximumEventAgeInSeconds: 59 } }],
        }),
      ),
    );
    expect(age.message).toMatch(/MaximumEventAgeInSeconds/);
    const partial = await events.send(
      new PutTargetsCommand({
        Rule: "limits",
        Targets: [{ Id: "t1", Arn: "arn:aws:events:us-east-1:123456789012:api-destination/missing/abc" }],
      }),
    );
    expect(partial.FailedEntryCount).toBe(1);
    expect(partial.FailedEntries?.[0]).toMatchObject({ TargetId: "t1", ErrorCode: "ValidationException" });
    await events.send(new RemoveTargetsCommand({ Rule: "limits", Ids: targets.map((target) => target.Id) }));
    await events.send(new DeleteRuleCommand({ Name: "limits" }));
  });
});

describe("PutEvents and delivery", () => {
  it("validates entries one by one and refuses more than 10", async () => {
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: "cutover.test", DetailType: "T", Detail: "{}" },
          { Source: "cutover.test", DetailType: "T", Detail: "not json" },
          { Source: "aws.cloudwatch", DetailType: "T", Detail: "{}" },
          { DetailType: "T", Detail: "{}" },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(3);
    expect(result.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.Entries?.slice(1).map((entry) => entry.ErrorCode)).toEqual([
      "MalformedDetail",
      "NotAuthorizedForSourceException",
      "InvalidArgument",
    ]);
    const tooMany = await rejectionOf(
      events.send(
        new PutEventsCommand({
          Entries: Array.from({ length: 11 }, () => ({ Source: "a", DetailType: "b", Detail: "{}" })),
        }),
      ),
    );
    expect(tooMany.name).toBe("ValidationException");
  });

  it("delivers a matching event to a Lambda target and not a non-matching one, after retrying a throttle", async () => {
    await events.send(new PutRuleCommand({ Name: "to-lambda", EventPattern: PATTERN }));
    await events.send(
      new PutTargetsCommand({
        Rule: "to-lambda",
        Targets: [{ Id: "guardian", Arn: GUARDIAN, RetryPolicy: { MaximumRetryAttempts: 3 } }],
      }),
    );
    const before = invoker.received.length;
    invoker.failures = 2;
    await put({ level: 3 });
    await put({ level: 1 });
    await sandbox.eventbridge.settled();
    expect(invoker.received.slice(before).map((call) => JSON.parse(call.payload).detail)).toEqual([
      { level: 3 },
    ]);
    const recorded = sandbox.eventbridge
      .events()
      .find((entry) => (entry.event["detail"] as { level: number }).level === 3);
    expect(recorded?.deliveries[0]).toMatchObject({
      targetId: "guardian",
      attempts: 3,
      outcome: "delivered",
      deadLettered: false,
    });
    await events.send(new RemoveTargetsCommand({ Rule: "to-lambda", Ids: ["guardian"] }));
    await events.send(new DeleteRuleCommand({ Name: "to-lambda" }));
  });

  it("retries a failing target MaximumRetryAttempts times, then dead-letters the event with EventBridge's attributes", async () => {
    await events.send(new PutRuleCommand({ Name: "to-dlq", EventPattern: PATTERN }));
    await events.send(
      new PutTargetsCommand({
        Rule: "to-dlq",
        Targets: [
          {
            Id: "guardian",
            Arn: GUARDIAN,
            RetryPolicy: { MaximumRetryAttempts: 2 },
            DeadLetterConfig: { Arn: DLQ_ARN },
          },
        ],
      }),
    );
    invoker.failures = 10;
    await put({ level: 5, case: "dlq" });
    await sandbox.eventbridge.settled();
    invoker.failures = 0;
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageAttributeNames: ["All"] }),
    );
    const message = received.Messages?.[0];
    expect(JSON.parse(message?.Body ?? "{}").detail).toEqual({ level: 5, case: "dlq" });
    const attributes = Object.fromEntries(
      Object.entries(message?.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
    );
    expect(attributes).toEqual({
      ERROR_CODE: "TooManyRequestsException",
      ERROR_MESSAGE: "Rate exceeded",
      EXHAUSTED_RETRY_CONDITION: "MaximumRetryAttempts",
      RETRY_ATTEMPTS: "2",
      RULE_ARN: "arn:aws:events:us-east-1:123456789012:rule/to-dlq",
      TARGET_ARN: GUARDIAN,
    });
    const recorded = sandbox.eventbridge
      .events()
      .find((entry) => (entry.event["detail"] as { case?: string }).case === "dlq");
    expect(recorded?.deliveries[0]).toMatchObject({ attempts: 3, outcome: "failed", deadLettered: true });
    await events.send(new RemoveTargetsCommand({ Rule: "to-dlq", Ids: ["guardian"] }));
  });

  it("sends a matched event to an SQS queue target as the message body", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "event-copies" }));
    await events.send(new PutRuleCommand({ Name: "to-queue", EventPattern: PATTERN }));
    await events.send(
      new PutTargetsCommand({
        Rule: "to-queue",
        Targets: [{ Id: "copies", Arn: "arn:aws:sqs:us-east-1:123456789012:event-copies" }],
      }),
    );
    await put({ level: 4, case: "queue" });
    await sandbox.eventbridge.settled();
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(JSON.parse(received.Messages?.[0]?.Body ?? "{}")).toMatchObject({
      source: "cutover.test",
      "detail-type": "Test",
      detail: { level: 4, case: "queue" },
    });
    await events.send(new RemoveTargetsCommand({ Rule: "to-queue", Ids: ["copies"] }));
    await events.send(new DeleteRuleCommand({ Name: "to-queue" }));
  });

  it("does not retry a function that does not exist: straight to the dead-letter queue", async () => {
    await events.send(new PutRuleCommand({ Name: "to-missing", EventPattern: PATTERN }));
    const missing = "arn:aws:lambda:us-east-1:123456789012:function:gone";
    await events.send(
      new PutTargetsCommand({
        Rule: "to-missing",
        Targets: [{ Id: "gone", Arn: missing, DeadLetterConfig: { Arn: DLQ_ARN } }],
      }),
    );
    await put({ level: 2, case: "missing" });
    await sandbox.eventbridge.settled();
    const recorded = sandbox.eventbridge
      .events()
      .find((entry) => (entry.event["detail"] as { case?: string }).case === "missing");
    expect(recorded?.deliveries[0]).toMatchObject({
      attempts: 1,
      outcome: "failed",
      deadLettered: true,
      errorCode: "ResourceNotFoundException",
    });
    await events.send(new RemoveTargetsCommand({ Rule: "to-missing", Ids: ["gone"] }));
  });
});

describe("connections and API destinations", () => {
  let server: Server;
  let endpoint: string;
  const requests: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
  /** Statuses the hook answers, in order; 200 once they run out. */
  const answers: number[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("creates and describes a connection without its secret, and refuses a duplicate or a bad auth block", async () => {
    const created = await events.send(
      new CreateConnectionCommand({
        Name: "hook",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "X-Api-Key", ApiKeyValue: "s3cret" } },
      }),
    );
    expect(created.ConnectionArn).toMatch(/^arn:aws:events:us-east-1:123456789012:connection\/hook\//);
    const described = await events.send(new DescribeConnectionCommand({ Name: "hook" }));
    expect(described.AuthParameters?.ApiKeyAuthParameters).toEqual({ ApiKeyName: "X-Api-Key" });
    await expect(
      events.send(
        new CreateConnectionCommand({
          Name: "hook",
          AuthorizationType: "API_KEY",
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "k", ApiKeyValue: "v" } },
        }),
      ),
    ).rejects.toBeInstanceOf(ResourceAlreadyExistsException);
    const mismatch = await rejectionOf(
      events.send(
        new CreateConnectionCommand({
          Name: "basic",
          AuthorizationType: "BASIC",
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "k", ApiKeyValue: "v" } },
        }),
      ),
    );
    expect(mismatch.message).toMatch(/BasicAuthParameters with Username and Password/);
    await expect(events.send(new DescribeConnectionCommand({ Name: "nope" }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it("POSTs a matched event to the API destination with the connection's header, retrying a 500", async () => {
    const { ConnectionArn } = await events.send(new DescribeConnectionCommand({ Name: "hook" }));
    const far = await rejectionOf(
      events.send(
        new CreateApiDestinationCommand({
          Name: "far",
          ConnectionArn,
          InvocationEndpoint: "https://example.com/x",
          HttpMethod: "POST",
        }),
      ),
    );
    expect(far.message).toMatch(/loopback/);
    const created = await events.send(
      new CreateApiDestinationCommand({
        Name: "hook",
        ConnectionArn,
        InvocationEndpoint: endpoint,
        HttpMethod: "POST",
      }),
    );
    const described = await events.send(new DescribeApiDestinationCommand({ Name: "hook" }));
    expect(described).toMatchObject({
      InvocationEndpoint: endpoint,
      HttpMethod: "POST",
      ApiDestinationState: "ACTIVE",
    });
    await events.send(new PutRuleCommand({ Name: "to-hook", EventPattern: PATTERN }));
    await events.send(
      new PutTargetsCommand({
        Rule: "to-hook",
        Targets: [{ Id: "hook", Arn: created.ApiDestinationArn, RetryPolicy: { MaximumRetryAttempts: 1 } }],
      }),
    );
    answers.push(500);
    await put({ level: 9, case: "hook" });
    await sandbox.eventbridge.settled();
    const delivered = requests.filter((request) => JSON.parse(request.body).detail?.case === "hook");
    expect(delivered).toHaveLength(2);
    expect(delivered.at(-1)?.headers["x-api-key"]).toBe("s3cret");
    const recorded = sandbox.eventbridge
      .events()
      .find((entry) => (entry.event["detail"] as { case?: string }).case === "hook");
    expect(recorded?.deliveries[0]).toMatchObject({ outcome: "delivered", response: "200", attempts: 2 });
    const admin = (await (await fetch(`${sandbox.endpoint}/_sandbox/events`)).json()) as {
      events: unknown[];
    };
    expect(admin.events.length).toBe(sandbox.eventbridge.events().length);
  });
});
