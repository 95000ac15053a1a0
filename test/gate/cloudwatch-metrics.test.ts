import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import type { MetricQuery } from "../../src/core/gate/queries.js";
import { CloudWatchMetricsSource, toMetricDataQuery } from "../../src/providers/cloudwatch-metrics.js";
import { createMetricsSource } from "../../src/providers/metrics-source.js";

const cloudwatch = mockClient(CloudWatchClient);
afterEach(() => cloudwatch.reset());

const start = new Date("2026-03-01T10:00:00Z");
const end = new Date("2026-03-01T10:03:00Z");
const queries: MetricQuery[] = [
  {
    kind: "stat",
    id: "errors",
    namespace: "AWS/ApiGateway",
    metricName: "5xx",
    dimensions: { ApiId: "a1", Stage: "$default" },
    stat: "Sum",
    period: 60,
    returnData: false,
  },
  {
    kind: "stat",
    id: "requests",
    namespace: "AWS/ApiGateway",
    metricName: "Count",
    dimensions: { ApiId: "a1", Stage: "$default" },
    stat: "Sum",
    period: 60,
    returnData: true,
  },
  {
    kind: "expression",
    id: "rate",
    expression: "IF(requests > 0, FILL(errors, 0) / requests)",
    returnData: true,
    label: "error rate",
  },
];
const t = (minute: number) => new Date(start.getTime() + minute * 60_000);

describe("CloudWatchMetricsSource", () => {
  it("maps queries onto MetricDataQuery with periods, stats and dimensions", () => {
    expect(toMetricDataQuery(queries[0]!)).toEqual({
      Id: "errors",
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: "AWS/ApiGateway",
          MetricName: "5xx",
          Dimensions: [
            { Name: "ApiId", Value: "a1" },
            { Name: "Stage", Value: "$default" },
          ],
        },
        Period: 60,
        Stat: "Sum",
      },
    });
    expect(toMetricDataQuery(queries[2]!)).toEqual({
      Id: "rate",
      Expression: "IF(requests > 0, FILL(errors, 0) / requests)",
      ReturnData: true,
      Label: "error rate",
    });
  });

  it("follows NextToken and merges the pages of each query in time order", async () => {
    cloudwatch
      .on(GetMetricDataCommand, { NextToken: undefined })
      .resolves({
        MetricDataResults: [
          { Id: "requests", Timestamps: [t(0), t(1)], Values: [100, 120], StatusCode: "PartialData" },
          { Id: "rate", Timestamps: [], Values: [], StatusCode: "PartialData" },
        ],
        NextToken: "page-2",
      })
      .on(GetMetricDataCommand, { NextToken: "page-2" })
      .resolves({
        MetricDataResults: [
          { Id: "requests", Timestamps: [t(2)], Values: [80], StatusCode: "Complete" },
          { Id: "rate", Timestamps: [t(2), t(0), t(1)], Values: [0.01, 0, 0.05], StatusCode: "Complete" },
        ],
      });
    const source = new CloudWatchMetricsSource(new CloudWatchClient({ region: "us-east-1" }));
    const response = await source.fetch({ start, end, queries });
    expect(response.calls).toBe(2);
    expect(response.datapoints).toBe(6);
    expect(response.series.get("requests")).toEqual({
      timestamps: [0, 1, 2].map((m) => t(m).getTime()),
      values: [100, 120, 80],
    });
    expect(response.series.get("rate")?.values).toEqual([0, 0.05, 0.01]);
    expect(response.series.has("errors")).toBe(false);
    const first = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(first).toMatchObject({ StartTime: start, EndTime: end, ScanBy: "TimestampAscending" });
    expect(first.MetricDataQueries).toHaveLength(3);
  });

  it("leaves out a series that stays PartialData with no NextToken (metric math) and names it incomplete", async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: "requests", Timestamps: [t(0), t(1), t(2)], Values: [100, 120, 80], StatusCode: "Complete" },
        { Id: "rate", Timestamps: [t(0)], Values: [0], StatusCode: "PartialData" },
      ],
    });
    const source = new CloudWatchMetricsSource(new CloudWatchClient({ region: "us-east-1" }));
    const response = await source.fetch({ start, end, queries });
    expect(response.incomplete).toEqual(["rate"]);
    expect(response.series.has("rate")).toBe(false);
    expect(response.series.get("requests")?.values).toEqual([100, 120, 80]);
    expect(response.messages.join("\n")).toMatch(/rate: PartialData with no NextToken/);
  });

  it("a returned query without datapoints is an empty series, not an absent one", async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: "requests", Timestamps: [], Values: [], StatusCode: "Complete" }],
    });
    const source = new CloudWatchMetricsSource(new CloudWatchClient({ region: "us-east-1" }));
    const response = await source.fetch({ start, end, queries });
    expect(response.series.get("requests")).toEqual({ timestamps: [], values: [] });
    expect(response.series.get("rate")).toEqual({ timestamps: [], values: [] });
  });

  it("refuses a series CloudWatch could not compute", async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: "rate",
          StatusCode: "InternalError",
          Messages: [{ Code: "InternalError", Value: "try later" }],
        },
      ],
    });
    const source = new CloudWatchMetricsSource(new CloudWatchClient({ region: "us-east-1" }));
    await expect(source.fetch({ start, end, queries })).rejects.toThrow(
      /InternalError for query rate: InternalError try later/,
    );
  });

  it("refuses more than 500 queries in one call", async () => {
    const source = new CloudWatchMetricsSource(new CloudWatchClient({ region: "us-east-1" }));
    const many = Array.from({ length: 501 }, (_, i) => ({ ...queries[1]!, id: `q${i}` }));
    await expect(source.fetch({ start, end, queries: many })).rejects.toThrow(
      /501 queries in one GetMetricData call; the limit is 500/,
    );
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });

  it("the factory refuses an unknown source", () => {
    expect(() =>
      createMetricsSource("prometheus", { cloudwatch: new CloudWatchClient({ region: "us-east-1" }) }),
    ).toThrow(/metrics source "prometheus" is not known; known sources: cloudwatch/);
  });
});
