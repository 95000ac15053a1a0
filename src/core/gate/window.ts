/**
 * The gate window: which stretch of time is evidence. It starts where the
 * status says traffic had moved (INSYNC + TTL of the last shift), never
 * earlier unless a start is given explicitly, and is cut to whole periods so
 * no datapoint is half inside.
 */

/** Periods GetMetricData accepts below one minute (high-resolution metrics); above, any multiple of 60. */
export const HIGH_RESOLUTION_PERIODS = [1, 5, 10, 20, 30] as const;

export type GateMode = "bake" | "check";

/** How long CloudWatch answers periods under a minute: data older than this is only in whole minutes. */
const HIGH_RESOLUTION_RETENTION_MS = 3 * 3600 * 1000;

/** True when CloudWatch accepts `seconds` as a period. */
export function isValidPeriod(seconds: number): boolean {
  if (!Number.isInteger(seconds) || seconds <= 0) return false;
  return (HIGH_RESOLUTION_PERIODS as readonly number[]).includes(seconds) || seconds % 60 === 0;
}

/**
 * Where CloudWatch starts a datapoint of `period` seconds: it rounds the
 * request's start down to a whole multiple of a high-resolution period, and
 * to the whole minute for longer periods.
 */
function bucketAlignmentMs(period: number): number {
  return Math.min(period, 60) * 1000;
}

/**
 * The period for the whole-window statistics of a window of `seconds` that
 * starts at `startMs`: the smallest valid period that is a multiple of
 * `period`, covers the window and whose datapoint starts exactly at the
 * window start. One datapoint then holds the whole window, so a percentile
 * over it is CloudWatch's own and not an average of percentiles. When no
 * single datapoint can start there (CloudWatch would round the start down and
 * count traffic from before the window), the largest such period that both
 * starts there and divides the window, down to `period` itself.
 */
export function coveringPeriod(seconds: number, period: number, startMs?: number): number {
  const startsThere = (candidate: number) =>
    startMs === undefined || startMs % bucketAlignmentMs(candidate) === 0;
  const needed = Math.max(period, Math.ceil(seconds / period) * period);
  if (isValidPeriod(needed) && needed !== 20 && startsThere(needed)) return needed;
  // 20 s joined the accepted periods later than the others; older endpoints refuse it, so it is chosen only as the gate's own period.
  for (const candidate of [1, 5, 10, 30]) {
    if (candidate >= needed && candidate % period === 0 && startsThere(candidate)) return candidate;
  }
  // Every high-resolution period divides 60, so whole minutes fit when the window starts on a minute.
  const minutes = Math.ceil(needed / 60) * 60;
  if (startsThere(minutes)) return minutes;
  for (const candidate of [30, 10, 5]) {
    if (candidate > period && candidate % period === 0 && startsThere(candidate) && needed % candidate === 0)
      return candidate;
  }
  return period;
}

export interface GateWindow {
  start: Date;
  end: Date;
  /** Seconds per datapoint of the series. */
  periodSeconds: number;
  /** Period of the whole-window statistics. */
  aggregatePeriodSeconds: number;
  /** Where the window came from, for the evidence. */
  source: string;
  /** Set when the window ends in the future: evaluate once this time has passed. */
  waitUntil?: Date;
  /** True when the window starts where the gate does (so it covers the phase from its beginning). */
  fromGateStart: boolean;
}

export interface WindowRequest {
  mode: GateMode;
  now: Date;
  periodSeconds: number;
  /** `timestamps.gateWindowStartsAt` of the status, when a shift has been applied. */
  gateStartsAt?: Date;
  /** Explicit overrides (action inputs). */
  start?: Date;
  end?: Date;
  /** Length: the last `durationSeconds` (bake) or the first (check) after the gate start. */
  durationSeconds?: number;
}

/** Bad window inputs; names the input. */
export class WindowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WindowError";
  }
}

function alignUp(ms: number, periodMs: number): number {
  return Math.ceil(ms / periodMs) * periodMs;
}

function alignDown(ms: number, periodMs: number): number {
  return Math.floor(ms / periodMs) * periodMs;
}

/**
 * Works out the window. Bake mode judges from the gate start (or the last
 * `durationSeconds`) up to now; check mode judges the first
 * `durationSeconds` after the gate start, and says to wait when they have not
 * passed yet. The start is rounded up and the end down to whole periods, so
 * traffic before the gate start is never counted and the still-filling
 * period at the end is left out.
 */
export function resolveGateWindow(request: WindowRequest): GateWindow {
  const { mode, now } = request;
  if (!isValidPeriod(request.periodSeconds)) {
    throw new WindowError(
      `gate period ${request.periodSeconds}s is not a CloudWatch period (1, 5, 10, 20, 30 s or a multiple of 60 s)`,
    );
  }
  const gateStart = request.gateStartsAt;
  let start: number;
  let source: string;
  if (request.start) {
    start = request.start.getTime();
    source = "input window-start";
  } else if (gateStart) {
    start = gateStart.getTime();
    source = "status timestamps.gateWindowStartsAt";
  } else {
    throw new WindowError(
      'no gate window start: the status has no timestamps.gateWindowStartsAt (no shift has completed yet); give input "window-start"',
    );
  }
  let end: number;
  let waitUntil: number | undefined;
  if (request.end) {
    end = request.end.getTime();
    source += ", input window-end";
  } else if (mode === "check" && request.durationSeconds !== undefined) {
    end = start + request.durationSeconds * 1000;
    source += `, first ${request.durationSeconds}s (input window)`;
    if (end > now.getTime()) waitUntil = end;
  } else {
    end = now.getTime();
    if (mode === "bake" && request.durationSeconds !== undefined && !request.start) {
      start = Math.max(start, end - request.durationSeconds * 1000);
      source += `, last ${request.durationSeconds}s (input window)`;
    }
  }
  if (end <= start) {
    throw new WindowError(
      `the window ends (${new Date(end).toISOString()}) before it starts (${new Date(start).toISOString()}); check window-start, window-end and window`,
    );
  }
  // CloudWatch answers sub-minute periods only for data of the last 3 hours:
  // an older start is read in whole minutes, or it would read as no data.
  let periodSeconds = request.periodSeconds;
  if (periodSeconds < 60 && now.getTime() - start > HIGH_RESOLUTION_RETENTION_MS) {
    periodSeconds = 60;
    source += `, 60 s periods (the gate's ${request.periodSeconds} s data is kept for 3 hours only)`;
  }
  const periodMs = periodSeconds * 1000;
  const alignedStart = alignUp(start, periodMs);
  const alignedEnd = Math.max(alignedStart, alignDown(end, periodMs));
  const fromGateStart = gateStart !== undefined && alignedStart <= alignUp(gateStart.getTime(), periodMs);
  return {
    start: new Date(alignedStart),
    end: new Date(alignedEnd),
    periodSeconds,
    aggregatePeriodSeconds: coveringPeriod((alignedEnd - alignedStart) / 1000, periodSeconds, alignedStart),
    source,
    fromGateStart,
    ...(waitUntil !== undefined ? { waitUntil: new Date(alignUp(waitUntil, periodMs)) } : {}),
  };
}

/** Whole periods in the window. */
export function periodsInWindow(window: Pick<GateWindow, "start" | "end" | "periodSeconds">): number {
  return Math.max(
    0,
    Math.floor((window.end.getTime() - window.start.getTime()) / (window.periodSeconds * 1000)),
  );
}
