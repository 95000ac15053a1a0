/**
 * The traffic router: whatever splits requests between the old and the new
 * side by weight (weighted DNS records, a load balancer's weighted target
 * groups, ...). This file is the contract only; each router is one file, and
 * traffic-routers.ts is the registry that picks one by the spec's `kind`.
 *
 * The contract speaks weights, readiness and an opaque snapshot: callers never
 * look inside what a router reads; they keep its snapshot in checkpoints and
 * hand it back to a router of the same kind.
 */
import type { RouterSnapshot, Weights } from "../model/status.js";
import type { Readiness } from "./compute-target.js";

export type { RouterSnapshot } from "../model/status.js";

/** The two sides of a migration. */
export type RouterSide = "old" | "new";

/** Weights as the router writes them, in its own units (Route 53 record weights 0–255, ALB target group weights 0–999). */
export interface RouterWeights {
  old: number;
  new: number;
}

/** How one side appears in the router, for summaries. */
export interface RouterSideView {
  /** What carries the side: the record's SetIdentifier, the target group's name. */
  name: string;
  /** The same with what it is, for sentences: `record "ecs-fargate"`, `target group "orders-ecs"`. */
  title: string;
  /** The side's weight in the router's units. */
  weight: number;
  /** The fields kept as they were, short, for tables: "TTL 60", "alias api-123.elb.amazonaws.com.". */
  kept: string[];
  /** The same at length, for the summary's findings. */
  detail: string;
}

/** The router's state for one migration, as read just now. */
export interface RouterReading {
  sides: Record<RouterSide, RouterSideView>;
  /** What a rollback to this moment must restore: JSON, kept in checkpoints untouched. */
  snapshot: RouterSnapshot;
  /**
   * Seconds after a change is applied until every request follows it: the
   * longer DNS TTL of two records, a target group's stickiness duration, 0
   * for a router that moves every request at once.
   */
  settleSeconds: number;
  /** Where {@link settleSeconds} comes from, for summaries ("TTL 60 s of ecs-fargate"). */
  settleSource: string;
  /**
   * What the router itself says about each side's ability to serve (target
   * health behind a load balancer); absent where the router cannot tell.
   */
  readiness?: Partial<Record<RouterSide, Readiness>>;
  /** The router's own representation, handed back to {@link TrafficRouter.submitWeights} untouched. */
  readonly native: unknown;
}

/**
 * What is wrong with a snapshot's list of weighted entries (records, target groups): each needs its id
 * field and an integer weight from 0 to `max`. `at` is the list's JSON path.
 */
export function weightedEntriesProblems(
  entries: unknown,
  at: string,
  list: { what: string; idField: string; max: number },
): string[] {
  if (!Array.isArray(entries)) return [`${at} must be ${list.what}`];
  const problems: string[] = [];
  entries.forEach((entry: Record<string, unknown> | undefined, index) => {
    const weight = entry?.weight;
    if (
      typeof entry?.[list.idField] !== "string" ||
      !Number.isInteger(weight) ||
      (weight as number) < 0 ||
      (weight as number) > list.max
    ) {
      problems.push(`${at}[${index}] must have a ${list.idField} and an integer weight 0–${list.max}`);
    }
  });
  return problems;
}

/**
 * Router weights for `percent` percent on the new side, for routers whose weights can carry percent one to
 * one: the two always sum to 100, so they are never both 0. Refuses a share that is not a whole percent.
 */
export function percentRouterWeights(percent: number): RouterWeights {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw new TrafficRouterRefusal(
      "weight-out-of-range",
      `weight ${percent} is not a whole percent from 0 to 100 (the new side's share of traffic)`,
    );
  }
  return { old: 100 - percent, new: percent };
}

/**
 * Each side's share of traffic, in percent to two decimals, under weighted routing; `whenBothZero` is
 * what the router does when both weights are 0.
 */
export function weightedShare(weights: RouterWeights, whenBothZero: Weights): Weights {
  const total = weights.old + weights.new;
  if (total === 0) return { ...whenBothZero };
  const fresh = Math.round((weights.new / total) * 10_000) / 100;
  return { old: Math.round((100 - fresh) * 100) / 100, new: fresh };
}

/** The router's weights in a reading. */
export function readingWeights(reading: RouterReading): RouterWeights {
  return { old: reading.sides.old.weight, new: reading.sides.new.weight };
}

/** A change the router accepted. */
export interface SubmittedChange {
  id: string;
  submittedAt: Date;
  /** Status when submitted, e.g. PENDING; APPLIED for a router whose change is in effect on return. */
  status: string;
}

/** What is wrong with the router's resources when it refuses to touch them. */
export type RouterRefusalCode =
  | "record-missing"
  | "not-weighted"
  | "foreign-weighted-record"
  | "managed-by-traffic-policy"
  | "weight-out-of-range"
  | "insync-timeout"
  /** A listener, rule or target group the spec names does not exist or is not in the shape the router changes. */
  | "resource-missing"
  | "unexpected-shape"
  /** The router's state changed between reading and writing it: another writer won; nothing was changed. */
  | "concurrent-change";

/** The router's resources are not in a shape it can change safely; nothing was changed. */
export class TrafficRouterRefusal extends Error {
  constructor(
    readonly code: RouterRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = "TrafficRouterRefusal";
  }
}

/** Splits traffic between the old and new side of one migration. */
export interface TrafficRouter {
  /** The spec's router kind; snapshots this router takes carry it. */
  readonly kind: string;
  /** Where the split lives, for messages: "Route 53 zone Z1 record api.example.com A". */
  readonly label: string;
  /** Reads the split; throws {@link TrafficRouterRefusal} when it is not in a shape this router can change. */
  read(): Promise<RouterReading>;
  /** The router weights that give the new side `percent` percent of traffic; refuses a share it cannot express. */
  weightsFor(percent: number): RouterWeights;
  /** The share of traffic each side receives under the given router weights, in percent. */
  effectiveWeights(weights: RouterWeights): Weights;
  /**
   * The router weights a snapshot of this router's kind recorded, for an exact
   * restore; undefined when the snapshot does not hold this migration's split.
   */
  snapshotWeights(snapshot: RouterSnapshot): RouterWeights | undefined;
  /**
   * Writes both weights in one change, everything else as read, refused with
   * `concurrent-change` when another writer changed the split since `reading`.
   */
  submitWeights(reading: RouterReading, target: RouterWeights, comment: string): Promise<SubmittedChange>;
  /** Waits, bounded, until the change is in effect everywhere; returns when it was seen so. */
  waitApplied(change: SubmittedChange, timeoutSeconds: number): Promise<Date>;
}

/** Options every router understands. */
export interface RouterOptions {
  /** Told about each extra retry of a throttled call. */
  onThrottled?: (operation: string, attempt: number, delayMs: number, error: unknown) => void;
}
