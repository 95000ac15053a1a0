import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  InvalidNextToken,
  InvalidParameterCombinationException,
  InvalidParameterValueException,
  ListDashboardsCommand,
  type MetricDataQuery,
  type MetricDataResult,
  MissingRequiredParameterException,
  PutMetricDataCommand,
  paginateGetMetricData,
  ValidationException,
} from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudWatchService } from "../../sandbox/cloudwatch.js";
import { MetricStore } from "../../sandbox/metric-store.js";
import { type MountedServices, mountServices } from "../fixtures/sandbox/mount.js";

const NAMESPACE = "Test/Orders";
const MINUTE = 60_000;
/** A whole minute a little in the past, so every datum is inside PutMetricData's two-week window. */
const BASE = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;

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
});

afterAll(async () => {
  cloudwatch.destroy();
  await services.close();
});

function statQuery(
  id: string,
  metricName: string,
  stat: string,
  period: number,
  extra: Partial<MetricDataQuery> = {},
) {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: "Service", Value: "orders" }],
      },
      Period: period,
      Stat: stat,
    },
    ...extra,
  } satisfies MetricDataQuery;
}

async function put(
  metricName: string,
  data: Array<{ at: number; value?: number; values?: number[]; counts?: number[] }>,
) {
  await cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: NAMESPACE,
      MetricData: data.map((datum) => ({
        MetricName: metricName,
        Dimensions: [{ Name: "Service", Value: "orders" }],
        Timestamp: new Date(datum.at),
        Value: datum.value,
        Values: datum.values,
        Counts: datum.counts,
        StorageResolution: 1,
      })),
    }),
  );
}

async function getOne(query: MetricDataQuery, start: number, end: number, scanBy?: "TimestampAscending") {
  const output = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(start),
      EndTime: new Date(end),
      MetricDataQueries: [query],
      ScanBy: scanBy,
    }),
  );
  const result = output.MetricDataResults?.[0];
  return {
    timestamps: (result?.Timestamps ?? []).map((date) => date.getTime()),
    values: result?.Values ?? [],
    status: result?.StatusCode,
    label: result?.Label,
  };
}

describe("CloudWatch statistics over raw samples", () => {
  beforeAll(async () => {
    // 1..100 in a scrambled order, one value per datum, all inside one minute.
    const order = Array.from({ length: 100 }, (_, index) => ((index * 37) % 100) + 1);
    await put(
      "Latency",
      order.map((value, index) => ({ at: BASE + 1000 + (index % 50) * 1000, value })),
    );
    await put("Weighted", [{ at: BASE + 5000, values: [10, 20], counts: [9, 1] }]);
  });

  it("computes percentiles exactly (nearest rank) from the samples", async () => {
    const expectations: Record<string, number> = {
      p50: 50,
      p95: 95,
      p99: 99,
      "p99.5": 100,
      "p0.1": 1,
      p100: 100,
    };
    for (const [stat, expected] of Object.entries(expectations)) {
      const result = await getOne(statQuery("q", "Latency", stat, 60), BASE, BASE + MINUTE);
      expect({ stat, values: result.values, timestamps: result.timestamps }).toEqual({
        stat,
        values: [expected],
        timestamps: [BASE],
      });
    }
  });

  it("computes Sum, Average, SampleCount, Minimum and Maximum", async () => {
    const expectations: Record<string, number> = {
      Sum: 5050,
      Average: 50.5,
      SampleCount: 100,
      Minimum: 1,
      Maximum: 100,
    };
    for (const [stat, expected] of Object.entries(expectations)) {
      const result = await getOne(statQuery("q", "Latency", stat, 60), BASE, BASE + MINUTE);
      expect({ stat, values: result.values }).toEqual({ stat, values: [expected] });
    }
  });

  it("weighs Values by their Counts", async () => {
    const read = async (stat: string) =>
      (await getOne(statQuery("w", "Weighted", stat, 60), BASE, BASE + MINUTE)).values[0];
    expect(await read("SampleCount")).toBe(10);
    expect(await read("Sum")).toBe(110);
    expect(await read("p90")).toBe(10);
    expect(await read("p95")).toBe(20);
  });

  it("keeps statistic sets out of percentiles but in the other statistics", async () => {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: NAMESPACE,
        MetricData: [
          {
            MetricName: "Aggregated",
            Dimensions: [{ Name: "Service", Value: "orders" }],
            Timestamp: new Date(BASE + 2000),
            StatisticValues: { SampleCount: 4, Sum: 40, Minimum: 5, Maximum: 15 },
          },
        ],
      }),
    );
    const window = [BASE, BASE + MINUTE] as const;
    expect((await getOne(statQuery("s", "Aggregated", "Average", 60), ...window)).values).toEqual([10]);
    expect((await getOne(statQuery("s", "Aggregated", "Maximum", 60), ...window)).values).toEqual([15]);
    expect((await getOne(statQuery("s", "Aggregated", "p50", 60), ...window)).values).toEqual([]);
  });

  it("uses the metric name as the default label and the query's Label when given", async () => {
    expect((await getOne(statQuery("q", "Latency", "Sum", 60), BASE, BASE + MINUTE)).label).toBe("Latency");
    const labelled = await getOne(
      statQuery("q", "Latency", "Sum", 60, { Label: "all" }),
      BASE,
      BASE + MINUTE,
    );
    expect(labelled.label).toBe("all");
  });

  it("matches dimension sets exactly: a subset of the dimensions is another metric", async () => {
    const query: MetricDataQuery = {
      Id: "nodims",
      MetricStat: { Metric: { Namespace: NAMESPACE, MetricName: "Latency" }, Period: 60, Stat: "Sum" },
    };
    expect((await getOne(query, BASE, BASE + MINUTE)).values).toEqual([]);
  });
});

