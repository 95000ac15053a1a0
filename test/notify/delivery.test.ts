// Delivery to a loopback receiver through the real HTTP transports, under
// each fault the receiver can play: 500, 429 with Retry-After, a hang.
import { afterEach, describe, expect, it } from "vitest";
import type { NotificationSinkSpec } from "../../src/model/spec.js";
import { Announcer } from "../../src/notify/announcer.js";
import type { CloudEvent } from "../../src/notify/events.js";
import type { RetryPolicy } from "../../src/notify/retry.js";
import { createSinkTransport } from "../../src/providers/notification-transports.js";
import { gateVerdict, migrationWith, ORIGIN } from "./fixtures.js";
import { type Receiver, startReceiver } from "./receiver.js";

const SECRET = "whsec_loopback_key";
const POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 20,
  maxDelayMs: 100,
  totalBudgetMs: 10_000,
  // Generous for a loopback answer on a loaded machine; the hang test sets its own.
  attemptTimeoutMs: 3000,
};

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(secret?: string): Promise<Receiver> {
  const started = await startReceiver(secret ? { secret } : {});
  receivers.push(started);
  return started;
}

function announcerFor(
  sinks: NotificationSinkSpec[],
  secrets: Record<string, string>,
  env: Record<string, string> = {},
  policy: RetryPolicy = POLICY,
) {
  const warnings: string[] = [];
  const masked: string[] = [];
  const announcer = new Announcer({
    migration: migrationWith({ sinks }),
    origin: ORIGIN,
    lookup: { secrets, env },
    transports: createSinkTransport,
    log: { info: () => {}, warn: (message) => warnings.push(message) },
    mask: (value) => masked.push(value),
    policy,
  });
  return { announcer, warnings, masked };
}

const webhook: NotificationSinkSpec = {
  kind: "webhook",
  name: "ops-hook",
  url: { secret: "HOOK_URL" },
  signingSecret: { secret: "HOOK_KEY" },
};

