/**
 * Route 53 weighted records as the traffic router: two records with the same
 * name and type, told apart by SetIdentifier, whose weights split the answers.
 */
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
  type Route53Client,
  waitUntilResourceRecordSetsChanged,
} from "@aws-sdk/client-route-53";
import type { Route53RouterSpec } from "../model/spec.js";
import type { RouterSnapshot, Weights } from "../model/status.js";
import { abortableClient } from "./abortable-client.js";
import { DEFAULT_THROTTLING_RETRY, retryThrottled, type ThrottlingRetryOptions } from "./throttling.js";
import {
  percentRouterWeights,
  type RouterOptions,
  type RouterReading,
  type RouterSideView,
  type RouterWeights,
  type SubmittedChange,
  type TrafficRouter,
  TrafficRouterRefusal,
  weightedEntriesProblems,
  weightedShare,
} from "./traffic-router.js";
import type { RouterDefinition } from "./traffic-routers.js";

/** A weighted record exactly as it was, so a rollback can restore every field. */
export interface RecordSnapshot {
  name: string;
  type: string;
  setIdentifier: string;
  weight: number;
  ttl?: number;
  aliasTarget?: { hostedZoneId: string; dnsName: string; evaluateTargetHealth: boolean };
  healthCheckId?: string;
  values?: string[];
}

/** What this router keeps in checkpoints: both weighted records as they were. */
export interface Route53Snapshot extends RouterSnapshot {
  kind: "route53";
  records: RecordSnapshot[];
}

/** Route 53 accepts weights 0–255 on each record. */
export const ROUTE53_MAX_WEIGHT = 255;

/**
 * An alias record has no TTL of its own: resolvers cache it for the TTL of
 * the target Route 53 answers for. For the targets cutover routes to (load
 * balancers, API Gateway, CloudFront) that is 60 seconds.
 */
export const ALIAS_CACHE_SECONDS = 60;

/** Comments on a change batch are limited to 256 characters. */
const MAX_COMMENT_LENGTH = 256;

/** At most this many pages of ListResourceRecordSets are read for one record name and type. */
const MAX_LIST_PAGES = 10;

export interface Route53RouterOptions extends RouterOptions {
  /** Extra retries of throttled calls beyond the SDK's own; see throttling.ts. */
  retry?: ThrottlingRetryOptions;
  /** Polling of GetChange while waiting for INSYNC, in seconds (the SDK waiter's 30–120 s defaults are far slower than most changes). */
  insyncPollSeconds?: { min: number; max: number };
}

interface Route53Pair {
  old: ResourceRecordSet;
  new: ResourceRecordSet;
}

/** Route 53 names come back lower-case, fully qualified and with `*` escaped as `\052`. */
export function normaliseRecordName(name: string): string {
  return name.toLowerCase().replace(/\\052/g, "*").replace(/\.$/, "");
}

/** The routing policy a record with a SetIdentifier uses, for refusal messages. */
function routingPolicyOf(record: ResourceRecordSet): string {
  if (record.Weight !== undefined) return "weighted";
  if (record.Failover) return "failover";
  if (record.Region) return "latency";
  if (record.GeoLocation) return "geolocation";
  if (record.GeoProximityLocation) return "geoproximity";
  if (record.CidrRoutingConfig) return "IP-based";
  if (record.MultiValueAnswer !== undefined) return "multivalue answer";
  return record.SetIdentifier ? "unknown" : "simple";
}

/** The snapshot of a record kept in checkpoints: every field a weighted record can carry. */
export function snapshotRecord(record: ResourceRecordSet): RecordSnapshot {
  const snapshot: RecordSnapshot = {
    name: record.Name ?? "",
    type: record.Type ?? "",
    setIdentifier: record.SetIdentifier ?? "",
    weight: record.Weight ?? 0,
  };
  if (record.TTL !== undefined) snapshot.ttl = record.TTL;
  if (record.AliasTarget) {
    snapshot.aliasTarget = {
      hostedZoneId: record.AliasTarget.HostedZoneId ?? "",
      dnsName: record.AliasTarget.DNSName ?? "",
      evaluateTargetHealth: record.AliasTarget.EvaluateTargetHealth ?? false,
    };
  }
  if (record.HealthCheckId) snapshot.healthCheckId = record.HealthCheckId;
  if (record.ResourceRecords) snapshot.values = record.ResourceRecords.map((value) => value.Value ?? "");
  return snapshot;
}

