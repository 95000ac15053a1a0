/**
 * The sandbox's CloudWatch storage: every raw sample of every metric, kept
 * per metric (namespace, name, exact dimension set) and unit in growable
 * typed arrays, so statistics, percentiles included, are computed exactly
 * from the samples at query time rather than from pre-aggregated buckets.
 */
import type { MetricSample, MetricSink } from "./types.js";

/** A metric as CloudWatch identifies it: the dimension set must match exactly. */
export interface MetricIdentity {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
}

/**
 * The bounds of an extended statistic's range: percentages of the ranked
 * samples ("10%"), or absolute values; either end may be open.
 */
export interface StatisticBounds {
  inPercent: boolean;
  lower?: number;
  upper?: number;
}

/** A statistic GetMetricData can compute, parsed from its CloudWatch name. */
export type Statistic =
  | { kind: "Sum" | "Average" | "SampleCount" | "Minimum" | "Maximum" }
  | { kind: "percentile"; percentile: number }
  /** Trimmed mean, winsorized mean, trimmed count and trimmed sum (TM, WM, TC, TS; tm90 is TM(:90%), IQM is TM(25%:75%)). */
  | { kind: "trimmed"; measure: "TM" | "WM" | "TC" | "TS"; bounds: StatisticBounds }
  /** Percentile rank: the percentage of samples within (lower, upper]. */
  | { kind: "rank"; lower?: number; upper?: number };

/** Pre-aggregated values as PutMetricData's StatisticValues carries them. */
export interface StatisticSet {
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
}

/** One PutMetricData datum after validation, in store terms. */
export interface MetricDatum extends MetricIdentity {
  /** Epoch milliseconds. */
  timestamp: number;
  unit?: string;
  /** Raw values (Value is a single-element list); empty when `statisticValues` is given. */
  values: number[];
  /** How many times each value was observed; all 1 when absent. */
  counts?: number[];
  statisticValues?: StatisticSet;
  /** 1 keeps the timestamp to the second; 60 (CloudWatch's default) stores it in its minute. */
  storageResolution?: 1 | 60;
}

/** What to compute over which time range. */
export interface StatisticRequest {
  /** Epoch milliseconds; buckets start at this time rounded down (see `bucketOrigin`). */
  start: number;
  /** Epoch milliseconds, exclusive. */
  end: number;
  /** Seconds: 1, 5, 10, 20, 30 or a multiple of 60. */
  period: number;
  statistic: Statistic;
  /** Only samples stored with this unit; all units when absent. */
  unit?: string;
}

/** Datapoints of one statistic, ascending by timestamp (epoch ms, bucket start). */
export interface Datapoints {
  timestamps: number[];
  values: number[];
  /** Set when the query named no unit and the range holds several: the one the datapoints were computed from, and all of them. */
  units?: { used: string; found: string[] };
}

const SIMPLE_STATISTICS = new Set(["Sum", "Average", "SampleCount", "Minimum", "Maximum"]);
const PERCENTILE_PATTERN = /^p(\d{1,2}(?:\.\d{1,2})?|100(?:\.0{1,2})?)$/;

const PERCENT = String.raw`\d{1,2}(?:\.\d{1,10})?|100(?:\.0{1,10})?`;
const NUMBER = String.raw`-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?`;
const SHORTHAND_PATTERN = new RegExp(`^(tm|wm|tc|ts)(${PERCENT})$`);
const PERCENT_RANGE_PATTERN = new RegExp(`^(TM|WM|TC|TS)\\((${PERCENT})?%?:(${PERCENT})?%\\)$`);
const VALUE_RANGE_PATTERN = new RegExp(`^(TM|WM|TC|TS|PR)\\((${NUMBER})?:(${NUMBER})?\\)$`);

/**
 * Parses the statistics CloudWatch documents: Sum, Average, SampleCount,
 * Minimum, Maximum, pNN.NN, the shorthands tmNN, wmNN, tcNN and tsNN (upper
 * bound NN %), IQM, TM/WM/TC/TS over a percent range "TM(10%:90%)" or a value
 * range "TM(150:1000)", and percentile rank "PR(100:2000)"; undefined for
 * anything else. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
 */
