/** `cutover validate [file]`: the spec and the status files beside it, every error at once. */
import { dirname, resolve } from "node:path";
import { loadSpec, readStatus, SpecInvalidError } from "../spec/files.js";
import { type CliCommand, EXIT, parseOptions } from "./command.js";

export const DEFAULT_SPEC_FILE = "migrations.json";

export const validateCommand: CliCommand = {
  name: "validate",
  summary: "check migrations.json (and its status files) and list every error",
  usage: `Usage: cutover validate [file]

Checks the spec against migrations.schema.json and the rules a reviewer applies
(unique names, known gates, weights 0–100, durations, thresholds, scenario files,
decommission last), then each status/<id>.json beside it. Prints every error as
  file:line json.path: what is wrong (expected what would be accepted)

  file   the spec (default: ${DEFAULT_SPEC_FILE})

Exit codes: 0 valid, 1 invalid, 2 usage error.`,
  async run(args, io) {
    const { positionals } = parseOptions(args, {}, 1);
    const file = resolve(io.cwd, positionals[0] ?? DEFAULT_SPEC_FILE);
    const spec = await loadSpec(file);
    const problems: string[] = [];
    for (const migration of spec.migrations) {
      try {
        await readStatus(dirname(file), migration.id, io.now());
      } catch (error) {
        if (!(error instanceof SpecInvalidError)) throw error;
        problems.push(error.message);
      }
    }
    if (problems.length > 0) {
      io.stderr(`${problems.join("\n")}\n`);
      return EXIT.invalid;
    }
    const ids = spec.migrations.map((migration) => migration.id).join(", ");
    const phases = spec.migrations.reduce((sum, migration) => sum + migration.phases.length, 0);
    const count = spec.migrations.length;
    io.stdout(
      `${positionals[0] ?? DEFAULT_SPEC_FILE} is valid: ${count} ${count === 1 ? "migration" : "migrations"}${
        count > 0 ? ` (${ids})` : ""
      }, ${phases} phases\n`,
    );
    return EXIT.ok;
  },
};
