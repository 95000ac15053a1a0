import * as core from "@actions/core";
import { formatDuration } from "../model/duration.js";

/** What every action's job summary says: what was found, what was done, how long it took, what next. */
export interface ActionReport {
  title: string;
  /** One line under the title, e.g. the verdict or the weights. */
  headline?: string;
  found?: string[];
  done?: string[];
  /** Tables: header row first. */
  tables?: Array<{ caption?: string; rows: string[][] }>;
  /** Extra Markdown blocks (charts, details). */
  markdown?: string[];
  next?: string[];
}

/** Renders a report as Markdown; also used for PR comments and the demo. */
export function renderReport(report: ActionReport, elapsedMs: number): string {
  const out: string[] = [`## ${report.title}`, ""];
  if (report.headline) out.push(`**${report.headline}**`, "");
  section(out, "What was found", report.found);
  section(out, "What was done", report.done);
  for (const table of report.tables ?? []) {
    if (table.caption) out.push(`#### ${table.caption}`, "");
    out.push(...markdownTable(table.rows), "");
  }
  for (const block of report.markdown ?? []) out.push(block, "");
  out.push(
    `Took ${elapsedMs < 1000 ? `${elapsedMs} ms` : formatDuration(Math.round(elapsedMs / 1000))}.`,
    "",
  );
  section(out, "What to do next", report.next);
  return out.join("\n");
}

function section(out: string[], heading: string, lines: string[] | undefined): void {
  if (!lines || lines.length === 0) return;
  out.push(`### ${heading}`, "", ...lines.map((line) => `- ${line}`), "");
}

/** A GitHub-flavoured Markdown table; pipes in cells are escaped. */
export function markdownTable(rows: string[][]): string[] {
  const [header, ...body] = rows;
  if (!header) return [];
  const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [
    `| ${header.map(cell).join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...body.map((row) => `| ${row.map(cell).join(" | ")} |`),
  ];
}

/** Appends the report to the job summary when the runner provides one. */
export async function writeJobSummary(report: ActionReport, elapsedMs: number): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(renderReport(report, elapsedMs), true).write();
}
