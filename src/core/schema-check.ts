/**
 * Checks a parsed document against `migrations.schema.json` or
 * `status.schema.json` and turns ajv's findings into {@link SpecError}s that
 * name the JSON path people know and what would be accepted.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import specSchema from "../../migrations.schema.json" with { type: "json" };
import statusSchema from "../../status.schema.json" with { type: "json" };
import type { JsonLocations } from "./json-locations.js";
import { toPointer } from "./json-locations.js";
import { type JsonPath, renderJsonPath, type SpecError, showValue } from "./spec-error.js";

/** The two document kinds with a schema. */
export type SchemaName = "spec" | "status";

type SchemaObject = Record<string, unknown>;

const ROOT_SCHEMAS: Record<SchemaName, SchemaObject> = {
  spec: specSchema as SchemaObject,
  status: statusSchema as SchemaObject,
};

/** The JSON schema documents as shipped, for tools that need them (editors, tests). */
export function schemaDocument(name: SchemaName): SchemaObject {
  return ROOT_SCHEMAS[name];
}

const compiled = new Map<SchemaName, ValidateFunction>();

function validatorOf(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    // verbose: errors carry the schema they failed, which holds the hints for "expected".
    const ajv = new Ajv({ allErrors: true, verbose: true, discriminator: true, allowUnionTypes: true });
    // Annotation read by this module only: the wording of what a value may be.
    ajv.addKeyword({ keyword: "x-expected" });
    validate = ajv.compile(ROOT_SCHEMAS[name]);
    compiled.set(name, validate);
  }
  return validate;
}

function isObject(value: unknown): value is SchemaObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function resolveRef(name: SchemaName, schema: SchemaObject): SchemaObject {
  let current = schema;
  for (let depth = 0; depth < 10 && typeof current.$ref === "string"; depth++) {
    const match = /^#\/definitions\/(.+)$/.exec(current.$ref);
    const definitions = ROOT_SCHEMAS[name].definitions as Record<string, SchemaObject>;
    const target = match ? definitions[match[1]!] : undefined;
    if (!target) break;
    // Keywords beside the $ref (a description) win over the referenced definition's.
    const { $ref: _ref, ...beside } = current;
    current = { ...target, ...beside };
  }
  return current;
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  null: "null",
};

function describeType(type: unknown): string | undefined {
  if (typeof type === "string") return TYPE_WORDS[type] ?? type;
  if (Array.isArray(type)) return type.map(describeType).join(" or ");
  return undefined;
}

function withoutFinalStop(text: string): string {
  return text.endsWith(".") ? text.slice(0, -1) : text;
}

/** What a schema accepts, in words: its `x-expected` hint, its allowed values, or its type and description. */
export function describeSchema(name: SchemaName, raw: unknown): string {
  if (!isObject(raw)) return "a valid value";
  const schema = resolveRef(name, raw);
  if (typeof schema["x-expected"] === "string") return schema["x-expected"];
  if (Array.isArray(schema.enum))
    return `one of ${schema.enum.map((value) => JSON.stringify(value)).join(", ")}`;
  if ("const" in schema) return JSON.stringify(schema.const);
  const kinds = discriminatorValues(name, schema);
  if (kinds.length > 0) return `an object with "kind" one of ${kinds.map((kind) => `"${kind}"`).join(", ")}`;
  const type = describeType(schema.type) ?? "a value";
  return typeof schema.description === "string" ? `${type}: ${withoutFinalStop(schema.description)}` : type;
}

function discriminatorValues(name: SchemaName, schema: SchemaObject): string[] {
  if (!isObject(schema.discriminator) || !Array.isArray(schema.oneOf)) return [];
  const tag = String(schema.discriminator.propertyName);
  return schema.oneOf.flatMap((branch) => {
    const properties = resolveRef(name, branch as SchemaObject).properties as
      | Record<string, SchemaObject>
      | undefined;
    const value = properties?.[tag]?.const;
    return typeof value === "string" ? [value] : [];
  });
}

/** Splits ajv's instance path into segments, as numbers where the data is a list. */
function segmentsOf(instancePath: string, data: unknown): (string | number)[] {
  if (instancePath === "") return [];
  const segments: (string | number)[] = [];
  let current: unknown = data;
  for (const token of instancePath.slice(1).split("/")) {
    const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(current)) {
      segments.push(Number(key));
      current = current[Number(key)];
    } else {
      segments.push(key);
      current = isObject(current) ? current[key] : undefined;
    }
  }
  return segments;
}