describe("webhook delivery", () => {
  it("delivers a signed CloudEvent the receiver verifies, and masks the secrets", async () => {
    const hook = await receiver(SECRET);
    const { announcer, masked } = announcerFor([webhook], { HOOK_URL: hook.url, HOOK_KEY: SECRET });
    const [record] = await announcer.announce(gateVerdict());
    expect(record).toMatchObject({ sink: "ops-hook", delivered: true, attempts: 1 });
    expect(hook.received).toHaveLength(1);
    const got = hook.received[0]!;
    expect(got.signature).toEqual({ ok: true, timestamp: expect.any(Number) });
    expect(got.headers["content-type"]).toBe("application/cloudevents+json; charset=utf-8");
    const envelope = JSON.parse(got.body) as CloudEvent;
    expect(envelope.id).toBe(record!.id);
    expect(got.headers["cutover-event-id"]).toBe(envelope.id);
    expect(masked).toEqual(expect.arrayContaining([hook.url, SECRET]));
  });

  it("retries after a 500 with the same event id (at least once; the receiver dedupes)", async () => {
    const hook = await receiver(SECRET);
    hook.script({ status: 500 }, { status: 503 });
    const { announcer } = announcerFor([webhook], { HOOK_URL: hook.url, HOOK_KEY: SECRET });
    const [record] = await announcer.announce(gateVerdict());
    expect(record).toMatchObject({ delivered: true, attempts: 3 });
    const ids = hook.received.map((request) => (JSON.parse(request.body) as CloudEvent).id);
    expect(new Set(ids).size).toBe(1);
    expect(hook.received.every((request) => request.signature?.ok)).toBe(true);
  });

  it("waits out a 429's Retry-After before the next attempt", async () => {
    const hook = await receiver(SECRET);
    hook.script({ status: 429, retryAfter: "1" });
    const { announcer } = announcerFor([webhook], { HOOK_URL: hook.url, HOOK_KEY: SECRET });
    const [record] = await announcer.announce(gateVerdict());
    expect(record).toMatchObject({ delivered: true, attempts: 2 });
    const [first, second] = hook.received;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it("gives up on a receiver that hangs, within the budget, and records why", async () => {
    const hook = await receiver(SECRET);
    hook.script("hang", "hang", "hang", "hang");
    const { announcer, warnings } = announcerFor(
      [webhook],
      { HOOK_URL: hook.url, HOOK_KEY: SECRET },
      {},
      { ...POLICY, maxAttempts: 2, attemptTimeoutMs: 200 },
    );
    const [record] = await announcer.announce(gateVerdict());
    expect(record).toMatchObject({ delivered: false, attempts: 2 });
    expect(record!.error).toMatch(/gave up after 2 attempts; last: timed out after 200 ms/);
    expect(warnings.join("\n")).toMatch(/could not notify ops-hook of gate-verdict/);
    expect(announcer.deliveries).toHaveLength(1);
  });

  it("does not retry a refusal (HTTP 400)", async () => {
    const hook = await receiver(SECRET);
    hook.script({ status: 400, body: "bad payload" });
    const { announcer } = announcerFor([webhook], { HOOK_URL: hook.url, HOOK_KEY: SECRET });
    const [record] = await announcer.announce(gateVerdict());
    expect(record).toMatchObject({
      delivered: false,
      attempts: 1,
      error: expect.stringMatching(/HTTP 400: bad payload/),
    });
    expect(hook.received).toHaveLength(1);
  });

  it("a wrong signing key is refused by the receiver", async () => {
    const hook = await receiver(SECRET);
    const { announcer } = announcerFor([webhook], { HOOK_URL: hook.url, HOOK_KEY: "another key" });
    const [record] = await announcer.announce(gateVerdict());
    expect(record).toMatchObject({ delivered: false, error: expect.stringMatching(/HTTP 401/) });
    expect(hook.received[0]!.signature).toEqual({ ok: false, reason: "no signature matches the body" });
  });
});

describe("Slack delivery", () => {
  const slack: NotificationSinkSpec = { kind: "slack", name: "ops-slack", webhookUrl: { env: "SLACK_URL" } };

  it("posts the Block Kit message and honours Slack's 429", async () => {
    const hook = await receiver();
    hook.script({ status: 429, retryAfter: "1" });
    const { announcer } = announcerFor([slack], {}, { SLACK_URL: hook.url });
    const [record] = await announcer.announce(gateVerdict());
    expect(record).toMatchObject({ delivered: true, attempts: 2 });
    const message = JSON.parse(hook.received[1]!.body) as { text: string; blocks: { type: string }[] };
    expect(message.text).toMatch(/^Gate verdict: orders-api/);
    expect(message.blocks[0]!.type).toBe("header");
  });
});

describe("sinks that cannot be used", () => {
  it("warn and are recorded as failed, never thrown: a missing secret, a plain-http URL", async () => {
    const { announcer, warnings } = announcerFor(
      [webhook, { kind: "slack", name: "plain", webhookUrl: { secret: "PLAIN_URL" } }],
      { HOOK_KEY: SECRET, PLAIN_URL: "http://hooks.example.com/T000/B000/xyz" },
    );
    const records = await announcer.announce(gateVerdict());
    expect(records).toEqual([
      expect.objectContaining({
        sink: "ops-hook",
        delivered: false,
        attempts: 0,
        error: "the URL (secret HOOK_URL) is not set",
      }),
      expect.objectContaining({
        sink: "plain",
        delivered: false,
        error: expect.stringMatching(/secret PLAIN_URL\) is a http URL; give an https:\/\/ URL/),
      }),
    ]);
    expect(warnings.join("\n")).toMatch(/sink "ops-hook" cannot be used/);
    expect(warnings.join("\n")).not.toContain("hooks.example.com");
  });

  it("only the sinks whose filter accepts the event are sent it", async () => {
    const hook = await receiver(SECRET);
    const { announcer } = announcerFor(
      [{ ...webhook, filter: { events: ["gate-verdict"], verdicts: ["pass"] } }],
      { HOOK_URL: hook.url, HOOK_KEY: SECRET },
    );
    expect(await announcer.announce(gateVerdict())).toEqual([]);
    expect(hook.received).toHaveLength(0);
  });
});