describe("CloudWatch periods", () => {
  const start = BASE + 10 * MINUTE;
  beforeAll(async () => {
    // One datapoint per second for a minute: value = second index (0..59).
    await put(
      "PerSecond",
      Array.from({ length: 60 }, (_, second) => ({ at: start + second * 1000 + 300, value: second })),
    );
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: NAMESPACE,
        MetricData: [
          {
            MetricName: "StandardResolution",
            Dimensions: [{ Name: "Service", Value: "orders" }],
            Timestamp: new Date(start + 42_000),
            Value: 7,
          },
        ],
      }),
    );
  });

  it.each([
    [1, 60],
    [5, 12],
    [10, 6],
    [20, 3],
    [30, 2],
  ])("buckets high-resolution data by %i s periods", async (period, buckets) => {
    const result = await getOne(
      statQuery("h", "PerSecond", "Sum", period),
      start,
      start + MINUTE,
      "TimestampAscending",
    );
    expect(result.timestamps).toHaveLength(buckets);
    expect(result.timestamps[1]! - result.timestamps[0]!).toBe(period * 1000);
    const firstBucketSum = (period * (period - 1)) / 2;
    expect(result.values[0]).toBe(firstBucketSum);
    expect(result.values.reduce((a, b) => a + b, 0)).toBe((59 * 60) / 2);
  });

  it("stores standard-resolution data in its minute, even when read with a 1 s period", async () => {
    const result = await getOne(statQuery("s", "StandardResolution", "Sum", 1), start, start + MINUTE);
    expect(result.timestamps).toEqual([start]);
  });

  it("returns newest first by default and oldest first with TimestampAscending", async () => {
    const descending = await getOne(statQuery("h", "PerSecond", "Sum", 10), start, start + MINUTE);
    const ascending = await getOne(
      statQuery("h", "PerSecond", "Sum", 10),
      start,
      start + MINUTE,
      "TimestampAscending",
    );
    expect(descending.timestamps).toEqual([...ascending.timestamps].reverse());
    expect(descending.timestamps[0]).toBe(start + 50_000);
  });

  it("refuses periods that are not 1, 5, 10, 20, 30 or a multiple of 60", async () => {
    const error = await cloudwatch
      .send(
        new GetMetricDataCommand({
          StartTime: new Date(start),
          EndTime: new Date(start + MINUTE),
          MetricDataQueries: [statQuery("h", "PerSecond", "Sum", 45)],
        }),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect((error as Error).message).toMatch(
      /MetricDataQueries\[0\]\.MetricStat\.Period.*1, 5, 10, 20, 30 or a multiple of 60/,
    );
  });
});

