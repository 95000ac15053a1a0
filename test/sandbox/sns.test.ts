// The sandbox's SNS through the unmodified SDK client on the Query protocol:
// what it accepts and, as AWS does, what it refuses.
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListTopicsCommand,
  PublishCommand,
  paginateListTopics,
  SNSClient,
} from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../sandbox/index.js";
import {
  clientConfig,
  ManualClock,
  rejectionOf,
  startTestSandbox,
} from "../fixtures/sandbox/control-plane.js";

let sandbox: Sandbox;
let sns: SNSClient;
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  sandbox = await startTestSandbox(undefined, clock.now);
  sns = new SNSClient(clientConfig(sandbox));
});

afterAll(async () => {
  sns.destroy();
  await sandbox.close();
});

async function topic(name: string, attributes?: Record<string, string>): Promise<string> {
  const created = await sns.send(
    new CreateTopicCommand({ Name: name, ...(attributes ? { Attributes: attributes } : {}) }),
  );
  return created.TopicArn!;
}

describe("SNS topics", () => {
  it("creates a topic idempotently by name and refuses the same name with other attributes", async () => {
    const arn = await topic("cutover-ops", { DisplayName: "ops" });
    expect(arn).toBe(`arn:aws:sns:${sandbox.region}:123456789012:cutover-ops`);
    expect(await topic("cutover-ops", { DisplayName: "ops" })).toBe(arn);
    const refused = await rejectionOf(
      sns.send(new CreateTopicCommand({ Name: "cutover-ops", Attributes: { DisplayName: "other" } })),
    );
    expect(refused.name).toBe("InvalidParameterException");
    expect(refused.message).toMatch(/Topic already exists with different attributes/);
  });

  it("refuses names outside the rules, and .fifo without FifoTopic (or FifoTopic without .fifo)", async () => {
    for (const [name, attributes] of [
      ["has space", undefined],
      ["x".repeat(257), undefined],
      ["plain.fifo", undefined],
      ["needs-suffix", { FifoTopic: "true" }],
    ] as const) {
      const refused = await rejectionOf(
        sns.send(new CreateTopicCommand({ Name: name, ...(attributes ? { Attributes: attributes } : {}) })),
      );
      expect(refused.name, name).toBe("InvalidParameterException");
      expect(refused.$metadata?.httpStatusCode).toBe(400);
    }
    expect(await topic("orders.fifo", { FifoTopic: "true" })).toMatch(/:orders\.fifo$/);
  });

  it("lists topics in pages of 100 that the SDK's paginator follows", async () => {
    for (let index = 0; index < 120; index++) await topic(`page-${String(index).padStart(3, "0")}`);
    const first = await sns.send(new ListTopicsCommand({}));
    expect(first.Topics).toHaveLength(100);
    expect(first.NextToken).toBeTruthy();
    const all: string[] = [];
    for await (const page of paginateListTopics({ client: sns }, {})) {
      all.push(...(page.Topics ?? []).map((entry) => entry.TopicArn!));
    }
    expect(all.filter((arn) => arn.includes(":page-"))).toHaveLength(120);
    const badToken = await rejectionOf(sns.send(new ListTopicsCommand({ NextToken: "not-a-token" })));
    expect(badToken.name).toBe("InvalidParameterException");
  });

  it("reads attributes, deletes, and then says NotFound", async () => {
    const arn = await topic("short-lived", { DisplayName: "brief" });
    const attributes = await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }));
    expect(attributes.Attributes).toMatchObject({
      TopicArn: arn,
      DisplayName: "brief",
      Owner: "123456789012",
    });
    await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
    await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
    const gone = await rejectionOf(sns.send(new GetTopicAttributesCommand({ TopicArn: arn })));
    expect(gone.name).toBe("NotFoundException");
    expect(gone.$metadata?.httpStatusCode).toBe(404);
  });
});

