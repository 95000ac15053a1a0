/**
 * Signed webhooks: the CloudEvent in structured mode
 * (application/cloudevents+json), with the Cutover-Signature header over the
 * timestamp and the exact body (see src/notify/signing.ts). Each attempt is
 * signed afresh, so a late retry is not refused as a replay; the event id
 * stays the same, so the receiver can still drop the repeat.
 */
import type { CloudEvent } from "../notify/events.js";
import type { AttemptOutcome } from "../notify/retry.js";
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from "../notify/signing.js";
import type { SinkTransport } from "../notify/transport.js";
import { postOnce } from "./http-notification-transport.js";

export class WebhookNotificationTransport implements SinkTransport {
  constructor(
    private readonly url: string,
    private readonly signingSecret: string,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  send(event: CloudEvent, signal: AbortSignal): Promise<AttemptOutcome> {
    const body = JSON.stringify(event);
    return postOnce(
      this.url,
      {
        "content-type": "application/cloudevents+json; charset=utf-8",
        [SIGNATURE_HEADER]: signatureHeader(this.signingSecret, this.nowSeconds(), body),
        [EVENT_ID_HEADER]: event.id,
        "user-agent": "cutover-notifications",
      },
      body,
      signal,
    );
  }
}