export function parseStatistic(name: string): Statistic | undefined {
  if (SIMPLE_STATISTICS.has(name)) return { kind: name as "Sum" };
  const percentile = PERCENTILE_PATTERN.exec(name);
  if (percentile) return { kind: "percentile", percentile: Number(percentile[1]) };
  if (name === "IQM")
    return { kind: "trimmed", measure: "TM", bounds: { inPercent: true, lower: 25, upper: 75 } };
  const shorthand = SHORTHAND_PATTERN.exec(name);
  if (shorthand) {
    const measure = shorthand[1]!.toUpperCase() as "TM";
    return { kind: "trimmed", measure, bounds: { inPercent: true, upper: Number(shorthand[2]) } };
  }
  const percentRange = PERCENT_RANGE_PATTERN.exec(name);
  if (percentRange && (percentRange[2] !== undefined || percentRange[3] !== undefined)) {
    // Both ends are percentages: "TM(10%:90%)", "TM(:95%)", "TM(5%:)" — the colon form needs % on each given end.
    if (!/^\w+\((\d[\d.]*%)?:(\d[\d.]*%)?\)$/.test(name)) return undefined;
    const bounds: StatisticBounds = { inPercent: true };
    if (percentRange[2] !== undefined) bounds.lower = Number(percentRange[2]);
    if (percentRange[3] !== undefined) bounds.upper = Number(percentRange[3]);
    if (bounds.lower !== undefined && bounds.upper !== undefined && bounds.lower >= bounds.upper)
      return undefined;
    return { kind: "trimmed", measure: percentRange[1] as "TM", bounds };
  }
  const valueRange = VALUE_RANGE_PATTERN.exec(name);
  if (valueRange && (valueRange[2] !== undefined || valueRange[3] !== undefined)) {
    const lower = valueRange[2] === undefined ? undefined : Number(valueRange[2]);
    const upper = valueRange[3] === undefined ? undefined : Number(valueRange[3]);
    if (lower !== undefined && upper !== undefined && lower >= upper) return undefined;
    if (valueRange[1] === "PR") {
      const rank: Statistic = { kind: "rank" };
      if (lower !== undefined) rank.lower = lower;
      if (upper !== undefined) rank.upper = upper;
      return rank;
    }
    const bounds: StatisticBounds = { inPercent: false };
    if (lower !== undefined) bounds.lower = lower;
    if (upper !== undefined) bounds.upper = upper;
    return { kind: "trimmed", measure: valueRange[1] as "TM", bounds };
  }
  return undefined;
}

/**
 * Where the first bucket of a query starts: high-resolution periods align on
 * their own length, periods of a minute or more on the whole minute, as
 * CloudWatch rounds a recent StartTime down.
 */
export function bucketOrigin(start: number, periodSeconds: number): number {
  const alignMs = periodSeconds < 60 ? periodSeconds * 1000 : 60_000;
  return Math.floor(start / alignMs) * alignMs;
}

/**
 * Nearest-rank percentile of ascending values: the smallest value with at
 * least `percentile` % of the samples at or below it (p95 of 1..100 is 95).
 */
export function nearestRankPercentile(sorted: ArrayLike<number>, percentile: number): number {
  const count = sorted.length;
  if (count === 0) return Number.NaN;
  const rank = Math.min(count, Math.max(1, Math.ceil((percentile * count) / 100 - 1e-9)));
  return sorted[rank - 1]!;
}

/** Samples of one metric and unit in insertion order, sorted lazily by time. */
class RawSeries {
  timestamps = new Float64Array(64);
  values = new Float64Array(64);
  /** Allocated on the first sample observed more than once (PutMetricData Counts). */
  counts: Float64Array | null = null;
  length = 0;
  private sorted = true;

  append(timestamp: number, value: number, count: number): void {
    if (this.length === this.timestamps.length) this.grow();
    const index = this.length++;
    if (index > 0 && timestamp < this.timestamps[index - 1]!) this.sorted = false;
    this.timestamps[index] = timestamp;
    this.values[index] = value;
    if (count !== 1 && this.counts === null) {
      this.counts = new Float64Array(this.timestamps.length);
      this.counts.fill(1, 0, index);
    }
    if (this.counts !== null) this.counts[index] = count;
  }

