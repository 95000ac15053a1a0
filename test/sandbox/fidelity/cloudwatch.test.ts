/**
 * CloudWatch GetMetricData as AWS answers it, through the real SDK client: retention by period, several units under one
 * metric, and the extended statistics beyond percentiles. Each case cites where AWS documents the behaviour.
 */
import {
  CloudWatchClient,
  GetMetricDataCommand,
  InvalidParameterValueException,
  type MetricDataQuery,
  PutMetricDataCommand,
  type StandardUnit,
} from "@aws-sdk/client-cloudwatch";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCloudWatchService } from "../../../sandbox/cloudwatch.js";
import { MetricStore } from "../../../sandbox/metric-store.js";
import { type MountedServices, mountServices } from "../../fixtures/sandbox/mount.js";

const NAMESPACE = "Fidelity/Orders";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let now = 0;
let services: MountedServices;
let cloudwatch: CloudWatchClient;

beforeEach(async () => {
  now = Math.floor(Date.now() / HOUR) * HOUR;
  services = await mountServices([createCloudWatchService(new MetricStore(), { now: () => now })]);
  cloudwatch = new CloudWatchClient({
    endpoint: services.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  cloudwatch.destroy();
  await services.close();
});

async function put(at: number, values: number[], unit?: StandardUnit, storageResolution = 1) {
  await cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: NAMESPACE,
      MetricData: [
        {
          MetricName: "Latency",
          Timestamp: new Date(at),
          Values: values,
          Unit: unit,
          StorageResolution: storageResolution,
        },
      ],
    }),
  );
}

async function get(stat: string, period: number, start: number, end: number, unit?: StandardUnit) {
  const query: MetricDataQuery = {
    Id: "q",
    MetricStat: {
      Metric: { Namespace: NAMESPACE, MetricName: "Latency" },
      Period: period,
      Stat: stat,
      Unit: unit,
    },
  };
  const output = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(start),
      EndTime: new Date(end),
      MetricDataQueries: [query],
      ScanBy: "TimestampAscending",
    }),
  );
  const result = output.MetricDataResults?.[0];
  return {
    timestamps: (result?.Timestamps ?? []).map((date) => date.getTime()),
    values: result?.Values ?? [],
    messages: result?.Messages ?? [],
  };
}

describe("GetMetricData: retention by period", () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html: data with a period
  // under 60 s is available for 3 hours, 60 s for 15 days, 300 s for 63 days, 3600 s for 455 days; past 3 hours a
  // query must use a multiple of 60 s or "no data points in that time range is returned".
  it("returns 1-second data at Period 1 for three hours, then only at whole minutes", async () => {
    const at = now - 10 * MINUTE;
    await put(at, [5]);
    await put(at + 1000, [7]);
    expect((await get("Sum", 1, at - MINUTE, at + MINUTE)).values).toEqual([5, 7]);
    now += 3 * HOUR;
    expect((await get("Sum", 1, at - MINUTE, at + MINUTE)).values).toEqual([]);
    expect((await get("Sum", 30, at - MINUTE, at + MINUTE)).values).toEqual([]);
    expect((await get("Sum", 60, at - MINUTE, at + MINUTE)).values).toEqual([12]);
  });

  it("returns 1-minute data for 15 days, then only at multiples of 5 minutes", async () => {
    const at = now - 13 * DAY;
    await put(at, [3], undefined, 60);
    expect((await get("Sum", 60, at - HOUR, at + HOUR)).values).toEqual([3]);
    now += 3 * DAY;
    expect((await get("Sum", 60, at - HOUR, at + HOUR)).values).toEqual([]);
    expect((await get("Sum", 300, at - HOUR, at + HOUR)).values).toEqual([3]);
    now += 60 * DAY;
    expect((await get("Sum", 300, at - HOUR, at + HOUR)).values).toEqual([]);
    expect((await get("Sum", 3600, at - HOUR, at + HOUR)).values).toEqual([3]);
  });
});

describe("GetMetricData: several units under one metric", () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricStat.html (Unit): CloudWatch does not
  // convert units, and data of each unit stays apart. Notices about a result travel as MessageData
  // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MessageData.html); the code MultipleUnits is
  // not in the public reference and its Value wording is undocumented, so only the code and the unit named are checked.
  it("answers one unit's statistic and a MultipleUnits message instead of summing across units", async () => {
    const at = now - 10 * MINUTE;
    await put(at, [100, 200, 300], "Milliseconds");
    await put(at, [1], "Seconds");
    const mixed = await get("Sum", 60, at - MINUTE, at + MINUTE);
    expect(mixed.values).toEqual([600]);
    expect(mixed.messages).toHaveLength(1);
    expect(mixed.messages[0]?.Code).toBe("MultipleUnits");
    expect(mixed.messages[0]?.Value).toContain("Milliseconds");
    const seconds = await get("Sum", 60, at - MINUTE, at + MINUTE, "Seconds");
    expect(seconds).toMatchObject({ values: [1], messages: [] });
  });
});

describe("GetMetricData: extended statistics", () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html: trimmed mean (tmNN,
  // TM(a%:b%), TM(a:b)), interquartile mean IQM, winsorized mean (wm), trimmed count (tc), trimmed sum (ts) and
  // percentile rank PR(n:m), with bounds exclusive below and inclusive above.
  const cases: Array<[string, number | undefined]> = [
    ["tm90", 45.5],
    ["TM(10%:90%)", 50.5],
    ["IQM", 50.5],
    ["TM(10:20)", 15.5],
    ["wm90", 49.95],
    ["WM(10%:90%)", 50.5],
    ["tc90", 90],
    ["TC(:50)", 50],
    ["ts90", 4095],
    ["TS(90:100)", 955],
    ["PR(:50)", 50],
    ["PR(10:20)", 10],
    ["TM(150:1000)", undefined],
  ];
  it.each(cases)("computes %s over the samples 1..100", async (stat, expected) => {
    const at = now - 10 * MINUTE;
    await put(
      at,
      Array.from({ length: 100 }, (_, index) => index + 1),
    );
    const result = await get(stat, 60, at - MINUTE, at + MINUTE);
    if (expected === undefined) expect(result.values).toEqual([]);
    else {
      expect(result.values).toHaveLength(1);
      expect(result.values[0]).toBeCloseTo(expected, 9);
    }
  });

  it("refuses a statistic CloudWatch does not define, naming what it accepts", async () => {
    const error = await get("tm", 60, now - HOUR, now).catch((caught: unknown) => caught as Error);
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect((error as Error).message).toContain("tmNN");
  });
});
