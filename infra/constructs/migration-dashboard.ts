/**
 * One CloudWatch dashboard per migration with both sides side by side: each row
 * shows the same signal for the old side (ALB in front of ECS) on the left and
 * the new side (API Gateway and Lambda) on the right, so a reviewer compares
 * like with like at a glance.
 */
import { CloudwatchDashboard } from "@cdktn/provider-aws/lib/cloudwatch-dashboard/index.js";
import { Construct } from "constructs";
import type { SideDimensions } from "./alarm-metrics.js";
import { awsName, NAME_LIMITS } from "./names.js";

export interface MigrationDashboardProps {
  stackName: string;
  migrationId: string;
  region: string;
  dimensions: SideDimensions;
  /** ARNs of the alarms shown in the alarm status row. */
  alarmArns: string[];
}

type MetricLine = (string | Record<string, unknown>)[];

interface Widget {
  type: "metric" | "alarm" | "text";
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}

const HALF = 12;
const ROW_HEIGHT = 6;

export class MigrationDashboard extends Construct {
  readonly dashboard: CloudwatchDashboard;
  readonly name: string;

  constructor(scope: Construct, id: string, props: MigrationDashboardProps) {
    super(scope, id);
    this.name = awsName("dashboard", NAME_LIMITS.dashboard, props.stackName, props.migrationId);
    this.dashboard = new CloudwatchDashboard(this, "dashboard", {
      dashboardName: this.name,
      dashboardBody: JSON.stringify({ widgets: dashboardWidgets(props) }),
    });
  }
}

/** The widgets, row by row: old side left, new side right. */
export function dashboardWidgets(props: MigrationDashboardProps): Widget[] {
  const { alb, apiGateway, lambda } = props.dimensions;
  const albDims = ["LoadBalancer", alb.loadBalancer, "TargetGroup", alb.targetGroup];
  const apiDims = ["ApiId", apiGateway.apiId, "Stage", apiGateway.stage];
  const aliasDims = [
    "FunctionName",
    lambda.functionName,
    "Resource",
    `${lambda.functionName}:${lambda.alias}`,
  ];
  const rows: [string, MetricLine[], string, MetricLine[]][] = [
    [
      "Old side (ECS behind ALB): requests",
      [["AWS/ApplicationELB", "RequestCount", ...albDims, { stat: "Sum" }]],
      "New side (Lambda behind API Gateway): requests",
      [["AWS/ApiGateway", "Count", ...apiDims, { stat: "Sum" }]],
    ],
    [
      "Old side: error rate (target 5xx / requests)",
      [
        [
          "AWS/ApplicationELB",
          "HTTPCode_Target_5XX_Count",
          ...albDims,
          { stat: "Sum", id: "errors", visible: false },
        ],
        ["AWS/ApplicationELB", "RequestCount", ...albDims, { stat: "Sum", id: "requests", visible: false }],
        [{ expression: "FILL(errors, 0) / requests", label: "error rate", id: "error_rate" }],
      ],
      "New side: error rate (5xx / requests)",
      [
        ["AWS/ApiGateway", "5xx", ...apiDims, { stat: "Sum", id: "errors", visible: false }],
        ["AWS/ApiGateway", "Count", ...apiDims, { stat: "Sum", id: "requests", visible: false }],
        [{ expression: "FILL(errors, 0) / requests", label: "error rate", id: "error_rate" }],
      ],
    ],
    [
      "Old side: latency (ms)",
      [
        ["AWS/ApplicationELB", "TargetResponseTime", ...albDims, { stat: "p95", id: "p95s", visible: false }],
        ["AWS/ApplicationELB", "TargetResponseTime", ...albDims, { stat: "p99", id: "p99s", visible: false }],
        [{ expression: "p95s * 1000", label: "p95", id: "p95" }],
        [{ expression: "p99s * 1000", label: "p99", id: "p99" }],
      ],
      "New side: latency (ms)",
      [
        ["AWS/ApiGateway", "Latency", ...apiDims, { stat: "p95", label: "p95" }],
        ["AWS/ApiGateway", "Latency", ...apiDims, { stat: "p99", label: "p99" }],
      ],
    ],
    [
      "Old side: healthy and unhealthy targets",
      [
        ["AWS/ApplicationELB", "HealthyHostCount", ...albDims, { stat: "Minimum" }],
        ["AWS/ApplicationELB", "UnHealthyHostCount", ...albDims, { stat: "Maximum" }],
      ],
      "New side: Lambda invocations, errors, throttles, concurrency",
      [
        ["AWS/Lambda", "Invocations", ...aliasDims, { stat: "Sum" }],
        ["AWS/Lambda", "Errors", ...aliasDims, { stat: "Sum" }],
        ["AWS/Lambda", "Throttles", ...aliasDims, { stat: "Sum" }],
        ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", lambda.functionName, { stat: "Maximum" }],
      ],
    ],
  ];

  const widgets: Widget[] = [
    {
      type: "text",
      x: 0,
      y: 0,
      width: 2 * HALF,
      height: 2,
      properties: {
        markdown: `## cutover: ${props.migrationId}\nOld side on the left, new side on the right. Rollback thresholds are the alarms below; the weights live in the migration's status file.`,
      },
    },
  ];
  rows.forEach(([leftTitle, leftMetrics, rightTitle, rightMetrics], index) => {
    const y = 2 + index * ROW_HEIGHT;
    widgets.push(metricWidget(leftTitle, leftMetrics, 0, y, props.region));
    widgets.push(metricWidget(rightTitle, rightMetrics, HALF, y, props.region));
  });
  if (props.alarmArns.length > 0) {
    widgets.push({
      type: "alarm",
      x: 0,
      y: 2 + rows.length * ROW_HEIGHT,
      width: 2 * HALF,
      height: 3,
      properties: { title: "Rollback alarms", alarms: props.alarmArns },
    });
  }
  return widgets;
}

function metricWidget(title: string, metrics: MetricLine[], x: number, y: number, region: string): Widget {
  return {
    type: "metric",
    x,
    y,
    width: HALF,
    height: ROW_HEIGHT,
    properties: { title, metrics, region, period: 60, view: "timeSeries", stacked: false },
  };
}
