import { describe, expect, it } from "vitest";
import { type DeliveryRecord, EventDelivery, type StoredTarget } from "../../sandbox/eventbridge-delivery.js";
import { ServiceError } from "../../sandbox/protocol.js";
import type { DeadLetterSink } from "../../sandbox/types.js";

const FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:guardian";
const QUEUE = "arn:aws:sqs:us-east-1:123456789012:dlq";
const RULE = "arn:aws:events:us-east-1:123456789012:rule/r";

function newRecord(target: StoredTarget): DeliveryRecord {
  return {
    ruleArn: RULE,
    targetId: target.Id,
    targetArn: target.Arn,
    attempts: 0,
    outcome: "pending",
    deadLettered: false,
  };
}

describe("EventBridge delivery", () => {
  it("gives up once the event is older than MaximumEventAgeInSeconds, and says so in the dead-letter attributes", async () => {
    let now = 0;
    const letters: Array<{ body: string; attributes?: Record<string, string> }> = [];
    const sink: DeadLetterSink = {
      sendToQueue: (_arn, body, attributes) =>
        void letters.push({ body, ...(attributes ? { attributes } : {}) }),
    };
    const delivery = new EventDelivery({
      invoker: {
        invokeAsync: async () => {
          // Each throttled attempt takes 40 s of sandbox time.
          now += 40_000;
          throw new ServiceError("TooManyRequestsException", "Rate exceeded", 429);
        },
      },
      deadLetters: sink,
      resolveApiDestination: () => undefined,
      now: () => now,
      retryBackoffScale: 0.001,
    });
    const target: StoredTarget = {
      Id: "g",
      Arn: FUNCTION,
      RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 60 },
      DeadLetterConfig: { Arn: QUEUE },
    };
    const record = newRecord(target);
    delivery.deliver({ id: "e1", detail: {} }, RULE, target, record);
    await delivery.settled();
    expect(record).toMatchObject({ attempts: 2, outcome: "failed", deadLettered: true });
    expect(letters).toHaveLength(1);
    expect(letters[0]?.attributes).toMatchObject({
      EXHAUSTED_RETRY_CONDITION: "MaximumEventAgeInSeconds",
      RETRY_ATTEMPTS: "1",
    });
  });

  it("records a dead-letter queue that does not exist instead of losing the reason", async () => {
    const delivery = new EventDelivery({
      deadLetters: {
        sendToQueue: () => {
          throw new ServiceError("QueueDoesNotExist", "The specified queue does not exist.");
        },
      },
      resolveApiDestination: () => undefined,
      now: () => 0,
      retryBackoffScale: 0.001,
    });
    const target: StoredTarget = {
      Id: "s",
      Arn: "arn:aws:sns:us-east-1:123456789012:topic",
      DeadLetterConfig: { Arn: QUEUE },
    };
    const record = newRecord(target);
    delivery.deliver({ id: "e2" }, RULE, target, record);
    await delivery.settled();
    expect(record).toMatchObject({
      attempts: 1,
      outcome: "failed",
      deadLettered: false,
      errorCode: "UnsupportedTarget",
    });
    expect(record.deadLetterError).toMatch(/does not exist/);
  });

  it("sends a target's constant Input or the part its InputPath selects", async () => {
    const payloads: string[] = [];
    const delivery = new EventDelivery({
      invoker: {
        invokeAsync: async (_arn, payload) => {
          payloads.push(payload);
          return { requestId: "r" };
        },
      },
      resolveApiDestination: () => undefined,
      now: () => 0,
      retryBackoffScale: 0.001,
    });
    const event = { id: "e3", detail: { alarmName: "a", state: { value: "ALARM" } } };
    for (const target of [
      { Id: "constant", Arn: FUNCTION, Input: '{"fixed":true}' },
      { Id: "path", Arn: FUNCTION, InputPath: "$.detail.state" },
    ]) {
      const record = newRecord(target);
      delivery.deliver(event, RULE, target, record);
    }
    await delivery.settled();
    expect(payloads.sort()).toEqual(['{"fixed":true}', '{"value":"ALARM"}']);
  });
});

describe("closing delivery", () => {
  it("ends a retry's backoff at once, leaving the delivery pending with its last error", async () => {
    const delivery = new EventDelivery({
      invoker: {
        invokeAsync: async () => {
          throw new ServiceError("TooManyRequestsException", "Rate exceeded", 429);
        },
      },
      resolveApiDestination: () => undefined,
      now: () => 0,
      // Unscaled: the first backoff would wait about a second.
      retryBackoffScale: 1,
    });
    const target: StoredTarget = { Id: "g", Arn: FUNCTION };
    const record = newRecord(target);
    delivery.deliver({ id: "e4" }, RULE, target, record);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    delivery.close();
    await delivery.settled();
    expect(Date.now() - started).toBeLessThan(200);
    expect(record).toMatchObject({ attempts: 1, outcome: "pending", errorCode: "TooManyRequestsException" });
  });
});
