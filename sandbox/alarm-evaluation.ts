/**
 * How a CloudWatch metric alarm judges its datapoints, without I/O: each of
 * the last N periods is breaching, not breaching or missing; M breaching
 * (DatapointsToAlarm) out of N (EvaluationPeriods) is ALARM, fewer is OK, and
 * TreatMissingData decides what missing datapoints count as. The reason is
 * written the way CloudWatch writes it.
 */

export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

/** The comparison operators of static-threshold alarms, with the words their reasons use. */
export const COMPARISONS: Readonly<
  Record<string, { test: (value: number, threshold: number) => boolean; words: string }>
> = {
  GreaterThanOrEqualToThreshold: { test: (v, t) => v >= t, words: "greater than or equal to" },
  GreaterThanThreshold: { test: (v, t) => v > t, words: "greater than" },
  LessThanThreshold: { test: (v, t) => v < t, words: "less than" },
  LessThanOrEqualToThreshold: { test: (v, t) => v <= t, words: "less than or equal to" },
};

/** One evaluation period: its start (epoch ms) and its value, absent when the period had no data. */
export interface AlarmDatapoint {
  timestamp: number;
  value?: number;
}

export interface AlarmJudgement {
  /** Newest first, exactly EvaluationPeriods of them. */
  points: AlarmDatapoint[];
  datapointsToAlarm: number;
  threshold: number;
  /** A key of COMPARISONS. */
  comparison: string;
  treatMissingData: "missing" | "ignore" | "breaching" | "notBreaching" | string;
  currentState: AlarmState;
}

/** The state the datapoints put the alarm in, with CloudWatch's reason; undefined keeps the current state. */
export function judgeAlarm(input: AlarmJudgement): { state: AlarmState; reason: string } | undefined {
  const comparison = COMPARISONS[input.comparison];
  if (!comparison) throw new Error(`unknown comparison operator ${input.comparison}`);
  const n = input.points.length;
  const m = input.datapointsToAlarm;
  const present = input.points
    .filter((point): point is Required<AlarmDatapoint> => point.value !== undefined)
    .map((point) => ({ ...point, breaching: comparison.test(point.value, input.threshold) }));
  let breaching: number;
  if (input.treatMissingData === "breaching" || input.treatMissingData === "notBreaching") {
    const missing = n - present.length;
    breaching =
      present.filter((point) => point.breaching).length +
      (input.treatMissingData === "breaching" ? missing : 0);
  } else {
    if (present.length === 0) {
      if (input.treatMissingData === "ignore") return undefined;
      return {
        state: "INSUFFICIENT_DATA",
        reason: `Insufficient Data: ${n} datapoint${n === 1 ? " was" : "s were"} unknown.`,
      };
    }
    breaching = present.filter((point) => point.breaching).length;
    // Fewer datapoints than M: CloudWatch fills the missing ones with the latest collected datapoint's result.
    if (present.length < m && present[0]?.breaching) breaching += m - present.length;
  }
  const state: AlarmState = breaching >= m ? "ALARM" : "OK";
  const listed = present
    .map((point) => `${javaDouble(point.value)} (${reasonDate(point.timestamp)})`)
    .join(", ");
  const counted = state === "ALARM" ? breaching : present.filter((point) => !point.breaching).length;
  const verb = counted === 1 ? "was" : "were";
  const words = state === "ALARM" ? comparison.words : `not ${comparison.words}`;
  const minimum = state === "ALARM" ? m : 1;
  return {
    state,
    reason:
      `Threshold Crossed: ${counted} out of the last ${n} datapoint${n === 1 ? "" : "s"} [${listed}] ${verb} ${words} ` +
      `the threshold (${javaDouble(input.threshold)}) ` +
      `(minimum ${minimum} datapoint${minimum === 1 ? "" : "s"} for ${input.currentState} -> ${state} transition).`,
  };
}

/** CloudWatch's timestamp in reason data and events: 2019-10-01T13:56:40.985+0000. */
export function cloudWatchDate(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "+0000");
}

/** The date in a state reason: dd/MM/yy HH:mm:ss (UTC). */
export function reasonDate(ms: number): string {
  const date = new Date(ms);
  const two = (value: number) => String(value).padStart(2, "0");
  return `${two(date.getUTCDate())}/${two(date.getUTCMonth() + 1)}/${two(date.getUTCFullYear() % 100)} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
}

/** A number as CloudWatch's reasons print it (Java's Double.toString for ordinary values): 50 → "50.0". */
export function javaDouble(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}
