/**
 * `npm run sandbox -- --seed <file> [--port <n>] [--save-state <file>]`
 * starts a sandbox and prints its endpoints and the environment to export;
 * Ctrl-C stops it. `npm run sandbox -- fault ...` and `npm run sandbox -- state`
 * drive a running one through its admin API.
 */
import { fileURLToPath } from "node:url";
import { ADMIN_USAGE, AdminUsageError, runAdminCommand } from "./admin.js";
import { loadSeed, SeedError, startSandbox } from "./index.js";

const DEFAULT_SEED = fileURLToPath(new URL("./seeds/reference.json", import.meta.url));
const DEFAULT_PORT = 4566;

const USAGE = `Usage:
  npm run sandbox -- [--seed <file>] [--port <n>] [--save-state <file>]
      Starts the sandbox (default seed: sandbox/seeds/reference.json, port ${DEFAULT_PORT}; 0 picks a free port).
${ADMIN_USAGE}`;

interface StartArguments {
  seed: string;
  port: number;
  saveState?: string;
}

function readStartArguments(args: string[]): StartArguments {
  const parsed: StartArguments = { seed: DEFAULT_SEED, port: DEFAULT_PORT };
  for (let index = 0; index < args.length; index += 2) {
    const flag = args[index];
    const value = args[index + 1];
    if (value === undefined || value.startsWith("--"))
      throw new AdminUsageError(`${flag} needs a value\n${USAGE}`);
    if (flag === "--seed") parsed.seed = value;
    else if (flag === "--save-state") parsed.saveState = value;
    else if (flag === "--port") {
      if (!/^\d+$/.test(value) || Number(value) > 65535)
        throw new AdminUsageError(
          `--port must be a port number from 0 to 65535; got ${JSON.stringify(value)}`,
        );
      parsed.port = Number(value);
    } else throw new AdminUsageError(`unknown option ${JSON.stringify(flag)}\n${USAGE}`);
  }
  return parsed;
}

async function serve(args: StartArguments): Promise<void> {
  const seed = await loadSeed(args.seed);
  const sandbox = await startSandbox({
    seed,
    port: args.port,
    ...(args.saveState ? { saveStateTo: args.saveState } : {}),
  });
  const lines = [
    `sandbox listening on ${sandbox.endpoint} (seed ${args.seed})`,
    ...Object.entries(sandbox.dataPlaneUrls).map(([record, url]) => `data plane for ${record}: ${url}`),
    "",
    "# point the AWS SDK and CLI at the sandbox:",
    ...Object.entries(sandbox.env).map(([name, value]) => `export ${name}=${value}`),
    "",
    `admin: ${sandbox.endpoint}/_sandbox/faults, ${sandbox.endpoint}/_sandbox/state, ${sandbox.endpoint}/_sandbox/events, POST ${sandbox.endpoint}/_sandbox/alarms/evaluate`,
    "Ctrl-C stops the sandbox.",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(
      `\n${signal}: stopping the sandbox${args.saveState ? `, saving state to ${args.saveState}` : ""}\n`,
    );
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`failed to stop cleanly: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

async function main(args: string[]): Promise<void> {
  const [command] = args;
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === "fault" || command === "state") {
    process.stdout.write(await runAdminCommand(args));
    return;
  }
  await serve(readStartArguments(args));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof SeedError || error instanceof AdminUsageError;
  process.stderr.write(`${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`);
  process.exit(2);
});
