/**
 * CloudWatch metric alarms on the sandbox's metric store and clock:
 * PutMetricAlarm (one metric, or metric math with exactly one ReturnData
 * expression), DescribeAlarms, DeleteAlarms, SetAlarmState,
 * DescribeAlarmHistory and tags. An alarm is evaluated over its last
 * EvaluationPeriods complete periods: M out of N breaching datapoints
 * (DatapointsToAlarm) put it in ALARM, missing datapoints are treated as
 * TreatMissingData says, and every state change is written to the alarm's
 * history and put on the default EventBridge bus as a
 * "CloudWatch Alarm State Change" event.
 */
import type { ServerResponse } from "node:http";
import {
  type AlarmDatapoint,
  type AlarmState,
  COMPARISONS,
  cloudWatchDate,
  judgeAlarm,
} from "./alarm-evaluation.js";
import { CloudWatchError, cloudWatchErrors } from "./cloudwatch-errors.js";
import { readDimensions, readUnit } from "./cloudwatch-input.js";
import { evaluateCloudWatchQueries } from "./cloudwatch-queries.js";
import type { MetricStore } from "./metric-store.js";
import { parseStatistic } from "./metric-store.js";
import type { ServiceHandler } from "./types.js";

export type { AlarmState };

const STATES = new Set<AlarmState>(["OK", "ALARM", "INSUFFICIENT_DATA"]);
const ANOMALY_COMPARISONS = new Set([
  "LessThanLowerOrGreaterThanUpperThreshold",
  "LessThanLowerThreshold",
  "GreaterThanUpperThreshold",
]);
const TREAT_MISSING = new Set(["missing", "notBreaching", "breaching", "ignore"]);
const DAY_SECONDS = 86_400;
const WEEK_SECONDS = 7 * DAY_SECONDS;

const resourceNotFound = (message: string) =>
  new CloudWatchError("ResourceNotFound", "ResourceNotFound", message, 404);
const invalidFormat = (message: string) =>
  new CloudWatchError("InvalidFormatFault", "InvalidFormat", message);

/** An alarm as stored: the request's definition plus its state. */
interface Alarm {
  name: string;
  arn: string;
  definition: Record<string, unknown>;
  /** The MetricDataQueries the alarm evaluates; exactly one has ReturnData. */
  queries: Array<Record<string, unknown>>;
  period: number;
  statisticName: string;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: string;
  treatMissingData: string;
  state: AlarmState;
  stateReason: string;
  stateReasonData?: string;
  stateUpdatedAt: number;
  configurationUpdatedAt: number;
  tags: Map<string, string>;
  /** Set when the last evaluation failed. */
  evaluationState?: "EVALUATION_ERROR";
  evaluationError?: string;
}

interface HistoryItem {
  alarmName: string;
  timestamp: number;
  type: "ConfigurationUpdate" | "StateUpdate";
  summary: string;
  data: string;
}

/** One state change an evaluation (or SetAlarmState) made. */
export interface AlarmStateChange {
  alarmName: string;
  alarmArn: string;
  previousState: AlarmState;
  state: AlarmState;
  reason: string;
  /** Epoch ms. */
  timestamp: number;
}

/** The event sink alarms publish to: the default EventBridge bus. */
export interface AlarmEventSink {
  putServiceEvent(event: {
    source: string;
    detailType: string;
    detail: Record<string, unknown>;
    resources: string[];
    time?: number;
  }): unknown;
}

export interface CloudWatchAlarmsOptions {
  region: string;
  accountId: string;
  now: () => number;
  events?: AlarmEventSink;
}

type Operation = (input: Record<string, unknown>) => Record<string, unknown>;

/** CloudWatch's alarm operations and their evaluator, sharing the metric store with the rest of CloudWatch. */
export class CloudWatchAlarms {
  private readonly alarms = new Map<string, Alarm>();
  private readonly history: HistoryItem[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: MetricStore,
    private readonly options: CloudWatchAlarmsOptions,
  ) {}

