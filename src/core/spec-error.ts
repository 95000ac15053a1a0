/**
 * An error found in a spec or status file, and how people read it:
 * `migrations.json:12 migrations[0].phases[2].steps[0].weight: 150 is outside 0–100 (expected an integer percentage 0–100)`.
 */

/** A location inside a JSON document: property names and array indexes from the root. */
export type JsonPath = readonly (string | number)[];

/** One thing wrong with a file, with where it is and what would be accepted. */
export interface SpecError {
  /** The file as the user named it, e.g. "migrations.json". */
  file: string;
  /** Readable JSON path, e.g. "migrations[0].gates.standard.metrics[1].pass"; "" for the whole document. */
  path: string;
  /** 1-based line of the value (or of its closest enclosing value when it is missing). */
  line?: number;
  /** What is wrong, about the value found. */
  message: string;
  /** What would be accepted instead. */
  expected: string;
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** Renders path segments as `migrations[0].gates.standard.metrics[1].pass`; odd keys are quoted (`dimensions["a.b"]`). */
export function renderJsonPath(path: JsonPath): string {
  let rendered = "";
  for (const segment of path) {
    if (typeof segment === "number") rendered += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) rendered += rendered === "" ? segment : `.${segment}`;
    else rendered += `[${JSON.stringify(segment)}]`;
  }
  return rendered;
}

/** One line per error: `file:line path: message (expected …)`. */
export function formatSpecError(error: SpecError): string {
  const where = error.line === undefined ? error.file : `${error.file}:${error.line}`;
  const subject = error.path === "" ? where : `${where} ${error.path}`;
  return `${subject}: ${error.message} (expected ${error.expected})`;
}

/** All errors, one per line, in the order given. */
export function formatSpecErrors(errors: readonly SpecError[]): string {
  return errors.map(formatSpecError).join("\n");
}

/** A value as it appears in a message: JSON, shortened when long. */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
