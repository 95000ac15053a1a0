/** Slack incoming webhooks: the Block Kit message of the event, POSTed as JSON. */
import type { CloudEvent } from "../notify/events.js";
import type { AttemptOutcome } from "../notify/retry.js";
import { slackMessage } from "../notify/slack.js";
import type { SinkTransport } from "../notify/transport.js";
import { postOnce } from "./http-notification-transport.js";

export class SlackNotificationTransport implements SinkTransport {
  constructor(private readonly webhookUrl: string) {}

  send(event: CloudEvent, signal: AbortSignal): Promise<AttemptOutcome> {
    return postOnce(
      this.webhookUrl,
      { "content-type": "application/json; charset=utf-8" },
      JSON.stringify(slackMessage(event)),
      signal,
    );
  }
}
