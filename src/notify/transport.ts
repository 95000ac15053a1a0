/**
 * What a notification transport is to the core: something that makes one
 * delivery attempt of an envelope. Implementations live in src/providers
 * (HTTP for Slack and webhooks, SNS through the AWS SDK), one per file.
 */
import type { NotificationSinkSpec } from "../model/spec.js";
import type { CloudEvent } from "./events.js";
import type { AttemptOutcome } from "./retry.js";

/** A sink's secrets, resolved from their references. */
export interface ResolvedSinkSecrets {
  /** The Slack webhook URL or the webhook's URL. */
  url?: string;
  /** The webhook's HMAC key. */
  signingSecret?: string;
}

export interface SinkTransport {
  /** Makes one attempt; aborting the signal abandons it. Throwing counts as a retryable failure. */
  send(event: CloudEvent, signal: AbortSignal): Promise<AttemptOutcome>;
}

/** Builds the transport of a sink from its spec and resolved secrets. */
export type SinkTransportFactory = (
  sink: NotificationSinkSpec,
  secrets: ResolvedSinkSecrets,
) => SinkTransport;