describe("SNS Publish", () => {
  it("publishes with a subject and attributes, kept for tests in the admin view", async () => {
    const arn = await topic("notify-me");
    const published = await sns.send(
      new PublishCommand({
        TopicArn: arn,
        Message: '{"specversion":"1.0"}',
        Subject: "cutover orders-api: shift-applied",
        MessageAttributes: { type: { DataType: "String", StringValue: "dev.cutover.shift-applied" } },
      }),
    );
    expect(published.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    const view = (await (
      await fetch(`${sandbox.endpoint}/_sandbox/sns/messages?topic=${encodeURIComponent(arn)}`)
    ).json()) as { messages: { messageId: string; subject: string; attributes: Record<string, unknown> }[] };
    expect(view.messages).toEqual([
      expect.objectContaining({
        messageId: published.MessageId,
        subject: "cutover orders-api: shift-applied",
        attributes: { type: { DataType: "String", StringValue: "dev.cutover.shift-applied" } },
      }),
    ]);
  });

  it("refuses a missing topic (NotFound), a malformed or foreign ARN, an empty message and a bad subject", async () => {
    const arn = await topic("strict");
    const missing = await rejectionOf(
      sns.send(new PublishCommand({ TopicArn: `${arn}-absent`, Message: "x" })),
    );
    expect(missing.name).toBe("NotFoundException");
    for (const input of [
      { TopicArn: "not-an-arn", Message: "x" },
      { TopicArn: arn.replace(sandbox.region, "eu-central-1"), Message: "x" },
      { TopicArn: arn, Message: "" },
      { TopicArn: arn, Message: "x", Subject: "line\nbreak" },
      { TopicArn: arn, Message: "x", Subject: "s".repeat(100) },
    ]) {
      const refused = await rejectionOf(sns.send(new PublishCommand(input)));
      expect(refused.name, JSON.stringify(input).slice(0, 80)).toBe("InvalidParameterException");
    }
    expect(sandbox.sns.published(arn)).toHaveLength(0);
  });

  it("refuses a message over 256 KiB with its attributes, and takes one just under", async () => {
    const arn = await topic("sized");
    const refused = await rejectionOf(
      sns.send(new PublishCommand({ TopicArn: arn, Message: "x".repeat(262_145) })),
    );
    expect(refused.name).toBe("InvalidParameterException");
    expect(refused.message).toMatch(/Message too long/);
    const withAttribute = await rejectionOf(
      sns.send(
        new PublishCommand({
          TopicArn: arn,
          Message: "x".repeat(262_140),
          MessageAttributes: { type: { DataType: "String", StringValue: "long enough" } },
        }),
      ),
    );
    expect(withAttribute.message).toMatch(/Message too long/);
    await sns.send(new PublishCommand({ TopicArn: arn, Message: "é".repeat(131_072) }));
    expect(sandbox.sns.published(arn)).toHaveLength(1);
  });

  it("refuses more than ten message attributes and an empty attribute value", async () => {
    const arn = await topic("attributes");
    const many = Object.fromEntries(
      Array.from({ length: 11 }, (_, index) => [`a${index}`, { DataType: "String", StringValue: "v" }]),
    );
    expect(
      (
        await rejectionOf(
          sns.send(new PublishCommand({ TopicArn: arn, Message: "x", MessageAttributes: many })),
        )
      ).name,
    ).toBe("InvalidParameterException");
    const empty = await rejectionOf(
      sns.send(
        new PublishCommand({
          TopicArn: arn,
          Message: "x",
          MessageAttributes: { a: { DataType: "String", StringValue: "" } },
        }),
      ),
    );
    expect(empty.message).toMatch(/non-empty/);
  });

  it("on a FIFO topic needs a group and a deduplication id, and drops a repeat within five minutes", async () => {
    const arn = await topic("events.fifo", { FifoTopic: "true" });
    const noGroup = await rejectionOf(
      sns.send(new PublishCommand({ TopicArn: arn, Message: "x", MessageDeduplicationId: "a" })),
    );
    expect(noGroup.message).toMatch(/MessageGroupId/);
    const noDedup = await rejectionOf(
      sns.send(new PublishCommand({ TopicArn: arn, Message: "x", MessageGroupId: "g" })),
    );
    expect(noDedup.message).toMatch(/ContentBasedDeduplication/);
    const input = {
      TopicArn: arn,
      Message: "x",
      MessageGroupId: "orders-api",
      MessageDeduplicationId: "event-1",
    };
    const first = await sns.send(new PublishCommand(input));
    const again = await sns.send(new PublishCommand(input));
    expect(again.MessageId).toBe(first.MessageId);
    expect(first.SequenceNumber).toBeTruthy();
    expect(sandbox.sns.published(arn)).toHaveLength(1);
    clock.advance(5 * 60 * 1000 + 1);
    const later = await sns.send(new PublishCommand(input));
    expect(later.MessageId).not.toBe(first.MessageId);
    expect(sandbox.sns.published(arn)).toHaveLength(2);
  });

  it("serves injected faults on its operations", async () => {
    const arn = await topic("faulty");
    sandbox.faults.add({ service: "sns", operation: "Publish", error: "Throttled", status: 400, count: 1 });
    const throttled = await rejectionOf(sns.send(new PublishCommand({ TopicArn: arn, Message: "x" })));
    expect(throttled.name).toBe("ThrottledException");
    await sns.send(new PublishCommand({ TopicArn: arn, Message: "x" }));
    expect(sandbox.sns.published(arn)).toHaveLength(1);
  });
});
