/** `cutover status`: one line per migration from its status file. */
import { dirname, resolve } from "node:path";
import { currentPhaseReport } from "../core/planner.js";
import { formatDuration } from "../model/duration.js";
import { loadSpec, readStatus } from "../spec/files.js";
import { type CliCommand, EXIT, parseOptions } from "./command.js";
import { DEFAULT_SPEC_FILE } from "./validate-command.js";

/** One row of the status table. */
export interface StatusRow {
  migration: string;
  /** Applied phase (null before the first) and the phase the spec asks for. */
  phase: string | null;
  desiredPhase: string;
  state: string;
  weights: { old: number; new: number };
  bakeLeftSeconds?: number;
  lastVerdict?: { verdict: string; at: string; gate?: string };
}

/** Lays rows out in aligned columns. */
export function formatTable(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows
    .map((row) =>
      row
        .map((value, column) => value.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export const statusCommand: CliCommand = {
  name: "status",
  summary: "table of every migration: phase, state, weights, bake time left, last verdict",
  usage: `Usage: cutover status [--file <spec>] [--json]

Reads status/<id>.json beside the spec for every migration (a missing file
means nothing is applied yet).

  --file <spec>   the spec (default: ${DEFAULT_SPEC_FILE})
  --json          print the rows as JSON

Exit codes: 0 ok, 1 invalid spec or status file, 2 usage error.`,
  async run(args, io) {
    const { values } = parseOptions(args, { file: { type: "string" }, json: { type: "boolean" } }, 0);
    const file = resolve(io.cwd, values.file ?? DEFAULT_SPEC_FILE);
    const spec = await loadSpec(file);
    const now = io.now();
    const rows: StatusRow[] = [];
    for (const migration of spec.migrations) {
      const status = await readStatus(dirname(file), migration.id, now);
      const report = currentPhaseReport(status, now);
      rows.push({
        migration: migration.id,
        phase: status.phase,
        desiredPhase: migration.phase,
        state: status.state,
        weights: status.weights,
        ...(report.bakeLeftSeconds === undefined ? {} : { bakeLeftSeconds: report.bakeLeftSeconds }),
        ...(status.lastVerdict ? { lastVerdict: status.lastVerdict } : {}),
      });
    }
    if (values.json) {
      io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
      return EXIT.ok;
    }
    const table = [
      ["MIGRATION", "PHASE", "SPEC WANTS", "STATE", "WEIGHTS (OLD/NEW)", "BAKE LEFT", "LAST VERDICT"],
      ...rows.map((row) => [
        row.migration,
        row.phase ?? "-",
        row.desiredPhase,
        row.state,
        `${row.weights.old}/${row.weights.new}`,
        row.bakeLeftSeconds === undefined ? "-" : formatDuration(row.bakeLeftSeconds),
        row.lastVerdict ? `${row.lastVerdict.verdict} ${row.lastVerdict.at}` : "-",
      ]),
    ];
    io.stdout(`${formatTable(table)}\n`);
    return EXIT.ok;
  },
};