  /** The operations to register into the CloudWatch service. */
  operations(): Record<string, Operation> {
    return {
      PutMetricAlarm: (input) => this.putMetricAlarm(input),
      DescribeAlarms: (input) => this.describeAlarms(input),
      DeleteAlarms: (input) => this.deleteAlarms(input),
      SetAlarmState: (input) => this.setAlarmState(input),
      DescribeAlarmHistory: (input) => this.describeAlarmHistory(input),
      TagResource: (input) => this.tagResource(input),
      UntagResource: (input) => this.untagResource(input),
      ListTagsForResource: (input) => this.listTagsForResource(input),
    };
  }

  /** The admin surface: POST /_sandbox/alarms/evaluate evaluates every alarm now and answers the changes. */
  readonly admin: ServiceHandler = {
    name: "alarms-admin",
    matches: (req) => (req.url ?? "").split("?")[0] === "/_sandbox/alarms/evaluate",
    handle: async (req, _body, res) => {
      if (req.method !== "POST") return sendAdmin(res, 405, { error: "use POST /_sandbox/alarms/evaluate" });
      sendAdmin(res, 200, { changes: this.evaluate() });
    },
  };

  /** Evaluates every `intervalMs` of real time; 0 turns the timer off. */
  start(intervalMs: number): void {
    this.stop();
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => this.evaluate(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Evaluates every alarm on the sandbox clock; returns the state changes made. */
  evaluate(): AlarmStateChange[] {
    const changes: AlarmStateChange[] = [];
    for (const alarm of this.alarms.values()) {
      let outcome: ReturnType<CloudWatchAlarms["evaluateAlarm"]>;
      try {
        outcome = this.evaluateAlarm(alarm);
        delete alarm.evaluationState;
      } catch (error) {
        // A query that cannot be computed leaves the state alone and says so, as CloudWatch's EVALUATION_ERROR does.
        alarm.evaluationState = "EVALUATION_ERROR";
        alarm.evaluationError = (error as Error).message;
        continue;
      }
      if (outcome && outcome.state !== alarm.state)
        changes.push(this.transition(alarm, outcome.state, outcome.reason, outcome.reasonData));
    }
    return changes;
  }

  snapshot(): Record<string, unknown> {
    return {
      alarms: [...this.alarms.values()].map((alarm) => ({
        name: alarm.name,
        state: alarm.state,
        reason: alarm.stateReason,
        ...(alarm.evaluationError !== undefined && alarm.evaluationState
          ? { evaluationError: alarm.evaluationError }
          : {}),
      })),
    };
  }

  // ------------------------------------------------------------ PutMetricAlarm

  private putMetricAlarm(input: Record<string, unknown>): Record<string, unknown> {
    const name = stringField(input, "AlarmName", 255, true) as string;
    const description = stringField(input, "AlarmDescription", 1024, false);
    const evaluationPeriods = integerField(input, "EvaluationPeriods", true) as number;
    if (evaluationPeriods < 1)
      throw cloudWatchErrors.validation(
        `The value ${evaluationPeriods} for parameter EvaluationPeriods is invalid: it must be at least 1.`,
      );
    const datapointsToAlarm = integerField(input, "DatapointsToAlarm", false) ?? evaluationPeriods;
    if (datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods) {
      throw cloudWatchErrors.validation(
        `DatapointsToAlarm (${datapointsToAlarm}) must be from 1 to EvaluationPeriods (${evaluationPeriods}).`,
      );
    }
    const comparison = stringField(input, "ComparisonOperator", 64, true) as string;
    if (ANOMALY_COMPARISONS.has(comparison)) {
      throw cloudWatchErrors.validation(
        `ComparisonOperator ${comparison} is for anomaly detection alarms, which the sandbox does not model (see docs/sandbox.md).`,
      );
    }
    if (!COMPARISONS[comparison]) {
      throw cloudWatchErrors.validation(
        `The value ${JSON.stringify(comparison)} for parameter ComparisonOperator is invalid; use ${[...Object.keys(COMPARISONS), ...ANOMALY_COMPARISONS].join(", ")}.`,
      );
    }
    const threshold = input["Threshold"];
    if (typeof threshold !== "number" || !Number.isFinite(threshold))
      throw cloudWatchErrors.validation(
        "The parameter Threshold is required and must be a number for a static threshold alarm.",
      );
    const treatMissingData = stringField(input, "TreatMissingData", 255, false) ?? "missing";
    if (!TREAT_MISSING.has(treatMissingData)) {
      throw cloudWatchErrors.validation(
        `The value ${JSON.stringify(treatMissingData)} for parameter TreatMissingData is invalid; use missing, notBreaching, breaching or ignore.`,
      );
    }
    for (const list of ["AlarmActions", "OKActions", "InsufficientDataActions"]) {
      const actions = input[list];
      if (actions === undefined) continue;
      if (!Array.isArray(actions) || actions.some((action) => typeof action !== "string"))
        throw cloudWatchErrors.invalidValue(`${list} must be a list of ARNs.`);
      if (actions.length > 5)
        throw cloudWatchErrors.validation(
          `${list} holds ${actions.length} actions; an alarm takes at most 5.`,
        );
    }
    const { queries, period, statisticName } = readAlarmMetric(input);
    if (period * evaluationPeriods > WEEK_SECONDS) {
      throw cloudWatchErrors.validation(
        `Period (${period}) multiplied by EvaluationPeriods (${evaluationPeriods}) must not exceed ${WEEK_SECONDS} seconds (7 days).`,
      );
    }
    if (period < 3600 && period * evaluationPeriods > DAY_SECONDS) {
      throw cloudWatchErrors.validation(
        `Period (${period}) multiplied by EvaluationPeriods (${evaluationPeriods}) must not exceed ${DAY_SECONDS} seconds (1 day) for periods under an hour.`,
      );
    }
    // The queries are checked the way GetMetricData checks them, so a bad expression is refused now, not at evaluation.
    const now = this.options.now();
    evaluateCloudWatchQueries(this.store, {
      queries,
      startTime: now - period * 1000,
      endTime: now,
      scanBy: "TimestampAscending",
      maxDatapoints: 100_800,
    });
    const tags = readTags(input["Tags"]);
    const existing = this.alarms.get(name);
    const alarm: Alarm = {
      name,
      arn: `arn:aws:cloudwatch:${this.options.region}:${this.options.accountId}:alarm:${name}`,
      definition: { ...input, ...(description === undefined ? {} : { AlarmDescription: description }) },
      queries,
      period,
      statisticName,
      evaluationPeriods,
      datapointsToAlarm,
      threshold,
      comparison,
      treatMissingData,
      state: existing?.state ?? "INSUFFICIENT_DATA",
      stateReason: existing?.stateReason ?? "Unchecked: Initial alarm creation",
      ...(existing?.stateReasonData !== undefined ? { stateReasonData: existing.stateReasonData } : {}),
      stateUpdatedAt: existing?.stateUpdatedAt ?? now,
      configurationUpdatedAt: now,
      tags: existing?.tags ?? new Map(),
    };
    // Tags given to PutMetricAlarm apply only when the alarm is created, as CloudWatch documents.
    if (!existing) for (const [key, value] of tags) alarm.tags.set(key, value);
    this.alarms.set(name, alarm);
    this.history.push({
      alarmName: name,
      timestamp: now,
      type: "ConfigurationUpdate",
      summary: `Alarm "${name}" ${existing ? "updated" : "created"}`,
      data: JSON.stringify({
        version: "1.0",
        type: existing ? "Update" : "Create",
        createdAlarm: { alarmName: name },
      }),
    });
    return {};
  }

  // ------------------------------------------------------------ reading and deleting

  private describeAlarms(input: Record<string, unknown>): Record<string, unknown> {
    const names = stringList(input, "AlarmNames", 100);
    const prefix = stringField(input, "AlarmNamePrefix", 255, false);
    if (names && prefix !== undefined)
      throw cloudWatchErrors.combination("AlarmNames and AlarmNamePrefix cannot be used together.");
    const stateValue = stringField(input, "StateValue", 64, false);
    if (stateValue !== undefined && !STATES.has(stateValue as AlarmState))
      throw cloudWatchErrors.invalidValue(
        `The value ${JSON.stringify(stateValue)} for parameter StateValue is invalid; use OK, ALARM or INSUFFICIENT_DATA.`,
      );
    const actionPrefix = stringField(input, "ActionPrefix", 1024, false);
    const types = stringList(input, "AlarmTypes", 2);
    const maxRecords = integerField(input, "MaxRecords", false) ?? 50;
    if (maxRecords < 1 || maxRecords > 100)
      throw cloudWatchErrors.invalidValue(
        `The value ${maxRecords} for parameter MaxRecords is invalid: it must be from 1 to 100.`,
      );
    const selected = [...this.alarms.values()]
      .filter((alarm) => (names ? names.includes(alarm.name) : true))
      .filter((alarm) => (prefix !== undefined ? alarm.name.startsWith(prefix) : true))
      .filter((alarm) => (stateValue !== undefined ? alarm.state === stateValue : true))
      .filter((alarm) =>
        actionPrefix !== undefined
          ? ["AlarmActions", "OKActions", "InsufficientDataActions"].some((list) =>
              ((alarm.definition[list] as string[] | undefined) ?? []).some((action) =>
                action.startsWith(actionPrefix),
              ),
            )
          : true,
      )
      .filter(() => (types ? types.includes("MetricAlarm") : true))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const offset = readToken(input["NextToken"]);
    const page = selected.slice(offset, offset + maxRecords);
    return {
      MetricAlarms: page.map((alarm) => this.alarmOutput(alarm)),
      CompositeAlarms: [],
      ...(offset + maxRecords < selected.length ? { NextToken: writeToken(offset + maxRecords) } : {}),
    };
  }

  private alarmOutput(alarm: Alarm): Record<string, unknown> {
    const { Tags: _tags, ...definition } = alarm.definition;
    return {
      ...definition,
      AlarmName: alarm.name,
      AlarmArn: alarm.arn,
      ActionsEnabled: definition["ActionsEnabled"] ?? true,
      OKActions: definition["OKActions"] ?? [],
      AlarmActions: definition["AlarmActions"] ?? [],
      InsufficientDataActions: definition["InsufficientDataActions"] ?? [],
      ...(definition["MetricName"] !== undefined ? { Dimensions: definition["Dimensions"] ?? [] } : {}),
      EvaluationPeriods: alarm.evaluationPeriods,
      DatapointsToAlarm: alarm.datapointsToAlarm,
      TreatMissingData: alarm.treatMissingData,
      StateValue: alarm.state,
      StateReason: alarm.stateReason,
      ...(alarm.stateReasonData !== undefined ? { StateReasonData: alarm.stateReasonData } : {}),
      StateUpdatedTimestamp: alarm.stateUpdatedAt / 1000,
      StateTransitionedTimestamp: alarm.stateUpdatedAt / 1000,
      AlarmConfigurationUpdatedTimestamp: alarm.configurationUpdatedAt / 1000,
      ...(alarm.evaluationState !== undefined ? { EvaluationState: alarm.evaluationState } : {}),
    };
  }

  private deleteAlarms(input: Record<string, unknown>): Record<string, unknown> {
    const names = stringList(input, "AlarmNames", 100);
    if (!names || names.length === 0) throw cloudWatchErrors.missing("The parameter AlarmNames is required.");
    const unknown = names.filter((name) => !this.alarms.has(name));
    if (unknown.length > 0)
      throw resourceNotFound(`${unknown.map((name) => `Alarm ${name}`).join(", ")} not found.`);
    for (const name of names) this.alarms.delete(name);
    return {};
  }

  private setAlarmState(input: Record<string, unknown>): Record<string, unknown> {
    const name = stringField(input, "AlarmName", 255, true) as string;
    const state = stringField(input, "StateValue", 64, true) as AlarmState;
    if (!STATES.has(state))
      throw cloudWatchErrors.invalidValue(
        `The value ${JSON.stringify(state)} for parameter StateValue is invalid; use OK, ALARM or INSUFFICIENT_DATA.`,
      );
    const reason = stringField(input, "StateReason", 1023, true) as string;
    const reasonData = stringField(input, "StateReasonData", 4000, false);
    if (reasonData !== undefined) {
      try {
        JSON.parse(reasonData);
      } catch {
        throw invalidFormat("StateReasonData must be valid JSON.");
      }
    }
    const alarm = this.alarms.get(name);
    if (!alarm) throw resourceNotFound(`Alarm ${name} not found`);
    // The state holds only until the next evaluation, which recomputes it from the metric, as CloudWatch does.
    if (alarm.state !== state) this.transition(alarm, state, reason, reasonData);
    return {};
  }

  private describeAlarmHistory(input: Record<string, unknown>): Record<string, unknown> {
    const name = stringField(input, "AlarmName", 255, false);
    const type = stringField(input, "HistoryItemType", 64, false);
    if (
      type !== undefined &&
      ![
        "ConfigurationUpdate",
        "StateUpdate",
        "Action",
        "AlarmContributorStateUpdate",
        "AlarmContributorAction",
      ].includes(type)
    )
      throw cloudWatchErrors.invalidValue(
        `The value ${JSON.stringify(type)} for parameter HistoryItemType is invalid; use ConfigurationUpdate, StateUpdate or Action.`,
      );
    const start = typeof input["StartDate"] === "number" ? (input["StartDate"] as number) * 1000 : -Infinity;
    const end = typeof input["EndDate"] === "number" ? (input["EndDate"] as number) * 1000 : Infinity;
    const maxRecords = integerField(input, "MaxRecords", false) ?? 100;
    if (maxRecords < 1 || maxRecords > 100)
      throw cloudWatchErrors.invalidValue(
        `The value ${maxRecords} for parameter MaxRecords is invalid: it must be from 1 to 100.`,
      );
    const scanBy = input["ScanBy"] ?? "TimestampDescending";
    if (scanBy !== "TimestampDescending" && scanBy !== "TimestampAscending")
      throw cloudWatchErrors.invalidValue(
        `The value ${JSON.stringify(scanBy)} for parameter ScanBy is invalid.`,
      );
    const items = this.history
      .filter((item) => (name !== undefined ? item.alarmName === name : true))
      .filter((item) => (type !== undefined ? item.type === type : true))
      .filter((item) => item.timestamp >= start && item.timestamp <= end);
    if (scanBy === "TimestampDescending") items.reverse();
    const offset = readToken(input["NextToken"]);
    const page = items.slice(offset, offset + maxRecords);
    return {
      AlarmHistoryItems: page.map((item) => ({
        AlarmName: item.alarmName,
        AlarmType: "MetricAlarm",
        Timestamp: item.timestamp / 1000,
        HistoryItemType: item.type,
        HistorySummary: item.summary,
        HistoryData: item.data,
      })),
      ...(offset + maxRecords < items.length ? { NextToken: writeToken(offset + maxRecords) } : {}),
    };
  }

  // ------------------------------------------------------------ tags

  private alarmByArn(input: Record<string, unknown>): Alarm {
    const arn = stringField(input, "ResourceARN", 1024, true) as string;
    const alarm = [...this.alarms.values()].find((candidate) => candidate.arn === arn);
    if (!alarm)
      throw new CloudWatchError(
        "ResourceNotFoundException",
        "ResourceNotFoundException",
        `The resource ${arn} does not exist.`,
        404,
      );
    return alarm;
  }

  private tagResource(input: Record<string, unknown>): Record<string, unknown> {
    const alarm = this.alarmByArn(input);
    const tags = readTags(input["Tags"]);
    if (tags.size === 0) throw cloudWatchErrors.missing("The parameter Tags is required.");
    const merged = new Set([...alarm.tags.keys(), ...tags.keys()]);
    if (merged.size > 50)
      throw new CloudWatchError(
        "LimitExceededException",
        "LimitExceededException",
        `A resource has at most 50 tags; ${alarm.name} would have ${merged.size}.`,
      );
    for (const [key, value] of tags) alarm.tags.set(key, value);
    return {};
  }

  private untagResource(input: Record<string, unknown>): Record<string, unknown> {
    const alarm = this.alarmByArn(input);
    for (const key of stringList(input, "TagKeys", 50) ?? []) alarm.tags.delete(key);
    return {};
  }

  private listTagsForResource(input: Record<string, unknown>): Record<string, unknown> {
    const alarm = this.alarmByArn(input);
    return { Tags: [...alarm.tags].map(([Key, Value]) => ({ Key, Value })) };
  }

  // ------------------------------------------------------------ evaluation

  /** The state the metric says the alarm is in; undefined to keep the current one (ignore, all missing). */
  private evaluateAlarm(alarm: Alarm): { state: AlarmState; reason: string; reasonData: string } | undefined {
    const now = this.options.now();
    const periodMs = alarm.period * 1000;
    const end = Math.floor(now / periodMs) * periodMs;
    const start = end - alarm.evaluationPeriods * periodMs;
    const [result] = evaluateCloudWatchQueries(this.store, {
      queries: alarm.queries,
      startTime: start,
      endTime: end,
      scanBy: "TimestampAscending",
      maxDatapoints: 100_800,
    });
    const byBucket = new Map<number, number>();
    result?.timestamps.forEach((timestamp, index) => {
      const value = result.values[index];
      if (value !== undefined && Number.isFinite(value)) byBucket.set(timestamp, value);
    });
    // Newest first, as CloudWatch lists them in the reason.
    const points: AlarmDatapoint[] = [];
    for (let bucket = end - periodMs; bucket >= start; bucket -= periodMs) {
      const value = byBucket.get(bucket);
      points.push(value === undefined ? { timestamp: bucket } : { timestamp: bucket, value });
    }
    const judged = judgeAlarm({
      points,
      datapointsToAlarm: alarm.datapointsToAlarm,
      threshold: alarm.threshold,
      comparison: alarm.comparison,
      treatMissingData: alarm.treatMissingData,
      currentState: alarm.state,
    });
    if (!judged) return undefined;
    const present = points.filter((point) => point.value !== undefined);
    const reasonData = JSON.stringify({
      version: "1.0",
      queryDate: cloudWatchDate(now),
      startDate: cloudWatchDate(start),
      ...(alarm.definition["MetricName"] !== undefined
        ? {
            [alarm.definition["ExtendedStatistic"] !== undefined ? "extendedStatistic" : "statistic"]:
              alarm.statisticName,
          }
        : {}),
      period: alarm.period,
      recentDatapoints: present.map((point) => point.value),
      threshold: alarm.threshold,
      evaluatedDatapoints: present.map((point) => ({
        timestamp: cloudWatchDate(point.timestamp),
        value: point.value,
      })),
    });
    return { ...judged, reasonData };
  }

  private transition(
    alarm: Alarm,
    state: AlarmState,
    reason: string,
    reasonData: string | undefined,
  ): AlarmStateChange {
    const now = this.options.now();
    const previous = {
      value: alarm.state,
      reason: alarm.stateReason,
      reasonData: alarm.stateReasonData,
      timestamp: alarm.stateUpdatedAt,
    };
    alarm.state = state;
    alarm.stateReason = reason;
    if (reasonData === undefined) delete alarm.stateReasonData;
    else alarm.stateReasonData = reasonData;
    alarm.stateUpdatedAt = now;
    this.history.push({
      alarmName: alarm.name,
      timestamp: now,
      type: "StateUpdate",
      summary: `Alarm updated from ${previous.value} to ${state}`,
      data: JSON.stringify({
        version: "1.0",
        oldState: {
          stateValue: previous.value,
          stateReason: previous.reason,
          ...(previous.reasonData ? { stateReasonData: JSON.parse(previous.reasonData) } : {}),
        },
        newState: {
          stateValue: state,
          stateReason: reason,
          ...(reasonData ? { stateReasonData: JSON.parse(reasonData) } : {}),
        },
      }),
    });
    this.options.events?.putServiceEvent({
      source: "aws.cloudwatch",
      detailType: "CloudWatch Alarm State Change",
      resources: [alarm.arn],
      time: now,
      detail: {
        alarmName: alarm.name,
        state: {
          value: state,
          reason,
          ...(reasonData !== undefined ? { reasonData } : {}),
          timestamp: cloudWatchDate(now),
        },
        previousState: {
          value: previous.value,
          reason: previous.reason,
          ...(previous.reasonData !== undefined ? { reasonData: previous.reasonData } : {}),
          timestamp: cloudWatchDate(previous.timestamp),
        },
        configuration: this.eventConfiguration(alarm),
      },
    });
    return {
      alarmName: alarm.name,
      alarmArn: alarm.arn,
      previousState: previous.value,
      state,
      reason,
      timestamp: now,
    };
  }

  /** The alarm's configuration as the state-change event carries it: metrics in camelCase, dimensions as a map. */
  private eventConfiguration(alarm: Alarm): Record<string, unknown> {
    const description = alarm.definition["AlarmDescription"];
    return {
      ...(typeof description === "string" ? { description } : {}),
      metrics: alarm.queries.map((query) => {
        const stat = query["MetricStat"] as Record<string, unknown> | undefined;
        const metric = stat?.["Metric"] as Record<string, unknown> | undefined;
        return {
          id: query["Id"],
          ...(stat && metric
            ? {
                metricStat: {
                  metric: {
                    namespace: metric["Namespace"],
                    name: metric["MetricName"],
                    dimensions: readDimensions(metric["Dimensions"], "Dimensions"),
                  },
                  period: stat["Period"],
                  stat: stat["Stat"],
                  ...(stat["Unit"] !== undefined ? { unit: stat["Unit"] } : {}),
                },
              }
            : { expression: query["Expression"] }),
          ...(query["Label"] !== undefined ? { label: query["Label"] } : {}),
          returnData: query["ReturnData"] !== false,
        };
      }),
    };
  }
}

/** The alarm's queries: a single-metric alarm becomes one MetricStat query; a math alarm keeps its Metrics. */
function readAlarmMetric(input: Record<string, unknown>): {
  queries: Array<Record<string, unknown>>;
  period: number;
  statisticName: string;
} {
  const single = [
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
  ].filter((field) => input[field] !== undefined);
  const metrics = input["Metrics"];
  if (metrics !== undefined) {
    if (single.length > 0) {
      throw cloudWatchErrors.combination(
        `Metrics cannot be combined with ${single.join(", ")}: a metric math alarm gives each metric its own MetricStat.`,
      );
    }
    if (!Array.isArray(metrics) || metrics.length === 0 || metrics.length > 10)
      throw cloudWatchErrors.validation("Metrics must be a list of 1 to 10 MetricDataQuery structures.");
    const queries = metrics as Array<Record<string, unknown>>;
    const returned = queries.filter((query) => query?.["ReturnData"] !== false);
    if (returned.length !== 1) {
      throw cloudWatchErrors.validation(
        `Exactly one element of the metrics list should return data: ${returned.length} have ReturnData true (absent counts as true); set ReturnData false on the others.`,
      );
    }
    const result = returned[0] as Record<string, unknown>;
    const periods = queries
      .map(
        (query) =>
          (query?.["MetricStat"] as Record<string, unknown> | undefined)?.["Period"] ?? query?.["Period"],
      )
      .filter((period): period is number => typeof period === "number");
    const period =
      (result["MetricStat"] as Record<string, unknown> | undefined)?.["Period"] ??
      result["Period"] ??
      periods[0];
    if (typeof period !== "number")
      throw cloudWatchErrors.validation("A metric math alarm needs a Period on its metrics.");
    checkPeriod(period, "Metrics[].Period");
    for (const other of periods) checkPeriod(other, "Metrics[].MetricStat.Period");
    const stat = (result["MetricStat"] as Record<string, unknown> | undefined)?.["Stat"];
    return { queries, period, statisticName: typeof stat === "string" ? stat : "" };
  }
  const metricName = stringField(input, "MetricName", 255, false);
  const namespace = stringField(input, "Namespace", 255, false);
  if (metricName === undefined || namespace === undefined)
    throw cloudWatchErrors.validation(
      "An alarm needs either MetricName and Namespace, or Metrics (metric math).",
    );
  const statistic = stringField(input, "Statistic", 64, false);
  const extended = stringField(input, "ExtendedStatistic", 64, false);
  if ((statistic === undefined) === (extended === undefined)) {
    throw cloudWatchErrors.combination(
      `Exactly one of Statistic or ExtendedStatistic must be specified (${statistic === undefined ? "neither was" : "both were"}).`,
    );
  }
  if (statistic !== undefined && !["SampleCount", "Average", "Sum", "Minimum", "Maximum"].includes(statistic))
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(statistic)} for parameter Statistic is invalid; use SampleCount, Average, Sum, Minimum or Maximum.`,
    );
  if (extended !== undefined && parseStatistic(extended)?.kind !== "percentile")
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(extended)} for parameter ExtendedStatistic is invalid; use a percentile such as p95 or p99.9.`,
    );
  const period = integerField(input, "Period", false);
  if (period === undefined)
    throw cloudWatchErrors.validation("Period is required for an alarm on a single metric.");
  checkPeriod(period, "Period");
  const unit = readUnit(input["Unit"], "Unit");
  readDimensions(input["Dimensions"], "Dimensions");
  const statName = (statistic ?? extended) as string;
  return {
    queries: [
      {
        Id: "m1",
        MetricStat: {
          Metric: { Namespace: namespace, MetricName: metricName, Dimensions: input["Dimensions"] ?? [] },
          Period: period,
          Stat: statName,
          ...(unit !== undefined ? { Unit: unit } : {}),
        },
        ReturnData: true,
      },
    ],
    period,
    statisticName: statName,
  };
}

