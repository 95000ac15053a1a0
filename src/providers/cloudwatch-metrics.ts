/**
 * Metrics from CloudWatch GetMetricData, paged with the SDK's paginator
 * (NextToken) and merged per query id.
 */
import {
  type CloudWatchClient,
  type MetricDataQuery,
  type MetricDataResult,
  paginateGetMetricData,
} from "@aws-sdk/client-cloudwatch";
import { MAX_QUERIES_PER_CALL } from "../core/gate/batch.js";
import type { MetricQuery, MetricSeries } from "../core/gate/queries.js";
import type { MetricDataRequest, MetricDataResponse, MetricsSource } from "./metrics-source.js";

/** Pages of one request: a bound so a misbehaving endpoint cannot keep the gate paging forever. */
const MAX_PAGES_PER_REQUEST = 1000;

/** Maps a plain query onto the SDK's MetricDataQuery. */
export function toMetricDataQuery(query: MetricQuery): MetricDataQuery {
  if (query.kind === "expression") {
    return {
      Id: query.id,
      Expression: query.expression,
      ReturnData: query.returnData,
      ...(query.label ? { Label: query.label } : {}),
    };
  }
  return {
    Id: query.id,
    ReturnData: query.returnData,
    ...(query.label ? { Label: query.label } : {}),
    MetricStat: {
      Metric: {
        Namespace: query.namespace,
        MetricName: query.metricName,
        Dimensions: Object.entries(query.dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: query.period,
      Stat: query.stat,
    },
  };
}

function append(target: MetricSeries, result: MetricDataResult): number {
  const timestamps = result.Timestamps ?? [];
  const values = result.Values ?? [];
  for (let i = 0; i < timestamps.length; i++) {
    target.timestamps.push(new Date(timestamps[i]!).getTime());
    target.values.push(values[i] ?? Number.NaN);
  }
  return timestamps.length;
}

function sortSeries(series: MetricSeries): MetricSeries {
  const order = series.timestamps
    .map((_, i) => i)
    .sort((a, b) => series.timestamps[a]! - series.timestamps[b]!);
  return { timestamps: order.map((i) => series.timestamps[i]!), values: order.map((i) => series.values[i]!) };
}

export class CloudWatchMetricsSource implements MetricsSource {
  readonly kind = "cloudwatch";
  readonly maxQueriesPerCall = MAX_QUERIES_PER_CALL;

  constructor(private readonly client: CloudWatchClient) {}

  async fetch(request: MetricDataRequest): Promise<MetricDataResponse> {
    if (request.queries.length > this.maxQueriesPerCall) {
      throw new Error(
        `${request.queries.length} queries in one GetMetricData call; the limit is ${this.maxQueriesPerCall}`,
      );
    }
    const series = new Map<string, MetricSeries>();
    for (const query of request.queries) {
      if (query.returnData) series.set(query.id, { timestamps: [], values: [] });
    }
    const messages: string[] = [];
    // The status each query had on the last page it appeared in: PartialData there means nothing follows.
    const lastStatus = new Map<string, string>();
    let calls = 0;
    let datapoints = 0;
    const pages = paginateGetMetricData(
      { client: this.client },
      {
        StartTime: request.start,
        EndTime: request.end,
        ScanBy: "TimestampAscending",
        MetricDataQueries: request.queries.map(toMetricDataQuery),
      },
    );
    for await (const page of pages) {
      calls++;
      for (const result of page.MetricDataResults ?? []) {
        if (!result.Id) continue;
        let target = series.get(result.Id);
        if (!target) {
          target = { timestamps: [], values: [] };
          series.set(result.Id, target);
        }
        datapoints += append(target, result);
        lastStatus.set(result.Id, result.StatusCode ?? "Complete");
        // Anything but Complete or PartialData (more pages may follow) means the series cannot be trusted as evidence.
        if (result.StatusCode && result.StatusCode !== "Complete" && result.StatusCode !== "PartialData") {
          const detail = (result.Messages ?? [])
            .map((m) => `${m.Code ?? ""} ${m.Value ?? ""}`.trim())
            .join("; ");
          throw new Error(
            `GetMetricData answered ${result.StatusCode} for query ${result.Id}${detail ? `: ${detail}` : ""}`,
          );
        }
        for (const message of result.Messages ?? [])
          messages.push(`${result.Id}: ${message.Code ?? ""} ${message.Value ?? ""}`.trim());
      }
      for (const message of page.Messages ?? [])
        messages.push(`${message.Code ?? ""} ${message.Value ?? ""}`.trim());
      if (calls >= MAX_PAGES_PER_REQUEST)
        throw new Error(`GetMetricData still paging after ${calls} pages; giving up`);
    }
    // CloudWatch returns no NextToken for metric math: PartialData on the last page is a
    // truncated series that no further call completes. It is dropped, never judged.
    const incomplete = [...lastStatus].filter(([, code]) => code === "PartialData").map(([id]) => id);
    for (const id of incomplete) {
      series.delete(id);
      messages.push(
        `${id}: PartialData with no NextToken to continue (metric math); the series is incomplete and is not evidence`,
      );
    }
    for (const [id, value] of series) series.set(id, sortSeries(value));
    return { series, calls, datapoints, messages, incomplete };
  }
}
