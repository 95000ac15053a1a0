import * as core from "@actions/core";

export type LogFields = Record<string, string | number | boolean | undefined | null>;

/**
 * Structured log lines in logfmt: every line carries the action, the migration
 * and the correlation id, so one migration's story can be followed across jobs
 * with a single search (`migration=orders-api`).
 */
export class ActionLogger {
  constructor(private readonly base: LogFields) {}

  /** A logger whose lines also carry `fields`. */
  with(fields: LogFields): ActionLogger {
    return new ActionLogger({ ...this.base, ...fields });
  }

  info(message: string, fields: LogFields = {}): void {
    core.info(this.line("info", message, fields));
  }

  warn(message: string, fields: LogFields = {}): void {
    core.warning(this.line("warn", message, fields));
  }

  debug(message: string, fields: LogFields = {}): void {
    core.debug(this.line("debug", message, fields));
  }

  private line(level: string, message: string, fields: LogFields): string {
    const all: LogFields = { level, ...this.base, msg: message, ...fields };
    return Object.entries(all)
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([key, value]) => `${key}=${formatValue(value)}`)
      .join(" ");
  }
}

function formatValue(value: string | number | boolean | undefined | null): string {
  const text = String(value);
  return /^[\w.:/@+-]+$/.test(text) ? text : JSON.stringify(text);
}
