/**
 * A bounded HTTP load generator for the data plane: open loop at a target
 * rate (or closed loop at a fixed concurrency), stopping at a duration or a
 * request count, and reporting what the client observed: answers per backend
 * (from the `x-cutover-backend` header), per status, failures, latency
 * percentiles and a per-second timeline.
 */
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { nearestRankPercentile } from "./metric-store.js";

/** Options of a load run; at least one of `durationMs` and `maxRequests` bounds it. */
export interface TrafficOptions {
  /** Base URL of a data-plane listener (loopback only). */
  url: string;
  /** Requests per second, open loop. Required unless `concurrency` is given. */
  rps?: number;
  /** Closed loop instead: this many requests always in flight (each sent as the previous answers). */
  concurrency?: number;
  durationMs?: number;
  maxRequests?: number;
  /** Path of each request, "/orders" by default; a function varies it per request. */
  path?: string | ((sequence: number) => string);
  method?: "GET" | "POST";
  /** A request unanswered after this long counts as a failure; 10 s by default. */
  timeoutMs?: number;
  /** Open loop only: requests due while this many are in flight are skipped and counted. 1000 by default. */
  maxInFlight?: number;
}

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** One second of the run. */
export interface TrafficSecond {
  /** Seconds since the start. */
  second: number;
  sent: number;
  byBackend: Record<string, number>;
  byStatus: Record<string, number>;
  failures: number;
}

/** What the client observed. */
export interface TrafficReport {
  url: string;
  /** Epoch ms. */
  startedAt: number;
  endedAt: number;
  elapsedMs: number;
  /** Requests started. */
  sent: number;
  /** Requests answered with an HTTP status (any status). */
  completed: number;
  /** Requests without an HTTP answer (connection error, timeout). */
  failures: number;
  failureReasons: Record<string, number>;
  /** Open loop: requests not sent because `maxInFlight` were outstanding (the client was the bottleneck). */
  skipped: number;
  /** Answers with a 5xx status. */
  serverErrors: number;
  achievedRps: number;
  /** Answers per x-cutover-backend value ("none" without the header). */
  byBackend: Record<string, number>;
  /** Answers per "backend@version" for backends that set x-cutover-version. */
  byVersion: Record<string, number>;
  byStatus: Record<string, number>;
  /** Client-observed latency of answered requests. */
  latencyMs: LatencySummary;
  /** Per backend, the server-side latency the data plane reported (x-cutover-latency-ms), as it published it. */
  serverLatencyMs: Record<string, LatencySummary>;
  /** Per backend, the latency the client observed for the requests that backend answered. */
  clientLatencyMs: Record<string, LatencySummary>;
  timeline: TrafficSecond[];
}

/** A running load. */
export interface Traffic {
  /** The report so far. */
  snapshot(): TrafficReport;
  /** Stops sending, waits for requests in flight, and returns the final report. */
  stop(): Promise<TrafficReport>;
  /** Resolves with the final report when the run reaches its bound. */
  readonly done: Promise<TrafficReport>;
}

/** Hard ceilings, whatever the options say. */
const MAX_DURATION_MS = 10 * 60_000;
const MAX_REQUESTS = 2_000_000;
const TICK_MS = 5;

class GrowableSamples {
  values = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.length).sort();
    let total = 0;
    for (const value of sorted) total += value;
    return {
      count: sorted.length,
      mean: sorted.length === 0 ? Number.NaN : total / sorted.length,
      p50: nearestRankPercentile(sorted, 50),
      p90: nearestRankPercentile(sorted, 90),
      p95: nearestRankPercentile(sorted, 95),
      p99: nearestRankPercentile(sorted, 99),
      max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    };
  }
}

