/**
 * The control-plane HTTP server: one loopback port where the AWS SDK clients
 * reach every sandbox service. It reads each request whole, lets the admin
 * surface under /_sandbox/ answer its own paths, applies injected faults, and
 * hands the request to the first ServiceHandler that claims it. A request no
 * service claims gets the unknown-operation error of the protocol it was
 * signed for, never a silent success.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultRegistry } from "./faults.js";
import {
  amzTarget,
  assignRequestId,
  SERVICE_PROTOCOLS,
  ServiceError,
  SIGNING_NAMES,
  sendServiceError,
  signingServiceOf,
  unknownOperation,
} from "./protocol.js";
import type { ServiceHandler } from "./types.js";

/** Loopback is the only address the sandbox listens on. */
export const LOOPBACK = "127.0.0.1";

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface ControlPlaneOptions {
  /** AWS services (Route 53, ECS, Lambda, CloudWatch, EventBridge, SQS). */
  services: ServiceHandler[];
  /** Admin surfaces, asked first; each claims its own paths under /_sandbox/. */
  admin: ServiceHandler[];
  faults: FaultRegistry;
  /** 0 or absent: a free port. */
  port?: number;
  host?: string;
}

/** Calls served, by "service.Operation", for the admin state dump. */
export type CallCounts = Record<string, number>;

export interface ControlPlaneServer {
  endpoint: string;
  port: number;
  calls: CallCounts;
  close(): Promise<void>;
}

/** Starts the control-plane server on loopback. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlaneServer> {
  const host = options.host ?? LOOPBACK;
  if (host !== LOOPBACK)
    throw new Error(`the sandbox listens on ${LOOPBACK} only; got host ${JSON.stringify(host)}`);
  const calls: CallCounts = {};
  const pendingDelays = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = { timer: setTimeout(() => finish(), ms), resolve: () => finish() };
      const finish = () => {
        clearTimeout(entry.timer);
        pendingDelays.delete(entry);
        resolve();
      };
      pendingDelays.add(entry);
    });

  const route = async (req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> => {
    assignRequestId(req);
    const admin = options.admin.find((handler) => handler.matches(req));
    if (admin) {
      await admin.handle(req, body, res);
      return;
    }
    const service = options.services.find((handler) => handler.matches(req));
    if (!service) {
      answerUnclaimed(req, res);
      return;
    }
    const protocol = SERVICE_PROTOCOLS[service.name] ?? "rest-json";
    const operation = operationOf(service, req, body);
    if (operation !== undefined) {
      const key = `${service.name}.${operation}`;
      calls[key] = (calls[key] ?? 0) + 1;
      const fault = options.faults.take(service.name, operation);
      if (fault && fault.latencyMs > 0) await delay(fault.latencyMs);
      if (fault?.error) {
        sendServiceError(
          req,
          res,
          protocol,
          new ServiceError(fault.error.code, fault.error.message, fault.error.status),
        );
        return;
      }
    }
    try {
      await service.handle(req, body, res);
    } catch (error) {
      if (res.headersSent) throw error;
      sendServiceError(
        req,
        res,
        protocol,
        new ServiceError(
          "InternalFailure",
          `The sandbox's ${service.name} failed: ${(error as Error).message}`,
          500,
        ),
      );
    }
  };

  const server = createServer((req, res) => {
    // A service that must know a request is in flight while its body still arrives (S3's conditional writes) is told now.
    if (!options.admin.some((handler) => handler.matches(req)))
      options.services.find((handler) => handler.matches(req))?.requestStarted?.(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!refused) {
          refused = true;
          res.writeHead(413, { "content-type": "application/json", connection: "close" });
          res.end(JSON.stringify({ message: `request body exceeds ${MAX_BODY_BYTES} bytes` }));
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      route(req, Buffer.concat(chunks), res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ message: `sandbox failure: ${(error as Error).message}` }));
        } else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const pending of pendingDelays) pending.resolve();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function operationOf(service: ServiceHandler, req: IncomingMessage, body: Buffer): string | undefined {
  if (service.operationOf) return service.operationOf(req, body);
  const target = amzTarget(req);
  const dot = target.lastIndexOf(".");
  return dot < 0 ? undefined : target.slice(dot + 1);
}

/** A request no service claimed: the unknown-operation error of the service it was signed for. */
function answerUnclaimed(req: IncomingMessage, res: ServerResponse): void {
  const signedFor = signingServiceOf(req);
  const service = signedFor === undefined ? undefined : SIGNING_NAMES[signedFor];
  const target = amzTarget(req);
  const description = target ? `the operation ${target}` : `${req.method} ${req.url}`;
  if (service !== undefined) {
    sendServiceError(
      req,
      res,
      SERVICE_PROTOCOLS[service] ?? "rest-json",
      unknownOperation(`${description} (${service})`),
    );
    return;
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      __type: "UnknownOperationException",
      message: `No sandbox service serves ${description}${signedFor ? ` (signed for ${signedFor})` : ""}.`,
    }),
  );
}
