/**
 * Lambda execution environments: a function's zip unpacked to a directory
 * and its handler run in a child Node process (process.execPath), started on
 * the first invoke and kept warm for later ones, as Lambda reuses an
 * environment. One invocation runs at a time per environment (Lambda would
 * start more environments for concurrent invokes; the sandbox queues them). The handler
 * must be an async function (or return a promise); callback-style handlers
 * are not served. Console output of the child is the invocation's log. A
 * handler that outlives the function's Timeout is stopped and its
 * environment discarded, as Lambda does.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { readZip } from "./zip-reader.js";

/** What an environment needs to know about its function. */
export interface FunctionDefinition {
  name: string;
  arn: string;
  runtime: string;
  /** "file.export", e.g. "index.handler". */
  handler: string;
  timeoutSeconds: number;
  memorySize: number;
  zip: Buffer;
  /** The function's Environment.Variables plus the runtime's own (AWS_REGION, AWS_ENDPOINT_URL, ...). */
  environment: Record<string, string>;
}

/** How one invocation ended. */
export interface InvocationOutcome {
  outcome: "success" | "error" | "timeout";
  /** The handler's result serialised as JSON, or the error payload Lambda answers. */
  payload: string;
  /** "Unhandled" for a handler error or a timeout. */
  functionError?: "Unhandled";
  cold: boolean;
  startMs: number;
  endMs: number;
  logs: string;
  error?: { errorType: string; errorMessage: string };
}

/** The script the child runs: loads the handler module once and answers each invoke message. */
const BOOTSTRAP = `
import { pathToFileURL } from "node:url";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { format } from "node:util";
const taskRoot = process.env.LAMBDA_TASK_ROOT;
const [file, exportName] = (() => { const at = process.env._HANDLER.lastIndexOf("."); return [process.env._HANDLER.slice(0, at), process.env._HANDLER.slice(at + 1)]; })();
let handlerPromise;
async function loadHandler() {
  const candidates = [".mjs", ".js", ".cjs"].map((ext) => join(taskRoot, file + ext));
  const path = candidates.find((candidate) => existsSync(candidate));
  if (!path) { const error = new Error("Cannot find module '" + file + "'"); error.name = "Runtime.ImportModuleError"; throw error; }
  let module;
  try { module = await import(pathToFileURL(path).href); }
  catch (cause) { const error = new Error(String(cause && cause.stack || cause)); error.name = "Runtime.ImportModuleError"; throw error; }
  const handler = module[exportName] ?? module.default?.[exportName];
  if (typeof handler !== "function") { const error = new Error(file + "." + exportName + " is undefined or not exported"); error.name = "Runtime.HandlerNotFound"; throw error; }
  return handler;
}
function errorPayload(error) {
  if (error instanceof Error) return { errorType: error.name === "Error" ? (error.constructor?.name ?? "Error") : error.name, errorMessage: error.message, trace: String(error.stack ?? "").split("\\n") };
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}
// Console lines travel on the IPC channel, ahead of the reply, so each lands in its own invocation's log (a pipe
// could deliver them after the reply). The format is the Node runtime's: timestamp, request id, level, message.
let currentRequestId = "";
for (const [method, level] of [["log", "INFO"], ["info", "INFO"], ["warn", "WARN"], ["error", "ERROR"], ["debug", "DEBUG"], ["trace", "TRACE"]]) {
  console[method] = (...args) => process.send({ log: new Date().toISOString() + "\\t" + currentRequestId + "\\t" + level + "\\t" + format(...args) + "\\n" });
}
process.on("disconnect", () => process.exit(0));
process.on("message", async (message) => {
  currentRequestId = message.requestId;
  const deadline = message.deadline;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: message.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    handlerPromise ??= loadHandler();
    const handler = await handlerPromise;
    const result = await handler(JSON.parse(message.payload), context);
    process.send({ requestId: message.requestId, ok: true, payload: result === undefined ? "null" : JSON.stringify(result) });
  } catch (error) {
    process.send({ requestId: message.requestId, ok: false, error: errorPayload(error) });
  }
});
process.send({ ready: true });
`;

/** Where the runtime's bundled AWS SDK v3 lives: the sandbox's own node_modules, as /var/runtime/node_modules on Lambda. */
function runtimeModules(): string {
  const require = createRequire(import.meta.url);
  const clientPackage = require.resolve("@aws-sdk/client-lambda/package.json");
  return dirname(dirname(dirname(clientPackage)));
}

/** One function's warm execution environment. */
export class ExecutionEnvironment {
  private readonly root: string;
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private logBuffer = "";
  private closed = false;

  constructor(private readonly definition: FunctionDefinition) {
    this.root = mkdtempSync(join(tmpdir(), `sandbox-lambda-${definition.name}-`));
    const task = join(this.root, "task");
    mkdirSync(task);
    for (const [path, data] of readZip(definition.zip)) {
      const target = join(task, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, data);
    }
    writeFileSync(join(this.root, "bootstrap.mjs"), BOOTSTRAP);
    symlinkSync(runtimeModules(), join(this.root, "node_modules"), "dir");
  }

