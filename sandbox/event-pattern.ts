/**
 * EventBridge event patterns: validation as PutRule does it and matching as
 * the bus does it. A pattern mirrors the event's structure; each leaf is an
 * array of alternatives (OR), fields are ANDed, and an event array matches
 * when any element does. Alternatives are exact values (string, number,
 * boolean, null) or content filters: prefix, suffix, equals-ignore-case,
 * anything-but (values, prefix, suffix, equals-ignore-case), numeric,
 * exists and wildcard; `$or` combines sub-patterns.
 */

/** Thrown for a pattern PutRule refuses; the message says where and why. */
export class EventPatternError extends Error {}

/** A validated pattern, ready to match. */
export type EventPattern = Record<string, unknown>;

/** EventBridge's numeric matching range. */
const NUMERIC_LIMIT = 1e9;
const NUMERIC_OPERATORS = new Set(["<", "<=", ">", ">=", "="]);

/** Parses and validates a pattern's JSON text. */
export function parseEventPattern(text: string): EventPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new EventPatternError(
      `Event pattern is not valid. Reason: it is not JSON (${(error as Error).message}).`,
    );
  }
  if (!isObject(parsed) || Object.keys(parsed).length === 0)
    throw new EventPatternError("Event pattern is not valid. Reason: it must be a non-empty JSON object.");
  validateObject(parsed, "");
  return parsed;
}

function validateObject(pattern: Record<string, unknown>, path: string): void {
  for (const [key, value] of Object.entries(pattern)) {
    const where = path ? `${path}.${key}` : key;
    if (key === "$or") {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isObject))
        throw invalid(where, "$or must be an array of at least two pattern objects");
      for (const [index, branch] of value.entries())
        validateObject(branch as Record<string, unknown>, `${where}[${index}]`);
    } else if (isObject(value)) {
      if (Object.keys(value).length === 0) throw invalid(where, "an object must not be empty");
      validateObject(value, where);
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw invalid(where, "Empty arrays are not allowed");
      for (const alternative of value) validateAlternative(alternative, where);
    } else {
      throw invalid(where, "a match value must be an array or an object");
    }
  }
}

function validateAlternative(alternative: unknown, where: string): void {
  if (alternative === null || ["string", "number", "boolean"].includes(typeof alternative)) return;
  if (!isObject(alternative))
    throw invalid(where, "match values must be strings, numbers, booleans, null or content filter objects");
  const keys = Object.keys(alternative);
  if (keys.length !== 1)
    throw invalid(where, `a content filter holds exactly one operator, got ${JSON.stringify(alternative)}`);
  const operator = keys[0] as string;
  const operand = alternative[operator];
  switch (operator) {
    case "prefix":
    case "suffix":
      if (typeof operand === "string") return;
      if (
        isObject(operand) &&
        Object.keys(operand).length === 1 &&
        typeof operand["equals-ignore-case"] === "string"
      )
        return;
      throw invalid(where, `${operator} match pattern must be a string or {"equals-ignore-case": string}`);
    case "equals-ignore-case":
      if (typeof operand === "string") return;
      throw invalid(where, "equals-ignore-case match pattern must be a string");
    case "wildcard":
      if (typeof operand !== "string") throw invalid(where, "wildcard match pattern must be a string");
      if (operand.includes("**")) throw invalid(where, "Consecutive wildcard characters are not allowed");
      return;
    case "exists":
      if (typeof operand === "boolean") return;
      throw invalid(where, "exists match pattern must be either true or false");
    case "numeric":
      validateNumeric(operand, where);
      return;
    case "anything-but":
      validateAnythingBut(operand, where);
      return;
    default:
      throw invalid(
        where,
        `Unrecognized match type ${operator}; use prefix, suffix, equals-ignore-case, anything-but, numeric, exists or wildcard`,
      );
  }
}

function validateNumeric(operand: unknown, where: string): void {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4)
    throw invalid(
      where,
      'numeric match pattern must be one or two [operator, number] pairs, e.g. [">", 0, "<=", 5]',
    );
  let lower = false;
  let upper = false;
  for (let index = 0; index < operand.length; index += 2) {
    const operator = operand[index];
    const value = operand[index + 1];
    if (typeof operator !== "string" || !NUMERIC_OPERATORS.has(operator))
      throw invalid(where, `Unrecognized numeric range operator: ${JSON.stringify(operator)}`);
    if (typeof value !== "number" || Math.abs(value) > NUMERIC_LIMIT)
      throw invalid(where, `Value of ${operator} must be a number between -1e9 and 1e9`);
    if (operator === "=" && operand.length > 2) throw invalid(where, "= cannot be combined with a range");
    if (operator.startsWith(">")) {
      if (lower) throw invalid(where, "Bottom range defined twice");
      lower = true;
    }
    if (operator.startsWith("<")) {
      if (upper) throw invalid(where, "Top range defined twice");
      upper = true;
    }
  }
}