  /** First index whose timestamp is >= `timestamp`. */
  lowerBound(timestamp: number): number {
    this.ensureSorted();
    let low = 0;
    let high = this.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.timestamps[middle]! < timestamp) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private grow(): void {
    const capacity = this.timestamps.length * 2;
    const resize = (from: Float64Array) => {
      const to = new Float64Array(capacity);
      to.set(from);
      return to;
    };
    this.timestamps = resize(this.timestamps);
    this.values = resize(this.values);
    if (this.counts !== null) this.counts = resize(this.counts);
  }

  private ensureSorted(): void {
    if (this.sorted) return;
    const order = Array.from({ length: this.length }, (_, index) => index);
    order.sort((a, b) => this.timestamps[a]! - this.timestamps[b]!);
    const permute = (from: Float64Array) => {
      const to = new Float64Array(from.length);
      for (let index = 0; index < order.length; index++) to[index] = from[order[index]!]!;
      return to;
    };
    this.timestamps = permute(this.timestamps);
    this.values = permute(this.values);
    if (this.counts !== null) this.counts = permute(this.counts);
    this.sorted = true;
  }
}

/** Statistic sets whose minimum and maximum differ: they count towards every statistic except percentiles. */
interface StoredStatisticSet extends StatisticSet {
  timestamp: number;
}

interface UnitSeries {
  raw: RawSeries;
  sets: StoredStatisticSet[];
}

interface MetricEntry {
  identity: MetricIdentity;
  byUnit: Map<string, UnitSeries>;
}

/** A contiguous run of raw samples, possibly merged across units. */
interface SampleRange {
  timestamps: Float64Array;
  values: Float64Array;
  counts: Float64Array | null;
  from: number;
  to: number;
}

/** Running totals of one bucket. */
interface BucketTotals {
  count: number;
  sum: number;
  minimum: number;
  maximum: number;
}

/** The unit CloudWatch records for a datum sent without one. */
export const NO_UNIT = "None";

/** Stable key of a dimension set: names sorted, as CloudWatch treats dimension order as irrelevant. */
export function dimensionsKey(dimensions: Record<string, string>): string {
  const names = Object.keys(dimensions).sort();
  let key = "";
  for (const name of names) key += `${name}\u0002${dimensions[name]}\u0003`;
  return key;
}

/** In-memory CloudWatch metric storage with exact statistics. */
export class MetricStore implements MetricSink {
  private readonly metrics = new Map<string, MetricEntry>();
  /** Producers such as the data plane reuse one dimensions object per series; this spares re-sorting it. */
  private readonly dimensionKeys = new WeakMap<Record<string, string>, string>();
  private stored = 0;

  /** Records one raw sample (the data plane's path); its timestamp is kept to the millisecond. */
  put(sample: MetricSample): void {
    const series = this.unitSeries(sample, sample.unit ?? NO_UNIT);
    series.raw.append(sample.timestamp, sample.value, 1);
    this.stored++;
  }

  /** Records one validated PutMetricData datum. */
  putDatum(datum: MetricDatum): void {
    const timestamp =
      datum.storageResolution === 1 ? datum.timestamp : Math.floor(datum.timestamp / 60_000) * 60_000;
    const series = this.unitSeries(datum, datum.unit ?? NO_UNIT);
    const set = datum.statisticValues;
    if (set) {
      // A set whose samples were all equal is as good as raw samples, so percentiles stay available for it.
      if (set.minimum === set.maximum) series.raw.append(timestamp, set.minimum, set.sampleCount);
      else series.sets.push({ timestamp, ...set });
      this.stored++;
      return;
    }
    for (let index = 0; index < datum.values.length; index++) {
      series.raw.append(timestamp, datum.values[index]!, datum.counts?.[index] ?? 1);
      this.stored++;
    }
  }

  /** Number of stored samples and statistic sets. */
  get sampleCount(): number {
    return this.stored;
  }

  /** Every metric with data, for inspection (ListMetrics-like). */
  listMetrics(): Array<MetricIdentity & { units: string[] }> {
    return [...this.metrics.values()].map((entry) => ({
      ...entry.identity,
      units: [...entry.byUnit.keys()],
    }));
  }

