import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmHistoryCommand,
  DescribeAlarmsCommand,
  InvalidFormatFault,
  InvalidParameterCombinationException,
  ListTagsForResourceCommand,
  type MetricAlarm,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
  PutMetricDataCommand,
  ResourceNotFound,
  ResourceNotFoundException,
  SetAlarmStateCommand,
  TagResourceCommand,
  ValidationException,
} from "@aws-sdk/client-cloudwatch";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import type { AsyncInvoker } from "../../sandbox/types.js";
import { clientConfig, ManualClock, referenceSeed, rejectionOf } from "../fixtures/sandbox/control-plane.js";

const MINUTE = 60_000;
const NAMESPACE = "Test/Alarms";
/** Five seconds into a minute, so the last complete minute is the one before. */
const clock = new ManualClock(Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE + 5000);

class RecordingInvoker implements AsyncInvoker {
  readonly received: Array<{ functionArn: string; payload: string }> = [];
  async invokeAsync(functionArn: string, payload: string): Promise<{ requestId: string }> {
    this.received.push({ functionArn, payload });
    return { requestId: `req-${this.received.length}` };
  }
}

let sandbox: Sandbox;
let cloudwatch: CloudWatchClient;
let events: EventBridgeClient;
const invoker = new RecordingInvoker();

beforeAll(async () => {
  sandbox = await startSandbox({
    seed: referenceSeed(),
    port: 0,
    now: clock.now,
    alarmEvaluationIntervalMs: 0,
    eventRetryBackoffScale: 0.001,
    lambdaInvoker: invoker,
  });
  cloudwatch = new CloudWatchClient(clientConfig(sandbox));
  events = new EventBridgeClient(clientConfig(sandbox));
});

afterAll(async () => {
  cloudwatch.destroy();
  events.destroy();
  await sandbox.close();
});

/** The start of the minute `minutesAgo` complete minutes before the current one. */
const minuteAgo = (minutesAgo: number) => Math.floor(clock.time / MINUTE) * MINUTE - minutesAgo * MINUTE;

/** Publishes one value per minute: values[0] is the oldest, the last is the latest complete minute. */
async function publish(
  metricName: string,
  values: Array<number | undefined>,
  dimensions = [{ Name: "Service", Value: "orders" }],
) {
  const data = values.flatMap((value, index) =>
    value === undefined
      ? []
      : [
          {
            MetricName: metricName,
            Dimensions: dimensions,
            Timestamp: new Date(minuteAgo(values.length - index)),
            Value: value,
          },
        ],
  );
  if (data.length > 0)
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: NAMESPACE, MetricData: data }));
}

function alarmInput(
  name: string,
  metricName: string,
  overrides: Partial<PutMetricAlarmCommandInput> = {},
): PutMetricAlarmCommandInput {
  return {
    AlarmName: name,
    Namespace: NAMESPACE,
    MetricName: metricName,
    Dimensions: [{ Name: "Service", Value: "orders" }],
    Statistic: "Maximum",
    Period: 60,
    EvaluationPeriods: 3,
    Threshold: 10,
    ComparisonOperator: "GreaterThanThreshold",
    ...overrides,
  };
}

async function evaluate(): Promise<Array<{ alarmName: string; previousState: string; state: string }>> {
  const response = await fetch(`${sandbox.endpoint}/_sandbox/alarms/evaluate`, { method: "POST" });
  expect(response.status).toBe(200);
  return (
    (await response.json()) as { changes: Array<{ alarmName: string; previousState: string; state: string }> }
  ).changes;
}

async function alarm(name: string): Promise<MetricAlarm> {
  const described = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
  const found = described.MetricAlarms?.[0];
  if (!found) throw new Error(`alarm ${name} not described`);
  return found;
}