  /** Runs one invocation after those already queued on this environment. */
  invoke(requestId: string, payload: string): Promise<InvocationOutcome> {
    const run = this.queue.then(() => this.run(requestId, payload));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the child and removes the unpacked code. */
  close(): void {
    this.closed = true;
    this.stopChild();
    rmSync(this.root, { recursive: true, force: true });
  }

  private async run(requestId: string, payload: string): Promise<InvocationOutcome> {
    if (this.closed) throw new Error(`the execution environment of ${this.definition.name} is closed`);
    const startMs = Date.now();
    const cold = this.child === undefined;
    this.logBuffer = "";
    const timeoutMs = this.definition.timeoutSeconds * 1000;
    const deadline = startMs + timeoutMs;
    const logStart = `START RequestId: ${requestId} Version: $LATEST\n`;
    type Reply = {
      requestId: string;
      ok: boolean;
      payload?: string;
      error?: { errorType: string; errorMessage: string; trace: string[] };
    };
    const reply = await new Promise<Reply | "timeout" | { exited: number | null }>((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), timeoutMs);
      const settle = (value: Reply | "timeout" | { exited: number | null }) => {
        clearTimeout(timer);
        resolve(value);
      };
      this.start()
        .then((child) => {
          const onMessage = (message: Reply | { log: string }) => {
            if ("log" in message) {
              this.logBuffer += message.log;
              return;
            }
            if (message.requestId !== requestId) return;
            child.off("message", onMessage);
            child.off("exit", onExit);
            settle(message);
          };
          const onExit = (code: number | null) => {
            child.off("message", onMessage);
            settle({ exited: code });
          };
          child.on("message", onMessage);
          child.once("exit", onExit);
          child.send({ requestId, payload, deadline, invokedFunctionArn: this.definition.arn });
        })
        .catch((error: Error) => {
          this.logBuffer += `${error.message}\n`;
          settle({ exited: null });
        });
    });
    const endMs = Date.now();
    const durationMs = endMs - startMs;
    const end = `END RequestId: ${requestId}\nREPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\tMemory Size: ${this.definition.memorySize} MB${cold ? "\tInit: cold start" : ""}\n`;
    if (reply === "timeout") {
      // A timed-out environment is torn down; the next invoke starts cold.
      this.stopChild();
      const message = `RequestId: ${requestId} Error: Task timed out after ${this.definition.timeoutSeconds.toFixed(2)} seconds`;
      const error = { errorType: "Sandbox.Timedout", errorMessage: message };
      return {
        outcome: "timeout",
        payload: JSON.stringify(error),
        functionError: "Unhandled",
        cold,
        startMs,
        endMs,
        logs: `${logStart}${this.logBuffer}${new Date(endMs).toISOString()} ${message}\n${end}`,
        error,
      };
    }
    if ("exited" in reply) {
      this.stopChild();
      const error = {
        errorType: "Runtime.ExitError",
        errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: exit status ${reply.exited}`,
      };
      return {
        outcome: "error",
        payload: JSON.stringify(error),
        functionError: "Unhandled",
        cold,
        startMs,
        endMs,
        logs: `${logStart}${this.logBuffer}${end}`,
        error,
      };
    }
    const logs = `${logStart}${this.logBuffer}${end}`;
    if (reply.ok) return { outcome: "success", payload: reply.payload ?? "null", cold, startMs, endMs, logs };
    const error = reply.error ?? { errorType: "Error", errorMessage: "unknown error", trace: [] };
    return {
      outcome: "error",
      payload: JSON.stringify(error),
      functionError: "Unhandled",
      cold,
      startMs,
      endMs,
      logs,
      error: { errorType: error.errorType, errorMessage: error.errorMessage },
    };
  }

  private start(): Promise<ChildProcess> {
    const existing = this.child;
    if (existing && this.ready) return this.ready.then(() => existing);
    const child = fork(join(this.root, "bootstrap.mjs"), [], {
      execPath: process.execPath,
      execArgv: [],
      cwd: join(this.root, "task"),
      env: { ...this.definition.environment, LAMBDA_TASK_ROOT: join(this.root, "task") },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const capture = (chunk: Buffer) => {
      this.logBuffer += chunk.toString("utf8");
    };
    child.stdout?.on("data", capture);
    child.stderr?.on("data", capture);
    child.once("exit", () => {
      if (this.child === child) {
        this.child = undefined;
        this.ready = undefined;
      }
    });
    this.child = child;
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: { ready?: boolean }) => {
        if (!message.ready) return;
        child.off("message", onMessage);
        resolve();
      };
      child.on("message", onMessage);
      child.once("exit", (code) =>
        reject(new Error(`the runtime exited with status ${code} before it was ready`)),
      );
    });
    return this.ready.then(() => child);
  }

  private stopChild(): void {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (child && child.exitCode === null) child.kill("SIGKILL");
  }
}
