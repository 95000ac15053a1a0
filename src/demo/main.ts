/**
 * `npm run demo`: one command runs a whole migration locally on the sandbox,
 * with the same bundled actions the workflows run, the status committed to a
 * local git remote after every step, and live progress. Act one migrates the
 * example API through every phase; act two shows a failing new side caught
 * by a rollback alarm and rolled back by the guardian inside the sandbox's
 * AWS, then recorded by the workflow side. Exit code 0 only when both acts
 * went as they should.
 */

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { MigrationsFile } from "../model/spec.js";
import { NOTIFICATION_SECRETS_ENV } from "../notify/action.js";
import { formatWeights } from "../notify/events.js";
import { GUARDIAN_NOTIFY_ENV } from "../notify/guardian.js";
import { type LocalReceiver, startLocalReceiver } from "../notify/local-receiver.js";
import { createCheckpointStore } from "../providers/checkpoint-stores.js";
import { actOne } from "./act-one.js";
import { actTwo } from "./act-two.js";
import { BackgroundTraffic } from "./background.js";
import type { DemoContext, DemoSandbox } from "./context.js";
import { seconds } from "./context.js";
import { GUARDIAN_BUNDLE, installGuardian } from "./guardian.js";
import { type DemoOptions, parseDemoArgs, USAGE, UsageError } from "./options.js";
import { Progress } from "./progress.js";
import { StateRecorder } from "./recorder.js";
import { type DemoResult, lookAgainCommands, printSummary, writeResult } from "./report.js";
import { ActionRunner } from "./runner.js";
import { startDemoSandbox } from "./sandbox-link.js";
import { createWorkspace } from "./workspace.js";
import {
  buildDemoSeed,
  buildDemoSpec,
  DEMO_WEBHOOK_KEY_SECRET,
  DEMO_WEBHOOK_URL_SECRET,
  NEW_SET,
  OLD_SET,
  ORDERS,
  PAYMENTS,
} from "./world.js";

const projectRoot = resolve(import.meta.dirname, "..", "..");

// The demo runs on Node 20 as the project does; the SDK's notice about its releases of 2027 is not news here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** The actions the demo runs; each must have been built (actions/<name>/dist/index.js). */
const REQUIRED_ACTIONS = ["deploy", "load-test", "shift-traffic", "metric-gate", "rollback", "decommission"];

/** Alarm period of the demo's rollback alarms: the data plane publishes per-second metrics. */
const DEMO_ALARM_PERIOD_SECONDS = 10;

/** No run of the demo lasts longer than this, whatever happens. */
const WATCHDOG_MS = 8 * 60_000;