function checkPeriod(period: number, path: string): void {
  if (
    !Number.isInteger(period) ||
    !(period === 10 || period === 20 || period === 30 || (period >= 60 && period % 60 === 0))
  ) {
    throw cloudWatchErrors.validation(
      `The value ${JSON.stringify(period)} for parameter ${path} is invalid: an alarm's period is 10, 20, 30 or a multiple of 60 seconds.`,
    );
  }
}

function readTags(value: unknown): Map<string, string> {
  const tags = new Map<string, string>();
  if (value === undefined || value === null) return tags;
  if (!Array.isArray(value)) throw cloudWatchErrors.invalidValue("Tags must be a list of {Key, Value}.");
  if (value.length > 50)
    throw new CloudWatchError(
      "LimitExceededException",
      "LimitExceededException",
      `Tags holds ${value.length} tags; at most 50.`,
    );
  for (const [index, tag] of value.entries()) {
    const key = (tag as Record<string, unknown>)?.["Key"];
    const tagValue = (tag as Record<string, unknown>)?.["Value"];
    if (
      typeof key !== "string" ||
      key.length < 1 ||
      key.length > 128 ||
      typeof tagValue !== "string" ||
      tagValue.length > 256
    )
      throw cloudWatchErrors.invalidValue(
        `Tags[${index}] must have a Key of 1 to 128 characters and a Value of at most 256.`,
      );
    tags.set(key, tagValue);
  }
  return tags;
}

