/**
 * Route 53 on its REST-XML wire protocol (paths under /2013-04-01/):
 * GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets and
 * GetChange. Change batches are validated against a working copy of the zone
 * and applied whole or not at all, with AWS's InvalidChangeBatch and
 * InvalidInput errors for what AWS refuses.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  buildXml,
  childElement,
  childElements,
  childText,
  parseXml,
  ServiceError,
  sendServiceError,
  sendXmlBody,
  unknownOperation,
  type XmlChild,
  type XmlElement,
  XmlSyntaxError,
} from "./protocol.js";
import { aliasTargetZone } from "./route53-alias-targets.js";
import type { RecordView, SandboxSeed, ServiceHandler, WeightedAnswer } from "./types.js";

/** A resource record set as Route 53 stores it (names absolute, lower case, with the trailing dot). */
export interface RecordSet {
  name: string;
  type: string;
  setIdentifier?: string;
  weight?: number;
  ttl?: number;
  values?: string[];
  aliasTarget?: { hostedZoneId: string; dnsName: string; evaluateTargetHealth: boolean };
  healthCheckId?: string;
}

export interface HostedZoneState {
  id: string;
  name: string;
  callerReference: string;
  comment?: string;
  records: RecordSet[];
}

export interface ChangeState {
  id: string;
  submittedAt: number;
  comment?: string;
}

export type ChangeAction = "CREATE" | "UPSERT" | "DELETE";

export interface RecordChange {
  action: ChangeAction;
  record: RecordSet;
}

export interface Route53Options {
  /** How long a change stays PENDING before INSYNC, ms (default 2000). */
  propagationMs?: number;
  now?: () => number;
}

type SeedZone = NonNullable<SandboxSeed["route53"]>["hostedZones"][number];

const API_PREFIX = "/2013-04-01/";
/** Record types Route 53 serves; the seed is checked against the same list. */
export const RECORD_TYPES: ReadonlySet<string> = new Set([
  "SOA",
  "A",
  "TXT",
  "NS",
  "CNAME",
  "MX",
  "NAPTR",
  "PTR",
  "SRV",
  "SPF",
  "AAAA",
  "CAA",
  "DS",
  "TLSA",
  "SSHFP",
  "SVCB",
  "HTTPS",
]);
const UNSUPPORTED_ROUTING = [
  "Region",
  "Failover",
  "GeoLocation",
  "MultiValueAnswer",
  "CidrRoutingConfig",
  "GeoProximityLocation",
  "TrafficPolicyInstanceId",
];
/** ResourceRecord elements in one request, an UPSERT's counted twice (API_ChangeResourceRecordSets, "Limits"). */
const MAX_RESOURCE_RECORDS_PER_BATCH = 1000;
/** Characters of all Value elements in one request, an UPSERT's counted twice. */
const MAX_VALUE_CHARACTERS_PER_BATCH = 32000;
const MAX_WEIGHTED_PER_NAME = 100;
const MAX_ITEMS = 300;
/** TTL the data plane's resolvers use for an alias record, which has none of its own: an ALB's or API Gateway's answer TTL. */
export const ALIAS_ANSWER_TTL = 60;

/** The sandbox's Route 53: state, the change engine, the wire handler and the data plane's RecordView. */
export class Route53Service implements ServiceHandler, RecordView {
  readonly name = "route53";
  private readonly zones = new Map<string, HostedZoneState>();
  private readonly changes = new Map<string, ChangeState>();
  private readonly propagationMs: number;
  private readonly now: () => number;

  constructor(seed: SandboxSeed["route53"], options: Route53Options = {}) {
    this.propagationMs = options.propagationMs ?? seed?.propagationMs ?? 2000;
    this.now = options.now ?? Date.now;
    for (const zone of seed?.hostedZones ?? []) {
      const { state, problems } = buildSeedZone(zone);
      if (problems.length > 0)
        throw new Error(`hosted zone ${zone.id}: ${problems.map((problem) => problem.message).join("; ")}`);
      this.zones.set(state.id, state);
    }
  }

  matches(req: IncomingMessage): boolean {
    return pathOf(req).startsWith(API_PREFIX);
  }

  /** The operation a request calls, for fault targeting; undefined for one the sandbox does not serve. */
  operationOf(req: IncomingMessage): string | undefined {
    return routeOf(req.method ?? "GET", pathOf(req))?.operation;
  }

