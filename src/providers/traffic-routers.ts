/**
 * The registry of traffic routers: the one place that knows the
 * implementations, so the operations depend only on the contract in
 * traffic-router.ts. Adding a router is a file exporting its
 * {@link RouterDefinition} and one line in {@link ROUTERS}.
 */
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Route53Client } from "@aws-sdk/client-route-53";
import type { TrafficRouterSpec } from "../model/spec.js";
import type { RouterSnapshot } from "../model/status.js";
import { albRouter } from "./alb-router.js";
import { route53Router } from "./route53-router.js";
import type { RouterOptions, TrafficRouter } from "./traffic-router.js";

/** The clients routers may use; each router takes the one it needs and refuses to start without it. */
export interface RouterClients {
  route53?: Route53Client;
  elbv2?: ElasticLoadBalancingV2Client;
}

/** What a router file exports: how to build it and how to check what it stores. */
export interface RouterDefinition<Spec> {
  /** Builds the router for one migration's spec. */
  create(spec: Spec, clients: RouterClients, options: RouterOptions): TrafficRouter;
  /** The spec's router fields this router cannot work without, for the quick check before a rollback. */
  requiredFields: readonly (keyof Spec & string)[];
  /** Problems with a snapshot of this kind read from a file, each naming its JSON path under `at`. */
  snapshotProblems(snapshot: RouterSnapshot, at: string): string[];
}

type Definitions = {
  [K in TrafficRouterSpec["kind"]]: RouterDefinition<Extract<TrafficRouterSpec, { kind: K }>>;
};

const ROUTERS: Definitions = {
  route53: route53Router,
  alb: albRouter,
};

/** The router kinds this version knows. */
export const ROUTER_KINDS = Object.keys(ROUTERS) as TrafficRouterSpec["kind"][];

function definitionOf(kind: unknown, where: string): RouterDefinition<TrafficRouterSpec> {
  if (typeof kind !== "string" || !Object.hasOwn(ROUTERS, kind)) {
    throw new Error(
      `${where} ${JSON.stringify(kind)} is not a known traffic router; known kinds: ${ROUTER_KINDS.join(", ")}`,
    );
  }
  return ROUTERS[kind as TrafficRouterSpec["kind"]] as RouterDefinition<TrafficRouterSpec>;
}

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
  return definitionOf((spec as { kind?: unknown }).kind, "router.kind").create(spec, clients, options);
}

/** The router spec fields missing for its kind (or the kind itself), as `router.<field>` paths. */
export function missingRouterFields(spec: unknown): string[] {
  const kind = (spec as { kind?: unknown } | undefined)?.kind;
  if (typeof kind !== "string" || !Object.hasOwn(ROUTERS, kind)) return ["router.kind"];
  const fields = definitionOf(kind, "router.kind").requiredFields;
  const value = spec as Record<string, unknown>;
  return fields
    .filter((field) => typeof value[field] !== "string" || value[field] === "")
    .map((field) => `router.${field}`);
}

/**
 * Problems with a checkpoint's router snapshot read from a file: not tagged
 * with a kind, of another kind than the migration routes with, or not what
 * its router stores.
 */
export function routerSnapshotProblems(snapshot: unknown, routerKind: string, at: string): string[] {
  if (typeof snapshot !== "object" || snapshot === null || Array.isArray(snapshot)) {
    return [`${at} must be a router snapshot: an object tagged with its router kind`];
  }
  const kind = (snapshot as { kind?: unknown }).kind;
  if (typeof kind !== "string" || kind === "") return [`${at}.kind must name the router kind that took it`];
  if (kind !== routerKind) {
    return [`${at} is a ${kind} snapshot but the migration routes with ${routerKind}`];
  }
  if (!Object.hasOwn(ROUTERS, kind)) return [];
  return definitionOf(kind, `${at}.kind`).snapshotProblems(snapshot as RouterSnapshot, at);
}
