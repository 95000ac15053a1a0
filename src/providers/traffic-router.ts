/**
 * The traffic router: whatever splits requests between the old and the new
 * side by weight. One implementation per file; {@link createTrafficRouter}
 * picks one by the spec's `kind` and refuses kinds it does not know.
 */
import type { Route53Client } from "@aws-sdk/client-route-53";
import type { TrafficRouterSpec } from "../model/spec.js";
import type { RecordSnapshot, Weights } from "../model/status.js";
import { Route53Router, type Route53RouterOptions } from "./route53-router.js";

/** Weights as the router stores them on its two records (Route 53: integers 0–255). */
export interface RecordWeights {
  old: number;
  new: number;
}

/** The two weighted records of a migration, as read just now. */
export interface WeightedPair {
  old: RecordSnapshot;
  new: RecordSnapshot;
  /**
   * Seconds a resolver may keep answering with the previous weights after the
   * change is in sync: the longer TTL of the two records.
   */
  cacheSeconds: number;
  /** Where {@link cacheSeconds} comes from, for summaries ("TTL 60 s of ecs-fargate"). */
  cacheSource: string;
  /** The router's own representation of the records, handed back to {@link TrafficRouter.submitWeights} untouched. */
  readonly native: unknown;
}

/** A change the router accepted. */
export interface SubmittedChange {
  id: string;
  submittedAt: Date;
  /** Status when submitted, e.g. PENDING. */
  status: string;
}

/** What is wrong with the records when the router refuses to touch them. */
export type RouterRefusalCode =
  | "record-missing"
  | "not-weighted"
  | "foreign-weighted-record"
  | "managed-by-traffic-policy"
  | "weight-out-of-range"
  | "insync-timeout"
  /** The records changed between reading and writing them: another writer won; nothing was changed. */
  | "concurrent-change";

/** The records are not in a shape the router can change safely; nothing was changed. */
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
  readonly kind: TrafficRouterSpec["kind"];
  /** Where the records live, for messages: "Route 53 zone Z1 record api.example.com A". */
  readonly label: string;
  /** Reads both records; throws {@link TrafficRouterRefusal} when either is missing or not weighted. */
  readPair(): Promise<WeightedPair>;
  /** The record weights that give the new side `percent` percent of traffic. */
  recordWeightsFor(percent: number): RecordWeights;
  /** The share of traffic each side receives under the given record weights, in percent. */
  effectiveWeights(recordWeights: RecordWeights): Weights;
  /** Writes both weights in one atomic change, every other field of each record preserved. */
  submitWeights(pair: WeightedPair, target: RecordWeights, comment: string): Promise<SubmittedChange>;
  /** Waits, bounded, until the change has reached every authoritative server; returns when it was seen so. */
  waitInSync(change: SubmittedChange, timeoutSeconds: number): Promise<Date>;
}

/** The clients routers may use; each router takes the one it needs. */
export interface RouterClients {
  route53: Route53Client;
}

export interface RouterOptions {
  route53?: Route53RouterOptions;
}

type RouterFactory = (
  spec: TrafficRouterSpec,
  clients: RouterClients,
  options: RouterOptions,
) => TrafficRouter;

const ROUTER_FACTORIES: Record<TrafficRouterSpec["kind"], RouterFactory> = {
  route53: (spec, clients, options) => new Route53Router(spec, clients.route53, options.route53),
};

/**
 * Creates the router the spec names. An unknown kind is an error naming the
 * kinds that exist: a router that silently fell back to another would move
 * traffic somewhere nobody asked for.
 */
export function createTrafficRouter(
  spec: TrafficRouterSpec,
  clients: RouterClients,
  options: RouterOptions = {},
): TrafficRouter {
  const kind = (spec as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !Object.hasOwn(ROUTER_FACTORIES, kind)) {
    throw new Error(
      `router.kind ${JSON.stringify(kind)} is not a known traffic router; known kinds: ${Object.keys(ROUTER_FACTORIES).join(", ")}`,
    );
  }
  return ROUTER_FACTORIES[kind as TrafficRouterSpec["kind"]](spec, clients, options);
}