function validate(options: TrafficOptions): void {
  const url = new URL(options.url);
  if (url.protocol !== "http:" || !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
    throw new Error(`startTraffic: url must be an http:// loopback address, got ${options.url}`);
  }
  if (options.durationMs === undefined && options.maxRequests === undefined) {
    throw new Error("startTraffic: give durationMs or maxRequests (or both) so the load is bounded");
  }
  if (options.concurrency === undefined) {
    if (options.rps === undefined || !(options.rps > 0) || !Number.isFinite(options.rps)) {
      throw new Error(`startTraffic: rps must be a positive number, got ${options.rps}`);
    }
  } else if (
    !Number.isInteger(options.concurrency) ||
    options.concurrency < 1 ||
    options.concurrency > 1000
  ) {
    throw new Error(
      `startTraffic: concurrency must be an integer from 1 to 1000, got ${options.concurrency}`,
    );
  }
  if (
    options.durationMs !== undefined &&
    !(options.durationMs > 0 && options.durationMs <= MAX_DURATION_MS)
  ) {
    throw new Error(`startTraffic: durationMs must be in (0, ${MAX_DURATION_MS}], got ${options.durationMs}`);
  }
  if (
    options.maxRequests !== undefined &&
    !(Number.isInteger(options.maxRequests) && options.maxRequests > 0)
  ) {
    throw new Error(`startTraffic: maxRequests must be a positive integer, got ${options.maxRequests}`);
  }
}

function summaries(byKey: Map<string, GrowableSamples>): Record<string, LatencySummary> {
  return Object.fromEntries([...byKey].map(([key, samples]) => [key, samples.summary()]));
}

/** The samples kept under `key`, created on first use. */
function samplesOf(byKey: Map<string, GrowableSamples>, key: string): GrowableSamples {
  let samples = byKey.get(key);
  if (!samples) {
    samples = new GrowableSamples();
    byKey.set(key, samples);
  }
  return samples;
}

