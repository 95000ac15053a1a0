/** `cutover plan`: what applying the spec would do, judged by the promotion rules. */
import { dirname, resolve } from "node:path";
import { buildPlan } from "../core/planner.js";
import { renderPlanJson, renderPlanMarkdown } from "../core/render-plan.js";
import type { Migration, MigrationsFile } from "../model/spec.js";
import { initialStatus, type MigrationStatus } from "../model/status.js";
import { loadSpec, readStatus } from "../spec/files.js";
import { type CliCommand, EXIT, parseOptions } from "./command.js";
import { readFileAtRef } from "./git.js";
import { DEFAULT_SPEC_FILE } from "./validate-command.js";

/** The spec at the base ref: only ids and phases are compared, so it is read leniently (older rules may have applied). */
function parseBaseSpec(text: string, where: string): MigrationsFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  const migrations = (value as { migrations?: unknown })?.migrations;
  const wellFormed =
    Array.isArray(migrations) &&
    migrations.every(
      (migration) =>
        typeof migration?.id === "string" &&
        typeof migration?.phase === "string" &&
        Array.isArray(migration?.phases),
    );
  if (!wellFormed)
    throw new Error(`${where} has no list of migrations with id, phase and phases to compare with`);
  return value as MigrationsFile;
}

/** Without --base, the applied phase recorded in each status is what the spec is compared with. */
function baseFromStatuses(
  head: MigrationsFile,
  statuses: ReadonlyMap<string, MigrationStatus>,
): MigrationsFile {
  const migrations: Migration[] = head.migrations.flatMap((migration) => {
    const applied = statuses.get(migration.id)?.phase;
    return applied ? [{ ...migration, phase: applied }] : [];
  });
  return { ...head, migrations };
}

export const planCommand: CliCommand = {
  name: "plan",
  summary: "show what applying the spec would do and whether the promotion rules allow it",
  usage: `Usage: cutover plan [--base <git-ref>] [--file <spec>] [--json]

Compares the spec with the spec at <git-ref> (a pull request's base) and with
each migration's status, applies the promotion rules (one phase forward only
after the current one passed, backward is a rollback, no skipping, override with
a reason), and prints the ordered steps with why each is needed and which
environment approves it. Without --base, the applied phase in each status is the
base. A spec missing at <git-ref> means every migration is new.

  --base <git-ref>   compare with the spec at this ref, e.g. HEAD~1 or origin/main
  --file <spec>      the spec (default: ${DEFAULT_SPEC_FILE})
  --json             print the plan as JSON instead of Markdown

Exit codes: 0 allowed, 1 invalid spec or refused change, 2 usage error.`,
  async run(args, io) {
    const { values } = parseOptions(
      args,
      { base: { type: "string" }, file: { type: "string" }, json: { type: "boolean" } },
      0,
    );
    const shownFile = values.file ?? DEFAULT_SPEC_FILE;
    const file = resolve(io.cwd, shownFile);
    const specDir = dirname(file);
    const head = await loadSpec(file);
    let base: MigrationsFile | undefined;
    if (values.base !== undefined) {
      const text = readFileAtRef(file, values.base);
      base = text === undefined ? undefined : parseBaseSpec(text, `${values.base}:${shownFile}`);
    }
    const ids = new Set([...head.migrations, ...(base?.migrations ?? [])].map((migration) => migration.id));
    const statuses = new Map<string, MigrationStatus>();
    for (const id of ids) statuses.set(id, await readStatus(specDir, id, io.now()));
    const plan = buildPlan({
      head,
      base: values.base === undefined ? baseFromStatuses(head, statuses) : base,
      statuses,
      now: io.now(),
      specFile: shownFile,
      ...(values.base === undefined ? {} : { baseRef: values.base }),
      initial: (id) => initialStatus(id, io.now()),
    });
    io.stdout(values.json ? renderPlanJson(plan) : renderPlanMarkdown(plan));
    if (plan.ok) return EXIT.ok;
    const refusals = plan.migrations
      .filter((migration) => !migration.decision.allowed)
      .map((migration) => `${migration.migration}: ${migration.decision.reason}`);
    io.stderr(`cutover plan: refused\n${refusals.map((line) => `  ${line}`).join("\n")}\n`);
    return EXIT.invalid;
  },
};