  async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const route = routeOf(req.method ?? "GET", pathOf(req));
    try {
      if (!route) throw unknownOperation(`Route 53 operation ${req.method} ${pathOf(req)}`);
      const query = new URL(req.url ?? "/", "http://localhost").searchParams;
      sendXmlBody(req, res, 200, this.dispatch(route, query, body));
    } catch (error) {
      sendServiceError(req, res, "rest-xml", asServiceError(error));
    }
  }

  private dispatch(route: Route, query: URLSearchParams, body: Buffer): string {
    switch (route.operation) {
      case "GetHostedZone":
        return this.getHostedZone(route.id);
      case "ListResourceRecordSets":
        return this.listResourceRecordSets(route.id, query);
      case "ChangeResourceRecordSets":
        return this.changeResourceRecordSets(route.id, body);
      case "GetChange":
        return this.getChange(route.id);
    }
  }

  private getHostedZone(id: string): string {
    const zone = this.zone(id);
    return buildXml("GetHostedZoneResponse", [
      [
        "HostedZone",
        [
          ["Id", `/hostedzone/${zone.id}`],
          ["Name", zone.name],
          ["CallerReference", zone.callerReference],
          [
            "Config",
            [zone.comment === undefined ? undefined : ["Comment", zone.comment], ["PrivateZone", false]],
          ],
          ["ResourceRecordSetCount", zone.records.length],
        ],
      ],
      [
        "DelegationSet",
        [["NameServers", nameServersOf(zone).map((server): XmlChild => ["NameServer", server])]],
      ],
    ]);
  }

  private listResourceRecordSets(id: string, query: URLSearchParams): string {
    const zone = this.zone(id);
    const startName = query.get("name") ?? undefined;
    const startType = query.get("type") ?? undefined;
    const startIdentifier = query.get("identifier") ?? undefined;
    if (startType !== undefined && startName === undefined) {
      throw new ServiceError(
        "InvalidInput",
        "The input is not valid: StartRecordType requires StartRecordName.",
      );
    }
    if (startIdentifier !== undefined && startType === undefined) {
      throw new ServiceError(
        "InvalidInput",
        "The input is not valid: StartRecordIdentifier requires StartRecordName and StartRecordType.",
      );
    }
    if (startType !== undefined && !RECORD_TYPES.has(startType)) {
      throw new ServiceError(
        "InvalidInput",
        `The input is not valid: StartRecordType ${JSON.stringify(startType)} is not a record type (${[...RECORD_TYPES].join(", ")}).`,
      );
    }
    const maxItems = readMaxItems(query.get("maxitems"));
    const start: RecordSet | undefined =
      startName === undefined
        ? undefined
        : { name: normalizeName(startName), type: startType ?? "", setIdentifier: startIdentifier ?? "" };
    const from =
      start === undefined ? 0 : zone.records.findIndex((record) => compareRecords(record, start) >= 0);
    const page = from < 0 ? [] : zone.records.slice(from, from + maxItems);
    const next = from < 0 ? undefined : zone.records[from + maxItems];
    return buildXml("ListResourceRecordSetsResponse", [
      ["ResourceRecordSets", page.map((record): XmlChild => ["ResourceRecordSet", recordToXml(record)])],
      ["IsTruncated", next !== undefined],
      next === undefined ? undefined : ["NextRecordName", displayName(next.name)],
      next === undefined ? undefined : ["NextRecordType", next.type],
      next?.setIdentifier === undefined ? undefined : ["NextRecordIdentifier", next.setIdentifier],
      ["MaxItems", maxItems],
    ]);
  }

  private changeResourceRecordSets(id: string, body: Buffer): string {
    const zone = this.zone(id);
    const { changes, comment } = readChangeBatch(body);
    zone.records = applyChangeBatch(zone, changes);
    const change: ChangeState = { id: newChangeId(), submittedAt: this.now() };
    if (comment !== undefined) change.comment = comment;
    this.changes.set(change.id, change);
    return buildXml("ChangeResourceRecordSetsResponse", [["ChangeInfo", this.changeInfo(change)]]);
  }

  private getChange(id: string): string {
    const change = this.changes.get(id);
    if (!change)
      throw new ServiceError(
        "NoSuchChange",
        `A change with the specified change ID does not exist: ${id}`,
        404,
      );
    return buildXml("GetChangeResponse", [["ChangeInfo", this.changeInfo(change)]]);
  }

  private changeInfo(change: ChangeState): XmlChild[] {
    return [
      ["Id", `/change/${change.id}`],
      ["Status", this.changeStatus(change)],
      ["SubmittedAt", new Date(change.submittedAt).toISOString()],
      ...(change.comment === undefined ? [] : [["Comment", change.comment] as XmlChild]),
    ];
  }

  private changeStatus(change: ChangeState): "PENDING" | "INSYNC" {
    return this.now() - change.submittedAt >= this.propagationMs ? "INSYNC" : "PENDING";
  }

  private zone(id: string): HostedZoneState {
    if (id.length === 0 || id.length > 32)
      throw new ServiceError(
        "InvalidInput",
        `The input is not valid: hosted zone ID ${JSON.stringify(id)} must be 1 to 32 characters.`,
      );
    const zone = this.zones.get(id);
    if (!zone) throw new ServiceError("NoSuchHostedZone", `No hosted zone found with ID: ${id}`, 404);
    return zone;
  }

  /** Weighted A/AAAA/CNAME records of `recordName`, for the data plane's resolvers. */
  weightedAnswers(recordName: string): WeightedAnswer[] {
    const name = normalizeName(recordName);
    const answers: WeightedAnswer[] = [];
    for (const zone of this.zones.values()) {
      for (const record of zone.records) {
        if (record.name !== name || record.setIdentifier === undefined || record.weight === undefined)
          continue;
        if (record.type !== "A" && record.type !== "AAAA" && record.type !== "CNAME") continue;
        answers.push({
          setIdentifier: record.setIdentifier,
          weight: record.weight,
          ttl: record.ttl ?? ALIAS_ANSWER_TTL,
        });
      }
    }
    return answers;
  }

  /** A copy of the records of a zone, in Route 53's listing order. */
  records(zoneId: string): RecordSet[] {
    return structuredClone(this.zones.get(zoneId)?.records ?? []);
  }

  /** State for GET /_sandbox/state and --save-state. */
  snapshot(): { hostedZones: HostedZoneState[]; changes: Array<ChangeState & { status: string }> } {
    return {
      hostedZones: structuredClone([...this.zones.values()]),
      changes: [...this.changes.values()].map((change) => ({ ...change, status: this.changeStatus(change) })),
    };
  }
}