function stringField(
  input: Record<string, unknown>,
  name: string,
  max: number,
  required: boolean,
): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) {
    if (required) throw cloudWatchErrors.missing(`The parameter ${name} is required.`);
    return undefined;
  }
  if (typeof value !== "string" || value.length === 0 || value.length > max)
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(value)} for parameter ${name} is invalid: it must be a string of 1 to ${max} characters.`,
    );
  return value;
}

function integerField(input: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) {
    if (required) throw cloudWatchErrors.missing(`The parameter ${name} is required.`);
    return undefined;
  }
  if (typeof value !== "number" || !Number.isInteger(value))
    throw cloudWatchErrors.invalidValue(
      `The value ${JSON.stringify(value)} for parameter ${name} is invalid: it must be an integer.`,
    );
  return value;
}

function stringList(input: Record<string, unknown>, name: string, max: number): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string"))
    throw cloudWatchErrors.invalidValue(`${name} must be a list of strings.`);
  if (value.length > max)
    throw cloudWatchErrors.invalidValue(`${name} holds ${value.length} members; at most ${max}.`);
  return value as string[];
}

function readToken(token: unknown): number {
  if (token === undefined || token === null) return 0;
  const offset =
    typeof token === "string" ? Number(Buffer.from(token, "base64url").toString("utf8")) : Number.NaN;
  if (!Number.isInteger(offset) || offset < 0)
    throw cloudWatchErrors.invalidNextToken("The NextToken is not valid.");
  return offset;
}

function writeToken(offset: number): string {
  return Buffer.from(String(offset)).toString("base64url");
}

function sendAdmin(res: ServerResponse, status: number, body: unknown): void {
  const payload = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}
