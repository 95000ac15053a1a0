/**
 * The registry of notification transports: one line per sink kind. An
 * unknown kind is an error naming the kinds that exist.
 */
import type { NotificationSinkSpec } from "../model/spec.js";
import type { ResolvedSinkSecrets, SinkTransport } from "../notify/transport.js";
import { SlackNotificationTransport } from "./slack-notification-transport.js";
import { SnsNotificationTransport } from "./sns-notification-transport.js";
import { WebhookNotificationTransport } from "./webhook-notification-transport.js";

type Factory = (sink: NotificationSinkSpec, secrets: ResolvedSinkSecrets) => SinkTransport;

function needs(value: string | undefined, what: string, sink: NotificationSinkSpec): string {
  if (!value) throw new Error(`sink "${sink.name}" has no ${what}`);
  return value;
}

const TRANSPORTS: Record<NotificationSinkSpec["kind"], Factory> = {
  slack: (sink, secrets) => new SlackNotificationTransport(needs(secrets.url, "webhook URL", sink)),
  webhook: (sink, secrets) =>
    new WebhookNotificationTransport(
      needs(secrets.url, "URL", sink),
      needs(secrets.signingSecret, "signing secret", sink),
    ),
  sns: (sink) => {
    if (sink.kind !== "sns") throw new Error(`sink "${sink.name}" is not an SNS sink`);
    return new SnsNotificationTransport(sink.topicArn);
  },
};

/** The transport of a sink. */
export function createSinkTransport(sink: NotificationSinkSpec, secrets: ResolvedSinkSecrets): SinkTransport {
  const kind = (sink as { kind: string }).kind;
  if (!Object.hasOwn(TRANSPORTS, kind)) {
    throw new Error(
      `notification sink kind "${kind}" is not known; known kinds: ${Object.keys(TRANSPORTS).join(", ")}`,
    );
  }
  return TRANSPORTS[kind as NotificationSinkSpec["kind"]](sink, secrets);
}