// ---------------------------------------------------------------- routing

type Route = {
  operation: "GetHostedZone" | "ListResourceRecordSets" | "ChangeResourceRecordSets" | "GetChange";
  id: string;
};

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

function routeOf(method: string, path: string): Route | undefined {
  const segments = path
    .slice(API_PREFIX.length)
    .split("/")
    .filter((segment) => segment.length > 0)
    .map(decodeURIComponent);
  const [collection, id, sub, extra] = segments;
  if (id === undefined || extra !== undefined) return undefined;
  if (collection === "hostedzone" && sub === undefined && method === "GET")
    return { operation: "GetHostedZone", id };
  if (collection === "hostedzone" && sub === "rrset" && method === "GET")
    return { operation: "ListResourceRecordSets", id };
  if (collection === "hostedzone" && sub === "rrset" && method === "POST")
    return { operation: "ChangeResourceRecordSets", id };
  if (collection === "change" && sub === undefined && method === "GET") return { operation: "GetChange", id };
  return undefined;
}

function asServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  return new ServiceError(
    "InternalFailure",
    `The sandbox's Route 53 failed: ${(error as Error).message}`,
    500,
  );
}

function readMaxItems(raw: string | null): number {
  if (raw === null) return MAX_ITEMS;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1)
    throw new ServiceError(
      "InvalidInput",
      `The input is not valid: MaxItems ${JSON.stringify(raw)} must be a positive integer.`,
    );
  return Math.min(value, MAX_ITEMS);
}

function newChangeId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const bytes = randomBytes(13);
  return `C${[...bytes].map((byte) => alphabet[byte % alphabet.length]).join("")}`;
}

function nameServersOf(zone: HostedZoneState): string[] {
  const ns = zone.records.find((record) => record.type === "NS" && record.name === zone.name);
  return ns?.values ?? [];
}

// ---------------------------------------------------------------- names and ordering

/** Absolute, lower-case form of a DNS name; "\052" stands for "*" as Route 53 writes it. */
export function normalizeName(name: string): string {
  const lower = name.trim().toLowerCase().replace(/\\052/g, "*");
  return lower.endsWith(".") ? lower : `${lower}.`;
}

/** A name as Route 53 returns it: the wildcard label escaped. */
function displayName(name: string): string {
  return name.replace(/\*/g, "\\052");
}

