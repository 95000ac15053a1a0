/**
 * Turns a gate of the spec into the CloudWatch queries that answer it. Every
 * metric is asked twice: per gate period (the series, for charts and for
 * finding missing points) and with one period covering the whole window
 * (the value that is judged, so a p95 over 72 h is CloudWatch's own p95 and
 * not an average of hourly p95s). The same statistic asked by two metrics is
 * fetched once.
 */
import type {
  CompareCheckSpec,
  CompareMetricSpec,
  CostSpec,
  GateMetricSpec,
  GateSpec,
  Migration,
  TargetSpec,
} from "../../model/spec.js";
import {
  type MetricDefinition,
  MetricDefinitionError,
  metricDefinition,
  requestCountStat,
} from "./presets.js";
import {
  type MetricQuery,
  type MetricStatSpec,
  QUERY_ID_PATTERN,
  renameReferences,
  statKey,
} from "./queries.js";
import type { GateWindow } from "./window.js";

export type SideName = "new" | "old";

/** The returned ids of one definition asked at both resolutions. */
export interface PlannedValue {
  /** Per gate period. */
  seriesId: string;
  /** One period covering the window. */
  windowId: string;
}

export interface PlannedMetric {
  name: string;
  index: number;
  side: SideName;
  spec: GateMetricSpec;
  definition: MetricDefinition;
  value: PlannedValue;
  /** The same metric on the old side, when the spec compares the two. */
  oldValue?: PlannedValue;
}

export type CostPlan =
  | { kind: "lambda"; invocationsId: string; durationId: string; cost: CostSpec }
  | { kind: "ecs"; runningTasksId: string; cost: CostSpec };

/** A compare check's metric, asked per gate period on both sides. */
export interface PlannedCompareMetric {
  spec: CompareMetricSpec;
  index: number;
  definitions: Record<SideName, MetricDefinition>;
  /** Series ids (per gate period) of the new and the old side. */
  seriesIds: Record<SideName, string>;
}

export interface PlannedCompareCheck {
  spec: CompareCheckSpec;
  index: number;
  metrics: PlannedCompareMetric[];
}

export interface GatePlan {
  gate: string;
  minSamples: number;
  metrics: PlannedMetric[];
  /** The gate's compare checks; absent when it has none. */
  compare?: PlannedCompareCheck[];
  /** Requests served per side, for sample counts and missing-point checks. */
  samples: Partial<Record<SideName, PlannedValue>>;
  cost?: CostPlan;
  /** Every query, each id once. */
  queries: MetricQuery[];
  /** Groups of query ids that must travel in the same call (an expression with its inputs). */
  units: string[][];
}

/** The statistics cost estimation reads. */
export const ECS_RUNNING_TASKS = {
  namespace: "ECS/ContainerInsights",
  metricName: "RunningTaskCount",
} as const;

/** Collects queries, giving each statistic one id however many metrics ask for it. */
export class QueryPlanBuilder {
  readonly queries: MetricQuery[] = [];
  readonly units: string[][] = [];
  private readonly byKey = new Map<string, MetricQuery & { kind: "stat" }>();

  constructor(private readonly scope: string) {
    if (!/^[a-z][a-z0-9]*$/.test(scope))
      throw new Error(`query scope "${scope}" must be lowercase letters and digits`);
  }

  private id(parts: string[]): string {
    const id = [this.scope, ...parts].join("_").replace(/[^a-zA-Z0-9_]/g, "_");
    if (!QUERY_ID_PATTERN.test(id)) throw new Error(`generated query id "${id}" is not valid`);
    return id;
  }

  private stat(spec: MetricStatSpec, period: number, returnData: boolean, idParts: string[]): string {
    const key = statKey(spec, period);
    const existing = this.byKey.get(key);
    if (existing) {
      existing.returnData ||= returnData;
      return existing.id;
    }
    const query = {
      kind: "stat" as const,
      id: this.id(idParts),
      ...spec,
      dimensions: { ...spec.dimensions },
      period,
      returnData,
    };
    this.byKey.set(key, query);
    this.queries.push(query);
    return query.id;
  }

  /**
   * Adds a definition at one period; returns the id whose datapoints are its
   * value. `res` tells the series ("s") from the whole-window value ("w").
   */
  define(
    definition: MetricDefinition,
    period: number,
    idBase: string[],
    res: "s" | "w",
    label: string,
  ): string {
    const local = Object.keys(definition.inputs);
    const single = definition.expression === undefined;
    const rename = new Map<string, string>();
    for (const localId of local) {
      rename.set(localId, this.stat(definition.inputs[localId]!, period, single, [...idBase, localId, res]));
    }
    if (single) {
      const id = rename.get(local[0]!)!;
      this.units.push([id]);
      return id;
    }
    const id = this.id([...idBase, "value", res]);
    this.queries.push({
      kind: "expression",
      id,
      expression: renameReferences(definition.expression!, rename),
      returnData: true,
      label,
    });
    this.units.push([id, ...rename.values()]);
    return id;
  }

  /** Adds a definition at the series and the window period. */
  defineBoth(
    definition: MetricDefinition,
    window: GateWindow,
    idBase: string[],
    label: string,
  ): PlannedValue {
    return {
      seriesId: this.define(definition, window.periodSeconds, idBase, "s", label),
      windowId: this.define(definition, window.aggregatePeriodSeconds, idBase, "w", label),
    };
  }
}

