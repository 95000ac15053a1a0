/**
 * GetMetricData's queries: validation of each MetricDataQuery, statistics of
 * MetricStat queries from the store, and metric math over them.
 */
import { cloudWatchErrors } from "./cloudwatch-errors.js";
import { objectAt, readDimensions, readUnit, requiredString } from "./cloudwatch-input.js";
import {
  ExpressionError,
  type ExpressionNode,
  evaluateExpression,
  type Grid,
  parseExpression,
  referencedIds,
  type TimeSeries,
} from "./metric-math.js";
import {
  bucketOrigin,
  type Datapoints,
  type MetricIdentity,
  type MetricStore,
  parseStatistic,
  type Statistic,
} from "./metric-store.js";

/** A GetMetricData request after the top-level members were validated. */
export interface MetricDataRequest {
  queries: unknown[];
  /** Epoch milliseconds. */
  startTime: number;
  endTime: number;
  scanBy: "TimestampDescending" | "TimestampAscending";
  maxDatapoints: number;
  nextToken?: string;
  /** Epoch milliseconds of the call, which CloudWatch's retention by period is measured back from; no retention applies without it. */
  now?: number;
}

/** The full (unpaged) result of one query with ReturnData, ascending by time. */
export interface QueryResult {
  id: string;
  label: string;
  timestamps: number[];
  values: number[];
  messages: Array<{ Code: string; Value: string }>;
}

type PreparedQuery =
  | {
      kind: "stat";
      id: string;
      label: string;
      returnData: boolean;
      metric: MetricIdentity;
      period: number;
      statistic: Statistic;
      unit?: string;
    }
  | {
      kind: "expression";
      id: string;
      label: string;
      returnData: boolean;
      expression: string;
      node: ExpressionNode;
    };

const ID_PATTERN = /^[a-z][a-zA-Z0-9_]{0,254}$/;
/** Dense grids are built for metric math only; this bounds their memory. */
const MAX_GRID_BUCKETS = 1_000_000;

/** Validates and evaluates every query; returns the results of those with ReturnData, in request order. */
export function evaluateCloudWatchQueries(store: MetricStore, request: MetricDataRequest): QueryResult[] {
  const prepared = request.queries.map((query, index) => prepareQuery(query, `MetricDataQueries[${index}]`));
  const byId = new Map<string, PreparedQuery>();
  for (const query of prepared) {
    if (byId.has(query.id)) {
      throw cloudWatchErrors.validation(
        `The Id ${JSON.stringify(query.id)} is used by more than one MetricDataQuery; Ids must be unique.`,
      );
    }
    byId.set(query.id, query);
  }
  if (!prepared.some((query) => query.returnData)) {
    throw cloudWatchErrors.validation("At least one MetricDataQuery must have ReturnData set to true.");
  }
  const evaluator = new QueryEvaluator(store, byId, request);
  return prepared
    .filter((query) => query.returnData)
    .map((query) => {
      const { timestamps, values, units } = evaluator.datapoints(query);
      const messages =
        units === undefined
          ? []
          : [
              {
                Code: "MultipleUnits",
                Value: `The metric has data in several units (${units.found.join(", ")}); only data in ${units.used} is returned. Set MetricStat.Unit to choose one.`,
              },
            ];
      return { id: query.id, label: query.label, timestamps, values, messages };
    });
}

/**
 * How far back CloudWatch keeps data at a period: sub-minute periods for 3
 * hours, then 1-minute for 15 days, 5-minute for 63 days and 1-hour for 455
 * days; older data is only returned at a coarser period.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html
 */
export function retentionMs(periodSeconds: number): number {
  const day = 86_400_000;
  if (periodSeconds % 3600 === 0) return 455 * day;
  if (periodSeconds % 300 === 0) return 63 * day;
  if (periodSeconds % 60 === 0) return 15 * day;
  return 3 * 3_600_000;
}

function prepareQuery(raw: unknown, path: string): PreparedQuery {
  const query = objectAt(raw, path);
  const id = requiredString(query, "Id", path);
  if (!ID_PATTERN.test(id)) {
    throw cloudWatchErrors.validation(
      `The value ${JSON.stringify(id)} at ${path}.Id is invalid: an Id starts with a lowercase letter and holds only letters, digits and underscores.`,
    );
  }
  const returnData = query["ReturnData"] ?? true;
  if (typeof returnData !== "boolean")
    throw cloudWatchErrors.invalidValue(`${path}.ReturnData must be a boolean.`);
  const label = typeof query["Label"] === "string" ? query["Label"] : undefined;
  const hasStat = query["MetricStat"] !== undefined && query["MetricStat"] !== null;
  const hasExpression = query["Expression"] !== undefined && query["Expression"] !== null;
  if (hasStat === hasExpression) {
    throw cloudWatchErrors.validation(
      `${path} (Id ${id}) must have exactly one of MetricStat or Expression, it has ${hasStat ? "both" : "neither"}.`,
    );
  }
  if (hasExpression) {
    const expression = requiredString(query, "Expression", path, 2048);
    try {
      return {
        kind: "expression",
        id,
        label: label ?? id,
        returnData,
        expression,
        node: parseExpression(expression),
      };
    } catch (error) {
      if (error instanceof ExpressionError)
        throw cloudWatchErrors.validation(`Error in expression ${id}: ${error.message}`);
      throw error;
    }
  }
  const stat = objectAt(query["MetricStat"], `${path}.MetricStat`);
  const metric = objectAt(
    stat["Metric"] ?? missing(`${path}.MetricStat.Metric`),
    `${path}.MetricStat.Metric`,
  );
  const identity: MetricIdentity = {
    namespace: requiredString(metric, "Namespace", `${path}.MetricStat.Metric`),
    metricName: requiredString(metric, "MetricName", `${path}.MetricStat.Metric`),
    dimensions: readDimensions(metric["Dimensions"], `${path}.MetricStat.Metric.Dimensions`),
  };
  const period = readPeriod(stat["Period"], `${path}.MetricStat.Period`);
  const statName = requiredString(stat, "Stat", `${path}.MetricStat`);
  const statistic = parseStatistic(statName);
  if (!statistic) {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(statName)} for parameter ${path}.MetricStat.Stat is invalid; use Sum, Average, SampleCount, Minimum, Maximum, a percentile pNN.NN, tmNN, wmNN, tcNN, tsNN, IQM, TM/WM/TC/TS(a%:b%) or (a:b), or PR(a:b).`,
    );
  }
  const unit = readUnit(stat["Unit"], `${path}.MetricStat.Unit`);
  return {
    kind: "stat",
    id,
    label: label ?? identity.metricName,
    returnData,
    metric: identity,
    period,
    statistic,
    unit,
  };
}

function missing(path: string): never {
  throw cloudWatchErrors.missing(`The parameter ${path} is required.`);
}

function readPeriod(value: unknown, path: string): number {
  if (value === undefined || value === null) missing(path);
  const valid =
    typeof value === "number" &&
    Number.isInteger(value) &&
    value > 0 &&
    ([1, 5, 10, 20, 30].includes(value) || value % 60 === 0);
  if (!valid) {
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(value)} for parameter ${path} is invalid: a period is 1, 5, 10, 20, 30 or a multiple of 60 seconds.`,
    );
  }
  return value as number;
}

