// SNS delivery through the real SDK client against the sandbox's SNS: the
// envelope as the message, shortened (not dropped) over 256 KiB, FIFO
// deduplication by event id, and a retry after throttling.
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sandbox } from "../../sandbox/index.js";
import { Announcer } from "../../src/notify/announcer.js";
import type { CloudEvent } from "../../src/notify/events.js";
import { SNS_MAX_MESSAGE_BYTES } from "../../src/notify/fit.js";
import { SnsNotificationTransport } from "../../src/providers/sns-notification-transport.js";
import { clientConfig, startTestSandbox } from "../fixtures/sandbox/control-plane.js";
import { gateVerdict, migrationWith, ORIGIN } from "./fixtures.js";

let sandbox: Sandbox;
let client: SNSClient;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  client = new SNSClient(clientConfig(sandbox));
});

afterAll(async () => {
  client.destroy();
  await sandbox.close();
});

function announcer(topicArn: string) {
  const warnings: string[] = [];
  const value = new Announcer({
    migration: migrationWith({ sinks: [{ kind: "sns", name: "ops-topic", topicArn }] }),
    origin: ORIGIN,
    lookup: { secrets: {}, env: {} },
    transports: (sink) => new SnsNotificationTransport((sink as { topicArn: string }).topicArn, client),
    log: { info: () => {}, warn: (message) => warnings.push(message) },
    mask: () => {},
    policy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, totalBudgetMs: 5000, attemptTimeoutMs: 2000 },
  });
  return { announcer: value, warnings };
}

async function createTopic(name: string, fifo = false): Promise<string> {
  const created = await client.send(
    new CreateTopicCommand({ Name: name, ...(fifo ? { Attributes: { FifoTopic: "true" } } : {}) }),
  );
  return created.TopicArn!;
}

describe("SNS delivery", () => {
  it("publishes the CloudEvent with type and migration attributes", async () => {
    const arn = await createTopic("cutover-ops");
    const [record] = await announcer(arn).announcer.announce(gateVerdict());
    expect(record).toMatchObject({ delivered: true, attempts: 1 });
    const [message] = sandbox.sns.published(arn);
    const envelope = JSON.parse(message!.message) as CloudEvent;
    expect(envelope).toMatchObject({
      id: record!.id,
      type: "dev.cutover.gate-verdict",
      subject: "orders-api",
    });
    expect(message!.subject).toBe("cutover orders-api: gate-verdict (canary-10)");
    expect(message!.attributes.type).toEqual({ DataType: "String", StringValue: "dev.cutover.gate-verdict" });
  });

  it("shortens an envelope over 256 KiB instead of dropping it", async () => {
    const arn = await createTopic("cutover-large");
    const [record] = await announcer(arn).announcer.announce(
      gateVerdict({ evidence: { queries: "q".repeat(400_000) } }),
    );
    expect(record?.delivered).toBe(true);
    const [message] = sandbox.sns.published(arn);
    expect(Buffer.byteLength(message!.message)).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect((JSON.parse(message!.message) as CloudEvent).data.truncated).toBe(true);
  });

  it("on a FIFO topic a repeated event is dropped by SNS (deduplication id = event id)", async () => {
    const arn = await createTopic("cutover-ops.fifo", true);
    const { announcer: first } = announcer(arn);
    await first.announce(gateVerdict());
    await first.announce(gateVerdict());
    expect(sandbox.sns.published(arn)).toHaveLength(1);
    expect(sandbox.sns.published(arn)[0]!.messageGroupId).toBe("orders-api");
  });

  it("retries after throttling, and records a missing topic as not delivered without retrying", async () => {
    const arn = await createTopic("cutover-throttled");
    sandbox.faults.add({ service: "sns", operation: "Publish", error: "Throttled", status: 400, count: 1 });
    const [retried] = await announcer(arn).announcer.announce(gateVerdict());
    expect(retried).toMatchObject({ delivered: true, attempts: 2 });
    const { announcer: missing, warnings } = announcer(`${arn}-absent`);
    const [record] = await missing.announce(gateVerdict());
    expect(record).toMatchObject({ delivered: false, attempts: 1, error: expect.stringMatching(/NotFound/) });
    expect(warnings.join("\n")).toMatch(/could not notify ops-topic/);
  });
});