/** Starts sending load to `url`; bounded by duration and/or request count (and hard ceilings). */
export function startTraffic(options: TrafficOptions): Traffic {
  validate(options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const durationMs = Math.min(options.durationMs ?? MAX_DURATION_MS, MAX_DURATION_MS);
  const maxRequests = Math.min(options.maxRequests ?? MAX_REQUESTS, MAX_REQUESTS);
  const maxInFlight = options.maxInFlight ?? 1000;
  const base = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? maxInFlight });
  const pathOf =
    typeof options.path === "function"
      ? options.path
      : (_sequence: number) => (options.path as string) ?? "/orders";

  const startedAt = Date.now();
  const startedClock = performance.now();
  let endedAt: number | undefined;
  let sent = 0;
  let completed = 0;
  let failures = 0;
  let skipped = 0;
  let serverErrors = 0;
  let inFlight = 0;
  let stopping = false;
  const byBackend: Record<string, number> = {};
  const byVersion: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const failureReasons: Record<string, number> = {};
  const latency = new GrowableSamples();
  const serverLatency = new Map<string, GrowableSamples>();
  const clientLatency = new Map<string, GrowableSamples>();
  const timeline: TrafficSecond[] = [];
  let resolveDone: (report: TrafficReport) => void = () => {};
  const done = new Promise<TrafficReport>((resolve) => {
    resolveDone = resolve;
  });

  const secondOf = (clock: number): TrafficSecond => {
    const second = Math.floor((clock - startedClock) / 1000);
    while (timeline.length <= second) {
      timeline.push({ second: timeline.length, sent: 0, byBackend: {}, byStatus: {}, failures: 0 });
    }
    return timeline[second]!;
  };

  const snapshot = (): TrafficReport => {
    const now = endedAt ?? Date.now();
    const elapsedMs = now - startedAt;
    return {
      url: options.url,
      startedAt,
      endedAt: now,
      elapsedMs,
      sent,
      completed,
      failures,
      failureReasons: { ...failureReasons },
      skipped,
      serverErrors,
      achievedRps: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
      byBackend: { ...byBackend },
      byVersion: { ...byVersion },
      byStatus: { ...byStatus },
      latencyMs: latency.summary(),
      serverLatencyMs: summaries(serverLatency),
      clientLatencyMs: summaries(clientLatency),
      timeline: timeline.map((second) => ({
        ...second,
        byBackend: { ...second.byBackend },
        byStatus: { ...second.byStatus },
      })),
    };
  };

  const finishIfIdle = () => {
    if (stopping && inFlight === 0 && endedAt === undefined) {
      endedAt = Date.now();
      agent.destroy();
      resolveDone(snapshot());
    }
  };

  const exhausted = () => sent >= maxRequests || performance.now() - startedClock >= durationMs;

  const send = (onSettled?: () => void) => {
    const sequence = sent++;
    inFlight++;
    const sentAt = performance.now();
    secondOf(sentAt).sent++;
    let settled = false;
    const settle = (record: () => void) => {
      if (settled) return;
      settled = true;
      inFlight--;
      record();
      onSettled?.();
      finishIfIdle();
    };
    const req = request(
      {
        host: base.hostname.replace(/^\[|\]$/g, ""),
        port: base.port,
        path: pathOf(sequence),
        method: options.method ?? "GET",
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          settle(() => {
            const answeredAt = performance.now();
            const backend = headerOf(res.headers["x-cutover-backend"]) ?? "none";
            const version = headerOf(res.headers["x-cutover-version"]);
            const status = String(res.statusCode ?? 0);
            completed++;
            if ((res.statusCode ?? 0) >= 500) serverErrors++;
            byBackend[backend] = (byBackend[backend] ?? 0) + 1;
            if (version !== undefined)
              byVersion[`${backend}@${version}`] = (byVersion[`${backend}@${version}`] ?? 0) + 1;
            byStatus[status] = (byStatus[status] ?? 0) + 1;
            const bucket = secondOf(sentAt);
            bucket.byBackend[backend] = (bucket.byBackend[backend] ?? 0) + 1;
            bucket.byStatus[status] = (bucket.byStatus[status] ?? 0) + 1;
            latency.push(answeredAt - sentAt);
            samplesOf(clientLatency, backend).push(answeredAt - sentAt);
            const reported = Number(headerOf(res.headers["x-cutover-latency-ms"]));
            if (Number.isFinite(reported)) samplesOf(serverLatency, backend).push(reported);
          }),
        );
        res.on("error", (error) => settle(() => recordFailure(error.message)));
      },
    );
    const recordFailure = (reason: string) => {
      failures++;
      failureReasons[reason] = (failureReasons[reason] ?? 0) + 1;
      secondOf(sentAt).failures++;
    };
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error) => settle(() => recordFailure(error.message)));
    req.end();
  };

  let timer: NodeJS.Timeout | undefined;
  if (options.concurrency !== undefined) {
    const next = () => {
      if (stopping) return;
      if (exhausted()) {
        stopping = true;
        finishIfIdle();
        return;
      }
      send(next);
    };
    for (let worker = 0; worker < options.concurrency; worker++) next();
  } else {
    const rps = options.rps!;
    // Open loop: each tick sends whatever the schedule says is due, so a slow server does not slow the offered load.
    const planned = Math.min(maxRequests, Math.max(1, Math.round((durationMs * rps) / 1000)));
    timer = setInterval(() => {
      const elapsed = performance.now() - startedClock;
      const due = Math.min(planned, Math.ceil((elapsed * rps) / 1000));
      while (sent + skipped < due) {
        if (inFlight >= maxInFlight) {
          skipped++;
          continue;
        }
        send();
      }
      if (sent + skipped >= planned || elapsed >= durationMs) {
        clearInterval(timer);
        stopping = true;
        finishIfIdle();
      }
    }, TICK_MS);
  }

  return {
    snapshot,
    done,
    stop() {
      if (timer) clearInterval(timer);
      stopping = true;
      finishIfIdle();
      return done;
    },
  };
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
