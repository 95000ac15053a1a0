/**
 * The `cutover` command line. Runs as `npx cutover …` (bin/cutover.js) or
 * `npm run cutover -- …`. Errors go to stderr as one readable message, never
 * a stack trace. Exit codes: 0 ok, 1 invalid or refused, 2 usage error.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SpecFileError, SpecInvalidError, UnknownMigrationError } from "../spec/files.js";
import { type CliCommand, type CliIo, EXIT, UsageError } from "./command.js";
import { COMMANDS } from "./commands.js";

function overview(commands: ReadonlyMap<string, CliCommand>): string {
  const width = Math.max(...[...commands.keys()].map((name) => name.length));
  return `Usage: cutover <command> [options]

Gated traffic migrations driven from migrations.json.

Commands:
${[...commands.values()].map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join("\n")}

Run "cutover <command> --help" for a command's options.
Exit codes: 0 ok, 1 invalid or refused, 2 usage error.
`;
}

function isHelp(argument: string | undefined): boolean {
  return argument === "--help" || argument === "-h" || argument === "help";
}

/** Runs the CLI with `argv` (without node and the script) and returns the exit code. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  commands: ReadonlyMap<string, CliCommand> = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelp(name)) {
    const topic = isHelp(name) ? commands.get(rest[0] ?? "") : undefined;
    (name === undefined ? io.stderr : io.stdout)(topic ? `${topic.usage}\n` : overview(commands));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commands.get(name);
  if (!command) {
    io.stderr(`cutover: unknown command "${name}"; commands: ${[...commands.keys()].join(", ")}\n`);
    return EXIT.usage;
  }
  if (rest.some(isHelpFlag)) {
    io.stdout(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run([...rest], io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`cutover ${name}: ${error.message}\nRun "cutover ${name} --help" for usage.\n`);
      return EXIT.usage;
    }
    if (
      error instanceof SpecInvalidError ||
      error instanceof SpecFileError ||
      error instanceof UnknownMigrationError
    ) {
      io.stderr(`${error.message}\n`);
      return EXIT.invalid;
    }
    io.stderr(`cutover ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.invalid;
  }
}

function isHelpFlag(argument: string): boolean {
  return argument === "--help" || argument === "-h";
}

/** The process's own streams and clock. */
export function processIo(): CliIo {
  return {
    cwd: process.cwd(),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    now: () => new Date(),
  };
}

/** Runs the CLI for this process and sets its exit code (letting output flush rather than exiting at once). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runCli(argv, processIo());
}

const entry = process.argv[1];
if (entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url)) await main();
