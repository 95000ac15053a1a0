/**
 * Fault injection for control-plane operations: answer an operation with an
 * AWS error (throttling, a 5xx, ...) and/or add latency to it. Every fault is
 * bounded, by a number of firings or by time, and counts how often it fired,
 * so a test or a demo can tell what the SDK actually went through.
 */

/** A fault as the admin API accepts it. */
export interface FaultSpec {
  /** Service name: "route53", "ecs", "lambda", "cloudwatch", "s3", "eventbridge", "sqs", "sns". */
  service: string;
  /** Operation name (e.g. "ChangeResourceRecordSets"); "*" or absent for every operation of the service. */
  operation?: string;
  /** AWS error code to answer with; absent for a latency-only fault. */
  error?: string;
  /** HTTP status of the error; defaults to the status AWS uses for that code. */
  status?: number;
  /** Error message; a default names the fault. */
  message?: string;
  /** Fire on this many matching calls, then retire. */
  count?: number;
  /** Stay active this long from now, ms. */
  durationMs?: number;
  /** Stay active until this epoch time, ms. */
  untilMs?: number;
  /** Delay before answering, ms (with or without an error). */
  latencyMs?: number;
}

/** A registered fault and what it has done so far. */
export interface FaultRecord {
  id: string;
  service: string;
  operation: string;
  error?: string;
  status?: number;
  message?: string;
  latencyMs: number;
  count?: number;
  untilMs?: number;
  createdAt: number;
  /** Times it fired. */
  fired: number;
  /** Firings left, when bounded by count. */
  remaining?: number;
  /** False once the count is used up or the time has passed. */
  active: boolean;
}

/** What the server must do for one call. */
export interface FaultAction {
  faultId: string;
  latencyMs: number;
  error?: { code: string; status: number; message: string };
}

/** Thrown for a fault specification the admin API refuses; names the field and what would be accepted. */
export class FaultSpecError extends Error {}

/** Statuses AWS answers these codes with; other codes need an explicit `status` or default to 400. */
const DEFAULT_STATUS: Readonly<Record<string, number>> = {
  Throttling: 400,
  ThrottlingException: 400,
  PriorRequestNotComplete: 400,
  RequestLimitExceeded: 400,
  TooManyRequestsException: 429,
  InternalFailure: 500,
  InternalError: 500,
  ServiceException: 500,
  ServerException: 500,
  InternalServiceError: 500,
  ServiceUnavailable: 503,
  SlowDown: 503,
  ServiceUnavailableException: 503,
};

const KNOWN_SERVICES = ["route53", "ecs", "lambda", "cloudwatch", "s3", "eventbridge", "sqs", "sns"];
const MAX_LATENCY_MS = 120_000;
const MAX_FAULTS = 1_000;
const SPEC_FIELDS = new Set([
  "service",
  "operation",
  "error",
  "status",
  "message",
  "count",
  "durationMs",
  "untilMs",
  "latencyMs",
]);

/** The faults of one sandbox. */
export class FaultRegistry {
  private readonly faults: FaultRecord[] = [];
  private nextId = 1;

  constructor(private readonly now: () => number = Date.now) {}

  /** Validates and registers a fault; throws FaultSpecError naming the offending field. */
  add(input: unknown): FaultRecord {
    const spec = readFaultSpec(input);
    if (this.faults.length >= MAX_FAULTS)
      throw new FaultSpecError(
        `at most ${MAX_FAULTS} faults can be registered; DELETE /_sandbox/faults first`,
      );
    const createdAt = this.now();
    const untilMs = spec.durationMs !== undefined ? createdAt + spec.durationMs : spec.untilMs;
    const record: FaultRecord = {
      id: `fault-${this.nextId++}`,
      service: spec.service,
      operation: spec.operation ?? "*",
      latencyMs: spec.latencyMs ?? 0,
      createdAt,
      fired: 0,
      active: true,
    };
    if (spec.error !== undefined) {
      record.error = spec.error;
      record.status = spec.status ?? DEFAULT_STATUS[spec.error] ?? 400;
      if (spec.message !== undefined) record.message = spec.message;
    }
    if (spec.count !== undefined) {
      record.count = spec.count;
      record.remaining = spec.count;
    }
    if (untilMs !== undefined) record.untilMs = untilMs;
    this.faults.push(record);
    return { ...record };
  }

  /** Every fault ever registered (since the last clear), with firing counts and whether it is still active. */
  list(): FaultRecord[] {
    const now = this.now();
    return this.faults.map((fault) => ({ ...fault, active: isActive(fault, now) }));
  }

