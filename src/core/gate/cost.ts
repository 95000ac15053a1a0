/**
 * Cost of the new side over the window, estimated from the same metrics the
 * gate reads and the prices in the spec, against the monthly projection
 * scaled to the window's length and the traffic the new side carried.
 */
import type { CostSpec } from "../../model/spec.js";
import { round } from "./verdict.js";

/** The spec's projection is per 30-day month. */
export const SECONDS_PER_MONTH = 30 * 86_400;

export interface LambdaUsage {
  kind: "lambda";
  invocations: number;
  /** Sum of Duration over the window, milliseconds. */
  durationMs: number;
}

export interface EcsUsage {
  kind: "ecs";
  /** Average running tasks over the window. */
  averageTasks: number;
}

export type ComputeUsage = LambdaUsage | EcsUsage;

export interface CostEstimate {
  usd: number;
  /** How the figure was reached, item by item. */
  items: Array<{ item: string; quantity: number; unitPrice: number; usd: number }>;
}

/** Thrown when the spec lacks a price or size the estimate needs; names the field. */
export class CostSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CostSpecError";
  }
}

function price(cost: CostSpec, field: keyof CostSpec["prices"]): number {
  const value = cost.prices?.[field];
  if (typeof value !== "number" || value < 0) {
    throw new CostSpecError(
      `cost.prices.${field} is needed to estimate the new side's cost (a price in USD, ≥ 0)`,
    );
  }
  return value;
}

/** Lambda: requests and GB-seconds; ECS: task-hours. */
export function estimateCost(usage: ComputeUsage, cost: CostSpec, windowSeconds: number): CostEstimate {
  if (usage.kind === "lambda") {
    const memoryMb = cost.lambdaMemoryMb;
    if (typeof memoryMb !== "number" || memoryMb <= 0) {
      throw new CostSpecError("cost.lambdaMemoryMb is needed for GB-seconds (the function's memory in MB)");
    }
    const perMillion = price(cost, "lambdaPerMillionRequests");
    const perGbSecond = price(cost, "lambdaPerGbSecond");
    const gbSeconds = (usage.durationMs / 1000) * (memoryMb / 1024);
    const items = [
      {
        item: "Lambda requests",
        quantity: usage.invocations,
        unitPrice: perMillion / 1e6,
        usd: (usage.invocations / 1e6) * perMillion,
      },
      {
        item: "Lambda GB-seconds",
        quantity: gbSeconds,
        unitPrice: perGbSecond,
        usd: gbSeconds * perGbSecond,
      },
    ];
    return { usd: items.reduce((total, item) => total + item.usd, 0), items };
  }
  const perTaskHour = price(cost, "ecsPerTaskHour");
  const taskHours = (usage.averageTasks * windowSeconds) / 3600;
  return {
    usd: taskHours * perTaskHour,
    items: [
      { item: "ECS task-hours", quantity: taskHours, unitPrice: perTaskHour, usd: taskHours * perTaskHour },
    ],
  };
}

/** The projection for this window: monthly figure × window / 30 days × the new side's share of traffic. */
export function projectionForWindow(cost: CostSpec, windowSeconds: number, newWeightPercent: number): number {
  return cost.monthlyProjectionUsd * (windowSeconds / SECONDS_PER_MONTH) * (newWeightPercent / 100);
}

export interface CostJudgement {
  verdict: "pass" | "fail" | "insufficient-data";
  estimateUsd: number;
  projectionUsd: number;
  /** Projection × (1 + tolerance): above this is a breach. */
  limitUsd: number;
  tolerance: number;
  weightPercent: number;
  items: CostEstimate["items"];
  reason: string;
}

/** An estimate above the scaled projection plus its tolerance is a failure with the figures. */
export function judgeCost(
  estimate: CostEstimate,
  cost: CostSpec,
  windowSeconds: number,
  newWeightPercent: number,
): CostJudgement {
  const projectionUsd = projectionForWindow(cost, windowSeconds, newWeightPercent);
  const limitUsd = projectionUsd * (1 + cost.tolerance);
  const base = {
    estimateUsd: estimate.usd,
    projectionUsd,
    limitUsd,
    tolerance: cost.tolerance,
    weightPercent: newWeightPercent,
    items: estimate.items,
  };
  if (newWeightPercent <= 0) {
    return {
      ...base,
      verdict: "insufficient-data",
      reason: "the new side carries 0 % of traffic: no projection to compare with",
    };
  }
  const over = estimate.usd > limitUsd;
  return {
    ...base,
    verdict: over ? "fail" : "pass",
    reason: `estimated $${round(estimate.usd)} ${over ? ">" : "≤"} $${round(limitUsd)} (projection $${round(projectionUsd)} for ${round(windowSeconds / 3600)} h at ${newWeightPercent} %, + ${round(cost.tolerance * 100)} %)`,
  };
}
