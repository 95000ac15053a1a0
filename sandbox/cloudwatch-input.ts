/**
 * Validation of CloudWatch request members, refusing what CloudWatch refuses
 * with its error codes and naming the member by its path in the request.
 */
import { cloudWatchErrors } from "./cloudwatch-errors.js";
import type { MetricDatum, StatisticSet } from "./metric-store.js";

/** The units CloudWatch accepts (StandardUnit). */
export const STANDARD_UNITS = new Set([
  "Seconds",
  "Microseconds",
  "Milliseconds",
  "Bytes",
  "Kilobytes",
  "Megabytes",
  "Gigabytes",
  "Terabytes",
  "Bits",
  "Kilobits",
  "Megabits",
  "Gigabits",
  "Terabits",
  "Percent",
  "Count",
  "Bytes/Second",
  "Kilobytes/Second",
  "Megabytes/Second",
  "Gigabytes/Second",
  "Terabytes/Second",
  "Bits/Second",
  "Kilobits/Second",
  "Megabits/Second",
  "Gigabits/Second",
  "Terabits/Second",
  "Count/Second",
  "None",
]);

const TWO_WEEKS_MS = 14 * 24 * 3600_000;
const TWO_HOURS_MS = 2 * 3600_000;
const MAX_VALUE = 2 ** 360;

/** A JSON object member, or an InvalidParameterValue naming its path. */
export function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw cloudWatchErrors.invalidValue(`${path} must be a structure, got ${JSON.stringify(value)}.`);
  }
  return value as Record<string, unknown>;
}

/** A required non-empty string member of at most `max` characters. */
export function requiredString(
  parent: Record<string, unknown>,
  name: string,
  path: string,
  max = 255,
): string {
  const value = parent[name];
  if (value === undefined || value === null)
    throw cloudWatchErrors.missing(`The parameter ${path}.${name} is required.`);
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(value)} for parameter ${path}.${name} is invalid: it must be a string of 1 to ${max} characters.`,
    );
  }
  return value;
}

/** Dimensions as a name → value map: at most 30, names unique, names and values non-empty. */
export function readDimensions(value: unknown, path: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!Array.isArray(value)) throw cloudWatchErrors.invalidValue(`${path} must be a list of {Name, Value}.`);
  if (value.length > 30) {
    throw cloudWatchErrors.invalidValue(
      `${path} has ${value.length} dimensions; CloudWatch accepts at most 30.`,
    );
  }
  const dimensions: Record<string, string> = {};
  value.forEach((entry, index) => {
    const member = objectAt(entry, `${path}[${index}]`);
    const name = requiredString(member, "Name", `${path}[${index}]`);
    const dimensionValue = requiredString(member, "Value", `${path}[${index}]`, 1024);
    if (Object.hasOwn(dimensions, name)) {
      throw cloudWatchErrors.invalidValue(`${path} names the dimension ${JSON.stringify(name)} twice.`);
    }
    dimensions[name] = dimensionValue;
  });
  return dimensions;
}

/** A StandardUnit, or undefined when absent. */
export function readUnit(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !STANDARD_UNITS.has(value)) {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(value)} for parameter ${path} is invalid; use one of ${[...STANDARD_UNITS].join(", ")}.`,
    );
  }
  return value;
}

