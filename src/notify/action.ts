/**
 * Notifications inside an action: the secrets from the `notification-secrets`
 * input (or the CUTOVER_NOTIFICATION_SECRETS environment variable a workflow
 * sets once at its top), masked before anything logs, an announcer per
 * migration, and the step's `notifications` output when the step ends.
 */
import type { RunContext } from "../action/run-context.js";
import type { Migration } from "../model/spec.js";
import { Announcer, type AnnouncerLog, type DeliveryRecord } from "./announcer.js";
import type { EventOrigin } from "./events.js";
import { notificationsOutput } from "./report.js";
import type { RetryPolicy } from "./retry.js";
import { parseNotificationSecrets } from "./secrets.js";
import type { SinkTransportFactory } from "./transport.js";

/** The input every notifying action declares. */
export const NOTIFICATION_SECRETS_INPUT = "notification-secrets";
/** Read when the input is empty, so a workflow can hand the secrets to every step with one env line. */
export const NOTIFICATION_SECRETS_ENV = "CUTOVER_NOTIFICATION_SECRETS";
/** Overrides the correlation id, to carry one from an upstream system (an alarm's dispatch, a deploy pipeline). */
export const CORRELATION_ID_ENV = "CUTOVER_CORRELATION_ID";

/** Contract entries shared by every notifying action (action.yml repeats them). */
export const NOTIFICATION_CONTRACT = {
  input: {
    description:
      "Secrets that notification sinks name, as NAME=value lines or a JSON object; when empty, the CUTOVER_NOTIFICATION_SECRETS environment variable. Values are masked in the log.",
  },
  output: {
    description:
      "JSON list of the notifications this step sent (sink, event, id, delivered, attempts, error); record-state records failed ones in the status history.",
  },
} as const;

/** The CloudEvents source and correlation id of a workflow run. */
export function workflowOrigin(
  run: RunContext,
  env: Readonly<Record<string, string | undefined>>,
): EventOrigin {
  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  const source = run.repository ? `${server}/${run.repository}` : "urn:cutover:local";
  const correlationId = env[CORRELATION_ID_ENV] || run.correlationId;
  return {
    source,
    correlationId,
    ...(env.GITHUB_RUN_ID ? { idScope: `run-${env.GITHUB_RUN_ID}` } : {}),
  };
}

export interface ActionNotificationsOptions {
  /** The notification-secrets input as given (may be empty). */
  secretsInput: string | undefined;
  run: RunContext;
  log: AnnouncerLog;
  mask(value: string): void;
  transports: SinkTransportFactory;
  env?: Readonly<Record<string, string | undefined>>;
  policy?: RetryPolicy;
}

/** One action's notifications: an announcer per migration, all deliveries in one list. */
export class ActionNotifications {
  private readonly announcers: Announcer[] = [];
  private readonly secrets: Record<string, string>;
  private readonly env: Readonly<Record<string, string | undefined>>;

  constructor(private readonly options: ActionNotificationsOptions) {
    this.env = options.env ?? process.env;
    const text = options.secretsInput || this.env[NOTIFICATION_SECRETS_ENV] || "";
    const parsed = parseNotificationSecrets(text);
    this.secrets = parsed.values;
    for (const value of Object.values(parsed.values)) if (value !== "") options.mask(value);
    for (const problem of parsed.problems) {
      options.log.warn(`input "${NOTIFICATION_SECRETS_INPUT}": ${problem}; the secrets it holds are ignored`);
    }
  }

  /** The announcer of a migration (sinks from its spec). */
  readonly announcerFor = (migration: Pick<Migration, "id" | "notifications">): Announcer => {
    const announcer = new Announcer({
      migration,
      origin: workflowOrigin(this.options.run, this.env),
      lookup: { secrets: this.secrets, env: this.env },
      transports: this.options.transports,
      log: this.options.log,
      mask: this.options.mask,
      ...(this.options.policy ? { policy: this.options.policy } : {}),
    });
    this.announcers.push(announcer);
    return announcer;
  };

  get deliveries(): DeliveryRecord[] {
    return this.announcers.flatMap((announcer) => announcer.deliveries);
  }

  /** Writes the step's notifications output. */
  publish(setOutput: (value: string) => void): void {
    setOutput(notificationsOutput(this.deliveries));
  }
}

/** The hook operations receive: the announcer for the migration they loaded. */
export type AnnouncerFor = (migration: Pick<Migration, "id" | "notifications">) => Announcer;

/** What of an action's context notifications use (the ActionContext of src/action/run.ts fits). */
export interface NotifyingActionContext {
  inputs: { optional(name: typeof NOTIFICATION_SECRETS_INPUT): string | undefined };
  run: RunContext;
  log: AnnouncerLog;
  secret(value: string): void;
  setOutput(name: typeof NOTIFICATIONS_OUTPUT_NAME, value: string): void;
}

const NOTIFICATIONS_OUTPUT_NAME = "notifications";

/**
 * Runs an action body with notifications: the body gets the announcer hook,
 * and the `notifications` output is written however the body ends.
 */
export async function withActionNotifications<R>(
  ctx: NotifyingActionContext,
  transports: SinkTransportFactory,
  body: (announcerFor: AnnouncerFor) => Promise<R>,
): Promise<R> {
  const notifications = new ActionNotifications({
    secretsInput: ctx.inputs.optional(NOTIFICATION_SECRETS_INPUT),
    run: ctx.run,
    log: ctx.log,
    mask: (value) => ctx.secret(value),
    transports,
  });
  try {
    return await body(notifications.announcerFor);
  } finally {
    notifications.publish((value) => ctx.setOutput(NOTIFICATIONS_OUTPUT_NAME, value));
  }
}
