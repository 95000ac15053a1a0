/**
 * Which migrations a workflow run works on, as a matrix for the jobs that
 * follow: the ones whose phase changed in a push, the ones baking (for the
 * monitor), or one named by a person (dispatch).
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { watched } from "../core/watch.js";
import type { Migration, MigrationsFile } from "../model/spec.js";
import type { StateStore } from "../providers/state-store.js";

const run = promisify(execFile);

/** One matrix entry: what the apply chain or the monitor needs to know about a migration's phase. */
export interface PhaseTarget {
  migration: string;
  phase: string;
  /** GitHub environment the phase names. */
  environment: string;
  /** "true" when the phase deploys the new side (workflow inputs are strings). */
  deploy: "true" | "false";
  /** Load-test scenarios of the phase, in order. */
  scenarios: string[];
  /** New side's weight the phase shifts to, "" when it does not shift. */
  weight: string;
  /** Gate the phase bakes with, "" when it does not bake. */
  gate: string;
  /**
   * For a phase watched after its bake (passed, applying, failed...): the recent window
   * the monitor judges, so a fresh breach is not diluted by the days since the shift.
   * Absent while baking, when the whole bake is judged.
   */
  window?: string;
}

/** How much of the recent past the monitor judges for a phase watched outside its bake. */
export const WATCH_WINDOW = "1h";

export type Selection = "changed" | "baking" | "named";

/** A selection that cannot be made; names the input at fault. */
export class SelectionError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`input "${input}": ${message}`);
    this.name = "SelectionError";
  }
}

/** The matrix entry of one phase of a migration. */
export function phaseTarget(migration: Migration, phaseName: string): PhaseTarget {
  const phase = migration.phases.find((candidate) => candidate.name === phaseName);
  if (!phase) {
    throw new SelectionError(
      "migration",
      `migration "${migration.id}" has no phase "${phaseName}"; its phases: ${migration.phases.map((p) => p.name).join(", ")}`,
    );
  }
  const shift = phase.steps.find((step) => step.kind === "shift");
  const bake = phase.steps.find((step) => step.kind === "bake");
  return {
    migration: migration.id,
    phase: phase.name,
    environment: phase.environment,
    deploy: phase.steps.some((step) => step.kind === "deploy") ? "true" : "false",
    scenarios: phase.steps.flatMap((step) => (step.kind === "load-test" ? [step.scenario] : [])),
    weight: shift?.kind === "shift" ? String(shift.weight) : "",
    gate: bake?.kind === "bake" ? bake.gate : "",
  };
}

/** Migrations whose desired phase differs between two versions of the spec (new ones included). */
export function changedPhases(base: MigrationsFile | undefined, head: MigrationsFile): PhaseTarget[] {
  return head.migrations
    .filter(
      (migration) => base?.migrations.find((before) => before.id === migration.id)?.phase !== migration.phase,
    )
    .map((migration) => phaseTarget(migration, migration.phase));
}

/** Reads a spec file. Spec validation belongs to the validator; this only needs the migrations list. */
export async function readSpecFile(path: string): Promise<MigrationsFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new SelectionError("spec", `cannot read ${path}: ${(error as Error).message}`);
  }
  return parseSpecText(text, path);
}