describe("GetMetricData paging", () => {
  const start = BASE + 20 * MINUTE;
  const queries = ["a", "b", "c"].map((id, index) => statQuery(id, `Paged${index}`, "Sum", 1));

  beforeAll(async () => {
    for (const [index, length] of [40, 25, 10].entries()) {
      await put(
        `Paged${index}`,
        Array.from({ length }, (_, second) => ({ at: start + second * 1000, value: index * 1000 + second })),
      );
    }
  });

  const input = (): GetMetricDataCommandInput => ({
    StartTime: new Date(start),
    EndTime: new Date(start + MINUTE),
    MetricDataQueries: queries,
    ScanBy: "TimestampAscending",
  });

  function merge(pages: MetricDataResult[][]): Record<string, number[]> {
    const merged: Record<string, number[]> = {};
    for (const page of pages) {
      for (const result of page)
        merged[result.Id!] = [...(merged[result.Id!] ?? []), ...(result.Values ?? [])];
    }
    return merged;
  }

  it("splits 75 datapoints over pages of MaxDatapoints and continues with NextToken", async () => {
    const first = await cloudwatch.send(new GetMetricDataCommand({ ...input(), MaxDatapoints: 30 }));
    expect(first.NextToken).toBeDefined();
    expect(
      first.MetricDataResults?.map((result) => [result.Id, result.Values?.length, result.StatusCode]),
    ).toEqual([
      ["a", 30, "PartialData"],
      ["b", 0, "PartialData"],
      ["c", 0, "PartialData"],
    ]);
    const second = await cloudwatch.send(
      new GetMetricDataCommand({ ...input(), MaxDatapoints: 30, NextToken: first.NextToken }),
    );
    expect(
      second.MetricDataResults?.map((result) => [result.Id, result.Values?.length, result.StatusCode]),
    ).toEqual([
      ["a", 10, "Complete"],
      ["b", 20, "PartialData"],
      ["c", 0, "PartialData"],
    ]);
    const third = await cloudwatch.send(
      new GetMetricDataCommand({ ...input(), MaxDatapoints: 30, NextToken: second.NextToken }),
    );
    expect(third.NextToken).toBeUndefined();
    const merged = merge([first, second, third].map((page) => page.MetricDataResults ?? []));
    expect(merged["a"]).toEqual(Array.from({ length: 40 }, (_, second) => second));
    expect(merged["b"]).toEqual(Array.from({ length: 25 }, (_, second) => 1000 + second));
    expect(merged["c"]).toEqual(Array.from({ length: 10 }, (_, second) => 2000 + second));
  });

  it("returns metric math that does not fit as PartialData with no NextToken, as CloudWatch does", async () => {
    const page = await cloudwatch.send(
      new GetMetricDataCommand({
        ...input(),
        MaxDatapoints: 30,
        MetricDataQueries: [
          ...queries.map((query) => ({ ...query, ReturnData: false })),
          { Id: "total", Expression: "FILL(a, 0) + FILL(b, 0)", ReturnData: true },
        ],
      }),
    );
    expect(page.NextToken).toBeUndefined();
    expect(
      page.MetricDataResults?.map((result) => [result.Id, result.Values?.length, result.StatusCode]),
    ).toEqual([["total", 30, "PartialData"]]);
  });

  it("pages the same way through the SDK paginator", async () => {
    const pages: MetricDataResult[][] = [];
    for await (const page of paginateGetMetricData({ client: cloudwatch, pageSize: 8 }, input())) {
      pages.push(page.MetricDataResults ?? []);
    }
    expect(pages).toHaveLength(Math.ceil(75 / 8));
    const merged = merge(pages);
    expect([merged["a"]?.length, merged["b"]?.length, merged["c"]?.length]).toEqual([40, 25, 10]);
  });

  it("refuses a NextToken that belongs to another request", async () => {
    const first = await cloudwatch.send(new GetMetricDataCommand({ ...input(), MaxDatapoints: 30 }));
    const error = await cloudwatch
      .send(new GetMetricDataCommand({ ...input(), MaxDatapoints: 31, NextToken: first.NextToken }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidNextToken);
  });
});

describe("GetMetricData limits and errors", () => {
  const window = { StartTime: new Date(BASE), EndTime: new Date(BASE + MINUTE) };

  it("answers 500 queries in one call and refuses 501 with ValidationError", async () => {
    const many = (count: number) =>
      Array.from({ length: count }, (_, index) => statQuery(`q${index}`, "Latency", "SampleCount", 60));
    const output = await cloudwatch.send(
      new GetMetricDataCommand({ ...window, MetricDataQueries: many(500) }),
    );
    expect(output.MetricDataResults).toHaveLength(500);
    expect(output.MetricDataResults?.[499]?.Values).toEqual([100]);
    const error = await cloudwatch
      .send(new GetMetricDataCommand({ ...window, MetricDataQueries: many(501) }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationException);
    expect((error as Error).message).toContain("500");
  });

  it("refuses duplicate ids, bad ids, both MetricStat and Expression, and unsupported statistics", async () => {
    const cases: Array<[MetricDataQuery[], unknown, RegExp]> = [
      [
        [statQuery("a", "Latency", "Sum", 60), statQuery("a", "Latency", "Sum", 60)],
        ValidationException,
        /unique/,
      ],
      [[statQuery("Upper", "Latency", "Sum", 60)], ValidationException, /lowercase/],
      [
        [{ ...statQuery("a", "Latency", "Sum", 60), Expression: "a * 2" }],
        ValidationException,
        /exactly one/,
      ],
      [[statQuery("a", "Latency", "tm", 60)], InvalidParameterValueException, /"tm"/],
      [[{ Id: "e", Expression: "nope * 2" }], ValidationException, /Unrecognized metric id "nope"/],
    ];
    for (const [queries, errorClass, message] of cases) {
      const error = await cloudwatch
        .send(new GetMetricDataCommand({ ...window, MetricDataQueries: queries }))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(errorClass);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("refuses an EndTime before the StartTime", async () => {
    const error = await cloudwatch
      .send(
        new GetMetricDataCommand({
          StartTime: window.EndTime,
          EndTime: window.StartTime,
          MetricDataQueries: [statQuery("a", "Latency", "Sum", 60)],
        }),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationException);
  });
});

describe("PutMetricData validation", () => {
  async function refusal(metricData: unknown, namespace = NAMESPACE) {
    return cloudwatch
      .send(new PutMetricDataCommand({ Namespace: namespace, MetricData: metricData as never }))
      .catch((caught: unknown) => caught);
  }

  it("refuses the reserved AWS/ namespaces", async () => {
    const error = await refusal([{ MetricName: "M", Value: 1 }], "AWS/Lambda");
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect((error as { Error?: { Code?: string } }).Error?.Code).toBe("InvalidParameterValue");
  });

  it("refuses Value together with StatisticValues", async () => {
    const error = await refusal([
      { MetricName: "M", Value: 1, StatisticValues: { SampleCount: 1, Sum: 1, Minimum: 1, Maximum: 1 } },
    ]);
    expect(error).toBeInstanceOf(InvalidParameterCombinationException);
  });

  it("refuses an empty MetricData, Counts that do not match Values, a bad unit and an old timestamp", async () => {
    expect(await refusal([])).toBeInstanceOf(MissingRequiredParameterException);
    const counts = await refusal([{ MetricName: "M", Values: [1, 2], Counts: [1] }]);
    expect(counts).toBeInstanceOf(InvalidParameterValueException);
    expect((counts as Error).message).toContain("MetricData[0].Counts");
    expect(await refusal([{ MetricName: "M", Value: 1, Unit: "Furlongs" }])).toBeInstanceOf(
      InvalidParameterValueException,
    );
    const old = await refusal([
      { MetricName: "M", Value: 1, Timestamp: new Date(Date.now() - 15 * 24 * 3600_000) },
    ]);
    expect(old).toBeInstanceOf(InvalidParameterValueException);
    expect((old as Error).message).toContain("two weeks");
  });

  it("stores nothing from a call with one bad datum", async () => {
    await refusal([
      {
        MetricName: "AllOrNothing",
        Dimensions: [{ Name: "Service", Value: "orders" }],
        Value: 1,
        Timestamp: new Date(BASE),
      },
      { MetricName: "AllOrNothing", Value: 1, Unit: "Furlongs" },
    ]);
    expect(
      (await getOne(statQuery("a", "AllOrNothing", "SampleCount", 60), BASE, BASE + MINUTE)).values,
    ).toEqual([]);
  });
});

describe("CloudWatch operations the sandbox does not serve", () => {
  it("answers with the unknown-operation error", async () => {
    const error = await cloudwatch.send(new ListDashboardsCommand({})).catch((caught: unknown) => caught);
    expect((error as Error).name).toBe("UnknownOperationException");
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(400);
  });
});
