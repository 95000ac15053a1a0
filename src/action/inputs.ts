import { DURATION_HINT, parseDuration } from "../model/duration.js";
import { checkpointStoreLocation } from "../providers/checkpoint-store.js";
import type { ActionContract } from "./contract.js";

/** A bad action input: names the input, what was given and what would be accepted. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`input "${input}": ${message}`);
    this.name = "InputError";
  }
}

/** Where raw input strings come from: the runner's INPUT_* variables, or a map in tests. */
export type InputSource = (name: string) => string;

/** Reads inputs the way the runner passes them: `INPUT_<NAME>` with spaces as underscores, upper-cased. */
export function environmentInputs(env: NodeJS.ProcessEnv = process.env): InputSource {
  return (name) => (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

/**
 * Typed access to one action's inputs. Every read goes through the contract,
 * so reading an undeclared input is a programming error caught at once, and
 * defaults come from the same map as action.yml.
 */
export class InputReader<I extends string> {
  constructor(
    private readonly contract: ActionContract<I, string>,
    private readonly source: InputSource,
  ) {}

  private raw(name: I): string {
    const declared = this.contract.inputs[name];
    if (!declared) throw new Error(`input "${name}" is not declared in the ${this.contract.name} contract`);
    const value = this.source(name);
    return value === "" ? (declared.default ?? "") : value;
  }

  /** A required string; empty is an error. */
  string(name: I): string {
    const value = this.raw(name);
    if (value === "") throw new InputError(name, "is required and was empty");
    return value;
  }

  /** An optional string; undefined when empty. */
  optional(name: I): string | undefined {
    const value = this.raw(name);
    return value === "" ? undefined : value;
  }

  /** One of a fixed set of values. */
  choice<T extends string>(name: I, allowed: readonly T[]): T;
  choice<T extends string>(name: I, allowed: readonly T[], optional: true): T | undefined;
  choice<T extends string>(name: I, allowed: readonly T[], optional?: boolean): T | undefined {
    const value = optional ? this.optional(name) : this.string(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InputError(name, `"${value}" is not one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
    }
    return value as T;
  }

  /** An integer within bounds; undefined when empty and not required. */
  integer(name: I, bounds: { min: number; max: number }, optional = false): number | undefined {
    const value = optional ? this.optional(name) : this.string(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value)) {
      throw new InputError(name, `"${value}" is not an integer (expected ${bounds.min}–${bounds.max})`);
    }
    const parsed = Number(value);
    if (parsed < bounds.min || parsed > bounds.max) {
      throw new InputError(name, `${parsed} is outside ${bounds.min}–${bounds.max}`);
    }
    return parsed;
  }

  /** A boolean written as true/false (YAML 1.2 core schema, as the runner accepts). */
  boolean(name: I): boolean {
    const value = this.raw(name);
    if (value === "") return false;
    if (["true", "True", "TRUE"].includes(value)) return true;
    if (["false", "False", "FALSE"].includes(value)) return false;
    throw new InputError(name, `"${value}" is not a boolean (expected true or false)`);
  }

  /** A duration in seconds ("90s", "48h"); undefined when empty. */
  duration(name: I): number | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    const seconds = parseDuration(value);
    if (seconds === undefined) throw new InputError(name, `"${value}" is not ${DURATION_HINT}`);
    return seconds;
  }

  /** An ISO-8601 timestamp; undefined when empty. */
  timestamp(name: I): Date | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) {
      throw new InputError(name, `"${value}" is not an ISO-8601 timestamp (e.g. 2026-01-31T12:00:00Z)`);
    }
    return parsed;
  }

  /** A JSON value; undefined when empty. */
  json(name: I): unknown {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value);
    } catch (error) {
      throw new InputError(name, `is not valid JSON (${errorMessage(error)})`);
    }
  }
}

/** A readable message from anything that can be thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** The `checkpoint-store` input, checked: `{ checkpointStore }` when given, `{}` when empty. */
export function optionalCheckpointStore<I extends string>(
  inputs: InputReader<I>,
  name: I,
): { checkpointStore?: string } {
  const value = inputs.optional(name);
  if (value === undefined) return {};
  try {
    checkpointStoreLocation(value, `input "${name}"`);
  } catch (error) {
    throw new InputError(name, (error as Error).message.replace(`input "${name}": `, ""));
  }
  return { checkpointStore: value };
}