/** The router for one migration's pair of weighted records in one hosted zone. */
export class Route53Router implements TrafficRouter {
  readonly kind = "route53" as const;
  readonly label: string;
  private readonly retry: ThrottlingRetryOptions;
  private readonly poll: { min: number; max: number };

  constructor(
    private readonly spec: Route53RouterSpec,
    private readonly client: Route53Client,
    private readonly options: Route53RouterOptions = {},
  ) {
    this.label = `Route 53 zone ${spec.hostedZoneId} record ${spec.recordName} ${spec.recordType}`;
    this.retry = options.retry ?? DEFAULT_THROTTLING_RETRY;
    this.poll = options.insyncPollSeconds ?? { min: 0.25, max: 5 };
  }

  async read(): Promise<RouterReading> {
    const records = await this.listRecordsOfName();
    const old = this.pick(records, this.spec.oldSetIdentifier, "old");
    const fresh = this.pick(records, this.spec.newSetIdentifier, "new");
    this.refuseForeignWeightedRecords(records);
    const cache = cacheOf(old, fresh);
    const snapshots = { old: snapshotRecord(old), new: snapshotRecord(fresh) };
    return {
      sides: { old: sideView(snapshots.old), new: sideView(snapshots.new) },
      snapshot: { kind: "route53", records: [snapshots.old, snapshots.new] } satisfies Route53Snapshot,
      settleSeconds: cache.seconds,
      settleSource: cache.source,
      native: { old, new: fresh } satisfies Route53Pair,
    };
  }

  snapshotWeights(snapshot: RouterSnapshot): RouterWeights | undefined {
    if (snapshot.kind !== this.kind || !Array.isArray(snapshot.records)) return undefined;
    const records = snapshot.records as Partial<RecordSnapshot>[];
    const find = (id: string) => records.find((record) => record?.setIdentifier === id)?.weight;
    const old = find(this.spec.oldSetIdentifier);
    const fresh = find(this.spec.newSetIdentifier);
    if (!Number.isInteger(old) || !Number.isInteger(fresh) || old! + fresh! === 0) return undefined;
    return { old: old!, new: fresh! };
  }

  weightsFor(percent: number): RouterWeights {
    // Percent maps onto the record weights one to one, so they are never both 0
    // (which Route 53 reads as an equal split).
    return percentRouterWeights(percent);
  }

  effectiveWeights(recordWeights: RouterWeights): Weights {
    // Route 53 answers with equal probability when every weight of the name is 0.
    return weightedShare(recordWeights, { old: 50, new: 50 });
  }

