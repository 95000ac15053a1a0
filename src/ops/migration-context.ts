/**
 * The migration a traffic operation works on: its spec entry from
 * `migrations.json` and its status from `status/<id>.json` beside it, read
 * and validated through src/spec/files.ts.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Migration, MigrationsFile } from "../model/spec.js";
import { initialStatus, type MigrationStatus, upgradeStatus } from "../model/status.js";
import { missingRouterFields, routerSnapshotProblems } from "../providers/traffic-routers.js";
import {
  findMigration,
  loadSpec,
  readStatus,
  SpecFileError,
  statusPath as statusPathOf,
  UnknownMigrationError,
} from "../spec/files.js";
import { OperationRefusal } from "./journal.js";

export interface MigrationContext {
  specPath: string;
  migration: Migration;
  statusPath: string;
  /** False when no status file exists yet (nothing was applied). */
  statusExists: boolean;
  status: MigrationStatus;
}

export interface LoadOptions {
  /**
   * Skip the schema validation (compiling the schemas costs a few hundred
   * milliseconds) and check only the fields traffic operations use, each
   * error naming its JSON path. For rollback, where the time to act matters
   * most; it validates fully with {@link validateMigrationFiles} afterwards.
   */
  quick?: boolean;
}

/** The fields traffic operations rely on, checked when the full validation is set aside. */
function checkTrafficFields(migration: Migration, where: string): void {
  const missing: string[] = [];
  const need = (value: unknown, path: string) => {
    if (typeof value !== "string" || value === "") missing.push(path);
  };
  missing.push(...missingRouterFields(migration.router));
  need(migration.oldSide?.kind, "oldSide.kind");
  need(migration.newSide?.kind, "newSide.kind");
  if (!Array.isArray(migration.phases)) missing.push("phases");
  if (missing.length > 0) {
    throw new OperationRefusal(`${where} lacks ${missing.map((path) => `.${path}`).join(", ")}`);
  }
}

/**
 * Reads the migration without the schema validation, for {@link LoadOptions.quick}:
 * a rollback must stay possible while someone's unrelated edit (a gate, a
 * missing scenario file) makes the spec invalid.
 */
export async function readMigrationLeniently(specPath: string, migrationId: string): Promise<Migration> {
  let spec: MigrationsFile;
  try {
    spec = JSON.parse(await readFile(specPath, "utf8")) as MigrationsFile;
  } catch (error) {
    throw new OperationRefusal(`the spec ${specPath} cannot be read as JSON: ${(error as Error).message}`);
  }
  const index = Array.isArray(spec.migrations)
    ? spec.migrations.findIndex((entry) => entry?.id === migrationId)
    : -1;
  const migration = spec.migrations?.[index];
  if (!migration)
    throw new OperationRefusal(`input "migration": no migration "${migrationId}" in ${specPath}`);
  checkTrafficFields(migration, `${specPath} $.migrations[${index}] ("${migrationId}")`);
  return migration;
}

async function loadMigration(specPath: string, migrationId: string): Promise<Migration> {
  try {
    return findMigration(await loadSpec(specPath), migrationId);
  } catch (error) {
    if (error instanceof UnknownMigrationError) {
      throw new OperationRefusal(`input "migration": ${error.message} (${specPath})`);
    }
    if (error instanceof SpecFileError) throw new OperationRefusal(`${error.message} (input "spec")`);
    throw error;
  }
}

/**
 * Loads one migration and its status, both validated. A missing status file
 * is the initial status (nothing applied yet); a missing migration names the
 * ids that exist.
 */
export async function loadMigrationContext(
  specPath: string,
  migrationId: string,
  now: Date,
  options: LoadOptions = {},
): Promise<MigrationContext> {
  const specDir = dirname(specPath);
  const statusPath = statusPathOf(specDir, migrationId);
  const statusExists = existsSync(statusPath);
  if (options.quick) {
    const migration = await readMigrationLeniently(specPath, migrationId);
    return {
      specPath,
      migration,
      statusPath,
      statusExists,
      status: statusExists ? await readStatusQuickly(statusPath, migration) : initialStatus(migrationId, now),
    };
  }
  const migration = await loadMigration(specPath, migrationId);
  const status = await readStatus(specDir, migrationId, now);
  checkStatusPhase(migration, status, statusPath);
  return { specPath, migration, statusPath, statusExists, status };
}

