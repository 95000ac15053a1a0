import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudWatchService } from "../../sandbox/cloudwatch.js";
import {
  ExpressionError,
  evaluateExpression,
  type Grid,
  parseExpression,
  referencedIds,
  type TimeSeries,
} from "../../sandbox/metric-math.js";
import { MetricStore } from "../../sandbox/metric-store.js";
import { type MountedServices, mountServices } from "../fixtures/sandbox/mount.js";

const GRID: Grid = { origin: 0, periodMs: 60_000, count: 6 };
const series = (values: number[]): TimeSeries => ({ grid: GRID, values: Float64Array.from(values) });
const N = Number.NaN;

function run(expression: string, inputs: Record<string, number[]>): number[] {
  const node = parseExpression(expression);
  const result = evaluateExpression(node, (id) => {
    const values = inputs[id];
    if (!values) throw new Error(`no input ${id}`);
    return series(values);
  });
  return [...result.values];
}

describe("metric math expressions", () => {
  it("respects precedence and parentheses", () => {
    expect(run("a + b * 2", { a: [1, 1, 1, 1, 1, 1], b: [1, 2, 3, 4, 5, 6] })).toEqual([3, 5, 7, 9, 11, 13]);
    expect(run("(a + b) * 2", { a: [1, 1, 1, 1, 1, 1], b: [1, 2, 3, 4, 5, 6] })).toEqual([
      4, 6, 8, 10, 12, 14,
    ]);
    expect(run("-a ^ 2 + 100 / 4", { a: [1, 2, 3, 4, 5, 6] })).toEqual([24, 21, 16, 9, 0, -11]);
  });

  it("yields a datapoint only where both series have one, and drops division by zero", () => {
    expect(
      run("errors / requests", { errors: [1, N, 3, 0, 5, N], requests: [10, 10, N, 0, 50, 10] }),
    ).toEqual([0.1, N, N, N, 0.1, N]);
  });

  it("computes an error rate with FILL and IF as gates write it", () => {
    const rate = run("IF(requests > 0, FILL(errors, 0) / requests)", {
      errors: [N, 2, N, N, 1, N],
      requests: [100, 100, 0, N, 50, 20],
    });
    expect(rate).toEqual([0, 0.02, N, N, 0.02, 0]);
  });

  it("picks the third IF argument where the condition is false", () => {
    expect(run("IF(a >= 3 AND a != 5, a, 0 - 1)", { a: [1, 2, 3, 4, 5, 6] })).toEqual([-1, -1, 3, 4, -1, 6]);
    expect(run("IF(a < 2 || a == 6, 1, 0)", { a: [1, 2, 3, 4, 5, 6] })).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it("fills with a value, REPEAT and LINEAR", () => {
    const gaps = { a: [N, 2, N, N, 8, N] };
    expect(run("FILL(a, 0)", gaps)).toEqual([0, 2, 0, 0, 8, 0]);
    expect(run("FILL(a, REPEAT)", gaps)).toEqual([N, 2, 2, 2, 8, 8]);
    expect(run("FILL(a, LINEAR)", gaps)).toEqual([N, 2, 4, 6, 8, N]);
  });

  it("sums an array bucket by bucket and reduces one series to a number", () => {
    expect(run("SUM([a, b])", { a: [1, N, 3, N, 5, 6], b: [1, 2, N, N, 5, 6] })).toEqual([
      2,
      2,
      3,
      N,
      10,
      12,
    ]);
    expect(run("a / MAX(a)", { a: [1, 2, 4, N, 2, 1] })).toEqual([0.25, 0.5, 1, N, 0.5, 0.25]);
  });

  it("lists the ids an expression reads", () => {
    expect(referencedIds(parseExpression("IF(r > 0, FILL(e, 0) / r * 100)"))).toEqual(["r", "e"]);
  });

  it("explains syntax errors with the position", () => {
    expect(() => parseExpression("a + ")).toThrow(/ends where a value is expected/);
    expect(() => parseExpression("a $ b")).toThrow(/unexpected character '\$' at position 2/);
    expect(() => parseExpression("RATE(a)")).toThrow(/unsupported function RATE.*IF, FILL/);
    expect(() => parseExpression("Requests / 2")).toThrow(/not a query id/);
    expect(() => parseExpression("(a + b")).toThrow(ExpressionError);
  });

  it("refuses to combine series of different periods and expressions that end as a number", () => {
    const node = parseExpression("a + b");
    const other: TimeSeries = {
      grid: { origin: 0, periodMs: 300_000, count: 2 },
      values: Float64Array.from([1, 2]),
    };
    expect(() => evaluateExpression(node, (id) => (id === "a" ? series([1, 2, 3, 4, 5, 6]) : other))).toThrow(
      /different periods \(60 s and 300 s\)/,
    );
    expect(() => evaluateExpression(parseExpression("2 * 3"), () => series([]))).toThrow(/one time series/);
  });
});

describe("metric math through GetMetricData", () => {
  const MINUTE = 60_000;
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 20 * MINUTE;
  let services: MountedServices;
  let cloudwatch: CloudWatchClient;

  beforeAll(async () => {
    services = await mountServices([createCloudWatchService(new MetricStore())]);
    cloudwatch = new CloudWatchClient({
      endpoint: services.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
      maxAttempts: 1,
    });
    const requests = [100, 200, 50, 0];
    const errors: Record<number, number> = { 1: 4, 2: 1 };
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: "Test/Api",
        MetricData: [
          ...requests.map((value, minute) => ({
            MetricName: "Requests",
            Value: value,
            Timestamp: new Date(start + minute * MINUTE),
          })),
          ...Object.entries(errors).map(([minute, value]) => ({
            MetricName: "Errors",
            Value: value,
            Timestamp: new Date(start + Number(minute) * MINUTE),
          })),
        ],
      }),
    );
  });

  afterAll(async () => {
    cloudwatch.destroy();
    await services.close();
  });

  const stat = (id: string, metricName: string) => ({
    Id: id,
    MetricStat: { Metric: { Namespace: "Test/Api", MetricName: metricName }, Period: 60, Stat: "Sum" },
    ReturnData: false,
  });

  it("returns the error rate per minute, with missing error datapoints counted as zero", async () => {
    const output = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(start),
        EndTime: new Date(start + 5 * MINUTE),
        ScanBy: "TimestampAscending",
        MetricDataQueries: [
          stat("requests", "Requests"),
          stat("errors", "Errors"),
          {
            Id: "error_rate",
            Expression: "IF(requests > 0, 100 * FILL(errors, 0) / requests)",
            Label: "error %",
          },
          { Id: "naive", Expression: "errors / requests" },
        ],
      }),
    );
    const [rate, naive] = output.MetricDataResults ?? [];
    expect(output.MetricDataResults).toHaveLength(2);
    expect(rate?.Label).toBe("error %");
    expect(rate?.Timestamps?.map((date) => date.getTime())).toEqual([
      start,
      start + MINUTE,
      start + 2 * MINUTE,
    ]);
    expect(rate?.Values).toEqual([0, 2, 2]);
    // Without FILL the minute with no Errors datapoint has no rate at all.
    expect(naive?.Values).toEqual([0.02, 0.02]);
    expect(rate?.StatusCode).toBe("Complete");
  });

  it("refuses expressions that refer to each other in a cycle", async () => {
    const error = await cloudwatch
      .send(
        new GetMetricDataCommand({
          StartTime: new Date(start),
          EndTime: new Date(start + 5 * MINUTE),
          MetricDataQueries: [
            { Id: "x", Expression: "y + 1" },
            { Id: "y", Expression: "x + 1" },
          ],
        }),
      )
      .catch((caught: unknown) => caught);
    expect((error as Error).name).toBe("ValidationException");
    expect((error as Error).message).toMatch(/cycle/);
  });
});