describe("PutMetricAlarm refusals", () => {
  const refusals: Array<
    [string, Partial<PutMetricAlarmCommandInput>, new (...args: never[]) => Error, RegExp]
  > = [
    ["a period of 45 s", { Period: 45 }, ValidationException, /10, 20, 30 or a multiple of 60/],
    ["a period of 90 s", { Period: 90 }, ValidationException, /multiple of 60/],
    ["zero evaluation periods", { EvaluationPeriods: 0 }, ValidationException, /at least 1/],
    [
      "DatapointsToAlarm above EvaluationPeriods",
      { DatapointsToAlarm: 4 },
      ValidationException,
      /DatapointsToAlarm \(4\)/,
    ],
    ["more than a day of short periods", { EvaluationPeriods: 1441 }, ValidationException, /1 day/],
    ["more than seven days", { Period: 3600, EvaluationPeriods: 169 }, ValidationException, /7 days/],
    [
      "Statistic and ExtendedStatistic",
      { ExtendedStatistic: "p99" },
      InvalidParameterCombinationException,
      /both were/,
    ],
    [
      "neither Statistic nor ExtendedStatistic",
      { Statistic: undefined },
      InvalidParameterCombinationException,
      /neither was/,
    ],
    [
      "an unknown comparison",
      { ComparisonOperator: "Above" as never },
      ValidationException,
      /ComparisonOperator is invalid/,
    ],
    [
      "an unknown TreatMissingData",
      { TreatMissingData: "zero" },
      ValidationException,
      /missing, notBreaching, breaching or ignore/,
    ],
    [
      "Metrics beside MetricName",
      { Metrics: [{ Id: "e1", Expression: "1", Period: 60 }] },
      InvalidParameterCombinationException,
      /Metrics cannot be combined/,
    ],
  ];
  for (const [what, overrides, errorClass, message] of refusals) {
    it(`refuses ${what}`, async () => {
      const error = await rejectionOf(
        cloudwatch.send(new PutMetricAlarmCommand(alarmInput("refused", "Errors", overrides))),
      );
      expect(error).toBeInstanceOf(errorClass);
      expect(error.message).toMatch(message);
    });
  }

  it("refuses a math alarm without exactly one ReturnData, and a bad expression", async () => {
    const base = {
      AlarmName: "math-refused",
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanThreshold" as const,
    };
    const metric = {
      Id: "m1",
      MetricStat: { Metric: { Namespace: NAMESPACE, MetricName: "Errors" }, Period: 60, Stat: "Sum" },
    };
    const two = await rejectionOf(
      cloudwatch.send(
        new PutMetricAlarmCommand({ ...base, Metrics: [metric, { Id: "e1", Expression: "m1 * 2" }] }),
      ),
    );
    expect(two).toBeInstanceOf(ValidationException);
    expect(two.message).toMatch(/Exactly one element of the metrics list should return data/);
    const bad = await rejectionOf(
      cloudwatch.send(
        new PutMetricAlarmCommand({
          ...base,
          Metrics: [
            { ...metric, ReturnData: false },
            { Id: "e1", Expression: "m1 *" },
          ],
        }),
      ),
    );
    expect(bad).toBeInstanceOf(ValidationException);
    expect(
      (await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: "math-refused" }))).MetricAlarms,
    ).toEqual([]);
  });

  it("refuses SetAlarmState on an unknown alarm or with reason data that is not JSON, and names with a prefix", async () => {
    await expect(
      cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: "nope", StateValue: "ALARM", StateReason: "test" }),
      ),
    ).rejects.toBeInstanceOf(ResourceNotFound);
    await cloudwatch.send(new PutMetricAlarmCommand(alarmInput("format", "Errors")));
    await expect(
      cloudwatch.send(
        new SetAlarmStateCommand({
          AlarmName: "format",
          StateValue: "ALARM",
          StateReason: "t",
          StateReasonData: "{",
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidFormatFault);
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ["format"], AlarmNamePrefix: "f" })),
    ).rejects.toBeInstanceOf(InvalidParameterCombinationException);
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: ["format"] }));
    await expect(cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: ["format"] }))).rejects.toBeInstanceOf(
      ResourceNotFound,
    );
  });
});