function validateAnythingBut(operand: unknown, where: string): void {
  if (typeof operand === "string" || typeof operand === "number") return;
  if (Array.isArray(operand)) {
    const allStrings = operand.every((item) => typeof item === "string");
    const allNumbers = operand.every((item) => typeof item === "number");
    if (operand.length > 0 && (allStrings || allNumbers)) return;
    throw invalid(where, "anything-but list must hold only strings or only numbers");
  }
  if (isObject(operand) && Object.keys(operand).length === 1) {
    const [inner] = Object.keys(operand) as [string];
    const value = operand[inner];
    if (["prefix", "suffix", "wildcard"].includes(inner) && typeof value === "string") return;
    if (
      inner === "equals-ignore-case" &&
      (typeof value === "string" || (Array.isArray(value) && value.every((item) => typeof item === "string")))
    )
      return;
  }
  throw invalid(
    where,
    "anything-but takes a string, a number, a list of either, or {prefix|suffix|wildcard|equals-ignore-case: ...}",
  );
}

function invalid(where: string, reason: string): EventPatternError {
  return new EventPatternError(`Event pattern is not valid. Reason: ${reason} at ${where}.`);
}

// ---------------------------------------------------------------- matching

/** True when `event` matches `pattern`. */
export function matchesEventPattern(pattern: EventPattern, event: Record<string, unknown>): boolean {
  return matchObject(pattern, event);
}

function matchObject(pattern: Record<string, unknown>, event: Record<string, unknown> | undefined): boolean {
  for (const [key, expected] of Object.entries(pattern)) {
    if (key === "$or") {
      if (!(expected as Array<Record<string, unknown>>).some((branch) => matchObject(branch, event)))
        return false;
      continue;
    }
    const present = event !== undefined && Object.hasOwn(event, key);
    const actual = present ? event[key] : undefined;
    if (Array.isArray(expected)) {
      if (!matchLeaf(expected, present, actual)) return false;
    } else {
      const nested = expected as Record<string, unknown>;
      const candidates = Array.isArray(actual) ? actual : [actual];
      if (!candidates.some((candidate) => matchObject(nested, isObject(candidate) ? candidate : undefined)))
        return false;
    }
  }
  return true;
}

function matchLeaf(alternatives: unknown[], present: boolean, actual: unknown): boolean {
  // An event array matches when any of its values does; an absent field offers no value at all.
  const values = !present ? [] : Array.isArray(actual) ? actual : [actual];
  return alternatives.some((alternative) => {
    if (isObject(alternative) && "exists" in alternative) {
      const leafPresent = present && !isObject(actual);
      return alternative["exists"] === leafPresent;
    }
    return values.some((value) => matchValue(alternative, value));
  });
}

function matchValue(alternative: unknown, value: unknown): boolean {
  if (!isObject(alternative)) return alternative === value;
  const [operator] = Object.keys(alternative) as [string];
  const operand = alternative[operator];
  switch (operator) {
    case "prefix":
      return typeof value === "string" && affixMatches(operand, value, "prefix");
    case "suffix":
      return typeof value === "string" && affixMatches(operand, value, "suffix");
    case "equals-ignore-case":
      return typeof value === "string" && value.toLowerCase() === (operand as string).toLowerCase();
    case "wildcard":
      return typeof value === "string" && wildcardMatches(operand as string, value);
    case "numeric":
      return typeof value === "number" && numericMatches(operand as Array<string | number>, value);
    case "anything-but":
      return anythingButMatches(operand, value);
    default:
      return false;
  }
}

function affixMatches(operand: unknown, value: string, kind: "prefix" | "suffix"): boolean {
  const ignoreCase = isObject(operand);
  const affix = ignoreCase ? (operand["equals-ignore-case"] as string).toLowerCase() : (operand as string);
  const subject = ignoreCase ? value.toLowerCase() : value;
  return kind === "prefix" ? subject.startsWith(affix) : subject.endsWith(affix);
}

function wildcardMatches(pattern: string, value: string): boolean {
  const escaped = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`, "s").test(value);
}

function numericMatches(operand: Array<string | number>, value: number): boolean {
  for (let index = 0; index < operand.length; index += 2) {
    const bound = operand[index + 1] as number;
    switch (operand[index]) {
      case "<":
        if (!(value < bound)) return false;
        break;
      case "<=":
        if (!(value <= bound)) return false;
        break;
      case ">":
        if (!(value > bound)) return false;
        break;
      case ">=":
        if (!(value >= bound)) return false;
        break;
      case "=":
        if (value !== bound) return false;
        break;
    }
  }
  return true;
}

function anythingButMatches(operand: unknown, value: unknown): boolean {
  if (Array.isArray(operand)) return !operand.includes(value) && typeof value === typeof operand[0];
  if (isObject(operand)) {
    if (typeof value !== "string") return false;
    const [inner] = Object.keys(operand) as [string];
    const innerValue = operand[inner];
    if (inner === "prefix") return !value.startsWith(innerValue as string);
    if (inner === "suffix") return !value.endsWith(innerValue as string);
    if (inner === "wildcard") return !wildcardMatches(innerValue as string, value);
    const excluded = (Array.isArray(innerValue) ? innerValue : [innerValue]) as string[];
    return !excluded.some((item) => item.toLowerCase() === value.toLowerCase());
  }
  return value !== operand && typeof value === typeof operand;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
