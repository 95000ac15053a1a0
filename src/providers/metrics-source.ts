/**
 * The metrics source: where gate queries are answered. One implementation per
 * file; {@link createMetricsSource} picks one by name and refuses names it
 * does not know.
 */
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { MetricQuery, MetricSeries } from "../core/gate/queries.js";
import { CloudWatchMetricsSource } from "./cloudwatch-metrics.js";

/** One call's worth of queries over one window. */
export interface MetricDataRequest {
  start: Date;
  end: Date;
  /** At most the source's `maxQueriesPerCall`; expressions with their inputs. */
  queries: readonly MetricQuery[];
}

export interface MetricDataResponse {
  /** Returned series by query id; a returned query without datapoints maps to an empty series. */
  series: Map<string, MetricSeries>;
  /** API calls made, pages included. */
  calls: number;
  /** Datapoints returned in all. */
  datapoints: number;
  /** Messages the source returned (e.g. partial data), for the log. */
  messages: string[];
  /**
   * Returned query ids whose data the source could not fetch whole (CloudWatch's
   * PartialData with no NextToken to continue, as for metric math). Their series
   * are left out of `series`: incomplete data is never evidence.
   */
  incomplete: string[];
}

/** Answers metric queries; the caller batches them to `maxQueriesPerCall`. */
export interface MetricsSource {
  readonly kind: string;
  readonly maxQueriesPerCall: number;
  fetch(request: MetricDataRequest): Promise<MetricDataResponse>;
}

export interface MetricsSourceClients {
  cloudwatch: CloudWatchClient;
}

const SOURCES: Record<string, (clients: MetricsSourceClients) => MetricsSource> = {
  cloudwatch: (clients) => new CloudWatchMetricsSource(clients.cloudwatch),
};

/** Creates the named metrics source; an unknown name is an error listing the known ones. */
export function createMetricsSource(kind: string, clients: MetricsSourceClients): MetricsSource {
  if (!Object.hasOwn(SOURCES, kind)) {
    throw new Error(
      `metrics source "${kind}" is not known; known sources: ${Object.keys(SOURCES).join(", ")}`,
    );
  }
  return SOURCES[kind]!(clients);
}
