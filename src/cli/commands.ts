/**
 * The subcommands of `cutover`, by name. A new subcommand is one entry here
 * and one file beside this one.
 */
import type { CliCommand } from "./command.js";
import { gateCommand } from "./gate-command.js";
import { doctorCommand, githubSetupCommand } from "./github-commands.js";
import { initCommand } from "./init-command.js";
import { planCommand } from "./plan-command.js";
import { rollbackCommand } from "./rollback-command.js";
import { statusCommand } from "./status-command.js";
import { validateCommand } from "./validate-command.js";

export const COMMANDS: ReadonlyMap<string, CliCommand> = new Map(
  [
    initCommand,
    validateCommand,
    planCommand,
    statusCommand,
    rollbackCommand,
    gateCommand,
    githubSetupCommand,
    doctorCommand,
  ].map((command) => [command.name, command]),
);
