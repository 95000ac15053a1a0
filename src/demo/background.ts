/**
 * Steady background traffic through a migration's public endpoint (the
 * sandbox data plane), and what the client saw of it: the split between the
 * two sides over any stretch of time, and every failed request, classified
 * as expected (an error the demo injected on purpose) or not (a request that
 * failed because of a shift, a rollback or a side with no capacity).
 */
import { startTraffic, type Traffic, type TrafficReport } from "../../sandbox/traffic.js";

/** Requests answered by each side over a stretch of time. */
export interface ObservedSplit {
  old: number;
  new: number;
  other: number;
  total: number;
  /** Percent of answers from the new side (NaN with no answers). */
  newPercent: number;
}

/** A stretch of time during which a side was made to fail on purpose. */
export interface InjectedFault {
  fromMs: number;
  toMs?: number;
  /** HTTP status the injected failures come back with (the sandbox's Lambda function error is 502). */
  status: number;
}

/** Failures of the background traffic, by cause. */
export interface FailureAccount {
  requests: number;
  /** Requests without an HTTP answer (connection refused, reset, timeout). */
  transportFailures: number;
  /** Non-2xx answers by status, outside the injected faults. */
  unexpectedByStatus: Record<string, number>;
  /** Answers with the injected status while a fault was injected. */
  injected: number;
  /** transportFailures plus every unexpected non-2xx answer. */
  unexplained: number;
}

export interface BackgroundTrafficOptions {
  url: string;
  rps: number;
  /** Upper bound of the run; the demo stops it earlier. */
  maxDurationMs: number;
  oldSet: string;
  newSet: string;
}

/** Background traffic of one migration. */
export class BackgroundTraffic {
  private readonly traffic: Traffic;
  private final?: TrafficReport;
  private readonly faults: InjectedFault[] = [];

  constructor(private readonly options: BackgroundTrafficOptions) {
    this.traffic = startTraffic({
      url: options.url,
      rps: options.rps,
      durationMs: options.maxDurationMs,
      path: (sequence) =>
        sequence % 10 === 9 ? "/health" : sequence % 3 === 0 ? `/orders/ord-${sequence % 100}` : "/orders",
      timeoutMs: 5_000,
    });
  }

  get rps(): number {
    return this.options.rps;
  }

  report(): TrafficReport {
    return this.final ?? this.traffic.snapshot();
  }

  /** Notes that failures with `status` are expected from now on (until {@link endFault}). */
  beginFault(status: number, at = Date.now()): void {
    this.faults.push({ fromMs: at, status });
  }

  endFault(at = Date.now()): void {
    const open = this.faults.find((fault) => fault.toMs === undefined);
    if (open) open.toMs = at;
  }

  /** Answers per side for requests sent from `fromMs` to `toMs` (whole seconds of the timeline). */
  split(fromMs: number, toMs = Date.now()): ObservedSplit {
    const report = this.report();
    const first = Math.max(0, Math.floor((fromMs - report.startedAt) / 1000));
    const last = Math.floor((toMs - report.startedAt) / 1000);
    const split = { old: 0, new: 0, other: 0, total: 0, newPercent: Number.NaN };
    for (const second of report.timeline) {
      if (second.second < first || second.second > last) continue;
      for (const [backend, count] of Object.entries(second.byBackend)) {
        if (backend === this.options.oldSet) split.old += count;
        else if (backend === this.options.newSet) split.new += count;
        else split.other += count;
      }
    }
    split.total = split.old + split.new + split.other;
    split.newPercent = split.total === 0 ? Number.NaN : (100 * split.new) / split.total;
    return split;
  }

  /** Answers per side over the last `seconds` complete seconds. */
  recentSplit(seconds: number): ObservedSplit {
    const now = Date.now();
    const lastComplete = now - 1000;
    return this.split(lastComplete - seconds * 1000 + 1, lastComplete);
  }

  /**
   * Classifies every failure so far. A non-2xx answer is expected only when it
   * has an injected fault's status and was sent while that fault was on (with
   * a second's margin for requests in flight across the boundary).
   */
  failures(): FailureAccount {
    const report = this.report();
    const account: FailureAccount = {
      requests: report.sent,
      transportFailures: report.failures,
      unexpectedByStatus: {},
      injected: 0,
      unexplained: report.failures,
    };
    for (const second of report.timeline) {
      const sentFrom = report.startedAt + second.second * 1000;
      for (const [status, count] of Object.entries(second.byStatus)) {
        const code = Number(status);
        if (code >= 200 && code < 300) continue;
        const expected = this.faults.some(
          (fault) =>
            fault.status === code &&
            sentFrom + 1000 >= fault.fromMs - 1000 &&
            sentFrom <= (fault.toMs ?? Number.POSITIVE_INFINITY) + 1000,
        );
        if (expected) {
          account.injected += count;
        } else {
          account.unexpectedByStatus[status] = (account.unexpectedByStatus[status] ?? 0) + count;
          account.unexplained += count;
        }
      }
    }
    return account;
  }

  async stop(): Promise<TrafficReport> {
    this.final = await this.traffic.stop();
    return this.final;
  }
}

/** "new 11 % (target 10 %)". */
export function describeSplit(split: ObservedSplit, targetNewPercent?: number): string {
  const observed = Number.isNaN(split.newPercent) ? "no answers yet" : `new ${split.newPercent.toFixed(0)} %`;
  return targetNewPercent === undefined ? observed : `${observed} (target ${targetNewPercent} %)`;
}