function reversedLabels(name: string): string {
  return name
    .split(".")
    .filter((label) => label.length > 0)
    .reverse()
    .join(".");
}

/** Route 53's listing order: name with labels reversed, then type, then set identifier. */
export function compareRecords(a: RecordSet, b: RecordSet): number {
  const byName = compareText(reversedLabels(a.name), reversedLabels(b.name));
  if (byName !== 0) return byName;
  const byType = compareText(a.type, b.type);
  if (byType !== 0) return byType;
  return compareText(a.setIdentifier ?? "", b.setIdentifier ?? "");
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function recordKey(record: RecordSet): string {
  return `${record.name}|${record.type}|${record.setIdentifier ?? ""}`;
}

function describeRecord(record: RecordSet): string {
  const identifier = record.setIdentifier === undefined ? "" : `, set-identifier='${record.setIdentifier}'`;
  return `[name='${displayName(record.name)}', type='${record.type}'${identifier}]`;
}

// ---------------------------------------------------------------- wire shapes

function recordToXml(record: RecordSet): XmlChild[] {
  const children: Array<XmlChild | undefined> = [
    ["Name", displayName(record.name)],
    ["Type", record.type],
    record.setIdentifier === undefined ? undefined : ["SetIdentifier", record.setIdentifier],
    record.weight === undefined ? undefined : ["Weight", record.weight],
    record.ttl === undefined ? undefined : ["TTL", record.ttl],
    record.values === undefined
      ? undefined
      : ["ResourceRecords", record.values.map((value): XmlChild => ["ResourceRecord", [["Value", value]]])],
    record.aliasTarget === undefined
      ? undefined
      : [
          "AliasTarget",
          [
            ["HostedZoneId", record.aliasTarget.hostedZoneId],
            ["DNSName", record.aliasTarget.dnsName],
            ["EvaluateTargetHealth", record.aliasTarget.evaluateTargetHealth],
          ],
        ],
    record.healthCheckId === undefined ? undefined : ["HealthCheckId", record.healthCheckId],
  ];
  return children.filter((child): child is XmlChild => child !== undefined);
}

function readChangeBatch(body: Buffer): { changes: RecordChange[]; comment?: string } {
  let root: XmlElement;
  try {
    root = parseXml(body.toString("utf8"));
  } catch (error) {
    if (error instanceof XmlSyntaxError)
      throw new ServiceError("MalformedInput", `Invalid XML: ${error.message}`);
    throw error;
  }
  if (root.name !== "ChangeResourceRecordSetsRequest") {
    throw new ServiceError(
      "MalformedInput",
      `${root.name} is not valid, expected ChangeResourceRecordSetsRequest`,
    );
  }
  const batch = childElement(root, "ChangeBatch");
  if (!batch) throw new ServiceError("InvalidInput", "Invalid request: Missing field 'ChangeBatch'");
  const changeElements = childElements(
    childElement(batch, "Changes") ?? { name: "", text: "", children: [] },
    "Change",
  );
  if (changeElements.length === 0)
    throw new ServiceError(
      "InvalidInput",
      "Invalid request: ChangeBatch.Changes must hold at least one Change",
    );
  const comment = childText(batch, "Comment");
  const changes = changeElements.map((element, index) => readChange(element, index + 1));
  checkBatchSize(changes);
  return comment === undefined ? { changes } : { changes, comment };
}

/**
 * Route 53 counts ResourceRecord elements, not Changes, against the batch
 * limit, and counts an UPSERT's records and characters twice (it is a delete
 * and a create); both overruns are InvalidChangeBatch with AWS's wording.
 */
function checkBatchSize(changes: RecordChange[]): void {
  let records = 0;
  let characters = 0;
  for (const { action, record } of changes) {
    const weight = action === "UPSERT" ? 2 : 1;
    const values = record.values ?? [];
    records += values.length * weight;
    characters += values.reduce((sum, value) => sum + value.length, 0) * weight;
  }
  if (records > MAX_RESOURCE_RECORDS_PER_BATCH)
    throw new ServiceError(
      "InvalidChangeBatch",
      `[Number of records limit of ${MAX_RESOURCE_RECORDS_PER_BATCH} exceeded.]`,
    );
  if (characters > MAX_VALUE_CHARACTERS_PER_BATCH)
    throw new ServiceError(
      "InvalidChangeBatch",
      `[RDATA character limit of ${MAX_VALUE_CHARACTERS_PER_BATCH} exceeded.]`,
    );
}

function readChange(element: XmlElement, position: number): RecordChange {
  const action = childText(element, "Action");
  if (action !== "CREATE" && action !== "UPSERT" && action !== "DELETE") {
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Change ${position} has Action ${JSON.stringify(action ?? null)}; expected CREATE, UPSERT or DELETE`,
    );
  }
  const set = childElement(element, "ResourceRecordSet");
  if (!set)
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Missing field 'ResourceRecordSet' in Change ${position}`,
    );
  return { action, record: readRecordSet(set, action) };
}

function readRecordSet(element: XmlElement, action: ChangeAction): RecordSet {
  const rawName = childText(element, "Name");
  const type = childText(element, "Type");
  if (rawName === undefined || rawName.length === 0)
    throw new ServiceError("InvalidInput", "Invalid request: Missing field 'Name' in a ResourceRecordSet");
  if (type === undefined || !RECORD_TYPES.has(type)) {
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Type ${JSON.stringify(type ?? null)} of ${rawName} is not one of ${[...RECORD_TYPES].join(", ")}`,
    );
  }
  const record: RecordSet = { name: normalizeName(rawName), type };
  const context = () => changeContext(action, record);
  for (const field of UNSUPPORTED_ROUTING) {
    if (childElement(element, field)) {
      throw new ServiceError(
        "InvalidInput",
        `Invalid request: the sandbox serves simple and weighted records; ${field} is not supported in Change with ${context()}`,
      );
    }
  }
  const setIdentifier = childText(element, "SetIdentifier");
  if (setIdentifier !== undefined) {
    if (setIdentifier.length < 1 || setIdentifier.length > 128)
      throw new ServiceError(
        "InvalidInput",
        `Invalid request: SetIdentifier must be 1 to 128 characters in Change with ${context()}`,
      );
    record.setIdentifier = setIdentifier;
  }
  const weight = childText(element, "Weight");
  if (weight !== undefined) record.weight = readInteger(weight, "Weight", context);
  const ttl = childText(element, "TTL");
  if (ttl !== undefined) {
    record.ttl = readInteger(ttl, "TTL", context);
    if (record.ttl < 0 || record.ttl > 2147483647)
      throw new ServiceError(
        "InvalidInput",
        `Invalid request: TTL must be 0 to 2147483647 in Change with ${context()}`,
      );
  }
  const resourceRecords = childElement(element, "ResourceRecords");
  if (resourceRecords) {
    record.values = childElements(resourceRecords, "ResourceRecord").map(
      (entry) => childText(entry, "Value") ?? "",
    );
    if (record.values.length === 0)
      throw new ServiceError(
        "InvalidInput",
        `Invalid request: ResourceRecords must hold at least one ResourceRecord in Change with ${context()}`,
      );
  }
  const alias = childElement(element, "AliasTarget");
  if (alias) record.aliasTarget = readAliasTarget(alias, context);
  const healthCheckId = childText(element, "HealthCheckId");
  if (healthCheckId !== undefined) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(healthCheckId)) {
      throw new ServiceError(
        "InvalidInput",
        `Invalid request: HealthCheckId ${JSON.stringify(healthCheckId)} is not a health check ID (a UUID) in Change with ${context()}`,
      );
    }
    record.healthCheckId = healthCheckId.toLowerCase();
  }
  checkRecordShape(record, context);
  return record;
}

function readAliasTarget(element: XmlElement, context: () => string): NonNullable<RecordSet["aliasTarget"]> {
  const hostedZoneId = childText(element, "HostedZoneId");
  const dnsName = childText(element, "DNSName");
  const evaluate = childText(element, "EvaluateTargetHealth");
  if (!hostedZoneId)
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Missing field 'HostedZoneId' in AliasTarget in Change with ${context()}`,
    );
  if (!dnsName)
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Missing field 'DNSName' in AliasTarget in Change with ${context()}`,
    );
  if (evaluate !== "true" && evaluate !== "false") {
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: AliasTarget.EvaluateTargetHealth must be true or false in Change with ${context()}`,
    );
  }
  return {
    hostedZoneId: hostedZoneId.replace(/^\/hostedzone\//, ""),
    dnsName: normalizeName(dnsName),
    evaluateTargetHealth: evaluate === "true",
  };
}

