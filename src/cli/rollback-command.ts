/**
 * `cutover rollback`: break-glass from a laptop, with the operator's AWS
 * credentials. The same operation as the guardian's (the AWS-side checkpoint,
 * the rollback action's invariants, the journal and the hold), so the next
 * reconcile records it in git like any other rollback.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, resolve } from "node:path";
import { createAwsClients } from "../action/aws.js";
import type { MigrationStatus } from "../model/status.js";
import { cliAnnouncer } from "../notify/cli.js";
import { rollbackCompletedEvent } from "../notify/event-builders.js";
import { type AwsRollbackRequest, rollbackFromCheckpoint } from "../ops/aws-rollback.js";
import { OperationJournal } from "../ops/journal.js";
import { readMigrationLeniently } from "../ops/migration-context.js";
import { ALL_OLD } from "../ops/rollback.js";
import { formatWeights } from "../ops/traffic.js";
import { createCheckpointStore } from "../providers/checkpoint-stores.js";
import { createSinkTransport } from "../providers/notification-transports.js";
import { readStatus, statusPath } from "../spec/files.js";
import { type CliCommand, type CliIo, EXIT, parseOptions, UsageError } from "./command.js";
import { DEFAULT_SPEC_FILE } from "./validate-command.js";

/** The environment variable that names the checkpoint store when --checkpoint-store is not given. */
export const CHECKPOINT_STORE_VARIABLE = "CUTOVER_CHECKPOINT_STORE";

type Target = AwsRollbackRequest["target"];

function targetOf(value: string | undefined): Target {
  if (value === undefined || value === "checkpoint") return "checkpoint";
  if (value === ALL_OLD) return "all-old";
  if (!/^[a-z0-9][a-z0-9-]*$/.test(value)) {
    throw new UsageError(`--to ${JSON.stringify(value)}: give checkpoint, all-old or a phase name`);
  }
  return { phase: value };
}

/** Git's view, when the checkout has it: the spec entry, and the status if it can be read. */
async function readGit(specFile: string, migrationId: string, io: CliIo) {
  if (!existsSync(specFile)) return undefined;
  try {
    const migration = await readMigrationLeniently(specFile, migrationId);
    let status: MigrationStatus | undefined;
    if (existsSync(statusPath(dirname(specFile), migrationId))) {
      status = await readStatus(dirname(specFile), migrationId, io.now()).catch((error: unknown) => {
        io.stderr(
          `warning: ${migrationId}'s status cannot be read (${(error as Error).message}); going on without it\n`,
        );
        return undefined;
      });
    }
    return { migration, ...(status ? { status } : {}) };
  } catch (error) {
    io.stderr(`warning: ${(error as Error).message}; going on with the AWS-side checkpoint alone\n`);
    return undefined;
  }
}

