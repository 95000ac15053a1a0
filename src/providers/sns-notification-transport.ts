/**
 * SNS topics: the CloudEvent as the message (shortened to fit SNS's 256 KiB,
 * never dropped), with `type` and `migration` message attributes for
 * subscription filter policies. FIFO topics get the migration as message
 * group and the event id as deduplication id, so SNS itself drops retries.
 *
 * The client makes one try per attempt: the retry policy (backoff, budget)
 * is the announcer's, the same for every sink.
 */
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { CloudEvent } from "../notify/events.js";
import { fitEnvelope, SNS_MAX_MESSAGE_BYTES } from "../notify/fit.js";
import type { AttemptOutcome } from "../notify/retry.js";
import type { SinkTransport } from "../notify/transport.js";

/** Room kept under the limit for the message attributes, which count towards it. */
const ATTRIBUTE_ALLOWANCE = 1024;

/** SNS errors that a later attempt can get past. */
const RETRYABLE = new Set([
  "Throttled",
  "ThrottlingException",
  "ThrottledException",
  "InternalError",
  "InternalFailure",
  "ServiceUnavailable",
  "KMSThrottlingException",
  "RequestTimeout",
  "TimeoutError",
]);

/** The region of an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>). */
export function regionOfTopicArn(topicArn: string): string {
  const region = topicArn.split(":")[3];
  if (!region)
    throw new Error(`"${topicArn}" is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)`);
  return region;
}

/** A Subject SNS accepts: ASCII, no line breaks, under 100 characters. */
function subjectOf(event: CloudEvent): string {
  const text = `cutover ${event.subject}: ${event.data.event}${event.data.phase ? ` (${event.data.phase})` : ""}`;
  return text.replace(/[^\x20-\x7e]/g, "?").slice(0, 99);
}

export class SnsNotificationTransport implements SinkTransport {
  private readonly client: SNSClient;

  constructor(
    private readonly topicArn: string,
    client?: SNSClient,
  ) {
    this.client = client ?? new SNSClient({ region: regionOfTopicArn(topicArn), maxAttempts: 1 });
  }

  async send(event: CloudEvent, signal: AbortSignal): Promise<AttemptOutcome> {
    const message = JSON.stringify(fitEnvelope(event, SNS_MAX_MESSAGE_BYTES - ATTRIBUTE_ALLOWANCE));
    const fifo = this.topicArn.endsWith(".fifo");
    try {
      const result = await this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Message: message,
          Subject: subjectOf(event),
          MessageAttributes: {
            type: { DataType: "String", StringValue: event.type },
            migration: { DataType: "String", StringValue: event.subject },
          },
          ...(fifo ? { MessageGroupId: event.subject, MessageDeduplicationId: event.id } : {}),
        }),
        { abortSignal: signal },
      );
      return { kind: "delivered", detail: `SNS message ${result.MessageId ?? "published"}` };
    } catch (error) {
      const name = (error as { name?: string }).name ?? "Error";
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const detail = `SNS ${name}: ${(error as Error).message ?? String(error)}`;
      if (RETRYABLE.has(name) || (status !== undefined && status >= 500) || status === undefined) {
        return { kind: "retryable", detail };
      }
      return { kind: "rejected", detail };
    }
  }
}