  /** Removes every fault. Returns how many there were. */
  clear(): number {
    const removed = this.faults.length;
    this.faults.length = 0;
    return removed;
  }

  /** The fault to apply to this call, consuming one firing; undefined when none applies. */
  take(service: string, operation: string): FaultAction | undefined {
    const now = this.now();
    for (const fault of this.faults) {
      if (fault.service !== service) continue;
      if (fault.operation !== "*" && fault.operation !== operation) continue;
      if (!isActive(fault, now)) continue;
      fault.fired++;
      if (fault.remaining !== undefined) fault.remaining--;
      const action: FaultAction = { faultId: fault.id, latencyMs: fault.latencyMs };
      if (fault.error !== undefined) {
        action.error = {
          code: fault.error,
          status: fault.status ?? 400,
          message: fault.message ?? defaultMessage(fault.error),
        };
      }
      return action;
    }
    return undefined;
  }
}

function isActive(fault: FaultRecord, now: number): boolean {
  if (fault.remaining !== undefined && fault.remaining <= 0) return false;
  if (fault.untilMs !== undefined && now >= fault.untilMs) return false;
  return true;
}

function defaultMessage(code: string): string {
  if (/throttl|limit|toomany/i.test(code)) return "Rate exceeded";
  if (code === "PriorRequestNotComplete")
    return "The request was rejected because Route 53 was still processing a prior request.";
  return `Injected fault: ${code}`;
}

/** Reads a fault specification, refusing unknown fields, wrong types and unbounded faults. */
export function readFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new FaultSpecError(
      'a fault must be a JSON object such as {"service":"route53","operation":"ChangeResourceRecordSets","error":"Throttling","count":2}',
    );
  }
  const fields = input as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!SPEC_FIELDS.has(key))
      throw new FaultSpecError(`unknown field "${key}"; accepted fields: ${[...SPEC_FIELDS].join(", ")}`);
  }
  const service = fields.service;
  if (typeof service !== "string" || !KNOWN_SERVICES.includes(service)) {
    throw new FaultSpecError(
      `"service" must be one of ${KNOWN_SERVICES.join(", ")}; got ${JSON.stringify(service)}`,
    );
  }
  const spec: FaultSpec = { service };
  const operation = optionalString(
    fields,
    "operation",
    /^(\*|[A-Z][A-Za-z0-9]*)$/,
    "an operation name such as ChangeResourceRecordSets, or *",
  );
  if (operation !== undefined) spec.operation = operation;
  const error = optionalString(
    fields,
    "error",
    /^[A-Za-z][A-Za-z0-9.]*$/,
    "an AWS error code such as Throttling or InternalFailure",
  );
  if (error !== undefined) spec.error = error;
  const message = optionalString(fields, "message", /^[\s\S]{1,1000}$/, "a message of 1 to 1000 characters");
  if (message !== undefined) spec.message = message;
  const status = optionalInteger(fields, "status", 400, 599);
  if (status !== undefined) {
    if (error === undefined)
      throw new FaultSpecError('"status" needs "error": a status is the status of an error answer');
    spec.status = status;
  }
  const count = optionalInteger(fields, "count", 1, 1_000_000);
  if (count !== undefined) spec.count = count;
  const durationMs = optionalInteger(fields, "durationMs", 1, 24 * 3_600_000);
  if (durationMs !== undefined) spec.durationMs = durationMs;
  const untilMs = optionalInteger(fields, "untilMs", 1, Number.MAX_SAFE_INTEGER);
  if (untilMs !== undefined) spec.untilMs = untilMs;
  if (durationMs !== undefined && untilMs !== undefined)
    throw new FaultSpecError('give "durationMs" or "untilMs", not both');
  const latencyMs = optionalInteger(fields, "latencyMs", 0, MAX_LATENCY_MS);
  if (latencyMs !== undefined) spec.latencyMs = latencyMs;
  if (error === undefined && latencyMs === undefined)
    throw new FaultSpecError('a fault needs "error" (an AWS error code), "latencyMs", or both');
  if (count === undefined && durationMs === undefined && untilMs === undefined) {
    throw new FaultSpecError(
      'a fault must be bounded: give "count" (number of calls), "durationMs" or "untilMs" (epoch ms)',
    );
  }
  return spec;
}

function optionalString(
  fields: Record<string, unknown>,
  name: string,
  pattern: RegExp,
  accepted: string,
): string | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !pattern.test(value))
    throw new FaultSpecError(`"${name}" must be ${accepted}; got ${JSON.stringify(value)}`);
  return value;
}

function optionalInteger(
  fields: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = fields[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new FaultSpecError(
      `"${name}" must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