  async submitWeights(
    reading: RouterReading,
    target: RouterWeights,
    comment: string,
  ): Promise<SubmittedChange> {
    checkRecordWeights(target);
    const native = reading.native as Route53Pair;
    if (!native?.old || !native?.new) {
      throw new Error("submitWeights needs a reading taken by this router's read()");
    }
    // One batch holding both records: Route 53 applies a batch entirely or
    // not at all, so the records are never left half old, half new. Each
    // record is written back as read, only its Weight changed. DELETE of the
    // records exactly as read, then CREATE, makes the batch a compare-and-swap:
    // when any other writer (a second run, the guardian, a person) changed
    // either record since it was read, Route 53 refuses the whole batch and
    // nothing changes, where UPSERT would silently overwrite their change.
    const output = await this.call("ChangeResourceRecordSets", (abortSignal) =>
      this.client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: this.spec.hostedZoneId,
          ChangeBatch: {
            Comment: comment.slice(0, MAX_COMMENT_LENGTH),
            Changes: [
              { Action: "DELETE", ResourceRecordSet: native.old },
              { Action: "DELETE", ResourceRecordSet: native.new },
              { Action: "CREATE", ResourceRecordSet: { ...native.old, Weight: target.old } },
              { Action: "CREATE", ResourceRecordSet: { ...native.new, Weight: target.new } },
            ],
          },
        }),
        { abortSignal },
      ),
    ).catch((error: unknown) => {
      if (isConcurrentChange(error)) {
        throw new TrafficRouterRefusal(
          "concurrent-change",
          `${this.label}: the records changed after they were read (another run, the guardian or a person wrote them); ` +
            `Route 53 refused the whole change and nothing was changed. Read them again before deciding. (${(error as Error).message})`,
        );
      }
      throw error;
    });
    const info = output.ChangeInfo;
    if (!info?.Id) throw new Error(`${this.label}: ChangeResourceRecordSets answered without a change id`);
    return {
      id: info.Id.replace(/^\/change\//, ""),
      submittedAt: info.SubmittedAt ?? new Date(),
      status: info.Status ?? "PENDING",
    };
  }

  async waitApplied(change: SubmittedChange, timeoutSeconds: number): Promise<Date> {
    // A bound given by the user is a bound: when it ends, the GetChange still in
    // flight (or between its SDK retries while throttled) is aborted with the wait.
    const bound = AbortSignal.timeout(timeoutSeconds * 1000);
    try {
      await waitUntilResourceRecordSetsChanged(
        {
          client: abortableClient(this.client, bound),
          maxWaitTime: timeoutSeconds,
          minDelay: Math.min(this.poll.min, timeoutSeconds / 2),
          maxDelay: this.poll.max,
          abortSignal: bound,
        },
        { Id: change.id },
      );
    } catch (error) {
      throw new TrafficRouterRefusal(
        "insync-timeout",
        `change ${change.id} submitted at ${change.submittedAt.toISOString()} was not INSYNC within ${timeoutSeconds} s ` +
          `(${(error as Error).message ?? error}). Route 53 accepted it as one batch, so the records hold the new weights ` +
          "and will converge; the gate window cannot start until it is INSYNC.",
      );
    }
    // GetChange reports no INSYNC time: the moment it was seen so is the earliest
    // safe bound, never before the truth.
    return new Date();
  }

  private async listRecordsOfName(): Promise<ResourceRecordSet[]> {
    const wanted = normaliseRecordName(this.spec.recordName);
    const found: ResourceRecordSet[] = [];
    let start: { name: string; type: string; identifier?: string } = {
      name: this.spec.recordName,
      type: this.spec.recordType,
    };
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const output: ListResourceRecordSetsCommandOutput = await this.call(
        "ListResourceRecordSets",
        (abortSignal) =>
          this.client.send(
            new ListResourceRecordSetsCommand({
              HostedZoneId: this.spec.hostedZoneId,
              StartRecordName: start.name,
              StartRecordType: start.type as "A",
              StartRecordIdentifier: start.identifier,
              MaxItems: 100,
            }),
            { abortSignal },
          ),
      );
      // Records come sorted by name then type: the first one of another name
      // or type ends the search.
      for (const record of output.ResourceRecordSets ?? []) {
        if (normaliseRecordName(record.Name ?? "") !== wanted || record.Type !== this.spec.recordType) {
          return found;
        }
        found.push(record);
      }
      if (!output.IsTruncated || !output.NextRecordName) return found;
      start = {
        name: output.NextRecordName,
        type: output.NextRecordType ?? this.spec.recordType,
        identifier: output.NextRecordIdentifier,
      };
    }
    throw new Error(
      `${this.label}: more than ${MAX_LIST_PAGES} pages of records share this name and type; refusing to guess`,
    );
  }

  private pick(records: ResourceRecordSet[], setIdentifier: string, side: "old" | "new"): ResourceRecordSet {
    const input = side === "old" ? "router.oldSetIdentifier" : "router.newSetIdentifier";
    const record = records.find((candidate) => candidate.SetIdentifier === setIdentifier);
    if (!record) {
      const present = records.map((candidate) => candidate.SetIdentifier ?? "(no set identifier)");
      throw new TrafficRouterRefusal(
        "record-missing",
        `${this.label}: no record with SetIdentifier "${setIdentifier}" (${input}, the ${side} side). ` +
          (present.length > 0
            ? `Records of this name and type: ${present.map((id) => `"${id}"`).join(", ")}.`
            : "No record of this name and type exists.") +
          " Both weighted records must exist before traffic can be shifted; nothing was changed.",
      );
    }
    if (record.Weight === undefined) {
      throw new TrafficRouterRefusal(
        "not-weighted",
        `${this.label}: record "${setIdentifier}" (${input}) uses the ${routingPolicyOf(record)} routing policy, ` +
          "not weighted; only a weighted pair can be shifted. Nothing was changed.",
      );
    }
    if (record.TrafficPolicyInstanceId) {
      throw new TrafficRouterRefusal(
        "managed-by-traffic-policy",
        `${this.label}: record "${setIdentifier}" is managed by traffic policy instance ` +
          `${record.TrafficPolicyInstanceId}; change the policy instead. Nothing was changed.`,
      );
    }
    return record;
  }

  /** A third weighted record with a weight would take a share the percentages do not account for. */
  private refuseForeignWeightedRecords(records: ResourceRecordSet[]): void {
    const ours = new Set([this.spec.oldSetIdentifier, this.spec.newSetIdentifier]);
    const foreign = records.filter(
      (record) => !ours.has(record.SetIdentifier ?? "") && (record.Weight ?? 0) > 0,
    );
    if (foreign.length > 0) {
      throw new TrafficRouterRefusal(
        "foreign-weighted-record",
        `${this.label}: other weighted records share the name and take traffic: ` +
          `${foreign.map((record) => `"${record.SetIdentifier}" (weight ${record.Weight})`).join(", ")}. ` +
          "cutover splits traffic between exactly two records; set their weights to 0 or remove them. Nothing was changed.",
      );
    }
  }

  private call<T>(operation: string, send: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    return retryThrottled(send, this.retry, (attempt, error, delayMs) =>
      this.options.onThrottled?.(operation, attempt, delayMs, error),
    );
  }
}

