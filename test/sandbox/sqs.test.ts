import { createHash } from "node:crypto";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  MessageNotInflight,
  PurgeQueueCommand,
  PurgeQueueInProgress,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../sandbox/index.js";
import {
  clientConfig,
  ManualClock,
  rejectionOf,
  startTestSandbox,
} from "../fixtures/sandbox/control-plane.js";

let sandbox: Sandbox;
let sqs: SQSClient;
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  sandbox = await startTestSandbox(undefined, clock.now);
  sqs = new SQSClient(clientConfig(sandbox));
});

afterAll(async () => {
  sqs.destroy();
  await sandbox.close();
});

describe("SQS queues", () => {
  it("creates a queue, finds it by name, returns it again for the same attributes and refuses different ones", async () => {
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: "orders-dlq", Attributes: { VisibilityTimeout: "5" } }),
    );
    expect(created.QueueUrl).toMatch(/\/123456789012\/orders-dlq$/);
    const again = await sqs.send(
      new CreateQueueCommand({ QueueName: "orders-dlq", Attributes: { VisibilityTimeout: "5" } }),
    );
    expect(again.QueueUrl).toBe(created.QueueUrl);
    await expect(
      sqs.send(new CreateQueueCommand({ QueueName: "orders-dlq", Attributes: { VisibilityTimeout: "6" } })),
    ).rejects.toBeInstanceOf(QueueNameExists);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: "orders-dlq" }))).QueueUrl).toBe(
      created.QueueUrl,
    );
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: created.QueueUrl, AttributeNames: ["All"] }),
    );
    expect(attributes.Attributes).toMatchObject({
      QueueArn: "arn:aws:sqs:us-east-1:123456789012:orders-dlq",
      VisibilityTimeout: "5",
      MaximumMessageSize: "262144",
      ApproximateNumberOfMessages: "0",
    });
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "orders" }));
    expect(listed.QueueUrls).toEqual([created.QueueUrl]);
  });

  it("refuses bad names, attribute values and unknown queues", async () => {
    const badName = await rejectionOf(sqs.send(new CreateQueueCommand({ QueueName: "has space" })));
    expect(badName.name).toBe("InvalidParameterValue");
    expect(badName.message).toMatch(/alphanumeric/);
    const tooLong = await rejectionOf(sqs.send(new CreateQueueCommand({ QueueName: "a".repeat(81) })));
    expect(tooLong.name).toBe("InvalidParameterValue");
    const badAttribute = await rejectionOf(
      sqs.send(new CreateQueueCommand({ QueueName: "q1", Attributes: { VisibilityTimeout: "43201" } })),
    );
    expect(badAttribute.name).toBe("InvalidAttributeValue");
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: "nope" }))).rejects.toBeInstanceOf(
      QueueDoesNotExist,
    );
    const unknown = await rejectionOf(
      sqs.send(
        new SendMessageCommand({ QueueUrl: `${sandbox.endpoint}/123456789012/nope`, MessageBody: "x" }),
      ),
    );
    expect(unknown).toBeInstanceOf(QueueDoesNotExist);
    expect((unknown as unknown as { Code?: string }).Code).toBe("AWS.SimpleQueueService.NonExistentQueue");
  });
});