function rangeMessage(value: unknown, schema: SchemaObject, keyword: string, limit: unknown): string {
  if (typeof schema.minimum === "number" && typeof schema.maximum === "number") {
    return `${showValue(value)} is outside ${schema.minimum}–${schema.maximum}`;
  }
  const words: Record<string, string> = {
    minimum: "below the minimum",
    maximum: "above the maximum",
    exclusiveMinimum: "not above",
    exclusiveMaximum: "not below",
  };
  return `${showValue(value)} is ${words[keyword]} ${String(limit)}`;
}

interface Finding {
  path: JsonPath;
  message: string;
  expected: string;
}

function typeOfValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "number" && Number.isInteger(value)) return "a number";
  return `a ${typeof value}`;
}

/** One ajv error in words; undefined for errors that only summarise others. */
function findingOf(name: SchemaName, error: ErrorObject, data: unknown): Finding | undefined {
  const path = segmentsOf(error.instancePath, data);
  const parent = isObject(error.parentSchema) ? resolveRef(name, error.parentSchema) : {};
  const params = error.params as Record<string, unknown>;
  const value = error.data;
  switch (error.keyword) {
    case "if":
    case "propertyNames":
      return undefined;
    case "required": {
      const property = String(params.missingProperty);
      const properties = (parent.properties ?? {}) as Record<string, unknown>;
      return {
        path: [...path, property],
        message: "is missing",
        expected: describeSchema(name, properties[property]),
      };
    }
    case "additionalProperties": {
      const known = Object.keys((parent.properties ?? {}) as object);
      return {
        path: [...path, String(params.additionalProperty)],
        message: `unknown field "${String(params.additionalProperty)}"`,
        expected: known.length > 0 ? `one of the fields ${known.join(", ")}` : "no other fields",
      };
    }
    case "discriminator": {
      const tag = String(params.tag);
      if (params.tagValue === undefined) return undefined; // "required" reports the missing tag.
      const kinds = discriminatorValues(name, parent);
      return {
        path: [...path, tag],
        message: `unknown ${tag} ${showValue(params.tagValue)}`,
        expected: `one of ${kinds.map((kind) => `"${kind}"`).join(", ")}`,
      };
    }
    case "type": {
      const fraction = typeof value === "number" && params.type === "integer";
      const message = fraction
        ? `${showValue(value)} is not a whole number`
        : `${showValue(value)} is ${typeOfValue(value)}`;
      return { path, message, expected: describeSchema(name, parent) };
    }
    case "enum":
    case "const":
      return { path, message: `${showValue(value)} is not allowed`, expected: describeSchema(name, parent) };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return {
        path,
        message: rangeMessage(value, parent, error.keyword, params.limit),
        expected: describeSchema(name, parent),
      };
    case "pattern":
      if (error.propertyName !== undefined) {
        return {
          path: [...path, error.propertyName],
          message: `the name "${error.propertyName}" is not allowed here`,
          expected: describeSchema(name, parent),
        };
      }
      return {
        path,
        message: `${showValue(value)} does not have the expected form`,
        expected: describeSchema(name, parent),
      };
    case "minLength":
      return {
        path,
        message: value === "" ? "is empty" : `${showValue(value)} is too short`,
        expected: describeSchema(name, parent),
      };
    case "maxLength":
      return {
        path,
        message: `${showValue(value)} is too long (at most ${String(params.limit)} characters)`,
        expected: describeSchema(name, parent),
      };
    case "minItems":
      return {
        path,
        message: Array.isArray(value) && value.length === 0 ? "is an empty list" : "has too few items",
        expected: describeSchema(name, parent),
      };
    case "minProperties":
      return { path, message: "is an empty object", expected: describeSchema(name, parent) };
    default:
      return {
        path,
        message: error.message ?? `fails ${error.keyword}`,
        expected: describeSchema(name, parent),
      };
  }
}

/** Finds the line of a path, or of its nearest enclosing value when the path itself is absent. */
export function lineOf(locations: JsonLocations, path: JsonPath): number | undefined {
  for (let length = path.length; length >= 0; length--) {
    const line = locations.lines.get(toPointer(path.slice(0, length)));
    if (line !== undefined) return line;
  }
  return undefined;
}

/** Checks `data` against the named schema; one error per problem, each with path, line and what is accepted. */
export function schemaErrors(
  name: SchemaName,
  data: unknown,
  file: string,
  locations: JsonLocations,
): SpecError[] {
  const validate = validatorOf(name);
  if (validate(data)) return [];
  const errors: SpecError[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    const finding = findingOf(name, error, data);
    if (!finding) continue;
    const path = renderJsonPath(finding.path);
    const key = `${path}\u0000${finding.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const line = lineOf(locations, finding.path);
    errors.push({
      file,
      path,
      ...(line === undefined ? {} : { line }),
      message: finding.message,
      expected: finding.expected,
    });
  }
  return errors;
}
