/**
 * The end of the demo: the summary table of phases, verdicts and timings,
 * where the status files and evidence are, the commands to look again, and
 * the machine-readable result file.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, relative } from "node:path";
import { runCli } from "../cli/main.js";
import type { ActOneResult } from "./act-one.js";
import type { ActTwoResult } from "./act-two.js";
import type { FailureAccount } from "./background.js";
import { type DemoContext, seconds } from "./context.js";
import { textTable } from "./progress.js";

/** The machine-readable outcome (`result.json`). */
export interface DemoResult {
  ok: boolean;
  profile: string;
  startedAt: string;
  wallTimeMs: number;
  recorder: string;
  phases: DemoContext["phases"];
  actOne?: ActOneResult;
  actTwo?: ActTwoResult;
  /** Failures of the background traffic not caused by injected errors, summed over both acts. */
  unexplainedFailures: number;
  paths: {
    workspace: string;
    repo: string;
    remote: string;
    statusDir: string;
    evidence: string;
    result: string;
  };
  commands: string[];
  notes: string[];
  error?: string;
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") ? path : rel;
}

/** The commands that show the outcome again. */
export function lookAgainCommands(context: DemoContext): string[] {
  const spec = shown(context.workspace.specPath);
  return [
    `npx cutover status --file ${spec}`,
    `git --git-dir ${shown(context.workspace.remote)} log --oneline main`,
    `git --git-dir ${shown(context.workspace.remote)} show main:status/payments-api.json`,
    `ls ${shown(context.workspace.evidence)}`,
  ];
}

function failureLine(name: string, account: FailureAccount | undefined): string {
  if (!account) return `${name}: no traffic`;
  const unexpected = Object.entries(account.unexpectedByStatus)
    .map(([status, count]) => `${count}×${status}`)
    .join(", ");
  return (
    `${name}: ${account.requests} requests, ${account.unexplained} failed because of a shift or rollback` +
    ` (transport ${account.transportFailures}${unexpected ? `, ${unexpected}` : ""})` +
    (account.injected ? `, ${account.injected} failed by the injected errors` : "")
  );
}

/** Prints the summary table, the places and the commands. */
export async function printSummary(context: DemoContext, result: DemoResult): Promise<void> {
  const { progress } = context;
  progress.heading("Summary");
  const rows = [
    ["act", "migration", "phase", "verdict", "state", "time", "figures"],
    ...result.phases.map((phase) => [
      String(phase.act),
      phase.migration,
      phase.phase,
      phase.verdict === "pass"
        ? progress.paint("green", phase.verdict)
        : phase.verdict === "rollback" && phase.act === 2
          ? progress.paint("yellow", phase.verdict)
          : progress.paint("red", phase.verdict),
      phase.state,
      seconds(phase.elapsedMs),
      phase.detail.length > 110 ? `${phase.detail.slice(0, 107)}...` : phase.detail,
    ]),
  ];
  progress.line(textTable(rows));
  progress.line();
  progress.line(`Background traffic (${context.profile.backgroundRps} requests/s on each endpoint):`);
  progress.line(`  ${failureLine("act one", result.actOne?.failures)}`);
  progress.line(`  ${failureLine("act two", result.actTwo?.failures)}`);
  const rollback = result.actTwo?.rollback;
  if (rollback) {
    progress.line(
      `Rollback, from the breach seen: change submitted +${rollback.detectToSubmittedMs ?? "?"} ms, INSYNC +${rollback.detectToInsyncMs ?? "?"} ms; ` +
        `no request reached the new side after +${rollback.detectToOldSideOnlyMs ?? "?"} ms (traffic generator, 1 s resolution).`,
    );
  }
  progress.line();
  progress.line(
    `Status files: ${shown(result.paths.statusDir)}/ (committed to ${shown(result.paths.remote)}, branch main)`,
  );
  progress.line(
    `Evidence:     ${shown(result.paths.evidence)}/ (job summaries, step outputs, Artillery reports)`,
  );
  progress.line(`Result:       ${shown(result.paths.result)}`);
  progress.line();
  progress.line("Look again:");
  for (const command of result.commands) progress.line(`  ${command}`);
  progress.line();
  const output: string[] = [];
  await runCli(["status", "--file", context.workspace.specPath], {
    cwd: process.cwd(),
    stdout: (text) => output.push(text),
    stderr: (text) => output.push(text),
    now: () => new Date(),
  }).catch((error: Error) => output.push(`cutover status failed: ${error.message}`));
  progress.line(`$ ${result.commands[0]}`);
  progress.line(output.join("").trimEnd());
  for (const note of result.notes) progress.warn(note);
  progress.line();
  if (result.ok) {
    progress.ok(
      `demo complete in ${seconds(result.wallTimeMs)}: act one passed every phase, act two rolled back to the old side`,
    );
  } else {
    progress.fail(`demo failed after ${seconds(result.wallTimeMs)}: ${result.error ?? "see above"}`);
  }
}

export async function writeResult(path: string, result: DemoResult): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(result, null, 2)}\n`);
}