function parseSpecText(text: string, where: string): MigrationsFile {
  let spec: MigrationsFile;
  try {
    spec = JSON.parse(text) as MigrationsFile;
  } catch (error) {
    throw new SelectionError("spec", `${where} is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(spec?.migrations))
    throw new SelectionError("spec", `${where} $.migrations is not a list`);
  return spec;
}

/** The spec as it was at a commit; undefined when the commit is the all-zero SHA of a new branch or lacks the file. */
export async function readSpecAt(
  workspace: string,
  commit: string,
  specPath: string,
): Promise<MigrationsFile | undefined> {
  if (/^0+$/.test(commit)) return undefined;
  if (!/^[0-9a-f]{7,40}$/i.test(commit)) throw new SelectionError("base", `"${commit}" is not a commit SHA`);
  try {
    const { stdout } = await run("git", ["show", `${commit}:${specPath}`], {
      cwd: workspace,
      maxBuffer: 16 * 1024 * 1024,
    });
    return parseSpecText(stdout, `${specPath} at ${commit.slice(0, 12)}`);
  } catch (error) {
    if (error instanceof SelectionError) throw error;
    const stderr = String((error as { stderr?: string }).stderr ?? "");
    if (/does not exist in|exists on disk, but not in/.test(stderr)) return undefined;
    throw new SelectionError(
      "base",
      `cannot read ${specPath} at ${commit}: ${stderr.trim() || (error as Error).message} (is the checkout deep enough? use fetch-depth: 0)`,
    );
  }
}

export interface SelectRequest {
  select: Selection;
  workspace: string;
  specPath: string;
  /** Commit to compare with, for "changed". */
  base?: string;
  /** For "named" (required) and "baking" (optional filter). */
  migration?: string;
  /** For "named": must be a phase of the migration or "all-old". */
  targetPhase?: string;
  /** For "baking": where the recorded statuses are read. */
  store?: StateStore;
}

export interface SelectResult {
  targets: PhaseTarget[];
  /** What was looked at, for the summary. */
  found: string[];
}

function findMigration(spec: MigrationsFile, id: string, specPath: string): Migration {
  const migration = spec.migrations.find((candidate) => candidate.id === id);
  if (!migration) {
    throw new SelectionError(
      "migration",
      `no migration "${id}" in ${specPath}; it defines ${spec.migrations.map((m) => `"${m.id}"`).join(", ") || "none"}`,
    );
  }
  return migration;
}

/** Makes the selection. */
export async function selectMigrations(request: SelectRequest): Promise<SelectResult> {
  const spec = await readSpecFile(join(request.workspace, request.specPath));
  switch (request.select) {
    case "changed": {
      if (!request.base)
        throw new SelectionError(
          "base",
          "is required to find changed migrations (the commit before the push)",
        );
      const base = await readSpecAt(request.workspace, request.base, request.specPath);
      const targets = changedPhases(base, spec);
      return {
        targets,
        found: [
          base
            ? `Compared ${request.specPath} with ${request.base.slice(0, 12)}.`
            : `No earlier ${request.specPath}: every migration is new.`,
          targets.length > 0
            ? `Phase changed: ${targets.map((t) => `${t.migration} → ${t.phase}`).join(", ")}.`
            : "No migration changed phase.",
        ],
      };
    }
    case "named": {
      if (!request.migration)
        throw new SelectionError("migration", "is required: the id of a migration in the spec");
      const migration = findMigration(spec, request.migration, request.specPath);
      const target = request.targetPhase;
      if (target && target !== "all-old" && !migration.phases.some((phase) => phase.name === target)) {
        throw new SelectionError(
          "target-phase",
          `"${target}" is not a phase of "${migration.id}"; use one of ${migration.phases.map((p) => `"${p.name}"`).join(", ")}, "all-old", or leave it empty for the last checkpoint`,
        );
      }
      return {
        targets: [phaseTarget(migration, migration.phase)],
        found: [`Migration ${migration.id} at phase ${migration.phase}.`],
      };
    }
    case "baking": {
      if (!request.store) throw new Error("selecting baking migrations needs the state store");
      const candidates = request.migration
        ? [findMigration(spec, request.migration, request.specPath)]
        : spec.migrations;
      const targets: PhaseTarget[] = [];
      const found: string[] = [];
      for (const migration of candidates) {
        const { status } = await request.store.read(migration.id);
        found.push(`${migration.id}: ${status.phase ?? "nothing applied"} ${status.state}.`);
        // A decommission holding the old side scaled down is watched too: the monitor deletes it after the hold.
        const holding = status.state === "decommissioning" && status.decommission?.stage === "scaled-down";
        // So is every phase with live traffic on the new side (passed, applying, failed...): a breach rolls it back.
        if ((status.state === "baking" || holding) && status.phase)
          targets.push(phaseTarget(migration, status.phase));
        else if (watched(status) && status.phase)
          targets.push({ ...phaseTarget(migration, status.phase), window: WATCH_WINDOW });
      }
      return { targets, found };
    }
  }
}
