/**
 * `cutover gate replay`: what a gate would have decided over past CloudWatch
 * data, look by look as the monitor would have looked, with a chart.
 */
import { writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createAwsClients } from "../action/aws.js";
import { svgChart, textChart } from "../core/gate/replay-chart.js";
import { formatDuration, parseDuration } from "../model/duration.js";
import { ReplayInputError, type ReplayOutcome, replayGate } from "../ops/gate-replay.js";
import { createMetricsSource, type MetricsSource } from "../providers/metrics-source.js";
import {
  findMigration,
  loadSpec,
  readStatus,
  SpecInvalidError,
  UnknownMigrationError,
} from "../spec/files.js";
import { type CliCommand, EXIT, parseOptions, UsageError } from "./command.js";
import { DEFAULT_SPEC_FILE } from "./validate-command.js";

const USAGE = `Usage: cutover gate replay --migration <id> --gate <name> --from <time> --to <time>
                          [--step 15m] [--bake <duration>] [--svg <file>] [--json] [--file <spec>]

Evaluates the gate over past CloudWatch data as the monitor would have: a look
every --step from --from (taken as the gate start), each judging the window
from --from to that look, with the monitor's decision on each verdict. Stops
where the monitor would have: at a rollback or when the bake passes. Reads
AWS the way the actions do (AWS_REGION, AWS_ENDPOINT_URL, the credential chain).

  --migration <id>     the migration in the spec
  --gate <name>        one of its gates; it must have a compare check
  --from <time>        gate start of the replayed bake, ISO 8601 (2026-03-01T00:00:00Z)
  --to <time>          the last look is at or before this; ISO 8601 or "now"
  --step <duration>    time between looks (default 15m, the monitor's schedule)
  --bake <duration>    the bake's length (default: the bake step using the gate)
  --svg <file>         also write the chart as SVG (for a job summary or docs)
  --json               print the looks and events as JSON instead of text
  --file <spec>        the spec (default: ${DEFAULT_SPEC_FILE})

Exit codes: 0 replayed, 1 AWS or data error, 2 bad input (flag, spec, gate).`;

function parseTime(flag: string, text: string | undefined, now: Date): Date {
  if (text === undefined) throw new UsageError(`${flag} is required`);
  if (text === "now") return now;
  // A timestamp without a zone would be read in the machine's zone: ask for one.
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
  const ms = iso.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `${flag} ${JSON.stringify(text)} is not a time; give ISO 8601 with a zone, e.g. 2026-03-01T00:00:00Z${flag === "--to" ? ', or "now"' : ""}`,
    );
  }
  return new Date(ms);
}

function parseSeconds(flag: string, text: string): number {
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds === 0) {
    throw new UsageError(
      `${flag} ${JSON.stringify(text)} is not a duration longer than zero, e.g. "15m" or "1h"`,
    );
  }
  return seconds;
}

/** Lines saying when the gate would have failed, passed or rolled back, and on what. */
export function describeReplay(outcome: ReplayOutcome): string[] {
  const lines: string[] = [];
  const on = (metrics: string[]) => (metrics.length ? ` on ${metrics.join(", ")}` : "");
  for (const event of outcome.events) {
    const at = `${event.at} (look ${event.look})`;
    if (event.kind === "first-fail") lines.push(`First failed at ${at}${on(event.metrics)}.`);
    if (event.kind === "first-pass") lines.push(`First passed at ${at}.`);
    if (event.kind === "rollback")
      lines.push(`Would have rolled back at ${at}${on(event.metrics)}: ${event.reason}`);
    if (event.kind === "passed") lines.push(`Would have passed the bake at ${at}: ${event.reason}`);
  }
  if (outcome.ended === "still-baking") {
    const last = outcome.looks.at(-1);
    lines.push(
      last
        ? `Still baking at the last look (${last.at}): verdict ${last.verdict}, the monitor would ${last.decision === "extend" ? "extend the bake" : "keep baking"}.`
        : "No look fits between --from and --to.",
    );
  }
  lines.push(
    `${outcome.looks.length} look(s), ${outcome.stats.calls} GetMetricData call(s), ${outcome.stats.datapoints} datapoints.`,
  );
  return lines;
}

export interface GateCommandDependencies {
  /** The metrics source; CloudWatch with the standard AWS settings when unset. */
  metrics?: () => MetricsSource;
}

export function createGateCommand(deps: GateCommandDependencies = {}): CliCommand {
  return {
    name: "gate",
    summary: "replay a gate over past CloudWatch data, look by look, before trusting it",
    usage: USAGE,
    async run(args, io) {
      const [sub, ...rest] = args;
      if (sub !== "replay") {
        throw new UsageError(
          sub === undefined ? 'missing subcommand: "replay"' : `unknown subcommand "${sub}"; known: replay`,
        );
      }
      const { values } = parseOptions(
        rest,
        {
          migration: { type: "string" },
          gate: { type: "string" },
          from: { type: "string" },
          to: { type: "string" },
          step: { type: "string" },
          bake: { type: "string" },
          svg: { type: "string" },
          json: { type: "boolean" },
          file: { type: "string" },
        },
        0,
      );
      if (!values.migration) throw new UsageError("--migration is required");
      if (!values.gate) throw new UsageError("--gate is required");
      const now = io.now();
      const from = parseTime("--from", values.from, now);
      const to = parseTime("--to", values.to, now);
      if (from.getTime() >= to.getTime()) {
        throw new UsageError(`--from ${from.toISOString()} is not before --to ${to.toISOString()}`);
      }
      const stepSeconds = parseSeconds("--step", values.step ?? "15m");
      const bakeSeconds = values.bake !== undefined ? parseSeconds("--bake", values.bake) : undefined;
      const file = resolve(io.cwd, values.file ?? DEFAULT_SPEC_FILE);
      let migration: ReturnType<typeof findMigration>;
      try {
        migration = findMigration(await loadSpec(file), values.migration);
      } catch (error) {
        // The spec is input to this command like its flags: a bad one is a usage error naming where.
        if (error instanceof SpecInvalidError) {
          io.stderr(`${error.message}\n`);
          return EXIT.usage;
        }
        if (error instanceof UnknownMigrationError) throw new UsageError(`--migration: ${error.message}`);
        throw error;
      }
      const status = await readStatus(dirname(file), migration.id, now);
      const source =
        deps.metrics?.() ?? createMetricsSource("cloudwatch", { cloudwatch: createAwsClients().cloudwatch });
      let outcome: ReplayOutcome;
      try {
        outcome = await replayGate(
          {
            migration,
            status,
            gate: values.gate,
            from,
            to,
            stepSeconds,
            ...(bakeSeconds !== undefined ? { bakeSeconds } : {}),
            now,
          },
          source,
        );
      } catch (error) {
        if (error instanceof ReplayInputError) throw new UsageError(error.message);
        throw error;
      }
      const chart = {
        title: `Gate "${outcome.gate}" of ${outcome.migration} replayed from ${outcome.from}, a look every ${formatDuration(outcome.stepSeconds)}${outcome.bakeSeconds !== undefined ? `, bake ${formatDuration(outcome.bakeSeconds)}` : ""}`,
        looks: outcome.looks,
      };
      if (values.svg) await writeFile(resolve(io.cwd, values.svg), svgChart(chart));
      if (values.json) {
        io.stdout(`${JSON.stringify(outcome, null, 2)}\n`);
        return EXIT.ok;
      }
      io.stdout(`${textChart(chart)}\n\n${describeReplay(outcome).join("\n")}\n`);
      return EXIT.ok;
    },
  };
}

export const gateCommand = createGateCommand();
