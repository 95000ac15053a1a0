// `cutover validate` on the notifications of a migration: what it can see
// (shape, names, filters) is an error naming the JSON path and what would
// be accepted.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateSpecText } from "../../src/core/validate.js";
import { repoRoot } from "../support/run-action.js";

const example = JSON.parse(readFileSync(join(repoRoot, "migrations.json"), "utf8")) as {
  migrations: Record<string, unknown>[];
};
const options = { file: "migrations.json", fileExists: () => true };

function withNotifications(notifications: unknown): string {
  const document = structuredClone(example);
  document.migrations[0]!.notifications = notifications;
  return JSON.stringify(document, null, 2);
}

const good = {
  sinks: [
    {
      kind: "slack",
      name: "ops-slack",
      webhookUrl: { secret: "SLACK_WEBHOOK_URL" },
      filter: { events: ["gate-verdict", "rollback-completed"], verdicts: ["fail", "rollback"] },
    },
    {
      kind: "webhook",
      name: "change-log",
      url: { env: "CHANGE_LOG_URL" },
      signingSecret: { secret: "CHANGE_LOG_KEY" },
    },
    {
      kind: "sns",
      name: "ops-topic",
      topicArn: "arn:aws:sns:eu-west-1:123456789012:cutover-ops",
      filter: { events: ["rollback-started", "rollback-completed"], rollbackOrigins: ["guardian"] },
    },
  ],
};

describe("notifications in the spec", () => {
  it("accepts Slack, webhook and SNS sinks with filters", () => {
    const result = validateSpecText(withNotifications(good), options);
    expect(result.errors).toEqual([]);
  });

  it("names the JSON path of an unknown event, a URL where a secret name belongs, and a bad topic ARN", () => {
    const bad = structuredClone(good) as { sinks: Record<string, unknown>[] };
    bad.sinks[0]!.filter = { events: ["rollback-finished"] };
    bad.sinks[1]!.url = { secret: "https://hooks.example.com/abc" };
    bad.sinks[2]!.topicArn = "cutover-ops";
    const result = validateSpecText(withNotifications(bad), options);
    expect(result.ok).toBe(false);
    const byPath = new Map(result.errors.map((error) => [error.path, error]));
    expect(byPath.get("migrations[0].notifications.sinks[0].filter.events[0]")?.expected).toMatch(
      /"phase-started".*"waiting-for-approval"/,
    );
    expect(byPath.get("migrations[0].notifications.sinks[1].url.secret")?.expected).toMatch(
      /a secret name of letters, digits and underscores/,
    );
    expect(byPath.get("migrations[0].notifications.sinks[2].topicArn")?.expected).toMatch(/SNS topic ARN/);
    for (const error of result.errors) expect(error.line).toBeGreaterThan(0);
  });

  it("refuses a URL written in the spec instead of a reference", () => {
    const bad = structuredClone(good) as { sinks: Record<string, unknown>[] };
    bad.sinks[0]!.webhookUrl = "https://hooks.slack.com/services/T000/B000/XXXX";
    const result = validateSpecText(withNotifications(bad), options);
    const error = result.errors.find((candidate) =>
      candidate.path.startsWith("migrations[0].notifications.sinks[0]"),
    );
    expect(error?.path).toBe("migrations[0].notifications.sinks[0].webhookUrl");
    expect(error?.expected).toMatch(/\{"secret": "NAME"\}.*\{"env": "NAME"\}/);
  });

  it("refuses a repeated sink name and filters that cannot apply", () => {
    const bad = structuredClone(good) as { sinks: Record<string, unknown>[] };
    bad.sinks[1]!.name = "ops-slack";
    bad.sinks[0]!.filter = { events: ["shift-applied"], verdicts: ["fail"] };
    bad.sinks[2]!.filter = { events: ["drift-detected"], rollbackOrigins: ["cli"] };
    const result = validateSpecText(withNotifications(bad), options);
    expect(result.errors.map((error) => [error.path, error.message])).toEqual(
      expect.arrayContaining([
        [
          "migrations[0].notifications.sinks[1].name",
          '"ops-slack" is also the name of notifications.sinks[0]',
        ],
        [
          "migrations[0].notifications.sinks[0].filter.verdicts",
          "verdicts filter gate-verdict events, which this sink's events leave out",
        ],
        [
          "migrations[0].notifications.sinks[2].filter.rollbackOrigins",
          "rollbackOrigins filter rollback events, which this sink's events leave out",
        ],
      ]),
    );
  });
});
