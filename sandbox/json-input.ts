/**
 * Reading request fields of the JSON protocols (ECS, Lambda) with AWS's error
 * vocabulary: a field of the wrong JSON type is a SerializationException-like
 * error of the service, a value outside the model's range an
 * InvalidParameter... error. Each service supplies its own error codes.
 */
import { ServiceError } from "./protocol.js";

/** The error codes a service answers bad input with. */
export interface InputErrorCodes {
  /** A field of the wrong JSON type, or a body that is not a JSON object. */
  serialization: string;
  /** A missing or out-of-range value. */
  invalid: string;
  /** HTTP status of both. */
  status?: number;
}

/** Typed access to a JSON request body, failing in the service's own vocabulary. */
export class JsonInput {
  constructor(
    private readonly fields: Record<string, unknown>,
    private readonly codes: InputErrorCodes,
  ) {}

  /** Parses a request body; an empty body is an empty object. */
  static parse(body: Buffer, codes: InputErrorCodes): JsonInput {
    const text = body.toString("utf8").trim();
    if (text.length === 0) return new JsonInput({}, codes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ServiceError(
        codes.serialization,
        `The request body is not valid JSON: ${(error as Error).message}`,
        codes.status ?? 400,
      );
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ServiceError(
        codes.serialization,
        "The request body must be a JSON object.",
        codes.status ?? 400,
      );
    }
    return new JsonInput(parsed as Record<string, unknown>, codes);
  }

  get raw(): Record<string, unknown> {
    return this.fields;
  }

  has(name: string): boolean {
    return this.fields[name] !== undefined && this.fields[name] !== null;
  }

  invalid(message: string): ServiceError {
    return new ServiceError(this.codes.invalid, message, this.codes.status ?? 400);
  }

  private wrongType(name: string, expected: string): ServiceError {
    return new ServiceError(
      this.codes.serialization,
      `${name} must be ${expected}; got ${JSON.stringify(this.fields[name])}`,
      this.codes.status ?? 400,
    );
  }

  optionalString(name: string): string | undefined {
    const value = this.fields[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") throw this.wrongType(name, "a string");
    return value;
  }

  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined || value.length === 0)
      throw this.invalid(`${name} is required and must not be empty.`);
    return value;
  }

  optionalInteger(name: string): number | undefined {
    const value = this.fields[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value)) throw this.wrongType(name, "an integer");
    return value;
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.fields[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") throw this.wrongType(name, "a boolean");
    return value;
  }

  optionalStringList(name: string): string[] | undefined {
    const value = this.fields[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string"))
      throw this.wrongType(name, "a list of strings");
    return value as string[];
  }

  optionalObject(name: string): Record<string, unknown> | undefined {
    const value = this.fields[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) throw this.wrongType(name, "an object");
    return value as Record<string, unknown>;
  }

  optionalObjectList(name: string): Array<Record<string, unknown>> | undefined {
    const value = this.fields[name];
    if (value === undefined || value === null) return undefined;
    if (
      !Array.isArray(value) ||
      value.some((item) => typeof item !== "object" || item === null || Array.isArray(item))
    ) {
      throw this.wrongType(name, "a list of objects");
    }
    return value as Array<Record<string, unknown>>;
  }
}