  /** Computes one statistic per period bucket; buckets without samples have no datapoint. */
  query(metric: MetricIdentity, request: StatisticRequest): Datapoints {
    const entry = this.metrics.get(this.key(metric));
    const result: Datapoints = { timestamps: [], values: [] };
    if (!entry) return result;
    const origin = bucketOrigin(request.start, request.period);
    const periodMs = request.period * 1000;
    const chosen = this.unitsToRead(entry, request, origin);
    if (chosen.found !== undefined) result.units = { used: chosen.used!, found: chosen.found };
    const units = chosen.series;
    const range = mergeRanges(
      units.flatMap((series) => (series ? [rangeOf(series.raw, origin, request.end)] : [])),
    );
    const sets = collectSets(units, origin, request.end, periodMs);
    const statistic = request.statistic;
    let index = range.from;
    while (index < range.to) {
      const bucket = Math.floor((range.timestamps[index]! - origin) / periodMs);
      let next = index + 1;
      while (next < range.to && Math.floor((range.timestamps[next]! - origin) / periodMs) === bucket) next++;
      const set = sets.get(bucket);
      sets.delete(bucket);
      const value = bucketStatistic(range, index, next, set, statistic);
      if (!Number.isNaN(value)) {
        result.timestamps.push(origin + bucket * periodMs);
        result.values.push(value);
      }
      index = next;
    }
    if (sets.size > 0) appendSetOnlyBuckets(result, sets, origin, periodMs, statistic);
    return result;
  }

  /**
   * The unit series a query reads. A query that names no unit over a range
   * holding several units gets one unit's statistic, as CloudWatch does (it
   * does not convert or mix units), with the units reported beside it; the
   * sandbox picks the unit with the most samples in the range.
   */
  private unitsToRead(
    entry: MetricEntry,
    request: StatisticRequest,
    origin: number,
  ): { series: Array<UnitSeries | undefined>; used?: string; found?: string[] } {
    if (request.unit !== undefined) return { series: [entry.byUnit.get(request.unit)] };
    const present: Array<{ unit: string; series: UnitSeries; samples: number }> = [];
    for (const [unit, series] of entry.byUnit) {
      const range = rangeOf(series.raw, origin, request.end);
      const sets = series.sets.filter((set) => set.timestamp >= origin && set.timestamp < request.end).length;
      const samples = range.to - range.from + sets;
      if (samples > 0) present.push({ unit, series, samples });
    }
    if (present.length <= 1) return { series: present.map((unit) => unit.series) };
    const used = [...present].sort((a, b) => b.samples - a.samples || compareUnits(a.unit, b.unit))[0]!;
    return {
      series: [used.series],
      used: used.unit,
      found: present.map((unit) => unit.unit).sort(compareUnits),
    };
  }

  private unitSeries(metric: MetricIdentity, unit: string): UnitSeries {
    const key = this.key(metric);
    let entry = this.metrics.get(key);
    if (!entry) {
      entry = {
        identity: {
          namespace: metric.namespace,
          metricName: metric.metricName,
          dimensions: { ...metric.dimensions },
        },
        byUnit: new Map(),
      };
      this.metrics.set(key, entry);
    }
    let series = entry.byUnit.get(unit);
    if (!series) {
      series = { raw: new RawSeries(), sets: [] };
      entry.byUnit.set(unit, series);
    }
    return series;
  }

  private key(metric: MetricIdentity): string {
    let dimensions = this.dimensionKeys.get(metric.dimensions);
    if (dimensions === undefined) {
      dimensions = dimensionsKey(metric.dimensions);
      this.dimensionKeys.set(metric.dimensions, dimensions);
    }
    return `${metric.namespace}\u0001${metric.metricName}\u0001${dimensions}`;
  }
}

function compareUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rangeOf(raw: RawSeries, start: number, end: number): SampleRange {
  const from = raw.lowerBound(start);
  const to = raw.lowerBound(end);
  return { timestamps: raw.timestamps, values: raw.values, counts: raw.counts, from, to };
}

/** One unit is the usual case and needs no copy; several units are merged into one time-ordered range. */
function mergeRanges(ranges: SampleRange[]): SampleRange {
  const nonEmpty = ranges.filter((range) => range.to > range.from);
  if (nonEmpty.length === 0) {
    return { timestamps: new Float64Array(0), values: new Float64Array(0), counts: null, from: 0, to: 0 };
  }
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const rows: Array<[number, number, number]> = [];
  for (const range of nonEmpty) {
    for (let index = range.from; index < range.to; index++) {
      rows.push([range.timestamps[index]!, range.values[index]!, range.counts?.[index] ?? 1]);
    }
  }
  rows.sort((a, b) => a[0] - b[0]);
  const merged: SampleRange = {
    timestamps: Float64Array.from(rows, (row) => row[0]),
    values: Float64Array.from(rows, (row) => row[1]),
    counts: Float64Array.from(rows, (row) => row[2]),
    from: 0,
    to: rows.length,
  };
  return merged;
}