/**
 * Refuses a status whose applied phase the spec does not define: weights and
 * checkpoints recorded for a phase nobody can name cannot be acted on. (Rollback
 * reads leniently and skips this: it must stay possible after a phase is renamed.)
 */
export function checkStatusPhase(migration: Migration, status: MigrationStatus, statusPath: string): void {
  if (status.phase === null) return;
  if (migration.phases.some((phase) => phase.name === status.phase)) return;
  throw new OperationRefusal(
    `${statusPath} $.phase is "${status.phase}", which is not a phase of "${migration.id}" in the spec; its phases: ${migration.phases.map((phase) => `"${phase.name}"`).join(", ")}`,
  );
}

/**
 * Validates the spec and the migration's status in full; returns each
 * problem as a message (empty when both are valid). Never throws.
 */
export async function validateMigrationFiles(specPath: string, migrationId: string): Promise<string[]> {
  const problems: string[] = [];
  try {
    findMigration(await loadSpec(specPath), migrationId);
  } catch (error) {
    problems.push((error as Error).message);
  }
  try {
    await readStatus(dirname(specPath), migrationId);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

/** The status file with the fields traffic operations use checked by hand; see {@link LoadOptions.quick}. */
async function readStatusQuickly(path: string, migration: Migration): Promise<MigrationStatus> {
  let status: MigrationStatus;
  try {
    status = upgradeStatus(JSON.parse(await readFile(path, "utf8"))) as MigrationStatus;
  } catch (error) {
    throw new OperationRefusal(`the status file ${path} cannot be read as JSON: ${(error as Error).message}`);
  }
  const problems = statusProblems(status, migration);
  if (problems.length > 0) throw new OperationRefusal(`${path} is not valid: ${problems.join("; ")}`);
  return status;
}

const isPercent = (value: unknown) => typeof value === "number" && value >= 0 && value <= 100;

function weightsProblems(weights: unknown, at: string): string[] {
  const pair = weights as { old?: unknown; new?: unknown } | undefined;
  if (!pair || !isPercent(pair.old) || !isPercent(pair.new))
    return [`${at} must be {"old": 0–100, "new": 0–100}`];
  const sum = (pair.old as number) + (pair.new as number);
  return Math.abs(sum - 100) > 0.05 ? [`${at} must sum to 100, not ${sum}`] : [];
}

/** What rollback relies on: weights, checkpoints (weights, router snapshot, target fields) and the decommission record. */
function statusProblems(status: MigrationStatus, migration: Migration): string[] {
  if (typeof status !== "object" || status === null) return ["$ must be an object"];
  const migrationId = migration.id;
  const problems: string[] = [];
  if (status.migration !== migrationId)
    problems.push(`$.migration must be "${migrationId}", not ${JSON.stringify(status.migration)}`);
  if (status.phase !== null && typeof status.phase !== "string")
    problems.push("$.phase must be a phase name or null");
  problems.push(...weightsProblems(status.weights, "$.weights"));
  if (!Array.isArray(status.checkpoints)) return [...problems, "$.checkpoints must be a list"];
  status.checkpoints.forEach((checkpoint, index) => {
    const at = `$.checkpoints[${index}]`;
    if (checkpoint.phase !== null && typeof checkpoint.phase !== "string")
      problems.push(`${at}.phase must be a phase name or null`);
    problems.push(...weightsProblems(checkpoint.weights, `${at}.weights`));
    if (checkpoint.router !== undefined) {
      problems.push(...routerSnapshotProblems(checkpoint.router, migration.router.kind, `${at}.router`));
    }
    if (checkpoint.lambdaVersion !== undefined && typeof checkpoint.lambdaVersion !== "string") {
      problems.push(`${at}.lambdaVersion must be a string`);
    }
    const count = checkpoint.ecsDesiredCount;
    if (count !== undefined && (!Number.isInteger(count) || count < 0))
      problems.push(`${at}.ecsDesiredCount must be an integer ≥ 0`);
  });
  const before = status.decommission?.desiredCountBefore;
  if (status.decommission && (!Number.isInteger(before) || (before as number) < 0)) {
    problems.push("$.decommission.desiredCountBefore must be an integer ≥ 0");
  }
  return problems;
}
