/**
 * CloudWatch on the AWS Query protocol (what aws-cli 2 and botocore send: form-encoded Action=...&Version=2010-08-01,
 * XML answers and XML errors), and GetMetricStatistics / ListMetrics through the SDK's JSON protocol.
 * Sources: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/making-api-requests.html (Query requests),
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html (codes),
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html (1,440 datapoints,
 * Statistics or ExtendedStatistics) and API_ListMetrics.html.
 */
import {
  CloudWatchClient,
  GetMetricStatisticsCommand,
  InvalidParameterCombinationException,
  ListMetricsCommand,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCloudWatchService } from "../../../sandbox/cloudwatch.js";
import { MetricStore } from "../../../sandbox/metric-store.js";
import { type MountedServices, mountServices } from "../../fixtures/sandbox/mount.js";

const MINUTE = 60_000;
let services: MountedServices;
let cloudwatch: CloudWatchClient;
const now = Math.floor(Date.now() / MINUTE) * MINUTE;

beforeEach(async () => {
  services = await mountServices([createCloudWatchService(new MetricStore())]);
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

/** A Query call as botocore sends it: form body, SigV4 scope "monitoring" (the sandbox reads the scope, not the signature). */
async function query(params: Record<string, string>) {
  const response = await fetch(services.endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIASANDBOX000000000/20300101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({ Version: "2010-08-01", ...params }).toString(),
  });
  return { status: response.status, type: response.headers.get("content-type"), xml: await response.text() };
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("Query protocol", () => {
  it("serves PutMetricData, ListMetrics, GetMetricStatistics and GetMetricData in XML", async () => {
    const put = await query({
      Action: "PutMetricData",
      Namespace: "Q/Orders",
      "MetricData.member.1.MetricName": "Latency",
      "MetricData.member.1.Dimensions.member.1.Name": "Service",
      "MetricData.member.1.Dimensions.member.1.Value": "orders",
      "MetricData.member.1.Values.member.1": "100",
      "MetricData.member.1.Values.member.2": "300",
      "MetricData.member.1.Unit": "Milliseconds",
      "MetricData.member.1.Timestamp": iso(now - 2 * MINUTE),
    });
    expect(put.status).toBe(200);
    expect(put.xml).toContain(
      '<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">',
    );
    expect(put.xml).toMatch(/<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata>/);

    const listed = await query({ Action: "ListMetrics", Namespace: "Q/Orders" });
    expect(listed.xml).toContain(
      "<ListMetricsResult><Metrics><member><Namespace>Q/Orders</Namespace><MetricName>Latency</MetricName><Dimensions><member><Name>Service</Name><Value>orders</Value></member></Dimensions></member></Metrics></ListMetricsResult>",
    );

    const window = { StartTime: iso(now - 10 * MINUTE), EndTime: iso(now + MINUTE) };
    const statistics = await query({
      Action: "GetMetricStatistics",
      Namespace: "Q/Orders",
      MetricName: "Latency",
      "Dimensions.member.1.Name": "Service",
      "Dimensions.member.1.Value": "orders",
      Period: "60",
      "Statistics.member.1": "Sum",
      ...window,
    });
    expect(statistics.xml).toContain(
      `<Datapoints><member><Timestamp>${iso(now - 2 * MINUTE)}</Timestamp><Unit>Milliseconds</Unit><Sum>400</Sum></member></Datapoints>`,
    );

    const data = await query({
      Action: "GetMetricData",
      "MetricDataQueries.member.1.Id": "p",
      "MetricDataQueries.member.1.MetricStat.Metric.Namespace": "Q/Orders",
      "MetricDataQueries.member.1.MetricStat.Metric.MetricName": "Latency",
      "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name": "Service",
      "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": "orders",
      "MetricDataQueries.member.1.MetricStat.Period": "60",
      "MetricDataQueries.member.1.MetricStat.Stat": "Maximum",
      "MetricDataQueries.member.1.ReturnData": "true",
      ...window,
    });
    expect(data.type).toBe("text/xml");
    expect(data.xml).toContain(
      `<MetricDataResults><member><Id>p</Id><Label>Latency</Label><Timestamps><member>${iso(now - 2 * MINUTE)}</member></Timestamps><Values><member>300</member></Values><StatusCode>Complete</StatusCode><Messages></Messages></member></MetricDataResults>`,
    );
  });

  it("answers errors as an XML ErrorResponse with AWS's query codes", async () => {
    const missing = await query({ Action: "GetMetricStatistics", Namespace: "Q/Orders" });
    expect(missing.status).toBe(400);
    expect(missing.xml).toMatch(
      /<ErrorResponse xmlns="http:\/\/monitoring.amazonaws.com\/doc\/2010-08-01\/"><Error><Type>Sender<\/Type><Code>MissingParameter<\/Code><Message>[^<]*MetricName[^<]*<\/Message><\/Error><RequestId>/,
    );
    const unknown = await query({ Action: "DescribeNothing" });
    expect(unknown.xml).toContain("<Code>InvalidAction</Code>");
    const badNumber = await query({
      Action: "GetMetricStatistics",
      Namespace: "Q/Orders",
      MetricName: "Latency",
      Period: "sixty",
    });
    expect(badNumber.xml).toContain("<Code>InvalidParameterValue</Code>");
    expect(badNumber.xml).toContain("Period is not a number");
    const badVersion = await query({ Action: "ListMetrics", Version: "2009-01-01" });
    expect(badVersion.xml).toContain("<Code>InvalidParameterValue</Code>");
  });
});

describe("GetMetricStatistics and ListMetrics through the SDK", () => {
  it("answers one datapoint per unit, refuses more than 1,440 datapoints and both kinds of statistics", async () => {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: "S/Orders",
        MetricData: [
          { MetricName: "Latency", Timestamp: new Date(now - 2 * MINUTE), Values: [1, 2], Unit: "Seconds" },
          {
            MetricName: "Latency",
            Timestamp: new Date(now - 2 * MINUTE),
            Values: [500],
            Unit: "Milliseconds",
          },
        ],
      }),
    );
    const output = await cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: "S/Orders",
        MetricName: "Latency",
        StartTime: new Date(now - 10 * MINUTE),
        EndTime: new Date(now + MINUTE),
        Period: 60,
        ExtendedStatistics: ["p50"],
      }),
    );
    expect(output.Datapoints?.map((point) => [point.Unit, point.ExtendedStatistics?.p50]).sort()).toEqual([
      ["Milliseconds", 500],
      ["Seconds", 1],
    ]);
    const tooMany = await cloudwatch
      .send(
        new GetMetricStatisticsCommand({
          Namespace: "S/Orders",
          MetricName: "Latency",
          StartTime: new Date(now - 1441 * MINUTE),
          EndTime: new Date(now),
          Period: 60,
          Statistics: ["Sum"],
        }),
      )
      .catch((error: unknown) => error as Error);
    expect(tooMany).toBeInstanceOf(InvalidParameterCombinationException);
    expect((tooMany as Error).message).toBe(
      "You have requested up to 1441 datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.",
    );
    const both = await cloudwatch
      .send(
        new GetMetricStatisticsCommand({
          Namespace: "S/Orders",
          MetricName: "Latency",
          StartTime: new Date(now - 10 * MINUTE),
          EndTime: new Date(now),
          Period: 60,
          Statistics: ["Sum"],
          ExtendedStatistics: ["p99"],
        }),
      )
      .catch((error: unknown) => error as Error);
    expect(both).toBeInstanceOf(InvalidParameterCombinationException);
    const listed = await cloudwatch.send(
      new ListMetricsCommand({ Namespace: "S/Orders", MetricName: "Latency" }),
    );
    expect(listed.Metrics).toEqual([{ Namespace: "S/Orders", MetricName: "Latency", Dimensions: [] }]);
  });
});