describe("SQS messages", () => {
  it("sends with the body's MD5, hides a received message for the visibility timeout, and deletes it by receipt handle", async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: "work", Attributes: { VisibilityTimeout: "30" } }),
    );
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: "héllo",
        MessageAttributes: { kind: { DataType: "String", StringValue: "greeting" } },
      }),
    );
    expect(sent.MD5OfMessageBody).toBe(createHash("md5").update("héllo", "utf8").digest("hex"));
    const first = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
    );
    expect(first.Messages?.map((message) => message.Body)).toEqual(["héllo"]);
    expect(first.Messages?.[0]?.MessageAttributes?.["kind"]?.StringValue).toBe("greeting");
    expect(first.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe("1");
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
    clock.advance(31_000);
    const second = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(second.Messages?.[0]?.Body).toBe("héllo");
    await expect(
      sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: "not-a-handle" })),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl, ReceiptHandle: second.Messages?.[0]?.ReceiptHandle }),
    );
    clock.advance(31_000);
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
  });

  it("refuses an oversized body, a bad MaxNumberOfMessages or WaitTimeSeconds, and a second purge within 60 s", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "limits" }));
    const big = await rejectionOf(
      sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x".repeat(262_145) })),
    );
    expect(big.name).toBe("InvalidParameterValue");
    expect(big.message).toMatch(/262144 bytes/);
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x".repeat(262_144) }));
    for (const input of [{ MaxNumberOfMessages: 0 }, { MaxNumberOfMessages: 11 }, { WaitTimeSeconds: 21 }]) {
      const refused = await rejectionOf(sqs.send(new ReceiveMessageCommand({ QueueUrl, ...input })));
      expect(refused.name).toBe("InvalidParameterValue");
    }
    const invalidChars = await rejectionOf(
      sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "a\u0001b" })),
    );
    expect(invalidChars.name).toBe("InvalidMessageContents");
    await sqs.send(new PurgeQueueCommand({ QueueUrl }));
    await expect(sqs.send(new PurgeQueueCommand({ QueueUrl }))).rejects.toBeInstanceOf(PurgeQueueInProgress);
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
  });

  it("long-polls until a message arrives, within WaitTimeSeconds", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "poll" }));
    const started = Date.now();
    const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    setTimeout(
      () => sandbox.sqs.sendToQueue("arn:aws:sqs:us-east-1:123456789012:poll", "late", { A: "1" }),
      200,
    );
    const received = await waiting;
    expect(received.Messages?.[0]?.Body).toBe("late");
    expect(Date.now() - started).toBeLessThan(4000);
    expect(() => sandbox.sqs.sendToQueue("arn:aws:sqs:us-east-1:123456789012:missing", "x")).toThrow(
      /does not exist/,
    );
  });
});

describe("SQS faults", () => {
  it("answers an injected error in SQS's own error shape, so the SDK raises its class", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "faulty" }));
    sandbox.faults.add({ service: "sqs", operation: "SendMessage", error: "QueueDoesNotExist", count: 1 });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" }))).rejects.toBeInstanceOf(
      QueueDoesNotExist,
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" }));
  });
});

describe("SQS redrive", () => {
  it("moves a message received more than maxReceiveCount times to the dead-letter queue, and refuses a missing target", async () => {
    const dead = await sqs.send(new CreateQueueCommand({ QueueName: "redrive-dead" }));
    const deadArn = "arn:aws:sqs:us-east-1:123456789012:redrive-dead";
    const missing = await rejectionOf(
      sqs.send(
        new CreateQueueCommand({
          QueueName: "redrive-source",
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `${deadArn}-nope`, maxReceiveCount: 1 }),
          },
        }),
      ),
    );
    expect(missing.name).toBe("InvalidAttributeValue");
    expect(missing.message).toMatch(/Dead letter target does not exist/);
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: "redrive-source",
        Attributes: {
          VisibilityTimeout: "1",
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadArn, maxReceiveCount: 1 }),
        },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "poison" }));
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages?.[0]?.Body).toBe("poison");
    clock.advance(2000);
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
    const moved = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dead.QueueUrl }));
    expect(moved.Messages?.[0]?.Body).toBe("poison");
  });
});

describe("SQS visibility and attributes", () => {
  it("changes a received message's visibility, refuses one not in flight, and sets queue attributes", async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "visibility" }));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { VisibilityTimeout: "100" } }));
    const refused = await rejectionOf(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { VisibilityTimeout: "-1" } })),
    );
    expect(refused.name).toBe("InvalidAttributeValue");
    const fifo = await rejectionOf(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { FifoQueue: "true" } })),
    );
    expect(fifo.name).toBe("InvalidAttributeName");
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["VisibilityTimeout"] }),
    );
    expect(attributes.Attributes).toEqual({ VisibilityTimeout: "100" });
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "m" }));
    const [message] = (await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages ?? [];
    clock.advance(50_000);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(again.Messages?.[0]?.Body).toBe("m");
    // The first receipt handle is stale now that the message was received again.
    await expect(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl,
          ReceiptHandle: message?.ReceiptHandle,
          VisibilityTimeout: 10,
        }),
      ),
    ).rejects.toBeInstanceOf(MessageNotInflight);
  });
});
