/**
 * What every `cutover` subcommand is: a name, a line of help, and a function
 * from arguments to an exit code. Output goes through {@link CliIo} so tests
 * run commands in-process.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const;

/** Where a command reads and writes. */
export interface CliIo {
  /** Directory relative paths are resolved against. */
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  now(): Date;
}

export interface CliCommand {
  name: string;
  /** One line for `cutover --help`. */
  summary: string;
  /** Full usage text for `cutover <name> --help`. */
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** The arguments are wrong; exit code 2 and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses options strictly: an unknown option or a missing value is a {@link UsageError}. */
export function parseOptions<O extends Options>(args: string[], options: O, maxPositionals: number) {
  try {
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (parsed.positionals.length > maxPositionals) {
      throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`);
    }
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}