function readInteger(raw: string, field: string, context: () => string): number {
  if (!/^-?\d+$/.test(raw))
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: ${field} ${JSON.stringify(raw)} is not an integer in Change with ${context()}`,
    );
  return Number(raw);
}

function changeContext(action: ChangeAction, record: RecordSet): string {
  const identifier = record.setIdentifier === undefined ? "" : `, SetIdentifier=${record.setIdentifier}`;
  return `[Action=${action}, Name=${displayName(record.name)}, Type=${record.type}${identifier}]`;
}

/** The structural rules AWS checks before looking at the zone (InvalidInput). */
function checkRecordShape(record: RecordSet, context: () => string): void {
  const hasAlias = record.aliasTarget !== undefined;
  const hasPlain = record.ttl !== undefined || record.values !== undefined;
  if (hasAlias && hasPlain) {
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with ${context()}`,
    );
  }
  if (!hasAlias && (record.ttl === undefined || record.values === undefined)) {
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with ${context()}`,
    );
  }
  if (record.weight !== undefined && record.setIdentifier === undefined) {
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Missing field 'SetIdentifier' in Change with ${context()}`,
    );
  }
  if (record.setIdentifier !== undefined && record.weight === undefined) {
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none in Change with ${context()}`,
    );
  }
  if (hasAlias && (record.type === "NS" || record.type === "SOA")) {
    throw new ServiceError(
      "InvalidInput",
      `Invalid request: an alias cannot be of type ${record.type} in Change with ${context()}`,
    );
  }
}

// ---------------------------------------------------------------- the change engine

/**
 * Applies a change batch to a copy of the zone's records and returns the new
 * records; throws InvalidChangeBatch listing every problem, leaving the zone untouched.
 */
export function applyChangeBatch(zone: HostedZoneState, changes: RecordChange[]): RecordSet[] {
  const working = new Map(zone.records.map((record) => [recordKey(record), record]));
  const problems: string[] = [];
  const seen = new Map<string, ChangeAction>();
  for (const { action, record } of changes) {
    const key = recordKey(record);
    const previous = seen.get(key);
    if (previous !== undefined && !(previous === "DELETE" && action !== "DELETE")) {
      problems.push(
        `The request contains an invalid set of changes for a resource record set '${record.type} ${displayName(record.name)}'${record.setIdentifier === undefined ? "" : ` with set identifier '${record.setIdentifier}'`}`,
      );
      continue;
    }
    seen.set(key, action);
    const problem = applyChange(zone, working, action, record);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length === 0) problems.push(...weightedTtlProblems(changes, working));
  if (problems.length === 0) problems.push(...zoneInvariantProblems(zone, working));
  if (problems.length > 0) throw new ServiceError("InvalidChangeBatch", `[${problems.join(", ")}]`);
  return [...working.values()].sort(compareRecords);
}

function applyChange(
  zone: HostedZoneState,
  working: Map<string, RecordSet>,
  action: ChangeAction,
  record: RecordSet,
): string | undefined {
  const key = recordKey(record);
  const existing = working.get(key);
  if (action === "DELETE") {
    if (!existing)
      return `Tried to delete resource record set ${describeRecord(record)} but it was not found`;
    if (!sameRecord(existing, record))
      return `Tried to delete resource record set ${describeRecord(record)} but the values provided do not match the current values`;
    if (record.name === zone.name && (record.type === "SOA" || record.type === "NS")) {
      return `A HostedZone must contain exactly one SOA record and at least one NS record for the zone itself; ${describeRecord(record)} cannot be deleted`;
    }
    working.delete(key);
    return undefined;
  }
  if (action === "CREATE" && existing)
    return `Tried to create resource record set ${describeRecord(record)} but it already exists`;
  const problem = recordProblem(zone, working, record);
  if (problem !== undefined) return problem;
  working.set(key, record);
  return undefined;
}

function sameRecord(a: RecordSet, b: RecordSet): boolean {
  return (
    a.weight === b.weight &&
    a.ttl === b.ttl &&
    a.healthCheckId === b.healthCheckId &&
    JSON.stringify(a.values ?? null) === JSON.stringify(b.values ?? null) &&
    JSON.stringify(a.aliasTarget ?? null) === JSON.stringify(b.aliasTarget ?? null)
  );
}

/** What AWS refuses about one record given the rest of the zone, undefined when it is acceptable. */
function recordProblem(
  zone: HostedZoneState,
  working: Map<string, RecordSet>,
  record: RecordSet,
): string | undefined {
  if (record.name !== zone.name && !record.name.endsWith(`.${zone.name}`)) {
    return `RRSet with DNS name ${displayName(record.name)} is not permitted in zone ${zone.name}`;
  }
  if (record.weight !== undefined && (record.weight < 0 || record.weight > 255)) {
    return `Weight ${record.weight} of resource record set ${describeRecord(record)} is not valid: a weight must be an integer from 0 to 255`;
  }
  const valueProblem = valuesProblem(record);
  if (valueProblem !== undefined) return valueProblem;
  const siblings = [...working.values()].filter(
    (other) => other.name === record.name && recordKey(other) !== recordKey(record),
  );
  if (record.type === "CNAME" && record.name === zone.name) {
    return `RRSet of type CNAME with DNS name ${displayName(record.name)} is not permitted at apex in zone ${zone.name}`;
  }
  const cnameConflict = siblings.some((other) => (other.type === "CNAME") !== (record.type === "CNAME"));
  if (cnameConflict) {
    return `RRSet of type CNAME with DNS name ${displayName(record.name)} is not permitted as it conflicts with other records with the same DNS name in zone ${zone.name}`;
  }
  const sameType = siblings.filter((other) => other.type === record.type);
  if (record.setIdentifier !== undefined && sameType.some((other) => other.setIdentifier === undefined)) {
    return `RRSet with DNS name ${displayName(record.name)}, type ${record.type} and SetIdentifier ${record.setIdentifier} cannot be created as a non-weighted set exists with the same name and type`;
  }
  if (record.setIdentifier === undefined && sameType.some((other) => other.setIdentifier !== undefined)) {
    return `RRSet with DNS name ${displayName(record.name)}, type ${record.type} cannot be created as weighted sets exist with the same name and type`;
  }
  // Up to 100 weighted records per name and type:
  // https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/TutorialManagingOver100WRR.html
  if (record.setIdentifier !== undefined && sameType.length + 1 > MAX_WEIGHTED_PER_NAME) {
    return `Exceeded limit on number of weighted RRSets for ${displayName(record.name)}, type ${record.type} in this zone.`;
  }
  const alias = record.aliasTarget;
  if (alias) return aliasProblem(zone, working, record, alias);
  return undefined;
}

/** An alias must name a record of its own zone, or a name within the AWS-owned zone its HostedZoneId names. */
function aliasProblem(
  zone: HostedZoneState,
  working: Map<string, RecordSet>,
  record: RecordSet,
  alias: NonNullable<RecordSet["aliasTarget"]>,
): string | undefined {
  const prefix = `Tried to create an alias that targets ${displayName(alias.dnsName)}, type ${record.type} in zone ${alias.hostedZoneId}`;
  if (alias.hostedZoneId === zone.id) {
    const found = [...working.values()].some(
      (other) => other.name === alias.dnsName && other.type === record.type,
    );
    return found ? undefined : `${prefix}, but that target was not found`;
  }
  const target = aliasTargetZone(alias.hostedZoneId);
  // A zone id that is neither this zone nor an AWS-owned target zone names nothing the sandbox holds.
  if (!target) return `${prefix}, but that target was not found`;
  if (!target.contains(alias.dnsName))
    return `${prefix}, but the alias target name does not lie within the target zone`;
  return undefined;
}

function valuesProblem(record: RecordSet): string | undefined {
  for (const value of record.values ?? []) {
    if (record.type === "A" && !isIPv4(value))
      return `ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address encountered with '${value}')`;
    if (record.type === "AAAA" && !isIPv6(value))
      return `AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address encountered with '${value}')`;
  }
  if (record.type === "CNAME" && (record.values?.length ?? 0) > 1) {
    return `RRSet of type CNAME with DNS name ${displayName(record.name)} has more than one value; a CNAME holds exactly one`;
  }
  return undefined;
}

function isIPv4(value: string): boolean {
  const parts = value.split(".");
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

function isIPv6(value: string): boolean {
  return /^[0-9a-fA-F:]+$/.test(value) && value.includes(":") && value.split(":").length <= 8;
}

/**
 * Weighted records of one name and type share one TTL: Route 53 checks the
 * batch's result, so a batch that moves every record of the group to a new TTL
 * passes and one that leaves two TTLs in the group is refused.
 */
function weightedTtlProblems(changes: RecordChange[], working: Map<string, RecordSet>): string[] {
  const problems: string[] = [];
  for (const { action, record } of changes) {
    if (action === "DELETE" || record.setIdentifier === undefined) continue;
    const differing = [...working.values()].some(
      (other) =>
        other.name === record.name &&
        other.type === record.type &&
        other.setIdentifier !== undefined &&
        other.setIdentifier !== record.setIdentifier &&
        // Alias records have no TTL of their own and may sit in a group beside records that have one.
        other.ttl !== undefined &&
        record.ttl !== undefined &&
        other.ttl !== record.ttl,
    );
    if (differing) {
      problems.push(
        `RRSet with DNS name ${displayName(record.name)} and type ${record.type}, SetIdentifier ${record.setIdentifier} cannot be created as weighted sets must contain the same TTL.`,
      );
    }
  }
  return problems;
}

function zoneInvariantProblems(zone: HostedZoneState, working: Map<string, RecordSet>): string[] {
  const apex = [...working.values()].filter((record) => record.name === zone.name);
  const problems: string[] = [];
  if (apex.filter((record) => record.type === "SOA").length !== 1)
    problems.push(`A HostedZone must contain exactly one SOA record for ${zone.name}`);
  if (!apex.some((record) => record.type === "NS"))
    problems.push(`A HostedZone must contain at least one NS record for the zone itself (${zone.name})`);
  return problems;
}

// ---------------------------------------------------------------- seeding

/** A problem with one seeded record, by its index in the seed's `records` list (-1 for the zone itself). */
export interface SeedRecordProblem {
  index: number;
  message: string;
}

/**
 * Builds a hosted zone from the seed through the same change engine as
 * ChangeResourceRecordSets, so a seed cannot declare what AWS would refuse.
 * The zone's SOA and NS records are added when the seed does not declare them.
 */
export function buildSeedZone(seed: SeedZone): { state: HostedZoneState; problems: SeedRecordProblem[] } {
  const zoneName = normalizeName(seed.name);
  const id = seed.id.replace(/^\/hostedzone\//, "");
  const state: HostedZoneState = { id, name: zoneName, callerReference: `sandbox-seed-${id}`, records: [] };
  const problems: SeedRecordProblem[] = [];
  const declared = seed.records.map((record) => seedRecordSet(record));
  if (!declared.some((record) => record.name === zoneName && record.type === "SOA")) {
    state.records.push({
      name: zoneName,
      type: "SOA",
      ttl: 900,
      values: [`ns-1.awsdns-sandbox.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`],
    });
  }
  if (!declared.some((record) => record.name === zoneName && record.type === "NS")) {
    state.records.push({
      name: zoneName,
      type: "NS",
      ttl: 172800,
      values: [
        "ns-1.awsdns-sandbox.org.",
        "ns-2.awsdns-sandbox.co.uk.",
        "ns-3.awsdns-sandbox.com.",
        "ns-4.awsdns-sandbox.net.",
      ],
    });
  }
  // Aliases may target records declared later in the seed, so each record is checked against the whole declared zone.
  const all = [...state.records, ...declared].sort(compareRecords);
  declared.forEach((record, index) => {
    try {
      checkRecordShape(record, () => changeContext("CREATE", record));
      const others = all.filter((other) => other !== record);
      const zoneWithoutRecord: HostedZoneState = { ...state, records: others };
      applyChangeBatch(zoneWithoutRecord, [{ action: "CREATE", record }]);
    } catch (error) {
      problems.push({
        index,
        message: error instanceof ServiceError ? error.message.replace(/^\[|\]$/g, "") : String(error),
      });
    }
  });
  state.records = all;
  return { state, problems };
}

function seedRecordSet(seed: SeedZone["records"][number]): RecordSet {
  const record: RecordSet = { name: normalizeName(seed.name), type: seed.type };
  if (seed.setIdentifier !== undefined) record.setIdentifier = seed.setIdentifier;
  if (seed.weight !== undefined) record.weight = seed.weight;
  if (seed.ttl !== undefined) record.ttl = seed.ttl;
  if (seed.values !== undefined) record.values = [...seed.values];
  if (seed.aliasTarget !== undefined) {
    record.aliasTarget = {
      hostedZoneId: seed.aliasTarget.hostedZoneId,
      dnsName: normalizeName(seed.aliasTarget.dnsName),
      evaluateTargetHealth: seed.aliasTarget.evaluateTargetHealth,
    };
  }
  if (seed.healthCheckId !== undefined) record.healthCheckId = seed.healthCheckId.toLowerCase();
  return record;
}
