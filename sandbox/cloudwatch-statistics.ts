/**
 * CloudWatch's GetMetricStatistics and ListMetrics over the metric store, on
 * the same JSON-shaped input and output as the other operations (timestamps as
 * epoch seconds); the wire layers (AWS JSON 1.0 and the Query protocol)
 * translate to and from it.
 */
import { cloudWatchErrors } from "./cloudwatch-errors.js";
import { objectAt, readDimensions, readUnit, requiredString } from "./cloudwatch-input.js";
import { retentionMs } from "./cloudwatch-queries.js";
import { dimensionsKey, type MetricIdentity, type MetricStore, parseStatistic } from "./metric-store.js";

const SIMPLE = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"] as const;
/** https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html: at most 1,440 datapoints a call. */
const MAX_DATAPOINTS = 1440;
/** https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html: up to 500 results a page. */
const LIST_PAGE = 500;

/** GetMetricStatistics: one datapoint per period bucket and unit with data, each carrying the requested statistics. */
export function getMetricStatistics(
  store: MetricStore,
  input: Record<string, unknown>,
  now: number,
): Record<string, unknown> {
  const metric: MetricIdentity = {
    namespace: requiredString(input, "Namespace", "GetMetricStatistics"),
    metricName: requiredString(input, "MetricName", "GetMetricStatistics"),
    dimensions: readDimensions(input["Dimensions"], "Dimensions"),
  };
  const start = readTime(input, "StartTime");
  const end = readTime(input, "EndTime");
  if (start >= end) {
    throw cloudWatchErrors.invalidValue(
      `The parameter StartTime (${new Date(start).toISOString()}) must be less than the parameter EndTime (${new Date(end).toISOString()}).`,
    );
  }
  const period = input["Period"];
  if (period === undefined) throw cloudWatchErrors.missing("The parameter Period is required.");
  if (
    typeof period !== "number" ||
    !Number.isInteger(period) ||
    period < 1 ||
    !([1, 5, 10, 20, 30].includes(period) || period % 60 === 0)
  ) {
    throw cloudWatchErrors.invalidValue(
      `The parameter Period must be 1, 5, 10, 20, 30 or a multiple of 60 seconds; got ${JSON.stringify(period)}.`,
    );
  }
  const statistics = stringList(input["Statistics"], "Statistics");
  const extended = stringList(input["ExtendedStatistics"], "ExtendedStatistics");
  if (statistics.length === 0 && extended.length === 0) {
    throw cloudWatchErrors.missing(
      "Either the parameter Statistics or ExtendedStatistics must be specified.",
    );
  }
  if (statistics.length > 0 && extended.length > 0) {
    throw cloudWatchErrors.combination(
      "The parameters Statistics and ExtendedStatistics are mutually exclusive.",
    );
  }
  if (statistics.length > 5 || extended.length > 10) {
    throw cloudWatchErrors.invalidValue(
      "At most 5 Statistics or 10 ExtendedStatistics may be requested in one GetMetricStatistics call.",
    );
  }
  for (const name of statistics) {
    if (!(SIMPLE as readonly string[]).includes(name)) {
      throw cloudWatchErrors.invalidValue(
        `The value ${JSON.stringify(name)} for parameter Statistics is not valid; use ${SIMPLE.join(", ")}.`,
      );
    }
  }
  for (const name of extended) {
    const parsed = parseStatistic(name);
    if (parsed === undefined || parsed.kind === "Sum" || (SIMPLE as readonly string[]).includes(name)) {
      throw cloudWatchErrors.invalidValue(
        `The value ${JSON.stringify(name)} for parameter ExtendedStatistics is not valid; use a percentile pNN.NN or another extended statistic (tm90, IQM, PR(a:b), ...).`,
      );
    }
  }
  const requested = Math.ceil((end - start) / (period * 1000));
  if (requested > MAX_DATAPOINTS) {
    throw cloudWatchErrors.combination(
      `You have requested up to ${requested} datapoints, which exceeds the limit of ${MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range.`,
    );
  }
  const unit = readUnit(input["Unit"], "Unit");
  const units = unit !== undefined ? [unit] : unitsOf(store, metric);
  const cutoff = now - retentionMs(period);
  const datapoints: Array<Record<string, unknown>> = [];
  for (const dataUnit of units) {
    const byTimestamp = new Map<number, Record<string, unknown>>();
    const names = statistics.length > 0 ? statistics : extended;
    for (const name of names) {
      const statistic = parseStatistic(name)!;
      const points = store.query(metric, { start, end, period, statistic, unit: dataUnit });
      points.timestamps.forEach((timestamp, index) => {
        if (timestamp < cutoff) return;
        let datapoint = byTimestamp.get(timestamp);
        if (!datapoint) {
          datapoint = { Timestamp: timestamp / 1000, Unit: dataUnit };
          byTimestamp.set(timestamp, datapoint);
        }
        if (statistics.length > 0) datapoint[name] = points.values[index];
        else {
          const map = (datapoint["ExtendedStatistics"] ?? {}) as Record<string, number>;
          map[name] = points.values[index]!;
          datapoint["ExtendedStatistics"] = map;
        }
      });
    }
    datapoints.push(...byTimestamp.values());
  }
  return { Label: metric.metricName, Datapoints: datapoints };
}

