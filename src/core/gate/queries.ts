/**
 * CloudWatch queries as plain data. The core builds them and reads their
 * results without any SDK types, so the arithmetic can be tested on its own
 * and the provider maps them onto GetMetricData one to one.
 */

/** A statistic of one metric (a `MetricStat` in GetMetricData). */
export interface MetricStatQuery {
  kind: "stat";
  /** Unique within one GetMetricData call; lowercase start, letters, digits and underscores. */
  id: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  /** Sum, Average, SampleCount, Minimum, Maximum or pNN(.N). */
  stat: string;
  /** Seconds per datapoint. */
  period: number;
  /** False for inputs of an expression that are not read themselves. */
  returnData: boolean;
  label?: string;
}

/** Metric math over other queries of the same call. */
export interface ExpressionQuery {
  kind: "expression";
  id: string;
  expression: string;
  returnData: boolean;
  label?: string;
}

export type MetricQuery = MetricStatQuery | ExpressionQuery;

/** One returned time series, timestamps ascending (epoch milliseconds). */
export interface MetricSeries {
  timestamps: number[];
  values: number[];
}

/** Results of one or more GetMetricData calls, by query id. A query without datapoints maps to an empty series. */
export type MetricResults = ReadonlyMap<string, MetricSeries>;

/** The metric a statistic reads, without id or period. */
export interface MetricStatSpec {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  stat: string;
}

/** CloudWatch's rule for query ids. */
export const QUERY_ID_PATTERN = /^[a-z][a-zA-Z0-9_]{0,254}$/;

const STAT_PATTERN = /^(Sum|Average|SampleCount|Minimum|Maximum|p\d{1,2}(\.\d{1,2})?|p100)$/;

/** True for the statistics GetMetricData accepts in a MetricStat that cutover supports. */
export function isSupportedStat(stat: string): boolean {
  return STAT_PATTERN.test(stat);
}

/** Ids an expression refers to (lowercase-start identifiers; functions are upper case). */
export function expressionReferences(expression: string): string[] {
  const withoutStrings = expression.replace(/"[^"]*"/g, '""');
  return [...new Set(withoutStrings.match(/\b[a-z][a-zA-Z0-9_]*\b/g) ?? [])];
}

/** Rewrites the ids an expression refers to; text inside string literals is left alone. */
export function renameReferences(expression: string, rename: ReadonlyMap<string, string>): string {
  return expression
    .split(/("[^"]*")/)
    .map((part, index) =>
      index % 2 === 1 ? part : part.replace(/\b[a-z][a-zA-Z0-9_]*\b/g, (id) => rename.get(id) ?? id),
    )
    .join("");
}

/** A stable key for a statistic, so the same metric asked twice is fetched once. */
export function statKey(spec: MetricStatSpec, period: number): string {
  const dimensions = Object.keys(spec.dimensions)
    .sort()
    .map((name) => [name, spec.dimensions[name]]);
  return JSON.stringify([spec.namespace, spec.metricName, dimensions, spec.stat, period]);
}

/** Sum of a series' values (0 for an empty series). */
export function seriesSum(series: MetricSeries | undefined): number {
  let total = 0;
  for (const value of series?.values ?? []) total += value;
  return total;
}