function collectSets(
  units: Array<UnitSeries | undefined>,
  origin: number,
  end: number,
  periodMs: number,
): Map<number, BucketTotals> {
  const buckets = new Map<number, BucketTotals>();
  for (const series of units) {
    for (const set of series?.sets ?? []) {
      if (set.timestamp < origin || set.timestamp >= end) continue;
      const bucket = Math.floor((set.timestamp - origin) / periodMs);
      const totals = buckets.get(bucket);
      if (totals) {
        totals.count += set.sampleCount;
        totals.sum += set.sum;
        totals.minimum = Math.min(totals.minimum, set.minimum);
        totals.maximum = Math.max(totals.maximum, set.maximum);
      } else {
        buckets.set(bucket, {
          count: set.sampleCount,
          sum: set.sum,
          minimum: set.minimum,
          maximum: set.maximum,
        });
      }
    }
  }
  return buckets;
}

function bucketStatistic(
  range: SampleRange,
  from: number,
  to: number,
  set: BucketTotals | undefined,
  statistic: Statistic,
): number {
  if (statistic.kind === "percentile") {
    // CloudWatch cannot rank samples hidden inside a statistic set, nor publish percentiles over negative values.
    if (set) return Number.NaN;
    return rangePercentile(range, from, to, statistic.percentile);
  }
  if (statistic.kind === "trimmed" || statistic.kind === "rank") {
    // Like percentiles, these rank the samples, which a statistic set hides.
    if (set) return Number.NaN;
    return rankedStatistic(rankedSamples(range, from, to), statistic);
  }
  const totals = rangeTotals(range, from, to);
  if (set) {
    totals.count += set.count;
    totals.sum += set.sum;
    totals.minimum = Math.min(totals.minimum, set.minimum);
    totals.maximum = Math.max(totals.maximum, set.maximum);
  }
  return simpleStatistic(totals, statistic.kind);
}

type SimpleKind = Exclude<Statistic["kind"], "percentile" | "trimmed" | "rank">;

/** Distinct values of a bucket, ascending, each with how many times it was observed. */
interface RankedSamples {
  values: number[];
  counts: number[];
  total: number;
}

function rankedSamples(range: SampleRange, from: number, to: number): RankedSamples {
  const order = Array.from({ length: to - from }, (_, index) => from + index);
  order.sort((a, b) => range.values[a]! - range.values[b]!);
  const values: number[] = [];
  const counts: number[] = [];
  let total = 0;
  for (const index of order) {
    const value = range.values[index]!;
    const count = range.counts === null ? 1 : range.counts[index]!;
    total += count;
    if (values.length > 0 && values[values.length - 1] === value) counts[counts.length - 1]! += count;
    else {
      values.push(value);
      counts.push(count);
    }
  }
  return { values, counts, total };
}

/**
 * TM, WM, TC, TS and PR over ranked samples. A percent range keeps the ranks
 * above the lower percentile's nearest rank and up to the upper one's; a value
 * range keeps values v with lower < v <= upper (CloudWatch's bounds are
 * exclusive below, inclusive above). WM clamps the samples outside the kept
 * ranks to the nearest kept value instead of dropping them.
 */
