/**
 * How the data plane turns served requests into CloudWatch samples. Counts
 * are summed per second before they reach the store (a busy second is one
 * sample, not hundreds); latencies stay raw, one sample per request, so
 * percentiles remain exact.
 */
import type { MetricSink } from "./types.js";

/** A per-second count (or maximum) of one metric and dimension set. */
export class SecondCounter {
  private second = -1;
  private total = 0;
  private pending = false;

  constructor(
    private readonly sink: MetricSink,
    readonly namespace: string,
    readonly metricName: string,
    readonly dimensions: Record<string, string>,
    readonly unit: string,
    private readonly mode: "sum" | "max",
  ) {}

  /** Adds `value` (0 publishes a zero datapoint, as AWS does for Errors) in the second of `now`. */
  add(now: number, value = 1): void {
    const second = now - (now % 1000);
    if (second !== this.second) {
      this.flush();
      this.second = second;
      this.total = value;
    } else {
      this.total = this.mode === "sum" ? this.total + value : Math.max(this.total, value);
    }
    this.pending = true;
  }

  /** Writes the pending second to the store if it is older than `before` (or unconditionally without it). */
  flush(before?: number): void {
    if (!this.pending || (before !== undefined && this.second >= before)) return;
    this.sink.put({
      namespace: this.namespace,
      metricName: this.metricName,
      dimensions: this.dimensions,
      timestamp: this.second,
      value: this.total,
      unit: this.unit,
    });
    this.pending = false;
    this.total = 0;
  }
}

/** One raw sample per observation (latencies). */
export class RawMetric {
  constructor(
    private readonly sink: MetricSink,
    readonly namespace: string,
    readonly metricName: string,
    readonly dimensions: Record<string, string>,
    readonly unit: string,
  ) {}

  put(now: number, value: number): void {
    this.sink.put({
      namespace: this.namespace,
      metricName: this.metricName,
      dimensions: this.dimensions,
      timestamp: now,
      value,
      unit: this.unit,
    });
  }
}

/** The same metric under several dimension sets, as AWS publishes it. */
export class CounterGroup {
  constructor(private readonly counters: SecondCounter[]) {}
  add(now: number, value = 1): void {
    for (const counter of this.counters) counter.add(now, value);
  }
}

/** The same raw metric under several dimension sets. */
export class RawGroup {
  constructor(private readonly metrics: RawMetric[]) {}
  put(now: number, value: number): void {
    for (const metric of this.metrics) metric.put(now, value);
  }
}

/** Creates the data plane's metrics and flushes their per-second counts. */
export class MetricRecorder {
  private readonly counters: SecondCounter[] = [];

  constructor(private readonly sink: MetricSink) {}

  counter(
    namespace: string,
    metricName: string,
    dimensionSets: Array<Record<string, string>>,
    unit = "Count",
    mode: "sum" | "max" = "sum",
  ): CounterGroup {
    const created = dimensionSets.map(
      (dimensions) => new SecondCounter(this.sink, namespace, metricName, dimensions, unit, mode),
    );
    this.counters.push(...created);
    return new CounterGroup(created);
  }

  raw(
    namespace: string,
    metricName: string,
    dimensionSets: Array<Record<string, string>>,
    unit: string,
  ): RawGroup {
    return new RawGroup(
      dimensionSets.map((dimensions) => new RawMetric(this.sink, namespace, metricName, dimensions, unit)),
    );
  }

  /** Writes every finished second (all seconds, the current one included, when `now` is absent). */
  flush(now?: number): void {
    const before = now === undefined ? undefined : now - (now % 1000);
    for (const counter of this.counters) counter.flush(before);
  }
}
