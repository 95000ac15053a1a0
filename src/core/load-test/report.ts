/**
 * Reads an Artillery JSON report (`artillery run --output`): the aggregate
 * counters and latency summaries, and the intermediate periods for a chart.
 * The verdict is read from these figures, never from Artillery's exit status
 * (a run where every request fails can still exit 0).
 */

export interface LatencySummary {
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  count: number;
}

export interface LoadTestPeriod {
  /** Start of the period, epoch milliseconds. */
  at: number;
  requests: number;
  failures: number;
  latency?: LatencySummary;
}

export interface LoadTestFigures {
  requests: number;
  responses: number;
  /** HTTP status code → responses. */
  codes: Record<string, number>;
  /** Error name (ECONNREFUSED, ETIMEDOUT, "Failed capture or match") → occurrences. */
  errors: Record<string, number>;
  /** Responses outside 2xx/3xx plus errors. */
  failures: number;
  /** failures / requests (1 when nothing could be sent). */
  errorRate: number;
  latency?: LatencySummary;
  vusers: { created: number; completed: number; failed: number };
  /** From the first to the last counter of the run, seconds. */
  measuredSeconds: number;
  periods: LoadTestPeriod[];
}

/** The report is not an Artillery report; names the file and the JSON path. */
export class ReportFormatError extends Error {
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "ReportFormatError";
  }
}

type Counters = Record<string, number>;

interface RawPeriod {
  counters?: Counters;
  summaries?: Record<string, Partial<LatencySummary> & { median?: number }>;
  firstCounterAt?: number;
  lastCounterAt?: number;
  period?: number | string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function prefixed(counters: Counters, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(counters)) {
    if (name.startsWith(prefix) && typeof value === "number") out[name.slice(prefix.length)] = value;
  }
  return out;
}

function failuresOf(counters: Counters): number {
  const codes = prefixed(counters, "http.codes.");
  const badResponses = Object.entries(codes)
    .filter(([code]) => !/^[23]\d\d$/.test(code))
    .reduce((total, [, n]) => total + n, 0);
  const errors = Object.values(prefixed(counters, "errors.")).reduce((total, n) => total + n, 0);
  return badResponses + errors;
}

function latencyOf(period: RawPeriod): LatencySummary | undefined {
  const raw = period.summaries?.["http.response_time"];
  if (!raw || typeof raw.count !== "number" || raw.count === 0) return undefined;
  const num = (value: number | undefined) => (typeof value === "number" ? value : Number.NaN);
  return {
    min: num(raw.min),
    max: num(raw.max),
    mean: num(raw.mean),
    p50: num(raw.p50 ?? raw.median),
    p95: num(raw.p95),
    p99: num(raw.p99),
    count: raw.count,
  };
}

/** Extracts the figures of a parsed report; `path` is for messages. */
export function readArtilleryReport(report: unknown, path: string): LoadTestFigures {
  if (!isObject(report) || !isObject(report.aggregate)) {
    throw new ReportFormatError(
      path,
      "$.aggregate is missing: not an Artillery JSON report (artillery run --output)",
    );
  }
  const aggregate = report.aggregate as RawPeriod;
  if (!isObject(aggregate.counters)) {
    throw new ReportFormatError(path, "$.aggregate.counters is missing or not an object");
  }
  const counters = aggregate.counters;
  const requests = counters["http.requests"] ?? 0;
  const failures = failuresOf(counters);
  const created = counters["vusers.created"] ?? 0;
  const attempts = Math.max(requests, created);
  const intermediate = Array.isArray(report.intermediate) ? (report.intermediate as RawPeriod[]) : [];
  const latency = latencyOf(aggregate);
  return {
    requests,
    responses: counters["http.responses"] ?? 0,
    codes: prefixed(counters, "http.codes."),
    errors: prefixed(counters, "errors."),
    failures,
    errorRate: attempts === 0 ? 1 : Math.min(1, failures / attempts),
    ...(latency ? { latency } : {}),
    vusers: { created, completed: counters["vusers.completed"] ?? 0, failed: counters["vusers.failed"] ?? 0 },
    measuredSeconds:
      typeof aggregate.firstCounterAt === "number" && typeof aggregate.lastCounterAt === "number"
        ? Math.max(0, (aggregate.lastCounterAt - aggregate.firstCounterAt) / 1000)
        : 0,
    periods: intermediate
      .filter((period) => isObject(period))
      .map((period) => {
        const periodCounters: Counters = isObject(period.counters) ? (period.counters as Counters) : {};
        const periodLatency = latencyOf(period);
        return {
          at: Number(period.period ?? period.firstCounterAt ?? 0),
          requests: periodCounters["http.requests"] ?? 0,
          failures: failuresOf(periodCounters),
          ...(periodLatency ? { latency: periodLatency } : {}),
        };
      })
      .sort((a, b) => a.at - b.at),
  };
}