function rankedStatistic(
  samples: RankedSamples,
  statistic: Extract<Statistic, { kind: "trimmed" | "rank" }>,
): number {
  if (samples.total === 0) return Number.NaN;
  if (statistic.kind === "rank") {
    let within = 0;
    samples.values.forEach((value, index) => {
      if (inValueRange(value, statistic.lower, statistic.upper)) within += samples.counts[index]!;
    });
    return (within / samples.total) * 100;
  }
  const { bounds, measure } = statistic;
  let lowRank = 0;
  let highRank = samples.total;
  if (bounds.inPercent) {
    if (bounds.lower !== undefined) lowRank = Math.ceil((bounds.lower * samples.total) / 100 - 1e-9);
    if (bounds.upper !== undefined) highRank = Math.ceil((bounds.upper * samples.total) / 100 - 1e-9);
  } else {
    // Value bounds become ranks: those of the values at or below each bound.
    lowRank = bounds.lower === undefined ? 0 : ranksAtOrBelow(samples, bounds.lower);
    highRank = bounds.upper === undefined ? samples.total : ranksAtOrBelow(samples, bounds.upper);
  }
  let count = 0;
  let sum = 0;
  let cumulative = 0;
  let lowestKept = Number.NaN;
  let highestKept = Number.NaN;
  samples.values.forEach((value, index) => {
    const before = cumulative;
    cumulative += samples.counts[index]!;
    const kept = Math.max(0, Math.min(cumulative, highRank) - Math.max(before, lowRank));
    if (kept > 0) {
      if (Number.isNaN(lowestKept)) lowestKept = value;
      highestKept = value;
      count += kept;
      sum += value * kept;
    }
  });
  if (measure === "TC") return count;
  if (measure === "TS") return count === 0 ? Number.NaN : sum;
  if (count === 0) return Number.NaN;
  if (measure === "TM") return sum / count;
  const clampedBelow = lowRank;
  const clampedAbove = samples.total - highRank;
  return (sum + clampedBelow * lowestKept + clampedAbove * highestKept) / samples.total;
}

function inValueRange(value: number, lower: number | undefined, upper: number | undefined): boolean {
  return (lower === undefined || value > lower) && (upper === undefined || value <= upper);
}

function ranksAtOrBelow(samples: RankedSamples, bound: number): number {
  let ranks = 0;
  samples.values.forEach((value, index) => {
    if (value <= bound) ranks += samples.counts[index]!;
  });
  return ranks;
}

function simpleStatistic(totals: BucketTotals, kind: SimpleKind): number {
  switch (kind) {
    case "Sum":
      return totals.sum;
    case "Average":
      return totals.sum / totals.count;
    case "SampleCount":
      return totals.count;
    case "Minimum":
      return totals.minimum;
    case "Maximum":
      return totals.maximum;
  }
}

function rangeTotals(range: SampleRange, from: number, to: number): BucketTotals {
  const totals: BucketTotals = { count: 0, sum: 0, minimum: Infinity, maximum: -Infinity };
  const { values, counts } = range;
  for (let index = from; index < to; index++) {
    const value = values[index]!;
    const count = counts === null ? 1 : counts[index]!;
    totals.count += count;
    totals.sum += value * count;
    if (value < totals.minimum) totals.minimum = value;
    if (value > totals.maximum) totals.maximum = value;
  }
  return totals;
}

function rangePercentile(range: SampleRange, from: number, to: number, percentile: number): number {
  const values = range.values.slice(from, to);
  for (const value of values) if (value < 0) return Number.NaN;
  if (range.counts === null) {
    values.sort();
    return nearestRankPercentile(values, percentile);
  }
  const counts = range.counts.slice(from, to);
  const order = Array.from({ length: values.length }, (_, index) => index);
  order.sort((a, b) => values[a]! - values[b]!);
  let total = 0;
  for (const count of counts) total += count;
  const threshold = (percentile * total) / 100 - 1e-9;
  let cumulative = 0;
  for (const index of order) {
    cumulative += counts[index]!;
    if (cumulative >= threshold && cumulative > 0) return values[index]!;
  }
  return values[order[order.length - 1]!]!;
}

function appendSetOnlyBuckets(
  result: Datapoints,
  sets: Map<number, BucketTotals>,
  origin: number,
  periodMs: number,
  statistic: Statistic,
): void {
  if (statistic.kind === "percentile" || statistic.kind === "trimmed" || statistic.kind === "rank") return;
  const rows = [...sets.entries()].map(([bucket, totals]) => ({
    timestamp: origin + bucket * periodMs,
    value: simpleStatistic(totals, statistic.kind),
  }));
  for (let index = 0; index < result.timestamps.length; index++) {
    rows.push({ timestamp: result.timestamps[index]!, value: result.values[index]! });
  }
  rows.sort((a, b) => a.timestamp - b.timestamp);
  result.timestamps = rows.map((row) => row.timestamp);
  result.values = rows.map((row) => row.value);
}
