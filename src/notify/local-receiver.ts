/**
 * A webhook receiver on loopback, for the demo and for trying a sink out: it
 * checks each request's Cutover-Signature, drops a repeated event id (as a
 * receiver of at-least-once delivery must), and hands each new event on.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CloudEvent } from "./events.js";
import { EVENT_ID_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from "./signing.js";

export interface LocalReceiver {
  url: string;
  /** Every new event, in the order it arrived. */
  events: CloudEvent[];
  close(): Promise<void>;
}

/** Starts the receiver on 127.0.0.1; `onEvent` is called once per new, correctly signed event. */
export async function startLocalReceiver(options: {
  secret: string;
  onEvent?: (event: CloudEvent) => void;
  onRefused?: (reason: string) => void;
}): Promise<LocalReceiver> {
  const events: CloudEvent[] = [];
  const seen = new Set<string>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = request.headers[SIGNATURE_HEADER];
      const check = verifyWebhookSignature({
        secret: options.secret,
        header: Array.isArray(header) ? header[0] : header,
        body,
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      if (!check.ok) {
        options.onRefused?.(check.reason);
        response.writeHead(401).end(check.reason);
        return;
      }
      const id = String(request.headers[EVENT_ID_HEADER] ?? "");
      if (!seen.has(id)) {
        seen.add(id);
        try {
          const event = JSON.parse(body) as CloudEvent;
          events.push(event);
          options.onEvent?.(event);
        } catch {
          response.writeHead(400).end("not JSON");
          return;
        }
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/cutover`,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
