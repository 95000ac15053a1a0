/**
 * Reading and writing the spec (`migrations.json`) and the status files
 * (`status/<id>.json` beside it). Everything that touches these files goes
 * through here, so that every reader validates and every writer formats the
 * same way.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { formatSpecErrors, type SpecError, validateSpecText, validateStatusText } from "../core/validate.js";
import type { Migration, MigrationsFile } from "../model/spec.js";
import { initialStatus, type MigrationStatus, STATUS_DIR } from "../model/status.js";

/** The spec (or a status file) is not valid; `errors` holds every problem found, each with path and line. */
export class SpecInvalidError extends Error {
  constructor(
    readonly file: string,
    readonly errors: readonly SpecError[],
  ) {
    super(
      `${file} is not valid (${errors.length} ${errors.length === 1 ? "error" : "errors"}):\n${formatSpecErrors(errors)}`,
    );
    this.name = "SpecInvalidError";
  }
}

/** The spec names no migration with the id asked for. */
export class UnknownMigrationError extends Error {
  constructor(
    readonly migrationId: string,
    readonly knownIds: readonly string[],
  ) {
    super(
      `no migration "${migrationId}" in the spec; it defines ${
        knownIds.length === 0 ? "none" : knownIds.map((id) => `"${id}"`).join(", ")
      }`,
    );
    this.name = "UnknownMigrationError";
  }
}

/** A file that cannot be read at all (absent where required, or unreadable). */
export class SpecFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpecFileError";
  }
}

/** How a path is shown in messages: relative to the working directory when inside it. */
function displayPath(path: string): string {
  const shown = relative(process.cwd(), resolve(path));
  return shown === "" || shown.startsWith("..") ? path : shown;
}

async function readText(path: string, what: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SpecFileError(`cannot read the ${what} ${displayPath(path)}: ${(error as Error).message}`);
  }
}

/**
 * Parses and validates spec text read from somewhere other than the working
 * tree (a git ref, say). Scenario files are looked up relative to `specDir`.
 */
export function parseSpec(text: string, file: string, specDir: string): MigrationsFile {
  const result = validateSpecText(text, { file, fileExists: (path) => existsSync(resolve(specDir, path)) });
  if (!result.ok) throw new SpecInvalidError(file, result.errors);
  return result.value;
}

/**
 * Loads and validates `migrations.json`. Throws {@link SpecFileError} when it
 * cannot be read and {@link SpecInvalidError} listing every error when invalid.
 */
export async function loadSpec(path: string): Promise<MigrationsFile> {
  const text = await readText(path, "spec");
  if (text === undefined) throw new SpecFileError(`the spec ${displayPath(path)} does not exist`);
  return parseSpec(text, displayPath(path), dirname(resolve(path)));
}

/** The migration with `id`; throws {@link UnknownMigrationError} listing the ids the spec defines. */
export function findMigration(spec: MigrationsFile, id: string): Migration {
  const migration = spec.migrations.find((candidate) => candidate.id === id);
  if (!migration)
    throw new UnknownMigrationError(
      id,
      spec.migrations.map((candidate) => candidate.id),
    );
  return migration;
}

/** Where the status of migration `id` lives: `<specDir>/status/<id>.json`. */
export function statusPath(specDir: string, id: string): string {
  return join(specDir, STATUS_DIR, `${id}.json`);
}

/**
 * Reads and validates the status of migration `id`. A missing file is the
 * initial status (nothing applied yet); a malformed one throws
 * {@link SpecInvalidError} with every error.
 */
export async function readStatus(
  specDir: string,
  id: string,
  now: Date = new Date(),
): Promise<MigrationStatus> {
  const path = statusPath(specDir, id);
  const text = await readText(path, "status file");
  if (text === undefined) return initialStatus(id, now);
  const result = validateStatusText(text, displayPath(path), id);
  if (!result.ok) throw new SpecInvalidError(displayPath(path), result.errors);
  return result.value;
}

/** The exact text a status is stored as: two-space JSON with a trailing newline, so diffs stay small. */
export function formatStatus(status: MigrationStatus): string {
  return `${JSON.stringify(status, null, 2)}\n`;
}

/**
 * Writes the status of its migration to `<specDir>/status/<id>.json`
 * atomically (a temporary file renamed over the old one), after checking it
 * against the status schema so that nothing invalid is ever committed.
 * Returns the path written.
 */
export async function writeStatus(specDir: string, status: MigrationStatus): Promise<string> {
  const path = statusPath(specDir, status.migration);
  const text = formatStatus(status);
  const check = validateStatusText(text, displayPath(path), status.migration);
  if (!check.ok) throw new SpecInvalidError(displayPath(path), check.errors);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, text, "utf8");
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw new SpecFileError(`cannot write the status file ${displayPath(path)}: ${(error as Error).message}`);
  }
  return path;
}