function checkRecordWeights(target: RouterWeights): void {
  for (const [side, weight] of Object.entries(target)) {
    if (!Number.isInteger(weight) || weight < 0 || weight > ROUTE53_MAX_WEIGHT) {
      throw new TrafficRouterRefusal(
        "weight-out-of-range",
        `record weight ${weight} for the ${side} side is not an integer from 0 to ${ROUTE53_MAX_WEIGHT}`,
      );
    }
  }
  if (target.old === 0 && target.new === 0) {
    throw new TrafficRouterRefusal(
      "weight-out-of-range",
      "record weights 0 and 0 would make Route 53 split traffic equally; one side must keep a weight",
    );
  }
}

function cacheOf(old: ResourceRecordSet, fresh: ResourceRecordSet): { seconds: number; source: string } {
  const each = [old, fresh].map((record) =>
    record.TTL !== undefined
      ? { seconds: record.TTL, source: `TTL ${record.TTL} s of "${record.SetIdentifier}"` }
      : {
          seconds: ALIAS_CACHE_SECONDS,
          source: `alias "${record.SetIdentifier}" has no TTL; its target's ${ALIAS_CACHE_SECONDS} s`,
        },
  );
  return each.reduce((longest, candidate) => (candidate.seconds > longest.seconds ? candidate : longest));
}

/** Route 53's refusal of a DELETE whose record no longer matches: someone else changed it since it was read. */
function isConcurrentChange(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== "InvalidChangeBatch") return false;
  return /Tried to delete resource record set .* but (it was not found|the values provided do not match the current values)/.test(
    error.message,
  );
}

/** How a record appears in summaries: its weight and the fields a shift keeps. */
function sideView(record: RecordSnapshot): RouterSideView {
  const kept = [
    record.ttl !== undefined ? `TTL ${record.ttl}` : "",
    record.aliasTarget ? `alias ${record.aliasTarget.dnsName}` : "",
    record.values ? record.values.join(" ") : "",
    record.healthCheckId ? `health check ${record.healthCheckId}` : "",
  ].filter(Boolean);
  const parts = [`weight ${record.weight}`];
  if (record.ttl !== undefined) parts.push(`TTL ${record.ttl} s`);
  if (record.aliasTarget) {
    parts.push(
      `alias to ${record.aliasTarget.dnsName} (EvaluateTargetHealth ${record.aliasTarget.evaluateTargetHealth})`,
    );
  }
  if (record.values) parts.push(`values ${record.values.join(", ")}`);
  if (record.healthCheckId) parts.push(`health check ${record.healthCheckId}`);
  return {
    name: record.setIdentifier,
    title: `record "${record.setIdentifier}"`,
    weight: record.weight,
    kept,
    detail: `"${record.setIdentifier}" ${parts.join(", ")}`,
  };
}

/** A checkpoint's records as a file holds them: each with a set identifier and a weight Route 53 accepts. */
function snapshotProblems(snapshot: RouterSnapshot, at: string): string[] {
  return weightedEntriesProblems(snapshot.records, `${at}.records`, {
    what: "the list of weighted records",
    idField: "setIdentifier",
    max: ROUTE53_MAX_WEIGHT,
  });
}

/** The registry's entry for `kind: "route53"`. */
export const route53Router: RouterDefinition<Route53RouterSpec> = {
  create(spec, clients, options) {
    if (!clients.route53) throw new Error("the route53 router needs a Route 53 client");
    return new Route53Router(spec, clients.route53, options);
  },
  requiredFields: ["hostedZoneId", "recordName", "recordType", "oldSetIdentifier", "newSetIdentifier"],
  snapshotProblems,
};
