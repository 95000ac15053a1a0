/**
 * The announcer: sends each event to every sink of the migration whose
 * filter accepts it, all sinks at once, each with its own retries. It never
 * throws and never takes longer than the retry policy's budget: a failed
 * delivery is warned, kept in {@link Announcer.deliveries} for the job
 * summary and the step's `notifications` output (which record-state writes
 * into the status history), and the migration step goes on.
 */
import type { Migration, NotificationSinkSpec } from "../model/spec.js";
import { type DeliveryClock, deliverWithRetry, SYSTEM_CLOCK } from "./deliver.js";
import { type CloudEvent, type EventOrigin, type NotificationEvent, toCloudEvent } from "./events.js";
import { filterAccepts } from "./filter.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
import { resolveSink, type SecretLookup, type SinkResolution } from "./secrets.js";
import type { SinkTransport, SinkTransportFactory } from "./transport.js";

/** What became of one event at one sink. */
export interface DeliveryRecord {
  sink: string;
  kind: NotificationSinkSpec["kind"];
  event: NotificationEvent["name"];
  /** The CloudEvent id (idempotency key). */
  id: string;
  delivered: boolean;
  attempts: number;
  elapsedMs: number;
  /** Why it was not delivered; names secrets, never their values. */
  error?: string;
}

/** Log lines the announcer writes (the action's logger fits). */
export interface AnnouncerLog {
  info(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  warn(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

export interface AnnouncerOptions {
  migration: Pick<Migration, "id" | "notifications">;
  origin: EventOrigin;
  lookup: SecretLookup;
  transports: SinkTransportFactory;
  log: AnnouncerLog;
  /** Masks a secret value in every later log line (core.setSecret in actions). */
  mask(value: string): void;
  policy?: RetryPolicy;
  clock?: DeliveryClock;
}

interface PreparedSink {
  spec: NotificationSinkSpec;
  transport?: SinkTransport;
  problem?: string;
}

export class Announcer {
  /** Every delivery so far, in the order they finished. */
  readonly deliveries: DeliveryRecord[] = [];
  private prepared: PreparedSink[] | undefined;

  constructor(private readonly options: AnnouncerOptions) {}

  /** True when the migration has sinks at all. */
  get configured(): boolean {
    return (this.options.migration.notifications?.sinks.length ?? 0) > 0;
  }

  private sinks(): PreparedSink[] {
    if (this.prepared) return this.prepared;
    this.prepared = (this.options.migration.notifications?.sinks ?? []).map((spec) => {
      let resolution: SinkResolution;
      try {
        resolution = resolveSink(spec, this.options.lookup);
      } catch (error) {
        resolution = {
          ok: false,
          problem: error instanceof Error ? error.message : String(error),
          values: [],
        };
      }
      for (const value of resolution.values) this.options.mask(value);
      if (!resolution.ok) {
        this.options.log.warn(`notification sink "${spec.name}" cannot be used: ${resolution.problem}`, {
          sink: spec.name,
        });
        return { spec, problem: resolution.problem };
      }
      try {
        return { spec, transport: this.options.transports(spec, resolution.secrets) };
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        this.options.log.warn(`notification sink "${spec.name}" cannot be used: ${problem}`, {
          sink: spec.name,
        });
        return { spec, problem };
      }
    });
    return this.prepared;
  }

  /** The envelope an event becomes (the same for every sink). */
  envelope(event: NotificationEvent): CloudEvent {
    return toCloudEvent(event, this.options.origin);
  }

  /** Sends the event to every sink that accepts it; resolves when all are delivered or given up. Never rejects. */
  async announce(event: NotificationEvent): Promise<DeliveryRecord[]> {
    try {
      if (!this.configured) return [];
      const envelope = this.envelope(event);
      const targets = this.sinks().filter((sink) => filterAccepts(sink.spec.filter, envelope));
      const records = await Promise.all(targets.map((sink) => this.deliverTo(sink, envelope)));
      return records;
    } catch (error) {
      // A bug here must not become a failed migration step.
      this.options.log.warn(
        `notifications for ${event.name} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return [];
    }
  }

  private async deliverTo(sink: PreparedSink, envelope: CloudEvent): Promise<DeliveryRecord> {
    const base = { sink: sink.spec.name, kind: sink.spec.kind, event: envelope.data.event, id: envelope.id };
    let record: DeliveryRecord;
    if (!sink.transport) {
      record = { ...base, delivered: false, attempts: 0, elapsedMs: 0, error: sink.problem ?? "not usable" };
    } else {
      const transport = sink.transport;
      const result = await deliverWithRetry(
        (signal) => transport.send(envelope, signal),
        this.options.policy ?? DEFAULT_RETRY_POLICY,
        this.options.clock ?? SYSTEM_CLOCK,
      );
      record = {
        ...base,
        delivered: result.delivered,
        attempts: result.attempts,
        elapsedMs: result.elapsedMs,
        ...(result.failure ? { error: result.failure } : {}),
      };
    }
    const fields = { sink: record.sink, event: record.event, id: record.id, attempts: record.attempts };
    if (record.delivered) this.options.log.info(`notified ${record.sink} of ${record.event}`, fields);
    else this.options.log.warn(`could not notify ${record.sink} of ${record.event}: ${record.error}`, fields);
    this.deliveries.push(record);
    return record;
  }
}