function sideSpec(migration: Migration, side: SideName): TargetSpec {
  return side === "new" ? migration.newSide : migration.oldSide;
}

function requestsDefinition(side: TargetSpec): MetricDefinition {
  return {
    inputs: { requests: requestCountStat(side) },
    unit: "requests",
    missingMeansZero: true,
    description: "requests served",
  };
}

function planCost(
  builder: QueryPlanBuilder,
  migration: Migration,
  gateName: string,
  window: GateWindow,
): CostPlan {
  const cost = migration.cost;
  if (!cost) {
    throw new MetricDefinitionError(
      { gate: gateName, index: -1 },
      `checkCost is true but the migration "${migration.id}" has no cost (add $.cost with monthlyProjectionUsd, tolerance and prices)`,
    );
  }
  const side = migration.newSide;
  const stat = (spec: MetricStatSpec, part: string) =>
    builder.define(
      { inputs: { [part]: spec }, unit: "", missingMeansZero: true, description: part },
      window.aggregatePeriodSeconds,
      ["cost"],
      "w",
      part,
    );
  if (side.kind === "lambda") {
    const dims = { FunctionName: side.functionName, Resource: `${side.functionName}:${side.alias}` };
    return {
      kind: "lambda",
      cost,
      invocationsId: stat(
        { namespace: "AWS/Lambda", metricName: "Invocations", dimensions: dims, stat: "Sum" },
        "invocations",
      ),
      durationId: stat(
        { namespace: "AWS/Lambda", metricName: "Duration", dimensions: dims, stat: "Sum" },
        "duration",
      ),
    };
  }
  return {
    kind: "ecs",
    cost,
    runningTasksId: stat(
      {
        ...ECS_RUNNING_TASKS,
        dimensions: { ClusterName: side.cluster, ServiceName: side.service },
        stat: "Average",
      },
      "tasks",
    ),
  };
}

/**
 * Plans one gate of one migration over a window. `scope` prefixes every query
 * id, so the plans of many migrations can share a GetMetricData call.
 */
export function planGate(migration: Migration, gateName: string, window: GateWindow, scope = "g"): GatePlan {
  const gate: GateSpec | undefined = migration.gates?.[gateName];
  if (!gate) {
    const names = Object.keys(migration.gates ?? {});
    throw new MetricDefinitionError(
      { gate: gateName, index: -1 },
      `migration "${migration.id}" has no gate "${gateName}"; it defines ${names.map((n) => `"${n}"`).join(", ") || "none"}`,
    );
  }
  const builder = new QueryPlanBuilder(scope);
  const samples: Partial<Record<SideName, PlannedValue>> = {};
  const samplesOf = (side: SideName): PlannedValue => {
    samples[side] ??= builder.defineBoth(
      requestsDefinition(sideSpec(migration, side)),
      window,
      [side, "requests"],
      `${side} side requests`,
    );
    return samples[side];
  };
  samplesOf("new");
  const metrics = gate.metrics.map((spec, index): PlannedMetric => {
    const side = spec.side ?? "new";
    const location = { gate: gateName, index };
    const definition = metricDefinition(spec, sideSpec(migration, side), location);
    samplesOf(side);
    const value = builder.defineBoth(
      definition,
      window,
      [`${side[0]}${index}`],
      `${spec.name} (${side} side)`,
    );
    let oldValue: PlannedValue | undefined;
    if (spec.compareToOld) {
      if (side === "old") {
        throw new MetricDefinitionError(
          location,
          `compareToOld compares the new side with the old; this metric judges the old side`,
        );
      }
      const oldDefinition = metricDefinition({ ...spec, side: "old" }, migration.oldSide, location);
      samplesOf("old");
      oldValue = builder.defineBoth(oldDefinition, window, [`o${index}`], `${spec.name} (old side)`);
    }
    return { name: spec.name, index, side, spec, definition, value, ...(oldValue ? { oldValue } : {}) };
  });
  const compare = (gate.checks ?? []).map((check, checkIndex): PlannedCompareCheck => {
    samplesOf("new");
    samplesOf("old");
    return {
      spec: check,
      index: checkIndex,
      metrics: check.metrics.map((spec, index): PlannedCompareMetric => {
        const path = `gates.${gateName}.checks[${checkIndex}].metrics[${index}]`;
        const definitionOf = (side: SideName) =>
          metricDefinition(
            { name: spec.name, metric: spec.metric, side, pass: {} },
            sideSpec(migration, side),
            {
              gate: gateName,
              index,
              path: `${path} (${side} side)`,
            },
          );
        const definitions = { new: definitionOf("new"), old: definitionOf("old") };
        const seriesIds = {
          new: builder.define(
            definitions.new,
            window.periodSeconds,
            [`c${checkIndex}n${index}`],
            "s",
            `${check.name}: ${spec.name} (new side)`,
          ),
          old: builder.define(
            definitions.old,
            window.periodSeconds,
            [`c${checkIndex}o${index}`],
            "s",
            `${check.name}: ${spec.name} (old side)`,
          ),
        };
        return { spec, index, definitions, seriesIds };
      }),
    };
  });
  const cost = gate.checkCost ? planCost(builder, migration, gateName, window) : undefined;
  return {
    gate: gateName,
    minSamples: gate.minSamples,
    metrics,
    ...(compare.length > 0 ? { compare } : {}),
    samples,
    ...(cost ? { cost } : {}),
    queries: builder.queries,
    units: builder.units,
  };
}