describe("alarm evaluation", () => {
  it("starts in INSUFFICIENT_DATA and filters and pages DescribeAlarms", async () => {
    for (const name of ["page-a", "page-b", "page-c"])
      await cloudwatch.send(new PutMetricAlarmCommand(alarmInput(name, "Nothing")));
    const first = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: "page-", MaxRecords: 2 }),
    );
    expect(first.MetricAlarms?.map((entry) => [entry.AlarmName, entry.StateValue])).toEqual([
      ["page-a", "INSUFFICIENT_DATA"],
      ["page-b", "INSUFFICIENT_DATA"],
    ]);
    expect(first.MetricAlarms?.[0]?.StateReason).toBe("Unchecked: Initial alarm creation");
    const second = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: "page-", MaxRecords: 2, NextToken: first.NextToken }),
    );
    expect(second.MetricAlarms?.map((entry) => entry.AlarmName)).toEqual(["page-c"]);
    expect(second.NextToken).toBeUndefined();
    const ok = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: "page-", StateValue: "OK" }),
    );
    expect(ok.MetricAlarms).toEqual([]);
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: ["page-a", "page-b", "page-c"] }));
  });

  it("goes to ALARM on M out of N breaching datapoints and writes CloudWatch's reason and reason data", async () => {
    await publish("MofN", [20, 5, 30]);
    await cloudwatch.send(new PutMetricAlarmCommand(alarmInput("m-of-n", "MofN", { DatapointsToAlarm: 2 })));
    expect(await evaluate()).toContainEqual(
      expect.objectContaining({ alarmName: "m-of-n", previousState: "INSUFFICIENT_DATA", state: "ALARM" }),
    );
    const described = await alarm("m-of-n");
    expect(described.StateValue).toBe("ALARM");
    expect(described.StateReason).toMatch(
      /^Threshold Crossed: 2 out of the last 3 datapoints \[30\.0 \(\d\d\/\d\d\/\d\d \d\d:\d\d:00\), 5\.0 \([^)]*\), 20\.0 \([^)]*\)\] were greater than the threshold \(10\.0\) \(minimum 2 datapoints for INSUFFICIENT_DATA -> ALARM transition\)\.$/,
    );
    const data = JSON.parse(described.StateReasonData ?? "{}");
    expect(data).toMatchObject({
      version: "1.0",
      statistic: "Maximum",
      period: 60,
      recentDatapoints: [30, 5, 20],
      threshold: 10,
    });
    expect(data.queryDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    // One breaching datapoint out of three is not two: the same alarm on 1-of-3 breaching data is OK.
    await publish("MofN-low", [20, 5, 5]);
    await cloudwatch.send(
      new PutMetricAlarmCommand(alarmInput("m-of-n-low", "MofN-low", { DatapointsToAlarm: 2 })),
    );
    await evaluate();
    const low = await alarm("m-of-n-low");
    expect(low.StateValue).toBe("OK");
    expect(low.StateReason).toMatch(
      /^Threshold Crossed: 2 out of the last 3 datapoints .* were not greater than the threshold \(10\.0\)/,
    );
  });

  it("treats missing data as missing, ignore, breaching or notBreaching", async () => {
    const noData: Record<string, string> = {
      missing: "INSUFFICIENT_DATA",
      ignore: "INSUFFICIENT_DATA",
      breaching: "ALARM",
      notBreaching: "OK",
    };
    for (const treat of Object.keys(noData))
      await cloudwatch.send(
        new PutMetricAlarmCommand(
          alarmInput(`empty-${treat}`, "NeverPublished", { TreatMissingData: treat }),
        ),
      );
    await evaluate();
    for (const [treat, state] of Object.entries(noData))
      expect((await alarm(`empty-${treat}`)).StateValue, treat).toBe(state);
    // No transition, no new reason: a fresh alarm without data keeps its creation reason.
    expect((await alarm("empty-missing")).StateReason).toBe("Unchecked: Initial alarm creation");
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: "empty-missing", StateValue: "OK", StateReason: "set by test" }),
    );
    expect(await evaluate()).toContainEqual(
      expect.objectContaining({
        alarmName: "empty-missing",
        previousState: "OK",
        state: "INSUFFICIENT_DATA",
      }),
    );
    expect((await alarm("empty-missing")).StateReason).toBe("Insufficient Data: 3 datapoints were unknown.");
    // ignore keeps whatever state the alarm is in.
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: "empty-ignore", StateValue: "OK", StateReason: "set by test" }),
    );
    await evaluate();
    expect((await alarm("empty-ignore")).StateValue).toBe("OK");

    // One breaching datapoint, two missing, 2 of 3 to alarm.
    await publish("Sparse", [undefined, undefined, 50]);
    const sparse: Record<string, string> = {
      missing: "ALARM",
      ignore: "ALARM",
      breaching: "ALARM",
      notBreaching: "OK",
    };
    for (const treat of Object.keys(sparse)) {
      await cloudwatch.send(
        new PutMetricAlarmCommand(
          alarmInput(`sparse-${treat}`, "Sparse", { TreatMissingData: treat, DatapointsToAlarm: 2 }),
        ),
      );
    }
    await evaluate();
    for (const [treat, state] of Object.entries(sparse))
      expect((await alarm(`sparse-${treat}`)).StateValue, treat).toBe(state);
    // One good datapoint, two missing: missing fills with the last result (good), breaching counts two breaches.
    await publish("SparseGood", [undefined, undefined, 1]);
    const good: Record<string, string> = {
      missing: "OK",
      ignore: "OK",
      breaching: "ALARM",
      notBreaching: "OK",
    };
    for (const treat of Object.keys(good)) {
      await cloudwatch.send(
        new PutMetricAlarmCommand(
          alarmInput(`good-${treat}`, "SparseGood", { TreatMissingData: treat, DatapointsToAlarm: 2 }),
        ),
      );
    }
    await evaluate();
    for (const [treat, state] of Object.entries(good))
      expect((await alarm(`good-${treat}`)).StateValue, treat).toBe(state);
  });

  it("holds a SetAlarmState state only until the next evaluation, and records both in the history", async () => {
    await publish("Steady", [1, 1, 1]);
    await cloudwatch.send(new PutMetricAlarmCommand(alarmInput("steady", "Steady")));
    await evaluate();
    expect((await alarm("steady")).StateValue).toBe("OK");
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: "steady", StateValue: "ALARM", StateReason: "drill" }),
    );
    expect((await alarm("steady")).StateValue).toBe("ALARM");
    expect(await evaluate()).toContainEqual(
      expect.objectContaining({ alarmName: "steady", previousState: "ALARM", state: "OK" }),
    );
    const history = await cloudwatch.send(
      new DescribeAlarmHistoryCommand({ AlarmName: "steady", HistoryItemType: "StateUpdate" }),
    );
    expect(history.AlarmHistoryItems?.map((item) => item.HistorySummary)).toEqual([
      "Alarm updated from ALARM to OK",
      "Alarm updated from OK to ALARM",
      "Alarm updated from INSUFFICIENT_DATA to OK",
    ]);
    const latest = JSON.parse(history.AlarmHistoryItems?.[0]?.HistoryData ?? "{}");
    expect(latest).toMatchObject({
      oldState: { stateValue: "ALARM", stateReason: "drill" },
      newState: { stateValue: "OK" },
    });
  });

  it("evaluates a metric math alarm on its ReturnData expression", async () => {
    const dimensions = [{ Name: "Service", Value: "math" }];
    await publish("Requests", [100, 100, 100], dimensions);
    await publish("Failures", [1, 5, 6], dimensions);
    const stat = (name: string) => ({
      Metric: { Namespace: NAMESPACE, MetricName: name, Dimensions: dimensions },
      Period: 60,
      Stat: "Sum",
    });
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: "error-rate",
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 2,
        ComparisonOperator: "GreaterThanThreshold",
        Metrics: [
          { Id: "failures", MetricStat: stat("Failures"), ReturnData: false },
          { Id: "requests", MetricStat: stat("Requests"), ReturnData: false },
          { Id: "rate", Expression: "100 * failures / requests", Label: "error rate", ReturnData: true },
        ],
      }),
    );
    await evaluate();
    const described = await alarm("error-rate");
    expect(described.StateValue).toBe("ALARM");
    expect(JSON.parse(described.StateReasonData ?? "{}").recentDatapoints).toEqual([6, 5, 1]);
    expect(described.Metrics?.map((metric) => metric.Id)).toEqual(["failures", "requests", "rate"]);
  });

  it("evaluates a rollback alarm shaped as infra writes it: FILL(errors, 0) / requests, 2 of 3, notBreaching", async () => {
    const dimensions = [
      { Name: "ApiId", Value: "a1b2c3" },
      { Name: "Stage", Value: "$default" },
    ];
    // Errors only in the last two minutes; requests every minute.
    await publish("Count", [200, 200, 200], dimensions);
    await publish("5xx", [undefined, 10, 12], dimensions);
    const stat = (name: string) => ({
      Metric: { Namespace: NAMESPACE, MetricName: name, Dimensions: dimensions },
      Period: 60,
      Stat: "Sum",
    });
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: "cutover-shop-orders-api-standard-error-rate-rollback-max",
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 0.02,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "notBreaching",
        Metrics: [
          { Id: "errors", MetricStat: stat("5xx"), ReturnData: false },
          { Id: "requests", MetricStat: stat("Count"), ReturnData: false },
          {
            Id: "error_rate",
            Expression: "FILL(errors, 0) / requests",
            Label: "error rate",
            ReturnData: true,
          },
        ],
        Tags: [{ Key: "cutover:migration", Value: "orders-api" }],
      }),
    );
    await evaluate();
    const described = await alarm("cutover-shop-orders-api-standard-error-rate-rollback-max");
    expect(described.StateValue).toBe("ALARM");
    expect(JSON.parse(described.StateReasonData ?? "{}").recentDatapoints).toEqual([0.06, 0.05, 0]);
  });

  it("stores the Tags given to PutMetricAlarm and lists and adds tags by alarm ARN", async () => {
    await cloudwatch.send(
      new PutMetricAlarmCommand(
        alarmInput("tagged", "Errors", { Tags: [{ Key: "cutover:migration", Value: "orders-api" }] }),
      ),
    );
    const { AlarmArn } = await alarm("tagged");
    expect(AlarmArn).toBe("arn:aws:cloudwatch:us-east-1:123456789012:alarm:tagged");
    await cloudwatch.send(
      new TagResourceCommand({ ResourceARN: AlarmArn, Tags: [{ Key: "team", Value: "shop" }] }),
    );
    const { Tags } = await cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: AlarmArn }));
    expect(Tags).toEqual([
      { Key: "cutover:migration", Value: "orders-api" },
      { Key: "team", Value: "shop" },
    ]);
    await expect(
      cloudwatch.send(
        new ListTagsForResourceCommand({
          ResourceARN: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:none",
        }),
      ),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe("alarm state changes on EventBridge", () => {
  let server: Server;
  const hooked: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        hooked.push(Buffer.concat(chunks).toString("utf8"));
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("puts the state change of an alarm on real metrics on the default bus, delivered to a Lambda and an API destination", async () => {
    const name = "cutover-shop-orders-api-canary-50-errors-rollback-max";
    const guardian = "arn:aws:lambda:us-east-1:123456789012:function:cutover-shop-guardian";
    const { ConnectionArn } = await events.send(
      new CreateConnectionCommand({
        Name: "github",
        AuthorizationType: "BASIC",
        AuthParameters: { BasicAuthParameters: { Username: "bot", Password: "pw" } },
      }),
    );
    const { ApiDestinationArn } = await events.send(
      new CreateApiDestinationCommand({
        Name: "github",
        ConnectionArn,
        InvocationEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dispatch`,
        HttpMethod: "POST",
      }),
    );
    await events.send(
      new PutRuleCommand({
        Name: "cutover-shop-orders-api-rollback",
        EventPattern: JSON.stringify({
          source: ["aws.cloudwatch"],
          "detail-type": ["CloudWatch Alarm State Change"],
          detail: { alarmName: [{ prefix: "cutover-shop-orders-api-" }], state: { value: ["ALARM"] } },
        }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: "cutover-shop-orders-api-rollback",
        Targets: [
          { Id: "guardian", Arn: guardian },
          { Id: "github", Arn: ApiDestinationArn },
        ],
      }),
    );
    const dimensions = [{ Name: "Service", Value: "orders-api" }];
    await publish("5xx", [0, 0, 0], dimensions);
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        ...alarmInput(name, "5xx", {
          Dimensions: dimensions,
          Statistic: "Sum",
          EvaluationPeriods: 1,
          Threshold: 5,
        }),
        AlarmDescription: "rollback",
      }),
    );
    await evaluate();
    expect((await alarm(name)).StateValue).toBe("OK");
    // The OK transition does not match the rule: nothing is delivered.
    await sandbox.eventbridge.settled();
    expect(invoker.received).toHaveLength(0);

    clock.advance(MINUTE);
    await publish("5xx", [40], dimensions);
    const changes = (await evaluate()).filter((change) => change.alarmName === name);
    expect(changes).toEqual([expect.objectContaining({ previousState: "OK", state: "ALARM" })]);
    await sandbox.eventbridge.settled();
    expect(invoker.received.map((call) => call.functionArn)).toEqual([guardian]);
    const event = JSON.parse(invoker.received[0]?.payload ?? "{}");
    expect(event).toMatchObject({
      version: "0",
      "detail-type": "CloudWatch Alarm State Change",
      source: "aws.cloudwatch",
      account: "123456789012",
      region: "us-east-1",
      resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`],
      detail: {
        alarmName: name,
        state: { value: "ALARM" },
        previousState: { value: "OK" },
        configuration: {
          description: "rollback",
          metrics: [
            {
              id: "m1",
              metricStat: {
                metric: { namespace: NAMESPACE, name: "5xx", dimensions: { Service: "orders-api" } },
                period: 60,
                stat: "Sum",
              },
              returnData: true,
            },
          ],
        },
      },
    });
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(event.detail.state.reason).toMatch(/^Threshold Crossed: 1 out of the last 1 datapoint \[40\.0 /);
    expect(JSON.parse(event.detail.state.reasonData)).toMatchObject({ recentDatapoints: [40], threshold: 5 });
    expect(event.detail.state.timestamp).toMatch(/\+0000$/);
    expect(hooked.map((body) => JSON.parse(body).detail.alarmName)).toEqual([name]);
  });
});

describe("the evaluation timer", () => {
  it("evaluates every alarmEvaluationIntervalMs of real time, and not at all with 0", async () => {
    const timed = await startSandbox({ seed: referenceSeed(), port: 0, alarmEvaluationIntervalMs: 50 });
    const untimed = await startSandbox({ seed: referenceSeed(), port: 0, alarmEvaluationIntervalMs: 0 });
    try {
      for (const running of [timed, untimed]) {
        const client = new CloudWatchClient(clientConfig(running));
        await client.send(
          new PutMetricAlarmCommand(alarmInput("timed", "NeverPublished", { TreatMissingData: "breaching" })),
        );
        client.destroy();
      }
      const stateOf = (running: Sandbox) =>
        (running.alarms.snapshot()["alarms"] as Array<{ state: string }>)[0]?.state;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && stateOf(timed) !== "ALARM")
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(stateOf(timed)).toBe("ALARM");
      expect(stateOf(untimed)).toBe("INSUFFICIENT_DATA");
      expect(timed.eventbridge.events().map((entry) => entry.event["detail-type"])).toEqual([
        "CloudWatch Alarm State Change",
      ]);
    } finally {
      await timed.close();
      await untimed.close();
    }
  });
});
