import { describe, expect, it } from "vitest";
import { eventId, toCloudEvent } from "../../src/notify/events.js";
import { filterAccepts } from "../../src/notify/filter.js";
import { fitEnvelope, SNS_MAX_MESSAGE_BYTES } from "../../src/notify/fit.js";
import { SLACK_LIMITS, slackMessage, verdictTable } from "../../src/notify/slack.js";
import { gateVerdict, ORIGIN } from "./fixtures.js";

describe("the CloudEvents envelope", () => {
  it("carries the required attributes, the correlation id and the evidence summary", () => {
    const envelope = toCloudEvent(gateVerdict(), ORIGIN);
    expect(envelope).toMatchObject({
      specversion: "1.0",
      source: "https://github.com/acme/platform",
      type: "dev.cutover.gate-verdict",
      time: "2026-03-01T12:00:00.000Z",
      subject: "orders-api",
      datacontenttype: "application/json",
      correlationid: "4242-1",
      data: {
        event: "gate-verdict",
        weights: { before: { old: 90, new: 10 }, after: { old: 90, new: 10 } },
        verdict: { verdict: "rollback", gate: "standard" },
        runUrl: "https://github.com/acme/platform/actions/runs/4242",
      },
    });
    expect(envelope.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("keeps the id for the same occurrence (another attempt of the run) and changes it for another", () => {
    const first = eventId(gateVerdict(), ORIGIN);
    expect(eventId(gateVerdict(), { ...ORIGIN, correlationId: "4242-2" })).toBe(first);
    expect(eventId(gateVerdict({ occurrence: "window-end later" }), ORIGIN)).not.toBe(first);
    expect(eventId(gateVerdict(), { ...ORIGIN, idScope: "run-4243" })).not.toBe(first);
  });
});

describe("sink filters", () => {
  const verdict = toCloudEvent(gateVerdict(), ORIGIN);
  const rollback = toCloudEvent(
    gateVerdict({ name: "rollback-completed", rollbackOrigin: "guardian", verdict: undefined }),
    ORIGIN,
  );
  it("let through what they name, verdicts and rollback origins included", () => {
    expect(filterAccepts(undefined, verdict)).toBe(true);
    expect(filterAccepts({ events: ["shift-applied"] }, verdict)).toBe(false);
    expect(filterAccepts({ events: ["gate-verdict"], verdicts: ["rollback", "fail"] }, verdict)).toBe(true);
    expect(filterAccepts({ events: ["gate-verdict"], verdicts: ["pass"] }, verdict)).toBe(false);
    expect(filterAccepts({ rollbackOrigins: ["guardian"] }, rollback)).toBe(true);
    expect(filterAccepts({ rollbackOrigins: ["cli", "workflow"] }, rollback)).toBe(false);
  });
});

describe("the Slack message", () => {
  it("says what happened, the weights, the verdict table and the links", () => {
    const message = slackMessage(toCloudEvent(gateVerdict(), ORIGIN));
    const text = JSON.stringify(message.blocks);
    expect(message.text).toContain("Gate verdict: orders-api (canary-10)");
    expect(text).toContain("old 90 % / new 10 %");
    expect(text).toMatch(/error-rate +0\.031 +≤ 0\.01 +≤ 0\.02 +rollback/);
    expect(text).toContain("<https://github.com/acme/platform/actions/runs/4242|Run>");
    expect(text).toContain("correlation `4242-1`");
  });

  it("shortens what is over Slack's limits instead of dropping the message", () => {
    const figures = Array.from({ length: 400 }, (_, index) => ({
      metric: `metric-${index}`,
      value: index,
      pass: "≤ 1",
      verdict: "fail",
    }));
    const event = gateVerdict({
      summary: "x".repeat(5000),
      verdict: { verdict: "fail", figures },
    });
    const message = slackMessage(toCloudEvent(event, ORIGIN));
    const sections = message.blocks.filter((block) => block.type === "section") as {
      text?: { text: string };
    }[];
    for (const section of sections) {
      if (section.text) expect(section.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    }
    expect(sections[0]!.text!.text.endsWith("…")).toBe(true);
    const table = verdictTable(figures);
    expect(table.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(table).toMatch(/… and \d+ more/);
    expect(table).toContain("metric-0");
  });
});

describe("fitting an envelope to SNS's 256 KiB", () => {
  it("leaves a small envelope as it is", () => {
    const envelope = toCloudEvent(gateVerdict(), ORIGIN);
    expect(fitEnvelope(envelope, SNS_MAX_MESSAGE_BYTES)).toBe(envelope);
  });

  it("shortens a large one under the limit and marks it truncated, keeping what identifies it", () => {
    const envelope = toCloudEvent(
      gateVerdict({ evidence: { queries: "q".repeat(300_000) }, summary: "é".repeat(200_000) }),
      ORIGIN,
    );
    const fitted = fitEnvelope(envelope, SNS_MAX_MESSAGE_BYTES);
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(fitted.data.truncated).toBe(true);
    expect(fitted.id).toBe(envelope.id);
    expect(fitted.data.verdict?.verdict).toBe("rollback");
    expect(fitted.data.summary.endsWith("…")).toBe(true);
    expect(envelope.data.truncated).toBeUndefined();
  });
});