/** Evaluates queries on demand, each at most once, detecting cycles between expressions. */
class QueryEvaluator {
  private readonly sparse = new Map<string, Datapoints>();
  private readonly dense = new Map<string, TimeSeries>();
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly store: MetricStore,
    private readonly queries: Map<string, PreparedQuery>,
    private readonly request: MetricDataRequest,
  ) {}

  datapoints(query: PreparedQuery): Datapoints {
    if (query.kind === "stat") return this.statDatapoints(query);
    const series = this.series(query.id, query.id);
    const timestamps: number[] = [];
    const values: number[] = [];
    series.values.forEach((value, index) => {
      if (Number.isNaN(value)) return;
      timestamps.push(series.grid.origin + index * series.grid.periodMs);
      values.push(value);
    });
    return { timestamps, values };
  }

  private statDatapoints(query: Extract<PreparedQuery, { kind: "stat" }>): Datapoints {
    let points = this.sparse.get(query.id);
    if (!points) {
      points = this.store.query(query.metric, {
        start: this.request.startTime,
        end: this.request.endTime,
        period: query.period,
        statistic: query.statistic,
        unit: query.unit,
      });
      if (this.request.now !== undefined)
        points = withinRetention(points, this.request.now - retentionMs(query.period));
      this.sparse.set(query.id, points);
    }
    return points;
  }

  /** The dense series of a query, for metric math; `from` names the expression asking, for errors. */
  private series(id: string, from: string): TimeSeries {
    const cached = this.dense.get(id);
    if (cached) return cached;
    const query = this.queries.get(id);
    if (!query) {
      throw cloudWatchErrors.validation(
        `Error in expression ${from}: Unrecognized metric id ${JSON.stringify(id)}.`,
      );
    }
    if (this.inProgress.has(id)) {
      throw cloudWatchErrors.validation(
        `Error in expression ${from}: the expressions refer to each other in a cycle through ${id}.`,
      );
    }
    this.inProgress.add(id);
    try {
      const series = query.kind === "stat" ? this.densify(query) : this.evaluate(query);
      this.dense.set(id, series);
      return series;
    } finally {
      this.inProgress.delete(id);
    }
  }

  private evaluate(query: Extract<PreparedQuery, { kind: "expression" }>): TimeSeries {
    for (const reference of referencedIds(query.node)) {
      if (reference === query.id) {
        throw cloudWatchErrors.validation(
          `Error in expression ${query.id}: an expression cannot refer to itself.`,
        );
      }
    }
    try {
      return evaluateExpression(query.node, (reference) => this.series(reference, query.id));
    } catch (error) {
      if (error instanceof ExpressionError) {
        throw cloudWatchErrors.validation(`Error in expression ${query.id}: ${error.message}`);
      }
      throw error;
    }
  }

  private densify(query: Extract<PreparedQuery, { kind: "stat" }>): TimeSeries {
    const periodMs = query.period * 1000;
    const origin = bucketOrigin(this.request.startTime, query.period);
    const count = Math.ceil((this.request.endTime - origin) / periodMs);
    if (count > MAX_GRID_BUCKETS) {
      throw cloudWatchErrors.validation(
        `Metric math over ${query.id} would span ${count} datapoints; use a longer period or a shorter time range.`,
      );
    }
    const grid: Grid = { origin, periodMs, count };
    const values = new Float64Array(count).fill(Number.NaN);
    const points = this.statDatapoints(query);
    points.timestamps.forEach((timestamp, index) => {
      values[(timestamp - origin) / periodMs] = points.values[index]!;
    });
    return { grid, values };
  }
}

/** Drops the buckets that start before `cutoff`: CloudWatch no longer holds them at this period. */
function withinRetention(points: Datapoints, cutoff: number): Datapoints {
  const first = points.timestamps.findIndex((timestamp) => timestamp >= cutoff);
  if (first === 0) return points;
  const from = first < 0 ? points.timestamps.length : first;
  const kept: Datapoints = { timestamps: points.timestamps.slice(from), values: points.values.slice(from) };
  if (points.units !== undefined) kept.units = points.units;
  return kept;
}
