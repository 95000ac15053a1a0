/**
 * CloudWatch alarms at a migration's rollback thresholds. The scheduled gate is
 * the judge of record; these alarms exist so a breach reaches the rollback
 * workflow within minutes instead of at the next schedule.
 */
import { CloudwatchMetricAlarm } from "@cdktn/provider-aws/lib/cloudwatch-metric-alarm/index.js";
import { Annotations } from "cdktn";
import { Construct } from "constructs";
import { durationSeconds } from "../../src/model/duration.js";
import type { GateMetricSpec, GateSpec } from "../../src/model/spec.js";
import type { AlarmSettings } from "../inputs/config.js";
import { type AlarmQuery, alarmMetricFor, type SideDimensions } from "./alarm-metrics.js";
import { awsName, NAME_LIMITS } from "./names.js";

export interface RollbackAlarmsProps {
  stackName: string;
  migrationId: string;
  gates: { name: string; gate: GateSpec }[];
  dimensions: SideDimensions;
  settings: AlarmSettings;
  tags: Record<string, string>;
}

/** One alarm and the spec threshold it stands for. */
export interface RollbackAlarm {
  name: string;
  gate: string;
  metric: string;
  bound: "max" | "min";
  threshold: number;
  resource: CloudwatchMetricAlarm;
}

/**
 * One alarm per gate metric and rollback bound (`max` fires above it, `min`
 * below it). Metrics no alarm can express are reported as synthesis warnings,
 * never silently dropped.
 */
export class RollbackAlarms extends Construct {
  readonly alarms: RollbackAlarm[] = [];

  constructor(scope: Construct, id: string, props: RollbackAlarmsProps) {
    super(scope, id);
    for (const { name: gateName, gate } of props.gates) {
      for (const metric of gate.metrics) {
        if (!metric.rollback) continue;
        const period = alarmPeriod(
          gate.period,
          isHighResolution(metric, props.settings.highResolutionNamespaces),
        );
        const expressed = alarmMetricFor(metric, props.dimensions, period);
        if ("unsupported" in expressed) {
          Annotations.of(this).addWarning(
            `migration "${props.migrationId}" gate "${gateName}" metric "${metric.name}": no alarm (${expressed.unsupported})`,
          );
          continue;
        }
        for (const bound of ["max", "min"] as const) {
          const threshold = metric.rollback[bound];
          if (threshold === undefined) continue;
          this.alarms.push(this.createAlarm(props, gateName, metric, bound, threshold, expressed.queries));
        }
      }
    }
  }

  private createAlarm(
    props: RollbackAlarmsProps,
    gateName: string,
    metric: GateMetricSpec,
    bound: "max" | "min",
    threshold: number,
    queries: AlarmQuery[],
  ): RollbackAlarm {
    const name = awsName(
      "CloudWatch alarm",
      NAME_LIMITS.alarm,
      props.stackName,
      props.migrationId,
      gateName,
      metric.name,
      `rollback-${bound}`,
    );
    const resource = new CloudwatchMetricAlarm(this, `${gateName}-${metric.name}-${bound}`, {
      alarmName: name,
      alarmDescription: `cutover rollback threshold of migration ${props.migrationId}, gate ${gateName}, metric ${metric.name} (${metric.side ?? "new"} side): ${bound} ${threshold}. Entering ALARM sends repository_dispatch cutover-alarm.`,
      comparisonOperator: bound === "max" ? "GreaterThanThreshold" : "LessThanThreshold",
      threshold,
      evaluationPeriods: props.settings.evaluationPeriods,
      datapointsToAlarm: props.settings.datapointsToAlarm,
      // Missing data is the gate's "insufficient data", never a breach: an idle side must not roll back.
      treatMissingData: "notBreaching",
      metricQuery: queries.map((query) => ({
        id: query.id,
        expression: query.expression,
        label: query.label,
        returnData: query.returnData,
        metric: query.metric,
      })),
      tags: { ...props.tags, "cutover:gate": gateName, "cutover:metric": metric.name },
    });
    return { name, gate: gateName, metric: metric.name, bound, threshold, resource };
  }
}

/**
 * The services behind both sides (AWS/ApiGateway, AWS/Lambda,
 * AWS/ApplicationELB, AWS/ECS) publish one-minute metrics, so an alarm period
 * shorter than 60 s would only see gaps; longer gate periods round up to whole
 * minutes, as CloudWatch requires. A metric published at high resolution
 * (StorageResolution 1) may use the 10 s and 30 s periods CloudWatch allows
 * for high-resolution alarms.
 */
export function alarmPeriod(gatePeriod: string, highResolution = false): number {
  const seconds = durationSeconds(gatePeriod);
  if (highResolution && seconds <= 10) return 10;
  if (highResolution && seconds <= 30) return 30;
  return Math.max(60, Math.ceil(seconds / 60) * 60);
}

/**
 * A metric is high resolution only when it is custom and every query reads a
 * namespace the configuration declares as published with StorageResolution 1:
 * neither the spec nor CloudWatch's alarm API says how a metric was stored.
 */
export function isHighResolution(metric: GateMetricSpec, highResolutionNamespaces: string[]): boolean {
  if (typeof metric.metric === "string") return false;
  const queries = Object.values(metric.metric.queries);
  return queries.length > 0 && queries.every((query) => highResolutionNamespaces.includes(query.namespace));
}
