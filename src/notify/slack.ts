/**
 * The Slack message of an event: Block Kit for people (what happened, the
 * weights, the verdict table, links) with a plain `text` fallback for
 * notifications and screen readers. Every text is kept inside Slack's limits
 * and shortened with a visible mark, never dropped.
 */
import { type CloudEvent, EVENT_TITLES, formatWeights, type VerdictFigure } from "./events.js";

/** Slack's limits on what cutover sends (Block Kit reference). */
export const SLACK_LIMITS = {
  /** Characters of a header block's plain_text. */
  header: 150,
  /** Characters of a section block's text. */
  sectionText: 3000,
  /** Characters of one section field. */
  field: 2000,
  /** Fields of one section. */
  fields: 10,
  /** Characters of the message's top-level text; Slack truncates longer messages. */
  text: 40_000,
  /** Blocks of one message. */
  blocks: 50,
} as const;

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

const ELLIPSIS = "…";

/** `text` cut to `limit` characters, marked when cut. */
export function shorten(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, Math.max(0, limit - ELLIPSIS.length))}${ELLIPSIS}`;
}

/** Slack's mrkdwn treats these three as control characters. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function formatValue(value: number | null): string {
  if (value === null) return "no data";
  return Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+$/, "");
}

/** The verdict table as a fixed-width block that fits one section, with a count of rows left out. */
export function verdictTable(figures: readonly VerdictFigure[], limit = SLACK_LIMITS.sectionText): string {
  const header = ["metric", "value", "pass", "rollback", "verdict"];
  const rows = figures.map((figure) => [
    `${figure.metric}${figure.side === "old" ? " (old)" : ""}`,
    formatValue(figure.value),
    figure.pass ?? "",
    figure.rollback ?? "",
    String(figure.verdict),
  ]);
  const widths = header.map((title, column) =>
    Math.min(40, Math.max(title.length, ...rows.map((row) => row[column]!.length))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => shorten(cell, widths[column]!).padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  const fence = "```";
  const lines = [line(header)];
  let omitted = 0;
  for (const [index, row] of rows.entries()) {
    const candidate = line(row);
    const more = rows.length - index - 1;
    const tail = more > 0 ? `\n… and ${more} more` : "";
    // Room for the fences, this row and the note about the rest.
    if ([...lines, candidate].join("\n").length + 2 * fence.length + 2 + tail.length > limit) {
      omitted = rows.length - index;
      break;
    }
    lines.push(candidate);
  }
  if (omitted > 0) lines.push(`… and ${omitted} more`);
  return `${fence}\n${lines.join("\n")}\n${fence}`;
}

/** The Slack message for an envelope. */
export function slackMessage(event: CloudEvent): SlackMessage {
  const data = event.data;
  const title = `${EVENT_TITLES[data.event]}: ${data.migration}${data.phase ? ` (${data.phase})` : ""}`;
  const fields: string[] = [];
  if (data.weights?.before) fields.push(`*Before*\n${formatWeights(data.weights.before)}`);
  if (data.weights?.after) fields.push(`*After*\n${formatWeights(data.weights.after)}`);
  if (data.verdict) {
    fields.push(
      `*Verdict*\n${data.verdict.verdict}${data.verdict.gate ? ` (gate ${data.verdict.gate})` : ""}`,
    );
  }
  if (data.rollback) fields.push(`*Rolled back by*\n${data.rollback.origin}`);
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: shorten(title, SLACK_LIMITS.header), emoji: false } },
    {
      type: "section",
      text: { type: "mrkdwn", text: shorten(escapeMrkdwn(data.summary), SLACK_LIMITS.sectionText) },
    },
  ];
  if (fields.length > 0) {
    blocks.push({
      type: "section",
      fields: fields
        .slice(0, SLACK_LIMITS.fields)
        .map((text) => ({ type: "mrkdwn", text: shorten(escapeMrkdwn(text), SLACK_LIMITS.field) })),
    });
  }
  const reason = data.rollback?.reason ?? data.reason;
  if (reason) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: shorten(`*Why:* ${escapeMrkdwn(reason)}`, SLACK_LIMITS.sectionText) },
    });
  }
  if (data.verdict && data.verdict.figures.length > 0) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: verdictTable(data.verdict.figures) } });
  }
  const links = [...(data.runUrl ? [{ label: "Run", url: data.runUrl }] : []), ...(data.links ?? [])];
  const context = [
    ...links
      .slice(0, 8)
      .map((link) => ({ type: "mrkdwn", text: shorten(`<${link.url}|${escapeMrkdwn(link.label)}>`, 2000) })),
    { type: "mrkdwn", text: `correlation \`${shorten(event.correlationid, 200)}\` · event \`${event.id}\`` },
  ];
  blocks.push({ type: "context", elements: context });
  const text = shorten(`${title}: ${data.summary}`, SLACK_LIMITS.text);
  return { text, blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}
