/**
 * Validation of `migrations.json` and of status files: the schema and then
 * what a reviewer would check, all errors at once, each naming the file,
 * the JSON path, the line and what would be accepted. Pure: the only
 * question asked of the world (does a scenario file exist) is injected.
 */
import type { MigrationsFile } from "../model/spec.js";
import { type MigrationStatus, upgradeStatus } from "../model/status.js";
import { locateJson } from "./json-locations.js";
import { lineOf, type SchemaName, schemaErrors } from "./schema-check.js";
import { renderJsonPath, type SpecError } from "./spec-error.js";
import { type RuleEnvironment, specRuleFindings } from "./spec-rules.js";

export { formatSpecError, formatSpecErrors, type SpecError } from "./spec-error.js";

/** The outcome of validating a document: the typed value when valid, every error otherwise. */
export type ValidationResult<T> = { ok: true; value: T; errors: [] } | { ok: false; errors: SpecError[] };

/** How the spec is validated: its file name (for messages) and the one question asked of the file system. */
export interface SpecValidationOptions extends RuleEnvironment {
  /** The file as the user named it, e.g. "migrations.json"; used in every error. */
  file: string;
}

interface Parsed {
  value?: unknown;
  errors: SpecError[];
  locations: ReturnType<typeof locateJson>;
}

function parseJson(text: string, file: string, what: string): Parsed {
  const locations = locateJson(text);
  if (locations.syntaxError) {
    const { message, line, column } = locations.syntaxError;
    return {
      locations,
      errors: [
        { file, path: "", line, message: `not valid JSON: ${message} at column ${column}`, expected: what },
      ],
    };
  }
  return { locations, value: JSON.parse(text) as unknown, errors: [] };
}

function byLine(a: SpecError, b: SpecError): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER);
}

function schemaThenRules(
  name: SchemaName,
  parsed: Parsed,
  file: string,
  rules: (value: unknown) => { path: readonly (string | number)[]; message: string; expected: string }[],
): SpecError[] {
  const errors = schemaErrors(name, parsed.value, file, parsed.locations);
  // The schema already explains these paths; a rule repeating it would only add noise.
  const explained = new Set(errors.map((error) => error.path));
  for (const finding of rules(parsed.value)) {
    const path = renderJsonPath(finding.path);
    if (explained.has(path)) continue;
    const line = lineOf(parsed.locations, finding.path);
    errors.push({
      file,
      path,
      ...(line === undefined ? {} : { line }),
      message: finding.message,
      expected: finding.expected,
    });
  }
  // Stable sort: errors on the same line keep schema-then-rule order.
  return errors.sort(byLine);
}

/** Validates the text of a spec file: JSON syntax, the schema, then the reviewer's rules. */
export function validateSpecText(
  text: string,
  options: SpecValidationOptions,
): ValidationResult<MigrationsFile> {
  const parsed = parseJson(text, options.file, "a JSON document shaped by migrations.schema.json");
  if (parsed.errors.length > 0) return { ok: false, errors: parsed.errors };
  const errors = schemaThenRules("spec", parsed, options.file, (value) => specRuleFindings(value, options));
  return errors.length > 0
    ? { ok: false, errors }
    : { ok: true, value: parsed.value as MigrationsFile, errors: [] };
}

function statusRuleFindings(value: unknown, migrationId: string | undefined) {
  const findings: { path: (string | number)[]; message: string; expected: string }[] = [];
  if (typeof value !== "object" || value === null) return findings;
  const status = value as Partial<MigrationStatus>;
  if (migrationId !== undefined && typeof status.migration === "string" && status.migration !== migrationId) {
    findings.push({
      path: ["migration"],
      message: `"${status.migration}" is another migration's status`,
      expected: `"${migrationId}" (the file is named after its migration)`,
    });
  }
  const weights = status.weights;
  if (
    weights &&
    typeof weights.old === "number" &&
    typeof weights.new === "number" &&
    weights.old + weights.new !== 100
  ) {
    findings.push({
      path: ["weights"],
      message: `old ${weights.old} + new ${weights.new} = ${weights.old + weights.new}`,
      expected: "weights that sum to 100",
    });
  }
  return findings;
}

/**
 * Validates the text of a status file against status.schema.json (and that it
 * belongs to `migrationId`, when given). A file of an earlier status format
 * version is upgraded first: the value returned is always of the current one.
 */
export function validateStatusText(
  text: string,
  file: string,
  migrationId?: string,
): ValidationResult<MigrationStatus> {
  const parsed = parseJson(text, file, "a JSON document shaped by status.schema.json");
  if (parsed.errors.length > 0) return { ok: false, errors: parsed.errors };
  parsed.value = upgradeStatus(parsed.value);
  const errors = schemaThenRules("status", parsed, file, (value) => statusRuleFindings(value, migrationId));
  return errors.length > 0
    ? { ok: false, errors }
    : { ok: true, value: parsed.value as MigrationStatus, errors: [] };
}