/** ListMetrics: the metrics with data, filtered by namespace, name and dimensions, 500 a page. */
export function listMetrics(store: MetricStore, input: Record<string, unknown>): Record<string, unknown> {
  const namespace = optionalString(input, "Namespace");
  const metricName = optionalString(input, "MetricName");
  const filters = readDimensionFilters(input["Dimensions"]);
  const recentlyActive = input["RecentlyActive"];
  if (recentlyActive !== undefined && recentlyActive !== "PT3H") {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(recentlyActive)} for parameter RecentlyActive is not valid; the only value is PT3H.`,
    );
  }
  const matching = store
    .listMetrics()
    .filter((metric) => namespace === undefined || metric.namespace === namespace)
    .filter((metric) => metricName === undefined || metric.metricName === metricName)
    .filter((metric) =>
      filters.every((filter) =>
        filter.value === undefined
          ? Object.hasOwn(metric.dimensions, filter.name)
          : metric.dimensions[filter.name] === filter.value,
      ),
    )
    .map((metric) => ({
      key: `${metric.namespace}\u0001${metric.metricName}\u0001${dimensionsKey(metric.dimensions)}`,
      shape: {
        Namespace: metric.namespace,
        MetricName: metric.metricName,
        Dimensions: Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const token = input["NextToken"];
  let offset = 0;
  if (token !== undefined) {
    const decoded =
      typeof token === "string" ? Number(Buffer.from(token, "base64url").toString("utf8")) : Number.NaN;
    if (!Number.isInteger(decoded) || decoded < 0 || decoded > matching.length) {
      throw cloudWatchErrors.invalidNextToken(
        "The NextToken was not returned by a previous ListMetrics call.",
      );
    }
    offset = decoded;
  }
  const page = matching.slice(offset, offset + LIST_PAGE).map((entry) => entry.shape);
  const output: Record<string, unknown> = { Metrics: page };
  if (offset + LIST_PAGE < matching.length) {
    output["NextToken"] = Buffer.from(String(offset + LIST_PAGE)).toString("base64url");
  }
  return output;
}

function unitsOf(store: MetricStore, metric: MetricIdentity): string[] {
  const key = dimensionsKey(metric.dimensions);
  const entry = store
    .listMetrics()
    .find(
      (candidate) =>
        candidate.namespace === metric.namespace &&
        candidate.metricName === metric.metricName &&
        dimensionsKey(candidate.dimensions) === key,
    );
  return entry?.units ?? [];
}

function readTime(input: Record<string, unknown>, name: string): number {
  const value = input[name];
  if (value === undefined) throw cloudWatchErrors.missing(`The parameter ${name} is required.`);
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw cloudWatchErrors.invalidValue(
      `The parameter ${name} must be a timestamp; got ${JSON.stringify(value)}.`,
    );
  }
  return Math.round(value * 1000);
}

function stringList(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw cloudWatchErrors.invalidValue(`The parameter ${name} must be a list of strings.`);
  }
  return value as string[];
}

function optionalString(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > 255) {
    throw cloudWatchErrors.invalidValue(`The parameter ${name} must be a string of 1 to 255 characters.`);
  }
  return value;
}

function readDimensionFilters(value: unknown): Array<{ name: string; value?: string }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw cloudWatchErrors.invalidValue("The parameter Dimensions must be a list.");
  if (value.length > 10) {
    throw cloudWatchErrors.invalidValue("The parameter Dimensions of ListMetrics holds at most 10 filters.");
  }
  return value.map((raw, index) => {
    const filter = objectAt(raw, `Dimensions[${index}]`);
    const name = requiredString(filter, "Name", `Dimensions[${index}]`);
    const filterValue = filter["Value"];
    if (filterValue === undefined) return { name };
    if (typeof filterValue !== "string") {
      throw cloudWatchErrors.invalidValue(`Dimensions[${index}].Value must be a string.`);
    }
    return { name, value: filterValue };
  });
}