async function runDemo(options: DemoOptions, progress: Progress): Promise<DemoResult> {
  const startedAt = Date.now();
  const { profile } = options;
  progress.heading(
    `cutover demo (${profile.name}): ECS Fargate → Lambda behind Route 53, on the local sandbox`,
  );
  const spec = await buildDemoSpec(join(projectRoot, "migrations.json"), profile);
  const workspace = await createWorkspace(options.workDir, projectRoot, spec, profile);
  progress.step(
    `workspace ${workspace.root}: clone of a local bare repository with the demo's migrations.json`,
  );
  let sandbox: DemoSandbox | undefined;
  let receiver: LocalReceiver | undefined;
  const traffic: BackgroundTraffic[] = [];
  const paths = {
    workspace: workspace.root,
    repo: workspace.repo,
    remote: workspace.remote,
    statusDir: join(workspace.repo, "status"),
    evidence: workspace.evidence,
    result: options.resultPath,
  };
  const base: Omit<DemoResult, "ok" | "wallTimeMs" | "unexplainedFailures" | "commands"> = {
    profile: profile.name,
    startedAt: new Date(startedAt).toISOString(),
    recorder: "",
    phases: [],
    paths,
    notes: [],
  };
  try {
    const missing = REQUIRED_ACTIONS.filter(
      (name) => !new ActionRunner({ projectRoot, workspace: "", evidenceDir: "", awsEnv: {} }).has(name),
    );
    if (missing.length > 0) {
      throw new Error(`actions not built: ${missing.join(", ")}; run npm run build first`);
    }
    const started = await startDemoSandbox(buildDemoSeed([ORDERS, PAYMENTS]));
    sandbox = started;
    base.notes.push(...started.notes);
    progress.step(
      `sandbox on ${sandbox.endpoint}: hosted zone example.com, ECS cluster prod, Lambda functions, data plane`,
    );
    const receiverKey = randomBytes(24).toString("hex");
    receiver = await startLocalReceiver({
      secret: receiverKey,
      onEvent: (event) =>
        progress.step(
          `notified (${event.type.replace(/^dev\.cutover\./, "")}, ${event.subject}): ${event.data.summary}${
            event.data.weights?.after ? ` [${formatWeights(event.data.weights.after)}]` : ""
          }`,
        ),
      onRefused: (reason) => progress.fail(`the demo receiver refused a notification: ${reason}`),
    });
    progress.step(`notification receiver on ${receiver.url}: checks each signature and prints each event`);
    const runner = new ActionRunner({
      projectRoot,
      workspace: workspace.repo,
      evidenceDir: workspace.evidence,
      awsEnv: {
        ...sandbox.env,
        [NOTIFICATION_SECRETS_ENV]: `${DEMO_WEBHOOK_URL_SECRET}=${receiver.url}\n${DEMO_WEBHOOK_KEY_SECRET}=${receiverKey}`,
      },
    });
    const recorder = new StateRecorder(runner, workspace.repo);
    base.recorder = recorder.mode;
    if (!runner.has("record-state")) {
      base.notes.push(
        "actions/record-state/dist is not built: status changes were recorded by the same record-state operation in this process",
      );
    }
    const guardian = await installDemoGuardian(sandbox, spec, {
      [GUARDIAN_NOTIFY_ENV.webhookUrl]: receiver.url,
      [GUARDIAN_NOTIFY_ENV.webhookSecret]: receiverKey,
    });
    progress.step(
      `guardian installed in the sandbox: function ${guardian.install.functionName}, ${guardian.install.alarms.length} rollback alarms of ${PAYMENTS.id} at ${guardian.alarmPeriodSeconds} s, checkpoints in ${guardian.install.store}`,
    );
    const context: DemoContext = {
      profile,
      progress,
      runner,
      recorder,
      workspace,
      sandbox,
      projectRoot,
      phases: base.phases,
      notes: base.notes,
      guardian,
    };
    progress.step(`state recorded by the ${recorder.mode}, committed to ${workspace.remote}`);

    const ordersUrl = sandbox.dataPlaneUrls[ORDERS.recordName];
    if (!ordersUrl) throw new Error(`the sandbox has no data plane for ${ORDERS.recordName}`);
    const ordersTraffic = new BackgroundTraffic({
      url: ordersUrl,
      rps: profile.backgroundRps,
      maxDurationMs: WATCHDOG_MS,
      oldSet: OLD_SET,
      newSet: NEW_SET,
    });
    traffic.push(ordersTraffic);
    progress.heading(`Act one: ${ORDERS.id}, every phase`);
    progress.step(
      `background traffic: ${profile.backgroundRps} requests/s to ${ORDERS.recordName} (${ordersUrl})`,
    );
    const one = await actOne(context, spec, ORDERS, ordersTraffic);
    await ordersTraffic.stop();
    one.failures = ordersTraffic.failures();
    one.split = ordersTraffic.split(ordersTraffic.report().startedAt, ordersTraffic.report().endedAt);

    let two: DemoResult["actTwo"];
    if (one.passed) {
      const paymentsUrl = sandbox.dataPlaneUrls[PAYMENTS.recordName];
      if (!paymentsUrl) throw new Error(`the sandbox has no data plane for ${PAYMENTS.recordName}`);
      const paymentsTraffic = new BackgroundTraffic({
        url: paymentsUrl,
        rps: profile.backgroundRps,
        maxDurationMs: WATCHDOG_MS,
        oldSet: OLD_SET,
        newSet: NEW_SET,
      });
      traffic.push(paymentsTraffic);
      progress.heading(`Act two: ${PAYMENTS.id}, the new side fails at 50 %`);
      progress.step(
        `background traffic: ${profile.backgroundRps} requests/s to ${PAYMENTS.recordName} (${paymentsUrl})`,
      );
      two = await actTwo(context, spec, PAYMENTS, paymentsTraffic);
      await paymentsTraffic.stop();
      two.failures = paymentsTraffic.failures();
    } else {
      progress.fail("act one did not pass every phase; act two is skipped");
    }
    const unexplainedFailures = one.failures.unexplained + (two?.failures.unexplained ?? 0);
    const ok = one.passed && two?.rolledBack === true && unexplainedFailures === 0;
    const result: DemoResult = {
      ...base,
      ok,
      wallTimeMs: Date.now() - startedAt,
      actOne: one,
      ...(two ? { actTwo: two } : {}),
      unexplainedFailures,
      commands: lookAgainCommands(context),
      ...(ok
        ? {}
        : {
            error: !one.passed
              ? `act one stopped: ${one.error ?? "a phase did not pass"}`
              : two?.rolledBack !== true
                ? `act two did not roll back correctly${two?.error ? `: ${two.error}` : ""}`
                : `${unexplainedFailures} background requests failed because of a shift or rollback`,
          }),
    };
    await printSummary(context, result);
    return result;
  } finally {
    for (const running of traffic) await running.stop().catch(() => undefined);
    if (receiver) base.notes.push(`${receiver.events.length} notifications received by the demo receiver`);
    await receiver?.close().catch(() => undefined);
    await sandbox?.close().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  let options: DemoOptions | undefined;
  try {
    options = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const progress = new Progress(options.plain ? { plain: true } : {});
  const started = Date.now();
  const watchdog = setTimeout(() => {
    progress.fail(`the demo ran longer than ${seconds(WATCHDOG_MS)}; stopping`);
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  try {
    const result = await runDemo(options, progress);
    await writeResult(options.resultPath, result);
    return result.ok ? 0 : 1;
  } catch (error) {
    progress.fail(`demo stopped: ${(error as Error).message}`);
    await writeResult(options.resultPath, {
      ok: false,
      profile: options.profile.name,
      startedAt: new Date(started).toISOString(),
      wallTimeMs: Date.now() - started,
      recorder: "",
      phases: [],
      unexplainedFailures: 0,
      paths: {
        workspace: options.workDir,
        repo: join(options.workDir, "repo"),
        remote: join(options.workDir, "remote.git"),
        statusDir: join(options.workDir, "repo", "status"),
        evidence: join(options.workDir, "evidence"),
        result: options.resultPath,
      },
      commands: [],
      notes: [],
      error: (error as Error).message,
    }).catch(() => undefined);
    return 1;
  } finally {
    clearTimeout(watchdog);
  }
}

process.exitCode = await main();

/**
 * Installs the guardian for act two's migration, as infra does on AWS. Act
 * one's migration is not guarded, so nothing but its own phases moves it.
 */
async function installDemoGuardian(
  sandbox: DemoSandbox,
  spec: MigrationsFile,
  extraEnvironment: Record<string, string>,
) {
  if (!existsSync(GUARDIAN_BUNDLE))
    throw new Error("guardian/dist/index.mjs is not built; run npm run build first");
  const config = {
    endpoint: sandbox.env.AWS_ENDPOINT_URL!,
    region: sandbox.env.AWS_REGION ?? "us-east-1",
    credentials: {
      accessKeyId: sandbox.env.AWS_ACCESS_KEY_ID ?? "x",
      secretAccessKey: sandbox.env.AWS_SECRET_ACCESS_KEY ?? "x",
    },
  };
  const s3 = new S3Client(config);
  const install = await installGuardian(
    {
      s3,
      sqs: new SQSClient(config),
      lambda: new LambdaClient(config),
      cloudwatch: new CloudWatchClient(config),
      events: new EventBridgeClient(config),
    },
    {
      environment: "demo",
      account: "123456789012",
      region: config.region,
      spec: { ...spec, migrations: spec.migrations.filter((migration) => migration.id === PAYMENTS.id) },
      alarmPeriodSeconds: DEMO_ALARM_PERIOD_SECONDS,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      target: "all-old",
      insyncTimeoutSeconds: 60,
      stableTimeoutSeconds: 60,
      extraEnvironment,
    },
  );
  return {
    install,
    store: createCheckpointStore(install.store, "demo", { s3 }),
    alarmPeriodSeconds: DEMO_ALARM_PERIOD_SECONDS,
  };
}