function readNumber(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || Math.abs(value) > MAX_VALUE) {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(value)} for parameter ${path} is invalid: it must be a finite number within ±2^360.`,
    );
  }
  return value;
}

/** Validates a PutMetricData request and returns its data in store terms; nothing is stored when any datum is refused. */
export function readPutMetricData(input: Record<string, unknown>, now: number): MetricDatum[] {
  const namespace = requiredString(input, "Namespace", "PutMetricData");
  if (namespace.startsWith("AWS/")) {
    throw cloudWatchErrors.invalidValue(
      `The value ${namespace} for parameter Namespace is invalid: namespaces starting with "AWS/" are reserved for AWS services.`,
    );
  }
  const lists: Array<{ data: unknown; path: string }> = [];
  if (input["MetricData"] !== undefined) lists.push({ data: input["MetricData"], path: "MetricData" });
  const entityData = input["EntityMetricData"];
  if (Array.isArray(entityData)) {
    entityData.forEach((entry, index) => {
      const member = objectAt(entry, `EntityMetricData[${index}]`);
      lists.push({ data: member["MetricData"], path: `EntityMetricData[${index}].MetricData` });
    });
  }
  if (lists.length === 0) throw cloudWatchErrors.missing("The parameter MetricData is required.");
  const data: MetricDatum[] = [];
  for (const { data: list, path } of lists) {
    if (!Array.isArray(list) || list.length === 0) {
      throw cloudWatchErrors.missing(`The parameter ${path} must hold at least one datum.`);
    }
    list.forEach((entry, index) => {
      data.push(readDatum(namespace, objectAt(entry, `${path}[${index}]`), `${path}[${index}]`, now));
    });
  }
  if (data.length > 1000) {
    throw cloudWatchErrors.invalidValue(
      `PutMetricData carries ${data.length} metrics; CloudWatch accepts at most 1000 per call.`,
    );
  }
  return data;
}

function readDatum(
  namespace: string,
  member: Record<string, unknown>,
  path: string,
  now: number,
): MetricDatum {
  const metricName = requiredString(member, "MetricName", path);
  const dimensions = readDimensions(member["Dimensions"], `${path}.Dimensions`);
  const unit = readUnit(member["Unit"], `${path}.Unit`);
  const timestamp = readDatumTimestamp(member["Timestamp"], `${path}.Timestamp`, now);
  const storageResolution = member["StorageResolution"] ?? 60;
  if (storageResolution !== 1 && storageResolution !== 60) {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(storageResolution)} for parameter ${path}.StorageResolution is invalid; use 1 (high resolution) or 60.`,
    );
  }
  const hasValue = member["Value"] !== undefined && member["Value"] !== null;
  const hasValues = Array.isArray(member["Values"]) && member["Values"].length > 0;
  const hasSet = member["StatisticValues"] !== undefined && member["StatisticValues"] !== null;
  if ([hasValue, hasValues, hasSet].filter(Boolean).length > 1) {
    throw cloudWatchErrors.combination(
      `${path}: the parameters Value, Values and StatisticValues are mutually exclusive; send exactly one.`,
    );
  }
  const datum: MetricDatum = {
    namespace,
    metricName,
    dimensions,
    timestamp,
    unit,
    values: [],
    storageResolution,
  };
  if (hasValue) {
    datum.values = [readNumber(member["Value"], `${path}.Value`)];
  } else if (hasValues) {
    readValuesAndCounts(datum, member, path);
  } else if (hasSet) {
    datum.statisticValues = readStatisticSet(
      objectAt(member["StatisticValues"], `${path}.StatisticValues`),
      path,
    );
  } else {
    throw cloudWatchErrors.missing(
      `${path}: one of the parameters Value, Values or StatisticValues is required.`,
    );
  }
  return datum;
}

function readDatumTimestamp(value: unknown, path: string, now: number): number {
  if (value === undefined || value === null) return now;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw cloudWatchErrors.invalidValue(
      `The parameter ${path} must be a timestamp (epoch seconds), got ${JSON.stringify(value)}.`,
    );
  }
  const timestamp = Math.round(value * 1000);
  if (timestamp < now - TWO_WEEKS_MS || timestamp > now + TWO_HOURS_MS) {
    throw cloudWatchErrors.invalidValue(
      `The parameter ${path} (${new Date(timestamp).toISOString()}) must specify a time no more than two weeks in the past and no more than two hours in the future.`,
    );
  }
  return timestamp;
}

function readValuesAndCounts(datum: MetricDatum, member: Record<string, unknown>, path: string): void {
  const values = member["Values"] as unknown[];
  if (values.length > 150) {
    throw cloudWatchErrors.invalidValue(
      `${path}.Values holds ${values.length} values; CloudWatch accepts at most 150.`,
    );
  }
  datum.values = values.map((value, index) => readNumber(value, `${path}.Values[${index}]`));
  const counts = member["Counts"];
  if (counts === undefined || counts === null) return;
  if (!Array.isArray(counts) || counts.length !== values.length) {
    throw cloudWatchErrors.invalidValue(
      `${path}.Counts must have as many entries as ${path}.Values (${values.length}), got ${Array.isArray(counts) ? counts.length : JSON.stringify(counts)}.`,
    );
  }
  datum.counts = counts.map((count, index) => {
    const number = readNumber(count, `${path}.Counts[${index}]`);
    if (number < 0)
      throw cloudWatchErrors.invalidValue(`${path}.Counts[${index}] must not be negative, got ${number}.`);
    return number;
  });
}

function readStatisticSet(set: Record<string, unknown>, path: string): StatisticSet {
  const member = (name: string) => {
    if (set[name] === undefined || set[name] === null) {
      throw cloudWatchErrors.missing(`The parameter ${path}.StatisticValues.${name} is required.`);
    }
    return readNumber(set[name], `${path}.StatisticValues.${name}`);
  };
  const statistics: StatisticSet = {
    sampleCount: member("SampleCount"),
    sum: member("Sum"),
    minimum: member("Minimum"),
    maximum: member("Maximum"),
  };
  if (statistics.sampleCount <= 0) {
    throw cloudWatchErrors.invalidValue(`${path}.StatisticValues.SampleCount must be greater than 0.`);
  }
  if (statistics.minimum > statistics.maximum) {
    throw cloudWatchErrors.invalidValue(`${path}.StatisticValues.Minimum must not exceed Maximum.`);
  }
  return statistics;
}