export const rollbackCommand: CliCommand = {
  name: "rollback",
  summary: "break-glass rollback from a laptop, recorded by the next reconcile",
  usage: `Usage: cutover rollback <migration> --reason "<why>" [--to checkpoint|all-old|<phase>]
                        [--checkpoint-store s3://<bucket>/<prefix>] [--file <spec>]

Rolls a migration back with your AWS credentials (the SDK's standard chain:
AWS_PROFILE, AWS_REGION, ...), from the AWS-side checkpoint the workflows keep,
with the same rules as the rollback action: an old side scaled to zero is
scaled up and stable before any weight returns to it; both records change in
one compare-and-swap batch; the Lambda alias is pointed back alone. The change
is journaled beside the checkpoint and holds further shifts until the next
reconcile records it in git.

  --reason <why>            required: recorded with the rollback
  --to <target>             checkpoint (default: the last checkpoint), all-old, or a phase name
  --checkpoint-store <url>  where the checkpoint lives (default: $${CHECKPOINT_STORE_VARIABLE})
  --file <spec>             the spec, used when the store has no checkpoint (default: ${DEFAULT_SPEC_FILE})
  --insync-timeout <s>      seconds to wait for INSYNC (default 120)
  --stable-timeout <s>      seconds to wait for a scaled-up ECS service (default 600)

Exit codes: 0 rolled back or nothing to do, 1 refused (nothing changed), 2 usage error.`,
  async run(args, io) {
    const { values, positionals } = parseOptions(
      args,
      {
        reason: { type: "string" },
        to: { type: "string" },
        "checkpoint-store": { type: "string" },
        file: { type: "string" },
        "insync-timeout": { type: "string" },
        "stable-timeout": { type: "string" },
      },
      1,
    );
    const migrationId = positionals[0];
    if (!migrationId)
      throw new UsageError("give the migration id: cutover rollback <migration> --reason ...");
    const reason = values.reason?.trim();
    if (!reason)
      throw new UsageError('--reason is required: say why, e.g. --reason "5xx at 4 % since 03:12"');
    const location = values["checkpoint-store"] ?? process.env[CHECKPOINT_STORE_VARIABLE];
    if (!location) {
      throw new UsageError(
        `give --checkpoint-store s3://<bucket>/<prefix> or set ${CHECKPOINT_STORE_VARIABLE}: the rollback is journaled there so git can record it`,
      );
    }
    const seconds = (name: "insync-timeout" | "stable-timeout", fallback: number) => {
      const raw = values[name];
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < 1 || value > 3600) {
        throw new UsageError(`--${name} ${JSON.stringify(raw)}: give whole seconds from 1 to 3600`);
      }
      return value;
    };
    let store: ReturnType<typeof createCheckpointStore>;
    try {
      store = createCheckpointStore(location, "--checkpoint-store");
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const target = targetOf(values.to);
    const insyncTimeoutSeconds = seconds("insync-timeout", 120);
    const stableTimeoutSeconds = seconds("stable-timeout", 600);
    const specFile = resolve(io.cwd, values.file ?? DEFAULT_SPEC_FILE);
    const fromGit = await readGit(specFile, migrationId, io);
    const operator = process.env.USER ?? safeUser();
    const journal = new OperationJournal({
      info: (message) => io.stdout(`  ${message}\n`),
      warn: (message) => io.stderr(`  warning: ${message}\n`),
    });
    const started = io.now();
    const entryId = `break-glass-${started
      .toISOString()
      .replace(/[^0-9]/g, "")
      .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
    try {
      const result = await rollbackFromCheckpoint(
        {
          store,
          migrationId,
          entryId,
          by: "break-glass",
          trigger: { kind: "break-glass", operator, reason },
          target,
          clients: createAwsClients(),
          insyncTimeoutSeconds,
          stableTimeoutSeconds,
          now: () => io.now(),
          ...(fromGit ? { fromGit } : {}),
        },
        journal,
      );
      io.stdout(`${migrationId}: ${result.outcome} — ${result.detail}\n`);
      if (result.move && !result.move.noOp) {
        io.stdout(
          `Traffic now ${formatWeights(result.move.weights)}. Journaled as ${result.entry?.id} in ${store.label}; ` +
            "the next reconcile (any workflow run) records it in git and opens the pull request that realigns migrations.json.\n",
        );
        if (result.holdWritten === false) {
          io.stderr(
            "warning: the checkpoint hold was not written; shifts are not held until reconcile runs\n",
          );
        }
      }
      if (result.move && fromGit?.migration.notifications) {
        // Told once traffic is back; a sink that fails is a warning, never a failed rollback.
        await cliAnnouncer({
          migration: fromGit.migration,
          entryId,
          operator,
          env: process.env,
          transports: createSinkTransport,
          log: journal.log,
        }).announce(
          rollbackCompletedEvent(
            { migration: migrationId, phase: fromGit.status?.phase ?? null, time: io.now() },
            {
              origin: "cli",
              reason: `${reason} (by ${operator})`,
              previousWeights: result.move.previousWeights,
              weights: result.move.weights,
              key: entryId,
              ...(result.move.change ? { changeId: result.move.change.id } : {}),
              outcome: result.outcome,
            },
          ),
        );
      }
      return EXIT.ok;
    } catch (error) {
      io.stderr(`cutover rollback ${migrationId} stopped: ${(error as Error).message}\n`);
      for (const line of journal.done) io.stderr(`  done before stopping: ${line}\n`);
      return EXIT.invalid;
    }
  },
};

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown operator";
  }
}
