/**
 * Notifications of a break-glass rollback from a laptop: the migration's
 * sinks from the checkout's spec, secrets from the environment
 * (CUTOVER_NOTIFICATION_SECRETS, or the variables `env` references name),
 * correlated by the journal entry the rollback wrote.
 */
import type { Migration } from "../model/spec.js";
import { NOTIFICATION_SECRETS_ENV } from "./action.js";
import { Announcer, type AnnouncerLog } from "./announcer.js";
import { parseNotificationSecrets } from "./secrets.js";
import type { SinkTransportFactory } from "./transport.js";

export function cliAnnouncer(options: {
  migration: Pick<Migration, "id" | "notifications">;
  entryId: string;
  operator: string;
  env: Readonly<Record<string, string | undefined>>;
  transports: SinkTransportFactory;
  log: AnnouncerLog;
}): Announcer {
  const parsed = parseNotificationSecrets(options.env[NOTIFICATION_SECRETS_ENV] ?? "");
  for (const problem of parsed.problems) options.log.warn(`${NOTIFICATION_SECRETS_ENV}: ${problem}`);
  return new Announcer({
    migration: options.migration,
    origin: {
      source: `urn:cutover:cli:${encodeURIComponent(options.operator)}`,
      correlationId: options.entryId,
    },
    lookup: { secrets: parsed.values, env: options.env },
    transports: options.transports,
    log: options.log,
    // Nothing the announcer prints holds a secret value; a terminal has no mask to apply.
    mask: () => {},
  });
}
